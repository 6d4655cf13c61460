//! Staffing plans for queued channels (PHONE, CHAT): from the history of an org unit's subtree,
//! a forecast for every local weekday × hour of a week, the agents Erlang C says that load needs
//! for a service-level target, and the gap to the approved resource allocations.
//!
//! The forecast for a slot is the historical mean: arrivals in that weekday-hour over `[from,
//! to]` divided by how many times that weekday occurs in the range. Its handle time is the
//! catalogue's `AVERAGE_HANDLE_TIME` (the same measure columns the metrics engine sums),
//! restricted to the slot; a slot with arrivals but no handle time of its own borrows the
//! handle time of the whole range. The history is one SQL statement, scoped like every
//! metrics query by [`visible::metric_rows_sql`].

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{BigInt, Date, Double, Integer, Text},
    QueryableByName,
};

use crate::{
    auth::scope::{visible, RecordScope},
    db::{
        enums::{AllocationStatus, Channel, MetricKind},
        models::OrgUnit,
        schema::{org_units, resource_allocations},
        Database,
    },
    error::{AppError, AppResult},
    insights::erlang::{self, QueueOutcome},
    metrics::{catalog, engine::MAX_RANGE_DAYS, statistics},
};

/// Slots in a week: 7 weekdays × 24 hours.
pub const SLOTS_PER_WEEK: usize = 7 * 24;

const SECONDS_PER_HOUR: f64 = 3_600.0;

/// The longest service-level threshold accepted (a day), as for the metrics query.
pub const MAX_THRESHOLD_SECONDS: i32 = 86_400;

/// What to plan for.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffingRequest {
    /// The org unit whose subtree's history is the forecast, and whose own allocations are
    /// compared with it.
    pub org_unit_code: String,
    /// A queued channel (PHONE or CHAT).
    pub channel: Channel,
    /// First local date of the history, inclusive.
    pub from: NaiveDate,
    /// Last local date of the history, inclusive.
    pub to: NaiveDate,
    /// Fraction of contacts to answer within the threshold, in (0, 1).
    pub target_service_level: f64,
    /// The service-level threshold, in seconds (> 0).
    pub threshold_seconds: i32,
    /// Fraction of paid time staff are not available to take contacts (breaks, training,
    /// absence), in [0, 1).
    pub shrinkage: f64,
}

