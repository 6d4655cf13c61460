//! GraphQL types of the session domain.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use crate::{auth::IssuedSession, graphql::organisation::UserType};

/// Tokens handed out by `login` and `refreshSession`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`. Short-lived.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Exchange for new tokens with `refreshSession`. Single use: each use returns a new one,
    /// and presenting a used one again ends the session.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: UserType,
}

impl From<IssuedSession> for AuthPayload {
    fn from(issued: IssuedSession) -> Self {
        Self {
            access_token: issued.access.token,
            token_type: "Bearer".to_owned(),
            access_token_expires_at: issued.access.expires_at,
            refresh_token: issued.refresh_token,
            refresh_token_expires_at: issued.refresh_expires_at,
            user: UserType(issued.user),
        }
    }
}
