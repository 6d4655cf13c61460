//! Writing records: the validation and idempotency rules shared by the GraphQL mutations and
//! the bulk import, so a row means the same thing whichever way it arrives.

pub mod interactions;
pub mod lookup;
pub mod organisation;
pub mod surveys;

use crate::error::{AppError, AppResult};

/// Reference codes (org units, topics, courses) are 1–64 upper-case letters, digits, `_` or `-`,
/// starting with a letter or digit: what the database's CHECK constraints accept.
pub fn check_code(field: &str, code: &str) -> AppResult<()> {
    let valid = code.len() <= 64
        && code
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            "must be 1–64 upper-case letters, digits, `_` or `-`",
        ))
    }
}

/// What happened to one submitted row.
#[derive(Debug)]
pub enum RowOutcome {
    /// A new record with this id.
    Inserted(i64),
    /// The same key with the same content was already recorded (a retry).
    Unchanged(i64),
    /// The same key with different content: nothing was changed.
    Conflict { id: i64, message: String },
    /// The row is invalid: nothing was written for it.
    Rejected(AppError),
}

impl Clone for RowOutcome {
    fn clone(&self) -> Self {
        match self {
            RowOutcome::Inserted(id) => RowOutcome::Inserted(*id),
            RowOutcome::Unchanged(id) => RowOutcome::Unchanged(*id),
            RowOutcome::Conflict { id, message } => RowOutcome::Conflict {
                id: *id,
                message: message.clone(),
            },
            RowOutcome::Rejected(error) => RowOutcome::Rejected(AppError::BadUserInput {
                message: error.public_message(),
                field: match error {
                    AppError::BadUserInput { field, .. } => field.clone(),
                    _ => None,
                },
            }),
        }
    }
}
