//! Resource allocations, one aggregate: proposals of staff hours, FTE and budget for an org unit
//! and channel over a period ([`propose`]) and the decision on them ([`decide`]): `proposed` →
//! `approved` | `rejected`, once.
//!
//! This module owns parsing the inputs into domain values (the submissions below can only be
//! built by their parsers), the bounds of the numbers, the rules between fields, the scope
//! checks (a proposal only for a unit in the caller's scope; a decision only on an allocation
//! the caller can see, `NOT_FOUND` in the same words as a missing one otherwise), and the audit
//! event of each write, in the write's transaction. The GraphQL mutations authorize the caller,
//! parse their arguments into these submissions, and call these functions.
//!
//! A decision is one conditional `UPDATE … WHERE status = 'proposed'`, so of two concurrent
//! decisions exactly one is applied and the other is `CONFLICT` (see [`decide`]).

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::scope::{visible, Principal},
    db::{
        enums::{AllocationStatus, Channel},
        models::{NewResourceAllocation, ResourceAllocation, ResourceAllocationChangeset},
        schema::resource_allocations,
        Database,
    },
    domain::{Code, Note, ReportDate},
    error::{AppError, AppResult},
    records::lookup,
};

/// The most staff hours a week one proposal may carry: 2,500 full-time staff at 40 hours.
pub const MAX_STAFF_HOURS_PER_WEEK: f64 = 100_000.0;
/// The most full-time equivalents one proposal may carry.
pub const MAX_FTE: f64 = 2_500.0;
/// The largest budget one proposal may carry, in cents (a billion dollars).
pub const MAX_BUDGET_CENTS: i64 = 100_000_000_000;

/// A proposal; built only by [`AllocationProposal::parse`].
#[derive(Debug, Clone)]
pub struct AllocationProposal {
    org_unit_code: Code,
    channel: Channel,
    period_start: ReportDate,
    period_end: ReportDate,
    staff_hours_per_week: f64,
    fte: f64,
    budget_cents: i64,
    rationale: Note,
}

/// The raw fields of a proposal, as `proposeResourceAllocation` takes them.
#[derive(Debug, Clone)]
pub struct ProposalFields<'a> {
    pub org_unit_code: &'a str,
    pub channel: Channel,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub staff_hours_per_week: f64,
    pub fte: f64,
    pub budget_cents: i64,
    pub rationale: &'a str,
}

/// `value` if it is a finite number from 0 to `max`; otherwise `BAD_USER_INPUT` on `field`
/// stating the range in `unit`.
fn quantity(field: &str, value: f64, max: f64, unit: &str) -> AppResult<f64> {
    if value.is_finite() && (0.0..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be a number from 0 to {max} {unit}"),
        ))
    }
}

impl AllocationProposal {
    /// Parses a proposal: a unit code, report dates in order, bounded non-negative hours, FTE
    /// and budget, and a rationale (a [`Note`]: why, e.g. the finding or forecast behind it).
    pub fn parse(fields: ProposalFields<'_>) -> AppResult<Self> {
        let org_unit_code = Code::parse("orgUnitCode", fields.org_unit_code)?;
        let period_start = ReportDate::parse("periodStart", fields.period_start)?;
        let period_end = ReportDate::parse("periodEnd", fields.period_end)?;
        if period_end < period_start {
            return Err(AppError::bad_input(
                "periodEnd",
                "must not be before periodStart",
            ));
        }
        let staff_hours_per_week = quantity(
            "staffHoursPerWeek",
            fields.staff_hours_per_week,
            MAX_STAFF_HOURS_PER_WEEK,
            "hours a week",
        )?;
        let fte = quantity("fte", fields.fte, MAX_FTE, "full-time equivalents")?;
        if !(0..=MAX_BUDGET_CENTS).contains(&fields.budget_cents) {
            return Err(AppError::bad_input(
                "budgetCents",
                format!("must be a whole number of cents from 0 to {MAX_BUDGET_CENTS}"),
            ));
        }
        Ok(Self {
            org_unit_code,
            channel: fields.channel,
            period_start,
            period_end,
            staff_hours_per_week,
            fte,
            budget_cents: fields.budget_cents,
            rationale: Note::parse("rationale", fields.rationale)?,
        })
    }
}

