//! `customers`: the businesses served. The only table holding customer PII.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::customers;

/// A business served, with its contact details.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = customers, check_for_backend(diesel::pg::Pg))]
pub struct Customer {
    pub id: i64,
    pub customer_ref: String,
    pub business_name: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When retention erased the contact details (null: never erased).
    pub contact_details_erased_at: Option<DateTime<Utc>>,
}

/// A customer to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer {
    pub customer_ref: String,
    pub business_name: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}
