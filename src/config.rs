//! Runtime configuration, read once from the environment at start-up.
//!
//! Every variable the program reads is listed here (and in `.env.example`):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | unset | PostgreSQL to use. Unset: a private cluster is started in `DATA_DIR`. |
//! | `TEST_DATABASE_URL` | unset | Tests only (read by `tests/integration/helpers.rs`): server for the throwaway test databases. Unset: a throwaway private cluster. |
//! | `DATA_DIR` | `./.bac-metrics` | Folder for the private cluster, the generated secrets and demo state. |
//! | `BIND` | `127.0.0.1:8080` | Address the HTTP server listens on. |
//! | `HTTP_WORKERS` | one per CPU | HTTP worker threads. |
//! | `APP_ENV` | `production` | `development` turns on GraphiQL, introspection and field suggestions (and, without `PUBLIC_BASE_URL`, survey links to this server). `serve --demo` defaults to `development`. |
//! | `JWT_SECRET` | unset | HS256 signing secret (≥ 32 bytes). Unset with a private cluster: generated once and kept in `DATA_DIR`. Required with `DATABASE_URL`. |
//! | `PSEUDONYM_KEY` | unset | Key (≥ 32 bytes) of the keyed hash that turns `customer_ref` into the pseudonym non-PII roles see. Unset: like `JWT_SECRET`. |
//! | `IMPORT_BATCH_SIZE` | `10000` | Rows written per transaction by bulk imports (at most 50,000). Larger batches amortise the per-statement work of the metric rollups. |
//! | `IMPORT_WORKERS` | `3` | Connections a bulk import of interactions or surveys writes through in parallel (at most 16; each takes one of the import workload's connections while the import runs). Rows naming a customer go to the writer that owns the customer, so writers never wait on each other's new customers; a row whose key is still being written goes behind it, so rows sharing a key keep their file order whatever the number. |
//! | `SURVEY_SUBMISSIONS_PER_MINUTE` | `20` | Public survey submissions allowed per client address per minute (counted in PostgreSQL across every server process). |
//! | `PUBLIC_BASE_URL` | unset | Where customers reach this server (e.g. `https://survey.bac.example.gov`): survey links are `PUBLIC_BASE_URL/s/TOKEN`. Must be `https://` in production. Unset: in development the server's own listen address; in production no links are built (`createSurveyInvitation.link` is null and an import cannot issue links). |
//! | `RETENTION_CUSTOMER_CONTACTS_DAYS` | `1095` | Days after a customer's last contact before their business name, contact name, email and phone are erased (3 years, the "destroy 3 years after cutoff" schedule of GSA Touchpoints' survey records). |
//! | `RETENTION_SURVEY_COMMENTS_DAYS` | `1095` | Days after submission before a survey comment (free text that may hold PII) is erased; the same 3 years as the survey records it belongs to. |
//! | `RETENTION_INVITATION_TOKENS_DAYS` | `30` | Days after a survey link was used or expired before its token hash is erased (the link then resolves like an unknown one); 30 days, as Touchpoints purges deleted responses, leaves time to look into a complaint about a link. |
//! | `RETENTION_SESSIONS_DAYS` | `30` | Days after a login session ended (expired or revoked) before it and its refresh tokens are deleted; the sign-ins themselves stay in the audit trail. |
//! | `RETENTION_SCHEDULE_INTERVAL` | `24h` | How often the server applies the retention rules (`30m`, `12h`, `7d`; `off` to rely on the `retention` command alone). Servers sharing a database take turns: one run per interval among them. |
//! | `JWT_ISSUER` | `bac-metrics` | `iss` claim minted and required. |
//! | `JWT_AUDIENCE` | `bac-metrics-api` | `aud` claim minted and required. |
//! | `ACCESS_TOKEN_TTL_SECONDS` | `900` | Lifetime of an access token. |
//! | `REFRESH_TOKEN_TTL_SECONDS` | `1209600` | Lifetime of a refresh token and of a login session (14 days). |
//! | `SESSION_MAX_LIFETIME_SECONDS` | `2592000` | Absolute lifetime of a login session (30 days): refreshing slides a session forward, never past this; then the user signs in again. |
//! | `JWT_LEEWAY_SECONDS` | `10` | Clock skew allowed on `exp`/`nbf`/`iat` (at most 30). |
//! | `OIDC_ISSUER` | unset | An OpenID Connect issuer (`https://login.microsoftonline.com/TENANT/v2.0`, `https://agency.okta.com/oauth2/default`, `https://sso.agency.gov/realms/staff`) whose RS256/ES256 access tokens are accepted as bearer tokens besides our own; its `iss` claim must equal this exactly. Unset: no identity provider. `https://` (plain `http` only to a loopback address). See `docs/guides/identity-provider.md`. |
//! | `OIDC_AUDIENCE` | unset | Required with `OIDC_ISSUER`: the `aud` value the provider's tokens for this API carry (its application id or URI). |
//! | `OIDC_JWKS_URL` | discovered | The provider's signing keys (JWKS). Unset: the `jwks_uri` of `{OIDC_ISSUER}/.well-known/openid-configuration`. |
//! | `OIDC_USER_CLAIM` | `email` | Which claim names the `users` row: `email` (matched case-insensitively against the account's email; a token saying `email_verified: false` is refused) or `sub` (matched against the account's external subject, set with `bac-metrics user link --email E --subject S`). |
//! | `OIDC_JWKS_CACHE_SECONDS` | `300` | How long fetched signing keys are used before they are fetched again. |
//! | `OIDC_JWKS_REFETCH_SECONDS` | `30` | A token naming a key we do not hold (the provider rotated its keys) fetches the keys again at once, but at most once per this interval, so made-up key ids cannot cause a storm of fetches. |
//! | `OIDC_ALGORITHMS` | `RS256,ES256` | Signature algorithms accepted from the provider (from RS256, RS384, RS512, PS256, ES256, ES384; never HS* or `none`). |
//! | `OIDC_CLIENT_ID` | unset | This server's client id at the identity provider. Set: the web front's sign-in page offers "Sign in with `OIDC_PROVIDER_NAME`" (authorization code flow with PKCE, state and nonce; redirect URI `https://HOST/web/sign-in/callback`), and the ID token must be issued for this client. |
//! | `OIDC_CLIENT_SECRET` | unset | The client secret, for providers that require one from a web application besides PKCE. |
//! | `OIDC_PROVIDER_NAME` | `your agency account` | How the sign-in page names the provider ("Sign in with …"). |
//! | `MAX_BODY_BYTES` | `1048576` | Largest GraphQL request body accepted. |
//! | `GRAPHQL_MAX_DEPTH` | `16` | Deepest selection set accepted (GraphiQL's introspection needs 13). |
//! | `GRAPHQL_TRUSTED_DOCUMENTS` | `off` | `allow-list`: only GraphQL documents an administrator registered (`bac-metrics documents add`) run, sent by hash or in full; anything else is refused with `PERSISTED_QUERY_NOT_ALLOWED` before it runs, and no automatic registration happens. `off`: any document runs, and automatic persisted queries (Apollo's protocol) are served. Introspection-only operations stay allowed in development. |
//! | `GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC` | `1000` | Automatic persisted queries kept (all server processes together); past this the oldest registrations are dropped (their clients simply send the full query again). `0`: no automatic registration. |
//! | `GRAPHQL_PERSISTED_QUERIES_PER_USER_PER_HOUR` | `100` | Automatic registrations one account may make per hour; beyond it the query still runs, unregistered. Anonymous callers never register. |
//! | `GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS` | `0` | Above 0: a successful `GET` of a persisted query sent by hash alone is `Cache-Control: private, max-age=N` with `Vary: Authorization`, so a browser may reuse it for N seconds (at most 3600). 0: `no-store` like every other response. |
//! | `REPORTING_TZ` | `America/New_York` | Time zone that reporting periods are cut in. |
//! | `FISCAL_YEAR_START_MONTH` | `7` | First month of the fiscal year (named by the calendar year it ends in). |
//! | `MIN_CELL_SIZE` | `10` | Smallest survey denominator shown to the `analyst` role. |
//! | `METRICS_SOURCE` | `auto` | Where `metrics` reads from: `auto` (the daily rollups whenever they can answer, else the records) or `base` (always the records; slower, for checking the rollups). |
//! | `CORS_ALLOWED_ORIGINS` | empty | Comma-separated origins (`https://dashboard.agency.gov`) whose browser scripts may call the API. Empty: no CORS headers, preflights are refused. No wildcard: every origin is named. |
//! | `CORS_ALLOW_CREDENTIALS` | `false` | `true` lets those origins send cookies (`Access-Control-Allow-Credentials`). The API authenticates by bearer header, so front-ends do not need it. |
//! | `CORS_MAX_AGE_SECONDS` | `600` | How long a browser may cache a preflight answer (at most 86400). |
//! | `HSTS_MAX_AGE_SECONDS` | `0` | Above 0: `Strict-Transport-Security: max-age=N` on responses to requests that came over TLS (directly or as `X-Forwarded-Proto`/`Forwarded` say). 0: never sent. |
//! | `WEB_COOKIE_SECURE` | `auto` | When the web front's session cookie is `Secure` (and named `__Host-bac_session`): `auto` when the request came over TLS, `always` for TLS ending at a proxy that does not say so. |
//! | `WEB_SESSION_TTL_SECONDS` | `28800` | Absolute lifetime of a web front session (8 hours; at most 86400). |
//! | `LOG_FORMAT` | `pretty` | `json` for one JSON object per log line. |
//! | `METRICS_BIND` | unset | Address of a second listener serving only `GET /metrics` (Prometheus text format; `docs/guides/operators.md` lists the series), e.g. `10.0.0.5:9464` on the monitoring network. Unset: no metrics endpoint. Never the public listener: the series name the operations callers run and how often sign-ins fail, and the scrape carries no credential. |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | Base URL of an OpenTelemetry collector's OTLP/HTTP receiver (e.g. `http://127.0.0.1:4318`); spans go to its `/v1/traces` as protobuf. Plain `http://` only (no TLS stack is linked): run the collector beside the server and let it forward. Unset: no traces are exported. A request's W3C `traceparent` header is honoured either way. |
//! | `OTEL_SERVICE_NAME` | `bac-metrics` | `service.name` of the exported spans. |
//! | `OTEL_BSP_SCHEDULE_DELAY` | `5000` | Milliseconds between batches of exported spans (read by the OpenTelemetry SDK itself, like its other `OTEL_BSP_*` settings). |
//! | `RUST_LOG` | `info` | Log filter (tracing-subscriber `EnvFilter` syntax). |
//!
//! **Admission control and resource budgets** (the model is in `docs/ARCHITECTURE.md`). Four
//! workloads — interactive, authentication, reporting, import — each get their own connections,
//! queue deadline and statement timeout, so none can starve another:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_POOL_SIZE` | `8` | Connections of the interactive workload (record lists and lookups, `me`, single writes, small reports). |
//! | `DATABASE_STATEMENT_TIMEOUT_MS` | `5000` | `statement_timeout` of interactive connections. |
//! | `INTERACTIVE_QUEUE_TIMEOUT_MS` | `2000` | How long an interactive request may wait for a connection before `RATE_LIMITED`. |
//! | `AUTH_POOL_SIZE` | `3` | Connections for session checks, sign-in, refresh and logout. |
//! | `AUTH_STATEMENT_TIMEOUT_MS` | `2000` | Their `statement_timeout`. |
//! | `AUTH_QUEUE_TIMEOUT_MS` | `2000` | Their queue deadline. |
//! | `REPORTING_POOL_SIZE` | `3` | Connections for expensive reads: large `metrics` requests, insights, the oversight report, audit verification, CSV exports. |
//! | `REPORTING_STATEMENT_TIMEOUT_MS` | `30000` | Their `statement_timeout`. |
//! | `REPORTING_QUEUE_TIMEOUT_MS` | `5000` | Their queue deadline. |
//! | `REPORTING_CONNECTIONS_PER_CALLER` | `1` | Reporting connections one signed-in caller may hold at once (aliases and parallel requests queue behind each other). |
//! | `EXPORT_STATEMENT_TIMEOUT_MS` | `300000` | `statement_timeout` of a streamed CSV export (it lasts as long as the client reads). |
//! | `IMPORT_MAX_CONCURRENT` | `2` | Bulk imports running at once; each holds `IMPORT_WORKERS` connections. |
//! | `IMPORT_POOL_SIZE` | `IMPORT_WORKERS × IMPORT_MAX_CONCURRENT` | Connections of the import workload. |
//! | `IMPORT_STATEMENT_TIMEOUT_MS` | `120000` | Their `statement_timeout`. |
//! | `IMPORT_QUEUE_TIMEOUT_MS` | `2000` | How long an import waits for its connections before `RATE_LIMITED`. |
//! | `IMPORT_MAX_BODY_BYTES` | `268435456` | Largest `POST /import/{kind}` body (256 MiB). |
//! | `IMPORT_MAX_LINE_BYTES` | `65536` | Longest line (CSV record or NDJSON object) of an import; a longer one is rejected with its line number. |
//! | `DATABASE_CHECKOUT_TIMEOUT_MS` | `1000` | How long opening a database connection may take. |
//! | `DATABASE_PROBE_INTERVAL_MS` | `1000` | While the database is down, requests fail at once with `UNAVAILABLE`; this is how often it is probed to recover. |
//! | `DATABASE_REPLICA_URLS` | empty | Comma-separated URLs of streaming read replicas of `DATABASE_URL` (the primary). Reports, insights, exports and record lists read from a healthy replica; writes, session checks and the reads of a caller whose own writes a replica has not replayed yet go to the primary (see `docs/DEPLOY.md`). Empty: everything on the primary. |
//! | `REPLICA_MAX_LAG_MS` | `5000` | A replica further behind the primary than this (time since the last replayed transaction, while WAL is waiting to be replayed), or unreachable, is skipped until it catches up; its reads go to the primary. Replicas are probed every `DATABASE_PROBE_INTERVAL_MS`. |
//! | `GRAPHQL_MAX_COST` | `20000` | Cost budget of one GraphQL operation (see `src/admission/cost.rs`); a costlier document is refused before execution with `extensions.cost` and `extensions.budget`. |
//! | `GRAPHQL_MAX_EXPENSIVE_FIELDS` | `4` | Reporting fields (`metrics`, insights, `oversightReport`, `verifyAuditChain`, …) one operation may select. |
//! | `GRAPHQL_MAX_MUTATION_FIELDS` | `10` | Mutation fields one operation may select (`login` and `refreshSession` at most once each). |
//! | `REPORTING_COST_THRESHOLD` | `1000` | An operation whose `metrics` fields cost at least this much (about 10,000 cells) runs on the reporting workload, like every insight; smaller reports, record pages and writes run as interactive work. |
//! | `METRICS_MAX_CELLS` | `50000` | Most values (rows × metrics) one `metrics` response may hold; a larger one is refused with advice to narrow it or use the CSV export, which streams. |
//! | `REQUESTS_PER_MINUTE_PER_SESSION` | `3000` | Requests one session (access token) may make per minute, counted in PostgreSQL across every server process. |
//! | `LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS` | `5` | Failed sign-ins for one account from one client address before that pair must wait (doubling from 1 s up to `LOGIN_LOCKOUT_MAX_SECONDS`). |
//! | `LOGIN_LOCKOUT_MAX_SECONDS` | `900` | Longest wait imposed on an account and address pair, or on an address. |
//! | `LOGIN_FAILURES_PER_ACCOUNT` | `20` | Failed sign-ins for one account from any address before every attempt on it must wait (doubling from 1 s up to `LOGIN_ACCOUNT_DELAY_MAX_SECONDS`). |
//! | `LOGIN_ACCOUNT_DELAY_MAX_SECONDS` | `30` | Longest wait imposed on an account as a whole, so an attacker cannot lock its owner out for long. |
//! | `LOGIN_FAILURES_PER_ADDRESS` | `50` | Failed sign-ins from one client address, any account, before it must wait. |
//! | `LOGIN_FAILURE_WINDOW_SECONDS` | `900` | Failures older than this are forgotten. |
//! | `PASSWORD_CHECKS_IN_FLIGHT` | half the CPUs, at least 1 | argon2id verifications running at once (each takes ~19 MiB and a CPU for tens of milliseconds); more wait up to 2 s, then `RATE_LIMITED`. |
//! | `TRUSTED_PROXIES` | unset | Comma-separated addresses or CIDR blocks of reverse proxies whose `Forwarded`/`X-Forwarded-For` names the client. Unset: the TCP peer is the client. |
//! | `REFUSED_TOKEN_SUMMARY_SECONDS` | `900` | Refused bearer tokens are logged and counted; at most one audit event per this interval summarises them. |
//! | `SHUTDOWN_DRAIN_SECONDS` | `2` | After SIGTERM, how long the server keeps serving while `/readyz` fails and connections close, so a load balancer moves away before it stops accepting (`0`: no drain). |
//! | `SHUTDOWN_GRACE_SECONDS` | `30` | Then how long in-flight requests may take to finish before the process exits. |

