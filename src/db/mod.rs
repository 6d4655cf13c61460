//! Database access: one connection budget ("lane") per workload, the one `run` helper that
//! moves Diesel work off the async executor, the database health circuit, embedded migrations,
//! and the private PostgreSQL cluster used when no `DATABASE_URL` is configured.
//!
//! # Workloads
//!
//! Interactive reads and writes, authentication, reporting and imports each get their own pool
//! (a [`Lane`]), so a flood of one kind can never take the connections another needs. Each lane
//! has an admission semaphore with as many permits as connections: a request waits for a permit
//! asynchronously (no blocking thread is held while it queues) for at most the lane's queue
//! timeout, then is refused with `RATE_LIMITED` and a `Retry-After`, never `INTERNAL`. Because a
//! permit guarantees a free pool slot, the pool checkout itself only ever waits for a new
//! connection to be opened. Each lane's connections carry its own `statement_timeout`.
//!
//! # Health
//!
//! When a connection cannot be opened, or one is lost mid-request, the [`Health`] circuit opens:
//! every request then fails in microseconds with `UNAVAILABLE` (HTTP 503 with `Retry-After`)
//! instead of waiting out a timeout, and a background probe closes the circuit as soon as the
//! database accepts a connection again — no restart needed.
//!
//! # Replicas
//!
//! With `DATABASE_REPLICA_URLS`, the reporting and interactive lanes also get a pool on each
//! streaming read replica ([`replicas`]). A handle made with [`Database::reading`] checks out a
//! connection of a replica that is up, within `REPLICA_MAX_LAG_MS` of the primary and past the
//! caller's own latest write; otherwise, and for every other handle, the primary's. The lane's
//! permits still bound the connections a lane holds, wherever they are open.

pub mod cluster;
pub mod directory;
pub mod enums;
pub mod models;
pub mod prepared;
pub mod replicas;
pub mod schema;

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection},
    result::{DatabaseErrorKind, Error as DieselError},
    Connection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

pub use crate::config::WorkloadBudget;
use crate::{
    config::Config,
    error::{AppError, AppResult},
};

/// The migrations compiled into the binary; `migrate` and start-up apply them.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The kinds of work that get separate connection budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Record lists and lookups, `me`, reference data, single-record writes.
    Interactive,
    /// The session check of every authenticated request, sign-in, refresh, logout.
    Authentication,
    /// Metrics, insights, the oversight report, audit-chain verification, CSV exports.
    Reporting,
    /// Bulk imports and the synthetic seed.
    Import,
}

impl Workload {
    /// Every workload, in lane order.
    pub const ALL: [Workload; 4] = [
        Workload::Interactive,
        Workload::Authentication,
        Workload::Reporting,
        Workload::Import,
    ];

    /// The name used in logs, error messages and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Interactive => "interactive",
            Workload::Authentication => "authentication",
            Workload::Reporting => "reporting",
            Workload::Import => "import",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Pool settings for every workload.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub interactive: WorkloadBudget,
    pub authentication: WorkloadBudget,
    pub reporting: WorkloadBudget,
    pub import: WorkloadBudget,
    /// How long opening a connection may take (libpq `connect_timeout`, rounded up to seconds,
    /// and the pool's checkout timeout).
    pub connect_timeout: Duration,
    /// How often the health probe retries while the database is down, and how often every
    /// replica's health and lag are probed.
    pub probe_interval: Duration,
    /// Streaming read replicas of the primary (libpq URLs; redacted in `Debug` output).
    pub replica_urls: Vec<secrecy::SecretString>,
    /// How far behind the primary a replica may be and still serve reads.
    pub replica_max_lag: Duration,
}

impl PoolOptions {
    /// The budgets the configuration asks for.
    pub fn from_config(config: &Config) -> Self {
        let budgets = &config.workloads;
        Self {
            interactive: budgets.interactive.clone(),
            authentication: budgets.authentication.clone(),
            reporting: budgets.reporting.clone(),
            import: budgets.import.clone(),
            connect_timeout: config.database_connect_timeout,
            probe_interval: config.database_probe_interval,
            replica_urls: config.database_replica_urls.clone(),
            replica_max_lag: config.replica_max_lag,
        }
    }

