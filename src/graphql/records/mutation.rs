//! Record writes: `recordInteraction`, `createSurveyInvitation`, `submitSurveyResponse` (public,
//! one-time token), `recordFollowUpAssessment`. Each is one transaction with its audit event.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::{scope::visible, Action},
    db::{
        enums::{Channel, Outcome, SurveyKind},
        models::{Interaction, NewSurveyResponse, SurveyResponse},
        schema::{interactions, survey_responses},
    },
    error::AppError,
    graphql::{
        context::ContextExt,
        filters::parse_id,
        records::types::{InteractionType, SurveyInvitationType, SurveyResponseType},
    },
    records::{
        interactions::{audit_image, record_batch, CustomerSubmission, InteractionSubmission},
        surveys::{self, check_kind_fits_channel, Answers},
        RowOutcome,
    },
};

/// The customer of an interaction, as the sending system knows it.
#[derive(InputObject)]
pub struct CustomerInput {
    /// The source system's opaque id for the customer.
    pub customer_ref: String,
    pub business_name: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One interaction, as an integration reports it.
#[derive(InputObject)]
pub struct InteractionInput {
    /// The sending system; with `externalId`, the idempotency key.
    pub source: String,
    pub external_id: String,
    pub channel: Channel,
    pub org_unit_code: String,
    /// The handling agent or supervisor; omit for self-service and abandoned contacts.
    pub agent_email: Option<String>,
    pub customer: Option<CustomerInput>,
    pub topic_code: Option<String>,
    pub started_at: DateTime<Utc>,
    pub wait_seconds: Option<i32>,
    pub handle_seconds: Option<i32>,
    #[graphql(default = 0)]
    pub transfers: i32,
    #[graphql(default = false)]
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
}

impl From<InteractionInput> for InteractionSubmission {
    fn from(input: InteractionInput) -> Self {
        Self {
            source: input.source,
            external_id: input.external_id,
            channel: input.channel,
            org_unit_code: input.org_unit_code,
            agent_email: input.agent_email,
            customer: input.customer.map(|customer| CustomerSubmission {
                customer_ref: customer.customer_ref,
                business_name: customer.business_name,
                contact_name: customer.contact_name,
                email: customer.email,
                phone: customer.phone,
            }),
            topic_code: input.topic_code,
            started_at: input.started_at,
            wait_seconds: input.wait_seconds,
            handle_seconds: input.handle_seconds,
            transfers: input.transfers,
            abandoned: input.abandoned,
            outcome: input.outcome,
        }
    }
}

/// The answers of a survey. Likert items are 1 (worst) to 5 (best).
#[derive(InputObject, Default)]
pub struct SurveyAnswersInput {
    pub satisfaction: Option<i16>,
    pub trust: Option<i16>,
    pub effectiveness: Option<i16>,
    pub ease: Option<i16>,
    pub efficiency: Option<i16>,
    pub transparency: Option<i16>,
    pub helpfulness: Option<i16>,
    /// "My issue was resolved."
    pub resolved: Option<bool>,
    pub comment: Option<String>,
}

impl From<SurveyAnswersInput> for Answers {
    fn from(input: SurveyAnswersInput) -> Self {
        Self {
            satisfaction: input.satisfaction,
            trust: input.trust,
            effectiveness: input.effectiveness,
            ease: input.ease,
            efficiency: input.efficiency,
            transparency: input.transparency,
            helpfulness: input.helpfulness,
            resolved: input.resolved,
            comment: surveys::normalise_comment(input.comment),
        }
    }
}

/// The result of `recordInteraction`.
#[derive(SimpleObject)]
pub struct RecordInteractionPayload {
    pub interaction: InteractionType,
    /// False when the same key and content were already recorded (a retry).
    pub created: bool,
}

/// The result of `createSurveyInvitation`.
#[derive(SimpleObject)]
pub struct CreateSurveyInvitationPayload {
    pub invitation: SurveyInvitationType,
    /// The one-time token for the customer's survey link. Shown only now; only its hash is kept.
    pub token: String,
    /// The customer's link, `PUBLIC_BASE_URL/s/TOKEN`, to send as it is; null when the server
    /// has no public base URL (production without `PUBLIC_BASE_URL`).
    pub link: Option<String>,
}

/// The result of `submitSurveyResponse`: deliberately says nothing about the interaction.
#[derive(SimpleObject)]
pub struct SubmitSurveyResponsePayload {
    pub accepted: bool,
    pub kind: SurveyKind,
}

#[derive(Default)]
pub struct RecordsMutation;

#[Object]
impl RecordsMutation {
    /// Records an interaction (integrations and admins). Idempotent on `(source, externalId)`:
    /// a retry with the same content returns the original with `created: false`; the same key
    /// with different content is `CONFLICT`.
    async fn record_interaction(
        &self,
        ctx: &Context<'_>,
        input: InteractionInput,
    ) -> Result<RecordInteractionPayload> {
        let principal = ctx.scope().authorize(Action::RecordInteractions)?.clone();
        let request_id = ctx.request_id();
        let submission = InteractionSubmission::from(input);
        let (interaction, created) = ctx
            .database()
            .transaction(move |connection| {
                let outcome = record_batch(
                    connection,
                    std::slice::from_ref(&submission),
                    Utc::now(),
                    None,
                )?
                .pop()
                .ok_or_else(|| AppError::internal("no outcome for the interaction"))?;
                let (id, created) = match outcome {
                    RowOutcome::Inserted(id) => (id, true),
                    RowOutcome::Unchanged(id) => (id, false),
                    RowOutcome::Conflict { message, .. } => {
                        return Err(AppError::Conflict(message))
                    }
                    RowOutcome::Rejected(error) => return Err(error),
                };
                let interaction: Interaction = interactions::table
                    .find(id)
                    .select(Interaction::as_select())
                    .first(connection)?;
                if created {
                    audit::record(
                        connection,
                        Entry::new(
                            Actor::user(principal.user_id, principal.role),
                            "interaction.create",
                            "interaction",
                        )
                        .entity_id(id)
                        .after(audit_image(&interaction))
                        .request_id(request_id),
                    )?;
                }
                Ok((interaction, created))
            })
            .await?;
        Ok(RecordInteractionPayload {
            interaction: InteractionType(interaction),
            created,
        })
    }

