//! Streaming read replicas: their health and lag, which one serves a read, and the
//! read-your-writes mark that keeps a caller's reads on the primary until a replica has caught
//! up with the caller's own latest write.
//!
//! A background task probes every replica each `DATABASE_PROBE_INTERVAL_MS` with one statement
//! on a connection of its own: whether it is in recovery, how far it has replayed the primary's
//! WAL, and its lag — the time since the last replayed transaction while received WAL is still
//! waiting to be replayed (zero when it has replayed all it received, so an idle primary does
//! not look like lag). A replica that cannot be reached, is not in recovery (promoted or
//! misconfigured), or lags beyond `REPLICA_MAX_LAG_MS`, serves nothing until a probe finds it
//! fit again; its reads go to the primary. Nothing needs a restart.
//!
//! **Read-your-writes.** After a caller's mutation or import, [`note_write`] stores the
//! primary's WAL position in `caller_writes` (one upsert, on the primary, only when replicas are
//! configured). The session check of every request reads it along with the session, so a
//! caller's reads go to a replica only once the replica's replayed position — as of its last
//! probe, which only ever under-states it — has passed that write. The mark lives in the
//! database, so the rule holds whichever server process the caller reaches next.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{BigInt, Bool, Nullable},
};
use serde::Serialize;

use super::{Health, Source};
use crate::error::AppResult;

/// The replicas of one database handle and the lag bound they are held to.
pub struct Replicas {
    replicas: Vec<Replica>,
    max_lag: Duration,
    /// Where the next read starts looking, so replicas take turns.
    next: AtomicUsize,
}

/// One streaming replica.
pub struct Replica {
    source: Source,
    url: String,
    health: Arc<Health>,
    /// Set by a successful probe that found it in recovery; a replica serves nothing before.
    standby: AtomicBool,
    /// Replayed WAL position at the last probe (bytes since 0/0).
    replayed: AtomicI64,
    /// Lag at the last probe, in milliseconds.
    lag_ms: AtomicU64,
    served: AtomicU64,
    /// The probe's own connection, kept between probes.
    probe_connection: Mutex<Option<PgConnection>>,
}

/// What `/readyz` says about a replica.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub name: String,
    /// `serving`, `lagging`, `down` or `starting` (not probed yet, or not a standby).
    pub state: &'static str,
    pub lag_ms: u64,
    /// Reads it has served since start.
    pub served: u64,
}

#[derive(QueryableByName)]
struct Probe {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    replayed: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lag_ms: Option<i64>,
}

/// Received-but-not-replayed WAL makes the age of the last replayed transaction the lag; with
/// nothing waiting the replica is current however old that transaction is.
const PROBE_SQL: &str = "SELECT pg_is_in_recovery() AS in_recovery, \
       (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8 AS replayed, \
       CASE WHEN pg_last_wal_receive_lsn() IS NULL \
                 OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0::int8 \
            ELSE (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::int8 \
       END AS lag_ms";

