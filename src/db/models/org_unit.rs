//! `org_units`: the agency → office → team tree.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::org_units;

/// One unit of the organisation.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = org_units, check_for_backend(diesel::pg::Pg))]
pub struct OrgUnit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
    /// Ids from the root down to this unit (maintained by a trigger).
    pub path: Vec<Option<i64>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A unit to create; the trigger fills in `path`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = org_units)]
pub struct NewOrgUnit<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub parent_id: Option<i64>,
}
