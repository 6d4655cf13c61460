//! A small, fully known world for record tests: the org tree of `TestApp::seed_org`, one user of
//! every role, a second agent in another office, two customers, three interactions with survey
//! responses, a course with an assignment, an allocation, a standard and a legal hold.

use std::collections::HashMap;

use bac_metrics::db::enums::Role;
use serde_json::{json, Value};

use crate::helpers::TestApp;

pub struct World {
    /// Tokens by role (the agent is in TEAM-A1, the supervisor leads OFFICE-A).
    pub tokens: HashMap<Role, String>,
    pub agent_id: String,
    pub other_agent_id: String,
    pub other_agent_token: String,
    /// Handled by the agent (TEAM-A1), customer CRM-1, with a commented survey response.
    pub own_interaction: String,
    /// Handled by the other agent (TEAM-B1), customer CRM-2.
    pub other_interaction: String,
    pub assignment_id: String,
    /// The course FCR-101 (addresses FIRST_CONTACT_RESOLUTION).
    pub course_id: String,
    pub allocation_id: String,
    /// An active legal hold on TEAM-B1, placed by the admin.
    pub legal_hold_id: String,
}

impl World {
    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }
}

pub const RECORD: &str = "mutation($input: InteractionInput!) {
    recordInteraction(input: $input) { created interaction { id externalId channel } } }";

pub fn interaction_input(
    external_id: &str,
    agent: Option<&str>,
    unit: &str,
    customer: &str,
) -> Value {
    json!({
        "source": "phone-system",
        "externalId": external_id,
        "channel": "PHONE",
        "orgUnitCode": unit,
        "agentEmail": agent,
        "customer": { "customerRef": customer, "businessName": format!("Business {customer}"),
                      "contactName": "Pat Owner", "email": format!("{customer}@example.com"), "phone": "+1-555-0100" },
        "topicCode": "LICENSING",
        "startedAt": "2026-11-02T15:00:00Z",
        "waitSeconds": 20,
        "handleSeconds": 300,
        "transfers": 0,
        "abandoned": false,
        "outcome": "RESOLVED",
    })
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let (_, body) = app.post(Some(token), query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

pub async fn build(app: &TestApp) -> World {
    app.seed_org().await;
    let mut tokens = HashMap::new();
    for (role, _, token) in app.users_of_every_role().await {
        tokens.insert(role, token);
    }
    app.create_user("other.agent@test.example", Role::Agent, "TEAM-B1", true)
        .await;
    let other_agent_token = app.token_for("other.agent@test.example").await;
    let admin = tokens[&Role::Admin].clone();
    let ingest = tokens[&Role::Ingest].clone();
    ok(
        app,
        &admin,
        "mutation { createTopic(code: \"LICENSING\", name: \"Licensing\") { id } }",
        json!({}),
    )
    .await;

    let own = ok(app, &ingest, RECORD, json!({ "input": interaction_input("call-1", Some("agent@test.example"), "TEAM-A1", "CRM-1") })).await;
    let other = ok(app, &ingest, RECORD, json!({ "input": interaction_input("call-2", Some("other.agent@test.example"), "TEAM-B1", "CRM-2") })).await;
    let mut chat = interaction_input("chat-1", None, "TEAM-A2", "CRM-1");
    chat["channel"] = json!("WEB_SELF_SERVICE");
    chat["waitSeconds"] = Value::Null;
    chat["handleSeconds"] = Value::Null;
    ok(app, &ingest, RECORD, json!({ "input": chat })).await;
    let own_interaction = own["recordInteraction"]["interaction"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_interaction = other["recordInteraction"]["interaction"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A survey through the public one-time-token path, with a comment.
    let invitation = ok(
        app,
        &ingest,
        "mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token } }",
        json!({ "id": own_interaction }),
    )
    .await;
    let token = invitation["createSurveyInvitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .post(
            None,
            "mutation($token: String!) { submitSurveyResponse(token: $token, answers: { satisfaction: 5, trust: 4, resolved: true, comment: \"Call me at 555-0100\" }) { accepted kind } }",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(
        body["data"]["submitSurveyResponse"]["accepted"], true,
        "{body}"
    );

    let data = ok(
        app,
        &admin,
        "query { users(filter: { roles: [AGENT] }) { edges { node { id email } } } }",
        json!({}),
    )
    .await;
    let id_of = |email: &str| {
        data["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["email"] == email)
            .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let agent_id = id_of("agent@test.example");
    let other_agent_id = id_of("other.agent@test.example");

    let course = ok(app, &admin, "mutation { createTrainingCourse(code: \"FCR-101\", title: \"First contact resolution\", addressedMetrics: [FIRST_CONTACT_RESOLUTION]) { id } }", json!({})).await;
    let assignment = ok(
        app,
        &tokens[&Role::Supervisor],
        "mutation($agent: ID!) { assignTraining(agentId: $agent, courseCode: \"FCR-101\", reason: \"FCR below team\") { id } }",
        json!({ "agent": agent_id }),
    )
    .await;
    let allocation = ok(
        app,
        &tokens[&Role::Supervisor],
        "mutation { proposeResourceAllocation(input: { orgUnitCode: \"TEAM-A1\", channel: PHONE, periodStart: \"2026-10-01\", periodEnd: \"2026-12-31\", staffHoursPerWeek: 80, fte: 2, budgetCents: 100000, rationale: \"Queue growth\" }) { id status } }",
        json!({}),
    )
    .await;
    ok(
        app,
        &admin,
        "mutation { setServiceStandard(input: { metric: SERVICE_LEVEL, comparator: AT_LEAST, target: 0.8, channel: PHONE, effectiveFrom: \"2026-01-01\" }) { id thresholdSeconds } }",
        json!({}),
    )
    .await;
    let hold = ok(
        app,
        &admin,
        "mutation { placeLegalHold(input: { orgUnitCode: \"TEAM-B1\", reason: \"Matter 2026-014\" }) { id } }",
        json!({}),
    )
    .await;
    World {
        tokens,
        agent_id,
        other_agent_id,
        other_agent_token,
        own_interaction,
        other_interaction,
        course_id: course["createTrainingCourse"]["id"]
            .as_str()
            .expect("a course id")
            .to_owned(),
        assignment_id: assignment["assignTraining"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        allocation_id: allocation["proposeResourceAllocation"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        legal_hold_id: hold["placeLegalHold"]["id"].as_str().unwrap().to_owned(),
    }
}
