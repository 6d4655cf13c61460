//! Training, one aggregate: the course catalogue ([`create_course`]), assignments of a course to
//! an agent or supervisor ([`assign`], which can answer a training need the server recomputes
//! through the metrics engine), and their completion ([`complete`]).
//!
//! This module owns, for all three writes: parsing the inputs into domain values (the
//! submissions below can only be built by their parsers), the rules between them, the existence
//! checks within the caller's scope (an assignee or assignment outside it is `NOT_FOUND`, in the
//! same words as one that does not exist), and the audit event, written in the transaction of
//! the change. The GraphQL mutations authorize the caller, parse their arguments into these
//! submissions and call these functions.
//!
//! Concurrency is safe by construction rather than by reading first: a course code is claimed
//! by `INSERT … ON CONFLICT DO NOTHING`, so a taken code is `CONFLICT` whichever request came
//! first, and a completion is one conditional `UPDATE` (see [`complete`]).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    dsl::sql,
    pg::PgConnection,
    prelude::*,
    sql_types::{Nullable, Timestamptz},
};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::scope::{visible, Principal, RecordScope},
    db::{
        enums::{MetricKind, Role},
        models::{NewTrainingAssignment, NewTrainingCourse, TrainingAssignment, TrainingCourse},
        schema::{training_assignments, training_courses, users},
        Database,
    },
    domain::{Code, Description, Name, Note, ReportDate},
    error::{AppError, AppResult},
    insights::training::{check_need_metric, confirm_need, NeedEvidence},
    metrics::MetricsService,
};

/// A course to add to the catalogue; built only by [`CourseSubmission::parse`].
#[derive(Debug, Clone)]
pub struct CourseSubmission {
    code: Code,
    title: Name,
    description: Option<Description>,
    /// The metrics the course sets out to improve, without duplicates, in the order given.
    addressed_metrics: Vec<MetricKind>,
}

impl CourseSubmission {
    /// Parses a course as `createTrainingCourse` takes it. A blank description is none; a
    /// repeated metric counts once; `INTERACTIONS` is refused, because a volume is not
    /// something training improves and has no interval to judge a need by.
    pub fn parse(
        code: &str,
        title: &str,
        description: Option<&str>,
        addressed_metrics: &[MetricKind],
    ) -> AppResult<Self> {
        let code = Code::parse("code", code)?;
        let title = Name::parse("title", title)?;
        let description = Description::parse_optional("description", description)?;
        let mut addressed = Vec::new();
        for &metric in addressed_metrics {
            if metric == MetricKind::Interactions {
                return Err(AppError::bad_input(
                    "addressedMetrics",
                    "INTERACTIONS is a volume, not something training addresses",
                ));
            }
            if !addressed.contains(&metric) {
                addressed.push(metric);
            }
        }
        Ok(Self {
            code,
            title,
            description,
            addressed_metrics: addressed,
        })
    }
}

