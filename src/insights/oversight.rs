//! The quarterly oversight report for legislative oversight staff, modelled on the federal OMB
//! A-11 §280 quarterly CX summary: per org unit and channel, volume, surveys offered, responses,
//! response rate and the A-11 drivers; service-standard attainment; training assigned and
//! completed; allocations proposed, approved and rejected; and the audit chain head at generation,
//! so a reader can later prove with `verifyAuditChain` that the data behind it has not changed.
//!
//! One [`OversightReport`] feeds the GraphQL type, the CSV export and the printable HTML. Every
//! survey figure comes from the metrics engine: "surveys offered" and "responses" are the
//! denominator and numerator of SURVEY_RESPONSE_RATE (invitations, and invitations answered by a
//! response of the same kind), so volume and rate can never disagree with `metrics`.
//!
//! Definitions of the program counts, all per org unit, over the quarter's local days in the
//! reporting time zone:
//! - training **assigned**: assignments created in the quarter, by the agent's current unit;
//! - training **completed**: assignments completed in the quarter (whenever assigned);
//! - allocations **proposed**: allocations created in the quarter, whatever their status now;
//! - allocations **approved** / **rejected**: decisions taken in the quarter (`decided_at`),
//!   whatever period the allocation covers.
//!
//! Allocations carry a channel, so they are counted per unit × channel; training is counted per
//! unit (it has no channel).
//!
//! The report also states the records-retention rules in force, the active legal holds and the
//! last retention run (when, by whom, and per rule its cutoff and how many records it erased or
//! skipped for a hold), from `crate::retention::status`.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Text, Timestamptz},
    QueryableByName,
};

use crate::{
    auth::scope::{MetricsAccess, RecordScope},
    config::RetentionSettings,
    db::{
        enums::{Channel, MetricKind},
        schema::{audit_events, org_units},
        Database,
    },
    error::{AppError, AppResult},
    metrics::{
        attainment::{self, StandardAttainment},
        Dimension, MetricValue, MetricsFilter, MetricsRequest, MetricsService, ReportRow,
    },
    records::lookup::local_date_range,
    retention::{self, RetentionStatus},
};

/// The engine metrics of each row, in this order.
pub const ROW_METRICS: [MetricKind; 9] = [
    MetricKind::Interactions,
    MetricKind::SurveyResponseRate,
    MetricKind::Csat,
    MetricKind::Trust,
    MetricKind::Effectiveness,
    MetricKind::Ease,
    MetricKind::Efficiency,
    MetricKind::Transparency,
    MetricKind::Helpfulness,
];

/// The A-11 items of a row: (metric, column name in the CSV, label in the HTML).
pub const DRIVERS: [(MetricKind, &str, &str); 7] = [
    (MetricKind::Csat, "satisfied", "Satisfied"),
    (MetricKind::Trust, "trust", "Trust"),
    (MetricKind::Effectiveness, "effective", "Effective"),
    (MetricKind::Ease, "easy", "Easy"),
    (MetricKind::Efficiency, "efficient", "Efficient"),
    (MetricKind::Transparency, "transparent", "Transparent"),
    (
        MetricKind::Helpfulness,
        "employee_helpfulness",
        "Employee helpfulness",
    ),
];

/// An org unit as the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The A-11 figures of one org unit × channel (or of the whole program, for the totals).
#[derive(Debug, Clone, PartialEq)]
pub struct A11Figures {
    /// INTERACTIONS.
    pub volume: f64,
    /// SURVEY_RESPONSE_RATE's denominator: invitations.
    pub surveys_offered: f64,
    /// SURVEY_RESPONSE_RATE's numerator: invitations answered.
    pub responses: f64,
    /// SURVEY_RESPONSE_RATE with its interval.
    pub response_rate: MetricValue,
    /// CSAT, TRUST, EFFECTIVENESS, EASE, EFFICIENCY, TRANSPARENCY, HELPFULNESS, in [`DRIVERS`]
    /// order: top-2-box share with numerator (favourable) and denominator (answers).
    pub drivers: [MetricValue; 7],
}

