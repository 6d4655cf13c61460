//! CSV exports for BI tools, streamed: `GET /export/metrics.csv` (the `metrics` query as URL
//! parameters — same engine, same scoping and suppression) and `GET /export/interactions.csv`
//! (the interactions the caller may see, one row each, without contact details). Bearer token
//! required; both run on the reporting workload within the caller's share of it, stream with
//! bounded memory whatever their size (see `http::csv`), and write every cell through the one
//! CSV writer that neutralises spreadsheet formulas.
//!
//! `metrics.csv` parameters (lists are comma-separated; names as in the GraphQL `MetricsQuery`):
//! `metrics` (required), `from`, `to` (required, `YYYY-MM-DD`), `granularity`, `groupBy`,
//! `channels`, `orgUnitCodes`, `agentIds`, `topicCodes`, `serviceLevelThresholdSeconds`.
//! One row per (period, group); per metric a value column and an `_n` column (its
//! denominator, or the count itself for INTERACTIONS). Suppressed and empty cells are blank.
//!
//! `interactions.csv` parameters: `from`, `to` (required, reporting time zone, inclusive),
//! `channels`, `orgUnitCodes`, `topicCodes`. Columns: id, source, external_id, channel,
//! org_unit_code, agent_email (roles that may identify agents), customer_key (the pseudonym),
//! topic_code, started_at (UTC), wait_seconds, handle_seconds, transfers, abandoned, outcome —
//! values spelled as in the import formats.

use std::{collections::HashMap, str::FromStr};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz},
};

use crate::{
    auth::{
        scope::{is_allowed, visible},
        Action, Pseudonymizer,
    },
    db::{
        enums::{Channel, MetricKind},
        Workload,
    },
    domain::text::{check_storable, quote},
    error::{AppError, AppResult},
    http::{
        csv::{stream_csv, Cell, CsvSink},
        errors::error_response,
        AppState,
    },
    metrics::{Dimension, Granularity, MetricsFilter, MetricsRequest, ReportRow},
    records::lookup::{local_date_range, org_unit_subtrees, topic_ids},
};

/// `GET /export/metrics.csv`.
pub async fn metrics_csv(
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let prepared = async {
        let scope = super::request_scope(&request, &state).await?;
        let access = scope.metrics_access(state.metrics.min_cell_size())?;
        let metrics_request = parse_request(&query)?.validated(&access)?;
        let database = state
            .admission
            .reads_for(&state.database, Workload::Reporting, &scope);
        state.metrics.ensure_aligned(&database).await?;
        Ok::<_, AppError>((access, metrics_request, database))
    };
    let (access, metrics_request, database) = match prepared.await {
        Ok(prepared) => prepared,
        Err(error) => return error_response(&error),
    };
    let service = state.metrics.clone();
    stream_csv(
        &database,
        "metrics.csv",
        state.config.admission.export_statement_timeout,
        move |connection, sink| {
            let columns = MetricsColumns::new(&metrics_request);
            sink.header(&columns.header())?;
            service.stream(connection, &access, &metrics_request, |row| {
                columns.write(sink, &row)
            })
        },
    )
    .await
}

/// The request the URL describes.
pub fn parse_request(parameters: &HashMap<String, String>) -> AppResult<MetricsRequest> {
    check_parameters(parameters)?;
    let metrics = parse_each::<MetricKind>("metrics", &list(parameters, "metrics"))?;
    let granularity = parameters
        .get("granularity")
        .map(|raw| granularity(raw.trim()))
        .transpose()?;
    let group_by = list(parameters, "groupBy")
        .iter()
        .map(|raw| dimension(raw))
        .collect::<AppResult<Vec<_>>>()?;
    let agent_ids = list(parameters, "agentIds")
        .iter()
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                AppError::bad_input("agentIds", format!("`{}` is not an id", quote(raw)))
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let threshold = parameters
        .get("serviceLevelThresholdSeconds")
        .map(|raw| {
            raw.trim().parse::<i32>().map_err(|_| {
                AppError::bad_input("serviceLevelThresholdSeconds", "must be a whole number")
            })
        })
        .transpose()?;
    Ok(MetricsRequest {
        metrics,
        from: required_date(parameters, "from")?,
        to: required_date(parameters, "to")?,
        granularity,
        group_by,
        filter: MetricsFilter {
            channels: parse_each::<Channel>("channels", &list(parameters, "channels"))?,
            org_unit_codes: list(parameters, "orgUnitCodes"),
            agent_ids,
            topic_codes: list(parameters, "topicCodes"),
        },
        service_level_threshold_seconds: threshold,
    })
}

fn parse_each<T: FromStr<Err = crate::db::enums::UnknownValue>>(
    name: &str,
    raw: &[String],
) -> AppResult<Vec<T>> {
    raw.iter()
        .map(|item| {
            item.parse::<T>()
                .map_err(|error| AppError::bad_input(name, error.to_string()))
        })
        .collect()
}

