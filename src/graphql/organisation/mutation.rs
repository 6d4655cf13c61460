//! Administration of the organisation: `createUser`, `deactivateUser`, `createOrgUnit`,
//! `createTopic` (admin only). Each is one transaction with its audit event.

use async_graphql::{Context, InputObject, Object, Result, ID};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::{password, Action},
    db::{
        enums::Role,
        models::{NewOrgUnit, NewTopic, NewUser, OrgUnit, Topic, User},
        schema::{org_units, sessions, topics, users},
    },
    error::AppError,
    graphql::{
        context::ContextExt,
        filters::parse_id,
        organisation::types::{OrgUnitType, TopicType, UserType},
    },
    records::check_code,
};

/// A new staff member or service account.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_code: String,
    /// At least 12 characters. Omit for a service account (it signs in with minted tokens only).
    #[graphql(secret)]
    pub password: Option<String>,
}

fn check_name(field: &str, name: &str) -> Result<(), AppError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AppError::bad_input(field, "must be 1 to 200 characters"));
    }
    Ok(())
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    /// Creates a user (admin).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        let email = input.email.trim().to_lowercase();
        let at = email.find('@');
        if at.is_none_or(|at| at == 0 || at == email.len() - 1) || email.len() > 254 {
            return Err(AppError::bad_input("email", "is not an email address").into());
        }
        check_name("displayName", &input.display_name)?;
        let password_hash = match input.password {
            Some(password) => {
                password::check_policy(&password)?;
                Some(
                    ctx.services()
                        .auth
                        .hasher()
                        .hash_off_executor(password)
                        .await?,
                )
            }
            None => None,
        };
        let request_id = ctx.request_id();
        let user = ctx
            .database()
            .transaction(move |connection| {
                let org_unit_id: i64 = org_units::table
                    .filter(org_units::code.eq(&input.org_unit_code))
                    .select(org_units::id)
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| AppError::bad_input("orgUnitCode", format!("no org unit `{}`", input.org_unit_code)))?;
                let taken: i64 = users::table.filter(users::email.eq(&email)).count().get_result(connection)?;
                if taken > 0 {
                    return Err(AppError::Conflict(format!("a user with email {email} already exists")));
                }
                let user: User = diesel::insert_into(users::table)
                    .values(NewUser {
                        email: &email,
                        display_name: input.display_name.trim(),
                        role: input.role,
                        org_unit_id,
                        password_hash: password_hash.as_deref(),
                    })
                    .returning(User::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(Actor::user(principal.user_id, principal.role), "user.create", "user")
                        .entity_id(user.id)
                        .after(json!({
                            "email": user.email, "display_name": user.display_name, "role": user.role,
                            "org_unit_id": user.org_unit_id, "service_account": user.password_hash.is_none(),
                        }))
                        .request_id(request_id),
                )?;
                Ok(user)
            })
            .await?;
        Ok(UserType(user))
    }

    /// Deactivates a user (admin): their sessions end and their tokens stop working at once.
    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> Result<UserType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        let id = parse_id("id", &id)?;
        if id == principal.user_id {
            return Err(AppError::bad_input("id", "you cannot deactivate your own account").into());
        }
        let request_id = ctx.request_id();
        let user = ctx
            .database()
            .transaction(move |connection| {
                let before: User = users::table
                    .find(id)
                    .select(User::as_select())
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| AppError::NotFound(format!("no user {id}")))?;
                let user: User = diesel::update(users::table.find(id))
                    .set(users::active.eq(false))
                    .returning(User::as_returning())
                    .get_result(connection)?;
                let ended = diesel::update(sessions::table)
                    .filter(sessions::user_id.eq(id))
                    .filter(sessions::revoked_at.is_null())
                    .set((
                        sessions::revoked_at.eq(Some(Utc::now())),
                        sessions::revoked_reason.eq("deactivated"),
                    ))
                    .execute(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "user.deactivate",
                        "user",
                    )
                    .entity_id(id)
                    .before(json!({ "active": before.active }))
                    .after(json!({ "active": false, "sessions_ended": ended }))
                    .request_id(request_id),
                )?;
                Ok(user)
            })
            .await?;
        Ok(UserType(user))
    }

    /// Creates an org unit under `parentCode` (or a new root without it) (admin).
    async fn create_org_unit(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
        parent_code: Option<String>,
    ) -> Result<OrgUnitType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        check_code("code", &code)?;
        check_name("name", &name)?;
        let request_id = ctx.request_id();
        let unit = ctx
            .database()
            .transaction(move |connection| {
                let parent_id = match &parent_code {
                    None => None,
                    Some(parent) => Some(
                        org_units::table
                            .filter(org_units::code.eq(parent))
                            .select(org_units::id)
                            .first::<i64>(connection)
                            .optional()?
                            .ok_or_else(|| AppError::bad_input("parentCode", format!("no org unit `{parent}`")))?,
                    ),
                };
                let taken: i64 = org_units::table.filter(org_units::code.eq(&code)).count().get_result(connection)?;
                if taken > 0 {
                    return Err(AppError::Conflict(format!("org unit `{code}` already exists")));
                }
                let unit: OrgUnit = diesel::insert_into(org_units::table)
                    .values(NewOrgUnit { code: &code, name: name.trim(), parent_id })
                    .returning(OrgUnit::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(Actor::user(principal.user_id, principal.role), "org_unit.create", "org_unit")
                        .entity_id(unit.id)
                        .after(json!({ "code": unit.code, "name": unit.name, "parent_id": unit.parent_id }))
                        .request_id(request_id),
                )?;
                Ok(unit)
            })
            .await?;
        Ok(unit.into())
    }

    /// Creates an inquiry topic (admin).
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
    ) -> Result<TopicType> {
        let principal = ctx.scope().authorize(Action::Administer)?.clone();
        check_code("code", &code)?;
        check_name("name", &name)?;
        let request_id = ctx.request_id();
        let topic = ctx
            .database()
            .transaction(move |connection| {
                let taken: i64 = topics::table
                    .filter(topics::code.eq(&code))
                    .count()
                    .get_result(connection)?;
                if taken > 0 {
                    return Err(AppError::Conflict(format!("topic `{code}` already exists")));
                }
                let topic: Topic = diesel::insert_into(topics::table)
                    .values(NewTopic {
                        code: &code,
                        name: name.trim(),
                    })
                    .returning(Topic::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(
                        Actor::user(principal.user_id, principal.role),
                        "topic.create",
                        "topic",
                    )
                    .entity_id(topic.id)
                    .after(json!({ "code": topic.code, "name": topic.name }))
                    .request_id(request_id),
                )?;
                Ok(topic)
            })
            .await?;
        Ok(topic.into())
    }
}
