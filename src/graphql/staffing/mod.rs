//! Staffing plans for queued channels: `staffingPlan` (Erlang C against approved allocations).

pub mod query;
pub mod types;

pub use query::StaffingQuery;
