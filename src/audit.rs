//! The append-only, hash-chained audit trail.
//!
//! Every write calls [`record`] inside the same transaction as the change, so an event exists
//! exactly when its change does. Each event's hash is `sha256(prev_hash ‖ canonical event)`, where
//! the canonical event is a JSON object with sorted keys; [`verify_chain`] recomputes the chain
//! and names the first event whose stored hash no longer matches.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::{pg::PgConnection, prelude::*, sql_types::BigInt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    db::{
        enums::Role,
        models::{AuditEvent, NewAuditEvent},
        schema::audit_events,
    },
    error::AppResult,
};

/// The hash that precedes the first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Serialises appends so each event links to the one before it.
const CHAIN_LOCK_KEY: i64 = 0x6261_635f_6175_6474; // "bac_audt"

/// Who did something.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// The role acted in, or a label such as `operator` for the command line.
    pub role: String,
}

impl Actor {
    /// A signed-in user acting in `role`.
    pub fn user(user_id: i64, role: Role) -> Self {
        Self {
            user_id: Some(user_id),
            role: role.as_db_str().to_owned(),
        }
    }

    /// Someone at the server's command line.
    pub fn operator() -> Self {
        Self {
            user_id: None,
            role: "operator".to_owned(),
        }
    }

    /// A caller who has not (successfully) authenticated.
    pub fn anonymous() -> Self {
        Self {
            user_id: None,
            role: "anonymous".to_owned(),
        }
    }
}

/// What happened, before it is chained.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    /// Dotted verb, e.g. `auth.login`, `interaction.create`.
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

impl Entry {
    /// An entry with no before/after images.
    pub fn new(actor: Actor, action: &'static str, entity_type: &'static str) -> Self {
        Self {
            actor,
            action,
            entity_type,
            entity_id: None,
            before: None,
            after: None,
            request_id: None,
        }
    }

    pub fn entity_id(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }

    pub fn request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }
}

/// Appends `entry` to the chain. Call inside the transaction of the change it records.
pub fn record(connection: &mut PgConnection, entry: Entry) -> AppResult<AuditEvent> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(CHAIN_LOCK_KEY)
        .execute(connection)?;
    let prev_hash: Vec<u8> = audit_events::table
        .select(audit_events::hash)
        .order(audit_events::id.desc())
        .first(connection)
        .optional()?
        .unwrap_or_else(|| GENESIS_HASH.to_vec());
    // PostgreSQL keeps microseconds; hashing the stored precision keeps verification exact.
    let occurred_at = Utc::now().trunc_subsecs(6);
    let mut event = NewAuditEvent {
        occurred_at,
        actor_id: entry.actor.user_id,
        actor_role: Some(entry.actor.role),
        action: entry.action.to_owned(),
        entity_type: entry.entity_type.to_owned(),
        entity_id: entry.entity_id,
        before: entry.before.map(normalise_json),
        after: entry.after.map(normalise_json),
        request_id: entry.request_id,
        prev_hash,
        hash: Vec::new(),
    };
    event.hash = chain_hash(&event.prev_hash, &canonical_fields(&event.as_fields()));
    Ok(diesel::insert_into(audit_events::table)
        .values(&event)
        .returning(AuditEvent::as_returning())
        .get_result(connection)?)
}

/// The outcome of re-walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerification {
    pub ok: bool,
    pub checked: i64,
    pub first_broken_id: Option<i64>,
    /// Hash of the newest event: a reader can later prove nothing before it changed.
    pub head_hash: Option<String>,
}

/// Recomputes every link, oldest first, reading in batches.
pub fn verify_chain(connection: &mut PgConnection) -> AppResult<ChainVerification> {
    const BATCH: i64 = 5_000;
    let mut expected_prev = GENESIS_HASH.to_vec();
    let mut last_id = 0_i64;
    let mut checked = 0_i64;
    loop {
        let batch: Vec<AuditEvent> = audit_events::table
            .filter(audit_events::id.gt(last_id))
            .order(audit_events::id.asc())
            .limit(BATCH)
            .select(AuditEvent::as_select())
            .load(connection)?;
        if batch.is_empty() {
            break;
        }
        for event in &batch {
            checked += 1;
            let recomputed = chain_hash(&expected_prev, &canonical_fields(&event.as_fields()));
            if event.prev_hash != expected_prev || event.hash != recomputed {
                return Ok(ChainVerification {
                    ok: false,
                    checked,
                    first_broken_id: Some(event.id),
                    head_hash: None,
                });
            }
            expected_prev = event.hash.clone();
            last_id = event.id;
        }
    }
    Ok(ChainVerification {
        ok: true,
        checked,
        first_broken_id: None,
        head_hash: (checked > 0).then(|| hex::encode(&expected_prev)),
    })
}

/// The hashed content of an event, shared by writing and verifying.
struct EventFields<'a> {
    occurred_at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor_role: Option<&'a str>,
    action: &'a str,
    entity_type: &'a str,
    entity_id: Option<&'a str>,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    request_id: Option<&'a str>,
}

trait AsFields {
    fn as_fields(&self) -> EventFields<'_>;
}

impl AsFields for NewAuditEvent {
    fn as_fields(&self) -> EventFields<'_> {
        EventFields {
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            actor_role: self.actor_role.as_deref(),
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: self.entity_id.as_deref(),
            before: self.before.as_ref(),
            after: self.after.as_ref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

impl AsFields for AuditEvent {
    fn as_fields(&self) -> EventFields<'_> {
        EventFields {
            occurred_at: self.occurred_at,
            actor_id: self.actor_id,
            actor_role: self.actor_role.as_deref(),
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: self.entity_id.as_deref(),
            before: self.before.as_ref(),
            after: self.after.as_ref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

/// Sorted-key JSON of the event (serde_json's map is ordered, so key order is canonical).
fn canonical_fields(fields: &EventFields<'_>) -> String {
    json!({
        "occurred_at": fields.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor_id": fields.actor_id,
        "actor_role": fields.actor_role,
        "action": fields.action,
        "entity_type": fields.entity_type,
        "entity_id": fields.entity_id,
        "before": fields.before,
        "after": fields.after,
        "request_id": fields.request_id,
    })
    .to_string()
}

fn chain_hash(prev_hash: &[u8], canonical: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical.as_bytes());
    hasher.finalize().to_vec()
}

/// JSONB does not keep non-integral number spellings verbatim; round-tripping through its text
/// form before hashing makes the hash of what is written equal the hash of what is read back.
fn normalise_json(value: Value) -> Value {
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => number
            .as_f64()
            .map(|float| Value::String(float.to_string()))
            .unwrap_or(Value::Null),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, normalise_json(value)))
                .collect(),
        ),
        other => other,
    }
}
