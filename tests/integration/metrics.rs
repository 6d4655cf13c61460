//! The `metrics` query (docs/metrics.md) against small hand-built datasets.
//!
//! Every expected number is a literal worked out by hand from the rows written in the test; the
//! comment next to it derives it. Wilson bounds (z = 1.96) and mean intervals
//! (mean ± 1.96·s/√n, s with the n−1 divisor) were computed on the side; their comments give the
//! inputs. Every query runs against two servers over the same database: the default one
//! (`METRICS_SOURCE` unset = `auto`, daily rollups) and one with `METRICS_SOURCE=base` (base
//! tables). Both must answer the same literals.
//!
//! The data goes in through the public write paths (`POST /import/...`), in two deliveries where
//! a later contact changes an earlier day's repeat-contact metrics, so the rollups must follow.

use bac_metrics::db::enums::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp};

const TOLERANCE: f64 = 1e-6;

const METRICS: &str = "query($query: MetricsQuery!) { metrics(query: $query) { timeZone rows { \
    periodStart periodLabel channel orgUnit { code } agent { email } topic { code } \
    values { metric value numerator denominator lower upper suppressed } } } }";

/// The interaction import columns (the optional customer details are left out).
const INTERACTIONS: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";
const INVITATIONS: &str =
    "source,external_id,interaction_source,interaction_external_id,kind,sent_at";
const RESPONSES: &str = "source,external_id,interaction_source,interaction_external_id,kind,submitted_at,satisfaction,trust,effectiveness,ease,efficiency,transparency,helpfulness,resolved";

/// The agents (TEAM-A1, TEAM-A2, TEAM-B1 of `TestApp::seed_org`).
const A1: &str = "agent.a1@test.example";
const A2: &str = "agent.a2@test.example";
const B1: &str = "agent.b1@test.example";

// ---------------------------------------------------------------------------------------------
// The world: two servers over one database, users of every role, three topics.
// ---------------------------------------------------------------------------------------------

struct World {
    /// The default server (`METRICS_SOURCE` auto).
    auto: TestApp,
    /// The same database, `METRICS_SOURCE=base`.
    base: TestApp,
    time_zone: String,
    admin: String,
    ingest: String,
    analyst: String,
    /// Supervisor of OFFICE-A (TEAM-A1 and TEAM-A2).
    supervisor: String,
    agent_a1: String,
    agent_b1: String,
    a1_id: String,
    a2_id: String,
}

impl World {
    async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    async fn spawn_with(variables: &[(&str, &str)]) -> Self {
        let auto = TestApp::spawn_with(variables).await;
        let mut base_variables = variables.to_vec();
        base_variables.push(("METRICS_SOURCE", "base"));
        let base = TestApp::spawn_on(auto.database_url.clone(), &base_variables).await;
        auto.seed_org().await;
        let mut ids = Vec::new();
        for (email, role, unit) in [
            ("admin@test.example", Role::Admin, "AGENCY"),
            ("ingest@test.example", Role::Ingest, "AGENCY"),
            ("analyst@test.example", Role::Analyst, "AGENCY"),
            ("supervisor.a@test.example", Role::Supervisor, "OFFICE-A"),
            (A1, Role::Agent, "TEAM-A1"),
            (A2, Role::Agent, "TEAM-A2"),
            (B1, Role::Agent, "TEAM-B1"),
        ] {
            ids.push(auto.create_user(email, role, unit, false).await.to_string());
        }
        let time_zone = variables
            .iter()
            .find(|(name, _)| *name == "REPORTING_TZ")
            .map(|(_, value)| value.to_string())
            .unwrap_or_else(|| "America/New_York".into());
        let world = Self {
            admin: auto.token_for("admin@test.example").await,
            ingest: auto.token_for("ingest@test.example").await,
            analyst: auto.token_for("analyst@test.example").await,
            supervisor: auto.token_for("supervisor.a@test.example").await,
            agent_a1: auto.token_for(A1).await,
            agent_b1: auto.token_for(B1).await,
            a1_id: ids[4].clone(),
            a2_id: ids[5].clone(),
            auto,
            base,
            time_zone,
        };
        upload(
            &world.auto,
            &world.admin,
            "topics",
            "code,name",
            "LICENSING,Licensing\nPERMITS,Permits\nTAX_REGISTRATION,Tax registration",
        )
        .await;
        world
    }

    async fn interactions(&self, rows: &str) {
        upload(&self.auto, &self.ingest, "interactions", INTERACTIONS, rows).await;
    }

    async fn invitations(&self, rows: &str) {
        upload(
            &self.auto,
            &self.ingest,
            "survey-invitations",
            INVITATIONS,
            rows,
        )
        .await;
    }

    async fn responses(&self, rows: &str) {
        upload(
            &self.auto,
            &self.ingest,
            "survey-responses",
            RESPONSES,
            rows,
        )
        .await;
    }

    /// Runs `query` on both servers; each must answer exactly the `expected` rows.
    async fn expect(&self, token: &str, query: Value, expected: Vec<Value>) {
        let expected = Value::Array(expected);
        let mut failures = Vec::new();
        for (source, app) in [("auto", &self.auto), ("base", &self.base)] {
            let (status, body) = app
                .post(Some(token), METRICS, json!({ "query": query }))
                .await;
            if body.get("errors").is_some() || status != StatusCode::OK {
                failures.push(format!("METRICS_SOURCE={source}: HTTP {status}: {body}"));
                continue;
            }
            let report = &body["data"]["metrics"];
            let mut problems = Vec::new();
            if report["timeZone"] != json!(self.time_zone) {
                problems.push(format!(
                    "timeZone: expected {}, got {}",
                    self.time_zone, report["timeZone"]
                ));
            }
            compare(&expected, &report["rows"], "rows", &mut problems);
            if !problems.is_empty() {
                failures.push(format!(
                    "METRICS_SOURCE={source}:\n  {}\n  actual rows: {}",
                    problems.join("\n  "),
                    report["rows"]
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "query {query}\nexpected rows: {expected}\n{}",
            failures.join("\n")
        );
    }

    /// Runs `query` on both servers; each must refuse it with `code`.
    async fn expect_error(&self, token: Option<&str>, query: Value, code: &str) {
        for (source, app) in [("auto", &self.auto), ("base", &self.base)] {
            let (_, body) = app.post(token, METRICS, json!({ "query": query })).await;
            assert_eq!(
                first_error_code(&body),
                Some(code),
                "METRICS_SOURCE={source}: query {query}: {body}"
            );
            assert!(
                body["data"].is_null() || body["data"]["metrics"].is_null(),
                "METRICS_SOURCE={source}: no report with an error: {body}"
            );
        }
    }
}

/// Posts a CSV file (`header` + `rows`; blank lines and `#` comment lines dropped, lines
/// trimmed); every row must be inserted.
async fn upload(app: &TestApp, token: &str, kind: &str, header: &str, rows: &str) {
    let mut file = String::from(header);
    for line in rows.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with('#') {
            file.push('\n');
            file.push_str(line);
        }
    }
    file.push('\n');
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "import {kind}: {report}");
    assert_eq!(report["rejected"], 0, "import {kind}: {report}");
    assert_eq!(report["conflicts"], 0, "import {kind}: {report}");
}

/// Compares the fields `expected` names (numbers within [`TOLERANCE`]); collects differences.
fn compare(expected: &Value, actual: &Value, path: &str, problems: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Number(want), Value::Number(got)) => {
            let (want, got) = (want.as_f64().unwrap(), got.as_f64().unwrap());
            if (want - got).abs() > TOLERANCE {
                problems.push(format!("{path}: expected {want}, got {got}"));
            }
        }
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                compare(
                    value,
                    got.get(key).unwrap_or(&Value::Null),
                    &format!("{path}.{key}"),
                    problems,
                );
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                problems.push(format!(
                    "{path}: expected {} entries, got {}",
                    want.len(),
                    got.len()
                ));
            }
            for (index, (want, got)) in want.iter().zip(got).enumerate() {
                let label = want["metric"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| index.to_string());
                compare(want, got, &format!("{path}[{label}]"), problems);
            }
        }
        (want, got) if want == got => {}
        (want, got) => problems.push(format!("{path}: expected {want}, got {got}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Expected rows and values.
// ---------------------------------------------------------------------------------------------

/// A row: its period, its group values (`channel`, `orgUnit`, `agent` by email, `topic`; the
/// ones not named are null) and its values.
fn row(
    period_start: &str,
    period_label: &str,
    groups: &[(&str, &str)],
    values: Vec<Value>,
) -> Value {
    let mut row = json!({
        "periodStart": period_start,
        "periodLabel": period_label,
        "channel": null,
        "orgUnit": null,
        "agent": null,
        "topic": null,
        "values": values,
    });
    for (dimension, key) in groups {
        row[*dimension] = match *dimension {
            "channel" => json!(key),
            "orgUnit" | "topic" => json!({ "code": key }),
            "agent" => json!({ "email": key }),
            other => panic!("no dimension {other}"),
        };
    }
    row
}

/// `INTERACTIONS`: value = numerator = the count; no denominator, no bounds.
fn count(n: f64) -> Value {
    json!({ "metric": "INTERACTIONS", "value": n, "numerator": n, "denominator": null,
            "lower": null, "upper": null, "suppressed": false })
}

/// A proportion or a mean with its 95% interval.
fn shown(
    metric: &str,
    value: f64,
    numerator: f64,
    denominator: f64,
    lower: f64,
    upper: f64,
) -> Value {
    json!({ "metric": metric, "value": value, "numerator": numerator, "denominator": denominator,
            "lower": lower, "upper": upper, "suppressed": false })
}

/// A mean of one observation: no interval (n < 2).
fn single(metric: &str, value: f64) -> Value {
    json!({ "metric": metric, "value": value, "numerator": value, "denominator": 1.0,
            "lower": null, "upper": null, "suppressed": false })
}

/// Denominator 0: no value, no bounds; numerator and denominator 0.
fn empty(metric: &str) -> Value {
    json!({ "metric": metric, "value": null, "numerator": 0.0, "denominator": 0.0,
            "lower": null, "upper": null, "suppressed": false })
}

/// Suppressed for the analyst: everything null.
fn hidden(metric: &str) -> Value {
    json!({ "metric": metric, "value": null, "numerator": null, "denominator": null,
            "lower": null, "upper": null, "suppressed": true })
}

// ---------------------------------------------------------------------------------------------
// Dataset A: January 2025, every channel, three teams. All times are 10:00 local or later on
// their day, far from midnight (EST = UTC−5). Topics: LIC = LICENSING, PER = PERMITS,
// TAX = TAX_REGISTRATION.
//
// id   channel    unit    agent cust topic local date   wait handle transfers abandoned outcome
// o0   phone      TEAM-A1 a1    -    LIC   2024-12-31   5    50     0         no        resolved
// o1   phone      TEAM-A1 a1    C1   LIC   01-06        10   300    0         no        resolved
// o2   phone      TEAM-A1 a1    C2   PER   01-07        25   200    1         no        resolved
// o3   phone      TEAM-A1 -     C3   LIC   01-08        90   -      0         yes       -
// o4   phone      TEAM-A2 a2    -    LIC   01-09        45   400    0         no        resolved
// o5   chat       TEAM-A2 a2    C4   PER   01-10        20   600    0         no        unresolved
// o6   chat       TEAM-A2 -     -    PER   01-10        5    -      0         yes       -
// o7   chat       TEAM-A2 a2    C5   LIC   01-13        -    100    0         no        resolved
// o8   email      TEAM-B1 b1    C6   TAX   01-14        -    1000   2         no        referred
// o9   web        TEAM-B1 -     C6   TAX   01-15        -    -      0         no        -
// o10  ivr        TEAM-B1 -     C7   LIC   01-16 10:00  -    -      0         no        -
// o11  sms        TEAM-B1 -     -    LIC   01-17        -    -      0         no        -
// o12  phone      TEAM-B1 b1    C7   LIC   01-16 15:00  15   120    0         no        resolved
// o13  in_person  TEAM-B1 b1    C8   PER   01-29        -    900    0         no        resolved
// o14  phone      TEAM-A1 a1    C8   PER   2025-02-01   5    50     0         no        resolved
//
// o14 comes in a later delivery: a repeat of o13 three days later, after the month.
// In January (o1..o13): 13 interactions.
//   queued (phone, chat): o1 o2 o3 o4 o12 o5 o6 o7 = 8; abandoned o3 o6 = 2.
//   answered with a wait: o1 10, o2 25, o4 45, o12 15, o5 20 (o7 has none) = 5, sum 115.
//   assisted not abandoned: o1 o2 o4 o5 o7 o8 o12 o13 = 8; handle 300 200 400 600 100 1000 120
//     900, sum 3620; transferred o2 o8 = 2.
//   FCR: o1 yes; o2 transferred; o4 yes (no customer); o5 unresolved; o7 yes; o8 referred;
//     o12 yes (o10 before it is self-service); o13 no (o14 repeats it, in February) = 4 of 8.
//   containment: self-service with a customer o9 o10 (o11 has none); o9 contained (o8 was
//     before it); o10 not (o12 five hours later, same customer and topic) = 1 of 2.
// ---------------------------------------------------------------------------------------------

const DATASET_A: &str = "
    pbx,o0,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2024-12-31T15:00:00Z,5,50,0,false,resolved
    pbx,o1,phone,TEAM-A1,agent.a1@test.example,C1,LICENSING,2025-01-06T15:00:00Z,10,300,0,false,resolved
    pbx,o2,phone,TEAM-A1,agent.a1@test.example,C2,PERMITS,2025-01-07T15:00:00Z,25,200,1,false,resolved
    pbx,o3,phone,TEAM-A1,,C3,LICENSING,2025-01-08T15:00:00Z,90,,0,true,
    pbx,o4,phone,TEAM-A2,agent.a2@test.example,,LICENSING,2025-01-09T15:00:00Z,45,400,0,false,resolved
    pbx,o5,chat,TEAM-A2,agent.a2@test.example,C4,PERMITS,2025-01-10T15:00:00Z,20,600,0,false,unresolved
    pbx,o6,chat,TEAM-A2,,,PERMITS,2025-01-10T16:00:00Z,5,,0,true,
    pbx,o7,chat,TEAM-A2,agent.a2@test.example,C5,LICENSING,2025-01-13T15:00:00Z,,100,0,false,resolved
    pbx,o8,email,TEAM-B1,agent.b1@test.example,C6,TAX_REGISTRATION,2025-01-14T15:00:00Z,,1000,2,false,referred
    pbx,o9,web_self_service,TEAM-B1,,C6,TAX_REGISTRATION,2025-01-15T15:00:00Z,,,0,false,
    pbx,o10,ivr,TEAM-B1,,C7,LICENSING,2025-01-16T15:00:00Z,,,0,false,
    pbx,o11,sms,TEAM-B1,,,LICENSING,2025-01-17T15:00:00Z,,,0,false,
    pbx,o12,phone,TEAM-B1,agent.b1@test.example,C7,LICENSING,2025-01-16T20:00:00Z,15,120,0,false,resolved
    pbx,o13,in_person,TEAM-B1,agent.b1@test.example,C8,PERMITS,2025-01-29T15:00:00Z,,900,0,false,resolved
";

const DATASET_A_LATER: &str = "
    pbx,o14,phone,TEAM-A1,agent.a1@test.example,C8,PERMITS,2025-02-01T15:00:00Z,5,50,0,false,resolved
";

async fn world_a() -> World {
    let world = World::spawn().await;
    world.interactions(DATASET_A).await;
    world.interactions(DATASET_A_LATER).await;
    world
}

const JANUARY: &str = "2025-01-01/2025-01-31";

#[tokio::test]
async fn operational_metrics_of_a_month_match_hand_computation() {
    let world = world_a().await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "ABANDONMENT_RATE", "AVERAGE_SPEED_OF_ANSWER",
                                "SERVICE_LEVEL", "AVERAGE_HANDLE_TIME", "TRANSFER_RATE",
                                "FIRST_CONTACT_RESOLUTION", "SELF_SERVICE_CONTAINMENT"],
                    "from": "2025-01-01", "to": "2025-01-31" }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    // o1..o13 (o0 is in December, o14 in February).
                    count(13.0),
                    // o3 o6 abandoned of 8 queued; Wilson(2, 8).
                    shown(
                        "ABANDONMENT_RATE",
                        2.0 / 8.0,
                        2.0,
                        8.0,
                        0.0714776889,
                        0.5907301209,
                    ),
                    // (10+25+45+15+20)/5 = 115/5 = 23; s = sqrt(730/4) = 13.5092560861,
                    // 23 ± 1.96·13.5092560861/√5.
                    shown(
                        "AVERAGE_SPEED_OF_ANSWER",
                        23.0,
                        115.0,
                        5.0,
                        11.1586149459,
                        34.8413850541,
                    ),
                    // waits ≤ 30: o1 10, o2 25, o12 15, o5 20 (o4 45 no, o7 none) = 4 of 8
                    // queued (abandoned included); Wilson(4, 8).
                    shown(
                        "SERVICE_LEVEL",
                        4.0 / 8.0,
                        4.0,
                        8.0,
                        0.2152125268,
                        0.7847874732,
                    ),
                    // 3620/8 = 452.5; s = 347.7170442431; 452.5 ± 1.96·s/√8.
                    shown(
                        "AVERAGE_HANDLE_TIME",
                        452.5,
                        3620.0,
                        8.0,
                        211.5443816799,
                        693.4556183201,
                    ),
                    // o2 o8 of 8; Wilson(2, 8).
                    shown(
                        "TRANSFER_RATE",
                        2.0 / 8.0,
                        2.0,
                        8.0,
                        0.0714776889,
                        0.5907301209,
                    ),
                    // o1 o4 o7 o12 of 8 (o13 repeated by o14 after `to`); Wilson(4, 8).
                    shown(
                        "FIRST_CONTACT_RESOLUTION",
                        4.0 / 8.0,
                        4.0,
                        8.0,
                        0.2152125268,
                        0.7847874732,
                    ),
                    // o9 of o9, o10; Wilson(1, 2).
                    shown(
                        "SELF_SERVICE_CONTAINMENT",
                        1.0 / 2.0,
                        1.0,
                        2.0,
                        0.0945286548,
                        0.9054713452,
                    ),
                ],
            )],
        )
        .await;

    // A 20-second threshold: o1 10, o12 15, o5 20 (≤ is inclusive) = 3 of 8; Wilson(3, 8).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["SERVICE_LEVEL"], "from": "2025-01-01", "to": "2025-01-31",
                    "serviceLevelThresholdSeconds": 20 }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![shown(
                    "SERVICE_LEVEL",
                    3.0 / 8.0,
                    3.0,
                    8.0,
                    0.1368417595,
                    0.6942621454,
                )],
            )],
        )
        .await;

    // The month before alone: o0 only (phone, a1, no customer, resolved, wait 5, handle 50).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "AVERAGE_SPEED_OF_ANSWER", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2024-12-01", "to": "2024-12-31" }),
            vec![row(
                "2024-12-01",
                "2024-12-01/2024-12-31",
                &[],
                vec![
                    count(1.0),
                    single("AVERAGE_SPEED_OF_ANSWER", 5.0),
                    // 1 of 1; Wilson(1, 1).
                    shown("FIRST_CONTACT_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                ],
            )],
        )
        .await;

    // A period without interactions has no rows.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-03-01", "to": "2025-03-31" }),
            vec![],
        )
        .await;
}

