//! GraphQL types of the programme domain.

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::{
    auth::Action,
    db::{
        enums::{AllocationStatus, Channel, Comparator, MetricKind},
        models,
    },
    error::AppError,
    graphql::{
        context::ContextExt,
        organisation::{OrgUnitType, UserType},
        scalars::Date,
        training_insights::types::TrainingNeedEvidence,
    },
    insights::training::NeedEvidence,
};

/// A course staff can be assigned.
pub struct TrainingCourseType(pub models::TrainingCourse);

#[Object(name = "TrainingCourse")]
impl TrainingCourseType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The metrics the course sets out to improve (`trainingNeeds` lists it for needs on them;
    /// `trainingImpact` measures them).
    async fn addressed_metrics(&self) -> Vec<MetricKind> {
        self.0.addressed().collect()
    }
}

/// A course assigned to an agent, and why.
pub struct TrainingAssignmentType(pub models::TrainingAssignment);

async fn user(ctx: &Context<'_>, id: i64) -> Result<UserType> {
    ctx.loaders()
        .users
        .load_one(id)
        .await?
        .map(UserType)
        .ok_or_else(|| AppError::internal(format!("user {id} is missing")).into())
}

#[Object(name = "TrainingAssignment")]
impl TrainingAssignmentType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn agent(&self, ctx: &Context<'_>) -> Result<UserType> {
        user(ctx, self.0.agent_id).await
    }
    async fn course(&self, ctx: &Context<'_>) -> Result<TrainingCourseType> {
        ctx.loaders()
            .courses
            .load_one(self.0.course_id)
            .await?
            .map(TrainingCourseType)
            .ok_or_else(|| AppError::internal("assignment's course is missing").into())
    }
    async fn assigned_by(&self, ctx: &Context<'_>) -> Result<UserType> {
        user(ctx, self.0.assigned_by).await
    }
    /// Why it was assigned (e.g. the finding that motivated it).
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The training need the assignment answers, with the evidence the server recomputed when
    /// it was made; null when it was assigned for another reason.
    async fn need(&self) -> Result<Option<TrainingNeedEvidence>> {
        let Some(need) = &self.0.need else {
            return Ok(None);
        };
        let evidence: NeedEvidence = serde_json::from_value(need.clone()).map_err(|error| {
            AppError::internal(format!(
                "assignment {} holds unreadable need evidence: {error}",
                self.0.id
            ))
        })?;
        Ok(Some(evidence.into()))
    }
}

/// Staff hours, FTE and budget for an org unit and channel over a period.
pub struct ResourceAllocationType(pub models::ResourceAllocation);

#[Object(name = "ResourceAllocation")]
impl ResourceAllocationType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        ctx.loaders()
            .org_units
            .load_one(self.0.org_unit_id)
            .await?
            .map(OrgUnitType::from)
            .ok_or_else(|| AppError::internal("allocation's org unit is missing").into())
    }
    async fn channel(&self) -> Channel {
        self.0.channel
    }
    async fn period_start(&self) -> Date {
        Date(self.0.period_start)
    }
    async fn period_end(&self) -> Date {
        Date(self.0.period_end)
    }
    async fn staff_hours_per_week(&self) -> f64 {
        self.0.staff_hours_per_week
    }
    async fn fte(&self) -> f64 {
        self.0.fte
    }
    /// Budget in cents (integer, to avoid rounding).
    async fn budget_cents(&self) -> i64 {
        self.0.budget_cents
    }
    async fn status(&self) -> AllocationStatus {
        self.0.status
    }
    async fn rationale(&self) -> &str {
        &self.0.rationale
    }
    async fn proposed_by(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        if ctx.scope().authorize(Action::IdentifyAgents).is_err() {
            return Ok(None);
        }
        user(ctx, self.0.proposed_by).await.map(Some)
    }
    async fn decided_by(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        let Some(id) = self.0.decided_by else {
            return Ok(None);
        };
        if ctx.scope().authorize(Action::IdentifyAgents).is_err() {
            return Ok(None);
        }
        user(ctx, id).await.map(Some)
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
}

/// A published target, e.g. "80% of calls answered within 30 seconds".
pub struct ServiceStandardType(pub models::ServiceStandard);

#[Object(name = "ServiceStandard")]
impl ServiceStandardType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn metric(&self) -> MetricKind {
        self.0.metric
    }
    async fn comparator(&self) -> Comparator {
        self.0.comparator
    }
    async fn target(&self) -> f64 {
        self.0.target
    }
    /// The channel it applies to; null for all channels.
    async fn channel(&self) -> Option<Channel> {
        self.0.channel
    }
    /// The unit (and its subtree) it applies to; null for the whole agency.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<Option<OrgUnitType>> {
        let Some(id) = self.0.org_unit_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .org_units
            .load_one(id)
            .await?
            .map(OrgUnitType::from))
    }
    /// For SERVICE_LEVEL: the answer threshold the target is stated against.
    async fn threshold_seconds(&self) -> Option<i32> {
        self.0.threshold_seconds
    }
    async fn effective_from(&self) -> Date {
        Date(self.0.effective_from)
    }
    async fn effective_to(&self) -> Option<Date> {
        self.0.effective_to.map(Date)
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
}
