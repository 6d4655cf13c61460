//! The program scorecard and the quarterly oversight report (GraphQL, CSV and printable HTML),
//! against one small hand-built dataset whose every figure is worked out below.
//!
//! The dataset (10 interactions on Saturday 10 January 2026, New York time; fiscal FY2026-Q3 =
//! January–March 2026; every interaction on topic LICENSING):
//!
//! | id | channel | unit    | customer | wait | transfers | abandoned | outcome    |
//! |----|---------|---------|----------|------|-----------|-----------|------------|
//! | P1 | PHONE   | TEAM-A1 | C1       | 10   | 0         | no        | resolved   |
//! | P2 | PHONE   | TEAM-A1 | C2       | 20   | 0         | no        | resolved   |
//! | P3 | PHONE   | TEAM-A1 | C3       | 40   | 1         | no        | resolved   |
//! | P4 | PHONE   | TEAM-A1 | C4       | 25   | 0         | no        | unresolved |
//! | P5 | PHONE   | TEAM-A1 | C5       | 90   | 0         | yes       |            |
//! | P6 | EMAIL   | TEAM-A1 | C6       |      | 0         | no        | resolved   |
//! | W1 | WEB     | TEAM-Q  | C7       |      |           |           |            |
//! | W2 | WEB     | TEAM-Q  | C8       |      |           |           |            |
//! | W3 | IVR     | TEAM-A1 | C1 (09:00, an hour before P1 by the same customer) |
//! | W4 | SMS     | TEAM-A1 | none     |      |           |           |            |
//!
//! Survey invitations: P1–P4 (post_call), P6 (follow_up): 5. Responses (satisfaction, trust,
//! ease; the other four items unanswered): P1 (5, 4, 5), P2 (4, 2, 4), P6 (2, 3, 5).
//! TEAM-Q is named `Permits & <Licensing> "Desk"` to check escaping.

use bac_metrics::db::enums::Role;
use diesel::{prelude::*, sql_query};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp};

const INTERACTIONS: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome
sc,P1,phone,TEAM-A1,agent@test.example,C1,,,,,LICENSING,2026-01-10T10:00:00-05:00,10,300,0,false,resolved
sc,P2,phone,TEAM-A1,agent@test.example,C2,,,,,LICENSING,2026-01-10T10:30:00-05:00,20,240,0,false,resolved
sc,P3,phone,TEAM-A1,agent@test.example,C3,,,,,LICENSING,2026-01-10T11:00:00-05:00,40,360,1,false,resolved
sc,P4,phone,TEAM-A1,agent@test.example,C4,,,,,LICENSING,2026-01-10T11:30:00-05:00,25,200,0,false,unresolved
sc,P5,phone,TEAM-A1,,C5,,,,,LICENSING,2026-01-10T12:00:00-05:00,90,,0,true,
sc,P6,email,TEAM-A1,agent@test.example,C6,,,,,LICENSING,2026-01-10T12:30:00-05:00,,400,0,false,resolved
sc,W1,web_self_service,TEAM-Q,,C7,,,,,LICENSING,2026-01-10T08:00:00-05:00,,,0,false,
sc,W2,web_self_service,TEAM-Q,,C8,,,,,LICENSING,2026-01-10T08:30:00-05:00,,,0,false,
sc,W3,ivr,TEAM-A1,,C1,,,,,LICENSING,2026-01-10T09:00:00-05:00,,,0,false,
sc,W4,sms,TEAM-A1,,,,,,,LICENSING,2026-01-10T09:30:00-05:00,,,0,false,
";

const INVITATIONS: &str =
    "source,external_id,interaction_source,interaction_external_id,kind,sent_at
sc,I1,sc,P1,post_call,2026-01-10T10:20:00-05:00
sc,I2,sc,P2,post_call,2026-01-10T10:50:00-05:00
sc,I3,sc,P3,post_call,2026-01-10T11:20:00-05:00
sc,I4,sc,P4,post_call,2026-01-10T11:50:00-05:00
sc,I6,sc,P6,follow_up,2026-01-11T09:00:00-05:00
";

const RESPONSES: &str = "source,external_id,interaction_source,interaction_external_id,kind,submitted_at,satisfaction,trust,effectiveness,ease,efficiency,transparency,helpfulness,resolved,comment
sc,R1,sc,P1,post_call,2026-01-10T13:00:00-05:00,5,4,,5,,,,,
sc,R2,sc,P2,post_call,2026-01-10T13:00:00-05:00,4,2,,4,,,,,
sc,R3,sc,P6,follow_up,2026-01-11T10:00:00-05:00,2,3,,5,,,,,
";

const ESCAPED_UNIT: &str = "Permits &amp; &lt;Licensing&gt; &quot;Desk&quot;";

const SCORECARD: &str = "query($unit: String, $weights: ScorecardWeightsInput, $mappings: [ScorecardMappingInput!]) {
  programScorecard(from: \"2026-01-01\", to: \"2026-03-31\", orgUnitCode: $unit, weights: $weights, mappings: $mappings) {
    composite usedWeight missingInputs timeZone
    weights { serviceMaturity customerServiceMaturity citizenVoice }
    mappings { input floor target lowerIsBetter }
    components { component weight score contribution missingInputs
      inputs { input value numerator denominator suppressed score contribution mapping { floor target } } } } }";

