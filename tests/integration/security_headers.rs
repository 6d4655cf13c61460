//! Every response carries the security headers, whatever answered it (a page, JSON, CSV, an
//! asset, a redirect, a refusal, a 404); pages keep their own policy and still forbid framing;
//! HSTS only when configured and over TLS; GraphiQL only with developer tools.

use reqwest::{header, Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// `(method, path, accept)` for every kind of endpoint and answer.
fn endpoints(graphiql_asset: &str) -> Vec<(Method, String, &'static str)> {
    let get = |path: &str, accept: &'static str| (Method::GET, path.to_owned(), accept);
    vec![
        get("/healthz", "*/*"),
        get("/readyz", "*/*"),
        get("/graphql?query=%7B__typename%7D", "application/json"),
        (Method::POST, "/graphql".into(), "application/json"),
        get("/graphql", "text/html"),
        get("/graphql?query=%7B", "application/graphql-response+json"),
        get(graphiql_asset, "*/*"),
        get("/graphiql/0000000000000000/graphiql.min.js", "*/*"),
        get("/export/metrics.csv?metrics=INTERACTIONS", "*/*"),
        get(
            "/export/oversight-report.csv?fiscalYear=2026&quarter=1",
            "*/*",
        ),
        get("/reports/oversight?fiscalYear=2026&quarter=1", "*/*"),
        get("/reports/oversight?fiscalYear=2026&quarter=1", "text/html"),
        (Method::POST, "/import/interactions".into(), "*/*"),
        get("/web", "text/html"),
        get("/web/", "text/html"),
        get("/web/sign-in", "text/html"),
        (Method::POST, "/web/sign-in".into(), "text/html"),
        (Method::POST, "/web/sign-out".into(), "text/html"),
        (Method::OPTIONS, "/graphql".into(), "*/*"),
        (Method::DELETE, "/graphql".into(), "*/*"),
        get("/no-such-page", "*/*"),
    ]
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.graphql_url())
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page
        .find("/graphiql/")
        .expect("GraphiQL loads its files from here");
    let asset = &page[start..start + page[start..].find('"').unwrap()];

    let mut statuses = Vec::new();
    for (method, path, accept) in endpoints(asset) {
        let mut request = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .header(header::ACCEPT, accept);
        if method == Method::POST && path == "/graphql" {
            request = request.json(&json!({ "query": "{ __typename }" }));
        }
        if method == Method::POST && path.starts_with("/web/") {
            request = request.form(&[("csrf", "x")]);
        }
        let response = request.send().await.unwrap();
        let what = format!("{method} {path} ({})", response.status());
        statuses.push(response.status().as_u16());
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        let referrer = headers["referrer-policy"].to_str().unwrap();
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS unless configured: {what}"
        );
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{what}: {policy}"
        );
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
        if is_html {
            // Pages bring their own strict policy: no inline script, nothing from elsewhere.
            assert!(policy.starts_with("default-src 'none'"), "{what}: {policy}");
            assert!(!policy.contains("unsafe-"), "{what}: {policy}");
            // Pages with forms send their own origin to themselves (and nothing elsewhere).
            let expected = if path.starts_with("/web/") {
                "same-origin"
            } else {
                "no-referrer"
            };
            assert_eq!(referrer, expected, "{what}");
        } else {
            assert_eq!(policy, DEFAULT_CSP, "{what}");
            assert_eq!(referrer, "no-referrer", "{what}");
        }
    }
    // The list covers answers of every kind: success, redirect, client errors.
    for expected in [200, 303, 400, 401, 403, 404, 405] {
        assert!(statuses.contains(&expected), "{expected} in {statuses:?}");
    }
}

#[tokio::test]
async fn hsts_is_sent_over_tls_when_configured() {
    let app = TestApp::spawn_with(&[("HSTS_MAX_AGE_SECONDS", "31536000")]).await;
    let over_tls = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        over_tls.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // Plain HTTP: browsers ignore it there, and RFC 6797 says not to send it.
    let plain = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert!(!plain.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn graphiql_is_served_only_with_developer_tools() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.graphql_url())
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"));
    let html = response.text().await.unwrap();
    assert!(!html.contains("unpkg") && !html.contains("cdn"), "{html}");
    assert!(!html.contains("<script>"), "no inline script");
    let start = html.find("/graphiql/").unwrap();
    let asset = html[start..start + html[start..].find('"').unwrap()].to_owned();

    let production = TestApp::spawn_with(&[("APP_ENV", "production")]).await;
    let response = production
        .client
        .get(production.graphql_url())
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
    assert!(!response.text().await.unwrap().contains("graphiql"));
    let response = production
        .client
        .get(format!("{}{asset}", production.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