use std::{env, net::SocketAddr, path::PathBuf, time::Duration};

use chrono_tz::Tz;
use secrecy::SecretString;
use thiserror::Error;

pub mod oidc;
pub mod web;

pub use oidc::{OidcSettings, UserClaim};
pub use web::{CookieSecurity, CorsSettings, WebSettings};

/// A configuration value that is present but unusable.
#[derive(Debug, Error)]
#[error("configuration variable {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub name: &'static str,
    /// What is wrong with it, in a sentence a person can act on.
    pub problem: String,
}

/// Whether the server runs for developers or for the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where traces are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingSettings {
    /// The collector's OTLP/HTTP base URL, without a trailing slash.
    pub endpoint: String,
    /// `service.name` of every span.
    pub service_name: String,
}

impl TracingSettings {
    /// Where spans are sent: the base URL's `/v1/traces`, as the OTLP specification says for
    /// the generic endpoint variable.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.endpoint)
    }
}

/// JWT settings shared by minting and verification.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The HS256 secret; `None` means "generate and keep one in `DATA_DIR`". Redacted in
    /// `Debug` output, like every secret.
    pub secret: Option<SecretString>,
    /// Key of the customer pseudonym; `None` means "generate and keep one in `DATA_DIR`".
    pub pseudonym_key: Option<SecretString>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a session, however often it is refreshed.
    pub session_max_lifetime: Duration,
    pub leeway_seconds: u64,
}

