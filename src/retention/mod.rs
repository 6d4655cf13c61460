//! Records retention: when a record passes its class's period, its personal fields are erased
//! while every count, time and answer the metrics use stays, so every metric value is the same
//! before and after.
//!
//! | rule | erases | period counted from |
//! |---|---|---|
//! | `customer_contacts` | a customer's business name, contact name, email and phone | the customer's last contact (a customer without contacts: the record's creation) |
//! | `survey_comments` | a survey response's comment | its submission |
//! | `invitation_tokens` | a survey invitation's token hash (its link then resolves like an unknown one) | the earlier of its use and its expiry |
//! | `sessions` | an ended login session and its refresh tokens (deleted) | the earlier of its revocation and its expiry |
//!
//! What stays: the customer reference (what later contacts match on, and what the pseudonym is
//! computed from: an opaque id of the source system), every interaction, every Likert answer and
//! "resolved", every invitation and its times. The measured columns cannot change at all
//! (migration 5); migration 13 lets a comment be erased but never rewritten. The sign-ins of an
//! erased session stay in the audit trail, which holds no personal data to erase (failed logins
//! are recorded by a keyed digest of the address typed, customers only by id).
//!
//! Records under a legal hold ([`holds`]) are skipped until it is lifted: a hold on an org unit
//! covers the interactions of its subtree, on a customer their interactions, on an interaction
//! that interaction; the customer of a held interaction keeps their contact details. Sessions
//! are staff credentials, not records of a contact, and no hold applies to them.
//!
//! A run ([`run`]) is one transaction: it takes a PostgreSQL advisory lock (a second run
//! anywhere on the same database meanwhile reports [`RunOutcome::AnotherRunInProgress`] and
//! does nothing), applies every rule, and writes one `retention.run` audit event naming each
//! rule, its period, its cutoff, how many records it changed and how many it skipped for a
//! hold. A dry run counts the same without changing anything or writing an event. The
//! in-server [`schedule`] runs when the last run (by any server or the `retention` command) is
//! at least an interval old; the oversight report shows the rules in force and the last run
//! ([`status`]).

pub mod holds;
pub mod schedule;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{Array, BigInt, Bool, Timestamptz},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    config::RetentionSettings,
    db::{schema::audit_events, Database},
    error::{AppError, AppResult},
};

/// The audit action of a run.
pub const RUN_ACTION: &str = "retention.run";

/// Serialises runs across every process on the database.
const RUN_LOCK_KEY: i64 = 0x6261_635f_7265_746e; // "bac_retn"

/// A run is maintenance, not a request: it may take longer than the request statement
/// timeout when a backlog is first cleared, but not forever.
const RUN_STATEMENT_TIMEOUT: &str = "10min";

/// A class of personal data with its own retention period.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[serde(rename_all = "snake_case")]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RetentionRule {
    /// Customers' business name, contact name, email and phone.
    CustomerContacts,
    /// Free-text survey comments.
    SurveyComments,
    /// Survey invitations' token hashes.
    InvitationTokens,
    /// Ended login sessions and their refresh tokens.
    Sessions,
}

impl RetentionRule {
    /// Every rule, in the order a run applies them.
    pub const ALL: [RetentionRule; 4] = [
        RetentionRule::CustomerContacts,
        RetentionRule::SurveyComments,
        RetentionRule::InvitationTokens,
        RetentionRule::Sessions,
    ];

    /// The name in the audit trail, the CSV and the command's report.
    pub fn name(self) -> &'static str {
        match self {
            RetentionRule::CustomerContacts => "customer_contacts",
            RetentionRule::SurveyComments => "survey_comments",
            RetentionRule::InvitationTokens => "invitation_tokens",
            RetentionRule::Sessions => "sessions",
        }
    }

    /// What the rule erases, and from when its period counts.
    pub fn description(self) -> &'static str {
        match self {
            RetentionRule::CustomerContacts => "Customer business name, contact name, email and phone; counted from the customer's last contact",
            RetentionRule::SurveyComments => "Survey comments (free text); counted from submission",
            RetentionRule::InvitationTokens => "Survey link token hashes; counted from the link's use or expiry",
            RetentionRule::Sessions => "Ended login sessions and their refresh tokens (deleted); counted from the session's end",
        }
    }

    /// The period configured for the rule, in days.
    pub fn period_days(self, settings: &RetentionSettings) -> u32 {
        match self {
            RetentionRule::CustomerContacts => settings.customer_contacts_days,
            RetentionRule::SurveyComments => settings.survey_comments_days,
            RetentionRule::InvitationTokens => settings.invitation_tokens_days,
            RetentionRule::Sessions => settings.sessions_days,
        }
    }
}

