//! Training needs and training impact (issue 5, items 1 and 2) against small hand-built datasets.
//!
//! The data goes in through `POST /import/...`; every expected number is a literal worked out by
//! hand from the rows written here, with the derivation in the comment beside it. Wilson bounds
//! (z = 1.96), mean intervals (mean ± 1.96·s/√n, s with the n−1 divisor), Newcombe's hybrid
//! score interval (d = p_a − p_b; lower = d − √((p_a − l_a)² + (u_b − p_b)²), upper = d +
//! √((u_a − p_a)² + (p_b − l_b)²)) and Welch's interval (d ± √(h_b² + h_a²), h = 1.96·s/√n) were
//! computed on the side with python3 from the inputs the comments give.

use bac_metrics::db::enums::Role;
use diesel::{prelude::*, sql_query};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp};

const TOLERANCE: f64 = 1e-6;

const INTERACTIONS: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";
const RESPONSES: &str = "source,external_id,interaction_source,interaction_external_id,kind,submitted_at,satisfaction,trust,effectiveness,ease,efficiency,transparency,helpfulness,resolved";

/// TEAM-A1's agents in the needs dataset (sorted by email, the report's order).
const W: &str = "w.anchor@test.example";
const X: &str = "x.agent@test.example";
const Y: &str = "y.agent@test.example";
const Z: &str = "z.agent@test.example";

/// The impact dataset's agents: P, Q and R in TEAM-A1, S in TEAM-B1.
const P: &str = "p.agent@test.example";
const Q: &str = "q.agent@test.example";
const R: &str = "r.agent@test.example";
const S: &str = "s.agent@test.example";

const NEEDS: &str = "query($from: Date!, $to: Date!, $unit: String!) {
  trainingNeeds(from: $from, to: $to, orgUnitCode: $unit) {
    from to minimumN orgUnit { code }
    agents { agent { email } orgUnit { code }
             needs { metric higherIsBetter agentValue n lower upper teamValue teamN courses { code } } }
    insufficientData { agent { email } orgUnit { code } metric n } } }";

const ASSIGN: &str = "mutation($agent: ID!, $course: String!, $reason: String, $need: TrainingNeedInput) {
  assignTraining(agentId: $agent, courseCode: $course, reason: $reason, need: $need) {
    id reason
    need { metric from to higherIsBetter agentValue n lower upper teamValue teamN minimumN orgUnitCode orgUnit { code } } } }";

const IMPACT: &str = "query($course: ID!, $days: Int!) {
  trainingImpact(courseId: $course, windowDays: $days) {
    course { code addressedMetrics } windowDays minimumN metrics
    agents { agent { email } completedAt completedOn beforeWindow { from to } afterWindow { from to }
             metrics { metric higherIsBetter before { value numerator n lower upper } after { value numerator n lower upper } difference lower upper } }
    pooled { metric before { value numerator n lower upper } after { value numerator n lower upper } difference lower upper agents }
    insufficientData { agent { email } metric beforeN afterN } } }";

fn close(actual: &Value, expected: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected {expected}, got {actual}"));
    assert!(
        (actual - expected).abs() < TOLERANCE,
        "{what}: expected {expected}, got {actual}"
    );
}

/// One phone call on a local day of October 2026 (12:00 EDT, or `hour`), answered in 10 s,
/// resolved without transfer and without a customer (so first contact resolution is decided by
/// the outcome alone), with one post-call survey answering satisfaction only.
struct Call {
    agent: &'static str,
    unit: &'static str,
    day: u32,
    handle_seconds: u32,
    satisfaction: u8,
}

fn call(agent: &'static str, day: u32, handle_seconds: u32, satisfaction: u8) -> Call {
    Call {
        agent,
        unit: "TEAM-A1",
        day,
        handle_seconds,
        satisfaction,
    }
}

/// `count` calls of `agent`, spread over days `first..first + count` (wrapping within `days`).
fn calls(
    agent: &'static str,
    days: std::ops::RangeInclusive<u32>,
    count: usize,
    handle_seconds: impl Fn(usize) -> u32,
    satisfaction: impl Fn(usize) -> u8,
) -> Vec<Call> {
    let days: Vec<u32> = days.collect();
    (0..count)
        .map(|index| {
            call(
                agent,
                days[index % days.len()],
                handle_seconds(index),
                satisfaction(index),
            )
        })
        .collect()
}

async fn upload(app: &TestApp, token: &str, kind: &str, body: String) {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .header("content-type", "text/csv")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["rejected"], 0, "{report}");
}