/// GraphQL request limits.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
}

/// Which GraphQL documents may run (`GRAPHQL_TRUSTED_DOCUMENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedDocumentsMode {
    /// Any document runs; automatic persisted queries are served and registered.
    Off,
    /// Only documents an administrator registered run.
    AllowList,
}

/// Persisted documents: the trusted-documents mode and the bounds of automatic persisted
/// queries (see `records::documents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedDocumentSettings {
    pub trusted_documents: TrustedDocumentsMode,
    /// Automatic registrations kept; 0 turns automatic registration off.
    pub max_automatic: u32,
    /// Automatic registrations one account may make per hour.
    pub registrations_per_user_per_hour: u32,
    /// How long a browser may reuse the answer to a hash-only `GET`; zero: not at all.
    pub get_max_age: Duration,
}

/// The connection budget of one workload (see `db::Workload`).
#[derive(Debug, Clone)]
pub struct WorkloadBudget {
    /// Pooled connections, and so database work of this workload running at once.
    pub connections: u32,
    /// How long a request may wait for one of them before it is refused with `RATE_LIMITED`.
    pub queue_timeout: Duration,
    /// PostgreSQL `statement_timeout` on this workload's connections.
    pub statement_timeout: Duration,
}

/// The budgets of the four workloads.
#[derive(Debug, Clone)]
pub struct WorkloadBudgets {
    pub interactive: WorkloadBudget,
    pub authentication: WorkloadBudget,
    pub reporting: WorkloadBudget,
    pub import: WorkloadBudget,
}

