//! Legal holds: records preserved from retention until the hold is lifted.
//!
//! A hold names exactly one org unit (covering the interactions of its subtree), customer
//! (their interactions) or interaction. Placing and lifting are the administrator's (the
//! resolvers ask the scope module); each is one transaction with its audit event. The audit
//! event names the hold and its target by id, not the reason: a reason names a matter and may
//! name people, and the audit trail holds no personal data. Holds are never deleted.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    db::{
        models::{LegalHold, NewLegalHold},
        schema::{customers, interactions, legal_holds, org_units},
        Database,
    },
    error::{AppError, AppResult},
};

/// The SQL `WITH` clause every retention rule starts with: the interactions and the customers
/// an active hold covers (`held_interactions(id)`, `held_customers(id)`).
pub const HELD_SETS: &str = "WITH active_holds AS ( \
       SELECT org_unit_id, customer_id, interaction_id FROM legal_holds WHERE lifted_at IS NULL), \
     held_interactions AS ( \
       SELECT interaction_id AS id FROM active_holds WHERE interaction_id IS NOT NULL \
       UNION SELECT i.id FROM interactions i \
              WHERE i.customer_id IN (SELECT customer_id FROM active_holds WHERE customer_id IS NOT NULL) \
       UNION SELECT i.id FROM interactions i \
              WHERE i.org_unit_id IN (SELECT u.id FROM org_units u \
                                        JOIN active_holds h ON u.path @> ARRAY[h.org_unit_id])), \
     held_customers AS ( \
       SELECT customer_id AS id FROM active_holds WHERE customer_id IS NOT NULL \
       UNION SELECT i.customer_id FROM interactions i \
              WHERE i.id IN (SELECT id FROM held_interactions) AND i.customer_id IS NOT NULL)";

/// Longest reason accepted (the database checks the same).
pub const MAX_REASON_CHARS: usize = 500;

/// What a hold preserves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// An org unit by code, with its subtree.
    OrgUnit(String),
    Customer(i64),
    Interaction(i64),
}

/// Who places or lifts a hold: an administrator the caller has authorized.
#[derive(Debug, Clone, Copy)]
pub struct HoldActor {
    pub user_id: i64,
    pub role: crate::db::enums::Role,
}

fn checked_reason(field: &str, reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_input(
            field,
            "say why (the matter or request number)",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// Places a hold on `target`, which must exist.
pub async fn place(
    database: &Database,
    actor: HoldActor,
    target: HoldTarget,
    reason: &str,
    request_id: Option<String>,
) -> AppResult<LegalHold> {
    let reason = checked_reason("reason", reason)?;
    database
        .transaction(move |connection| {
            let mut new = NewLegalHold {
                org_unit_id: None,
                customer_id: None,
                interaction_id: None,
                reason,
                placed_by: actor.user_id,
            };
            match &target {
                HoldTarget::OrgUnit(code) => {
                    new.org_unit_id = Some(
                        org_units::table
                            .filter(org_units::code.eq(code))
                            .select(org_units::id)
                            .first(connection)
                            .optional()?
                            .ok_or_else(|| AppError::NotFound(format!("no org unit `{code}`")))?,
                    );
                }
                HoldTarget::Customer(id) => {
                    new.customer_id = Some(
                        customers::table
                            .find(id)
                            .select(customers::id)
                            .first(connection)
                            .optional()?
                            .ok_or_else(|| AppError::NotFound(format!("no customer {id}")))?,
                    );
                }
                HoldTarget::Interaction(id) => {
                    new.interaction_id = Some(
                        interactions::table
                            .find(id)
                            .select(interactions::id)
                            .first(connection)
                            .optional()?
                            .ok_or_else(|| AppError::NotFound(format!("no interaction {id}")))?,
                    );
                }
            }
            let hold: LegalHold = diesel::insert_into(legal_holds::table)
                .values(&new)
                .returning(LegalHold::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(
                    Actor::user(actor.user_id, actor.role),
                    "legal_hold.place",
                    "legal_hold",
                )
                .entity_id(hold.id)
                .after(json!({
                    "org_unit_id": hold.org_unit_id,
                    "customer_id": hold.customer_id,
                    "interaction_id": hold.interaction_id,
                }))
                .request_id(request_id),
            )?;
            Ok(hold)
        })
        .await
}

/// Lifts hold `id`; retention applies again to what it covered. A hold is lifted once.
pub async fn lift(
    database: &Database,
    actor: HoldActor,
    id: i64,
    reason: &str,
    request_id: Option<String>,
) -> AppResult<LegalHold> {
    let reason = checked_reason("reason", reason)?;
    database
        .transaction(move |connection| {
            let lifted: Option<LegalHold> = diesel::update(legal_holds::table.find(id))
                .filter(legal_holds::lifted_at.is_null())
                .set((
                    legal_holds::lifted_by.eq(actor.user_id),
                    legal_holds::lifted_at.eq(Utc::now()),
                    legal_holds::lift_reason.eq(reason),
                ))
                .returning(LegalHold::as_returning())
                .get_result(connection)
                .optional()?;
            let Some(hold) = lifted else {
                let exists: i64 = legal_holds::table.find(id).count().get_result(connection)?;
                return Err(if exists == 0 {
                    AppError::NotFound(format!("no legal hold {id}"))
                } else {
                    AppError::Conflict(format!("legal hold {id} was already lifted"))
                });
            };
            audit::record(
                connection,
                Entry::new(
                    Actor::user(actor.user_id, actor.role),
                    "legal_hold.lift",
                    "legal_hold",
                )
                .entity_id(hold.id)
                .before(json!({ "lifted": false }))
                .after(json!({ "lifted": true, "lifted_at": hold.lifted_at }))
                .request_id(request_id),
            )?;
            Ok(hold)
        })
        .await
}
