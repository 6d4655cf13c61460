//! The binary's commands and the demo seed, end to end.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bac_metrics::{
    auth::password,
    db::enums::Role,
    demo::{self, ROLE_ACCOUNTS},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{first_error_code, TestApp, TEST_SECRET};

const BINARY: &str = env!("CARGO_BIN_EXE_bac-metrics");

fn command() -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

#[test]
fn schema_command_prints_the_checked_in_sdl() {
    let output = command().arg("schema").output().unwrap();
    assert!(output.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), checked_in);
}

#[tokio::test]
async fn user_add_and_token_commands_work_against_the_api() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let secret = String::from_utf8(TEST_SECRET.to_vec()).unwrap();
    let with_database = |command: &mut Command| {
        command
            .env("DATABASE_URL", &app.database_url)
            .env("JWT_SECRET", &secret);
    };

    let mut add = command();
    with_database(&mut add);
    let mut child = add
        .args([
            "user",
            "add",
            "--email",
            "Lead@Test.Example",
            "--role",
            "supervisor",
            "--org-unit",
            "OFFICE-A",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("lead@test.example"));
    let (_, body) = app
        .login("lead@test.example", "a long enough password")
        .await;
    assert_eq!(
        body["data"]["login"]["user"]["role"], "SUPERVISOR",
        "{body}"
    );

    let mut token = command();
    with_database(&mut token);
    let output = token
        .args(["token", "--email", "lead@test.example", "--ttl", "5m"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let minted = String::from_utf8(output.stdout).unwrap();
    let (status, body) = app
        .post(Some(minted.trim()), "{ me { email } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["email"], "lead@test.example");

    // Bad input: a clear sentence and a failing exit status.
    let mut bad = command();
    with_database(&mut bad);
    let output = bad
        .args([
            "user",
            "add",
            "--email",
            "x@test.example",
            "--role",
            "agent",
            "--org-unit",
            "NOWHERE",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no org unit `NOWHERE`"));
    let mut bad = command();
    with_database(&mut bad);
    let output = bad
        .args(["token", "--email", "nobody@test.example"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    // With DATABASE_URL, a signing secret must be configured rather than invented.
    let output = command()
        .env("DATABASE_URL", &app.database_url)
        .args(["token", "--email", "lead@test.example"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn demo_seed_is_realistic_idempotent_and_its_tokens_work() {
    let app = TestApp::spawn().await;
    let hash = tokio::task::spawn_blocking(|| password::hash_password(demo::DEMO_PASSWORD))
        .await
        .unwrap()
        .unwrap();
    let zone = app.config.reporting.time_zone;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let seed_hash = hash.clone();
    let report = app
        .database
        .run(move |connection| demo::seed(connection, &seed_hash, zone, today))
        .await
        .unwrap();
    assert!(!report.already_present);
    assert_eq!((report.org_units, report.topics, report.users), (7, 6, 18));
    // About 10,000 over the 90 days and 4,000 over the reference quarter.
    assert!(
        (12_000..20_000).contains(&report.interactions),
        "{report:?}"
    );
    assert!(report.survey_responses > 500 && report.survey_invitations > report.survey_responses);

    // Seeding again leaves the data alone.
    let again = app
        .database
        .run(move |connection| demo::seed(connection, &hash, zone, today))
        .await
        .unwrap();
    assert!(again.already_present);

    // The data is shaped like the design: all channels, no agent on self-service, no
    // handling on abandoned contacts, all within the 90 days before `today` or the reference
    // quarter (July–September 2026).
    use diesel::{prelude::*, sql_types::BigInt};
    #[derive(QueryableByName, Debug)]
    struct Check {
        #[diesel(sql_type = BigInt)]
        channels: i64,
        #[diesel(sql_type = BigInt)]
        self_service_with_agent: i64,
        #[diesel(sql_type = BigInt)]
        abandoned_handled: i64,
        #[diesel(sql_type = BigInt)]
        outside_window: i64,
        #[diesel(sql_type = BigInt)]
        responses_to_abandoned: i64,
    }
    let check: Check = diesel::sql_query(
        "SELECT
           (SELECT count(DISTINCT channel) FROM interactions) AS channels,
           (SELECT count(*) FROM interactions WHERE channel IN ('WEB_SELF_SERVICE','IVR','SMS') AND agent_id IS NOT NULL) AS self_service_with_agent,
           (SELECT count(*) FROM interactions WHERE abandoned AND (handle_seconds IS NOT NULL OR outcome IS NOT NULL)) AS abandoned_handled,
           (SELECT count(*) FROM interactions WHERE (started_at AT TIME ZONE 'America/New_York')::date NOT BETWEEN DATE '2026-08-22' AND DATE '2026-11-19' AND (started_at AT TIME ZONE 'America/New_York')::date NOT BETWEEN DATE '2026-07-01' AND DATE '2026-09-30') AS outside_window,
           (SELECT count(*) FROM survey_responses r JOIN interactions i ON i.id = r.interaction_id WHERE i.abandoned) AS responses_to_abandoned",
    )
    .get_result(&mut app.connection())
    .unwrap();
    assert_eq!(check.channels, 8, "{check:?}");
    assert_eq!(check.self_service_with_agent, 0, "{check:?}");
    assert_eq!(check.abandoned_handled, 0, "{check:?}");
    assert_eq!(check.outside_window, 0, "{check:?}");
    assert_eq!(check.responses_to_abandoned, 0, "{check:?}");

    for (role, email) in ROLE_ACCOUNTS {
        let token = app.token_for(email).await;
        let (_, body) = app
            .post(
                Some(&token),
                "{ me { role orgUnit { code } } orgUnits { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            body["data"]["me"]["role"],
            serde_json::to_value(role).unwrap(),
            "{body}"
        );
        assert_eq!(body["data"]["orgUnits"]["totalCount"], 7);
    }
    // The README's reporting example runs on the demo data, whenever it was seeded: one row per
    // month of the reference quarter and channel, every month with interactions.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = readme
        .split("```graphql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .find(|block| block.contains("metrics(query"))
        .expect("the README has a metrics example");
    let admin = app.token_for("admin@bac.example.gov").await;
    let (_, body) = app.post(Some(&admin), example, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let rows = body["data"]["metrics"]["rows"].as_array().unwrap();
    for month in ["2026-07", "2026-08", "2026-09"] {
        let interactions: f64 = rows
            .iter()
            .filter(|row| row["periodLabel"] == month)
            .map(|row| row["values"][0]["value"].as_f64().unwrap_or(0.0))
            .sum();
        assert!(interactions > 500.0, "{month}: {body}");
    }
    // Its other examples name dates inside the same quarter.
    for (position, _) in readme.match_indices("from=") {
        let date = &readme[position + 5..position + 15];
        assert!(
            ("2026-07-01"..="2026-09-30").contains(&date),
            "README example date {date}"
        );
    }

    // Demo staff can sign in with the demo password; service accounts cannot.
    let (_, body) = app
        .login("supervisor.north@bac.example.gov", demo::DEMO_PASSWORD)
        .await;
    assert_eq!(body["data"]["login"]["user"]["role"], "SUPERVISOR");
    let (_, body) = app
        .login("analyst@bac.example.gov", demo::DEMO_PASSWORD)
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    assert_eq!(ROLE_ACCOUNTS.len(), Role::ALL.len());
}

/// The newcomer's first command: `serve --demo` on a private PostgreSQL, printed tokens that
/// work, and a clean stop that takes the private cluster down with it.
#[tokio::test]
async fn serve_demo_runs_a_private_cluster_and_prints_working_tokens() {
    let data_dir = std::env::temp_dir().join(format!(
        "bac-metrics-demo-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut child = command()
        .args(["serve", "--demo"])
        .env("DATA_DIR", &data_dir)
        .env("BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("Bearer")
                && line.contains("eyJ")
                && lines
                    .iter()
                    .filter(|l: &&String| l.contains("Bearer"))
                    .count()
                    == ROLE_ACCOUNTS.len() - 1;
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .unwrap();
    let url = lines
        .iter()
        .find_map(|line| line.trim().strip_prefix("GraphiQL: "))
        .expect("the GraphiQL URL is printed")
        .to_owned();
    let tokens: Vec<String> = lines
        .iter()
        .filter_map(|line| line.split("Bearer ").nth(1))
        .map(|rest| rest.trim_end_matches("\"}").to_owned())
        .collect();
    assert_eq!(tokens.len(), ROLE_ACCOUNTS.len());
    let client = reqwest::Client::new();
    for token in &tokens {
        let body: serde_json::Value = client
            .post(&url)
            .bearer_auth(token)
            .json(&json!({ "query": "{ me { email } orgUnits { totalCount } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"]["orgUnits"]["totalCount"], 7, "{body}");
    }

    // SIGTERM: the server stops and so does its private PostgreSQL.
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let pid_file = data_dir.join("pgdata/postmaster.pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    while pid_file.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !pid_file.exists(),
        "the private PostgreSQL is still running"
    );
    std::fs::remove_dir_all(&data_dir).ok();
}
