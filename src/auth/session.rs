//! Login sessions: `login`, `refreshSession`, `logout`, and tokens minted at the command line.
//!
//! A login opens a session and returns a short-lived access token plus an opaque refresh token.
//! Refresh tokens rotate: using one spends it and issues the next. Presenting a spent token again
//! means it was copied, so the whole session is revoked. Every step writes its audit event in
//! the same transaction.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use tokio::sync::Semaphore;

use crate::{
    audit::{self, Actor, Entry},
    auth::{
        jwt::{JwtKeys, MintedToken},
        oidc::OidcVerifier,
        password::PasswordHasher,
        refusals::Refusals,
        scope::Principal,
        throttle::LoginThrottle,
    },
    config::{Config, TokenSettings},
    db::{
        models::{NewRefreshToken, NewSession, User},
        schema::{refresh_tokens, sessions, users},
        Database, Workload,
    },
    domain::text::check_storable,
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

/// Issues, rotates and ends sessions, and checks bearer tokens (with [`crate::auth::authenticate`]).
/// Its database work runs on the authentication workload.
#[derive(Clone)]
pub struct AuthService {
    keys: JwtKeys,
    hasher: PasswordHasher,
    settings: TokenSettings,
    throttle: LoginThrottle,
    /// argon2id verifications running at once (each holds ~19 MiB and a CPU).
    password_checks: Arc<Semaphore>,
    refusals: Arc<Refusals>,
    requests_per_minute_per_session: u32,
    /// The external identity provider's verifier, when `OIDC_ISSUER` is set.
    oidc: Option<Arc<OidcVerifier>>,
}

/// How long a sign-in may wait for a password check before `RATE_LIMITED`.
const PASSWORD_CHECK_QUEUE: Duration = Duration::from_secs(2);

const LOGIN_FAILED: &str = "invalid email or password";
const REFRESH_REFUSED: &str = "the refresh token is not valid; sign in again";

impl AuthService {
    /// The service for `config`: tokens signed with `keys`, passwords checked with `hasher`,
    /// failed sign-ins throttled under account digests keyed by `digest_key`.
    pub fn new(keys: JwtKeys, hasher: PasswordHasher, config: &Config, digest_key: &[u8]) -> Self {
        Self {
            keys,
            hasher,
            settings: config.tokens.clone(),
            throttle: LoginThrottle::new(config.login_throttle.clone(), digest_key),
            password_checks: Arc::new(Semaphore::new(
                config.admission.password_checks_in_flight.max(1) as usize,
            )),
            refusals: Arc::new(Refusals::default()),
            requests_per_minute_per_session: config.admission.requests_per_minute_per_session,
            oidc: config.oidc.clone().map(|settings| {
                Arc::new(OidcVerifier::new(settings, config.tokens.leeway_seconds))
            }),
        }
    }

    /// The external identity provider's verifier, if one is configured.
    pub fn oidc(&self) -> Option<&Arc<OidcVerifier>> {
        self.oidc.as_ref()
    }

    /// The counters of refused credentials.
    pub fn refusals(&self) -> &Arc<Refusals> {
        &self.refusals
    }

    /// Requests one session may make per minute.
    pub fn requests_per_minute_per_session(&self) -> u32 {
        self.requests_per_minute_per_session
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
    /// Attempts the throttle holds back are refused with `RATE_LIMITED` before any of that;
    /// `client_address` is the caller as the HTTP layer determined it.
    pub async fn login(
        &self,
        database: &Database,
        email: &str,
        password: String,
        client_address: &str,
        request_id: Option<String>,
    ) -> AppResult<IssuedSession> {
        let database = database.for_workload(Workload::Authentication);
        let email = email.trim().to_lowercase();
        check_storable("email", &email)?;
        let (lookup_email, address, throttle) = (
            email.clone(),
            client_address.to_owned(),
            self.throttle.clone(),
        );
        let user: Option<User> = database
            .run(move |connection| {
                throttle.check(connection, &lookup_email, &address)?;
                Ok(users::table
                    .filter(users::email.eq(&lookup_email))
                    .select(User::as_select())
                    .first(connection)
                    .optional()?)
            })
            .await
            .inspect_err(|error| {
                if matches!(error, AppError::RateLimited { .. }) {
                    self.refusals.login_throttled();
                }
            })?;
        let stored_hash = user.as_ref().and_then(|user| user.password_hash.clone());
        let password_ok = {
            let _permit =
                match tokio::time::timeout(PASSWORD_CHECK_QUEUE, self.password_checks.acquire())
                    .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        crate::telemetry::metrics::rate_limited("password_checks");
                        return Err(AppError::rate_limited(
                            "too many sign-ins are being checked right now; try again shortly",
                            PASSWORD_CHECK_QUEUE,
                        ));
                    }
                };
            self.hasher.verify_off_executor(stored_hash, password).await
        };
        match user {
            Some(user) if password_ok && user.active => {
                let (throttle, address, success_email) = (
                    self.throttle.clone(),
                    client_address.to_owned(),
                    email.clone(),
                );
                self.open_session(
                    &database,
                    user,
                    "login",
                    self.settings.refresh_ttl,
                    true,
                    request_id,
                    Some(Box::new(move |connection: &mut PgConnection| {
                        throttle.record_success(connection, &success_email, &address)
                    })),
                )
                .await
            }
            user => {
                let known = user.map(|user| (user.id, user.active, user.password_hash.is_some()));
                let (throttle, address) = (self.throttle.clone(), client_address.to_owned());
                let audit_request_id = request_id.clone();
                database
                    .transaction(move |connection| {
                        throttle.record_failure(connection, &email, &address)?;
                        // A real account's failures are audited one by one (the throttle bounds
                        // them); the trail names the account by id, never by the email typed.
                        if let Some((id, active, has_password)) = known {
                            let reason = match (active, has_password) {
                                (false, _) => "deactivated",
                                (true, false) => "service_account",
                                (true, true) => "wrong_password",
                            };
                            audit::record(
                                connection,
                                Entry::new(Actor::anonymous(), "auth.login_failed", "user")
                                    .entity_id(id)
                                    .after(json!({ "reason": reason }))
                                    .request_id(audit_request_id),
                            )?;
                        }
                        Ok(())
                    })
                    .await?;
                match known {
                    Some(_) => self.refusals.login_failed(),
                    None => self.refusals.unknown_account(request_id.as_deref()),
                }
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
        let max_lifetime = self.settings.session_max_lifetime;
        let outcome = database
            .for_workload(Workload::Authentication)
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
                let (session_created, session_revoked, session_expires_at, user): (
                    DateTime<Utc>,
                    Option<DateTime<Utc>>,
                    DateTime<Utc>,
                    User,
                ) = sessions::table
                    .inner_join(users::table)
                    .filter(sessions::id.eq(session_id))
                    .select((
                        sessions::created_at,
                        sessions::revoked_at,
                        sessions::expires_at,
                        User::as_select(),
                    ))
                    .first(connection)?;
                // Refreshing slides the session forward, but never past its absolute end: a
                // stolen refresh token cannot keep a session alive forever.
                let absolute_end = session_created + max_lifetime;
                if token_expires_at <= now
                    || session_revoked.is_some()
                    || session_expires_at <= now
                    || absolute_end <= now
                    || !user.active
                {
                    return Ok(Outcome::Refused);
                }
                let lifetime = refresh_ttl.min((absolute_end - now).to_std().unwrap_or_default());
                let (next_token, next_expires_at) =
                    store_refresh_token(connection, session_id, lifetime)?;
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

    /// Ends the caller's session: its access and refresh tokens stop working at once. A caller
    /// with the identity provider's token has no session here to end (`BAD_USER_INPUT`).
    pub async fn logout(
        &self,
        database: &Database,
        principal: &Principal,
        request_id: Option<String>,
    ) -> AppResult<()> {
        let principal = principal.clone();
        database
            .for_workload(Workload::Authentication)
            .transaction(move |connection| {
                let ended = diesel::update(sessions::table.find(principal.session_id))
                    .filter(sessions::revoked_at.is_null())
                    .set((
                        sessions::revoked_at.eq(Some(Utc::now())),
                        sessions::revoked_reason.eq("logout"),
                    ))
                    .execute(connection)?;
                if ended == 0 {
                    return Err(AppError::invalid(
                        "there is no open session to end: an access token from the identity \
                         provider has no session here (sign out at the identity provider)",
                    ));
                }
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
            .open_session(database, user, "minted", ttl, false, None, None)
            .await?;
        Ok(issued.access)
    }

    /// Opens a session for `user` in one transaction with its audit event and `also` (the
    /// throttle's bookkeeping of a successful sign-in).
    #[allow(clippy::too_many_arguments)]
    async fn open_session(
        &self,
        database: &Database,
        user: User,
        kind: &'static str,
        lifetime: Duration,
        with_refresh_token: bool,
        request_id: Option<String>,
        also: Option<SessionHook>,
    ) -> AppResult<IssuedSession> {
        let session_id = Uuid::now_v7();
        let user_for_write = user.clone();
        let (refresh_token, refresh_expires_at) = database
            .for_workload(Workload::Authentication)
            .transaction(move |connection| {
                if let Some(also) = also {
                    also(connection)?;
                }
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

/// Extra work done in the transaction that opens a session.
type SessionHook = Box<dyn FnOnce(&mut PgConnection) -> AppResult<()> + Send>;

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
