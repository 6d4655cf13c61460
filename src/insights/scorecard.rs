//! The program scorecard: a composite 0–100 index of the customer assistance program, in the
//! spirit of the public-sector customer-service maturity studies the program cites.
//!
//! Three components, each the mean of its inputs' 0–100 scores:
//! - **service maturity** (default weight 0.10): self-service containment and the share of
//!   contacts served by self-service;
//! - **customer-service maturity** (0.50): first contact resolution, service level, transfer rate
//!   (lower is better) and survey response rate;
//! - **citizen voice** (0.40): CSAT and the six A-11 drivers.
//!
//! Every input value comes from the metrics engine over the caller's scope; this module only maps
//! values to scores and weighs them. Each input maps linearly between a `floor` (score 0) and a
//! `target` (score 100), clamped at both ends; for a lower-is-better input the floor is above the
//! target. Inputs without a value (no data, or a cell suppressed for the caller) are left out of
//! their component and listed as missing; the composite is Σ weight·component ÷ Σ weights of the
//! components that have a score. Weights and mappings can be overridden per request and are
//! returned with the result, so every number can be recomputed by hand.

use chrono::NaiveDate;

use crate::{
    auth::scope::MetricsAccess,
    db::{
        enums::{Channel, MetricKind},
        Database,
    },
    error::{AppError, AppResult},
    metrics::{statistics, Dimension, MetricValue, MetricsFilter, MetricsRequest, MetricsService},
};

/// A group of inputs with one weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ScorecardComponent {
    /// Self-service containment and the self-service share of contacts.
    ServiceMaturity,
    /// First contact resolution, service level, transfer rate, survey response rate.
    CustomerServiceMaturity,
    /// CSAT and the six OMB A-11 drivers.
    CitizenVoice,
}

impl ScorecardComponent {
    /// Every component, in the order results list them.
    pub const ALL: [ScorecardComponent; 3] = [
        ScorecardComponent::ServiceMaturity,
        ScorecardComponent::CustomerServiceMaturity,
        ScorecardComponent::CitizenVoice,
    ];
}

/// One input of the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ScorecardInput {
    /// SELF_SERVICE_CONTAINMENT.
    SelfServiceContainment,
    /// Self-service interactions ÷ all interactions (INTERACTIONS by channel).
    SelfServiceShare,
    /// FIRST_CONTACT_RESOLUTION.
    FirstContactResolution,
    /// SERVICE_LEVEL at the default threshold.
    ServiceLevel,
    /// TRANSFER_RATE (lower is better).
    TransferRate,
    /// SURVEY_RESPONSE_RATE.
    SurveyResponseRate,
    Csat,
    Trust,
    Effectiveness,
    Ease,
    Efficiency,
    Transparency,
    Helpfulness,
}

impl ScorecardInput {
    /// Every input, in the order results list them.
    pub const ALL: [ScorecardInput; 13] = [
        ScorecardInput::SelfServiceContainment,
        ScorecardInput::SelfServiceShare,
        ScorecardInput::FirstContactResolution,
        ScorecardInput::ServiceLevel,
        ScorecardInput::TransferRate,
        ScorecardInput::SurveyResponseRate,
        ScorecardInput::Csat,
        ScorecardInput::Trust,
        ScorecardInput::Effectiveness,
        ScorecardInput::Ease,
        ScorecardInput::Efficiency,
        ScorecardInput::Transparency,
        ScorecardInput::Helpfulness,
    ];

    /// The component the input belongs to.
    pub fn component(self) -> ScorecardComponent {
        use ScorecardInput::*;
        match self {
            SelfServiceContainment | SelfServiceShare => ScorecardComponent::ServiceMaturity,
            FirstContactResolution | ServiceLevel | TransferRate | SurveyResponseRate => {
                ScorecardComponent::CustomerServiceMaturity
            }
            Csat | Trust | Effectiveness | Ease | Efficiency | Transparency | Helpfulness => {
                ScorecardComponent::CitizenVoice
            }
        }
    }

