//! Login sessions: `login`, `refreshSession`, `logout`, and tokens minted at the command line.
//!
//! A login opens a session and returns a short-lived access token plus an opaque refresh token.
//! Refresh tokens rotate: using one spends it and issues the next. Presenting a spent token again
//! means it was copied, so the whole session is revoked. Every step writes its audit event in
//! the same transaction.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Entry},
    auth::{
        jwt::{JwtKeys, MintedToken},
        password::PasswordHasher,
        pseudonym::Pseudonymizer,
        scope::Principal,
    },
    config::TokenSettings,
    db::{
        models::{NewRefreshToken, NewSession, User},
        schema::{refresh_tokens, sessions, users},
        Database,
    },
    error::{AppError, AppResult},
};

/// What a successful login or refresh hands back.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub access: MintedToken,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: User,
}

/// Issues, rotates and ends sessions.
#[derive(Clone)]
pub struct AuthService {
    keys: JwtKeys,
    hasher: PasswordHasher,
    settings: TokenSettings,
    /// Keys the digest a failed sign-in leaves in the audit trail instead of the address.
    login_digest: Option<Pseudonymizer>,
}

const LOGIN_FAILED: &str = "invalid email or password";
const REFRESH_REFUSED: &str = "the refresh token is not valid; sign in again";

impl AuthService {
    pub fn new(keys: JwtKeys, hasher: PasswordHasher, settings: TokenSettings) -> Self {
        Self {
            keys,
            hasher,
            settings,
            login_digest: None,
        }
    }

    /// Failed sign-ins are audited with a digest of the address keyed by `key` (without one,
    /// with no trace of the address at all: the audit trail never holds it).
    pub fn with_login_digest(mut self, key: Pseudonymizer) -> Self {
        self.login_digest = Some(key);
        self
    }

    /// The token keys (for verification at the HTTP edge).
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// The password hasher (for creating users).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Checks the password and opens a session. Unknown emails, service accounts, deactivated
    /// users and wrong passwords all cost one argon2 verification and fail with the same message.
    pub async fn login(
        &self,
        database: &Database,
        email: &str,
        password: String,
        request_id: Option<String>,
    ) -> AppResult<IssuedSession> {
        let email = email.trim().to_lowercase();
        let lookup_email = email.clone();
        let user: Option<User> = database
            .run(move |connection| {
                Ok(users::table
                    .filter(users::email.eq(&lookup_email))
                    .select(User::as_select())
                    .first(connection)
                    .optional()?)
            })
            .await?;
        let stored_hash = user.as_ref().and_then(|user| user.password_hash.clone());
        let password_ok = self.hasher.verify_off_executor(stored_hash, password).await;
        match user {
            Some(user) if password_ok && user.active => {
                self.open_session(
                    database,
                    user,
                    "login",
                    self.settings.refresh_ttl,
                    true,
                    request_id,
                )
                .await
            }
            user => {
                let user_id = user.as_ref().map(|user| user.id);
                let email_digest = self
                    .login_digest
                    .as_ref()
                    .map(|key| key.login_email_digest(&email));
                database
                    .transaction(move |connection| {
                        let mut entry = Entry::new(Actor::anonymous(), "auth.login_failed", "user")
                            .after(json!({ "email_digest": email_digest }))
                            .request_id(request_id);
                        if let Some(id) = user_id {
                            entry = entry.entity_id(id);
                        }
                        audit::record(connection, entry)?;
                        Ok(())
                    })
                    .await?;
                Err(AppError::Unauthenticated(LOGIN_FAILED.into()))
            }
        }
    }

