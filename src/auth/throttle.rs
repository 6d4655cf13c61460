//! Sign-in throttling: failed sign-ins are counted per account and client address (the hard
//! limit), per account from anywhere (a soft limit with short waits, so an attacker cannot lock
//! the account's owner out for long), and per address across accounts (password spraying).
//! Past its threshold a key must wait before its next attempt, doubling from one second up to
//! its maximum. A waiting attempt is refused with `RATE_LIMITED` and a `Retry-After` before any
//! password is checked, so a flood costs neither argon2 time nor audit rows.
//!
//! The counters live in PostgreSQL (`rate_limit_counters`), so every server process on the
//! database enforces the same throttle. Accounts appear there only as keyed digests.

use std::time::Duration;

use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{Array, BigInt, Double, Integer, Nullable, Text},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    config::LoginThrottleSettings,
    error::{AppError, AppResult},
};

/// One throttled key and its policy.
#[derive(Debug, Clone, PartialEq)]
struct ThrottleKey {
    key: String,
    /// Failures allowed in the window before attempts must wait.
    threshold: u32,
    /// Longest wait.
    max_wait: Duration,
}

/// Counts failed sign-ins and says when an attempt must wait.
#[derive(Clone)]
pub struct LoginThrottle {
    settings: LoginThrottleSettings,
    /// Key of the digests that stand for accounts in the counters.
    digest_key: Vec<u8>,
}

impl LoginThrottle {
    /// `digest_key` keys the account digests (so the counters hold no email addresses).
    pub fn new(settings: LoginThrottleSettings, digest_key: &[u8]) -> Self {
        Self {
            settings,
            digest_key: digest_key.to_vec(),
        }
    }