    /// The engine metric the input is, or `None` for the self-service share (a ratio of two
    /// INTERACTIONS counts).
    pub fn metric(self) -> Option<MetricKind> {
        use ScorecardInput::*;
        Some(match self {
            SelfServiceContainment => MetricKind::SelfServiceContainment,
            SelfServiceShare => return None,
            FirstContactResolution => MetricKind::FirstContactResolution,
            ServiceLevel => MetricKind::ServiceLevel,
            TransferRate => MetricKind::TransferRate,
            SurveyResponseRate => MetricKind::SurveyResponseRate,
            Csat => MetricKind::Csat,
            Trust => MetricKind::Trust,
            Effectiveness => MetricKind::Effectiveness,
            Ease => MetricKind::Ease,
            Efficiency => MetricKind::Efficiency,
            Transparency => MetricKind::Transparency,
            Helpfulness => MetricKind::Helpfulness,
        })
    }

    /// The input's API name (`TRANSFER_RATE`), for messages.
    pub fn name(self) -> String {
        async_graphql::InputType::to_value(&self).to_string()
    }

    /// Whether a smaller value is the better one (its floor lies above its target).
    pub fn lower_is_better(self) -> bool {
        self == ScorecardInput::TransferRate
    }

    /// The default mapping: the value scoring 0 and the value scoring 100. Chosen as "clearly
    /// poor" and "what a well-run contact center publishes as its goal"; override per request.
    pub fn default_mapping(self) -> InputMapping {
        use ScorecardInput::*;
        let (floor, target) = match self {
            SelfServiceContainment => (0.3, 0.8),
            SelfServiceShare => (0.1, 0.5),
            FirstContactResolution | ServiceLevel => (0.5, 0.9),
            TransferRate => (0.3, 0.05),
            SurveyResponseRate => (0.05, 0.4),
            Csat | Trust | Effectiveness | Ease | Efficiency | Transparency | Helpfulness => {
                (0.5, 0.9)
            }
        };
        InputMapping {
            input: self,
            floor,
            target,
        }
    }
}

/// How an input's value becomes a 0–100 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputMapping {
    pub input: ScorecardInput,
    /// The value scoring 0 (and anything worse).
    pub floor: f64,
    /// The value scoring 100 (and anything better).
    pub target: f64,
}

impl InputMapping {
    /// The score of `value`: linear from the floor (0) to the target (100), clamped. The
    /// direction follows from which end is larger, validated against the input's direction.
    pub fn score(&self, value: f64) -> f64 {
        let position = (value - self.floor) / (self.target - self.floor);
        100.0 * position.clamp(0.0, 1.0)
    }

    fn validate(&self) -> AppResult<()> {
        let field = "mappings";
        let name = self.input.name();
        if !self.floor.is_finite() || !self.target.is_finite() {
            return Err(AppError::bad_input(
                field,
                format!("{name}: floor and target must be numbers"),
            ));
        }
        if !(0.0..=1.0).contains(&self.floor) || !(0.0..=1.0).contains(&self.target) {
            return Err(AppError::bad_input(
                field,
                format!("{name}: floor and target are proportions between 0 and 1"),
            ));
        }
        let ordered = if self.input.lower_is_better() {
            self.floor > self.target
        } else {
            self.floor < self.target
        };
        if !ordered {
            let rule = if self.input.lower_is_better() {
                "lower is better: the floor must be above the target"
            } else {
                "higher is better: the floor must be below the target"
            };
            return Err(AppError::bad_input(field, format!("{name}: {rule}")));
        }
        Ok(())
    }
}

/// The weight of each component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScorecardWeights {
    pub service_maturity: f64,
    pub customer_service_maturity: f64,
    pub citizen_voice: f64,
}

impl Default for ScorecardWeights {
    /// 10% service maturity, 50% customer-service maturity, 40% citizen voice.
    fn default() -> Self {
        Self {
            service_maturity: 0.10,
            customer_service_maturity: 0.50,
            citizen_voice: 0.40,
        }
    }
}

impl ScorecardWeights {
    /// The weight of `component`.
    pub fn of(&self, component: ScorecardComponent) -> f64 {
        match component {
            ScorecardComponent::ServiceMaturity => self.service_maturity,
            ScorecardComponent::CustomerServiceMaturity => self.customer_service_maturity,
            ScorecardComponent::CitizenVoice => self.citizen_voice,
        }
    }

