//! Rate limits counted in PostgreSQL (`rate_limit_counters`), so that every server process on one
//! database enforces one limit: fixed windows cut by the database clock, one upsert per event.
//!
//! Used for the per-session request budget (folded into the session check, see
//! `auth::scope`), public survey submissions per client address, and the sign-in throttle
//! (`auth::throttle`, which adds a blocking time to a key).

use std::time::Duration;

use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{BigInt, Double, Integer, Text},
};

use crate::error::{AppError, AppResult};

/// The SQL of one counted event: upserts `key`'s counter in the current fixed window of
/// `window_seconds` (bind parameters `$key` and `$window` are the given numbers) and yields
/// `hits` (events in this window, this one included) and `resets_in` (seconds until the window
/// ends). Shared by [`count`] and the session check, so there is one counting rule.
pub fn window_upsert_sql(key: usize, window: usize) -> String {
    format!(
        "INSERT INTO rate_limit_counters AS c (key, window_start, hits, expires_at) \
         SELECT ${key}, w.start, 1, w.start + make_interval(secs => ${window}) \
           FROM (SELECT to_timestamp(floor(extract(epoch FROM clock_timestamp()) / ${window}) * ${window}) AS start) AS w \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN c.window_start = excluded.window_start THEN c.hits + 1 ELSE 1 END, \
           window_start = excluded.window_start, \
           expires_at = greatest(excluded.expires_at, c.blocked_until) \
         RETURNING c.hits, extract(epoch FROM c.window_start + make_interval(secs => ${window}) - clock_timestamp())::float8 AS resets_in"
    )
}

/// Events counted so far in the current window of one key.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct WindowCount {
    #[diesel(sql_type = Integer)]
    pub hits: i32,
    /// Seconds until the window ends.
    #[diesel(sql_type = Double)]
    pub resets_in: f64,
}

impl WindowCount {
    /// `RATE_LIMITED` with the wait until the window ends, when `limit` is exceeded; counted
    /// in `/metrics` as refused by `reason` (a fixed word naming the limit).
    pub fn enforce(
        self,
        limit: u32,
        reason: &'static str,
        message: impl FnOnce() -> String,
    ) -> AppResult<()> {
        if self.hits as i64 > i64::from(limit) {
            crate::telemetry::metrics::rate_limited(reason);
            return Err(AppError::rate_limited(
                message(),
                Duration::from_secs_f64(self.resets_in.max(0.0)),
            ));
        }
        Ok(())
    }
}

/// Counts one event of `key` in fixed windows of `window`.
pub fn count(connection: &mut PgConnection, key: &str, window: Duration) -> AppResult<WindowCount> {
    Ok(diesel::sql_query(window_upsert_sql(1, 2))
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(window.as_secs().max(1) as i64)
        .get_result(connection)?)
}

/// Deletes counters whose window and block have both passed. Any server may run it.
pub fn purge_expired(connection: &mut PgConnection) -> AppResult<usize> {
    Ok(
        diesel::sql_query("DELETE FROM rate_limit_counters WHERE expires_at < clock_timestamp()")
            .execute(connection)?,
    )
}

/// A limit of `limit` events per `window` for each value of a key (e.g. each client address),
/// counted across every server process.
#[derive(Debug, Clone)]
pub struct KeyedLimit {
    /// Prefix of the counter keys, e.g. `survey`.
    prefix: &'static str,
    limit: u32,
    window: Duration,
    /// What the caller is told when over the limit.
    refusal: &'static str,
}

impl KeyedLimit {
    pub fn new(prefix: &'static str, limit: u32, window: Duration, refusal: &'static str) -> Self {
        Self {
            prefix,
            limit,
            window,
            refusal,
        }
    }

    /// Counts one event for `value` (in its own statement, so a refused attempt still counts)
    /// and refuses it with `RATE_LIMITED` when over the limit.
    pub async fn check(&self, database: &crate::db::Database, value: &str) -> AppResult<()> {
        let key = format!("{}:{value}", self.prefix);
        let (window, limit, refusal) = (self.window, self.limit, self.refusal);
        let counted = database
            .run(move |connection| count(connection, &key, window))
            .await?;
        counted.enforce(limit, self.prefix, || refusal.to_owned())
    }
}