/// What one request may cost (GraphQL cost model, result sizes, request rates).
#[derive(Debug, Clone)]
pub struct AdmissionSettings {
    /// Cost budget of one GraphQL operation.
    pub max_cost: u64,
    /// Reporting fields one operation may select.
    pub max_expensive_fields: usize,
    /// Mutation fields one operation may select.
    pub max_mutation_fields: usize,
    /// Operations whose reporting units reach this run on the reporting workload.
    pub reporting_cost_threshold: u64,
    /// Most values one `metrics` response may hold.
    pub metrics_max_cells: usize,
    /// Reporting connections one caller may hold at once.
    pub reporting_connections_per_caller: u32,
    /// `statement_timeout` of a streamed export.
    pub export_statement_timeout: Duration,
    /// Requests one session may make per minute (all server processes together).
    pub requests_per_minute_per_session: u32,
    /// argon2id verifications running at once.
    pub password_checks_in_flight: u32,
}

/// Failed sign-in throttling (see `auth::throttle`).
#[derive(Debug, Clone)]
pub struct LoginThrottleSettings {
    pub failures_per_account_and_address: u32,
    pub lockout_max: Duration,
    pub failures_per_account: u32,
    pub account_delay_max: Duration,
    pub failures_per_address: u32,
    pub failure_window: Duration,
}

/// Bulk import limits.
#[derive(Debug, Clone)]
pub struct ImportLimits {
    pub max_body_bytes: u64,
    pub max_line_bytes: usize,
    pub max_concurrent: u32,
}

/// Reporting rules (docs/metrics.md).
#[derive(Debug, Clone)]
pub struct ReportingSettings {
    pub time_zone: Tz,
    pub fiscal_year_start_month: u32,
    pub min_cell_size: i64,
    pub source: MetricsSource,
}

/// Where metric requests are answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsSource {
    /// The daily rollups when they can answer the request, otherwise the records.
    Auto,
    /// Always the records (interactions, responses, invitations).
    Base,
}

/// Records retention (see `crate::retention`): how long each class of personal data is kept,
/// and how often the server applies the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Days after a customer's last contact before their contact details are erased.
    pub customer_contacts_days: u32,
    /// Days after submission before a survey comment is erased.
    pub survey_comments_days: u32,
    /// Days after a survey link was used or expired before its token hash is erased.
    pub invitation_tokens_days: u32,
    /// Days after a session ended before it is deleted.
    pub sessions_days: u32,
    /// How often the in-server schedule runs; `None` when it is off.
    pub schedule_interval: Option<Duration>,
}

/// Everything the application needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// May hold a password: redacted in `Debug` output.
    pub database_url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub http_workers: Option<usize>,
    pub environment: Environment,
    pub tokens: TokenSettings,
    pub workloads: WorkloadBudgets,
    /// How long opening a database connection may take.
    pub database_connect_timeout: Duration,
    /// How often an unreachable database is probed (and every replica's health and lag).
    pub database_probe_interval: Duration,
    /// Streaming read replicas of the primary; may hold passwords, redacted in `Debug` output.
    pub database_replica_urls: Vec<SecretString>,
    /// How far behind the primary a replica may be and still serve reads.
    pub replica_max_lag: Duration,
    pub graphql: GraphqlLimits,
    /// Trusted documents and automatic persisted queries.
    pub persisted_documents: PersistedDocumentSettings,
    pub admission: AdmissionSettings,
    pub login_throttle: LoginThrottleSettings,
    pub imports: ImportLimits,
    /// Reverse proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// At most one summarising audit event of refused tokens per this interval.
    pub refused_token_summary_interval: Duration,
    /// After SIGTERM, how long the server drains before it stops accepting.
    pub shutdown_drain: Duration,
    /// How long in-flight requests may take to finish after the server stops accepting.
    pub shutdown_grace: Duration,
    pub reporting: ReportingSettings,
    pub log_format: LogFormat,
    /// The operators' `/metrics` listener; `None`: not served.
    pub metrics_bind: Option<SocketAddr>,
    /// Trace export; `None`: spans stay in the process (logs only).
    pub tracing: Option<TracingSettings>,
    pub import_batch_size: usize,
    pub import_workers: usize,
    pub survey_submissions_per_minute: u32,
    /// CORS, HSTS and the web front's session cookie.
    pub web: WebSettings,
    /// Where customers reach the server (no trailing slash); see `PUBLIC_BASE_URL`.
    pub public_base_url: Option<String>,
    pub retention: RetentionSettings,
    /// The external identity provider whose access tokens are accepted; `None`: none.
    pub oidc: Option<OidcSettings>,
}

