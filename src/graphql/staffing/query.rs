//! `staffingPlan`.

use async_graphql::{Context, Object, Result};

use crate::{
    auth::Action,
    db::enums::Channel,
    graphql::{context::ContextExt, scalars::Date, staffing::types::StaffingPlan},
    insights::staffing::{self, StaffingRequest},
};

#[derive(Default)]
pub struct StaffingQuery;

#[Object]
impl StaffingQuery {
    /// A week's staffing plan for a queued channel (PHONE or CHAT) of an org unit: for every
    /// local weekday × hour, the arrivals forecast from `[from, to]` (the historical mean), the
    /// average handle time, the Erlang C agents needed to answer `targetServiceLevel` of contacts
    /// within `thresholdSeconds`, and the staff to schedule after `shrinkage`; totalled per week
    /// against the unit's approved resource allocations. History covers the unit's subtree
    /// (supervisors: within their own subtree). Supervisors, analysts and admins.
    #[allow(clippy::too_many_arguments)]
    async fn staffing_plan(
        &self,
        ctx: &Context<'_>,
        org_unit_code: String,
        channel: Channel,
        from: Date,
        to: Date,
        #[graphql(desc = "Fraction of contacts to answer within the threshold, e.g. 0.8.")]
        target_service_level: f64,
        #[graphql(desc = "The service-level threshold in seconds, e.g. 20.")]
        threshold_seconds: i32,
        #[graphql(desc = "Fraction of paid time not available for contacts, in [0, 1), e.g. 0.3.")]
        shrinkage: f64,
    ) -> Result<StaffingPlan> {
        let principal = ctx.scope().authorize(Action::PlanStaffing)?;
        let record_scope = principal.record_scope();
        let time_zone = ctx.services().metrics.rules().time_zone;
        let plan = staffing::plan(
            ctx.database(),
            time_zone,
            record_scope,
            StaffingRequest {
                org_unit_code,
                channel,
                from: from.0,
                to: to.0,
                target_service_level,
                threshold_seconds,
                shrinkage,
            },
        )
        .await?;
        // Not `StaffingPlan::from`: the derived resolver of the `from` field shadows it.
        Ok(plan.into())
    }
}
