//! The reporting API: `metrics`, `metricCatalog` and `serviceStandardAttainment`.

pub mod query;
pub mod types;

pub use query::MetricsQueryRoot;
