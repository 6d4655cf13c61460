//! Access tokens: HS256 JWTs with every registered claim required.
//!
//! The algorithm is pinned (a token announcing any other `alg`, including `none`, is refused);
//! `exp nbf iat iss aud sub jti` must all be present and well-typed; `nbf` and `exp` are checked
//! with a small leeway, and `iat` may not lie in the future. A token that passes here is only
//! *well-formed*: [`crate::auth::scope`] still checks its session and user in the database.

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{config::TokenSettings, db::enums::Role};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id, as a decimal string.
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The session this token belongs to; revoking it refuses the token.
    pub sid: Uuid,
    /// The role the token was minted for; must still match the user's role.
    pub role: Role,
}

/// Why a token was refused. The message is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("the access token has expired; refresh the session or sign in again")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token is not valid")]
    Invalid,
    #[error("the access token was issued in the future")]
    IssuedInFuture,
    #[error("the access token's session has ended; sign in again")]
    SessionEnded,
    #[error("the account is deactivated")]
    Deactivated,
    #[error("the access token is out of date; sign in again")]
    Stale,
    /// A token of the external identity provider (`src/auth/oidc.rs`) that does not pass.
    #[error("the identity provider's access token was refused: {0}")]
    External(crate::auth::oidc::ExternalRejection),
}

impl TokenRejection {
    /// A short stable name for logs, counters and the refusals summary.
    pub fn code(&self) -> &'static str {
        match self {
            TokenRejection::Expired => "expired",
            TokenRejection::NotYetValid => "not_yet_valid",
            TokenRejection::Invalid => "invalid",
            TokenRejection::IssuedInFuture => "issued_in_future",
            TokenRejection::SessionEnded => "session_ended",
            TokenRejection::Deactivated => "deactivated",
            TokenRejection::Stale => "stale",
            TokenRejection::External(reason) => reason.code(),
        }
    }
}

/// Signs and verifies access tokens with one secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    leeway_seconds: i64,
}

/// A freshly minted access token.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: String,
    pub claims: Claims,
    pub expires_at: DateTime<Utc>,
}

impl JwtKeys {
    /// Keys for `secret`, with the issuer, audience and leeway of `settings`.
    pub fn new(secret: &[u8], settings: &TokenSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = settings.leeway_seconds;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_seconds: settings.leeway_seconds as i64,
        }
    }

    /// Mints a token for `user_id` in `session_id`, valid from now for `ttl`.
    pub fn mint(
        &self,
        user_id: i64,
        role: Role,
        session_id: Uuid,
        ttl: std::time::Duration,
    ) -> MintedToken {
        let now = Utc::now().timestamp();
        let exp = now + ttl.as_secs() as i64;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4().to_string(),
            sid: session_id,
            role,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        MintedToken {
            token,
            expires_at: DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now),
            claims,
        }
    }

    /// Signs arbitrary claims with this key (tests use it to build malformed tokens).
    pub fn sign_raw(&self, header: &Header, claims: &serde_json::Value) -> String {
        encode(header, claims, &self.encoding).expect("signing with an in-memory key cannot fail")
    }

    /// Checks the header, signature, algorithm and claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRejection> {
        // RFC 7515 §4.1.11: a header naming critical extensions the recipient does not
        // understand must be refused. We understand none, and the decoder ignores unknown
        // header fields, so `crit` is checked here.
        if header_has_crit(token) {
            return Err(TokenRejection::Invalid);
        }
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(
                |error| match error.kind() {
                    ErrorKind::ExpiredSignature => TokenRejection::Expired,
                    ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
                    _ => TokenRejection::Invalid,
                },
            )?;
        let claims = data.claims;
        if claims.iat > Utc::now().timestamp() + self.leeway_seconds {
            return Err(TokenRejection::IssuedInFuture);
        }
        if claims.sub.parse::<i64>().is_err() || claims.jti.is_empty() {
            return Err(TokenRejection::Invalid);
        }
        Ok(claims)
    }
}

/// Whether the token's header carries a `crit` member (or cannot be read at all: the decoder
/// refuses those anyway).
pub(crate) fn header_has_crit(token: &str) -> bool {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
        .map(|header| header.contains_key("crit"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn settings() -> TokenSettings {
        TokenSettings {
            secret: None,
            pseudonym_key: None,
            issuer: "bac-metrics".into(),
            audience: "bac-metrics-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
            session_max_lifetime: Duration::from_secs(7200),
            leeway_seconds: 10,
        }
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", &settings())
    }

    #[test]
    fn a_header_with_critical_extensions_is_refused() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let keys = keys();
        let minted = keys.mint(7, Role::Agent, Uuid::new_v4(), Duration::from_secs(60));
        let parts: Vec<&str> = minted.token.split('.').collect();
        // The same claims under a header that names an extension, correctly signed.
        let header = URL_SAFE_NO_PAD
            .encode(r#"{"alg":"HS256","typ":"JWT","crit":["exp-ext"],"exp-ext":"on"}"#);
        let signing_input = format!("{header}.{}", parts[1]);
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            Algorithm::HS256,
        )
        .unwrap();
        let token = format!("{signing_input}.{signature}");
        assert_eq!(keys.verify(&token), Err(TokenRejection::Invalid));
        assert!(keys.verify(&minted.token).is_ok());
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let minted = keys.mint(7, Role::Agent, Uuid::new_v4(), Duration::from_secs(60));
        assert_eq!(keys.verify(&minted.token), Ok(minted.claims));
    }

    #[test]
    fn refuses_string_typed_exp_and_missing_jti() {
        let keys = keys();
        let now = Utc::now().timestamp();
        let base = json!({"iss": "bac-metrics", "aud": "bac-metrics-api", "sub": "1", "exp": now + 60,
            "nbf": now, "iat": now, "jti": "x", "sid": Uuid::new_v4(), "role": "AGENT"});
        let header = Header::new(Algorithm::HS256);
        assert!(keys.verify(&keys.sign_raw(&header, &base)).is_ok());
        let mut string_exp = base.clone();
        string_exp["exp"] = json!((now + 60).to_string());
        assert_eq!(
            keys.verify(&keys.sign_raw(&header, &string_exp)),
            Err(TokenRejection::Invalid)
        );
        let mut no_jti = base.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            keys.verify(&keys.sign_raw(&header, &no_jti)),
            Err(TokenRejection::Invalid)
        );
        let mut future_iat = base;
        future_iat["iat"] = json!(now + 3600);
        assert_eq!(
            keys.verify(&keys.sign_raw(&header, &future_iat)),
            Err(TokenRejection::IssuedInFuture)
        );
    }
}
