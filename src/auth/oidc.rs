//! Access tokens from an external OpenID Connect identity provider (`OIDC_ISSUER`): the
//! provider's signing keys (its JWKS, found through its discovery document unless
//! `OIDC_JWKS_URL` names it), their cache, and the verification of one token.
//!
//! A token passes only if its header names a key (`kid`) the provider publishes for signing,
//! its `alg` is one of `OIDC_ALGORITHMS` *and* one that key may sign with (an RSA key never
//! verifies an ES256 token, and no key ever verifies HS* or `none`: an HMAC "secret" would be
//! the public key everybody can fetch), its signature holds, and `iss`, `aud`, `exp` and `sub`
//! are present and right; `nbf` and `iat` are checked when present (Okta and Keycloak access
//! tokens carry no `nbf`), with the same leeway as our own tokens. Who the token names, and with
//! which role, is decided by [`crate::auth::scope`] from the `users` table, on every request.
//!
//! Keys are cached for `OIDC_JWKS_CACHE_SECONDS`. A token naming a key not in the cache fetches
//! the set again at once — that is how a provider's key rotation reaches us — but at most once
//! per `OIDC_JWKS_REFETCH_SECONDS`, and one fetch at a time, so a stream of tokens with made-up
//! key ids costs the provider one request per interval. A key the provider stopped publishing
//! disappears with the next fetch. When the provider cannot be reached, keys already fetched stay
//! in use until it can be.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    decode, decode_header,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm},
    Algorithm, DecodingKey, Validation,
};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::{
    auth::jwt::TokenRejection,
    config::{OidcSettings, UserClaim},
};

/// How long one request to the provider may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest discovery document or key set read (Entra ID's is ~10 KiB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why the provider's token was refused. The message is safe to show to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExternalRejection {
    #[error("its header names no signing key (`kid`)")]
    NoKeyId,
    #[error("it is signed with a key the identity provider does not publish")]
    UnknownKey,
    #[error("its signature algorithm is not accepted for that key")]
    Algorithm,
    #[error("its signature does not verify")]
    Signature,
    #[error("it was issued by another issuer")]
    Issuer,
    #[error("it was issued for another audience")]
    Audience,
    #[error("a required claim (`iss`, `aud`, `exp`, `sub`) is missing or malformed")]
    Claims,
    #[error("it carries no `email` claim")]
    NoEmail,
    #[error("its email address is not verified by the identity provider")]
    EmailUnverified,
    #[error("no active account here matches it; ask an administrator to add or link one")]
    NoMatchingUser,
    #[error("it does not answer this sign-in (`nonce`)")]
    Nonce,
}

impl ExternalRejection {
    /// A short stable name for logs, counters and the refusals summary.
    pub fn code(&self) -> &'static str {
        match self {
            ExternalRejection::NoKeyId => "external_no_key_id",
            ExternalRejection::UnknownKey => "external_unknown_key",
            ExternalRejection::Algorithm => "external_algorithm",
            ExternalRejection::Signature => "external_signature",
            ExternalRejection::Issuer => "external_issuer",
            ExternalRejection::Audience => "external_audience",
            ExternalRejection::Claims => "external_claims",
            ExternalRejection::NoEmail => "external_no_email",
            ExternalRejection::EmailUnverified => "external_email_unverified",
            ExternalRejection::NoMatchingUser => "external_no_matching_user",
            ExternalRejection::Nonce => "external_nonce",
        }
    }
}

/// Who a verified provider token names: the value of the configured user claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub claim: UserClaim,
    /// The email address (lower-cased) or the subject.
    pub value: String,
}

/// Why a token could not be checked at all (as opposed to checked and refused).
#[derive(Debug, thiserror::Error)]
#[error("the identity provider's signing keys could not be fetched: {0}")]
pub struct KeysUnavailable(pub String);

/// One usable signing key of the provider.
#[derive(Clone)]
struct SigningKey {
    key: DecodingKey,
    /// The algorithms this key may verify: its JWK's `alg`, or what its type allows, within
    /// `OIDC_ALGORITHMS`.
    algorithms: Vec<Algorithm>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, SigningKey>,
    /// When the keys in `keys` were fetched; `None`: never successfully.
    fetched_at: Option<Instant>,
    /// When a fetch was last attempted, successful or not (the refetch guard).
    attempted_at: Option<Instant>,
    /// The provider's discovery document, once fetched.
    discovery: Option<Discovery>,
}

/// What the provider's discovery document says (the parts used here).
#[derive(Debug, Clone)]
pub struct Discovery {
    pub jwks_uri: String,
    /// Where the browser is sent to sign in (the web front's sign-in with the provider).
    pub authorization_endpoint: Option<String>,
    /// Where the authorization code is exchanged for the ID token.
    pub token_endpoint: Option<String>,
}

