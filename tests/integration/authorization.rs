//! Deny by default: every role (and no token) against every root field and mutation, plus the
//! connection behaviour of the lists that exist so far.

use std::collections::BTreeSet;

use bac_metrics::db::enums::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp, PASSWORD};

/// What one caller may expect from one root field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
}

/// Each root field with a request exercising it, and what an anonymous caller and a signed-in
/// caller of any role get. Every signed-in role may read reference data and its own session.
const QUERIES: &[(&str, &str, Expect, Expect)] = &[
    (
        "me",
        "{ me { email role } }",
        Expect::Unauthenticated,
        Expect::Allowed,
    ),
    (
        "orgUnits",
        "{ orgUnits { totalCount edges { node { code } } } }",
        Expect::Unauthenticated,
        Expect::Allowed,
    ),
    (
        "orgUnit",
        "{ orgUnit(code: \"AGENCY\") { code } }",
        Expect::Unauthenticated,
        Expect::Allowed,
    ),
    (
        "topics",
        "{ topics { totalCount } }",
        Expect::Unauthenticated,
        Expect::Allowed,
    ),
];

const MUTATIONS: &[&str] = &["login", "refreshSession", "logout"];

async fn root_fields(app: &TestApp, type_name: &str) -> BTreeSet<String> {
    let (_, body) = app
        .post(
            None,
            "query($name: String!) { __type(name: $name) { fields { name } } }",
            json!({ "name": type_name }),
        )
        .await;
    body["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_matrix_covers_every_root_field() {
    let app = TestApp::spawn().await;
    let queries: BTreeSet<String> = QUERIES.iter().map(|(name, ..)| name.to_string()).collect();
    assert_eq!(
        root_fields(&app, "Query").await,
        queries,
        "add new query fields to QUERIES"
    );
    let mutations: BTreeSet<String> = MUTATIONS.iter().map(|name| name.to_string()).collect();
    assert_eq!(
        root_fields(&app, "Mutation").await,
        mutations,
        "add new mutations to MUTATIONS"
    );
}

#[tokio::test]
async fn every_role_against_every_query() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let users = app.users_of_every_role().await;
    let mut callers: Vec<(Option<Role>, Option<String>, Option<String>)> = vec![(None, None, None)];
    callers.extend(
        users
            .into_iter()
            .map(|(role, email, token)| (Some(role), Some(email), Some(token))),
    );
    for (role, email, token) in &callers {
        for (field, query, anonymous, signed_in) in QUERIES {
            let expected = if role.is_some() {
                *signed_in
            } else {
                *anonymous
            };
            let (status, body) = app.post(token.as_deref(), query, json!({})).await;
            assert_eq!(status, StatusCode::OK);
            match expected {
                Expect::Allowed => {
                    assert!(body.get("errors").is_none(), "{role:?} {field}: {body}");
                    assert!(!body["data"][field].is_null(), "{role:?} {field}: {body}");
                }
                Expect::Unauthenticated => {
                    assert_eq!(
                        first_error_code(&body),
                        Some("UNAUTHENTICATED"),
                        "{role:?} {field}: {body}"
                    );
                    assert!(body["data"].is_null(), "nothing leaks: {body}");
                }
            }
        }
        // `me` is always the caller, never anyone else.
        if let (Some(role), Some(email), Some(token)) = (role, email, token) {
            let (_, body) = app
                .post(Some(token), "{ me { email role } }", json!({}))
                .await;
            assert_eq!(body["data"]["me"]["email"], email.as_str());
            assert_eq!(
                body["data"]["me"]["role"],
                serde_json::to_value(role).unwrap()
            );
        }
    }
}

#[tokio::test]
async fn every_role_against_every_mutation() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let users = app.users_of_every_role().await;

    // Anonymous: login and refreshSession are the only doors, and they need valid credentials.
    let (_, body) = app.post(None, "mutation { logout }", json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    let (_, body) = app
        .post(
            None,
            "mutation { refreshSession(refreshToken: \"bmr_nope\") { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));

    for (role, email, token) in users {
        let (_, body) = app.login(&email, PASSWORD).await;
        assert_eq!(
            body["data"]["login"]["user"]["email"],
            email.as_str(),
            "{role:?}: {body}"
        );
        let refresh_token = body["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, body) = app
            .post(
                None,
                "mutation($t: String!) { refreshSession(refreshToken: $t) { user { email } } }",
                json!({ "t": refresh_token }),
            )
            .await;
        assert_eq!(
            body["data"]["refreshSession"]["user"]["email"],
            email.as_str(),
            "{role:?}"
        );
        let (_, body) = app
            .post(Some(&token), "mutation { logout }", json!({}))
            .await;
        assert_eq!(body["data"]["logout"], true, "{role:?}: {body}");
    }
}

#[tokio::test]
async fn lists_page_with_stable_keyset_cursors() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("auditor@test.example", Role::Auditor, "AGENCY", false)
        .await;
    let token = app.token_for("auditor@test.example").await;
    let page = "query($first: Int, $after: String, $last: Int, $before: String, $under: String) {
        orgUnits(first: $first, after: $after, last: $last, before: $before, underCode: $under) {
            totalCount edges { cursor node { code depth parent { code } } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let codes = |body: &Value| -> Vec<String> {
        body["data"]["orgUnits"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["code"].as_str().unwrap().to_owned())
            .collect()
    };

    let (_, first) = app.post(Some(&token), page, json!({ "first": 2 })).await;
    assert_eq!(codes(&first), ["AGENCY", "OFFICE-A"]);
    assert_eq!(first["data"]["orgUnits"]["totalCount"], 6);
    assert_eq!(first["data"]["orgUnits"]["pageInfo"]["hasNextPage"], true);
    let after = first["data"]["orgUnits"]["pageInfo"]["endCursor"].clone();

    // A unit inserted before the cursor does not shift the next page.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("INSERT INTO org_units (code, name) VALUES ('AAA-NEW', 'New')"),
        &mut app.connection(),
    )
    .unwrap();
    let (_, second) = app
        .post(Some(&token), page, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(codes(&second), ["OFFICE-B", "TEAM-A1"]);
    assert_eq!(
        second["data"]["orgUnits"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let (_, last) = app.post(Some(&token), page, json!({ "last": 2 })).await;
    assert_eq!(codes(&last), ["TEAM-A2", "TEAM-B1"]);
    assert_eq!(
        last["data"]["orgUnits"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let before = last["data"]["orgUnits"]["pageInfo"]["startCursor"].clone();
    let (_, earlier) = app
        .post(Some(&token), page, json!({ "last": 1, "before": before }))
        .await;
    assert_eq!(codes(&earlier), ["TEAM-A1"]);

    let (_, subtree) = app
        .post(Some(&token), page, json!({ "under": "OFFICE-A" }))
        .await;
    assert_eq!(codes(&subtree), ["OFFICE-A", "TEAM-A1", "TEAM-A2"]);
    assert_eq!(subtree["data"]["orgUnits"]["totalCount"], 3);
    assert_eq!(subtree["data"]["orgUnits"]["edges"][1]["node"]["depth"], 2);
    assert_eq!(
        subtree["data"]["orgUnits"]["edges"][1]["node"]["parent"]["code"],
        "OFFICE-A"
    );

    for (variables, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (json!({ "under": "NOWHERE" }), "underCode"),
    ] {
        let (_, body) = app.post(Some(&token), page, variables.clone()).await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{variables}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
    }
    let (_, body) = app
        .post(Some(&token), page, json!({ "first": 1, "last": 1 }))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
}
