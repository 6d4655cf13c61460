//! Record queries: `interactions`, `interaction`, `surveyResponses`, `surveyInvitations`,
//! `customers`. Every query filters by the caller's [`RecordScope`] in SQL.

use async_graphql::{Context, InputObject, Object, Result, ID};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    auth::{scope::visible, Action},
    db::{
        enums::{Channel, Outcome, SurveyKind},
        models::{Customer, Interaction, SurveyInvitation, SurveyResponse},
        schema::{customers, interactions, survey_invitations, survey_responses},
    },
    error::AppError,
    graphql::{
        connection::{KeysetConnection, PageRequest},
        context::ContextExt,
        filters::{local_date_range, org_unit_subtrees, parse_id, parse_ids, topic_ids},
        loaders::InteractionRelations,
        records::types::{CustomerType, InteractionType, SurveyInvitationType, SurveyResponseType},
        scalars::Date,
    },
    page_by_id, page_by_time,
};

/// Narrows `interactions` (and the surveys about them). All given conditions must hold.
#[derive(InputObject, Default, Clone)]
pub struct InteractionFilter {
    /// First day, in the reporting time zone, inclusive.
    pub from: Option<Date>,
    /// Last day, in the reporting time zone, inclusive.
    pub to: Option<Date>,
    pub channels: Option<Vec<Channel>>,
    /// Units and everything below them.
    pub org_unit_codes: Option<Vec<String>>,
    /// Handled by these agents (not available to `analyst`).
    pub agent_ids: Option<Vec<ID>>,
    pub topic_codes: Option<Vec<String>>,
    pub outcomes: Option<Vec<Outcome>>,
    pub abandoned: Option<bool>,
    /// From this sending system.
    pub source: Option<String>,
}

/// The filter with codes and ids resolved, ready to become SQL.
#[derive(Clone, Default)]
struct ResolvedInteractionFilter {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    channels: Option<Vec<Channel>>,
    org_unit_ids: Option<Vec<i64>>,
    agent_ids: Option<Vec<i64>>,
    topic_ids: Option<Vec<i64>>,
    outcomes: Option<Vec<Outcome>>,
    abandoned: Option<bool>,
    source: Option<String>,
}

impl ResolvedInteractionFilter {
    fn resolve(
        connection: &mut PgConnection,
        filter: InteractionFilter,
        zone: chrono_tz::Tz,
    ) -> Result<Self, AppError> {
        let (start, end) =
            local_date_range(zone, filter.from.map(|d| d.0), filter.to.map(|d| d.0))?;
        Ok(Self {
            start,
            end,
            channels: filter.channels,
            org_unit_ids: filter
                .org_unit_codes
                .map(|codes| org_unit_subtrees(connection, "orgUnitCodes", &codes))
                .transpose()?,
            agent_ids: filter
                .agent_ids
                .map(|ids| parse_ids("agentIds", &ids))
                .transpose()?,
            topic_ids: filter
                .topic_codes
                .map(|codes| topic_ids(connection, "topicCodes", &codes))
                .transpose()?,
            outcomes: filter.outcomes,
            abandoned: filter.abandoned,
            source: filter.source,
        })
    }

    /// The interactions matching, as a boxed query (scope applied by the caller).
    fn apply<'a>(
        &self,
        mut query: interactions::BoxedQuery<'a, diesel::pg::Pg>,
    ) -> interactions::BoxedQuery<'a, diesel::pg::Pg> {
        if let Some(start) = self.start {
            query = query.filter(interactions::started_at.ge(start));
        }
        if let Some(end) = self.end {
            query = query.filter(interactions::started_at.lt(end));
        }
        if let Some(channels) = &self.channels {
            query = query.filter(interactions::channel.eq_any(channels.clone()));
        }
        if let Some(units) = &self.org_unit_ids {
            query = query.filter(interactions::org_unit_id.eq_any(units.clone()));
        }
        if let Some(agents) = &self.agent_ids {
            query = query.filter(interactions::agent_id.eq_any(agents.clone()));
        }
        if let Some(topics) = &self.topic_ids {
            query = query.filter(interactions::topic_id.eq_any(topics.clone()));
        }
        if let Some(outcomes) = &self.outcomes {
            query = query.filter(interactions::outcome.eq_any(outcomes.clone()));
        }
        if let Some(abandoned) = self.abandoned {
            query = query.filter(interactions::abandoned.eq(abandoned));
        }
        if let Some(source) = &self.source {
            query = query.filter(interactions::source.eq(source.clone()));
        }
        query
    }
}