impl Replicas {
    pub(super) fn new(replicas: Vec<Replica>, max_lag: Duration) -> Self {
        Self {
            replicas,
            max_lag,
            next: AtomicUsize::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Replica> {
        self.replicas.iter()
    }

    pub(super) fn get(&self, index: usize) -> Option<&Replica> {
        self.replicas.get(index)
    }

    /// The replicas fit to serve a read at `floor`, starting with the next one's turn.
    pub(super) fn candidates(&self, floor: i64) -> impl Iterator<Item = &Replica> {
        let count = self.replicas.len();
        let start = if count == 0 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % count
        };
        (0..count)
            .map(move |offset| &self.replicas[(start + offset) % count])
            .filter(move |replica| replica.serves(floor, self.max_lag))
    }

    /// Probes every replica once (blocking: call from a blocking thread).
    pub(super) fn probe_all(&self) {
        for replica in &self.replicas {
            replica.probe(self.max_lag);
        }
    }

    pub(super) fn statuses(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|replica| {
                let lag_ms = replica.lag_ms.load(Ordering::Relaxed);
                let state = if replica.health.is_down() {
                    "down"
                } else if !replica.standby.load(Ordering::Acquire) {
                    "starting"
                } else if Duration::from_millis(lag_ms) > self.max_lag {
                    "lagging"
                } else {
                    "serving"
                };
                ReplicaStatus {
                    name: replica.source.name(),
                    state,
                    lag_ms,
                    served: replica.served.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

impl Replica {
    pub(super) fn new(source: Source, url: String, health: Arc<Health>) -> Self {
        Self {
            source,
            url,
            health,
            standby: AtomicBool::new(false),
            replayed: AtomicI64::new(-1),
            lag_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            probe_connection: Mutex::new(None),
        }
    }

    pub(super) fn source(&self) -> Source {
        self.source
    }

    pub(super) fn index(&self) -> usize {
        match self.source {
            Source::Replica(index) => index,
            Source::Primary => usize::MAX,
        }
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    pub(super) fn health(&self) -> &Arc<Health> {
        &self.health
    }

    pub(super) fn count_served(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    fn serves(&self, floor: i64, max_lag: Duration) -> bool {
        !self.health.is_down()
            && self.standby.load(Ordering::Acquire)
            && Duration::from_millis(self.lag_ms.load(Ordering::Relaxed)) <= max_lag
            && self.replayed.load(Ordering::Acquire) >= floor
    }

    /// One probe: updates the replayed position and lag, opens or closes its circuit, and logs
    /// each change of state once.
    fn probe(&self, max_lag: Duration) {
        let mut slot = self
            .probe_connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = match slot.as_mut() {
            Some(connection) => diesel::sql_query(PROBE_SQL)
                .get_result::<Probe>(connection)
                .map_err(|error| error.to_string()),
            None => PgConnection::establish(&self.url)
                .map_err(|error| error.to_string())
                .and_then(|mut connection| {
                    let probe = diesel::sql_query(PROBE_SQL)
                        .get_result::<Probe>(&mut connection)
                        .map_err(|error| error.to_string());
                    *slot = Some(connection);
                    probe
                }),
        };
        let name = self.source.name();
        match result {
            Err(reason) => {
                *slot = None;
                self.standby.store(false, Ordering::Release);
                self.health.mark_down(&reason);
            }
            Ok(probe) => {
                let lag_ms = probe.lag_ms.unwrap_or(i64::MAX).max(0) as u64;
                let before = self.lag_ms.swap(lag_ms, Ordering::Relaxed);
                self.replayed
                    .store(probe.replayed.unwrap_or(-1), Ordering::Release);
                let was_standby = self.standby.swap(probe.in_recovery, Ordering::AcqRel);
                if !probe.in_recovery && was_standby {
                    tracing::error!(database = %name, "the replica is no longer in recovery (promoted?); its reads go to the primary");
                }
                let (lagging, was_lagging) = (
                    Duration::from_millis(lag_ms) > max_lag,
                    Duration::from_millis(before) > max_lag,
                );
                if lagging && !was_lagging {
                    tracing::warn!(database = %name, lag_ms, max_lag_ms = max_lag.as_millis() as u64, "the replica lags beyond REPLICA_MAX_LAG_MS; its reads go to the primary");
                } else if !lagging && was_lagging {
                    tracing::info!(database = %name, lag_ms, "the replica caught up; it serves reads again");
                }
                self.health.mark_up();
            }
        }
    }
}

/// Records that `user_id` just wrote: the primary's current WAL position becomes the floor a
/// replica must have replayed before it serves the caller's reads. Run on the primary, after
/// the write committed.
pub fn note_write(connection: &mut PgConnection, user_id: i64) -> AppResult<()> {
    diesel::sql_query(
        "INSERT INTO caller_writes AS w (user_id, lsn) \
         VALUES ($1, (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8) \
         ON CONFLICT (user_id) DO UPDATE SET lsn = greatest(w.lsn, excluded.lsn), written_at = now()",
    )
    .bind::<BigInt, _>(user_id)
    .execute(connection)?;
    Ok(())
}
