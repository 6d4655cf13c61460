//! A real deployment topology: a primary and a streaming replica built with `pg_basebackup -R`
//! from the installed PostgreSQL binaries, and two API instances over them. Reads go to the
//! replica, writes to the primary and a writer's next read sees the write on either instance; a
//! replica whose replay is paused, or that is stopped, is skipped and taken back when it
//! recovers, without restarting the API; a rate limit holds across both instances. Also: the
//! migrations of concurrent processes run once, and a server whose `REPORTING_TZ` disagrees with
//! the database's refuses to start.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bac_metrics::db::{
    cluster::{Durability, PrivateCluster, APPLICATION_DATABASE},
    enums::Role,
    run_migrations,
};
use diesel::{pg::PgConnection, sql_query, Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    empty_database, first_error_code, fresh_database, TestApp, PSEUDONYM_KEY, TEST_SECRET,
};

const TOPICS: &str = "{ topics(first: 100) { totalCount edges { node { code } } } }";

/// POSTs a GraphQL request; returns the status, the `x-database` header and the body.
async fn post(app: &TestApp, token: &str, query: &str) -> (StatusCode, String, Value) {
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("the request reaches the server");
    let status = response.status();
    let database = response
        .headers()
        .get("x-database")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, database, response.json().await.unwrap())
}

