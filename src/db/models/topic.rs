//! `topics`: inquiry categories.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::topics;

/// One inquiry category, e.g. `LICENSING`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = topics, check_for_backend(diesel::pg::Pg))]
pub struct Topic {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A topic to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = topics)]
pub struct NewTopic<'a> {
    pub code: &'a str,
    pub name: &'a str,
}
