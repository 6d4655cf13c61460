//! Settings of the browser-facing edge: CORS, `Strict-Transport-Security`, and the cookie session
//! of the web front (`src/http/web_front/`). The variables are documented in the table of
//! `src/config.rs` with all the others.

use std::time::Duration;

use super::{parse, positive, ConfigError};

/// Cross-origin requests from browser front-ends of other teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsSettings {
    /// Origins (`scheme://host[:port]`, lower case, no default port) allowed to call the API
    /// from a browser. Empty: no CORS headers at all.
    pub allowed_origins: Vec<String>,
    /// Whether those origins may send credentials (`Access-Control-Allow-Credentials: true`).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer.
    pub max_age_seconds: u64,
}

/// When the session cookie gets the `Secure` attribute (and the `__Host-` name prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecurity {
    /// When the request came over TLS, directly or as a proxy reports it (`Forwarded`,
    /// `X-Forwarded-Proto`).
    Auto,
    /// Always: for deployments where TLS ends at a proxy that does not say so.
    Always,
}

/// The browser-facing settings.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub cors: CorsSettings,
    /// `Strict-Transport-Security: max-age=N` on responses to requests that came over TLS.
    /// `None`: never sent.
    pub hsts_max_age_seconds: Option<u64>,
    pub cookie_security: CookieSecurity,
    /// Absolute lifetime of a web front session (sign in again after it).
    pub session_ttl: Duration,
}

/// Longest web session allowed: a session cookie outliving a working day is not "bounded".
const MAX_SESSION_TTL_SECONDS: u64 = 24 * 3600;
/// Browsers cap preflight caching anyway (Chromium at 2 hours, Firefox at 24).
const MAX_CORS_MAX_AGE_SECONDS: u64 = 24 * 3600;

impl WebSettings {
    /// Reads the variables through `get` (blank values count as unset).
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let allowed_origins = match get("CORS_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(normalize_origin)
                .collect::<Result<Vec<_>, _>>()?,
        };
        let max_age_seconds = parse(get, "CORS_MAX_AGE_SECONDS", 600u64)?;
        if max_age_seconds > MAX_CORS_MAX_AGE_SECONDS {
            return Err(ConfigError {
                name: "CORS_MAX_AGE_SECONDS",
                problem: format!("must be {MAX_CORS_MAX_AGE_SECONDS} or less"),
            });
        }
        let cookie_security = match get("WEB_COOKIE_SECURE").as_deref().map(str::trim) {
            None | Some("auto") => CookieSecurity::Auto,
            Some("always") => CookieSecurity::Always,
            Some(other) => {
                return Err(ConfigError {
                    name: "WEB_COOKIE_SECURE",
                    problem: format!("expected `auto` or `always`, got `{other}`"),
                })
            }
        };
        let session_ttl = positive(get, "WEB_SESSION_TTL_SECONDS", 8 * 3600)?;
        if session_ttl > MAX_SESSION_TTL_SECONDS {
            return Err(ConfigError {
                name: "WEB_SESSION_TTL_SECONDS",
                problem: format!("must be {MAX_SESSION_TTL_SECONDS} (one day) or less"),
            });
        }
        let hsts = parse(get, "HSTS_MAX_AGE_SECONDS", 0u64)?;
        Ok(Self {
            cors: CorsSettings {
                allowed_origins,
                allow_credentials: parse(get, "CORS_ALLOW_CREDENTIALS", false)?,
                max_age_seconds,
            },
            hsts_max_age_seconds: (hsts > 0).then_some(hsts),
            cookie_security,
            session_ttl: Duration::from_secs(session_ttl),
        })
    }
}

/// An origin as browsers send it in `Origin`: `scheme://host[:port]`, lower case, without the
/// scheme's default port. A path (other than a lone `/`), a wildcard or `null` is refused: the
/// list names real origins only.
fn normalize_origin(raw: &str) -> Result<String, ConfigError> {
    let problem = |why: &str| ConfigError {
        name: "CORS_ALLOWED_ORIGINS",
        problem: format!("`{raw}` {why}; write origins like https://dashboard.agency.gov"),
    };
    let lower = raw.to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| problem("is not an origin"))?;
    if scheme != "http" && scheme != "https" {
        return Err(problem("does not start with http:// or https://"));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@', '*', ' '])
        || authority.starts_with(':')
    {
        return Err(problem(
            "is not an origin (scheme, host and optional port only)",
        ));
    }
    // The host, and the port after it (an IPv6 literal's colons sit inside its brackets).
    let (host, port) = match authority.strip_prefix('[') {
        Some(inside) => {
            let (address, after) = inside
                .split_once(']')
                .ok_or_else(|| problem("is not an origin"))?;
            (format!("[{address}]"), after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        },
    };
    let authority = match port {
        None => host,
        Some(port) => {
            let port: u16 = port
                .parse()
                .map_err(|_| problem("has a port that is not a number"))?;
            let default = if scheme == "https" { 443 } else { 80 };
            if port == default {
                host
            } else {
                format!("{host}:{port}")
            }
        }
    };
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<WebSettings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WebSettings::from_lookup(&|name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn defaults_allow_no_origin_and_send_no_hsts() {
        let web = settings(&[]).unwrap();
        assert!(web.cors.allowed_origins.is_empty());
        assert!(!web.cors.allow_credentials);
        assert_eq!(web.cors.max_age_seconds, 600);
        assert_eq!(web.hsts_max_age_seconds, None);
        assert_eq!(web.cookie_security, CookieSecurity::Auto);
        assert_eq!(web.session_ttl, Duration::from_secs(8 * 3600));
    }

    #[test]
    fn origins_are_normalized_as_browsers_send_them() {
        let web = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            " https://Dash.Agency.gov/ , http://localhost:5173,https://a.gov:443,http://[::1]:8000",
        )])
        .unwrap();
        assert_eq!(
            web.cors.allowed_origins,
            [
                "https://dash.agency.gov",
                "http://localhost:5173",
                "https://a.gov",
                "http://[::1]:8000"
            ]
        );
    }

    #[test]
    fn wildcards_paths_and_bad_values_are_refused() {
        for bad in [
            "*",
            "null",
            "https://a.gov/app",
            "ftp://a.gov",
            "https://*.a.gov",
            "https://a.gov:x",
        ] {
            let error = settings(&[("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert_eq!(error.name, "CORS_ALLOWED_ORIGINS", "{bad}");
        }
        assert_eq!(
            settings(&[("CORS_ALLOW_CREDENTIALS", "yes")])
                .unwrap_err()
                .name,
            "CORS_ALLOW_CREDENTIALS"
        );
        assert_eq!(
            settings(&[("WEB_SESSION_TTL_SECONDS", "604800")])
                .unwrap_err()
                .name,
            "WEB_SESSION_TTL_SECONDS"
        );
        assert_eq!(
            settings(&[("WEB_COOKIE_SECURE", "never")])
                .unwrap_err()
                .name,
            "WEB_COOKIE_SECURE"
        );
    }
}
