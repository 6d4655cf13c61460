//! The web front for people (oversight staff): server-rendered pages that work without
//! JavaScript, on a cookie session.
//!
//! | route | |
//! |---|---|
//! | `GET /web/sign-in` | the sign-in form (email and password) |
//! | `POST /web/sign-in` | checks the password through `AuthService::login`, sets the session cookie, goes to `next` or the index |
//! | `GET /web/sign-in/provider`, `GET /web/sign-in/callback` | signing in with the identity provider instead (`OIDC_CLIENT_ID`; `provider.rs`) |
//! | `GET /web/` | the fiscal quarters with data, each with its printable report and CSV |
//! | `POST /web/sign-out` | ends the session (like the `logout` mutation) and clears the cookie |
//! | `GET /reports/oversight`, `GET /export/oversight-report.csv` | also accept the cookie (`http/reports.rs`) |
//!
//! **The session cookie** holds an opaque random value whose SHA-256 names a `browser` session
//! (`auth/browser_session.rs`); every request checks it through the scope module
//! ([`authenticate_session_cookie`]), so sign-out, deactivation, a role change and expiry take
//! effect on the next request. It is `HttpOnly`, `SameSite=Strict`, `Path=/`, lives
//! `WEB_SESSION_TTL_SECONDS`, and is `Secure` — and named with the `__Host-` prefix, which
//! browsers only accept from a secure origin for the whole host — when the request came over TLS
//! or `WEB_COOKIE_SECURE=always`. Only the two report endpoints and these pages read it: the API
//! (`/graphql`, imports, exports) authenticates by bearer header alone, so a cookie can never
//! make a cross-site request act there.
//!
//! **Forms are CSRF-safe**: the sign-in form is a double submit (a random value both in a
//! `SameSite=Strict` cookie and in the form) plus an origin check (`Origin` and
//! `Sec-Fetch-Site`, when the browser sends them, must be this server); the sign-out form carries
//! a synchronizer token derived from the session cookie.

pub mod pages;
pub mod provider;
pub mod quarters;

use actix_web::{
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    web, HttpMessage, HttpRequest, HttpResponse,
};
use diesel::prelude::*;
use serde::Deserialize;

use crate::{
    auth::{
        authenticate_session_cookie,
        browser_session::{self, form_token, form_token_matches},
        Action, Principal, Scope,
    },
    config::CookieSecurity,
    db::schema::users,
    error::AppError,
    http::{security_headers::came_over_tls, AppState},
};

use pages::{Account, SignInForm};

/// Registers the web front's routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/web", web::get().to(redirect_to_index))
        .route("/web/", web::get().to(index))
        .route("/web/sign-in", web::get().to(sign_in_form))
        .route("/web/sign-in", web::post().to(sign_in))
        .route("/web/sign-in/provider", web::get().to(provider::start))
        .route("/web/sign-in/callback", web::get().to(provider::callback))
        .route("/web/sign-out", web::post().to(sign_out));
}

/// The cookie names for a request: `__Host-` prefixed when the cookie is `Secure`.
struct CookieNames {
    session: &'static str,
    sign_in: &'static str,
    secure: bool,
}

fn cookie_names(request: &HttpRequest, state: &AppState) -> CookieNames {
    let secure = match state.config.web.cookie_security {
        CookieSecurity::Always => true,
        CookieSecurity::Auto => came_over_tls(request),
    };
    if secure {
        CookieNames {
            session: "__Host-bac_session",
            sign_in: "__Host-bac_sign_in",
            secure,
        }
    } else {
        CookieNames {
            session: "bac_session",
            sign_in: "bac_sign_in",
            secure,
        }
    }
}