    fn validate(&self) -> AppResult<()> {
        let all = [
            self.service_maturity,
            self.customer_service_maturity,
            self.citizen_voice,
        ];
        if all
            .iter()
            .any(|weight| !weight.is_finite() || *weight < 0.0)
        {
            return Err(AppError::bad_input(
                "weights",
                "weights must be numbers ≥ 0",
            ));
        }
        if all.iter().sum::<f64>() <= 0.0 {
            return Err(AppError::bad_input(
                "weights",
                "at least one weight must be above 0",
            ));
        }
        Ok(())
    }
}

/// What a scorecard is computed for and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The org unit (with its subtree); `None` for the caller's whole scope.
    pub org_unit_code: Option<String>,
    pub weights: ScorecardWeights,
    /// Overrides of the default mappings (at most one per input).
    pub mappings: Vec<InputMapping>,
}

/// One input: its value with the sums it came from, its score and its share of the composite.
#[derive(Debug, Clone, PartialEq)]
pub struct InputScore {
    pub input: ScorecardInput,
    pub component: ScorecardComponent,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    /// The value's n (its denominator).
    pub denominator: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// The cell is withheld from the caller (small survey cell): counted as missing.
    pub suppressed: bool,
    pub mapping: InputMapping,
    /// 0–100; `None` when the input has no value.
    pub score: Option<f64>,
    /// Points of the composite this input accounts for: weight × score ÷ scored inputs of its
    /// component ÷ Σ used weights. The contributions add up to the composite.
    pub contribution: Option<f64>,
}

/// One component: the mean of its scored inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentScore {
    pub component: ScorecardComponent,
    pub weight: f64,
    /// 0–100; `None` when none of its inputs has a value.
    pub score: Option<f64>,
    /// weight × score ÷ Σ used weights.
    pub contribution: Option<f64>,
    pub inputs: Vec<InputScore>,
    pub missing_inputs: Vec<ScorecardInput>,
}

/// The scorecard with everything it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub org_unit_code: Option<String>,
    pub time_zone: String,
    /// 0–100; `None` when no component has a score (or every scored one weighs 0).
    pub composite: Option<f64>,
    pub weights: ScorecardWeights,
    /// Σ weights of the components that have a score: the composite's divisor.
    pub used_weight: f64,
    /// The mapping of every input, defaults and overrides alike.
    pub mappings: Vec<InputMapping>,
    pub components: Vec<ComponentScore>,
    pub missing_inputs: Vec<ScorecardInput>,
}

/// The value of each input as the engine reported it.
struct InputValue {
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    suppressed: bool,
}

impl From<&MetricValue> for InputValue {
    fn from(value: &MetricValue) -> Self {
        Self {
            value: value.value,
            numerator: value.numerator,
            denominator: value.denominator,
            lower: value.lower,
            upper: value.upper,
            suppressed: value.suppressed,
        }
    }
}

impl InputValue {
    fn empty() -> Self {
        Self {
            value: None,
            numerator: None,
            denominator: None,
            lower: None,
            upper: None,
            suppressed: false,
        }
    }
}

