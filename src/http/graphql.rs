//! GraphQL over HTTP (the GraphQL-over-HTTP specification), at `/graphql`.
//!
//! - `POST` with `Content-Type: application/json`; `GET` with URL parameters, for queries only
//!   (a mutation over `GET` is `405`). A browser's `GET` without a query gets GraphiQL, served
//!   with its files by this binary (`http/graphiql.rs`).
//! - The response media type follows `Accept`: `application/graphql-response+json` when the
//!   client asks for it, `application/json` otherwise (or when `Accept` is absent or `*/*`).
//! - With `application/graphql-response+json`, a request that fails before execution (bad JSON,
//!   syntax, validation) is `400` with no `data`; with `application/json` it is `200`, as the
//!   specification asks for legacy clients.
//! - One operation per request (no batching), bodies capped at `MAX_BODY_BYTES`.
//! - Persisted documents (`records::documents`): `extensions.persistedQuery = {version: 1,
//!   sha256Hash}` in the body or, for `GET`, as the URL-encoded JSON `extensions` parameter.
//!   The document is resolved — from the store by its hash, checked against it, or refused in
//!   trusted-documents mode — right after authentication and before it is priced; only a `POST`
//!   registers an automatic persisted query. A `GET` by hash alone that names a mutation is
//!   `405` like any other. With `GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS`, a successful `GET` by
//!   hash alone may be cached by the browser (`private`, `Vary: Authorization`); every other
//!   answer is `no-store`.
//! - Every error carries `extensions.code`; internal details are never sent.

use actix_web::{
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    web, HttpMessage, HttpRequest, HttpResponse,
};
use async_graphql::{
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
    Variables,
};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::{
    auth::{authenticate, Scope},
    db::Workload,
    error::{AppError, ErrorCode, PublicError},
    graphql::{was_executed, Loaders, RequestContext},
    http::{
        client::client_address,
        errors::{error_json, status_of},
        AppState,
    },
    records::documents::{self, DocumentHash, DocumentRequest, DocumentRules, HASH_FIELD},
};

/// `application/graphql-response+json`, the specification's own media type.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// The parameters of one GraphQL request, from a JSON body or URL parameters.
#[derive(Debug, Default)]
struct GraphqlParams {
    /// The document's text; absent when a persisted query is sent by its hash alone.
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    /// `extensions.persistedQuery.sha256Hash`.
    persisted_hash: Option<DocumentHash>,
}

/// `POST /graphql`.
pub async fn post(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(media) = negotiate(&request) else {
        return not_acceptable();
    };
    if let Err(message) = check_content_type(&request) {
        return request_error(media, StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
    }
    let body = match read_body(&request, payload, state.config.graphql.max_body_bytes).await {
        Ok(body) => body,
        Err((status, message)) => return request_error(media, status, message),
    };
    let params = match params_from_body(&body) {
        Ok(params) => params,
        Err(message) => return request_error(media, StatusCode::BAD_REQUEST, message),
    };
    execute(&request, &state, media, params, Method::POST).await
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query in the URL.
pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let pairs: Vec<(String, String)> =
        match web::Query::<Vec<(String, String)>>::from_query(request.query_string()) {
            Ok(pairs) => pairs.into_inner(),
            Err(_) => {
                let media = negotiate(&request).unwrap_or(MediaType::Json);
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    "the URL query string is malformed",
                );
            }
        };
    let has_query = pairs
        .iter()
        .any(|(key, _)| key == "query" || key == "extensions");
    if !has_query && wants_html(&request) && state.config.developer_tools_enabled() {
        return super::graphiql::page("/graphql");
    }
    let Some(media) = negotiate(&request) else {
        return not_acceptable();
    };
    let params = match params_from_url(pairs) {
        Ok(params) => params,
        Err(message) => return request_error(media, StatusCode::BAD_REQUEST, message),
    };
    if let Some(query) = &params.query {
        if selects_mutation(query, params.operation_name.as_deref()) {
            return mutation_over_get(media);
        }
    }
    execute(&request, &state, media, params, Method::GET).await
}

