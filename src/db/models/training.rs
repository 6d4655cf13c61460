//! `training_courses` and `training_assignments`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{training_assignments, training_courses};

/// A course staff can be assigned.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = training_courses, check_for_backend(diesel::pg::Pg))]
pub struct TrainingCourse {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A course to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = training_courses)]
pub struct NewTrainingCourse {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
}

/// A course assigned to an agent.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = training_assignments, check_for_backend(diesel::pg::Pg))]
pub struct TrainingAssignment {
    pub id: i64,
    pub agent_id: i64,
    pub course_id: i64,
    pub assigned_by: i64,
    pub reason: String,
    pub due_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An assignment to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = training_assignments)]
pub struct NewTrainingAssignment {
    pub agent_id: i64,
    pub course_id: i64,
    pub assigned_by: i64,
    pub reason: String,
    pub due_at: Option<DateTime<Utc>>,
}
