//! The operators' Prometheus series, served as text at `GET /metrics` on the separate
//! `METRICS_BIND` listener (never on the public one: the series name the operations callers run
//! and how often sign-ins fail, which is reconnaissance for an attacker, and scraping needs no
//! credential when only the monitoring network can reach the address).
//!
//! Owns every series (`docs/guides/operators.md` lists them): the HTTP middleware
//! ([`observe`]) counts each request and its latency by route, GraphQL operation and outcome;
//! domain code counts its events with one call each ([`login_failure`], [`rate_limited`],
//! [`refused_token`], [`import_rows`]); the database lanes' gauges are read from
//! [`Database::lanes`] at each scrape, so they are never stale.
//!
//! The counters are process-wide (one server per process in production), like Prometheus's own
//! default registry. Label values are bounded by construction: routes are the router's patterns,
//! outcomes and reasons are fixed words, and operation names are capped (see
//! [`MAX_OPERATION_NAMES`]).

use std::{
    collections::HashSet,
    future::Future,
    sync::{Mutex, OnceLock},
    time::Instant,
};

use actix_web::{
    dev::{Service, ServiceRequest, ServiceResponse},
    http::StatusCode,
    web, HttpMessage, HttpRequest, HttpResponse,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::{db::Database, error::ErrorCode};

/// Distinct GraphQL operation names that get a label of their own; later ones are `other`.
pub const MAX_OPERATION_NAMES: usize = 50;
/// Longest operation name kept as a label.
const MAX_OPERATION_NAME_CHARS: usize = 64;
/// The operation label of requests that are not GraphQL operations.
const NO_OPERATION: &str = "none";
/// The operation label of names folded together (unknown, malformed or past the cap).
const OTHER_OPERATION: &str = "other";
/// The operation label of operations without a name.
const ANONYMOUS_OPERATION: &str = "anonymous";
/// Latency buckets in seconds: from a cached lookup to a large report near its time limit.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How a request ended, for the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    /// The caller's to fix: unauthenticated, forbidden, bad input, not found, conflict.
    ClientError,
    /// `RATE_LIMITED` (HTTP 429): a budget or a workload's capacity.
    RateLimited,
    /// `UNAVAILABLE` (HTTP 503): the database is down or a statement ran out of time.
    Unavailable,
    /// `INTERNAL` (HTTP 500) or any other 5xx.
    ServerError,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ClientError => "client_error",
            Outcome::RateLimited => "rate_limited",
            Outcome::Unavailable => "unavailable",
            Outcome::ServerError => "server_error",
        }
    }

    /// The outcome an error code stands for.
    pub fn of_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::RateLimited => Outcome::RateLimited,
            ErrorCode::Unavailable => Outcome::Unavailable,
            ErrorCode::Internal => Outcome::ServerError,
            ErrorCode::Unauthenticated
            | ErrorCode::Forbidden
            | ErrorCode::NotFound
            | ErrorCode::BadUserInput
            | ErrorCode::Conflict
            | ErrorCode::PersistedQueryNotFound
            | ErrorCode::PersistedQueryNotAllowed => Outcome::ClientError,
        }
    }

    /// The outcome of an `extensions.code` as sent (unknown codes are the server's fault).
    pub fn of_code_text(code: &str) -> Self {
        match code {
            "RATE_LIMITED" => Outcome::RateLimited,
            "UNAVAILABLE" => Outcome::Unavailable,
            "UNAUTHENTICATED"
            | "FORBIDDEN"
            | "NOT_FOUND"
            | "BAD_USER_INPUT"
            | "CONFLICT"
            | "PERSISTED_QUERY_NOT_FOUND"
            | "PERSISTED_QUERY_NOT_ALLOWED" => Outcome::ClientError,
            _ => Outcome::ServerError,
        }
    }

    /// The outcome an HTTP status stands for, when the handler did not say.
    pub fn of_status(status: StatusCode) -> Self {
        match status.as_u16() {
            429 => Outcome::RateLimited,
            503 => Outcome::Unavailable,
            500..=599 => Outcome::ServerError,
            400..=499 => Outcome::ClientError,
            _ => Outcome::Ok,
        }
    }
}

/// The GraphQL operation a request ran, noted by the GraphQL handler for the middleware.
#[derive(Debug, Clone)]
struct OperationName(Option<String>);

