//! `trainingNeeds` and `trainingImpact`.

use std::collections::BTreeSet;

use async_graphql::{Context, Object, Result, ID};
use diesel::prelude::*;

use crate::{
    auth::{scope::visible, Action},
    db::schema::org_units,
    error::AppError,
    graphql::{
        context::ContextExt,
        filters::parse_id,
        program::types::TrainingCourseType,
        scalars::Date,
        training_insights::types::{
            AgentTrainingNeeds, TrainingImpactReport, TrainingNeed, TrainingNeedsReport,
        },
    },
    insights::training::{self, NeedPopulation, NEED_METRICS},
};

#[derive(Default)]
pub struct TrainingInsightsQuery;

#[Object]
impl TrainingInsightsQuery {
    /// Training needs over `[from, to]` in `orgUnitCode` and below (supervisors: within their
    /// subtree; admins: anywhere). For every agent with enough data (n ≥ `minimumN`), each
    /// metric among CSAT, the six A-11 drivers, FIRST_CONTACT_RESOLUTION, TRANSFER_RATE and
    /// AVERAGE_HANDLE_TIME on which the agent is worse than their own team (the org unit of the
    /// interactions they handled; its value includes the agent) beyond the 95% interval: the
    /// agent's upper bound below the team value (lower bound above it for TRANSFER_RATE and
    /// AVERAGE_HANDLE_TIME). Ties and overlaps are not needs. Agents with too little data are
    /// listed in `insufficientData`.
    async fn training_needs(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        org_unit_code: String,
    ) -> Result<TrainingNeedsReport> {
        let principal = ctx.scope().authorize(Action::ReadTrainingNeeds)?;
        let record_scope = principal.record_scope();
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        if from.0 > to.0 {
            return Err(AppError::bad_input("to", "must not be before `from`").into());
        }
        let code = org_unit_code.clone();
        let org_unit_id = ctx
            .database()
            .run(move |connection| {
                let id: i64 = org_units::table
                    .filter(org_units::code.eq(&code))
                    .select(org_units::id)
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| {
                        AppError::bad_input("orgUnitCode", format!("no org unit `{code}`"))
                    })?;
                if !visible::org_unit_in_scope(connection, record_scope, id)? {
                    return Err(AppError::Forbidden(format!(
                        "{code} is outside your org unit"
                    )));
                }
                Ok(id)
            })
            .await?;
        let assessment = training::assess_needs(
            ctx.database(),
            service,
            access,
            &NEED_METRICS,
            from.0,
            to.0,
            NeedPopulation::OrgUnit(org_unit_code),
        )
        .await?;
        let needed: BTreeSet<_> = assessment
            .agents
            .iter()
            .flat_map(|agent| agent.needs.iter().map(|need| need.metric))
            .collect();
        let courses = training::courses_addressing(ctx.database(), needed).await?;
        let agents = assessment
            .agents
            .into_iter()
            .map(|agent| AgentTrainingNeeds {
                needs: agent
                    .needs
                    .into_iter()
                    .map(|need| {
                        let addressing = courses
                            .get(&need.metric)
                            .into_iter()
                            .flatten()
                            .cloned()
                            .map(TrainingCourseType)
                            .collect();
                        TrainingNeed::new(need, addressing)
                    })
                    .collect(),
                agent_id: agent.agent_id,
                org_unit_id: agent.org_unit_id,
            })
            .collect();
        Ok(TrainingNeedsReport {
            from,
            to,
            minimum_n: assessment.minimum_n,
            agents,
            insufficient_data: assessment
                .insufficient
                .into_iter()
                .map(Into::into)
                .collect(),
            org_unit_id,
        })
    }

    /// What course `courseId` changed for the agents who completed it (supervisors: agents of
    /// their subtree): each metric the course addresses over the `windowDays` local days before
    /// the completion date and the `windowDays` days after (the completion day excluded), per
    /// agent and pooled, with after − before and its 95% interval (Newcombe for proportions,
    /// Welch for means). Agents with fewer than `minimumN` data points in either window are
    /// listed in `insufficientData`.
    async fn training_impact(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        #[graphql(desc = "Days in each window, 1 to 365.")] window_days: i32,
    ) -> Result<TrainingImpactReport> {
        let principal = ctx.scope().authorize(Action::ReadTrainingImpact)?;
        let record_scope = principal.record_scope();
        let service = &ctx.services().metrics;
        let access = ctx.scope().metrics_access(service.min_cell_size())?;
        let course_id = parse_id("courseId", &course_id)?;
        let report = training::measure_impact(
            ctx.database(),
            service,
            access,
            record_scope,
            course_id,
            i64::from(window_days),
        )
        .await?;
        Ok(report.into())
    }
}
