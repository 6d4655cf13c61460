//! CORS for browser front-ends of other teams, from configuration (`CORS_ALLOWED_ORIGINS`,
//! `CORS_ALLOW_CREDENTIALS`, `CORS_MAX_AGE_SECONDS`).
//!
//! - With no allowed origin (the default) this middleware does nothing: no CORS headers, and a
//!   preflight gets what any `OPTIONS` gets (405 on `/graphql`).
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an allowed
//!   origin, for `GET`/`POST` and at most the headers `authorization`, `content-type` and
//!   `accept`, is answered `204` with the CORS headers; any other preflight is refused with `403`
//!   and no CORS headers.
//! - Other requests always reach the handler. From an allowed origin the response carries
//!   `Access-Control-Allow-Origin` (and `-Credentials` when configured); from any other origin,
//!   none, so the browser keeps the response from the calling script. Requests are not refused for
//!   their `Origin`: the server's own pages send one with every form and fetch.
//! - `Vary: Origin` on every response it handles, so caches keep answers per origin.
//!
//! The human pages (`/web/…`) and GraphiQL's files are same-origin only and get no CORS headers.
//!
//! A small middleware of ours rather than the `actix-cors` crate: that crate, by default, answers
//! 400 to any request whose `Origin` is not listed — including same-origin form posts of the web
//! front and GraphiQL's own fetches — and the few rules above are simpler to read here than its
//! configuration.

use std::{collections::HashSet, future::Future, sync::Arc};

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse},
    http::{
        header::{self, HeaderMap, HeaderValue},
        Method,
    },
    HttpResponse,
};
use futures_util::future::Either;
use serde_json::json;

use crate::config::CorsSettings;

/// Methods a cross-origin script may use.
const ALLOWED_METHODS: &str = "GET, POST";
/// Request headers a cross-origin script may send.
const ALLOWED_HEADERS: [&str; 3] = ["authorization", "content-type", "accept"];
/// Response headers a cross-origin script may read beyond the CORS-safelisted ones.
const EXPOSED_HEADERS: &str =
    "x-request-id, retry-after, content-disposition, x-audit-chain-head, x-generated-at";

/// The CORS middleware; inert when no origin is allowed.
#[derive(Debug, Clone)]
pub struct Cors {
    policy: Option<Arc<Policy>>,
}

#[derive(Debug)]
struct Policy {
    origins: HashSet<String>,
    allow_credentials: bool,
    max_age: HeaderValue,
}

/// What the middleware makes of one request.
enum Verdict {
    /// Not a CORS matter (no policy, or a same-origin-only path): pass through untouched.
    Untouched,
    /// A preflight to answer here, allowing `origin`.
    PreflightAllowed(HeaderValue),
    /// A preflight to refuse here, saying why.
    PreflightRefused(String),
    /// A request for the handler; `Some(origin)` when that origin is allowed.
    Actual(Option<HeaderValue>),
}

impl Cors {
    /// From the configuration.
    pub fn new(settings: &CorsSettings) -> Self {
        let policy = (!settings.allowed_origins.is_empty()).then(|| {
            Arc::new(Policy {
                origins: settings.allowed_origins.iter().cloned().collect(),
                allow_credentials: settings.allow_credentials,
                max_age: HeaderValue::from_str(&settings.max_age_seconds.to_string())
                    .expect("a number is a valid header value"),
            })
        });
        Self { policy }
    }

    /// Answers or refuses a preflight here; otherwise calls `service` and adds the headers.
    pub fn apply<S, B>(
        &self,
        request: ServiceRequest,
        service: &S,
    ) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + 'static
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
        S::Future: 'static,
        B: MessageBody + 'static,
    {
        let policy = self.policy.clone();
        let verdict = match &policy {
            Some(policy) => policy.judge(&request),
            None => Verdict::Untouched,
        };
        match (verdict, policy) {
            (Verdict::PreflightAllowed(origin), Some(policy)) => {
                let response = request.into_response(policy.preflight_answer(origin));
                Either::Left(std::future::ready(Ok(response)))
            }
            (Verdict::PreflightRefused(reason), _) => {
                let response = request.into_response(preflight_refusal(&reason));
                Either::Left(std::future::ready(Ok(response)))
            }
            (verdict, policy) => {
                let call = service.call(request);
                Either::Right(async move {
                    let mut response = call.await?.map_into_boxed_body();
                    if let (Verdict::Actual(origin), Some(policy)) = (verdict, policy) {
                        policy.decorate(response.headers_mut(), origin);
                    }
                    Ok(response)
                })
            }
        }
    }
}

