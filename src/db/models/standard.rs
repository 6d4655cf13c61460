//! `service_standards`: published targets (GPRA-style goals).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::{
    enums::{Channel, Comparator, MetricKind},
    schema::service_standards,
};

/// A target in force between its effective dates.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = service_standards, check_for_backend(diesel::pg::Pg))]
pub struct ServiceStandard {
    pub id: i64,
    pub metric: MetricKind,
    pub comparator: Comparator,
    pub target: f64,
    pub channel: Option<Channel>,
    pub org_unit_id: Option<i64>,
    pub threshold_seconds: Option<i32>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub description: Option<String>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A standard to create.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = service_standards)]
pub struct NewServiceStandard {
    pub metric: MetricKind,
    pub comparator: Comparator,
    pub target: f64,
    pub channel: Option<Channel>,
    pub org_unit_id: Option<i64>,
    pub threshold_seconds: Option<i32>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub description: Option<String>,
    pub created_by: i64,
}
