//! Training insights (issue 5, items 1 and 2): which agents need training on which metric, and
//! what a course changed for the agents who completed it.
//!
//! Every metric value here comes from the metrics engine ([`MetricsService::report`]) over the
//! caller's scope; this module only compares the engine's values and intervals, and combines
//! them into differences. It never computes a metric itself.
//!
//! # Training needs ([`assess_needs`])
//!
//! - **Metrics assessed**: [`NEED_METRICS`] — CSAT, the six A-11 drivers, first contact
//!   resolution, transfer rate and average handle time.
//! - **Team**: an agent's team is the org unit of the interactions they handled (the engine's
//!   `ORG_UNIT` dimension). An agent who handled interactions for two units is assessed against
//!   each, separately. The **team value** is the engine's value for that unit over the same
//!   period, within the same scope and the same org-unit filter: it **includes the agent's own
//!   interactions** (and those no agent handled).
//! - **Worse beyond the 95% interval**: for a higher-is-better metric (CSAT, the drivers,
//!   `FIRST_CONTACT_RESOLUTION`) the agent's interval **upper** bound is below the team value;
//!   for a lower-is-better one (`TRANSFER_RATE`, `AVERAGE_HANDLE_TIME`) the agent's **lower**
//!   bound is above it. A lower point estimate whose interval reaches the team value is not a
//!   need, nor is a tie. Differences smaller than [`TIE_TOLERANCE`] (relative) count as ties: the
//!   interval arithmetic rounds, and an agent at 20/20 against a team at 1.0 must not become
//!   "worse" by 1e-16.
//! - **Enough data**: the agent's denominator for the metric (its `n`) is at least the minimum
//!   ([`minimum_n`]: `MIN_CELL_SIZE`, default 10, and never below 2 so that a mean has an
//!   interval). Below it, the agent and metric are listed as insufficient data with their `n`,
//!   including `n = 0`. A metric the team itself has no data for (a driver its surveys never ask,
//!   handle time in a unit that records none) is not assessed for anyone in that team.
//! - **Computation**: two engine requests over `[from, to]` — grouped by `ORG_UNIT` and `AGENT`
//!   (agent values), and by `ORG_UNIT` (team values) — with the same org-unit filter.
//!
//! # Training impact ([`measure_impact`])
//!
//! For each agent who completed the course (the first completion when they completed it more
//! than once, so that pooled sums never count an interaction twice), with `D` the completion
//! date in the reporting time zone and `W` the window in days:
//! - **before** = the engine's value for that agent over `[D − W, D − 1]`, **after** = over
//!   `[D + 1, D + W]` (the completion day itself belongs to neither), each with `n` and its 95%
//!   interval. One engine request (grouped by `AGENT`, filtered to the agents) per distinct
//!   window: agents who completed on the same day share it.
//! - **Enough data**: `n ≥` [`minimum_n`] in both windows; otherwise the agent and metric are
//!   listed as insufficient data with both `n`s, and left out of the pooled result.
//! - **Difference** after − before with a 95% interval:
//!   - proportions: Newcombe's hybrid score interval from the two Wilson intervals
//!     `(l_b, u_b)` around `p_b` (before) and `(l_a, u_a)` around `p_a` (after), with
//!     `d = p_a − p_b`:
//!     `lower = d − √((p_a − l_a)² + (u_b − p_b)²)`, `upper = d + √((u_a − p_a)² + (p_b − l_b)²)`;
//!   - means: Welch's `d = m_a − m_b ± 1.96·√(s_b²/n_b + s_a²/n_a)`. The engine's mean interval is
//!     `m ± h` with `h = 1.96·s/√n`, so `s = h/1.96·√n` and the half-width is simply
//!     `√(h_b² + h_a²)`.
//! - **Pooled** over the agents with enough data: for proportions, Σ numerators ÷ Σ denominators
//!   in each window (Wilson intervals from the statistics module) and Newcombe's interval; for
//!   means, Σ sums ÷ Σ n in each window, with the pooled standard deviation from Σ squares —
//!   each agent's sum of squares recovered from the engine's value and interval as
//!   `Σx² = (n − 1)·s² + n·m²` — and Welch's interval.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    auth::scope::{visible, MetricsAccess, RecordScope},
    db::{
        enums::MetricKind,
        models::TrainingCourse,
        schema::{training_assignments, training_courses},
        Database,
    },
    error::{AppError, AppResult},
    metrics::{
        catalog::{definition, MetricShape},
        engine::MAX_FILTER_VALUES,
        statistics::{self, Estimate, Z_95},
        Dimension, MetricValue, MetricsFilter, MetricsRequest, MetricsService, ReportRow,
    },
};

