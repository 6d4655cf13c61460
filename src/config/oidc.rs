//! Settings of the external identity provider (`src/auth/oidc.rs`): which OpenID Connect issuer's
//! access tokens the API accepts, for which audience, signed how, and which claim names the
//! user. The variables are documented in the table of `src/config.rs` with all the others.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;

use super::{positive, ConfigError};

/// Which token claim names a `users` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// `email`, matched case-insensitively against `users.email`.
    Email,
    /// `sub`, matched exactly against `users.external_subject`.
    Subject,
}

/// The identity provider whose tokens are accepted (`OIDC_ISSUER` set).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The `iss` claim required, exactly as the provider writes it.
    pub issuer: String,
    /// The `aud` value required (the API's application id or URI at the provider).
    pub audience: String,
    /// Where the signing keys are; `None`: the `jwks_uri` of the provider's discovery document.
    pub jwks_url: Option<String>,
    pub user_claim: UserClaim,
    /// How long fetched keys are trusted before they are fetched again.
    pub jwks_cache: Duration,
    /// Shortest time between two fetches caused by a token naming a key we do not hold, so
    /// tokens with made-up `kid`s cannot make us hammer the provider.
    pub jwks_refetch_interval: Duration,
    /// Signature algorithms accepted (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// This server's client id at the provider: set, the web front offers signing in there
    /// (authorization code with PKCE), and ID tokens must be issued for it.
    pub client_id: Option<String>,
    /// The client secret, for providers that require one from a web application as well as PKCE.
    pub client_secret: Option<SecretString>,
    /// How the web front names the provider ("Sign in with …").
    pub provider_name: String,
}

/// The algorithms a provider's key may sign with here: RSA and P-256/P-384 ECDSA. Never an HMAC
/// (the "secret" would be the public key) and never `none`.
const ACCEPTABLE: [(&str, Algorithm); 6] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
];

impl OidcSettings {
    /// Reads the variables through `get`; `None` when `OIDC_ISSUER` is unset (no provider).
    pub(super) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = get("OIDC_ISSUER").map(|issuer| issuer.trim().to_owned()) else {
            return Ok(None);
        };
        check_url("OIDC_ISSUER", &issuer)?;
        let audience = get("OIDC_AUDIENCE")
            .map(|audience| audience.trim().to_owned())
            .ok_or_else(|| ConfigError {
                name: "OIDC_AUDIENCE",
                problem: "is required with OIDC_ISSUER: tokens the provider issued for other \
                          applications must not be accepted here"
                    .into(),
            })?;
        let jwks_url = get("OIDC_JWKS_URL").map(|url| url.trim().to_owned());
        if let Some(url) = &jwks_url {
            check_url("OIDC_JWKS_URL", url)?;
        }
        let user_claim = match get("OIDC_USER_CLAIM").as_deref().map(str::trim) {
            None | Some("email") => UserClaim::Email,
            Some("sub") => UserClaim::Subject,
            Some(other) => {
                return Err(ConfigError {
                    name: "OIDC_USER_CLAIM",
                    problem: format!("expected `email` or `sub`, got `{other}`"),
                })
            }
        };
        let algorithms = match get("OIDC_ALGORITHMS") {
            None => vec![Algorithm::RS256, Algorithm::ES256],
            Some(list) => parse_algorithms(&list)?,
        };
        Ok(Some(Self {
            issuer,
            audience,
            jwks_url,
            user_claim,
            jwks_cache: Duration::from_secs(positive(get, "OIDC_JWKS_CACHE_SECONDS", 300)?),
            jwks_refetch_interval: Duration::from_secs(positive(
                get,
                "OIDC_JWKS_REFETCH_SECONDS",
                30,
            )?),
            algorithms,
            client_id: get("OIDC_CLIENT_ID").map(|id| id.trim().to_owned()),
            client_secret: get("OIDC_CLIENT_SECRET").map(SecretString::from),
            provider_name: get("OIDC_PROVIDER_NAME")
                .map(|name| name.trim().to_owned())
                .unwrap_or_else(|| "your agency account".into()),
        }))
    }

    /// The discovery document's address: `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, ConfigError> {
    let mut algorithms = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let Some((_, algorithm)) = ACCEPTABLE
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
        else {
            return Err(ConfigError {
                name: "OIDC_ALGORITHMS",
                problem: format!(
                    "`{name}` is not accepted; choose from RS256, RS384, RS512, PS256, ES256, \
                     ES384 (symmetric algorithms and `none` never are)"
                ),
            });
        };
        if !algorithms.contains(algorithm) {
            algorithms.push(*algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(ConfigError {
            name: "OIDC_ALGORITHMS",
            problem: "names no algorithm".into(),
        });
    }
    Ok(algorithms)
}

/// Keys and discovery travel over `https`; plain `http` only to a loopback address (a provider
/// on the same machine, and the tests' own provider).
fn check_url(name: &'static str, url: &str) -> Result<(), ConfigError> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if url.starts_with("https://") || loopback {
        Ok(())
    } else {
        Err(ConfigError {
            name,
            problem: format!(
                "`{url}` must be an https:// URL (plain http only to a loopback address): \
                 signing keys fetched in clear text could be replaced on the way"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Option<OidcSettings>, ConfigError> {
        OidcSettings::from_lookup(&|name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn off_without_an_issuer() {
        assert!(settings(&[]).unwrap().is_none());
    }

    #[test]
    fn defaults() {
        let oidc = settings(&[
            ("OIDC_ISSUER", "https://login.example.gov/realms/bac"),
            ("OIDC_AUDIENCE", "bac-metrics-api"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(oidc.user_claim, UserClaim::Email);
        assert_eq!(oidc.algorithms, vec![Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(oidc.jwks_cache, Duration::from_secs(300));
        assert_eq!(
            oidc.discovery_url(),
            "https://login.example.gov/realms/bac/.well-known/openid-configuration"
        );
    }

    #[test]
    fn refuses_symmetric_algorithms_plain_http_and_a_missing_audience() {
        let issuer = ("OIDC_ISSUER", "https://login.example.gov");
        let audience = ("OIDC_AUDIENCE", "api");
        let error = settings(&[issuer, audience, ("OIDC_ALGORITHMS", "RS256,HS256")]).unwrap_err();
        assert_eq!(error.name, "OIDC_ALGORITHMS");
        let error = settings(&[issuer, audience, ("OIDC_ALGORITHMS", "none")]).unwrap_err();
        assert_eq!(error.name, "OIDC_ALGORITHMS");
        let error = settings(&[("OIDC_ISSUER", "http://login.example.gov"), audience]).unwrap_err();
        assert_eq!(error.name, "OIDC_ISSUER");
        assert!(settings(&[("OIDC_ISSUER", "http://127.0.0.1:9000"), audience]).is_ok());
        assert!(settings(&[("OIDC_ISSUER", "http://127.0.0.1.evil.example"), audience]).is_err());
        let error = settings(&[issuer]).unwrap_err();
        assert_eq!(error.name, "OIDC_AUDIENCE");
        let error = settings(&[issuer, audience, ("OIDC_USER_CLAIM", "upn")]).unwrap_err();
        assert_eq!(error.name, "OIDC_USER_CLAIM");
    }
}
