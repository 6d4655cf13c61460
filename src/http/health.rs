//! `GET /healthz` (the process is up) and `GET /readyz` (the database answers; with read
//! replicas, also each replica's state, lag and the reads every database has served).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::AppState;

/// Always 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when a database connection can be had and answers; 503 otherwise, and while the
/// server drains before stopping.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        return HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
            .json(json!({ "status": "draining" }));
    }
    let ready = state.database.is_ready().await;
    let mut body = if ready {
        json!({ "status": "ready", "database": "ok" })
    } else {
        json!({ "status": "unavailable", "database": "unreachable" })
    };
    if state.database.has_replicas() {
        // Readiness is the primary's alone: without replicas the primary serves every read.
        body["primaryServed"] = json!(state.database.primary_served());
        body["replicas"] = json!(state
            .database
            .replica_statuses()
            .into_iter()
            .map(|replica| json!({
                "name": replica.name,
                "state": replica.state,
                "lagMs": replica.lag_ms,
                "served": replica.served,
            }))
            .collect::<Vec<_>>());
    }
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
            .json(body)
    }
}