const REPORT: &str = "query($year: Int!, $quarter: Int!) { oversightReport(fiscalYear: $year, quarter: $quarter) {
  label from to timeZone generatedAt auditChainHead { eventId hash occurredAt }
  rows { orgUnitCode orgUnitName channel
    figures { volume surveysOffered responses responseRate { value }
      satisfied { value numerator denominator } trust { value denominator } easy { value denominator }
      effective { value denominator } employeeHelpfulness { value denominator } }
    allocations { proposed approved rejected } }
  totals { volume surveysOffered responses responseRate { value } satisfied { value numerator denominator } }
  units { orgUnitCode orgUnitName trainingAssigned trainingCompleted allocations { proposed approved rejected } }
  standards { standard { metric } comparator target met gap actual { value numerator denominator } } } }";

/// Tokens of the roles the tests use.
struct Tokens {
    admin: String,
    ingest: String,
    agent: String,
    supervisor: String,
    analyst: String,
    auditor: String,
}

fn close(actual: &Value, expected: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected {expected}, got {actual}"));
    assert!(
        (actual - expected).abs() < 1e-6,
        "{what}: expected {expected}, got {actual}"
    );
}

async fn upload(app: &TestApp, token: &str, kind: &str, body: &str) {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .header("content-type", "text/csv")
        .bearer_auth(token)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "import {kind}");
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["rejected"], 0, "import {kind}: {report}");
}

async fn data(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let (_, body) = app.post(Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// The org tree, the `Permits & <Licensing> "Desk"` team, users of every role, and the ten
/// interactions with their surveys.
async fn load_dataset(app: &TestApp) -> Tokens {
    app.seed_org().await;
    let users = app.users_of_every_role().await;
    let token = |role: Role| {
        users
            .iter()
            .find(|(candidate, _, _)| *candidate == role)
            .map(|(_, _, token)| token.clone())
            .unwrap()
    };
    let tokens = Tokens {
        admin: token(Role::Admin),
        ingest: token(Role::Ingest),
        agent: token(Role::Agent),
        supervisor: token(Role::Supervisor),
        analyst: token(Role::Analyst),
        auditor: token(Role::Auditor),
    };
    upload(
        app,
        &tokens.admin,
        "org-units",
        "code,name,parent_code\nTEAM-Q,\"Permits & <Licensing> \"\"Desk\"\"\",OFFICE-A\n",
    )
    .await;
    upload(
        app,
        &tokens.admin,
        "topics",
        "code,name\nLICENSING,Licensing\n",
    )
    .await;
    upload(app, &tokens.ingest, "interactions", INTERACTIONS).await;
    upload(app, &tokens.ingest, "survey-invitations", INVITATIONS).await;
    upload(app, &tokens.ingest, "survey-responses", RESPONSES).await;
    tokens
}

/// The scored input `name` of a scorecard.
fn input<'a>(card: &'a Value, name: &str) -> &'a Value {
    card["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|component| component["inputs"].as_array().unwrap().iter())
        .find(|input| input["input"] == name)
        .unwrap_or_else(|| panic!("no input {name} in {card}"))
}

fn component<'a>(card: &'a Value, name: &str) -> &'a Value {
    card["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|component| component["component"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {card}"))
}

