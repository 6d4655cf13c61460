//! The integration test binary: every test drives the real HTTP server against real PostgreSQL.

mod helpers;

mod authentication;
mod authorization;
mod cli_and_demo;
mod graphql_http;
mod schema_and_migrations;
