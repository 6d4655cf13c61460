//! `legalHolds`.

use async_graphql::{Context, Object, Result};
use diesel::prelude::*;

use crate::{
    auth::Action,
    db::{models::LegalHold, schema::legal_holds},
    graphql::{
        connection::{KeysetConnection, PageRequest},
        context::ContextExt,
        retention::types::LegalHoldType,
    },
    page_by_id,
};

#[derive(Default)]
pub struct RetentionQuery;

#[Object]
impl RetentionQuery {
    /// Legal holds, oldest first (auditor, admin); `active` narrows to holds in force (true)
    /// or lifted (false).
    async fn legal_holds(
        &self,
        ctx: &Context<'_>,
        active: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<KeysetConnection<LegalHoldType>> {
        ctx.scope().authorize(Action::ReadLegalHolds)?;
        let page = PageRequest::<i64>::new(first, after, last, before)?;
        let want_total = ctx.look_ahead().field("totalCount").exists();
        let query_page = page.clone();
        let (rows, total) = ctx
            .database()
            .run(move |connection| {
                let filtered = || {
                    let mut query = legal_holds::table.into_boxed();
                    match active {
                        Some(true) => query = query.filter(legal_holds::lifted_at.is_null()),
                        Some(false) => query = query.filter(legal_holds::lifted_at.is_not_null()),
                        None => {}
                    }
                    query
                };
                let rows: Vec<LegalHold> = page_by_id!(filtered(), legal_holds::id, query_page)
                    .select(LegalHold::as_select())
                    .load(connection)?;
                let total = if want_total {
                    filtered().count().get_result(connection)?
                } else {
                    0
                };
                Ok((rows, total))
            })
            .await?;
        Ok(page.into_connection(rows, total, |row| row.id, LegalHoldType))
    }
}
