//! `metrics`, `metricCatalog` and `serviceStandardAttainment`.

use async_graphql::{Context, Object, Result};

use crate::{
    db::enums::MetricKind,
    graphql::{
        context::ContextExt,
        metrics::types::{
            MetricDefinition, MetricsQuery, MetricsReport, MetricsRow, ServiceStandardAttainment,
        },
        scalars::Date,
    },
    metrics::{
        attainment,
        catalog::{MetricShape, CATALOG},
        Dimension, Granularity,
    },
};

#[derive(Default)]
pub struct MetricsQueryRoot;

#[Object]
impl MetricsQueryRoot {
    /// The reporting query (definitions in docs/metrics.md): every metric over the caller's scope, by period and
    /// group, with numerators, denominators and 95% intervals. One SQL statement.
    async fn metrics(&self, ctx: &Context<'_>, query: MetricsQuery) -> Result<MetricsReport> {
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        let request = query.into_request()?;
        let rows = service
            .bounded_report(ctx.database(), access, request)
            .await?;
        Ok(MetricsReport {
            rows: rows.into_iter().map(MetricsRow::from).collect(),
            time_zone: service.rules().time_zone.name().to_owned(),
        })
    }

    /// Every metric: unit, definition, whether it is survey-based, and how it can be broken down.
    async fn metric_catalog(&self, ctx: &Context<'_>) -> Result<Vec<MetricDefinition>> {
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        let dimensions: Vec<Dimension> = [
            Dimension::Channel,
            Dimension::OrgUnit,
            Dimension::Agent,
            Dimension::Topic,
        ]
        .into_iter()
        .filter(|dimension| *dimension != Dimension::Agent || access.may_break_down_by_agent)
        .collect();
        Ok(CATALOG
            .iter()
            .map(|entry| MetricDefinition {
                metric: entry.kind,
                unit: entry.unit,
                formula: entry.formula.to_owned(),
                survey_based: entry.survey_based,
                proportion: entry.shape == MetricShape::Proportion,
                dimensions: dimensions.clone(),
                granularities: Granularity::ALL.to_vec(),
            })
            .collect())
    }

    /// Each service standard in force during `[from, to]` that applies to `orgUnitCode` (or to
    /// the whole agency without it): the actual value from the metrics engine over the caller's
    /// scope, the target, whether it is met, and the gap (actual − target).
    async fn service_standard_attainment(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        org_unit_code: Option<String>,
        #[graphql(desc = "Only standards of these metrics.")] metrics: Option<Vec<MetricKind>>,
    ) -> Result<Vec<ServiceStandardAttainment>> {
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        Ok(attainment::attainment(
            ctx.database(),
            service,
            access,
            from.0,
            to.0,
            org_unit_code,
            metrics.unwrap_or_default(),
        )
        .await?
        .into_iter()
        .map(ServiceStandardAttainment::from)
        .collect())
    }
}