    fn lane(&self, workload: Workload) -> &WorkloadBudget {
        match workload {
            Workload::Interactive => &self.interactive,
            Workload::Authentication => &self.authentication,
            Workload::Reporting => &self.reporting,
            Workload::Import => &self.import,
        }
    }
}

/// A pooled connection and whether it was lost while in use (then the pool discards it
/// instead of handing a dead socket to the next request).
pub struct LaneConnection {
    connection: PgConnection,
    lost: bool,
    /// The health epoch it was opened in; an outage since then makes it stale.
    epoch: u64,
    /// The database it is open on.
    source: Source,
}

/// Which database a connection is open on: the primary, or a replica by its position in
/// `DATABASE_REPLICA_URLS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Primary,
    Replica(usize),
}

impl Source {
    /// The name in logs, the `x-database` response header and `/readyz`: `primary`,
    /// `replica-1`, `replica-2`, …
    pub fn name(self) -> String {
        match self {
            Source::Primary => "primary".into(),
            Source::Replica(index) => format!("replica-{}", index + 1),
        }
    }

    fn bit(self) -> u64 {
        match self {
            Source::Primary => 1,
            Source::Replica(index) => 1 << (index + 1).min(63),
        }
    }
}

impl std::ops::Deref for LaneConnection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.connection
    }
}

impl std::ops::DerefMut for LaneConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.connection
    }
}

/// Opens connections for one lane with its session settings, and counts their statements.
/// Public only as part of [`DbConnection`].
pub struct LaneManager {
    url: String,
    statement_timeout: Duration,
    statements: Arc<AtomicU64>,
    health: Arc<Health>,
    source: Source,
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

impl ManageConnection for LaneManager {
    type Connection = LaneConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<LaneConnection, Self::Error> {
        let mut connection =
            PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        // A runaway query is cancelled by the server instead of holding a connection forever.
        connection
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET TIME ZONE 'UTC';",
                self.statement_timeout.as_millis()
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        // Counted from here on: connection set-up is not part of any request's cost.
        connection.set_instrumentation(StatementCounter(self.statements.clone()));
        Ok(LaneConnection {
            connection,
            lost: false,
            epoch: self.health.epoch(),
            source: self.source,
        })
    }

    /// Checked at every checkout, without a round trip: a connection opened before the last
    /// outage is stale (the server it talked to went away), so it is discarded and a fresh one
    /// opened, instead of failing the request that would have used it.
    fn is_valid(&self, connection: &mut LaneConnection) -> Result<(), Self::Error> {
        if connection.epoch == self.health.epoch() {
            Ok(())
        } else {
            Err(diesel::r2d2::Error::QueryError(
                diesel::result::Error::BrokenTransactionManager,
            ))
        }
    }

    fn has_broken(&self, connection: &mut LaneConnection) -> bool {
        connection.lost || std::thread::panicking() || connection.connection.is_broken()
    }
}

/// A pooled connection of a lane.
pub type DbConnection = PooledConnection<LaneManager>;

/// One workload's pool and admission semaphore.
struct Lane {
    workload: Workload,
    pool: Pool<LaneManager>,
    /// The lane's pool on each replica (reporting and interactive lanes only).
    replica_pools: Vec<Pool<LaneManager>>,
    permits: Arc<Semaphore>,
    connections: u32,
    queue_timeout: Duration,
    statement_timeout: Duration,
    /// Requests refused because the lane stayed full for the whole queue timeout.
    refused: AtomicU64,
    /// Requests that found the lane full and queued for a permit.
    waited: AtomicU64,
}

/// Whether the database is known to be reachable. Shared by every lane.
pub struct Health {
    /// `primary` or `replica-N`, in its log lines.
    name: String,
    down: AtomicBool,
    /// Counts outages; connections opened before the current one are stale.
    epoch: AtomicU64,
    since: Mutex<Option<Instant>>,
    probe_interval: Duration,
    /// Set while a probe is running, so a burst of failures starts one probe, not hundreds.
    probing: AtomicBool,
}

impl Health {
    fn new(name: String, probe_interval: Duration) -> Self {
        Self {
            name,
            down: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            since: Mutex::new(None),
            probe_interval,
            probing: AtomicBool::new(false),
        }
    }

