//! `POST /import/{kind}`: streams a CSV (`text/csv`) or NDJSON (`application/x-ndjson`) body
//! into the bulk importer and answers with its report. Bearer token required: `ingest` or
//! `admin` for interactions and surveys, `admin` for org units, topics and users.
//!
//! `POST /import/survey-invitations?links=true[&linkDays=14]` also issues a one-time survey
//! link to every invitation the import creates (valid `linkDays`, 1–90, from now) and lists
//! them in the report's `links`: the only time they are shown (see `crate::import`).

use actix_web::{http::header, web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use crate::{
    audit::Actor,
    auth::authenticate,
    error::{AppError, ErrorCode, PublicError},
    http::AppState,
    import::{self, Format, ImportContext, ImportKind, InvitationLinks},
    records::surveys::{LinkIssuing, DEFAULT_LINK_DAYS},
};

/// Chunks buffered between the upload and the importer (backpressure beyond that).
const CHANNEL_CHUNKS: usize = 8;

/// `POST /import/{kind}`.
pub async fn post(
    request: HttpRequest,
    kind: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let kind: ImportKind = match kind.parse() {
        Ok(kind) => kind,
        Err(error) => return error_response(&error),
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("invalid"));
    let request_id = request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let principal = match authenticate(
        &state.database,
        state.auth.keys(),
        authorization,
        request_id.clone(),
    )
    .await
    {
        Ok(scope) => match scope.authorize(kind.required_action()) {
            Ok(principal) => principal.clone(),
            Err(error) => return error_response(&error),
        },
        Err(error) => return error_response(&error),
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let Some(format) = Format::from_content_type(content_type) else {
        let mut response = error_response(&AppError::bad_input(
            "Content-Type",
            "send text/csv or application/x-ndjson",
        ));
        *response.status_mut() = actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return response;
    };
    let invitation_links = match requested_links(&request, kind, &state) {
        Ok(links) => links,
        Err(error) => return error_response(&error),
    };
    let context = ImportContext {
        actor: Actor::user(principal.user_id, principal.role),
        request_id,
        batch_size: state.config.import_batch_size,
        invitation_links,
    };

    // The importer reads on a blocking thread while this task feeds it the upload.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, ()>>(CHANNEL_CHUNKS);
    let database = state.database.clone();
    let workers = state.config.import_workers;
    let importer = tokio::spawn(async move {
        database
            .run_with_pool(move |database| {
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
    while let Some(chunk) = payload.next().await {
        let item = chunk.map_err(|_| ());
        let failed = item.is_err();
        if sender.send(item).await.is_err() || failed {
            break; // The importer stopped early (its error is reported below) or the upload broke.
        }
    }
    drop(sender);
    match importer.await {
        Ok(Ok(report)) => HttpResponse::Ok().json(report),
        Ok(Err(error)) => error_response(&error),
        Err(join_error) => error_response(&AppError::from(join_error)),
    }
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
                format!("`{other}` is not true or false"),
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
            AppError::bad_input("linkDays", format!("`{raw}` is not a whole number"))
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

/// An error as a JSON body with the DESIGN §5 code and the matching HTTP status.
pub(crate) fn error_response(error: &AppError) -> HttpResponse {
    let public = PublicError::from(error);
    let mut builder = match public.code {
        ErrorCode::Unauthenticated => HttpResponse::Unauthorized(),
        ErrorCode::Forbidden => HttpResponse::Forbidden(),
        ErrorCode::NotFound => HttpResponse::NotFound(),
        ErrorCode::BadUserInput => HttpResponse::BadRequest(),
        ErrorCode::Conflict => HttpResponse::Conflict(),
        ErrorCode::RateLimited => HttpResponse::TooManyRequests(),
        ErrorCode::Internal => HttpResponse::InternalServerError(),
    };
    let mut extensions = json!({ "code": public.code.as_str() });
    if let Some(field) = &public.field {
        extensions["field"] = json!(field);
    }
    builder.json(json!({ "errors": [{ "message": public.message, "extensions": extensions }] }))
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