/// The value of cookie `name`, if the request carries it.
fn read_cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, the whole host, `max_age` seconds (0 clears).
fn cookie(names: &CookieNames, name: &str, value: &str, max_age: u64) -> String {
    let secure = if names.secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// Lifetime of the sign-in form's double-submit cookie.
const SIGN_IN_COOKIE_SECONDS: u64 = 3600;

/// How a request to a page that also serves scripts presented itself.
pub enum Credentials {
    /// An `Authorization` header (scripts): errors are JSON.
    Bearer,
    /// The web front's session cookie, with its value (for the form token).
    Cookie(String),
    /// Nothing.
    None,
}

/// The caller of a page: their scope, how they presented it, and whether they are a browser.
pub struct Caller {
    pub scope: Scope,
    pub credentials: Credentials,
    /// A browser asking for a page (`Accept: text/html`) or holding our cookie: errors are pages.
    pub is_browser: bool,
}

/// Whether the request asks for a page (`Accept: text/html`), as browsers do on navigation.
pub fn wants_html(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Identifies the caller of a page that scripts (bearer header) and signed-in browsers (cookie)
/// both use. A bearer header, when present, decides alone.
pub async fn identify(request: &HttpRequest, state: &AppState) -> Result<Caller, AppError> {
    let wants_html = wants_html(request);
    if request.headers().contains_key(header::AUTHORIZATION) {
        return Ok(Caller {
            scope: super::request_scope(request, state).await?,
            credentials: Credentials::Bearer,
            is_browser: false,
        });
    }
    let names = cookie_names(request, state);
    match read_cookie(request, names.session) {
        Some(token) => Ok(Caller {
            scope: authenticate_session_cookie(
                &state.auth,
                &state.database,
                &token,
                request_id(request),
            )
            .await?,
            credentials: Credentials::Cookie(token),
            is_browser: true,
        }),
        None => Ok(Caller {
            scope: Scope::Anonymous,
            credentials: Credentials::None,
            is_browser: wants_html,
        }),
    }
}

fn request_id(request: &HttpRequest) -> Option<String> {
    request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

/// The banner's view of a signed-in user (one read of their display name).
pub async fn account_of(
    state: &AppState,
    principal: &Principal,
    cookie_token: &str,
) -> Result<(String, String), AppError> {
    let user_id = principal.user_id;
    let display_name: String = state
        .database
        .run(move |connection| {
            Ok(users::table
                .find(user_id)
                .select(users::display_name)
                .first(connection)?)
        })
        .await?;
    Ok((display_name, form_token(cookie_token)))
}

/// The referrer policy of pages with forms. The app-wide `no-referrer` makes browsers send
/// `Origin: null` on form posts, which the origin check cannot tell from a sandboxed or foreign
/// form; `same-origin` sends our own origin to us and still nothing to anyone else.
pub const FORM_PAGE_REFERRER_POLICY: &str = "same-origin";

/// An HTML page response with the web front's policy; never cached (it may show who is signed in).
pub fn page_response(status: StatusCode, html: String, policy: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy.to_owned()))
        .insert_header((header::REFERRER_POLICY, FORM_PAGE_REFERRER_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn page(status: StatusCode, html: String) -> HttpResponse {
    page_response(status, html, &pages::PAGE_CSP)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A local path to return to after signing in, or `None` for anything that could leave the site.
fn local_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 1024
        && !next.chars().any(char::is_control);
    safe.then_some(next)
}

/// The sign-in page's URL, returning to `next` afterwards.
fn sign_in_location(next: Option<&str>, notice: Option<&str>) -> String {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(next) = next.and_then(local_path) {
        query.push(("next", next));
    }
    if let Some(notice) = notice {
        query.push(("notice", notice));
    }
    if query.is_empty() {
        "/web/sign-in".to_owned()
    } else {
        let encoded: Vec<String> = query
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        format!("/web/sign-in?{}", encoded.join("&"))
    }
}

/// `text` percent-encoded for a URL query value (everything but RFC 3986's unreserved
/// characters).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What a browser gets when a page needs a session it does not have: the sign-in page (and a
/// cleared cookie when the one it sent was refused).
pub fn to_sign_in(request: &HttpRequest, state: &AppState, caller: &Caller) -> HttpResponse {
    let next = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str().to_owned());
    let ended = matches!(caller.scope, Scope::Refused(_));
    let mut response = see_other(&sign_in_location(
        next.as_deref(),
        ended.then_some("session-ended"),
    ));
    if ended {
        let names = cookie_names(request, state);
        if let Ok(value) = HeaderValue::from_str(&cookie(&names, names.session, "", 0)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The page for an error met while serving a browser a page of ours.
pub async fn error_page(state: &AppState, caller: &Caller, error: &AppError) -> HttpResponse {
    let account = match (&caller.scope, &caller.credentials) {
        (Scope::Authenticated(principal), Credentials::Cookie(token)) => {
            account_of(state, principal, token)
                .await
                .ok()
                .map(|a| (a, principal.role))
        }
        _ => None,
    };
    let account = account
        .as_ref()
        .map(|((display_name, form_token), role)| Account {
            display_name,
            role: *role,
            form_token,
        });
    let (status, html) = match error {
        AppError::Forbidden(_) => match &account {
            Some(account) => (StatusCode::FORBIDDEN, pages::forbidden(account)),
            None => (
                StatusCode::FORBIDDEN,
                pages::problem(None, "Access denied", &error.public_message()),
            ),
        },
        AppError::BadUserInput { message, field } => (
            StatusCode::BAD_REQUEST,
            pages::problem(
                account.as_ref(),
                "That report cannot be shown",
                &format!(
                    "{} Choose a quarter from the list instead.",
                    sentence(&match field.as_deref() {
                        Some("fiscalYear") => format!("Fiscal year: {message}"),
                        Some("quarter") => format!("Quarter: {message}"),
                        Some(field) => format!("{field}: {message}"),
                        None => message.clone(),
                    })
                ),
            ),
        ),
        AppError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            pages::problem(account.as_ref(), "Not found", &error.public_message()),
        ),
        AppError::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            pages::problem(
                account.as_ref(),
                "Too many requests",
                &error.public_message(),
            ),
        ),
        AppError::Unavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(
                account.as_ref(),
                "Temporarily unavailable",
                &error.public_message(),
            ),
        ),
        _ => {
            tracing::error!(error = %error.chain(), "web page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::problem(
                    account.as_ref(),
                    "Something went wrong",
                    &error.public_message(),
                ),
            )
        }
    };
    with_retry_after(page(status, html), error)
}

/// Adds `Retry-After` to a page answering an error that has one.
fn with_retry_after(mut response: HttpResponse, error: &AppError) -> HttpResponse {
    let seconds = crate::error::PublicError::from(error).retry_after_seconds;
    if let Some(value) =
        seconds.and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `text` as a sentence: capitalised, ending with a full stop.
fn sentence(text: &str) -> String {
    let mut characters = text.trim().chars();
    let mut out: String = match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// `GET /web`.
async fn redirect_to_index() -> HttpResponse {
    see_other("/web/")
}

/// `GET /web/`.
async fn index(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let caller = match identify(&request, &state).await {
        Ok(caller) => caller,
        Err(error) => return error_page(&state, &unknown_caller(), &error).await,
    };
    let (Scope::Authenticated(principal), Credentials::Cookie(token)) =
        (&caller.scope, &caller.credentials)
    else {
        if matches!(caller.credentials, Credentials::Bearer) {
            // The index is for browsers; scripts know the report URLs.
            return error_page(
                &state,
                &caller,
                &AppError::invalid(
                    "the web front needs a browser session; sign in at /web/sign-in",
                ),
            )
            .await;
        }
        return to_sign_in(&request, &state, &caller);
    };
    if let Err(error) = caller.scope.authorize(Action::ReadOversightReport) {
        return error_page(&state, &caller, &error).await;
    }
    let (display_name, form_token) = match account_of(&state, principal, token).await {
        Ok(account) => account,
        Err(error) => return error_page(&state, &caller, &error).await,
    };
    let quarters = match quarters::available(&state.database, &state.metrics, principal).await {
        Ok(quarters) => quarters,
        Err(error) => return error_page(&state, &caller, &error).await,
    };
    let account = Account {
        display_name: &display_name,
        role: principal.role,
        form_token: &form_token,
    };
    page(
        StatusCode::OK,
        pages::index(&account, &quarters, state.metrics.rules().time_zone.name()),
    )
}

/// A caller not yet identified (identification itself failed).
pub fn unknown_caller() -> Caller {
    Caller {
        scope: Scope::Anonymous,
        credentials: Credentials::None,
        is_browser: true,
    }
}

#[derive(Deserialize)]
struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// `GET /web/sign-in`.
async fn sign_in_form(
    request: HttpRequest,
    query: web::Query<SignInQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let next = query.next.as_deref().and_then(local_path);
    // Already signed in: straight on.
    if let Ok(caller) = identify(&request, &state).await {
        if matches!(
            (&caller.scope, &caller.credentials),
            (Scope::Authenticated(_), Credentials::Cookie(_))
        ) {
            return see_other(next.unwrap_or("/web/"));
        }
    }
    let notice = match query.notice.as_deref() {
        Some("signed-out") => Some("You have signed out."),
        Some("session-ended") => Some("Your session has ended. Sign in again to continue."),
        _ => None,
    };
    sign_in_page(
        &request,
        &state,
        StatusCode::OK,
        SignInForm {
            notice,
            next,
            ..Default::default()
        },
    )
}

/// The sign-in page with a fresh double-submit token (in the form and in a cookie).
fn sign_in_page(
    request: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: SignInForm,
) -> HttpResponse {
    let names = cookie_names(request, state);
    let csrf = browser_session::new_token();
    let provider = state
        .config
        .oidc
        .as_ref()
        .filter(|oidc| oidc.client_id.is_some())
        .map(|oidc| oidc.provider_name.as_str());
    let html = pages::sign_in(&SignInForm {
        csrf: &csrf,
        provider,
        ..form
    });
    let mut response = page(status, html);
    if let Ok(value) = HeaderValue::from_str(&cookie(
        &names,
        names.sign_in,
        &csrf,
        SIGN_IN_COOKIE_SECONDS,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Whether a form post comes from a page of this server, as far as the browser tells:
/// `Sec-Fetch-Site` and `Origin`, when present, must say so. (Browsers send both on posts.)
fn same_origin_post(request: &HttpRequest) -> bool {
    let headers = request.headers();
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_none_or(|site| site == "same-origin" || site == "none");
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let info = request.connection_info();
            origin.eq_ignore_ascii_case(&format!("{}://{}", info.scheme(), info.host()))
        }
    };
    site_ok && origin_ok
}

#[derive(Deserialize)]
struct SignInFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /web/sign-in`.
async fn sign_in(
    request: HttpRequest,
    form: web::Form<SignInFields>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let SignInFields {
        email,
        password,
        csrf,
        next,
    } = form.into_inner();
    let next = next.as_deref().and_then(local_path).map(str::to_owned);
    let names = cookie_names(&request, &state);
    let double_submit_ok = read_cookie(&request, names.sign_in).is_some_and(|cookie_value| {
        !csrf.is_empty() && constant_time_eq(cookie_value.as_bytes(), csrf.trim().as_bytes())
    });
    let retry = |status: StatusCode, error: &str| {
        sign_in_page(
            &request,
            &state,
            status,
            SignInForm {
                email: &email,
                error: Some(error),
                next: next.as_deref(),
                ..Default::default()
            },
        )
    };
    if !same_origin_post(&request) || !double_submit_ok {
        return retry(
            StatusCode::FORBIDDEN,
            "The sign-in form had expired or did not come from this site. Enter your email address and password again.",
        );
    }
    if email.trim().is_empty() || password.is_empty() {
        return retry(
            StatusCode::BAD_REQUEST,
            "Enter your email address and your password.",
        );
    }
    let opened = browser_session::sign_in(
        &state.auth,
        &state.database,
        &email,
        password,
        &crate::http::client::client_address(&request, &state.config.trusted_proxies),
        state.config.web.session_ttl,
        request_id(&request),
    )
    .await;
    match opened {
        Ok(session) => {
            let mut response = see_other(next.as_deref().unwrap_or("/web/"));
            let lifetime = state.config.web.session_ttl.as_secs();
            for value in [
                cookie(&names, names.session, &session.token, lifetime),
                cookie(&names, names.sign_in, "", 0),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(AppError::Unauthenticated(_)) => retry(
            StatusCode::UNAUTHORIZED,
            "The email address or password is not right. Check them and try again.",
        ),
        Err(error @ AppError::RateLimited { .. }) => with_retry_after(
            retry(StatusCode::TOO_MANY_REQUESTS, &error.public_message()),
            &error,
        ),
        Err(error) => error_page(&state, &unknown_caller(), &error).await,
    }
}

#[derive(Deserialize)]
struct SignOutFields {
    #[serde(default)]
    csrf: String,
}

/// `POST /web/sign-out`.
async fn sign_out(
    request: HttpRequest,
    form: web::Form<SignOutFields>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let caller = match identify(&request, &state).await {
        Ok(caller) => caller,
        Err(error) => return error_page(&state, &unknown_caller(), &error).await,
    };
    let (Scope::Authenticated(principal), Credentials::Cookie(token)) =
        (&caller.scope, &caller.credentials)
    else {
        // Nothing to end (already signed out, or the session is over).
        return to_sign_in(&request, &state, &caller);
    };
    if !same_origin_post(&request) || !form_token_matches(token, &form.csrf) {
        return error_page(
            &state,
            &caller,
            &AppError::Forbidden(
                "the sign-out form had expired or did not come from this site; use the Sign out button again"
                    .into(),
            ),
        )
        .await;
    }
    if let Err(error) = state
        .auth
        .logout(&state.database, principal, request_id(&request))
        .await
    {
        return error_page(&state, &caller, &error).await;
    }
    let names = cookie_names(&request, &state);
    let mut response = see_other(&sign_in_location(None, Some("signed-out")));
    if let Ok(value) = HeaderValue::from_str(&cookie(&names, names.session, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            local_path("/reports/oversight?fiscalYear=2026&quarter=1"),
            Some("/reports/oversight?fiscalYear=2026&quarter=1")
        );
        for outside in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(outside), None, "{outside}");
        }
    }

    #[test]
    fn sign_in_locations_keep_where_to_return() {
        assert_eq!(sign_in_location(None, None), "/web/sign-in");
        assert_eq!(
            sign_in_location(Some("/web/?a=1&b=2"), Some("session-ended")),
            "/web/sign-in?next=%2Fweb%2F%3Fa%3D1%26b%3D2&notice=session-ended"
        );
        assert_eq!(sign_in_location(Some("//evil"), None), "/web/sign-in");
    }

    #[test]
    fn sentences_are_capitalised_and_closed() {
        assert_eq!(sentence("a fiscal quarter is 1"), "A fiscal quarter is 1.");
        assert_eq!(sentence("Done."), "Done.");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