fn granularity(raw: &str) -> AppResult<Granularity> {
    one_of(
        "granularity",
        "granularity",
        raw,
        &Granularity::ALL,
        Granularity::name,
    )
}

fn dimension(raw: &str) -> AppResult<Dimension> {
    one_of(
        "groupBy",
        "dimension",
        raw,
        &Dimension::ALL,
        Dimension::name,
    )
}

/// The value of `all` whose API name is `raw` (any case), or `BAD_USER_INPUT` on `field`
/// listing the names.
fn one_of<T: Copy>(
    field: &str,
    noun: &str,
    raw: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> AppResult<T> {
    all.iter()
        .copied()
        .find(|value| name(*value).eq_ignore_ascii_case(raw.trim()))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|value| name(*value)).collect();
            AppError::bad_input(
                field,
                format!(
                    "unknown {noun} `{}` (expected one of: {})",
                    quote(raw),
                    names.join(", ")
                ),
            )
        })
}

/// The columns of a metrics export: period, the grouped dimensions, then per metric its value
/// and its `_n`.
struct MetricsColumns {
    dimensions: Vec<(Dimension, &'static str)>,
    names: Vec<String>,
}

impl MetricsColumns {
    fn new(request: &MetricsRequest) -> Self {
        let dimensions: Vec<(Dimension, &'static str)> = [
            (Dimension::Channel, "channel"),
            (Dimension::OrgUnit, "org_unit_code"),
            (Dimension::Agent, "agent_email"),
            (Dimension::Topic, "topic_code"),
        ]
        .into_iter()
        .filter(|(dimension, _)| request.group_by.contains(dimension))
        .collect();
        let mut names: Vec<String> = vec!["period_start".into(), "period_label".into()];
        names.extend(dimensions.iter().map(|(_, name)| (*name).to_owned()));
        for metric in &request.metrics {
            let name = metric.as_db_str().to_ascii_lowercase();
            names.push(format!("{name}_n"));
            names.insert(names.len() - 1, name);
        }
        Self { dimensions, names }
    }

    fn header(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    fn write(&self, sink: &mut CsvSink, row: &ReportRow) -> AppResult<()> {
        let period_start = row.period_start.format("%Y-%m-%d").to_string();
        let mut cells: Vec<Cell<'_>> =
            vec![Cell::Text(&period_start), Cell::Text(&row.period_label)];
        for (dimension, _) in &self.dimensions {
            cells.push(Cell::Text(match dimension {
                Dimension::Channel => row.channel.map(|channel| channel.as_db_str()).unwrap_or(""),
                Dimension::OrgUnit => row.org_unit_code.as_deref().unwrap_or(""),
                Dimension::Agent => row.agent_email.as_deref().unwrap_or(""),
                Dimension::Topic => row.topic_code.as_deref().unwrap_or(""),
            }));
        }
        for value in &row.values {
            cells.push(Cell::Number(value.value));
            cells.push(Cell::Number(value.denominator.or(value.numerator)));
        }
        sink.row(&cells)
    }
}

/// One interaction as the export reads it.
#[derive(QueryableByName)]
struct ExportedInteraction {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    org_unit_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    agent_email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    customer_ref: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    topic_code: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Integer>)]
    wait_seconds: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    handle_seconds: Option<i32>,
    #[diesel(sql_type = Integer)]
    transfers: i32,
    #[diesel(sql_type = Bool)]
    abandoned: bool,
    #[diesel(sql_type = Nullable<Text>)]
    outcome: Option<String>,
}

