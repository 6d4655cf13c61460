//! The metric catalogue (docs/metrics.md is generated from it): for every [`MetricKind`], what it measures, in which unit,
//! from which additive measures it is computed, and which dimensions break it down.
//!
//! The measures named here are the columns of the daily rollups and of the per-interaction
//! measure views (migration `metrics_rollup`); both sources of the engine sum them alike.

use crate::db::enums::MetricKind;

/// How a metric's value is formed from its sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricShape {
    /// A count: value = numerator, no denominator.
    Count,
    /// numerator ÷ denominator, with a Wilson interval.
    Proportion,
    /// sum ÷ n, with a normal interval from the sum of squares.
    Mean,
}

/// The unit a value is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum MetricUnit {
    /// A number of interactions.
    Count,
    /// A fraction between 0 and 1.
    Ratio,
    /// Seconds.
    Seconds,
}

/// Which additive measures a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSums {
    pub numerator: &'static str,
    /// `None` for counts.
    pub denominator: Option<&'static str>,
    /// The sum of squared values, for means.
    pub squares: Option<&'static str>,
}

/// The catalogue entry of one metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDefinition {
    pub kind: MetricKind,
    pub shape: MetricShape,
    pub unit: MetricUnit,
    /// Survey-based metrics are subject to small-cell suppression for the `analyst` role.
    pub survey_based: bool,
    pub sums: MetricSums,
    /// The definition in words (docs/metrics.md is generated from it).
    pub formula: &'static str,
}

/// The measure that stands for "answered within the service-level threshold"; the engine maps
/// it to the rollup column of the requested threshold (or computes it from the records).
pub const ANSWERED_WITHIN_THRESHOLD: &str = "answered_within_threshold";

/// Thresholds (seconds) the rollups keep an "answered within" count for. Service level at any
/// other threshold is computed from the records.
pub const ROLLUP_THRESHOLDS: [i32; 10] = [10, 15, 20, 30, 45, 60, 90, 120, 180, 300];

/// The default service-level threshold.
pub const DEFAULT_THRESHOLD_SECONDS: i32 = 30;

const fn proportion(numerator: &'static str, denominator: &'static str) -> MetricSums {
    MetricSums {
        numerator,
        denominator: Some(denominator),
        squares: None,
    }
}

const fn mean(sum: &'static str, count: &'static str, squares: &'static str) -> MetricSums {
    MetricSums {
        numerator: sum,
        denominator: Some(count),
        squares: Some(squares),
    }
}

const fn survey_item(
    kind: MetricKind,
    favourable: &'static str,
    answers: &'static str,
    formula: &'static str,
) -> MetricDefinition {
    MetricDefinition {
        kind,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: true,
        sums: proportion(favourable, answers),
        formula,
    }
}

