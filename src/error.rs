//! The one error type of the application and its mapping to the API's error codes.
//!
//! Resolvers, services and the HTTP edge all return [`AppError`]. At the edge it becomes a
//! [`PublicError`]: one of the public codes of [`ErrorCode`], a message safe to show, and the
//! details a client needs to act (the input field at fault, a cost and its budget, how long to
//! wait). Internal details (SQL text, pool errors, panics) are logged with the request id and
//! their whole cause chain, and never sent to the client.
//!
//! This module knows nothing of GraphQL or HTTP: `graphql::errors` reads an `AppError` back out
//! of an engine error, and `http::errors` turns a [`PublicError`] into a response.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

/// The public error codes carried in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Unavailable,
    Internal,
    /// A persisted query sent by hash alone that this server does not hold (Apollo's
    /// automatic persisted queries protocol: the client then resends it with its text).
    PersistedQueryNotFound,
    /// In trusted-documents mode, a document no administrator registered (or registered for
    /// other roles).
    PersistedQueryNotAllowed,
}

impl ErrorCode {
    /// The string carried in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::PersistedQueryNotAllowed => "PERSISTED_QUERY_NOT_ALLOWED",
        }
    }

    /// The HTTP status that carries this code where the transport lets the status speak.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::BadUserInput => 400,
            ErrorCode::Conflict => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
            ErrorCode::PersistedQueryNotFound => 404,
            ErrorCode::PersistedQueryNotAllowed => 403,
        }
    }
}

/// A boxed cause kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every failure the application reports.
#[derive(Debug, Error)]
pub enum AppError {
    /// No valid credentials: missing, expired or revoked token, wrong password.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the role or scope does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist, or exists outside the caller's scope (indistinguishable on purpose).
    #[error("{0}")]
    NotFound(String),
    /// The input is malformed or violates a rule; `field` names the offending input when known.
    #[error("{message}")]
    BadUserInput {
        message: String,
        field: Option<String>,
    },
    /// A GraphQL document that would cost more than the operation budget; refused before any
    /// work is done. Reported as `BAD_USER_INPUT` with `extensions.cost` and `extensions.budget`.
    #[error("{message}")]
    OverBudget {
        message: String,
        cost: u64,
        budget: u64,
    },
    /// The write collides with existing data (same idempotency key, different content).
    #[error("{0}")]
    Conflict(String),
    /// Too many requests from this caller, or the workload the request belongs to is at
    /// capacity; the client may retry after `retry_after`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// The database (or another dependency) is down or did not answer in time; the client may
    /// retry after `retry_after`.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: Duration,
        #[source]
        cause: Option<Cause>,
    },
    /// A persisted query sent by hash alone that is not stored. The message is the one Apollo's
    /// persisted-queries link recognises, so it resends the query with its text.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// Trusted-documents mode refused a document that is not on the allow-list for the caller.
    #[error("{0}")]
    PersistedQueryNotAllowed(String),
    /// A database failure. Logged in full, reported to the client as `INTERNAL` without detail.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// Anything else that is the server's fault. The context and its cause chain are logged,
    /// never returned.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl AppError {
    /// A `BAD_USER_INPUT` error naming the input field at fault.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A `BAD_USER_INPUT` error not tied to one field.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            message: message.into(),
            field: None,
        }
    }

    /// An internal error described by `context` alone.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        AppError::Internal {
            context: context.to_string(),
            cause: None,
        }
    }

    /// An internal error: what was being done (`context`) and the error that stopped it, kept
    /// as the source so the log shows the whole chain.
    pub fn internal_with(
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Internal {
            context: context.into(),
            cause: Some(Box::new(cause)),
        }
    }

    /// `RATE_LIMITED`: retry after `retry_after`.
    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        AppError::RateLimited {
            message: message.into(),
            retry_after,
        }
    }

    /// `UNAVAILABLE`: a dependency is down; retry after `retry_after`.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> Self {
        AppError::Unavailable {
            message: message.into(),
            retry_after,
            cause: None,
        }
    }

    /// The public code this error is reported under.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadUserInput { .. } | AppError::OverBudget { .. } => ErrorCode::BadUserInput,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Unavailable { .. } => ErrorCode::Unavailable,
            AppError::PersistedQueryNotFound => ErrorCode::PersistedQueryNotFound,
            AppError::PersistedQueryNotAllowed(_) => ErrorCode::PersistedQueryNotAllowed,
            AppError::Database(_) | AppError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// How long the client should wait before retrying, for the codes that have one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AppError::RateLimited { retry_after, .. }
            | AppError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message a client may see. Server-side failures are reduced to a fixed sentence.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(_) | AppError::Internal { .. } => {
                "internal error; the request id in the response headers identifies it in the server log"
                    .to_owned()
            }
            other => other.to_string(),
        }
    }

    /// This error and every cause below it, outermost first, for the log.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// An error as the client sees it: a public code, a safe message, the input field at fault,
