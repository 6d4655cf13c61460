//! The reporting query (docs/metrics.md): a validated [`MetricsRequest`] becomes **one** SQL
//! statement over either the daily rollups or the records, and its sums become values with
//! intervals, suppressed where the caller's access says so.
//!
//! Both sources expose the same columns (`day`, `org_unit_id`, `channel`, `agent_id`,
//! `topic_id` and the additive measures of [`super::catalog`]), so one statement shape serves
//! both: `SELECT period, dimensions, sums FROM source WHERE range, scope, filters GROUP BY …`.
//! The records source recomputes first contact resolution and containment from the records
//! themselves, so comparing the two sources also checks the stored facts.

use chrono::NaiveDate;
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{Array, BigInt, Date, Double, Nullable, Text},
    QueryableByName,
};

use super::{
    catalog::{
        definition, MetricShape, ANSWERED_WITHIN_THRESHOLD, DEFAULT_THRESHOLD_SECONDS,
        ROLLUP_THRESHOLDS,
    },
    period::{range_label, FiscalCalendar, Granularity},
    statistics::{self, Estimate},
};
use crate::{
    auth::scope::{visible, MetricsAccess, RecordScope},
    config::MetricsSource,
    db::{
        enums::{Channel, MetricKind},
        prepared::{Param, ReusableQuery},
    },
    error::{AppError, AppResult},
};

/// Longest range one request may cover (ten years and leap days).
pub const MAX_RANGE_DAYS: i64 = 3_653;
/// Most values one filter list may hold.
pub const MAX_FILTER_VALUES: usize = 500;
/// The longest service-level threshold a request (or a service standard) may state: a day.
pub const MAX_THRESHOLD_SECONDS: i32 = 86_400;

/// A breakdown of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Dimension {
    Channel,
    OrgUnit,
    Agent,
    Topic,
}

impl Dimension {
    /// Every dimension, in the order rows are grouped.
    pub const ALL: [Dimension; 4] = [
        Dimension::Channel,
        Dimension::OrgUnit,
        Dimension::Agent,
        Dimension::Topic,
    ];

    /// The API name (`CHANNEL`, `ORG_UNIT`, `AGENT`, `TOPIC`).
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Channel => "CHANNEL",
            Dimension::OrgUnit => "ORG_UNIT",
            Dimension::Agent => "AGENT",
            Dimension::Topic => "TOPIC",
        }
    }

    /// The dimension an API name (any case) stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|dimension| dimension.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// Which interactions count. Empty lists do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsFilter {
    pub channels: Vec<Channel>,
    /// Org units and everything below them.
    pub org_unit_codes: Vec<String>,
    pub agent_ids: Vec<i64>,
    pub topic_codes: Vec<String>,
}

impl MetricsFilter {
    fn restricts_dimensions(&self) -> bool {
        !self.channels.is_empty()
            || !self.org_unit_codes.is_empty()
            || !self.agent_ids.is_empty()
            || !self.topic_codes.is_empty()
    }
}

/// One reporting request, as the API and the CSV export receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRequest {
    pub metrics: Vec<MetricKind>,
    /// First local date, inclusive.
    pub from: NaiveDate,
    /// Last local date, inclusive.
    pub to: NaiveDate,
    pub granularity: Option<Granularity>,
    pub group_by: Vec<Dimension>,
    pub filter: MetricsFilter,
    pub service_level_threshold_seconds: Option<i32>,
}

/// The rules a report is computed under (from the configuration).
#[derive(Debug, Clone)]
pub struct ReportingRules {
    pub time_zone: chrono_tz::Tz,
    pub fiscal: FiscalCalendar,
    pub source: MetricsSource,
}

/// One metric of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub metric: MetricKind,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// True when the cell is withheld from the caller (small survey denominators).
    pub suppressed: bool,
}