/// Verifies the provider's access tokens against its published keys.
pub struct OidcVerifier {
    settings: OidcSettings,
    leeway_seconds: u64,
    http: reqwest::Client,
    /// Held across a fetch, so concurrent requests needing keys wait for one fetch.
    cache: Mutex<KeyCache>,
    /// Fetches of the key set made so far (for tests and logs).
    fetches: std::sync::atomic::AtomicU64,
}

/// The claims read from a provider token (beyond those the decoder validates).
#[derive(Deserialize)]
struct ProviderClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, or (some providers) the string `"true"`/`"false"`.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
}

impl OidcVerifier {
    /// A verifier for `settings`, allowing `leeway_seconds` of clock skew. Nothing is fetched
    /// until the first token arrives, so a provider that is down does not stop the server.
    pub fn new(settings: OidcSettings, leeway_seconds: u64) -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // The configured (or discovered) addresses are used as they are: a redirect could
            // lead from https to plain http, where the keys could be replaced on the way.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bac-metrics/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's configuration is valid");
        Self {
            settings,
            leeway_seconds,
            http,
            cache: Mutex::new(KeyCache::default()),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The provider's settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// How many times the key set has been fetched since start.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `token` is meant for this verifier rather than our own HS256 keys: its header
    /// names a key or an algorithm other than HS256. (Our tokens carry neither; a header that
    /// cannot be read goes to our own verifier, which refuses it.)
    pub fn claims_token(token: &str) -> bool {
        match decode_header(token) {
            Ok(header) => header.kid.is_some() || header.alg != Algorithm::HS256,
            Err(_) => false,
        }
    }

    /// Checks an access token's header, key, signature and claims (for `OIDC_AUDIENCE`); on
    /// success, who it names.
    pub async fn verify(
        &self,
        token: &str,
    ) -> Result<Result<ExternalIdentity, TokenRejection>, KeysUnavailable> {
        self.verify_for(token, &self.settings.audience, None).await
    }

    /// Checks an ID token of the web front's sign-in like an access token, issued for
    /// `OIDC_CLIENT_ID` and carrying the sign-in's `nonce`.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<Result<ExternalIdentity, TokenRejection>, KeysUnavailable> {
        let Some(client_id) = self.settings.client_id.clone() else {
            return Ok(Err(TokenRejection::Invalid));
        };
        self.verify_for(token, &client_id, Some(nonce)).await
    }

