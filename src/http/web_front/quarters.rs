//! The fiscal quarters the web front's index offers: every quarter from the one holding the
//! earliest interaction the caller may see to the one holding the latest, newest first.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{dsl, prelude::*};

use crate::{
    auth::{scope::visible, Principal},
    db::{schema::interactions, Database},
    error::AppResult,
    insights::oversight::quarter_dates,
    metrics::MetricsService,
};

/// At most this many quarters are listed (ten years); older ones stay reachable by URL.
const MAX_QUARTERS: usize = 40;

/// One fiscal quarter with its local dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiscalQuarter {
    pub fiscal_year: i32,
    pub quarter: u32,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl FiscalQuarter {
    /// `FY2026-Q1`, as the report names itself.
    pub fn label(&self) -> String {
        format!("FY{}-Q{}", self.fiscal_year, self.quarter)
    }

    /// The quarter holding `date` in `service`'s fiscal calendar.
    fn containing(service: &MetricsService, date: NaiveDate) -> AppResult<Self> {
        let fiscal = service.rules().fiscal;
        Self::of(
            service,
            fiscal.fiscal_year(date),
            fiscal.fiscal_quarter(date),
        )
    }

    fn of(service: &MetricsService, fiscal_year: i32, quarter: u32) -> AppResult<Self> {
        let (first_day, last_day) = quarter_dates(service, fiscal_year, quarter as i32)?;
        Ok(Self {
            fiscal_year,
            quarter,
            first_day,
            last_day,
        })
    }

    fn previous(&self, service: &MetricsService) -> AppResult<Self> {
        if self.quarter == 1 {
            Self::of(service, self.fiscal_year - 1, 4)
        } else {
            Self::of(service, self.fiscal_year, self.quarter - 1)
        }
    }
}

/// The quarters with interactions visible to `principal`, newest first (empty without any).
pub async fn available(
    database: &Database,
    service: &MetricsService,
    principal: &Principal,
) -> AppResult<Vec<FiscalQuarter>> {
    let scope = principal.record_scope();
    let (earliest, latest): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = database
        .run(move |connection| {
            let mut query = interactions::table
                .select((
                    dsl::min(interactions::started_at),
                    dsl::max(interactions::started_at),
                ))
                .into_boxed();
            if let Some(filter) = visible::interactions(scope) {
                query = query.filter(filter);
            }
            Ok(query.first(connection)?)
        })
        .await?;
    let (Some(earliest), Some(latest)) = (earliest, latest) else {
        return Ok(Vec::new());
    };
    let zone = service.rules().time_zone;
    let first = FiscalQuarter::containing(service, earliest.with_timezone(&zone).date_naive())?;
    let mut quarter = FiscalQuarter::containing(service, latest.with_timezone(&zone).date_naive())?;
    let mut quarters = vec![quarter.clone()];
    while quarter != first && quarters.len() < MAX_QUARTERS {
        quarter = quarter.previous(service)?;
        quarters.push(quarter.clone());
    }
    Ok(quarters)
}
