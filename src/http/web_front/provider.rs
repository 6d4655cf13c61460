//! Signing in to the web front with the identity provider (`OIDC_CLIENT_ID`): OpenID Connect's
//! authorization code flow with PKCE.
//!
//! `GET /web/sign-in/provider` sends the browser to the provider's authorization endpoint with a
//! fresh `state`, `nonce` and PKCE challenge (S256), keeping the three secrets — and where to go
//! afterwards — in a short-lived `HttpOnly` cookie. The cookie is `SameSite=Lax`, not `Strict`
//! like the session's: the provider's redirect back is a cross-site navigation, on which a
//! `Strict` cookie would not be sent. `GET /web/sign-in/callback` requires the returned `state`
//! to be the cookie's, exchanges the code (with the PKCE verifier) at the token endpoint, has
//! `auth::oidc` verify the ID token exactly like an access token (issuer, keys, algorithm,
//! expiry) but for this client and with the cookie's `nonce`, and opens the same cookie session
//! as a password sign-in for the account the token names. Every failure lands on the sign-in
//! page with a sentence saying what to do.
//!
//! The callback answers with a short page that moves on to the web front, not a redirect: a
//! redirect in a chain that began on the provider's site is still cross-site, and the browser
//! would not send the new (`Strict`) session cookie with it.

use actix_web::{
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    web, HttpRequest, HttpResponse,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    constant_time_eq, cookie, cookie_names, error_page, local_path, pages, percent_encode,
    request_id, see_other, sign_in_page, unknown_caller, CookieNames, SignInForm,
};
use crate::{auth::browser_session, error::AppError, http::AppState};

/// How long a sign-in at the provider may take, start to callback.
const FLOW_COOKIE_SECONDS: u64 = 600;

fn flow_cookie_name(names: &CookieNames) -> &'static str {
    if names.secure {
        "__Host-bac_provider_sign_in"
    } else {
        "bac_provider_sign_in"
    }
}

fn flow_cookie(names: &CookieNames, value: &str, max_age: u64) -> String {
    let secure = if names.secure { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        flow_cookie_name(names)
    )
}

/// 256 random bits, URL-safe.
fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Where the provider sends the browser back: this server as the browser reached it.
fn redirect_uri(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}/web/sign-in/callback", info.scheme(), info.host())
}

/// What the flow cookie keeps between the two requests.
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: Option<String>,
}