/// One rule's part of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: RetentionRule,
    pub period_days: u32,
    /// Records whose period ended before this instant were due.
    pub cutoff: DateTime<Utc>,
    /// Records erased (or, in a dry run, that would be).
    pub affected: i64,
    /// Records due but skipped because a legal hold covers them.
    pub held: i64,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub dry_run: bool,
    pub ran_at: DateTime<Utc>,
    pub rules: Vec<RuleOutcome>,
    /// The run's `retention.run` audit event (none for a dry run).
    pub audit_event_id: Option<i64>,
}

/// How a run request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Completed(RunReport),
    /// Another run holds the lock; nothing was done.
    AnotherRunInProgress,
    /// The last run is more recent than the schedule asks for; nothing was done.
    NotDue {
        last_run_at: DateTime<Utc>,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub dry_run: bool,
    /// Who runs it: the operator at the command line, or the server's schedule.
    pub actor: Actor,
    /// Only run if no run happened after this instant (the schedule's turn-taking).
    pub unless_run_since: Option<DateTime<Utc>>,
}

/// Applies every rule now, in one transaction (see the module header).
pub async fn run(
    database: &Database,
    settings: &RetentionSettings,
    options: RunOptions,
) -> AppResult<RunOutcome> {
    let settings = settings.clone();
    database
        .transaction(move |connection| apply(connection, &settings, &options, Utc::now()))
        .await
}

/// The body of [`run`], inside the caller's transaction.
pub fn apply(
    connection: &mut PgConnection,
    settings: &RetentionSettings,
    options: &RunOptions,
    now: DateTime<Utc>,
) -> AppResult<RunOutcome> {
    let now = now.trunc_subsecs(6);
    if !options.dry_run {
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = Bool)]
            locked: bool,
        }
        let locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind::<BigInt, _>(RUN_LOCK_KEY)
            .get_result::<Locked>(connection)?
            .locked;
        if !locked {
            return Ok(RunOutcome::AnotherRunInProgress);
        }
        if let Some(since) = options.unless_run_since {
            if let Some(last_run_at) = last_run_time(connection)? {
                if last_run_at > since {
                    return Ok(RunOutcome::NotDue { last_run_at });
                }
            }
        }
    }
    diesel::sql_query(format!(
        "SET LOCAL statement_timeout = '{RUN_STATEMENT_TIMEOUT}'"
    ))
    .execute(connection)?;
    let mut rules = Vec::with_capacity(RetentionRule::ALL.len());
    for rule in RetentionRule::ALL {
        let period_days = rule.period_days(settings);
        let cutoff = now - chrono::Duration::days(i64::from(period_days));
        let (affected, held) = match rule {
            RetentionRule::Sessions => (erase_sessions(connection, cutoff, options.dry_run)?, 0),
            _ => erase_rows(connection, rule, cutoff, now, options.dry_run)?,
        };
        rules.push(RuleOutcome {
            rule,
            period_days,
            cutoff,
            affected,
            held,
        });
    }
    let audit_event_id = if options.dry_run {
        None
    } else {
        let event = audit::record(
            connection,
            Entry::new(options.actor.clone(), RUN_ACTION, "retention")
                .after(json!({ "rules": rules })),
        )?;
        Some(event.id)
    };
    Ok(RunOutcome::Completed(RunReport {
        dry_run: options.dry_run,
        ran_at: now,
        rules,
        audit_event_id,
    }))
}