/// One (period, group) of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub period_start: NaiveDate,
    pub period_label: String,
    pub channel: Option<Channel>,
    pub org_unit_id: Option<i64>,
    /// Also the org unit's code, for exports.
    pub org_unit_code: Option<String>,
    pub agent_id: Option<i64>,
    pub agent_email: Option<String>,
    pub topic_id: Option<i64>,
    pub topic_code: Option<String>,
    pub values: Vec<MetricValue>,
}

/// Where a request is answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `metric_daily_units`: day × org unit × channel.
    UnitRollup,
    /// `metric_daily_cells`: day × org unit × channel × agent × topic.
    CellRollup,
    /// The records themselves.
    Records,
}

impl MetricsRequest {
    /// Checks the request against the rules and the caller's access. Duplicate metrics and
    /// dimensions are dropped (first occurrence kept).
    pub fn validated(mut self, access: &MetricsAccess) -> AppResult<Self> {
        if self.metrics.is_empty() {
            return Err(AppError::bad_input(
                "metrics",
                "ask for at least one metric",
            ));
        }
        dedupe(&mut self.metrics);
        dedupe(&mut self.group_by);
        if self.from > self.to {
            return Err(AppError::bad_input("to", "must not be before `from`"));
        }
        if (self.to - self.from).num_days() >= MAX_RANGE_DAYS {
            return Err(AppError::bad_input(
                "to",
                format!("a request covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        if let Some(seconds) = self.service_level_threshold_seconds {
            if !(0..=MAX_THRESHOLD_SECONDS).contains(&seconds) {
                return Err(AppError::bad_input(
                    "serviceLevelThresholdSeconds",
                    format!("must be between 0 and {MAX_THRESHOLD_SECONDS} seconds"),
                ));
            }
        }
        let filter = &self.filter;
        for (field, count) in [
            ("filter.channels", filter.channels.len()),
            ("filter.orgUnitCodes", filter.org_unit_codes.len()),
            ("filter.agentIds", filter.agent_ids.len()),
            ("filter.topicCodes", filter.topic_codes.len()),
        ] {
            if count > MAX_FILTER_VALUES {
                return Err(AppError::bad_input(
                    field,
                    format!("at most {MAX_FILTER_VALUES} values"),
                ));
            }
        }
        if !access.may_break_down_by_agent
            && (self.group_by.contains(&Dimension::Agent) || !filter.agent_ids.is_empty())
        {
            return Err(AppError::Forbidden(
                "this role sees no per-agent breakdown: remove AGENT from groupBy and agentIds from the filter"
                    .into(),
            ));
        }
        Ok(self)
    }

    fn threshold(&self) -> i32 {
        self.service_level_threshold_seconds
            .unwrap_or(DEFAULT_THRESHOLD_SECONDS)
    }

    /// The cheapest source that answers this request exactly.
    pub fn source(&self, rules: &ReportingRules, access: &MetricsAccess) -> Source {
        let custom_threshold = self.metrics.contains(&MetricKind::ServiceLevel)
            && !ROLLUP_THRESHOLDS.contains(&self.threshold());
        if rules.source == MetricsSource::Base || custom_threshold {
            return Source::Records;
        }
        let needs_cells = self.group_by.contains(&Dimension::Agent)
            || self.group_by.contains(&Dimension::Topic)
            || !self.filter.agent_ids.is_empty()
            || !self.filter.topic_codes.is_empty()
            || matches!(access.records, RecordScope::Own(_));
        if needs_cells {
            Source::CellRollup
        } else {
            Source::UnitRollup
        }
    }
}

fn dedupe<T: PartialEq + Copy>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        if seen.contains(item) {
            false
        } else {
            seen.push(*item);
            true
        }
    });
}

/// SQL text with its bind values, numbered as they are added.
#[derive(Default)]
struct Statement {
    binds: Vec<Param>,
}