/// and any further details (`extensions`) the client needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// Extra `extensions` entries, e.g. `cost` and `budget`, `retryAfter`.
    pub details: Vec<(&'static str, Value)>,
    /// Whole seconds the client should wait (also sent as the `Retry-After` header).
    pub retry_after_seconds: Option<u64>,
}

impl PublicError {
    /// A `BAD_USER_INPUT` error about the request itself (not one of its fields).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::from(&AppError::invalid(message))
    }

    /// The `extensions` object of this error.
    pub fn extensions(&self) -> serde_json::Map<String, Value> {
        let mut extensions = serde_json::Map::new();
        extensions.insert("code".into(), Value::from(self.code.as_str()));
        if let Some(field) = &self.field {
            extensions.insert("field".into(), Value::from(field.as_str()));
        }
        for (key, value) in &self.details {
            extensions.insert((*key).into(), value.clone());
        }
        if let Some(seconds) = self.retry_after_seconds {
            extensions.insert("retryAfter".into(), Value::from(seconds));
        }
        extensions
    }
}

impl From<&AppError> for PublicError {
    fn from(error: &AppError) -> Self {
        match error.code() {
            ErrorCode::Internal => {
                tracing::error!(error = %error.chain(), "request failed with an internal error")
            }
            ErrorCode::Unavailable => {
                tracing::warn!(error = %error.chain(), "request refused: a dependency is unavailable")
            }
            _ => {}
        }
        let details = match error {
            AppError::OverBudget { cost, budget, .. } => {
                vec![
                    ("cost", Value::from(*cost)),
                    ("budget", Value::from(*budget)),
                ]
            }
            _ => Vec::new(),
        };
        Self {
            code: error.code(),
            message: error.public_message(),
            field: match error {
                AppError::BadUserInput { field, .. } => field.clone(),
                _ => None,
            },
            details,
            // Round up: a client that waits the whole seconds it is told never comes back early.
            retry_after_seconds: error
                .retry_after()
                .map(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(error: tokio::task::JoinError) -> Self {
        AppError::internal_with("a background task failed", error)
    }
}

/// Result alias used throughout the crate.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_do_not_leak_their_text() {
        let error = AppError::Database(diesel::result::Error::QueryBuilderError(
            "SELECT secret FROM users".into(),
        ));
        assert_eq!(error.code(), ErrorCode::Internal);
        assert!(!error.public_message().contains("SELECT"));
        // The log keeps it.
        assert!(error.chain().contains("SELECT secret"));
    }

    #[test]
    fn internal_errors_keep_their_cause_chain_for_the_log() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no");
        let error = AppError::internal_with("writing the export", io);
        assert_eq!(error.chain(), "writing the export: disk says no");
        assert!(!error.public_message().contains("disk"));
    }

    #[test]
    fn waits_are_rounded_up_and_budgets_reported() {
        let public = PublicError::from(&AppError::rate_limited(
            "slow down",
            Duration::from_millis(1_200),
        ));
        assert_eq!(public.code, ErrorCode::RateLimited);
        assert_eq!(public.retry_after_seconds, Some(2));
        assert_eq!(public.extensions()["retryAfter"], 2);

        let public = PublicError::from(&AppError::OverBudget {
            message: "too expensive".into(),
            cost: 12,
            budget: 10,
        });
        assert_eq!(public.code, ErrorCode::BadUserInput);
        let extensions = public.extensions();
        assert_eq!(extensions["cost"], 12);
        assert_eq!(extensions["budget"], 10);
        assert_eq!(ErrorCode::Unavailable.http_status(), 503);
    }
}
