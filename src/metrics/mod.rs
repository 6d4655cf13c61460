//! The metrics engine (docs/metrics.md): the metric catalogue, reporting periods, statistics, the
//! one-statement reporting query, and the daily rollups it reads.
//!
//! The rollups and the facts behind first contact resolution and containment are maintained by
//! the database itself (migration `metrics_rollup`: statement-level triggers on every insert of
//! interactions, survey invitations and responses), so every write path — API, import, seed,
//! or plain SQL — keeps them exact. This module keeps their reporting time zone equal to the
//! configuration's and turns requests into SQL.

pub mod attainment;
pub mod catalog;
pub mod engine;
pub mod period;
pub mod statistics;

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use diesel::{pg::PgConnection, prelude::*, Connection};

pub use engine::{
    Dimension, MetricValue, MetricsFilter, MetricsRequest, ReportRow, ReportingRules, Source,
};
pub use period::{FiscalCalendar, Granularity};

use crate::{
    auth::scope::MetricsAccess,
    config::Config,
    db::{schema::metric_settings, Database},
    error::{AppError, AppResult},
};

/// Every additive measure of the rollups and the measure views, in column order.
pub const MEASURES: &[&str] = &[
    "interactions",
    "queued",
    "queued_abandoned",
    "answered_timed",
    "answered_wait_sum",
    "answered_wait_squares",
    "answered_within_10",
    "answered_within_15",
    "answered_within_20",
    "answered_within_30",
    "answered_within_45",
    "answered_within_60",
    "answered_within_90",
    "answered_within_120",
    "answered_within_180",
    "answered_within_300",
    "handled",
    "handled_transferred",
    "handled_first_contact_resolved",
    "handled_timed",
    "handle_sum",
    "handle_squares",
    "self_service_known",
    "self_service_contained",
    "satisfaction_answers",
    "satisfaction_favourable",
    "trust_answers",
    "trust_favourable",
    "effectiveness_answers",
    "effectiveness_favourable",
    "ease_answers",
    "ease_favourable",
    "efficiency_answers",
    "efficiency_favourable",
    "transparency_answers",
    "transparency_favourable",
    "helpfulness_answers",
    "helpfulness_favourable",
    "resolved_answers",
    "resolved_yes",
    "invitations",
    "invitations_answered",
];

/// Whether `measure` comes from survey responses or invitations (rather than interactions).
pub fn is_survey_measure(measure: &str) -> bool {
    MEASURES[24..].contains(&measure)
}

/// Makes the rollups' days follow `time_zone` whatever zone they were cut in: when the stored
/// zone differs, stores the new one and rebuilds facts and rollups in one transaction, and
/// settles it (servers configured otherwise then refuse to start). The deliberate change
/// `bac-metrics migrate` makes. Returns whether it rebuilt.
pub fn align_time_zone(connection: &mut PgConnection, time_zone: &str) -> AppResult<bool> {
    connection.transaction(|connection| {
        let current: String = metric_settings::table
            .select(metric_settings::time_zone)
            .for_update()
            .first(connection)?;
        diesel::update(metric_settings::table)
            .set((
                metric_settings::time_zone.eq(time_zone),
                metric_settings::zone_settled.eq(true),
            ))
            .execute(connection)?;
        if current == time_zone {
            return Ok(false);
        }
        // A rebuild reads every record: no request's time limit applies to it.
        diesel::sql_query("SET LOCAL statement_timeout = 0").execute(connection)?;
        diesel::sql_query("SELECT metric_rollup_rebuild()").execute(connection)?;
        Ok(true)
    })
}

/// A server's start-up check of its `REPORTING_TZ` against the database's, under the settings
/// row's lock so concurrent starts take turns. The first server on a database settles the zone
/// (rebuilding what was recorded before, e.g. by an import, in another zone); after that a
/// server with another zone is refused with `CONFLICT` and a message saying how to change it —
/// never a rebuild under the feet of the servers already running. Returns whether it rebuilt.
pub fn adopt_time_zone(connection: &mut PgConnection, time_zone: &str) -> AppResult<bool> {
    connection.transaction(|connection| {
        let (current, settled): (String, bool) = metric_settings::table
            .select((metric_settings::time_zone, metric_settings::zone_settled))
            .for_update()
            .first(connection)?;
        if settled && current != time_zone {
            return Err(AppError::Conflict(format!(
                "REPORTING_TZ is {time_zone} but the metric rollups of this database are cut in \
                 {current}, the zone of the servers already using it; start this server with \
                 REPORTING_TZ={current}, or move every server to {time_zone} by running \
                 `REPORTING_TZ={time_zone} bac-metrics migrate` (it rebuilds the rollups) and \
                 restarting them with the new zone"
            )));
        }
        if settled {
            return Ok(false);
        }
        align_time_zone(connection, time_zone)
    })
}