impl Statement {
    /// Adds a bind value and returns its placeholder (`$n`).
    fn bind(&mut self, value: Param) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn next_parameter(&self) -> usize {
        self.binds.len() + 1
    }

    /// The statement, kept prepared by the connection (see [`ReusableQuery::generated`]): a
    /// report's text depends only on its shape (metrics, breakdowns, which filters), not on
    /// its values, so the same reports are parsed and planned once per connection.
    fn into_query(self, sql: String) -> ReusableQuery {
        ReusableQuery::generated(sql).bind_all(self.binds)
    }
}

/// What the statement returns per (period, group).
#[derive(QueryableByName)]
struct SummedRow {
    #[diesel(sql_type = Date)]
    period_start: NaiveDate,
    #[diesel(sql_type = Nullable<Text>)]
    channel: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    org_unit_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    org_unit_code: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    agent_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    agent_email: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    topic_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    topic_code: Option<String>,
    /// The sums of [`Plan::measures`], in order.
    #[diesel(sql_type = Array<Nullable<Double>>)]
    sums: Vec<Option<f64>>,
    /// The same sums without the dimension filters (suppression's differencing check).
    #[diesel(sql_type = Array<Nullable<Double>>)]
    unfiltered_sums: Vec<Option<f64>>,
}

/// The measures a request needs, in the order the statement returns their sums.
struct Plan {
    measures: Vec<&'static str>,
}

impl Plan {
    fn for_request(request: &MetricsRequest) -> Self {
        let mut measures: Vec<&'static str> = vec!["interactions"];
        for metric in &request.metrics {
            let sums = definition(*metric).sums;
            for measure in [Some(sums.numerator), sums.denominator, sums.squares]
                .into_iter()
                .flatten()
            {
                if !measures.contains(&measure) {
                    measures.push(measure);
                }
            }
        }
        Self { measures }
    }

    fn position(&self, measure: &str) -> usize {
        self.measures
            .iter()
            .position(|candidate| *candidate == measure)
            .expect("the plan holds every measure its metrics read")
    }
}

/// Measure columns of the records source (the per-interaction measure views), with the two
/// facts about later contacts recomputed from the records and any service-level threshold.
fn records_source(
    statement: &mut Statement,
    rules: &ReportingRules,
    request: &MetricsRequest,
) -> String {
    let zone = statement.bind(Param::Text(rules.time_zone.name().to_owned()));
    let from = statement.bind(Param::Date(request.from));
    let to = statement.bind(Param::Date(request.to));
    let threshold = statement.bind(Param::Integer(request.threshold()));
    let assisted = "('PHONE', 'CHAT', 'EMAIL', 'IN_PERSON', 'MAIL')";
    let later_assisted = |window: &str| {
        format!(
            "EXISTS (SELECT 1 FROM interactions later \
                      WHERE later.customer_id = m.customer_id \
                        AND later.topic_id IS NOT DISTINCT FROM m.topic_id \
                        AND later.channel IN {assisted} \
                        AND later.started_at > m.started_at \
                        AND later.started_at <= m.started_at + interval '{window}')"
        )
    };
    let mut columns = Vec::new();
    for measure in super::MEASURES {
        let expression = match *measure {
            "handled_first_contact_resolved" => format!(
                "(m.first_contact_candidate = 1 AND NOT {})::int",
                later_assisted("168 hours")
            ),
            "self_service_contained" => format!(
                "(m.self_service_known = 1 AND NOT {})::int",
                later_assisted("24 hours")
            ),
            measure if super::is_survey_measure(measure) => format!("coalesce(s.{measure}, 0)"),
            measure => format!("m.{measure}"),
        };
        columns.push(format!("{expression} AS {measure}"));
    }
    columns.push(format!(
        "(m.answered_wait IS NOT NULL AND m.answered_wait <= {threshold})::int AS {ANSWERED_WITHIN_THRESHOLD}"
    ));
    format!(
        "(SELECT (m.started_at AT TIME ZONE {zone})::date AS day, m.org_unit_id, m.channel, \
                 m.agent_id, m.topic_id, {columns} \
            FROM interaction_measures m \
            LEFT JOIN interaction_survey_measures s ON s.interaction_id = m.id \
           WHERE m.started_at >= ({from}::date::timestamp AT TIME ZONE {zone}) \
             AND m.started_at < (({to}::date + 1)::timestamp AT TIME ZONE {zone})) r",
        columns = columns.join(", ")
    )
}