/// The metrics training needs are assessed on (issue 5): CSAT, the six A-11 drivers, first
/// contact resolution, transfer rate and average handle time.
pub const NEED_METRICS: [MetricKind; 10] = [
    MetricKind::Csat,
    MetricKind::Trust,
    MetricKind::Effectiveness,
    MetricKind::Ease,
    MetricKind::Efficiency,
    MetricKind::Transparency,
    MetricKind::Helpfulness,
    MetricKind::FirstContactResolution,
    MetricKind::TransferRate,
    MetricKind::AverageHandleTime,
];

/// The longest before/after window of [`measure_impact`], in days.
pub const MAX_WINDOW_DAYS: i64 = 365;

/// Relative difference below which an interval bound and a team value count as equal.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Whether a larger value of `metric` is better (rates of abandonment and transfer, waiting and
/// handling times are better smaller).
pub fn higher_is_better(metric: MetricKind) -> bool {
    !matches!(
        metric,
        MetricKind::AbandonmentRate
            | MetricKind::AverageSpeedOfAnswer
            | MetricKind::AverageHandleTime
            | MetricKind::TransferRate
    )
}

/// The smallest `n` an agent needs on a metric to be assessed on it: the configured
/// `MIN_CELL_SIZE`, and at least 2 (a mean of one value has no interval).
pub fn minimum_n(service: &MetricsService) -> i64 {
    service.min_cell_size().max(2)
}

/// An engine denominator as a count (`0` when absent).
fn count(denominator: Option<f64>) -> i64 {
    denominator.unwrap_or(0.0).round() as i64
}

/// `a < b`, with differences below [`TIE_TOLERANCE`] counting as ties.
fn clearly_below(a: f64, b: f64) -> bool {
    a < b - TIE_TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// A request for `metrics` over `[from, to]`, in one period.
fn request(
    metrics: Vec<MetricKind>,
    from: NaiveDate,
    to: NaiveDate,
    group_by: Vec<Dimension>,
    filter: MetricsFilter,
) -> MetricsRequest {
    MetricsRequest {
        metrics,
        from,
        to,
        granularity: None,
        group_by,
        filter,
        service_level_threshold_seconds: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Training needs
// ---------------------------------------------------------------------------------------------

/// Whose training needs are assessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedPopulation {
    /// Every agent who handled interactions of this org unit or a unit below it, each against
    /// their own unit.
    OrgUnit(String),
    /// One agent, against each unit they handled interactions for (within the caller's scope).
    Agent(i64),
}

/// One metric on which an agent is worse than their team beyond the 95% interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub metric: MetricKind,
    pub agent_value: f64,
    /// The agent's denominator (responses answering the item, handled interactions, …).
    pub n: i64,
    /// The agent's 95% interval.
    pub lower: f64,
    pub upper: f64,
    /// The team's value (the agent included) and its denominator.
    pub team_value: f64,
    pub team_n: i64,
}

/// An agent's needs against one team. `needs` is empty when the agent had enough data on at
/// least one metric and is worse on none.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentNeeds {
    pub agent_id: i64,
    pub org_unit_id: i64,
    pub org_unit_code: String,
    pub needs: Vec<Need>,
}

/// An agent and metric not assessed for want of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientNeedData {
    pub agent_id: i64,
    pub org_unit_id: i64,
    pub metric: MetricKind,
    pub n: i64,
}

/// The outcome of [`assess_needs`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeedAssessment {
    pub minimum_n: i64,
    /// By team code, then agent email (the engine's order).
    pub agents: Vec<AgentNeeds>,
    pub insufficient: Vec<InsufficientNeedData>,
}

/// Assesses the training needs of `population` on `metrics` over `[from, to]` (see the module
/// header for the definitions): two engine requests.
pub async fn assess_needs(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    metrics: &[MetricKind],
    from: NaiveDate,
    to: NaiveDate,
    population: NeedPopulation,
) -> AppResult<NeedAssessment> {
    let minimum = minimum_n(service);
    let agent_filter = match &population {
        NeedPopulation::OrgUnit(code) => MetricsFilter {
            org_unit_codes: vec![code.clone()],
            ..MetricsFilter::default()
        },
        NeedPopulation::Agent(agent_id) => MetricsFilter {
            agent_ids: vec![*agent_id],
            ..MetricsFilter::default()
        },
    };
    let agent_rows = service
        .report(
            database,
            access,
            request(
                metrics.to_vec(),
                from,
                to,
                vec![Dimension::OrgUnit, Dimension::Agent],
                agent_filter,
            ),
        )
        .await?;
    let team_filter = match population {
        // The same filter as the agents': a team's value covers its whole unit either way.
        NeedPopulation::OrgUnit(code) => MetricsFilter {
            org_unit_codes: vec![code],
            ..MetricsFilter::default()
        },
        // Exactly the units the agent worked for.
        NeedPopulation::Agent(_) => {
            let codes: BTreeSet<String> = agent_rows
                .iter()
                .filter(|row| row.agent_id.is_some())
                .filter_map(|row| row.org_unit_code.clone())
                .collect();
            if codes.is_empty() {
                return Ok(NeedAssessment {
                    minimum_n: minimum,
                    ..NeedAssessment::default()
                });
            }
            MetricsFilter {
                org_unit_codes: codes.into_iter().collect(),
                ..MetricsFilter::default()
            }
        }
    };
    let team_rows = service
        .report(
            database,
            access,
            request(
                metrics.to_vec(),
                from,
                to,
                vec![Dimension::OrgUnit],
                team_filter,
            ),
        )
        .await?;
    Ok(assess(minimum, &agent_rows, &team_rows))
}

