//! `me`: who the bearer token belongs to.

use async_graphql::{Context, Object, Result};
use diesel::prelude::*;

use crate::{
    auth::Action,
    db::{models::User, schema::users},
    graphql::{context::ContextExt, organisation::UserType},
};

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<UserType> {
        let user_id = ctx.scope().authorize(Action::UseOwnSession)?.user_id;
        let user = ctx
            .database()
            .run(move |connection| {
                Ok(users::table
                    .find(user_id)
                    .select(User::as_select())
                    .first(connection)?)
            })
            .await?;
        Ok(UserType(user))
    }
}
