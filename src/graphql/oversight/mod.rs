//! Program oversight: the composite `programScorecard` and the quarterly `oversightReport`
//! (auditor, admin). The numbers are computed in `crate::insights`; this folder is their API.

pub mod query;
pub mod types;

pub use query::OversightQuery;
