//! Admission control and resource budgets: which requests may run, on which workload, and how
//! much of it one caller may hold. The model (see also `docs/ARCHITECTURE.md`):
//!
//! 1. **Cost before execution** ([`cost`]): a GraphQL document's cost is computed from the
//!    document itself; an operation over its budget, with too many reporting fields or too many
//!    mutation fields (credential mutations at most once), is refused before any SQL runs.
//! 2. **Workloads** (`db::Workload`): the cost decides where a request runs — insights, and
//!    `metrics` requests of at least `REPORTING_COST_THRESHOLD` units, on the reporting
//!    workload; record pages, small reports and writes on the interactive one;
//!    authentication and imports have their own. Each has its own connections, queue deadline and
//!    statement timeout, so one kind of traffic cannot starve another.
//! 3. **Per-caller shares**: on the reporting workload one caller holds at most
//!    `REPORTING_CONNECTIONS_PER_CALLER` connections; aliases and parallel requests of the same
//!    caller queue behind each other and are refused with `RATE_LIMITED` after the deadline.
//! 4. **Rates** ([`rate_limit`], `auth::throttle`): per-session request budgets, survey
//!    submissions per address, and sign-in failures are counted in PostgreSQL, so every server
//!    process on one database enforces one limit.

pub mod cost;
pub mod rate_limit;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock, Weak},
    time::Duration,
};

use async_graphql::{parser::types::ExecutableDocument, Variables};
use diesel::{prelude::*, sql_types::BigInt};
use tokio::sync::Semaphore;

pub use cost::{OperationCost, ReferenceSizes};

use crate::{
    auth::Scope,
    config::AdmissionSettings,
    db::{Database, Workload},
    error::AppResult,
};

/// How often the reference-data sizes behind the cost model are re-counted.
const SIZES_REFRESH: Duration = Duration::from_secs(60);

/// Decides what a request costs, where it runs and how much of it one caller may hold.
pub struct Admission {
    settings: AdmissionSettings,
    sizes: RwLock<ReferenceSizes>,
    /// One semaphore per caller currently holding reporting connections. Weak, so a caller
    /// with nothing running costs no memory beyond a stale entry (pruned as the map grows).
    gates: Mutex<HashMap<i64, Weak<Semaphore>>>,
}

impl Admission {
    pub fn new(settings: AdmissionSettings) -> Self {
        Self {
            settings,
            sizes: RwLock::new(ReferenceSizes::default()),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &AdmissionSettings {
        &self.settings
    }

    /// The sizes the cost model currently assumes.
    pub fn sizes(&self) -> ReferenceSizes {
        *self
            .sizes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Prices the operation and refuses it if it is over any per-operation limit.
    pub fn price(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> AppResult<OperationCost> {
        let cost = cost::analyse(document, operation_name, variables, &self.sizes())?;
        cost::check_limits(&cost, &self.settings)?;
        Ok(cost)
    }

    /// The workload an operation of this cost runs on. Credential mutations (sign-in, refresh)
    /// pick their own workload inside the session service.
    pub fn workload_for(&self, cost: &OperationCost) -> Workload {
        if !cost.is_mutation
            && (cost.has_insights || cost.reporting_units >= self.settings.reporting_cost_threshold)
        {
            Workload::Reporting
        } else {
            Workload::Interactive
        }
    }

    /// The database handle a request of `scope` runs its `workload` work through: the lane,
    /// and on the reporting lane the caller's own share of it.
    pub fn database_for(&self, database: &Database, workload: Workload, scope: &Scope) -> Database {
        let lane = database.for_workload(workload);
        match (workload, scope.principal()) {
            (Workload::Reporting, Ok(principal)) => {
                lane.with_caller_gate(self.gate(principal.user_id))
            }
            _ => lane,
        }
    }

    /// Like [`Admission::database_for`], for work that only reads: it may be served by a read
    /// replica that has replayed the caller's own latest write (see `db::replicas`).
    pub fn reads_for(&self, database: &Database, workload: Workload, scope: &Scope) -> Database {
        let floor = scope
            .principal()
            .map(|principal| principal.write_floor)
            .unwrap_or(0);
        self.database_for(database, workload, scope).reading(floor)
    }

    fn gate(&self, caller: i64) -> Arc<Semaphore> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(gate) = gates.get(&caller).and_then(Weak::upgrade) {
            return gate;
        }
        if gates.len() >= 1_024 {
            gates.retain(|_, gate| gate.strong_count() > 0);
        }
        let gate = Arc::new(Semaphore::new(
            self.settings.reporting_connections_per_caller.max(1) as usize,
        ));
        gates.insert(caller, Arc::downgrade(&gate));
        gate
    }

    /// Re-counts the reference data the cost model sizes `groupBy` dimensions with.
    pub async fn refresh_sizes(&self, database: &Database) -> AppResult<()> {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = BigInt)]
            org_units: i64,
            #[diesel(sql_type = BigInt)]
            agents: i64,
            #[diesel(sql_type = BigInt)]
            topics: i64,
        }
        let counts: Counts = database
            .run(|connection| {
                Ok(diesel::sql_query(
                    "SELECT (SELECT count(*) FROM org_units) AS org_units, \
                            (SELECT count(*) FROM users WHERE role = 'agent') AS agents, \
                            (SELECT count(*) FROM topics) AS topics",
                )
                .get_result(connection)?)
            })
            .await?;
        let sizes = ReferenceSizes {
            org_units: counts.org_units.max(1) as u64,
            agents: counts.agents.max(1) as u64,
            topics: counts.topics.max(1) as u64,
        };
        *self
            .sizes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = sizes;
        Ok(())
    }

    /// Keeps the sizes current: counts now, then every minute, until the server stops.
    pub fn spawn_size_refresh(self: &Arc<Self>, database: Database) {
        let admission = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(admission) = admission.upgrade() else {
                    return;
                };
                if let Err(error) = admission.refresh_sizes(&database).await {
                    tracing::debug!(error = %error.chain(), "could not re-count the reference data for the cost model");
                }
                drop(admission);
                tokio::time::sleep(SIZES_REFRESH).await;
            }
        });
    }
}