/// Computes the scorecard over `access` with two engine requests: every metric input over the
/// whole range, and INTERACTIONS by channel for the self-service share.
pub async fn compute(
    database: &Database,
    service: &MetricsService,
    access: MetricsAccess,
    request: ScorecardRequest,
) -> AppResult<Scorecard> {
    request.weights.validate()?;
    let mut mappings: Vec<InputMapping> = ScorecardInput::ALL
        .iter()
        .map(|input| input.default_mapping())
        .collect();
    let mut overridden: Vec<ScorecardInput> = Vec::new();
    for mapping in &request.mappings {
        if overridden.contains(&mapping.input) {
            return Err(AppError::bad_input(
                "mappings",
                format!("{} is mapped twice", mapping.input.name()),
            ));
        }
        overridden.push(mapping.input);
        mapping.validate()?;
        if let Some(slot) = mappings.iter_mut().find(|slot| slot.input == mapping.input) {
            *slot = *mapping;
        }
    }

    let filter = MetricsFilter {
        org_unit_codes: request.org_unit_code.clone().into_iter().collect(),
        ..MetricsFilter::default()
    };
    let metric_inputs: Vec<MetricKind> = ScorecardInput::ALL
        .iter()
        .filter_map(|input| input.metric())
        .collect();
    let request_for = |metrics: Vec<MetricKind>, group_by: Vec<Dimension>| MetricsRequest {
        metrics,
        from: request.from,
        to: request.to,
        granularity: None,
        group_by,
        filter: filter.clone(),
        service_level_threshold_seconds: None,
    };
    let totals = service
        .report(database, access, request_for(metric_inputs, Vec::new()))
        .await
        .map_err(rename_unit_field)?;
    let by_channel = service
        .report(
            database,
            access,
            request_for(vec![MetricKind::Interactions], vec![Dimension::Channel]),
        )
        .await
        .map_err(rename_unit_field)?;

    // No row means no interaction in scope: every input is missing.
    let total_values: Vec<MetricValue> = totals
        .into_iter()
        .next()
        .map(|row| row.values)
        .unwrap_or_default();
    let (mut self_service, mut all) = (0.0, 0.0);
    for row in &by_channel {
        let count = row
            .values
            .first()
            .and_then(|value| value.numerator)
            .unwrap_or(0.0);
        all += count;
        if row
            .channel
            .is_some_and(|channel: Channel| !channel.is_assisted())
        {
            self_service += count;
        }
    }
    let share = statistics::proportion(self_service, all);

    let value_of = |input: ScorecardInput| -> InputValue {
        match input.metric() {
            Some(metric) => total_values
                .iter()
                .find(|value| value.metric == metric)
                .map(InputValue::from)
                .unwrap_or_else(InputValue::empty),
            None if all > 0.0 => InputValue {
                value: share.value,
                numerator: Some(self_service),
                denominator: Some(all),
                lower: share.lower,
                upper: share.upper,
                suppressed: false,
            },
            None => InputValue::empty(),
        }
    };
    let values: Vec<(ScorecardInput, InputValue)> = ScorecardInput::ALL
        .iter()
        .map(|input| (*input, value_of(*input)))
        .collect();
    Ok(assemble(
        &request,
        service.rules().time_zone.name(),
        mappings,
        values,
    ))
}

/// The engine names the filter field; the caller knows it as `orgUnitCode`.
fn rename_unit_field(error: AppError) -> AppError {
    match error {
        AppError::BadUserInput { message, field }
            if field.as_deref() == Some("filter.orgUnitCodes") =>
        {
            AppError::bad_input("orgUnitCode", message)
        }
        other => other,
    }
}

