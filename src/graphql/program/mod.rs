//! What the findings drive: training, resource allocation, service standards.

pub mod query;
pub mod types;

pub use query::ProgramQuery;
