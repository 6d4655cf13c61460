//! Programme writes: training (`createTrainingCourse`, `assignTraining` — which can answer a
//! training need that the server recomputes and records — and `completeTraining`), allocations
//! (`proposeResourceAllocation`, `decideResourceAllocation`) and `setServiceStandard`. Each is
//! one transaction with its audit event.

use async_graphql::{Context, InputObject, Object, Result, ID};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::{
        scope::{visible, RecordScope},
        Action,
    },
    db::{
        enums::{AllocationStatus, Channel, Comparator, MetricKind, Role},
        models::{
            NewResourceAllocation, NewServiceStandard, NewTrainingAssignment, NewTrainingCourse,
            ResourceAllocation, ResourceAllocationChangeset, ServiceStandard, TrainingAssignment,
            TrainingCourse,
        },
        schema::{
            org_units, resource_allocations, service_standards, training_assignments,
            training_courses, users,
        },
    },
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        filters::parse_id,
        program::types::{
            ResourceAllocationType, ServiceStandardType, TrainingAssignmentType, TrainingCourseType,
        },
        scalars::Date,
    },
    insights::training::{self, NEED_METRICS},
};

/// A proposal for staffing and budget.
#[derive(InputObject)]
pub struct ResourceAllocationInput {
    pub org_unit_code: String,
    pub channel: Channel,
    pub period_start: Date,
    pub period_end: Date,
    pub staff_hours_per_week: f64,
    pub fte: f64,
    #[graphql(default = 0)]
    pub budget_cents: i64,
    /// Why: the finding or forecast behind the proposal.
    pub rationale: String,
}

