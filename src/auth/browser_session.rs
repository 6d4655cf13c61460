//! Cookie sessions of the web front (`src/http/web_front/`): what a browser holds instead of a bearer
//! token.
//!
//! Signing in goes through [`AuthService::login`] — the one password check, with its audit
//! events and its throttling — and turns the session it opened into a `browser` session: the
//! refresh token it issued is discarded (neither it nor the access token ever leaves this
//! process), the session gets the web front's lifetime, and an opaque random cookie value is
//! stored as its SHA-256 with the role the user had at sign-in. From then on the cookie is checked
//! by [`crate::auth::scope::authenticate_session_cookie`] on every request, like a bearer token:
//! sign-out (`logout`), deactivation, a role change or expiry end it on the next request.
//!
//! Signing in with the identity provider ([`sign_in_with_provider`], after the web front's
//! authorization-code exchange and the ID token's verification by `auth::oidc`) opens the same
//! kind of session for the account the ID token names, with no password and no API session.
//!
//! Forms posted by a signed-in browser carry a synchronizer token derived from the cookie value
//! ([`form_token`]): a page of ours can print it, another site cannot compute it.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Entry},
    auth::{
        jwt::TokenRejection,
        oidc::{ExternalIdentity, ExternalRejection},
        scope::Principal,
        AuthService,
    },
    config::UserClaim,
    db::{
        models::{NewSession, User},
        schema::{refresh_tokens, session_cookies, sessions, users},
        Database, Workload,
    },
    error::AppResult,
};

/// A signed-in browser: the cookie value to hand out once, and whose session it is.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// The cookie value (`bms_…`); only its hash is stored.
    pub token: String,
    pub session_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Checks the password through [`AuthService::login`] (throttled like every sign-in, by account
/// and `client_address`) and opens a browser session of `lifetime`. Fails exactly as `login`
/// does (same messages, same audit events).
pub async fn sign_in(
    auth: &AuthService,
    database: &Database,
    email: &str,
    password: String,
    client_address: &str,
    lifetime: Duration,
    request_id: Option<String>,
) -> AppResult<BrowserSession> {
    let issued = auth
        .login(
            database,
            email,
            password,
            client_address,
            request_id.clone(),
        )
        .await?;
    let session_id = issued.access.claims.sid;
    let user = issued.user;
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        org_unit_id: user.org_unit_id,
        session_id,
        write_floor: 0,
        directory_version: 0,
    };
    let token = new_token();
    let token_hash = hash_token(&token);
    let expires_at = Utc::now() + lifetime;
    let (user_id, role) = (user.id, user.role);
    let audit_request_id = request_id.clone();
    let converted = database
        .transaction(move |connection| {
            diesel::update(sessions::table.find(session_id))
                .set((
                    sessions::kind.eq("browser"),
                    sessions::expires_at.eq(expires_at),
                ))
                .execute(connection)?;
            // The login's refresh token was never shown to anyone; a browser session has none.
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq(session_id)))
                .execute(connection)?;
            diesel::insert_into(session_cookies::table)
                .values((
                    session_cookies::token_hash.eq(token_hash),
                    session_cookies::session_id.eq(session_id),
                    session_cookies::role.eq(role),
                ))
                .execute(connection)?;
            audit::record(
                connection,
                Entry::new(
                    Actor::user(user_id, role),
                    "auth.browser_session_opened",
                    "session",
                )
                .entity_id(session_id)
                .after(json!({ "user_id": user_id, "expires_at": expires_at }))
                .request_id(audit_request_id),
            )?;
            Ok(())
        })
        .await;
    if let Err(error) = converted {
        // Do not leave an API session behind that nobody holds a token of.
        if let Err(revoke_error) = auth.logout(database, &principal, request_id).await {
            tracing::warn!(%revoke_error, "could not end the session of a failed browser sign-in");
        }
        return Err(error);
    }
    Ok(BrowserSession {
        token,
        session_id,
        expires_at,
        user,
    })
}

/// Opens a browser session of `lifetime` for the active account `identity` names (the ID token
/// of a sign-in with the identity provider, already verified). `Ok(Err(_))`: no active account
/// matches, which the caller shows like any refused sign-in.
pub async fn sign_in_with_provider(
    database: &Database,
    identity: ExternalIdentity,
    lifetime: Duration,
    request_id: Option<String>,
) -> AppResult<Result<BrowserSession, TokenRejection>> {
    let token = new_token();
    let token_hash = hash_token(&token);
    let session_id = Uuid::now_v7();
    let expires_at = Utc::now() + lifetime;
    database
        .for_workload(Workload::Authentication)
        .transaction(move |connection| {
            let query = users::table.select(User::as_select()).into_boxed();
            let query = match identity.claim {
                UserClaim::Email => query.filter(users::email.eq(&identity.value)),
                UserClaim::Subject => query.filter(users::external_subject.eq(&identity.value)),
            };
            let Some(user) = query.first(connection).optional()? else {
                return Ok(Err(TokenRejection::External(
                    ExternalRejection::NoMatchingUser,
                )));
            };
            if !user.active {
                return Ok(Err(TokenRejection::Deactivated));
            }
            diesel::insert_into(sessions::table)
                .values(NewSession {
                    id: session_id,
                    user_id: user.id,
                    kind: "browser",
                    expires_at,
                })
                .execute(connection)?;
            diesel::insert_into(session_cookies::table)
                .values((
                    session_cookies::token_hash.eq(token_hash),
                    session_cookies::session_id.eq(session_id),
                    session_cookies::role.eq(user.role),
                ))
                .execute(connection)?;
            audit::record(
                connection,
                Entry::new(
                    Actor::user(user.id, user.role),
                    "auth.browser_session_opened",
                    "session",
                )
                .entity_id(session_id)
                .after(json!({
                    "user_id": user.id,
                    "expires_at": expires_at,
                    "signed_in_with": "identity_provider",
                }))
                .request_id(request_id),
            )?;
            Ok(Ok(BrowserSession {
                token,
                session_id,
                expires_at,
                user,
            }))
        })
        .await
}

/// A new random cookie value: 256 bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("bms_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a cookie value.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

const FORM_TOKEN_PURPOSE: &[u8] = b"bac-metrics web form";

fn form_mac(cookie_token: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(cookie_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(FORM_TOKEN_PURPOSE);
    mac
}

/// The synchronizer token the forms of a signed-in page carry: HMAC-SHA256 of a fixed purpose,
/// keyed with the session's cookie value. Tied to the session, and needs no storage.
pub fn form_token(cookie_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(form_mac(cookie_token).finalize().into_bytes())
}

/// Whether `presented` is the form token of `cookie_token` (compared in constant time).
pub fn form_token_matches(cookie_token: &str, presented: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(presented.trim()) {
        Ok(bytes) => form_mac(cookie_token).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("bms_") && a.len() == 4 + 43);
        assert_eq!(hash_token(&a).len(), 32);
    }

    #[test]
    fn form_tokens_belong_to_their_session() {
        let (a, b) = (new_token(), new_token());
        assert!(form_token_matches(&a, &form_token(&a)));
        assert!(!form_token_matches(&b, &form_token(&a)));
        assert!(!form_token_matches(&a, ""));
        assert!(!form_token_matches(&a, "not base64 !"));
    }
}