/// Every process-wide series.
struct Series {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    import_rows: IntCounterVec,
    login_failures: IntCounter,
    rate_limited: IntCounterVec,
    refused_tokens: IntCounter,
    /// Operation names that have their own label.
    operations: Mutex<HashSet<String>>,
}

fn series() -> &'static Series {
    static SERIES: OnceLock<Series> = OnceLock::new();
    SERIES.get_or_init(|| {
        let registry = Registry::new();
        let labels = &["route", "operation", "outcome"];
        let http_requests = IntCounterVec::new(
            Opts::new(
                "bac_http_requests_total",
                "HTTP requests answered, by route pattern, GraphQL operation and outcome.",
            ),
            labels,
        )
        .expect("a valid series");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "bac_http_request_duration_seconds",
                "Time from receiving a request to sending its response head, by route pattern, GraphQL operation and outcome.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            labels,
        )
        .expect("a valid series");
        let import_rows = IntCounterVec::new(
            Opts::new(
                "bac_import_rows_total",
                "Rows of bulk imports (HTTP, command line and seed), by kind and result (inserted, unchanged, conflict, rejected).",
            ),
            &["kind", "result"],
        )
        .expect("a valid series");
        let login_failures = IntCounter::new(
            "bac_login_failures_total",
            "Failed sign-ins: a wrong password, an inactive account, or an address that names no account.",
        )
        .expect("a valid series");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "bac_rate_limited_total",
                "Requests refused with RATE_LIMITED, by the limit that refused them.",
            ),
            &["reason"],
        )
        .expect("a valid series");
        let refused_tokens = IntCounter::new(
            "bac_refused_tokens_total",
            "Bearer tokens refused (bad signature, expired, ended session, malformed).",
        )
        .expect("a valid series");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(import_rows.clone()),
            Box::new(login_failures.clone()),
            Box::new(rate_limited.clone()),
            Box::new(refused_tokens.clone()),
        ] {
            registry.register(collector).expect("series names are unique");
        }
        Series {
            registry,
            http_requests,
            http_duration,
            import_rows,
            login_failures,
            rate_limited,
            refused_tokens,
            operations: Mutex::new(HashSet::new()),
        }
    })
}

/// A sign-in failed (wrong password, inactive account or unknown address).
pub fn login_failure() {
    series().login_failures.inc();
}

/// A request was refused with `RATE_LIMITED` by the limit named `reason` (a fixed word:
/// `session`, `survey`, `login`, `password_checks`, `workload`, `caller_share`).
pub fn rate_limited(reason: &'static str) {
    series().rate_limited.with_label_values(&[reason]).inc();
}

/// A bearer token was refused.
pub fn refused_token() {
    series().refused_tokens.inc();
}

/// `rows` rows of an import of `kind` ended as `result` (`inserted`, `unchanged`, `conflict`,
/// `rejected`).
pub fn import_rows(kind: &'static str, result: &'static str, rows: u64) {
    if rows > 0 {
        series()
            .import_rows
            .with_label_values(&[kind, result])
            .inc_by(rows);
    }
}

/// Notes the GraphQL operation `request` runs (its `operationName`, or the name of the
/// document's only operation; `None` when it has none), for the request series.
pub fn note_operation(request: &HttpRequest, name: Option<String>) {
    request.extensions_mut().insert(OperationName(name));
}

/// Tells the middleware how a response ended when its status alone does not (a GraphQL
/// response is often `200` with errors): the worst outcome of `codes`.
pub fn note_error_codes<'a>(response: &mut HttpResponse, codes: impl IntoIterator<Item = &'a str>) {
    let outcome = codes
        .into_iter()
        .map(Outcome::of_code_text)
        .max()
        .unwrap_or(Outcome::Ok);
    response.extensions_mut().insert(outcome);
}