    /// Creates a one-time survey invitation for an interaction and returns its token and the
    /// customer's link once (only the token's hash is kept).
    async fn create_survey_invitation(
        &self,
        ctx: &Context<'_>,
        interaction_id: ID,
        kind: SurveyKind,
        #[graphql(default = 14, desc = "Days until the link expires (1–90).")] expires_in_days: i32,
    ) -> Result<CreateSurveyInvitationPayload> {
        let principal = ctx.scope().authorize(Action::RecordInteractions)?;
        let actor = Actor::user(principal.user_id, principal.role);
        let interaction_id = parse_id("interactionId", &interaction_id)?;
        let created = surveys::create_invitation(
            ctx.database(),
            &ctx.services().survey_links,
            actor,
            interaction_id,
            kind,
            expires_in_days,
            ctx.request_id(),
        )
        .await?;
        Ok(CreateSurveyInvitationPayload {
            invitation: SurveyInvitationType(created.invitation),
            token: created.token,
            link: created.link,
        })
    }

    /// The public survey's submission over GraphQL (the hosted page at `/s/{token}` uses the
    /// same rules): no sign-in, a one-time token instead. Unknown, expired and already-used
    /// tokens are refused alike; each client address may submit a limited number of times per
    /// minute.
    async fn submit_survey_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
        answers: SurveyAnswersInput,
    ) -> Result<SubmitSurveyResponsePayload> {
        let services = ctx.services();
        let submitted = surveys::submit_with_token(
            ctx.database(),
            &services.survey_limit,
            &ctx.request().client_address,
            &token,
            Answers::from(answers),
            ctx.request_id(),
        )
        .await?;
        Ok(SubmitSurveyResponsePayload {
            accepted: true,
            kind: submitted.kind,
        })
    }

    /// Staff record a follow-up assessment about an interaction in their scope. With
    /// `source`/`externalId`, a retry returns the original.
    async fn record_follow_up_assessment(
        &self,
        ctx: &Context<'_>,
        interaction_id: ID,
        answers: SurveyAnswersInput,
        source: Option<String>,
        external_id: Option<String>,
    ) -> Result<SurveyResponseType> {
        let principal = ctx.scope().authorize(Action::RecordFollowUp)?.clone();
        let record_scope = principal.record_scope();
        let interaction_id = parse_id("interactionId", &interaction_id)?;
        if source.is_some() != external_id.is_some() {
            return Err(
                AppError::invalid("give both `source` and `externalId`, or neither").into(),
            );
        }
        let answers = Answers::from(answers);
        answers.validate()?;
        let request_id = ctx.request_id();
        let response = ctx
            .database()
            .transaction(move |connection| {
                let mut query = interactions::table.filter(interactions::id.eq(interaction_id)).into_boxed();
                if let Some(visible) = visible::interactions(record_scope) {
                    query = query.filter(visible);
                }
                let interaction: Interaction = query
                    .select(Interaction::as_select())
                    .first(connection)
                    .optional()?
                    .ok_or_else(|| AppError::NotFound(format!("no interaction {interaction_id}")))?;
                check_kind_fits_channel(SurveyKind::FollowUp, interaction.channel)?;
                if let (Some(source), Some(external_id)) = (&source, &external_id) {
                    let existing: Option<SurveyResponse> = survey_responses::table
                        .filter(survey_responses::source.eq(source))
                        .filter(survey_responses::external_id.eq(external_id))
                        .select(SurveyResponse::as_select())
                        .first(connection)
                        .optional()?;
                    if let Some(existing) = existing {
                        let same = existing.interaction_id == interaction_id
                            && surveys::recorded_answers_match(&existing, &answers);
                        return if same {
                            Ok(existing)
                        } else {
                            Err(AppError::Conflict(format!(
                                "assessment ({source}, {external_id}) was already recorded with different answers"
                            )))
                        };
                    }
                }
                let response: SurveyResponse = diesel::insert_into(survey_responses::table)
                    .values(NewSurveyResponse {
                        source,
                        external_id,
                        kind: SurveyKind::FollowUp,
                        interaction_id,
                        invitation_id: None,
                        recorded_by: Some(principal.user_id),
                        submitted_at: Utc::now(),
                        satisfaction: answers.satisfaction,
                        trust: answers.trust,
                        effectiveness: answers.effectiveness,
                        ease: answers.ease,
                        efficiency: answers.efficiency,
                        transparency: answers.transparency,
                        helpfulness: answers.helpfulness,
                        resolved: answers.resolved,
                        comment: answers.comment,
                    })
                    .returning(SurveyResponse::as_returning())
                    .get_result(connection)?;
                audit::record(
                    connection,
                    Entry::new(Actor::user(principal.user_id, principal.role), "survey_response.follow_up", "survey_response")
                        .entity_id(response.id)
                        .after(json!({ "interaction_id": interaction_id, "kind": "follow_up" }))
                        .request_id(request_id),
                )?;
                Ok(response)
            })
            .await?;
        Ok(SurveyResponseType(response))
    }
}