/// Adds a course to the catalogue and records `training_course.create`, in one transaction.
/// The code is claimed by the insert itself (`ON CONFLICT DO NOTHING`): a code already taken —
/// also by a request still in flight, which the insert waits for — is `CONFLICT`.
pub async fn create_course(
    database: &Database,
    principal: &Principal,
    submission: CourseSubmission,
    request_id: Option<String>,
) -> AppResult<TrainingCourse> {
    let actor = Actor::user(principal.user_id, principal.role);
    database
        .transaction(move |connection| {
            let code = submission.code.into_inner();
            let course: TrainingCourse = diesel::insert_into(training_courses::table)
                .values(NewTrainingCourse {
                    code: code.clone(),
                    title: submission.title.into_inner(),
                    description: submission.description.map(Description::into_inner),
                    addressed_metrics: submission.addressed_metrics.into_iter().map(Some).collect(),
                })
                .on_conflict(training_courses::code)
                .do_nothing()
                .returning(TrainingCourse::as_returning())
                .get_result(connection)
                .optional()?
                .ok_or_else(|| AppError::Conflict(format!("course `{code}` already exists")))?;
            audit::record(
                connection,
                Entry::new(actor, "training_course.create", "training_course")
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
        .await
}

/// The training need an assignment claims to answer: the agent worse than their team on
/// `metric` over `[from, to]` (as `trainingNeeds` defines it). Built only by
/// [`NeedClaim::parse`]; the server recomputes it before the assignment is made.
#[derive(Debug, Clone, Copy)]
pub struct NeedClaim {
    metric: MetricKind,
    from: ReportDate,
    to: ReportDate,
}

impl NeedClaim {
    /// Parses the `need` argument: a metric needs are assessed on, and two report dates.
    /// (That `from` is not after `to` is checked where the need is recomputed.)
    pub fn parse(metric: MetricKind, from: NaiveDate, to: NaiveDate) -> AppResult<Self> {
        check_need_metric(metric)?;
        Ok(Self {
            metric,
            from: ReportDate::parse("need", from)?,
            to: ReportDate::parse("need", to)?,
        })
    }
}

/// Why an assignment is made: a stated reason, or a training need (with an optional reason
/// that replaces the sentence stating the evidence).
#[derive(Debug, Clone)]
enum Motive {
    Reason(Note),
    Need {
        claim: NeedClaim,
        reason: Option<Note>,
    },
}

/// An assignment to make; built only by [`AssignmentSubmission::parse`].
#[derive(Debug, Clone)]
pub struct AssignmentSubmission {
    agent_id: i64,
    course_code: Code,
    motive: Motive,
    due_at: Option<DateTime<Utc>>,
}

impl AssignmentSubmission {
    /// Parses an assignment as `assignTraining` takes it. A reason, when given, is a [`Note`]
    /// (a blank one is refused rather than read as absent); without a need it is required.
    pub fn parse(
        agent_id: i64,
        course_code: &str,
        reason: Option<&str>,
        due_at: Option<DateTime<Utc>>,
        need: Option<NeedClaim>,
    ) -> AppResult<Self> {
        let course_code = Code::parse("courseCode", course_code)?;
        let reason = reason
            .map(|reason| Note::parse("reason", reason))
            .transpose()?;
        let motive = match (need, reason) {
            (Some(claim), reason) => Motive::Need { claim, reason },
            (None, Some(reason)) => Motive::Reason(reason),
            (None, None) => {
                return Err(AppError::bad_input(
                    "reason",
                    "give a reason, or the training need the assignment answers",
                ))
            }
        };
        Ok(Self {
            agent_id,
            course_code,
            motive,
            due_at,
        })
    }
}

/// Checks that `agent_id` is a user the caller may assign training to — `NOT_FOUND`, worded as
/// for a user that does not exist, outside their scope — and that training applies to their
/// role.
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

/// The active course `code`, or `BAD_USER_INPUT` on `courseCode` (the catalogue is readable by
/// every role, so naming a missing course tells nothing).
fn active_course(connection: &mut PgConnection, code: &Code) -> AppResult<TrainingCourse> {
    training_courses::table
        .filter(training_courses::code.eq(code.as_str()))
        .filter(training_courses::active.eq(true))
        .select(TrainingCourse::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::bad_input("courseCode", format!("no active course `{code}`")))
}

/// Recomputes the claimed need through the metrics engine, within what the caller may see of
/// the metrics. The assignee and course are checked first, so an unknown agent is `NOT_FOUND`
/// rather than "no need", and a course that does not address the metric is refused before any
/// metric is computed.
async fn confirm_claim(
    database: &Database,
    metrics: &MetricsService,
    principal: &Principal,
    submission: &AssignmentSubmission,
    claim: NeedClaim,
) -> AppResult<NeedEvidence> {
    let access = principal.metrics_access(metrics.min_cell_size())?;
    let record_scope = principal.record_scope();
    let agent_id = submission.agent_id;
    let code = submission.course_code.clone();
    database
        .run(move |connection| {
            check_assignee(connection, record_scope, agent_id)?;
            let course = active_course(connection, &code)?;
            if !course.addresses(claim.metric) {
                return Err(AppError::bad_input(
                    "courseCode",
                    format!("course `{code}` does not address {}", claim.metric),
                ));
            }
            Ok(())
        })
        .await?;
    confirm_need(
        database,
        metrics,
        access,
        agent_id,
        claim.metric,
        claim.from.get(),
        claim.to.get(),
    )
    .await
}

/// Assigns a course to an agent or supervisor the caller may see (supervisors: their subtree;
/// admins: anyone), and records `training.assign`, in one transaction. With a need, the need is
/// recomputed first and its evidence stored; the reason then defaults to a sentence stating it.
/// Each call is a new assignment: assigning a course twice is two assignments.
pub async fn assign(
    database: &Database,
    metrics: &MetricsService,
    principal: &Principal,
    submission: AssignmentSubmission,
    request_id: Option<String>,
) -> AppResult<TrainingAssignment> {
    let (reason, evidence) = match submission.motive.clone() {
        Motive::Reason(reason) => (reason.into_inner(), None),
        Motive::Need { claim, reason } => {
            let evidence = confirm_claim(database, metrics, principal, &submission, claim).await?;
            let reason = reason.map_or_else(|| evidence.sentence(), Note::into_inner);
            (reason, Some(evidence))
        }
    };
    let need = evidence
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|error| AppError::internal_with("need evidence as JSON", error))?;
    let record_scope = principal.record_scope();
    let actor = Actor::user(principal.user_id, principal.role);
    let assigned_by = principal.user_id;
    database
        .transaction(move |connection| {
            check_assignee(connection, record_scope, submission.agent_id)?;
            let course = active_course(connection, &submission.course_code)?;
            let assignment: TrainingAssignment = diesel::insert_into(training_assignments::table)
                .values(NewTrainingAssignment {
                    agent_id: submission.agent_id,
                    course_id: course.id,
                    assigned_by,
                    reason,
                    due_at: submission.due_at,
                    need,
                })
                .returning(TrainingAssignment::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(actor, "training.assign", "training_assignment")
                    .entity_id(assignment.id)
                    .after(serde_json::to_value(&assignment).unwrap_or_default())
                    .request_id(request_id),
            )?;
            Ok(assignment)
        })
        .await
}

/// Marks an assignment complete (agents: their own; admins: any), once.
///
/// One conditional statement does it: `UPDATE training_assignments SET completed_at = now()
/// WHERE id = … AND completed_at IS NULL AND <the caller's scope> RETURNING …`, and only a call
/// whose update changed the row writes the `training.complete` event. Two concurrent calls
/// therefore write one completion time and one event: PostgreSQL makes the second wait for the
/// first's row lock, then re-checks `completed_at IS NULL`, which no longer holds, so it
/// updates nothing. The second call — like every later one — then reads the assignment and
/// returns the first call's result unchanged. An assignment outside the caller's scope is
/// `NOT_FOUND`, in the same words as one that does not exist.
pub async fn complete(
    database: &Database,
    principal: &Principal,
    assignment_id: i64,
    request_id: Option<String>,
) -> AppResult<TrainingAssignment> {
    let record_scope = principal.record_scope();
    let actor = Actor::user(principal.user_id, principal.role);
    database
        .transaction(move |connection| {
            let mut completion = diesel::update(training_assignments::table)
                .filter(training_assignments::id.eq(assignment_id))
                .filter(training_assignments::completed_at.is_null())
                // PostgreSQL's clock (the transaction's start), like `created_at` and `updated_at`.
                .set(training_assignments::completed_at.eq(sql::<Nullable<Timestamptz>>("now()")))
                .into_boxed();
            if let Some(visible) = visible::training_assignments(record_scope) {
                completion = completion.filter(visible);
            }
            let completed: Option<TrainingAssignment> = completion
                .returning(TrainingAssignment::as_returning())
                .get_result(connection)
                .optional()?;
            let Some(completed) = completed else {
                return completed_earlier(connection, record_scope, assignment_id);
            };
            audit::record(
                connection,
                Entry::new(actor, "training.complete", "training_assignment")
                    .entity_id(assignment_id)
                    .before(json!({ "completed_at": null }))
                    .after(json!({ "completed_at": completed.completed_at }))
                    .request_id(request_id),
            )?;
            Ok(completed)
        })
        .await
}

/// After a completion that changed nothing: the assignment as an earlier completion left it,
/// or `NOT_FOUND` when the caller cannot see it (or it does not exist).
fn completed_earlier(
    connection: &mut PgConnection,
    record_scope: RecordScope,
    assignment_id: i64,
) -> AppResult<TrainingAssignment> {
    let mut query = training_assignments::table
        .filter(training_assignments::id.eq(assignment_id))
        .into_boxed();
    if let Some(visible) = visible::training_assignments(record_scope) {
        query = query.filter(visible);
    }
    let assignment: TrainingAssignment = query
        .select(TrainingAssignment::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no training assignment {assignment_id}")))?;
    if assignment.completed_at.is_none() {
        // The update matched no row, yet the row is visible and open: only a change of the
        // assignee between the two statements could do that.
        return Err(AppError::Conflict(format!(
            "training assignment {assignment_id} changed while it was being completed; retry"
        )));
    }
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: AppError) -> String {
        match error {
            AppError::BadUserInput {
                field: Some(field), ..
            } => field,
            other => panic!("expected BAD_USER_INPUT naming a field, got {other:?}"),
        }
    }

    #[test]
    fn courses_drop_repeated_metrics_and_refuse_volumes() {
        let course = CourseSubmission::parse(
            " FCR-101 ",
            " First contact ",
            Some("  "),
            &[MetricKind::Ease, MetricKind::Ease, MetricKind::Trust],
        )
        .unwrap();
        assert_eq!(course.code.as_str(), "FCR-101");
        assert_eq!(course.title.as_str(), "First contact");
        assert!(course.description.is_none(), "blank is none");
        assert_eq!(
            course.addressed_metrics,
            vec![MetricKind::Ease, MetricKind::Trust]
        );
        for (code, title, description, metrics, field) in [
            ("fcr", "T", None, vec![], "code"),
            ("FCR", "Two\nlines", None, vec![], "title"),
            ("FCR", "T", Some("x".repeat(4_001)), vec![], "description"),
            (
                "FCR",
                "T",
                None,
                vec![MetricKind::Interactions],
                "addressedMetrics",
            ),
        ] {
            let error =
                CourseSubmission::parse(code, title, description.as_deref(), &metrics).unwrap_err();
            assert_eq!(field_of(error), field);
        }
    }

    #[test]
    fn an_assignment_needs_a_reason_or_a_need() {
        let day = |day: u32| NaiveDate::from_ymd_opt(2026, 10, day).unwrap();
        let need = NeedClaim::parse(MetricKind::Csat, day(1), day(31)).unwrap();
        let with_need = AssignmentSubmission::parse(7, "CSAT-101", None, None, Some(need)).unwrap();
        assert!(matches!(
            with_need.motive,
            Motive::Need { reason: None, .. }
        ));
        let with_reason =
            AssignmentSubmission::parse(7, "CSAT-101", Some(" Onboarding "), None, None).unwrap();
        assert!(
            matches!(with_reason.motive, Motive::Reason(ref reason) if reason.as_str() == "Onboarding")
        );
        for (reason, field) in [
            (None, "reason"),
            (Some("   "), "reason"),
            (Some(&*"x".repeat(2_001)), "reason"),
        ] {
            let error = AssignmentSubmission::parse(7, "CSAT-101", reason, None, None).unwrap_err();
            assert_eq!(field_of(error), field);
        }
        let error = AssignmentSubmission::parse(7, "csat", Some("x"), None, None).unwrap_err();
        assert_eq!(field_of(error), "courseCode");
        for (metric, from) in [
            (MetricKind::ServiceLevel, day(1)),
            (
                MetricKind::Csat,
                NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
            ),
        ] {
            let error = NeedClaim::parse(metric, from, day(31)).unwrap_err();
            assert_eq!(field_of(error), "need");
        }
    }
}
