//! Writing records: one module per aggregate — `interactions` (and their customers), `surveys`
//! (invitations, links, responses), `follow_ups`, `organisation` (users, org units, topics),
//! `training`, `allocations`, `standards`, `documents` (persisted GraphQL documents) — each
//! owning its rules, idempotency, scoped existence checks and audit events, shared by the
//! GraphQL mutations, the bulk import and the command line, so a record means the same thing
//! whichever way it arrives. `lookup` resolves codes and local dates.

pub mod allocations;
pub mod documents;
pub mod follow_ups;
pub mod interactions;
pub mod lookup;
pub mod organisation;
pub mod standards;
pub mod surveys;
pub mod training;

use crate::error::AppError;

/// How an entry point spells input fields, so an error names the field the caller sent: the
/// API's camelCase (`agentEmail`) or the import formats' column names (`agent_email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    Api,
    File,
}

impl FieldNames {
    /// The name of a field in this spelling.
    pub fn pick(self, api: &'static str, file: &'static str) -> &'static str {
        match self {
            FieldNames::Api => api,
            FieldNames::File => file,
        }
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
