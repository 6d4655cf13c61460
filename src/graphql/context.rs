//! What every resolver can reach: the caller's scope and the shared services.

use std::sync::Arc;

use async_graphql::Context;

use crate::{
    admission::{rate_limit::KeyedLimit, Admission},
    auth::{AuthService, Pseudonymizer, Scope},
    config::Config,
    db::Database,
    graphql::loaders::Loaders,
    metrics::MetricsService,
    records::surveys::SurveyLinks,
};

/// Per-request facts, inserted by the HTTP layer before execution.
#[derive(Clone)]
pub struct RequestContext {
    pub scope: Scope,
    /// Correlates log lines, audit events and the `x-request-id` response header.
    pub request_id: Option<String>,
    /// The client's address: the TCP peer, or what a trusted proxy forwarded (see
    /// `http::client`).
    pub client_address: String,
    /// The database handle this request runs on: the workload its cost chose, with the
    /// caller's share of it (see `admission`).
    pub database: Database,
}

/// Process-wide services, inserted once when the schema is built.
#[derive(Clone)]
pub struct Services {
    pub database: Database,
    pub auth: AuthService,
    pub config: Arc<Config>,
    pub pseudonymizer: Pseudonymizer,
    /// Public survey submissions per client address.
    pub survey_limit: KeyedLimit,
    pub metrics: MetricsService,
    pub admission: Arc<Admission>,
    /// Builds customers' survey links (`PUBLIC_BASE_URL/s/TOKEN`).
    pub survey_links: SurveyLinks,
}

/// Typed access to the request and service data from a resolver's [`Context`].
pub trait ContextExt {
    fn request(&self) -> &RequestContext;
    fn scope(&self) -> &Scope {
        &self.request().scope
    }
    fn request_id(&self) -> Option<String> {
        self.request().request_id.clone()
    }
    fn services(&self) -> &Services;
    /// The database handle of this request's workload.
    fn database(&self) -> &Database {
        &self.request().database
    }
    fn loaders(&self) -> &Loaders;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        // Inserted for every request by `http::graphql`; its absence is a programming error.
        self.data_unchecked::<RequestContext>()
    }

    fn services(&self) -> &Services {
        self.data_unchecked::<Services>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
}