/// `405`: a mutation sent with `GET`.
fn mutation_over_get(media: MediaType) -> HttpResponse {
    let mut response = request_error(
        media,
        StatusCode::METHOD_NOT_ALLOWED,
        "mutations must be sent with POST",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    let media = negotiate(&request).unwrap_or(MediaType::Json);
    let mut response = request_error(
        media,
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not supported on /graphql; use GET or POST",
            request.method()
        ),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

async fn execute(
    request: &HttpRequest,
    state: &AppState,
    media: MediaType,
    params: GraphqlParams,
    method: Method,
) -> HttpResponse {
    let request_id = request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    crate::telemetry::metrics::note_operation(request, params.operation_name.clone());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("invalid"));
    let scope = match authenticate(
        &state.auth,
        &state.database,
        authorization,
        request_id.as_deref(),
    )
    .await
    {
        Ok(scope) => scope,
        Err(error) => {
            note_refused_operation(request, &params);
            return refused(media, &error);
        }
    };

    // The document to run: the request's text, or the persisted one its hash names; in
    // trusted-documents mode only a registered one. Settled before it is priced.
    let rules = DocumentRules::from_config(&state.config);
    let document = match documents::resolve(
        &state.database,
        &rules,
        &scope,
        DocumentRequest {
            text: params.query,
            hash: params.persisted_hash,
        },
    )
    .await
    {
        Ok(document) => document,
        Err(error) => return refused(media, &error),
    };
    if method == Method::GET
        && document.by_hash_alone
        && selects_mutation(&document.text, params.operation_name.as_deref())
    {
        return mutation_over_get(media);
    }

    // Cost before execution: the document is parsed here once (the engine reuses it), priced,
    // and refused if over any per-operation limit; its cost picks the workload it runs on.
    let variables = Variables::from_json(Value::Object(params.variables.unwrap_or_default()));
    let mut graphql_request =
        async_graphql::Request::new(document.text.clone()).variables(variables.clone());
    if let Some(name) = &params.operation_name {
        graphql_request = graphql_request.operation_name(name.clone());
    }
    let (workload, admitted, is_mutation) = match parse_query(&document.text) {
        Ok(parsed) => {
            if params.operation_name.is_none() {
                crate::telemetry::metrics::note_operation(request, only_operation_name(&parsed));
            }
            let priced =
                state
                    .admission
                    .price(&parsed, params.operation_name.as_deref(), &variables);
            graphql_request.set_parsed_query(parsed);
            match priced {
                Ok(cost) => (state.admission.workload_for(&cost), true, cost.is_mutation),
                Err(error) => return refused(media, &error),
            }
        }
        // The engine reports the syntax error itself.
        Err(_) => (Workload::Interactive, false, true),
    };
    // An automatic persisted query is registered once it is known to parse and fit the budget,
    // and only from a POST: a GET stays free of writes (Apollo's link resends with POST anyway).
    if let (Some(hash), Scope::Authenticated(principal), true, true) = (
        document.to_register.clone(),
        &scope,
        admitted,
        method == Method::POST,
    ) {
        let registered = documents::register_automatic(
            &state.database,
            &rules,
            principal,
            hash,
            document.text.clone(),
        )
        .await;
        if let Err(error) = registered {
            // The caller's query still runs; only its registration is lost.
            tracing::warn!(error = %error.chain(), "could not register an automatic persisted query");
        }
    }
    // Read routing: a query may be served by a read replica that has replayed the caller's
    // own latest write; a mutation, and everything it reads, runs on the primary.
    let database = if is_mutation {
        state
            .admission
            .database_for(&state.database, workload, &scope)
    } else {
        state.admission.reads_for(&state.database, workload, &scope)
    }
    .tracked();
    let writer = match (&scope, is_mutation) {
        (Scope::Authenticated(principal), true) => Some(principal.user_id),
        _ => None,
    };

    // The directory cache, at the version the session check read; requests that write read
    // the directory from the database, so that what they return shows their change.
    let directory = match (&scope, is_mutation) {
        (Scope::Authenticated(principal), false) => {
            state.database.directory().view(principal.directory_version)
        }
        _ => None,
    };
    let graphql_request = graphql_request
        .data(Loaders::new(&database, directory))
        .data(RequestContext {
            scope,
            request_id,
            client_address: client_address(request, &state.config.trusted_proxies),
            database: database.clone(),
        });
    let response = state.schema.execute(graphql_request).await;
    let executed = was_executed(&response);
    if let (Some(user_id), true) = (writer, executed) {
        // The caller's next reads must see this write, whichever server they reach.
        state.database.note_write(user_id).await;
    }
    let answered_by = database.answered_by();
    if let Some(answered_by) = &answered_by {
        tracing::info!(database = %answered_by, workload = %workload, "GraphQL request served");
    }

    let errors: Vec<(PublicError, Value)> = response
        .errors
        .iter()
        .map(|error| (public_error(error), error_location(error)))
        .collect();
    let errors_json: Vec<Value> = errors
        .iter()
        .map(|(public, location)| error_json(public, Some(location)))
        .collect();

    if !executed {
        // The document never ran: a request error (syntax, validation, limits).
        let status = match media {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        };
        return respond(media, status, json!({ "errors": errors_json }), None);
    }

    let data_is_null = response.data == async_graphql::Value::Null;
    let first = errors.first().map(|(public, _)| public);
    let status = match (media, data_is_null, first) {
        // Nothing ran because the server could not serve it now: say so at the transport level
        // whatever the media type, so clients and proxies back off.
        (_, true, Some(public)) if is_transient(public.code) => status_of(public.code),
        (MediaType::GraphqlResponseJson, true, Some(public)) => status_for(media, public.code),
        _ => StatusCode::OK,
    };
    let wait = errors
        .iter()
        .filter_map(|(public, _)| public.retry_after_seconds)
        .max();
    // The engine's data is written straight into the body, in the order the document selected
    // its fields, without an intermediate JSON tree.
    let body = ExecutedBody {
        data: &response.data,
        errors: &errors_json,
    };
    let codes = errors
        .iter()
        .map(|(public, _)| public.code.as_str())
        .collect();
    let mut http_response = respond_with(
        media,
        status,
        serde_json::to_string(&body).unwrap_or_else(|error| {
            tracing::error!(%error, "could not serialize a response");
            json!({ "errors": [error_json(&PublicError::from(&AppError::internal("could not serialize the response")), None)] }).to_string()
        }),
        codes,
        wait,
    );
    if let Some(answered_by) = answered_by.and_then(|name| HeaderValue::from_str(&name).ok()) {
        http_response
            .headers_mut()
            .insert(header::HeaderName::from_static("x-database"), answered_by);
    }
    let max_age = state.config.persisted_documents.get_max_age.as_secs();
    if method == Method::GET && document.by_hash_alone && errors.is_empty() && max_age > 0 {
        // The URL names the document and its variables; the answer also depends on who asks
        // and in which media type, and only the caller's own browser may keep it.
        let headers = http_response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("private, max-age={max_age}"))
                .unwrap_or(HeaderValue::from_static("no-store")),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Authorization, Accept"),
        );
    }
    http_response
}

