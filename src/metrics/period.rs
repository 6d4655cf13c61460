//! Reporting periods (DESIGN §4): days, ISO weeks, months, quarters, years and fiscal quarters
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
        match self {
            Granularity::Day => days,
            Granularity::Week => days / 7 + 2,
            Granularity::Month => months,
            Granularity::Quarter | Granularity::FiscalQuarter => months / 3 + 2,
            Granularity::Year | Granularity::FiscalYear => (to.year() - from.year()) as u64 + 2,
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
}
