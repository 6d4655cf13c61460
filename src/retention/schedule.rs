//! The server's retention schedule (`RETENTION_SCHEDULE_INTERVAL`).
//!
//! Every server checks a few times per interval (at most hourly, at least every second) and
//! runs the rules when the last run — by any server on the same database or by the `retention`
//! command, as the audit trail records it — is at least an interval old. The run's advisory lock
//! and that check happen in one transaction, so servers sharing a database take turns: one run
//! per interval among them. The first check comes one check period after start-up, so a
//! process that starts and stops quickly never runs it.

use std::time::Duration;

use chrono::Utc;
use tokio::{task::JoinHandle, time::MissedTickBehavior};

use crate::{
    audit::Actor,
    config::RetentionSettings,
    db::Database,
    retention::{run, RunOptions, RunOutcome},
};

/// How often a server checks whether a run is due, for `interval`.
pub fn check_period(interval: Duration) -> Duration {
    (interval / 24).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// The actor of scheduled runs in the audit trail.
pub fn scheduler() -> Actor {
    Actor {
        user_id: None,
        role: "scheduler".to_owned(),
    }
}

/// Starts the schedule on the current runtime, unless it is off. It stops with the runtime.
pub fn spawn(database: Database, settings: RetentionSettings) -> Option<JoinHandle<()>> {
    let interval = settings.schedule_interval?;
    let period = check_period(interval);
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let due_before = Utc::now()
                - chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::days(1));
            let options = RunOptions {
                dry_run: false,
                actor: scheduler(),
                unless_run_since: Some(due_before),
            };
            match run(&database, &settings, options).await {
                Ok(RunOutcome::Completed(report)) => {
                    let affected: i64 = report.rules.iter().map(|rule| rule.affected).sum();
                    let held: i64 = report.rules.iter().map(|rule| rule.held).sum();
                    tracing::info!(affected, held, "retention run completed");
                }
                Ok(RunOutcome::AnotherRunInProgress) => {
                    tracing::debug!("retention: another run is in progress");
                }
                Ok(RunOutcome::NotDue { .. }) => {}
                Err(error) => tracing::warn!(%error, "retention run failed; retrying later"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_a_few_times_per_interval_within_bounds() {
        assert_eq!(
            check_period(Duration::from_secs(86_400)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            check_period(Duration::from_secs(4 * 3600)),
            Duration::from_secs(600)
        );
        assert_eq!(check_period(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            check_period(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(3600)
        );
    }
}
