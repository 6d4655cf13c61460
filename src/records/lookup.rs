//! Resolving what callers name to what the database stores: org-unit codes to the ids of their
//! subtrees (or, for a write, to the one unit it aims at, within the caller's scope), topic and
//! course codes to ids, and inclusive local dates of the reporting time zone to UTC instant
//! ranges. Used by the API's filters, the exports, the insights and the programme writes.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::{
    auth::scope::{visible, RecordScope},
    db::schema::{org_units, topics, training_courses},
    domain::text::quote,
    error::{AppError, AppResult},
};

/// The ids of the units named by `codes` and of every unit below them.
pub fn org_unit_subtrees(
    connection: &mut PgConnection,
    field: &str,
    codes: &[String],
) -> AppResult<Vec<i64>> {
    let roots: Vec<(String, i64)> = org_units::table
        .filter(org_units::code.eq_any(codes))
        .select((org_units::code, org_units::id))
        .load(connection)?;
    if let Some(missing) = codes
        .iter()
        .find(|code| !roots.iter().any(|(found, _)| found == *code))
    {
        return Err(AppError::bad_input(
            field,
            format!("no org unit `{}`", quote(missing)),
        ));
    }
    let mut ids = Vec::new();
    for (_, root) in roots {
        ids.extend(visible::subtree(root).load::<i64>(connection)?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The id of the org unit `code`, for a write the caller aims at it: `BAD_USER_INPUT` on
/// `field` when there is no such unit, `FORBIDDEN` when it is outside the caller's scope
/// ([`visible::org_unit_in_scope`]). Org units are reference data every role may read, so
/// neither answer reveals anything.
pub fn org_unit_for_write(
    connection: &mut PgConnection,
    scope: RecordScope,
    field: &str,
    code: &str,
) -> AppResult<i64> {
    let id: i64 = org_units::table
        .filter(org_units::code.eq(code))
        .select(org_units::id)
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::bad_input(field, format!("no org unit `{}`", quote(code))))?;
    if !visible::org_unit_in_scope(connection, scope, id)? {
        return Err(AppError::Forbidden(format!(
            "{} is outside your org unit",
            quote(code)
        )));
    }
    Ok(id)
}

/// The ids of the topics named by `codes`.
pub fn topic_ids(
    connection: &mut PgConnection,
    field: &str,
    codes: &[String],
) -> AppResult<Vec<i64>> {
    let found = topics::table
        .filter(topics::code.eq_any(codes))
        .select((topics::code, topics::id))
        .load(connection)?;
    every_code_found(field, "topic", codes, found)
}

/// The ids of the courses named by `codes`.
pub fn course_ids(
    connection: &mut PgConnection,
    field: &str,
    codes: &[String],
) -> AppResult<Vec<i64>> {
    let found = training_courses::table
        .filter(training_courses::code.eq_any(codes))
        .select((training_courses::code, training_courses::id))
        .load(connection)?;
    every_code_found(field, "training course", codes, found)
}

/// The ids of `found` (code, id pairs), or `BAD_USER_INPUT` on `field` naming the first of
/// `codes` that is missing from it.
fn every_code_found(
    field: &str,
    noun: &str,
    codes: &[String],
    found: Vec<(String, i64)>,
) -> AppResult<Vec<i64>> {
    if let Some(missing) = codes
        .iter()
        .find(|code| !found.iter().any(|(code_found, _)| code_found == *code))
    {
        return Err(AppError::bad_input(
            field,
            format!("no {noun} `{}`", quote(missing)),
        ));
    }
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

/// A half-open `[start, end)` range of instants; either end may be open.
pub type InstantRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `[from, to]` as inclusive local dates in `zone`, turned into a half-open UTC instant range.
pub fn local_date_range(
    zone: Tz,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<InstantRange> {
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(AppError::bad_input("to", "must not be before `from`"));
        }
    }
    let start_of = |day: NaiveDate| -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        zone.from_local_datetime(&midnight)
            .earliest()
            // Midnight skipped by a DST change: the day starts an hour later.
            .or_else(|| {
                zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|local| local.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    };
    Ok((
        from.map(start_of),
        to.and_then(|day| day.checked_add_days(Days::new(1)))
            .map(start_of),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_map_to_utc_instants() {
        let zone: Tz = "America/New_York".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(); // DST starts at 02:00
        let (start, end) = local_date_range(zone, Some(day), Some(day)).unwrap();
        assert_eq!(start.unwrap().to_rfc3339(), "2026-03-08T05:00:00+00:00");
        assert_eq!(end.unwrap().to_rfc3339(), "2026-03-09T04:00:00+00:00");
        assert!(local_date_range(zone, Some(day.succ_opt().unwrap()), Some(day)).is_err());
    }
}
