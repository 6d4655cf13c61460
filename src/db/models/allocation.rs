//! `resource_allocations`: staff hours, FTE and budget for (org unit, channel, period).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::{
    enums::{AllocationStatus, Channel},
    schema::resource_allocations,
};

/// A proposed, approved or rejected allocation.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = resource_allocations, check_for_backend(diesel::pg::Pg))]
pub struct ResourceAllocation {
    pub id: i64,
    pub org_unit_id: i64,
    pub channel: Channel,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub staff_hours_per_week: f64,
    pub fte: f64,
    pub budget_cents: i64,
    pub status: AllocationStatus,
    pub rationale: String,
    pub proposed_by: i64,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A proposal to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = resource_allocations)]
pub struct NewResourceAllocation {
    pub org_unit_id: i64,
    pub channel: Channel,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub staff_hours_per_week: f64,
    pub fte: f64,
    pub budget_cents: i64,
    pub rationale: String,
    pub proposed_by: i64,
}

/// The decision on a proposal.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = resource_allocations)]
pub struct ResourceAllocationChangeset {
    pub status: AllocationStatus,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}
