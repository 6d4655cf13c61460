//! Reporting periods (docs/metrics.md): days, ISO weeks, months, quarters, years and fiscal quarters
//! and years, all cut in the reporting time zone. The SQL side maps a local `day` to the first
//! day of its period; this side names the period from that first day.

use chrono::{Datelike, NaiveDate};

/// How rows are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Granularity {
    Day,
    /// ISO 8601 weeks, Monday to Sunday, named by their ISO week-year.
    Week,
    Month,
    Quarter,
    Year,
    /// Quarters of the fiscal year (`FISCAL_YEAR_START_MONTH`), named like `FY2026-Q1`.
    FiscalQuarter,
    /// Fiscal years, named by the calendar year they end in (`FY2026`).
    FiscalYear,
}

/// The fiscal calendar: the month a fiscal year starts in (1–12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalCalendar {
    pub start_month: u32,
}

impl FiscalCalendar {
    /// Months from the fiscal year's start to the calendar year's (0 when they coincide).
    fn shift_months(self) -> u32 {
        self.start_month - 1
    }

    /// The fiscal year `date` belongs to, named by the calendar year it ends in.
    pub fn fiscal_year(self, date: NaiveDate) -> i32 {
        if self.start_month > 1 && date.month() >= self.start_month {
            date.year() + 1
        } else {
            date.year()
        }
    }

    /// The first day of fiscal year `fiscal_year`.
    pub fn fiscal_year_start(self, fiscal_year: i32) -> NaiveDate {
        let year = if self.start_month > 1 {
            fiscal_year - 1
        } else {
            fiscal_year
        };
        NaiveDate::from_ymd_opt(year, self.start_month, 1).expect("a valid month")
    }

    /// The 1-based fiscal quarter of `date`.
    pub fn fiscal_quarter(self, date: NaiveDate) -> u32 {
        let months_in = (date.month() + 12 - self.start_month) % 12;
        months_in / 3 + 1
    }
}

impl Granularity {
    /// Every granularity, in the order the catalogue lists them.
    pub const ALL: [Granularity; 7] = [
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
        Granularity::FiscalQuarter,
        Granularity::FiscalYear,
    ];