/// Without `operationName` the document's only operation runs: its name, if it has one.
fn only_operation_name(
    document: &async_graphql::parser::types::ExecutableDocument,
) -> Option<String> {
    match &document.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        _ => None,
    }
}

/// Notes the operation of a request refused by authentication, before its document was
/// parsed: the text is parsed here only when the request did not name the operation itself.
fn note_refused_operation(request: &HttpRequest, params: &GraphqlParams) {
    if params.operation_name.is_some() {
        return;
    }
    let name = params
        .query
        .as_deref()
        .and_then(|text| parse_query(text).ok())
        .and_then(|document| only_operation_name(&document));
    crate::telemetry::metrics::note_operation(request, name);
}

/// The public form of an error the engine reported: an [`AppError`] a resolver returned keeps
/// its code; an error without a source is the engine's own report about the request (syntax,
/// validation, argument coercion) and is the caller's to fix; anything else is masked.
pub fn public_error(error: &async_graphql::ServerError) -> PublicError {
    if let Some(app_error) = error.source::<AppError>() {
        return PublicError::from(app_error);
    }
    if error.source.is_none() {
        return PublicError::bad_request(error.message.clone());
    }
    PublicError::from(&AppError::internal(format!(
        "request failed with an unclassified error: {}",
        error.message
    )))
}

/// Codes that mean "not now" rather than "not this".
fn is_transient(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::RateLimited | ErrorCode::Unavailable)
}

/// A request refused before execution: by authentication (bad or over-budget session, database
/// down) or by admission (over its cost or field limits).
fn refused(media: MediaType, error: &AppError) -> HttpResponse {
    let public = PublicError::from(error);
    let status = if is_transient(public.code) {
        status_of(public.code)
    } else {
        status_for(media, public.code)
    };
    respond(
        media,
        status,
        json!({ "errors": [error_json(&public, None)] }),
        public.retry_after_seconds,
    )
}

/// The HTTP status for a response whose `data` is null because of an error with `code`.
fn status_for(media: MediaType, code: ErrorCode) -> StatusCode {
    if media == MediaType::Json {
        return StatusCode::OK;
    }
    status_of(code)
}

fn error_location(error: &async_graphql::ServerError) -> Value {
    let mut location = Map::new();
    if !error.locations.is_empty() {
        location.insert(
            "locations".into(),
            Value::Array(
                error
                    .locations
                    .iter()
                    .map(|pos| json!({ "line": pos.line, "column": pos.column }))
                    .collect(),
            ),
        );
    }
    if !error.path.is_empty() {
        location.insert(
            "path".into(),
            serde_json::to_value(&error.path).unwrap_or(Value::Null),
        );
    }
    Value::Object(location)
}