#[tokio::test]
async fn zero_denominators_and_missing_customers_by_channel() {
    let world = world_a().await;
    let metrics = json!([
        "INTERACTIONS",
        "ABANDONMENT_RATE",
        "AVERAGE_SPEED_OF_ANSWER",
        "AVERAGE_HANDLE_TIME",
        "SELF_SERVICE_CONTAINMENT"
    ]);
    world
        .expect(
            &world.admin,
            json!({ "metrics": metrics, "from": "2025-01-01", "to": "2025-01-31",
                    "groupBy": ["CHANNEL"] }),
            vec![
                // o1 o2 o3 o4 o12.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "PHONE")],
                    vec![
                        count(5.0),
                        // o3 of 5; Wilson(1, 5).
                        shown(
                            "ABANDONMENT_RATE",
                            1.0 / 5.0,
                            1.0,
                            5.0,
                            0.0362231610,
                            0.6244717359,
                        ),
                        // 10, 25, 45, 15: 95/4 = 23.75; s = 15.4784796842.
                        shown(
                            "AVERAGE_SPEED_OF_ANSWER",
                            23.75,
                            95.0,
                            4.0,
                            8.5810899095,
                            38.9189100905,
                        ),
                        // 300, 200, 400, 120: 1020/4 = 255; s = 121.5181742237.
                        shown(
                            "AVERAGE_HANDLE_TIME",
                            255.0,
                            1020.0,
                            4.0,
                            135.9121892608,
                            374.0878107392,
                        ),
                        empty("SELF_SERVICE_CONTAINMENT"),
                    ],
                ),
                // o5 o6 o7.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "CHAT")],
                    vec![
                        count(3.0),
                        // o6 of 3; Wilson(1, 3).
                        shown(
                            "ABANDONMENT_RATE",
                            1.0 / 3.0,
                            1.0,
                            3.0,
                            0.0614903153,
                            0.7923450449,
                        ),
                        // o5 20 only (o7 has no wait): n = 1, no interval.
                        single("AVERAGE_SPEED_OF_ANSWER", 20.0),
                        // 600, 100: 350; s = 353.5533905933; 350 ± 490 (not clamped at 0).
                        shown("AVERAGE_HANDLE_TIME", 350.0, 700.0, 2.0, -140.0, 840.0),
                        empty("SELF_SERVICE_CONTAINMENT"),
                    ],
                ),
                // o8: not queued, one handle time.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "EMAIL")],
                    vec![
                        count(1.0),
                        empty("ABANDONMENT_RATE"),
                        empty("AVERAGE_SPEED_OF_ANSWER"),
                        single("AVERAGE_HANDLE_TIME", 1000.0),
                        empty("SELF_SERVICE_CONTAINMENT"),
                    ],
                ),
                // o13.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "IN_PERSON")],
                    vec![
                        count(1.0),
                        empty("ABANDONMENT_RATE"),
                        empty("AVERAGE_SPEED_OF_ANSWER"),
                        single("AVERAGE_HANDLE_TIME", 900.0),
                        empty("SELF_SERVICE_CONTAINMENT"),
                    ],
                ),
                // o9: contained; Wilson(1, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "WEB_SELF_SERVICE")],
                    vec![
                        count(1.0),
                        empty("ABANDONMENT_RATE"),
                        empty("AVERAGE_SPEED_OF_ANSWER"),
                        empty("AVERAGE_HANDLE_TIME"),
                        shown("SELF_SERVICE_CONTAINMENT", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                // o10: followed by o12; Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "IVR")],
                    vec![
                        count(1.0),
                        empty("ABANDONMENT_RATE"),
                        empty("AVERAGE_SPEED_OF_ANSWER"),
                        empty("AVERAGE_HANDLE_TIME"),
                        shown("SELF_SERVICE_CONTAINMENT", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
                // o11 has no customer: in neither part of containment.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "SMS")],
                    vec![
                        count(1.0),
                        empty("ABANDONMENT_RATE"),
                        empty("AVERAGE_SPEED_OF_ANSWER"),
                        empty("AVERAGE_HANDLE_TIME"),
                        empty("SELF_SERVICE_CONTAINMENT"),
                    ],
                ),
            ],
        )
        .await;

    // Only e-mail: nothing is queued, so the queue metrics are null, not 0.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["ABANDONMENT_RATE", "SERVICE_LEVEL", "TRANSFER_RATE"],
                    "from": "2025-01-01", "to": "2025-01-31", "filter": { "channels": ["EMAIL"] } }),
            vec![row("2025-01-01", JANUARY, &[], vec![
                empty("ABANDONMENT_RATE"),
                empty("SERVICE_LEVEL"),
                // o8 transferred; Wilson(1, 1).
                shown("TRANSFER_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
            ])],
        )
        .await;
}

