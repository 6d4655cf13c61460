//! `legal_holds`: records preserved from retention until the hold is lifted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::legal_holds;

/// A hold on exactly one of an org unit (with its subtree), a customer or an interaction.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = legal_holds, check_for_backend(diesel::pg::Pg))]
pub struct LegalHold {
    pub id: i64,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub interaction_id: Option<i64>,
    /// The matter the hold serves (a case or request number), shown to auditors.
    pub reason: String,
    pub placed_by: i64,
    pub placed_at: DateTime<Utc>,
    pub lifted_by: Option<i64>,
    pub lifted_at: Option<DateTime<Utc>>,
    pub lift_reason: Option<String>,
}

/// A hold to place.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = legal_holds)]
pub struct NewLegalHold {
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub interaction_id: Option<i64>,
    pub reason: String,
    pub placed_by: i64,
}