/// Every metric, in the order of [`MetricKind::ALL`].
pub const CATALOG: [MetricDefinition; 17] = [
    MetricDefinition {
        kind: MetricKind::Interactions,
        shape: MetricShape::Count,
        unit: MetricUnit::Count,
        survey_based: false,
        sums: MetricSums {
            numerator: "interactions",
            denominator: None,
            squares: None,
        },
        formula: "count of interactions",
    },
    MetricDefinition {
        kind: MetricKind::AbandonmentRate,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: false,
        sums: proportion("queued_abandoned", "queued"),
        formula: "abandoned queued (PHONE, CHAT) interactions ÷ queued interactions",
    },
    MetricDefinition {
        kind: MetricKind::AverageSpeedOfAnswer,
        shape: MetricShape::Mean,
        unit: MetricUnit::Seconds,
        survey_based: false,
        sums: mean("answered_wait_sum", "answered_timed", "answered_wait_squares"),
        formula: "mean wait_seconds of answered (queued, not abandoned) interactions with a recorded wait",
    },
    MetricDefinition {
        kind: MetricKind::ServiceLevel,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: false,
        sums: proportion(ANSWERED_WITHIN_THRESHOLD, "queued"),
        formula: "answered interactions with wait_seconds ≤ T ÷ queued interactions (T = serviceLevelThresholdSeconds, default 30)",
    },
    MetricDefinition {
        kind: MetricKind::AverageHandleTime,
        shape: MetricShape::Mean,
        unit: MetricUnit::Seconds,
        survey_based: false,
        sums: mean("handle_sum", "handled_timed", "handle_squares"),
        formula: "mean handle_seconds of assisted, not abandoned interactions with a recorded handle time",
    },
    MetricDefinition {
        kind: MetricKind::TransferRate,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: false,
        sums: proportion("handled_transferred", "handled"),
        formula: "assisted, not abandoned interactions with transfers > 0 ÷ assisted, not abandoned interactions",
    },
    MetricDefinition {
        kind: MetricKind::FirstContactResolution,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: false,
        sums: proportion("handled_first_contact_resolved", "handled"),
        formula: "assisted, not abandoned interactions resolved with no transfer and no assisted contact of the same customer on the same topic in the following 7 days (168 hours, looking past the period) ÷ assisted, not abandoned interactions",
    },
    MetricDefinition {
        kind: MetricKind::SelfServiceContainment,
        shape: MetricShape::Proportion,
        unit: MetricUnit::Ratio,
        survey_based: false,
        sums: proportion("self_service_contained", "self_service_known"),
        formula: "self-service interactions with a customer and no assisted contact of that customer on the same topic in the following 24 hours ÷ self-service interactions with a customer",
    },
    survey_item(
        MetricKind::Csat,
        "satisfaction_favourable",
        "satisfaction_answers",
        "survey responses rating satisfaction 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Trust,
        "trust_favourable",
        "trust_answers",
        "survey responses rating trust 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Effectiveness,
        "effectiveness_favourable",
        "effectiveness_answers",
        "survey responses rating effectiveness 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Ease,
        "ease_favourable",
        "ease_answers",
        "survey responses rating ease 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Efficiency,
        "efficiency_favourable",
        "efficiency_answers",
        "survey responses rating efficiency 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Transparency,
        "transparency_favourable",
        "transparency_answers",
        "survey responses rating transparency 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::Helpfulness,
        "helpfulness_favourable",
        "helpfulness_answers",
        "survey responses rating employee helpfulness 4 or 5 ÷ responses answering it (top-2-box)",
    ),
    survey_item(
        MetricKind::ReportedResolution,
        "resolved_yes",
        "resolved_answers",
        "survey responses saying the issue was resolved ÷ responses answering that question",
    ),
    survey_item(
        MetricKind::SurveyResponseRate,
        "invitations_answered",
        "invitations",
        "survey invitations answered by a response of the same kind for the same interaction ÷ invitations",
    ),
];

/// The catalogue entry of `kind`.
pub fn definition(kind: MetricKind) -> &'static MetricDefinition {
    CATALOG
        .iter()
        .find(|definition| definition.kind == kind)
        .expect("every metric kind is in the catalogue")
}

