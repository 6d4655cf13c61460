//! Admission control and resource budgets: costs priced before execution, bounded results,
//! workload isolation, rate limits and the sign-in throttle across server processes, refused
//! tokens that leave the audit chain alone, import limits, NUL bytes, fail-fast while the
//! database is down, and a drain on SIGTERM that answers every request already sent.

use std::{process::Command, sync::atomic::Ordering, time::Duration};

use bac_metrics::db::{
    cluster::{Durability, PrivateCluster},
    enums::Role,
    run_migrations,
    schema::{audit_events, topics},
    Workload,
};
use diesel::{connection::SimpleConnection, prelude::*};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::{
    fixture,
    helpers::{
        first_error_code, first_error_message, fresh_database, spawn_server_process, TestApp,
        PASSWORD,
    },
};

/// Seventeen metrics, two years by day, grouped by agent: the report an attacker would alias.
fn huge_metrics(alias: &str) -> String {
    format!(
        "{alias}: metrics(query: {{ metrics: [INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, SERVICE_LEVEL, AVERAGE_HANDLE_TIME, TRANSFER_RATE, FIRST_CONTACT_RESOLUTION, SELF_SERVICE_CONTAINMENT, CSAT, TRUST, EFFECTIVENESS, EASE, EFFICIENCY, TRANSPARENCY, HELPFULNESS, REPORTED_RESOLUTION, SURVEY_RESPONSE_RATE], from: \"2024-11-01\", to: \"2026-10-31\", granularity: DAY, groupBy: [AGENT] }}) {{ rows {{ periodLabel }} }}"
    )
}

