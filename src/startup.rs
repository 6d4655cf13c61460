//! Wiring: builds the HTTP server from configuration, a database handle and the token secret.
//! `main` and the integration tests both start the application through [`Application::build`].

use std::{net::TcpListener, sync::Arc};

use actix_web::{dev::Server, web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::{
    auth::{AuthService, JwtKeys, PasswordHasher, Pseudonymizer},
    config::Config,
    db::Database,
    error::AppResult,
    graphql::{build_schema, Services},
    http::{self, AppState},
    metrics::MetricsService,
    rate_limit::RateLimiter,
    records::surveys::SurveyLinks,
    secrets::Secrets,
};

/// A bound, not yet running HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and prepares the server.
    pub async fn build(
        config: Arc<Config>,
        database: Database,
        secrets: &Secrets,
    ) -> AppResult<Self> {
        let listener = TcpListener::bind(config.bind).map_err(|error| {
            crate::error::AppError::internal(format!("cannot bind {}: {error}", config.bind))
        })?;
        Self::build_with_listener(config, database, secrets, listener).await
    }

    /// Like [`Application::build`] with a listener the caller already bound.
    pub async fn build_with_listener(
        config: Arc<Config>,
        database: Database,
        secrets: &Secrets,
        listener: TcpListener,
    ) -> AppResult<Self> {
        let port = listener
            .local_addr()
            .map_err(crate::error::AppError::internal)?
            .port();
        let hasher = tokio::task::spawn_blocking(PasswordHasher::new).await??;
        let auth = AuthService::new(
            JwtKeys::new(&secrets.jwt, &config.tokens),
            hasher,
            config.tokens.clone(),
        )
        .with_login_digest(Pseudonymizer::new(&secrets.pseudonym));
        let metrics = MetricsService::new(&config);
        // The rollups must cut days in the configured zone; a request retries if this fails.
        if let Err(error) = metrics.align(&database).await {
            tracing::warn!(%error, "could not check the metric rollups' time zone at start-up");
        }
        let services = Services {
            database: database.clone(),
            auth: auth.clone(),
            config: config.clone(),
            pseudonymizer: Pseudonymizer::new(&secrets.pseudonym),
            survey_rate_limiter: Arc::new(RateLimiter::new(
                config.survey_submissions_per_minute,
                std::time::Duration::from_secs(60),
            )),
            metrics: metrics.clone(),
            survey_links: survey_links(&config, port),
        };
        let schema = build_schema(&config, services.clone());
        let state = AppState {
            schema,
            database,
            auth,
            config: config.clone(),
            metrics,
            services,
        };
        let app_state = web::Data::new(state.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap_fn(http::request_id_header)
                .wrap(TracingLogger::default())
                .app_data(app_state.clone())
                .configure(http::configure)
        });
        if let Some(workers) = config.http_workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(crate::error::AppError::internal)?
            .run();
        // Retention runs beside the server (one run per interval among the servers sharing
        // the database).
        crate::retention::schedule::spawn(state.database.clone(), config.retention.clone());
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The services the server uses (the demo and tests mint tokens through them).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM) and in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Where survey links point: `PUBLIC_BASE_URL`, or in development this server's own address on
/// `port` (so the demo and the tests hand out working links); in production without it, nowhere.
pub fn survey_links(config: &Config, port: u16) -> SurveyLinks {
    let base = config.public_base_url.clone().or_else(|| {
        config.developer_tools_enabled().then(|| {
            format!(
                "http://{}",
                std::net::SocketAddr::new(config.bind.ip(), port)
            )
        })
    });
    SurveyLinks::new(base)
}
