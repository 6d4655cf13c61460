//! One home for every rule: the defects found when the same rule lived in several places, each
//! with the test that shows it fixed. Customer details change only with an inserted row and
//! every change is audited by field name; conflicts do not say which stored fields differ;
//! imports are strict (header, booleans, the cross-field rules, bounds, the first rejected rows
//! kept and truncation flagged); a follow-up's idempotency key is its recorder's own; every CSV
//! export neutralises spreadsheet formulas; a JWT with `crit` is refused; sessions end at their
//! absolute lifetime; `migrate` says what it applied; a production default without `APP_ENV`;
//! log lines written inside database work carry the request id; and the layering of `src/`.

use std::{path::Path, time::Duration};

use bac_metrics::db::{
    enums::Role,
    schema::{audit_events, customers, interactions, sessions, survey_responses},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{
    fixture::{self, interaction_input, RECORD},
    helpers::{
        empty_database, first_error_code, first_error_message, rejections, spawn_server_process,
        TestApp, PASSWORD, TEST_SECRET,
    },
};

const INTERACTIONS_HEADER: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";

async fn upload(app: &TestApp, token: &str, kind: &str, body: String) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .header("content-type", "text/csv")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn customer_email(app: &TestApp, reference: &str) -> Option<String> {
    customers::table
        .filter(customers::customer_ref.eq(reference))
        .select(customers::email)
        .first(&mut app.connection())
        .unwrap()
}

/// The `after` images of the `customer.details` audit events, oldest first.
fn customer_detail_events(app: &TestApp) -> Vec<Value> {
    audit_events::table
        .filter(audit_events::action.eq("customer.details"))
        .order(audit_events::id)
        .select(audit_events::after)
        .load::<Option<Value>>(&mut app.connection())
        .unwrap()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn with_email(mut input: Value, email: &str) -> Value {
    input["customer"]["email"] = json!(email);
    input
}

#[tokio::test]
async fn customer_details_change_only_with_an_inserted_row_and_each_change_is_audited_by_field() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let original = customer_email(&app, "CRM-1");
    assert_eq!(original.as_deref(), Some("crm-1@example.com"));
    let events_before = customer_detail_events(&app).len();
    let call_1 = || interaction_input("call-1", Some("agent@test.example"), "TEAM-A1", "CRM-1");

    // A retry of call-1 (unchanged) carrying another email leaves the customer alone.
    let (_, body) = app
        .post(
            Some(ingest),
            RECORD,
            json!({ "input": with_email(call_1(), "rewritten@example.com") }),
        )
        .await;
    assert_eq!(
        body["data"]["recordInteraction"]["created"], false,
        "{body}"
    );
    assert_eq!(customer_email(&app, "CRM-1"), original);

    // A conflicting resend neither changes the customer nor says which stored field differs
    // (ingest may not read the stored record).
    let mut conflicting = with_email(call_1(), "rewritten@example.com");
    conflicting["handleSeconds"] = json!(301);
    let (_, body) = app
        .post(Some(ingest), RECORD, json!({ "input": conflicting }))
        .await;
    assert_eq!(first_error_code(&body), Some("CONFLICT"), "{body}");
    let message = first_error_message(&body);
    assert!(message.contains("different content"), "{message}");
    for stored_field in ["handle", "Seconds", "300"] {
        assert!(!message.contains(stored_field), "{message}");
    }
    assert_eq!(customer_email(&app, "CRM-1"), original);

    // The same through an import: the duplicate row is unchanged, the customer too.
    let file = format!(
        "{INTERACTIONS_HEADER}\n\
         phone-system,call-1,phone,TEAM-A1,agent@test.example,CRM-1,Business CRM-1,Pat Owner,rewritten@example.com,+1-555-0100,LICENSING,2026-11-02T15:00:00Z,20,300,0,false,resolved\n"
    );
    let (status, report) = upload(&app, ingest, "interactions", file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["unchanged"], 1, "{report}");
    assert_eq!(customer_email(&app, "CRM-1"), original);
    assert_eq!(customer_detail_events(&app).len(), events_before);

    // A new contact that carries a new email changes it, and the trail names the field only.
    let (_, body) = app
        .post(
            Some(ingest),
            RECORD,
            json!({ "input": with_email(
                interaction_input("call-9", Some("agent@test.example"), "TEAM-A1", "CRM-1"),
                "New.Address@example.com",
            ) }),
        )
        .await;
    assert_eq!(body["data"]["recordInteraction"]["created"], true, "{body}");
    assert_eq!(
        customer_email(&app, "CRM-1").as_deref(),
        Some("new.address@example.com")
    );
    let customer_id: i64 = customers::table
        .filter(customers::customer_ref.eq("CRM-1"))
        .select(customers::id)
        .first(&mut app.connection())
        .unwrap();
    let events = customer_detail_events(&app);
    assert_eq!(events.len(), events_before + 1, "{events:?}");
    let change = events.last().unwrap();
    assert_eq!(
        change["changed"],
        json!([{ "customer_id": customer_id, "fields": ["email"] }]),
        "{change}"
    );
    assert!(!change.to_string().contains("new.address"), "{change}");
}

#[tokio::test]
async fn imports_are_strict_about_headers_booleans_bounds_and_the_rules_between_fields() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let count = |app: &TestApp| -> i64 {
        interactions::table
            .count()
            .get_result(&mut app.connection())
            .unwrap()
    };
    let before = count(&app);

    // A header missing a required column, or naming one twice, is refused before any row.
    let missing = INTERACTIONS_HEADER.replace(",outcome", "");
    let (status, body) = upload(
        &app,
        ingest,
        "interactions",
        format!(
            "{missing}\nphone-system,m-1,phone,TEAM-A1,,,,,,,,2026-11-02T15:00:00Z,,,0,false\n"
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    let message = first_error_message(&body);
    assert!(message.contains("missing column(s) outcome"), "{message}");
    assert!(message.contains(INTERACTIONS_HEADER), "{message}");
    let doubled = format!("{INTERACTIONS_HEADER},channel");
    let (status, body) = upload(
        &app,
        ingest,
        "interactions",
        format!("{doubled}\nphone-system,d-1,phone,TEAM-A1,,,,,,,,2026-11-02T15:00:00Z,,,0,false,,email\n"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        first_error_message(&body).contains("column `channel` appears twice"),
        "{body}"
    );
    assert_eq!(count(&app), before);

    // Each row below breaks one rule and is refused with its line and field; the last is fine.
    let long_name = "N".repeat(300);
    let file = format!(
        "{INTERACTIONS_HEADER}\n\
         phone-system,s-2,phone,TEAM-A1,,,,,,,,2026-11-02T15:00:00Z,20,,0,yes,\n\
         phone-system,s-3,phone,TEAM-A1,agent@test.example,,,,,,,2026-11-02T15:00:00Z,20,,0,true,resolved\n\
         phone-system,s-4,email,TEAM-A1,agent@test.example,,,,,,,2026-11-02T15:00:00Z,30,100,0,false,resolved\n\
         phone-system,s-5,phone,TEAM-A1,agent@test.example,,,,,,,0001-01-01T00:00:00Z,20,100,0,false,resolved\n\
         phone-system,s-6,phone,TEAM-A1,agent@test.example,CRM-6,,{long_name},,,,2026-11-02T15:00:00Z,20,100,0,false,resolved\n\
         phone-system,s-7,phone,TEAM-A1,,,,,,,,2026-11-02T15:00:00Z,20,,0,true,\n"
    );
    let (status, report) = upload(&app, ingest, "interactions", file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 1, "{report}");
    assert_eq!(report["rejected"], 5, "{report}");
    assert_eq!(report["rejected_rows_truncated"], false);
    let refused: Vec<(i64, String)> = rejections(&report)
        .into_iter()
        .map(|(line, field, _)| (line, field))
        .collect();
    assert_eq!(
        refused,
        vec![
            (2, "abandoned".to_owned()),
            (3, "agent_email".to_owned()),
            (4, "wait_seconds".to_owned()),
            (5, "started_at".to_owned()),
            (6, "contact_name".to_owned()),
        ],
        "{report}"
    );
    let reasons = rejections(&report);
    assert!(
        reasons[0].2.contains("is not `true` or `false`"),
        "{report}"
    );
    assert!(reasons[1].2.contains("abandoned"), "{report}");
    assert!(reasons[4].2.contains("200"), "{report}");
    assert_eq!(count(&app), before + 1);

    // The API refuses the same abandoned-with-an-agent contact with the same rule.
    let mut abandoned = interaction_input("s-3", Some("agent@test.example"), "TEAM-A1", "CRM-1");
    abandoned["abandoned"] = json!(true);
    let (_, body) = app
        .post(Some(ingest), RECORD, json!({ "input": abandoned }))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "agentEmail",
        "{body}"
    );

    // An invitation sent before its contact began is refused, one sent after is accepted.
    let invitations =
        "source,external_id,interaction_source,interaction_external_id,kind,sent_at\n\
        svy,early,phone-system,call-1,post_call,2026-11-01T00:00:00Z\n\
        svy,later,phone-system,call-1,post_call,2026-11-02T16:00:00Z\n";
    let (status, report) = upload(&app, ingest, "survey-invitations", invitations.into()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 1, "{report}");
    let refused = rejections(&report);
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!((refused[0].0, refused[0].1.as_str()), (2, "sent_at"));
    assert!(
        refused[0]
            .2
            .contains("must not be before the interaction started"),
        "{report}"
    );
}

#[tokio::test]
async fn a_long_rejection_list_keeps_the_first_rows_and_says_it_was_cut() {
    // Several batches on several workers: the kept rows must still be the first by line.
    let app = TestApp::spawn_with(&[("IMPORT_BATCH_SIZE", "100"), ("IMPORT_WORKERS", "3")]).await;
    let world = fixture::build(&app).await;
    let mut file = format!("{INTERACTIONS_HEADER}\n");
    for row in 0..1_250 {
        // An org unit that does not exist: refused when its batch is written.
        file.push_str(&format!(
            "phone-system,cut-{row},phone,NO-SUCH-UNIT,,,,,,,,2026-11-02T15:00:00Z,20,,0,true,\n"
        ));
    }
    let (status, report) = upload(&app, world.token(Role::Ingest), "interactions", file).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["rejected"], 1_250);
    assert_eq!(report["rejected_rows_truncated"], true);
    let lines: Vec<i64> = rejections(&report)
        .into_iter()
        .map(|(line, _, _)| line)
        .collect();
    assert_eq!(lines, (2..=1_001).collect::<Vec<i64>>());
}

const FOLLOW_UP: &str = "mutation($id: ID!, $answers: SurveyAnswersInput!, $source: String, $key: String) {
    recordFollowUpAssessment(interactionId: $id, answers: $answers, source: $source, externalId: $key) { id } }";

