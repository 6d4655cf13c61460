//! Training insights (issue 5): `trainingNeeds` (who is worse than their team, on what, and
//! which courses address it) and `trainingImpact` (what a course changed for the agents who
//! completed it). The numbers come from `crate::insights::training`.

pub mod query;
pub mod types;

pub use query::TrainingInsightsQuery;