fn respond(
    media: MediaType,
    status: StatusCode,
    body: Value,
    retry_after_seconds: Option<u64>,
) -> HttpResponse {
    // The `outcome` of `/metrics`: a GraphQL answer is often 200 with errors.
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    respond_with(media, status, body.to_string(), codes, retry_after_seconds)
}

/// A response with a serialized `body` whose errors carry `codes`.
fn respond_with(
    media: MediaType,
    status: StatusCode,
    body: String,
    codes: Vec<&str>,
    retry_after_seconds: Option<u64>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(media.content_type())
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    if let Some(seconds) = retry_after_seconds {
        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    let mut response = response.body(body);
    crate::telemetry::metrics::note_error_codes(&mut response, codes);
    response
}

/// The body of an executed request: `data`, and `errors` when there are any.
#[derive(serde::Serialize)]
struct ExecutedBody<'a> {
    data: &'a async_graphql::Value,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    errors: &'a [Value],
}

/// A failure before execution, reported as a GraphQL error list.
fn request_error(media: MediaType, status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let public = PublicError::bad_request(message);
    respond(
        media,
        status,
        json!({ "errors": [error_json(&public, None)] }),
        None,
    )
}

/// Chooses the response media type from `Accept`; `None` when none of ours is acceptable.
fn negotiate(request: &HttpRequest) -> Option<MediaType> {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .trim();
    if accept.is_empty() {
        return Some(MediaType::Json);
    }
    let mut best: Option<(f32, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| {
                let (name, value) = parameter.split_once('=')?;
                (name.trim().eq_ignore_ascii_case("q")).then(|| value.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        let candidate = match essence.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if quality <= 0.0 {
            continue;
        }
        // On equal preference the specification's own type wins.
        let better = match best {
            None => true,
            Some((best_quality, best_media)) => {
                quality > best_quality
                    || (quality == best_quality
                        && candidate == MediaType::GraphqlResponseJson
                        && best_media != MediaType::GraphqlResponseJson)
            }
        };
        if better {
            best = Some((quality, candidate));
        }
    }
    best.map(|(_, media)| media)
}

/// `406`: the client accepts none of the media types we answer in.
fn not_acceptable() -> HttpResponse {
    let public = PublicError::bad_request(format!(
        "cannot answer with any type in Accept; use {GRAPHQL_RESPONSE_JSON} or application/json"
    ));
    HttpResponse::NotAcceptable()
        .content_type(MediaType::Json.content_type())
        .body(json!({ "errors": [error_json(&public, None)] }).to_string())
}

fn wants_html(request: &HttpRequest) -> bool {
    request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

fn check_content_type(request: &HttpRequest) -> Result<(), String> {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return Err("Content-Type is required; send application/json".into());
    };
    let value = value.to_str().unwrap_or("").to_ascii_lowercase();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if essence != "application/json" {
        return Err(format!(
            "Content-Type `{essence}` is not supported; send application/json"
        ));
    }
    for parameter in parts {
        if let Some((name, charset)) = parameter.split_once('=') {
            let charset = charset.trim().trim_matches('"');
            if name.trim() == "charset" && charset != "utf-8" && charset != "utf8" {
                return Err(format!("charset `{charset}` is not supported; send utf-8"));
            }
        }
    }
    Ok(())
}

async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn params_from_body(body: &[u8]) -> Result<GraphqlParams, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the request body is empty; send {\"query\": \"...\"}".into());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| "the request body is not valid JSON".to_owned())?;
    match value {
        Value::Object(map) => params_from_map(map),
        Value::Array(_) => {
            Err("batched requests are not supported; send one operation per request".into())
        }
        _ => Err("the request body must be a JSON object".into()),
    }
}

fn params_from_map(mut map: Map<String, Value>) -> Result<GraphqlParams, String> {
    let query = match map.remove("query") {
        Some(Value::String(query)) => Some(query),
        None | Some(Value::Null) => None,
        Some(_) => return Err("`query` must be a string".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(variables)) => Some(variables),
        Some(_) => return Err("`variables` must be an object or null".into()),
    };
    let persisted_hash = match map.remove("extensions") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut extensions)) => {
            persisted_query(extensions.remove("persistedQuery"))?
        }
        Some(_) => return Err("`extensions` must be an object or null".into()),
    };
    if query.is_none() && persisted_hash.is_none() {
        return Err("`query` is required".into());
    }
    Ok(GraphqlParams {
        query,
        operation_name,
        variables,
        persisted_hash,
    })
}