/// Records a proposal for a unit in the caller's scope (supervisors: their subtree; admins:
/// anywhere) and `allocation.propose`, in one transaction. A unit outside the scope is
/// `FORBIDDEN`: org units are reference data every role reads, so this reveals nothing.
pub async fn propose(
    database: &Database,
    principal: &Principal,
    proposal: AllocationProposal,
    request_id: Option<String>,
) -> AppResult<ResourceAllocation> {
    let record_scope = principal.record_scope();
    let actor = Actor::user(principal.user_id, principal.role);
    let proposed_by = principal.user_id;
    database
        .transaction(move |connection| {
            let org_unit_id = lookup::org_unit_for_write(
                connection,
                record_scope,
                "orgUnitCode",
                proposal.org_unit_code.as_str(),
            )?;
            let allocation: ResourceAllocation = diesel::insert_into(resource_allocations::table)
                .values(NewResourceAllocation {
                    org_unit_id,
                    channel: proposal.channel,
                    period_start: proposal.period_start.get(),
                    period_end: proposal.period_end.get(),
                    staff_hours_per_week: proposal.staff_hours_per_week,
                    fte: proposal.fte,
                    budget_cents: proposal.budget_cents,
                    rationale: proposal.rationale.into_inner(),
                    proposed_by,
                })
                .returning(ResourceAllocation::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(actor, "allocation.propose", "resource_allocation")
                    .entity_id(allocation.id)
                    .after(serde_json::to_value(&allocation).unwrap_or_default())
                    .request_id(request_id),
            )?;
            Ok(allocation)
        })
        .await
}

/// A decision on a proposal; built only by [`AllocationDecision::parse`].
#[derive(Debug, Clone)]
pub struct AllocationDecision {
    approve: bool,
    note: Option<Note>,
}

impl AllocationDecision {
    /// Parses a decision: approve or reject, with an optional note (a blank note is none).
    pub fn parse(approve: bool, note: Option<&str>) -> AppResult<Self> {
        Ok(Self {
            approve,
            note: Note::parse_optional("note", note)?,
        })
    }
}