/// `GET /export/interactions.csv`.
pub async fn interactions_csv(
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let prepared = async {
        let scope = super::request_scope(&request, &state).await?;
        let principal = scope.authorize(Action::ReadInteractions)?.clone();
        let parameters = &query;
        check_parameters(parameters)?;
        let zone = state.metrics.rules().time_zone;
        let (start, end) = local_date_range(
            zone,
            Some(required_date(parameters, "from")?),
            Some(required_date(parameters, "to")?),
        )?;
        let channels = parse_each::<Channel>("channels", &list(parameters, "channels"))?;
        let database = state
            .admission
            .reads_for(&state.database, Workload::Reporting, &scope);
        Ok::<_, AppError>((
            principal,
            (start.unwrap_or_default(), end.unwrap_or_default()),
            channels,
            list(parameters, "orgUnitCodes"),
            list(parameters, "topicCodes"),
            database,
        ))
    };
    let (principal, (start, end), channels, unit_codes, topic_codes, database) =
        match prepared.await {
            Ok(prepared) => prepared,
            Err(error) => return error_response(&error),
        };
    let identify_agents = is_allowed(principal.role, Action::IdentifyAgents);
    let pseudonymizer: Pseudonymizer = state.pseudonymizer.clone();
    stream_csv(
        &database,
        "interactions.csv",
        state.config.admission.export_statement_timeout,
        move |connection, sink| {
            let mut header = vec![
                "id",
                "source",
                "external_id",
                "channel",
                "org_unit_code",
            ];
            if identify_agents {
                header.push("agent_email");
            }
            header.extend([
                "customer_key",
                "topic_code",
                "started_at",
                "wait_seconds",
                "handle_seconds",
                "transfers",
                "abandoned",
                "outcome",
            ]);
            sink.header(&header)?;
            let mut conditions = vec!["r.started_at >= $1".to_owned(), "r.started_at < $2".to_owned()];
            let unit_ids = (!unit_codes.is_empty())
                .then(|| org_unit_subtrees(connection, "orgUnitCodes", &unit_codes))
                .transpose()?;
            let topics = (!topic_codes.is_empty())
                .then(|| topic_ids(connection, "topicCodes", &topic_codes))
                .transpose()?;
            // Parameters $3.. in this order: scope, channels, units, topics.
            let mut next = 3;
            let scope = visible::metric_rows_sql(principal.record_scope(), next);
            if let Some((sql, _)) = &scope {
                conditions.push(sql.clone());
                next += 1;
            }
            let channel_names: Vec<String> = channels
                .iter()
                .map(|channel| channel.as_db_str().to_owned())
                .collect();
            for (present, column) in [
                (!channel_names.is_empty(), "r.channel = ANY"),
                (unit_ids.is_some(), "r.org_unit_id = ANY"),
                (topics.is_some(), "r.topic_id = ANY"),
            ] {
                if present {
                    conditions.push(format!("{column} (${next})"));
                    next += 1;
                }
            }
            let sql = format!(
                "SELECT r.id, r.source, r.external_id, r.channel, unit.code AS org_unit_code, \
                        agent.email AS agent_email, customer.customer_ref, topic.code AS topic_code, \
                        r.started_at, r.wait_seconds, r.handle_seconds, r.transfers, r.abandoned, \
                        r.outcome \
                   FROM interactions r \
                   JOIN org_units unit ON unit.id = r.org_unit_id \
                   LEFT JOIN users agent ON agent.id = r.agent_id \
                   LEFT JOIN customers customer ON customer.id = r.customer_id \
                   LEFT JOIN topics topic ON topic.id = r.topic_id \
                  WHERE {} \
                  ORDER BY r.started_at, r.id",
                conditions.join(" AND ")
            );
            let mut query = diesel::sql_query(sql)
                .into_boxed()
                .bind::<Timestamptz, _>(start)
                .bind::<Timestamptz, _>(end);
            if let Some((_, id)) = scope {
                query = query.bind::<BigInt, _>(id);
            }
            if !channel_names.is_empty() {
                query = query.bind::<Array<Text>, _>(channel_names);
            }
            if let Some(ids) = unit_ids {
                query = query.bind::<Array<BigInt>, _>(ids);
            }
            if let Some(ids) = topics {
                query = query.bind::<Array<BigInt>, _>(ids);
            }
            let rows = query
                .load_iter::<ExportedInteraction, diesel::pg::PgRowByRowLoadingMode>(connection)?;
            for row in rows {
                let row = row?;
                let started_at = row.started_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                // Channels as the import formats spell them (`web_self_service`).
                let channel = row.channel.to_ascii_lowercase();
                let customer_key = row
                    .customer_ref
                    .as_deref()
                    .map(|reference| pseudonymizer.customer_key(reference))
                    .unwrap_or_default();
                let mut cells = vec![
                    Cell::Integer(Some(row.id)),
                    Cell::Text(&row.source),
                    Cell::Text(&row.external_id),
                    Cell::Text(&channel),
                    Cell::Text(&row.org_unit_code),
                ];
                if identify_agents {
                    cells.push(Cell::Text(row.agent_email.as_deref().unwrap_or("")));
                }
                cells.extend([
                    Cell::Text(&customer_key),
                    Cell::Text(row.topic_code.as_deref().unwrap_or("")),
                    Cell::Text(&started_at),
                    Cell::Integer(row.wait_seconds.map(i64::from)),
                    Cell::Integer(row.handle_seconds.map(i64::from)),
                    Cell::Integer(Some(i64::from(row.transfers))),
                    Cell::Text(if row.abandoned { "true" } else { "false" }),
                    Cell::Text(row.outcome.as_deref().unwrap_or("")),
                ]);
                sink.row(&cells)?;
            }
            Ok(())
        },
    )
    .await
}

/// Every parameter value must be storable text (no NUL), checked once for the whole URL.
fn check_parameters(parameters: &HashMap<String, String>) -> AppResult<()> {
    parameters
        .iter()
        .try_for_each(|(name, value)| check_storable(name, value))
}

fn list(parameters: &HashMap<String, String>, name: &str) -> Vec<String> {
    parameters
        .get(name)
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn required_date(parameters: &HashMap<String, String>, name: &str) -> AppResult<NaiveDate> {
    let raw = parameters
        .get(name)
        .ok_or_else(|| AppError::bad_input(name, "is required (YYYY-MM-DD)"))?;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::bad_input(name, format!("`{}` is not a date (YYYY-MM-DD)", quote(raw)))
    })
}
