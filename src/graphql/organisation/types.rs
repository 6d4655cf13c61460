//! GraphQL types of the organisation domain.

use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::{
    db::{enums::Role, models},
    graphql::context::ContextExt,
};

/// A unit of the organisation: the agency, an office, or a team.
#[derive(SimpleObject)]
#[graphql(name = "OrgUnit", complex)]
pub struct OrgUnitType {
    pub id: ID,
    /// Stable short code, e.g. `BAC-NORTH`.
    pub code: String,
    pub name: String,
    /// 0 for the agency, 1 for an office, 2 for a team.
    pub depth: i32,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub parent_id: Option<i64>,
}

impl From<models::OrgUnit> for OrgUnitType {
    fn from(unit: models::OrgUnit) -> Self {
        Self {
            id: ID(unit.id.to_string()),
            code: unit.code,
            name: unit.name,
            depth: unit.path.len().saturating_sub(1) as i32,
            created_at: unit.created_at,
            parent_id: unit.parent_id,
        }
    }
}

#[ComplexObject]
impl OrgUnitType {
    /// The unit this one belongs to (null for the agency).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<OrgUnitType>> {
        let Some(parent_id) = self.parent_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .org_units
            .load_one(parent_id)
            .await?
            .map(OrgUnitType::from))
    }
}

/// An inquiry category.
#[derive(SimpleObject)]
#[graphql(name = "Topic")]
pub struct TopicType {
    pub id: ID,
    /// Stable short code, e.g. `LICENSING`.
    pub code: String,
    pub name: String,
}

impl From<models::Topic> for TopicType {
    fn from(topic: models::Topic) -> Self {
        Self {
            id: ID(topic.id.to_string()),
            code: topic.code,
            name: topic.name,
        }
    }
}

/// A staff member or service account.
pub struct UserType(pub models::User);

#[Object(name = "User")]
impl UserType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    /// False once the account is deactivated; its tokens stop working at once.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Service accounts have no password and sign in only with minted tokens.
    async fn service_account(&self) -> bool {
        self.0.password_hash.is_none()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The unit the user belongs to; a supervisor's scope is this unit's subtree.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        ctx.loaders()
            .org_units
            .load_one(self.0.org_unit_id)
            .await?
            .map(OrgUnitType::from)
            .ok_or_else(|| crate::error::AppError::internal("user's org unit is missing").into())
    }
}
