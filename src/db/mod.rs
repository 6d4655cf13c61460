//! Database access: the r2d2 pool, the one `run` helper that moves Diesel work off the async
//! executor, embedded migrations, and the private PostgreSQL cluster used when no `DATABASE_URL`
//! is configured.

pub mod cluster;
pub mod enums;
pub mod models;
pub mod schema;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection},
    Connection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{AppError, AppResult};

/// The migrations compiled into the binary; `migrate` and start-up apply them.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A pooled PostgreSQL connection.
pub type DbConnection = PooledConnection<ConnectionManager<PgConnection>>;

/// Sets per-connection limits when the pool opens a connection, and counts its statements.
#[derive(Debug, Clone)]
struct SessionSettings {
    statement_timeout_ms: u64,
    statements: Arc<AtomicU64>,
}

/// Counts every statement sent on a connection (see [`Database::statements_executed`]).
struct StatementCounter(Arc<AtomicU64>);

impl diesel::connection::Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, connection: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        // A runaway query is cancelled by the server instead of holding a connection forever.
        connection
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET TIME ZONE 'UTC';",
                self.statement_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        // Counted from here on: connection set-up is not part of any request's cost.
        connection.set_instrumentation(StatementCounter(self.statements.clone()));
        Ok(())
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub checkout_timeout: Duration,
    pub statement_timeout_ms: u64,
}

/// The application's handle on PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager<PgConnection>>,
    statements: Arc<AtomicU64>,
}

impl Database {
    /// Builds the pool without connecting: start-up never blocks on a database that is down;
    /// requests fail fast with `INTERNAL` ("database unavailable") and `/readyz` reports 503.
    pub fn connect_lazily(url: &str, options: &PoolOptions) -> Self {
        let statements = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.checkout_timeout)
            .test_on_check_out(false)
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout_ms: options.statement_timeout_ms,
                statements: statements.clone(),
            }))
            .build_unchecked(ConnectionManager::new(url));
        Self { pool, statements }
    }

    /// How many SQL statements this pool's connections have sent so far (not counting the
    /// per-connection session settings). Tests use the difference around a request to prove that a
    /// page costs a fixed number of statements.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Runs `work` with a pooled connection on the blocking thread pool and returns its result.
    ///
    /// This is the only way the application touches the database from async code, so Diesel's
    /// synchronous calls never stall the async executor.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = pool.get()?;
            work(&mut connection)
        })
        .await?
    }

    /// Runs `work` on the blocking thread pool with the database itself, for jobs that need
    /// several connections at once (the bulk importer's workers check them out with
    /// [`Database::checkout`]).
    pub async fn run_with_pool<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&Database) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.clone();
        tokio::task::spawn_blocking(move || work(&database)).await?
    }

    /// A pooled connection, waiting up to the checkout timeout. Blocking: only for code already
    /// on a blocking thread (inside [`Database::run_with_pool`]).
    pub fn checkout(&self) -> AppResult<DbConnection> {
        Ok(self.pool.get()?)
    }

    /// Like [`Database::run`], inside one transaction that is rolled back if `work` fails.
    pub async fn transaction<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(|connection| connection.transaction(work)).await
    }

    /// True when a connection can be had and answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        self.run(|connection| {
            connection.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
        .is_ok()
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> AppResult<Vec<String>> {
        self.run(run_migrations).await
    }
}

/// Applies pending migrations on `connection` and returns their names.
pub fn run_migrations(connection: &mut PgConnection) -> AppResult<Vec<String>> {
    let applied = connection
        .run_pending_migrations(MIGRATIONS)
        .map_err(|error| AppError::internal(format!("migration failed: {error}")))?;
    Ok(applied.iter().map(|version| version.to_string()).collect())
}

/// Reverts every applied migration, newest first (used by the migration round-trip test).
pub fn revert_all_migrations(connection: &mut PgConnection) -> AppResult<Vec<String>> {
    let reverted = connection
        .revert_all_migrations(MIGRATIONS)
        .map_err(|error| AppError::internal(format!("migration revert failed: {error}")))?;
    Ok(reverted.iter().map(|version| version.to_string()).collect())
}
