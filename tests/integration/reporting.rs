//! The reporting surface beyond the metric definitions (those are in `metrics.rs`): the rollups
//! agree with the records for every metric, a report is one SQL statement, the catalogue,
//! service-standard attainment and the CSV export.

use bac_metrics::db::enums::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{fixture, helpers::TestApp};

const HEADER: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";
const INVITATION_HEADER: &str =
    "source,external_id,interaction_source,interaction_external_id,kind,sent_at";
const RESPONSE_HEADER: &str = "source,external_id,interaction_source,interaction_external_id,kind,submitted_at,satisfaction,trust,effectiveness,ease,efficiency,transparency,helpfulness,resolved,comment";

const ALL_METRICS: &str = "[INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, SERVICE_LEVEL, AVERAGE_HANDLE_TIME, TRANSFER_RATE, FIRST_CONTACT_RESOLUTION, SELF_SERVICE_CONTAINMENT, CSAT, TRUST, EFFECTIVENESS, EASE, EFFICIENCY, TRANSPARENCY, HELPFULNESS, REPORTED_RESOLUTION, SURVEY_RESPONSE_RATE]";

async fn upload(app: &TestApp, token: &str, kind: &str, body: String) -> Value {
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
    report
}

/// A small deterministic generator (xorshift), so the dataset needs no external crate.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// `count` interactions over October 2026 across every channel, two teams, three topics and 40
/// customers (so repeat contacts and self-service followed by calls are common), with surveys.
/// The rows are imported in a shuffled order, so later contacts often arrive before earlier
/// ones and the stored facts must be fixed up after the fact.
async fn load_mixed_dataset(app: &TestApp, admin: &str, ingest: &str, count: usize) {
    upload(
        app,
        admin,
        "topics",
        "code,name\nPERMITS,Permits\nTAX_REGISTRATION,Tax registration\n".into(),
    )
    .await;
    let mut sequence = Sequence(0x9E37_79B9_7F4A_7C15);
    let channels = [
        "phone",
        "chat",
        "email",
        "in_person",
        "mail",
        "web_self_service",
        "ivr",
        "sms",
    ];
    let topics = ["LICENSING", "PERMITS", "TAX_REGISTRATION", ""];
    let outcomes = [
        "resolved",
        "resolved",
        "unresolved",
        "referred",
        "escalated",
        "",
    ];
    let mut rows: Vec<String> = Vec::new();
    let mut invitations = vec![INVITATION_HEADER.to_owned()];
    let mut responses = vec![RESPONSE_HEADER.to_owned()];
    for index in 0..count {
        let channel = channels[sequence.next(8) as usize];
        let assisted = ["phone", "chat", "email", "in_person", "mail"].contains(&channel);
        let queued = channel == "phone" || channel == "chat";
        let abandoned = queued && sequence.next(10) == 0;
        let (team, agent) = if sequence.next(2) == 0 {
            ("TEAM-A1", "agent@test.example")
        } else {
            ("TEAM-B1", "other.agent@test.example")
        };
        let customer = if sequence.next(5) == 0 {
            String::new()
        } else {
            format!("MIX-{}", sequence.next(40))
        };
        // Minutes within October 2026, in UTC: local days and the DST change (none in
        // October in New York) do not matter for agreement, only for the definitions.
        let minute = sequence.next(31 * 24 * 60);
        let started = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::minutes(minute as i64);
        let wait = if queued {
            sequence.next(120).to_string()
        } else {
            String::new()
        };
        let handle = if assisted && !abandoned && sequence.next(8) != 0 {
            (60 + sequence.next(900)).to_string()
        } else {
            String::new()
        };
        let transfers = if assisted && !abandoned {
            (sequence.next(4) / 3).to_string()
        } else {
            "0".into()
        };
        let outcome = if abandoned {
            ""
        } else {
            outcomes[sequence.next(6) as usize]
        };
        rows.push(format!(
            "mix,{index},{channel},{team},{agent},{customer},,,,,{topic},{started}Z,{wait},{handle},{transfers},{abandoned},{outcome}",
            agent = if assisted && !abandoned { agent } else { "" },
            topic = topics[sequence.next(4) as usize],
            started = started.format("%Y-%m-%dT%H:%M:%S"),
        ));
        if assisted && !abandoned && sequence.next(3) == 0 {
            let kind = match channel {
                "phone" => "post_call",
                "chat" => "live_chat",
                _ => "follow_up",
            };
            invitations.push(format!(
                "mix,inv-{index},mix,{index},{kind},{}Z",
                (started + chrono::Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%S")
            ));
            if sequence.next(2) == 0 {
                let answer = |sequence: &mut Sequence| match sequence.next(7) {
                    0 => String::new(),
                    value => ((value % 5) + 1).to_string(),
                };
                let resolved = ["true", "false", ""][sequence.next(3) as usize];
                responses.push(format!(
                    "mix,resp-{index},mix,{index},{kind},{},{},{},{},{},{},{},{},{resolved},",
                    (started + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ"),
                    answer(&mut sequence),
                    answer(&mut sequence),
                    answer(&mut sequence),
                    answer(&mut sequence),
                    answer(&mut sequence),
                    answer(&mut sequence),
                    answer(&mut sequence),
                ));
            }
        }
    }
    // Shuffle (Fisher–Yates) so facts about later contacts arrive in any order.
    for position in (1..rows.len()).rev() {
        let other = sequence.next(position as u64 + 1) as usize;
        rows.swap(position, other);
    }
    let mut file = vec![HEADER.to_owned()];
    file.extend(rows);
    upload(app, ingest, "interactions", file.join("\n") + "\n").await;
    upload(app, ingest, "survey-responses", responses.join("\n") + "\n").await;
    upload(
        app,
        ingest,
        "survey-invitations",
        invitations.join("\n") + "\n",
    )
    .await;
}

fn metrics_query(granularity: &str, group_by: &str, extra: &str) -> String {
    format!(
        "{{ metrics(query: {{ metrics: {ALL_METRICS}, from: \"2026-09-25\", to: \"2026-10-31\", {granularity} groupBy: [{group_by}] {extra} }}) {{ rows {{ periodStart periodLabel channel orgUnit {{ code }} agent {{ email }} topic {{ code }} values {{ metric value numerator denominator lower upper suppressed }} }} }} }}"
    )
}

/// Every number of two reports, equal up to floating-point summation order.
fn assert_same_report(rollup: &Value, records: &Value, what: &str) {
    let rollup_rows = rollup["data"]["metrics"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {rollup}"));
    let record_rows = records["data"]["metrics"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {records}"));
    assert!(!rollup_rows.is_empty(), "{what}: no rows");
    assert_eq!(rollup_rows.len(), record_rows.len(), "{what}: row count");
    for (left, right) in rollup_rows.iter().zip(record_rows) {
        for key in [
            "periodStart",
            "periodLabel",
            "channel",
            "orgUnit",
            "agent",
            "topic",
        ] {
            assert_eq!(left[key], right[key], "{what}: {key}");
        }
        for (a, b) in left["values"]
            .as_array()
            .unwrap()
            .iter()
            .zip(right["values"].as_array().unwrap())
        {
            for key in ["value", "numerator", "denominator", "lower", "upper"] {
                match (a[key].as_f64(), b[key].as_f64()) {
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "{what}: {} {key}: rollup {x}, records {y}",
                        a["metric"]
                    ),
                    _ => assert_eq!(a[key], b[key], "{what}: {} {key}", a["metric"]),
                }
            }
            assert_eq!(a["suppressed"], b["suppressed"]);
        }
    }
}

#[tokio::test]
async fn rollups_and_records_agree_on_every_metric() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let records = TestApp::spawn_on(app.database_url.clone(), &[("METRICS_SOURCE", "base")]).await;
    let admin = world.token(Role::Admin).to_owned();
    load_mixed_dataset(&app, &admin, world.token(Role::Ingest), 1500).await;

    let shapes = [
        ("granularity: DAY,", "CHANNEL, ORG_UNIT, AGENT, TOPIC", ""),
        ("granularity: WEEK,", "CHANNEL", ""),
        ("", "ORG_UNIT", ""),
        (
            "granularity: MONTH,",
            "TOPIC",
            "serviceLevelThresholdSeconds: 60",
        ),
        (
            "granularity: FISCAL_QUARTER,",
            "",
            "filter: { orgUnitCodes: [\"OFFICE-A\"], channels: [PHONE, CHAT, WEB_SELF_SERVICE] }",
        ),
    ];
    for (granularity, group_by, extra) in shapes {
        let query = metrics_query(granularity, group_by, extra);
        let (_, from_rollup) = app.post(Some(&admin), &query, json!({})).await;
        let (_, from_records) = records.post(Some(&admin), &query, json!({})).await;
        assert_same_report(&from_rollup, &from_records, &query);
    }
    // The agent's own view reads the detailed rollup; it must agree too.
    let agent = world.token(Role::Agent).to_owned();
    let query = metrics_query("granularity: WEEK,", "TOPIC", "");
    let (_, from_rollup) = app.post(Some(&agent), &query, json!({})).await;
    let (_, from_records) = records.post(Some(&agent), &query, json!({})).await;
    assert_same_report(&from_rollup, &from_records, "agent scope");
}

#[tokio::test]
async fn a_late_repeat_contact_takes_back_first_contact_resolution() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest).to_owned();
    let admin = world.token(Role::Admin).to_owned();
    let query = "{ metrics(query: { metrics: [FIRST_CONTACT_RESOLUTION, SELF_SERVICE_CONTAINMENT], from: \"2026-10-05\", to: \"2026-10-05\" }) { rows { values { numerator denominator } } } }";
    // A resolved call and a web visit by LATE-1 on 5 October (local time).
    upload(
        &app,
        &ingest,
        "interactions",
        format!(
            "{HEADER}\n\
             late,1,phone,TEAM-A1,agent@test.example,LATE-1,,,,,LICENSING,2026-10-05T10:00:00-04:00,5,100,0,false,resolved\n\
             late,2,web_self_service,TEAM-A1,,LATE-1,,,,,LICENSING,2026-10-05T11:00:00-04:00,,,0,false,\n"
        ),
    )
    .await;
    let (_, before) = app.post(Some(&admin), query, json!({})).await;
    let values = &before["data"]["metrics"]["rows"][0]["values"];
    // Call 1: resolved, no transfer, no later contact yet: 1 of 1. Visit 2: contained, 1 of 1.
    assert_eq!(values[0]["numerator"], 1.0, "{before}");
    assert_eq!(values[0]["denominator"], 1.0);
    assert_eq!(values[1]["numerator"], 1.0);
    // Days later an email about the same topic arrives (it happened on 6 October, 09:00).
    upload(
        &app,
        &ingest,
        "interactions",
        format!(
            "{HEADER}\n\
             late,3,email,TEAM-A1,agent@test.example,LATE-1,,,,,LICENSING,2026-10-06T09:00:00-04:00,,200,0,false,resolved\n"
        ),
    )
    .await;
    let (_, after) = app.post(Some(&admin), query, json!({})).await;
    let values = &after["data"]["metrics"]["rows"][0]["values"];
    // The email is 23 hours after the call (within 7 days): the call is no longer first contact
    // resolved, 0 of 1. It is 22 hours after the visit (within 24 hours): not contained, 0 of 1.
    assert_eq!(values[0]["numerator"], 0.0, "{after}");
    assert_eq!(values[0]["denominator"], 1.0);
    assert_eq!(values[1]["numerator"], 0.0);
    assert_eq!(values[1]["denominator"], 1.0);
}

