//! Refused credentials that must leave a trace without letting an anonymous caller write to the
//! audit chain at will: refused bearer tokens and sign-ins naming no account are logged and
//! counted here, and at most one audit event per interval (`REFUSED_TOKEN_SUMMARY_SECONDS`)
//! summarises them. Failed sign-ins of real accounts are audited one by one (the throttle bounds
//! them), and throttled attempts are counted.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::jwt::TokenRejection,
    db::{Database, Workload},
};

/// Counts of refused credentials, since start (for `/metrics`) and since the last summary.
#[derive(Default)]
pub struct Refusals {
    /// Refused bearer tokens by reason, since the last summary.
    pending_tokens: Mutex<BTreeMap<String, u64>>,
    /// Sign-ins naming no account, since the last summary.
    pending_unknown_accounts: AtomicU64,
    /// Totals since start.
    pub tokens_total: AtomicU64,
    pub unknown_accounts_total: AtomicU64,
    pub login_failures_total: AtomicU64,
    pub logins_throttled_total: AtomicU64,
}

impl Refusals {
    /// A bearer token was refused: one log line (no token text) and a count.
    pub fn token_refused(&self, reason: &TokenRejection, request_id: Option<&str>) {
        tracing::info!(reason = %reason, request_id, "bearer token refused");
        crate::telemetry::metrics::refused_token();
        self.tokens_total.fetch_add(1, Ordering::Relaxed);
        *self
            .pending_tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(reason.code().to_owned())
            .or_default() += 1;
    }

    /// A sign-in named no account: logged and counted, not audited one by one.
    pub fn unknown_account(&self, request_id: Option<&str>) {
        tracing::info!(request_id, "sign-in refused: no such account");
        crate::telemetry::metrics::login_failure();
        self.unknown_accounts_total.fetch_add(1, Ordering::Relaxed);
        self.pending_unknown_accounts
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A sign-in of a real account failed (it is audited by the caller).
    pub fn login_failed(&self) {
        crate::telemetry::metrics::login_failure();
        self.login_failures_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A sign-in was refused by the throttle before any password check.
    pub fn login_throttled(&self) {
        crate::telemetry::metrics::rate_limited("login");
        self.logins_throttled_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes one `auth.refusals_summary` audit event with the counts since the last one, if
    /// there were any. Counts that cannot be written are kept for the next summary.
    pub async fn write_summary(&self, database: &Database, interval: Duration) {
        let tokens = std::mem::take(
            &mut *self
                .pending_tokens
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let unknown = self.pending_unknown_accounts.swap(0, Ordering::Relaxed);
        if tokens.is_empty() && unknown == 0 {
            return;
        }
        let after = json!({
            "interval_seconds": interval.as_secs(),
            "refused_tokens": tokens,
            "unknown_account_sign_ins": unknown,
        });
        let written = database
            .for_workload(Workload::Authentication)
            .transaction(move |connection| {
                audit::record(
                    connection,
                    Entry::new(Actor::anonymous(), "auth.refusals_summary", "session").after(after),
                )
            })
            .await;
        if let Err(error) = written {
            tracing::warn!(error = %error.chain(), "could not write the refusals summary; keeping the counts");
            let mut pending = self
                .pending_tokens
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (reason, count) in tokens {
                *pending.entry(reason).or_default() += count;
            }
            self.pending_unknown_accounts
                .fetch_add(unknown, Ordering::Relaxed);
        }
    }

    /// Writes a summary every `interval` until the server stops.
    pub fn spawn_summaries(self: &Arc<Self>, database: Database, interval: Duration) {
        let refusals = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(refusals) = refusals.upgrade() else {
                    return;
                };
                refusals.write_summary(&database, interval).await;
            }
        });
    }
}