/// The metric definitions as Markdown (docs/metrics.md, printed by `bac-metrics reference
/// metrics`), generated from [`CATALOG`] and the period rules so the document cannot drift.
pub fn reference_markdown() -> String {
    use crate::metrics::period::{FiscalCalendar, Granularity};

    let mut out = String::from(
        "# Metric definitions\n\n\
         Generated by `bac-metrics reference metrics` from the metric catalogue \
         (`src/metrics/catalog.rs`); a test fails when this file and the catalogue disagree. The \
         same definitions are served by the `metricCatalog` query.\n\n\
         ## Which records count\n\n\
         A metric is computed over the interactions in the caller's scope (see docs/roles.md) whose \
         `started_at`, in the reporting time zone (`REPORTING_TZ`, default `America/New_York`), \
         falls between `from` and `to` inclusive, and that match the filters (channels, org units \
         with everything below them, agents, topics). Survey metrics use the responses and \
         invitations of those interactions, attributed to the interaction's period, channel, unit, \
         agent and topic.\n\n\
         - *Queued* channels are `PHONE` and `CHAT`; *answered* means queued and not abandoned.\n\
         - *Assisted* channels are `PHONE`, `CHAT`, `EMAIL`, `IN_PERSON` and `MAIL`; `WEB_SELF_SERVICE`, \
         `IVR` and `SMS` are *self-service*.\n\
         - The repeat-contact windows of first-contact resolution (7 days) and self-service \
         containment (24 hours) look past `to`: a repeat after the period still counts. An \
         interaction without a customer cannot have a repeat; its outcome and transfers alone \
         decide.\n\n\
         ## The metrics\n\n\
         | metric | unit | value | survey-based |\n|---|---|---|---|\n",
    );
    for entry in CATALOG {
        let unit = match entry.unit {
            MetricUnit::Count => "count",
            MetricUnit::Ratio => "ratio (0–1)",
            MetricUnit::Seconds => "seconds",
        };
        out.push_str(&format!(
            "| `{}` | {unit} | {} | {} |\n",
            entry.kind.as_db_str(),
            entry.formula,
            if entry.survey_based { "yes" } else { "no" }
        ));
    }
    out.push_str(&format!(
        "\n## Values, intervals and suppression\n\n\
         Every value comes with its `numerator` and `denominator`, so a client can add periods or \
         groups together itself. A value whose denominator is 0 is null.\n\n\
         - Ratios carry a 95% Wilson score interval (`lower`, `upper`), which stays inside 0–1 and \
         is honest for small denominators.\n\
         - Means (`AVERAGE_SPEED_OF_ANSWER`, `AVERAGE_HANDLE_TIME`) carry mean ± 1.96·s/√n, s being \
         the sample standard deviation; they need at least two values.\n\
         - For the `analyst` role, a survey-based cell whose denominator is below `MIN_CELL_SIZE` \
         (default 10) comes back with its value, numerator, denominator and bounds null and \
         `suppressed: true`, so small groups of respondents cannot be singled out.\n\
         - `SERVICE_LEVEL` uses `serviceLevelThresholdSeconds` (default {DEFAULT_THRESHOLD_SECONDS}); \
         the daily rollups keep the thresholds {} seconds, and any other threshold is computed \
         from the records.\n\n\
         ## Periods\n\n\
         `granularity` cuts the range into periods of the reporting time zone; without it the \
         whole range is one period labelled `FROM/TO`. The fiscal year starts in \
         `FISCAL_YEAR_START_MONTH` (default 7, July) and is named by the calendar year it ends \
         in. Labels, for 2 November 2026 with a July fiscal year:\n\n\
         | granularity | period | label |\n|---|---|---|\n",
        ROLLUP_THRESHOLDS.map(|threshold| threshold.to_string()).join(", ")
    ));
    let fiscal = FiscalCalendar { start_month: 7 };
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("a valid date");
    for granularity in Granularity::ALL {
        let period = match granularity {
            Granularity::Day => "the day",
            Granularity::Week => "ISO 8601 week, Monday to Sunday, named by its ISO week-year",
            Granularity::Month => "the calendar month",
            Granularity::Quarter => "the calendar quarter",
            Granularity::Year => "the calendar year",
            Granularity::FiscalQuarter => "the fiscal quarter",
            Granularity::FiscalYear => "the fiscal year",
        };
        out.push_str(&format!(
            "| `{}` | {period} | `{}` |\n",
            granularity.name(),
            granularity.label(day, fiscal)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_every_metric_once_in_order() {
        let kinds: Vec<MetricKind> = CATALOG.iter().map(|entry| entry.kind).collect();
        assert_eq!(kinds, MetricKind::ALL.to_vec());
    }

    #[test]
    fn survey_based_metrics_are_the_designs_eight_plus_response_rate() {
        let survey: Vec<MetricKind> = CATALOG
            .iter()
            .filter(|entry| entry.survey_based)
            .map(|entry| entry.kind)
            .collect();
        assert_eq!(survey.len(), 9);
        assert!(survey.contains(&MetricKind::SurveyResponseRate));
        assert!(!survey.contains(&MetricKind::FirstContactResolution));
    }

    #[test]
    fn the_metrics_document_is_generated_from_the_catalogue() {
        let checked_in = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"));
        assert!(
            checked_in == reference_markdown(),
            "docs/metrics.md is out of date: run `cargo run -q -- reference metrics > docs/metrics.md`"
        );
    }

    #[test]
    fn the_default_threshold_is_kept_by_the_rollups() {
        assert!(ROLLUP_THRESHOLDS.contains(&DEFAULT_THRESHOLD_SECONDS));
    }
}
