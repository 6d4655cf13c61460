//! GraphQL types of the reporting API (names are the contract BI tools are built on).

use async_graphql::{ComplexObject, Context, InputObject, Result, SimpleObject, ID};

use crate::{
    auth::Action,
    db::enums::{Channel, Comparator, MetricKind},
    error::AppResult,
    graphql::{
        context::ContextExt,
        filters::parse_ids,
        organisation::types::{OrgUnitType, TopicType, UserType},
        plain::PlainList,
        program::types::ServiceStandardType,
        scalars::Date,
    },
    metrics::{
        self, attainment::StandardAttainment, catalog::MetricUnit, Dimension, Granularity,
        MetricsFilter as EngineFilter, MetricsRequest, ReportRow,
    },
};

/// Which interactions a report covers. Empty or absent lists do not restrict.
#[derive(InputObject, Default, Clone)]
pub struct MetricsFilter {
    pub channels: Option<Vec<Channel>>,
    /// Org units, each with everything below it.
    pub org_unit_codes: Option<Vec<String>>,
    pub agent_ids: Option<Vec<ID>>,
    pub topic_codes: Option<Vec<String>>,
}

/// A reporting request.
#[derive(InputObject, Clone)]
pub struct MetricsQuery {
    pub metrics: Vec<MetricKind>,
    /// First local date (reporting time zone), inclusive.
    pub from: Date,
    /// Last local date, inclusive.
    pub to: Date,
    /// Without it, one period covers the whole range.
    pub granularity: Option<Granularity>,
    pub group_by: Option<Vec<Dimension>>,
    pub filter: Option<MetricsFilter>,
    /// T of SERVICE_LEVEL (default 30).
    pub service_level_threshold_seconds: Option<i32>,
}

impl MetricsQuery {
    /// The engine's request.
    pub fn into_request(self) -> AppResult<MetricsRequest> {
        let filter = self.filter.unwrap_or_default();
        Ok(MetricsRequest {
            metrics: self.metrics,
            from: self.from.0,
            to: self.to.0,
            granularity: self.granularity,
            group_by: self.group_by.unwrap_or_default(),
            filter: EngineFilter {
                channels: filter.channels.unwrap_or_default(),
                org_unit_codes: filter.org_unit_codes.unwrap_or_default(),
                agent_ids: parse_ids("filter.agentIds", &filter.agent_ids.unwrap_or_default())?,
                topic_codes: filter.topic_codes.unwrap_or_default(),
            },
            service_level_threshold_seconds: self.service_level_threshold_seconds,
        })
    }
}

/// The answer to a reporting request.
#[derive(SimpleObject)]
pub struct MetricsReport {
    /// One row per (period, group) with at least one interaction, by period then group.
    pub rows: Vec<MetricsRow>,
    /// The IANA zone the periods are cut in.
    pub time_zone: String,
}

/// One (period, group).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MetricsRow {
    /// First day of the period (the `from` date when there is no granularity).
    pub period_start: Option<Date>,
    /// `2025-03-09`, `2025-W01`, `2025-03`, `2025-Q1`, `2025`, `FY2026-Q1`, `FY2026`, or
    /// `FROM/TO` without granularity.
    pub period_label: Option<String>,
    pub channel: Option<Channel>,
    // Resolved in one pass (`PlainList`): a report is mostly these.
    pub values: PlainList<MetricValue>,
    #[graphql(skip)]
    pub org_unit_id: Option<i64>,
    #[graphql(skip)]
    pub agent_id: Option<i64>,
    #[graphql(skip)]
    pub topic_id: Option<i64>,
}

impl From<ReportRow> for MetricsRow {
    fn from(row: ReportRow) -> Self {
        Self {
            period_start: Some(Date(row.period_start)),
            period_label: Some(row.period_label),
            channel: row.channel,
            values: row.values.into_iter().map(MetricValue::from).collect(),
            org_unit_id: row.org_unit_id,
            agent_id: row.agent_id,
            topic_id: row.topic_id,
        }
    }
}

#[ComplexObject]
impl MetricsRow {
    /// The org unit, when grouped by ORG_UNIT.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<Option<OrgUnitType>> {
        let Some(id) = self.org_unit_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .org_units
            .load_one(id)
            .await?
            .map(OrgUnitType::from))
    }

    /// The agent, when grouped by AGENT (never for roles without per-agent detail).
    async fn agent(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        let Some(id) = self.agent_id else {
            return Ok(None);
        };
        if ctx.scope().authorize(Action::IdentifyAgents).is_err() {
            return Ok(None);
        }
        Ok(ctx.loaders().users.load_one(id).await?.map(UserType))
    }

    /// The topic, when grouped by TOPIC.
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<TopicType>> {
        let Some(id) = self.topic_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .topics
            .load_one(id)
            .await?
            .map(TopicType::from))
    }
}

/// One metric of one row: the value with the sums it came from and its 95% interval.
#[derive(SimpleObject, Clone)]
pub struct MetricValue {
    pub metric: MetricKind,
    /// Null when the denominator is 0 or the cell is suppressed.
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    /// Null for counts (INTERACTIONS).
    pub denominator: Option<f64>,
    /// 95% interval: Wilson for proportions, mean ± 1.96·s/√n for means.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// True when a small survey cell is withheld from an aggregate-only role.
    pub suppressed: bool,
}

impl From<metrics::MetricValue> for MetricValue {
    fn from(value: metrics::MetricValue) -> Self {
        Self {
            metric: value.metric,
            value: value.value,
            numerator: value.numerator,
            denominator: value.denominator,
            lower: value.lower,
            upper: value.upper,
            suppressed: value.suppressed,
        }
    }
}

/// A metric of the catalogue.
#[derive(SimpleObject)]
pub struct MetricDefinition {
    pub metric: MetricKind,
    pub unit: MetricUnit,
    /// The definition in words (as in docs/metrics.md).
    pub formula: String,
    /// Whether it is computed from survey responses (suppressed in small cells for analysts).
    pub survey_based: bool,
    /// Whether the value is a proportion with a Wilson interval.
    pub proportion: bool,
    /// The dimensions it can be grouped and filtered by.
    pub dimensions: Vec<Dimension>,
    /// The periods it can be reported in.
    pub granularities: Vec<Granularity>,
}

/// A standard and how the period measured up to it.
#[derive(SimpleObject)]
pub struct ServiceStandardAttainment {
    pub standard: ServiceStandardType,
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

impl From<StandardAttainment> for ServiceStandardAttainment {
    fn from(attainment: StandardAttainment) -> Self {
        Self {
            standard: ServiceStandardType(attainment.standard),
            org_unit_code: attainment.org_unit_code,
            actual: MetricValue::from(attainment.actual),
            target: attainment.target,
            comparator: attainment.comparator,
            met: attainment.met,
            gap: attainment.gap,
        }
    }
}