/// The due rows of `rule` (`id`, and whether a hold covers it), the statement that erases a
/// set of them (`$1` ids, `$2` cutoff, `$3` now; it re-checks that each is still due, with a
/// snapshot taken after the rows were locked), and whether the due rows are locked first.
fn rule_statements(rule: RetentionRule) -> (String, &'static str, bool) {
    match rule {
        // Locked, then re-checked: a contact committed while this run waited for a customer's
        // row (a concurrent import refreshing the details) is seen by the erasing statement.
        RetentionRule::CustomerContacts => (
            format!(
                "{held} SELECT c.id, c.id IN (SELECT id FROM held_customers) AS held \
                   FROM customers c \
                  WHERE (c.business_name IS NOT NULL OR c.contact_name IS NOT NULL \
                         OR c.email IS NOT NULL OR c.phone IS NOT NULL) \
                    AND COALESCE((SELECT max(i.started_at) FROM interactions i \
                                   WHERE i.customer_id = c.id), c.created_at) < $1",
                held = holds::HELD_SETS
            ),
            "UPDATE customers c SET business_name = NULL, contact_name = NULL, email = NULL, \
                    phone = NULL, contact_details_erased_at = $3 \
              WHERE c.id = ANY ($1) \
                AND (c.business_name IS NOT NULL OR c.contact_name IS NOT NULL \
                     OR c.email IS NOT NULL OR c.phone IS NOT NULL) \
                AND NOT EXISTS (SELECT 1 FROM interactions i \
                                 WHERE i.customer_id = c.id AND i.started_at >= $2)",
            true,
        ),
        RetentionRule::SurveyComments => (
            format!(
                "{held} SELECT r.id, r.interaction_id IN (SELECT id FROM held_interactions) AS held \
                   FROM survey_responses r \
                  WHERE r.comment IS NOT NULL AND r.submitted_at < $1",
                held = holds::HELD_SETS
            ),
            "UPDATE survey_responses SET comment = NULL, comment_erased_at = $3 \
              WHERE id = ANY ($1) AND comment IS NOT NULL AND submitted_at < $2",
            false,
        ),
        RetentionRule::InvitationTokens => (
            format!(
                "{held} SELECT v.id, v.interaction_id IN (SELECT id FROM held_interactions) AS held \
                   FROM survey_invitations v \
                  WHERE v.token_hash IS NOT NULL AND LEAST(v.responded_at, v.expires_at) < $1",
                held = holds::HELD_SETS
            ),
            "UPDATE survey_invitations SET token_hash = NULL, token_erased_at = $3 \
              WHERE id = ANY ($1) AND token_hash IS NOT NULL \
                AND LEAST(responded_at, expires_at) < $2",
            false,
        ),
        RetentionRule::Sessions => unreachable!("sessions are deleted by erase_sessions"),
    }
}

/// Erases (or counts) the due rows of a rule with row ids; returns `(affected, held)`.
fn erase_rows(
    connection: &mut PgConnection,
    rule: RetentionRule,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> AppResult<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bool)]
        held: bool,
    }
    let (select, erase, lock_first) = rule_statements(rule);
    let select = if lock_first && !dry_run {
        format!("{select} FOR UPDATE OF c")
    } else {
        select
    };
    let due: Vec<Due> = diesel::sql_query(select)
        .bind::<Timestamptz, _>(cutoff)
        .load(connection)?;
    let held = due.iter().filter(|row| row.held).count() as i64;
    let ids: Vec<i64> = due
        .into_iter()
        .filter(|row| !row.held)
        .map(|row| row.id)
        .collect();
    if dry_run || ids.is_empty() {
        return Ok((ids.len() as i64, held));
    }
    let affected = diesel::sql_query(erase)
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<Timestamptz, _>(now)
        .execute(connection)?;
    Ok((affected as i64, held))
}

/// Deletes (or counts) sessions that ended before `cutoff`; their refresh tokens go with them.
fn erase_sessions(
    connection: &mut PgConnection,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    if dry_run {
        return Ok(diesel::sql_query(
            "SELECT count(*) AS count FROM sessions WHERE LEAST(revoked_at, expires_at) < $1",
        )
        .bind::<Timestamptz, _>(cutoff)
        .get_result::<Count>(connection)?
        .count);
    }
    Ok(
        diesel::sql_query("DELETE FROM sessions WHERE LEAST(revoked_at, expires_at) < $1")
            .bind::<Timestamptz, _>(cutoff)
            .execute(connection)? as i64,
    )
}

