//! Service-standard attainment: each published target beside the actual value the metrics
//! engine computes for it (no second implementation of any metric). Used by the
//! `serviceStandardAttainment` query and the quarterly oversight report.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    auth::scope::MetricsAccess,
    db::{
        enums::{Channel, Comparator, MetricKind},
        models::{OrgUnit, ServiceStandard},
        schema::{org_units, service_standards},
        Database,
    },
    error::{AppError, AppResult},
    metrics::{MetricValue, MetricsFilter, MetricsRequest, MetricsService},
};

/// A standard and how the period measured up to it.
#[derive(Debug, Clone)]
pub struct StandardAttainment {
    pub standard: ServiceStandard,
    /// The org unit code the actual value covers (with its subtree); null for the whole agency.
    pub org_unit_code: Option<String>,
    /// The actual value with its sums and interval (suppressed cells stay suppressed).
    pub actual: MetricValue,
    pub target: f64,
    pub comparator: Comparator,
    /// Null when there is no actual value (no data, or suppressed).
    pub met: Option<bool>,
    /// actual − target; null without an actual value.
    pub gap: Option<f64>,
}

/// Standards that share a channel, org unit and threshold are measured by one request.
type Group = (Option<Channel>, Option<String>, Option<i32>);

/// Attainment of every standard in force during `[from, to]` that applies to `org_unit_code`
/// (its own unit or an ancestor's, or agency-wide), measured over the caller's `access`.
pub async fn attainment(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    from: NaiveDate,
    to: NaiveDate,
    org_unit_code: Option<String>,
    only: Vec<MetricKind>,
) -> AppResult<Vec<StandardAttainment>> {
    if from > to {
        return Err(AppError::bad_input("to", "must not be before `from`"));
    }
    let requested_code = org_unit_code.clone();
    let (standards, units) = database
        .run(move |connection| {
            // The requested unit and its ancestors: standards set for any of them apply to it.
            let lineage: Vec<i64> = match &requested_code {
                None => Vec::new(),
                Some(code) => {
                    let unit: OrgUnit = org_units::table
                        .filter(org_units::code.eq(code))
                        .select(OrgUnit::as_select())
                        .first(connection)
                        .optional()?
                        .ok_or_else(|| {
                            AppError::bad_input("orgUnitCode", format!("no org unit `{code}`"))
                        })?;
                    unit.path.iter().flatten().copied().collect()
                }
            };
            let mut query = service_standards::table
                .filter(service_standards::effective_from.le(to))
                .filter(
                    service_standards::effective_to
                        .is_null()
                        .or(service_standards::effective_to.ge(from)),
                )
                .into_boxed();
            query = if lineage.is_empty() {
                query.filter(service_standards::org_unit_id.is_null())
            } else {
                query.filter(
                    service_standards::org_unit_id
                        .is_null()
                        .or(service_standards::org_unit_id.eq_any(lineage)),
                )
            };
            let standards: Vec<ServiceStandard> = query
                .order(service_standards::id)
                .select(ServiceStandard::as_select())
                .load(connection)?;
            let unit_ids: Vec<i64> = standards.iter().filter_map(|s| s.org_unit_id).collect();
            let units: BTreeMap<i64, String> = org_units::table
                .filter(org_units::id.eq_any(unit_ids))
                .select((org_units::id, org_units::code))
                .load::<(i64, String)>(connection)?
                .into_iter()
                .collect();
            Ok((standards, units))
        })
        .await?;

    let standards: Vec<ServiceStandard> = standards
        .into_iter()
        .filter(|standard| only.is_empty() || only.contains(&standard.metric))
        .collect();
    // The unit a standard is measured over: the requested unit (more specific than, or equal
    // to, the standard's own) or, agency-wide, the standard's unit.
    let unit_of = |standard: &ServiceStandard| -> Option<String> {
        org_unit_code
            .clone()
            .or_else(|| standard.org_unit_id.and_then(|id| units.get(&id).cloned()))
    };
    let mut groups: BTreeMap<Group, Vec<MetricKind>> = BTreeMap::new();
    for standard in &standards {
        let metrics = groups
            .entry((
                standard.channel,
                unit_of(standard),
                standard.threshold_seconds,
            ))
            .or_default();
        if !metrics.contains(&standard.metric) {
            metrics.push(standard.metric);
        }
    }
    let mut actuals: BTreeMap<(Group, MetricKind), MetricValue> = BTreeMap::new();
    for ((channel, unit, threshold), metrics) in groups {
        let request = MetricsRequest {
            metrics: metrics.clone(),
            from,
            to,
            granularity: None,
            group_by: Vec::new(),
            filter: MetricsFilter {
                channels: channel.into_iter().collect(),
                org_unit_codes: unit.clone().into_iter().collect(),
                agent_ids: Vec::new(),
                topic_codes: Vec::new(),
            },
            service_level_threshold_seconds: threshold,
        };
        let rows = service.report(database, access, request).await?;
        let mut values = rows
            .into_iter()
            .next()
            .map(|row| row.values)
            .unwrap_or_default()
            .into_iter();
        for metric in metrics {
            let value = values.next().unwrap_or_else(|| empty_value(metric));
            actuals.insert(((channel, unit.clone(), threshold), metric), value);
        }
    }
    Ok(standards
        .into_iter()
        .map(|standard| {
            let group = (
                standard.channel,
                unit_of(&standard),
                standard.threshold_seconds,
            );
            // Standards on the same metric and group share one value.
            let actual = actuals
                .get(&(group.clone(), standard.metric))
                .cloned()
                .unwrap_or_else(|| empty_value(standard.metric));
            let (met, gap) = match actual.value {
                Some(value) => (
                    Some(match standard.comparator {
                        Comparator::AtLeast => value >= standard.target,
                        Comparator::AtMost => value <= standard.target,
                    }),
                    Some(value - standard.target),
                ),
                None => (None, None),
            };
            StandardAttainment {
                org_unit_code: group.1,
                target: standard.target,
                comparator: standard.comparator,
                met,
                gap,
                actual,
                standard,
            }
        })
        .collect())
}

/// The value of a metric over no interactions.
fn empty_value(metric: MetricKind) -> MetricValue {
    MetricValue {
        metric,
        value: None,
        numerator: None,
        denominator: None,
        lower: None,
        upper: None,
        suppressed: false,
    }
}
