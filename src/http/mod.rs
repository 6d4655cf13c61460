//! The HTTP surface: routes, the GraphQL-over-HTTP responder, import, CSV export, the hosted
//! survey page and health checks; GraphiQL's files, the web front for oversight staff, and the
//! security-header and CORS middlewares `startup.rs` wraps around every route.

pub mod client;
pub mod cors;
pub mod csv;
pub mod errors;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod import;
pub mod reports;
pub mod security_headers;
pub mod survey_page;
pub mod web_front;

use std::sync::Arc;

use actix_web::{
    http::header::{HeaderName, HeaderValue},
    web, HttpMessage,
};

use crate::{
    admission::Admission, auth::AuthService, config::Config, db::Database, graphql::AppSchema,
};

/// Shared state of every HTTP handler.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub database: Database,
    pub auth: AuthService,
    pub config: Arc<Config>,
    pub metrics: crate::metrics::MetricsService,
    pub admission: Arc<Admission>,
    /// Customer pseudonyms for exports.
    pub pseudonymizer: crate::auth::Pseudonymizer,
    /// Set when the server is stopping: readiness fails and connections close.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The services the GraphQL resolvers use, shared with the plain HTTP pages (the hosted
    /// survey page submits through the same rate limiter as `submitSurveyResponse`).
    pub services: crate::graphql::Services,
}

/// The id tracing-actix-web gave this request (also in the `x-request-id` header).
pub fn request_id(request: &actix_web::HttpRequest) -> Option<String> {
    request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

/// The caller of a plain HTTP endpoint (import, export, reports): the bearer token verified
/// by the scope module, exactly as for GraphQL requests.
pub async fn request_scope(
    request: &actix_web::HttpRequest,
    state: &AppState,
) -> crate::error::AppResult<crate::auth::Scope> {
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("invalid"));
    crate::auth::authenticate(
        &state.auth,
        &state.database,
        authorization,
        request_id(request).as_deref(),
    )
    .await
}

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/graphql")
                .route(web::post().to(graphql::post))
                .route(web::get().to(graphql::get))
                .default_service(web::to(graphql::method_not_allowed)),
        )
        .route("/graphiql/{hash}/{name}", web::get().to(graphiql::file))
        .route("/import/{kind}", web::post().to(import::post))
        .route("/export/metrics.csv", web::get().to(export::metrics_csv))
        .route(
            "/export/interactions.csv",
            web::get().to(export::interactions_csv),
        )
        .route(
            "/export/oversight-report.csv",
            web::get().to(reports::oversight_csv),
        )
        .route("/reports/oversight", web::get().to(reports::oversight_html))
        .configure(web_front::configure)
        .configure(survey_page::configure)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz));
}

/// Wraps the app so every response carries `x-request-id`, the id its log lines and audit
/// events carry too, and closes connections while the server drains.
pub fn request_id_header<S, B>(
    request: actix_web::dev::ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
where
    S: actix_web::dev::Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let request_id = request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let draining = request
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.draining.load(std::sync::atomic::Ordering::Acquire));
    let response = service.call(request);
    async move {
        let mut response = response.await?;
        if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        if draining {
            // The server is stopping: this connection carries no further request.
            response
                .response_mut()
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        Ok(response)
    }
}