/// Imports the calls and their survey responses.
async fn load(app: &TestApp, ingest: &str, calls: &[Call]) {
    let mut interactions = vec![INTERACTIONS.to_owned()];
    let mut responses = vec![RESPONSES.to_owned()];
    for (index, call) in calls.iter().enumerate() {
        interactions.push(format!(
            "ti,call-{index},phone,{unit},{agent},,,2026-10-{day:02}T12:00:00-04:00,10,{handle},0,false,resolved",
            unit = call.unit,
            agent = call.agent,
            day = call.day,
            handle = call.handle_seconds,
        ));
        responses.push(format!(
            "ti,response-{index},ti,call-{index},post_call,2026-10-{day:02}T13:00:00-04:00,{satisfaction},,,,,,,",
            day = call.day,
            satisfaction = call.satisfaction,
        ));
    }
    upload(app, ingest, "interactions", interactions.join("\n") + "\n").await;
    upload(app, ingest, "survey-responses", responses.join("\n") + "\n").await;
}

struct World {
    app: TestApp,
    admin: String,
    ingest: String,
    /// Supervisor of OFFICE-A (TEAM-A1 and TEAM-A2).
    supervisor_a: String,
    /// Supervisor of OFFICE-B (TEAM-B1).
    supervisor_b: String,
    analyst: String,
    auditor: String,
    /// The agent X's own token.
    agent: String,
    /// User ids by email.
    ids: std::collections::HashMap<&'static str, String>,
}