#[tokio::test]
async fn a_metrics_request_is_one_sql_statement() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    load_mixed_dataset(&app, &admin, world.token(Role::Ingest), 300).await;
    let query = "{ metrics(query: { metrics: [INTERACTIONS, CSAT, FIRST_CONTACT_RESOLUTION, SERVICE_LEVEL], from: \"2026-10-01\", to: \"2026-10-31\", granularity: WEEK, groupBy: [CHANNEL, TOPIC], filter: { orgUnitCodes: [\"AGENCY\"], topicCodes: [\"LICENSING\", \"PERMITS\"] } }) { timeZone rows { periodLabel channel values { value } } } }";
    app.post(Some(&admin), query, json!({})).await;
    let before = app.database.statements_executed();
    let (_, body) = app.post(Some(&admin), query, json!({})).await;
    let statements = app.database.statements_executed() - before;
    assert!(
        !body["data"]["metrics"]["rows"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{body}"
    );
    assert_eq!(body["data"]["metrics"]["timeZone"], "America/New_York");
    // The session check of the bearer token, then the report itself.
    assert_eq!(statements, 2, "one statement for the report");
}

#[tokio::test]
async fn the_catalogue_describes_every_metric() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let query =
        "{ metricCatalog { metric unit formula surveyBased proportion dimensions granularities } }";
    let (_, body) = app
        .post(Some(world.token(Role::Admin)), query, json!({}))
        .await;
    let catalog = body["data"]["metricCatalog"].as_array().unwrap();
    assert_eq!(catalog.len(), 17);
    let csat = catalog
        .iter()
        .find(|entry| entry["metric"] == "CSAT")
        .unwrap();
    assert_eq!(csat["unit"], "RATIO");
    assert_eq!(csat["surveyBased"], true);
    assert!(csat["formula"].as_str().unwrap().contains("4 or 5"));
    let aht = catalog
        .iter()
        .find(|entry| entry["metric"] == "AVERAGE_HANDLE_TIME")
        .unwrap();
    assert_eq!(aht["unit"], "SECONDS");
    assert_eq!(aht["proportion"], false);
    assert_eq!(aht["granularities"].as_array().unwrap().len(), 7);
    assert!(aht["dimensions"]
        .as_array()
        .unwrap()
        .contains(&json!("AGENT")));
    // Analysts get no per-agent breakdown, and the catalogue says so.
    let (_, body) = app
        .post(Some(world.token(Role::Analyst)), query, json!({}))
        .await;
    let dimensions = &body["data"]["metricCatalog"][0]["dimensions"];
    assert_eq!(dimensions, &json!(["CHANNEL", "ORG_UNIT", "TOPIC"]));
}

