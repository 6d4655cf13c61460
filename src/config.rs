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
//! | `APP_ENV` | `development` | `production` turns off GraphiQL, introspection and field suggestions. |
//! | `JWT_SECRET` | unset | HS256 signing secret (≥ 32 bytes). Unset with a private cluster: generated once and kept in `DATA_DIR`. Required with `DATABASE_URL`. |
//! | `PSEUDONYM_KEY` | unset | Key (≥ 32 bytes) of the keyed hash that turns `customer_ref` into the pseudonym non-PII roles see. Unset: like `JWT_SECRET`. |
//! | `IMPORT_BATCH_SIZE` | `10000` | Rows written per transaction by bulk imports (at most 50,000). Larger batches amortise the per-statement work of the metric rollups. |
//! | `IMPORT_WORKERS` | `3` | Connections a bulk import of interactions or surveys writes through in parallel (at most 16; each takes one from the pool while the import runs). Rows naming a customer go to the writer that owns the customer, so writers never wait on each other's new customers; a row whose key is still being written goes behind it, so rows sharing a key keep their file order whatever the number. |
//! | `SURVEY_SUBMISSIONS_PER_MINUTE` | `20` | Public survey submissions allowed per client address per minute. |
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
//! | `JWT_LEEWAY_SECONDS` | `10` | Clock skew allowed on `exp`/`nbf`/`iat` (at most 30). |
//! | `DATABASE_POOL_SIZE` | `10` | Maximum pooled connections. |
//! | `DATABASE_CHECKOUT_TIMEOUT_MS` | `3000` | How long a request waits for a pooled connection. |
//! | `DATABASE_STATEMENT_TIMEOUT_MS` | `15000` | PostgreSQL `statement_timeout` set on every connection. |
//! | `MAX_BODY_BYTES` | `1048576` | Largest GraphQL request body accepted. |
//! | `GRAPHQL_MAX_DEPTH` | `16` | Deepest selection set accepted (GraphiQL's introspection needs 13). |
//! | `GRAPHQL_MAX_COMPLEXITY` | `5000` | Largest query complexity accepted. |
//! | `REPORTING_TZ` | `America/New_York` | Time zone that reporting periods are cut in. |
//! | `FISCAL_YEAR_START_MONTH` | `7` | First month of the fiscal year (named by the calendar year it ends in). |
//! | `MIN_CELL_SIZE` | `10` | Smallest survey denominator shown to the `analyst` role. |
//! | `METRICS_SOURCE` | `auto` | Where `metrics` reads from: `auto` (the daily rollups whenever they can answer, else the records) or `base` (always the records; slower, for checking the rollups). |
//! | `LOG_FORMAT` | `pretty` | `json` for one JSON object per log line. |
//! | `RUST_LOG` | `info` | Log filter (tracing-subscriber `EnvFilter` syntax). |

use std::{env, net::SocketAddr, path::PathBuf, time::Duration};

use chrono_tz::Tz;
use thiserror::Error;

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

/// JWT settings shared by minting and verification.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The HS256 secret; `None` means "generate and keep one in `DATA_DIR`".
    pub secret: Option<Vec<u8>>,
    /// Key of the customer pseudonym; `None` means "generate and keep one in `DATA_DIR`".
    pub pseudonym_key: Option<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub leeway_seconds: u64,
}

/// GraphQL execution limits.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
}

/// Reporting rules (DESIGN §4).
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
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub http_workers: Option<usize>,
    pub environment: Environment,
    pub tokens: TokenSettings,
    pub pool_size: u32,
    pub checkout_timeout: Duration,
    pub statement_timeout_ms: u64,
    pub graphql: GraphqlLimits,
    pub reporting: ReportingSettings,
    pub log_format: LogFormat,
    pub import_batch_size: usize,
    pub import_workers: usize,
    pub survey_submissions_per_minute: u32,
    /// Where customers reach the server (no trailing slash); see `PUBLIC_BASE_URL`.
    pub public_base_url: Option<String>,
    pub retention: RetentionSettings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let environment = match get("APP_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
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
            Some(secret) => Some(secret.into_bytes()),
        };
        let pseudonym_key = match get("PSEUDONYM_KEY") {
            None => None,
            Some(key) if key.len() < 32 => {
                return Err(ConfigError {
                    name: "PSEUDONYM_KEY",
                    problem: "must be at least 32 bytes long".into(),
                })
            }
            Some(key) => Some(key.into_bytes()),
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
        Ok(Self {
            database_url: get("DATABASE_URL"),
            data_dir: get("DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".bac-metrics")),
            bind: parse(&get, "BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
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
                leeway_seconds,
            },
            pool_size: positive(&get, "DATABASE_POOL_SIZE", 10)? as u32,
            checkout_timeout: Duration::from_millis(positive(
                &get,
                "DATABASE_CHECKOUT_TIMEOUT_MS",
                3000,
            )?),
            statement_timeout_ms: positive(&get, "DATABASE_STATEMENT_TIMEOUT_MS", 15_000)?,
            graphql: GraphqlLimits {
                max_body_bytes: positive(&get, "MAX_BODY_BYTES", 1024 * 1024)? as usize,
                max_depth: positive(&get, "GRAPHQL_MAX_DEPTH", 16)? as usize,
                max_complexity: positive(&get, "GRAPHQL_MAX_COMPLEXITY", 5000)? as usize,
            },
            reporting: ReportingSettings {
                time_zone,
                fiscal_year_start_month,
                min_cell_size: positive(&get, "MIN_CELL_SIZE", 10)? as i64,
                source: metrics_source,
            },
            log_format,
            import_batch_size: positive(&get, "IMPORT_BATCH_SIZE", 10_000)?.min(50_000) as usize,
            import_workers: positive(&get, "IMPORT_WORKERS", 3)?.min(16) as usize,
            survey_submissions_per_minute: positive(&get, "SURVEY_SUBMISSIONS_PER_MINUTE", 20)?
                as u32,
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
        assert!(config.developer_tools_enabled());
        assert!(config.database_url.is_none());
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
    fn production_turns_off_developer_tools() {
        let config = config_with(&[("APP_ENV", "production")]).unwrap();
        assert!(!config.developer_tools_enabled());
    }
}
