//! Record writes: `recordInteraction`, `createSurveyInvitation`, `submitSurveyResponse` (public,
//! one-time token), `recordFollowUpAssessment`. The resolvers are thin: they authorize, parse
//! the input into domain values (the conversion is the parse), and call the domain module that
//! owns the write (`records::interactions`, `records::surveys`, `records::follow_ups`).

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::{
    audit::Actor,
    auth::Action,
    db::enums::{Channel, Outcome, SurveyKind},
    domain::{
        Answers, Code, CustomerRef, Email, EventTime, ExternalKey, LikertItem, Name, Phone,
        RawAnswers, Seconds,
    },
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        filters::parse_id,
        records::types::{InteractionType, SurveyInvitationType, SurveyResponseType},
    },
    records::{
        follow_ups::{self, FollowUpSubmission},
        interactions::{
            record_one, Author, CustomerDetails, InteractionFields, InteractionSubmission,
        },
        surveys, FieldNames,
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

impl CustomerInput {
    fn parse(self) -> AppResult<CustomerDetails> {
        Ok(CustomerDetails {
            reference: CustomerRef::parse("customer.customerRef", &self.customer_ref)?,
            business_name: Name::parse_optional(
                "customer.businessName",
                self.business_name.as_deref(),
            )?,
            contact_name: Name::parse_optional(
                "customer.contactName",
                self.contact_name.as_deref(),
            )?,
            email: self
                .email
                .as_deref()
                .filter(|email| !email.trim().is_empty())
                .map(|email| Email::parse("customer.email", email))
                .transpose()?,
            phone: Phone::parse_optional("customer.phone", self.phone.as_deref())?,
        })
    }
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
    /// Queued channels (PHONE, CHAT) only.
    pub wait_seconds: Option<i32>,
    /// Talk, hold and wrap-up; not for abandoned contacts.
    pub handle_seconds: Option<i32>,
    #[graphql(default = 0)]
    pub transfers: i32,
    #[graphql(default = false)]
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
}

impl InteractionInput {
    /// The submission this input describes, every field parsed by its domain rule.
    fn parse(self) -> AppResult<InteractionSubmission> {
        let fields = InteractionFields {
            key: ExternalKey::parse(("source", &self.source), ("externalId", &self.external_id))?,
            channel: self.channel,
            org_unit: Code::parse("orgUnitCode", &self.org_unit_code)?,
            agent: self
                .agent_email
                .as_deref()
                .map(|email| Email::parse("agentEmail", email))
                .transpose()?,
            customer: self.customer.map(CustomerInput::parse).transpose()?,
            topic: self
                .topic_code
                .as_deref()
                .map(|code| Code::parse("topicCode", code))
                .transpose()?,
            started_at: EventTime::parse("startedAt", self.started_at, Utc::now())?,
            wait: self
                .wait_seconds
                .map(|seconds| Seconds::parse("waitSeconds", i64::from(seconds)))
                .transpose()?,
            handle: self
                .handle_seconds
                .map(|seconds| Seconds::parse("handleSeconds", i64::from(seconds)))
                .transpose()?,
            transfers: self.transfers,
            abandoned: self.abandoned,
            outcome: self.outcome,
        };
        InteractionSubmission::new(fields, FieldNames::Api)
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

impl SurveyAnswersInput {
    /// The answers, by the rules of [`Answers::parse`]. (The seven fields are this API's
    /// contract; past here the items are [`LikertItem`]s.)
    fn parse(self) -> AppResult<Answers> {
        let mut raw = RawAnswers {
            resolved: self.resolved,
            comment: self.comment,
            ..RawAnswers::default()
        };
        for (item, value) in LikertItem::ALL.into_iter().zip([
            self.satisfaction,
            self.trust,
            self.effectiveness,
            self.ease,
            self.efficiency,
            self.transparency,
            self.helpfulness,
        ]) {
            raw.set(item, value.map(i64::from));
        }
        Answers::parse(raw)
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
        let submission = input.parse()?;
        let author = Author {
            actor: Actor::user(principal.user_id, principal.role),
            request_id: ctx.request_id(),
        };
        let (interaction, created) = ctx
            .database()
            .transaction(move |connection| {
                record_one(connection, &submission, FieldNames::Api, &author)
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
            answers.parse()?,
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
        let key = match (source, external_id) {
            (Some(source), Some(external_id)) => Some(ExternalKey::parse(
                ("source", &source),
                ("externalId", &external_id),
            )?),
            (None, None) => None,
            _ => {
                return Err(
                    AppError::invalid("give both `source` and `externalId`, or neither").into(),
                )
            }
        };
        let submission = FollowUpSubmission {
            interaction_id: parse_id("interactionId", &interaction_id)?,
            answers: answers.parse()?,
            key,
        };
        let request_id = ctx.request_id();
        let response = ctx
            .database()
            .transaction(move |connection| {
                follow_ups::record(connection, &principal, &submission, request_id)
            })
            .await?;
        Ok(SurveyResponseType(response))
    }
}