    /// The API name (`DAY`, `FISCAL_QUARTER`, …).
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Day => "DAY",
            Granularity::Week => "WEEK",
            Granularity::Month => "MONTH",
            Granularity::Quarter => "QUARTER",
            Granularity::Year => "YEAR",
            Granularity::FiscalQuarter => "FISCAL_QUARTER",
            Granularity::FiscalYear => "FISCAL_YEAR",
        }
    }

    /// The granularity an API name (any case) stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|granularity| granularity.name().eq_ignore_ascii_case(name.trim()))
    }

    /// At most how many periods of this granularity `[from, to]` touches (exact for days and
    /// calendar months, quarters and years; one more at most for weeks and fiscal periods).
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> u64 {
        if to < from {
            return 0;
        }
        let days = (to - from).num_days() as u64 + 1;
        let months = ((to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32)
            .max(0) as u64
            + 1;
        let quarter_index =
            |date: NaiveDate| i64::from(date.year()) * 4 + i64::from(date.month0() / 3);
        match self {
            Granularity::Day => days,
            // The most that many days (months) can touch however the periods fall: a week
            // straddled at both ends, and so on.
            Granularity::Week => (days + 12) / 7,
            Granularity::Month => months,
            Granularity::Quarter => (quarter_index(to) - quarter_index(from)) as u64 + 1,
            Granularity::FiscalQuarter => (months + 4) / 3,
            Granularity::Year => (to.year() - from.year()) as u64 + 1,
            Granularity::FiscalYear => (months + 22) / 12,
        }
    }

    /// SQL mapping the date column `day` to the first day of its period. `None` granularity is
    /// handled by the caller (one period for the whole range).
    pub fn period_start_sql(self, day: &str, fiscal: FiscalCalendar) -> String {
        let shift = fiscal.shift_months();
        match self {
            Granularity::Day => day.to_owned(),
            Granularity::Week => format!("date_trunc('week', {day}::timestamp)::date"),
            Granularity::Month => format!("date_trunc('month', {day}::timestamp)::date"),
            Granularity::Quarter => format!("date_trunc('quarter', {day}::timestamp)::date"),
            Granularity::Year => format!("date_trunc('year', {day}::timestamp)::date"),
            // Shift into a calendar where the fiscal year starts in January, truncate, shift back.
            Granularity::FiscalQuarter => format!(
                "(date_trunc('quarter', {day}::timestamp - interval '{shift} months') + interval '{shift} months')::date"
            ),
            Granularity::FiscalYear => format!(
                "(date_trunc('year', {day}::timestamp - interval '{shift} months') + interval '{shift} months')::date"
            ),
        }
    }

    /// The name of the period starting on `start` (as returned by [`Self::period_start_sql`]).
    pub fn label(self, start: NaiveDate, fiscal: FiscalCalendar) -> String {
        match self {
            Granularity::Day => start.format("%Y-%m-%d").to_string(),
            Granularity::Week => {
                let week = start.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Granularity::Month => start.format("%Y-%m").to_string(),
            Granularity::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Granularity::Year => start.year().to_string(),
            Granularity::FiscalQuarter => format!(
                "FY{}-Q{}",
                fiscal.fiscal_year(start),
                fiscal.fiscal_quarter(start)
            ),
            Granularity::FiscalYear => format!("FY{}", fiscal.fiscal_year(start)),
        }
    }
}

/// The label of the single period of a request without granularity: `FROM/TO` (ISO 8601 interval).
pub fn range_label(from: NaiveDate, to: NaiveDate) -> String {
    format!("{}/{}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JULY: FiscalCalendar = FiscalCalendar { start_month: 7 };

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn fiscal_years_are_named_by_the_year_they_end_in() {
        assert_eq!(JULY.fiscal_year(date("2025-07-01")), 2026);
        assert_eq!(JULY.fiscal_year(date("2025-06-30")), 2025);
        assert_eq!(JULY.fiscal_year_start(2026), date("2025-07-01"));
        assert_eq!(
            Granularity::FiscalQuarter.label(date("2025-07-01"), JULY),
            "FY2026-Q1"
        );
        assert_eq!(
            Granularity::FiscalQuarter.label(date("2025-04-01"), JULY),
            "FY2025-Q4"
        );
        assert_eq!(
            Granularity::FiscalYear.label(date("2025-07-01"), JULY),
            "FY2026"
        );
        let calendar = FiscalCalendar { start_month: 1 };
        assert_eq!(calendar.fiscal_year(date("2025-12-31")), 2025);
        assert_eq!(calendar.fiscal_year_start(2025), date("2025-01-01"));
    }

    #[test]
    fn iso_weeks_take_their_week_year() {
        assert_eq!(
            Granularity::Week.label(date("2024-12-30"), JULY),
            "2025-W01"
        );
        assert_eq!(
            Granularity::Week.label(date("2024-12-23"), JULY),
            "2024-W52"
        );
    }

    #[test]
    fn calendar_labels() {
        assert_eq!(
            Granularity::Day.label(date("2025-03-09"), JULY),
            "2025-03-09"
        );
        assert_eq!(
            Granularity::Month.label(date("2025-03-01"), JULY),
            "2025-03"
        );
        assert_eq!(
            Granularity::Quarter.label(date("2025-10-01"), JULY),
            "2025-Q4"
        );
        assert_eq!(Granularity::Year.label(date("2025-01-01"), JULY), "2025");
        assert_eq!(
            range_label(date("2025-01-01"), date("2025-03-31")),
            "2025-01-01/2025-03-31"
        );
    }

    /// Any date from 1990 to 2100.
    fn any_date() -> impl proptest::strategy::Strategy<Value = NaiveDate> {
        use proptest::strategy::Strategy;
        (0i64..40_000).prop_map(|offset| date("1990-01-01") + chrono::Duration::days(offset))
    }

    /// The first day of `date`'s period, computed the slow way (what the SQL does).
    fn period_start(
        granularity: Granularity,
        date: NaiveDate,
        fiscal: FiscalCalendar,
    ) -> NaiveDate {
        let first_of = |year: i32, month: u32| NaiveDate::from_ymd_opt(year, month, 1).unwrap();
        match granularity {
            Granularity::Day => date,
            Granularity::Week => {
                date - chrono::Duration::days(date.weekday().num_days_from_monday().into())
            }
            Granularity::Month => first_of(date.year(), date.month()),
            Granularity::Quarter => first_of(date.year(), date.month0() / 3 * 3 + 1),
            Granularity::Year => first_of(date.year(), 1),
            Granularity::FiscalYear => fiscal.fiscal_year_start(fiscal.fiscal_year(date)),
            Granularity::FiscalQuarter => {
                let start = fiscal.fiscal_year_start(fiscal.fiscal_year(date));
                let months = (fiscal.fiscal_quarter(date) - 1) * 3;
                start
                    .checked_add_months(chrono::Months::new(months))
                    .unwrap()
            }
        }
    }

    proptest::proptest! {
        /// A date lies in the fiscal year it is given, whatever month the year starts in, and
        /// its fiscal quarter is the one its months since that start say.
        #[test]
        fn every_date_lies_in_its_fiscal_year_and_quarter(day in any_date(), start_month in 1u32..=12) {
            let fiscal = FiscalCalendar { start_month };
            let year = fiscal.fiscal_year(day);
            let start = fiscal.fiscal_year_start(year);
            let next = fiscal.fiscal_year_start(year + 1);
            proptest::prop_assert!(start <= day && day < next, "{day} not in FY{year} [{start}, {next})");
            let quarter = fiscal.fiscal_quarter(day);
            proptest::prop_assert!((1..=4).contains(&quarter));
            let quarter_start = start.checked_add_months(chrono::Months::new((quarter - 1) * 3)).unwrap();
            let quarter_end = quarter_start.checked_add_months(chrono::Months::new(3)).unwrap();
            proptest::prop_assert!(quarter_start <= day && day < quarter_end);
        }

        /// `periods_between` never undercounts (the cost model and the cell cap rely on it),
        /// is exact where it says so, and overcounts by at most one elsewhere; labels tell
        /// periods apart.
        #[test]
        fn periods_between_bounds_the_periods_a_range_touches(
            from in any_date(),
            length in 0i64..900,
            start_month in 1u32..=12,
        ) {
            let fiscal = FiscalCalendar { start_month };
            let to = from + chrono::Duration::days(length);
            for granularity in Granularity::ALL {
                let mut starts = std::collections::BTreeSet::new();
                let mut labels = std::collections::BTreeSet::new();
                let mut day = from;
                while day <= to {
                    let start = period_start(granularity, day, fiscal);
                    starts.insert(start);
                    labels.insert(granularity.label(start, fiscal));
                    day += chrono::Duration::days(1);
                }
                let touched = starts.len() as u64;
                let bound = granularity.periods_between(from, to);
                proptest::prop_assert_eq!(labels.len() as u64, touched, "{:?}", granularity);
                proptest::prop_assert!(bound >= touched, "{granularity:?}: {bound} < {touched}");
                match granularity {
                    Granularity::Day
                    | Granularity::Month
                    | Granularity::Quarter
                    | Granularity::Year => proptest::prop_assert_eq!(bound, touched),
                    _ => proptest::prop_assert!(bound <= touched + 1, "{granularity:?}: {bound} vs {touched}"),
                }
            }
        }
    }
}