#[tokio::test]
async fn the_scorecard_matches_the_hand_computed_index() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    let body = data(&app, &tokens.admin, SCORECARD, json!({})).await;
    let card = &body["programScorecard"];

    // Service maturity.
    // Containment: self-service with a customer W1, W2, W3 = 3; W3 was followed by P1 (same
    // customer and topic, within 24 h), so 2 of 3 contained = 0.6667 → (0.6667 − 0.3) ÷ (0.8 −
    // 0.3) = 73.33 points.
    let containment = input(card, "SELF_SERVICE_CONTAINMENT");
    close(&containment["value"], 2.0 / 3.0, "containment");
    close(&containment["denominator"], 3.0, "containment n");
    close(&containment["score"], 220.0 / 3.0, "containment score");
    // Self-service share: W1–W4 = 4 of 10 = 0.4 → (0.4 − 0.1) ÷ (0.5 − 0.1) = 75 points.
    let share = input(card, "SELF_SERVICE_SHARE");
    close(&share["value"], 0.4, "share");
    close(&share["numerator"], 4.0, "share numerator");
    close(&share["denominator"], 10.0, "share n");
    close(&share["score"], 75.0, "share score");
    // Component: (73.33 + 75) ÷ 2 = 74.17.
    close(
        &component(card, "SERVICE_MATURITY")["score"],
        445.0 / 6.0,
        "service maturity",
    );

    // Customer-service maturity. Handled (assisted, not abandoned): P1–P4, P6 = 5.
    // FCR: P1, P2, P6 (P3 transferred, P4 unresolved) = 3/5 = 0.6 → (0.6 − 0.5) ÷ 0.4 = 25.
    let fcr = input(card, "FIRST_CONTACT_RESOLUTION");
    close(&fcr["value"], 0.6, "fcr");
    close(&fcr["denominator"], 5.0, "fcr n");
    close(&fcr["score"], 25.0, "fcr score");
    // Its contribution: weight 0.5 × 25 ÷ 4 scored inputs ÷ Σ weights 1.0 = 3.125 points.
    close(&fcr["contribution"], 3.125, "fcr contribution");
    // Service level: queued P1–P5 = 5; answered within 30 s P1 (10), P2 (20), P4 (25) = 3/5 =
    // 0.6 → 25.
    close(
        &input(card, "SERVICE_LEVEL")["score"],
        25.0,
        "service level score",
    );
    // Transfer rate (lower is better): P3 = 1/5 = 0.2 → (0.2 − 0.3) ÷ (0.05 − 0.3) = 40.
    let transfers = input(card, "TRANSFER_RATE");
    close(&transfers["value"], 0.2, "transfer rate");
    close(&transfers["score"], 40.0, "transfer score");
    // Response rate: invitations answered P1, P2, P6 = 3 of 5 = 0.6, beyond the 0.4 target:
    // clamped to 100.
    let responses = input(card, "SURVEY_RESPONSE_RATE");
    close(&responses["value"], 0.6, "response rate");
    close(&responses["score"], 100.0, "response rate score");
    // Component: (25 + 25 + 40 + 100) ÷ 4 = 47.5.
    let customer_service = component(card, "CUSTOMER_SERVICE_MATURITY");
    close(
        &customer_service["score"],
        47.5,
        "customer-service maturity",
    );
    close(
        &customer_service["contribution"],
        23.75,
        "its contribution: 0.5 × 47.5",
    );

    // Citizen voice. CSAT: 5, 4, 2 → 2 of 3 top-2-box = 0.6667 → (0.6667 − 0.5) ÷ 0.4 = 41.67.
    let csat = input(card, "CSAT");
    close(&csat["value"], 2.0 / 3.0, "csat");
    close(&csat["denominator"], 3.0, "csat n");
    close(&csat["score"], 125.0 / 3.0, "csat score");
    // Trust: 4, 2, 3 → 1/3, below the 0.5 floor: 0. Ease: 5, 4, 5 → 3/3: 100.
    close(&input(card, "TRUST")["score"], 0.0, "trust score");
    close(&input(card, "EASE")["score"], 100.0, "ease score");
    // Nobody answered effectiveness, efficiency, transparency or helpfulness: missing, left
    // out of the mean.
    let effectiveness = input(card, "EFFECTIVENESS");
    assert_eq!(effectiveness["value"], Value::Null);
    assert_eq!(effectiveness["score"], Value::Null);
    assert_eq!(effectiveness["contribution"], Value::Null);
    assert_eq!(
        card["missingInputs"],
        json!(["EFFECTIVENESS", "EFFICIENCY", "TRANSPARENCY", "HELPFULNESS"])
    );
    // Component: (41.67 + 0 + 100) ÷ 3 = 47.22.
    close(
        &component(card, "CITIZEN_VOICE")["score"],
        425.0 / 9.0,
        "citizen voice",
    );

    // Composite: 0.1 × 74.17 + 0.5 × 47.5 + 0.4 × 47.22 = 7.42 + 23.75 + 18.89 = 50.06.
    let composite = 0.1 * 445.0 / 6.0 + 0.5 * 47.5 + 0.4 * 425.0 / 9.0;
    close(&card["composite"], composite, "composite");
    close(&card["composite"], 50.055_555_6, "composite, as a number");
    close(&card["usedWeight"], 1.0, "used weight");
    // The inputs' contributions add up to the composite.
    let total: f64 = card["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|component| component["inputs"].as_array().unwrap().iter())
        .filter_map(|input| input["contribution"].as_f64())
        .sum();
    assert!(
        (total - composite).abs() < 1e-9,
        "contributions add up: {total}"
    );
    // The defaults are returned with the result.
    assert_eq!(
        card["weights"],
        json!({ "serviceMaturity": 0.1, "customerServiceMaturity": 0.5, "citizenVoice": 0.4 })
    );
    let mappings = card["mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 13);
    let transfer_mapping = mappings
        .iter()
        .find(|mapping| mapping["input"] == "TRANSFER_RATE")
        .unwrap();
    assert_eq!(
        transfer_mapping,
        &json!({ "input": "TRANSFER_RATE", "floor": 0.3, "target": 0.05, "lowerIsBetter": true })
    );
    assert_eq!(card["timeZone"], "America/New_York");
}

#[tokio::test]
async fn scorecard_weights_and_mappings_can_be_overridden() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    let variables = json!({
        "weights": { "serviceMaturity": 0, "customerServiceMaturity": 1, "citizenVoice": 1 },
        "mappings": [{ "input": "TRANSFER_RATE", "floor": 0.5, "target": 0.1 }],
    });
    let body = data(&app, &tokens.supervisor, SCORECARD, variables).await;
    let card = &body["programScorecard"];
    // The supervisor leads OFFICE-A, whose subtree (TEAM-A1, TEAM-Q) holds every interaction:
    // the same inputs as the admin's.
    // Transfer rate 0.2 under the new mapping: (0.2 − 0.5) ÷ (0.1 − 0.5) = 75 points.
    let transfers = input(card, "TRANSFER_RATE");
    close(&transfers["score"], 75.0, "overridden transfer score");
    assert_eq!(transfers["mapping"], json!({ "floor": 0.5, "target": 0.1 }));
    // Customer-service maturity: (25 + 25 + 75 + 100) ÷ 4 = 56.25.
    close(
        &component(card, "CUSTOMER_SERVICE_MATURITY")["score"],
        56.25,
        "customer-service maturity",
    );
    // Service maturity still has a score (74.17) but weighs 0: used weight 0 + 1 + 1 = 2, and
    // composite (0 × 74.17 + 1 × 56.25 + 1 × 47.22) ÷ 2 = 51.74.
    close(&card["usedWeight"], 2.0, "used weight");
    close(&card["composite"], (56.25 + 425.0 / 9.0) / 2.0, "composite");
    close(
        &component(card, "SERVICE_MATURITY")["contribution"],
        0.0,
        "a weightless component contributes nothing",
    );
    assert_eq!(
        card["weights"],
        json!({ "serviceMaturity": 0.0, "customerServiceMaturity": 1.0, "citizenVoice": 1.0 })
    );

    // A lower-is-better input mapped upwards, and a negative weight, are the caller's mistakes.
    for variables in [
        json!({ "mappings": [{ "input": "TRANSFER_RATE", "floor": 0.05, "target": 0.3 }] }),
        json!({ "mappings": [{ "input": "CSAT", "floor": 0.5, "target": 1.5 }] }),
        json!({ "weights": { "citizenVoice": -1 } }),
    ] {
        let (_, body) = app
            .post(Some(&tokens.admin), SCORECARD, variables.clone())
            .await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{variables}: {body}"
        );
    }
    // An unknown unit names the argument.
    let (_, body) = app
        .post(Some(&tokens.admin), SCORECARD, json!({ "unit": "NOPE" }))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "orgUnitCode");
    // Agents have no scorecard.
    let (_, body) = app.post(Some(&tokens.agent), SCORECARD, json!({})).await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
}