/// The reporting service: rules from the configuration and whether the rollups are known to be
/// in the configured time zone. Cheap to clone.
#[derive(Clone)]
pub struct MetricsService {
    rules: ReportingRules,
    min_cell_size: i64,
    /// Most values one bounded report (an API response) may hold.
    max_cells: usize,
    aligned: Arc<AtomicBool>,
}

impl MetricsService {
    pub fn new(config: &Config) -> Self {
        Self {
            rules: ReportingRules {
                time_zone: config.reporting.time_zone,
                fiscal: FiscalCalendar {
                    start_month: config.reporting.fiscal_year_start_month,
                },
                source: config.reporting.source,
            },
            min_cell_size: config.reporting.min_cell_size,
            max_cells: config.admission.metrics_max_cells,
            aligned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The rules reports are computed under.
    pub fn rules(&self) -> &ReportingRules {
        &self.rules
    }

    /// The configured small-cell threshold.
    pub fn min_cell_size(&self) -> i64 {
        self.min_cell_size
    }

    /// Checks the configured time zone against the database's, settling it on first use (see
    /// [`adopt_time_zone`]; start-up calls this, and a request does it itself if start-up could
    /// not reach the database). On the primary: it may write.
    pub async fn align(&self, database: &Database) -> AppResult<()> {
        let zone = self.rules.time_zone.name().to_owned();
        let aligned = self.aligned.clone();
        database
            .primary()
            .run(move |connection| {
                if adopt_time_zone(connection, &zone)? {
                    tracing::info!(time_zone = %zone, "rebuilt the metric rollups for a new reporting time zone");
                }
                aligned.store(true, Ordering::Release);
                Ok(())
            })
            .await
    }

    /// Computes a report for a caller with `access`. The request is validated first; the
    /// report itself is one SQL statement. For the insights, which bound their own requests.
    pub async fn report(
        &self,
        database: &Database,
        access: MetricsAccess,
        request: MetricsRequest,
    ) -> AppResult<Vec<ReportRow>> {
        self.compute(database, access, request, None).await
    }

    /// Like [`MetricsService::report`], refusing a report of more than `METRICS_MAX_CELLS`
    /// values with `BAD_USER_INPUT` (the API's `metrics` field: a response is held in memory).
    pub async fn bounded_report(
        &self,
        database: &Database,
        access: MetricsAccess,
        request: MetricsRequest,
    ) -> AppResult<Vec<ReportRow>> {
        let max_rows = (self.max_cells / request.metrics.len().max(1)).max(1);
        self.compute(database, access, request, Some(max_rows))
            .await
    }

    async fn compute(
        &self,
        database: &Database,
        access: MetricsAccess,
        request: MetricsRequest,
        max_rows: Option<usize>,
    ) -> AppResult<Vec<ReportRow>> {
        let request = request.validated(&access)?;
        self.ensure_aligned(database).await?;
        let rules = self.rules.clone();
        database
            .run(move |connection| engine::compute(connection, &rules, &access, &request, max_rows))
            .await
    }

    /// Makes sure the rollups follow the configured time zone (once per process).
    pub async fn ensure_aligned(&self, database: &Database) -> AppResult<()> {
        if !self.aligned.load(Ordering::Acquire) {
            self.align(database).await?;
        }
        Ok(())
    }

    /// Streams a validated report row by row on `connection` (call from a blocking thread,
    /// after [`MetricsService::ensure_aligned`]).
    pub fn stream(
        &self,
        connection: &mut PgConnection,
        access: &MetricsAccess,
        request: &MetricsRequest,
        each: impl FnMut(ReportRow) -> AppResult<()>,
    ) -> AppResult<()> {
        engine::stream(connection, &self.rules, access, request, each)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_measure_is_a_rollup_column() {
        for entry in catalog::CATALOG {
            let sums = entry.sums;
            for measure in [Some(sums.numerator), sums.denominator, sums.squares]
                .into_iter()
                .flatten()
            {
                assert!(
                    measure == catalog::ANSWERED_WITHIN_THRESHOLD || MEASURES.contains(&measure),
                    "{measure} is not a rollup column"
                );
            }
        }
        for threshold in catalog::ROLLUP_THRESHOLDS {
            assert!(MEASURES.contains(&format!("answered_within_{threshold}").as_str()));
        }
    }

    #[test]
    fn survey_measures_are_told_apart() {
        assert!(is_survey_measure("satisfaction_answers"));
        assert!(is_survey_measure("invitations_answered"));
        assert!(!is_survey_measure("handled"));
    }
}