/// The replica's state as `/readyz` of `app` reports it.
async fn replica_state(app: &TestApp) -> String {
    let body: Value = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["replicas"][0]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Waits until every instance reports the replica in `state`.
async fn wait_for_replica(apps: &[&TestApp], state: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for app in apps {
        loop {
            let current = replica_state(app).await;
            if current == state {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the replica stayed `{current}`, expected `{state}`"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn topic_codes(body: &Value) -> Vec<String> {
    body["data"]["topics"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a topics page: {body}"))
        .iter()
        .map(|edge| edge["node"]["code"].as_str().unwrap().to_owned())
        .collect()
}

fn on_replica(url: &str, statement: &str) {
    let mut connection = PgConnection::establish(url).expect("connect to the replica");
    sql_query(statement).execute(&mut connection).unwrap();
}

#[tokio::test]
async fn two_instances_over_a_primary_and_a_streaming_replica() {
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!(
        "bac-metrics-topology-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let (primary, replica) = tokio::task::spawn_blocking(move || {
        let primary = PrivateCluster::start(&root.join("primary"), Durability::Throwaway)
            .expect("start the primary");
        let mut connection =
            PgConnection::establish(&primary.database_url(APPLICATION_DATABASE)).unwrap();
        run_migrations(&mut connection).expect("migrate the primary");
        let replica = PrivateCluster::start_replica_of(&primary, &root.join("replica"))
            .expect("pg_basebackup a streaming replica and start it");
        (primary, replica)
    })
    .await
    .unwrap();
    let primary_url = primary.database_url(APPLICATION_DATABASE);
    let replica_url = replica.database_url(APPLICATION_DATABASE);
    let variables = [
        ("DATABASE_REPLICA_URLS", replica_url.as_str()),
        ("REPLICA_MAX_LAG_MS", "1000"),
        ("DATABASE_PROBE_INTERVAL_MS", "100"),
        ("DATABASE_CHECKOUT_TIMEOUT_MS", "1000"),
        ("REQUESTS_PER_MINUTE_PER_SESSION", "10"),
        ("METRICS_BIND", "127.0.0.1:0"),
    ];
    let a = TestApp::spawn_on(primary_url.clone(), &variables).await;
    let b = TestApp::spawn_on(primary_url.clone(), &variables).await;
    a.seed_org().await;
    a.create_user("admin@test.example", Role::Admin, "AGENCY", false)
        .await;
    a.create_user("analyst@test.example", Role::Analyst, "AGENCY", false)
        .await;
    wait_for_replica(&[&a, &b], "serving").await;

    // Reads are served by the replica once it has the data (a caller who never wrote may read
    // a replica that is within the lag bound).
    let reader = a.token_for("analyst@test.example").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, database, body) = post(&b, &reader, "{ orgUnits { totalCount } }").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if database == "replica-1" && body["data"]["orgUnits"]["totalCount"] == 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never read from the replica: {database} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A write goes to the primary; with the replica's replay paused it cannot have the write,
    // so the writer's next read — on the other instance — is the primary's, and sees it.
    on_replica(&replica_url, "SELECT pg_wal_replay_pause()");
    let writer = a.token_for("admin@test.example").await;
    let (status, database, body) = post(
        &a,
        &writer,
        r#"mutation { createTopic(code: "PERMITS", name: "Permits") { code } }"#,
    )
    .await;
    assert_eq!(
        (
            status,
            database.as_str(),
            &body["data"]["createTopic"]["code"]
        ),
        (StatusCode::OK, "primary", &json!("PERMITS")),
        "{body}"
    );
    let (_, database, body) = post(&b, &writer, TOPICS).await;
    assert_eq!(database, "primary");
    assert_eq!(topic_codes(&body), ["PERMITS"]);

    // The paused replica falls behind the 1 s bound: it is skipped for everyone.
    wait_for_replica(&[&a, &b], "lagging").await;
    let (_, database, body) = post(&b, &reader, TOPICS).await;
    assert_eq!(database, "primary");
    assert_eq!(topic_codes(&body), ["PERMITS"]);

    // Replay resumes: the replica catches up and serves the writer too, with the write.
    on_replica(&replica_url, "SELECT pg_wal_replay_resume()");
    wait_for_replica(&[&a, &b], "serving").await;
    let writer = a.token_for("admin@test.example").await;
    let (_, database, body) = post(&a, &writer, TOPICS).await;
    assert_eq!(database, "replica-1");
    assert_eq!(topic_codes(&body), ["PERMITS"]);

    // The replica stops: reads go to the primary, no error, no API restart.
    let replica = tokio::task::spawn_blocking(move || {
        replica.stop();
        replica
    })
    .await
    .unwrap();
    wait_for_replica(&[&a, &b], "down").await;
    let reader = a.token_for("analyst@test.example").await;
    for app in [&a, &b] {
        let (status, database, body) = post(app, &reader, TOPICS).await;
        assert_eq!(
            (status, database.as_str()),
            (StatusCode::OK, "primary"),
            "{body}"
        );
        assert_eq!(topic_codes(&body), ["PERMITS"]);
    }
    // It comes back: both instances use it again.
    let replica = tokio::task::spawn_blocking(move || {
        let mut replica = replica;
        replica.start_again().expect("restart the replica");
        replica
    })
    .await
    .unwrap();
    wait_for_replica(&[&a, &b], "serving").await;
    for app in [&a, &b] {
        let (status, database, body) = post(app, &reader, TOPICS).await;
        assert_eq!(
            (status, database.as_str()),
            (StatusCode::OK, "replica-1"),
            "{body}"
        );
        assert_eq!(topic_codes(&body), ["PERMITS"]);
    }

    // One rate limit across both instances: a session may make 10 requests a minute, wherever
    // they land. (A window boundary during the burst would allow a few more; then one retry.)
    let mut accepted_runs = Vec::new();
    for _ in 0..2 {
        let token = a.token_for("analyst@test.example").await;
        let mut accepted = 0;
        let mut refused = 0;
        for round in 0..12 {
            let app = if round % 2 == 0 { &a } else { &b };
            let (status, _, body) = post(app, &token, "{ me { role } }").await;
            if status == StatusCode::OK {
                accepted += 1;
            } else {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
                assert_eq!(first_error_code(&body), Some("RATE_LIMITED"));
                refused += 1;
            }
        }
        accepted_runs.push((accepted, refused));
        if accepted == 10 {
            break;
        }
    }
    assert_eq!(
        accepted_runs.last(),
        Some(&(10, 2)),
        "ten requests a minute across both instances: {accepted_runs:?}"
    );

    // Who served what is counted for /readyz.
    let body: Value = a
        .client
        .get(format!("{}/readyz", a.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["replicas"][0]["served"].as_u64().unwrap() > 0,
        "{body}"
    );
    assert!(body["primaryServed"].as_u64().unwrap() > 0, "{body}");
    // And for Prometheus, on the metrics listener.
    let scrape = a
        .client
        .get(format!("{}/metrics", a.metrics_address.as_ref().unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: &str| -> f64 {
        scrape
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{series}` in the scrape:\n{scrape}"))
    };
    assert!(value("bac_db_reads_total{database=\"replica-1\"}") > 0.0);
    assert!(value("bac_db_reads_total{database=\"primary\"}") > 0.0);
    assert_eq!(value("bac_db_replica_serving{database=\"replica-1\"}"), 1.0);
    assert!(value("bac_db_replica_lag_milliseconds{database=\"replica-1\"}") >= 0.0);

    drop((a, b));
    tokio::task::spawn_blocking(move || {
        replica.stop();
        primary.stop();
    })
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the topology test took {:?}",
        started.elapsed()
    );
}

#[test]
fn concurrent_migrations_run_once() {
    let url = empty_database();
    let runs: Vec<Vec<String>> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut connection = PgConnection::establish(&url).unwrap();
                run_migrations(&mut connection).expect("no process fails for another's run")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|run| run.join().unwrap())
        .collect();
    let applying: Vec<&Vec<String>> = runs.iter().filter(|run| !run.is_empty()).collect();
    assert_eq!(
        applying.len(),
        1,
        "one process applies the migrations: {runs:?}"
    );
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count();
    assert_eq!(applying[0].len(), on_disk);
}

#[tokio::test]
async fn a_server_with_another_reporting_time_zone_refuses_to_start() {
    // The first server on the database settles its zone (the default, America/New_York).
    let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
    let _first = TestApp::spawn_on(url.clone(), &[]).await;
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_bac-metrics"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .env(
            "JWT_SECRET",
            String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
        )
        .env("PSEUDONYM_KEY", PSEUDONYM_KEY)
        .env("BIND", "127.0.0.1:0")
        .env("REPORTING_TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run bac-metrics serve");
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("REPORTING_TZ is UTC but the metric rollups of this database are cut in America/New_York")
            && stderr.contains("bac-metrics migrate"),
        "{stderr}"
    );
    // Nothing was rebuilt or changed: the database keeps its zone.
    let mut connection = PgConnection::establish(&url).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Zone {
        #[diesel(sql_type = diesel::sql_types::Text)]
        time_zone: String,
    }
    let zone: Zone = sql_query("SELECT time_zone FROM metric_settings")
        .get_result(&mut connection)
        .unwrap();
    assert_eq!(zone.time_zone, "America/New_York");

    // `migrate` with the new zone moves the database; then such a server starts.
    let output = Command::new(env!("CARGO_BIN_EXE_bac-metrics"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url)
        .env(
            "JWT_SECRET",
            String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
        )
        .env("REPORTING_TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("reporting time zone is now UTC"));
    let _second = TestApp::spawn_on(url, &[("REPORTING_TZ", "UTC")]).await;
}