#[tokio::test]
async fn grouping_by_channel_and_topic_org_unit_and_agent() {
    let world = world_a().await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "TRANSFER_RATE"], "from": "2025-01-01",
                    "to": "2025-01-31", "groupBy": ["CHANNEL", "TOPIC"] }),
            vec![
                // o1 o3 o4 o12; not abandoned o1 o4 o12, none transferred; Wilson(0, 3).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "PHONE"), ("topic", "LICENSING")],
                    vec![
                        count(4.0),
                        shown("TRANSFER_RATE", 0.0, 0.0, 3.0, 0.0, 0.5615060804),
                    ],
                ),
                // o2, transferred; Wilson(1, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "PHONE"), ("topic", "PERMITS")],
                    vec![
                        count(1.0),
                        shown("TRANSFER_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                // o7; Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "CHAT"), ("topic", "LICENSING")],
                    vec![
                        count(1.0),
                        shown("TRANSFER_RATE", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
                // o5 o6 (o6 abandoned); Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "CHAT"), ("topic", "PERMITS")],
                    vec![
                        count(2.0),
                        shown("TRANSFER_RATE", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
                // o8, transferred twice; Wilson(1, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "EMAIL"), ("topic", "TAX_REGISTRATION")],
                    vec![
                        count(1.0),
                        shown("TRANSFER_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                // o13; Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "IN_PERSON"), ("topic", "PERMITS")],
                    vec![
                        count(1.0),
                        shown("TRANSFER_RATE", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
                // o9, o10, o11: self-service, no transfer denominator.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[
                        ("channel", "WEB_SELF_SERVICE"),
                        ("topic", "TAX_REGISTRATION"),
                    ],
                    vec![count(1.0), empty("TRANSFER_RATE")],
                ),
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "IVR"), ("topic", "LICENSING")],
                    vec![count(1.0), empty("TRANSFER_RATE")],
                ),
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "SMS"), ("topic", "LICENSING")],
                    vec![count(1.0), empty("TRANSFER_RATE")],
                ),
            ],
        )
        .await;

    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "AVERAGE_HANDLE_TIME"], "from": "2025-01-01",
                    "to": "2025-01-31", "groupBy": ["ORG_UNIT"] }),
            vec![
                // o1 o2 o3; handle 300, 200: 250; s = 70.7106781187; 250 ± 98.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A1")],
                    vec![
                        count(3.0),
                        shown("AVERAGE_HANDLE_TIME", 250.0, 500.0, 2.0, 152.0, 348.0),
                    ],
                ),
                // o4 o5 o6 o7; handle 400, 600, 100: 1100/3; s = 251.6611478424.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A2")],
                    vec![
                        count(4.0),
                        shown(
                            "AVERAGE_HANDLE_TIME",
                            1100.0 / 3.0,
                            1100.0,
                            3.0,
                            81.8852690220,
                            651.4480643113,
                        ),
                    ],
                ),
                // o8..o13; handle 1000, 120, 900: 2020/3; s = 481.8021724041.
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-B1")],
                    vec![
                        count(6.0),
                        shown(
                            "AVERAGE_HANDLE_TIME",
                            2020.0 / 3.0,
                            2020.0,
                            3.0,
                            128.1228500233,
                            1218.5438166433,
                        ),
                    ],
                ),
            ],
        )
        .await;

    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"], "from": "2025-01-01",
                    "to": "2025-01-31", "groupBy": ["AGENT"] }),
            vec![
                // o1 (yes), o2 (transferred); Wilson(1, 2).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("agent", A1)],
                    vec![
                        count(2.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            1.0 / 2.0,
                            1.0,
                            2.0,
                            0.0945286548,
                            0.9054713452,
                        ),
                    ],
                ),
                // o4 (yes), o5 (unresolved), o7 (yes); Wilson(2, 3).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("agent", A2)],
                    vec![
                        count(3.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            2.0 / 3.0,
                            2.0,
                            3.0,
                            0.2076549551,
                            0.9385096847,
                        ),
                    ],
                ),
                // o8 (referred), o12 (yes), o13 (repeated by a1's o14); Wilson(1, 3).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("agent", B1)],
                    vec![
                        count(3.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            1.0 / 3.0,
                            1.0,
                            3.0,
                            0.0614903153,
                            0.7923450449,
                        ),
                    ],
                ),
                // No agent, last: o3 o6 (abandoned), o9 o10 o11 (self-service).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[],
                    vec![count(5.0), empty("FIRST_CONTACT_RESOLUTION")],
                ),
            ],
        )
        .await;
}

#[tokio::test]
async fn filters_by_channel_org_subtree_topic_and_agent() {
    let world = world_a().await;
    // Phone and chat: o1 o2 o3 o4 o12 o5 o6 o7.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "ABANDONMENT_RATE", "SERVICE_LEVEL"],
                    "from": "2025-01-01", "to": "2025-01-31",
                    "filter": { "channels": ["PHONE", "CHAT"] } }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    count(8.0),
                    // o3 o6 of 8; Wilson(2, 8).
                    shown(
                        "ABANDONMENT_RATE",
                        2.0 / 8.0,
                        2.0,
                        8.0,
                        0.0714776889,
                        0.5907301209,
                    ),
                    // o1 o2 o12 o5 of 8; Wilson(4, 8).
                    shown(
                        "SERVICE_LEVEL",
                        4.0 / 8.0,
                        4.0,
                        8.0,
                        0.2152125268,
                        0.7847874732,
                    ),
                ],
            )],
        )
        .await;

    // OFFICE-A is its subtree TEAM-A1 + TEAM-A2; ORG_UNIT groups by the interaction's own unit.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "TRANSFER_RATE"], "from": "2025-01-01",
                    "to": "2025-01-31", "groupBy": ["ORG_UNIT"],
                    "filter": { "orgUnitCodes": ["OFFICE-A"] } }),
            vec![
                // o1 o2 o3; o2 transferred of o1 o2; Wilson(1, 2).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A1")],
                    vec![
                        count(3.0),
                        shown(
                            "TRANSFER_RATE",
                            1.0 / 2.0,
                            1.0,
                            2.0,
                            0.0945286548,
                            0.9054713452,
                        ),
                    ],
                ),
                // o4 o5 o6 o7; none of o4 o5 o7 transferred; Wilson(0, 3).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A2")],
                    vec![
                        count(4.0),
                        shown("TRANSFER_RATE", 0.0, 0.0, 3.0, 0.0, 0.5615060804),
                    ],
                ),
            ],
        )
        .await;

    // The agency is everything (13); TEAM-A2 + OFFICE-B is 4 + 6 = 10.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "filter": { "orgUnitCodes": ["AGENCY"] } }),
            vec![row("2025-01-01", JANUARY, &[], vec![count(13.0)])],
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "filter": { "orgUnitCodes": ["TEAM-A2", "OFFICE-B"] } }),
            vec![row("2025-01-01", JANUARY, &[], vec![count(10.0)])],
        )
        .await;

    // Permits: o2 o5 o6 o13; transferred o2 of o2 o5 o13; Wilson(1, 3).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "TRANSFER_RATE"], "from": "2025-01-01",
                    "to": "2025-01-31", "filter": { "topicCodes": ["PERMITS"] } }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    count(4.0),
                    shown(
                        "TRANSFER_RATE",
                        1.0 / 3.0,
                        1.0,
                        3.0,
                        0.0614903153,
                        0.7923450449,
                    ),
                ],
            )],
        )
        .await;

    // Agent a2: o4 o5 o7; handle 400, 600, 100 = 1100/3; s = 251.6611478424.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "AVERAGE_HANDLE_TIME"], "from": "2025-01-01",
                    "to": "2025-01-31", "filter": { "agentIds": [world.a2_id] } }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    count(3.0),
                    shown(
                        "AVERAGE_HANDLE_TIME",
                        1100.0 / 3.0,
                        1100.0,
                        3.0,
                        81.8852690220,
                        651.4480643113,
                    ),
                ],
            )],
        )
        .await;

    // Phone about licensing: o1 o3 o4 o12; o3 abandoned; Wilson(1, 4).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "ABANDONMENT_RATE"], "from": "2025-01-01",
                    "to": "2025-01-31",
                    "filter": { "channels": ["PHONE"], "topicCodes": ["LICENSING"] } }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    count(4.0),
                    shown(
                        "ABANDONMENT_RATE",
                        1.0 / 4.0,
                        1.0,
                        4.0,
                        0.0455860626,
                        0.6993639476,
                    ),
                ],
            )],
        )
        .await;

    // Nothing by mail: no rows.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "filter": { "channels": ["MAIL"] } }),
            vec![],
        )
        .await;
}