/// One org unit × channel row.
#[derive(Debug, Clone, PartialEq)]
pub struct OversightRow {
    pub unit: UnitName,
    pub channel: Channel,
    /// Zero figures when the row exists only for its allocations.
    pub figures: A11Figures,
    pub allocations: AllocationCounts,
}

/// Allocation decisions of one unit × channel in the quarter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocationCounts {
    pub proposed: i64,
    pub approved: i64,
    pub rejected: i64,
}

/// Training of one unit's agents in the quarter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrainingCounts {
    pub assigned: i64,
    pub completed: i64,
}

/// Program activity of one org unit in the quarter.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitActivity {
    pub unit: UnitName,
    pub training: TrainingCounts,
    /// The unit's allocations over every channel.
    pub allocations: AllocationCounts,
}

/// The newest audit event when the report was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChainHead {
    pub event_id: i64,
    /// Hex SHA-256, as `auditEvents.hash` and `verifyAuditChain.headHash` show it.
    pub hash: String,
    pub occurred_at: DateTime<Utc>,
}

/// The quarterly report.
pub struct OversightReport {
    pub fiscal_year: i32,
    pub quarter: u32,
    /// `FY2026-Q1`.
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// `None` only while the audit trail is empty.
    pub audit_chain_head: Option<AuditChainHead>,
    /// By org unit code, then channel.
    pub rows: Vec<OversightRow>,
    /// The whole program (every unit and channel).
    pub totals: A11Figures,
    /// Units with interactions, training or allocations in the quarter, by code.
    pub units: Vec<UnitActivity>,
    /// Every agency-wide or unit standard in force during the quarter, measured over its own
    /// unit and channel.
    pub standards: Vec<StandardAttainment>,
    /// Retention rules in force, active legal holds and the last run, at generation.
    pub retention: RetentionStatus,
}

/// The first and last local day of fiscal quarter `quarter` (1–4) of `fiscal_year`.
pub fn quarter_dates(
    service: &MetricsService,
    fiscal_year: i32,
    quarter: i32,
) -> AppResult<(NaiveDate, NaiveDate)> {
    if !(1..=4).contains(&quarter) {
        return Err(AppError::bad_input(
            "quarter",
            "a fiscal quarter is 1, 2, 3 or 4",
        ));
    }
    if !(1990..=2200).contains(&fiscal_year) {
        return Err(AppError::bad_input(
            "fiscalYear",
            "a fiscal year between 1990 and 2200",
        ));
    }
    let year_start = service.rules().fiscal.fiscal_year_start(fiscal_year);
    let start = year_start
        .checked_add_months(Months::new(3 * (quarter as u32 - 1)))
        .ok_or_else(|| AppError::bad_input("fiscalYear", "out of range"))?;
    let end = start
        .checked_add_months(Months::new(3))
        .and_then(|next| next.pred_opt())
        .ok_or_else(|| AppError::bad_input("fiscalYear", "out of range"))?;
    Ok((start, end))
}

/// Counts per org unit (and channel, for allocations) from one statement.
#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = BigInt)]
    org_unit_id: i64,
    /// Null for the training counts.
    #[diesel(sql_type = Nullable<Text>)]
    channel: Option<String>,
    #[diesel(sql_type = BigInt)]
    first: i64,
    #[diesel(sql_type = BigInt)]
    second: i64,
    #[diesel(sql_type = BigInt)]
    third: i64,
}

/// What the database holds beyond the metrics: names, program activity, the chain head.
struct ProgramFacts {
    units: BTreeMap<i64, UnitName>,
    training: BTreeMap<i64, TrainingCounts>,
    allocations: BTreeMap<(i64, Channel), AllocationCounts>,
}

