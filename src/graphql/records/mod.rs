//! Interactions, customers, survey invitations and responses: the records of every contact.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::RecordsMutation;
pub use query::RecordsQuery;