#[tokio::test]
async fn suppressed_and_absent_inputs_are_missing_from_the_scorecard() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    // The analyst's survey cells are below MIN_CELL_SIZE (10): CSAT and the drivers (3 answers)
    // and the response rate (5 invitations) come back suppressed and count as missing.
    let body = data(&app, &tokens.analyst, SCORECARD, json!({})).await;
    let card = &body["programScorecard"];
    let csat = input(card, "CSAT");
    assert_eq!(csat["suppressed"], true);
    assert_eq!(csat["value"], Value::Null);
    assert_eq!(csat["score"], Value::Null);
    assert_eq!(input(card, "SURVEY_RESPONSE_RATE")["suppressed"], true);
    let voice = component(card, "CITIZEN_VOICE");
    assert_eq!(voice["score"], Value::Null);
    assert_eq!(voice["missingInputs"].as_array().unwrap().len(), 7);
    // Customer-service maturity from FCR, service level and transfers: (25 + 25 + 40) ÷ 3 = 30.
    close(
        &component(card, "CUSTOMER_SERVICE_MATURITY")["score"],
        30.0,
        "customer-service maturity without the response rate",
    );
    // Composite over the scored components only: (0.1 × 74.17 + 0.5 × 30) ÷ 0.6 = 37.36.
    close(&card["usedWeight"], 0.6, "used weight");
    close(
        &card["composite"],
        (0.1 * 445.0 / 6.0 + 0.5 * 30.0) / 0.6,
        "composite",
    );
    assert_eq!(card["missingInputs"].as_array().unwrap().len(), 8);

    // TEAM-B1 has no interactions at all: every input is missing and there is no composite.
    let body = data(&app, &tokens.admin, SCORECARD, json!({ "unit": "TEAM-B1" })).await;
    let card = &body["programScorecard"];
    assert_eq!(card["composite"], Value::Null);
    assert_eq!(card["missingInputs"].as_array().unwrap().len(), 13);
    assert_eq!(input(card, "SELF_SERVICE_SHARE")["value"], Value::Null);
}

