//! Errors as HTTP responses, for every endpoint: a GraphQL-style `{"errors": [...]}` body with
//! `extensions.code`, the status that code maps to, `Retry-After` when the client should come
//! back later (`RATE_LIMITED`, `UNAVAILABLE`), and `WWW-Authenticate` on 401.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, HttpResponseBuilder,
};
use serde_json::{json, Value};

use crate::error::{AppError, ErrorCode, PublicError};

/// One error as the JSON object of an `errors` list (with `locations`/`path` merged in when
/// given).
pub fn error_json(public: &PublicError, location: Option<&Value>) -> Value {
    let mut error = serde_json::Map::new();
    error.insert("message".into(), Value::from(public.message.as_str()));
    if let Some(Value::Object(location)) = location {
        for (key, value) in location {
            error.insert(key.clone(), value.clone());
        }
    }
    error.insert("extensions".into(), Value::Object(public.extensions()));
    Value::Object(error)
}

/// The status that carries `code`.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Adds the headers an error with this public form calls for.
pub fn add_error_headers(builder: &mut HttpResponseBuilder, public: &PublicError) {
    if let Some(seconds) = public.retry_after_seconds {
        builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    if public.code == ErrorCode::Unauthenticated {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
}

/// An error of a plain HTTP endpoint (import, export, reports) as a JSON response.
pub fn error_response(error: &AppError) -> HttpResponse {
    let public = PublicError::from(error);
    let mut builder = HttpResponse::build(status_of(public.code));
    add_error_headers(&mut builder, &public);
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "errors": [error_json(&public, None)] }))
}
