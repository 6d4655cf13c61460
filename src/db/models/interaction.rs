//! `interactions`: one customer contact on one channel.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::{
    enums::{Channel, Outcome},
    schema::interactions,
};

/// A recorded interaction.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = interactions, check_for_backend(diesel::pg::Pg))]
pub struct Interaction {
    pub id: i64,
    pub source: String,
    pub external_id: String,
    pub channel: Channel,
    pub org_unit_id: i64,
    pub agent_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub wait_seconds: Option<i32>,
    pub handle_seconds: Option<i32>,
    pub transfers: i32,
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
    pub created_at: DateTime<Utc>,
}

/// An interaction to record; `(source, external_id)` is its idempotency key.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = interactions)]
pub struct NewInteraction {
    pub source: String,
    pub external_id: String,
    pub channel: Channel,
    pub org_unit_id: i64,
    pub agent_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub topic_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub wait_seconds: Option<i32>,
    pub handle_seconds: Option<i32>,
    pub transfers: i32,
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
}
