//! Interactions, customers, survey invitations and responses: the records of every contact.

pub mod query;
pub mod types;

pub use query::RecordsQuery;
