//! What the findings drive: training, resource allocation, service standards.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::ProgramMutation;
pub use query::ProgramQuery;
