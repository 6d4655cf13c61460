//! Telemetry: structured logs (human-readable by default, one JSON object per line with
//! `LOG_FORMAT=json`), OpenTelemetry traces exported over OTLP/HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and (in [`metrics`]) the operators' Prometheus series.
//!
//! Every request's lines carry its `request_id` (from the tracing-actix-web root span). The root
//! span continues the caller's trace when the request carries a W3C `traceparent` header, and
//! every piece of database work is a `db` child span naming its workload (`Database::run`
//! carries the request's span onto the blocking thread), so a trace shows where a slow request
//! waited.

pub mod metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::config::{Config, TracingSettings};

/// Keeps trace export running; dropping it sends the spans still buffered (call it last).
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("could not send the last trace spans: {error}");
            }
        }
    }
}

/// Installs the global subscriber (logs, and trace export when configured). Safe to call more
/// than once (later calls install nothing). Call it before starting an async runtime: the OTLP
/// exporter's HTTP client is a blocking one, running on the span processor's own thread.
pub fn init(config: &Config) -> TelemetryGuard {
    // `traceparent` is honoured whether or not spans are exported, so request logs and any
    // downstream system agree on the caller's trace id.
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let (provider, export_error) = match &config.tracing {
        Some(settings) => match tracer_provider(settings) {
            Ok(provider) => (Some(provider), None),
            Err(error) => (None, Some(error)),
        },
        None => (None, None),
    };
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("bac-metrics")));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match config.log_format {
        crate::config::LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        crate::config::LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
    };
    // A second initialisation (tests start many servers) keeps the first subscriber.
    if result.is_err() {
        return TelemetryGuard { provider: None };
    }
    match (&config.tracing, export_error) {
        (Some(settings), None) => tracing::info!(
            endpoint = %settings.traces_url(),
            service = %settings.service_name,
            "exporting traces over OTLP/HTTP"
        ),
        (Some(_), Some(error)) => {
            tracing::error!(%error, "cannot export traces; running without them")
        }
        (None, _) => {}
    }
    TelemetryGuard { provider }
}

/// The tracer provider sending batches of spans to the configured collector.
fn tracer_provider(settings: &TracingSettings) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.traces_url())
        .build()
        .map_err(|error| error.to_string())?;
    Ok(SdkTracerProvider::builder()
        // Batches leave every `OTEL_BSP_SCHEDULE_DELAY` (5 s by default) from their own thread.
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build())
}