    /// True while the circuit is open (the database was found unreachable and has not answered
    /// a probe since).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// How long the database has been down, if it is.
    pub fn down_for(&self) -> Option<Duration> {
        self.since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .map(|since| since.elapsed())
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn mark_down(&self, reason: &str) {
        if !self.down.swap(true, Ordering::AcqRel) {
            self.epoch.fetch_add(1, Ordering::AcqRel);
            *self.since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            tracing::error!(
                database = %self.name,
                reason,
                "the database is unreachable; failing requests fast until it answers again"
            );
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            let since = self.since.lock().unwrap_or_else(|p| p.into_inner()).take();
            tracing::info!(
                database = %self.name,
                down_seconds = since.map(|since| since.elapsed().as_secs_f64()),
                "the database answers again"
            );
        }
    }

    /// The `UNAVAILABLE` error requests get while the circuit is open.
    fn unavailable(&self) -> AppError {
        AppError::unavailable(
            "the database is unavailable; try again shortly",
            self.probe_interval.max(Duration::from_secs(1)),
        )
    }
}

struct Shared {
    lanes: Vec<Lane>,
    statements: Arc<AtomicU64>,
    health: Arc<Health>,
    url: String,
    replicas: replicas::Replicas,
    /// Checkouts served by the primary since start (replicas count their own).
    primary_served: AtomicU64,
    /// The organisation directory this server has read (see [`directory`]).
    directory: Arc<directory::DirectoryCache>,
}

/// The application's handle on PostgreSQL for one workload. Cheap to clone;
/// [`Database::for_workload`] gives the handle of another lane over the same pools.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
    workload: Workload,
    /// Limits how many of this lane's connections one caller holds at once (see
    /// [`Database::with_caller_gate`]).
    caller_gate: Option<Arc<Semaphore>>,
    /// `Some(position)`: reads may go to a replica that has replayed the primary's WAL up to
    /// `position` (the caller's latest write); `None`: the primary only.
    read_floor: Option<i64>,
    /// The databases this handle's work was served by (a bit per [`Source`]), when tracked.
    answered: Option<Arc<AtomicU64>>,
}

/// The permits a piece of database work holds: its lane's, and its caller's when gated.
pub struct Admitted {
    _lane: OwnedSemaphorePermit,
    _caller: Option<OwnedSemaphorePermit>,
}

/// What one lane is doing right now (for `/metrics` and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneStatus {
    pub workload: Workload,
    pub connections: u32,
    /// Permits held: requests running on this lane.
    pub in_use: u32,
    /// Connections open and idle in the pool.
    pub idle: u32,
    /// Requests refused since start because the lane stayed full.
    pub refused: u64,
    /// Requests since start that found the lane full and queued.
    pub waited: u64,
}

