//! The integration test binary: every test drives the real HTTP server against real PostgreSQL.

mod fixture;
mod helpers;

mod admission;
mod authentication;
mod authorization;
mod cli_and_demo;
mod cors;
mod graphql_http;
mod identity_provider;
mod import;
mod metrics;
mod observability;
mod one_home;
mod organisation_writes;
mod oversight;
mod persisted_documents;
mod program_writes;
mod records;
mod reporting;
mod retention;
mod schema_and_migrations;
mod security_headers;
mod staffing;
mod survey_page;
mod topology;
mod training_insights;
mod web_front;
