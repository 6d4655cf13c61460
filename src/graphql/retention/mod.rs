//! Legal holds over GraphQL: `legalHolds` (auditor, admin), `placeLegalHold` and
//! `liftLegalHold` (admin). The rules live in `crate::retention::holds`.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::RetentionMutation;
pub use query::RetentionQuery;