#[tokio::test]
async fn service_standard_attainment_uses_the_engine() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    app.post(
        Some(&admin),
        "mutation { setServiceStandard(input: { metric: AVERAGE_HANDLE_TIME, comparator: AT_MOST, target: 240, orgUnitCode: \"OFFICE-A\", effectiveFrom: \"2026-01-01\" }) { id } }",
        json!({}),
    )
    .await;
    let query = "query($unit: String) { serviceStandardAttainment(from: \"2026-11-01\", to: \"2026-11-30\", orgUnitCode: $unit) { standard { metric } orgUnitCode target comparator met gap actual { value numerator denominator } } }";
    // Agency-wide: the fixture's PHONE standard, service level ≥ 0.8 at 30 s. Both calls
    // (TEAM-A1 and TEAM-B1) waited 20 s: 2 of 2 answered in time = 1.0, met, gap +0.2.
    let (_, body) = app.post(Some(&admin), query, json!({ "unit": null })).await;
    let rows = body["data"]["serviceStandardAttainment"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["standard"]["metric"], "SERVICE_LEVEL");
    assert_eq!(rows[0]["actual"]["value"], 1.0);
    assert_eq!(rows[0]["met"], true);
    assert!((rows[0]["gap"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    // For TEAM-A1: the agency standard and OFFICE-A's handle-time standard both apply. The one
    // TEAM-A1 call took 300 s: above the 240 s maximum, not met, gap +60.
    let (_, body) = app
        .post(Some(&admin), query, json!({ "unit": "TEAM-A1" }))
        .await;
    let rows = body["data"]["serviceStandardAttainment"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    let handle = rows
        .iter()
        .find(|row| row["standard"]["metric"] == "AVERAGE_HANDLE_TIME")
        .unwrap();
    assert_eq!(handle["orgUnitCode"], "TEAM-A1");
    assert_eq!(handle["actual"]["value"], 300.0);
    assert_eq!(handle["met"], false);
    assert_eq!(handle["gap"], 60.0);
    let level = rows
        .iter()
        .find(|row| row["standard"]["metric"] == "SERVICE_LEVEL")
        .unwrap();
    assert_eq!(level["actual"]["numerator"], 1.0);
    assert_eq!(level["actual"]["denominator"], 1.0);
    // An unknown unit is the caller's mistake.
    let (_, body) = app
        .post(Some(&admin), query, json!({ "unit": "NOPE" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_csv_export_matches_the_report_and_its_scoping() {
    let app = TestApp::spawn_with(&[("MIN_CELL_SIZE", "2")]).await;
    let world = fixture::build(&app).await;
    let url = format!(
        "{}/export/metrics.csv?metrics=INTERACTIONS,AVERAGE_HANDLE_TIME,CSAT&from=2026-11-01&to=2026-11-30&granularity=MONTH&groupBy=CHANNEL,ORG_UNIT",
        app.address
    );
    let fetch = |token: Option<String>| {
        let mut request = app.client.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = fetch(None).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = fetch(Some(world.token(Role::Ingest).to_owned()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let response = fetch(Some(world.token(Role::Admin).to_owned()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "period_start",
            "period_label",
            "channel",
            "org_unit_code",
            "interactions",
            "interactions_n",
            "average_handle_time",
            "average_handle_time_n",
            "csat",
            "csat_n"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(String::from).collect())
        .collect();
    // PHONE in TEAM-A1 and TEAM-B1 (one call each, 300 s), WEB_SELF_SERVICE in TEAM-A2.
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(
        rows[0][..8],
        [
            "2026-11-01",
            "2026-11",
            "PHONE",
            "TEAM-A1",
            "1",
            "1",
            "300",
            "1"
        ]
    );
    assert_eq!(rows[1][2..4], ["PHONE", "TEAM-B1"]);
    assert_eq!(rows[2][2..6], ["WEB_SELF_SERVICE", "TEAM-A2", "1", "1"]);
    // Handle time of a self-service visit: no denominator, blank value, n = 0.
    assert_eq!(rows[2][6..8], ["", "0"]);

    // The analyst's export is suppressed like the API: TEAM-A1's one CSAT answer (< 2) is blank.
    let response = fetch(Some(world.token(Role::Analyst).to_owned()))
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let first = text.lines().nth(1).unwrap();
    assert!(first.ends_with(",,"), "suppressed CSAT is blank: {text}");

    // A bad parameter names itself.
    let response = app
        .client
        .get(format!(
            "{}/export/metrics.csv?metrics=NOPE&from=2026-11-01&to=2026-11-30",
            app.address
        ))
        .bearer_auth(world.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "metrics");
}