/// `extensions.persistedQuery` (Apollo's automatic persisted queries, version 1): the hash.
fn persisted_query(value: Option<Value>) -> Result<Option<DocumentHash>, String> {
    let mut persisted = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(persisted)) => persisted,
        Some(_) => return Err("`extensions.persistedQuery` must be an object".into()),
    };
    if persisted.remove("version") != Some(Value::from(1)) {
        return Err("`extensions.persistedQuery.version` must be 1".into());
    }
    let Some(Value::String(hash)) = persisted.remove("sha256Hash") else {
        return Err(format!("`{HASH_FIELD}` is required and must be a string"));
    };
    DocumentHash::parse(HASH_FIELD, &hash)
        .map(Some)
        .map_err(|error| format!("`{HASH_FIELD}` {}", error.public_message()))
}

fn params_from_url(pairs: Vec<(String, String)>) -> Result<GraphqlParams, String> {
    let mut map = Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|_| format!("`{key}` must be URL-encoded JSON"))?,
            _ => Value::String(value),
        };
        map.insert(key, value);
    }
    params_from_map(map)
}

/// True when the operation `query` selects (by `operation_name`, or its only one) is a
/// mutation (or subscription).
fn selects_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(document) = parse_query(query) else {
        // Let execution report the syntax error.
        return false;
    };
    let operation_type = match (operation_name, document.operations.iter().count()) {
        (Some(name), _) => document
            .operations
            .iter()
            .find(|(operation_name, _)| operation_name.map(|n| n.as_str()) == Some(name))
            .map(|(_, operation)| operation.node.ty),
        (None, 1) => document
            .operations
            .iter()
            .next()
            .map(|(_, operation)| operation.node.ty),
        (None, _) => None,
    };
    matches!(
        operation_type,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn media_for(accept: Option<&str>) -> Option<MediaType> {
        let mut request = TestRequest::default();
        if let Some(accept) = accept {
            request = request.insert_header((header::ACCEPT, accept));
        }
        negotiate(&request.to_http_request())
    }

    #[test]
    fn negotiates_media_types() {
        assert_eq!(media_for(None), Some(MediaType::Json));
        assert_eq!(media_for(Some("*/*")), Some(MediaType::Json));
        assert_eq!(
            media_for(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(
            media_for(Some(
                "application/json, application/graphql-response+json;q=0.5"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(media_for(Some("text/html")), None);
    }

    #[test]
    fn finds_mutations_by_operation_name() {
        assert!(selects_mutation("mutation { logout }", None));
        assert!(!selects_mutation("{ me { id } }", None));
        let both = "query A { me { id } } mutation B { logout }";
        assert!(selects_mutation(both, Some("B")));
        assert!(!selects_mutation(both, Some("A")));
    }

    #[test]
    fn validates_body_parameters() {
        assert!(params_from_body(b"[]").is_err());
        assert!(params_from_body(b"{\"query\": 1}").is_err());
        assert!(params_from_body(b"{\"query\": \"{a}\", \"variables\": \"x\"}").is_err());
        assert!(params_from_body(b"{\"query\": \"{a}\", \"extensions\": {}}").is_ok());
        assert!(params_from_body(b"not json").is_err());
    }

    #[test]
    fn reads_persisted_query_extensions() {
        let hash = "a".repeat(64);
        let hash_only = format!(
            r#"{{"extensions": {{"persistedQuery": {{"version": 1, "sha256Hash": "{hash}"}}}}}}"#
        );
        let params = params_from_body(hash_only.as_bytes()).unwrap();
        assert_eq!(params.query, None);
        assert_eq!(params.persisted_hash.unwrap().as_str(), hash);
        // Other extensions (Apollo Client's `clientLibrary`) are ignored.
        assert!(
            params_from_body(br#"{"query": "{a}", "extensions": {"clientLibrary": {}}}"#)
                .unwrap()
                .persisted_hash
                .is_none()
        );
        for bad in [
            r#"{"extensions": {}}"#.to_owned(),
            r#"{"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "00"}}}"#.into(),
            r#"{"extensions": {"persistedQuery": {"version": 1}}}"#.into(),
            r#"{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}}}"#.into(),
            r#"{"extensions": {"persistedQuery": "abc"}}"#.into(),
        ] {
            assert!(params_from_body(bad.as_bytes()).is_err(), "{bad}");
        }
        // GET: `extensions` is URL-encoded JSON.
        let params = params_from_url(vec![(
            "extensions".into(),
            format!(r#"{{"persistedQuery":{{"version":1,"sha256Hash":"{hash}"}}}}"#),
        )])
        .unwrap();
        assert!(params.persisted_hash.is_some());
    }
}
