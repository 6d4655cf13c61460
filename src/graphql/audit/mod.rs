//! The audit trail: `auditEvents` and `verifyAuditChain` (auditor, admin).

pub mod query;
pub mod types;

pub use query::AuditQuery;
