//! GraphQL types of the training insights: the needs report, the impact report, and the
//! evidence an assignment keeps of the need it answers. The numbers and their definitions are
//! `crate::insights::training`'s; these types only expose them and resolve the agents, units
//! and courses they name through the request's DataLoaders.

use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    db::enums::MetricKind,
    error::AppError,
    graphql::{
        context::ContextExt,
        organisation::{OrgUnitType, UserType},
        program::types::TrainingCourseType,
        scalars::Date,
    },
    insights::training::{self as insights, higher_is_better},
};

/// An agent by id, through the request's loader.
async fn agent(ctx: &Context<'_>, id: i64) -> Result<UserType> {
    ctx.loaders()
        .users
        .load_one(id)
        .await?
        .map(UserType)
        .ok_or_else(|| AppError::internal(format!("user {id} is missing")).into())
}

/// An org unit by id, through the request's loader.
async fn org_unit(ctx: &Context<'_>, id: i64) -> Result<OrgUnitType> {
    ctx.loaders()
        .org_units
        .load_one(id)
        .await?
        .map(OrgUnitType::from)
        .ok_or_else(|| AppError::internal(format!("org unit {id} is missing")).into())
}

/// Where agents are worse than their own team beyond the 95% interval, over a period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TrainingNeedsReport {
    pub from: Date,
    pub to: Date,
    /// The smallest n (denominator) an agent needs on a metric to be assessed on it
    /// (`MIN_CELL_SIZE`, at least 2).
    pub minimum_n: i64,
    /// Every (agent, team) with enough data on at least one metric, by team code then agent
    /// email; `needs` is empty when the agent is worse on none.
    pub agents: Vec<AgentTrainingNeeds>,
    /// Agents and metrics with fewer than `minimumN` data points (metrics their team has no data
    /// for at all are not assessed and not listed).
    pub insufficient_data: Vec<InsufficientTrainingNeedData>,
    #[graphql(skip)]
    pub org_unit_id: i64,
}

#[ComplexObject]
impl TrainingNeedsReport {
    /// The unit asked about (its subtree is covered).
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        org_unit(ctx, self.org_unit_id).await
    }
}

/// One agent compared with one team: the org unit of the interactions they handled.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AgentTrainingNeeds {
    pub needs: Vec<TrainingNeed>,
    #[graphql(skip)]
    pub agent_id: i64,
    #[graphql(skip)]
    pub org_unit_id: i64,
}

#[ComplexObject]
impl AgentTrainingNeeds {
    async fn agent(&self, ctx: &Context<'_>) -> Result<UserType> {
        agent(ctx, self.agent_id).await
    }
    /// The team the agent is compared with.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        org_unit(ctx, self.org_unit_id).await
    }
}

/// A metric on which the agent is worse than their team beyond the 95% interval: for
/// higher-is-better metrics `upper < teamValue`, for lower-is-better ones `lower > teamValue`.
#[derive(SimpleObject)]
pub struct TrainingNeed {
    pub metric: MetricKind,
    /// False for TRANSFER_RATE and AVERAGE_HANDLE_TIME.
    pub higher_is_better: bool,
    pub agent_value: f64,
    /// The agent's denominator (answers to the item, handled interactions, …).
    pub n: i64,
    /// The agent's 95% interval (Wilson for proportions, mean ± 1.96·s/√n for means).
    pub lower: f64,
    pub upper: f64,
    /// The team's value over the same period; it includes the agent.
    pub team_value: f64,
    pub team_n: i64,
    /// Active courses that address this metric, by code.
    pub courses: Vec<TrainingCourseType>,
}

impl TrainingNeed {
    /// The need with the courses that address its metric.
    pub fn new(need: insights::Need, courses: Vec<TrainingCourseType>) -> Self {
        Self {
            metric: need.metric,
            higher_is_better: higher_is_better(need.metric),
            agent_value: need.agent_value,
            n: need.n,
            lower: need.lower,
            upper: need.upper,
            team_value: need.team_value,
            team_n: need.team_n,
            courses,
        }
    }
}

