//! Programme queries: `trainingCourses`, `trainingAssignments`, `resourceAllocations`,
//! `serviceStandards`.

use async_graphql::{Context, InputObject, Object, Result, ID};
use diesel::prelude::*;

use crate::{
    auth::{scope::visible, Action},
    db::{
        enums::{AllocationStatus, Channel},
        models::{ResourceAllocation, ServiceStandard, TrainingAssignment, TrainingCourse},
        schema::{
            resource_allocations, service_standards, training_assignments, training_courses, users,
        },
    },
    graphql::{
        connection::{KeysetConnection, PageRequest},
        context::ContextExt,
        filters::{course_ids, org_unit_subtrees, parse_ids},
        program::types::{
            ResourceAllocationType, ServiceStandardType, TrainingAssignmentType, TrainingCourseType,
        },
        scalars::Date,
    },
    page_by_id,
};

/// Narrows `trainingAssignments`.
#[derive(InputObject, Default)]
pub struct TrainingAssignmentFilter {
    pub agent_ids: Option<Vec<ID>>,
    pub course_codes: Option<Vec<String>>,
    /// Assignments of agents in these units (and below).
    pub org_unit_codes: Option<Vec<String>>,
    /// Only completed (true) or open (false) assignments.
    pub completed: Option<bool>,
}

/// Narrows `resourceAllocations`.
#[derive(InputObject, Default)]
pub struct ResourceAllocationFilter {
    pub org_unit_codes: Option<Vec<String>>,
    pub channels: Option<Vec<Channel>>,
    pub statuses: Option<Vec<AllocationStatus>>,
}

#[derive(Default)]
pub struct ProgramQuery;

#[Object]
impl ProgramQuery {
    /// The course catalogue.
    async fn training_courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<TrainingCourseType>> {
        ctx.scope().authorize(Action::ReadTrainingCourses)?;
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let rows: Vec<TrainingCourse> = page_by_id!(
                    training_courses::table.into_boxed(),
                    training_courses::id,
                    query_page
                )
                .select(TrainingCourse::as_select())
                .load(connection)?;
                let total = if want_total {
                    training_courses::table.count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, TrainingCourseType))
    }

    /// Training assignments in the caller's scope (agents: their own; supervisors: their
    /// subtree's agents). Not available to `analyst`, which sees training only in aggregate.
    async fn training_assignments(
        &self,
        ctx: &Context<'_>,
        filter: Option<TrainingAssignmentFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<TrainingAssignmentType>> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadTrainingAssignments)?
            .record_scope();
        let filter = filter.unwrap_or_default();
        let agent_ids = filter
            .agent_ids
            .as_ref()
            .map(|ids| parse_ids("agentIds", ids))
            .transpose()?;
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let courses = filter
                    .course_codes
                    .map(|codes| course_ids(connection, "courseCodes", &codes))
                    .transpose()?;
                let units = filter
                    .org_unit_codes
                    .map(|codes| org_unit_subtrees(connection, "orgUnitCodes", &codes))
                    .transpose()?;
                let scoped = || {
                    let mut query = training_assignments::table.into_boxed();
                    if let Some(visible) = visible::training_assignments(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(agents) = &agent_ids {
                        query = query.filter(training_assignments::agent_id.eq_any(agents.clone()));
                    }
                    if let Some(courses) = &courses {
                        query =
                            query.filter(training_assignments::course_id.eq_any(courses.clone()));
                    }
                    if let Some(units) = &units {
                        query = query.filter(
                            training_assignments::agent_id.eq_any(
                                users::table
                                    .filter(users::org_unit_id.eq_any(units.clone()))
                                    .select(users::id),
                            ),
                        );
                    }
                    match filter.completed {
                        Some(true) => {
                            query = query.filter(training_assignments::completed_at.is_not_null())
                        }
                        Some(false) => {
                            query = query.filter(training_assignments::completed_at.is_null())
                        }
                        None => {}
                    }
                    query
                };
                let rows: Vec<TrainingAssignment> =
                    page_by_id!(scoped(), training_assignments::id, query_page)
                        .select(TrainingAssignment::as_select())
                        .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, TrainingAssignmentType))
    }

    /// Resource allocations (supervisors: their subtree).
    async fn resource_allocations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ResourceAllocationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<ResourceAllocationType>> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadAllocations)?
            .record_scope();
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
                    let mut query = resource_allocations::table.into_boxed();
                    if let Some(visible) = visible::resource_allocations(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(units) = &units {
                        query =
                            query.filter(resource_allocations::org_unit_id.eq_any(units.clone()));
                    }
                    if let Some(channels) = &filter.channels {
                        query =
                            query.filter(resource_allocations::channel.eq_any(channels.clone()));
                    }
                    if let Some(statuses) = &filter.statuses {
                        query = query.filter(resource_allocations::status.eq_any(statuses.clone()));
                    }
                    query
                };
                let rows: Vec<ResourceAllocation> =
                    page_by_id!(scoped(), resource_allocations::id, query_page)
                        .select(ResourceAllocation::as_select())
                        .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, ResourceAllocationType))
    }

    /// Published service standards; `inForceOn` keeps those effective on that day.
    async fn service_standards(
        &self,
        ctx: &Context<'_>,
        in_force_on: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<ServiceStandardType>> {
        ctx.scope().authorize(Action::ReadServiceStandards)?;
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let scoped = || {
                    let mut query = service_standards::table.into_boxed();
                    if let Some(Date(day)) = in_force_on {
                        query = query
                            .filter(service_standards::effective_from.le(day))
                            .filter(
                                service_standards::effective_to
                                    .is_null()
                                    .or(service_standards::effective_to.ge(day)),
                            );
                    }
                    query
                };
                let rows: Vec<ServiceStandard> =
                    page_by_id!(scoped(), service_standards::id, query_page)
                        .select(ServiceStandard::as_select())
                        .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, ServiceStandardType))
    }
}
