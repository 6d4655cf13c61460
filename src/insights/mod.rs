//! Insights that turn metrics into decisions: each module takes what the metrics engine and the
//! records say and answers a planning question (how many staff, which training, …).

pub mod erlang;
pub mod oversight;
pub mod scorecard;
pub mod staffing;
pub mod training;