/// Compares each (agent, unit) row with its unit's row. Pure: the unit tests exercise it.
fn assess(minimum: i64, agent_rows: &[ReportRow], team_rows: &[ReportRow]) -> NeedAssessment {
    let teams: BTreeMap<i64, &ReportRow> = team_rows
        .iter()
        .filter_map(|row| row.org_unit_id.map(|id| (id, row)))
        .collect();
    let mut assessment = NeedAssessment {
        minimum_n: minimum,
        ..NeedAssessment::default()
    };
    for row in agent_rows {
        // Interactions nobody handled (self-service, abandoned) count in the team value only.
        let (Some(agent_id), Some(org_unit_id)) = (row.agent_id, row.org_unit_id) else {
            continue;
        };
        let Some(team) = teams.get(&org_unit_id) else {
            continue;
        };
        let mut needs = Vec::new();
        let mut assessed = false;
        for agent_value in &row.values {
            let Some(team_value) = team
                .values
                .iter()
                .find(|value| value.metric == agent_value.metric)
            else {
                continue;
            };
            if count(team_value.denominator) == 0 {
                continue;
            }
            let n = count(agent_value.denominator);
            if n < minimum {
                assessment.insufficient.push(InsufficientNeedData {
                    agent_id,
                    org_unit_id,
                    metric: agent_value.metric,
                    n,
                });
                continue;
            }
            assessed = true;
            needs.extend(need_of(agent_value, team_value));
        }
        if assessed {
            assessment.agents.push(AgentNeeds {
                agent_id,
                org_unit_id,
                org_unit_code: row.org_unit_code.clone().unwrap_or_default(),
                needs,
            });
        }
    }
    assessment
}

/// The need the agent's value shows against the team's, if it is worse beyond its interval.
fn need_of(agent: &MetricValue, team: &MetricValue) -> Option<Need> {
    let (Some(agent_value), Some(lower), Some(upper), Some(team_value)) =
        (agent.value, agent.lower, agent.upper, team.value)
    else {
        return None;
    };
    let worse = if higher_is_better(agent.metric) {
        clearly_below(upper, team_value)
    } else {
        clearly_below(team_value, lower)
    };
    worse.then(|| Need {
        metric: agent.metric,
        agent_value,
        n: count(agent.denominator),
        lower,
        upper,
        team_value,
        team_n: count(team.denominator),
    })
}

/// The active courses that address each of `metrics`, by code. The catalogue is small, so the
/// active courses are read once and matched here.
pub async fn courses_addressing(
    database: &Database,
    metrics: BTreeSet<MetricKind>,
) -> AppResult<BTreeMap<MetricKind, Vec<TrainingCourse>>> {
    if metrics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let courses: Vec<TrainingCourse> = database
        .run(|connection| {
            Ok(training_courses::table
                .filter(training_courses::active.eq(true))
                .order(training_courses::code)
                .select(TrainingCourse::as_select())
                .load(connection)?)
        })
        .await?;
    Ok(metrics
        .into_iter()
        .map(|metric| {
            let addressing = courses
                .iter()
                .filter(|course| course.addresses(metric))
                .cloned()
                .collect();
            (metric, addressing)
        })
        .collect())
}

/// What an assignment records about the need it answers: the comparison as the server
/// recomputed it when the assignment was made (stored as JSON in `training_assignments.need`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeedEvidence {
    pub metric: MetricKind,
    /// The period compared, in the reporting time zone (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The team the agent was compared with.
    pub org_unit_id: i64,
    pub org_unit_code: String,
    pub agent_value: f64,
    pub n: i64,
    pub lower: f64,
    pub upper: f64,
    pub team_value: f64,
    pub team_n: i64,
    pub higher_is_better: bool,
    /// The minimum n in force when the need was confirmed.
    pub minimum_n: i64,
}