impl Config {
    /// Reads the process environment. Without `APP_ENV` the server runs as in production
    /// (no GraphiQL, introspection or field suggestions): forgetting the variable must not
    /// open developer tools to the public.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Like [`Config::from_env`], for `serve --demo`: without `APP_ENV` it is a developer's
    /// machine, so the developer tools are on.
    pub fn from_env_for_demo() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            env::var(name)
                .ok()
                .or_else(|| (name == "APP_ENV").then(|| "development".to_owned()))
        })
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let environment = match get("APP_ENV").as_deref() {
            None | Some("production") => Environment::Production,
            Some("development") => Environment::Development,
            Some(other) => {
                return Err(ConfigError {
                    name: "APP_ENV",
                    problem: format!("expected `development` or `production`, got `{other}`"),
                })
            }
        };
        let secret = match get("JWT_SECRET") {
            None => None,
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError {
                    name: "JWT_SECRET",
                    problem: "must be at least 32 bytes long".into(),
                })
            }
            Some(secret) => Some(SecretString::from(secret)),
        };
        let pseudonym_key = match get("PSEUDONYM_KEY") {
            None => None,
            Some(key) if key.len() < 32 => {
                return Err(ConfigError {
                    name: "PSEUDONYM_KEY",
                    problem: "must be at least 32 bytes long".into(),
                })
            }
            Some(key) => Some(SecretString::from(key)),
        };
        let leeway_seconds = parse(&get, "JWT_LEEWAY_SECONDS", 10u64)?;
        if leeway_seconds > 30 {
            return Err(ConfigError {
                name: "JWT_LEEWAY_SECONDS",
                problem: "must be 30 or less".into(),
            });
        }
        let time_zone_name = get("REPORTING_TZ").unwrap_or_else(|| "America/New_York".into());
        let time_zone: Tz = time_zone_name.parse().map_err(|_| ConfigError {
            name: "REPORTING_TZ",
            problem: format!("`{time_zone_name}` is not an IANA time zone name"),
        })?;
        let fiscal_year_start_month = parse(&get, "FISCAL_YEAR_START_MONTH", 7u32)?;
        if !(1..=12).contains(&fiscal_year_start_month) {
            return Err(ConfigError {
                name: "FISCAL_YEAR_START_MONTH",
                problem: "must be a month number from 1 to 12".into(),
            });
        }
        let metrics_source = match get("METRICS_SOURCE").as_deref().map(str::trim) {
            None | Some("auto") => MetricsSource::Auto,
            Some("base") => MetricsSource::Base,
            Some(other) => {
                return Err(ConfigError {
                    name: "METRICS_SOURCE",
                    problem: format!("`{other}` is not `auto` or `base`"),
                })
            }
        };
        let import_workers = positive(&get, "IMPORT_WORKERS", 3)?.min(16);
        let import_max_concurrent = positive(&get, "IMPORT_MAX_CONCURRENT", 2)?.min(64);
        let bind = parse(&get, "BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    name: "LOG_FORMAT",
                    problem: format!("expected `pretty` or `json`, got `{other}`"),
                })
            }
        };
        let metrics_bind = get("METRICS_BIND")
            .map(|_| parse(&get, "METRICS_BIND", SocketAddr::from(([127, 0, 0, 1], 0))))
            .transpose()?;
        if metrics_bind.is_some_and(|address| address == bind && address.port() != 0) {
            return Err(ConfigError {
                name: "METRICS_BIND",
                problem: "must differ from BIND: /metrics is never served on the public listener"
                    .into(),
            });
        }
        let tracing = tracing_settings(&get)?;
        Ok(Self {
            database_url: get("DATABASE_URL").map(SecretString::from),
            data_dir: get("DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".bac-metrics")),
            bind,
            http_workers: get("HTTP_WORKERS")
                .map(|_| positive(&get, "HTTP_WORKERS", 1).map(|n| n as usize))
                .transpose()?,
            environment,
            tokens: TokenSettings {
                secret,
                pseudonym_key,
                issuer: get("JWT_ISSUER").unwrap_or_else(|| "bac-metrics".into()),
                audience: get("JWT_AUDIENCE").unwrap_or_else(|| "bac-metrics-api".into()),
                access_ttl: Duration::from_secs(positive(&get, "ACCESS_TOKEN_TTL_SECONDS", 900)?),
                refresh_ttl: Duration::from_secs(positive(
                    &get,
                    "REFRESH_TOKEN_TTL_SECONDS",
                    14 * 24 * 3600,
                )?),
                session_max_lifetime: seconds(
                    &get,
                    "SESSION_MAX_LIFETIME_SECONDS",
                    30 * 24 * 3600,
                )?,
                leeway_seconds,
            },
            workloads: WorkloadBudgets {
                interactive: budget(
                    &get,
                    ("DATABASE_POOL_SIZE", 8),
                    ("INTERACTIVE_QUEUE_TIMEOUT_MS", 2_000),
                    ("DATABASE_STATEMENT_TIMEOUT_MS", 5_000),
                )?,
                authentication: budget(
                    &get,
                    ("AUTH_POOL_SIZE", 3),
                    ("AUTH_QUEUE_TIMEOUT_MS", 2_000),
                    ("AUTH_STATEMENT_TIMEOUT_MS", 2_000),
                )?,
                reporting: budget(
                    &get,
                    ("REPORTING_POOL_SIZE", 3),
                    ("REPORTING_QUEUE_TIMEOUT_MS", 5_000),
                    ("REPORTING_STATEMENT_TIMEOUT_MS", 30_000),
                )?,
                import: budget(
                    &get,
                    ("IMPORT_POOL_SIZE", import_workers * import_max_concurrent),
                    ("IMPORT_QUEUE_TIMEOUT_MS", 2_000),
                    ("IMPORT_STATEMENT_TIMEOUT_MS", 120_000),
                )?,
            },
            database_connect_timeout: milliseconds(&get, "DATABASE_CHECKOUT_TIMEOUT_MS", 1_000)?,
            database_probe_interval: milliseconds(&get, "DATABASE_PROBE_INTERVAL_MS", 1_000)?,
            database_replica_urls: get("DATABASE_REPLICA_URLS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(|url| SecretString::from(url.to_owned()))
                .collect(),
            replica_max_lag: milliseconds(&get, "REPLICA_MAX_LAG_MS", 5_000)?,
            graphql: GraphqlLimits {
                max_body_bytes: positive(&get, "MAX_BODY_BYTES", 1024 * 1024)? as usize,
                max_depth: positive(&get, "GRAPHQL_MAX_DEPTH", 16)? as usize,
            },
            persisted_documents: persisted_document_settings(&get)?,
            admission: AdmissionSettings {
                max_cost: positive(&get, "GRAPHQL_MAX_COST", 20_000)?,
                max_expensive_fields: positive(&get, "GRAPHQL_MAX_EXPENSIVE_FIELDS", 4)? as usize,
                max_mutation_fields: positive(&get, "GRAPHQL_MAX_MUTATION_FIELDS", 10)? as usize,
                reporting_cost_threshold: positive(&get, "REPORTING_COST_THRESHOLD", 1_000)?,
                metrics_max_cells: positive(&get, "METRICS_MAX_CELLS", 50_000)? as usize,
                reporting_connections_per_caller: positive(
                    &get,
                    "REPORTING_CONNECTIONS_PER_CALLER",
                    1,
                )? as u32,
                export_statement_timeout: milliseconds(
                    &get,
                    "EXPORT_STATEMENT_TIMEOUT_MS",
                    300_000,
                )?,
                requests_per_minute_per_session: positive(
                    &get,
                    "REQUESTS_PER_MINUTE_PER_SESSION",
                    3_000,
                )? as u32,
                password_checks_in_flight: positive(
                    &get,
                    "PASSWORD_CHECKS_IN_FLIGHT",
                    (std::thread::available_parallelism()
                        .map(|cpus| cpus.get())
                        .unwrap_or(2)
                        / 2)
                    .max(1) as u64,
                )? as u32,
            },
            login_throttle: LoginThrottleSettings {
                failures_per_account_and_address: positive(
                    &get,
                    "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS",
                    5,
                )? as u32,
                lockout_max: seconds(&get, "LOGIN_LOCKOUT_MAX_SECONDS", 900)?,
                failures_per_account: positive(&get, "LOGIN_FAILURES_PER_ACCOUNT", 20)? as u32,
                account_delay_max: seconds(&get, "LOGIN_ACCOUNT_DELAY_MAX_SECONDS", 30)?,
                failures_per_address: positive(&get, "LOGIN_FAILURES_PER_ADDRESS", 50)? as u32,
                failure_window: seconds(&get, "LOGIN_FAILURE_WINDOW_SECONDS", 900)?,
            },
            imports: ImportLimits {
                max_body_bytes: positive(&get, "IMPORT_MAX_BODY_BYTES", 256 * 1024 * 1024)?,
                max_line_bytes: positive(&get, "IMPORT_MAX_LINE_BYTES", 64 * 1024)? as usize,
                max_concurrent: import_max_concurrent as u32,
            },
            trusted_proxies: get("TRUSTED_PROXIES")
                .map(|raw| parse_networks(&raw))
                .transpose()?
                .unwrap_or_default(),
            refused_token_summary_interval: seconds(&get, "REFUSED_TOKEN_SUMMARY_SECONDS", 900)?,
            shutdown_drain: Duration::from_secs(parse(&get, "SHUTDOWN_DRAIN_SECONDS", 2u64)?),
            shutdown_grace: seconds(&get, "SHUTDOWN_GRACE_SECONDS", 30)?,
            reporting: ReportingSettings {
                time_zone,
                fiscal_year_start_month,
                min_cell_size: positive(&get, "MIN_CELL_SIZE", 10)? as i64,
                source: metrics_source,
            },
            log_format,
            metrics_bind,
            tracing,
            import_batch_size: positive(&get, "IMPORT_BATCH_SIZE", 10_000)?.min(50_000) as usize,
            import_workers: import_workers as usize,
            survey_submissions_per_minute: positive(&get, "SURVEY_SUBMISSIONS_PER_MINUTE", 20)?
                as u32,
            web: WebSettings::from_lookup(&get)?,
            oidc: OidcSettings::from_lookup(&get)?,
            public_base_url: public_base_url(&get, environment)?,
            retention: RetentionSettings {
                customer_contacts_days: days(&get, "RETENTION_CUSTOMER_CONTACTS_DAYS", 1095)?,
                survey_comments_days: days(&get, "RETENTION_SURVEY_COMMENTS_DAYS", 1095)?,
                invitation_tokens_days: days(&get, "RETENTION_INVITATION_TOKENS_DAYS", 30)?,
                sessions_days: days(&get, "RETENTION_SESSIONS_DAYS", 30)?,
                schedule_interval: match get("RETENTION_SCHEDULE_INTERVAL")
                    .as_deref()
                    .map(str::trim)
                {
                    None => Some(Duration::from_secs(24 * 3600)),
                    Some("off") => None,
                    Some(raw) => {
                        Some(crate::cli::parse_ttl(raw).map_err(|problem| ConfigError {
                            name: "RETENTION_SCHEDULE_INTERVAL",
                            problem,
                        })?)
                    }
                },
            },
        })
    }

    /// True when GraphiQL, introspection and field suggestions are served.
    pub fn developer_tools_enabled(&self) -> bool {
        self.environment == Environment::Development
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
            name,
            problem: format!("`{raw}` is not a valid value"),
        }),
    }
}