#[tokio::test]
async fn agents_and_supervisors_see_only_their_scope() {
    let world = world_a().await;
    // Agent a1 handled o1 and o2 in January (o0 and o14 are outside the month).
    world
        .expect(
            &world.agent_a1,
            json!({ "metrics": ["INTERACTIONS", "AVERAGE_HANDLE_TIME", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-01-01", "to": "2025-01-31" }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[],
                vec![
                    count(2.0),
                    // 300, 200: 250 ± 98.
                    shown("AVERAGE_HANDLE_TIME", 250.0, 500.0, 2.0, 152.0, 348.0),
                    // o1 yes, o2 transferred; Wilson(1, 2).
                    shown(
                        "FIRST_CONTACT_RESOLUTION",
                        1.0 / 2.0,
                        1.0,
                        2.0,
                        0.0945286548,
                        0.9054713452,
                    ),
                ],
            )],
        )
        .await;

    // Agent b1 handled o8 o12 o13. o13's repeat o14 was handled by a1 in another office and
    // lies after `to`: it still makes o13 a repeat.
    world
        .expect(
            &world.agent_b1,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-01-01", "to": "2025-01-31", "groupBy": ["CHANNEL"] }),
            vec![
                // o12; Wilson(1, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "PHONE")],
                    vec![
                        count(1.0),
                        shown("FIRST_CONTACT_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                // o8 referred; Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "EMAIL")],
                    vec![
                        count(1.0),
                        shown("FIRST_CONTACT_RESOLUTION", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
                // o13 repeated; Wilson(0, 1).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("channel", "IN_PERSON")],
                    vec![
                        count(1.0),
                        shown("FIRST_CONTACT_RESOLUTION", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                    ],
                ),
            ],
        )
        .await;

    // The OFFICE-A supervisor: TEAM-A1 (o1 o2 o3) and TEAM-A2 (o4 o5 o6 o7), nothing of B1.
    world
        .expect(
            &world.supervisor,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-01-01", "to": "2025-01-31", "groupBy": ["ORG_UNIT"] }),
            vec![
                // o1 yes, o2 no; Wilson(1, 2).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A1")],
                    vec![
                        count(3.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            1.0 / 2.0,
                            1.0,
                            2.0,
                            0.0945286548,
                            0.9054713452,
                        ),
                    ],
                ),
                // o4 yes, o5 no, o7 yes; Wilson(2, 3).
                row(
                    "2025-01-01",
                    JANUARY,
                    &[("orgUnit", "TEAM-A2")],
                    vec![
                        count(4.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            2.0 / 3.0,
                            2.0,
                            3.0,
                            0.2076549551,
                            0.9385096847,
                        ),
                    ],
                ),
            ],
        )
        .await;
    world
        .expect(
            &world.supervisor,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "groupBy": ["AGENT"] }),
            vec![
                row("2025-01-01", JANUARY, &[("agent", A1)], vec![count(2.0)]), // o1 o2
                row("2025-01-01", JANUARY, &[("agent", A2)], vec![count(3.0)]), // o4 o5 o7
                row("2025-01-01", JANUARY, &[], vec![count(2.0)]),              // o3 o6
            ],
        )
        .await;
    // The subtree filter inside the supervisor's scope: TEAM-A2 only.
    world
        .expect(
            &world.supervisor,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "filter": { "orgUnitCodes": ["TEAM-A2"] } }),
            vec![row("2025-01-01", JANUARY, &[], vec![count(4.0)])],
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// First contact resolution: the 7-day window (local times are EST = UTC−5; all phone calls in
// TEAM-A1 by a1 unless said otherwise; the period is the week 2025-02-03 .. 2025-02-09).
//
// id   channel cust topic local start        outcome / note
// k7e  phone   K7   LIC   02-01 10:00        before the period: not a repeat of anything later
// f1   phone   K1   LIC   02-03 10:00        resolved; f1r at exactly +7 days → repeat → no
// f2   phone   K2   LIC   02-04 10:00        resolved; f2r at +7 days +1 s → not a repeat → yes
// f3   phone   K3   LIC   02-05 10:00        resolved; f3b is another topic → yes
// f3b  phone   K3   PER   02-06 10:00        resolved → yes
// f4   phone   -    PER   02-06 11:00        resolved, no customer → yes
// f5   phone   K4   -     02-07 10:00        resolved; f5b has a topic, f5 none → yes
// f6   phone   K5   -     02-07 11:00        resolved; f6r (abandoned, no topic) → repeat → no
// f5b  phone   K4   LIC   02-08 10:00        resolved → yes
// f6r  phone   K5   -     02-08 11:00        abandoned (not in the denominator)
// f7   phone   K6   LIC   02-08 12:00        resolved; f7s is self-service, not a repeat → yes
// f7s  web     K6   LIC   02-08 13:00        self-service
// f8   phone   K7   LIC   02-09 10:00        resolved → yes
// f9   phone   -    PER   02-09 11:00        resolved but transferred, no customer → no
// f1r  email   K1   LIC   02-10 10:00        later delivery, after the period
// f2r  chat    K2   LIC   02-11 10:00:01     later delivery, after the period
//
// In the week: 13 interactions; assisted not abandoned = all but f6r and f7s = 11; first
// contact resolved: f2 f3 f3b f4 f5 f5b f7 f8 = 8.
// ---------------------------------------------------------------------------------------------

const DATASET_FCR: &str = "
    pbx,k7e,phone,TEAM-A1,agent.a1@test.example,K7,LICENSING,2025-02-01T15:00:00Z,10,100,0,false,resolved
    pbx,f1,phone,TEAM-A1,agent.a1@test.example,K1,LICENSING,2025-02-03T15:00:00Z,10,100,0,false,resolved
    pbx,f2,phone,TEAM-A1,agent.a1@test.example,K2,LICENSING,2025-02-04T15:00:00Z,10,100,0,false,resolved
    pbx,f3,phone,TEAM-A1,agent.a1@test.example,K3,LICENSING,2025-02-05T15:00:00Z,10,100,0,false,resolved
    pbx,f3b,phone,TEAM-A1,agent.a1@test.example,K3,PERMITS,2025-02-06T15:00:00Z,10,100,0,false,resolved
    pbx,f4,phone,TEAM-A1,agent.a1@test.example,,PERMITS,2025-02-06T16:00:00Z,10,100,0,false,resolved
    pbx,f5,phone,TEAM-A1,agent.a1@test.example,K4,,2025-02-07T15:00:00Z,10,100,0,false,resolved
    pbx,f6,phone,TEAM-A1,agent.a1@test.example,K5,,2025-02-07T16:00:00Z,10,100,0,false,resolved
    pbx,f5b,phone,TEAM-A1,agent.a1@test.example,K4,LICENSING,2025-02-08T15:00:00Z,10,100,0,false,resolved
    pbx,f6r,phone,TEAM-A1,,K5,,2025-02-08T16:00:00Z,60,,0,true,
    pbx,f7,phone,TEAM-A1,agent.a1@test.example,K6,LICENSING,2025-02-08T17:00:00Z,10,100,0,false,resolved
    pbx,f7s,web_self_service,TEAM-A1,,K6,LICENSING,2025-02-08T18:00:00Z,,,0,false,
    pbx,f8,phone,TEAM-A1,agent.a1@test.example,K7,LICENSING,2025-02-09T15:00:00Z,10,100,0,false,resolved
    pbx,f9,phone,TEAM-A1,agent.a1@test.example,,PERMITS,2025-02-09T16:00:00Z,10,100,1,false,resolved
";

const DATASET_FCR_LATER: &str = "
    pbx,f1r,email,TEAM-A1,agent.a1@test.example,K1,LICENSING,2025-02-10T15:00:00Z,,50,0,false,resolved
    pbx,f2r,chat,TEAM-A1,agent.a1@test.example,K2,LICENSING,2025-02-11T15:00:01Z,10,50,0,false,resolved
";

#[tokio::test]
async fn first_contact_resolution_window_reaches_past_the_period() {
    let world = World::spawn().await;
    world.interactions(DATASET_FCR).await;
    world.interactions(DATASET_FCR_LATER).await;
    let week = "2025-02-03/2025-02-09";
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-02-03", "to": "2025-02-09" }),
            vec![row(
                "2025-02-03",
                week,
                &[],
                vec![
                    count(13.0),
                    // 8 of 11; Wilson(8, 11).
                    shown(
                        "FIRST_CONTACT_RESOLUTION",
                        8.0 / 11.0,
                        8.0,
                        11.0,
                        0.4343497070,
                        0.9025411943,
                    ),
                ],
            )],
        )
        .await;

    // By topic; a missing topic is its own group, last.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-02-03", "to": "2025-02-09", "groupBy": ["TOPIC"] }),
            vec![
                // f1 f2 f3 f5b f7 f7s f8; yes f2 f3 f5b f7 f8 of f1 f2 f3 f5b f7 f8; Wilson(5, 6).
                row(
                    "2025-02-03",
                    week,
                    &[("topic", "LICENSING")],
                    vec![
                        count(7.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            5.0 / 6.0,
                            5.0,
                            6.0,
                            0.4364905634,
                            0.9699474141,
                        ),
                    ],
                ),
                // f3b f4 f9; yes f3b f4; Wilson(2, 3).
                row(
                    "2025-02-03",
                    week,
                    &[("topic", "PERMITS")],
                    vec![
                        count(3.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            2.0 / 3.0,
                            2.0,
                            3.0,
                            0.2076549551,
                            0.9385096847,
                        ),
                    ],
                ),
                // f5 f6 f6r; yes f5 of f5 f6; Wilson(1, 2).
                row(
                    "2025-02-03",
                    week,
                    &[],
                    vec![
                        count(3.0),
                        shown(
                            "FIRST_CONTACT_RESOLUTION",
                            1.0 / 2.0,
                            1.0,
                            2.0,
                            0.0945286548,
                            0.9054713452,
                        ),
                    ],
                ),
            ],
        )
        .await;

    // Day by day.
    let day = |date: &'static str, interactions: f64, fcr: Value| {
        row(date, date, &[], vec![count(interactions), fcr])
    };
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "FIRST_CONTACT_RESOLUTION"],
                    "from": "2025-02-03", "to": "2025-02-09", "granularity": "DAY" }),
            vec![
                // f1: its repeat f1r (exactly +7 days, after `to`) counts; Wilson(0, 1).
                day(
                    "2025-02-03",
                    1.0,
                    shown("FIRST_CONTACT_RESOLUTION", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                ),
                // f2: f2r at +7 days +1 s does not count; Wilson(1, 1).
                day(
                    "2025-02-04",
                    1.0,
                    shown("FIRST_CONTACT_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                ),
                // f3; Wilson(1, 1).
                day(
                    "2025-02-05",
                    1.0,
                    shown("FIRST_CONTACT_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                ),
                // f3b, f4 (no customer); Wilson(2, 2).
                day(
                    "2025-02-06",
                    2.0,
                    shown("FIRST_CONTACT_RESOLUTION", 1.0, 2.0, 2.0, 0.3423719529, 1.0),
                ),
                // f5 yes, f6 no (abandoned repeat f6r); Wilson(1, 2).
                day(
                    "2025-02-07",
                    2.0,
                    shown(
                        "FIRST_CONTACT_RESOLUTION",
                        1.0 / 2.0,
                        1.0,
                        2.0,
                        0.0945286548,
                        0.9054713452,
                    ),
                ),
                // f5b f6r f7 f7s; yes f5b f7 of f5b f7; Wilson(2, 2).
                day(
                    "2025-02-08",
                    4.0,
                    shown("FIRST_CONTACT_RESOLUTION", 1.0, 2.0, 2.0, 0.3423719529, 1.0),
                ),
                // f8 yes (k7e is earlier), f9 transferred; Wilson(1, 2).
                day(
                    "2025-02-09",
                    2.0,
                    shown(
                        "FIRST_CONTACT_RESOLUTION",
                        1.0 / 2.0,
                        1.0,
                        2.0,
                        0.0945286548,
                        0.9054713452,
                    ),
                ),
            ],
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// Self-service containment: the 24-hour window (local = EST = UTC−5; all in TEAM-B1; calls by
// b1; the period is 2025-03-03 .. 2025-03-05).
//
// id   channel cust topic local start        note
// s1   web     M1   LIC   03-03 10:00        s1c at exactly +24 h → not contained
// s2   ivr     M2   LIC   03-03 11:00        s2c at +24 h +1 s → contained
// s3   sms     M3   PER   03-03 12:00        s3c is about LIC → contained
// s3c  phone   M3   LIC   03-03 13:00
// s4   web     M4   LIC   03-03 13:00        s4b is self-service → contained
// s4b  web     M4   LIC   03-03 14:00        contained
// s5   web     -    LIC   03-04 10:00        no customer: in neither part
// s1c  phone   M1   LIC   03-04 10:00        later delivery
// s2c  chat    M2   LIC   03-04 11:00:01     later delivery
// s6   ivr     M5   -     03-05 10:00        s6c (abandoned call, no topic) → not contained
// s6c  phone   M5   -     03-05 10:30        later delivery, abandoned
// s7   web     M6   -     03-05 11:00        s7c is about LIC, s7 has no topic → contained
// s7c  phone   M6   LIC   03-05 12:00        later delivery
// s8   web     M7   LIC   03-05 15:00        s8c 23 h later, after `to` → not contained
// s8c  phone   M7   LIC   03-06 14:00        later delivery, after the period
//
// In the period: 14 interactions; self-service with a customer s1 s2 s3 s4 s4b s6 s7 s8 = 8,
// contained s2 s3 s4 s4b s7 = 5.
// ---------------------------------------------------------------------------------------------

const DATASET_CONTAINMENT: &str = "
    pbx,s1,web_self_service,TEAM-B1,,M1,LICENSING,2025-03-03T15:00:00Z,,,0,false,
    pbx,s2,ivr,TEAM-B1,,M2,LICENSING,2025-03-03T16:00:00Z,,,0,false,
    pbx,s3,sms,TEAM-B1,,M3,PERMITS,2025-03-03T17:00:00Z,,,0,false,
    pbx,s3c,phone,TEAM-B1,agent.b1@test.example,M3,LICENSING,2025-03-03T18:00:00Z,10,100,0,false,resolved
    pbx,s4,web_self_service,TEAM-B1,,M4,LICENSING,2025-03-03T18:00:00Z,,,0,false,
    pbx,s4b,web_self_service,TEAM-B1,,M4,LICENSING,2025-03-03T19:00:00Z,,,0,false,
    pbx,s5,web_self_service,TEAM-B1,,,LICENSING,2025-03-04T15:00:00Z,,,0,false,
    pbx,s6,ivr,TEAM-B1,,M5,,2025-03-05T15:00:00Z,,,0,false,
    pbx,s7,web_self_service,TEAM-B1,,M6,,2025-03-05T16:00:00Z,,,0,false,
    pbx,s8,web_self_service,TEAM-B1,,M7,LICENSING,2025-03-05T20:00:00Z,,,0,false,
";

const DATASET_CONTAINMENT_LATER: &str = "
    pbx,s1c,phone,TEAM-B1,agent.b1@test.example,M1,LICENSING,2025-03-04T15:00:00Z,10,100,0,false,resolved
    pbx,s2c,chat,TEAM-B1,agent.b1@test.example,M2,LICENSING,2025-03-04T16:00:01Z,10,100,0,false,resolved
    pbx,s6c,phone,TEAM-B1,,M5,,2025-03-05T15:30:00Z,30,,0,true,
    pbx,s7c,phone,TEAM-B1,agent.b1@test.example,M6,LICENSING,2025-03-05T17:00:00Z,10,100,0,false,resolved
    pbx,s8c,phone,TEAM-B1,agent.b1@test.example,M7,LICENSING,2025-03-06T19:00:00Z,10,100,0,false,resolved
";

#[tokio::test]
async fn self_service_containment_uses_a_24_hour_window() {
    let world = World::spawn().await;
    world.interactions(DATASET_CONTAINMENT).await;
    world.interactions(DATASET_CONTAINMENT_LATER).await;
    let period = "2025-03-03/2025-03-05";
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "SELF_SERVICE_CONTAINMENT"],
                    "from": "2025-03-03", "to": "2025-03-05" }),
            vec![row(
                "2025-03-03",
                period,
                &[],
                vec![
                    count(14.0),
                    // 5 of 8; Wilson(5, 8).
                    shown(
                        "SELF_SERVICE_CONTAINMENT",
                        5.0 / 8.0,
                        5.0,
                        8.0,
                        0.3057378546,
                        0.8631582405,
                    ),
                ],
            )],
        )
        .await;

    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "SELF_SERVICE_CONTAINMENT"],
                    "from": "2025-03-03", "to": "2025-03-05", "granularity": "DAY" }),
            vec![
                // s1 s2 s3 s3c s4 s4b; contained s2 s3 s4 s4b of s1 s2 s3 s4 s4b; Wilson(4, 5).
                row(
                    "2025-03-03",
                    "2025-03-03",
                    &[],
                    vec![
                        count(6.0),
                        shown(
                            "SELF_SERVICE_CONTAINMENT",
                            4.0 / 5.0,
                            4.0,
                            5.0,
                            0.3755282641,
                            0.9637768390,
                        ),
                    ],
                ),
                // s5 (no customer) s1c s2c: no denominator.
                row(
                    "2025-03-04",
                    "2025-03-04",
                    &[],
                    vec![count(3.0), empty("SELF_SERVICE_CONTAINMENT")],
                ),
                // s6 s6c s7 s7c s8; contained s7 of s6 s7 s8; Wilson(1, 3).
                row(
                    "2025-03-05",
                    "2025-03-05",
                    &[],
                    vec![
                        count(5.0),
                        shown(
                            "SELF_SERVICE_CONTAINMENT",
                            1.0 / 3.0,
                            1.0,
                            3.0,
                            0.0614903153,
                            0.7923450449,
                        ),
                    ],
                ),
            ],
        )
        .await;

    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "SELF_SERVICE_CONTAINMENT"],
                    "from": "2025-03-03", "to": "2025-03-05", "groupBy": ["CHANNEL"] }),
            vec![
                // s3c s1c s6c s7c.
                row(
                    "2025-03-03",
                    period,
                    &[("channel", "PHONE")],
                    vec![count(4.0), empty("SELF_SERVICE_CONTAINMENT")],
                ),
                // s2c.
                row(
                    "2025-03-03",
                    period,
                    &[("channel", "CHAT")],
                    vec![count(1.0), empty("SELF_SERVICE_CONTAINMENT")],
                ),
                // s1 s4 s4b s5 s7 s8; contained s4 s4b s7 of s1 s4 s4b s7 s8; Wilson(3, 5).
                row(
                    "2025-03-03",
                    period,
                    &[("channel", "WEB_SELF_SERVICE")],
                    vec![
                        count(6.0),
                        shown(
                            "SELF_SERVICE_CONTAINMENT",
                            3.0 / 5.0,
                            3.0,
                            5.0,
                            0.2307199322,
                            0.8823817688,
                        ),
                    ],
                ),
                // s2 s6; contained s2; Wilson(1, 2).
                row(
                    "2025-03-03",
                    period,
                    &[("channel", "IVR")],
                    vec![
                        count(2.0),
                        shown(
                            "SELF_SERVICE_CONTAINMENT",
                            1.0 / 2.0,
                            1.0,
                            2.0,
                            0.0945286548,
                            0.9054713452,
                        ),
                    ],
                ),
                // s3; Wilson(1, 1).
                row(
                    "2025-03-03",
                    period,
                    &[("channel", "SMS")],
                    vec![
                        count(1.0),
                        shown("SELF_SERVICE_CONTAINMENT", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
            ],
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// Surveys (April 2025; local = EDT = UTC−4).
//
// id  channel unit    agent local start             survey rows
// v5  phone   TEAM-A1 a1    03-31 10:00             i8 post_call → r6   (March)
// v1  phone   TEAM-A1 a1    04-01 10:00             i1 post_call → r1; r2 follow_up (no invitation)
// v2  phone   TEAM-A1 a1    04-02 10:00             i5 post_call → r3; i2 follow_up unanswered
// v3  chat    TEAM-A2 a2    04-03 10:00             i3 live_chat → r4
// v4  email   TEAM-B1 b1    04-04 10:00             i4 follow_up → r5
// v7  phone   TEAM-A1 a1    04-10 10:00             i7 post_call unanswered
// v6  phone   TEAM-A1 a1    04-30 23:30 (05-01 UTC) i6 post_call → r7 submitted 2025-05-01
//
// resp interaction sat trust effect ease effic transp help resolved
// r1   v1          5   4     3      5    2     4      5    true
// r2   v1          3   5     4      -    4     1      1    false
// r3   v2          4   2     5      4    -     5      3    -
// r4   v3          1   4     3      2    5     -      5    true
// r5   v4          5   -     2      3    4     3      -    true
// r6   v5          1   1     1      1    1     1      1    false   (March)
// r7   v6          5   5     5      5    5     2      5    true
//
// April responses r1 r2 r3 r4 r5 r7 (r7 by its interaction's date, not its submission's):
//   satisfaction 5 3 4 1 5 5: 4 of 6 top-2     trust 4 5 2 4 - 5: 4 of 5
//   effectiveness 3 4 5 3 2 5: 3 of 6          ease 5 - 4 2 3 5: 3 of 5
//   efficiency 2 4 - 5 4 5: 4 of 5             transparency 4 1 5 - 3 2: 2 of 5
//   helpfulness 5 1 3 5 - 5: 3 of 5            resolved T F - T T T: 4 of 5
//   invitations i1 i2 i3 i4 i5 i6 i7, answered (same kind, same interaction) i1 i3 i4 i5 i6:
//   5 of 7.
// ---------------------------------------------------------------------------------------------

const DATASET_SURVEYS: &str = "
    pbx,v5,phone,TEAM-A1,agent.a1@test.example,Q5,LICENSING,2025-03-31T14:00:00Z,10,200,0,false,resolved
    pbx,v1,phone,TEAM-A1,agent.a1@test.example,Q1,LICENSING,2025-04-01T14:00:00Z,10,200,0,false,resolved
    pbx,v2,phone,TEAM-A1,agent.a1@test.example,Q2,LICENSING,2025-04-02T14:00:00Z,10,200,0,false,resolved
    pbx,v3,chat,TEAM-A2,agent.a2@test.example,Q3,PERMITS,2025-04-03T14:00:00Z,10,200,0,false,resolved
    pbx,v4,email,TEAM-B1,agent.b1@test.example,Q4,TAX_REGISTRATION,2025-04-04T14:00:00Z,,200,0,false,resolved
    pbx,v7,phone,TEAM-A1,agent.a1@test.example,Q7,LICENSING,2025-04-10T14:00:00Z,10,200,0,false,resolved
    pbx,v6,phone,TEAM-A1,agent.a1@test.example,Q6,LICENSING,2025-05-01T03:30:00Z,10,200,0,false,resolved
";

const SURVEY_INVITATIONS: &str = "
    svy,i1,pbx,v1,post_call,2025-04-01T14:30:00Z
    svy,i2,pbx,v2,follow_up,2025-04-02T14:30:00Z
    svy,i3,pbx,v3,live_chat,2025-04-03T14:30:00Z
    svy,i4,pbx,v4,follow_up,2025-04-04T14:30:00Z
    svy,i5,pbx,v2,post_call,2025-04-02T14:30:00Z
    svy,i6,pbx,v6,post_call,2025-05-01T04:00:00Z
    svy,i7,pbx,v7,post_call,2025-04-10T14:30:00Z
    svy,i8,pbx,v5,post_call,2025-03-31T14:30:00Z
";

const SURVEY_RESPONSES: &str = "
    svy,r1,pbx,v1,post_call,2025-04-01T15:00:00Z,5,4,3,5,2,4,5,true
    svy,r2,pbx,v1,follow_up,2025-04-08T15:00:00Z,3,5,4,,4,1,1,false
    svy,r3,pbx,v2,post_call,2025-04-02T15:00:00Z,4,2,5,4,,5,3,
    svy,r4,pbx,v3,live_chat,2025-04-03T15:00:00Z,1,4,3,2,5,,5,true
    svy,r5,pbx,v4,follow_up,2025-04-05T15:00:00Z,5,,2,3,4,3,,true
    svy,r6,pbx,v5,post_call,2025-04-01T15:00:00Z,1,1,1,1,1,1,1,false
    svy,r7,pbx,v6,post_call,2025-05-01T15:00:00Z,5,5,5,5,5,2,5,true
";

#[tokio::test]
async fn survey_metrics_match_hand_computation() {
    let world = World::spawn().await;
    world.interactions(DATASET_SURVEYS).await;
    world.invitations(SURVEY_INVITATIONS).await;
    world.responses(SURVEY_RESPONSES).await;
    let april = "2025-04-01/2025-04-30";
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "CSAT", "TRUST", "EFFECTIVENESS", "EASE",
                                "EFFICIENCY", "TRANSPARENCY", "HELPFULNESS",
                                "REPORTED_RESOLUTION", "SURVEY_RESPONSE_RATE"],
                    "from": "2025-04-01", "to": "2025-04-30" }),
            vec![row(
                "2025-04-01",
                april,
                &[],
                vec![
                    // v1 v2 v3 v4 v7 v6.
                    count(6.0),
                    // Wilson(4, 6).
                    shown("CSAT", 4.0 / 6.0, 4.0, 6.0, 0.2999883213, 0.9032306674),
                    // Wilson(4, 5).
                    shown("TRUST", 4.0 / 5.0, 4.0, 5.0, 0.3755282641, 0.9637768390),
                    // Wilson(3, 6).
                    shown(
                        "EFFECTIVENESS",
                        3.0 / 6.0,
                        3.0,
                        6.0,
                        0.1876128069,
                        0.8123871931,
                    ),
                    // Wilson(3, 5).
                    shown("EASE", 3.0 / 5.0, 3.0, 5.0, 0.2307199322, 0.8823817688),
                    // Wilson(4, 5).
                    shown(
                        "EFFICIENCY",
                        4.0 / 5.0,
                        4.0,
                        5.0,
                        0.3755282641,
                        0.9637768390,
                    ),
                    // Wilson(2, 5).
                    shown(
                        "TRANSPARENCY",
                        2.0 / 5.0,
                        2.0,
                        5.0,
                        0.1176182312,
                        0.7692800678,
                    ),
                    // Wilson(3, 5).
                    shown(
                        "HELPFULNESS",
                        3.0 / 5.0,
                        3.0,
                        5.0,
                        0.2307199322,
                        0.8823817688,
                    ),
                    // Wilson(4, 5).
                    shown(
                        "REPORTED_RESOLUTION",
                        4.0 / 5.0,
                        4.0,
                        5.0,
                        0.3755282641,
                        0.9637768390,
                    ),
                    // Wilson(5, 7).
                    shown(
                        "SURVEY_RESPONSE_RATE",
                        5.0 / 7.0,
                        5.0,
                        7.0,
                        0.3589290901,
                        0.9177828343,
                    ),
                ],
            )],
        )
        .await;

    let metrics = json!(["CSAT", "REPORTED_RESOLUTION", "SURVEY_RESPONSE_RATE"]);
    world
        .expect(
            &world.admin,
            json!({ "metrics": metrics, "from": "2025-04-01", "to": "2025-04-30",
                    "groupBy": ["CHANNEL"] }),
            vec![
                // v1 v2 v6 v7: r1 r2 r3 r7.
                row(
                    "2025-04-01",
                    april,
                    &[("channel", "PHONE")],
                    vec![
                        // satisfaction 5 3 4 5: 3 of 4; Wilson(3, 4).
                        shown("CSAT", 3.0 / 4.0, 3.0, 4.0, 0.3006360524, 0.9544139374),
                        // resolved T F - T: 2 of 3; Wilson(2, 3).
                        shown(
                            "REPORTED_RESOLUTION",
                            2.0 / 3.0,
                            2.0,
                            3.0,
                            0.2076549551,
                            0.9385096847,
                        ),
                        // i1 yes, i2 no (v2's only response is post_call), i5 yes, i6 yes, i7 no;
                        // Wilson(3, 5).
                        shown(
                            "SURVEY_RESPONSE_RATE",
                            3.0 / 5.0,
                            3.0,
                            5.0,
                            0.2307199322,
                            0.8823817688,
                        ),
                    ],
                ),
                // v3: r4, i3.
                row(
                    "2025-04-01",
                    april,
                    &[("channel", "CHAT")],
                    vec![
                        // satisfaction 1; Wilson(0, 1).
                        shown("CSAT", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                        shown("REPORTED_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                        shown("SURVEY_RESPONSE_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                // v4: r5, i4.
                row(
                    "2025-04-01",
                    april,
                    &[("channel", "EMAIL")],
                    vec![
                        shown("CSAT", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                        shown("REPORTED_RESOLUTION", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                        shown("SURVEY_RESPONSE_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
            ],
        )
        .await;

    // By month: r6 (submitted in April) belongs to March with v5; r7 (submitted in May) to
    // April with v6; May has no interaction and so no row.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "CSAT", "SURVEY_RESPONSE_RATE"],
                    "from": "2025-03-01", "to": "2025-05-31", "granularity": "MONTH" }),
            vec![
                // v5; r6 satisfaction 1: 0 of 1; i8 answered by r6: 1 of 1.
                row(
                    "2025-03-01",
                    "2025-03",
                    &[],
                    vec![
                        count(1.0),
                        shown("CSAT", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                        shown("SURVEY_RESPONSE_RATE", 1.0, 1.0, 1.0, 0.2065432915, 1.0),
                    ],
                ),
                row(
                    "2025-04-01",
                    "2025-04",
                    &[],
                    vec![
                        count(6.0),
                        shown("CSAT", 4.0 / 6.0, 4.0, 6.0, 0.2999883213, 0.9032306674),
                        shown(
                            "SURVEY_RESPONSE_RATE",
                            5.0 / 7.0,
                            5.0,
                            7.0,
                            0.3589290901,
                            0.9177828343,
                        ),
                    ],
                ),
            ],
        )
        .await;

    // Scoped to TEAM-A2 and TEAM-B1 (v3, v4): satisfaction 1, 5 → 1 of 2; Wilson(1, 2).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["CSAT"], "from": "2025-04-01", "to": "2025-04-30",
                    "filter": { "orgUnitCodes": ["TEAM-A2", "OFFICE-B"] } }),
            vec![row(
                "2025-04-01",
                april,
                &[],
                vec![shown(
                    "CSAT",
                    1.0 / 2.0,
                    1.0,
                    2.0,
                    0.0945286548,
                    0.9054713452,
                )],
            )],
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// Periods: the local day, DST, ISO weeks, months, quarters, years, fiscal periods.
// ---------------------------------------------------------------------------------------------

/// Phone calls at instants around local midnights in America/New_York (EST = UTC−5 until
/// 2025-03-09 02:00, EDT = UTC−4 until 2025-11-02 02:00, then EST again).
const DATASET_DAYS: &str = "
    # 2025-01-14 23:30 EST
    pbx,d1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T04:30:00Z,10,100,0,false,resolved
    # 2025-01-14 23:59:59 EST
    pbx,d3,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T04:59:59Z,30,100,0,false,resolved
    # 2025-01-15 00:00 EST
    pbx,d4,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T05:00:00Z,40,100,0,false,resolved
    # 2025-01-15 00:30 EST
    pbx,d2,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T05:30:00Z,20,100,0,false,resolved
    # 2025-03-08 23:59:59 EST
    pbx,g1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-03-09T04:59:59Z,10,100,0,false,resolved
    # 2025-03-09 00:00 EST
    pbx,g2,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-03-09T05:00:00Z,10,100,0,false,resolved
    # 2025-03-09 23:59:59 EDT (a fixed UTC−5 would make it 22:59:59, same day)
    pbx,g3,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-03-10T03:59:59Z,10,100,0,false,resolved
    # 2025-03-10 00:30 EDT (a fixed UTC−5 would put it on 03-09 23:30)
    pbx,g4,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-03-10T04:30:00Z,10,100,0,false,resolved
    # 2025-11-01 23:59:59 EDT
    pbx,h1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-02T03:59:59Z,10,100,0,false,resolved
    # 2025-11-02 00:00 EDT
    pbx,h2,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-02T04:00:00Z,10,100,0,false,resolved
    # 2025-11-02 01:30 EDT (first time)
    pbx,h5,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-02T05:30:00Z,10,100,0,false,resolved
    # 2025-11-02 01:30 EST (second time)
    pbx,h6,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-02T06:30:00Z,10,100,0,false,resolved
    # 2025-11-02 23:30 EST (a fixed UTC−4 would put it on 11-03 00:30)
    pbx,h3,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-03T04:30:00Z,10,100,0,false,resolved
    # 2025-11-03 00:00 EST
    pbx,h4,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-11-03T05:00:00Z,10,100,0,false,resolved
";

#[tokio::test]
async fn local_day_boundaries_and_dst_changes() {
    let world = World::spawn().await;
    world.interactions(DATASET_DAYS).await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS", "AVERAGE_SPEED_OF_ANSWER"],
                    "from": "2025-01-14", "to": "2025-01-15", "granularity": "DAY" }),
            vec![
                // d1 (wait 10), d3 (wait 30): 20; s = 14.1421356237; 20 ± 19.6.
                row(
                    "2025-01-14",
                    "2025-01-14",
                    &[],
                    vec![
                        count(2.0),
                        shown("AVERAGE_SPEED_OF_ANSWER", 20.0, 40.0, 2.0, 0.4, 39.6),
                    ],
                ),
                // d4 (40), d2 (20): 30 ± 19.6.
                row(
                    "2025-01-15",
                    "2025-01-15",
                    &[],
                    vec![
                        count(2.0),
                        shown("AVERAGE_SPEED_OF_ANSWER", 30.0, 60.0, 2.0, 10.4, 49.6),
                    ],
                ),
            ],
        )
        .await;
    // `from` = `to` = 2025-01-15 is the local day: d4 and d2 only.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-15", "to": "2025-01-15" }),
            vec![row(
                "2025-01-15",
                "2025-01-15/2025-01-15",
                &[],
                vec![count(2.0)],
            )],
        )
        .await;
    // Spring forward: 03-09 is 23 hours long.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-03-08", "to": "2025-03-10",
                    "granularity": "DAY" }),
            vec![
                row("2025-03-08", "2025-03-08", &[], vec![count(1.0)]), // g1
                row("2025-03-09", "2025-03-09", &[], vec![count(2.0)]), // g2 g3
                row("2025-03-10", "2025-03-10", &[], vec![count(1.0)]), // g4
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-03-09", "to": "2025-03-09" }),
            vec![row(
                "2025-03-09",
                "2025-03-09/2025-03-09",
                &[],
                vec![count(2.0)],
            )], // g2 g3
        )
        .await;
    // Fall back: 11-02 is 25 hours long.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-11-01", "to": "2025-11-03",
                    "granularity": "DAY" }),
            vec![
                row("2025-11-01", "2025-11-01", &[], vec![count(1.0)]), // h1
                row("2025-11-02", "2025-11-02", &[], vec![count(4.0)]), // h2 h5 h6 h3
                row("2025-11-03", "2025-11-03", &[], vec![count(1.0)]), // h4
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-11-02", "to": "2025-11-02" }),
            vec![row(
                "2025-11-02",
                "2025-11-02/2025-11-02",
                &[],
                vec![count(4.0)],
            )],
        )
        .await;
}