impl Database {
    /// Builds every lane's pool without connecting: start-up never blocks on a database that
    /// is down; requests fail fast with `UNAVAILABLE` and `/readyz` reports 503.
    pub fn connect_lazily(url: &str, options: &PoolOptions) -> Self {
        let statements = Arc::new(AtomicU64::new(0));
        let health = Arc::new(Health::new("primary".into(), options.probe_interval));
        let url = with_connect_timeout(url, options.connect_timeout);
        let replicas = replicas::Replicas::new(
            options
                .replica_urls
                .iter()
                .enumerate()
                .map(|(index, replica_url)| {
                    let source = Source::Replica(index);
                    replicas::Replica::new(
                        source,
                        with_connect_timeout(
                            secrecy::ExposeSecret::expose_secret(replica_url),
                            options.connect_timeout,
                        ),
                        Arc::new(Health::new(source.name(), options.probe_interval)),
                    )
                })
                .collect(),
            options.replica_max_lag,
        );
        let lanes = Workload::ALL
            .into_iter()
            .map(|workload| {
                let lane = options.lane(workload);
                let connections = lane.connections.max(1);
                let build = |url: &str, health: &Arc<Health>, source: Source| {
                    Pool::builder()
                        .max_size(connections)
                        .min_idle(Some(0))
                        .connection_timeout(options.connect_timeout)
                        // `is_valid` costs no round trip (see `LaneManager::is_valid`).
                        .test_on_check_out(true)
                        .build_unchecked(LaneManager {
                            url: url.to_owned(),
                            statement_timeout: lane.statement_timeout,
                            statements: statements.clone(),
                            health: health.clone(),
                            source,
                        })
                };
                let pool = build(&url, &health, Source::Primary);
                // Only reads are routed to replicas; the other lanes write or check sessions.
                let replica_pools =
                    if matches!(workload, Workload::Interactive | Workload::Reporting) {
                        replicas
                            .iter()
                            .map(|replica| build(replica.url(), replica.health(), replica.source()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                Lane {
                    workload,
                    pool,
                    replica_pools,
                    permits: Arc::new(Semaphore::new(connections as usize)),
                    connections,
                    queue_timeout: lane.queue_timeout,
                    statement_timeout: lane.statement_timeout,
                    refused: AtomicU64::new(0),
                    waited: AtomicU64::new(0),
                }
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                lanes,
                statements,
                health,
                url,
                replicas,
                primary_served: AtomicU64::new(0),
                directory: Arc::default(),
            }),
            workload: Workload::Interactive,
            caller_gate: None,
            read_floor: None,
            answered: None,
        }
    }

    /// The organisation directory cache of this server, shared by every lane.
    pub fn directory(&self) -> &Arc<directory::DirectoryCache> {
        &self.shared.directory
    }

    /// The handle for `workload`'s lane (same pools, same health, no caller gate).
    pub fn for_workload(&self, workload: Workload) -> Database {
        Database {
            shared: self.shared.clone(),
            workload,
            caller_gate: None,
            read_floor: None,
            answered: self.answered.clone(),
        }
    }

    /// This handle, reading from a replica when one is up, within `REPLICA_MAX_LAG_MS` and has
    /// replayed the primary's WAL up to `floor` (the caller's latest write, see
    /// [`replicas::note_write`]; 0 for a caller who never wrote). Only for work that does not
    /// write: a replica refuses writes.
    pub fn reading(&self, floor: i64) -> Database {
        Database {
            read_floor: Some(floor),
            ..self.clone()
        }
    }

    /// This handle on the primary only (for work that writes or must see the latest state).
    pub fn primary(&self) -> Database {
        Database {
            read_floor: None,
            ..self.clone()
        }
    }

    /// This handle, noting which databases serve its work (see [`Database::answered_by`]).
    pub fn tracked(&self) -> Database {
        Database {
            answered: Some(Arc::new(AtomicU64::new(0))),
            ..self.clone()
        }
    }

    /// The databases that served this (tracked) handle's work so far, comma-separated
    /// (`primary`, `replica-1`, `primary,replica-1`); `None` when none did or it is not tracked.
    pub fn answered_by(&self) -> Option<String> {
        let bits = self.answered.as_ref()?.load(Ordering::Relaxed);
        let names: Vec<String> = std::iter::once(Source::Primary)
            .chain((0..self.shared.replicas.len()).map(Source::Replica))
            .filter(|source| bits & source.bit() != 0)
            .map(Source::name)
            .collect();
        (!names.is_empty()).then(|| names.join(","))
    }

    /// Whether any read replica is configured.
    pub fn has_replicas(&self) -> bool {
        !self.shared.replicas.is_empty()
    }

    /// Every replica's state and every database's share of the work (for `/readyz`).
    pub fn replica_statuses(&self) -> Vec<replicas::ReplicaStatus> {
        self.shared.replicas.statuses()
    }

    /// Records that `user_id` just wrote, so their next reads stay on the primary until a
    /// replica has replayed the write ([`replicas::note_write`]). Nothing to do, and no
    /// statement, without replicas. A failure is logged, not returned: the write itself stands.
    pub async fn note_write(&self, user_id: i64) {
        if !self.has_replicas() {
            return;
        }
        let noted = self
            .for_workload(Workload::Interactive)
            .run(move |connection| replicas::note_write(connection, user_id))
            .await;
        if let Err(error) = noted {
            tracing::warn!(error = %error.chain(), "could not record a caller's write for read routing");
        }
    }

    /// Checkouts the primary has served since start.
    pub fn primary_served(&self) -> u64 {
        self.shared.primary_served.load(Ordering::Relaxed)
    }

    /// This handle, with every piece of work also holding a permit of `gate` — one caller's
    /// share of the lane, so a caller's parallel requests or aliased fields queue behind each
    /// other instead of taking the whole lane.
    pub fn with_caller_gate(&self, gate: Arc<Semaphore>) -> Database {
        Database {
            caller_gate: Some(gate),
            ..self.clone()
        }
    }

    /// The workload this handle's work is counted against.
    pub fn workload(&self) -> Workload {
        self.workload
    }

    /// The shared health circuit.
    pub fn health(&self) -> &Health {
        &self.shared.health
    }

    /// What every lane is doing.
    pub fn lanes(&self) -> Vec<LaneStatus> {
        self.shared
            .lanes
            .iter()
            .map(|lane| LaneStatus {
                workload: lane.workload,
                connections: lane.connections,
                in_use: lane.connections - lane.permits.available_permits() as u32,
                idle: lane.pool.state().idle_connections,
                refused: lane.refused.load(Ordering::Relaxed),
                waited: lane.waited.load(Ordering::Relaxed),
            })
            .collect()
    }

    fn lane(&self) -> &Lane {
        &self.shared.lanes[self.workload.index()]
    }

    /// How many SQL statements this database's connections have sent so far (not counting the
    /// per-connection session settings). Tests use the difference around a request to prove that a
    /// page costs a fixed number of statements.
    pub fn statements_executed(&self) -> u64 {
        self.shared.statements.load(Ordering::Relaxed)
    }

    /// Waits (asynchronously, at most the lane's queue timeout) for `count` of this lane's
    /// permits. Refused with `RATE_LIMITED` when the lane stays full, `UNAVAILABLE` when the
    /// database is known to be down.
    pub async fn admit(&self, count: u32) -> AppResult<Admitted> {
        let health = &self.shared.health;
        if health.is_down() {
            return Err(health.unavailable());
        }
        let lane = self.lane();
        let deadline = tokio::time::Instant::now() + lane.queue_timeout;
        // The caller's own share first: waiting for it must not hold one of the lane's permits.
        let caller = match &self.caller_gate {
            Some(gate) => {
                let acquire = gate.clone().acquire_owned();
                match tokio::time::timeout_at(deadline, acquire).await {
                    Ok(Ok(permit)) => Some(permit),
                    Ok(Err(_closed)) => return Err(AppError::internal("a caller gate was closed")),
                    Err(_elapsed) => return Err(self.refuse(true)),
                }
            }
            None => None,
        };
        let count = count.clamp(1, lane.connections);
        let permit = match lane.permits.clone().try_acquire_many_owned(count) {
            Ok(permit) => permit,
            Err(_full) => {
                // Counted for `/metrics`: a lane that often makes requests queue needs more
                // connections (or its callers less work) before it starts refusing them.
                lane.waited.fetch_add(1, Ordering::Relaxed);
                let acquire = lane.permits.clone().acquire_many_owned(count);
                match tokio::time::timeout_at(deadline, acquire).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_closed)) => {
                        return Err(AppError::internal("a lane semaphore was closed"))
                    }
                    Err(_elapsed) => return Err(self.refuse(false)),
                }
            }
        };
        // The database may have gone down while this request queued.
        if health.is_down() {
            return Err(health.unavailable());
        }
        Ok(Admitted {
            _lane: permit,
            _caller: caller,
        })
    }

    /// The `RATE_LIMITED` answer of a request that waited its whole queue timeout.
    fn refuse(&self, own_share: bool) -> AppError {
        let lane = self.lane();
        lane.refused.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::metrics::rate_limited(if own_share {
            "caller_share"
        } else {
            "workload"
        });
        let retry_after = lane.queue_timeout.max(Duration::from_secs(1));
        if own_share {
            tracing::info!(workload = %lane.workload, "request refused: its caller's earlier requests kept their share of the workload busy");
            AppError::rate_limited(
                format!(
                    "your earlier {} requests are still running; wait for them before sending more",
                    lane.workload
                ),
                retry_after,
            )
        } else {
            tracing::warn!(workload = %lane.workload, "request refused: the workload's connections stayed busy for the whole queue timeout");
            AppError::rate_limited(
                format!(
                    "the server is at capacity for {} requests; retry shortly",
                    lane.workload
                ),
                retry_after,
            )
        }
    }

    /// Runs `work` with a pooled connection on the blocking thread pool and returns its result.
    ///
    /// This is the only way the application touches the database from async code, so Diesel's
    /// synchronous calls never stall the async executor. The work is a `db` span (naming the
    /// workload) under the caller's span, which carries the request id into logs and the trace
    /// across the blocking thread; it covers the wait for the lane too.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let span = self.span("run");
        let permit = self.admit_in(&span, 1).await?;
        let database = self.clone();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let _permit = permit;
                let mut connection = database.checkout()?;
                let result = work(&mut connection);
                database.after_use(&mut connection, result)
            })
        })
        .await?
    }

    /// The span of one piece of database work on this lane, a child of the current span.
    fn span(&self, kind: &'static str) -> tracing::Span {
        tracing::info_span!(
            "db",
            otel.kind = "client",
            db.system = "postgresql",
            workload = self.workload.name(),
            kind,
            queued_ms = tracing::field::Empty,
        )
    }

    /// [`Database::admit`] inside `span`, noting how long the work queued for its lane (a
    /// trace then tells a wait for a connection from a slow statement).
    async fn admit_in(&self, span: &tracing::Span, count: u32) -> AppResult<Admitted> {
        let started = Instant::now();
        let admitted = self.admit(count).instrument(span.clone()).await;
        span.record("queued_ms", started.elapsed().as_millis() as u64);
        admitted
    }

    /// Like [`Database::run`], inside one transaction that is rolled back if `work` fails.
    pub async fn transaction<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(|connection| connection.transaction(work)).await
    }

    /// Runs `work` on the blocking thread pool with the database itself, for jobs that need
    /// several connections at once (the bulk importer's writers check them out with
    /// [`Database::checkout`]). `connections` of this lane's permits are held for the whole job,
    /// so the job's checkouts never wait on another request.
    pub async fn run_job<T, F>(&self, connections: u32, work: F) -> AppResult<T>
    where
        F: FnOnce(&Database) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let span = self.span("job");
        let permit = self.admit_in(&span, connections).await?;
        let database = self.clone();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let _permit = permit;
                work(&database)
            })
        })
        .await?
    }

    /// A pooled connection of this lane, waiting at most the connect timeout. Blocking: only for
    /// code already on a blocking thread that holds this lane's permits ([`Database::run`],
    /// [`Database::run_job`]) or runs outside the server (command-line jobs).
    pub fn checkout(&self) -> AppResult<DbConnection> {
        if let Some(floor) = self.read_floor {
            if let Some(connection) = self.checkout_replica(floor) {
                return Ok(connection);
            }
        }
        let health = &self.shared.health;
        if health.is_down() {
            return Err(health.unavailable());
        }
        match self.lane().pool.get() {
            Ok(connection) => {
                self.shared.primary_served.fetch_add(1, Ordering::Relaxed);
                self.note_answered(Source::Primary);
                Ok(connection)
            }
            Err(error) => {
                // A permit guarantees a free slot, so the only wait was opening a connection.
                health.mark_down(&error.to_string());
                Err(AppError::Unavailable {
                    message: "the database is unavailable; try again shortly".into(),
                    retry_after: health.probe_interval.max(Duration::from_secs(1)),
                    cause: Some(Box::new(error)),
                })
            }
        }
    }

    /// A connection of a replica fit to serve a read at `floor`, if any: the replicas take
    /// turns; one whose connection cannot be opened is marked down (its probe brings it back)
    /// and the next is tried. `None` sends the read to the primary.
    fn checkout_replica(&self, floor: i64) -> Option<DbConnection> {
        let lane = self.lane();
        for replica in self.shared.replicas.candidates(floor) {
            let Some(pool) = lane.replica_pools.get(replica.index()) else {
                continue;
            };
            match pool.get() {
                Ok(connection) => {
                    replica.count_served();
                    self.note_answered(replica.source());
                    tracing::debug!(database = %replica.source().name(), workload = %lane.workload, "read served by a replica");
                    return Some(connection);
                }
                Err(error) => replica.health().mark_down(&error.to_string()),
            }
        }
        None
    }

    fn note_answered(&self, source: Source) {
        if let Some(answered) = &self.answered {
            answered.fetch_or(source.bit(), Ordering::Relaxed);
        }
    }

    /// Notes a lost connection (the pool discards it and the circuit opens) and turns a
    /// statement cancelled by the lane's time limit into `UNAVAILABLE`. Other errors pass.
    fn after_use<T>(&self, connection: &mut DbConnection, result: AppResult<T>) -> AppResult<T> {
        match result {
            Err(AppError::Database(error)) if is_connection_loss(&error) => {
                connection.lost = true;
                // A lost replica only takes itself out of the rotation; the primary stays up.
                match connection.source {
                    Source::Primary => self.shared.health.mark_down(&error.to_string()),
                    Source::Replica(index) => {
                        if let Some(replica) = self.shared.replicas.get(index) {
                            replica.health().mark_down(&error.to_string());
                        }
                    }
                }
                Err(AppError::Unavailable {
                    message: "the connection to the database was lost; try again shortly".into(),
                    retry_after: Duration::from_secs(1),
                    cause: Some(Box::new(error)),
                })
            }
            Err(AppError::Database(error)) if is_statement_timeout(&error) => {
                let lane = self.lane();
                Err(AppError::Unavailable {
                    message: format!(
                        "the request ran longer than the {} time limit of {} ms and was cancelled; narrow it (a shorter period, fewer breakdowns) or try again later",
                        lane.workload,
                        lane.statement_timeout.as_millis()
                    ),
                    retry_after: Duration::from_secs(1),
                    cause: Some(Box::new(error)),
                })
            }
            other => other,
        }
    }

    /// Runs `work` on a checked-out connection, noting a lost connection like [`Database::run`]
    /// does. For blocking code that checked a connection out itself.
    pub fn with_connection<T>(
        &self,
        connection: &mut DbConnection,
        work: impl FnOnce(&mut PgConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let result = work(connection);
        self.after_use(connection, result)
    }

    /// True when a connection can be had and answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        self.for_workload(Workload::Authentication)
            .run(|connection| {
                connection.batch_execute("SELECT 1")?;
                Ok(())
            })
            .await
            .is_ok()
    }

    /// Starts the background task that closes the health circuit once the database answers
    /// again. Call once per process, inside the tokio runtime.
    pub fn spawn_health_probe(&self) {
        if !self.shared.replicas.is_empty() {
            let shared = Arc::downgrade(&self.shared);
            let interval = self.shared.health.probe_interval;
            tokio::spawn(async move {
                loop {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    let probe = shared.clone();
                    let _ = tokio::task::spawn_blocking(move || probe.replicas.probe_all()).await;
                    drop(shared);
                    tokio::time::sleep(interval).await;
                }
            });
        }
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            loop {
                let Some(shared) = shared.upgrade() else {
                    return; // Every handle is gone: the server stopped.
                };
                let interval = shared.health.probe_interval;
                if shared.health.is_down() && !shared.health.probing.swap(true, Ordering::AcqRel) {
                    let url = shared.url.clone();
                    let reachable = tokio::task::spawn_blocking(move || {
                        PgConnection::establish(&url)
                            .and_then(|mut connection| {
                                connection.batch_execute("SELECT 1").map_err(|error| {
                                    diesel::ConnectionError::BadConnection(error.to_string())
                                })
                            })
                            .is_ok()
                    })
                    .await
                    .unwrap_or(false);
                    if reachable {
                        shared.health.mark_up();
                    }
                    shared.health.probing.store(false, Ordering::Release);
                }
                drop(shared);
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Applies every pending migration, on a connection of its own without a statement
    /// timeout (a migration may rebuild large tables).
    pub async fn migrate(&self) -> AppResult<Vec<String>> {
        let url = self.shared.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection =
                PgConnection::establish(&url).map_err(|error| AppError::Unavailable {
                    message: "the database is unavailable; cannot apply migrations".into(),
                    retry_after: Duration::from_secs(1),
                    cause: Some(Box::new(error)),
                })?;
            run_migrations(&mut connection)
        })
        .await?
    }
}

