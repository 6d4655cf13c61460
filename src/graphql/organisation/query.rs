//! Queries of the organisation domain: `orgUnits`, `orgUnit`, `topics`.

use async_graphql::{Context, InputObject, Object, Result};
use diesel::prelude::*;

use crate::{
    auth::{scope::visible, Action},
    db::{
        enums::Role,
        models::{OrgUnit, Topic, User},
        schema::{org_units, topics, users},
    },
    error::AppError,
    graphql::{
        connection::{Direction, KeysetConnection, PageRequest},
        context::ContextExt,
        filters::org_unit_subtrees,
        organisation::types::{OrgUnitType, TopicType, UserType},
    },
    page_by_id,
};

/// Narrows `users`.
#[derive(InputObject, Default)]
pub struct UserFilter {
    pub roles: Option<Vec<Role>>,
    /// Users of these units and the units below them.
    pub org_unit_codes: Option<Vec<String>>,
    pub active: Option<bool>,
}

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    /// Org units ordered by code. Every signed-in role may read the organisation's structure.
    async fn org_units(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this unit and the units below it.")] under_code: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<OrgUnitType>> {
        ctx.scope().authorize(Action::ReadReferenceData)?;
        let page = PageRequest::<String>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let root_id = match &under_code {
                    None => None,
                    Some(code) => Some(
                        org_units::table
                            .filter(org_units::code.eq(code))
                            .select(org_units::id)
                            .first::<i64>(connection)
                            .optional()?
                            .ok_or_else(|| {
                                AppError::bad_input("underCode", format!("no org unit `{code}`"))
                            })?,
                    ),
                };
                let filtered = || {
                    let mut query = org_units::table.into_boxed();
                    if let Some(root_id) = root_id {
                        query = query.filter(org_units::path.contains(vec![Some(root_id)]));
                    }
                    query
                };
                let mut query = filtered().select(OrgUnit::as_select());
                if let Some(after) = &query_page.after {
                    query = query.filter(org_units::code.gt(after.clone()));
                }
                if let Some(before) = &query_page.before {
                    query = query.filter(org_units::code.lt(before.clone()));
                }
                query = match query_page.direction {
                    Direction::Forward => query.order(org_units::code.asc()),
                    Direction::Backward => query.order(org_units::code.desc()),
                };
                let rows = query.limit(query_page.fetch_limit()).load(connection)?;
                let total = if want_total {
                    filtered().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.code.clone(), OrgUnitType::from))
    }

    /// One org unit by code, or null if there is none.
    async fn org_unit(&self, ctx: &Context<'_>, code: String) -> Result<Option<OrgUnitType>> {
        ctx.scope().authorize(Action::ReadReferenceData)?;
        let unit = ctx
            .database()
            .run(move |connection| {
                Ok(org_units::table
                    .filter(org_units::code.eq(code))
                    .select(OrgUnit::as_select())
                    .first(connection)
                    .optional()?)
            })
            .await?;
        Ok(unit.map(OrgUnitType::from))
    }

    /// Inquiry topics ordered by code.
    async fn topics(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<TopicType>> {
        ctx.scope().authorize(Action::ReadReferenceData)?;
        let page = PageRequest::<String>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let mut query = topics::table.select(Topic::as_select()).into_boxed();
                if let Some(after) = &query_page.after {
                    query = query.filter(topics::code.gt(after.clone()));
                }
                if let Some(before) = &query_page.before {
                    query = query.filter(topics::code.lt(before.clone()));
                }
                query = match query_page.direction {
                    Direction::Forward => query.order(topics::code.asc()),
                    Direction::Backward => query.order(topics::code.desc()),
                };
                let rows = query.limit(query_page.fetch_limit()).load(connection)?;
                let total = if want_total {
                    topics::table.count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.code.clone(), TopicType::from))
    }

    /// Staff and service accounts in the caller's scope (agents: themselves; supervisors:
    /// their subtree). Not available to `analyst` or `ingest`.
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<UserType>> {
        let record_scope = ctx.scope().authorize(Action::ReadUsers)?.record_scope();
        let filter = filter.unwrap_or_default();
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let units = filter
                    .org_unit_codes
                    .map(|codes| org_unit_subtrees(connection, "orgUnitCodes", &codes))
                    .transpose()?;
                let scoped = || {
                    let mut query = users::table.into_boxed();
                    if let Some(visible) = visible::users(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(roles) = &filter.roles {
                        query = query.filter(users::role.eq_any(roles.clone()));
                    }
                    if let Some(units) = &units {
                        query = query.filter(users::org_unit_id.eq_any(units.clone()));
                    }
                    if let Some(active) = filter.active {
                        query = query.filter(users::active.eq(active));
                    }
                    query
                };
                let rows: Vec<User> = page_by_id!(scoped(), users::id, query_page)
                    .select(User::as_select())
                    .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, UserType))
    }
}
