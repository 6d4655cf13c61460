//! `auditEvents` and `verifyAuditChain`.

use async_graphql::{Context, InputObject, Object, Result, ID};
use diesel::prelude::*;

use crate::{
    audit,
    auth::Action,
    db::{models::AuditEvent, schema::audit_events},
    graphql::{
        audit::types::{AuditChainVerificationType, AuditEventType},
        connection::{KeysetConnection, PageRequest},
        context::ContextExt,
        filters::{local_date_range, parse_ids},
        scalars::Date,
    },
    page_by_id,
};

/// Narrows `auditEvents`.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub actor_ids: Option<Vec<ID>>,
    /// Exact actions, e.g. `auth.login_failed`.
    pub actions: Option<Vec<String>>,
    pub entity_types: Option<Vec<String>>,
    pub entity_id: Option<String>,
    /// First day (reporting time zone), inclusive.
    pub from: Option<Date>,
    /// Last day (reporting time zone), inclusive.
    pub to: Option<Date>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail, oldest first.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<AuditEventType>> {
        ctx.scope().authorize(Action::ReadAuditTrail)?;
        let filter = filter.unwrap_or_default();
        let actor_ids = filter
            .actor_ids
            .as_ref()
            .map(|ids| parse_ids("actorIds", ids))
            .transpose()?;
        let (start, end) = local_date_range(
            ctx.services().config.reporting.time_zone,
            filter.from.map(|d| d.0),
            filter.to.map(|d| d.0),
        )?;
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let scoped = || {
                    let mut query = audit_events::table.into_boxed();
                    if let Some(actors) = &actor_ids {
                        query = query.filter(audit_events::actor_id.eq_any(actors.clone()));
                    }
                    if let Some(actions) = &filter.actions {
                        query = query.filter(audit_events::action.eq_any(actions.clone()));
                    }
                    if let Some(types) = &filter.entity_types {
                        query = query.filter(audit_events::entity_type.eq_any(types.clone()));
                    }
                    if let Some(entity_id) = &filter.entity_id {
                        query = query.filter(audit_events::entity_id.eq(entity_id.clone()));
                    }
                    if let Some(start) = start {
                        query = query.filter(audit_events::occurred_at.ge(start));
                    }
                    if let Some(end) = end {
                        query = query.filter(audit_events::occurred_at.lt(end));
                    }
                    query
                };
                let rows: Vec<AuditEvent> = page_by_id!(scoped(), audit_events::id, query_page)
                    .select(AuditEvent::as_select())
                    .load(connection)?;
                let total = if want_total {
                    scoped().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, AuditEventType))
    }

    /// Re-walks the whole hash chain and reports the first broken link.
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> Result<AuditChainVerificationType> {
        ctx.scope().authorize(Action::ReadAuditTrail)?;
        let verification = ctx.database().run(audit::verify_chain).await?;
        Ok(verification.into())
    }
}
