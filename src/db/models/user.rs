//! `users`: staff and service accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::{enums::Role, schema::users};

/// A staff member or service account.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_id: i64,
    /// argon2id PHC string; `None` for service accounts.
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The identity provider's subject for this account (`OIDC_USER_CLAIM=sub`), if linked.
    pub external_subject: Option<String>,
}

/// A user to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub org_unit_id: i64,
    pub password_hash: Option<&'a str>,
}

/// Fields of a user that can change after creation.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChangeset {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub org_unit_id: Option<i64>,
    pub password_hash: Option<Option<String>>,
    pub active: Option<bool>,
}
