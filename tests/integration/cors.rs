//! CORS from configuration: allowed origins get their preflight answered and their responses
//! marked readable; other origins get neither; without configuration nothing changes.

use reqwest::{header, Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

const DASHBOARD: &str = "https://dashboard.agency.example";
const STRANGER: &str = "https://evil.example";

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.graphql_url())
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .send()
        .await
        .unwrap()
}

fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn an_allowed_origin_gets_its_preflight_answered() {
    let app = TestApp::spawn_with(&[
        (
            "CORS_ALLOWED_ORIGINS",
            &format!("{DASHBOARD}, http://localhost:5173"),
        ),
        ("CORS_MAX_AGE_SECONDS", "300"),
    ])
    .await;
    let response = preflight(&app, DASHBOARD, "POST", "content-type, authorization").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], DASHBOARD);
    assert_eq!(headers["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, content-type, accept"
    );
    assert_eq!(headers["access-control-max-age"], "300");
    assert!(headers["vary"].to_str().unwrap().contains("Origin"));
    // Credentials are off unless configured.
    assert!(!headers.contains_key("access-control-allow-credentials"));
    // The preflight answer carries the security headers like every response.
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // The actual request: the response is readable by that origin, and still a GraphQL answer.
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::ORIGIN, DASHBOARD)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], DASHBOARD);
    assert!(response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
    assert!(response.headers()["vary"]
        .to_str()
        .unwrap()
        .contains("Origin"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn other_origins_methods_and_headers_are_refused() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", DASHBOARD)]).await;
    // Another origin: refused, without any CORS header.
    let response = preflight(&app, STRANGER, "POST", "content-type").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        cors_headers(&response).is_empty(),
        "{:?}",
        response.headers()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // The scheme and port are part of the origin.
    let response = preflight(&app, "http://dashboard.agency.example", "POST", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // An allowed origin asking for a method or header outside the list.
    let response = preflight(&app, DASHBOARD, "DELETE", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(cors_headers(&response).is_empty());
    let response = preflight(&app, DASHBOARD, "POST", "content-type, x-debug").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("x-debug"));

    // A simple request from another origin still runs (the browser withholds the answer from the
    // script): no CORS header, but Vary: Origin for caches.
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header(header::ORIGIN, STRANGER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(cors_headers(&response).is_empty());
    assert_eq!(response.headers()["vary"], "Origin");
}

#[tokio::test]
async fn credentials_are_allowed_only_when_configured() {
    let app = TestApp::spawn_with(&[
        ("CORS_ALLOWED_ORIGINS", DASHBOARD),
        ("CORS_ALLOW_CREDENTIALS", "true"),
    ])
    .await;
    let response = preflight(&app, DASHBOARD, "GET", "authorization").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header(header::ORIGIN, DASHBOARD)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(response.headers()["access-control-allow-origin"], DASHBOARD);
}

#[tokio::test]
async fn without_configuration_there_is_no_cors() {
    let app = TestApp::spawn().await;
    let response = preflight(&app, DASHBOARD, "POST", "content-type").await;
    // Not answered as a preflight: the route's own answer to OPTIONS.
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(cors_headers(&response).is_empty());
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::ORIGIN, DASHBOARD)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(cors_headers(&response).is_empty());
    assert!(!response.headers().contains_key("vary"));
}

#[tokio::test]
async fn the_web_front_is_never_cross_origin() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", DASHBOARD)]).await;
    let response = app
        .client
        .get(format!("{}/web/sign-in", app.address))
        .header(header::ORIGIN, DASHBOARD)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(cors_headers(&response).is_empty());
}