/// An agent not assessed on a metric for want of data.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct InsufficientTrainingNeedData {
    pub metric: MetricKind,
    pub n: i64,
    #[graphql(skip)]
    pub agent_id: i64,
    #[graphql(skip)]
    pub org_unit_id: i64,
}

impl From<insights::InsufficientNeedData> for InsufficientTrainingNeedData {
    fn from(gap: insights::InsufficientNeedData) -> Self {
        Self {
            metric: gap.metric,
            n: gap.n,
            agent_id: gap.agent_id,
            org_unit_id: gap.org_unit_id,
        }
    }
}

#[ComplexObject]
impl InsufficientTrainingNeedData {
    async fn agent(&self, ctx: &Context<'_>) -> Result<UserType> {
        agent(ctx, self.agent_id).await
    }
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        org_unit(ctx, self.org_unit_id).await
    }
}

/// The evidence of the need a training assignment answers, as the server recomputed it through
/// the metrics engine when the assignment was made.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TrainingNeedEvidence {
    pub metric: MetricKind,
    /// The period compared (inclusive local dates).
    pub from: Date,
    pub to: Date,
    pub higher_is_better: bool,
    pub agent_value: f64,
    pub n: i64,
    pub lower: f64,
    pub upper: f64,
    /// The team's value (the agent included).
    pub team_value: f64,
    pub team_n: i64,
    /// The minimum n in force at the time.
    pub minimum_n: i64,
    /// The team's code at the time.
    pub org_unit_code: String,
    #[graphql(skip)]
    pub org_unit_id: i64,
}

impl From<insights::NeedEvidence> for TrainingNeedEvidence {
    fn from(evidence: insights::NeedEvidence) -> Self {
        Self {
            metric: evidence.metric,
            from: Date(evidence.from),
            to: Date(evidence.to),
            higher_is_better: evidence.higher_is_better,
            agent_value: evidence.agent_value,
            n: evidence.n,
            lower: evidence.lower,
            upper: evidence.upper,
            team_value: evidence.team_value,
            team_n: evidence.team_n,
            minimum_n: evidence.minimum_n,
            org_unit_code: evidence.org_unit_code,
            org_unit_id: evidence.org_unit_id,
        }
    }
}

#[ComplexObject]
impl TrainingNeedEvidence {
    /// The team the agent was compared with.
    async fn org_unit(&self, ctx: &Context<'_>) -> Result<OrgUnitType> {
        org_unit(ctx, self.org_unit_id).await
    }
}

/// What a course changed for the agents who completed it.
#[derive(SimpleObject)]
pub struct TrainingImpactReport {
    pub course: TrainingCourseType,
    pub window_days: i32,
    /// The smallest n an agent needs in both windows to be compared.
    pub minimum_n: i64,
    /// The course's addressed metrics that were measured (volumes are not).
    pub metrics: Vec<MetricKind>,
    /// Every agent who completed the course (first completion), by completion time.
    pub agents: Vec<AgentTrainingImpact>,
    /// Each measured metric pooled over the agents with enough data on it.
    pub pooled: Vec<PooledTrainingImpact>,
    /// Agents and metrics with fewer than `minimumN` data points in either window.
    pub insufficient_data: Vec<InsufficientTrainingImpactData>,
}

impl From<insights::ImpactReport> for TrainingImpactReport {
    fn from(report: insights::ImpactReport) -> Self {
        Self {
            course: TrainingCourseType(report.course),
            window_days: report.window_days as i32,
            minimum_n: report.minimum_n,
            metrics: report.metrics,
            agents: report
                .agents
                .into_iter()
                .map(AgentTrainingImpact::from)
                .collect(),
            pooled: report
                .pooled
                .into_iter()
                .map(|pooled| PooledTrainingImpact {
                    metric: pooled.metric,
                    higher_is_better: higher_is_better(pooled.metric),
                    before: pooled.before.into(),
                    after: pooled.after.into(),
                    difference: pooled.difference.value,
                    lower: pooled.difference.lower,
                    upper: pooled.difference.upper,
                    agents: pooled.agents,
                })
                .collect(),
            insufficient_data: report
                .insufficient
                .into_iter()
                .map(|gap| InsufficientTrainingImpactData {
                    metric: gap.metric,
                    before_n: gap.before_n,
                    after_n: gap.after_n,
                    agent_id: gap.agent_id,
                })
                .collect(),
        }
    }
}

