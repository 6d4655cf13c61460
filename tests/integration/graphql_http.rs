//! GraphQL over HTTP: methods, media types, status codes, limits, masking, health endpoints.

use bac_metrics::db::enums::Role;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{first_error_code, first_error_message, missing_database_url, TestApp};

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`).
const GRAPHIQL_INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn post_negotiates_the_response_media_type() {
    let app = TestApp::spawn().await;
    for (accept, expected) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (
            Some("application/graphql-response+json"),
            "application/graphql-response+json",
        ),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            "application/graphql-response+json",
        ),
    ] {
        let mut request = app
            .client
            .post(app.graphql_url())
            .json(&json!({ "query": "{ __typename }" }));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(content_type(&response).starts_with(expected), "{accept:?}");
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query");
    }
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::ACCEPT, "text/csv")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn request_errors_are_400_without_data_for_graphql_response_json() {
    let app = TestApp::spawn().await;
    for query in ["{ __typename", "{ noSuchField }"] {
        let (status, body) = app.post_graphql_response(None, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
        // The legacy media type answers 200, as the specification recommends.
        let (status, body) = app.post(None, query, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("data").is_none(), "{body}");
    }
    // Variables of the wrong type.
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "query($n: Int) { topics(first: $n) { totalCount } }", "variables": { "n": "many" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn malformed_bodies_and_content_types_are_refused() {
    let app = TestApp::spawn_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let post = |body: String, content_type: Option<&'static str>| {
        let mut request = app.client.post(app.graphql_url()).body(body);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request.send()
    };
    let json_type = Some("application/json");
    let cases = [
        ("{ not json", json_type, StatusCode::BAD_REQUEST),
        (
            "[{\"query\": \"{ __typename }\"}]",
            json_type,
            StatusCode::BAD_REQUEST,
        ),
        ("{\"query\": 42}", json_type, StatusCode::BAD_REQUEST),
        ("{\"variables\": {}}", json_type, StatusCode::BAD_REQUEST),
        (
            "{\"query\": \"{ __typename }\", \"variables\": []}",
            json_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"query\": \"{ __typename }\"}",
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "{\"query\": \"{ __typename }\"}",
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "{\"query\": \"{ __typename }\"}",
            Some("application/json; charset=latin1"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (body, content_type, expected) in cases {
        let response = post(body.to_owned(), content_type).await.unwrap();
        assert_eq!(response.status(), expected, "{body} as {content_type:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    }
    let padding = " ".repeat(4096);
    let response = post(
        format!("{{\"query\": \"{{ __typename }}\"{padding}}}"),
        json_type,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Variables with charset=utf-8 are fine.
    let response = post(
        "{\"query\": \"{ __typename }\"}".into(),
        Some("application/json; charset=utf-8"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn get_serves_queries_graphiql_but_never_mutations() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.graphql_url())
        .query(&[
            (
                "query",
                "query Q($name: String!) { __typename __type(name: $name) { name } }",
            ),
            ("variables", "{\"name\": \"Query\"}"),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");

    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "mutation { logout }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");

    let response = app
        .client
        .get(app.graphql_url())
        .query(&[
            ("query", "query A { __typename } mutation B { logout }"),
            ("operationName", "B"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    let response = app
        .client
        .get(app.graphql_url())
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("graphiql"));

    let response = app.client.put(app.graphql_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, POST");
}

#[tokio::test]
async fn development_allows_graphiql_introspection_within_the_limits() {
    let app = TestApp::spawn().await;
    let (status, body) = app.post(None, GRAPHIQL_INTROSPECTION, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");

    // Deeper than GRAPHQL_MAX_DEPTH: refused before execution.
    let mut deep = String::from("id");
    for _ in 0..20 {
        deep = format!("parent {{ {deep} }}");
    }
    let query = format!("{{ orgUnits {{ edges {{ node {{ {deep} }} }} }} }}");
    let (status, body) = app.post_graphql_response(None, &query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        first_error_message(&body).contains("nested too deep"),
        "{body}"
    );
}

#[tokio::test]
async fn production_hides_the_schema_and_suggestions() {
    let app = TestApp::spawn_with(&[("APP_ENV", "production")]).await;
    // Introspection answers nothing about the schema.
    let (_, body) = app
        .post(
            None,
            "{ __schema { types { name } } __type(name: \"Query\") { name } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    assert!(body["data"]["__type"].is_null(), "{body}");

    let (_, body) = app
        .post(None, "{ orgUnitz { totalCount } }", json!({}))
        .await;
    let message = first_error_message(&body);
    assert!(message.contains("orgUnitz"), "{body}");
    assert!(!message.contains("Did you mean"), "{body}");

    let response = app
        .client
        .get(app.graphql_url())
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn database_failures_are_masked() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("admin@test.example", Role::Admin, "AGENCY", false)
        .await;
    let token = app.token_for("admin@test.example").await;
    diesel::RunQueryDsl::execute(
        diesel::sql_query("DROP TABLE topics CASCADE"),
        &mut app.connection(),
    )
    .unwrap();
    let (status, body) = app
        .post_graphql_response(Some(&token), "{ topics { edges { node { code } } } }")
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first_error_code(&body), Some("INTERNAL"));
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "relation",
        "topics\" does not exist",
        "diesel",
        "sql",
    ] {
        assert!(!text.contains(leak), "{leak} leaked in {body}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Start-up does not wait for the database; readiness reports it missing.
    let url = missing_database_url();
    let down = TestApp::spawn_on(url, &[("DATABASE_CHECKOUT_TIMEOUT_MS", "300")]).await;
    let response = down
        .client
        .get(format!("{}/healthz", down.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = down
        .client
        .get(format!("{}/readyz", down.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A query needing the database fails cleanly with UNAVAILABLE (503, Retry-After), not a
    // hang, a panic or INTERNAL.
    let token = down.keys.mint(
        1,
        Role::Admin,
        uuid::Uuid::new_v4(),
        std::time::Duration::from_secs(60),
    );
    let (status, body) = down
        .post_graphql_response(Some(&token.token), "{ me { id } }")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(first_error_code(&body), Some("UNAVAILABLE"));
    assert!(first_error_message(&body).contains("unavailable"), "{body}");
}

#[tokio::test]
async fn unauthorized_answers_say_how_to_authenticate() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    // GraphQL with the specification's media type: 401 and the challenge.
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::ACCEPT, "application/graphql-response+json")
        .bearer_auth("not-a-token")
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    // A plain HTTP endpoint without credentials: the same.
    let response = app
        .client
        .get(format!(
            "{}/export/metrics.csv?metrics=INTERACTIONS&from=2026-07-01&to=2026-07-31",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
}
