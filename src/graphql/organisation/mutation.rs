//! Administration of the organisation: `createUser`, `deactivateUser`, `createOrgUnit`,
//! `createTopic` (admin only). The rules, the writes and their audit events live in
//! `records::organisation`; these resolvers authorize, name the inputs as GraphQL spells them,
//! and call it.

use async_graphql::{Context, InputObject, Object, Result, ID};

use crate::{
    audit::Actor,
    auth::Action,
    db::enums::Role,
    graphql::{
        context::ContextExt,
        filters::parse_id,
        organisation::types::{OrgUnitType, TopicType, UserType},
    },
    records::organisation::{
        self, NewPassword, OrgUnitDraft, OrgUnitFields, TopicDraft, TopicFields, UserDraft,
        UserFields, UserInput,
    },
};

/// A new staff member or service account.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_code: String,
    /// At least 12 characters. Omit for a service account (it signs in with minted tokens only).
    #[graphql(secret)]
    pub password: Option<String>,
}

/// The inputs of `createUser` as GraphQL names them.
const USER_FIELDS: UserFields = UserFields {
    email: "email",
    display_name: "displayName",
    org_unit_code: "orgUnitCode",
};
/// The arguments of `createOrgUnit`.
const ORG_UNIT_FIELDS: OrgUnitFields = OrgUnitFields {
    code: "code",
    name: "name",
    parent_code: "parentCode",
};
/// The arguments of `createTopic`.
const TOPIC_FIELDS: TopicFields = TopicFields {
    code: "code",
    name: "name",
};

/// The signed-in administrator, for the audit trail.
fn administrator(ctx: &Context<'_>) -> Result<Actor> {
    let principal = ctx.scope().authorize(Action::Administer)?;
    Ok(Actor::user(principal.user_id, principal.role))
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    /// Creates a user (admin).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserType> {
        let actor = administrator(ctx)?;
        let draft = UserDraft::parse(
            USER_FIELDS,
            UserInput {
                email: &input.email,
                display_name: Some(&input.display_name),
                role: input.role,
                org_unit_code: &input.org_unit_code,
            },
        )?;
        let password = input
            .password
            .map(|password| NewPassword::parse("password", password))
            .transpose()?;
        let user =
            organisation::create_user(ctx.database(), actor, ctx.request_id(), draft, password)
                .await?;
        Ok(UserType(user))
    }

    /// Deactivates a user (admin): their sessions end and their tokens stop working at once.
    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> Result<UserType> {
        let actor = administrator(ctx)?;
        let id = parse_id("id", &id)?;
        let user = organisation::deactivate_user(ctx.database(), actor, ctx.request_id(), "id", id)
            .await?;
        Ok(UserType(user))
    }

    /// Creates an org unit under `parentCode` (or a new root without it) (admin).
    async fn create_org_unit(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
        parent_code: Option<String>,
    ) -> Result<OrgUnitType> {
        let actor = administrator(ctx)?;
        let draft = OrgUnitDraft::parse(ORG_UNIT_FIELDS, &code, &name, parent_code.as_deref())?;
        let unit =
            organisation::create_org_unit(ctx.database(), actor, ctx.request_id(), draft).await?;
        Ok(unit.into())
    }

    /// Creates an inquiry topic (admin).
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
    ) -> Result<TopicType> {
        let actor = administrator(ctx)?;
        let draft = TopicDraft::parse(TOPIC_FIELDS, &code, &name)?;
        let topic =
            organisation::create_topic(ctx.database(), actor, ctx.request_id(), draft).await?;
        Ok(topic.into())
    }
}
