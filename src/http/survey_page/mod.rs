//! The hosted survey page: where a customer's one-time link (`PUBLIC_BASE_URL/s/{token}`)
//! leads.
//!
//! - `GET /s/{token}` shows the survey (English or Spanish: `?lang=en|es`, else the browser's
//!   `Accept-Language`; a switch on every page), naming the contact it is about by channel and
//!   local date in the reporting time zone, never by anything personal.
//! - `POST /s/{token}` (`application/x-www-form-urlencoded`) submits it through
//!   [`surveys::submit_with_token`], the very function behind `submitSurveyResponse`: the same
//!   one-time claim, expiry, per-address rate limit and answer rules. Success redirects (303)
//!   to `GET /s/thank-you`, so reloading cannot resubmit; answers that break a rule bring the
//!   form back (422) with the answers kept and an error summary linked to the fields; too many
//!   submissions from the address bring it back with 429 and `Retry-After`.
//! - An unknown, used or expired token gets one and the same page (404), so the page tells
//!   nobody which it was.
//! - `GET /s/assets/survey.css` and `survey.js`: the page's only assets. The script only adds
//!   a live character count to the comment box; the page works fully without it.
//!
//! No CSRF token: the form acts on nothing but the one-time token in its own URL. Every page
//! sends a strict Content-Security-Policy (this server's stylesheet and script only, forms post
//! only here, no framing), `Referrer-Policy: no-referrer` (the token is in the URL) and
//! `Cache-Control: no-store`.

pub mod render;
pub mod text;

use actix_web::{
    http::{
        header::{self, HeaderName, HeaderValue},
        StatusCode,
    },
    web, HttpRequest, HttpResponse, HttpResponseBuilder,
};

use crate::{
    domain::{Answers, LikertItem, RawAnswers},
    error::AppError,
    http::AppState,
    records::surveys,
};

use render::{FormValues, PageError};
use text::{Language, Text};

/// Largest form accepted: a 4,000-character comment of four-byte characters, percent-encoded,
/// and the rest of the answers.
const FORM_LIMIT: usize = 64 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Registers the survey routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/s/assets/survey.css", web::get().to(stylesheet))
        .route("/s/assets/survey.js", web::get().to(script))
        .route("/s/thank-you", web::get().to(thank_you))
        .service(
            web::resource("/s/{token}")
                .app_data(web::FormConfig::default().limit(FORM_LIMIT))
                .route(web::get().to(show))
                .route(web::post().to(submit)),
        );
}

/// `GET /s/{token}`.
async fn show(
    request: HttpRequest,
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let language = language_of(&request);
    form_or_invalid(
        &state,
        language,
        &token,
        StatusCode::OK,
        &FormValues::default(),
        &[],
    )
    .await
}

