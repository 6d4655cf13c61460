//! GraphQL types of the records domain. Sensitive fields ask the scope module themselves:
//! the agent who handled a contact, the customer's contact details, and free-text comments.

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use crate::{
    auth::Action,
    db::{
        enums::{Channel, Outcome, SurveyKind},
        models,
    },
    error::AppError,
    graphql::{
        context::ContextExt,
        organisation::{OrgUnitType, TopicType, UserType},
        plain::Plain,
    },
};

/// One customer contact on one channel.
pub struct InteractionType(pub models::Interaction);

#[Object(name = "Interaction")]
impl InteractionType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The sending system; with `externalId`, the idempotency key.
    async fn source(&self) -> &str {
        &self.0.source
    }

    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    async fn channel(&self) -> Channel {
        self.0.channel
    }

    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    /// Seconds in queue before an answer or abandonment (queued channels).
    async fn wait_seconds(&self) -> Option<i32> {
        self.0.wait_seconds
    }

    /// Talk, hold and wrap-up seconds.
    async fn handle_seconds(&self) -> Option<i32> {
        self.0.handle_seconds
    }

    async fn transfers(&self) -> i32 {
        self.0.transfers
    }

    async fn abandoned(&self) -> bool {
        self.0.abandoned
    }

    async fn outcome(&self) -> Option<Outcome> {
        self.0.outcome
    }

    // The related objects are resolved in one pass ([`Plain`]): a page shows one of each per
    // row, and at most one of their fields (`parent`, `orgUnit`) waits.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<Plain<OrgUnitType>> {
        ctx.loaders()
            .org_units
            .load_one(self.0.org_unit_id)
            .await?
            .map(|unit| Plain(OrgUnitType::from(unit)))
            .ok_or_else(|| AppError::internal("interaction's org unit is missing").into())
    }

    /// The staff member who handled it; null for self-service and for roles that see no
    /// per-agent detail (`analyst`).
    async fn agent(&self, ctx: &Context<'_>) -> Result<Option<Plain<UserType>>> {
        let Some(agent_id) = self.0.agent_id else {
            return Ok(None);
        };
        if ctx.scope().authorize(Action::IdentifyAgents).is_err() {
            return Ok(None);
        }
        Ok(ctx
            .loaders()
            .users
            .load_one(agent_id)
            .await?
            .map(|agent| Plain(UserType(agent))))
    }

    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Plain<TopicType>>> {
        let Some(topic_id) = self.0.topic_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .topics
            .load_one(topic_id)
            .await?
            .map(|topic| Plain(TopicType::from(topic))))
    }

    /// The customer's stable pseudonym: the same customer always has the same key. Every role
    /// that reads interactions sees it; null when no customer was identified.
    async fn customer_key(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(customer_id) = self.0.customer_id else {
            return Ok(None);
        };
        let pseudonymizer = &ctx.services().pseudonymizer;
        Ok(ctx
            .loaders()
            .customers
            .load_one(customer_id)
            .await?
            .map(|customer| pseudonymizer.customer_key(&customer.customer_ref)))
    }

    /// The customer with contact details: only for roles allowed PII (agent, supervisor,
    /// admin); null for everyone else.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<CustomerType>> {
        let Some(customer_id) = self.0.customer_id else {
            return Ok(None);
        };
        if ctx.scope().authorize(Action::ReadCustomerContacts).is_err() {
            return Ok(None);
        }
        Ok(ctx
            .loaders()
            .customers
            .load_one(customer_id)
            .await?
            .map(CustomerType))
    }

    /// Surveys answered about this interaction, oldest first.
    async fn survey_responses(&self, ctx: &Context<'_>) -> Result<Vec<SurveyResponseType>> {
        Ok(ctx
            .loaders()
            .responses_by_interaction
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(SurveyResponseType)
            .collect())
    }
}

/// A business served, with contact details (PII roles only).
pub struct CustomerType(pub models::Customer);