/// Builds the one statement of a request.
fn build_statement(
    rules: &ReportingRules,
    access: &MetricsAccess,
    request: &MetricsRequest,
    source: Source,
    plan: &Plan,
) -> (String, Statement) {
    let mut statement = Statement::default();
    let from_table = match source {
        Source::UnitRollup => "metric_daily_units r".to_owned(),
        Source::CellRollup => "metric_daily_cells r".to_owned(),
        Source::Records => records_source(&mut statement, rules, request),
    };
    let column = |measure: &str| -> String {
        if measure == ANSWERED_WITHIN_THRESHOLD && source != Source::Records {
            format!("r.answered_within_{}", request.threshold())
        } else {
            format!("r.{measure}")
        }
    };

    let from = statement.bind(Param::Date(request.from));
    let to = statement.bind(Param::Date(request.to));
    let mut conditions = vec![format!("r.day BETWEEN {from} AND {to}")];
    if let Some((sql, id)) = visible::metric_rows_sql(access.records, statement.next_parameter()) {
        statement.bind(Param::BigInt(id));
        conditions.push(sql);
    }

    let filter = &request.filter;
    let mut filters = Vec::new();
    // Codes resolve to ids once, in a one-row subquery the grouped rows are joined to
    // laterally: it is evaluated before any row is read, so an unknown code is reported even
    // when the period holds no data.
    let mut code_columns: Vec<String> = Vec::new();
    if !filter.channels.is_empty() {
        let channels = statement.bind(Param::TextArray(
            filter
                .channels
                .iter()
                .map(|channel| channel.as_db_str().to_owned())
                .collect(),
        ));
        filters.push(format!("r.channel = ANY ({channels})"));
    }
    if !filter.org_unit_codes.is_empty() {
        let codes = statement.bind(Param::TextArray(filter.org_unit_codes.clone()));
        code_columns.push(format!("metric_org_unit_subtrees({codes}) AS unit_ids"));
        filters.push("r.org_unit_id = ANY (codes.unit_ids)".to_owned());
    }
    if !filter.agent_ids.is_empty() {
        let agents = statement.bind(Param::BigIntArray(filter.agent_ids.clone()));
        filters.push(format!("r.agent_id = ANY ({agents})"));
    }
    if !filter.topic_codes.is_empty() {
        let codes = statement.bind(Param::TextArray(filter.topic_codes.clone()));
        code_columns.push(format!("metric_topic_ids({codes}) AS topic_ids"));
        filters.push("r.topic_id = ANY (codes.topic_ids)".to_owned());
    }

    // For callers whose small cells are suppressed, a filtered query also sums the unfiltered
    // cell, so a filter that removes only a few answers cannot reveal them by difference.
    let differencing_check = access.min_cell_size.is_some() && filter.restricts_dimensions();
    let filtered = if filters.is_empty() {
        String::new()
    } else if differencing_check {
        format!(" FILTER (WHERE {})", filters.join(" AND "))
    } else {
        conditions.extend(filters.iter().cloned());
        String::new()
    };

    let period = match request.granularity {
        Some(granularity) => granularity.period_start_sql("r.day", rules.fiscal),
        None => format!("{from}::date"),
    };
    let mut selected = vec![format!("{period} AS period_start")];
    let mut grouped = Vec::new();
    if request.granularity.is_some() {
        grouped.push("1".to_owned());
    }
    for (dimension, name, null_type) in [
        (Dimension::Channel, "channel", "text"),
        (Dimension::OrgUnit, "org_unit_id", "bigint"),
        (Dimension::Agent, "agent_id", "bigint"),
        (Dimension::Topic, "topic_id", "bigint"),
    ] {
        if request.group_by.contains(&dimension) {
            selected.push(format!("r.{name} AS {name}"));
            grouped.push(format!("r.{name}"));
        } else {
            selected.push(format!("NULL::{null_type} AS {name}"));
        }
    }
    let sums: Vec<String> = plan
        .measures
        .iter()
        .map(|measure| format!("coalesce(sum({}){filtered}, 0)::float8", column(measure)))
        .collect();
    selected.push(format!("ARRAY[{}] AS sums", sums.join(", ")));
    let unfiltered: Vec<String> = if differencing_check {
        plan.measures
            .iter()
            .map(|measure| format!("coalesce(sum({}), 0)::float8", column(measure)))
            .collect()
    } else {
        Vec::new()
    };
    selected.push(format!(
        "ARRAY[{}]::float8[] AS unfiltered_sums",
        unfiltered.join(", ")
    ));
    let group_clause = if grouped.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", grouped.join(", "))
    };
    let channel_order = Channel::ALL
        .iter()
        .map(|channel| format!("'{}'", channel.as_db_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT g.period_start, g.channel, g.org_unit_id, unit.code AS org_unit_code, \
                g.agent_id, agent.email AS agent_email, g.topic_id, topic.code AS topic_code, \
                g.sums, g.unfiltered_sums \
           FROM {codes}(SELECT {selected} FROM {from_table} WHERE {conditions}{group_clause} \
                 HAVING coalesce(sum(r.interactions){filtered}, 0) > 0) g \
           LEFT JOIN org_units unit ON unit.id = g.org_unit_id \
           LEFT JOIN users agent ON agent.id = g.agent_id \
           LEFT JOIN topics topic ON topic.id = g.topic_id \
          ORDER BY g.period_start, array_position(ARRAY[{channel_order}], g.channel) NULLS LAST, \
                   unit.code NULLS LAST, agent.email NULLS LAST, topic.code NULLS LAST",
        selected = selected.join(", "),
        conditions = conditions.join(" AND "),
        codes = if code_columns.is_empty() {
            String::new()
        } else {
            format!(
                "(SELECT {}) codes CROSS JOIN LATERAL ",
                code_columns.join(", ")
            )
        },
    );
    (sql, statement)
}