#[tokio::test]
async fn the_reporting_time_zone_is_configurable() {
    let world = World::spawn_with(&[("REPORTING_TZ", "UTC")]).await;
    world.interactions(DATASET_DAYS).await;
    // In UTC, d1 d3 d4 d2 are all on 2025-01-15 (04:30, 04:59:59, 05:00, 05:30).
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-14", "to": "2025-01-15",
                    "granularity": "DAY" }),
            vec![row("2025-01-15", "2025-01-15", &[], vec![count(4.0)])],
        )
        .await;
    // h1 h2 h5 h6 are on 2025-11-02 UTC; h3 h4 on 11-03.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-11-01", "to": "2025-11-03",
                    "granularity": "DAY" }),
            vec![
                row("2025-11-02", "2025-11-02", &[], vec![count(4.0)]),
                row("2025-11-03", "2025-11-03", &[], vec![count(2.0)]),
            ],
        )
        .await;
}

/// Around the turn of 2024/2025 (EST): 2024-12-29 is a Sunday (ISO 2024-W52), 2024-12-30 the
/// Monday of 2025-W01, 2025-01-06 the Monday of 2025-W02.
const DATASET_YEAR_END: &str = "
    # 2024-12-28 23:30 local (Saturday)
    pbx,k0,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2024-12-29T04:30:00Z,10,100,0,false,resolved
    # 2024-12-29 12:00 (Sunday, 2024-W52)
    pbx,k1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2024-12-29T17:00:00Z,10,100,0,false,resolved
    # 2024-12-30 12:00 (Monday, 2025-W01)
    pbx,k2,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2024-12-30T17:00:00Z,10,100,0,false,resolved
    # 2025-01-01 12:00 (2025-W01)
    pbx,k3,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-01T17:00:00Z,10,100,0,false,resolved
    # 2025-01-05 23:30 local (Sunday, 2025-W01)
    pbx,k4,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-06T04:30:00Z,10,100,0,false,resolved
    # 2025-01-06 00:30 local (Monday, 2025-W02)
    pbx,k5,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-06T05:30:00Z,10,100,0,false,resolved