/// Inclusive local dates.
#[derive(SimpleObject)]
pub struct TrainingImpactWindow {
    pub from: Date,
    pub to: Date,
}

impl From<insights::DateWindow> for TrainingImpactWindow {
    fn from(window: insights::DateWindow) -> Self {
        Self {
            from: Date(window.from),
            to: Date(window.to),
        }
    }
}

/// One agent who completed the course, before and after.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AgentTrainingImpact {
    pub completed_at: DateTime<Utc>,
    /// The completion date in the reporting time zone; it belongs to neither window.
    pub completed_on: Date,
    /// The `windowDays` days before `completedOn`.
    pub before_window: TrainingImpactWindow,
    /// The `windowDays` days after `completedOn`.
    pub after_window: TrainingImpactWindow,
    /// The metrics with enough data in both windows.
    pub metrics: Vec<TrainingImpactChange>,
    #[graphql(skip)]
    pub agent_id: i64,
}

impl From<insights::AgentImpact> for AgentTrainingImpact {
    fn from(agent: insights::AgentImpact) -> Self {
        Self {
            completed_at: agent.completed_at,
            completed_on: Date(agent.completed_on),
            before_window: agent.before_window.into(),
            after_window: agent.after_window.into(),
            metrics: agent
                .metrics
                .into_iter()
                .map(|change| TrainingImpactChange {
                    metric: change.metric,
                    higher_is_better: higher_is_better(change.metric),
                    before: change.before.into(),
                    after: change.after.into(),
                    difference: change.difference.value,
                    lower: change.difference.lower,
                    upper: change.difference.upper,
                })
                .collect(),
            agent_id: agent.agent_id,
        }
    }
}

#[ComplexObject]
impl AgentTrainingImpact {
    async fn agent(&self, ctx: &Context<'_>) -> Result<UserType> {
        agent(ctx, self.agent_id).await
    }
}

/// A metric over one window, from the metrics engine.
#[derive(SimpleObject)]
pub struct TrainingImpactEstimate {
    /// Null when `n` is 0.
    pub value: Option<f64>,
    pub numerator: f64,
    /// The denominator (answers to the item, handled interactions, …).
    pub n: i64,
    /// 95% interval: Wilson for proportions, mean ± 1.96·s/√n for means.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<insights::WindowEstimate> for TrainingImpactEstimate {
    fn from(estimate: insights::WindowEstimate) -> Self {
        Self {
            value: estimate.value,
            numerator: estimate.numerator,
            n: estimate.n,
            lower: estimate.lower,
            upper: estimate.upper,
        }
    }
}

/// One metric of one agent: after − before with a 95% interval (Newcombe's hybrid score
/// interval for proportions, Welch's for means).
#[derive(SimpleObject)]
pub struct TrainingImpactChange {
    pub metric: MetricKind,
    /// Whether a positive difference is an improvement.
    pub higher_is_better: bool,
    pub before: TrainingImpactEstimate,
    pub after: TrainingImpactEstimate,
    /// after − before.
    pub difference: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// One metric pooled over the agents with enough data: Σ numerators ÷ Σ denominators in each
/// window, and the difference with its 95% interval.
#[derive(SimpleObject)]
pub struct PooledTrainingImpact {
    pub metric: MetricKind,
    pub higher_is_better: bool,
    pub before: TrainingImpactEstimate,
    pub after: TrainingImpactEstimate,
    pub difference: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// How many agents were pooled.
    pub agents: i64,
}

/// An agent left out of a metric for want of data in either window.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct InsufficientTrainingImpactData {
    pub metric: MetricKind,
    pub before_n: i64,
    pub after_n: i64,
    #[graphql(skip)]
    pub agent_id: i64,
}

#[ComplexObject]
impl InsufficientTrainingImpactData {
    async fn agent(&self, ctx: &Context<'_>) -> Result<UserType> {
        agent(ctx, self.agent_id).await
    }
}
