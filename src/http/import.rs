//! `POST /import/{kind}`: streams a CSV (`text/csv`) or NDJSON (`application/x-ndjson`) body
//! into the bulk importer and answers with its report. Bearer token required: `ingest` or
//! `admin` for interactions and surveys, `admin` for org units, topics and users.
//!
//! Limits (see `config`): the body may hold at most `IMPORT_MAX_BODY_BYTES` (a declared larger
//! body is refused with 413 before anything is read or written; a chunked upload that grows
//! past it stops there and the 413 carries the report of the complete lines imported before
//! it), lines at most `IMPORT_MAX_LINE_BYTES` (a longer one is a rejected row), and at most
//! `IMPORT_MAX_CONCURRENT` imports run at once on the import workload's own connections — a
//! further one waits briefly, then gets `RATE_LIMITED`.
//!
//! `POST /import/survey-invitations?links=true[&linkDays=14]` also issues a one-time survey
//! link to every invitation the import creates (valid `linkDays`, 1–90, from now) and lists
//! them in the report's `links`: the only time they are shown (see `crate::import`).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use crate::{
    audit::Actor,
    db::Workload,
    error::{AppError, AppResult},
    http::{errors::error_response, AppState},
    import::{self, Format, ImportContext, ImportKind, InvitationLinks},
    records::surveys::{LinkIssuing, DEFAULT_LINK_DAYS},
};

/// Chunks buffered between the upload and the importer (backpressure beyond that).
const CHANNEL_CHUNKS: usize = 8;

/// `POST /import/{kind}`.
pub async fn post(
    request: HttpRequest,
    kind: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match import(&request, &kind, payload, &state).await {
        Ok(response) => response,
        Err(error) => error_response(&error),
    }
}

async fn import(
    request: &HttpRequest,
    kind: &str,
    mut payload: web::Payload,
    state: &AppState,
) -> AppResult<HttpResponse> {
    let kind: ImportKind = kind.parse()?;
    let scope = super::request_scope(request, state).await?;
    let principal = scope.authorize(kind.required_action())?.clone();
    let writer = principal.user_id;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let Some(format) = Format::from_content_type(content_type) else {
        return Ok(with_status(
            error_response(&AppError::bad_input(
                "Content-Type",
                "send text/csv or application/x-ndjson",
            )),
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ));
    };
    let limits = &state.config.imports;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes) {
        return Ok(too_large(limits.max_body_bytes, None));
    }
    let invitation_links = requested_links(request, kind, state)?;
    let context = ImportContext {
        actor: Actor::user(principal.user_id, principal.role),
        request_id: super::request_id(request),
        batch_size: state.config.import_batch_size,
        max_line_bytes: limits.max_line_bytes,
        invitation_links,
    };

    // The importer reads on a blocking thread while this task feeds it the upload. It holds its
    // connections of the import workload for the whole import, so concurrent imports are
    // bounded by that workload's size, and the API's own connections are never touched.
    let connections = if kind.is_parallel() {
        state.config.import_workers as u32
    } else {
        1
    };
    let database = state.database.for_workload(Workload::Import);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, ()>>(CHANNEL_CHUNKS);
    let workers = state.config.import_workers;
    let importer = tokio::spawn(async move {
        database
            .run_job(connections, move |database| {
                import::run_parallel(
                    database,
                    workers,
                    kind,
                    format,
                    ChannelReader::new(receiver),
                    &context,
                )
            })
            .await
    });
    let mut received: u64 = 0;
    let mut over_limit = false;
    while let Some(chunk) = payload.next().await {
        let item = chunk.map_err(|_| ());
        let mut failed = item.is_err();
        let item = match item {
            Ok(mut bytes) => {
                let room = limits.max_body_bytes.saturating_sub(received);
                if bytes.len() as u64 > room {
                    // Hand on only the complete lines that fit; what follows is not read.
                    bytes.truncate(room as usize);
                    let last_newline = bytes.iter().rposition(|byte| *byte == b'\n');
                    bytes.truncate(last_newline.map_or(0, |end| end + 1));
                    over_limit = true;
                }
                received += bytes.len() as u64;
                Ok(bytes)
            }
            Err(()) => Err(()),
        };
        failed |= over_limit;
        if sender.send(item).await.is_err() || failed {
            break; // The importer stopped early (its error is reported below) or the upload broke.
        }
    }
    drop(sender);
    let report = importer.await??;
    // The importer's next reads must see what it just wrote, whichever server they reach.
    state.database.note_write(writer).await;
    if over_limit {
        return Ok(too_large(limits.max_body_bytes, Some(report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// `413`: the body is over the limit; with the report of what was imported before the limit.
fn too_large(limit: u64, report: Option<import::ImportReport>) -> HttpResponse {
    let message = match report {
        None => format!(
            "the upload is larger than {limit} bytes (IMPORT_MAX_BODY_BYTES); split the file; nothing was imported"
        ),
        Some(_) => format!(
            "the upload grew past {limit} bytes (IMPORT_MAX_BODY_BYTES) and was read no further; the complete lines before that point were imported as the report shows; send the rest as another file"
        ),
    };
    let mut body = json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }]
    });
    if let Some(report) = report {
        body["report"] = serde_json::to_value(report).unwrap_or_default();
    }
    HttpResponse::PayloadTooLarge()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn with_status(mut response: HttpResponse, status: actix_web::http::StatusCode) -> HttpResponse {
    *response.status_mut() = status;
    response
}

/// `?links=true&linkDays=N`: the links to issue, checked before anything is read.
fn requested_links(
    request: &HttpRequest,
    kind: ImportKind,
    state: &AppState,
) -> Result<Option<InvitationLinks>, AppError> {
    let parameters =
        web::Query::<std::collections::HashMap<String, String>>::from_query(request.query_string())
            .map_err(|_| AppError::invalid("the query string cannot be read"))?;
    let wanted = match parameters.get("links").map(|value| value.trim()) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(AppError::bad_input(
                "links",
                format!(
                    "`{}` is not true or false",
                    crate::domain::text::quote(other)
                ),
            ))
        }
    };
    if !wanted {
        if parameters.contains_key("linkDays") {
            return Err(AppError::bad_input("linkDays", "only with links=true"));
        }
        return Ok(None);
    }
    let expires_in_days = match parameters.get("linkDays") {
        None => DEFAULT_LINK_DAYS,
        Some(raw) => raw.trim().parse().map_err(|_| {
            AppError::bad_input(
                "linkDays",
                format!(
                    "`{}` is not a whole number",
                    crate::domain::text::quote(raw)
                ),
            )
        })?,
    };
    InvitationLinks::new(
        kind,
        LinkIssuing {
            links: state.services.survey_links.clone(),
            expires_in_days,
        },
    )
    .map(Some)
}

/// A blocking `Read` over chunks arriving through a channel from the async upload.
struct ChannelReader {
    receiver: tokio::sync::mpsc::Receiver<Result<web::Bytes, ()>>,
    current: web::Bytes,
}

impl ChannelReader {
    fn new(receiver: tokio::sync::mpsc::Receiver<Result<web::Bytes, ()>>) -> Self {
        Self {
            receiver,
            current: web::Bytes::new(),
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(())) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the upload was interrupted",
                    ))
                }
            }
        }
        let length = buffer.len().min(self.current.len());
        buffer[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}
