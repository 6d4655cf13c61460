//! Security headers on every response, as one middleware (wrapped in `startup.rs`) rather than
//! repeated in handlers:
//!
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`.
//! - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` on every response that
//!   did not set its own: JSON, CSV and errors need no browser capability at all. A response that
//!   set its own policy (the HTML pages) keeps it, and gets `frame-ancestors 'none'` appended when
//!   it does not say anything about framing.
//! - `Strict-Transport-Security: max-age=N` when `HSTS_MAX_AGE_SECONDS` is set and the request
//!   came over TLS (RFC 6797 §7.2: not over plain HTTP).
//!
//! Headers a handler set itself are never overwritten (the web front's pages with forms send
//! `Referrer-Policy: same-origin`, so that their posts carry our origin; see `web_front`).

use std::future::Future;

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse},
    http::header::{self, HeaderMap, HeaderName, HeaderValue},
    HttpRequest,
};

use crate::config::WebSettings;

/// The policy of responses that do not set one: nothing may load, nothing may frame them.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The security-header middleware's settings.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    /// From the configuration (`HSTS_MAX_AGE_SECONDS`).
    pub fn new(settings: &WebSettings) -> Self {
        Self {
            hsts: settings.hsts_max_age_seconds.map(|seconds| {
                HeaderValue::from_str(&format!("max-age={seconds}"))
                    .expect("a number is a valid header value")
            }),
        }
    }

    /// Calls `service` and adds the headers to its response.
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
        let hsts = self
            .hsts
            .clone()
            .filter(|_| came_over_tls(request.request()));
        let call = service.call(request);
        async move {
            // Handler and extractor errors are already responses here (actix-web turns them
            // into responses inside the route), so they get the headers too.
            let mut response = call.await?.map_into_boxed_body();
            add_headers(response.headers_mut(), hsts);
            Ok(response)
        }
    }
}

fn add_headers(headers: &mut HeaderMap, hsts: Option<HeaderValue>) {
    let mut set_default = |name: HeaderName, value: HeaderValue| {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    };
    set_default(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_default(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    set_default(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(hsts) = hsts {
        set_default(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    let policy = match headers.get(header::CONTENT_SECURITY_POLICY) {
        None => HeaderValue::from_static(DEFAULT_CSP),
        Some(own) => {
            let own = own.to_str().unwrap_or_default();
            if own.contains("frame-ancestors") {
                return;
            }
            let combined = format!(
                "{}; frame-ancestors 'none'",
                own.trim_end_matches([';', ' '])
            );
            match HeaderValue::from_str(&combined) {
                Ok(value) => value,
                Err(_) => HeaderValue::from_static(DEFAULT_CSP),
            }
        }
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
}

/// Whether `request` came over TLS: directly, or as the proxy in front of us reports it
/// (`Forwarded: proto=https`, `X-Forwarded-Proto: https`). A client that lies about it only
/// makes its own responses stricter (HSTS, `Secure` cookies).
pub fn came_over_tls(request: &HttpRequest) -> bool {
    request
        .connection_info()
        .scheme()
        .eq_ignore_ascii_case("https")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_policy_is_kept_and_forbids_framing() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self';"),
        );
        add_headers(&mut headers, None);
        assert_eq!(
            headers.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
        );
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }

    #[test]
    fn responses_without_a_policy_get_the_default() {
        let mut headers = HeaderMap::new();
        add_headers(&mut headers, Some(HeaderValue::from_static("max-age=60")));
        assert_eq!(
            headers.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            DEFAULT_CSP
        );
        assert_eq!(
            headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff"
        );
        assert_eq!(headers.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        assert_eq!(
            headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(),
            "max-age=60"
        );
    }
}