/// `POST /s/{token}`.
async fn submit(
    request: HttpRequest,
    token: web::Path<String>,
    form: Result<web::Form<Vec<(String, String)>>, actix_web::Error>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let language = language_of(&request);
    let text = language.text();
    let Ok(form) = form else {
        let error = PageError {
            field: None,
            message: text.error_unreadable_form.to_owned(),
        };
        return form_or_invalid(
            &state,
            language,
            &token,
            StatusCode::BAD_REQUEST,
            &FormValues::default(),
            &[error],
        )
        .await;
    };
    let (values, raw, unreadable) = read_form(&form, text);
    if !unreadable.is_empty() {
        return form_or_invalid(
            &state,
            language,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            &values,
            &unreadable,
        )
        .await;
    }
    // The domain's rules, every problem in the page's words.
    let answers = match Answers::parse_all(raw) {
        Ok(answers) => answers,
        Err(problems) => {
            return form_or_invalid(
                &state,
                language,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &page_errors(text, &problems),
            )
            .await
        }
    };
    // The TCP peer, or what a configured trusted proxy forwarded: the same client the API's
    // `submitSurveyResponse` counts.
    let client = crate::http::client::client_address(&request, &state.config.trusted_proxies);
    let request_id = crate::http::request_id(&request);
    let submitted = surveys::submit_with_token(
        &state.database,
        &state.services.survey_limit,
        &client,
        &token,
        answers,
        request_id,
    )
    .await;
    match submitted {
        Ok(_) => {
            let mut response = HttpResponse::SeeOther();
            page_headers(&mut response, language);
            response
                .insert_header((
                    header::LOCATION,
                    format!("/s/thank-you?lang={}", language.tag()),
                ))
                .finish()
        }
        Err(problem @ AppError::BadUserInput { .. }) => {
            let errors = page_errors(text, &[problem]);
            form_or_invalid(
                &state,
                language,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &errors,
            )
            .await
        }
        Err(ref refusal @ AppError::RateLimited { .. }) => {
            let wait = crate::error::PublicError::from(refusal)
                .retry_after_seconds
                .unwrap_or(60);
            let error = PageError {
                field: None,
                message: text.error_rate_limited.to_owned(),
            };
            let mut response = form_or_invalid(
                &state,
                language,
                &token,
                StatusCode::TOO_MANY_REQUESTS,
                &values,
                &[error],
            )
            .await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            response
        }
        Err(AppError::NotFound(_)) => invalid(language),
        Err(error) => failure(language, &error),
    }
}

/// `GET /s/thank-you`.
async fn thank_you(request: HttpRequest) -> HttpResponse {
    let language = language_of(&request);
    html(StatusCode::OK, language, render::thank_you(language))
}

/// `GET /s/assets/survey.css`.
async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", include_str!("survey.css"))
}

/// `GET /s/assets/survey.js`.
async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", include_str!("survey.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// The form for `token` with `values` and `errors`, answered with `status`; the invalid-link
/// page when the token does not open an invitation (any more).
async fn form_or_invalid(
    state: &AppState,
    language: Language,
    token: &str,
    status: StatusCode,
    values: &FormValues,
    errors: &[PageError],
) -> HttpResponse {
    match surveys::open_invitation(&state.database, token).await {
        Ok(Some(invitation)) => html(
            status,
            language,
            render::survey_form(
                language,
                token,
                &invitation,
                state.config.reporting.time_zone,
                values,
                errors,
            ),
        ),
        Ok(None) => invalid(language),
        Err(error) => failure(language, &error),
    }
}

fn invalid(language: Language) -> HttpResponse {
    html(
        StatusCode::NOT_FOUND,
        language,
        render::invalid_link(language),
    )
}

fn failure(language: Language, error: &AppError) -> HttpResponse {
    tracing::error!(error = %error.chain(), "the survey page could not be served");
    let public = crate::error::PublicError::from(error);
    let status = match public.code {
        crate::error::ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        crate::error::ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = html(status, language, render::failure(language));
    if let Some(seconds) = public.retry_after_seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn html(status: StatusCode, language: Language, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    page_headers(&mut response, language);
    response
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body)
}

/// The headers of every survey page and redirect (see the module header).
fn page_headers(response: &mut HttpResponseBuilder, language: Language) {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_LANGUAGE, language.tag()))
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ));
}

/// `?lang=` first, then `Accept-Language`.
fn language_of(request: &HttpRequest) -> Language {
    let explicit = request
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="));
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    Language::choose(explicit, accept)
}

