//! `programScorecard` and `oversightReport`.

use async_graphql::{Context, Object, Result};

use crate::{
    auth::Action,
    graphql::{
        context::ContextExt,
        oversight::types::{
            OversightReportView, ProgramScorecard, ScorecardMappingInput, ScorecardWeightsInput,
        },
        scalars::Date,
    },
    insights::{
        oversight,
        scorecard::{self, ScorecardRequest},
    },
};

#[derive(Default)]
pub struct OversightQuery;

#[Object]
impl OversightQuery {
    /// The composite program index (0–100) over the caller's scope for `[from, to]`: service
    /// maturity (self-service), customer-service maturity (FCR, service level, transfers,
    /// response rate) and citizen voice (CSAT and the A-11 drivers). Every input is shown with
    /// its value, n, 0–100 score and contribution; weights and mappings can be overridden and
    /// are returned with the result.
    async fn program_scorecard(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        #[graphql(desc = "An org unit (with its subtree); absent for the caller's whole scope.")]
        org_unit_code: Option<String>,
        #[graphql(desc = "Component weights; absent ones keep 0.10 / 0.50 / 0.40.")]
        weights: Option<ScorecardWeightsInput>,
        #[graphql(desc = "Per-input overrides of the default 0–100 mappings.")] mappings: Option<
            Vec<ScorecardMappingInput>,
        >,
    ) -> Result<ProgramScorecard> {
        ctx.scope().authorize(Action::ReadScorecard)?;
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        let request = ScorecardRequest {
            from: from.0,
            to: to.0,
            org_unit_code,
            weights: weights.unwrap_or_default().into_weights(),
            mappings: mappings
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let card = scorecard::compute(ctx.database(), service, access, request).await?;
        Ok(card.into())
    }

    /// The quarterly oversight report (auditor, admin) for fiscal quarter `quarter` (1–4) of
    /// `fiscalYear` (named by the calendar year it ends in: FY2026-Q1 = Jul–Sep 2025 with a July
    /// fiscal year). Also at `/export/oversight-report.csv` and, printable, `/reports/oversight`.
    async fn oversight_report(
        &self,
        ctx: &Context<'_>,
        fiscal_year: i32,
        quarter: i32,
    ) -> Result<OversightReportView> {
        ctx.scope().authorize(Action::ReadOversightReport)?;
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        let report = oversight::generate(
            ctx.database(),
            service,
            access,
            &ctx.services().config.retention,
            fiscal_year,
            quarter,
        )
        .await?;
        Ok(report.into())
    }
}
