//! The two secrets the server holds: the JWT signing secret and the customer pseudonym key.
//!
//! Each comes from its environment variable. Without one, a private-cluster or demo setup
//! generates it once and keeps it in `DATA_DIR` (mode 0600), so tokens and pseudonyms survive
//! restarts; a server on `DATABASE_URL` must be given both explicitly.

use std::{fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;

/// Secrets loaded at start-up.
#[derive(Clone)]
pub struct Secrets {
    /// HS256 key of access tokens.
    pub jwt: Vec<u8>,
    /// HMAC key of customer pseudonyms.
    pub pseudonym: Vec<u8>,
}

impl Secrets {
    /// Loads (or, when `may_generate`, creates) both secrets.
    pub fn load(config: &Config, may_generate: bool) -> anyhow::Result<Self> {
        Ok(Self {
            jwt: Self::jwt(config, may_generate)?,
            pseudonym: one(
                config.tokens.pseudonym_key.as_ref(),
                "PSEUDONYM_KEY",
                &config.data_dir.join("pseudonym-key"),
                may_generate,
            )?,
        })
    }

    /// The JWT secret alone (commands that mint tokens need nothing else).
    pub fn jwt(config: &Config, may_generate: bool) -> anyhow::Result<Vec<u8>> {
        one(
            config.tokens.secret.as_ref(),
            "JWT_SECRET",
            &config.data_dir.join("jwt-secret"),
            may_generate,
        )
    }
}

fn one(
    configured: Option<&SecretString>,
    variable: &str,
    path: &Path,
    may_generate: bool,
) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    if !may_generate {
        bail!("{variable} must be set (at least 32 bytes) when DATABASE_URL is used");
    }
    if let Ok(existing) = fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    Ok(secret.into_bytes())
}