/// Training and allocations created through the API, then moved in time (behind the API's
/// back) so the quarter FY2026-Q3 (January–March 2026) sees some of them:
///
/// | assignment | agent (unit)          | created    | completed  | counts in Q3          |
/// |------------|-----------------------|------------|------------|-----------------------|
/// | T1         | agent (TEAM-A1)       | 2026-02-10 | 2026-02-20 | assigned, completed   |
/// | T2         | agent (TEAM-A1)       | 2026-03-05 | –          | assigned              |
/// | T3         | desk agent (TEAM-Q)   | 2025-12-15 | 2026-01-20 | completed             |
/// | T4         | desk agent (TEAM-Q)   | 2026-04-02 | –          | nothing               |
///
/// | allocation | unit × channel        | created    | decision            | counts in Q3   |
/// |------------|-----------------------|------------|---------------------|----------------|
/// | A1         | TEAM-A1 × PHONE       | 2026-01-15 | approved 2026-02-01 | proposed, approved |
/// | A2         | TEAM-A1 × PHONE       | 2026-03-20 | approved 2026-04-03 | proposed       |
/// | A3         | TEAM-Q × WEB          | 2025-12-01 | rejected 2026-01-05 | rejected       |
/// | A4         | TEAM-B1 × CHAT        | 2026-02-01 | –                   | proposed       |
async fn load_program_activity(app: &TestApp, tokens: &Tokens) {
    app.create_user("desk.agent@test.example", Role::Agent, "TEAM-Q", true)
        .await;
    for code in ["FCR-101", "CSAT-201"] {
        data(
            app,
            &tokens.admin,
            &format!("mutation {{ createTrainingCourse(code: \"{code}\", title: \"Course {code}\") {{ id }} }}"),
            json!({}),
        )
        .await;
    }
    let users = data(
        app,
        &tokens.admin,
        "{ users(filter: { roles: [AGENT] }) { edges { node { id email } } } }",
        json!({}),
    )
    .await;
    let id_of = |email: &str| {
        users["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["email"] == email)
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let assign = "mutation($agent: ID!, $course: String!) { assignTraining(agentId: $agent, courseCode: $course, reason: \"Quarterly review\") { id } }";
    let mut assignments = Vec::new();
    for (email, course) in [
        ("agent@test.example", "FCR-101"),
        ("agent@test.example", "CSAT-201"),
        ("desk.agent@test.example", "FCR-101"),
        ("desk.agent@test.example", "CSAT-201"),
    ] {
        let body = data(
            app,
            &tokens.supervisor,
            assign,
            json!({ "agent": id_of(email), "course": course }),
        )
        .await;
        assignments.push(body["assignTraining"]["id"].as_str().unwrap().to_owned());
    }
    for id in [&assignments[0], &assignments[2]] {
        data(
            app,
            &tokens.admin,
            "mutation($id: ID!) { completeTraining(assignmentId: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    }
    let propose = "mutation($unit: String!, $channel: Channel!) { proposeResourceAllocation(input: { orgUnitCode: $unit, channel: $channel, periodStart: \"2026-01-01\", periodEnd: \"2026-03-31\", staffHoursPerWeek: 40, fte: 1, rationale: \"Queue growth\" }) { id } }";
    let mut allocations = Vec::new();
    for (unit, channel) in [
        ("TEAM-A1", "PHONE"),
        ("TEAM-A1", "PHONE"),
        ("TEAM-Q", "WEB_SELF_SERVICE"),
        ("TEAM-B1", "CHAT"),
    ] {
        let body = data(
            app,
            &tokens.admin,
            propose,
            json!({ "unit": unit, "channel": channel }),
        )
        .await;
        allocations.push(
            body["proposeResourceAllocation"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let decide = "mutation($id: ID!, $approve: Boolean!) { decideResourceAllocation(id: $id, approve: $approve) { status } }";
    for (id, approve) in [
        (&allocations[0], true),
        (&allocations[1], true),
        (&allocations[2], false),
    ] {
        data(
            app,
            &tokens.admin,
            decide,
            json!({ "id": id, "approve": approve }),
        )
        .await;
    }
    // A PHONE service-level standard of at least 80% (30 s) in force from 1 January 2026.
    data(
        app,
        &tokens.admin,
        "mutation { setServiceStandard(input: { metric: SERVICE_LEVEL, comparator: AT_LEAST, target: 0.8, channel: PHONE, effectiveFrom: \"2026-01-01\" }) { id } }",
        json!({}),
    )
    .await;

    let mut connection = app.connection();
    let moves = [
        format!("UPDATE training_assignments SET created_at = '2026-02-10T15:00:00Z', completed_at = '2026-02-20T15:00:00Z' WHERE id = {}", assignments[0]),
        format!("UPDATE training_assignments SET created_at = '2026-03-05T15:00:00Z' WHERE id = {}", assignments[1]),
        format!("UPDATE training_assignments SET created_at = '2025-12-15T15:00:00Z', completed_at = '2026-01-20T15:00:00Z' WHERE id = {}", assignments[2]),
        format!("UPDATE training_assignments SET created_at = '2026-04-02T15:00:00Z' WHERE id = {}", assignments[3]),
        format!("UPDATE resource_allocations SET created_at = '2026-01-15T15:00:00Z', decided_at = '2026-02-01T15:00:00Z' WHERE id = {}", allocations[0]),
        format!("UPDATE resource_allocations SET created_at = '2026-03-20T15:00:00Z', decided_at = '2026-04-03T15:00:00Z' WHERE id = {}", allocations[1]),
        format!("UPDATE resource_allocations SET created_at = '2025-12-01T15:00:00Z', decided_at = '2026-01-05T15:00:00Z' WHERE id = {}", allocations[2]),
        format!("UPDATE resource_allocations SET created_at = '2026-02-01T15:00:00Z' WHERE id = {}", allocations[3]),
    ];
    for statement in moves {
        sql_query(&statement)
            .execute(&mut connection)
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
}

/// The newest audit event's id and hash, through the API.
async fn latest_audit_event(app: &TestApp, admin: &str) -> (String, String) {
    let body = data(
        app,
        admin,
        "{ auditEvents(last: 1) { edges { node { id hash } } } verifyAuditChain { ok headHash } }",
        json!({}),
    )
    .await;
    assert_eq!(body["verifyAuditChain"]["ok"], true);
    let node = &body["auditEvents"]["edges"][0]["node"];
    assert_eq!(node["hash"], body["verifyAuditChain"]["headHash"]);
    (
        node["id"].as_str().unwrap().to_owned(),
        node["hash"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_oversight_report_matches_the_hand_computed_quarter() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    load_program_activity(&app, &tokens).await;
    let body = data(
        &app,
        &tokens.auditor,
        REPORT,
        json!({ "year": 2026, "quarter": 3 }),
    )
    .await;
    let report = &body["oversightReport"];
    // FY2026 starts in July 2025, so its third quarter is January–March 2026.
    assert_eq!(report["label"], "FY2026-Q3");
    assert_eq!(report["from"], "2026-01-01");
    assert_eq!(report["to"], "2026-03-31");
    assert_eq!(report["timeZone"], "America/New_York");

    // The chain head is the newest audit event when the report was generated.
    let (event_id, hash) = latest_audit_event(&app, &tokens.admin).await;
    assert_eq!(report["auditChainHead"]["eventId"], event_id.as_str());
    assert_eq!(report["auditChainHead"]["hash"], hash.as_str());
    assert_eq!(hash.len(), 64);

    // Rows by unit code, then channel (PHONE, CHAT, EMAIL, …, IVR, SMS):
    let rows = report["rows"].as_array().unwrap();
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row["orgUnitCode"].as_str().unwrap().to_owned(),
                row["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("TEAM-A1", "PHONE"),
        ("TEAM-A1", "EMAIL"),
        ("TEAM-A1", "IVR"),
        ("TEAM-A1", "SMS"),
        ("TEAM-B1", "CHAT"),
        ("TEAM-Q", "WEB_SELF_SERVICE"),
    ]
    .iter()
    .map(|(unit, channel)| (unit.to_string(), channel.to_string()))
    .collect();
    assert_eq!(keys, expected, "{report}");

    // TEAM-A1 × PHONE: P1–P5 = 5 contacts; invitations P1–P4 = 4 offered; P1 and P2 answered =
    // 2 responses, rate 2/4 = 0.5. Satisfied 5, 4 → 2/2 = 1.0; trust 4, 2 → 1/2 = 0.5; easy
    // 5, 4 → 2/2; effective and helpfulness unanswered (n = 0, no value).
    let phone = &rows[0]["figures"];
    assert_eq!(phone["volume"], 5.0);
    assert_eq!(phone["surveysOffered"], 4.0);
    assert_eq!(phone["responses"], 2.0);
    close(&phone["responseRate"]["value"], 0.5, "phone response rate");
    assert_eq!(
        phone["satisfied"],
        json!({ "value": 1.0, "numerator": 2.0, "denominator": 2.0 })
    );
    assert_eq!(phone["trust"], json!({ "value": 0.5, "denominator": 2.0 }));
    assert_eq!(phone["easy"], json!({ "value": 1.0, "denominator": 2.0 }));
    assert_eq!(
        phone["effective"],
        json!({ "value": null, "denominator": 0.0 })
    );
    assert_eq!(
        phone["employeeHelpfulness"],
        json!({ "value": null, "denominator": 0.0 })
    );
    // Allocations of TEAM-A1 × PHONE: A1 and A2 proposed in the quarter, only A1 approved in it.
    assert_eq!(
        rows[0]["allocations"],
        json!({ "proposed": 2, "approved": 1, "rejected": 0 })
    );
    // TEAM-A1 × EMAIL: P6; offered 1, answered 1 (rate 1.0); satisfied 2 → 0/1.
    let email = &rows[1]["figures"];
    assert_eq!(email["volume"], 1.0);
    assert_eq!(email["responses"], 1.0);
    close(&email["responseRate"]["value"], 1.0, "email response rate");
    assert_eq!(
        email["satisfied"],
        json!({ "value": 0.0, "numerator": 0.0, "denominator": 1.0 })
    );
    // IVR and SMS: one contact each, no surveys offered, so no rate.
    assert_eq!(rows[2]["figures"]["volume"], 1.0);
    assert_eq!(rows[2]["figures"]["surveysOffered"], 0.0);
    assert_eq!(rows[2]["figures"]["responseRate"]["value"], Value::Null);
    // TEAM-B1 × CHAT exists only for A4: no contacts, one proposal.
    assert_eq!(rows[4]["figures"]["volume"], 0.0);
    assert_eq!(
        rows[4]["allocations"],
        json!({ "proposed": 1, "approved": 0, "rejected": 0 })
    );
    // TEAM-Q × WEB: W1, W2; A3 was rejected in the quarter (proposed before it).
    assert_eq!(rows[5]["orgUnitName"], "Permits & <Licensing> \"Desk\"");
    assert_eq!(rows[5]["figures"]["volume"], 2.0);
    assert_eq!(
        rows[5]["allocations"],
        json!({ "proposed": 0, "approved": 0, "rejected": 1 })
    );

    // The whole program: 10 contacts, 5 offered, 3 responses (0.6); satisfied 2 of 3.
    let totals = &report["totals"];
    assert_eq!(totals["volume"], 10.0);
    assert_eq!(totals["surveysOffered"], 5.0);
    assert_eq!(totals["responses"], 3.0);
    close(&totals["responseRate"]["value"], 0.6, "total response rate");
    close(&totals["satisfied"]["value"], 2.0 / 3.0, "total satisfied");

    // Training and allocations per unit (see `load_program_activity`).
    assert_eq!(
        report["units"],
        json!([
            { "orgUnitCode": "TEAM-A1", "orgUnitName": "Unit TEAM-A1", "trainingAssigned": 2, "trainingCompleted": 1,
              "allocations": { "proposed": 2, "approved": 1, "rejected": 0 } },
            { "orgUnitCode": "TEAM-B1", "orgUnitName": "Unit TEAM-B1", "trainingAssigned": 0, "trainingCompleted": 0,
              "allocations": { "proposed": 1, "approved": 0, "rejected": 0 } },
            { "orgUnitCode": "TEAM-Q", "orgUnitName": "Permits & <Licensing> \"Desk\"", "trainingAssigned": 0, "trainingCompleted": 1,
              "allocations": { "proposed": 0, "approved": 0, "rejected": 1 } },
        ])
    );

    // The PHONE service-level standard: 3 of 5 queued calls answered within 30 s = 0.6 < 0.8.
    let standards = report["standards"].as_array().unwrap();
    assert_eq!(standards.len(), 1, "{report}");
    assert_eq!(standards[0]["standard"]["metric"], "SERVICE_LEVEL");
    assert_eq!(standards[0]["met"], false);
    close(&standards[0]["actual"]["value"], 0.6, "service level");
    close(&standards[0]["gap"], -0.2, "gap");

    // A quarter without data is empty, not an error; a fifth quarter is.
    let body = data(
        &app,
        &tokens.admin,
        REPORT,
        json!({ "year": 2025, "quarter": 1 }),
    )
    .await;
    assert_eq!(body["oversightReport"]["from"], "2024-07-01");
    assert_eq!(body["oversightReport"]["rows"], json!([]));
    assert_eq!(body["oversightReport"]["totals"]["volume"], 0.0);
    let (_, body) = app
        .post(
            Some(&tokens.admin),
            REPORT,
            json!({ "year": 2026, "quarter": 5 }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "quarter");
}

#[tokio::test]
async fn only_auditors_and_admins_read_the_oversight_report() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    let variables = json!({ "year": 2026, "quarter": 3 });
    for token in [
        &tokens.analyst,
        &tokens.supervisor,
        &tokens.agent,
        &tokens.ingest,
    ] {
        let (_, body) = app.post(Some(token), REPORT, variables.clone()).await;
        assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
        assert!(body["data"].is_null() || body["data"]["oversightReport"].is_null());
    }
    let (_, body) = app.post(None, REPORT, variables).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    for path in [
        "/export/oversight-report.csv?fiscalYear=2026&quarter=3",
        "/reports/oversight?fiscalYear=2026&quarter=3",
    ] {
        let url = format!("{}{path}", app.address);
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        for token in [&tokens.analyst, &tokens.supervisor, &tokens.agent] {
            let response = app
                .client
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        }
        let response = app
            .client
            .get(&url)
            .bearer_auth(&tokens.auditor)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    // A missing parameter names itself.
    let response = app
        .client
        .get(format!("{}/reports/oversight?fiscalYear=2026", app.address))
        .bearer_auth(&tokens.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["field"], "quarter");
}

#[tokio::test]
async fn the_oversight_csv_and_html_carry_the_same_report() {
    let app = TestApp::spawn().await;
    let tokens = load_dataset(&app).await;
    load_program_activity(&app, &tokens).await;
    let (event_id, hash) = latest_audit_event(&app, &tokens.admin).await;

    let response = app
        .client
        .get(format!(
            "{}/export/oversight-report.csv?fiscalYear=2026&quarter=3",
            app.address
        ))
        .bearer_auth(&tokens.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(response.headers()["x-audit-chain-head"], hash.as_str());
    let generated_at = response.headers()["x-generated-at"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&generated_at).is_ok());
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "fiscal_quarter",
            "period_start",
            "period_end",
            "org_unit_code",
            "org_unit_name",
            "channel",
            "volume",
            "surveys_offered",
            "responses",
            "response_rate",
            "satisfied",
            "satisfied_n",
            "trust",
            "trust_n",
            "effective",
            "effective_n",
            "easy",
            "easy_n",
            "efficient",
            "efficient_n",
            "transparent",
            "transparent_n",
            "employee_helpfulness",
            "employee_helpfulness_n",
            "allocations_proposed",
            "allocations_approved",
            "allocations_rejected",
            "unit_training_assigned",
            "unit_training_completed",
            "audit_chain_head_event_id",
            "audit_chain_head_hash",
            "generated_at",
            "retention_rules",
            "retention_last_run_at",
            "retention_last_run_by",
            "retention_last_run_erased",
            "retention_last_run_held",
            "legal_holds_active"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    // TEAM-A1 × PHONE, as in the GraphQL report: 5 contacts, 4 offered, 2 responses (0.5);
    // satisfied 1.0 of 2, trust 0.5 of 2, effective unanswered (blank, n 0), easy 1.0 of 2;
    // allocations 2 proposed, 1 approved; the unit's training 2 assigned, 1 completed.
    assert_eq!(
        rows[0][..20],
        [
            "FY2026-Q3",
            "2026-01-01",
            "2026-03-31",
            "TEAM-A1",
            "Unit TEAM-A1",
            "PHONE",
            "5",
            "4",
            "2",
            "0.5",
            "1",
            "2",
            "0.5",
            "2",
            "",
            "0",
            "1",
            "2",
            "",
            "0"
        ]
    );
    assert_eq!(rows[0][24..29], ["2", "1", "0", "2", "1"]);
    assert_eq!(
        rows[0][29..32],
        [event_id.as_str(), hash.as_str(), generated_at.as_str()]
    );
    // Retention: the default rules in force, no run yet, no hold.
    assert_eq!(
        rows[0][32..],
        [
            "customer_contacts:1095;survey_comments:1095;invitation_tokens:30;sessions:30",
            "",
            "",
            "",
            "",
            "0"
        ]
    );
    // TEAM-Q × WEB: the unit's name survives CSV quoting; one rejection, one completion.
    assert_eq!(
        rows[5][3..7],
        [
            "TEAM-Q",
            "Permits & <Licensing> \"Desk\"",
            "WEB_SELF_SERVICE",
            "2"
        ]
    );
    assert_eq!(rows[5][24..29], ["0", "0", "1", "0", "1"]);

    // The printable page: self-contained, escaped, with the key numbers and the chain head.
    let response = app
        .client
        .get(format!(
            "{}/reports/oversight?fiscalYear=2026&quarter=3",
            app.address
        ))
        .bearer_auth(&tokens.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(response.headers()["x-audit-chain-head"], hash.as_str());
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Quarterly oversight report FY2026-Q3"));
    assert!(html.contains("@media print"));
    assert!(html.contains(&hash), "the chain head hash is printed");
    assert!(html.contains(&format!("event #{event_id}")));
    assert!(html.contains("America/New_York"));
    // The unit name is escaped everywhere, never raw.
    assert!(html.contains(ESCAPED_UNIT));
    assert!(!html.contains("<Licensing>"));
    // TEAM-A1 × PHONE: volume 5, 4 offered, 2 responses, 50.0%; trust 50.0% of n=2.
    assert!(html.contains(
        "<tr><td>PHONE</td><td class=\"num\">5</td><td class=\"num\">4</td><td class=\"num\">2</td><td class=\"num\">50.0%</td>"
    ), "{html}");
    assert!(html.contains("50.0%<span class=\"n\">n=2</span>"));
    // Totals: 10 contacts, 5 offered, 3 responses, 60.0%; satisfied 66.7% of 3.
    assert!(html.contains(
        "<td>Total</td><td class=\"num\">10</td><td class=\"num\">5</td><td class=\"num\">3</td><td class=\"num\">60.0%</td><td class=\"num\">66.7%<span class=\"n\">n=3</span>"
    ));
    // The standard, not met: 60.0% against ≥ 80.0%.
    assert!(html.contains("≥ 80.0%"));
    assert!(html.contains("<span class=\"missed\">not met</span>"));
    // Records retention: the rules in force, and that none has run yet.
    assert!(html.contains("<h2>Records retention</h2>"));
    assert!(html.contains("<tr><td>customer_contacts</td><td>Customer business name, contact name, email and phone; counted from the customer&#39;s last contact</td><td class=\"num\">1,095 days (3 years)</td><td>—</td>"), "{html}");
    assert!(html.contains("Retention has not run yet."));
    // Nothing is loaded from elsewhere.
    for external in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "no {external} in a self-contained page"
        );
    }

    render_in_headless_browser(&html).await;
}

/// Renders the page in headless Chromium when it is installed (CI can install Debian's
/// `chromium`): the browser loads the saved file and takes a screenshot, proving the page renders
/// on its own. Skipped, saying so, where no browser is installed.
async fn render_in_headless_browser(html: &str) {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .map(|output| output.status.success())
                .unwrap_or(false)
        });
    let Some(browser) = browser else {
        eprintln!("no headless browser installed: skipping the rendering check");
        return;
    };
    let folder = std::env::temp_dir().join(format!("bac-oversight-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let page = folder.join("oversight.html");
    let shot = folder.join("oversight.png");
    std::fs::write(&page, html).unwrap();
    let output = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,2000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            folder.join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .await
        .expect("run the browser");
    assert!(
        output.status.success(),
        "{browser} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(&shot).expect("the browser wrote a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(png.len() > 10_000, "a page with content, not a blank image");
    let _ = std::fs::remove_dir_all(&folder);
}
