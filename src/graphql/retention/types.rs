//! GraphQL types of legal holds, and of the retention status the oversight report shows.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::{
    db::models,
    graphql::{
        context::ContextExt,
        organisation::{OrgUnitType, UserType},
    },
    retention::{RetentionRule, RetentionStatus},
};

/// What a hold preserves.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalHoldTarget {
    /// An org unit and its subtree: every interaction handled there, their surveys and links,
    /// and their customers' contact details.
    OrgUnit,
    /// A customer: their contact details and every interaction of theirs.
    Customer,
    /// One interaction, its surveys and links, and its customer's contact details.
    Interaction,
}

/// Name exactly one target.
#[derive(InputObject)]
pub struct PlaceLegalHoldInput {
    /// An org unit (with its subtree), by code.
    pub org_unit_code: Option<String>,
    /// A customer, by id (`customers`, PII roles).
    pub customer_id: Option<ID>,
    /// One interaction, by id.
    pub interaction_id: Option<ID>,
    /// The matter the hold serves, e.g. a case or public-records request number (1–500
    /// characters). Shown to auditors: name the matter, not people.
    pub reason: String,
}

/// A hold on records that retention must not erase until it is lifted.
pub struct LegalHoldType(pub models::LegalHold);

#[Object(name = "LegalHold")]
impl LegalHoldType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn target(&self) -> LegalHoldTarget {
        if self.0.org_unit_id.is_some() {
            LegalHoldTarget::OrgUnit
        } else if self.0.customer_id.is_some() {
            LegalHoldTarget::Customer
        } else {
            LegalHoldTarget::Interaction
        }
    }

    /// The held org unit (target `ORG_UNIT`).
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<Option<OrgUnitType>> {
        let Some(id) = self.0.org_unit_id else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()
            .org_units
            .load_one(id)
            .await?
            .map(OrgUnitType::from))
    }

    /// The held customer's pseudonym (target `CUSTOMER`): the same key `Interaction.customerKey`
    /// shows.
    async fn customer_key(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.customer_id else {
            return Ok(None);
        };
        let pseudonymizer = &ctx.services().pseudonymizer;
        Ok(ctx
            .loaders()
            .customers
            .load_one(id)
            .await?
            .map(|customer| pseudonymizer.customer_key(&customer.customer_ref)))
    }

    /// The held interaction's id (target `INTERACTION`).
    async fn interaction_id(&self) -> Option<ID> {
        self.0.interaction_id.map(|id| ID(id.to_string()))
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }

    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.placed_at
    }

    async fn placed_by(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        Ok(ctx
            .loaders()
            .users
            .load_one(self.0.placed_by)
            .await?
            .map(UserType))
    }

    /// True until the hold is lifted.
    async fn active(&self) -> bool {
        self.0.lifted_at.is_none()
    }

    async fn lifted_at(&self) -> Option<DateTime<Utc>> {
        self.0.lifted_at
    }

    async fn lifted_by(&self, ctx: &Context<'_>) -> Result<Option<UserType>> {
        let Some(id) = self.0.lifted_by else {
            return Ok(None);
        };
        Ok(ctx.loaders().users.load_one(id).await?.map(UserType))
    }

    async fn lift_reason(&self) -> Option<&str> {
        self.0.lift_reason.as_deref()
    }
}

/// Records retention as the oversight report found it: the rules in force, the active legal
/// holds and the last run.
#[derive(SimpleObject)]
#[graphql(name = "RetentionStatus")]
pub struct RetentionStatusView {
    pub rules: Vec<RetentionRuleInForce>,
    /// Seconds between the server's scheduled runs; null when the schedule is off.
    pub schedule_interval_seconds: Option<i64>,
    pub active_legal_holds: i64,
    /// Null until retention has run once.
    pub last_run: Option<RetentionRunView>,
}

/// A retention rule as configured.
#[derive(SimpleObject)]
pub struct RetentionRuleInForce {
    pub rule: RetentionRule,
    pub period_days: i32,
    /// What it erases and from when the period counts.
    pub description: String,
}

/// A retention run, from its `retention.run` audit event.
#[derive(SimpleObject)]
#[graphql(name = "RetentionRun")]
pub struct RetentionRunView {
    pub audit_event_id: ID,
    pub ran_at: DateTime<Utc>,
    /// `operator` (the `retention` command) or `scheduler` (the server).
    pub run_by: String,
    pub rules: Vec<RetentionRuleOutcome>,
}

/// One rule's part of a run.
#[derive(SimpleObject)]
pub struct RetentionRuleOutcome {
    pub rule: RetentionRule,
    pub period_days: i32,
    /// Records whose period ended before this instant were due.
    pub cutoff: DateTime<Utc>,
    /// Records whose personal fields were erased (sessions: deleted).
    pub affected: i64,
    /// Records due but kept because a legal hold covers them.
    pub held: i64,
}

impl From<RetentionStatus> for RetentionStatusView {
    fn from(status: RetentionStatus) -> Self {
        Self {
            rules: status
                .rules
                .into_iter()
                .map(|rule| RetentionRuleInForce {
                    rule: rule.rule,
                    period_days: rule.period_days as i32,
                    description: rule.description.to_owned(),
                })
                .collect(),
            schedule_interval_seconds: status
                .schedule_interval_seconds
                .map(|seconds| seconds as i64),
            active_legal_holds: status.active_legal_holds,
            last_run: status.last_run.map(|run| RetentionRunView {
                audit_event_id: ID(run.audit_event_id.to_string()),
                ran_at: run.ran_at,
                run_by: run.run_by,
                rules: run
                    .rules
                    .into_iter()
                    .map(|outcome| RetentionRuleOutcome {
                        rule: outcome.rule,
                        period_days: outcome.period_days as i32,
                        cutoff: outcome.cutoff,
                        affected: outcome.affected,
                        held: outcome.held,
                    })
                    .collect(),
            }),
        }
    }
}