/// Trace export from `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME`.
fn tracing_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<TracingSettings>, ConfigError> {
    let Some(endpoint) = get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return Ok(None);
    };
    let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
    if !endpoint.starts_with("http://") {
        return Err(ConfigError {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            problem: format!(
                "`{endpoint}` must be an `http://` URL of an OpenTelemetry collector's OTLP/HTTP receiver (e.g. `http://127.0.0.1:4318`); run the collector beside the server and let it forward over TLS"
            ),
        });
    }
    Ok(Some(TracingSettings {
        endpoint,
        service_name: get("OTEL_SERVICE_NAME")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|| "bac-metrics".into()),
    }))
}

/// A connection budget from its three variables `(name, default)`: connections, queue
/// timeout (ms), statement timeout (ms).
fn budget(
    get: &impl Fn(&str) -> Option<String>,
    connections: (&'static str, u64),
    queue_timeout_ms: (&'static str, u64),
    statement_timeout_ms: (&'static str, u64),
) -> Result<WorkloadBudget, ConfigError> {
    Ok(WorkloadBudget {
        connections: positive(get, connections.0, connections.1)?.min(1_000) as u32,
        queue_timeout: milliseconds(get, queue_timeout_ms.0, queue_timeout_ms.1)?,
        statement_timeout: milliseconds(get, statement_timeout_ms.0, statement_timeout_ms.1)?,
    })
}

fn milliseconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    positive(get, name, default).map(Duration::from_millis)
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    positive(get, name, default).map(Duration::from_secs)
}

/// `GRAPHQL_TRUSTED_DOCUMENTS` and the bounds of automatic persisted queries.
fn persisted_document_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<PersistedDocumentSettings, ConfigError> {
    let trusted_documents = match get("GRAPHQL_TRUSTED_DOCUMENTS").as_deref().map(str::trim) {
        None | Some("off") => TrustedDocumentsMode::Off,
        Some("allow-list") => TrustedDocumentsMode::AllowList,
        Some(other) => {
            return Err(ConfigError {
                name: "GRAPHQL_TRUSTED_DOCUMENTS",
                problem: format!("expected `off` or `allow-list`, got `{other}`"),
            })
        }
    };
    let get_max_age = parse(get, "GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS", 0u64)?;
    if get_max_age > 3_600 {
        return Err(ConfigError {
            name: "GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS",
            problem: "must be at most 3600 (an hour)".into(),
        });
    }
    Ok(PersistedDocumentSettings {
        trusted_documents,
        max_automatic: parse(get, "GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC", 1_000u32)?,
        registrations_per_user_per_hour: positive(
            get,
            "GRAPHQL_PERSISTED_QUERIES_PER_USER_PER_HOUR",
            100,
        )?
        .min(u64::from(u32::MAX)) as u32,
        get_max_age: Duration::from_secs(get_max_age),
    })
}

/// `TRUSTED_PROXIES`: addresses (a host) or CIDR blocks, comma-separated.
fn parse_networks(raw: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    name: "TRUSTED_PROXIES",
                    problem: format!("`{item}` is neither an IP address nor a CIDR block"),
                })
        })
        .collect()
}