/// A service standard to publish (or, with `id`, to revise).
#[derive(InputObject)]
pub struct ServiceStandardInput {
    pub id: Option<ID>,
    pub metric: MetricKind,
    pub comparator: Comparator,
    /// Proportions are fractions (0.8 for 80%); averages are seconds.
    pub target: f64,
    pub channel: Option<Channel>,
    pub org_unit_code: Option<String>,
    /// SERVICE_LEVEL only: the answer threshold (defaults to 30 seconds there).
    pub threshold_seconds: Option<i32>,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
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

/// Checks that `agent_id` is a user the caller may assign training to (`NOT_FOUND` outside
/// their scope) and that training applies to their role.
fn check_assignee(
    connection: &mut PgConnection,
    record_scope: RecordScope,
    agent_id: i64,
) -> AppResult<()> {
    let mut query = users::table.filter(users::id.eq(agent_id)).into_boxed();
    if let Some(visible) = visible::users(record_scope) {
        query = query.filter(visible);
    }
    let role: Role = query
        .select(users::role)
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no user {agent_id}")))?;
    if !matches!(role, Role::Agent | Role::Supervisor) {
        return Err(AppError::bad_input(
            "agentId",
            "training is assigned to agents and supervisors",
        ));
    }
    Ok(())
}

/// The active course `code`, or `BAD_USER_INPUT` on `courseCode`.
fn active_course(connection: &mut PgConnection, code: &str) -> AppResult<TrainingCourse> {
    training_courses::table
        .filter(training_courses::code.eq(code))
        .filter(training_courses::active.eq(true))
        .select(TrainingCourse::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::bad_input("courseCode", format!("no active course `{code}`")))
}

/// Metrics whose values are counts or seconds rather than proportions.
fn is_proportion(metric: MetricKind) -> bool {
    !matches!(
        metric,
        MetricKind::Interactions | MetricKind::AverageSpeedOfAnswer | MetricKind::AverageHandleTime
    )
}

#[derive(Default)]
pub struct ProgramMutation;

#[Object]
impl ProgramMutation {
    /// Adds a course to the catalogue (admin), with the metrics it sets out to improve.
    async fn create_training_course(
        &self,
        ctx: &Context<'_>,
        code: String,
        title: String,
        description: Option<String>,
        #[graphql(
            desc = "The DESIGN §4 metrics the course addresses (not INTERACTIONS, a volume); duplicates are dropped."
        )]
        addressed_metrics: Option<Vec<MetricKind>>,
    ) -> Result<TrainingCourseType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        crate::records::check_code("code", &code)?;
        if title.trim().is_empty() {
            return Err(AppError::bad_input("title", "must not be empty").into());
        }
        let mut addressed: Vec<Option<MetricKind>> = Vec::new();
        for metric in addressed_metrics.unwrap_or_default() {
            // A volume is not something training improves, and has no interval to judge by.
            if metric == MetricKind::Interactions {
                return Err(AppError::bad_input(
                    "addressedMetrics",
                    "INTERACTIONS is a volume, not something training addresses",
                )
                .into());
            }
            if !addressed.contains(&Some(metric)) {
                addressed.push(Some(metric));
            }
        }
        let request_id = ctx.request_id();
        let course = ctx
            .database()
            .transaction(move |connection| {
                let taken: i64 = training_courses::table
                    .filter(training_courses::code.eq(&code))
                    .count()
                    .get_result(connection)?;
                if taken > 0 {
                    return Err(AppError::Conflict(format!(
                        "course `{code}` already exists"
                    )));
                }
                let course: TrainingCourse = diesel::insert_into(training_courses::table)
                    .values(NewTrainingCourse {
                        code,
                        title: title.trim().to_owned(),
                        description,
                        addressed_metrics: addressed,
                    })
                    .returning(TrainingCourse::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "training_course.create",
                        "training_course",
                    )
                    .entity_id(course.id)
                    .after(json!({
                        "code": course.code,
                        "title": course.title,
                        "addressed_metrics": course.addressed_metrics,
                    }))
                    .request_id(request_id),
                )?;
                Ok(course)
            })
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
        #[graphql(desc = "Why (required unless `need` is given).")] reason: Option<String>,
        due_at: Option<DateTime<Utc>>,
        #[graphql(desc = "The training need the assignment answers.")] need: Option<
            TrainingNeedInput,
        >,
    ) -> Result<TrainingAssignmentType> {
        let principal = ctx.scope().authorize(Action::AssignTraining)?.clone();
        let record_scope = principal.record_scope();
        let agent_id = parse_id("agentId", &agent_id)?;
        let reason = reason.map(|reason| reason.trim().to_owned());
        match &reason {
            Some(reason) if reason.is_empty() || reason.len() > 2_000 => {
                return Err(AppError::bad_input("reason", "must be 1 to 2000 characters").into());
            }
            None if need.is_none() => {
                return Err(AppError::bad_input(
                    "reason",
                    "give a reason, or the training need the assignment answers",
                )
                .into());
            }
            _ => {}
        }
        let evidence = match need {
            None => None,
            Some(need) => {
                if !NEED_METRICS.contains(&need.metric) {
                    return Err(AppError::bad_input(
                        "need",
                        format!("training needs are not assessed on {}", need.metric),
                    )
                    .into());
                }
                // The agent and course first, so an unknown agent is NOT_FOUND rather than
                // "no need", and a course that does not address the metric is refused before
                // any metric is computed.
                let code = course_code.clone();
                let metric = need.metric;
                ctx.database()
                    .run(move |connection| {
                        check_assignee(connection, record_scope, agent_id)?;
                        let course = active_course(connection, &code)?;
                        if !course.addresses(metric) {
                            return Err(AppError::bad_input(
                                "courseCode",
                                format!("course `{code}` does not address {metric}"),
                            ));
                        }
                        Ok(())
                    })
                    .await?;
                let service = &ctx.services().metrics;
                let access = ctx.scope().metrics_access(service.min_cell_size())?;
                Some(
                    training::confirm_need(
                        ctx.database(),
                        service,
                        access,
                        agent_id,
                        need.metric,
                        need.from.0,
                        need.to.0,
                    )
                    .await?,
                )
            }
        };
        let reason = reason
            .or_else(|| evidence.as_ref().map(|evidence| evidence.sentence()))
            .ok_or_else(|| AppError::bad_input("reason", "must be given"))?;
        let need = evidence
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|error| AppError::internal(format!("need evidence as JSON: {error}")))?;
        let request_id = ctx.request_id();
        let assignment = ctx
            .database()
            .transaction(move |connection| {
                check_assignee(connection, record_scope, agent_id)?;
                let course = active_course(connection, &course_code)?;
                let assignment: TrainingAssignment =
                    diesel::insert_into(training_assignments::table)
                        .values(NewTrainingAssignment {
                            agent_id,
                            course_id: course.id,
                            assigned_by: principal.user_id,
                            reason,
                            due_at,
                            need,
                        })
                        .returning(TrainingAssignment::as_returning())
                        .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "training.assign",
                        "training_assignment",
                    )
                    .entity_id(assignment.id)
                    .after(serde_json::to_value(&assignment).unwrap_or_default())
                    .request_id(request_id),
                )?;
                Ok(assignment)
            })
            .await?;
        Ok(TrainingAssignmentType(assignment))
    }

    /// Marks an assignment complete (agents: their own; admins: any). Completing twice keeps
    /// the first completion time.
    async fn complete_training(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
    ) -> Result<TrainingAssignmentType> {
        let principal = ctx.scope().authorize(Action::CompleteOwnTraining)?.clone();
        let record_scope = principal.record_scope();
        let assignment_id = parse_id("assignmentId", &assignment_id)?;
        let request_id = ctx.request_id();
        let assignment = ctx
            .database()
            .transaction(move |connection| {
                let mut query = training_assignments::table
                    .filter(training_assignments::id.eq(assignment_id))
                    .into_boxed();
                if let Some(visible) = visible::training_assignments(record_scope) {
                    query = query.filter(visible);
                }
                let before: TrainingAssignment = query
                    .select(TrainingAssignment::as_select())
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| {
                        AppError::NotFound(format!("no training assignment {assignment_id}"))
                    })?;
                if before.completed_at.is_some() {
                    return Ok(before);
                }
                let after: TrainingAssignment =
                    diesel::update(training_assignments::table.find(assignment_id))
                        .set(training_assignments::completed_at.eq(Some(Utc::now())))
                        .returning(TrainingAssignment::as_returning())
                        .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "training.complete",
                        "training_assignment",
                    )
                    .entity_id(assignment_id)
                    .before(json!({ "completed_at": null }))
                    .after(json!({ "completed_at": after.completed_at }))
                    .request_id(request_id),
                )?;
                Ok(after)
            })
            .await?;
        Ok(TrainingAssignmentType(assignment))
    }

    /// Proposes staffing and budget for a unit and channel (supervisors: within their subtree).
    async fn propose_resource_allocation(
        &self,
        ctx: &Context<'_>,
        input: ResourceAllocationInput,
    ) -> Result<ResourceAllocationType> {
        let principal = ctx.scope().authorize(Action::ProposeAllocation)?.clone();
        let record_scope = principal.record_scope();
        if input.period_end.0 < input.period_start.0 {
            return Err(AppError::bad_input("periodEnd", "must not be before periodStart").into());
        }
        for (field, value) in [
            ("staffHoursPerWeek", input.staff_hours_per_week),
            ("fte", input.fte),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(AppError::bad_input(field, "must be a non-negative number").into());
            }
        }
        if input.budget_cents < 0 {
            return Err(AppError::bad_input("budgetCents", "must not be negative").into());
        }
        if input.rationale.trim().is_empty() {
            return Err(AppError::bad_input("rationale", "must not be empty").into());
        }
        let request_id = ctx.request_id();
        let allocation = ctx
            .database()
            .transaction(move |connection| {
                let org_unit_id: i64 = org_units::table
                    .filter(org_units::code.eq(&input.org_unit_code))
                    .select(org_units::id)
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| {
                        AppError::bad_input(
                            "orgUnitCode",
                            format!("no org unit `{}`", input.org_unit_code),
                        )
                    })?;
                if !visible::org_unit_in_scope(connection, record_scope, org_unit_id)? {
                    return Err(AppError::Forbidden(format!(
                        "{} is outside your org unit",
                        input.org_unit_code
                    )));
                }
                let allocation: ResourceAllocation =
                    diesel::insert_into(resource_allocations::table)
                        .values(NewResourceAllocation {
                            org_unit_id,
                            channel: input.channel,
                            period_start: input.period_start.0,
                            period_end: input.period_end.0,
                            staff_hours_per_week: input.staff_hours_per_week,
                            fte: input.fte,
                            budget_cents: input.budget_cents,
                            rationale: input.rationale.trim().to_owned(),
                            proposed_by: principal.user_id,
                        })
                        .returning(ResourceAllocation::as_returning())
                        .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "allocation.propose",
                        "resource_allocation",
                    )
                    .entity_id(allocation.id)
                    .after(serde_json::to_value(&allocation).unwrap_or_default())
                    .request_id(request_id),
                )?;
                Ok(allocation)
            })
            .await?;
        Ok(ResourceAllocationType(allocation))
    }

    /// Approves or rejects a proposed allocation (admin). A decided allocation cannot be
    /// decided again (`CONFLICT`).
    async fn decide_resource_allocation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        approve: bool,
        note: Option<String>,
    ) -> Result<ResourceAllocationType> {
        let principal = ctx.scope().authorize(Action::DecideAllocation)?.clone();
        let id = parse_id("id", &id)?;
        let request_id = ctx.request_id();
        let allocation = ctx
            .database()
            .transaction(move |connection| {
                let before: ResourceAllocation = resource_allocations::table
                    .find(id)
                    .select(ResourceAllocation::as_select())
                    .for_update()
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| AppError::NotFound(format!("no resource allocation {id}")))?;
                if before.status != AllocationStatus::Proposed {
                    return Err(AppError::Conflict(format!(
                        "allocation {id} was already {}",
                        before.status.as_db_str()
                    )));
                }
                let status = if approve {
                    AllocationStatus::Approved
                } else {
                    AllocationStatus::Rejected
                };
                let after: ResourceAllocation =
                    diesel::update(resource_allocations::table.find(id))
                        .set(ResourceAllocationChangeset {
                            status,
                            decided_by: Some(principal.user_id),
                            decided_at: Some(Utc::now()),
                            decision_note: note,
                        })
                        .returning(ResourceAllocation::as_returning())
                        .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "allocation.decide",
                        "resource_allocation",
                    )
                    .entity_id(id)
                    .before(json!({ "status": before.status }))
                    .after(json!({ "status": after.status, "decision_note": after.decision_note }))
                    .request_id(request_id),
                )?;
                Ok(after)
            })
            .await?;
        Ok(ResourceAllocationType(allocation))
    }

    /// Publishes a service standard, or revises one with `id` (admin).
    async fn set_service_standard(
        &self,
        ctx: &Context<'_>,
        input: ServiceStandardInput,
    ) -> Result<ServiceStandardType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        let id = input.id.as_ref().map(|id| parse_id("id", id)).transpose()?;
        if !input.target.is_finite()
            || input.target < 0.0
            || (is_proportion(input.metric) && input.target > 1.0)
        {
            return Err(AppError::bad_input(
                "target",
                "must be a fraction from 0 to 1 for proportions, or a non-negative number of seconds or interactions",
            )
            .into());
        }
        if input.threshold_seconds.is_some() && input.metric != MetricKind::ServiceLevel {
            return Err(
                AppError::bad_input("thresholdSeconds", "applies to SERVICE_LEVEL only").into(),
            );
        }
        if input.threshold_seconds.is_some_and(|seconds| seconds <= 0) {
            return Err(AppError::bad_input("thresholdSeconds", "must be positive").into());
        }
        if input
            .effective_to
            .is_some_and(|to| to.0 < input.effective_from.0)
        {
            return Err(
                AppError::bad_input("effectiveTo", "must not be before effectiveFrom").into(),
            );
        }
        let request_id = ctx.request_id();
        let standard = ctx
            .database()
            .transaction(move |connection| {
                let org_unit_id = match &input.org_unit_code {
                    None => None,
                    Some(code) => Some(
                        org_units::table
                            .filter(org_units::code.eq(code))
                            .select(org_units::id)
                            .first::<i64>(connection)
                            .optional()?
                            .ok_or_else(|| {
                                AppError::bad_input("orgUnitCode", format!("no org unit `{code}`"))
                            })?,
                    ),
                };
                let values = NewServiceStandard {
                    metric: input.metric,
                    comparator: input.comparator,
                    target: input.target,
                    channel: input.channel,
                    org_unit_id,
                    threshold_seconds: if input.metric == MetricKind::ServiceLevel {
                        Some(input.threshold_seconds.unwrap_or(30))
                    } else {
                        None
                    },
                    effective_from: input.effective_from.0,
                    effective_to: input.effective_to.map(|date| date.0),
                    description: input.description,
                    created_by: principal.user_id,
                };
                let actor = Actor::user(principal.user_id, principal.role);
                let standard: ServiceStandard = match id {
                    None => {
                        let standard: ServiceStandard =
                            diesel::insert_into(service_standards::table)
                                .values(&values)
                                .returning(ServiceStandard::as_returning())
                                .get_result(connection)?;
                        audit::record(
                            connection,
                            Entry::new(actor, "service_standard.create", "service_standard")
                                .entity_id(standard.id)
                                .after(serde_json::to_value(&standard).unwrap_or_default())
                                .request_id(request_id),
                        )?;
                        standard
                    }
                    Some(id) => {
                        let before: ServiceStandard = service_standards::table
                            .find(id)
                            .select(ServiceStandard::as_select())
                            .first(connection)
                            .optional()?
                            .ok_or_else(|| {
                                AppError::NotFound(format!("no service standard {id}"))
                            })?;
                        let standard: ServiceStandard =
                            diesel::update(service_standards::table.find(id))
                                .set(&values)
                                .returning(ServiceStandard::as_returning())
                                .get_result(connection)?;
                        audit::record(
                            connection,
                            Entry::new(actor, "service_standard.update", "service_standard")
                                .entity_id(id)
                                .before(serde_json::to_value(&before).unwrap_or_default())
                                .after(serde_json::to_value(&standard).unwrap_or_default())
                                .request_id(request_id),
                        )?;
                        standard
                    }
                };
                Ok(standard)
            })
            .await?;
        Ok(ServiceStandardType(standard))
    }
}