    /// Spends `refresh_token` and issues its successor with a new access token.
    pub async fn refresh(
        &self,
        database: &Database,
        refresh_token: &str,
        request_id: Option<String>,
    ) -> AppResult<IssuedSession> {
        enum Outcome {
            Rotated(Box<User>, Uuid, String, DateTime<Utc>),
            Reused,
            Refused,
        }
        let token_hash = hash_refresh_token(refresh_token);
        let refresh_ttl = self.settings.refresh_ttl;
        let outcome = database
            .transaction(move |connection| {
                let now = Utc::now();
                let spent: Option<(Uuid, DateTime<Utc>)> = diesel::update(refresh_tokens::table)
                    .filter(refresh_tokens::token_hash.eq(&token_hash))
                    .filter(refresh_tokens::spent_at.is_null())
                    .set(refresh_tokens::spent_at.eq(now))
                    .returning((refresh_tokens::session_id, refresh_tokens::expires_at))
                    .get_result(connection)
                    .optional()?;
                let Some((session_id, token_expires_at)) = spent else {
                    // Unknown, or already spent. A spent token presented again is theft: end
                    // the session so neither the thief nor the victim can keep using it.
                    let reused_session: Option<Uuid> = refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(&token_hash))
                        .select(refresh_tokens::session_id)
                        .first(connection)
                        .optional()?;
                    let Some(session_id) = reused_session else {
                        return Ok(Outcome::Refused);
                    };
                    let user_id: i64 = diesel::update(sessions::table.find(session_id))
                        .set((
                            sessions::revoked_at.eq(Some(Utc::now())),
                            sessions::revoked_reason.eq("refresh_token_reuse"),
                        ))
                        .returning(sessions::user_id)
                        .get_result(connection)?;
                    audit::record(
                        connection,
                        Entry::new(Actor::anonymous(), "auth.refresh_token_reused", "session")
                            .entity_id(session_id)
                            .after(json!({ "user_id": user_id, "revoked": true }))
                            .request_id(request_id),
                    )?;
                    return Ok(Outcome::Reused);
                };
                let (session_revoked, session_expires_at, user): (
                    Option<DateTime<Utc>>,
                    DateTime<Utc>,
                    User,
                ) = sessions::table
                    .inner_join(users::table)
                    .filter(sessions::id.eq(session_id))
                    .select((
                        sessions::revoked_at,
                        sessions::expires_at,
                        User::as_select(),
                    ))
                    .first(connection)?;
                if token_expires_at <= now
                    || session_revoked.is_some()
                    || session_expires_at <= now
                    || !user.active
                {
                    return Ok(Outcome::Refused);
                }
                let (next_token, next_expires_at) =
                    store_refresh_token(connection, session_id, refresh_ttl)?;
                diesel::update(sessions::table.find(session_id))
                    .set(sessions::expires_at.eq(next_expires_at))
                    .execute(connection)?;
                audit::record(
                    connection,
                    Entry::new(Actor::user(user.id, user.role), "auth.refresh", "session")
                        .entity_id(session_id)
                        .request_id(request_id),
                )?;
                Ok(Outcome::Rotated(
                    Box::new(user),
                    session_id,
                    next_token,
                    next_expires_at,
                ))
            })
            .await?;
        match outcome {
            Outcome::Rotated(user, session_id, refresh_token, refresh_expires_at) => {
                let access =
                    self.keys
                        .mint(user.id, user.role, session_id, self.settings.access_ttl);
                Ok(IssuedSession {
                    access,
                    refresh_token,
                    refresh_expires_at,
                    user: *user,
                })
            }
            Outcome::Reused => Err(AppError::Unauthenticated(
                "this refresh token was already used; the session has been ended for safety. Sign in again"
                    .into(),
            )),
            Outcome::Refused => Err(AppError::Unauthenticated(REFRESH_REFUSED.into())),
        }
    }

    /// Ends the caller's session: its access and refresh tokens stop working at once.
    pub async fn logout(
        &self,
        database: &Database,
        principal: &Principal,
        request_id: Option<String>,
    ) -> AppResult<()> {
        let principal = principal.clone();
        database
            .transaction(move |connection| {
                diesel::update(sessions::table.find(principal.session_id))
                    .filter(sessions::revoked_at.is_null())
                    .set((
                        sessions::revoked_at.eq(Some(Utc::now())),
                        sessions::revoked_reason.eq("logout"),
                    ))
                    .execute(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "auth.logout",
                        "session",
                    )
                    .entity_id(principal.session_id)
                    .request_id(request_id),
                )?;
                Ok(())
            })
            .await
    }

    /// Mints an access token for `email` without a password (the `token` command, the demo).
    /// It gets its own session, so it can be revoked like any other.
    pub async fn mint_for_email(
        &self,
        database: &Database,
        email: &str,
        ttl: Duration,
    ) -> AppResult<MintedToken> {
        let email = email.trim().to_lowercase();
        let lookup_email = email.clone();
        let user: User = database
            .run(move |connection| {
                Ok(users::table
                    .filter(users::email.eq(&lookup_email))
                    .select(User::as_select())
                    .first(connection)
                    .optional()?)
            })
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user with email {email}")))?;
        if !user.active {
            return Err(AppError::Forbidden(format!("{email} is deactivated")));
        }
        let issued = self
            .open_session(database, user, "minted", ttl, false, None)
            .await?;
        Ok(issued.access)
    }

    async fn open_session(
        &self,
        database: &Database,
        user: User,
        kind: &'static str,
        lifetime: Duration,
        with_refresh_token: bool,
        request_id: Option<String>,
    ) -> AppResult<IssuedSession> {
        let session_id = Uuid::now_v7();
        let user_for_write = user.clone();
        let (refresh_token, refresh_expires_at) = database
            .transaction(move |connection| {
                let expires_at = Utc::now() + lifetime;
                diesel::insert_into(sessions::table)
                    .values(NewSession {
                        id: session_id,
                        user_id: user_for_write.id,
                        kind,
                        expires_at,
                    })
                    .execute(connection)?;
                let refresh = if with_refresh_token {
                    store_refresh_token(connection, session_id, lifetime)?
                } else {
                    (String::new(), expires_at)
                };
                let (actor, action) = if kind == "login" {
                    (
                        Actor::user(user_for_write.id, user_for_write.role),
                        "auth.login",
                    )
                } else {
                    (Actor::operator(), "auth.token_minted")
                };
                audit::record(
                    connection,
                    Entry::new(actor, action, "session")
                        .entity_id(session_id)
                        .after(json!({ "user_id": user_for_write.id, "kind": kind }))
                        .request_id(request_id),
                )?;
                Ok(refresh)
            })
            .await?;
        let access_ttl = if with_refresh_token {
            self.settings.access_ttl
        } else {
            lifetime
        };
        Ok(IssuedSession {
            access: self.keys.mint(user.id, user.role, session_id, access_ttl),
            refresh_token,
            refresh_expires_at,
            user,
        })
    }
}

/// Creates and stores a new refresh token for `session_id`; returns it and its expiry.
fn store_refresh_token(
    connection: &mut PgConnection,
    session_id: Uuid,
    ttl: Duration,
) -> AppResult<(String, DateTime<Utc>)> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("bmr_{}", URL_SAFE_NO_PAD.encode(bytes));
    let expires_at = Utc::now() + ttl;
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshToken {
            token_hash: hash_refresh_token(&token),
            session_id,
            expires_at,
        })
        .execute(connection)?;
    Ok((token, expires_at))
}

fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