/// When the last run happened (by anyone), from the audit trail.
fn last_run_time(connection: &mut PgConnection) -> AppResult<Option<DateTime<Utc>>> {
    Ok(audit_events::table
        .filter(audit_events::action.eq(RUN_ACTION))
        .order(audit_events::id.desc())
        .select(audit_events::occurred_at)
        .first(connection)
        .optional()?)
}

/// A rule as it is configured now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInForce {
    pub rule: RetentionRule,
    pub period_days: u32,
    pub description: &'static str,
}

/// The last run, as its audit event records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub audit_event_id: i64,
    pub ran_at: DateTime<Utc>,
    /// `operator` (the `retention` command) or `scheduler` (the server).
    pub run_by: String,
    pub rules: Vec<RuleOutcome>,
}

/// What oversight sees of retention: the rules in force, the active holds, the last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionStatus {
    pub rules: Vec<RuleInForce>,
    /// `None` when the in-server schedule is off.
    pub schedule_interval_seconds: Option<u64>,
    pub active_legal_holds: i64,
    pub last_run: Option<LastRun>,
}

/// The rules of `settings` with the active holds and the last run.
pub fn status(
    connection: &mut PgConnection,
    settings: &RetentionSettings,
) -> AppResult<RetentionStatus> {
    use crate::db::schema::legal_holds;
    /// `(event id, time, actor role, after image)` of the newest run.
    type RunEvent = (
        i64,
        DateTime<Utc>,
        Option<String>,
        Option<serde_json::Value>,
    );
    let last: Option<RunEvent> = audit_events::table
        .filter(audit_events::action.eq(RUN_ACTION))
        .order(audit_events::id.desc())
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::actor_role,
            audit_events::after,
        ))
        .first(connection)
        .optional()?;
    let last_run = last
        .map(|(id, ran_at, role, after)| -> AppResult<LastRun> {
            let rules: Vec<RuleOutcome> = after
                .and_then(|after| after.get("rules").cloned())
                .map(serde_json::from_value)
                .transpose()
                .map_err(|error| {
                    AppError::internal(format!("retention run event {id} cannot be read: {error}"))
                })?
                .unwrap_or_default();
            Ok(LastRun {
                audit_event_id: id,
                ran_at,
                run_by: role.unwrap_or_default(),
                rules,
            })
        })
        .transpose()?;
    let active_legal_holds: i64 = legal_holds::table
        .filter(legal_holds::lifted_at.is_null())
        .count()
        .get_result(connection)?;
    Ok(RetentionStatus {
        rules: RetentionRule::ALL
            .iter()
            .map(|rule| RuleInForce {
                rule: *rule,
                period_days: rule.period_days(settings),
                description: rule.description(),
            })
            .collect(),
        schedule_interval_seconds: settings
            .schedule_interval
            .map(|interval| interval.as_secs()),
        active_legal_holds,
        last_run,
    })
}

/// `2026-11-30T12:00:00Z`: how the CSV and the page print a run's times.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_have_stable_names_and_their_periods() {
        let settings = RetentionSettings {
            customer_contacts_days: 1,
            survey_comments_days: 2,
            invitation_tokens_days: 3,
            sessions_days: 4,
            schedule_interval: None,
        };
        let periods: Vec<(&str, u32)> = RetentionRule::ALL
            .iter()
            .map(|rule| (rule.name(), rule.period_days(&settings)))
            .collect();
        assert_eq!(
            periods,
            vec![
                ("customer_contacts", 1),
                ("survey_comments", 2),
                ("invitation_tokens", 3),
                ("sessions", 4)
            ]
        );
        // The audit trail spells rules as their names.
        assert_eq!(
            serde_json::to_value(RetentionRule::InvitationTokens).unwrap(),
            json!("invitation_tokens")
        );
    }
}