";

#[tokio::test]
async fn iso_weeks_months_quarters_and_years_across_the_year_end() {
    let world = World::spawn().await;
    world.interactions(DATASET_YEAR_END).await;
    let query = |granularity: Option<&str>| {
        let mut query =
            json!({ "metrics": ["INTERACTIONS"], "from": "2024-12-29", "to": "2025-01-06" });
        if let Some(granularity) = granularity {
            query["granularity"] = json!(granularity);
        }
        query
    };
    // k0 is on 12-28, before `from`, in every case below.
    world
        .expect(
            &world.admin,
            query(Some("WEEK")),
            vec![
                row("2024-12-23", "2024-W52", &[], vec![count(1.0)]), // k1
                row("2024-12-30", "2025-W01", &[], vec![count(3.0)]), // k2 k3 k4
                row("2025-01-06", "2025-W02", &[], vec![count(1.0)]), // k5
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query(Some("MONTH")),
            vec![
                row("2024-12-01", "2024-12", &[], vec![count(2.0)]), // k1 k2
                row("2025-01-01", "2025-01", &[], vec![count(3.0)]), // k3 k4 k5
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query(Some("QUARTER")),
            vec![
                row("2024-10-01", "2024-Q4", &[], vec![count(2.0)]),
                row("2025-01-01", "2025-Q1", &[], vec![count(3.0)]),
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query(Some("YEAR")),
            vec![
                row("2024-01-01", "2024", &[], vec![count(2.0)]),
                row("2025-01-01", "2025", &[], vec![count(3.0)]),
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query(None),
            vec![row(
                "2024-12-29",
                "2024-12-29/2025-01-06",
                &[],
                vec![count(5.0)],
            )],
        )
        .await;
    // A week that starts before `from`: periodStart is its Monday; only k3 is in range.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2024-12-31", "to": "2025-01-02",
                    "granularity": "WEEK" }),
            vec![row("2024-12-30", "2025-W01", &[], vec![count(1.0)])],
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2024-12-28", "to": "2024-12-28",
                    "granularity": "DAY" }),
            vec![row("2024-12-28", "2024-12-28", &[], vec![count(1.0)])], // k0
        )
        .await;
}

/// Around the fiscal year end 2025-06-30 (EDT except y6 in EST).
const DATASET_FISCAL: &str = "
    # 2025-01-15 10:00
    pbx,y6,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T15:00:00Z,10,100,0,false,resolved
    # 2025-06-30 11:00
    pbx,y1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-06-30T15:00:00Z,10,100,0,false,resolved
    # 2025-06-30 23:30 local (07-01 in UTC)
    pbx,y2,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-07-01T03:30:00Z,10,100,0,false,resolved
    # 2025-07-01 00:30
    pbx,y3,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-07-01T04:30:00Z,10,100,0,false,resolved
    # 2025-09-30 11:00
    pbx,y4,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-09-30T15:00:00Z,10,100,0,false,resolved
    # 2025-10-01 11:00
    pbx,y5,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-10-01T15:00:00Z,10,100,0,false,resolved
