//! GraphQL types of the scorecard and the oversight report: inputs for overriding weights and
//! mappings, and views of `crate::insights::{scorecard, oversight}` results.

use async_graphql::{InputObject, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::{
    db::enums::Channel,
    graphql::{
        metrics::types::{MetricValue, ServiceStandardAttainment},
        retention::types::RetentionStatusView,
        scalars::Date,
    },
    insights::{
        oversight::{
            A11Figures, AllocationCounts, AuditChainHead, OversightReport, OversightRow,
            UnitActivity,
        },
        scorecard::{
            ComponentScore, InputMapping, InputScore, Scorecard, ScorecardComponent,
            ScorecardInput, ScorecardWeights,
        },
    },
};

/// Component weights; an absent weight keeps its default (0.10 / 0.50 / 0.40).
#[derive(InputObject, Default, Clone)]
pub struct ScorecardWeightsInput {
    pub service_maturity: Option<f64>,
    pub customer_service_maturity: Option<f64>,
    pub citizen_voice: Option<f64>,
}

impl ScorecardWeightsInput {
    /// The weights with defaults filled in.
    pub fn into_weights(self) -> ScorecardWeights {
        let defaults = ScorecardWeights::default();
        ScorecardWeights {
            service_maturity: self.service_maturity.unwrap_or(defaults.service_maturity),
            customer_service_maturity: self
                .customer_service_maturity
                .unwrap_or(defaults.customer_service_maturity),
            citizen_voice: self.citizen_voice.unwrap_or(defaults.citizen_voice),
        }
    }
}

/// Overrides how one input's value maps to 0–100: `floor` scores 0, `target` scores 100,
/// linear between and clamped beyond. For TRANSFER_RATE (lower is better) the floor is above
/// the target.
#[derive(InputObject, Clone)]
pub struct ScorecardMappingInput {
    pub input: ScorecardInput,
    pub floor: f64,
    pub target: f64,
}

impl From<ScorecardMappingInput> for InputMapping {
    fn from(input: ScorecardMappingInput) -> Self {
        Self {
            input: input.input,
            floor: input.floor,
            target: input.target,
        }
    }
}

/// The composite program index with everything it was computed from.
#[derive(SimpleObject)]
pub struct ProgramScorecard {
    pub from: Date,
    pub to: Date,
    /// The unit (with its subtree) scored; null for the caller's whole scope.
    pub org_unit_code: Option<String>,
    /// The IANA zone the dates are cut in.
    pub time_zone: String,
    /// 0–100: Σ weight × component score ÷ Σ weights of the components that have a score;
    /// null when no component has one.
    pub composite: Option<f64>,
    /// The weights used (defaults and overrides).
    pub weights: ScorecardWeightsView,
    /// Σ weights of the components with a score: the composite's divisor.
    pub used_weight: f64,
    pub components: Vec<ScorecardComponentScore>,
    /// The mapping of every input (defaults and overrides).
    pub mappings: Vec<ScorecardMapping>,
    /// Inputs without a value (no data, or suppressed for this caller).
    pub missing_inputs: Vec<ScorecardInput>,
}

impl From<Scorecard> for ProgramScorecard {
    fn from(card: Scorecard) -> Self {
        Self {
            from: Date(card.from),
            to: Date(card.to),
            org_unit_code: card.org_unit_code,
            time_zone: card.time_zone,
            composite: card.composite,
            weights: card.weights.into(),
            used_weight: card.used_weight,
            components: card.components.into_iter().map(Into::into).collect(),
            mappings: card.mappings.into_iter().map(Into::into).collect(),
            missing_inputs: card.missing_inputs,
        }
    }
}

/// Component weights.
#[derive(SimpleObject)]
#[graphql(name = "ScorecardWeights")]
pub struct ScorecardWeightsView {
    pub service_maturity: f64,
    pub customer_service_maturity: f64,
    pub citizen_voice: f64,
}

impl From<ScorecardWeights> for ScorecardWeightsView {
    fn from(weights: ScorecardWeights) -> Self {
        Self {
            service_maturity: weights.service_maturity,
            customer_service_maturity: weights.customer_service_maturity,
            citizen_voice: weights.citizen_voice,
        }
    }
}

/// How an input's value maps to 0–100.
#[derive(SimpleObject)]
pub struct ScorecardMapping {
    pub input: ScorecardInput,
    /// The value scoring 0.
    pub floor: f64,
    /// The value scoring 100.
    pub target: f64,
    /// True for inputs where less is better (the floor is above the target).
    pub lower_is_better: bool,
}

impl From<InputMapping> for ScorecardMapping {
    fn from(mapping: InputMapping) -> Self {
        Self {
            input: mapping.input,
            floor: mapping.floor,
            target: mapping.target,
            lower_is_better: mapping.input.lower_is_better(),
        }
    }
}

/// One component: the mean score of its inputs that have a value.
#[derive(SimpleObject)]
pub struct ScorecardComponentScore {
    pub component: ScorecardComponent,
    pub weight: f64,
    /// 0–100; null when none of its inputs has a value.
    pub score: Option<f64>,
    /// Points of the composite: weight × score ÷ usedWeight.
    pub contribution: Option<f64>,
    pub inputs: Vec<ScorecardInputScore>,
    pub missing_inputs: Vec<ScorecardInput>,
}

impl From<ComponentScore> for ScorecardComponentScore {
    fn from(component: ComponentScore) -> Self {
        Self {
            component: component.component,
            weight: component.weight,
            score: component.score,
            contribution: component.contribution,
            inputs: component.inputs.into_iter().map(Into::into).collect(),
            missing_inputs: component.missing_inputs,
        }
    }
}

/// One input beside its score and its share of the composite.
#[derive(SimpleObject)]
pub struct ScorecardInputScore {
    pub input: ScorecardInput,
    pub component: ScorecardComponent,
    /// The metrics engine's value (a proportion); null without data or when suppressed.
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    /// The value's n.
    pub denominator: Option<f64>,
    /// 95% Wilson interval.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// True when the cell is withheld from this caller (counted as missing).
    pub suppressed: bool,
    /// 0–100; null when there is no value.
    pub score: Option<f64>,
    /// Points of the composite: weight × score ÷ scored inputs of the component ÷ usedWeight.
    pub contribution: Option<f64>,
    pub mapping: ScorecardMapping,
}

impl From<InputScore> for ScorecardInputScore {
    fn from(input: InputScore) -> Self {
        Self {
            input: input.input,
            component: input.component,
            value: input.value,
            numerator: input.numerator,
            denominator: input.denominator,
            lower: input.lower,
            upper: input.upper,
            suppressed: input.suppressed,
            score: input.score,
            contribution: input.contribution,
            mapping: input.mapping.into(),
        }
    }
}

/// The quarterly oversight report (OMB A-11 style CX summary plus program activity).
#[derive(SimpleObject)]
#[graphql(name = "OversightReport")]
pub struct OversightReportView {
    pub fiscal_year: i32,
    pub quarter: i32,
    /// `FY2026-Q1`.
    pub label: String,
    /// First local day of the quarter.
    pub from: Date,
    /// Last local day of the quarter.
    pub to: Date,
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// The newest audit event at generation: verify the chain up to it to prove the data
    /// behind the report is unchanged. Null only while the audit trail is empty.
    pub audit_chain_head: Option<AuditChainHeadView>,
    /// One row per org unit × channel with interactions or allocation activity, by unit code
    /// then channel.
    pub rows: Vec<OversightRowView>,
    /// The whole program.
    pub totals: OversightFigures,
    /// Training and allocation activity per org unit.
    pub units: Vec<OversightUnitActivity>,
    /// Service standards in force during the quarter, each measured over its own unit and
    /// channel.
    pub standards: Vec<ServiceStandardAttainment>,
    /// Records retention at generation: the rules in force, active legal holds, the last run.
    pub retention: RetentionStatusView,
}

impl From<OversightReport> for OversightReportView {
    fn from(report: OversightReport) -> Self {
        Self {
            fiscal_year: report.fiscal_year,
            quarter: report.quarter as i32,
            label: report.label,
            from: Date(report.from),
            to: Date(report.to),
            time_zone: report.time_zone,
            generated_at: report.generated_at,
            audit_chain_head: report.audit_chain_head.map(Into::into),
            rows: report.rows.into_iter().map(Into::into).collect(),
            totals: report.totals.into(),
            units: report.units.into_iter().map(Into::into).collect(),
            standards: report
                .standards
                .into_iter()
                .map(ServiceStandardAttainment::from)
                .collect(),
            retention: report.retention.into(),
        }
    }
}

/// The newest audit event when a report was generated.
#[derive(SimpleObject)]
#[graphql(name = "AuditChainHead")]
pub struct AuditChainHeadView {
    pub event_id: ID,
    /// Hex SHA-256 of the event (its `hash` in `auditEvents`).
    pub hash: String,
    pub occurred_at: DateTime<Utc>,
}

impl From<AuditChainHead> for AuditChainHeadView {
    fn from(head: AuditChainHead) -> Self {
        Self {
            event_id: ID(head.event_id.to_string()),
            hash: head.hash,
            occurred_at: head.occurred_at,
        }
    }
}

/// One org unit × channel.
#[derive(SimpleObject)]
#[graphql(name = "OversightRow")]
pub struct OversightRowView {
    pub org_unit_code: String,
    pub org_unit_name: String,
    pub channel: Channel,
    pub figures: OversightFigures,
    /// Allocations of this unit and channel decided or proposed in the quarter.
    pub allocations: OversightAllocationCounts,
}

impl From<OversightRow> for OversightRowView {
    fn from(row: OversightRow) -> Self {
        Self {
            org_unit_code: row.unit.code,
            org_unit_name: row.unit.name,
            channel: row.channel,
            figures: row.figures.into(),
            allocations: row.allocations.into(),
        }
    }
}

/// The A-11 figures: volume, surveys and the top-2-box share of each driver (each with its
/// numerator, denominator and interval, from the metrics engine).
#[derive(SimpleObject)]
pub struct OversightFigures {
    /// INTERACTIONS.
    pub volume: f64,
    /// Survey invitations (SURVEY_RESPONSE_RATE's denominator).
    pub surveys_offered: f64,
    /// Invitations answered (SURVEY_RESPONSE_RATE's numerator).
    pub responses: f64,
    pub response_rate: MetricValue,
    /// CSAT.
    pub satisfied: MetricValue,
    pub trust: MetricValue,
    pub effective: MetricValue,
    pub easy: MetricValue,
    pub efficient: MetricValue,
    pub transparent: MetricValue,
    pub employee_helpfulness: MetricValue,
}

impl From<A11Figures> for OversightFigures {
    fn from(figures: A11Figures) -> Self {
        let [satisfied, trust, effective, easy, efficient, transparent, employee_helpfulness] =
            figures.drivers.map(MetricValue::from);
        Self {
            volume: figures.volume,
            surveys_offered: figures.surveys_offered,
            responses: figures.responses,
            response_rate: figures.response_rate.into(),
            satisfied,
            trust,
            effective,
            easy,
            efficient,
            transparent,
            employee_helpfulness,
        }
    }
}

/// Allocations proposed (created) and approved or rejected (decided) in the quarter.
#[derive(SimpleObject)]
pub struct OversightAllocationCounts {
    pub proposed: i64,
    pub approved: i64,
    pub rejected: i64,
}

impl From<AllocationCounts> for OversightAllocationCounts {
    fn from(counts: AllocationCounts) -> Self {
        Self {
            proposed: counts.proposed,
            approved: counts.approved,
            rejected: counts.rejected,
        }
    }
}

/// One org unit's training and allocation activity in the quarter.
#[derive(SimpleObject)]
pub struct OversightUnitActivity {
    pub org_unit_code: String,
    pub org_unit_name: String,
    /// Assignments created in the quarter for agents of the unit.
    pub training_assigned: i64,
    /// Assignments of the unit's agents completed in the quarter.
    pub training_completed: i64,
    /// The unit's allocations over every channel.
    pub allocations: OversightAllocationCounts,
}

impl From<UnitActivity> for OversightUnitActivity {
    fn from(activity: UnitActivity) -> Self {
        Self {
            org_unit_code: activity.unit.code,
            org_unit_name: activity.unit.name,
            training_assigned: activity.training.assigned,
            training_completed: activity.training.completed,
            allocations: activity.allocations.into(),
        }
    }
}