fn audit_chain_length(app: &TestApp) -> i64 {
    audit_events::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn documents_over_their_cost_or_field_limits_are_refused_before_any_sql() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let agent = world.token(Role::Agent);
    let admin = world.token(Role::Admin);

    // Fifty aliases of a two-year daily per-agent report from an ordinary agent: refused with
    // the cost and the budget, and only the session check ran.
    let aliases: Vec<String> = (0..50)
        .map(|index| huge_metrics(&format!("r{index}")))
        .collect();
    let before = app.database.statements_executed();
    let (status, body) = app
        .post_graphql_response(Some(agent), &format!("{{ {} }}", aliases.join(" ")))
        .await;
    assert_eq!(
        app.database.statements_executed() - before,
        1,
        "only the session check ran"
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "BAD_USER_INPUT");
    assert_eq!(extensions["budget"], 20_000);
    assert!(extensions["cost"].as_u64().unwrap() > 20_000, "{body}");
    let message = first_error_message(&body);
    assert!(
        message.contains("20000") && message.contains(&extensions["cost"].to_string()),
        "{message}"
    );

    // The cost counts the agents that exist (re-counted every minute; at least one): at least
    // 50 × (730 days × 17 metrics / 10 + 10) units. In this small world one such report alone
    // fits and runs.
    assert!(extensions["cost"].as_u64().unwrap() >= 50 * (730 * 17 / 10 + 10));
    let (_, body) = app
        .post(
            Some(admin),
            &format!("{{ {} }}", huge_metrics("one")),
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // Five cheap reports in one operation: over the reporting-field limit of four.
    let cheap: Vec<String> = (0..5)
        .map(|index| format!("m{index}: metrics(query: {{ metrics: [INTERACTIONS], from: \"2026-11-01\", to: \"2026-11-02\" }}) {{ timeZone }}"))
        .collect();
    let (_, body) = app
        .post(
            Some(admin),
            &format!("{{ {} }}", cheap.join(" ")),
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(first_error_message(&body).contains("at most 4"), "{body}");
    // Four pass and run.
    let (_, body) = app
        .post(
            Some(admin),
            &format!("{{ {} }}", cheap[..4].join(" ")),
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["m3"]["timeZone"], "America/New_York");

    // Expensive insights weigh what they cost: the oversight report with an audit verification
    // fits; four verifications do not.
    let (_, body) = app
        .post(
            Some(admin),
            "{ a: verifyAuditChain { ok } b: oversightReport(fiscalYear: 2026, quarter: 1) { label } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = app
        .post(
            Some(admin),
            "{ a: verifyAuditChain { ok } b: verifyAuditChain { ok } c: verifyAuditChain { ok } d: verifyAuditChain { ok } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 20_004);

    // A page's cost follows its size: 100 interactions with nested objects fit the budget.
    let (_, body) = app
        .post(
            Some(admin),
            "{ interactions(first: 100) { totalCount edges { node { id channel agent { email } orgUnit { code } topic { code } } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // A fragment bomb (each level spreads the one below twice) is priced, not expanded.
    let mut bomb = String::from("{ ...F40 } fragment F0 on Query { me { id } }");
    for level in 1..=40 {
        bomb.push_str(&format!(
            " fragment F{level} on Query {{ ...F{} ...F{} }}",
            level - 1,
            level - 1
        ));
    }
    let (_, body) = app.post(Some(admin), &bomb, json!({})).await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(body["errors"][0]["extensions"]["cost"].as_u64().unwrap() > 1 << 40);
}

#[tokio::test]
async fn aliased_sign_ins_and_mutation_floods_are_refused_whole() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let chain = audit_chain_length(&app);
    // Two hundred aliased `login` fields: not one password is checked.
    let logins: Vec<String> = (0..200)
        .map(|index| format!("l{index}: login(email: \"pat@test.example\", password: \"guess {index}\") {{ accessToken }}"))
        .collect();
    let (status, body) = app
        .post_graphql_response(None, &format!("mutation {{ {} }}", logins.join(" ")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert!(
        first_error_message(&body).contains("`login` appears 200 times"),
        "{body}"
    );
    let (_, body) = app
        .post(
            None,
            "mutation { a: login(email: \"pat@test.example\", password: \"x\") { accessToken } b: refreshSession(refreshToken: \"y\") { accessToken } }",
            json!({}),
        )
        .await;
    // One of each is allowed (and fails on its own merits).
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert_eq!(
        app.auth
            .refusals()
            .login_failures_total
            .load(Ordering::Relaxed),
        1
    );
    // Eleven mutation fields: over the limit of ten.
    let token = app.token_for("pat@test.example").await;
    let logouts: Vec<String> = (0..11).map(|index| format!("o{index}: logout")).collect();
    let (_, body) = app
        .post(
            Some(&token),
            &format!("mutation {{ {} }}", logouts.join(" ")),
            json!({}),
        )
        .await;
    assert!(
        first_error_message(&body).contains("11 mutation fields"),
        "{body}"
    );
    // The refused flood wrote nothing; the one real failure wrote one event, the minted token
    // one more.
    assert_eq!(audit_chain_length(&app), chain + 2);
}

/// Imports `count` phone interactions per day over `days` days ending 2026-10-31.
async fn import_daily_interactions(app: &TestApp, ingest: &str, days: u32, count: u32) {
    let mut file = String::from("source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome\n");
    for day in 0..days {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
            - chrono::Days::new(u64::from(day));
        for index in 0..count {
            file.push_str(&format!(
                "pbx,d{day}-{index},phone,TEAM-A1,agent@test.example,,,,,,LICENSING,{date}T14:00:00Z,10,200,0,false,resolved\n"
            ));
        }
    }
    let response = app
        .client
        .post(format!("{}/import/interactions", app.address))
        .bearer_auth(ingest)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["inserted"], days * count, "{report}");
}

#[tokio::test]
async fn a_report_larger_than_a_response_may_be_points_to_the_streaming_export() {
    let app = TestApp::spawn_with(&[("METRICS_MAX_CELLS", "20")]).await;
    let world = fixture::build(&app).await;
    import_daily_interactions(&app, world.token(Role::Ingest), 10, 2).await;
    let admin = world.token(Role::Admin);
    // Ten days by day, three metrics: 30 values, over the cap of 20.
    let query = "{ metrics(query: { metrics: [INTERACTIONS, AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION], from: \"2026-10-22\", to: \"2026-10-31\", granularity: DAY }) { rows { periodLabel } } }";
    let (_, body) = app.post(Some(admin), query, json!({})).await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let message = first_error_message(&body);
    assert!(message.contains("/export/metrics.csv"), "{message}");
    assert!(message.contains("more than 6 rows"), "{message}");
    // Six days fit.
    let (_, body) = app
        .post(
            Some(admin),
            &query.replace("2026-10-22", "2026-10-26"),
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["metrics"]["rows"].as_array().unwrap().len(),
        6,
        "{body}"
    );
    // The export streams the whole report.
    let response = app
        .client
        .get(format!(
            "{}/export/metrics.csv?metrics=INTERACTIONS,AVERAGE_HANDLE_TIME,FIRST_CONTACT_RESOLUTION&from=2026-10-22&to=2026-10-31&granularity=DAY",
            app.address
        ))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 10, "{text}");
    assert_eq!(lines[1], "2026-10-22,2026-10-22,2,2,200,2,1,2");
}

#[tokio::test]
async fn the_record_export_streams_the_callers_scope_without_contact_details() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    import_daily_interactions(&app, world.token(Role::Ingest), 3, 2).await;
    let export = |token: String| {
        let request = app
            .client
            .get(format!(
                "{}/export/interactions.csv?from=2026-10-01&to=2026-11-30&channels=PHONE",
                app.address
            ))
            .bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, admin_csv) = export(world.token(Role::Admin).to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{admin_csv}");
    let lines: Vec<&str> = admin_csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,source,external_id,channel,org_unit_code,agent_email,customer_key,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome"
    );
    // The fixture's two phone calls and the six imported ones, oldest first.
    assert_eq!(lines.len(), 1 + 8, "{admin_csv}");
    // Values are spelled as in the import formats.
    assert!(
        lines[1].contains(",phone,TEAM-A1,agent@test.example,,LICENSING,2026-10-29T14:00:00Z,10,200,0,false,resolved"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(",pbx,d2-"), "{}", lines[1]);
    // No contact details, ever: the customer is a pseudonym.
    assert!(!admin_csv.contains("CRM-1") && !admin_csv.contains("@example.com"));
    assert!(admin_csv.contains(",cust_"));
    // The analyst sees no agents; the other agent sees only the call they handled.
    let (_, analyst_csv) = export(world.token(Role::Analyst).to_owned()).await;
    assert!(!analyst_csv.lines().next().unwrap().contains("agent_email"));
    assert_eq!(analyst_csv.lines().count(), 1 + 8);
    let (_, other_agent_csv) = export(world.other_agent_token.clone()).await;
    assert_eq!(other_agent_csv.lines().count(), 1 + 1, "{other_agent_csv}");
    // Roles without record access are refused; an unknown code is a clear error.
    let (status, _) = export(world.token(Role::Ingest).to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app
        .client
        .get(format!(
            "{}/export/interactions.csv?from=2026-10-01&to=2026-11-30&orgUnitCodes=NOPE",
            app.address
        ))
        .bearer_auth(world.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "orgUnitCodes");
}

/// Holds an exclusive lock on the unit rollup, so reports read from it wait; dropped, it
/// commits.
struct RollupLock(PgConnection);

impl RollupLock {
    fn take(app: &TestApp) -> Self {
        let mut connection = app.connection();
        connection
            .batch_execute("BEGIN; LOCK TABLE metric_daily_units IN ACCESS EXCLUSIVE MODE;")
            .unwrap();
        Self(connection)
    }
}

impl Drop for RollupLock {
    fn drop(&mut self) {
        let _ = self.0.batch_execute("COMMIT");
    }
}

const SMALL_REPORT: &str = "{ metrics(query: { metrics: [INTERACTIONS], from: \"2026-11-01\", to: \"2026-11-30\" }) { rows { values { value } } } }";

async fn wait_for_reporting_in_use(app: &TestApp, in_use: u32) {
    for _ in 0..200 {
        let lanes = app.database.lanes();
        if lanes
            .iter()
            .any(|lane| lane.workload == Workload::Reporting && lane.in_use == in_use)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the reporting workload never had {in_use} requests running");
}

#[tokio::test]
async fn a_busy_reporting_workload_refuses_with_retry_after_while_others_are_served() {
    let app = TestApp::spawn_with(&[
        ("REPORTING_POOL_SIZE", "1"),
        ("REPORTING_QUEUE_TIMEOUT_MS", "300"),
        // Every report runs as reporting work here, however small.
        ("REPORTING_COST_THRESHOLD", "1"),
    ])
    .await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    let lock = RollupLock::take(&app);
    let first = {
        let (client, url, admin) = (app.client.clone(), app.graphql_url(), admin.clone());
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "query": SMALL_REPORT }))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        })
    };
    wait_for_reporting_in_use(&app, 1).await;

    // The same caller again: its share is taken, so it waits out the queue deadline.
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(&admin)
        .json(&json!({ "query": SMALL_REPORT }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), Some("RATE_LIMITED"), "{body}");
    assert!(
        first_error_message(&body).contains("earlier reporting requests"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1);
    // Another caller: the workload itself is full.
    let (status, body) = app
        .post_graphql_response(Some(world.token(Role::Analyst)), SMALL_REPORT)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        first_error_message(&body).contains("at capacity for reporting"),
        "{body}"
    );
    // Interactive work is untouched meanwhile.
    let (status, body) = app
        .post(
            Some(world.token(Role::Agent)),
            "{ me { email } interactions(first: 5) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["email"], "agent@test.example", "{body}");
    let (_, export) = (
        (),
        app.client
            .get(format!(
                "{}/export/metrics.csv?metrics=INTERACTIONS&from=2026-11-01&to=2026-11-30",
                app.address
            ))
            .bearer_auth(world.token(Role::Supervisor))
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(
        export.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "exports share the reporting workload"
    );
    assert!(export.headers().contains_key(header::RETRY_AFTER));
    // Released, the first report completes normally.
    drop(lock);
    let body = first.await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    assert!(app
        .database
        .lanes()
        .iter()
        .any(|lane| lane.workload == Workload::Reporting && lane.refused == 3));
}

#[tokio::test]
async fn a_report_past_its_workloads_time_limit_is_cancelled_and_reported_unavailable() {
    let app = TestApp::spawn_with(&[
        ("REPORTING_STATEMENT_TIMEOUT_MS", "200"),
        ("REPORTING_COST_THRESHOLD", "1"),
    ])
    .await;
    let world = fixture::build(&app).await;
    let lock = RollupLock::take(&app);
    let (status, body) = app
        .post_graphql_response(Some(world.token(Role::Admin)), SMALL_REPORT)
        .await;
    drop(lock);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(first_error_code(&body), Some("UNAVAILABLE"));
    assert!(
        first_error_message(&body).contains("reporting time limit of 200 ms"),
        "{body}"
    );
    // The connection was not lost: the next report works.
    let (_, body) = app
        .post(Some(world.token(Role::Admin)), SMALL_REPORT, json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// Signs in through `graphql_url` as if from `address` (behind a trusted proxy).
async fn sign_in(
    client: &reqwest::Client,
    graphql_url: &str,
    address: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    let response = client
        .post(graphql_url)
        .header("x-forwarded-for", address)
        .json(&json!({
            "query": "mutation($p: String!) { login(email: \"pat@test.example\", password: $p) { accessToken } }",
            "variables": { "p": password },
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|value| value.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn sign_in_throttling_holds_across_two_server_processes_on_one_database() {
    let throttle: &[(&str, &str)] = &[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", "3"),
        ("LOGIN_FAILURES_PER_ACCOUNT", "6"),
        ("LOGIN_ACCOUNT_DELAY_MAX_SECONDS", "2"),
        ("LOGIN_LOCKOUT_MAX_SECONDS", "600"),
    ];
    let app = TestApp::spawn_with(throttle).await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let (mut other, other_address, _) = spawn_server_process(&app.database_url, throttle);
    let here = app.graphql_url();
    let there = format!("{other_address}/graphql");
    let client = &app.client;

    // An attacker at 203.0.113.9 fails three times across the two processes…
    for url in [&here, &there, &here] {
        let (_, _, body) = sign_in(client, url, "203.0.113.9", "wrong guess").await;
        assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    // …the fourth failure (on the other process) starts a wait…
    let (_, _, body) = sign_in(client, &there, "203.0.113.9", "wrong guess").await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    // …which both processes enforce, even for the right password.
    for url in [&here, &there] {
        let (status, retry_after, body) = sign_in(client, url, "203.0.113.9", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(first_error_code(&body), Some("RATE_LIMITED"));
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    // The account's owner elsewhere is not locked out by it.
    let (status, _, body) = sign_in(client, &there, "198.51.100.1", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["login"]["accessToken"].is_string());

    // Spraying the account from many addresses trips its softer account-wide limit: a short
    // wait for everyone, never a long lock-out.
    for index in 0..3 {
        sign_in(client, &here, &format!("192.0.2.{index}"), "spray").await;
    }
    let (status, retry_after, _) = sign_in(client, &there, "198.51.100.1", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, _, body) = sign_in(client, &here, "198.51.100.1", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The counters name no email.
    let keys: Vec<String> = diesel::sql_query("SELECT key FROM rate_limit_counters")
        .load::<KeyRow>(&mut app.connection())
        .unwrap()
        .into_iter()
        .map(|row| row.key)
        .collect();
    assert!(
        !keys.is_empty() && keys.iter().all(|key| !key.contains("pat@")),
        "{keys:?}"
    );
    other.kill().unwrap();
    other.wait().unwrap();
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
}

#[tokio::test]
async fn a_sessions_request_budget_is_shared_by_every_server_process() {
    let budget: &[(&str, &str)] = &[("REQUESTS_PER_MINUTE_PER_SESSION", "5")];
    let app = TestApp::spawn_with(budget).await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let second = TestApp::spawn_on(app.database_url.clone(), budget).await;
    // If the minute turns during an attempt the count restarts: try again with a new session.
    for attempt in 0..2 {
        let token = app.token_for("pat@test.example").await;
        let mut statuses = Vec::new();
        for index in 0..6 {
            let server = if index % 2 == 0 { &app } else { &second };
            let (status, body) = server
                .post_graphql_response(Some(&token), "{ me { email } }")
                .await;
            statuses.push((status, first_error_code(&body).map(str::to_owned)));
        }
        if attempt == 0 && statuses[5].0 == StatusCode::OK {
            continue;
        }
        assert!(
            statuses[..5]
                .iter()
                .all(|(status, _)| *status == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(
            statuses[5],
            (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED".into()))
        );
        break;
    }
    // Another session of the same user has its own budget.
    let other = app.token_for("pat@test.example").await;
    let (status, _) = second
        .post_graphql_response(Some(&other), "{ me { email } }")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refused_tokens_never_grow_the_audit_chain() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let chain = audit_chain_length(&app);
    let forged = app.keys.mint(
        1,
        Role::Admin,
        uuid::Uuid::new_v4(),
        Duration::from_secs(60),
    );
    for index in 0..200 {
        let token = if index % 2 == 0 {
            format!("garbage-{index}")
        } else {
            forged.token.clone()
        };
        let (status, body) = app
            .post_graphql_response(Some(&token), "{ me { email } }")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert_eq!(audit_chain_length(&app), chain);
    assert_eq!(
        app.auth.refusals().tokens_total.load(Ordering::Relaxed),
        200
    );
}

async fn import_raw(
    app: &TestApp,
    token: &str,
    kind: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value, usize) {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let length = bytes.len();
    (status, serde_json::from_slice(&bytes).unwrap(), length)
}

fn topic_codes(app: &TestApp) -> Vec<String> {
    topics::table
        .select(topics::code)
        .order(topics::code)
        .load(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn imports_have_body_and_line_limits_and_never_echo_a_huge_value() {
    let app = TestApp::spawn_with(&[
        ("IMPORT_MAX_BODY_BYTES", "2000"),
        ("IMPORT_MAX_LINE_BYTES", "200"),
    ])
    .await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let before = topic_codes(&app);

    // Declared too large: refused before anything is read or written.
    let big = format!("code,name\n{}", "T1,Topic one\n".repeat(200));
    let (status, body, _) = import_raw(&app, admin, "topics", "text/csv", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        first_error_message(&body).contains("nothing was imported"),
        "{body}"
    );
    assert_eq!(topic_codes(&app), before);

    // Streamed without a length and growing past the limit: read no further; the complete
    // lines before the limit are imported and reported.
    let lines: Vec<String> = (0..200)
        .map(|index| format!("T{index:03},Topic {index}\n"))
        .collect();
    let chunks: Vec<Result<String, std::io::Error>> = std::iter::once(Ok("code,name\n".to_owned()))
        .chain(lines.into_iter().map(Ok))
        .collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, body, _) = import_raw(&app, admin, "topics", "text/csv", stream).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let mut fitting = 0;
    let mut used = "code,name\n".len();
    for index in 0..200 {
        used += format!("T{index:03},Topic {index}\n").len();
        if used > 2000 {
            break;
        }
        fitting += 1;
    }
    assert_eq!(body["report"]["inserted"], fitting, "{body}");
    assert_eq!(topic_codes(&app).len(), before.len() + fitting);

    // A line longer than the limit is a rejected row; the rows around it land.
    let long_name = "x".repeat(500);
    let file = format!("code,name\nLONG1,{long_name}\nOK1,Fine\n");
    let (status, report, length) = import_raw(&app, admin, "topics", "text/csv", file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 1);
    assert_eq!(report["rejected_rows"][0]["line"], 2);
    assert!(report["rejected_rows"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("longer than 200 bytes"));
    assert!(
        length < 1_000,
        "the report does not echo the line ({length} bytes)"
    );

    // A header of garbage far over the line limit: refused, and the refusal quotes nothing.
    let garbage = "y".repeat(1_500);
    let (status, body, length) = import_raw(&app, admin, "topics", "text/csv", garbage).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        first_error_message(&body).contains("header is longer than 200 bytes"),
        "{body}"
    );
    assert!(length < 1_000, "{length}");
    // An unknown column of 150 characters is quoted shortened.
    let column = "z".repeat(150);
    let (_, body, _) = import_raw(
        &app,
        admin,
        "topics",
        "text/csv",
        format!("code,{column}\n"),
    )
    .await;
    let message = first_error_message(&body);
    assert!(
        message.contains("(86 more characters)") && !message.contains(&column),
        "{message}"
    );
}

#[tokio::test]
async fn bad_bytes_in_an_import_reject_their_row_and_never_fail_the_file() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    // NUL in a CSV cell, invalid UTF-8 in another row: both rejected with their lines.
    let mut file = b"code,name\nNUL1,bad\0name\nGOOD1,Good one\nUTF1,".to_vec();
    file.extend_from_slice(&[0xff, 0xfe]);
    file.extend_from_slice(b"\nGOOD2,Good two\n");
    let (status, report, _) = import_raw(&app, admin, "topics", "text/csv", file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 2, "{report}");
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["rejected_rows"][0]["line"], 2);
    assert_eq!(report["rejected_rows"][0]["field"], "name");
    assert!(report["rejected_rows"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("NUL"));
    assert_eq!(report["rejected_rows"][1]["line"], 4);
    // NDJSON, an interaction with a NUL in a contact detail: the same.
    let ndjson = concat!(
        r#"{"source":"pbx","external_id":"n1","channel":"phone","org_unit_code":"TEAM-A1","contact_name":"Pat\u0000","started_at":"2026-11-01T10:00:00Z"}"#,
        "\n",
        r#"{"source":"pbx","external_id":"n2","channel":"phone","org_unit_code":"TEAM-A1","started_at":"2026-11-01T10:00:00Z"}"#,
        "\n"
    );
    let (status, report, _) = import_raw(
        &app,
        world.token(Role::Ingest),
        "interactions",
        "application/x-ndjson",
        ndjson,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 1, "{report}");
    assert_eq!(report["rejected_rows"][0]["field"], "contact_name");
}

#[tokio::test]
async fn imports_beyond_the_concurrency_limit_wait_briefly_then_are_refused() {
    let app = TestApp::spawn_with(&[
        ("IMPORT_MAX_CONCURRENT", "1"),
        ("IMPORT_WORKERS", "1"),
        ("IMPORT_QUEUE_TIMEOUT_MS", "300"),
    ])
    .await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    let mut lock = app.connection();
    lock.batch_execute("BEGIN; LOCK TABLE topics IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let first = {
        let (client, url, admin) = (
            app.client.clone(),
            format!("{}/import/topics", app.address),
            admin.clone(),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .header("content-type", "text/csv")
                .body("code,name\nFIRST,First\n")
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    for _ in 0..200 {
        if app
            .database
            .lanes()
            .iter()
            .any(|lane| lane.workload == Workload::Import && lane.in_use == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body, _) = import_raw(
        &app,
        &admin,
        "topics",
        "text/csv",
        "code,name\nSECOND,Second\n",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(first_error_code(&body), Some("RATE_LIMITED"));
    // The API's own connections were never touched.
    let (_, body) = app.post(Some(&admin), "{ me { email } }", json!({})).await;
    assert_eq!(body["data"]["me"]["email"], "admin@test.example");
    lock.batch_execute("COMMIT").unwrap();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert!(topic_codes(&app).contains(&"FIRST".to_owned()));
    assert!(!topic_codes(&app).contains(&"SECOND".to_owned()));
}

#[tokio::test]
async fn nul_bytes_are_bad_user_input_naming_the_field_everywhere() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let chain = audit_chain_length(&app);
    // Anonymous sign-in, with the NUL in a variable.
    let (status, body) = app
        .post(
            None,
            "mutation($e: String!) { login(email: $e, password: \"x\") { accessToken } }",
            json!({ "e": "pat\u{0}@test.example" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "login.email");
    // A mutation argument written inline, and a lookup.
    let (_, body) = app
        .post(
            Some(admin),
            "mutation { createTopic(code: \"NULTOPIC\", name: \"bad\\u0000name\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "createTopic.name",
        "{body}"
    );
    assert!(!topic_codes(&app).contains(&"NULTOPIC".to_owned()));
    let (_, body) = app
        .post(
            Some(admin),
            "{ orgUnit(code: \"TEAM\\u0000\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "orgUnit.code",
        "{body}"
    );
    // Nested input objects name the path.
    let mut input = fixture::interaction_input("nul-1", None, "TEAM-A1", "CRM-9");
    input["customer"]["contactName"] = json!("Pat\u{0}");
    let (_, body) = app
        .post(
            Some(world.token(Role::Ingest)),
            fixture::RECORD,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "recordInteraction.input.customer.contactName",
        "{body}"
    );
    // URL parameters of the exports.
    let response = app
        .client
        .get(format!(
            "{}/export/metrics.csv?metrics=CSAT&from=2026-01-01&to=2026-01-02&orgUnitCodes=A%00B",
            app.address
        ))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "orgUnitCodes");
    // Nothing was written by any of them.
    assert_eq!(audit_chain_length(&app), chain);
}

#[tokio::test]
async fn with_the_database_down_every_endpoint_fails_fast_with_503_and_recovers_by_itself() {
    let root = std::env::temp_dir().join(format!("bac-outage-{}", uuid::Uuid::new_v4().simple()));
    let cluster = tokio::task::spawn_blocking({
        let root = root.clone();
        move || PrivateCluster::start(&root, Durability::Throwaway).unwrap()
    })
    .await
    .unwrap();
    let url = cluster.database_url(bac_metrics::db::cluster::APPLICATION_DATABASE);
    run_migrations(&mut PgConnection::establish(&url).unwrap()).unwrap();
    let app = TestApp::spawn_on(
        url,
        &[
            ("DATABASE_CHECKOUT_TIMEOUT_MS", "500"),
            ("DATABASE_PROBE_INTERVAL_MS", "200"),
        ],
    )
    .await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Admin, "AGENCY", true)
        .await;
    let token = app.token_for("pat@test.example").await;
    let (status, _) = app
        .post_graphql_response(Some(&token), "{ me { email } }")
        .await;
    assert_eq!(status, StatusCode::OK);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    // The first request finds out; from then on the circuit answers at once.
    let (status, body) = app
        .post_graphql_response(Some(&token), "{ me { email } }")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(app.database.health().is_down());
    let get = |path: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&token)
            .send()
    };
    for path in [
        "/readyz",
        "/export/metrics.csv?metrics=CSAT&from=2026-01-01&to=2026-01-02",
        "/export/interactions.csv?from=2026-01-01&to=2026-01-02",
        "/reports/oversight?fiscalYear=2026&quarter=1",
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            response.headers().contains_key(header::RETRY_AFTER),
            "{path}"
        );
    }
    for media in ["application/json", "application/graphql-response+json"] {
        let response = app
            .client
            .post(app.graphql_url())
            .bearer_auth(&token)
            .header(header::ACCEPT, media)
            .json(&json!({ "query": "{ me { email } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{media}"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), Some("UNAVAILABLE"));
    }
    let (status, body, _) =
        import_raw(&app, &token, "topics", "text/csv", "code,name\nA,B\n").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Anonymous requests that need no database still work.
    let (status, body) = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(
        (status, &body["data"]["__typename"]),
        (StatusCode::OK, &json!("Query"))
    );

    // The database comes back: the server notices by itself.
    let cluster = tokio::task::spawn_blocking(move || {
        drop(cluster);
        PrivateCluster::start(&root, Durability::Throwaway).unwrap()
    })
    .await
    .unwrap();
    let mut recovered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _) = app
            .post_graphql_response(Some(&token), "{ me { email } }")
            .await;
        if status == StatusCode::OK {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "requests succeed again without a restart");
    assert!(!app.database.health().is_down());
    cluster.stop();
}

#[tokio::test]
async fn sigterm_drains_and_answers_every_request_already_sent() {
    let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
    let app = TestApp::spawn_on(url.clone(), &[]).await;
    app.seed_org().await;
    app.create_user("pat@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let (mut server, address, _) = spawn_server_process(
        &url,
        &[
            ("SHUTDOWN_DRAIN_SECONDS", "1"),
            ("SHUTDOWN_GRACE_SECONDS", "20"),
            // The ten sign-ins below stay in flight for a while (argon2id each).
            ("PASSWORD_CHECKS_IN_FLIGHT", "10"),
        ],
    );
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let request = client
                .post(format!("{address}/graphql"))
                .json(&json!({
                    "query": "mutation($p: String!) { login(email: \"pat@test.example\", password: $p) { accessToken } }",
                    "variables": { "p": PASSWORD },
                }))
                .send();
            tokio::spawn(request)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // While draining, readiness fails so a load balancer moves away.
    let mut saw_draining = false;
    for _ in 0..20 {
        match client.get(format!("{address}/readyz")).send().await {
            Ok(ready) if ready.status() == StatusCode::SERVICE_UNAVAILABLE => {
                saw_draining = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            Err(_) => break,
        }
    }
    assert!(saw_draining, "readiness fails while the server drains");
    for request in requests {
        let response = request
            .await
            .unwrap()
            .expect("every request sent before SIGTERM is answered");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }
    let exit = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(
        exit.success(),
        "the server exits cleanly after the drain: {exit:?}"
    );
}
