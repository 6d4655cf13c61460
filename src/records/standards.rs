//! Service standards, one aggregate: published targets ("80% of calls answered within 30
//! seconds"), created by [`publish`] and revised by [`revise`].
//!
//! This module owns parsing the input into domain values (a [`StandardSubmission`] can only be
//! built by its parser), the rules of a target — its range follows the metric's unit in the
//! catalogue, a service-level threshold only for `SERVICE_LEVEL` and within what the metrics
//! engine accepts, effective dates in order — the org unit check through the scope module, and
//! the audit event of each write, in the write's transaction. The GraphQL mutation authorizes
//! the caller, parses its input into a submission, and calls one of these functions.
//!
//! A revision locks the standard (`SELECT … FOR UPDATE`) in the transaction that updates it, so
//! an unknown id is `NOT_FOUND` and writes nothing, and the event's `before` is the standard as
//! it was right before this revision — concurrent revisions apply one after the other.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::{
    audit::{self, Actor, Entry},
    auth::scope::Principal,
    db::{
        enums::{Channel, Comparator, MetricKind},
        models::{NewServiceStandard, ServiceStandard},
        schema::service_standards,
        Database,
    },
    domain::{Code, Description, ReportDate, Seconds},
    error::{AppError, AppResult},
    metrics::{
        catalog::{definition, MetricUnit, DEFAULT_THRESHOLD_SECONDS},
        engine::MAX_THRESHOLD_SECONDS,
    },
    records::lookup,
};

/// The largest target a standard on a count of interactions may state.
pub const MAX_COUNT_TARGET: f64 = 1_000_000_000.0;

/// A standard to publish or a revision; built only by [`StandardSubmission::parse`].
#[derive(Debug, Clone)]
pub struct StandardSubmission {
    metric: MetricKind,
    comparator: Comparator,
    target: f64,
    channel: Option<Channel>,
    org_unit_code: Option<Code>,
    /// `Some` exactly for `SERVICE_LEVEL`.
    threshold_seconds: Option<i32>,
    effective_from: ReportDate,
    effective_to: Option<ReportDate>,
    description: Option<Description>,
}

/// The raw fields of a standard, as `setServiceStandard` takes them.
#[derive(Debug, Clone)]
pub struct StandardFields<'a> {
    pub metric: MetricKind,
    pub comparator: Comparator,
    pub target: f64,
    pub channel: Option<Channel>,
    pub org_unit_code: Option<&'a str>,
    pub threshold_seconds: Option<i32>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub description: Option<&'a str>,
}

/// `target` if it is in the range of `metric`'s unit; otherwise `BAD_USER_INPUT` on `target`
/// stating that range.
fn parse_target(metric: MetricKind, target: f64) -> AppResult<f64> {
    let (max, range) = match definition(metric).unit {
        MetricUnit::Ratio => (1.0, "a fraction from 0 to 1 (0.8 for 80%)".to_owned()),
        MetricUnit::Seconds => (
            f64::from(Seconds::MAX),
            format!("a number of seconds from 0 to {}", Seconds::MAX),
        ),
        MetricUnit::Count => (
            MAX_COUNT_TARGET,
            format!("a number of interactions from 0 to {MAX_COUNT_TARGET}"),
        ),
    };
    if target.is_finite() && (0.0..=max).contains(&target) {
        Ok(target)
    } else {
        Err(AppError::bad_input(
            "target",
            format!("{metric} is measured as {range}"),
        ))
    }
}

