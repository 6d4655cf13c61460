//! `training_courses` and `training_assignments`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::{
    enums::MetricKind,
    schema::{training_assignments, training_courses},
};

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
    /// The metrics the course sets out to improve (a CHECK keeps out other names and
    /// NULL elements; the array type still admits NULL, hence `Option`).
    pub addressed_metrics: Vec<Option<MetricKind>>,
}

impl TrainingCourse {
    /// The metrics the course addresses, in stored order.
    pub fn addressed(&self) -> impl Iterator<Item = MetricKind> + '_ {
        self.addressed_metrics.iter().flatten().copied()
    }

    /// Whether the course addresses `metric`.
    pub fn addresses(&self, metric: MetricKind) -> bool {
        self.addressed().any(|addressed| addressed == metric)
    }
}

/// A course to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = training_courses)]
pub struct NewTrainingCourse {
    pub code: String,
    pub title: String,
    pub description: Option<String>,
    pub addressed_metrics: Vec<Option<MetricKind>>,
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
    /// The evidence of the training need the assignment answers
    /// (`crate::insights::training::NeedEvidence` as JSON); `None` when assigned for another
    /// reason.
    pub need: Option<serde_json::Value>,
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
    pub need: Option<serde_json::Value>,
}
