//! bac-metrics: the system of record and GraphQL reporting API of a Business Action Center's
//! customer assistance metrics program. See `docs/ARCHITECTURE.md` for the picture.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod import;
pub mod insights;
pub mod metrics;
pub mod records;
pub mod retention;
pub mod secrets;
pub mod startup;
pub mod synthetic;
pub mod telemetry;