/// The operation label of a request: its name if it is a well-formed GraphQL name that has a
/// label already or earns one now (only a successful operation may take one of the
/// [`MAX_OPERATION_NAMES`] slots, so callers who are refused cannot fill them), else `other`.
fn operation_label(noted: Option<&OperationName>, outcome: Outcome) -> String {
    let Some(OperationName(name)) = noted else {
        return NO_OPERATION.to_owned();
    };
    let Some(name) = name else {
        return ANONYMOUS_OPERATION.to_owned();
    };
    let well_formed = name.len() <= MAX_OPERATION_NAME_CHARS
        && name.chars().enumerate().all(|(index, character)| {
            character == '_'
                || character.is_ascii_alphabetic()
                || (index > 0 && character.is_ascii_digit())
        })
        && !name.is_empty();
    if !well_formed {
        return OTHER_OPERATION.to_owned();
    }
    let mut operations = series()
        .operations
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if operations.contains(name) {
        return name.clone();
    }
    if outcome == Outcome::Ok && operations.len() < MAX_OPERATION_NAMES {
        operations.insert(name.clone());
        return name.clone();
    }
    OTHER_OPERATION.to_owned()
}

/// Middleware: counts every request and its latency by route pattern, operation and outcome.
/// A streamed body (CSV exports) is timed to its first byte, not its end.
pub fn observe<S, B>(
    request: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let started = Instant::now();
    let response = service.call(request);
    async move {
        let result = response.await;
        let (route, outcome, operation) = match &result {
            Ok(response) => {
                let outcome = response
                    .response()
                    .extensions()
                    .get::<Outcome>()
                    .copied()
                    .unwrap_or_else(|| Outcome::of_status(response.status()));
                let request = response.request();
                let route = request
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".to_owned());
                let operation = operation_label(request.extensions().get(), outcome);
                (route, outcome, operation)
            }
            Err(_) => (
                "unmatched".to_owned(),
                Outcome::ServerError,
                NO_OPERATION.to_owned(),
            ),
        };
        let labels = [route.as_str(), operation.as_str(), outcome.as_str()];
        let series = series();
        series.http_requests.with_label_values(&labels).inc();
        series
            .http_duration
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

/// The database lanes' gauges and counters, read now from `database`.
fn lane_series(database: &Database) -> Vec<prometheus::proto::MetricFamily> {
    let registry = Registry::new();
    let gauge = |name: &str, help: &str| {
        let gauge = IntGaugeVec::new(Opts::new(name, help), &["workload"]).expect("a valid series");
        registry
            .register(Box::new(gauge.clone()))
            .expect("series names are unique");
        gauge
    };
    let counter = |name: &str, help: &str| {
        let counter =
            IntCounterVec::new(Opts::new(name, help), &["workload"]).expect("a valid series");
        registry
            .register(Box::new(counter.clone()))
            .expect("series names are unique");
        counter
    };
    let max = gauge(
        "bac_db_pool_max",
        "Connections the workload's pool may hold (its admission permits).",
    );
    let in_use = gauge(
        "bac_db_pool_in_use",
        "Database work of the workload running now (permits held).",
    );
    let idle = gauge(
        "bac_db_pool_idle",
        "Connections of the workload open and idle in its pool.",
    );
    let waits = counter(
        "bac_db_pool_waits_total",
        "Requests that found the workload's lane full and had to queue for a connection.",
    );
    let refused = counter(
        "bac_db_pool_refused_total",
        "Requests refused with RATE_LIMITED because the workload's lane stayed full for its whole queue timeout.",
    );
    for lane in database.lanes() {
        let workload = [lane.workload.name()];
        max.with_label_values(&workload)
            .set(i64::from(lane.connections));
        in_use
            .with_label_values(&workload)
            .set(i64::from(lane.in_use));
        idle.with_label_values(&workload).set(i64::from(lane.idle));
        waits.with_label_values(&workload).inc_by(lane.waited);
        refused.with_label_values(&workload).inc_by(lane.refused);
    }
    let up = prometheus::IntGauge::new(
        "bac_database_up",
        "1 while the database is reachable; 0 while the health circuit is open.",
    )
    .expect("a valid series");
    up.set(i64::from(!database.health().is_down()));
    registry
        .register(Box::new(up))
        .expect("series names are unique");
    if database.has_replicas() {
        replica_series(&registry, database);
    }
    registry.gather()
}

/// Which database answered (with read replicas configured): reads served by the primary and by
/// each replica, and each replica's lag and whether it is serving now.
fn replica_series(registry: &Registry, database: &Database) {
    let reads = IntCounterVec::new(
        Opts::new(
            "bac_db_reads_total",
            "Reads routed to each database since start (`primary`, `replica-1`, …): the primary also counts reads a skipped replica would have served.",
        ),
        &["database"],
    )
    .expect("a valid series");
    let lag = IntGaugeVec::new(
        Opts::new(
            "bac_db_replica_lag_milliseconds",
            "The replica's replay lag at its last probe.",
        ),
        &["database"],
    )
    .expect("a valid series");
    let serving = IntGaugeVec::new(
        Opts::new(
            "bac_db_replica_serving",
            "1 while the replica serves reads; 0 while it is down, lagging past REPLICA_MAX_LAG_MS or not probed yet.",
        ),
        &["database"],
    )
    .expect("a valid series");
    reads
        .with_label_values(&["primary"])
        .inc_by(database.primary_served());
    for replica in database.replica_statuses() {
        let name = [replica.name.as_str()];
        reads.with_label_values(&name).inc_by(replica.served);
        lag.with_label_values(&name)
            .set(i64::try_from(replica.lag_ms).unwrap_or(i64::MAX));
        serving
            .with_label_values(&name)
            .set(i64::from(replica.state == "serving"));
    }
    for series in [
        Box::new(reads) as Box<dyn prometheus::core::Collector>,
        Box::new(lag),
        Box::new(serving),
    ] {
        registry.register(series).expect("series names are unique");
    }
}

/// Every series in the Prometheus text format, with `database`'s lanes read now.
pub fn render(database: &Database) -> String {
    let mut families = series().registry.gather();
    families.extend(lane_series(database));
    let mut buffer = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&families, &mut buffer) {
        tracing::error!(%error, "could not encode the metrics");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

/// `GET /metrics` (on the `METRICS_BIND` listener only), with the lanes of the application's
/// database.
pub async fn endpoint(database: web::Data<Database>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(render(&database))
}

/// The routes of the `METRICS_BIND` listener: `GET /metrics` and nothing else.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(endpoint));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_codes_and_statuses() {
        assert_eq!(Outcome::of_code_text("RATE_LIMITED"), Outcome::RateLimited);
        assert_eq!(Outcome::of_code_text("FORBIDDEN"), Outcome::ClientError);
        assert_eq!(Outcome::of_code_text("INTERNAL"), Outcome::ServerError);
        assert_eq!(
            Outcome::of_code(ErrorCode::Unavailable),
            Outcome::Unavailable
        );
        assert_eq!(
            Outcome::of_status(StatusCode::TOO_MANY_REQUESTS),
            Outcome::RateLimited
        );
        assert_eq!(
            Outcome::of_status(StatusCode::NOT_FOUND),
            Outcome::ClientError
        );
        assert_eq!(
            Outcome::of_status(StatusCode::BAD_GATEWAY),
            Outcome::ServerError
        );
        assert_eq!(Outcome::of_status(StatusCode::SEE_OTHER), Outcome::Ok);
        // The worst outcome wins.
        assert!(Outcome::ServerError > Outcome::Unavailable);
        assert!(Outcome::RateLimited > Outcome::ClientError);
    }

    #[test]
    fn operation_names_are_bounded() {
        let named = |name: &str| OperationName(Some(name.to_owned()));
        assert_eq!(operation_label(None, Outcome::Ok), "none");
        assert_eq!(
            operation_label(Some(&OperationName(None)), Outcome::Ok),
            "anonymous"
        );
        assert_eq!(operation_label(Some(&named("1abc")), Outcome::Ok), "other");
        assert_eq!(
            operation_label(Some(&named("drop table")), Outcome::Ok),
            "other"
        );
        assert_eq!(
            operation_label(Some(&named(&"a".repeat(65))), Outcome::Ok),
            "other"
        );
        // A refused operation does not earn a label; a successful one does, and keeps it.
        assert_eq!(
            operation_label(Some(&named("UnitTestRefused")), Outcome::ClientError),
            "other"
        );
        assert_eq!(
            operation_label(Some(&named("UnitTestOk")), Outcome::Ok),
            "UnitTestOk"
        );
        assert_eq!(
            operation_label(Some(&named("UnitTestOk")), Outcome::RateLimited),
            "UnitTestOk"
        );
        for index in 0..MAX_OPERATION_NAMES {
            operation_label(Some(&named(&format!("Filler{index}"))), Outcome::Ok);
        }
        assert_eq!(
            operation_label(Some(&named("OneTooMany")), Outcome::Ok),
            "other"
        );
    }
}
