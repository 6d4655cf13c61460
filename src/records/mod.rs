//! Writing records: the validation and idempotency rules shared by the GraphQL mutations and
//! the bulk import, so a row means the same thing whichever way it arrives.

pub mod interactions;
pub mod surveys;

use crate::error::AppError;

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
