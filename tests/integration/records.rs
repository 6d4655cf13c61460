//! Records: PII by role, object-level scope, idempotent writes, the public survey path, the
//! audit trail's API, and the fixed statement cost of a full page.

use bac_metrics::db::enums::Role;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::{
    fixture::{self, interaction_input, RECORD},
    helpers::{first_error_code, first_error_message, TestApp},
};

const DETAIL: &str = "query($id: ID!) { interaction(id: $id) {
    customerKey customer { businessName email phone }
    agent { email }
    surveyResponses { satisfaction comment }
} }";

#[tokio::test]
async fn pii_and_comments_by_role() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    // (role, sees contact details, sees comments, sees the agent)
    for (role, contacts, comments, agent) in [
        (Role::Agent, true, true, true),
        (Role::Supervisor, true, true, true),
        (Role::Admin, true, true, true),
        (Role::Auditor, false, true, true),
        (Role::Analyst, false, false, false),
    ] {
        let (_, body) = app
            .post(
                Some(world.token(role)),
                DETAIL,
                json!({ "id": world.own_interaction }),
            )
            .await;
        let interaction = &body["data"]["interaction"];
        assert!(
            interaction["customerKey"]
                .as_str()
                .unwrap()
                .starts_with("cust_"),
            "{role:?}: {body}"
        );
        assert_eq!(
            !interaction["customer"].is_null(),
            contacts,
            "{role:?} contacts: {body}"
        );
        if contacts {
            // Emails are kept as the domain normalises them: lower case.
            assert_eq!(interaction["customer"]["email"], "crm-1@example.com");
        }
        let comment = &interaction["surveyResponses"][0]["comment"];
        assert_eq!(!comment.is_null(), comments, "{role:?} comment: {body}");
        assert_eq!(interaction["surveyResponses"][0]["satisfaction"], 5);
        assert_eq!(
            !interaction["agent"].is_null(),
            agent,
            "{role:?} agent: {body}"
        );
    }
    // The pseudonym is stable across interactions of the same customer and hides the reference.
    let (_, body) = app
        .post(
            Some(world.token(Role::Analyst)),
            "{ interactions { edges { node { customerKey } } } }",
            json!({}),
        )
        .await;
    let keys: Vec<&str> = body["data"]["interactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["customerKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], keys[2], "CRM-1 has one pseudonym: {keys:?}");
    assert_ne!(keys[0], keys[1]);
    assert!(!body.to_string().contains("CRM-1"));
    // An analyst cannot narrow to an agent either.
    let (_, body) = app
        .post(
            Some(world.token(Role::Analyst)),
            "query($a: [ID!]) { interactions(filter: { agentIds: $a }) { totalCount } }",
            json!({ "a": [world.agent_id] }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"));
}

#[tokio::test]
async fn objects_outside_the_scope_are_not_found() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let by_id = "query($id: ID!) { interaction(id: $id) { id } }";
    // Agent A asks for agent B's interaction; the supervisor of office A for office B's.
    for token in [world.token(Role::Agent), world.token(Role::Supervisor)] {
        let (_, body) = app
            .post(Some(token), by_id, json!({ "id": world.other_interaction }))
            .await;
        assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
        // Same answer as for an id that does not exist at all: existence does not leak.
        let (_, missing) = app
            .post(Some(token), by_id, json!({ "id": "999999" }))
            .await;
        assert_eq!(first_error_code(&missing), Some("NOT_FOUND"));
    }
    let (_, body) = app
        .post(
            Some(&world.other_agent_token),
            by_id,
            json!({ "id": world.other_interaction }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // An analyst asks for customers.
    let (_, body) = app
        .post(
            Some(world.token(Role::Analyst)),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"));
    // Writes respect the scope too.
    let follow_up = "mutation($id: ID!) { recordFollowUpAssessment(interactionId: $id, answers: { satisfaction: 2 }) { id } }";
    let (_, body) = app
        .post(
            Some(world.token(Role::Agent)),
            follow_up,
            json!({ "id": world.other_interaction }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"));
    let (_, body) = app
        .post(
            Some(world.token(Role::Supervisor)),
            "mutation($a: ID!) { assignTraining(agentId: $a, courseCode: \"FCR-101\", reason: \"x\") { id } }",
            json!({ "a": world.other_agent_id }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"));
    let (_, body) = app
        .post(
            Some(world.token(Role::Supervisor)),
            "mutation { proposeResourceAllocation(input: { orgUnitCode: \"TEAM-B1\", channel: PHONE, periodStart: \"2027-01-01\", periodEnd: \"2027-01-31\", staffHoursPerWeek: 1, fte: 1, rationale: \"x\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"));
    let (_, body) = app
        .post(
            Some(&world.other_agent_token),
            "mutation($id: ID!) { completeTraining(assignmentId: $id) { id } }",
            json!({ "id": world.assignment_id }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"));
}

fn interaction_count(app: &TestApp) -> i64 {
    use bac_metrics::db::schema::interactions;
    interactions::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn record_interaction_is_idempotent_and_validated() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let input = interaction_input("call-77", Some("agent@test.example"), "TEAM-A1", "CRM-77");
    let (_, first) = app
        .post(Some(ingest), RECORD, json!({ "input": input }))
        .await;
    assert_eq!(
        first["data"]["recordInteraction"]["created"], true,
        "{first}"
    );
    let (_, retry) = app
        .post(Some(ingest), RECORD, json!({ "input": input }))
        .await;
    assert_eq!(retry["data"]["recordInteraction"]["created"], false);
    assert_eq!(
        retry["data"]["recordInteraction"]["interaction"]["id"],
        first["data"]["recordInteraction"]["interaction"]["id"]
    );
    let count = interaction_count(&app);

    let mut changed = input.clone();
    changed["handleSeconds"] = json!(301);
    let (_, body) = app
        .post(Some(ingest), RECORD, json!({ "input": changed }))
        .await;
    assert_eq!(first_error_code(&body), Some("CONFLICT"));
    // It says the content differs, not how: the caller may have no right to read the record.
    let message = first_error_message(&body);
    assert!(message.contains("different content"), "{body}");
    assert!(!message.contains("handleSeconds"), "{body}");

    let cases: Vec<(&str, Value, &str)> = vec![
        ("waitSeconds", json!(-1), "waitSeconds"),
        ("handleSeconds", json!(-5), "handleSeconds"),
        ("transfers", json!(-1), "transfers"),
        ("startedAt", json!("2099-01-01T00:00:00Z"), "startedAt"),
        ("orgUnitCode", json!("NOWHERE"), "orgUnitCode"),
        ("topicCode", json!("NO_TOPIC"), "topicCode"),
        ("agentEmail", json!("nobody@test.example"), "agentEmail"),
        ("externalId", json!(""), "externalId"),
    ];
    for (field, value, expected_field) in cases {
        let mut bad =
            interaction_input("call-bad", Some("agent@test.example"), "TEAM-A1", "CRM-78");
        bad[field] = value;
        let (_, body) = app
            .post(Some(ingest), RECORD, json!({ "input": bad }))
            .await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{field}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], expected_field,
            "{body}"
        );
    }
    let mut abandoned_email = interaction_input("call-bad", None, "TEAM-A1", "CRM-78");
    abandoned_email["channel"] = json!("EMAIL");
    abandoned_email["abandoned"] = json!(true);
    let (_, body) = app
        .post(Some(ingest), RECORD, json!({ "input": abandoned_email }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "abandoned");
    let (_, body) = app
        .post(Some(ingest), RECORD, json!({ "input": { "source": "x" } }))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(
        interaction_count(&app),
        count,
        "rejected writes change nothing"
    );
}

#[tokio::test]
async fn survey_tokens_are_single_use_and_refused_alike() {
    let app = TestApp::spawn_with(&[("SURVEY_SUBMISSIONS_PER_MINUTE", "6")]).await;
    let world = fixture::build(&app).await;
    let create = "mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token invitation { id respondedAt } } }";
    let submit = "mutation($token: String!, $answers: SurveyAnswersInput!) { submitSurveyResponse(token: $token, answers: $answers) { accepted kind } }";
    let (_, body) = app
        .post(
            Some(world.token(Role::Ingest)),
            create,
            json!({ "id": world.own_interaction }),
        )
        .await;
    let token = body["data"]["createSurveyInvitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .post(
            Some(world.token(Role::Ingest)),
            create,
            json!({ "id": world.own_interaction }),
        )
        .await;
    let expired = body["data"]["createSurveyInvitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let expired_id = body["data"]["createSurveyInvitation"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    diesel::sql_query(format!(
        "UPDATE survey_invitations SET sent_at = now() - interval '30 days', expires_at = now() - interval '1 day' WHERE id = {expired_id}"
    ))
    .execute(&mut app.connection())
    .unwrap();

    // A Likert answer out of range is refused before the token is spent (and before anything
    // else: it costs the server nothing, and counts against no limit).
    let (_, body) = app
        .post(
            None,
            submit,
            json!({ "token": token, "answers": { "satisfaction": 6 } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "satisfaction",
        "{body}"
    );
    let (_, body) = app
        .post(
            None,
            submit,
            json!({ "token": token, "answers": { "satisfaction": 4, "ease": 5 } }),
        )
        .await;
    assert_eq!(
        body["data"]["submitSurveyResponse"]["kind"], "POST_CALL",
        "{body}"
    );

    let mut refusals = Vec::new();
    for candidate in [token.as_str(), expired.as_str(), "bms_unknown"] {
        let (_, body) = app
            .post(
                None,
                submit,
                json!({ "token": candidate, "answers": { "satisfaction": 1 } }),
            )
            .await;
        refusals.push((
            first_error_code(&body).map(str::to_owned),
            first_error_message(&body).to_owned(),
        ));
    }
    assert!(
        refusals.iter().all(|refusal| refusal == &refusals[0]),
        "{refusals:?}"
    );
    assert_eq!(refusals[0].0.as_deref(), Some("NOT_FOUND"));

    // The fixture's survey, the answered one and three refusals count: one more is the sixth
    // this minute, the seventh is over the limit.
    let (_, body) = app
        .post(
            None,
            submit,
            json!({ "token": "bms_unknown", "answers": { "satisfaction": 1 } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
    let (_, body) = app
        .post(
            None,
            submit,
            json!({ "token": "bms_unknown", "answers": { "satisfaction": 1 } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("RATE_LIMITED"), "{body}");

    // The response counts as the invitation's answer.
    let (_, body) = app
        .post(
            Some(world.token(Role::Auditor)),
            "{ surveyInvitations(filter: { responded: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["surveyInvitations"]["totalCount"], 2, "{body}");
}

#[tokio::test]
async fn writes_are_audited_with_the_request_id_and_the_chain_verifies() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(world.token(Role::Admin))
        .json(&json!({ "query": "mutation { createTopic(code: \"PERMITS\", name: \"Permits\") { id } }" }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .post(
            Some(world.token(Role::Auditor)),
            "{ auditEvents(filter: { actions: [\"topic.create\"] }) { totalCount edges { node { actorRole entityType after requestId hash prevHash } } } verifyAuditChain { ok checked firstBrokenId headHash } }",
            json!({}),
        )
        .await;
    let events = body["data"]["auditEvents"]["edges"].as_array().unwrap();
    let event = &events.last().unwrap()["node"];
    assert_eq!(event["after"]["code"], "PERMITS");
    assert_eq!(event["requestId"], request_id.as_str());
    assert_eq!(event["actorRole"], "admin");
    let verification = &body["data"]["verifyAuditChain"];
    assert_eq!(verification["ok"], true);
    assert!(verification["checked"].as_i64().unwrap() > 10);
    assert_eq!(verification["headHash"].as_str().unwrap().len(), 64);
    // No PII in the audit trail: customer details and comments stay in their tables.
    let (_, body) = app
        .post(
            Some(world.token(Role::Auditor)),
            "{ auditEvents(first: 100) { edges { node { after } } } }",
            json!({}),
        )
        .await;
    let trail = body.to_string();
    assert!(
        !trail.contains("CRM-1@example.com") && !trail.contains("Call me"),
        "{trail}"
    );
}

#[tokio::test]
async fn a_full_page_costs_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest).to_owned();
    for index in 0..100 {
        let agent = if index % 2 == 0 {
            "agent@test.example"
        } else {
            "other.agent@test.example"
        };
        let unit = if index % 2 == 0 { "TEAM-A1" } else { "TEAM-B1" };
        let mut input = interaction_input(
            &format!("bulk-{index}"),
            Some(agent),
            unit,
            &format!("CRM-{}", index % 17),
        );
        input["startedAt"] = json!(format!(
            "2026-11-03T{:02}:{:02}:00Z",
            8 + index / 60,
            index % 60
        ));
        let (_, body) = app
            .post(Some(&ingest), RECORD, json!({ "input": input }))
            .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let page = "query($n: Int) { interactions(first: $n) { totalCount edges { node {
        id channel agent { email orgUnit { code } } topic { code } orgUnit { code parent { code } }
        customerKey customer { businessName } surveyResponses { satisfaction comment interaction { id } } } } } }";
    let admin = world.token(Role::Admin).to_owned();
    let statements_for = |size: i64| {
        let app = &app;
        let admin = admin.clone();
        async move {
            // Warm the pool so connection set-up is not counted.
            app.post(Some(&admin), page, json!({ "n": size })).await;
            let before = app.database.statements_executed();
            let (_, body) = app.post(Some(&admin), page, json!({ "n": size })).await;
            assert_eq!(
                body["data"]["interactions"]["edges"]
                    .as_array()
                    .unwrap()
                    .len() as i64,
                size
            );
            app.database.statements_executed() - before
        }
    };
    let for_ten = statements_for(10).await;
    let for_hundred = statements_for(100).await;
    assert_eq!(
        for_ten, for_hundred,
        "the statement count must not grow with the page"
    );
    // Session check, page, count, then one batch each for customers and responses; agents,
    // topics and org units (with their ancestors) come from the directory cache, which the
    // warming request filled: 5.
    assert_eq!(
        for_hundred, 5,
        "{for_hundred} statements for a 100-row page"
    );
    println!(
        "a 100-row interactions page with every nested field cost {for_hundred} SQL statements"
    );

    // After any change to the directory, the next page reads it again: the three batches,
    // each after reading the directory's version (8 + 3), still whatever the page size.
    diesel::sql_query("UPDATE topics SET name = name || ' '")
        .execute(&mut app.connection())
        .unwrap();
    let before = app.database.statements_executed();
    app.post(Some(&admin), page, json!({ "n": 100 })).await;
    assert_eq!(app.database.statements_executed() - before, 11);
}

/// The directory cache never shows a change late: whichever way users, org units or topics
/// change (here behind the server's back, as another server or an import would), the next
/// request shows it; and a mutation's answer shows its own change.
#[tokio::test]
async fn directory_changes_show_on_the_next_request() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    // The same interaction as a page row (read with the page) and on its own (DataLoaders).
    let page = "query($id: ID!) {
        interactions(first: 100) { edges { node { id ...Shown } } }
        interaction(id: $id) { ...Shown } }
      fragment Shown on Interaction {
        agent { displayName active orgUnit { name } } orgUnit { name parent { name } } topic { name } }";
    let variables = json!({ "id": world.own_interaction });
    let shown = |body: &Value| -> (String, String, String, String, bool) {
        let single = &body["data"]["interaction"];
        let row = body["data"]["interactions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| &edge["node"])
            .find(|node| node["id"] == json!(world.own_interaction))
            .unwrap();
        for field in ["agent", "orgUnit", "topic"] {
            assert_eq!(row[field], single[field], "{body}");
        }
        (
            single["agent"]["displayName"].as_str().unwrap().to_owned(),
            single["orgUnit"]["name"].as_str().unwrap().to_owned(),
            single["orgUnit"]["parent"]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
            single["topic"]["name"].as_str().unwrap().to_owned(),
            single["agent"]["active"].as_bool().unwrap(),
        )
    };
    // Twice, so that the second answer comes from the cache.
    app.post(Some(&admin), page, variables.clone()).await;
    let (_, body) = app.post(Some(&admin), page, variables.clone()).await;
    let (agent, unit, parent, topic, active) = shown(&body);
    assert!(active, "{body}");

    let mut connection = app.connection();
    for statement in [
        "UPDATE users SET display_name = 'Renamed Agent' WHERE email = 'agent@test.example'",
        "UPDATE org_units SET name = 'Renamed Team' WHERE code = 'TEAM-A1'",
        "UPDATE topics SET name = 'Renamed Topic' WHERE code = 'LICENSING'",
    ] {
        diesel::sql_query(statement)
            .execute(&mut connection)
            .unwrap();
        let (_, body) = app.post(Some(&admin), page, variables.clone()).await;
        let now = shown(&body);
        match statement.split_whitespace().nth(1).unwrap() {
            "users" => assert_eq!(now.0, "Renamed Agent", "{body}"),
            "org_units" => assert_eq!(now.1, "Renamed Team", "{body}"),
            _ => assert_eq!(now.3, "Renamed Topic", "{body}"),
        }
    }
    assert_ne!(agent, "Renamed Agent");
    assert_ne!(unit, "Renamed Team");
    assert_ne!(topic, "Renamed Topic");
    // A parent renamed shows through its child's ancestors too.
    diesel::sql_query(
        "UPDATE org_units SET name = 'Renamed Parent' WHERE id = (SELECT parent_id FROM org_units WHERE code = 'TEAM-A1')",
    )
    .execute(&mut connection)
    .unwrap();
    let (_, body) = app.post(Some(&admin), page, variables.clone()).await;
    assert_eq!(shown(&body).2, "Renamed Parent", "{body}");
    assert_ne!(parent, "Renamed Parent");

    // The mutation's own answer shows its change, and so does the next read.
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation($id: ID!) { deactivateUser(id: $id) { active orgUnit { name } } }",
            json!({ "id": world.agent_id }),
        )
        .await;
    assert_eq!(
        body["data"]["deactivateUser"]["active"],
        json!(false),
        "{body}"
    );
    let (_, body) = app.post(Some(&admin), page, variables).await;
    assert!(!shown(&body).4, "{body}");
}