impl Policy {
    fn judge(&self, request: &ServiceRequest) -> Verdict {
        let path = request.path();
        if path == "/web" || path.starts_with("/web/") || path.starts_with("/graphiql/") {
            return Verdict::Untouched;
        }
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN).cloned();
        let allowed = origin
            .as_ref()
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| self.origins.contains(&origin.to_ascii_lowercase()));
        let requested_method = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
        let is_options = request.method() == Method::OPTIONS;
        let (true, Some(origin), Some(requested_method)) = (is_options, &origin, requested_method)
        else {
            return Verdict::Actual(origin.filter(|_| allowed));
        };
        if !allowed {
            return Verdict::PreflightRefused(format!(
                "the origin {} may not call this API from a browser; its operator can add it to CORS_ALLOWED_ORIGINS",
                origin.to_str().unwrap_or("(unreadable)")
            ));
        }
        let method = requested_method.to_str().unwrap_or("");
        if method != "GET" && method != "POST" {
            return Verdict::PreflightRefused(format!(
                "the method {method} is not allowed from a browser; use GET or POST"
            ));
        }
        let refused_header = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .map(|value| value.to_str().unwrap_or("(unreadable)"))
            .unwrap_or("")
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .find(|name| !name.is_empty() && !ALLOWED_HEADERS.contains(&name.as_str()));
        if let Some(name) = refused_header {
            return Verdict::PreflightRefused(format!(
                "the request header {name} is not allowed from a browser; allowed: {}",
                ALLOWED_HEADERS.join(", ")
            ));
        }
        Verdict::PreflightAllowed(origin.clone())
    }

    fn preflight_answer(&self, origin: HeaderValue) -> HttpResponse {
        let mut response = HttpResponse::NoContent();
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                ALLOWED_HEADERS.join(", "),
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone()))
            .insert_header((
                header::VARY,
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ));
        if self.allow_credentials {
            response.insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"));
        }
        response.finish()
    }

    fn decorate(&self, headers: &mut HeaderMap, origin: Option<HeaderValue>) {
        add_vary_origin(headers);
        let Some(origin) = origin else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// `403` without CORS headers: the browser refuses the cross-origin call.
fn preflight_refusal(reason: &str) -> HttpResponse {
    HttpResponse::Forbidden()
        .insert_header((header::VARY, "Origin"))
        .content_type("application/json; charset=utf-8")
        .body(
            json!({ "errors": [{ "message": reason, "extensions": { "code": "FORBIDDEN" } }] })
                .to_string(),
        )
}

fn add_vary_origin(headers: &mut HeaderMap) {
    let value = match headers.get(header::VARY).and_then(|v| v.to_str().ok()) {
        None => HeaderValue::from_static("Origin"),
        Some(existing) if existing.to_ascii_lowercase().contains("origin") => return,
        Some(existing) => match HeaderValue::from_str(&format!("{existing}, Origin")) {
            Ok(value) => value,
            Err(_) => return,
        },
    };
    headers.insert(header::VARY, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_gets_origin_once() {
        let mut headers = HeaderMap::new();
        add_vary_origin(&mut headers);
        add_vary_origin(&mut headers);
        assert_eq!(headers.get(header::VARY).unwrap(), "Origin");
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        add_vary_origin(&mut headers);
        assert_eq!(headers.get(header::VARY).unwrap(), "Accept, Origin");
    }

    #[test]
    fn no_origin_means_an_inert_middleware() {
        assert!(Cors::new(&CorsSettings::default()).policy.is_none());
    }
}
