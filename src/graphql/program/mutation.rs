//! Programme writes: training (`createTrainingCourse`, `assignTraining` — which can answer a
//! training need that the server recomputes and records — and `completeTraining`), allocations
//! (`proposeResourceAllocation`, `decideResourceAllocation`) and `setServiceStandard`.
//!
//! The resolvers are thin: they authorize the caller through the scope module, parse their
//! arguments into the submissions of `records::{training, allocations, standards}` (the parse
//! is the conversion), and call those modules, which own the rules, the scoped existence
//! checks, the concurrency safety and the audit event of each write.

use async_graphql::{Context, InputObject, Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::{
    auth::Action,
    db::enums::{Channel, Comparator, MetricKind},
    graphql::{
        context::ContextExt,
        filters::parse_id,
        program::types::{
            ResourceAllocationType, ServiceStandardType, TrainingAssignmentType, TrainingCourseType,
        },
        scalars::Date,
    },
    records::{
        allocations::{self, AllocationDecision, AllocationProposal, ProposalFields},
        standards::{self, StandardFields, StandardSubmission},
        training::{self, AssignmentSubmission, CourseSubmission, NeedClaim},
    },
};

/// A proposal for staffing and budget.
#[derive(InputObject)]
pub struct ResourceAllocationInput {
    pub org_unit_code: String,
    pub channel: Channel,
    pub period_start: Date,
    pub period_end: Date,
    /// From 0 to 100,000.
    pub staff_hours_per_week: f64,
    /// Full-time equivalents, from 0 to 2,500.
    pub fte: f64,
    /// From 0 to 100,000,000,000 (a billion dollars).
    #[graphql(default = 0)]
    pub budget_cents: i64,
    /// Why: the finding or forecast behind the proposal (at most 2,000 characters).
    pub rationale: String,
}

/// A service standard to publish (or, with `id`, to revise).
#[derive(InputObject)]
pub struct ServiceStandardInput {
    pub id: Option<ID>,
    pub metric: MetricKind,
    pub comparator: Comparator,
    /// Proportions are fractions from 0 to 1 (0.8 for 80%); averages are seconds (at most a
    /// week); INTERACTIONS is a count.
    pub target: f64,
    pub channel: Option<Channel>,
    pub org_unit_code: Option<String>,
    /// SERVICE_LEVEL only: the answer threshold, 1 to 86,400 seconds (defaults to 30 there).
    pub threshold_seconds: Option<i32>,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
    /// At most 4,000 characters; blank means none.
    pub description: Option<String>,
}

/// The training need an assignment answers: the agent is worse than their team on `metric`
/// over `[from, to]` beyond the 95% interval (as `trainingNeeds` defines it). The server
/// recomputes it and refuses the assignment if it does not hold.
#[derive(InputObject)]
pub struct TrainingNeedInput {
    /// CSAT, an A-11 driver, FIRST_CONTACT_RESOLUTION, TRANSFER_RATE or AVERAGE_HANDLE_TIME.
    pub metric: MetricKind,
    /// First local date of the period compared, inclusive.
    pub from: Date,
    /// Last local date, inclusive.
    pub to: Date,
}

#[derive(Default)]
pub struct ProgramMutation;

#[Object]
impl ProgramMutation {
    /// Adds a course to the catalogue (admin), with the metrics it sets out to improve. A code
    /// already taken is `CONFLICT`.
    async fn create_training_course(
        &self,
        ctx: &Context<'_>,
        code: String,
        #[graphql(desc = "One line, at most 200 characters.")] title: String,
        #[graphql(desc = "At most 4,000 characters; blank means none.")] description: Option<
            String,
        >,
        #[graphql(
            desc = "The metrics the course addresses (not INTERACTIONS, a volume); duplicates are dropped."
        )]
        addressed_metrics: Option<Vec<MetricKind>>,
    ) -> Result<TrainingCourseType> {
        let principal = ctx.scope().authorize(Action::Administer)?;
        let submission = CourseSubmission::parse(
            &code,
            &title,
            description.as_deref(),
            addressed_metrics.as_deref().unwrap_or_default(),
        )?;
        let course =
            training::create_course(ctx.database(), principal, submission, ctx.request_id())
                .await?;
        Ok(TrainingCourseType(course))
    }

    /// Assigns a course to an agent (supervisors: agents in their subtree; admins: anyone),
    /// recording why. With `need`, the server recomputes that training need through the metrics
    /// engine (the agent worse than their team on the metric beyond the 95% interval, with
    /// enough data), refuses the assignment when it does not hold or when the course does not
    /// address the metric, and stores the evidence; `reason` then defaults to a sentence
    /// stating it. Without `need`, `reason` is required.
    async fn assign_training(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        course_code: String,
        #[graphql(desc = "Why (required unless `need` is given); at most 2,000 characters.")]
        reason: Option<String>,
        due_at: Option<DateTime<Utc>>,
        #[graphql(desc = "The training need the assignment answers.")] need: Option<
            TrainingNeedInput,
        >,
    ) -> Result<TrainingAssignmentType> {
        let principal = ctx.scope().authorize(Action::AssignTraining)?;
        let need = need
            .map(|need| NeedClaim::parse(need.metric, need.from.0, need.to.0))
            .transpose()?;
        let submission = AssignmentSubmission::parse(
            parse_id("agentId", &agent_id)?,
            &course_code,
            reason.as_deref(),
            due_at,
            need,
        )?;
        let assignment = training::assign(
            ctx.database(),
            &ctx.services().metrics,
            principal,
            submission,
            ctx.request_id(),
        )
        .await?;
        Ok(TrainingAssignmentType(assignment))
    }

    /// Marks an assignment complete (agents: their own; admins: any). Completing twice keeps
    /// the first completion time: a second call, even a concurrent one, returns the assignment
    /// as the first left it.
    async fn complete_training(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
    ) -> Result<TrainingAssignmentType> {
        let principal = ctx.scope().authorize(Action::CompleteOwnTraining)?;
        let assignment_id = parse_id("assignmentId", &assignment_id)?;
        let assignment =
            training::complete(ctx.database(), principal, assignment_id, ctx.request_id()).await?;
        Ok(TrainingAssignmentType(assignment))
    }

    /// Proposes staffing and budget for a unit and channel (supervisors: within their subtree).
    async fn propose_resource_allocation(
        &self,
        ctx: &Context<'_>,
        input: ResourceAllocationInput,
    ) -> Result<ResourceAllocationType> {
        let principal = ctx.scope().authorize(Action::ProposeAllocation)?;
        let proposal = AllocationProposal::parse(ProposalFields {
            org_unit_code: &input.org_unit_code,
            channel: input.channel,
            period_start: input.period_start.0,
            period_end: input.period_end.0,
            staff_hours_per_week: input.staff_hours_per_week,
            fte: input.fte,
            budget_cents: input.budget_cents,
            rationale: &input.rationale,
        })?;
        let allocation =
            allocations::propose(ctx.database(), principal, proposal, ctx.request_id()).await?;
        Ok(ResourceAllocationType(allocation))
    }

    /// Approves or rejects a proposed allocation (admin). A decided allocation cannot be
    /// decided again (`CONFLICT`), also when two decisions arrive at once.
    async fn decide_resource_allocation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        approve: bool,
        #[graphql(desc = "At most 2,000 characters; blank means none.")] note: Option<String>,
    ) -> Result<ResourceAllocationType> {
        let principal = ctx.scope().authorize(Action::DecideAllocation)?;
        let id = parse_id("id", &id)?;
        let decision = AllocationDecision::parse(approve, note.as_deref())?;
        let allocation =
            allocations::decide(ctx.database(), principal, id, decision, ctx.request_id()).await?;
        Ok(ResourceAllocationType(allocation))
    }

    /// Publishes a service standard, or revises one with `id` (admin).
    async fn set_service_standard(
        &self,
        ctx: &Context<'_>,
        input: ServiceStandardInput,
    ) -> Result<ServiceStandardType> {
        let principal = ctx.scope().authorize(Action::Administer)?;
        let id = input.id.as_ref().map(|id| parse_id("id", id)).transpose()?;
        let submission = StandardSubmission::parse(StandardFields {
            metric: input.metric,
            comparator: input.comparator,
            target: input.target,
            channel: input.channel,
            org_unit_code: input.org_unit_code.as_deref(),
            threshold_seconds: input.threshold_seconds,
            effective_from: input.effective_from.0,
            effective_to: input.effective_to.map(|date| date.0),
            description: input.description.as_deref(),
        })?;
        let standard =
            standards::set(ctx.database(), principal, id, submission, ctx.request_id()).await?;
        Ok(ServiceStandardType(standard))
    }
}
