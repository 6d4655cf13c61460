//! The GraphQL schema: one folder per domain, merged into the query and mutation roots.

pub mod audit;
pub mod connection;
pub mod context;
pub mod filters;
pub mod loaders;
pub mod metrics;
pub mod organisation;
pub mod oversight;
pub mod plain;
pub mod program;
pub mod records;
pub mod retention;
pub mod scalars;
pub mod session;
pub mod staffing;
pub mod training_insights;

use async_graphql::{EmptySubscription, MergedObject, Response, Schema, SchemaBuilder};

use crate::config::Config;

pub use context::{ContextExt, RequestContext, Services};
pub use loaders::Loaders;

/// Every root query field.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    session::SessionQuery,
    organisation::OrganisationQuery,
    records::RecordsQuery,
    program::ProgramQuery,
    metrics::MetricsQueryRoot,
    audit::AuditQuery,
    oversight::OversightQuery,
    staffing::StaffingQuery,
    training_insights::TrainingInsightsQuery,
    retention::RetentionQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    session::SessionMutation,
    organisation::OrganisationMutation,
    records::RecordsMutation,
    program::ProgramMutation,
    retention::RetentionMutation,
);

/// The executable schema.
pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema with the limits of `config` and no data attached.
pub fn schema_builder(
    config: &Config,
) -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .limit_depth(config.graphql.max_depth)
    .limit_recursive_depth(64)
    .limit_directives(16);
    // No engine extensions: with any at all, every field of every response goes through the
    // extension chain (a registry lookup and a boxed future per field).
    if !config.developer_tools_enabled() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}

/// Builds the schema serving requests.
pub fn build_schema(config: &Config, services: Services) -> AppSchema {
    schema_builder(config).data(services).finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    let config = Config::from_lookup(|_| None).expect("the default configuration is valid");
    schema_builder(&config).finish().sdl()
}

/// Whether the engine ran the document. It did unless it refused the request itself (syntax,
/// validation, limits, variables), which it reports as errors without a field path and no data;
/// every error raised while executing names the field it came from.
pub fn was_executed(response: &Response) -> bool {
    !(response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty()))
}