impl Flow {
    fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.state,
            self.nonce,
            self.verifier,
            URL_SAFE_NO_PAD.encode(self.next.as_deref().unwrap_or(""))
        )
    }

    fn read(request: &HttpRequest, names: &CookieNames) -> Option<Flow> {
        let name = flow_cookie_name(names);
        let value = request
            .headers()
            .get_all(header::COOKIE)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| value.len() <= 2048)?;
        let mut parts = value.split('.');
        let (state, nonce, verifier, next) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if state.is_empty() || nonce.is_empty() || verifier.is_empty() {
            return None;
        }
        let next = URL_SAFE_NO_PAD
            .decode(next)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|next| local_path(next).is_some());
        Some(Flow {
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            verifier: verifier.to_owned(),
            next,
        })
    }
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /web/sign-in/provider`: off to the provider's authorization endpoint.
pub async fn start(
    request: HttpRequest,
    query: web::Query<StartQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(oidc) = state.auth.oidc().cloned() else {
        return not_offered(&state).await;
    };
    let Some(client_id) = oidc.settings().client_id.clone() else {
        return not_offered(&state).await;
    };
    let authorization_endpoint = match oidc.discovery().await {
        Ok(discovery) => discovery.authorization_endpoint,
        Err(problem) => {
            tracing::warn!(%problem, "could not read the identity provider's discovery document");
            None
        }
    };
    let Some(authorization_endpoint) = authorization_endpoint else {
        return error_page(
            &state,
            &unknown_caller(),
            &AppError::unavailable(
                "signing in with the identity provider is not possible at the moment; try again shortly, or sign in with your password",
                std::time::Duration::from_secs(30),
            ),
        )
        .await;
    };
    let flow = Flow {
        state: random_value(),
        nonce: random_value(),
        verifier: random_value(),
        next: query
            .next
            .as_deref()
            .and_then(local_path)
            .map(str::to_owned),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
    let separator = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{authorization_endpoint}{separator}response_type=code&client_id={}&redirect_uri={}\
         &scope=openid%20email&state={}&nonce={}&code_challenge={challenge}&code_challenge_method=S256",
        percent_encode(&client_id),
        percent_encode(&redirect_uri(&request)),
        flow.state,
        flow.nonce,
    );
    let names = cookie_names(&request, &state);
    let mut response = see_other(&location);
    if let Ok(value) =
        HeaderValue::from_str(&flow_cookie(&names, &flow.encode(), FLOW_COOKIE_SECONDS))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn not_offered(state: &AppState) -> HttpResponse {
    error_page(
        state,
        &unknown_caller(),
        &AppError::NotFound("signing in with an identity provider is not set up here".into()),
    )
    .await
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /web/sign-in/callback`: the provider sends the browser back here.
pub async fn callback(
    request: HttpRequest,
    query: web::Query<CallbackQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(oidc) = state.auth.oidc().cloned() else {
        return not_offered(&state).await;
    };
    let provider = oidc.settings().provider_name.clone();
    let names = cookie_names(&request, &state);
    let flow = Flow::read(&request, &names);
    let next = flow.as_ref().and_then(|flow| flow.next.clone());
    let retry = |status: StatusCode, error: String| {
        let mut response = sign_in_page(
            &request,
            &state,
            status,
            SignInForm {
                error: Some(&error),
                next: next.as_deref(),
                ..Default::default()
            },
        );
        if let Ok(value) = HeaderValue::from_str(&flow_cookie(&names, "", 0)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    };
    let Some(flow) = flow.filter(|flow| {
        query
            .state
            .as_deref()
            .is_some_and(|returned| constant_time_eq(returned.as_bytes(), flow.state.as_bytes()))
    }) else {
        return retry(
            StatusCode::FORBIDDEN,
            format!(
                "The sign-in with {provider} had expired or did not start on this site. Try again."
            ),
        );
    };
    if let Some(error) = &query.error {
        tracing::info!(error = %error, "the identity provider did not sign the user in");
        return retry(
            StatusCode::UNAUTHORIZED,
            format!("{provider} did not sign you in. Try again, or sign in with your password."),
        );
    }
    let Some(code) = query.code.as_deref().filter(|code| !code.is_empty()) else {
        return retry(
            StatusCode::BAD_REQUEST,
            format!("{provider} sent no sign-in code. Try again."),
        );
    };
    let id_token = match oidc
        .exchange_code(code, &redirect_uri(&request), &flow.verifier)
        .await
    {
        Ok(id_token) => id_token,
        Err(problem) => {
            tracing::warn!(%problem, "could not exchange the identity provider's sign-in code");
            return retry(
                StatusCode::BAD_GATEWAY,
                format!("The sign-in with {provider} could not be completed. Try again."),
            );
        }
    };
    let refused = |rejection: crate::auth::TokenRejection| {
        state
            .auth
            .refusals()
            .token_refused(&rejection, request_id(&request).as_deref());
        retry(
            StatusCode::UNAUTHORIZED,
            format!(
                "{provider} signed you in, but {}.",
                rejection_sentence(&rejection)
            ),
        )
    };
    let identity = match oidc.verify_id_token(&id_token, &flow.nonce).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(rejection)) => return refused(rejection),
        Err(unavailable) => {
            tracing::warn!(problem = %unavailable, "could not check the identity provider's ID token");
            return retry(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("The sign-in with {provider} could not be checked at the moment. Try again shortly."),
            );
        }
    };
    let opened = browser_session::sign_in_with_provider(
        &state.database,
        identity,
        state.config.web.session_ttl,
        request_id(&request),
    )
    .await;
    let session = match opened {
        Ok(Ok(session)) => session,
        Ok(Err(rejection)) => return refused(rejection),
        Err(error) => return error_page(&state, &unknown_caller(), &error).await,
    };
    let destination = next.as_deref().unwrap_or("/web/");
    let mut response = super::page(
        StatusCode::OK,
        pages::document(
            "Signed in",
            None,
            &format!(
                "<meta http-equiv=\"refresh\" content=\"0;url={href}\">\n\
                 <h1>Signed in</h1>\n<p class=\"lead\">You are signed in as {name}.</p>\n\
                 <p><a class=\"button\" href=\"{href}\">Continue</a></p>\n",
                href = crate::http::reports::escape_html(destination),
                name = crate::http::reports::escape_html(&session.user.display_name),
            ),
        ),
    );
    for value in [
        cookie(
            &names,
            names.session,
            &session.token,
            state.config.web.session_ttl.as_secs(),
        ),
        flow_cookie(&names, "", 0),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A refusal as the end of "… signed you in, but …".
fn rejection_sentence(rejection: &crate::auth::TokenRejection) -> String {
    use crate::auth::{oidc::ExternalRejection, TokenRejection};
    match rejection {
        TokenRejection::External(ExternalRejection::NoMatchingUser) => {
            "no active account here matches yours; ask an administrator to add one".into()
        }
        TokenRejection::Deactivated => "your account here is deactivated".into(),
        other => format!("the answer was refused ({other})"),
    }
}