impl StaffingRequest {
    /// Checks every input that does not need the database; each error names its field.
    pub fn validate(&self) -> AppResult<()> {
        if !self.channel.is_queued() {
            return Err(AppError::bad_input(
                "channel",
                format!(
                    "{} has no queue: staffing plans are for the queued channels PHONE and CHAT",
                    self.channel
                ),
            ));
        }
        if self.org_unit_code.trim().is_empty() {
            return Err(AppError::bad_input("orgUnitCode", "must not be empty"));
        }
        if !(self.target_service_level > 0.0 && self.target_service_level < 1.0) {
            return Err(AppError::bad_input(
                "targetServiceLevel",
                "must be a fraction strictly between 0 and 1 (0.8 for 80%)",
            ));
        }
        if !(1..=MAX_THRESHOLD_SECONDS).contains(&self.threshold_seconds) {
            return Err(AppError::bad_input(
                "thresholdSeconds",
                format!("must be between 1 and {MAX_THRESHOLD_SECONDS} seconds"),
            ));
        }
        if !(self.shrinkage >= 0.0 && self.shrinkage < 1.0) {
            return Err(AppError::bad_input(
                "shrinkage",
                "must be a fraction from 0 up to (not including) 1",
            ));
        }
        if self.from > self.to {
            return Err(AppError::bad_input("to", "must not be before `from`"));
        }
        if (self.to - self.from).num_days() >= MAX_RANGE_DAYS {
            return Err(AppError::bad_input(
                "to",
                format!("the history covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// One weekday-hour of the planned week.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffingSlot {
    /// ISO weekday: 1 = Monday … 7 = Sunday (reporting time zone).
    pub weekday: u32,
    /// Local hour of the day, 0–23.
    pub hour: u32,
    /// Forecast arrivals in this hour (the historical mean).
    pub arrivals_per_hour: f64,
    /// Average handle time used for the slot, in seconds; `None` when nothing arrives.
    pub average_handle_seconds: Option<f64>,
    /// True when the slot had no handle time of its own and uses the whole range's.
    pub handle_time_from_whole_range: bool,
    /// Offered load: arrivals per hour × AHT ÷ 3600.
    pub erlangs: f64,
    /// Agents on the queue (Erlang C) for the target; 0 when nothing arrives.
    pub agents_required: u32,
    /// Staff to schedule so that many agents are available: agents ÷ (1 − shrinkage).
    pub staff_required: f64,
    /// What `agents_required` agents are expected to deliver; `None` when nothing arrives.
    pub expected: Option<QueueOutcome>,
}

/// A week's staffing plan set against the approved allocations.
#[derive(Debug, Clone)]
pub struct StaffingPlan {
    pub org_unit: OrgUnit,
    pub request: StaffingRequest,
    /// The zone weekdays and hours are local to.
    pub time_zone: Tz,
    /// All 168 slots, Monday 00:00 first.
    pub slots: Vec<StaffingSlot>,
    /// Σ over slots of staff required × 1 hour.
    pub required_staff_hours_per_week: f64,
    /// Approved staff hours per week for the unit and channel over `[from, to]` (see
    /// [`approved_hours_per_week`]).
    pub approved_staff_hours_per_week: f64,
}

impl StaffingPlan {
    /// Required − approved: positive means understaffed.
    pub fn gap_staff_hours_per_week(&self) -> f64 {
        self.required_staff_hours_per_week - self.approved_staff_hours_per_week
    }
}

/// The history of one local weekday-hour, summed over the range.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
struct HourHistory {
    #[diesel(sql_type = Integer)]
    weekday: i32,
    #[diesel(sql_type = Integer)]
    hour: i32,
    #[diesel(sql_type = BigInt)]
    arrivals: i64,
    /// The AVERAGE_HANDLE_TIME sums of the catalogue: total, count and squares.
    #[diesel(sql_type = Double)]
    handle_sum: f64,
    #[diesel(sql_type = Double)]
    handle_count: f64,
    #[diesel(sql_type = Double)]
    handle_squares: f64,
}

/// An approved allocation's first day, last day and staff hours per week.
pub type ApprovedAllocation = (NaiveDate, NaiveDate, f64);

/// Plans staffing for a caller whose records are `scope` (the resolver has authorized
/// `PlanStaffing`). The unit must exist (`BAD_USER_INPUT`) and lie within the scope
/// (`FORBIDDEN`). Four statements at most: the unit, the scope check (subtree scopes only), the
/// history, the allocations.
pub async fn plan(
    database: &Database,
    time_zone: Tz,
    scope: RecordScope,
    request: StaffingRequest,
) -> AppResult<StaffingPlan> {
    request.validate()?;
    database
        .run(move |connection| {
            let org_unit: OrgUnit = org_units::table
                .filter(org_units::code.eq(&request.org_unit_code))
                .select(OrgUnit::as_select())
                .first(connection)
                .optional()?
                .ok_or_else(|| {
                    AppError::bad_input(
                        "orgUnitCode",
                        format!("no org unit `{}`", request.org_unit_code),
                    )
                })?;
            if !visible::org_unit_in_scope(connection, scope, org_unit.id)? {
                return Err(AppError::Forbidden(format!(
                    "{} is outside your org unit",
                    org_unit.code
                )));
            }
            let history = load_history(connection, time_zone, scope, org_unit.id, &request)?;
            let allocations = load_approved_allocations(connection, scope, org_unit.id, &request)?;
            let slots = build_slots(
                &history,
                weekday_occurrences(request.from, request.to),
                &request,
            )?;
            let required_staff_hours_per_week: f64 =
                slots.iter().map(|slot| slot.staff_required).sum();
            let approved_staff_hours_per_week =
                approved_hours_per_week(&allocations, request.from, request.to);
            Ok(StaffingPlan {
                org_unit,
                request,
                time_zone,
                slots,
                required_staff_hours_per_week,
                approved_staff_hours_per_week,
            })
        })
        .await
}

/// Arrivals and handle-time sums per local weekday-hour: one statement over the per-interaction
/// measure view the metrics engine reads, so handle time means exactly what
/// `AVERAGE_HANDLE_TIME` means.
fn load_history(
    connection: &mut PgConnection,
    time_zone: Tz,
    scope: RecordScope,
    org_unit_id: i64,
    request: &StaffingRequest,
) -> AppResult<Vec<HourHistory>> {
    let handle_time = catalog::definition(MetricKind::AverageHandleTime).sums;
    let (Some(count), Some(squares)) = (handle_time.denominator, handle_time.squares) else {
        return Err(AppError::internal(
            "AVERAGE_HANDLE_TIME is no longer a mean in the catalogue",
        ));
    };
    let sum = handle_time.numerator;
    // $1 zone, $2 channel, $3 unit, $4 from, $5 to; the scope's parameter, if any, is $6.
    let scope_condition = visible::metric_rows_sql(scope, 6);
    let sql = format!(
        "SELECT extract(isodow FROM r.local_start)::int AS weekday, \
                extract(hour FROM r.local_start)::int AS hour, \
                count(*) AS arrivals, \
                coalesce(sum(r.{sum}), 0)::float8 AS handle_sum, \
                coalesce(sum(r.{count}), 0)::float8 AS handle_count, \
                coalesce(sum(r.{squares}), 0)::float8 AS handle_squares \
           FROM (SELECT m.org_unit_id, m.agent_id, m.{sum}, m.{count}, m.{squares}, \
                        m.started_at AT TIME ZONE $1 AS local_start \
                   FROM interaction_measures m \
                  WHERE m.channel = $2 \
                    AND m.org_unit_id IN (SELECT id FROM org_units WHERE path @> ARRAY[$3::bigint]) \
                    AND m.started_at >= ($4::date::timestamp AT TIME ZONE $1) \
                    AND m.started_at < (($5::date + 1)::timestamp AT TIME ZONE $1)) r \
          WHERE {condition} \
          GROUP BY 1, 2 \
          ORDER BY 1, 2",
        condition = scope_condition
            .as_ref()
            .map(|(condition, _)| condition.as_str())
            .unwrap_or("TRUE"),
    );
    let mut query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<Text, _>(time_zone.name().to_owned())
        .bind::<Text, _>(request.channel.as_db_str().to_owned())
        .bind::<BigInt, _>(org_unit_id)
        .bind::<Date, _>(request.from)
        .bind::<Date, _>(request.to);
    if let Some((_, id)) = scope_condition {
        query = query.bind::<BigInt, _>(id);
    }
    Ok(query.load(connection)?)
}

/// Weekly hours of the approved allocations of the unit itself (not its subtree: a parent's
/// allocation and its teams' would otherwise be counted twice) and channel that overlap the
/// range.
fn load_approved_allocations(
    connection: &mut PgConnection,
    scope: RecordScope,
    org_unit_id: i64,
    request: &StaffingRequest,
) -> AppResult<Vec<ApprovedAllocation>> {
    let mut query = resource_allocations::table
        .filter(resource_allocations::org_unit_id.eq(org_unit_id))
        .filter(resource_allocations::channel.eq(request.channel))
        .filter(resource_allocations::status.eq(AllocationStatus::Approved))
        .filter(resource_allocations::period_start.le(request.to))
        .filter(resource_allocations::period_end.ge(request.from))
        .into_boxed();
    if let Some(visible) = visible::resource_allocations(scope) {
        query = query.filter(visible);
    }
    Ok(query
        .select((
            resource_allocations::period_start,
            resource_allocations::period_end,
            resource_allocations::staff_hours_per_week,
        ))
        .load(connection)?)
}

/// Approved staff hours per week over `[from, to]`: each allocation's weekly hours weighted by
/// the share of the range's days it covers. An allocation covering the whole range counts in
/// full, so with the usual one allocation per period this is their plain sum; consecutive
/// allocations (one per quarter, say) are not added up as if they ran at the same time.
pub fn approved_hours_per_week(
    allocations: &[ApprovedAllocation],
    from: NaiveDate,
    to: NaiveDate,
) -> f64 {
    let range_days = (to - from).num_days() + 1;
    if range_days <= 0 {
        return 0.0;
    }
    allocations
        .iter()
        .map(|(start, end, hours)| {
            let covered = ((*end).min(to) - (*start).max(from)).num_days() + 1;
            hours * covered.max(0) as f64 / range_days as f64
        })
        .sum()
}

/// How many times each ISO weekday (index 0 = Monday) occurs in `[from, to]`: the divisor of
/// a weekday's arrivals, whether or not anything arrived on each of those days.
pub fn weekday_occurrences(from: NaiveDate, to: NaiveDate) -> [u32; 7] {
    let days = (to - from).num_days() + 1;
    if days <= 0 {
        return [0; 7];
    }
    let full_weeks = (days / 7) as u32;
    let mut counts = [full_weeks; 7];
    let first = from.weekday().num_days_from_monday() as usize;
    for offset in 0..(days % 7) as usize {
        counts[(first + offset) % 7] += 1;
    }
    counts
}

/// Turns the history into the 168 slots of a week.
fn build_slots(
    history: &[HourHistory],
    occurrences: [u32; 7],
    request: &StaffingRequest,
) -> AppResult<Vec<StaffingSlot>> {
    let mut by_slot: Vec<Option<&HourHistory>> = vec![None; SLOTS_PER_WEEK];
    for hour in history {
        let index = slot_index(hour.weekday, hour.hour).ok_or_else(|| {
            AppError::internal(format!(
                "history returned weekday {} hour {}",
                hour.weekday, hour.hour
            ))
        })?;
        by_slot[index] = Some(hour);
    }
    let range_handle_time = statistics::mean(
        history.iter().map(|hour| hour.handle_sum).sum(),
        history.iter().map(|hour| hour.handle_count).sum(),
        history.iter().map(|hour| hour.handle_squares).sum(),
    )
    .value;
    let available = 1.0 - request.shrinkage;
    let mut slots = Vec::with_capacity(SLOTS_PER_WEEK);
    for (index, hour) in by_slot.into_iter().enumerate() {
        let weekday = (index / 24) as u32 + 1;
        let hour_of_day = (index % 24) as u32;
        let Some(hour) = hour.filter(|hour| hour.arrivals > 0) else {
            slots.push(StaffingSlot {
                weekday,
                hour: hour_of_day,
                arrivals_per_hour: 0.0,
                average_handle_seconds: None,
                handle_time_from_whole_range: false,
                erlangs: 0.0,
                agents_required: 0,
                staff_required: 0.0,
                expected: None,
            });
            continue;
        };
        let days = occurrences[index / 24];
        if days == 0 {
            return Err(AppError::internal(format!(
                "arrivals on weekday {weekday}, which the range does not contain"
            )));
        }
        let arrivals_per_hour = hour.arrivals as f64 / f64::from(days);
        let own_handle_time =
            statistics::mean(hour.handle_sum, hour.handle_count, hour.handle_squares).value;
        let handle_seconds = own_handle_time.or(range_handle_time).ok_or_else(|| {
            AppError::invalid(
                "no answered interaction in the range has a handle time, so the workload cannot be \
                 estimated: choose a range with answered interactions",
            )
        })?;
        let erlangs = arrivals_per_hour * handle_seconds / SECONDS_PER_HOUR;
        let outcome = erlang::agents_for_service_level(
            erlangs,
            handle_seconds,
            f64::from(request.threshold_seconds),
            request.target_service_level,
        )
        .ok_or_else(|| {
            AppError::invalid(format!(
                "weekday {weekday} hour {hour_of_day}: a load of {erlangs:.1} Erlangs cannot be \
                 planned (at most {} agents)",
                erlang::MAX_AGENTS
            ))
        })?;
        slots.push(StaffingSlot {
            weekday,
            hour: hour_of_day,
            arrivals_per_hour,
            average_handle_seconds: Some(handle_seconds),
            handle_time_from_whole_range: own_handle_time.is_none(),
            erlangs,
            agents_required: outcome.agents,
            staff_required: f64::from(outcome.agents) / available,
            expected: Some(outcome),
        });
    }
    Ok(slots)
}

/// Position of an ISO weekday (1–7) and hour (0–23) in the week, Monday 00:00 first.
fn slot_index(weekday: i32, hour: i32) -> Option<usize> {
    if (1..=7).contains(&weekday) && (0..24).contains(&hour) {
        Some((weekday - 1) as usize * 24 + hour as usize)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn request() -> StaffingRequest {
        StaffingRequest {
            org_unit_code: "TEAM-A1".into(),
            channel: Channel::Phone,
            from: date("2026-11-02"),
            to: date("2026-11-16"),
            target_service_level: 0.8,
            threshold_seconds: 20,
            shrinkage: 0.25,
        }
    }

    fn history(weekday: i32, hour: i32, arrivals: i64, handle_times: &[f64]) -> HourHistory {
        HourHistory {
            weekday,
            hour,
            arrivals,
            handle_sum: handle_times.iter().sum(),
            handle_count: handle_times.len() as f64,
            handle_squares: handle_times.iter().map(|seconds| seconds * seconds).sum(),
        }
    }

    fn field_of(error: AppError) -> Option<String> {
        match error {
            AppError::BadUserInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn every_input_is_checked_and_named() {
        assert!(request().validate().is_ok());
        // (the field the error must name, how the valid request is spoiled)
        type Spoil = fn(&mut StaffingRequest);
        let cases: [(&str, Spoil); 10] = [
            ("channel", |r| r.channel = Channel::Email),
            ("channel", |r| r.channel = Channel::Ivr),
            ("orgUnitCode", |r| r.org_unit_code = " ".into()),
            ("targetServiceLevel", |r| r.target_service_level = 1.0),
            ("targetServiceLevel", |r| r.target_service_level = 0.0),
            ("targetServiceLevel", |r| r.target_service_level = f64::NAN),
            ("thresholdSeconds", |r| r.threshold_seconds = 0),
            ("shrinkage", |r| r.shrinkage = 1.0),
            ("shrinkage", |r| r.shrinkage = -0.1),
            ("to", |r| r.to = date("2026-11-01")),
        ];
        for (field, change) in cases {
            let mut request = request();
            change(&mut request);
            let error = request.validate().unwrap_err();
            assert_eq!(field_of(error).as_deref(), Some(field));
        }
    }

    #[test]
    fn weekdays_are_counted_whether_or_not_anything_arrived() {
        // 2026-11-02 is a Monday; to 2026-11-16 (a Monday) is 15 days: three Mondays, two of
        // every other weekday.
        assert_eq!(
            weekday_occurrences(date("2026-11-02"), date("2026-11-16")),
            [3, 2, 2, 2, 2, 2, 2]
        );
        // One Wednesday.
        assert_eq!(
            weekday_occurrences(date("2026-11-04"), date("2026-11-04")),
            [0, 0, 1, 0, 0, 0, 0]
        );
        // Friday to the next Tuesday: Fri, Sat, Sun, Mon, Tue.
        assert_eq!(
            weekday_occurrences(date("2026-11-06"), date("2026-11-10")),
            [1, 1, 0, 0, 1, 1, 1]
        );
        // A quarter: 2026-07-01 (Wed) to 2026-09-30 (Wed), 92 days = 13 weeks + 1 day.
        assert_eq!(
            weekday_occurrences(date("2026-07-01"), date("2026-09-30")),
            [13, 13, 14, 13, 13, 13, 13]
        );
    }

    #[test]
    fn slots_forecast_the_mean_and_fall_back_to_the_range_handle_time() {
        let history = vec![
            // Monday 09: 6 arrivals over 3 Mondays = 2/h; AHT (600+900+1200+900+900)/5 = 900;
            // A = 2 × 900 / 3600 = 0.5; Erlang C gives 2 agents for 80/20 (SL 0.9033; 1 agent: 0.5055).
            history(1, 9, 6, &[600.0, 900.0, 1200.0, 900.0, 900.0]),
            // Tuesday 14: 1 arrival over 2 Tuesdays = 0.5/h, no handle time of its own: the
            // range's AHT (4500 + 0) / 5 = 900; A = 0.125; 1 agent.
            history(2, 14, 1, &[]),
        ];
        let slots = build_slots(&history, [3, 2, 2, 2, 2, 2, 2], &request()).unwrap();
        assert_eq!(slots.len(), SLOTS_PER_WEEK);
        let monday_nine = &slots[9];
        assert_eq!((monday_nine.weekday, monday_nine.hour), (1, 9));
        assert_eq!(monday_nine.arrivals_per_hour, 2.0);
        assert_eq!(monday_nine.average_handle_seconds, Some(900.0));
        assert!(!monday_nine.handle_time_from_whole_range);
        assert!((monday_nine.erlangs - 0.5).abs() < 1e-12);
        assert_eq!(monday_nine.agents_required, 2);
        // 2 agents ÷ (1 − 0.25).
        assert!((monday_nine.staff_required - 8.0 / 3.0).abs() < 1e-12);
        let tuesday = &slots[24 + 14];
        assert_eq!((tuesday.weekday, tuesday.hour), (2, 14));
        assert_eq!(tuesday.arrivals_per_hour, 0.5);
        assert_eq!(tuesday.average_handle_seconds, Some(900.0));
        assert!(tuesday.handle_time_from_whole_range);
        assert_eq!(tuesday.agents_required, 1);
        let quiet = &slots[6 * 24 + 23];
        assert_eq!((quiet.weekday, quiet.hour), (7, 23));
        assert_eq!(quiet.agents_required, 0);
        assert_eq!(quiet.staff_required, 0.0);
        assert_eq!(quiet.expected, None);
    }

    #[test]
    fn arrivals_without_any_handle_time_cannot_be_planned() {
        let error =
            build_slots(&[history(1, 9, 3, &[])], [3, 2, 2, 2, 2, 2, 2], &request()).unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::BadUserInput);
    }

    #[test]
    fn approved_hours_are_weighted_by_the_days_they_cover() {
        let (from, to) = (date("2026-11-02"), date("2026-11-16"));
        // Covers the whole 15-day range: counts in full.
        let whole = (date("2026-10-01"), date("2026-12-31"), 4.0);
        // Covers 2026-11-09..16, 8 of the 15 days: 15 × 8/15 = 8.
        let part = (date("2026-11-09"), date("2026-12-31"), 15.0);
        assert_eq!(approved_hours_per_week(&[whole], from, to), 4.0);
        assert!((approved_hours_per_week(&[whole, part], from, to) - 12.0).abs() < 1e-12);
        // Two consecutive quarters of 80 h/week are 80 h/week, not 160.
        let (q1, q2) = (
            (date("2026-01-01"), date("2026-03-31"), 80.0),
            (date("2026-04-01"), date("2026-06-30"), 80.0),
        );
        let half_year = approved_hours_per_week(&[q1, q2], date("2026-01-01"), date("2026-06-30"));
        assert!((half_year - 80.0).abs() < 1e-9);
    }
}
