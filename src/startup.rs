//! Wiring: builds the HTTP server from configuration, a database handle and the secrets, starts
//! the background tasks admission control relies on, and stops gracefully. `main` and the
//! integration tests both start the application through [`Application::build`].
//!
//! Stopping: on SIGTERM the server first *drains* — `/readyz` answers 503 and responses close
//! their connections, so a load balancer stops sending new work while requests already sent
//! (even those still in the listen queue) are served — for `SHUTDOWN_DRAIN_SECONDS`; then it
//! stops accepting and gives in-flight requests up to `SHUTDOWN_GRACE_SECONDS` to finish. On
//! SIGINT (Ctrl-C at a terminal) it skips the drain.

use std::{
    net::TcpListener,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_web::{dev::Server, web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::{
    admission::{rate_limit::KeyedLimit, Admission},
    auth::{AuthService, JwtKeys, PasswordHasher, Pseudonymizer},
    config::Config,
    db::Database,
    error::{AppError, AppResult},
    graphql::{build_schema, Services},
    http::{self, AppState},
    metrics::MetricsService,
    records::surveys::SurveyLinks,
    secrets::Secrets,
};

/// How often expired rate-limit counters are deleted.
const COUNTER_PURGE: Duration = Duration::from_secs(300);

/// A bound, not yet running HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    /// The operators' `/metrics` listener (`METRICS_BIND`) and its port.
    metrics_server: Option<(u16, Server)>,
    state: AppState,
    drain: Duration,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and prepares the server.
    pub async fn build(
        config: Arc<Config>,
        database: Database,
        secrets: &Secrets,
    ) -> AppResult<Self> {
        let listener = TcpListener::bind(config.bind).map_err(|error| {
            AppError::internal_with(format!("cannot bind {}", config.bind), error)
        })?;
        Self::build_with_listener(config, database, secrets, listener).await
    }

    /// Like [`Application::build`] with a listener the caller already bound.
    pub async fn build_with_listener(
        config: Arc<Config>,
        database: Database,
        secrets: &Secrets,
        listener: TcpListener,
    ) -> AppResult<Self> {
        let port = listener
            .local_addr()
            .map_err(|error| AppError::internal_with("reading the bound address", error))?
            .port();
        let hasher = tokio::task::spawn_blocking(PasswordHasher::new).await??;
        let auth = AuthService::new(
            JwtKeys::new(&secrets.jwt, &config.tokens),
            hasher,
            &config,
            &secrets.pseudonym,
        );
        database.spawn_health_probe();
        let metrics = MetricsService::new(&config);
        // The rollups must cut days in the configured zone: a server whose zone disagrees with
        // the database's refuses to start; if the database cannot be reached, a request retries.
        match metrics.align(&database).await {
            Ok(()) => {}
            Err(error @ AppError::Conflict(_)) => return Err(error),
            Err(error) => {
                tracing::warn!(error = %error.chain(), "could not check the metric rollups' time zone at start-up");
            }
        }
        let admission = Arc::new(Admission::new(config.admission.clone()));
        admission.spawn_size_refresh(database.clone());
        auth.refusals()
            .spawn_summaries(database.clone(), config.refused_token_summary_interval);
        spawn_counter_purge(database.clone());
        let pseudonymizer = Pseudonymizer::new(&secrets.pseudonym);
        let services = Services {
            database: database.clone(),
            auth: auth.clone(),
            config: config.clone(),
            pseudonymizer: pseudonymizer.clone(),
            survey_limit: KeyedLimit::new(
                "survey",
                config.survey_submissions_per_minute,
                Duration::from_secs(60),
                "too many survey submissions from this address; try again in a minute",
            ),
            metrics: metrics.clone(),
            admission: admission.clone(),
            survey_links: survey_links(&config, port),
        };
        let schema = build_schema(&config, services.clone());
        let state = AppState {
            schema,
            database,
            auth,
            config: config.clone(),
            metrics,
            admission,
            pseudonymizer,
            draining: Arc::new(AtomicBool::new(false)),
            services,
        };
        let app_state = web::Data::new(state.clone());
        let cors = http::cors::Cors::new(&config.web.cors);
        let security_headers = http::security_headers::SecurityHeaders::new(&config.web);
        let mut server = HttpServer::new(move || {
            // The last `wrap` runs first: security headers cover CORS answers and refusals too.
            let cors = cors.clone();
            let security_headers = security_headers.clone();
            App::new()
                .wrap_fn(move |request, service| cors.apply(request, service))
                .wrap_fn(move |request, service| security_headers.apply(request, service))
                .wrap_fn(http::request_id_header)
                .wrap_fn(crate::telemetry::metrics::observe)
                .wrap(TracingLogger::default())
                .app_data(app_state.clone())
                .configure(http::configure)
        })
        // Signals are ours (see `run_until_stopped`): drain first, then stop gracefully.
        .disable_signals()
        .shutdown_timeout(config.shutdown_grace.as_secs());
        if let Some(workers) = config.http_workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|error| AppError::internal_with("listening", error))?
            .run();
        let metrics_server = match config.metrics_bind {
            Some(address) => Some(metrics_server(address, state.database.clone())?),
            None => None,
        };
        // Retention runs beside the server (one run per interval among the servers sharing
        // the database).
        crate::retention::schedule::spawn(state.database.clone(), config.retention.clone());
        Ok(Self {
            port,
            server,
            metrics_server,
            state,
            drain: config.shutdown_drain,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener, when `METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// The services the server uses (the demo and tests mint tokens through them).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT, then drains and stops gracefully (see the module
    /// documentation): every request accepted before the stop is answered.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let draining = self.state.draining.clone();
        let drain = self.drain;
        let server = tokio::spawn(self.server);
        // Scrapes go on while the server drains, so the drain itself is visible.
        let metrics = self.metrics_server.map(|(_, metrics)| {
            let handle = metrics.handle();
            tokio::spawn(metrics);
            handle
        });
        let signal = tokio::spawn(async move {
            let Some(kind) = stop_signal().await else {
                return;
            };
            draining.store(true, Ordering::Release);
            if kind == StopSignal::Terminate && !drain.is_zero() {
                tracing::info!(
                    seconds = drain.as_secs_f64(),
                    "stop requested: draining (readiness fails, connections close after their response)"
                );
                tokio::time::sleep(drain).await;
            }
            tracing::info!("no longer accepting connections; finishing requests in flight");
            handle.stop(true).await;
        });
        let result = server
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        signal.abort();
        if let Some(metrics) = metrics {
            metrics.stop(false).await;
        }
        result
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopSignal {
    Terminate,
    Interrupt,
}

/// The first SIGTERM or SIGINT (`None` if signals cannot be watched).
async fn stop_signal() -> Option<StopSignal> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).ok()?;
        let mut interrupt = signal(SignalKind::interrupt()).ok()?;
        tokio::select! {
            _ = terminate.recv() => Some(StopSignal::Terminate),
            _ = interrupt.recv() => Some(StopSignal::Interrupt),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok()?;
        Some(StopSignal::Interrupt)
    }
}

/// The operators' listener: `GET /metrics` and nothing else, on its own address so the public
/// listener never serves it (see `telemetry::metrics`). One worker: a scrape is cheap.
fn metrics_server(address: std::net::SocketAddr, database: Database) -> AppResult<(u16, Server)> {
    let database = web::Data::new(database);
    let listener = TcpListener::bind(address)
        .map_err(|error| AppError::internal_with(format!("cannot bind {address}"), error))?;
    let port = listener
        .local_addr()
        .map_err(|error| AppError::internal_with("reading the bound address", error))?
        .port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(database.clone())
            .configure(crate::telemetry::metrics::configure)
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(|error| AppError::internal_with("listening for /metrics", error))?
    .run();
    Ok((port, server))
}

/// Deletes expired rate-limit counters now and then (any server may; it is idempotent).
fn spawn_counter_purge(database: Database) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(COUNTER_PURGE).await;
            let purged = database
                .run(crate::admission::rate_limit::purge_expired)
                .await;
            if let Err(error) = purged {
                tracing::debug!(error = %error.chain(), "could not purge expired rate-limit counters");
            }
        }
    });
}

/// Where survey links point: `PUBLIC_BASE_URL`, or in development this server's own address on
/// `port` (so the demo and the tests hand out working links); in production without it, nowhere.
pub fn survey_links(config: &Config, port: u16) -> SurveyLinks {
    let base = config.public_base_url.clone().or_else(|| {
        config.developer_tools_enabled().then(|| {
            format!(
                "http://{}",
                std::net::SocketAddr::new(config.bind.ip(), port)
            )
        })
    });
    SurveyLinks::new(base)
}