#[Object(name = "Customer")]
impl CustomerType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The pseudonym other roles see for this customer.
    async fn customer_key(&self, ctx: &Context<'_>) -> String {
        ctx.services()
            .pseudonymizer
            .customer_key(&self.0.customer_ref)
    }

    /// The source system's identifier for the customer.
    async fn customer_ref(&self) -> &str {
        &self.0.customer_ref
    }

    async fn business_name(&self) -> Option<&str> {
        self.0.business_name.as_deref()
    }

    async fn contact_name(&self) -> Option<&str> {
        self.0.contact_name.as_deref()
    }

    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When retention erased the contact details (null: never erased; details that arrive
    /// with a later contact are kept again from then).
    async fn contact_details_erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.contact_details_erased_at
    }
}

/// One answered survey: seven 1–5 Likert items (A-11 drivers), "my issue was resolved", and a
/// comment.
pub struct SurveyResponseType(pub models::SurveyResponse);

#[Object(name = "SurveyResponse")]
impl SurveyResponseType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> SurveyKind {
        self.0.kind
    }

    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    async fn submitted_at(&self) -> DateTime<Utc> {
        self.0.submitted_at
    }

    async fn satisfaction(&self) -> Option<i16> {
        self.0.satisfaction
    }

    async fn trust(&self) -> Option<i16> {
        self.0.trust
    }

    async fn effectiveness(&self) -> Option<i16> {
        self.0.effectiveness
    }

    async fn ease(&self) -> Option<i16> {
        self.0.ease
    }

    async fn efficiency(&self) -> Option<i16> {
        self.0.efficiency
    }

    async fn transparency(&self) -> Option<i16> {
        self.0.transparency
    }

    async fn helpfulness(&self) -> Option<i16> {
        self.0.helpfulness
    }

    /// "My issue was resolved."
    async fn resolved(&self) -> Option<bool> {
        self.0.resolved
    }

    /// Free text, which may hold PII: null for roles not allowed to read comments (`analyst`).
    async fn comment(&self, ctx: &Context<'_>) -> Option<&str> {
        if ctx.scope().authorize(Action::ReadSurveyComments).is_err() {
            return None;
        }
        self.0.comment.as_deref()
    }

    /// When retention erased the comment (null: never erased).
    async fn comment_erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.comment_erased_at
    }

    /// Whether this came through a one-time survey invitation.
    async fn invitation_id(&self) -> Option<ID> {
        self.0.invitation_id.map(|id| ID(id.to_string()))
    }

    /// The staff member who recorded a follow-up assessment (hidden from `analyst`).
    async fn recorded_by(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        let Some(user_id) = self.0.recorded_by else {
            return Ok(None);
        };
        if ctx.scope().authorize(Action::IdentifyAgents).is_err() {
            return Ok(None);
        }
        Ok(ctx.loaders().users.load_one(user_id).await?.map(UserType))
    }

    async fn interaction(&self, ctx: &Context<'_>) -> Result<InteractionType> {
        ctx.loaders()
            .interactions
            .load_one(self.0.interaction_id)
            .await?
            .map(InteractionType)
            .ok_or_else(|| AppError::internal("response's interaction is missing").into())
    }
}

/// A survey offered for an interaction.
pub struct SurveyInvitationType(pub models::SurveyInvitation);

#[Object(name = "SurveyInvitation")]
impl SurveyInvitationType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> SurveyKind {
        self.0.kind
    }

    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.sent_at
    }

    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When the survey was answered; null while it is open.
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.0.responded_at
    }

    /// When retention erased the link's token hash (the link has not resolved since).
    async fn token_erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.token_erased_at
    }

    async fn interaction(&self, ctx: &Context<'_>) -> Result<InteractionType> {
        ctx.loaders()
            .interactions
            .load_one(self.0.interaction_id)
            .await?
            .map(InteractionType)
            .ok_or_else(|| AppError::internal("invitation's interaction is missing").into())
    }
}
