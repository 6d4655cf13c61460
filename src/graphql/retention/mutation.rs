//! `placeLegalHold` and `liftLegalHold` (admin), each one transaction with its audit event.

use async_graphql::{Context, Object, Result, ID};

use crate::{
    auth::Action,
    error::AppError,
    graphql::{
        context::ContextExt,
        filters::parse_id,
        retention::types::{LegalHoldType, PlaceLegalHoldInput},
    },
    retention::holds::{self, HoldActor, HoldTarget},
};

#[derive(Default)]
pub struct RetentionMutation;

#[Object]
impl RetentionMutation {
    /// Preserves an org unit's (with its subtree), a customer's or an interaction's records
    /// from retention until the hold is lifted (admin).
    async fn place_legal_hold(
        &self,
        ctx: &Context<'_>,
        input: PlaceLegalHoldInput,
    ) -> Result<LegalHoldType> {
        let principal = ctx.scope().authorize(Action::ManageLegalHolds)?;
        let actor = HoldActor {
            user_id: principal.user_id,
            role: principal.role,
        };
        let target = match (
            &input.org_unit_code,
            &input.customer_id,
            &input.interaction_id,
        ) {
            (Some(code), None, None) => HoldTarget::OrgUnit(code.trim().to_owned()),
            (None, Some(id), None) => HoldTarget::Customer(parse_id("customerId", id)?),
            (None, None, Some(id)) => HoldTarget::Interaction(parse_id("interactionId", id)?),
            _ => {
                return Err(AppError::invalid(
                    "name exactly one of `orgUnitCode`, `customerId` and `interactionId`",
                )
                .into())
            }
        };
        let hold = holds::place(
            ctx.database(),
            actor,
            target,
            &input.reason,
            ctx.request_id(),
        )
        .await?;
        Ok(LegalHoldType(hold))
    }

    /// Lifts a hold (admin): retention applies again to what it covered. `reason` says why
    /// (1–500 characters). Lifting a lifted hold is `CONFLICT`.
    async fn lift_legal_hold(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<LegalHoldType> {
        let principal = ctx.scope().authorize(Action::ManageLegalHolds)?;
        let actor = HoldActor {
            user_id: principal.user_id,
            role: principal.role,
        };
        let id = parse_id("id", &id)?;
        let hold = holds::lift(ctx.database(), actor, id, &reason, ctx.request_id()).await?;
        Ok(LegalHoldType(hold))
    }
}