    async fn verify_for(
        &self,
        token: &str,
        audience: &str,
        nonce: Option<&str>,
    ) -> Result<Result<ExternalIdentity, TokenRejection>, KeysUnavailable> {
        let refuse = |reason| Ok(Err(TokenRejection::External(reason)));
        if crate::auth::jwt::header_has_crit(token) {
            return Ok(Err(TokenRejection::Invalid));
        }
        let Ok(header) = decode_header(token) else {
            return Ok(Err(TokenRejection::Invalid));
        };
        if !self.settings.algorithms.contains(&header.alg) {
            return refuse(ExternalRejection::Algorithm);
        }
        let Some(kid) = header.kid.filter(|kid| !kid.is_empty()) else {
            return refuse(ExternalRejection::NoKeyId);
        };
        let Some(signing_key) = self.key(&kid).await? else {
            return refuse(ExternalRejection::UnknownKey);
        };
        if !signing_key.algorithms.contains(&header.alg) {
            return refuse(ExternalRejection::Algorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = self.leeway_seconds;
        let claims = match decode::<ProviderClaims>(token, &signing_key.key, &validation) {
            Ok(data) => data.claims,
            Err(error) => {
                return Ok(Err(match error.kind() {
                    ErrorKind::ExpiredSignature => TokenRejection::Expired,
                    ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
                    ErrorKind::InvalidIssuer => TokenRejection::External(ExternalRejection::Issuer),
                    ErrorKind::InvalidAudience => {
                        TokenRejection::External(ExternalRejection::Audience)
                    }
                    ErrorKind::InvalidSignature => {
                        TokenRejection::External(ExternalRejection::Signature)
                    }
                    ErrorKind::InvalidAlgorithm => {
                        TokenRejection::External(ExternalRejection::Algorithm)
                    }
                    _ => TokenRejection::External(ExternalRejection::Claims),
                }))
            }
        };
        let now = chrono::Utc::now().timestamp();
        if claims
            .iat
            .is_some_and(|iat| iat > now + self.leeway_seconds as i64)
        {
            return Ok(Err(TokenRejection::IssuedInFuture));
        }
        if claims.sub.is_empty() {
            return refuse(ExternalRejection::Claims);
        }
        if let Some(expected) = nonce {
            if claims.nonce.as_deref() != Some(expected) {
                return refuse(ExternalRejection::Nonce);
            }
        }
        let value = match self.settings.user_claim {
            UserClaim::Subject => claims.sub,
            UserClaim::Email => {
                let unverified = matches!(
                    &claims.email_verified,
                    Some(serde_json::Value::Bool(false))
                ) || matches!(&claims.email_verified, Some(serde_json::Value::String(text)) if text == "false");
                if unverified {
                    return refuse(ExternalRejection::EmailUnverified);
                }
                match claims.email.map(|email| email.trim().to_lowercase()) {
                    Some(email) if !email.is_empty() => email,
                    _ => return refuse(ExternalRejection::NoEmail),
                }
            }
        };
        Ok(Ok(ExternalIdentity {
            claim: self.settings.user_claim,
            value,
        }))
    }

    /// The signing key `kid`, fetching the key set first when the cache is stale or does not
    /// hold it (within the refetch guard). `Ok(None)`: the provider does not publish it.
    /// `Err`: no key set could ever be fetched.
    async fn key(&self, kid: &str) -> Result<Option<SigningKey>, KeysUnavailable> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let fresh = cache
            .fetched_at
            .is_some_and(|at| now.duration_since(at) < self.settings.jwks_cache);
        if fresh {
            if let Some(key) = cache.keys.get(kid) {
                return Ok(Some(key.clone()));
            }
        }
        let may_fetch = cache
            .attempted_at
            .is_none_or(|at| now.duration_since(at) >= self.settings.jwks_refetch_interval);
        let mut failure = None;
        if may_fetch {
            cache.attempted_at = Some(now);
            match self.fetch(&mut cache).await {
                Ok(keys) => {
                    tracing::info!(
                        keys = keys.len(),
                        kids = ?keys.keys().collect::<Vec<_>>(),
                        "fetched the identity provider's signing keys"
                    );
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                }
                Err(problem) => {
                    tracing::warn!(%problem, "could not fetch the identity provider's signing keys; keeping the keys already fetched");
                    failure = Some(problem);
                }
            }
        }
        match cache.keys.get(kid) {
            Some(key) => Ok(Some(key.clone())),
            None if cache.fetched_at.is_none() => {
                Err(KeysUnavailable(failure.unwrap_or_else(|| {
                    "the last attempt failed; retrying shortly".into()
                })))
            }
            None => Ok(None),
        }
    }

    /// Fetches the key set (after the discovery document, if the key set's address is not
    /// known yet) and keeps the keys usable for signature checks here.
    async fn fetch(&self, cache: &mut KeyCache) -> Result<HashMap<String, SigningKey>, String> {
        let jwks_url = match (&self.settings.jwks_url, &cache.discovery) {
            (Some(url), _) => url.clone(),
            (None, Some(discovery)) => discovery.jwks_uri.clone(),
            (None, None) => {
                let discovery = self.discover().await?;
                cache.discovery = Some(discovery.clone());
                discovery.jwks_uri
            }
        };
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let set: serde_json::Value = self.get_json(&jwks_url).await?;
        let Some(entries) = set.get("keys").and_then(serde_json::Value::as_array) else {
            return Err(format!("{jwks_url} is not a JWK set (no `keys` array)"));
        };
        let mut keys = HashMap::new();
        for entry in entries {
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
                continue;
            };
            if let Some((kid, key)) = self.usable(&jwk) {
                keys.insert(kid, key);
            }
        }
        Ok(keys)
    }

    /// The provider's discovery document (fetched once, then kept).
    pub async fn discovery(&self) -> Result<Discovery, String> {
        let mut cache = self.cache.lock().await;
        if let Some(discovery) = &cache.discovery {
            return Ok(discovery.clone());
        }
        let discovery = self.discover().await?;
        cache.discovery = Some(discovery.clone());
        Ok(discovery)
    }