/// Refuses agent filters to roles that see no per-agent detail.
fn check_agent_filter(ctx: &Context<'_>, filter: &InteractionFilter) -> Result<(), AppError> {
    if filter.agent_ids.is_some() {
        ctx.scope().authorize(Action::IdentifyAgents)?;
    }
    Ok(())
}

/// Narrows `surveyResponses`.
#[derive(InputObject, Default)]
pub struct SurveyResponseFilter {
    /// Submitted on or after this day (reporting time zone).
    pub from: Option<Date>,
    /// Submitted on or before this day (reporting time zone).
    pub to: Option<Date>,
    pub kinds: Option<Vec<SurveyKind>>,
    /// Responses about the interactions matching this filter.
    pub interactions: Option<InteractionFilter>,
}

/// Narrows `surveyInvitations`.
#[derive(InputObject, Default)]
pub struct SurveyInvitationFilter {
    /// Sent on or after this day (reporting time zone).
    pub from: Option<Date>,
    /// Sent on or before this day (reporting time zone).
    pub to: Option<Date>,
    pub kinds: Option<Vec<SurveyKind>>,
    /// Only answered (true) or unanswered (false) invitations.
    pub responded: Option<bool>,
    pub interaction_id: Option<ID>,
}

type TimeKey = (DateTime<Utc>, i64);

