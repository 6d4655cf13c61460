//! Service standards, one aggregate: published targets ("80% of calls answered within 30
//! seconds"), published and revised by [`set`].
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

/// The audit event of `action` by `principal`, with the standard as written.
fn event(principal: &Principal, action: &'static str, standard: &ServiceStandard) -> Entry {
    Entry::new(
        Actor::user(principal.user_id, principal.role),
        action,
        "service_standard",
    )
    .entity_id(standard.id)
    .after(serde_json::to_value(standard).unwrap_or_default())
}

/// Publishes a standard (`revision_of` none: `service_standard.create`) or replaces standard
/// `revision_of` with it (`service_standard.update`, with the standard before and after), and
/// records the event, in one transaction. A revised standard is locked before it is read, so
/// an unknown id is `NOT_FOUND` with nothing written, and of two concurrent revisions the
/// second waits for the first and its event's `before` is the first one's `after`.
pub async fn set(
    database: &Database,
    principal: &Principal,
    revision_of: Option<i64>,
    submission: StandardSubmission,
    request_id: Option<String>,
) -> AppResult<ServiceStandard> {
    let principal = principal.clone();
    database
        .transaction(move |connection| {
            let Some(id) = revision_of else {
                let values = submission.resolve(connection, &principal)?;
                let standard: ServiceStandard = diesel::insert_into(service_standards::table)
                    .values(&values)
                    .returning(ServiceStandard::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    event(&principal, "service_standard.create", &standard).request_id(request_id),
                )?;
                return Ok(standard);
            };
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
                event(&principal, "service_standard.update", &standard)
                    .before(serde_json::to_value(&before).unwrap_or_default())
                    .request_id(request_id),
            )?;
            Ok(standard)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(metric: MetricKind, target: f64) -> StandardFields<'static> {
        StandardFields {
            metric,
            comparator: Comparator::AtLeast,
            target,
            channel: None,
            org_unit_code: None,
            threshold_seconds: None,
            effective_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            effective_to: None,
            description: None,
        }
    }

    fn field_refused(fields: StandardFields<'_>) -> String {
        match StandardSubmission::parse(fields) {
            Err(AppError::BadUserInput {
                field: Some(field), ..
            }) => field,
            other => panic!("expected BAD_USER_INPUT naming a field, got {other:?}"),
        }
    }

    #[test]
    fn targets_follow_the_unit_of_their_metric() {
        assert!(StandardSubmission::parse(fields(MetricKind::Csat, 1.0)).is_ok());
        assert!(StandardSubmission::parse(fields(MetricKind::AverageHandleTime, 240.0)).is_ok());
        assert!(StandardSubmission::parse(fields(MetricKind::Interactions, 5_000.0)).is_ok());
        for (metric, target) in [
            (MetricKind::Csat, 1.01),
            (MetricKind::ServiceLevel, -0.1),
            (MetricKind::AverageHandleTime, f64::from(Seconds::MAX) + 1.0),
            (MetricKind::Interactions, f64::NAN),
        ] {
            assert_eq!(field_refused(fields(metric, target)), "target");
        }
    }

    #[test]
    fn service_level_thresholds_default_and_are_bounded() {
        let standard = StandardSubmission::parse(fields(MetricKind::ServiceLevel, 0.8)).unwrap();
        assert_eq!(standard.threshold_seconds, Some(DEFAULT_THRESHOLD_SECONDS));
        for (metric, seconds) in [
            (MetricKind::ServiceLevel, 0),
            (MetricKind::ServiceLevel, MAX_THRESHOLD_SECONDS + 1),
            (MetricKind::Csat, 30),
        ] {
            let changed = StandardFields {
                threshold_seconds: Some(seconds),
                ..fields(metric, 0.8)
            };
            assert_eq!(field_refused(changed), "thresholdSeconds");
        }
        let reversed = StandardFields {
            effective_to: NaiveDate::from_ymd_opt(2025, 12, 31),
            ..fields(MetricKind::Csat, 0.8)
        };
        assert_eq!(field_refused(reversed), "effectiveTo");
        let long = "x".repeat(4_001);
        let described = StandardFields {
            description: Some(&long),
            ..fields(MetricKind::Csat, 0.8)
        };
        assert_eq!(field_refused(described), "description");
    }
}