impl NeedEvidence {
    /// A sentence stating the evidence, used as the assignment's reason when none is given.
    pub fn sentence(&self) -> String {
        let shown = |value: f64| match definition(self.metric).shape {
            MetricShape::Proportion => format!("{:.1}%", value * 100.0),
            MetricShape::Mean => format!("{value:.0} s"),
            MetricShape::Count => format!("{value:.0}"),
        };
        format!(
            "{metric} {value} (95% interval {lower} to {upper}, n = {n}) is worse than team {team}'s {team_value} (n = {team_n}) from {from} to {to}",
            metric = self.metric,
            value = shown(self.agent_value),
            lower = shown(self.lower),
            upper = shown(self.upper),
            n = self.n,
            team = self.org_unit_code,
            team_value = shown(self.team_value),
            team_n = self.team_n,
            from = self.from,
            to = self.to,
        )
    }
}

/// `metric` is one training needs are assessed on ([`NEED_METRICS`]); `BAD_USER_INPUT` on
/// `need` otherwise.
pub fn check_need_metric(metric: MetricKind) -> AppResult<()> {
    if NEED_METRICS.contains(&metric) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "need",
            format!("training needs are assessed on CSAT, the six A-11 drivers, FIRST_CONTACT_RESOLUTION, TRANSFER_RATE and AVERAGE_HANDLE_TIME, not {metric}"),
        ))
    }
}

/// Recomputes, through the engine, whether `agent_id` has a need on `metric` over `[from, to]`,
/// and returns its evidence; `BAD_USER_INPUT` on `need` when the agent is not worse than their
/// team beyond the interval there (or has too little data). When the agent worked for several
/// units and is worse than more than one, the comparison with the most data (largest `n`) is
/// kept.
pub async fn confirm_need(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    agent_id: i64,
    metric: MetricKind,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<NeedEvidence> {
    check_need_metric(metric)?;
    if from > to {
        return Err(AppError::bad_input(
            "need",
            "`to` must not be before `from`",
        ));
    }
    let assessment = assess_needs(
        database,
        service,
        access,
        &[metric],
        from,
        to,
        NeedPopulation::Agent(agent_id),
    )
    .await?;
    let strongest = assessment
        .agents
        .iter()
        .filter(|agent| agent.agent_id == agent_id)
        .flat_map(|agent| agent.needs.iter().map(move |need| (agent, need)))
        .filter(|(_, need)| need.metric == metric)
        .max_by_key(|(_, need)| need.n);
    if let Some((agent, need)) = strongest {
        return Ok(NeedEvidence {
            metric,
            from,
            to,
            org_unit_id: agent.org_unit_id,
            org_unit_code: agent.org_unit_code.clone(),
            agent_value: need.agent_value,
            n: need.n,
            lower: need.lower,
            upper: need.upper,
            team_value: need.team_value,
            team_n: need.team_n,
            higher_is_better: higher_is_better(metric),
            minimum_n: assessment.minimum_n,
        });
    }
    let assessed = assessment
        .agents
        .iter()
        .any(|agent| agent.agent_id == agent_id);
    let message = if assessed {
        format!(
            "the agent is not worse than their team on {metric} beyond the 95% interval from {from} to {to}"
        )
    } else {
        let most = assessment
            .insufficient
            .iter()
            .map(|gap| gap.n)
            .max()
            .unwrap_or(0);
        format!(
            "not enough data to show a need on {metric} from {from} to {to}: n = {most}, at least {} needed",
            assessment.minimum_n
        )
    };
    Err(AppError::bad_input("need", message))
}

// ---------------------------------------------------------------------------------------------
// Training impact
// ---------------------------------------------------------------------------------------------

/// Inclusive local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateWindow {
    /// The `days` days before `day`, `day` excluded.
    fn before(day: NaiveDate, days: u64) -> AppResult<Self> {
        Ok(Self {
            from: shift(day, days, false)?,
            to: shift(day, 1, false)?,
        })
    }

    /// The `days` days after `day`, `day` excluded.
    fn after(day: NaiveDate, days: u64) -> AppResult<Self> {
        Ok(Self {
            from: shift(day, 1, true)?,
            to: shift(day, days, true)?,
        })
    }
}

fn shift(day: NaiveDate, days: u64, forward: bool) -> AppResult<NaiveDate> {
    let shifted = if forward {
        day.checked_add_days(Days::new(days))
    } else {
        day.checked_sub_days(Days::new(days))
    };
    shifted.ok_or_else(|| AppError::internal(format!("date out of range: {day} ± {days} days")))
}

/// A metric over one window: the engine's value, numerator, `n` (denominator) and interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowEstimate {
    pub value: Option<f64>,
    pub numerator: f64,
    pub n: i64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl From<&MetricValue> for WindowEstimate {
    fn from(value: &MetricValue) -> Self {
        Self {
            value: value.value,
            numerator: value.numerator.unwrap_or(0.0),
            n: count(value.denominator),
            lower: value.lower,
            upper: value.upper,
        }
    }
}