/// Records a follow-up on `interaction` under the key (`crm`, `F-1`); returns the body.
async fn record_follow_up(app: &TestApp, token: &str, interaction: &str, answers: &Value) -> Value {
    app.post(
        Some(token),
        FOLLOW_UP,
        json!({ "id": interaction, "answers": answers, "source": "crm", "key": "F-1" }),
    )
    .await
    .1
}

#[tokio::test]
async fn follow_up_keys_belong_to_their_recorder_and_reveal_nothing_of_others() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let agent = world.token(Role::Agent);
    let other = world.other_agent_token.as_str();
    let answers = json!({ "satisfaction": 4, "resolved": true });
    let first = record_follow_up(&app, agent, &world.own_interaction, &answers).await;
    let first_id = first["data"]["recordFollowUpAssessment"]["id"].clone();
    assert!(first_id.is_string(), "{first}");

    // The other agent's "F-1" is their own key: it records, whatever the first agent holds.
    let theirs = record_follow_up(
        &app,
        other,
        &world.other_interaction,
        &json!({ "satisfaction": 1 }),
    )
    .await;
    let their_id = &theirs["data"]["recordFollowUpAssessment"]["id"];
    assert!(their_id.is_string(), "{theirs}");
    assert_ne!(their_id, &first_id);

    // The other agent probing with the first agent's interaction learns only "not found",
    // exactly as for an id that does not exist.
    let probe = record_follow_up(&app, other, &world.own_interaction, &answers).await;
    let missing = record_follow_up(&app, other, "999999", &answers).await;
    assert_eq!(first_error_code(&probe), Some("NOT_FOUND"), "{probe}");
    assert_eq!(first_error_code(&missing), Some("NOT_FOUND"));
    assert_eq!(
        first_error_message(&probe).replace(&world.own_interaction, "ID"),
        first_error_message(&missing).replace("999999", "ID")
    );

    // The recorder's own retry returns the original; different answers are a conflict.
    let retry = record_follow_up(&app, agent, &world.own_interaction, &answers).await;
    assert_eq!(retry["data"]["recordFollowUpAssessment"]["id"], first_id);
    let changed = record_follow_up(
        &app,
        agent,
        &world.own_interaction,
        &json!({ "satisfaction": 2 }),
    )
    .await;
    assert_eq!(first_error_code(&changed), Some("CONFLICT"), "{changed}");

    let keyed: i64 = survey_responses::table
        .filter(survey_responses::external_id.eq("F-1"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(keyed, 2);
}

/// Every data cell of a CSV document.
fn cells(document: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(document.as_bytes())
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// No cell a spreadsheet would run as a formula (a negative number is data, not a formula).
fn assert_no_formula(document: &str) {
    for row in cells(document) {
        for cell in row {
            let starts_like_a_formula = cell.starts_with(['=', '+', '@', '\t', '\r'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(
                !starts_like_a_formula,
                "formula cell {cell:?} in\n{document}"
            );
        }
    }
}

async fn get_text(app: &TestApp, token: &str, path: &str) -> String {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_csv_export_neutralises_spreadsheet_formulas() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let ingest = world.token(Role::Ingest);
    let hyperlink = "=HYPERLINK(\"http://x.example/?leak\",\"click\")";
    let calc = "+SUM(1+1)*cmd|' /C calc'!A0";
    let hostile_email = "=1+2@x.example";
    for (code, name) in [("HOSTILE-1", hyperlink), ("HOSTILE-2", calc)] {
        let (_, body) = app
            .post(
                Some(admin),
                "mutation($code: String!, $name: String!) { createOrgUnit(code: $code, name: $name, parentCode: \"OFFICE-A\") { id } }",
                json!({ "code": code, "name": name }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let (_, body) = app
        .post(
            Some(admin),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
            json!({ "input": { "email": hostile_email, "displayName": "@SUM(A1)", "role": "AGENT", "orgUnitCode": "HOSTILE-1", "password": PASSWORD } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    for (key, agent, unit) in [
        ("h-1", Some(hostile_email), "HOSTILE-1"),
        ("h-2", None, "HOSTILE-2"),
    ] {
        let (_, body) = app
            .post(
                Some(ingest),
                RECORD,
                json!({ "input": interaction_input(key, agent, unit, "CRM-1") }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    // /export/metrics.csv: the agent's email is a group label.
    let metrics = get_text(
        &app,
        admin,
        "/export/metrics.csv?metrics=INTERACTIONS&from=2026-11-01&to=2026-11-30&groupBy=AGENT",
    )
    .await;
    assert_no_formula(&metrics);
    assert!(
        cells(&metrics)
            .iter()
            .any(|row| row.contains(&format!("'{hostile_email}"))),
        "{metrics}"
    );

    // /export/interactions.csv: the agent's email is a column.
    let records = get_text(
        &app,
        admin,
        "/export/interactions.csv?from=2026-11-01&to=2026-11-30",
    )
    .await;
    assert_no_formula(&records);
    assert!(
        cells(&records)
            .iter()
            .any(|row| row.contains(&format!("'{hostile_email}"))),
        "{records}"
    );

    // /export/oversight-report.csv: org unit names (FY2027 Q2 is October–December 2026).
    let oversight = get_text(
        &app,
        admin,
        "/export/oversight-report.csv?fiscalYear=2027&quarter=2",
    )
    .await;
    assert_no_formula(&oversight);
    let rows = cells(&oversight);
    for name in [hyperlink, calc] {
        assert!(
            rows.iter().any(|row| row.contains(&format!("'{name}"))),
            "{name} missing from\n{oversight}"
        );
    }
}

/// Signs `header` and `claims` (JSON texts) with the test servers' HS256 secret.
fn signed_token(header: &str, claims: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(TEST_SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[tokio::test]
async fn a_token_naming_critical_header_extensions_is_refused() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let (_, body) = app.login("pat@test.example", PASSWORD).await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap();
    let claims_part = token.split('.').nth(1).unwrap();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(claims_part).unwrap()).unwrap();
    let me = "{ me { email } }";

    // Re-signed with a plain header the claims work, so the refusal below is the `crit`'s.
    let plain = signed_token(r#"{"alg":"HS256","typ":"JWT"}"#, &claims);
    let (status, body) = app.post_graphql_response(Some(&plain), me).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["email"], "pat@test.example");

    // The extension's value is a string: jsonwebtoken reads unknown header members as strings,
    // so this header decodes, and only the `crit` check can refuse it.
    let critical = signed_token(
        r#"{"alg":"HS256","typ":"JWT","crit":["exp-ext"],"exp-ext":"on"}"#,
        &claims,
    );
    let (status, body) = app.post_graphql_response(Some(&critical), me).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
}

const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";

#[tokio::test]
async fn refreshing_never_carries_a_session_past_its_absolute_lifetime() {
    let app = TestApp::spawn_with(&[("SESSION_MAX_LIFETIME_SECONDS", "86400")]).await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let (_, body) = app.login("pat@test.example", PASSWORD).await;
    let refresh_token = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Within the lifetime a refresh rotates as usual.
    let (_, body) = app
        .post(None, REFRESH, json!({ "token": refresh_token }))
        .await;
    let next = body["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();

    // The session began 25 hours ago: its day is over, however fresh the refresh token is.
    diesel::update(sessions::table)
        .set(sessions::created_at.eq(chrono::Utc::now() - chrono::Duration::hours(25)))
        .execute(&mut app.connection())
        .unwrap();
    let (_, body) = app.post(None, REFRESH, json!({ "token": next })).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
}

#[test]
fn migrate_lists_what_it_applied_and_then_says_there_is_nothing_to_do() {
    let url = empty_database();
    let migrate = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_bac-metrics"))
            .arg("migrate")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count();
    let first = migrate();
    assert!(
        first.starts_with(&format!("applied {migrations} migration(s):")),
        "{first}"
    );
    assert!(first.contains("  20261130000010\n"), "{first}");
    assert!(!first.contains("up to date"), "{first}");
    let second = migrate();
    assert_eq!(second.trim(), "migrations are up to date: nothing to apply");
}

#[tokio::test]
async fn without_app_env_a_server_is_production_and_logs_from_database_work_carry_the_request_id() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    // `serve` without APP_ENV (the helper sets none).
    let (mut server, address, logs) = spawn_server_process(&app.database_url, &[]);
    let client = reqwest::Client::new();

    // Production: no GraphiQL, no introspection.
    let graphiql = client
        .get(format!("{address}/graphiql"))
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql.status(), StatusCode::NOT_FOUND);
    let response = client
        .post(format!("{address}/graphql"))
        .bearer_auth(world.token(Role::Admin))
        .json(&json!({ "query": "{ __schema { types { name } } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["__schema"].is_null(), "{body}");

    // A conflicting resend: its "differs" line is written inside the database closure.
    let mut conflicting =
        interaction_input("call-1", Some("agent@test.example"), "TEAM-A1", "CRM-1");
    conflicting["handleSeconds"] = json!(301);
    let response = client
        .post(format!("{address}/graphql"))
        .bearer_auth(world.token(Role::Ingest))
        .json(&json!({ "query": RECORD, "variables": { "input": conflicting } }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), Some("CONFLICT"), "{body}");
    let line = loop {
        let event = logs
            .recv_timeout(Duration::from_secs(10))
            .expect("the conflict is logged");
        if event["message"] == "a resent interaction differs from the stored one" {
            break event;
        }
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        line.to_string().contains(&request_id),
        "request id {request_id} missing from {line}"
    );
    // The operator's log says which field differs; the caller was not told.
    assert_eq!(line["fields"], "[\"handleSeconds\"]", "{line}");
}

/// Modules below the API edge never reach up into it: `graphql/` and `http/` are entry points,
/// and the domain, records, metrics and database layers know nothing of them. (The one
/// exception, GraphQL's `Enum` derive on plain enums, is explained in docs/ARCHITECTURE.md.)
#[test]
fn the_domain_and_database_layers_do_not_import_the_api_edge() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lower_layers = [
        "domain",
        "db",
        "records",
        "metrics",
        "insights",
        "retention",
        "auth",
        "audit.rs",
        "error.rs",
        "import.rs",
        "config.rs",
    ];
    let mut offenders = Vec::new();
    let mut files = Vec::new();
    for layer in lower_layers {
        collect_rust_files(&source.join(layer), &mut files);
    }
    assert!(files.len() > 30, "found only {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let reaches_up = code.contains("crate::graphql")
                || code.contains("crate::http")
                || code.contains("super::graphql")
                || code.contains("async_graphql::ServerError")
                || code.contains("async_graphql::Context");
            if reaches_up {
                offenders.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

fn collect_rust_files(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            collect_rust_files(&entry.unwrap().path(), files);
        }
    } else if path.extension().is_some_and(|extension| extension == "rs") {
        files.push(path.to_owned());
    }
}