/// The answers of a posted form, the values to show again, and the fields whose value no form
/// of ours sends (garbage is refused here; every real rule is the domain's).
fn read_form(pairs: &[(String, String)], text: &Text) -> (FormValues, RawAnswers, Vec<PageError>) {
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    };
    let mut values = FormValues::default();
    let mut answers = RawAnswers::default();
    let mut unreadable = Vec::new();
    for (index, statement) in text.statements.iter().enumerate() {
        let Some(raw) = first(statement.field) else {
            continue;
        };
        values
            .likert
            .push((statement.field.to_owned(), raw.to_owned()));
        match (raw.parse::<i64>(), LikertItem::from_name(statement.field)) {
            (Ok(value), Some(item)) => answers.set(item, Some(value)),
            _ => unreadable.push(PageError {
                field: Some(statement.field.to_owned()),
                message: text.error_likert.replace("{n}", &(index + 1).to_string()),
            }),
        }
    }
    values.resolved = first("resolved").map(str::to_owned);
    answers.resolved = match values.resolved.as_deref() {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(_) => {
            unreadable.push(PageError {
                field: Some("resolved".into()),
                message: text
                    .error_resolved
                    .replace("{n}", &(text.statements.len() + 1).to_string()),
            });
            None
        }
    };
    // The comment is kept as typed (only blank is no comment), so it comes back unchanged.
    values.comment = pairs
        .iter()
        .find(|(key, _)| key == "comment")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    answers.comment = Some(values.comment.clone());
    (values, answers, unreadable)
}

/// The domain's problems with the answers in the page's words, one message per problem.
fn page_errors(text: &Text, problems: &[AppError]) -> Vec<PageError> {
    problems
        .iter()
        .map(|problem| {
            let field = match problem {
                AppError::BadUserInput { field, .. } => field.clone(),
                _ => None,
            };
            let message = match field.as_deref() {
                None => text.error_nothing_answered.to_owned(),
                Some("comment") => text.error_comment_too_long.to_owned(),
                Some(likert) => {
                    let number = text
                        .statements
                        .iter()
                        .position(|statement| statement.field == likert)
                        .map(|index| index + 1)
                        .unwrap_or(1);
                    text.error_likert.replace("{n}", &number.to_string())
                }
            };
            PageError { field, message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn forms_become_answers_and_garbage_is_named() {
        let text = Language::English.text();
        let (values, answers, unreadable) = read_form(
            &pairs(&[
                ("satisfaction", "5"),
                ("ease", "2"),
                ("resolved", "no"),
                ("comment", "  Thanks  "),
            ]),
            text,
        );
        assert!(unreadable.is_empty());
        assert_eq!(answers.likert[LikertItem::Satisfaction.index()], Some(5));
        assert_eq!(answers.likert[LikertItem::Ease.index()], Some(2));
        assert_eq!(answers.resolved, Some(false));
        assert_eq!(answers.comment.as_deref(), Some("  Thanks  "));
        assert_eq!(values.comment, "  Thanks  ");

        let (_, _, unreadable) =
            read_form(&pairs(&[("trust", "lots"), ("resolved", "maybe")]), text);
        assert_eq!(
            unreadable,
            vec![
                PageError {
                    field: Some("trust".into()),
                    message: "Question 2: choose one of the five answers.".into()
                },
                PageError {
                    field: Some("resolved".into()),
                    message: "Question 8: choose Yes or No.".into()
                },
            ]
        );
    }

    #[test]
    fn every_domain_problem_gets_a_localised_message() {
        let text = Language::Spanish.text();
        let nothing = page_errors(
            text,
            &Answers::parse_all(RawAnswers::default()).unwrap_err(),
        );
        assert_eq!(
            nothing,
            vec![PageError {
                field: None,
                message: "Responda al menos una pregunta antes de enviar.".into()
            }]
        );
        let mut raw = RawAnswers {
            comment: Some("x".repeat(4001)),
            ..RawAnswers::default()
        };
        raw.set(LikertItem::Efficiency, Some(9));
        let problems = Answers::parse_all(raw).unwrap_err();
        let messages: Vec<String> = page_errors(text, &problems)
            .into_iter()
            .map(|error| error.message)
            .collect();
        assert_eq!(
            messages,
            vec![
                "Pregunta 5: elija una de las cinco respuestas.".to_owned(),
                "Su comentario tiene más de 4000 caracteres: acórtelo, por favor.".to_owned(),
            ]
        );
    }
}