    fn account_digest(&self, email: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.digest_key)
            .expect("HMAC accepts keys of any length");
        mac.update(b"login-throttle\0");
        mac.update(email.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn keys(&self, email: &str, address: &str) -> Vec<ThrottleKey> {
        let account = self.account_digest(email);
        let settings = &self.settings;
        vec![
            ThrottleKey {
                key: format!("login:pair:{account}:{address}"),
                threshold: settings.failures_per_account_and_address,
                max_wait: settings.lockout_max,
            },
            ThrottleKey {
                key: format!("login:account:{account}"),
                threshold: settings.failures_per_account,
                max_wait: settings.account_delay_max,
            },
            ThrottleKey {
                key: format!("login:address:{address}"),
                threshold: settings.failures_per_address,
                max_wait: settings.lockout_max,
            },
        ]
    }

    /// Refuses the attempt with `RATE_LIMITED` if any of its keys must still wait.
    pub fn check(
        &self,
        connection: &mut PgConnection,
        email: &str,
        address: &str,
    ) -> AppResult<()> {
        #[derive(QueryableByName)]
        struct Wait {
            #[diesel(sql_type = Nullable<Double>)]
            seconds: Option<f64>,
        }
        let keys: Vec<String> = self
            .keys(email, address)
            .into_iter()
            .map(|key| key.key)
            .collect();
        let wait: Wait = diesel::sql_query(
            "SELECT extract(epoch FROM max(blocked_until) - clock_timestamp())::float8 AS seconds \
               FROM rate_limit_counters \
              WHERE key = ANY($1) AND blocked_until > clock_timestamp()",
        )
        .bind::<Array<Text>, _>(&keys)
        .get_result(connection)?;
        match wait.seconds {
            Some(seconds) if seconds > 0.0 => Err(AppError::rate_limited(
                "too many failed sign-ins; wait before trying again",
                Duration::from_secs_f64(seconds),
            )),
            _ => Ok(()),
        }
    }

    /// Counts a failure on every key of the attempt and sets the wait of those past their
    /// threshold. Call in the transaction that audits the failure.
    pub fn record_failure(
        &self,
        connection: &mut PgConnection,
        email: &str,
        address: &str,
    ) -> AppResult<()> {
        #[derive(QueryableByName)]
        struct Counted {
            #[diesel(sql_type = Text)]
            key: String,
            #[diesel(sql_type = Integer)]
            hits: i32,
        }
        let keys = self.keys(email, address);
        let names: Vec<String> = keys.iter().map(|key| key.key.clone()).collect();
        let window = self.settings.failure_window.as_secs().max(1) as i64;
        // Failures within the window accumulate (each one keeps the window open); an older
        // count starts again at one.
        let counted: Vec<Counted> = diesel::sql_query(
            "INSERT INTO rate_limit_counters AS c (key, window_start, hits, expires_at) \
             SELECT key, clock_timestamp(), 1, clock_timestamp() + make_interval(secs => $2) \
               FROM unnest($1::text[]) AS k(key) \
             ON CONFLICT (key) DO UPDATE SET \
               hits = CASE WHEN c.expires_at > clock_timestamp() THEN c.hits + 1 ELSE 1 END, \
               window_start = CASE WHEN c.expires_at > clock_timestamp() THEN c.window_start ELSE clock_timestamp() END, \
               expires_at = greatest(clock_timestamp() + make_interval(secs => $2), c.blocked_until) \
             RETURNING c.key, c.hits",
        )
        .bind::<Array<Text>, _>(&names)
        .bind::<BigInt, _>(window)
        .load(connection)?;
        let mut blocked_keys = Vec::new();
        let mut waits = Vec::new();
        for counted in counted {
            let Some(policy) = keys.iter().find(|key| key.key == counted.key) else {
                continue;
            };
            if let Some(wait) = wait_after(
                counted.hits.max(0) as u32,
                policy.threshold,
                policy.max_wait,
            ) {
                blocked_keys.push(counted.key);
                waits.push(wait.as_secs_f64());
            }
        }
        if !blocked_keys.is_empty() {
            diesel::sql_query(
                "UPDATE rate_limit_counters AS c \
                    SET blocked_until = clock_timestamp() + make_interval(secs => w.seconds), \
                        expires_at = greatest(c.expires_at, clock_timestamp() + make_interval(secs => w.seconds)) \
                   FROM unnest($1::text[], $2::float8[]) AS w(key, seconds) \
                  WHERE c.key = w.key",
            )
            .bind::<Array<Text>, _>(&blocked_keys)
            .bind::<Array<Double>, _>(&waits)
            .execute(connection)?;
        }
        Ok(())
    }

    /// Forgets the failures of this account from this address (a successful sign-in). The
    /// account-wide and address-wide counts stay: they decay with their window.
    pub fn record_success(
        &self,
        connection: &mut PgConnection,
        email: &str,
        address: &str,
    ) -> AppResult<()> {
        let pair = self.keys(email, address).remove(0).key;
        diesel::sql_query("DELETE FROM rate_limit_counters WHERE key = $1")
            .bind::<Text, _>(pair)
            .execute(connection)?;
        Ok(())
    }
}

/// The wait imposed after the `failures`-th failure on a key allowing `threshold`: none up to
/// the threshold, then 1 s, 2 s, 4 s, … up to `max_wait`.
fn wait_after(failures: u32, threshold: u32, max_wait: Duration) -> Option<Duration> {
    if failures <= threshold {
        return None;
    }
    let doublings = (failures - threshold - 1).min(20);
    Some(Duration::from_secs(1u64 << doublings).min(max_wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_past_the_threshold_up_to_the_maximum() {
        let max = Duration::from_secs(30);
        assert_eq!(wait_after(5, 5, max), None);
        assert_eq!(wait_after(6, 5, max), Some(Duration::from_secs(1)));
        assert_eq!(wait_after(7, 5, max), Some(Duration::from_secs(2)));
        assert_eq!(wait_after(10, 5, max), Some(Duration::from_secs(16)));
        assert_eq!(wait_after(11, 5, max), Some(max));
        assert_eq!(wait_after(u32::MAX, 5, max), Some(max));
    }

    #[test]
    fn keys_hold_digests_not_emails() {
        let settings = crate::config::Config::from_lookup(|_| None)
            .unwrap()
            .login_throttle;
        let throttle = LoginThrottle::new(settings, b"key");
        let keys = throttle.keys("pat@agency.example", "10.0.0.1");
        assert_eq!(keys.len(), 3);
        for key in &keys {
            assert!(!key.key.contains("pat@"), "{}", key.key);
        }
        assert!(keys[0].key.ends_with(":10.0.0.1"));
        // Same account, another key: another digest.
        let other = LoginThrottle::new(throttle.settings.clone(), b"other key");
        assert_ne!(other.keys("pat@agency.example", "x")[1], keys[1]);
    }
}