/// Computes the report in one SQL statement on `connection`. With `max_rows`, a report that
/// would have more rows is refused with `BAD_USER_INPUT` (the statement fetches at most one
/// row more than allowed, so the refusal costs no memory).
pub fn compute(
    connection: &mut PgConnection,
    rules: &ReportingRules,
    access: &MetricsAccess,
    request: &MetricsRequest,
    max_rows: Option<usize>,
) -> AppResult<Vec<ReportRow>> {
    let plan = Plan::for_request(request);
    let source = request.source(rules, access);
    let (mut sql, statement) = build_statement(rules, access, request, source, &plan);
    if let Some(max_rows) = max_rows {
        sql.push_str(&format!(" LIMIT {}", max_rows + 1));
    }
    let rows: Vec<SummedRow> = statement
        .into_query(sql)
        .load(connection)
        .map_err(filter_error)?;
    if let Some(max_rows) = max_rows {
        if rows.len() > max_rows {
            return Err(too_many_rows(request, max_rows));
        }
    }
    rows.into_iter()
        .map(|row| assemble(row, rules, access, request, &plan))
        .collect()
}

/// The refusal of a report larger than a response may be.
fn too_many_rows(request: &MetricsRequest, max_rows: usize) -> AppError {
    AppError::bad_input(
        "query",
        format!(
            "this report has more than {max_rows} rows of {} metric(s) ({} values at most per response). \
             Narrow it — a shorter period, a coarser granularity, fewer groupBy dimensions, a filter — \
             or download it as CSV from /export/metrics.csv with the same parameters, which streams any size",
            request.metrics.len(),
            max_rows * request.metrics.len()
        ),
    )
}

