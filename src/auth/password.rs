//! Password hashing with argon2id at (at least) OWASP's minimum parameters.
//!
//! Hashing and verification are CPU-heavy by design, so callers run them through
//! [`PasswordHasher::verify_off_executor`] / [`hash_off_executor`], which use the blocking
//! thread pool. Unknown users are checked against a dummy hash so that a wrong email
//! costs the same time as a wrong password.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, SaltString},
    Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version,
};

use crate::error::{AppError, AppResult};

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// The shortest password accepted for a new account.
pub const MINIMUM_LENGTH: usize = 12;

/// Hashes and verifies passwords; holds a dummy hash for equal-cost failures.
#[derive(Clone)]
pub struct PasswordHasher {
    dummy_hash: String,
}

impl PasswordHasher {
    /// Prepares the dummy hash (one argon2 computation; call once at start-up).
    pub fn new() -> AppResult<Self> {
        Ok(Self {
            dummy_hash: hash_password("not-a-real-password-only-for-timing")?,
        })
    }

    /// Verifies `candidate` against `stored` on the blocking pool. With no stored hash (unknown
    /// user or service account) the dummy hash is checked instead and the answer is `false`.
    pub async fn verify_off_executor(&self, stored: Option<String>, candidate: String) -> bool {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.clone(), false),
        };
        tokio::task::spawn_blocking(move || verify_password(&hash, &candidate) && real)
            .await
            .unwrap_or(false)
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the minimum policy; `field` names the input for the error.
pub fn check_policy(field: &str, password: &str) -> AppResult<()> {
    if password.chars().count() < MINIMUM_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("must be at least {MINIMUM_LENGTH} characters long"),
        ));
    }
    Ok(())
}

/// Hashes `password` on the blocking pool (what async code calls).
pub async fn hash_off_executor(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// Hashes a password into a PHC string (blocking; prefer [`hash_off_executor`] in async code).
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::internal(format!("password hashing failed: {error}")))
}

/// Verifies a password against a PHC string (blocking). A malformed hash never verifies.
pub fn verify_password(stored: &str, candidate: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            argon2()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse battery staple"));
        assert!(!verify_password(&hash, "wrong horse battery staple"));
        assert!(!verify_password("not a hash", "anything"));
    }

    #[test]
    fn policy_requires_length() {
        assert!(check_policy("password", "short").is_err());
        assert!(check_policy("password", "long enough password").is_ok());
    }
}