/// Approves or rejects a proposed allocation and records `allocation.decide`, in one
/// transaction.
///
/// The decision is one conditional statement: `UPDATE resource_allocations SET status = …
/// WHERE id = … AND status = 'proposed' AND <the caller's scope> RETURNING …`. Of two
/// concurrent decisions, PostgreSQL applies one; the other waits for its row lock, re-checks
/// `status = 'proposed'`, which no longer holds, and is answered `CONFLICT` naming the status
/// the allocation already has. An allocation the caller cannot see is `NOT_FOUND`, in the same
/// words as one that does not exist.
pub async fn decide(
    database: &Database,
    principal: &Principal,
    allocation_id: i64,
    decision: AllocationDecision,
    request_id: Option<String>,
) -> AppResult<ResourceAllocation> {
    let record_scope = principal.record_scope();
    let actor = Actor::user(principal.user_id, principal.role);
    let decided_by = principal.user_id;
    database
        .transaction(move |connection| {
            let status = if decision.approve {
                AllocationStatus::Approved
            } else {
                AllocationStatus::Rejected
            };
            let mut update = diesel::update(resource_allocations::table)
                .filter(resource_allocations::id.eq(allocation_id))
                .filter(resource_allocations::status.eq(AllocationStatus::Proposed))
                .set(ResourceAllocationChangeset {
                    status,
                    decided_by: Some(decided_by),
                    decided_at: Some(Utc::now()),
                    decision_note: decision.note.map(Note::into_inner),
                })
                .into_boxed();
            if let Some(visible) = visible::resource_allocations(record_scope) {
                update = update.filter(visible);
            }
            let decided: Option<ResourceAllocation> = update
                .returning(ResourceAllocation::as_returning())
                .get_result(connection)
                .optional()?;
            let Some(decided) = decided else {
                // Nothing was proposed under this id in the caller's view: say which.
                let mut query = resource_allocations::table
                    .filter(resource_allocations::id.eq(allocation_id))
                    .into_boxed();
                if let Some(visible) = visible::resource_allocations(record_scope) {
                    query = query.filter(visible);
                }
                let current: Option<AllocationStatus> = query
                    .select(resource_allocations::status)
                    .first(connection)
                    .optional()?;
                return Err(match current {
                    None => AppError::NotFound(format!("no resource allocation {allocation_id}")),
                    Some(status) => AppError::Conflict(format!(
                        "allocation {allocation_id} was already {}",
                        status.as_db_str()
                    )),
                });
            };
            audit::record(
                connection,
                Entry::new(actor, "allocation.decide", "resource_allocation")
                    .entity_id(allocation_id)
                    .before(json!({ "status": AllocationStatus::Proposed }))
                    .after(json!({
                        "status": decided.status,
                        "decision_note": decided.decision_note,
                    }))
                    .request_id(request_id),
            )?;
            Ok(decided)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ProposalFields<'static> {
        ProposalFields {
            org_unit_code: "TEAM-A1",
            channel: Channel::Chat,
            period_start: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            period_end: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
            staff_hours_per_week: 40.0,
            fte: 1.0,
            budget_cents: 0,
            rationale: " Queue growth ",
        }
    }

    fn field_refused(fields: ProposalFields<'_>) -> String {
        match AllocationProposal::parse(fields) {
            Err(AppError::BadUserInput {
                field: Some(field), ..
            }) => field,
            other => panic!("expected BAD_USER_INPUT naming a field, got {other:?}"),
        }
    }

    #[test]
    fn proposals_are_bounded_and_in_order() {
        let proposal = AllocationProposal::parse(fields()).unwrap();
        assert_eq!(proposal.rationale.as_str(), "Queue growth");
        let at_limits = ProposalFields {
            staff_hours_per_week: MAX_STAFF_HOURS_PER_WEEK,
            fte: MAX_FTE,
            budget_cents: MAX_BUDGET_CENTS,
            ..fields()
        };
        assert!(AllocationProposal::parse(at_limits).is_ok());
        let long = "x".repeat(2_001);
        for (changed, field) in [
            (
                ProposalFields {
                    org_unit_code: "team a1",
                    ..fields()
                },
                "orgUnitCode",
            ),
            (
                ProposalFields {
                    period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    ..fields()
                },
                "periodEnd",
            ),
            (
                ProposalFields {
                    period_start: NaiveDate::from_ymd_opt(1999, 1, 1).unwrap(),
                    ..fields()
                },
                "periodStart",
            ),
            (
                ProposalFields {
                    staff_hours_per_week: f64::NAN,
                    ..fields()
                },
                "staffHoursPerWeek",
            ),
            (
                ProposalFields {
                    staff_hours_per_week: MAX_STAFF_HOURS_PER_WEEK + 1.0,
                    ..fields()
                },
                "staffHoursPerWeek",
            ),
            (
                ProposalFields {
                    fte: -0.5,
                    ..fields()
                },
                "fte",
            ),
            (
                ProposalFields {
                    fte: f64::INFINITY,
                    ..fields()
                },
                "fte",
            ),
            (
                ProposalFields {
                    budget_cents: -1,
                    ..fields()
                },
                "budgetCents",
            ),
            (
                ProposalFields {
                    budget_cents: MAX_BUDGET_CENTS + 1,
                    ..fields()
                },
                "budgetCents",
            ),
            (
                ProposalFields {
                    rationale: " ",
                    ..fields()
                },
                "rationale",
            ),
            (
                ProposalFields {
                    rationale: &long,
                    ..fields()
                },
                "rationale",
            ),
        ] {
            assert_eq!(field_refused(changed), field);
        }
    }

    #[test]
    fn a_blank_decision_note_is_none_and_a_long_one_refused() {
        assert!(AllocationDecision::parse(true, Some("  "))
            .unwrap()
            .note
            .is_none());
        assert!(AllocationDecision::parse(false, Some(&"x".repeat(2_001))).is_err());
    }
}