/// Computes the report like [`compute`], handing each row to `each` as PostgreSQL sends it
/// (row-by-row mode): memory stays constant whatever the report's size.
pub fn stream(
    connection: &mut PgConnection,
    rules: &ReportingRules,
    access: &MetricsAccess,
    request: &MetricsRequest,
    mut each: impl FnMut(ReportRow) -> AppResult<()>,
) -> AppResult<()> {
    let plan = Plan::for_request(request);
    let source = request.source(rules, access);
    let (sql, statement) = build_statement(rules, access, request, source, &plan);
    let rows = statement
        .into_query(sql)
        .load_iter::<SummedRow, diesel::pg::PgRowByRowLoadingMode>(connection)
        .map_err(filter_error)?;
    for row in rows {
        each(assemble(
            row.map_err(filter_error)?,
            rules,
            access,
            request,
            &plan,
        )?)?;
    }
    Ok(())
}

/// An unknown filter code is reported by the database with the input field in its hint.
fn filter_error(error: diesel::result::Error) -> AppError {
    if let diesel::result::Error::DatabaseError(_, information) = &error {
        if let Some(field) = information
            .hint()
            .and_then(|hint| hint.strip_prefix("bac-metrics:"))
        {
            return AppError::bad_input(field, information.message());
        }
    }
    AppError::from(error)
}