/// Scores, component means and the composite from the input values.
fn assemble(
    request: &ScorecardRequest,
    time_zone: &str,
    mappings: Vec<InputMapping>,
    values: Vec<(ScorecardInput, InputValue)>,
) -> Scorecard {
    let mapping_of = |input: ScorecardInput| {
        mappings
            .iter()
            .find(|mapping| mapping.input == input)
            .copied()
            .unwrap_or_else(|| input.default_mapping())
    };
    let mut components: Vec<ComponentScore> = ScorecardComponent::ALL
        .iter()
        .map(|component| {
            let inputs: Vec<InputScore> = values
                .iter()
                .filter(|(input, _)| input.component() == *component)
                .map(|(input, value)| {
                    let mapping = mapping_of(*input);
                    // A suppressed cell has no value, so it is missing like an empty one.
                    let score = value.value.map(|value| mapping.score(value));
                    InputScore {
                        input: *input,
                        component: *component,
                        value: value.value,
                        numerator: value.numerator,
                        denominator: value.denominator,
                        lower: value.lower,
                        upper: value.upper,
                        suppressed: value.suppressed,
                        mapping,
                        score,
                        contribution: None,
                    }
                })
                .collect();
            let scores: Vec<f64> = inputs.iter().filter_map(|input| input.score).collect();
            let score =
                (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
            ComponentScore {
                component: *component,
                weight: request.weights.of(*component),
                score,
                contribution: None,
                missing_inputs: inputs
                    .iter()
                    .filter(|input| input.score.is_none())
                    .map(|input| input.input)
                    .collect(),
                inputs,
            }
        })
        .collect();

    let used_weight: f64 = components
        .iter()
        .filter(|component| component.score.is_some())
        .map(|component| component.weight)
        .sum();
    let composite = (used_weight > 0.0).then(|| {
        components
            .iter()
            .filter_map(|component| component.score.map(|score| component.weight * score))
            .sum::<f64>()
            / used_weight
    });
    if used_weight > 0.0 {
        for component in &mut components {
            let Some(score) = component.score else {
                continue;
            };
            component.contribution = Some(component.weight * score / used_weight);
            let scored = component
                .inputs
                .iter()
                .filter(|i| i.score.is_some())
                .count() as f64;
            let weight = component.weight;
            for input in &mut component.inputs {
                input.contribution = input
                    .score
                    .map(|score| weight * score / scored / used_weight);
            }
        }
    }
    let missing_inputs = components
        .iter()
        .flat_map(|component| component.missing_inputs.iter().copied())
        .collect();
    Scorecard {
        from: request.from,
        to: request.to,
        org_unit_code: request.org_unit_code.clone(),
        time_zone: time_zone.to_owned(),
        composite,
        weights: request.weights,
        used_weight,
        mappings,
        components,
        missing_inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ScorecardRequest {
        ScorecardRequest {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            org_unit_code: None,
            weights: ScorecardWeights::default(),
            mappings: Vec::new(),
        }
    }

    fn value(value: Option<f64>) -> InputValue {
        InputValue {
            value,
            ..InputValue::empty()
        }
    }

    #[test]
    fn mappings_are_linear_clamped_and_directional() {
        let fcr = ScorecardInput::FirstContactResolution.default_mapping();
        assert!((fcr.score(0.7) - 50.0).abs() < 1e-9); // (0.7 − 0.5) ÷ (0.9 − 0.5)
        assert_eq!(fcr.score(0.95), 100.0);
        assert_eq!(fcr.score(0.2), 0.0);
        let transfers = ScorecardInput::TransferRate.default_mapping();
        assert!((transfers.score(0.1) - 80.0).abs() < 1e-9); // (0.1 − 0.3) ÷ (0.05 − 0.3)
        assert_eq!(transfers.score(0.0), 100.0);
        assert_eq!(transfers.score(0.5), 0.0);
        // A lower-is-better input mapped upwards is refused, and so is a flat mapping.
        let backwards = InputMapping {
            input: ScorecardInput::TransferRate,
            floor: 0.05,
            target: 0.3,
        };
        assert!(backwards.validate().is_err());
        let flat = InputMapping {
            input: ScorecardInput::Csat,
            floor: 0.5,
            target: 0.5,
        };
        assert!(flat.validate().is_err());
    }

    #[test]
    fn the_composite_reweighs_over_scored_components_and_contributions_add_up() {
        let mappings: Vec<InputMapping> = ScorecardInput::ALL
            .iter()
            .map(|input| input.default_mapping())
            .collect();
        // Only FCR 0.7 (50 points) and CSAT 0.8 (75 points) have values: service maturity is
        // missing, so the composite is (0.5·50 + 0.4·75) ÷ 0.9 = 55 ÷ 0.9 = 61.11.
        let values = ScorecardInput::ALL
            .iter()
            .map(|input| {
                let v = match input {
                    ScorecardInput::FirstContactResolution => Some(0.7),
                    ScorecardInput::Csat => Some(0.8),
                    _ => None,
                };
                (*input, value(v))
            })
            .collect();
        let card = assemble(&request(), "UTC", mappings, values);
        assert!((card.composite.unwrap() - 55.0 / 0.9).abs() < 1e-9);
        assert_eq!(card.components[0].score, None);
        assert_eq!(card.missing_inputs.len(), 11);
        let total: f64 = card
            .components
            .iter()
            .flat_map(|component| component.inputs.iter())
            .filter_map(|input| input.contribution)
            .sum();
        assert!((total - card.composite.unwrap()).abs() < 1e-9);
    }

    #[test]
    fn weights_must_be_usable() {
        let mut weights = ScorecardWeights::default();
        assert!(weights.validate().is_ok());
        weights.citizen_voice = -0.1;
        assert!(weights.validate().is_err());
        let zero = ScorecardWeights {
            service_maturity: 0.0,
            customer_service_maturity: 0.0,
            citizen_voice: 0.0,
        };
        assert!(zero.validate().is_err());
    }
}
