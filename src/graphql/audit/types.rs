//! GraphQL types of the audit domain.

use async_graphql::{Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::{audit::ChainVerification, db::models};

/// One event of the append-only, hash-chained audit trail.
pub struct AuditEventType(pub models::AuditEvent);

#[Object(name = "AuditEvent")]
impl AuditEventType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The acting user's id; null for the command line and anonymous callers.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|id| ID(id.to_string()))
    }
    /// The role acted in, `operator` (command line) or `anonymous`.
    async fn actor_role(&self) -> Option<&str> {
        self.0.actor_role.as_deref()
    }
    /// Dotted verb, e.g. `auth.login`, `interaction.create`, `import.batch`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> Option<&str> {
        self.0.entity_id.as_deref()
    }
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// sha256(prevHash ‖ canonical event), hex.
    async fn hash(&self) -> String {
        hex::encode(&self.0.hash)
    }
    async fn prev_hash(&self) -> String {
        hex::encode(&self.0.prev_hash)
    }
}

/// The result of re-walking the whole chain.
#[derive(SimpleObject)]
#[graphql(name = "AuditChainVerification")]
pub struct AuditChainVerificationType {
    /// True when every event's hash matches its content and its predecessor.
    pub ok: bool,
    /// Events examined (up to and including the first broken one).
    pub checked: i64,
    /// The first event whose hash does not match; null when the chain is intact.
    pub first_broken_id: Option<ID>,
    /// Hash of the newest event when intact: quote it to prove later that nothing before it changed.
    pub head_hash: Option<String>,
}

impl From<ChainVerification> for AuditChainVerificationType {
    fn from(verification: ChainVerification) -> Self {
        Self {
            ok: verification.ok,
            checked: verification.checked,
            first_broken_id: verification.first_broken_id.map(|id| ID(id.to_string())),
            head_hash: verification.head_hash,
        }
    }
}