impl WindowEstimate {
    fn from_estimate(estimate: Estimate, numerator: f64, n: f64) -> Self {
        Self {
            value: estimate.value,
            numerator,
            n: n.round() as i64,
            lower: estimate.lower,
            upper: estimate.upper,
        }
    }

    /// The half-width `h = 1.96·s/√n` of a mean's interval (0 without one).
    fn half_width(&self) -> f64 {
        match (self.lower, self.upper) {
            (Some(lower), Some(upper)) => (upper - lower) / 2.0,
            _ => 0.0,
        }
    }

    /// Σx² of the values behind a mean, recovered from its value and interval:
    /// `s = h/1.96·√n`, `Σx² = (n − 1)·s² + n·m²`.
    fn sum_of_squares(&self) -> f64 {
        let n = self.n as f64;
        let mean = self.value.unwrap_or(0.0);
        let s = self.half_width() / Z_95 * n.sqrt();
        (n - 1.0).max(0.0) * s * s + n * mean * mean
    }
}

/// after − before, with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Difference {
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Newcombe's hybrid score interval for `p_a − p_b` from the Wilson intervals of both:
/// `lower = d − √((p_a − l_a)² + (u_b − p_b)²)`, `upper = d + √((u_a − p_a)² + (p_b − l_b)²)`.
pub fn newcombe_difference(before: &WindowEstimate, after: &WindowEstimate) -> Difference {
    let (Some(p_b), Some(l_b), Some(u_b), Some(p_a), Some(l_a), Some(u_a)) = (
        before.value,
        before.lower,
        before.upper,
        after.value,
        after.lower,
        after.upper,
    ) else {
        return Difference::default();
    };
    let d = p_a - p_b;
    Difference {
        value: Some(d),
        lower: Some(d - ((p_a - l_a).powi(2) + (u_b - p_b).powi(2)).sqrt()),
        upper: Some(d + ((u_a - p_a).powi(2) + (p_b - l_b).powi(2)).sqrt()),
    }
}

/// Welch's interval for `m_a − m_b`: `± 1.96·√(s_b²/n_b + s_a²/n_a)`, which is `√(h_b² + h_a²)`
/// with `h` the half-widths of the two mean intervals (`h = 1.96·s/√n`).
pub fn welch_difference(before: &WindowEstimate, after: &WindowEstimate) -> Difference {
    let (Some(m_b), Some(m_a)) = (before.value, after.value) else {
        return Difference::default();
    };
    if before.lower.is_none() || after.lower.is_none() {
        return Difference {
            value: Some(m_a - m_b),
            lower: None,
            upper: None,
        };
    }
    let d = m_a - m_b;
    let half = (before.half_width().powi(2) + after.half_width().powi(2)).sqrt();
    Difference {
        value: Some(d),
        lower: Some(d - half),
        upper: Some(d + half),
    }
}

/// The difference of two windows of `metric`, by the metric's shape.
fn difference(metric: MetricKind, before: &WindowEstimate, after: &WindowEstimate) -> Difference {
    match definition(metric).shape {
        MetricShape::Proportion => newcombe_difference(before, after),
        MetricShape::Mean => welch_difference(before, after),
        // Counts are not assessed (see `impact_metrics`).
        MetricShape::Count => Difference::default(),
    }
}

/// One metric of one agent, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricChange {
    pub metric: MetricKind,
    pub before: WindowEstimate,
    pub after: WindowEstimate,
    pub difference: Difference,
}

/// One agent who completed the course.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentImpact {
    pub agent_id: i64,
    pub completed_at: DateTime<Utc>,
    /// The completion date in the reporting time zone.
    pub completed_on: NaiveDate,
    pub before_window: DateWindow,
    pub after_window: DateWindow,
    /// The metrics with enough data in both windows.
    pub metrics: Vec<MetricChange>,
}

/// One metric pooled over the agents with enough data on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledChange {
    pub metric: MetricKind,
    pub before: WindowEstimate,
    pub after: WindowEstimate,
    pub difference: Difference,
    /// How many agents were pooled.
    pub agents: i64,
}

/// An agent and metric left out for want of data in either window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientImpactData {
    pub agent_id: i64,
    pub metric: MetricKind,
    pub before_n: i64,
    pub after_n: i64,
}

/// The outcome of [`measure_impact`].
#[derive(Debug, Clone)]
pub struct ImpactReport {
    pub course: TrainingCourse,
    pub window_days: i64,
    pub minimum_n: i64,
    /// The course's addressed metrics that were measured.
    pub metrics: Vec<MetricKind>,
    /// By completion time, then agent id.
    pub agents: Vec<AgentImpact>,
    /// One per measured metric, in `metrics` order.
    pub pooled: Vec<PooledChange>,
    pub insufficient: Vec<InsufficientImpactData>,
}

