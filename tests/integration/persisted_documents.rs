//! Persisted documents over HTTP: Apollo's automatic persisted queries (hash first, then the
//! text with its hash), who may register and how many are kept, `GET` by hash (cacheable when
//! configured, never for a mutation), and trusted-documents (allow-list) mode with documents
//! registered through the same domain function as `bac-metrics documents add` — and through the
//! command itself.

use std::{collections::HashMap, process::Command};

use bac_metrics::{
    audit::Actor,
    db::enums::Role,
    records::documents::{self, DocumentHash, TrustedDocumentDraft},
};
use diesel::{prelude::*, sql_types::BigInt};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{first_error_code, first_error_message, TestApp, TEST_SECRET};

const ME: &str = "query Me { me { email role } }";
/// A mutation an agent may not run: it reaches the resolver and is refused there.
const CREATE_TOPIC: &str =
    r#"mutation CreateTopic { createTopic(code: "PQ-TOPIC", name: "Persisted") { code } }"#;

fn hash_of(text: &str) -> String {
    DocumentHash::of(text).as_str().to_owned()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs a GraphQL body as it is given, asking for `accept`.
async fn post_body(
    app: &TestApp,
    token: Option<&str>,
    body: Value,
    accept: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.graphql_url())
        .header(header::ACCEPT, accept)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn post_json(app: &TestApp, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    post_body(app, token, body, "application/json").await
}

/// A `GET` by hash alone, with `extensions` as URL-encoded JSON.
async fn get_by_hash(
    app: &TestApp,
    token: Option<&str>,
    hash: &str,
    operation_name: Option<&str>,
) -> reqwest::Response {
    let mut query = vec![("extensions", persisted(hash).to_string())];
    if let Some(name) = operation_name {
        query.push(("operationName", name.to_owned()));
    }
    let mut request = app
        .client
        .get(app.graphql_url())
        .header(header::ACCEPT, "application/graphql-response+json")
        .query(&query);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    sha256: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    trusted: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    registered_by: Option<i64>,
}

fn stored(app: &TestApp) -> HashMap<String, Row> {
    diesel::sql_query("SELECT sha256, trusted, registered_by FROM persisted_documents")
        .load::<Row>(&mut app.connection())
        .unwrap()
        .into_iter()
        .map(|row| (row.sha256.clone(), row))
        .collect()
}

fn audit_actions(app: &TestApp, prefix: &str) -> Vec<(String, String, Option<String>)> {
    #[derive(QueryableByName)]
    struct Event {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor_role: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        entity_id: Option<String>,
    }
    diesel::sql_query(
        "SELECT action, actor_role, entity_id FROM audit_events WHERE action LIKE $1 ORDER BY id",
    )
    .bind::<diesel::sql_types::Text, _>(format!("{prefix}%"))
    .load::<Event>(&mut app.connection())
    .unwrap()
    .into_iter()
    .map(|event| (event.action, event.actor_role, event.entity_id))
    .collect()
}

async fn app_with_users(variables: &[(&str, &str)]) -> (TestApp, HashMap<Role, String>) {
    let app = TestApp::spawn_with(variables).await;
    app.seed_org().await;
    let tokens = app
        .users_of_every_role()
        .await
        .into_iter()
        .map(|(role, _, token)| (role, token))
        .collect();
    (app, tokens)
}

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let (app, tokens) = app_with_users(&[]).await;
    let supervisor = tokens[&Role::Supervisor].as_str();
    let hash = hash_of(ME);

    // 1. The hash alone, unknown: the error Apollo's link retries on. `application/json` keeps
    //    200 (legacy clients), `application/graphql-response+json` says 404.
    let (status, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        first_error_code(&body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );
    assert_eq!(first_error_message(&body), "PersistedQueryNotFound");
    assert!(body.get("data").is_none(), "{body}");
    let (status, body) = post_body(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash) }),
        "application/graphql-response+json",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"));

    // 2. The text with a hash that is not its own: refused, nothing stored.
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "query": ME, "extensions": persisted(&hash_of("{ me { id } }")) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.sha256Hash"
    );
    assert!(body["data"].is_null());
    assert!(stored(&app).is_empty());

    // A GET with the text and its hash runs, but writes nothing: only a POST registers.
    let response = app
        .client
        .get(app.graphql_url())
        .bearer_auth(supervisor)
        .query(&[("query", ME), ("extensions", &persisted(&hash).to_string())])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");
    assert!(stored(&app).is_empty());

    // 3. The text with its hash: it runs and is registered for the signed-in caller.
    let (status, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "query": ME, "operationName": "Me", "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");
    let rows = stored(&app);
    assert_eq!(rows.len(), 1);
    assert!(!rows[&hash].trusted);
    assert!(rows[&hash].registered_by.is_some());

    // 4. Now the hash alone runs it, for any caller, over POST and GET (the URL's `extensions`).
    let agent = tokens[&Role::Agent].as_str();
    let (_, body) = post_json(&app, Some(agent), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
    let response = get_by_hash(&app, Some(agent), &hash, Some("Me")).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Not cacheable unless configured.
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], "agent@test.example", "{body}");

    // 5. A registered mutation is still refused over GET, even by hash alone.
    let mutation_hash = hash_of(CREATE_TOPIC);
    let (_, body) = post_json(
        &app,
        Some(agent),
        json!({ "query": CREATE_TOPIC, "extensions": persisted(&mutation_hash) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
    assert!(stored(&app).contains_key(&mutation_hash));
    let response = get_by_hash(&app, Some(agent), &mutation_hash, None).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");

    // Automatic registrations are a cache: no audit events.
    assert!(audit_actions(&app, "persisted_document.").is_empty());
}

#[tokio::test]
async fn anonymous_callers_cannot_register_and_accounts_have_a_budget_and_a_cap() {
    let (app, tokens) = app_with_users(&[
        ("GRAPHQL_PERSISTED_QUERIES_PER_USER_PER_HOUR", "2"),
        ("GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC", "3"),
    ])
    .await;

    // Anonymous: the query runs, nothing is stored; the next hash-only request misses again.
    let anonymous = "query Anonymous { __typename }";
    let (_, body) = post_json(
        &app,
        None,
        json!({ "query": anonymous, "extensions": persisted(&hash_of(anonymous)) }),
    )
    .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    // A refused token is no better than none.
    let (_, body) = post_json(
        &app,
        Some("not-a-token"),
        json!({ "query": anonymous, "extensions": persisted(&hash_of(anonymous)) }),
    )
    .await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    assert!(stored(&app).is_empty());

    // One account registers at most two an hour; the third still runs.
    let documents: Vec<String> = (0..5)
        .map(|index| format!("query Numbered{index} {{ __typename }}"))
        .collect();
    let analyst = tokens[&Role::Analyst].as_str();
    for document in &documents[..3] {
        let (_, body) = post_json(
            &app,
            Some(analyst),
            json!({ "query": document, "extensions": persisted(&hash_of(document)) }),
        )
        .await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    let rows = stored(&app);
    assert_eq!(rows.len(), 2);
    assert!(!rows.contains_key(&hash_of(&documents[2])));

    // Another account adds two more: only the newest three are kept.
    let auditor = tokens[&Role::Auditor].as_str();
    for document in &documents[3..] {
        post_json(
            &app,
            Some(auditor),
            json!({ "query": document, "extensions": persisted(&hash_of(document)) }),
        )
        .await;
    }
    let rows = stored(&app);
    assert_eq!(rows.len(), 3, "{:?}", rows.keys());
    assert!(!rows.contains_key(&hash_of(&documents[0])));
    for kept in [&documents[1], &documents[3], &documents[4]] {
        assert!(rows.contains_key(&hash_of(kept)), "{kept}");
    }
}

#[tokio::test]
async fn a_get_by_hash_may_be_cached_by_the_browser_when_configured() {
    let (app, tokens) = app_with_users(&[("GRAPHQL_PERSISTED_GET_MAX_AGE_SECONDS", "60")]).await;
    let agent = tokens[&Role::Agent].as_str();
    let hash = hash_of(ME);
    post_json(
        &app,
        Some(agent),
        json!({ "query": ME, "extensions": persisted(&hash) }),
    )
    .await;
    let response = get_by_hash(&app, Some(agent), &hash, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "private, max-age=60"
    );
    let vary = response.headers()[header::VARY].to_str().unwrap();
    assert!(vary.contains("Authorization"), "{vary}");
    // An answer with errors is never kept.
    let response = get_by_hash(&app, None, &hash, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    // Nor one that sent the text.
    let response = app
        .client
        .get(app.graphql_url())
        .bearer_auth(agent)
        .query(&[("query", ME)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

fn draft(text: &str) -> TrustedDocumentDraft {
    let path = std::env::temp_dir().join(format!("bac-pq-{}.graphql", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    let mut drafts = documents::read_file(&path, 1 << 20).unwrap();
    std::fs::remove_file(&path).unwrap();
    drafts.remove(0)
}

#[tokio::test]
async fn allow_list_mode_runs_only_registered_documents_before_any_sql() {
    let (app, tokens) = app_with_users(&[("GRAPHQL_TRUSTED_DOCUMENTS", "allow-list")]).await;
    let admin = tokens[&Role::Admin].as_str();
    let supervisor = tokens[&Role::Supervisor].as_str();
    let admin_only = "query Units { orgUnits { totalCount } }";
    // Registered through the command line's own domain function.
    let report = documents::add_trusted(&app.database, Actor::operator(), vec![draft(ME)], None)
        .await
        .unwrap();
    assert_eq!(report[0].outcome, documents::AddOutcome::Added);
    documents::add_trusted(
        &app.database,
        Actor::operator(),
        vec![draft(admin_only)],
        Some(vec![Role::Admin]),
    )
    .await
    .unwrap();

    // A registered document runs in full or by hash alone, for any role.
    let (_, body) = app.post(Some(supervisor), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash_of(ME)) }),
    )
    .await;
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");

    // Anything else is refused before it runs: the mutation creates nothing.
    let (status, body) = post_body(
        &app,
        Some(admin),
        json!({ "query": CREATE_TOPIC }),
        "application/graphql-response+json",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        first_error_code(&body),
        Some("PERSISTED_QUERY_NOT_ALLOWED"),
        "{body}"
    );
    assert!(body.get("data").is_none());
    let (_, body) = app
        .post(Some(admin), "{ topics { totalCount } }", json!({}))
        .await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_ALLOWED"));
    let topics: i64 =
        diesel::sql_query("SELECT count(*) AS count FROM topics WHERE code = 'PQ-TOPIC'")
            .get_result::<Count>(&mut app.connection())
            .unwrap()
            .count;
    assert_eq!(topics, 0);

    // Apollo's link: an unknown hash is "not found", its retry with the text "not allowed",
    // and nothing is registered automatically in this mode.
    let (_, body) = post_json(
        &app,
        Some(admin),
        json!({ "extensions": persisted(&hash_of(CREATE_TOPIC)) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"));
    let (_, body) = post_json(
        &app,
        Some(admin),
        json!({ "query": CREATE_TOPIC, "extensions": persisted(&hash_of(CREATE_TOPIC)) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_ALLOWED"));
    assert!(stored(&app).values().all(|row| row.trusted));

    // An automatic registration left from before the mode was turned on is not trusted.
    let leftover = "query Leftover { me { id } }";
    diesel::sql_query(
        "INSERT INTO persisted_documents (sha256, body, trusted) VALUES ($1, $2, false)",
    )
    .bind::<diesel::sql_types::Text, _>(hash_of(leftover))
    .bind::<diesel::sql_types::Text, _>(leftover)
    .execute(&mut app.connection())
    .unwrap();
    let (_, body) = post_json(
        &app,
        Some(admin),
        json!({ "extensions": persisted(&hash_of(leftover)) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"));
    let (_, body) = app.post(Some(admin), leftover, json!({})).await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_ALLOWED"));

    // A document limited to roles: other roles are refused, a caller without a token is asked
    // to sign in.
    let (_, body) = app.post(Some(admin), admin_only, json!({})).await;
    assert!(
        body["data"]["orgUnits"]["totalCount"].as_i64().unwrap() > 0,
        "{body}"
    );
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash_of(admin_only)) }),
    )
    .await;
    assert_eq!(
        first_error_code(&body),
        Some("PERSISTED_QUERY_NOT_ALLOWED"),
        "{body}"
    );
    let (_, body) = app.post(None, admin_only, json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    // Development keeps introspection (GraphiQL) working.
    let (_, body) = app
        .post(
            Some(admin),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );

    // Adding again changes nothing; changing the roles is audited; removing takes effect at once.
    let report = documents::add_trusted(&app.database, Actor::operator(), vec![draft(ME)], None)
        .await
        .unwrap();
    assert_eq!(report[0].outcome, documents::AddOutcome::Unchanged);
    let report = documents::add_trusted(
        &app.database,
        Actor::operator(),
        vec![draft(admin_only)],
        Some(vec![Role::Admin, Role::Supervisor]),
    )
    .await
    .unwrap();
    assert_eq!(report[0].outcome, documents::AddOutcome::RolesChanged);
    let (_, body) = app.post(Some(supervisor), admin_only, json!({})).await;
    assert!(body["data"]["orgUnits"].is_object(), "{body}");
    documents::remove(&app.database, Actor::operator(), DocumentHash::of(ME))
        .await
        .unwrap();
    let (_, body) = app.post(Some(supervisor), ME, json!({})).await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_ALLOWED"));
    let events = audit_actions(&app, "persisted_document.");
    let actions: Vec<&str> = events
        .iter()
        .map(|(action, _, _)| action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "persisted_document.add",
            "persisted_document.add",
            "persisted_document.update",
            "persisted_document.remove"
        ]
    );
    assert!(events.iter().all(|(_, actor, _)| actor == "operator"));
    assert_eq!(events[3].2.as_deref(), Some(hash_of(ME).as_str()));
}

#[tokio::test]
async fn allow_list_mode_in_production_refuses_introspection_too() {
    let (app, tokens) = app_with_users(&[
        ("GRAPHQL_TRUSTED_DOCUMENTS", "allow-list"),
        ("APP_ENV", "production"),
    ])
    .await;
    let (_, body) = app
        .post(
            Some(&tokens[&Role::Admin]),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        first_error_code(&body),
        Some("PERSISTED_QUERY_NOT_ALLOWED"),
        "{body}"
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// `bac-metrics documents add|list|remove` against the database of a server in allow-list mode.
#[tokio::test]
async fn the_documents_command_registers_files_and_manifests_for_the_allow_list() {
    let (app, tokens) = app_with_users(&[("GRAPHQL_TRUSTED_DOCUMENTS", "allow-list")]).await;
    let folder = std::env::temp_dir().join(format!("bac-pq-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    // A .graphql file with two named operations is one document.
    let two_operations = "query Me { me { email } }\n\nquery Units { orgUnits { totalCount } }\n";
    std::fs::write(folder.join("operations.graphql"), two_operations).unwrap();
    // An Apollo manifest, as @apollo/generate-persisted-query-manifest writes it.
    let topics = "query Topics {\n  topics {\n    totalCount\n  }\n}";
    let apollo = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{ "id": hash_of(topics), "name": "Topics", "type": "query", "body": topics }],
    });
    std::fs::write(folder.join("manifest.json"), apollo.to_string()).unwrap();
    // A Relay map with SHA-256 ids.
    let relay_text = "query RelayMe { me { role } }";
    std::fs::write(
        folder.join("relay.json"),
        json!({ hash_of(relay_text): relay_text }).to_string(),
    )
    .unwrap();

    let secret = String::from_utf8(TEST_SECRET.to_vec()).unwrap();
    let run = |arguments: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_bac-metrics"))
            .args(arguments)
            .current_dir(&folder)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("JWT_SECRET", &secret)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (ok, stdout, stderr) = run(&[
        "documents",
        "add",
        "operations.graphql",
        "manifest.json",
        "relay.json",
        "--role",
        "supervisor,admin",
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("{}  added  Me, Units", hash_of(two_operations))),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 document(s): 3 added or changed, 0 unchanged"),
        "{stdout}"
    );

    // The server runs them by hash, for the roles given; the file's operations by name.
    let supervisor = tokens[&Role::Supervisor].as_str();
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash_of(two_operations)), "operationName": "Units" }),
    )
    .await;
    assert!(body["data"]["orgUnits"]["totalCount"].is_number(), "{body}");
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash_of(topics)) }),
    )
    .await;
    assert!(body["data"]["topics"]["totalCount"].is_number(), "{body}");
    let (_, body) = app.post(Some(supervisor), relay_text, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");
    let (_, body) = app
        .post(Some(&tokens[&Role::Analyst]), relay_text, json!({}))
        .await;
    assert_eq!(
        first_error_code(&body),
        Some("PERSISTED_QUERY_NOT_ALLOWED"),
        "{body}"
    );

    // Again: nothing changes. A bad file names itself and nothing of the batch is written.
    let (ok, stdout, _) = run(&[
        "documents",
        "add",
        "manifest.json",
        "--role",
        "admin",
        "--role",
        "supervisor",
    ]);
    assert!(ok);
    assert!(
        stdout.contains("1 document(s): 0 added or changed, 1 unchanged"),
        "{stdout}"
    );
    std::fs::write(folder.join("broken.graphql"), "query { oops").unwrap();
    std::fs::write(folder.join("new.graphql"), "query New { __typename }").unwrap();
    let (ok, _, stderr) = run(&["documents", "add", "new.graphql", "broken.graphql"]);
    assert!(!ok);
    assert!(stderr.contains("broken.graphql"), "{stderr}");
    assert!(stderr.contains("is not a GraphQL document"), "{stderr}");
    assert!(!stored(&app).contains_key(&hash_of("query New { __typename }")));
    let wrong =
        json!({ "0000000000000000000000000000000000000000000000000000000000000000": relay_text });
    std::fs::write(folder.join("wrong.json"), wrong.to_string()).unwrap();
    let (ok, _, stderr) = run(&["documents", "add", "wrong.json"]);
    assert!(!ok);
    assert!(
        stderr.contains("is not the SHA-256 of its text"),
        "{stderr}"
    );

    let (ok, stdout, _) = run(&["documents", "list"]);
    assert!(ok);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|line| line.contains("  trusted  admin,supervisor  ")),
        "{stdout}"
    );

    let (ok, stdout, _) = run(&["documents", "remove", &hash_of(topics)]);
    assert!(ok);
    assert_eq!(
        stdout.trim(),
        format!("removed {} (trusted)", hash_of(topics))
    );
    let (ok, _, stderr) = run(&["documents", "remove", &hash_of(topics)]);
    assert!(!ok);
    assert!(
        stderr.contains("no persisted document has the hash"),
        "{stderr}"
    );
    let (_, body) = post_json(
        &app,
        Some(supervisor),
        json!({ "extensions": persisted(&hash_of(topics)) }),
    )
    .await;
    assert_eq!(first_error_code(&body), Some("PERSISTED_QUERY_NOT_FOUND"));

    let events = audit_actions(&app, "persisted_document.");
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events.iter().all(|(_, actor, _)| actor == "operator"));
    std::fs::remove_dir_all(&folder).unwrap();
}
