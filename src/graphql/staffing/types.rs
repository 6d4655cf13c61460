//! GraphQL types of staffing plans.

use async_graphql::SimpleObject;

use crate::{
    db::enums::Channel,
    graphql::{organisation::OrgUnitType, scalars::Date},
    insights::staffing,
};

/// A week's staffing plan for one org unit and queued channel: per local weekday × hour, the
/// forecast load and the agents Erlang C needs for the target, set against the approved
/// resource allocations.
#[derive(SimpleObject)]
pub struct StaffingPlan {
    /// The unit planned for: the history covers its subtree, the allocations are its own.
    pub org_unit: OrgUnitType,
    pub channel: Channel,
    /// First local date of the history the forecast is drawn from.
    pub from: Date,
    /// Last local date of the history, inclusive.
    pub to: Date,
    /// Fraction of contacts to answer within `thresholdSeconds`.
    pub target_service_level: f64,
    pub threshold_seconds: i32,
    /// Fraction of paid time not available for contacts.
    pub shrinkage: f64,
    /// The zone weekdays and hours are local to (`REPORTING_TZ`).
    pub time_zone: String,
    /// All 168 weekday-hours, Monday 00:00 first.
    pub slots: Vec<StaffingSlot>,
    /// Σ over the week's slots of `staffRequired` × 1 hour.
    pub required_staff_hours_per_week: f64,
    /// Staff hours per week of the unit's own approved allocations for the channel, each
    /// weighted by the share of `[from, to]` it covers.
    pub approved_staff_hours_per_week: f64,
    /// Required − approved: positive means understaffed.
    pub gap_staff_hours_per_week: f64,
}

/// One weekday-hour of the plan.
#[derive(SimpleObject)]
pub struct StaffingSlot {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// Local hour of the day, 0–23.
    pub hour: i32,
    /// Forecast arrivals in the hour: arrivals in this weekday-hour over the range ÷ the number
    /// of such weekdays in the range.
    pub arrivals_per_hour: f64,
    /// Average handle time used, in seconds (AVERAGE_HANDLE_TIME of the slot, or of the whole
    /// range when the slot has none); null when nothing arrives.
    pub average_handle_seconds: Option<f64>,
    /// True when the slot had no handle time of its own and uses the whole range's.
    pub handle_time_from_whole_range: bool,
    /// Offered load in Erlangs: arrivals per hour × average handle seconds ÷ 3600.
    pub erlangs: f64,
    /// Agents on the queue needed for the target (Erlang C); 0 when nothing arrives.
    pub agents_required: i32,
    /// Staff to schedule, allowing for shrinkage: agents ÷ (1 − shrinkage).
    pub staff_required: f64,
    /// Fraction answered within the threshold with `agentsRequired` agents; null when nothing arrives.
    pub expected_service_level: Option<f64>,
    /// Expected mean wait in seconds (ASA) with `agentsRequired` agents; null when nothing arrives.
    pub expected_average_speed_of_answer: Option<f64>,
    /// Probability that a contact waits at all (Erlang C); null when nothing arrives.
    pub probability_of_waiting: Option<f64>,
    /// Expected agent occupancy (Erlangs ÷ agents); null when nothing arrives.
    pub occupancy: Option<f64>,
}

impl From<staffing::StaffingSlot> for StaffingSlot {
    fn from(slot: staffing::StaffingSlot) -> Self {
        Self {
            weekday: slot.weekday as i32,
            hour: slot.hour as i32,
            arrivals_per_hour: slot.arrivals_per_hour,
            average_handle_seconds: slot.average_handle_seconds,
            handle_time_from_whole_range: slot.handle_time_from_whole_range,
            erlangs: slot.erlangs,
            // Bounded by `erlang::MAX_AGENTS`, far below i32::MAX.
            agents_required: slot.agents_required as i32,
            staff_required: slot.staff_required,
            expected_service_level: slot.expected.map(|outcome| outcome.service_level),
            expected_average_speed_of_answer: slot
                .expected
                .map(|outcome| outcome.average_speed_of_answer),
            probability_of_waiting: slot.expected.map(|outcome| outcome.probability_of_waiting),
            occupancy: slot.expected.map(|outcome| outcome.occupancy),
        }
    }
}

impl From<staffing::StaffingPlan> for StaffingPlan {
    fn from(plan: staffing::StaffingPlan) -> Self {
        let gap_staff_hours_per_week = plan.gap_staff_hours_per_week();
        let request = plan.request;
        Self {
            org_unit: OrgUnitType::from(plan.org_unit),
            channel: request.channel,
            from: Date(request.from),
            to: Date(request.to),
            target_service_level: request.target_service_level,
            threshold_seconds: request.threshold_seconds,
            shrinkage: request.shrinkage,
            time_zone: plan.time_zone.name().to_owned(),
            slots: plan.slots.into_iter().map(StaffingSlot::from).collect(),
            required_staff_hours_per_week: plan.required_staff_hours_per_week,
            approved_staff_hours_per_week: plan.approved_staff_hours_per_week,
            gap_staff_hours_per_week,
        }
    }
}
