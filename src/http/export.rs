//! `GET /export/metrics.csv`: the `metrics` query as URL parameters, answered as CSV for BI
//! tools — same engine, same scoping and suppression, bearer token required.
//!
//! Parameters (lists are comma-separated; names as in the GraphQL `MetricsQuery`):
//! `metrics` (required), `from`, `to` (required, `YYYY-MM-DD`), `granularity`, `groupBy`,
//! `channels`, `orgUnitCodes`, `agentIds`, `topicCodes`, `serviceLevelThresholdSeconds`.
//! One row per (period, group); per metric a value column and an `_n` column (its
//! denominator, or the count itself for INTERACTIONS). Suppressed and empty cells are blank.

use std::{collections::HashMap, str::FromStr};

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;

use crate::{
    db::enums::{Channel, MetricKind},
    error::{AppError, AppResult},
    http::{import::error_response, AppState},
    metrics::{Dimension, Granularity, MetricsFilter, MetricsRequest, ReportRow},
};

/// `GET /export/metrics.csv`.
pub async fn metrics_csv(
    request: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match export(&request, &query, &state).await {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"metrics.csv\"",
            ))
            .body(body),
        Err(error) => error_response(&error),
    }
}

async fn export(
    request: &HttpRequest,
    parameters: &HashMap<String, String>,
    state: &AppState,
) -> AppResult<String> {
    let scope = super::request_scope(request, state).await?;
    let access = scope.metrics_access(state.metrics.min_cell_size())?;
    let metrics_request = parse_request(parameters)?;
    let metrics = metrics_request.metrics.clone();
    let group_by = metrics_request.group_by.clone();
    let rows = state
        .metrics
        .report(&state.database, access, metrics_request)
        .await?;
    write_csv(&metrics, &group_by, &rows)
}

/// The request the URL describes.
pub fn parse_request(parameters: &HashMap<String, String>) -> AppResult<MetricsRequest> {
    let list = |name: &str| -> Vec<String> {
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
    };
    let date = |name: &str| -> AppResult<NaiveDate> {
        let raw = parameters
            .get(name)
            .ok_or_else(|| AppError::bad_input(name, "is required (YYYY-MM-DD)"))?;
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::bad_input(name, format!("`{raw}` is not a date (YYYY-MM-DD)")))
    };
    let metrics = parse_each::<MetricKind>("metrics", &list("metrics"))?;
    let granularity = parameters
        .get("granularity")
        .map(|raw| granularity(raw.trim()))
        .transpose()?;
    let group_by = list("groupBy")
        .iter()
        .map(|raw| dimension(raw))
        .collect::<AppResult<Vec<_>>>()?;
    let agent_ids = list("agentIds")
        .iter()
        .map(|raw| {
            raw.parse::<i64>()
                .map_err(|_| AppError::bad_input("agentIds", format!("`{raw}` is not an id")))
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
        from: date("from")?,
        to: date("to")?,
        granularity,
        group_by,
        filter: MetricsFilter {
            channels: parse_each::<Channel>("channels", &list("channels"))?,
            org_unit_codes: list("orgUnitCodes"),
            agent_ids,
            topic_codes: list("topicCodes"),
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
    Ok(match raw.to_ascii_uppercase().as_str() {
        "DAY" => Granularity::Day,
        "WEEK" => Granularity::Week,
        "MONTH" => Granularity::Month,
        "QUARTER" => Granularity::Quarter,
        "YEAR" => Granularity::Year,
        "FISCAL_QUARTER" => Granularity::FiscalQuarter,
        "FISCAL_YEAR" => Granularity::FiscalYear,
        _ => {
            return Err(AppError::bad_input(
                "granularity",
                format!("unknown granularity `{raw}` (expected one of: DAY, WEEK, MONTH, QUARTER, YEAR, FISCAL_QUARTER, FISCAL_YEAR)"),
            ))
        }
    })
}

fn dimension(raw: &str) -> AppResult<Dimension> {
    Ok(match raw.to_ascii_uppercase().as_str() {
        "CHANNEL" => Dimension::Channel,
        "ORG_UNIT" => Dimension::OrgUnit,
        "AGENT" => Dimension::Agent,
        "TOPIC" => Dimension::Topic,
        _ => {
            return Err(AppError::bad_input(
                "groupBy",
                format!(
                    "unknown dimension `{raw}` (expected one of: CHANNEL, ORG_UNIT, AGENT, TOPIC)"
                ),
            ))
        }
    })
}

/// The CSV document: a header row, then one row per (period, group).
pub fn write_csv(
    metrics: &[MetricKind],
    group_by: &[Dimension],
    rows: &[ReportRow],
) -> AppResult<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["period_start".into(), "period_label".into()];
    let dimensions: Vec<(Dimension, &str)> = [
        (Dimension::Channel, "channel"),
        (Dimension::OrgUnit, "org_unit_code"),
        (Dimension::Agent, "agent_email"),
        (Dimension::Topic, "topic_code"),
    ]
    .into_iter()
    .filter(|(dimension, _)| group_by.contains(dimension))
    .collect();
    header.extend(dimensions.iter().map(|(_, name)| (*name).to_owned()));
    for metric in metrics {
        let name = metric.as_db_str().to_ascii_lowercase();
        header.push(name.clone());
        header.push(format!("{name}_n"));
    }
    let csv_error = |error: csv::Error| AppError::internal(format!("writing CSV: {error}"));
    writer.write_record(&header).map_err(csv_error)?;
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    for row in rows {
        let mut record: Vec<String> = vec![
            row.period_start.format("%Y-%m-%d").to_string(),
            row.period_label.clone(),
        ];
        for (dimension, _) in &dimensions {
            record.push(match dimension {
                Dimension::Channel => row
                    .channel
                    .map(|channel| channel.as_db_str().to_owned())
                    .unwrap_or_default(),
                Dimension::OrgUnit => row.org_unit_code.clone().unwrap_or_default(),
                Dimension::Agent => row.agent_email.clone().unwrap_or_default(),
                Dimension::Topic => row.topic_code.clone().unwrap_or_default(),
            });
        }
        for value in &row.values {
            record.push(number(value.value));
            record.push(number(value.denominator.or(value.numerator)));
        }
        writer.write_record(&record).map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| AppError::internal(format!("writing CSV: {error}")))?;
    String::from_utf8(bytes).map_err(AppError::internal)
}