";

#[tokio::test]
async fn fiscal_quarters_and_years_are_named_by_the_year_they_end_in() {
    let world = World::spawn().await;
    world.interactions(DATASET_FISCAL).await;
    let query = |granularity: &str| {
        json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-10-31",
                "granularity": granularity })
    };
    // Fiscal year from July: FY2025 = 2024-07-01 .. 2025-06-30, FY2026 = 2025-07-01 .. 2026-06-30.
    world
        .expect(
            &world.admin,
            query("FISCAL_QUARTER"),
            vec![
                row("2025-01-01", "FY2025-Q3", &[], vec![count(1.0)]), // y6 (Jan–Mar)
                row("2025-04-01", "FY2025-Q4", &[], vec![count(2.0)]), // y1 y2 (Apr–Jun)
                row("2025-07-01", "FY2026-Q1", &[], vec![count(2.0)]), // y3 y4 (Jul–Sep)
                row("2025-10-01", "FY2026-Q2", &[], vec![count(1.0)]), // y5 (Oct–Dec)
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query("FISCAL_YEAR"),
            vec![
                row("2024-07-01", "FY2025", &[], vec![count(3.0)]), // y6 y1 y2
                row("2025-07-01", "FY2026", &[], vec![count(3.0)]), // y3 y4 y5
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            query("QUARTER"),
            vec![
                row("2025-01-01", "2025-Q1", &[], vec![count(1.0)]),
                row("2025-04-01", "2025-Q2", &[], vec![count(2.0)]),
                row("2025-07-01", "2025-Q3", &[], vec![count(2.0)]),
                row("2025-10-01", "2025-Q4", &[], vec![count(1.0)]),
            ],
        )
        .await;
    // The last and the first day of the fiscal year alone.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-06-30", "to": "2025-06-30",
                    "granularity": "FISCAL_QUARTER" }),
            vec![row("2025-04-01", "FY2025-Q4", &[], vec![count(2.0)])], // y1 y2
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-07-01", "to": "2025-07-01",
                    "granularity": "FISCAL_YEAR" }),
            vec![row("2025-07-01", "FY2026", &[], vec![count(1.0)])], // y3
        )
        .await;
}

#[tokio::test]
async fn the_fiscal_year_start_month_is_configurable() {
    let world = World::spawn_with(&[("FISCAL_YEAR_START_MONTH", "10")]).await;
    world.interactions(DATASET_FISCAL).await;
    // From October: FY2025 = 2024-10-01 .. 2025-09-30, FY2026 from 2025-10-01.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-10-31",
                    "granularity": "FISCAL_QUARTER" }),
            vec![
                row("2025-01-01", "FY2025-Q2", &[], vec![count(1.0)]), // y6
                row("2025-04-01", "FY2025-Q3", &[], vec![count(2.0)]), // y1 y2
                row("2025-07-01", "FY2025-Q4", &[], vec![count(2.0)]), // y3 y4
                row("2025-10-01", "FY2026-Q1", &[], vec![count(1.0)]), // y5
            ],
        )
        .await;
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-10-31",
                    "granularity": "FISCAL_YEAR" }),
            vec![
                row("2024-10-01", "FY2025", &[], vec![count(5.0)]), // y6 y1 y2 y3 y4
                row("2025-10-01", "FY2026", &[], vec![count(1.0)]), // y5
            ],
        )
        .await;
}

// ---------------------------------------------------------------------------------------------
// The analyst: small survey cells suppressed, no differencing, no per-agent breakdown.
//
// May 2025 (EDT), one survey response per interaction (satisfaction and resolved only):
// id  channel unit    kind       sat resolved invitation
// u1  phone   TEAM-A1 post_call  5   true     yes
// u2  phone   TEAM-A1 post_call  4   true     yes
// u3  phone   TEAM-A1 post_call  2   false    yes
// u4  chat    TEAM-A2 live_chat  5   false    yes
// u5  chat    TEAM-A2 live_chat  1   -        yes
// u6  email   TEAM-B1 follow_up  4   -        no
// u7  email   TEAM-B1 follow_up  4   -        no
// u8  email   TEAM-B1 follow_up  3   -        no
// Topics: u1–u3 LICENSING, u4–u5 PERMITS, u6–u8 TAX_REGISTRATION. Nothing abandoned.
// ---------------------------------------------------------------------------------------------

const DATASET_SMALL_CELLS: &str = "
    pbx,u1,phone,TEAM-A1,agent.a1@test.example,S1,LICENSING,2025-05-05T14:00:00Z,10,100,0,false,resolved
    pbx,u2,phone,TEAM-A1,agent.a1@test.example,S2,LICENSING,2025-05-06T14:00:00Z,40,100,0,false,resolved
    pbx,u3,phone,TEAM-A1,agent.a1@test.example,S3,LICENSING,2025-05-07T14:00:00Z,20,100,0,false,unresolved
    pbx,u4,chat,TEAM-A2,agent.a2@test.example,S4,PERMITS,2025-05-05T15:00:00Z,10,100,0,false,resolved
    pbx,u5,chat,TEAM-A2,agent.a2@test.example,S5,PERMITS,2025-05-06T15:00:00Z,10,100,0,false,resolved
    pbx,u6,email,TEAM-B1,agent.b1@test.example,S6,TAX_REGISTRATION,2025-05-05T16:00:00Z,,100,0,false,resolved
    pbx,u7,email,TEAM-B1,agent.b1@test.example,S7,TAX_REGISTRATION,2025-05-06T16:00:00Z,,100,0,false,resolved
    pbx,u8,email,TEAM-B1,agent.b1@test.example,S8,TAX_REGISTRATION,2025-05-07T16:00:00Z,,100,0,false,resolved
";

const SMALL_CELL_INVITATIONS: &str = "
    svy,iu1,pbx,u1,post_call,2025-05-05T14:30:00Z
    svy,iu2,pbx,u2,post_call,2025-05-06T14:30:00Z
    svy,iu3,pbx,u3,post_call,2025-05-07T14:30:00Z
    svy,iu4,pbx,u4,live_chat,2025-05-05T15:30:00Z
    svy,iu5,pbx,u5,live_chat,2025-05-06T15:30:00Z
";

const SMALL_CELL_RESPONSES: &str = "
    svy,ru1,pbx,u1,post_call,2025-05-05T15:00:00Z,5,,,,,,,true
    svy,ru2,pbx,u2,post_call,2025-05-06T15:00:00Z,4,,,,,,,true
    svy,ru3,pbx,u3,post_call,2025-05-07T15:00:00Z,2,,,,,,,false
    svy,ru4,pbx,u4,live_chat,2025-05-05T16:00:00Z,5,,,,,,,false
    svy,ru5,pbx,u5,live_chat,2025-05-06T16:00:00Z,1,,,,,,,
    svy,ru6,pbx,u6,follow_up,2025-05-05T17:00:00Z,4,,,,,,,
    svy,ru7,pbx,u7,follow_up,2025-05-06T17:00:00Z,4,,,,,,,
    svy,ru8,pbx,u8,follow_up,2025-05-07T17:00:00Z,3,,,,,,,
";