impl StandardSubmission {
    /// Parses a standard. `SERVICE_LEVEL` gets the default threshold of the metrics engine
    /// when none is given; other metrics refuse one. A blank description is none.
    pub fn parse(fields: StandardFields<'_>) -> AppResult<Self> {
        let target = parse_target(fields.metric, fields.target)?;
        let threshold_seconds = match (fields.metric, fields.threshold_seconds) {
            (MetricKind::ServiceLevel, None) => Some(DEFAULT_THRESHOLD_SECONDS),
            (MetricKind::ServiceLevel, Some(seconds)) => {
                if !(1..=MAX_THRESHOLD_SECONDS).contains(&seconds) {
                    return Err(AppError::bad_input(
                        "thresholdSeconds",
                        format!("must be from 1 to {MAX_THRESHOLD_SECONDS} seconds"),
                    ));
                }
                Some(seconds)
            }
            (_, Some(_)) => {
                return Err(AppError::bad_input(
                    "thresholdSeconds",
                    "applies to SERVICE_LEVEL only",
                ))
            }
            (_, None) => None,
        };
        let effective_from = ReportDate::parse("effectiveFrom", fields.effective_from)?;
        let effective_to = fields
            .effective_to
            .map(|to| ReportDate::parse("effectiveTo", to))
            .transpose()?;
        if effective_to.is_some_and(|to| to < effective_from) {
            return Err(AppError::bad_input(
                "effectiveTo",
                "must not be before effectiveFrom",
            ));
        }
        Ok(Self {
            metric: fields.metric,
            comparator: fields.comparator,
            target,
            channel: fields.channel,
            org_unit_code: fields
                .org_unit_code
                .map(|code| Code::parse("orgUnitCode", code))
                .transpose()?,
            threshold_seconds,
            effective_from,
            effective_to,
            description: Description::parse_optional("description", fields.description)?,
        })
    }

    /// The row to write, with the org unit resolved within the caller's scope.
    fn resolve(
        self,
        connection: &mut PgConnection,
        principal: &Principal,
    ) -> AppResult<NewServiceStandard> {
        let org_unit_id = self
            .org_unit_code
            .map(|code| {
                lookup::org_unit_for_write(
                    connection,
                    principal.record_scope(),
                    "orgUnitCode",
                    code.as_str(),
                )
            })
            .transpose()?;
        Ok(NewServiceStandard {
            metric: self.metric,
            comparator: self.comparator,
            target: self.target,
            channel: self.channel,
            org_unit_id,
            threshold_seconds: self.threshold_seconds,
            effective_from: self.effective_from.get(),
            effective_to: self.effective_to.map(ReportDate::get),
            description: self.description.map(Description::into_inner),
            created_by: principal.user_id,
        })
    }
}

/// Publishes a standard and records `service_standard.create`, in one transaction.
pub async fn publish(
    database: &Database,
    principal: &Principal,
    submission: StandardSubmission,
    request_id: Option<String>,
) -> AppResult<ServiceStandard> {
    let principal = principal.clone();
    database
        .transaction(move |connection| {
            let values = submission.resolve(connection, &principal)?;
            let standard: ServiceStandard = diesel::insert_into(service_standards::table)
                .values(&values)
                .returning(ServiceStandard::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(
                    Actor::user(principal.user_id, principal.role),
                    "service_standard.create",
                    "service_standard",
                )
                .entity_id(standard.id)
                .after(serde_json::to_value(&standard).unwrap_or_default())
                .request_id(request_id),
            )?;
            Ok(standard)
        })
        .await
}

/// Replaces standard `id` with `submission` and records `service_standard.update` with the
/// standard before and after, in one transaction. The standard is locked before it is read, so
/// an unknown id is `NOT_FOUND` with nothing written, and of two concurrent revisions the
/// second waits for the first and its event's `before` is the first one's `after`.
pub async fn revise(
    database: &Database,
    principal: &Principal,
    id: i64,
    submission: StandardSubmission,
    request_id: Option<String>,
) -> AppResult<ServiceStandard> {
    let principal = principal.clone();
    database
        .transaction(move |connection| {
            let before: ServiceStandard = service_standards::table
                .find(id)
                .select(ServiceStandard::as_select())
                .for_update()
                .first(connection)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("no service standard {id}")))?;
            let values = submission.resolve(connection, &principal)?;
            let standard: ServiceStandard = diesel::update(service_standards::table.find(id))
                .set(&values)
                .returning(ServiceStandard::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(
                    Actor::user(principal.user_id, principal.role),
                    "service_standard.update",
                    "service_standard",
                )
                .entity_id(id)
                .before(serde_json::to_value(&before).unwrap_or_default())
                .after(serde_json::to_value(&standard).unwrap_or_default())
                .request_id(request_id),
            )?;
            Ok(standard)
        })
        .await
}