/// Whether `error` means the connection itself is gone (server stopped, network cut).
pub fn is_connection_loss(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// Whether `error` is PostgreSQL cancelling a statement at its `statement_timeout`.
pub fn is_statement_timeout(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(_, information)
        if information.message().contains("statement timeout"))
}

/// `url` with libpq's `connect_timeout` (whole seconds, at least 1) unless it already has one.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let seconds = timeout.as_millis().div_ceil(1000).max(1);
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={seconds}")
}

/// The advisory lock key every process takes around migrations (`bac-metrics` in ASCII).
const MIGRATION_LOCK: i64 = 0x6261_632d_6d65_7472;

/// Applies pending migrations on `connection` and returns their names. Server processes and
/// commands starting together on one database take turns under a PostgreSQL advisory lock:
/// one applies what is pending, the others then find nothing to do.
pub fn run_migrations(connection: &mut PgConnection) -> AppResult<Vec<String>> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(connection)?;
    let applied = connection
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| {
            applied
                .iter()
                .map(|version| version.to_string())
                .collect::<Vec<_>>()
        })
        .map_err(|error| AppError::internal(format!("migration failed: {error}")));
    // A session lock: released here, or when the connection closes if this fails.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(connection);
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

/// Reverts every applied migration, newest first (used by the migration round-trip test).
pub fn revert_all_migrations(connection: &mut PgConnection) -> AppResult<Vec<String>> {
    let reverted = connection
        .revert_all_migrations(MIGRATIONS)
        .map_err(|error| AppError::internal(format!("migration revert failed: {error}")))?;
    Ok(reverted.iter().map(|version| version.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_named_and_told_apart() {
        assert_eq!(Source::Primary.name(), "primary");
        assert_eq!(Source::Replica(0).name(), "replica-1");
        assert_eq!(Source::Replica(1).name(), "replica-2");
        let bits = [Source::Primary, Source::Replica(0), Source::Replica(1)].map(Source::bit);
        assert_eq!(bits, [1, 2, 4]);
    }

    #[test]
    fn a_handle_names_the_databases_that_served_it() {
        let options = PoolOptions {
            interactive: test_budget(),
            authentication: test_budget(),
            reporting: test_budget(),
            import: test_budget(),
            connect_timeout: Duration::from_secs(1),
            probe_interval: Duration::from_secs(1),
            replica_urls: vec!["postgres://replica/db".to_owned().into()],
            replica_max_lag: Duration::from_secs(5),
        };
        let database = Database::connect_lazily("postgres://primary/db", &options);
        assert!(database.has_replicas());
        assert_eq!(database.answered_by(), None, "not tracked");
        let tracked = database.tracked();
        assert_eq!(tracked.answered_by(), None, "nothing served yet");
        tracked.note_answered(Source::Replica(0));
        // Another lane's handle of the same request shares the record.
        tracked
            .for_workload(Workload::Reporting)
            .note_answered(Source::Primary);
        assert_eq!(tracked.answered_by().as_deref(), Some("primary,replica-1"));
        // A replica never probed serves nothing.
        assert_eq!(database.replica_statuses()[0].state, "starting");
        assert_eq!(database.shared.replicas.candidates(0).count(), 0);
    }

    fn test_budget() -> WorkloadBudget {
        WorkloadBudget {
            connections: 1,
            statement_timeout: Duration::from_secs(1),
            queue_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn connect_timeout_is_added_once() {
        assert_eq!(
            with_connect_timeout("postgres://h/db", Duration::from_millis(1500)),
            "postgres://h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?host=/tmp", Duration::from_millis(200)),
            "postgres://h/db?host=/tmp&connect_timeout=1"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", Duration::from_secs(1)),
            "postgres://h/db?connect_timeout=9"
        );
    }
}
