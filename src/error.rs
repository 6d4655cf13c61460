//! The one error type of the application and its mapping to the API's error codes (DESIGN §5).
//!
//! Resolvers, services and the HTTP edge all return [`AppError`]. At the edge it becomes a GraphQL
//! error whose `extensions.code` is one of the seven public codes. Internal details (SQL text,
//! pool errors, panics) are logged with the request id and never sent to the client.

use thiserror::Error;

/// The public error codes of DESIGN §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Internal,
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
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

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
    /// The write collides with existing data (same idempotency key, different content).
    #[error("{0}")]
    Conflict(String),
    /// Too many requests from this client.
    #[error("{0}")]
    RateLimited(String),
    /// A database failure. Logged in full, reported to the client as `INTERNAL` without detail.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection could be had in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2_error::PoolError),
    /// Anything else that is the server's fault. The message is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Re-exported so callers need not depend on r2d2 directly.
pub mod r2d2_error {
    pub use diesel::r2d2::PoolError;
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

    /// An internal error with a message for the log.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal(message.to_string())
    }

    /// The public code this error is reported under.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::RateLimited(_) => ErrorCode::RateLimited,
            AppError::Database(_) | AppError::Pool(_) | AppError::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }

    /// The message a client may see. Server-side failures are reduced to a fixed sentence.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(_) | AppError::Internal(_) => {
                "internal error; the request id in the response headers identifies it in the server log"
                    .to_owned()
            }
            AppError::Pool(_) => "the database is unavailable; try again shortly".to_owned(),
            other => other.to_string(),
        }
    }
}

/// An error as the client sees it: a public code, a safe message, and the input field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl PublicError {
    /// Classifies an error produced while handling a GraphQL request.
    ///
    /// Resolvers return [`AppError`] through `?`; async-graphql keeps it as the error's source,
    /// so its code survives to here. Errors without a source are the engine's own reports about
    /// the request (syntax, validation, argument coercion) and are the caller's to fix. Anything
    /// else is unexpected and is masked as `INTERNAL`.
    pub fn from_server_error(error: &async_graphql::ServerError) -> Self {
        if let Some(app_error) = error.source::<AppError>() {
            return Self::from(app_error);
        }
        if error.source.is_none() {
            return Self {
                code: ErrorCode::BadUserInput,
                message: error.message.clone(),
                field: None,
            };
        }
        tracing::error!(error = %error.message, "request failed with an unclassified error");
        Self::from(&AppError::Internal(error.message.clone()))
    }
}

impl From<&AppError> for PublicError {
    fn from(error: &AppError) -> Self {
        if error.code() == ErrorCode::Internal {
            tracing::error!(error = %error, "request failed with an internal error");
        }
        Self {
            code: error.code(),
            message: error.public_message(),
            field: match error {
                AppError::BadUserInput { field, .. } => field.clone(),
                _ => None,
            },
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(error: tokio::task::JoinError) -> Self {
        AppError::Internal(format!("background task failed: {error}"))
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
    }

    #[test]
    fn codes_survive_the_resolver_boundary() {
        // What a resolver's `?` does with an AppError, then what the HTTP edge reads back.
        let graphql: async_graphql::Error = AppError::bad_input("email", "is not valid").into();
        let server_error = graphql.into_server_error(async_graphql::Pos::default());
        let public = PublicError::from_server_error(&server_error);
        assert_eq!(public.code, ErrorCode::BadUserInput);
        assert_eq!(public.field.as_deref(), Some("email"));

        let graphql: async_graphql::Error =
            AppError::Database(diesel::result::Error::NotFound).into();
        let public = PublicError::from_server_error(&graphql.into_server_error(Default::default()));
        assert_eq!(public.code, ErrorCode::Internal);
        assert!(!public.message.contains("NotFound"));

        let engine = async_graphql::ServerError::new("Unknown field \"x\"", None);
        assert_eq!(
            PublicError::from_server_error(&engine).code,
            ErrorCode::BadUserInput
        );
    }
}