#[derive(Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// Interactions in the caller's scope (agents: their own; supervisors: their subtree),
    /// newest last. Cursors are stable under inserts.
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        filter: Option<InteractionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<InteractionType>> {
        let principal = ctx.scope().authorize(Action::ReadInteractions)?;
        let record_scope = principal.record_scope();
        let filter = filter.unwrap_or_default();
        check_agent_filter(ctx, &filter)?;
        let page = PageRequest::<TimeKey>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let relations = InteractionRelations::wanted(
            ctx.look_ahead().field("edges").field("node"),
            ctx.scope().authorize(Action::IdentifyAgents).is_ok(),
        );
        let zone = ctx.services().config.reporting.time_zone;
        let directory = ctx.loaders().directory();
        let query_page = page.clone();
        // One trip to the database: the page, its count if asked for, and the related rows
        // its fields will show.
        let (rows, total, related) = ctx
            .database()
            .run(move |connection| {
                let resolved = ResolvedInteractionFilter::resolve(connection, filter, zone)?;
                let scoped = || {
                    let mut query = resolved.apply(interactions::table.into_boxed());
                    if let Some(visible) = visible::interactions(record_scope) {
                        query = query.filter(visible);
                    }
                    query
                };
                let rows: Vec<Interaction> = page_by_time!(
                    scoped(),
                    interactions::started_at,
                    interactions::id,
                    query_page
                )
                .select(Interaction::as_select())
                .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                let related = relations.fetch(connection, &rows, directory.as_ref())?;
                Ok((rows, total, related))
            })
            .await?;
        ctx.loaders().feed_interaction_page(&rows, related).await;
        Ok(page.into_connection(rows, total, |row| (row.started_at, row.id), InteractionType))
    }

    /// One interaction, if it exists and is in the caller's scope (otherwise `NOT_FOUND`,
    /// whichever the reason).
    async fn interaction(&self, ctx: &Context<'_>, id: ID) -> Result<InteractionType> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadInteractions)?
            .record_scope();
        let id = parse_id("id", &id)?;
        let found = ctx
            .database()
            .run(move |connection| {
                let mut query = interactions::table
                    .filter(interactions::id.eq(id))
                    .into_boxed();
                if let Some(visible) = visible::interactions(record_scope) {
                    query = query.filter(visible);
                }
                Ok(query
                    .select(Interaction::as_select())
                    .first(connection)
                    .optional()?)
            })
            .await?;
        found
            .map(InteractionType)
            .ok_or_else(|| AppError::NotFound(format!("no interaction {id}")).into())
    }

    /// Survey responses about interactions in the caller's scope, by submission time.
    async fn survey_responses(
        &self,
        ctx: &Context<'_>,
        filter: Option<SurveyResponseFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<SurveyResponseType>> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadInteractions)?
            .record_scope();
        let filter = filter.unwrap_or_default();
        if let Some(interaction_filter) = &filter.interactions {
            check_agent_filter(ctx, interaction_filter)?;
        }
        let page = PageRequest::<TimeKey>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let zone = ctx.services().config.reporting.time_zone;
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let (start, end) =
                    local_date_range(zone, filter.from.map(|d| d.0), filter.to.map(|d| d.0))?;
                let interaction_filter = filter
                    .interactions
                    .map(|f| ResolvedInteractionFilter::resolve(connection, f, zone))
                    .transpose()?;
                let kinds = filter.kinds;
                let scoped = || {
                    let mut query = survey_responses::table.into_boxed();
                    if let Some(visible) = visible::survey_responses(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(start) = start {
                        query = query.filter(survey_responses::submitted_at.ge(start));
                    }
                    if let Some(end) = end {
                        query = query.filter(survey_responses::submitted_at.lt(end));
                    }
                    if let Some(kinds) = &kinds {
                        query = query.filter(survey_responses::kind.eq_any(kinds.clone()));
                    }
                    if let Some(interaction_filter) = &interaction_filter {
                        query = query.filter(
                            survey_responses::interaction_id.eq_any(
                                interaction_filter
                                    .apply(interactions::table.into_boxed())
                                    .select(interactions::id),
                            ),
                        );
                    }
                    query
                };
                let rows: Vec<SurveyResponse> = page_by_time!(
                    scoped(),
                    survey_responses::submitted_at,
                    survey_responses::id,
                    query_page
                )
                .select(SurveyResponse::as_select())
                .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(
            rows,
            total,
            |row| (row.submitted_at, row.id),
            SurveyResponseType,
        ))
    }

    /// Survey invitations for interactions in the caller's scope, by sending time.
    async fn survey_invitations(
        &self,
        ctx: &Context<'_>,
        filter: Option<SurveyInvitationFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<SurveyInvitationType>> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadInteractions)?
            .record_scope();
        let filter = filter.unwrap_or_default();
        let page = PageRequest::<TimeKey>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let zone = ctx.services().config.reporting.time_zone;
        let interaction_id = filter
            .interaction_id
            .as_ref()
            .map(|id| parse_id("interactionId", id))
            .transpose()?;
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let (start, end) =
                    local_date_range(zone, filter.from.map(|d| d.0), filter.to.map(|d| d.0))?;
                let scoped = || {
                    let mut query = survey_invitations::table.into_boxed();
                    if let Some(visible) = visible::survey_invitations(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(start) = start {
                        query = query.filter(survey_invitations::sent_at.ge(start));
                    }
                    if let Some(end) = end {
                        query = query.filter(survey_invitations::sent_at.lt(end));
                    }
                    if let Some(kinds) = &filter.kinds {
                        query = query.filter(survey_invitations::kind.eq_any(kinds.clone()));
                    }
                    match filter.responded {
                        Some(true) => {
                            query = query.filter(survey_invitations::responded_at.is_not_null())
                        }
                        Some(false) => {
                            query = query.filter(survey_invitations::responded_at.is_null())
                        }
                        None => {}
                    }
                    if let Some(interaction_id) = interaction_id {
                        query = query.filter(survey_invitations::interaction_id.eq(interaction_id));
                    }
                    query
                };
                let rows: Vec<SurveyInvitation> = page_by_time!(
                    scoped(),
                    survey_invitations::sent_at,
                    survey_invitations::id,
                    query_page
                )
                .select(SurveyInvitation::as_select())
                .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(
            rows,
            total,
            |row| (row.sent_at, row.id),
            SurveyInvitationType,
        ))
    }

    /// Customers with contact details, for the roles allowed PII (agents: customers they
    /// served; supervisors: customers their subtree served; admins: all).
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this source-system reference.")] customer_ref: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<CustomerType>> {
        let record_scope = ctx
            .scope()
            .authorize(Action::ReadCustomerContacts)?
            .record_scope();
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let scoped = || {
                    let mut query = customers::table.into_boxed();
                    if let Some(visible) = visible::customers(record_scope) {
                        query = query.filter(visible);
                    }
                    if let Some(reference) = &customer_ref {
                        query = query.filter(customers::customer_ref.eq(reference.clone()));
                    }
                    query
                };
                let rows: Vec<Customer> = page_by_id!(scoped(), customers::id, query_page)
                    .select(Customer::as_select())
                    .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, CustomerType))
    }
}