fn assemble(
    row: SummedRow,
    rules: &ReportingRules,
    access: &MetricsAccess,
    request: &MetricsRequest,
    plan: &Plan,
) -> AppResult<ReportRow> {
    let channel = row
        .channel
        .as_deref()
        .map(str::parse::<Channel>)
        .transpose()
        .map_err(|error| AppError::internal(format!("unexpected channel in rollup: {error}")))?;
    let sum = |measure: &str| row.sums[plan.position(measure)].unwrap_or(0.0);
    let unfiltered = |measure: &str| {
        row.unfiltered_sums
            .get(plan.position(measure))
            .copied()
            .flatten()
    };
    let values = request
        .metrics
        .iter()
        .map(|metric| {
            let definition = definition(*metric);
            let sums = definition.sums;
            let numerator = sum(sums.numerator);
            let denominator = sums.denominator.map(sum);
            if let (Some(minimum), true) = (access.min_cell_size, definition.survey_based) {
                let denominator_value = denominator.unwrap_or(0.0);
                let removed_by_filter = sums
                    .denominator
                    .and_then(unfiltered)
                    .map(|all| all - denominator_value)
                    .unwrap_or(0.0);
                let minimum = minimum as f64;
                if denominator_value < minimum
                    || (removed_by_filter > 0.0 && removed_by_filter < minimum)
                {
                    return MetricValue {
                        metric: *metric,
                        value: None,
                        numerator: None,
                        denominator: None,
                        lower: None,
                        upper: None,
                        suppressed: true,
                    };
                }
            }
            let estimate = match definition.shape {
                MetricShape::Count => Estimate {
                    value: Some(numerator),
                    lower: None,
                    upper: None,
                },
                MetricShape::Proportion => {
                    statistics::proportion(numerator, denominator.unwrap_or(0.0))
                }
                MetricShape::Mean => statistics::mean(
                    numerator,
                    denominator.unwrap_or(0.0),
                    sums.squares.map(sum).unwrap_or(0.0),
                ),
            };
            MetricValue {
                metric: *metric,
                value: estimate.value,
                numerator: Some(numerator),
                denominator,
                lower: estimate.lower,
                upper: estimate.upper,
                suppressed: false,
            }
        })
        .collect();
    let period_label = match request.granularity {
        Some(granularity) => granularity.label(row.period_start, rules.fiscal),
        None => range_label(request.from, request.to),
    };
    Ok(ReportRow {
        period_start: row.period_start,
        period_label,
        channel,
        org_unit_id: row.org_unit_id,
        org_unit_code: row.org_unit_code,
        agent_id: row.agent_id,
        agent_email: row.agent_email,
        topic_id: row.topic_id,
        topic_code: row.topic_code,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(records: RecordScope, min_cell_size: Option<i64>) -> MetricsAccess {
        MetricsAccess {
            records,
            min_cell_size,
            may_break_down_by_agent: min_cell_size.is_none(),
        }
    }

    fn request() -> MetricsRequest {
        MetricsRequest {
            metrics: vec![MetricKind::Csat, MetricKind::Interactions, MetricKind::Csat],
            from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            granularity: Some(Granularity::Month),
            group_by: vec![Dimension::Channel, Dimension::Channel],
            filter: MetricsFilter::default(),
            service_level_threshold_seconds: None,
        }
    }

    fn rules(source: MetricsSource) -> ReportingRules {
        ReportingRules {
            time_zone: chrono_tz::America::New_York,
            fiscal: FiscalCalendar { start_month: 7 },
            source,
        }
    }

    #[test]
    fn validation_dedupes_and_checks_the_range() {
        let everyone = access(RecordScope::All, None);
        let valid = request().validated(&everyone).unwrap();
        assert_eq!(
            valid.metrics,
            vec![MetricKind::Csat, MetricKind::Interactions]
        );
        assert_eq!(valid.group_by, vec![Dimension::Channel]);
        let mut backwards = request();
        backwards.to = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
        let error = backwards.validated(&everyone).unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::BadUserInput);
    }

    #[test]
    fn aggregate_only_roles_cannot_break_down_by_agent() {
        let analyst = access(RecordScope::All, Some(10));
        let mut by_agent = request();
        by_agent.group_by.push(Dimension::Agent);
        assert_eq!(
            by_agent.validated(&analyst).unwrap_err().code(),
            crate::error::ErrorCode::Forbidden
        );
        let mut agent_filter = request();
        agent_filter.filter.agent_ids = vec![7];
        assert_eq!(
            agent_filter.validated(&analyst).unwrap_err().code(),
            crate::error::ErrorCode::Forbidden
        );
    }

    #[test]
    fn the_cheapest_exact_source_is_chosen() {
        let everyone = access(RecordScope::All, None);
        let auto = rules(MetricsSource::Auto);
        assert_eq!(request().source(&auto, &everyone), Source::UnitRollup);
        let mut by_topic = request();
        by_topic.group_by.push(Dimension::Topic);
        assert_eq!(by_topic.source(&auto, &everyone), Source::CellRollup);
        let own = access(RecordScope::Own(3), None);
        assert_eq!(request().source(&auto, &own), Source::CellRollup);
        let mut custom = request();
        custom.metrics.push(MetricKind::ServiceLevel);
        custom.service_level_threshold_seconds = Some(25);
        assert_eq!(custom.source(&auto, &everyone), Source::Records);
        custom.service_level_threshold_seconds = Some(20);
        assert_eq!(custom.source(&auto, &everyone), Source::UnitRollup);
        assert_eq!(
            request().source(&rules(MetricsSource::Base), &everyone),
            Source::Records
        );
    }

    #[test]
    fn the_plan_reads_each_measure_once() {
        let mut request = request();
        request.metrics = vec![
            MetricKind::AbandonmentRate,
            MetricKind::ServiceLevel,
            MetricKind::Interactions,
        ];
        let plan = Plan::for_request(&request);
        assert_eq!(
            plan.measures,
            vec![
                "interactions",
                "queued_abandoned",
                "queued",
                ANSWERED_WITHIN_THRESHOLD
            ]
        );
    }
}