/// The addressed metrics an impact can be measured on: every one but counts (a volume has no
/// n to judge and no interval).
fn impact_metrics(course: &TrainingCourse) -> Vec<MetricKind> {
    let mut metrics: Vec<MetricKind> = Vec::new();
    for metric in course.addressed() {
        if definition(metric).shape != MetricShape::Count && !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    metrics
}

/// Measures the course's effect on the agents who completed it (see the module header), within
/// `record_scope` (supervisors: agents of their subtree) and `access` (the caller's metrics).
/// `NOT_FOUND` for an unknown course; `BAD_USER_INPUT` for a window outside 1–365 days.
pub async fn measure_impact(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    record_scope: RecordScope,
    course_id: i64,
    window_days: i64,
) -> AppResult<ImpactReport> {
    if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
        return Err(AppError::bad_input(
            "windowDays",
            format!("must be from 1 to {MAX_WINDOW_DAYS} days"),
        ));
    }
    let (course, completions) = database
        .run(move |connection| {
            let course: TrainingCourse = training_courses::table
                .find(course_id)
                .select(TrainingCourse::as_select())
                .first(connection)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("no training course {course_id}")))?;
            let mut query = training_assignments::table
                .filter(training_assignments::course_id.eq(course_id))
                .filter(training_assignments::completed_at.is_not_null())
                .into_boxed();
            if let Some(visible) = visible::training_assignments(record_scope) {
                query = query.filter(visible);
            }
            let rows: Vec<(i64, Option<DateTime<Utc>>)> = query
                .order((
                    training_assignments::agent_id,
                    training_assignments::completed_at,
                ))
                .select((
                    training_assignments::agent_id,
                    training_assignments::completed_at,
                ))
                .load(connection)?;
            // The first completion of each agent (rows are ordered by agent, then time).
            let mut first: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
            for (agent_id, completed_at) in rows {
                if let Some(completed_at) = completed_at {
                    first.entry(agent_id).or_insert(completed_at);
                }
            }
            Ok((course, first))
        })
        .await?;

    let metrics = impact_metrics(&course);
    let minimum = minimum_n(service);
    let days = window_days as u64;
    let zone = service.rules().time_zone;
    let mut agents: Vec<AgentImpact> = completions
        .into_iter()
        .map(|(agent_id, completed_at)| {
            let completed_on = completed_at.with_timezone(&zone).date_naive();
            Ok(AgentImpact {
                agent_id,
                completed_at,
                completed_on,
                before_window: DateWindow::before(completed_on, days)?,
                after_window: DateWindow::after(completed_on, days)?,
                metrics: Vec::new(),
            })
        })
        .collect::<AppResult<_>>()?;
    agents.sort_by_key(|agent| (agent.completed_at, agent.agent_id));

    // Every distinct window once, for all the agents it applies to.
    let mut windows: BTreeMap<DateWindow, Vec<i64>> = BTreeMap::new();
    for agent in &agents {
        windows
            .entry(agent.before_window)
            .or_default()
            .push(agent.agent_id);
        windows
            .entry(agent.after_window)
            .or_default()
            .push(agent.agent_id);
    }
    let mut measured: BTreeMap<(DateWindow, i64), Vec<MetricValue>> = BTreeMap::new();
    if !metrics.is_empty() {
        for (window, agent_ids) in windows {
            for chunk in agent_ids.chunks(MAX_FILTER_VALUES) {
                let rows = service
                    .report(
                        database,
                        access,
                        request(
                            metrics.clone(),
                            window.from,
                            window.to,
                            vec![Dimension::Agent],
                            MetricsFilter {
                                agent_ids: chunk.to_vec(),
                                ..MetricsFilter::default()
                            },
                        ),
                    )
                    .await?;
                for row in rows {
                    if let Some(agent_id) = row.agent_id {
                        measured.insert((window, agent_id), row.values);
                    }
                }
            }
        }
    }
    Ok(compare_windows(
        course,
        window_days,
        minimum,
        metrics,
        agents,
        &measured,
    ))
}