#[tokio::test]
async fn analyst_survey_cells_below_the_minimum_are_suppressed_at_k_minus_1_and_shown_at_k() {
    let world = World::spawn_with(&[("MIN_CELL_SIZE", "3")]).await;
    world.interactions(DATASET_SMALL_CELLS).await;
    world.invitations(SMALL_CELL_INVITATIONS).await;
    world.responses(SMALL_CELL_RESPONSES).await;
    let may = "2025-05-01/2025-05-31";
    let by_unit = json!({ "metrics": ["INTERACTIONS", "ABANDONMENT_RATE", "CSAT",
                                      "REPORTED_RESOLUTION", "SURVEY_RESPONSE_RATE"],
                          "from": "2025-05-01", "to": "2025-05-31", "groupBy": ["ORG_UNIT"] });
    // TEAM-A1 is the same for every role: every denominator is exactly k = 3.
    let team_a1 = row(
        "2025-05-01",
        may,
        &[("orgUnit", "TEAM-A1")],
        vec![
            count(3.0),
            // none of u1 u2 u3 abandoned; Wilson(0, 3).
            shown("ABANDONMENT_RATE", 0.0, 0.0, 3.0, 0.0, 0.5615060804),
            // 5 4 2: 2 of 3; Wilson(2, 3).
            shown("CSAT", 2.0 / 3.0, 2.0, 3.0, 0.2076549551, 0.9385096847),
            // T T F: 2 of 3; Wilson(2, 3).
            shown(
                "REPORTED_RESOLUTION",
                2.0 / 3.0,
                2.0,
                3.0,
                0.2076549551,
                0.9385096847,
            ),
            // iu1 iu2 iu3 all answered; Wilson(3, 3).
            shown("SURVEY_RESPONSE_RATE", 1.0, 3.0, 3.0, 0.4384939196, 1.0),
        ],
    );
    world
        .expect(
            &world.analyst,
            by_unit.clone(),
            vec![
                team_a1.clone(),
                row(
                    "2025-05-01",
                    may,
                    &[("orgUnit", "TEAM-A2")],
                    vec![
                        // Operational metrics are never suppressed, however small.
                        count(2.0),
                        shown("ABANDONMENT_RATE", 0.0, 0.0, 2.0, 0.0, 0.6576280471),
                        // CSAT n = 2 = k − 1, resolved n = 1, invitations n = 2.
                        hidden("CSAT"),
                        hidden("REPORTED_RESOLUTION"),
                        hidden("SURVEY_RESPONSE_RATE"),
                    ],
                ),
                row(
                    "2025-05-01",
                    may,
                    &[("orgUnit", "TEAM-B1")],
                    vec![
                        count(3.0),
                        empty("ABANDONMENT_RATE"),
                        // 4 4 3: 2 of 3 (n = k); Wilson(2, 3).
                        shown("CSAT", 2.0 / 3.0, 2.0, 3.0, 0.2076549551, 0.9385096847),
                        // Nobody answered "resolved", nobody was invited: n = 0 < k.
                        hidden("REPORTED_RESOLUTION"),
                        hidden("SURVEY_RESPONSE_RATE"),
                    ],
                ),
            ],
        )
        .await;
    // The administrator sees every cell.
    world
        .expect(
            &world.admin,
            by_unit,
            vec![
                team_a1,
                row(
                    "2025-05-01",
                    may,
                    &[("orgUnit", "TEAM-A2")],
                    vec![
                        count(2.0),
                        shown("ABANDONMENT_RATE", 0.0, 0.0, 2.0, 0.0, 0.6576280471),
                        // 5 1: Wilson(1, 2).
                        shown("CSAT", 1.0 / 2.0, 1.0, 2.0, 0.0945286548, 0.9054713452),
                        // F: Wilson(0, 1).
                        shown("REPORTED_RESOLUTION", 0.0, 0.0, 1.0, 0.0, 0.7934567085),
                        // iu4 iu5: Wilson(2, 2).
                        shown("SURVEY_RESPONSE_RATE", 1.0, 2.0, 2.0, 0.3423719529, 1.0),
                    ],
                ),
                row(
                    "2025-05-01",
                    may,
                    &[("orgUnit", "TEAM-B1")],
                    vec![
                        count(3.0),
                        empty("ABANDONMENT_RATE"),
                        shown("CSAT", 2.0 / 3.0, 2.0, 3.0, 0.2076549551, 0.9385096847),
                        empty("REPORTED_RESOLUTION"),
                        empty("SURVEY_RESPONSE_RATE"),
                    ],
                ),
            ],
        )
        .await;

    // Differencing: the unfiltered May cell has CSAT n = 8 (5 4 2 5 1 4 4 3: 5 of 8).
    let csat = |filter: Value| {
        json!({ "metrics": ["INTERACTIONS", "CSAT"], "from": "2025-05-01", "to": "2025-05-31",
                "filter": filter })
    };
    world
        .expect(
            &world.analyst,
            json!({ "metrics": ["INTERACTIONS", "CSAT"], "from": "2025-05-01", "to": "2025-05-31" }),
            vec![row("2025-05-01", may, &[], vec![
                count(8.0),
                // Wilson(5, 8).
                shown("CSAT", 5.0 / 8.0, 5.0, 8.0, 0.3057378546, 0.8631582405),
            ])],
        )
        .await;
    // Phone + chat removes the 3 e-mail answers (= k): shown. 5 4 2 5 1: 3 of 5; Wilson(3, 5).
    world
        .expect(
            &world.analyst,
            csat(json!({ "channels": ["PHONE", "CHAT"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![
                    count(5.0),
                    shown("CSAT", 3.0 / 5.0, 3.0, 5.0, 0.2307199322, 0.8823817688),
                ],
            )],
        )
        .await;
    // The same cut by org unit (OFFICE-A = TEAM-A1 + TEAM-A2): removes 3, shown.
    world
        .expect(
            &world.analyst,
            csat(json!({ "orgUnitCodes": ["OFFICE-A"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![
                    count(5.0),
                    shown("CSAT", 3.0 / 5.0, 3.0, 5.0, 0.2307199322, 0.8823817688),
                ],
            )],
        )
        .await;
    // Phone + e-mail removes the 2 chat answers (1..k−1): n = 6 ≥ k, but suppressed, since
    // 8 − 6 would reveal TEAM-A2's suppressed cell. The count stays.
    world
        .expect(
            &world.analyst,
            csat(json!({ "channels": ["PHONE", "EMAIL"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![count(6.0), hidden("CSAT")],
            )],
        )
        .await;
    // The same two answers removed through the topic filter.
    world
        .expect(
            &world.analyst,
            csat(json!({ "topicCodes": ["LICENSING", "TAX_REGISTRATION"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![count(6.0), hidden("CSAT")],
            )],
        )
        .await;
    // Phone alone removes 5 (≥ k) and keeps 3 (= k): shown; 5 4 2: Wilson(2, 3).
    world
        .expect(
            &world.analyst,
            csat(json!({ "channels": ["PHONE"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![
                    count(3.0),
                    shown("CSAT", 2.0 / 3.0, 2.0, 3.0, 0.2076549551, 0.9385096847),
                ],
            )],
        )
        .await;
    // A filter that removes nothing changes nothing.
    world
        .expect(
            &world.analyst,
            csat(json!({ "orgUnitCodes": ["AGENCY"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![
                    count(8.0),
                    shown("CSAT", 5.0 / 8.0, 5.0, 8.0, 0.3057378546, 0.8631582405),
                ],
            )],
        )
        .await;
    // The administrator is not suppressed: phone + e-mail 5 4 2 4 4 3: 4 of 6; Wilson(4, 6).
    world
        .expect(
            &world.admin,
            csat(json!({ "channels": ["PHONE", "EMAIL"] })),
            vec![row(
                "2025-05-01",
                may,
                &[],
                vec![
                    count(6.0),
                    shown("CSAT", 4.0 / 6.0, 4.0, 6.0, 0.2999883213, 0.9032306674),
                ],
            )],
        )
        .await;
}

/// June 2025 (EDT): ten phone calls with post_call responses and two chats with live_chat
/// responses.
///   phone satisfaction 5 5 5 5 4 4 3 2 1 5 → 7 of 10;  trust 4 4 4 2 2 5 5 1 3 - → 5 of 9
///   chat  satisfaction 5 1 → 1 of 2;                   trust 4 4 → 2 of 2
///   all   satisfaction 8 of 12;                        trust 7 of 11
const DATASET_DEFAULT_CELLS: &str = "
    pbx,n1,phone,TEAM-A1,agent.a1@test.example,N1,LICENSING,2025-06-02T14:00:00Z,10,100,0,false,resolved
    pbx,n2,phone,TEAM-A1,agent.a1@test.example,N2,LICENSING,2025-06-03T14:00:00Z,10,100,0,false,resolved
    pbx,n3,phone,TEAM-A1,agent.a1@test.example,N3,LICENSING,2025-06-04T14:00:00Z,10,100,0,false,resolved
    pbx,n4,phone,TEAM-A1,agent.a1@test.example,N4,LICENSING,2025-06-05T14:00:00Z,10,100,0,false,resolved
    pbx,n5,phone,TEAM-A1,agent.a1@test.example,N5,LICENSING,2025-06-06T14:00:00Z,10,100,0,false,resolved
    pbx,n6,phone,TEAM-A1,agent.a1@test.example,N6,LICENSING,2025-06-07T14:00:00Z,10,100,0,false,resolved
    pbx,n7,phone,TEAM-A1,agent.a1@test.example,N7,LICENSING,2025-06-08T14:00:00Z,10,100,0,false,resolved
    pbx,n8,phone,TEAM-A1,agent.a1@test.example,N8,LICENSING,2025-06-09T14:00:00Z,10,100,0,false,resolved
    pbx,n9,phone,TEAM-A1,agent.a1@test.example,N9,LICENSING,2025-06-10T14:00:00Z,10,100,0,false,resolved
    pbx,n10,phone,TEAM-A1,agent.a1@test.example,N10,LICENSING,2025-06-11T14:00:00Z,10,100,0,false,resolved
    pbx,c1,chat,TEAM-A2,agent.a2@test.example,N11,PERMITS,2025-06-02T15:00:00Z,10,100,0,false,resolved
    pbx,c2,chat,TEAM-A2,agent.a2@test.example,N12,PERMITS,2025-06-03T15:00:00Z,10,100,0,false,resolved
";

const DEFAULT_CELL_RESPONSES: &str = "
    svy,rn1,pbx,n1,post_call,2025-06-02T15:00:00Z,5,4,,,,,,
    svy,rn2,pbx,n2,post_call,2025-06-03T15:00:00Z,5,4,,,,,,
    svy,rn3,pbx,n3,post_call,2025-06-04T15:00:00Z,5,4,,,,,,
    svy,rn4,pbx,n4,post_call,2025-06-05T15:00:00Z,5,2,,,,,,
    svy,rn5,pbx,n5,post_call,2025-06-06T15:00:00Z,4,2,,,,,,
    svy,rn6,pbx,n6,post_call,2025-06-07T15:00:00Z,4,5,,,,,,
    svy,rn7,pbx,n7,post_call,2025-06-08T15:00:00Z,3,5,,,,,,
    svy,rn8,pbx,n8,post_call,2025-06-09T15:00:00Z,2,1,,,,,,
    svy,rn9,pbx,n9,post_call,2025-06-10T15:00:00Z,1,3,,,,,,
    svy,rn10,pbx,n10,post_call,2025-06-11T15:00:00Z,5,,,,,,,
    svy,rc1,pbx,c1,live_chat,2025-06-02T16:00:00Z,5,4,,,,,,
    svy,rc2,pbx,c2,live_chat,2025-06-03T16:00:00Z,1,4,,,,,,
";

#[tokio::test]
async fn analyst_default_minimum_cell_is_ten_and_filters_cannot_reveal_a_small_cell() {
    let world = World::spawn().await;
    world.interactions(DATASET_DEFAULT_CELLS).await;
    world.responses(DEFAULT_CELL_RESPONSES).await;
    let june = "2025-06-01/2025-06-30";
    let query = |group: bool, filter: bool| {
        let mut query =
            json!({ "metrics": ["CSAT", "TRUST"], "from": "2025-06-01", "to": "2025-06-30" });
        if group {
            query["groupBy"] = json!(["CHANNEL"]);
        }
        if filter {
            query["filter"] = json!({ "channels": ["PHONE"] });
        }
        query
    };
    // All channels: n = 12 and 11, shown. Wilson(8, 12), Wilson(7, 11).
    world
        .expect(
            &world.analyst,
            query(false, false),
            vec![row(
                "2025-06-01",
                june,
                &[],
                vec![
                    shown("CSAT", 8.0 / 12.0, 8.0, 12.0, 0.3906175874, 0.8618821601),
                    shown("TRUST", 7.0 / 11.0, 7.0, 11.0, 0.3537967769, 0.8483377639),
                ],
            )],
        )
        .await;
    // By channel: phone CSAT n = 10 = k shown (Wilson(7, 10)), phone TRUST n = 9 = k − 1
    // suppressed, chat n = 2 suppressed.
    let phone = row(
        "2025-06-01",
        june,
        &[("channel", "PHONE")],
        vec![
            shown("CSAT", 7.0 / 10.0, 7.0, 10.0, 0.3967732200, 0.8922107125),
            hidden("TRUST"),
        ],
    );
    world
        .expect(
            &world.analyst,
            query(true, false),
            vec![
                phone.clone(),
                row(
                    "2025-06-01",
                    june,
                    &[("channel", "CHAT")],
                    vec![hidden("CSAT"), hidden("TRUST")],
                ),
            ],
        )
        .await;
    // Filtering out chat leaves phone's 10 (≥ k) but removes 2 of the 12: 12 − 10 would reveal
    // the suppressed chat cell, so it is suppressed.
    world
        .expect(
            &world.analyst,
            query(false, true),
            vec![row(
                "2025-06-01",
                june,
                &[],
                vec![hidden("CSAT"), hidden("TRUST")],
            )],
        )
        .await;
    // Grouped by channel the phone cell loses nothing to the filter: as unfiltered.
    world
        .expect(&world.analyst, query(true, true), vec![phone])
        .await;
    // The administrator sees phone alone: Wilson(7, 10), Wilson(5, 9).
    world
        .expect(
            &world.admin,
            query(false, true),
            vec![row(
                "2025-06-01",
                june,
                &[],
                vec![
                    shown("CSAT", 7.0 / 10.0, 7.0, 10.0, 0.3967732200, 0.8922107125),
                    shown("TRUST", 5.0 / 9.0, 5.0, 9.0, 0.2666473457, 0.8112245705),
                ],
            )],
        )
        .await;
}

#[tokio::test]
async fn access_and_input_errors() {
    let world = World::spawn().await;
    let january = json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31" });
    let march = json!({ "metrics": ["INTERACTIONS"], "from": "2025-03-01", "to": "2025-03-31" });
    // Nothing yet: a report with no rows.
    world.expect(&world.admin, january.clone(), vec![]).await;
    world.expect(&world.analyst, january.clone(), vec![]).await;
    // One call by a1 in January; March stays empty.
    world
        .interactions(
            "pbx,e1,phone,TEAM-A1,agent.a1@test.example,,LICENSING,2025-01-15T15:00:00Z,10,100,0,false,resolved",
        )
        .await;

    world
        .expect_error(None, january.clone(), "UNAUTHENTICATED")
        .await;
    world
        .expect_error(Some(&world.ingest), january.clone(), "FORBIDDEN")
        .await;
    world
        .expect_error(
            Some(&world.admin),
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-02-01", "to": "2025-01-31" }),
            "BAD_USER_INPUT",
        )
        .await;
    // The analyst gets no per-agent breakdown, by grouping or by filter.
    for query in [
        json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                "groupBy": ["AGENT"] }),
        json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                "groupBy": ["CHANNEL", "AGENT"] }),
        json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                "filter": { "agentIds": [world.a1_id] } }),
    ] {
        world
            .expect_error(Some(&world.analyst), query, "FORBIDDEN")
            .await;
    }
    // The administrator may do both: e1 is a1's.
    world
        .expect(
            &world.admin,
            json!({ "metrics": ["INTERACTIONS"], "from": "2025-01-01", "to": "2025-01-31",
                    "groupBy": ["AGENT"], "filter": { "agentIds": [world.a1_id] } }),
            vec![row(
                "2025-01-01",
                JANUARY,
                &[("agent", A1)],
                vec![count(1.0)],
            )],
        )
        .await;
    // An unknown code in the filter is bad input, whether or not the period has interactions.
    for base in [january, march] {
        for filter in [
            json!({ "orgUnitCodes": ["NO-SUCH-UNIT"] }),
            json!({ "orgUnitCodes": ["TEAM-A1", "NO-SUCH-UNIT"] }),
            json!({ "topicCodes": ["NO-SUCH-TOPIC"] }),
        ] {
            let mut query = base.clone();
            query["filter"] = filter;
            world
                .expect_error(Some(&world.admin), query, "BAD_USER_INPUT")
                .await;
        }
    }
}