    /// Exchanges the web front's authorization `code` at the provider's token endpoint (with
    /// the PKCE `code_verifier`, and the client secret when configured) for its ID token.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<String, String> {
        use secrecy::ExposeSecret;
        let client_id = self
            .settings
            .client_id
            .as_deref()
            .ok_or("OIDC_CLIENT_ID is not set")?;
        let token_endpoint = self
            .discovery()
            .await?
            .token_endpoint
            .ok_or("the discovery document names no token_endpoint")?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", code_verifier),
        ];
        if let Some(secret) = &self.settings.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = self
            .http
            .post(&token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|error| format!("POST {token_endpoint}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("POST {token_endpoint}: HTTP {}", response.status()));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|error| format!("POST {token_endpoint}: not JSON ({error})"))?;
        body.get("id_token")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("POST {token_endpoint}: the answer holds no id_token"))
    }

    /// The provider's discovery document, whose `issuer` must be ours.
    async fn discover(&self) -> Result<Discovery, String> {
        let url = self.settings.discovery_url();
        let document: serde_json::Value = self.get_json(&url).await?;
        if document.get("issuer").and_then(serde_json::Value::as_str)
            != Some(self.settings.issuer.as_str())
        {
            return Err(format!(
                "the discovery document at {url} names another issuer than OIDC_ISSUER"
            ));
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("the discovery document at {url} has no jwks_uri"))?;
        // Plain http only where the issuer itself is (a loopback address, as configuration
        // allows).
        let secure =
            |url: &str| url.starts_with("https://") || self.settings.issuer.starts_with("http://");
        if !secure(jwks_uri) {
            return Err(format!("the jwks_uri {jwks_uri} is not https"));
        }
        let endpoint = |name: &str| {
            document
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|url| secure(url))
                .map(str::to_owned)
        };
        Ok(Discovery {
            jwks_uri: jwks_uri.to_owned(),
            authorization_endpoint: endpoint("authorization_endpoint"),
            token_endpoint: endpoint("token_endpoint"),
        })
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("GET {url}: the document is larger than 256 KiB"));
        }
        serde_json::from_slice(&body).map_err(|error| format!("GET {url}: not JSON ({error})"))
    }

    /// A JWK this verifier can use: a signing key with an id, of type RSA or EC P-256/P-384,
    /// whose algorithms (its own `alg`, or those its type allows) meet `OIDC_ALGORITHMS`.
    fn usable(&self, jwk: &Jwk) -> Option<(String, SigningKey)> {
        let kid = jwk.common.key_id.clone().filter(|kid| !kid.is_empty())?;
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != jsonwebtoken::jwk::PublicKeyUse::Signature)
        {
            return None;
        }
        let by_type: &[Algorithm] = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => &[Algorithm::ES256],
                EllipticCurve::P384 => &[Algorithm::ES384],
                _ => return None,
            },
            // Symmetric ("oct") and Edwards keys are never used.
            AlgorithmParameters::OctetKey(_) | AlgorithmParameters::OctetKeyPair(_) => return None,
        };
        let declared = match jwk.common.key_algorithm {
            None => None,
            Some(declared) => Some(key_algorithm(declared)?),
        };
        let algorithms: Vec<Algorithm> = by_type
            .iter()
            .copied()
            .filter(|algorithm| declared.is_none_or(|declared| declared == *algorithm))
            .filter(|algorithm| self.settings.algorithms.contains(algorithm))
            .collect();
        if algorithms.is_empty() {
            return None;
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some((kid, SigningKey { key, algorithms }))
    }
}

/// The signature algorithm a JWK's `alg` names, if it is one.
fn key_algorithm(algorithm: KeyAlgorithm) -> Option<Algorithm> {
    Some(match algorithm {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_tokens_stay_with_our_keys() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let claims = serde_json::json!({"sub": "1"});
        let ours = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(!OidcVerifier::claims_token(&ours));
        let mut with_kid = Header::new(Algorithm::HS256);
        with_kid.kid = Some("provider-key".into());
        let theirs = encode(
            &with_kid,
            &claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(OidcVerifier::claims_token(&theirs));
        assert!(!OidcVerifier::claims_token("not a token"));
    }

    #[test]
    fn symmetric_keys_are_never_usable() {
        let settings = OidcSettings {
            issuer: "https://idp.example.gov".into(),
            audience: "api".into(),
            jwks_url: None,
            user_claim: UserClaim::Email,
            jwks_cache: Duration::from_secs(300),
            jwks_refetch_interval: Duration::from_secs(30),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            client_id: None,
            client_secret: None,
            provider_name: "the provider".into(),
        };
        let verifier = OidcVerifier::new(settings, 10);
        let oct: Jwk = serde_json::from_value(serde_json::json!(
            {"kty": "oct", "kid": "k", "k": "c2VjcmV0", "alg": "HS256"}
        ))
        .unwrap();
        assert!(verifier.usable(&oct).is_none());
        // An RSA key declared for RS384 is not usable when only RS256 and ES256 are accepted.
        let rsa: Jwk = serde_json::from_value(serde_json::json!(
            {"kty": "RSA", "kid": "r", "alg": "RS384", "n": "sXch", "e": "AQAB"}
        ))
        .unwrap();
        assert!(verifier.usable(&rsa).is_none());
    }
}