/// Builds the per-agent and pooled comparisons from the engine's values per (window, agent).
/// Pure: the unit tests exercise it.
fn compare_windows(
    course: TrainingCourse,
    window_days: i64,
    minimum: i64,
    metrics: Vec<MetricKind>,
    mut agents: Vec<AgentImpact>,
    measured: &BTreeMap<(DateWindow, i64), Vec<MetricValue>>,
) -> ImpactReport {
    let estimate = |window: DateWindow, agent_id: i64, metric: MetricKind| {
        measured
            .get(&(window, agent_id))
            .and_then(|values| values.iter().find(|value| value.metric == metric))
            .map(WindowEstimate::from)
            .unwrap_or_default()
    };
    let mut insufficient = Vec::new();
    for agent in &mut agents {
        for &metric in &metrics {
            let before = estimate(agent.before_window, agent.agent_id, metric);
            let after = estimate(agent.after_window, agent.agent_id, metric);
            if before.n < minimum || after.n < minimum {
                insufficient.push(InsufficientImpactData {
                    agent_id: agent.agent_id,
                    metric,
                    before_n: before.n,
                    after_n: after.n,
                });
                continue;
            }
            agent.metrics.push(MetricChange {
                metric,
                difference: difference(metric, &before, &after),
                before,
                after,
            });
        }
    }
    let pooled = metrics
        .iter()
        .map(|&metric| pool(metric, &agents))
        .collect();
    ImpactReport {
        course,
        window_days,
        minimum_n: minimum,
        metrics,
        agents,
        pooled,
        insufficient,
    }
}