/// A retention period: whole days from 1 to 100 years.
fn days(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u32, ConfigError> {
    let value = positive(get, name, default)?;
    if value > 36_500 {
        return Err(ConfigError {
            name,
            problem: "must be at most 36500 days".into(),
        });
    }
    Ok(value as u32)
}

/// `PUBLIC_BASE_URL` without its trailing slash: an http(s) origin, optionally with a path,
/// and https in production (the link carries a one-time token).
fn public_base_url(
    get: &impl Fn(&str) -> Option<String>,
    environment: Environment,
) -> Result<Option<String>, ConfigError> {
    let Some(raw) = get("PUBLIC_BASE_URL") else {
        return Ok(None);
    };
    let url = raw.trim().trim_end_matches('/');
    let problem = |problem: &str| ConfigError {
        name: "PUBLIC_BASE_URL",
        problem: problem.into(),
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| problem("must start with https:// (or http:// in development)"))?;
    if environment == Environment::Production && !url.starts_with("https://") {
        return Err(problem("must be an https:// URL in production"));
    }
    if rest.is_empty()
        || rest.starts_with('/')
        || rest.contains(|c: char| c.is_whitespace() || matches!(c, '?' | '#' | '"' | '<' | '>'))
    {
        return Err(problem(
            "must be a URL like https://survey.example.gov, without query or fragment",
        ));
    }
    Ok(Some(url.to_owned()))
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let value = parse(get, name, default)?;
    if value == 0 {
        return Err(ConfigError {
            name,
            problem: "must be greater than zero".into(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_design() {
        let config = config_with(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.reporting.time_zone, chrono_tz::America::New_York);
        assert_eq!(config.reporting.fiscal_year_start_month, 7);
        assert_eq!(config.reporting.min_cell_size, 10);
        // Forgetting APP_ENV must not open developer tools to the public.
        assert!(!config.developer_tools_enabled());
        assert!(config.database_url.is_none());
        let development = config_with(&[("APP_ENV", "development")]).unwrap();
        assert!(development.developer_tools_enabled());
    }

    #[test]
    fn debug_output_redacts_every_secret() {
        let config = config_with(&[
            ("JWT_SECRET", "jwt-secret-that-is-long-enough-0123456789"),
            ("PSEUDONYM_KEY", "pseudonym-key-that-is-long-enough-012345"),
            (
                "DATABASE_URL",
                "postgres://bac:hunter2-password@db.example/bac",
            ),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        for secret in ["jwt-secret-that", "pseudonym-key-that", "hunter2"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn metrics_and_trace_export_are_off_unless_configured() {
        let config = config_with(&[]).unwrap();
        assert!(config.metrics_bind.is_none());
        assert!(config.tracing.is_none());
        let config = config_with(&[
            ("METRICS_BIND", "10.0.0.5:9464"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
        ])
        .unwrap();
        assert_eq!(config.metrics_bind.unwrap().to_string(), "10.0.0.5:9464");
        let tracing = config.tracing.unwrap();
        assert_eq!(tracing.traces_url(), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(tracing.service_name, "bac-metrics");
        // /metrics is never served on the public listener.
        let error =
            config_with(&[("BIND", "0.0.0.0:8080"), ("METRICS_BIND", "0.0.0.0:8080")]).unwrap_err();
        assert_eq!(error.name, "METRICS_BIND");
        let error = config_with(&[("METRICS_BIND", "everywhere")]).unwrap_err();
        assert_eq!(error.name, "METRICS_BIND");
        // No TLS stack is linked: an https endpoint is refused at start, not at the first span.
        let error = config_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example")])
            .unwrap_err();
        assert_eq!(error.name, "OTEL_EXPORTER_OTLP_ENDPOINT");
    }

    #[test]
    fn replicas_are_a_comma_separated_list_held_as_secrets() {
        let config = config_with(&[]).unwrap();
        assert!(config.database_replica_urls.is_empty());
        assert_eq!(config.replica_max_lag, Duration::from_millis(5_000));
        let config = config_with(&[
            (
                "DATABASE_REPLICA_URLS",
                " postgres://bac:hunter2@replica-1/bac , ,postgres://bac@replica-2/bac",
            ),
            ("REPLICA_MAX_LAG_MS", "250"),
        ])
        .unwrap();
        let urls: Vec<&str> = config
            .database_replica_urls
            .iter()
            .map(secrecy::ExposeSecret::expose_secret)
            .collect();
        assert_eq!(
            urls,
            [
                "postgres://bac:hunter2@replica-1/bac",
                "postgres://bac@replica-2/bac"
            ]
        );
        assert_eq!(config.replica_max_lag, Duration::from_millis(250));
        assert!(!format!("{config:?}").contains("hunter2"));
        let error = config_with(&[("REPLICA_MAX_LAG_MS", "soon")]).unwrap_err();
        assert_eq!(error.name, "REPLICA_MAX_LAG_MS");
    }

    #[test]
    fn rejects_short_secret_and_unknown_zone() {
        let error = config_with(&[("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(error.name, "JWT_SECRET");
        let error = config_with(&[("REPORTING_TZ", "Mars/Olympus")]).unwrap_err();
        assert_eq!(error.name, "REPORTING_TZ");
        let error = config_with(&[("JWT_LEEWAY_SECONDS", "60")]).unwrap_err();
        assert_eq!(error.name, "JWT_LEEWAY_SECONDS");
        let error = config_with(&[("FISCAL_YEAR_START_MONTH", "13")]).unwrap_err();
        assert_eq!(error.name, "FISCAL_YEAR_START_MONTH");
    }

    #[test]
    fn retention_and_links_have_defaults_and_are_checked() {
        let config = config_with(&[]).unwrap();
        assert_eq!(config.retention.customer_contacts_days, 1095);
        assert_eq!(config.retention.invitation_tokens_days, 30);
        assert_eq!(
            config.retention.schedule_interval,
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(config.public_base_url, None);
        let config = config_with(&[
            ("RETENTION_SCHEDULE_INTERVAL", "off"),
            ("PUBLIC_BASE_URL", "https://survey.example.gov/bac/"),
        ])
        .unwrap();
        assert_eq!(config.retention.schedule_interval, None);
        assert_eq!(
            config.public_base_url.as_deref(),
            Some("https://survey.example.gov/bac")
        );
        for (name, value) in [
            ("RETENTION_SESSIONS_DAYS", "0"),
            ("RETENTION_SURVEY_COMMENTS_DAYS", "40000"),
            ("RETENTION_SCHEDULE_INTERVAL", "daily"),
            ("PUBLIC_BASE_URL", "survey.example.gov"),
            ("PUBLIC_BASE_URL", "https://survey.example.gov/?x=1"),
        ] {
            assert_eq!(config_with(&[(name, value)]).unwrap_err().name, name);
        }
        let error = config_with(&[
            ("APP_ENV", "production"),
            ("PUBLIC_BASE_URL", "http://survey.example.gov"),
        ])
        .unwrap_err();
        assert_eq!(error.name, "PUBLIC_BASE_URL");
    }

    #[test]
    fn trusted_documents_are_off_by_default_and_checked() {
        let config = config_with(&[]).unwrap();
        assert_eq!(
            config.persisted_documents,
            PersistedDocumentSettings {
                trusted_documents: TrustedDocumentsMode::Off,
                max_automatic: 1_000,
                registrations_per_user_per_hour: 100,
                get_max_age: Duration::ZERO,
            }
        );
        let config = config_with(&[
            ("GRAPHQL_TRUSTED_DOCUMENTS", "allow-list"),
            ("GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC", "0"),
            ("GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS", "60"),
        ])
        .unwrap();
        assert_eq!(
            config.persisted_documents.trusted_documents,
            TrustedDocumentsMode::AllowList
        );
        assert_eq!(config.persisted_documents.max_automatic, 0);
        assert_eq!(
            config.persisted_documents.get_max_age,
            Duration::from_secs(60)
        );
        for (name, value) in [
            ("GRAPHQL_TRUSTED_DOCUMENTS", "on"),
            ("GRAPHQL_PERSISTED_QUERIES_PER_USER_PER_HOUR", "0"),
            ("GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC", "-1"),
            ("GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS", "86400"),
        ] {
            assert_eq!(config_with(&[(name, value)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn production_turns_off_developer_tools() {
        let config = config_with(&[("APP_ENV", "production")]).unwrap();
        assert!(!config.developer_tools_enabled());
    }
}