/// Generates the report of fiscal quarter `quarter` of `fiscal_year`. The caller has been
/// authorized for the oversight report; `access` must cover every record (it does for the roles
/// that may read it), because the report is the whole program's.
pub async fn generate(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    retention_settings: &RetentionSettings,
    fiscal_year: i32,
    quarter: i32,
) -> AppResult<OversightReport> {
    if access.records != RecordScope::All || access.min_cell_size.is_some() {
        return Err(AppError::Forbidden(
            "the oversight report covers the whole program; this role sees only part of it".into(),
        ));
    }
    let (from, to) = quarter_dates(service, fiscal_year, quarter)?;
    let zone = service.rules().time_zone;
    let (start, end) = local_date_range(zone, Some(from), Some(to))?;
    let (start, end) = start
        .zip(end)
        .ok_or_else(|| AppError::internal("a closed date range has both ends"))?;

    let request = |group_by: Vec<Dimension>| MetricsRequest {
        metrics: ROW_METRICS.to_vec(),
        from,
        to,
        granularity: None,
        group_by,
        filter: MetricsFilter::default(),
        service_level_threshold_seconds: None,
    };
    let grouped = service
        .report(
            database,
            access,
            request(vec![Dimension::OrgUnit, Dimension::Channel]),
        )
        .await?;
    let totals = service
        .report(database, access, request(Vec::new()))
        .await?;
    let standards =
        attainment::attainment(database, service, access, from, to, None, Vec::new()).await?;

    let facts = database
        .run(move |connection| load_program_facts(connection, start, end))
        .await?;
    let retention_settings = retention_settings.clone();
    let retention = database
        .run(move |connection| retention::status(connection, &retention_settings))
        .await?;
    // Read last: every record counted above was committed together with its audit event, so
    // that event is at or before this head, and verifying the chain up to it covers them all.
    let audit_chain_head = database.run(load_chain_head).await?;
    let generated_at = Utc::now();

    let mut rows: BTreeMap<(String, Channel), OversightRow> = BTreeMap::new();
    for row in grouped {
        let (Some(unit_id), Some(channel)) = (row.org_unit_id, row.channel) else {
            continue;
        };
        let unit = unit_name(&facts.units, unit_id);
        rows.insert(
            (unit.code.clone(), channel),
            OversightRow {
                allocations: facts
                    .allocations
                    .get(&(unit_id, channel))
                    .copied()
                    .unwrap_or_default(),
                figures: figures(Some(row)),
                unit,
                channel,
            },
        );
    }
    // Units × channels with allocation activity but no interactions still get their row.
    for ((unit_id, channel), counts) in &facts.allocations {
        let unit = unit_name(&facts.units, *unit_id);
        rows.entry((unit.code.clone(), *channel))
            .or_insert_with(|| OversightRow {
                unit,
                channel: *channel,
                figures: figures(None),
                allocations: *counts,
            });
    }
    let rows: Vec<OversightRow> = rows.into_values().collect();

    let mut units: BTreeMap<String, UnitActivity> = BTreeMap::new();
    for row in &rows {
        let activity = units
            .entry(row.unit.code.clone())
            .or_insert_with(|| UnitActivity {
                unit: row.unit.clone(),
                training: facts
                    .training
                    .get(&row.unit.id)
                    .copied()
                    .unwrap_or_default(),
                allocations: AllocationCounts::default(),
            });
        activity.allocations.proposed += row.allocations.proposed;
        activity.allocations.approved += row.allocations.approved;
        activity.allocations.rejected += row.allocations.rejected;
    }
    for (unit_id, training) in &facts.training {
        let unit = unit_name(&facts.units, *unit_id);
        units
            .entry(unit.code.clone())
            .or_insert_with(|| UnitActivity {
                unit,
                training: *training,
                allocations: AllocationCounts::default(),
            });
    }

    Ok(OversightReport {
        fiscal_year,
        quarter: quarter as u32,
        label: format!("FY{fiscal_year}-Q{quarter}"),
        from,
        to,
        time_zone: zone.name().to_owned(),
        generated_at,
        audit_chain_head,
        rows,
        totals: figures(totals.into_iter().next()),
        units: units.into_values().collect(),
        standards,
        retention,
    })
}

fn unit_name(units: &BTreeMap<i64, UnitName>, id: i64) -> UnitName {
    units.get(&id).cloned().unwrap_or_else(|| UnitName {
        id,
        code: id.to_string(),
        name: String::new(),
    })
}