impl World {
    async fn spawn(agents: &[(&'static str, &'static str)]) -> Self {
        let app = TestApp::spawn().await;
        app.seed_org().await;
        for (email, role, unit) in [
            ("admin@test.example", Role::Admin, "AGENCY"),
            ("ingest@test.example", Role::Ingest, "AGENCY"),
            ("analyst@test.example", Role::Analyst, "AGENCY"),
            ("auditor@test.example", Role::Auditor, "AGENCY"),
            ("supervisor.a@test.example", Role::Supervisor, "OFFICE-A"),
            ("supervisor.b@test.example", Role::Supervisor, "OFFICE-B"),
        ] {
            app.create_user(email, role, unit, false).await;
        }
        let mut ids = std::collections::HashMap::new();
        for (email, unit) in agents {
            let id = app.create_user(email, Role::Agent, unit, false).await;
            ids.insert(*email, id.to_string());
        }
        Self {
            admin: app.token_for("admin@test.example").await,
            ingest: app.token_for("ingest@test.example").await,
            supervisor_a: app.token_for("supervisor.a@test.example").await,
            supervisor_b: app.token_for("supervisor.b@test.example").await,
            analyst: app.token_for("analyst@test.example").await,
            auditor: app.token_for("auditor@test.example").await,
            agent: app.token_for(agents[0].0).await,
            ids,
            app,
        }
    }

    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (_, body) = self.app.post(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    async fn course(&self, code: &str, metrics: &[&str]) -> String {
        let data = self
            .ok(
                &self.admin,
                "mutation($code: String!, $metrics: [MetricKind!]) { createTrainingCourse(code: $code, title: \"A course\", addressedMetrics: $metrics) { id addressedMetrics } }",
                json!({ "code": code, "metrics": metrics }),
            )
            .await;
        assert_eq!(
            data["createTrainingCourse"]["addressedMetrics"],
            json!(metrics)
        );
        data["createTrainingCourse"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// TEAM-A1 in October 2026; every call lasts as said, waits 10 s, is resolved without transfer,
/// and has one survey answering satisfaction only (4–5 favourable):
/// - W (the anchor): 30 calls of 300 s, all rated 5 → CSAT 30/30.
/// - X: 20 calls of 300 s, 6 rated 5 and 14 rated 2 → CSAT 6/20 = 0.3.
/// - Y: 20 calls, 10 of 500 s and 10 of 700 s; 14 rated 5 and 6 rated 1 → CSAT 14/20 = 0.7,
///   handle time mean 600.
/// - Z: 5 calls of 300 s, all rated 5 (too few for anything).
///
/// Team TEAM-A1 (everyone, the agent included): CSAT (30 + 6 + 14 + 5)/75 = 55/75 = 0.733333;
/// handle time (30·300 + 20·300 + 10·500 + 10·700 + 5·300)/75 = 28500/75 = 380 s; first contact
/// resolution 75/75 = 1.0; transfer rate 0/75 = 0. The six drivers: no answers in the team, so
/// nobody is assessed or listed on them.
async fn needs_world() -> World {
    let world = World::spawn(&[
        (X, "TEAM-A1"),
        (W, "TEAM-A1"),
        (Y, "TEAM-A1"),
        (Z, "TEAM-A1"),
    ])
    .await;
    let mut dataset = calls(W, 1..=30, 30, |_| 300, |_| 5);
    dataset.extend(calls(X, 1..=20, 20, |_| 300, |i| if i < 6 { 5 } else { 2 }));
    dataset.extend(calls(
        Y,
        1..=20,
        20,
        |i| if i < 10 { 500 } else { 700 },
        |i| if i < 14 { 5 } else { 1 },
    ));
    dataset.extend(calls(Z, 1..=5, 5, |_| 300, |_| 5));
    load(&world.app, &world.ingest, &dataset).await;
    // Courses: CSAT-101 addresses CSAT (and helpfulness), AHT-201 handle time, FCR-101 first
    // contact resolution; OLD-CSAT addresses CSAT too but is retired (inactive).
    world.course("CSAT-101", &["CSAT", "HELPFULNESS"]).await;
    world.course("AHT-201", &["AVERAGE_HANDLE_TIME"]).await;
    world.course("FCR-101", &["FIRST_CONTACT_RESOLUTION"]).await;
    world.course("OLD-CSAT", &["CSAT"]).await;
    let mut connection = world.app.connection();
    sql_query("UPDATE training_courses SET active = false WHERE code = 'OLD-CSAT'")
        .execute(&mut connection)
        .unwrap();
    world
}

fn october(unit: &str) -> Value {
    json!({ "from": "2026-10-01", "to": "2026-10-31", "unit": unit })
}

#[tokio::test]
async fn training_needs_are_intervals_clear_of_the_team() {
    let world = needs_world().await;
    let data = world.ok(&world.admin, NEEDS, october("TEAM-A1")).await;
    let report = &data["trainingNeeds"];
    assert_eq!(report["minimumN"], 10);
    assert_eq!(report["orgUnit"]["code"], "TEAM-A1");
    let agents = report["agents"].as_array().unwrap();
    let emails: Vec<&str> = agents
        .iter()
        .map(|agent| agent["agent"]["email"].as_str().unwrap())
        .collect();
    // Z has too little data on every metric, so is not assessed; the rest by email.
    assert_eq!(emails, [W, X, Y], "{report}");
    assert!(agents
        .iter()
        .all(|agent| agent["orgUnit"]["code"] == "TEAM-A1"));

    // W: CSAT 30/30, at 300 s, FCR 30/30, no transfers: worse on nothing.
    assert_eq!(agents[0]["needs"], json!([]));

    // X: CSAT 6/20 = 0.3, Wilson [0.145475, 0.518977]: the upper bound is below the team's
    // 0.733333 — a need, with the active course that addresses CSAT (not the retired one).
    // Handle time 300 s (s = 0, interval [300, 300]) is better than 380. First contact
    // resolution 20/20 has upper bound 1.0, equal to the team's 1.0: a tie, not a need.
    let x_needs = agents[1]["needs"].as_array().unwrap();
    assert_eq!(x_needs.len(), 1, "{report}");
    let need = &x_needs[0];
    assert_eq!(need["metric"], "CSAT");
    assert_eq!(need["higherIsBetter"], true);
    close(&need["agentValue"], 0.3, "X CSAT");
    assert_eq!(need["n"], 20);
    close(&need["lower"], 0.145_475_274, "X CSAT lower");
    close(&need["upper"], 0.518_976_776, "X CSAT upper");
    close(&need["teamValue"], 0.733_333_333, "team CSAT");
    assert_eq!(need["teamN"], 75);
    assert_eq!(need["courses"], json!([{ "code": "CSAT-101" }]));

    // Y: CSAT 14/20 = 0.7 is below the team's 0.733333, but its Wilson upper bound 0.854525
    // overlaps it: not a need. Handle time: 10 × 500 and 10 × 700, mean 600,
    // s = √(20·100²/19) = 102.598, interval 600 ± 44.965484 = [555.034516, 644.965484]; the
    // lower bound is above the team's 380 (lower is better): a need.
    let y_needs = agents[2]["needs"].as_array().unwrap();
    assert_eq!(y_needs.len(), 1, "{report}");
    let need = &y_needs[0];
    assert_eq!(need["metric"], "AVERAGE_HANDLE_TIME");
    assert_eq!(need["higherIsBetter"], false);
    close(&need["agentValue"], 600.0, "Y AHT");
    assert_eq!(need["n"], 20);
    close(&need["lower"], 555.034_516_161, "Y AHT lower");
    close(&need["upper"], 644.965_483_839, "Y AHT upper");
    close(&need["teamValue"], 380.0, "team AHT");
    assert_eq!(need["teamN"], 75);
    assert_eq!(need["courses"], json!([{ "code": "AHT-201" }]));

    // Z: 5 of everything, below the minimum of 10, listed with n, in the order the metrics are
    // assessed (the drivers are absent: the team has no answers on them).
    assert_eq!(
        report["insufficientData"],
        json!([
            { "agent": { "email": Z }, "orgUnit": { "code": "TEAM-A1" }, "metric": "CSAT", "n": 5 },
            { "agent": { "email": Z }, "orgUnit": { "code": "TEAM-A1" }, "metric": "FIRST_CONTACT_RESOLUTION", "n": 5 },
            { "agent": { "email": Z }, "orgUnit": { "code": "TEAM-A1" }, "metric": "TRANSFER_RATE", "n": 5 },
            { "agent": { "email": Z }, "orgUnit": { "code": "TEAM-A1" }, "metric": "AVERAGE_HANDLE_TIME", "n": 5 },
        ])
    );
}

#[tokio::test]
async fn training_needs_follow_the_supervisor_scope_and_refuse_other_roles() {
    let world = needs_world().await;
    // OFFICE-A's supervisor, asking about OFFICE-A: TEAM-A1 is compared with itself as before.
    let data = world
        .ok(&world.supervisor_a, NEEDS, october("OFFICE-A"))
        .await;
    let agents = data["trainingNeeds"]["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "{data}");
    assert_eq!(agents[1]["needs"][0]["metric"], "CSAT");
    close(
        &agents[1]["needs"][0]["teamValue"],
        0.733_333_333,
        "team CSAT",
    );

    // A unit outside the supervisor's subtree, and the agency above it: FORBIDDEN.
    for (token, unit) in [
        (&world.supervisor_b, "TEAM-A1"),
        (&world.supervisor_a, "TEAM-B1"),
        (&world.supervisor_a, "AGENCY"),
    ] {
        let (_, body) = world.app.post(Some(token), NEEDS, october(unit)).await;
        assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{unit}: {body}");
        assert!(body["data"].is_null() || body["data"]["trainingNeeds"].is_null());
    }
    // Analysts, auditors and agents may not read training needs at all.
    for token in [&world.analyst, &world.auditor, &world.agent] {
        let (_, body) = world.app.post(Some(token), NEEDS, october("TEAM-A1")).await;
        assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    let (_, body) = world.app.post(None, NEEDS, october("TEAM-A1")).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    // Bad input names itself.
    let (_, body) = world
        .app
        .post(Some(&world.admin), NEEDS, october("NOPE"))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "orgUnitCode");
    let (_, body) = world
        .app
        .post(
            Some(&world.admin),
            NEEDS,
            json!({ "from": "2026-10-31", "to": "2026-10-01", "unit": "TEAM-A1" }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "to");
}

#[tokio::test]
async fn assign_training_records_a_recomputed_need() {
    let world = needs_world().await;
    let need = json!({ "metric": "CSAT", "from": "2026-10-01", "to": "2026-10-31" });

    // X's CSAT need (see `training_needs_are_intervals_clear_of_the_team`), without a reason:
    // the evidence is stored and the reason states it.
    let data = world
        .ok(
            &world.supervisor_a,
            ASSIGN,
            json!({ "agent": world.ids[X], "course": "CSAT-101", "need": need }),
        )
        .await;
    let assignment = &data["assignTraining"];
    assert_eq!(
        assignment["reason"],
        "CSAT 30.0% (95% interval 14.5% to 51.9%, n = 20) is worse than team TEAM-A1's 73.3% (n = 75) from 2026-10-01 to 2026-10-31"
    );
    let evidence = &assignment["need"];
    assert_eq!(evidence["metric"], "CSAT");
    assert_eq!(evidence["from"], "2026-10-01");
    assert_eq!(evidence["to"], "2026-10-31");
    assert_eq!(evidence["higherIsBetter"], true);
    close(&evidence["agentValue"], 0.3, "evidence value");
    assert_eq!(evidence["n"], 20);
    close(&evidence["lower"], 0.145_475_274, "evidence lower");
    close(&evidence["upper"], 0.518_976_776, "evidence upper");
    close(&evidence["teamValue"], 0.733_333_333, "evidence team");
    assert_eq!(evidence["teamN"], 75);
    assert_eq!(evidence["minimumN"], 10);
    assert_eq!(evidence["orgUnitCode"], "TEAM-A1");
    assert_eq!(evidence["orgUnit"]["code"], "TEAM-A1");
    // It is what the database holds, and the audit event carries it.
    let id: i64 = assignment["id"].as_str().unwrap().parse().unwrap();
    let mut connection = world.app.connection();
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        team_n: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        audited: Option<String>,
    }
    let stored: Stored = sql_query(format!(
        "SELECT a.need->>'teamN' AS team_n, \
                (SELECT e.after->'need'->>'metric' FROM audit_events e \
                  WHERE e.action = 'training.assign' AND e.entity_id = '{id}') AS audited \
           FROM training_assignments a WHERE a.id = {id}"
    ))
    .get_result(&mut connection)
    .unwrap();
    assert_eq!(stored.team_n.as_deref(), Some("75"));
    assert_eq!(stored.audited.as_deref(), Some("CSAT"));

    // With a reason of its own, the reason is kept and the evidence still stored.
    let data = world
        .ok(
            &world.admin,
            ASSIGN,
            json!({ "agent": world.ids[Y], "course": "AHT-201", "reason": "Long calls", "need": { "metric": "AVERAGE_HANDLE_TIME", "from": "2026-10-01", "to": "2026-10-31" } }),
        )
        .await;
    assert_eq!(data["assignTraining"]["reason"], "Long calls");
    close(
        &data["assignTraining"]["need"]["lower"],
        555.034_516_161,
        "Y AHT lower",
    );

    // Y's CSAT is lower than the team's but overlaps it: no need, refused on `need`.
    // Z has 5 answers: not enough data, refused on `need`. W is better than the team.
    for agent in [Y, Z, W] {
        let (_, body) = world
            .app
            .post(
                Some(&world.supervisor_a),
                ASSIGN,
                json!({ "agent": world.ids[agent], "course": "CSAT-101", "need": need }),
            )
            .await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{agent}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "need",
            "{agent}: {body}"
        );
    }
    // A course that does not address the metric, a metric needs are not assessed on, and
    // neither a reason nor a need.
    for (course, need, field) in [
        ("AHT-201", need.clone(), "courseCode"),
        (
            "CSAT-101",
            json!({ "metric": "SERVICE_LEVEL", "from": "2026-10-01", "to": "2026-10-31" }),
            "need",
        ),
        ("CSAT-101", Value::Null, "reason"),
    ] {
        let (_, body) = world
            .app
            .post(
                Some(&world.admin),
                ASSIGN,
                json!({ "agent": world.ids[X], "course": course, "need": need }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    // Another office's supervisor cannot see X at all.
    let (_, body) = world
        .app
        .post(
            Some(&world.supervisor_b),
            ASSIGN,
            json!({ "agent": world.ids[X], "course": "CSAT-101", "need": need }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
    // The old form (a reason, no need) still works and records no need.
    let data = world
        .ok(
            &world.supervisor_a,
            ASSIGN,
            json!({ "agent": world.ids[Z], "course": "FCR-101", "reason": "Onboarding" }),
        )
        .await;
    assert_eq!(data["assignTraining"]["need"], Value::Null);
}

#[tokio::test]
async fn courses_address_only_known_metrics() {
    let world = World::spawn(&[(X, "TEAM-A1")]).await;
    let (_, body) = world
        .app
        .post(
            Some(&world.admin),
            "mutation { createTrainingCourse(code: \"VOLUME\", title: \"More calls\", addressedMetrics: [INTERACTIONS]) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "addressedMetrics");
    // Duplicates are dropped; without the argument a course addresses nothing.
    let data = world
        .ok(
            &world.admin,
            "mutation { a: createTrainingCourse(code: \"TWICE\", title: \"T\", addressedMetrics: [EASE, EASE, TRUST]) { addressedMetrics } b: createTrainingCourse(code: \"PLAIN\", title: \"P\") { addressedMetrics } }",
            json!({}),
        )
        .await;
    assert_eq!(data["a"]["addressedMetrics"], json!(["EASE", "TRUST"]));
    assert_eq!(data["b"]["addressedMetrics"], json!([]));
    // The database refuses names outside the metric catalogue, and NULL elements.
    let mut connection = world.app.connection();
    for array in ["ARRAY['BOGUS']", "ARRAY[NULL]::text[]"] {
        let refused = sql_query(format!(
            "UPDATE training_courses SET addressed_metrics = {array} WHERE code = 'PLAIN'"
        ))
        .execute(&mut connection);
        assert!(refused.is_err(), "{array} was accepted");
    }
}

/// The impact dataset (course CARE-1 addresses CSAT and handle time; windows of 10 days):
/// - P completed at 2026-10-16T02:00Z = 15 October, 22:00 EDT: completion day 15 October.
///   Before (5–14 Oct): 10 calls, 5 of 400 s and 5 of 600 s, 4 rated 5 and 6 rated 2.
///   After (16–25 Oct): 12 calls, 6 of 300 s and 6 of 500 s, 10 rated 5 and 2 rated 2.
///   Outside both: a call on 4 Oct, one on the completion day and one on 26 Oct, each 900 s
///   rated 1 — none may count.
/// - Q completed at 2026-10-15T14:00Z (15 Oct, same windows as P): 10 calls before (300 s,
///   5 rated 5), 3 after (300 s, rated 5) — too few after.
/// - R completed at 2026-10-20T16:00Z (20 Oct): before (10–19 Oct) 10 calls, 5 of 450 s and 5 of
///   550 s, 5 rated 5; after (21–30 Oct) 10 calls, 5 of 400 s and 5 of 500 s, 8 rated 5.
/// - S (TEAM-B1) completed at 2026-10-20T16:00Z and handled nothing.
/// - An open (not completed) assignment of R to CARE-1 and a completion of another course by P
///   do not count.
async fn impact_world() -> (World, String) {
    let world = World::spawn(&[
        (P, "TEAM-A1"),
        (Q, "TEAM-A1"),
        (R, "TEAM-A1"),
        (S, "TEAM-B1"),
    ])
    .await;
    let mut dataset = calls(
        P,
        5..=14,
        10,
        |i| if i < 5 { 400 } else { 600 },
        |i| if i < 4 { 5 } else { 2 },
    );
    dataset.extend(calls(
        P,
        16..=25,
        12,
        |i| if i < 6 { 300 } else { 500 },
        |i| if i < 10 { 5 } else { 2 },
    ));
    for day in [4, 15, 26] {
        dataset.push(call(P, day, 900, 1));
    }
    dataset.extend(calls(Q, 5..=14, 10, |_| 300, |i| if i < 5 { 5 } else { 1 }));
    dataset.extend(calls(Q, 16..=18, 3, |_| 300, |_| 5));
    dataset.extend(calls(
        R,
        10..=19,
        10,
        |i| if i < 5 { 450 } else { 550 },
        |i| if i < 5 { 5 } else { 2 },
    ));
    dataset.extend(calls(
        R,
        21..=30,
        10,
        |i| if i < 5 { 400 } else { 500 },
        |i| if i < 8 { 5 } else { 2 },
    ));
    load(&world.app, &world.ingest, &dataset).await;
    let course_id = world
        .course("CARE-1", &["CSAT", "AVERAGE_HANDLE_TIME"])
        .await;
    world.course("OTHER", &["CSAT"]).await;
    let mut connection = world.app.connection();
    for (agent, course, completed_at) in [
        (P, "CARE-1", Some("2026-10-16T02:00:00Z")),
        (Q, "CARE-1", Some("2026-10-15T14:00:00Z")),
        (R, "CARE-1", Some("2026-10-20T16:00:00Z")),
        (S, "CARE-1", Some("2026-10-20T16:00:00Z")),
        (R, "CARE-1", None),
        (P, "OTHER", Some("2026-10-01T16:00:00Z")),
    ] {
        let data = world
            .ok(
                &world.admin,
                ASSIGN,
                json!({ "agent": world.ids[agent], "course": course, "reason": "Coaching plan" }),
            )
            .await;
        let id = data["assignTraining"]["id"].as_str().unwrap().to_owned();
        if let Some(completed_at) = completed_at {
            // Completion times are set behind the API's back: `completeTraining` stamps "now".
            sql_query(format!(
                "UPDATE training_assignments SET completed_at = '{completed_at}' WHERE id = {id}"
            ))
            .execute(&mut connection)
            .unwrap();
        }
    }
    (world, course_id)
}

#[tokio::test]
async fn training_impact_compares_windows_around_each_completion() {
    let (world, course_id) = impact_world().await;
    let data = world
        .ok(
            &world.admin,
            IMPACT,
            json!({ "course": course_id, "days": 10 }),
        )
        .await;
    let report = &data["trainingImpact"];
    assert_eq!(report["course"]["code"], "CARE-1");
    assert_eq!(report["windowDays"], 10);
    assert_eq!(report["minimumN"], 10);
    assert_eq!(report["metrics"], json!(["CSAT", "AVERAGE_HANDLE_TIME"]));

    // By completion time: Q (15 Oct 14:00Z), P (16 Oct 02:00Z), then R and S (20 Oct; R first
    // by id).
    let agents = report["agents"].as_array().unwrap();
    let emails: Vec<&str> = agents
        .iter()
        .map(|agent| agent["agent"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [Q, P, R, S], "{report}");
    let p = &agents[1];
    // 02:00Z on the 16th is 22:00 on the 15th in New York: the completion day is the 15th.
    assert_eq!(p["completedOn"], "2026-10-15");
    assert_eq!(
        p["beforeWindow"],
        json!({ "from": "2026-10-05", "to": "2026-10-14" })
    );
    assert_eq!(
        p["afterWindow"],
        json!({ "from": "2026-10-16", "to": "2026-10-25" })
    );
    let p_metrics = p["metrics"].as_array().unwrap();
    assert_eq!(p_metrics.len(), 2, "{p}");

    // P's CSAT: before 4/10 = 0.4, Wilson [0.168178, 0.687330]; after 10/12 = 0.833333, Wilson
    // [0.551964, 0.953036]. d = 0.433333; Newcombe
    // lower = d − √((0.833333 − 0.551964)² + (0.687330 − 0.4)²) = 0.031180,
    // upper = d + √((0.953036 − 0.833333)² + (0.4 − 0.168178)²) = 0.694236.
    let csat = &p_metrics[0];
    assert_eq!(csat["metric"], "CSAT");
    assert_eq!(csat["higherIsBetter"], true);
    close(&csat["before"]["value"], 0.4, "P before");
    assert_eq!(csat["before"]["n"], 10);
    assert_eq!(csat["before"]["numerator"], 4.0);
    close(&csat["before"]["lower"], 0.168_177_581, "P before lower");
    close(&csat["before"]["upper"], 0.687_330_453, "P before upper");
    close(&csat["after"]["value"], 0.833_333_333, "P after");
    assert_eq!(csat["after"]["n"], 12);
    close(&csat["after"]["lower"], 0.551_963_643, "P after lower");
    close(&csat["after"]["upper"], 0.953_035_852, "P after upper");
    close(&csat["difference"], 0.433_333_333, "P CSAT difference");
    close(&csat["lower"], 0.031_179_517, "P CSAT difference lower");
    close(&csat["upper"], 0.694_236_240, "P CSAT difference upper");

    // P's handle time: before 5 × 400 and 5 × 600, mean 500, s = √(10·100²/9) = 105.409,
    // h = 1.96·s/√10 = 65.333333; after 6 × 300 and 6 × 500, mean 400, s = √(12·100²/11) =
    // 104.447, h = 59.096224. d = −100 ± √(65.333333² + 59.096224²) = −100 ± 88.095449.
    let aht = &p_metrics[1];
    assert_eq!(aht["metric"], "AVERAGE_HANDLE_TIME");
    assert_eq!(aht["higherIsBetter"], false);
    close(&aht["before"]["value"], 500.0, "P AHT before");
    close(
        &aht["before"]["lower"],
        434.666_666_667,
        "P AHT before lower",
    );
    close(&aht["after"]["value"], 400.0, "P AHT after");
    close(&aht["after"]["upper"], 459.096_223_537, "P AHT after upper");
    assert_eq!(aht["after"]["n"], 12);
    close(&aht["difference"], -100.0, "P AHT difference");
    close(&aht["lower"], -188.095_448_695, "P AHT difference lower");
    close(&aht["upper"], -11.904_551_305, "P AHT difference upper");

    // R: CSAT 5/10 → 8/10, d = 0.3, Newcombe [−0.106679, 0.599876]; handle time 500 → 450,
    // h = 32.666667 in both (s = √(10·50²/9)), d = −50 ± 46.197643.
    let r = &agents[2];
    assert_eq!(r["completedOn"], "2026-10-20");
    assert_eq!(
        r["beforeWindow"],
        json!({ "from": "2026-10-10", "to": "2026-10-19" })
    );
    close(&r["metrics"][0]["difference"], 0.3, "R CSAT difference");
    close(&r["metrics"][0]["lower"], -0.106_679_016, "R CSAT lower");
    close(&r["metrics"][0]["upper"], 0.599_875_629, "R CSAT upper");
    close(&r["metrics"][1]["difference"], -50.0, "R AHT difference");
    close(&r["metrics"][1]["lower"], -96.197_643_038, "R AHT lower");
    close(&r["metrics"][1]["upper"], -3.802_356_962, "R AHT upper");

    // Q (3 calls after) and S (nothing): listed, not dropped, with no metrics compared.
    assert_eq!(agents[0]["metrics"], json!([]));
    assert_eq!(agents[3]["metrics"], json!([]));
    assert_eq!(
        report["insufficientData"],
        json!([
            { "agent": { "email": Q }, "metric": "CSAT", "beforeN": 10, "afterN": 3 },
            { "agent": { "email": Q }, "metric": "AVERAGE_HANDLE_TIME", "beforeN": 10, "afterN": 3 },
            { "agent": { "email": S }, "metric": "CSAT", "beforeN": 0, "afterN": 0 },
            { "agent": { "email": S }, "metric": "AVERAGE_HANDLE_TIME", "beforeN": 0, "afterN": 0 },
        ])
    );

    // Pooled over P and R. CSAT: before (4 + 5)/(10 + 10) = 9/20 = 0.45, Wilson [0.258195,
    // 0.657918]; after (10 + 8)/(12 + 10) = 18/22 = 0.818182, Wilson [0.614830, 0.926932];
    // d = 0.368182, Newcombe [0.077352, 0.588672].
    let pooled = report["pooled"].as_array().unwrap();
    assert_eq!(pooled.len(), 2);
    let csat = &pooled[0];
    assert_eq!(csat["metric"], "CSAT");
    assert_eq!(csat["agents"], 2);
    assert_eq!(csat["before"]["numerator"], 9.0);
    assert_eq!(csat["before"]["n"], 20);
    close(&csat["before"]["value"], 0.45, "pooled before");
    close(&csat["after"]["value"], 0.818_181_818, "pooled after");
    assert_eq!(csat["after"]["n"], 22);
    close(&csat["difference"], 0.368_181_818, "pooled CSAT difference");
    close(&csat["lower"], 0.077_352_070, "pooled CSAT lower");
    close(&csat["upper"], 0.588_671_786, "pooled CSAT upper");
    // Handle time: before the 20 values of P and R (400, 600, 450, 550 five times each), mean
    // 500, s = √((5·100² + 5·100² + 5·50² + 5·50²)/19) = 81.111, h = 35.548336; after the 22
    // values (300 and 500 six times, 400 and 500 five times), mean 9300/22 = 422.727273,
    // h = 36.319215. d = −77.272727 ± √(35.548336² + 36.319215²) = [−128.093684, −26.451771].
    let aht = &pooled[1];
    assert_eq!(aht["metric"], "AVERAGE_HANDLE_TIME");
    assert_eq!(aht["agents"], 2);
    close(&aht["before"]["value"], 500.0, "pooled AHT before");
    close(
        &aht["before"]["lower"],
        464.451_663_745,
        "pooled AHT before lower",
    );
    close(&aht["after"]["value"], 422.727_272_727, "pooled AHT after");
    close(
        &aht["after"]["upper"],
        459.046_488_020,
        "pooled AHT after upper",
    );
    close(&aht["difference"], -77.272_727_273, "pooled AHT difference");
    close(&aht["lower"], -128.093_683_678, "pooled AHT lower");
    close(&aht["upper"], -26.451_770_867, "pooled AHT upper");
}

#[tokio::test]
async fn training_impact_is_scoped_and_validated() {
    let (world, course_id) = impact_world().await;
    // OFFICE-A's supervisor sees P, Q and R (S is in TEAM-B1); the pooled result is the same.
    let data = world
        .ok(
            &world.supervisor_a,
            IMPACT,
            json!({ "course": course_id, "days": 10 }),
        )
        .await;
    let report = &data["trainingImpact"];
    let emails: Vec<&str> = report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| agent["agent"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, [Q, P, R]);
    assert_eq!(report["insufficientData"].as_array().unwrap().len(), 2);
    close(
        &report["pooled"][0]["difference"],
        0.368_181_818,
        "pooled CSAT",
    );
    // OFFICE-B's supervisor sees only S, who has no data.
    let data = world
        .ok(
            &world.supervisor_b,
            IMPACT,
            json!({ "course": course_id, "days": 10 }),
        )
        .await;
    assert_eq!(
        data["trainingImpact"]["agents"].as_array().unwrap().len(),
        1
    );
    assert_eq!(data["trainingImpact"]["pooled"][0]["agents"], 0);
    assert_eq!(
        data["trainingImpact"]["pooled"][0]["difference"],
        Value::Null
    );
    // Auditors read it; analysts and agents may not.
    world
        .ok(
            &world.auditor,
            IMPACT,
            json!({ "course": course_id, "days": 10 }),
        )
        .await;
    for token in [&world.analyst, &world.agent] {
        let (_, body) = world
            .app
            .post(
                Some(token),
                IMPACT,
                json!({ "course": course_id, "days": 10 }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
    }
    // Windows of 1 to 365 days; an unknown course is NOT_FOUND.
    for days in [0, 366] {
        let (_, body) = world
            .app
            .post(
                Some(&world.admin),
                IMPACT,
                json!({ "course": course_id, "days": days }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "windowDays");
    }
    let (_, body) = world
        .app
        .post(
            Some(&world.admin),
            IMPACT,
            json!({ "course": "999999", "days": 10 }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
}
