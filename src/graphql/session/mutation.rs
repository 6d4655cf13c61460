//! `login`, `refreshSession`, `logout`.

use async_graphql::{Context, Object, Result};

use crate::{
    auth::Action,
    graphql::{context::ContextExt, session::types::AuthPayload},
};

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Exchanges an email and password for an access token and a refresh token.
    /// Wrong email and wrong password fail alike, in the same time.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        #[graphql(secret)] password: String,
    ) -> Result<AuthPayload> {
        let services = ctx.services();
        let issued = services
            .auth
            .login(
                &services.database,
                &email,
                password,
                &ctx.request().client_address,
                ctx.request_id(),
            )
            .await?;
        Ok(issued.into())
    }

    /// Spends a refresh token and returns a new access token and refresh token.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> Result<AuthPayload> {
        let services = ctx.services();
        let issued = services
            .auth
            .refresh(&services.database, &refresh_token, ctx.request_id())
            .await?;
        Ok(issued.into())
    }

    /// Ends the current session: its access and refresh tokens stop working immediately.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let principal = ctx.scope().authorize(Action::UseOwnSession)?.clone();
        let services = ctx.services();
        services
            .auth
            .logout(&services.database, &principal, ctx.request_id())
            .await?;
        Ok(true)
    }
}