/// The A-11 figures of an engine row (zero sums and no values without one).
fn figures(row: Option<ReportRow>) -> A11Figures {
    let values: Vec<MetricValue> = row.map(|row| row.values).unwrap_or_default();
    let value_of = |metric: MetricKind| -> MetricValue {
        values
            .iter()
            .find(|value| value.metric == metric)
            .cloned()
            // No row: nothing counted, so zero sums (and no value), as the engine reports them.
            .unwrap_or(MetricValue {
                metric,
                value: None,
                numerator: Some(0.0),
                denominator: Some(0.0),
                lower: None,
                upper: None,
                suppressed: false,
            })
    };
    let response_rate = value_of(MetricKind::SurveyResponseRate);
    A11Figures {
        volume: value_of(MetricKind::Interactions).numerator.unwrap_or(0.0),
        surveys_offered: response_rate.denominator.unwrap_or(0.0),
        responses: response_rate.numerator.unwrap_or(0.0),
        response_rate,
        drivers: DRIVERS.map(|(metric, _, _)| value_of(metric)),
    }
}

fn load_program_facts(
    connection: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<ProgramFacts> {
    let units: BTreeMap<i64, UnitName> = org_units::table
        .select((org_units::id, org_units::code, org_units::name))
        .load::<(i64, String, String)>(connection)?
        .into_iter()
        .map(|(id, code, name)| (id, UnitName { id, code, name }))
        .collect();
    // One statement: training by the agent's unit (channel null), allocations by unit and
    // channel; only groups with something in the quarter.
    let activity: Vec<ActivityRow> = diesel::sql_query(
        "SELECT agent.org_unit_id, NULL::text AS channel, \
                count(*) FILTER (WHERE a.created_at >= $1 AND a.created_at < $2) AS first, \
                count(*) FILTER (WHERE a.completed_at >= $1 AND a.completed_at < $2) AS second, \
                0::bigint AS third \
           FROM training_assignments a JOIN users agent ON agent.id = a.agent_id \
          WHERE (a.created_at >= $1 AND a.created_at < $2) \
             OR (a.completed_at >= $1 AND a.completed_at < $2) \
          GROUP BY agent.org_unit_id \
         UNION ALL \
         SELECT r.org_unit_id, r.channel, \
                count(*) FILTER (WHERE r.created_at >= $1 AND r.created_at < $2), \
                count(*) FILTER (WHERE r.status = 'approved' AND r.decided_at >= $1 AND r.decided_at < $2), \
                count(*) FILTER (WHERE r.status = 'rejected' AND r.decided_at >= $1 AND r.decided_at < $2) \
           FROM resource_allocations r \
          WHERE (r.created_at >= $1 AND r.created_at < $2) \
             OR (r.decided_at >= $1 AND r.decided_at < $2) \
          GROUP BY r.org_unit_id, r.channel",
    )
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(connection)?;
    let mut training = BTreeMap::new();
    let mut allocations = BTreeMap::new();
    for row in activity {
        match row.channel {
            None => {
                training.insert(
                    row.org_unit_id,
                    TrainingCounts {
                        assigned: row.first,
                        completed: row.second,
                    },
                );
            }
            Some(channel) => {
                let channel: Channel = channel.parse().map_err(|error| {
                    AppError::internal(format!("unexpected allocation channel: {error}"))
                })?;
                allocations.insert(
                    (row.org_unit_id, channel),
                    AllocationCounts {
                        proposed: row.first,
                        approved: row.second,
                        rejected: row.third,
                    },
                );
            }
        }
    }
    Ok(ProgramFacts {
        units,
        training,
        allocations,
    })
}

/// The newest audit event: its id, hash and time.
pub fn load_chain_head(connection: &mut PgConnection) -> AppResult<Option<AuditChainHead>> {
    let head: Option<(i64, Vec<u8>, DateTime<Utc>)> = audit_events::table
        .order(audit_events::id.desc())
        .select((
            audit_events::id,
            audit_events::hash,
            audit_events::occurred_at,
        ))
        .first(connection)
        .optional()?;
    Ok(head.map(|(event_id, hash, occurred_at)| AuditChainHead {
        event_id,
        hash: hex::encode(hash),
        occurred_at,
    }))
}