/// Pools `metric` over the agents that have it (those with enough data in both windows).
fn pool(metric: MetricKind, agents: &[AgentImpact]) -> PooledChange {
    let changes: Vec<&MetricChange> = agents
        .iter()
        .filter_map(|agent| agent.metrics.iter().find(|change| change.metric == metric))
        .collect();
    let pooled_window = |windows: Vec<WindowEstimate>| {
        let numerator: f64 = windows.iter().map(|window| window.numerator).sum();
        let n: f64 = windows.iter().map(|window| window.n as f64).sum();
        let estimate = match definition(metric).shape {
            MetricShape::Proportion => statistics::proportion(numerator, n),
            MetricShape::Mean => {
                let squares: f64 = windows.iter().map(WindowEstimate::sum_of_squares).sum();
                statistics::mean(numerator, n, squares)
            }
            MetricShape::Count => Estimate::default(),
        };
        WindowEstimate::from_estimate(estimate, numerator, n)
    };
    let before = pooled_window(changes.iter().map(|change| change.before).collect());
    let after = pooled_window(changes.iter().map(|change| change.after).collect());
    PooledChange {
        metric,
        difference: difference(metric, &before, &after),
        before,
        after,
        agents: changes.len() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a value");
        assert!(
            (actual - expected).abs() < 1e-6,
            "expected {expected}, got {actual}"
        );
    }

    fn proportion(metric: MetricKind, numerator: f64, n: f64) -> MetricValue {
        let estimate = statistics::proportion(numerator, n);
        MetricValue {
            metric,
            value: estimate.value,
            numerator: Some(numerator),
            denominator: Some(n),
            lower: estimate.lower,
            upper: estimate.upper,
            suppressed: false,
        }
    }

    fn mean(metric: MetricKind, sum: f64, n: f64, squares: f64) -> MetricValue {
        let estimate = statistics::mean(sum, n, squares);
        MetricValue {
            metric,
            value: estimate.value,
            numerator: Some(sum),
            denominator: Some(n),
            lower: estimate.lower,
            upper: estimate.upper,
            suppressed: false,
        }
    }

    fn row(org_unit_id: i64, agent_id: Option<i64>, values: Vec<MetricValue>) -> ReportRow {
        ReportRow {
            period_start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            period_label: "2026-10-01/2026-10-31".into(),
            channel: None,
            org_unit_id: Some(org_unit_id),
            org_unit_code: Some(format!("UNIT-{org_unit_id}")),
            agent_id,
            agent_email: None,
            topic_id: None,
            topic_code: None,
            values,
        }
    }

    #[test]
    fn a_need_is_an_interval_clear_of_the_team_value() {
        let team = row(
            1,
            None,
            vec![
                proportion(MetricKind::Csat, 55.0, 75.0),
                proportion(MetricKind::FirstContactResolution, 75.0, 75.0),
                proportion(MetricKind::TransferRate, 0.0, 75.0),
                proportion(MetricKind::Trust, 0.0, 0.0),
            ],
        );
        let agents = [
            // 6/20 = 0.3, Wilson upper 0.5190 < 55/75 = 0.7333: a need.
            row(
                1,
                Some(10),
                vec![
                    proportion(MetricKind::Csat, 6.0, 20.0),
                    proportion(MetricKind::FirstContactResolution, 20.0, 20.0),
                    proportion(MetricKind::TransferRate, 0.0, 20.0),
                    proportion(MetricKind::Trust, 0.0, 0.0),
                ],
            ),
            // 14/20 = 0.7 < 0.7333 but its upper bound 0.8545 overlaps: not a need. FCR 20/20
            // against a team at 1.0 and transfers 0/20 against 0.0 are ties: not needs.
            row(
                1,
                Some(11),
                vec![
                    proportion(MetricKind::Csat, 14.0, 20.0),
                    proportion(MetricKind::FirstContactResolution, 20.0, 20.0),
                    proportion(MetricKind::TransferRate, 0.0, 20.0),
                    proportion(MetricKind::Trust, 0.0, 0.0),
                ],
            ),
            // 5 answers: too few.
            row(
                1,
                Some(12),
                vec![
                    proportion(MetricKind::Csat, 5.0, 5.0),
                    proportion(MetricKind::FirstContactResolution, 5.0, 5.0),
                    proportion(MetricKind::TransferRate, 0.0, 5.0),
                    proportion(MetricKind::Trust, 0.0, 0.0),
                ],
            ),
            // Self-service: no agent, not assessed.
            row(1, None, vec![proportion(MetricKind::Csat, 1.0, 1.0)]),
        ];
        let assessment = assess(10, &agents, &[team]);
        assert_eq!(assessment.agents.len(), 2);
        let first = &assessment.agents[0];
        assert_eq!(first.agent_id, 10);
        assert_eq!(first.needs.len(), 1);
        assert_eq!(first.needs[0].metric, MetricKind::Csat);
        close(Some(first.needs[0].upper), 0.518_976_776);
        assert_eq!(first.needs[0].team_n, 75);
        assert!(assessment.agents[1].needs.is_empty());
        // Trust: the team has no answers, so nobody is assessed or listed on it.
        let gaps: Vec<(i64, MetricKind, i64)> = assessment
            .insufficient
            .iter()
            .map(|gap| (gap.agent_id, gap.metric, gap.n))
            .collect();
        assert_eq!(
            gaps,
            vec![
                (12, MetricKind::Csat, 5),
                (12, MetricKind::FirstContactResolution, 5),
                (12, MetricKind::TransferRate, 5),
            ]
        );
    }

    #[test]
    fn lower_is_better_needs_the_lower_bound_above_the_team() {
        // 10 × 500 s and 10 × 700 s: mean 600, s = √(200000/19), lower 555.03 > 380.
        let slow = mean(
            MetricKind::AverageHandleTime,
            12_000.0,
            20.0,
            10.0 * 250_000.0 + 10.0 * 490_000.0,
        );
        let team = proportion(MetricKind::AverageHandleTime, 0.0, 0.0);
        let team = MetricValue {
            value: Some(380.0),
            denominator: Some(75.0),
            ..team
        };
        let need = need_of(&slow, &team).expect("a need");
        close(Some(need.lower), 555.034_516_161);
        let team_above = MetricValue {
            value: Some(560.0),
            ..team
        };
        assert_eq!(need_of(&slow, &team_above), None);
    }

    #[test]
    fn newcombe_interval_matches_a_worked_example() {
        // Before 4/10, after 10/12 (worked in python3 from the Wilson bounds):
        // d = 0.433333, [0.031180, 0.694236].
        let before = WindowEstimate::from(&proportion(MetricKind::Csat, 4.0, 10.0));
        let after = WindowEstimate::from(&proportion(MetricKind::Csat, 10.0, 12.0));
        let difference = newcombe_difference(&before, &after);
        close(difference.value, 0.433_333_333);
        close(difference.lower, 0.031_179_517);
        close(difference.upper, 0.694_236_240);
    }

    #[test]
    fn welch_interval_uses_both_half_widths() {
        // Before 10, 20, 30 (mean 20, h = 11.316065); after 40, 50, 60 (mean 50, same h):
        // d = 30 ± √2·11.316065 = 30 ± 16.003333.
        let before = WindowEstimate::from(&mean(MetricKind::AverageHandleTime, 60.0, 3.0, 1400.0));
        let after = WindowEstimate::from(&mean(MetricKind::AverageHandleTime, 150.0, 3.0, 7700.0));
        let difference = welch_difference(&before, &after);
        close(difference.value, 30.0);
        close(difference.lower, 30.0 - 16.003_332_986);
        close(difference.upper, 30.0 + 16.003_332_986);
        // The sum of squares comes back from the interval.
        close(Some(before.sum_of_squares()), 1400.0);
    }

    #[test]
    fn windows_exclude_the_completion_day() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 15).unwrap();
        let before = DateWindow::before(day, 10).unwrap();
        let after = DateWindow::after(day, 10).unwrap();
        assert_eq!(before.from, NaiveDate::from_ymd_opt(2026, 10, 5).unwrap());
        assert_eq!(before.to, NaiveDate::from_ymd_opt(2026, 10, 14).unwrap());
        assert_eq!(after.from, NaiveDate::from_ymd_opt(2026, 10, 16).unwrap());
        assert_eq!(after.to, NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
    }

    #[test]
    fn directions_follow_the_design() {
        for metric in NEED_METRICS {
            let lower_is_better = matches!(
                metric,
                MetricKind::TransferRate | MetricKind::AverageHandleTime
            );
            assert_eq!(higher_is_better(metric), !lower_is_better, "{metric}");
        }
    }
}
