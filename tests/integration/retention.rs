//! Records retention: a purge erases personal fields and nothing the metrics use (every metric
//! value over HTTP is identical before and after, from the rollups and from the records), each
//! run is one audit event and the chain still verifies, legal holds keep records until they are
//! lifted, runs take turns across servers, the database allows exactly the erasures, and the
//! audit trail holds no personal data.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use bac_metrics::{
    cli::{seed_synthetic, SeedOptions},
    db::{enums::Role, schema::audit_events},
    retention::{self, RetentionRule, RunOptions, RunOutcome, RunReport},
};
use diesel::{prelude::*, sql_types::BigInt, Connection, PgConnection};
use serde_json::{json, Value};

use crate::{
    fixture,
    helpers::{first_error_code, TestApp, TEST_SECRET},
};

const BINARY: &str = env!("CARGO_BIN_EXE_bac-metrics");

/// The advisory lock a run takes (the key in `src/retention/mod.rs`).
const RUN_LOCK_KEY: i64 = 0x6261_635f_7265_746e;

const ALL_METRICS: &str = "INTERACTIONS ABANDONMENT_RATE AVERAGE_SPEED_OF_ANSWER SERVICE_LEVEL AVERAGE_HANDLE_TIME TRANSFER_RATE FIRST_CONTACT_RESOLUTION SELF_SERVICE_CONTAINMENT CSAT TRUST EFFECTIVENESS EASE EFFICIENCY TRANSPARENCY HELPFULNESS REPORTED_RESOLUTION SURVEY_RESPONSE_RATE";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(connection: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(connection)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .count
}

fn operator_run(dry_run: bool) -> RunOptions {
    RunOptions {
        dry_run,
        actor: bac_metrics::audit::Actor::operator(),
        unless_run_since: None,
    }
}

async fn run(app: &TestApp, dry_run: bool) -> RunReport {
    match retention::run(&app.database, &app.config.retention, operator_run(dry_run))
        .await
        .expect("a retention run")
    {
        RunOutcome::Completed(report) => report,
        other => panic!("the run did not complete: {other:?}"),
    }
}

fn outcome(report: &RunReport, rule: RetentionRule) -> (i64, i64) {
    let outcome = report
        .rules
        .iter()
        .find(|outcome| outcome.rule == rule)
        .unwrap();
    (outcome.affected, outcome.held)
}

/// Every metric in several groupings and granularities over `[from, to]`, as the API answers.
async fn all_metric_values(app: &TestApp, token: &str, from: &str, to: &str) -> Vec<Value> {
    let shapes = [
        "",
        "groupBy: [CHANNEL]",
        "groupBy: [ORG_UNIT]",
        "groupBy: [AGENT]",
        "groupBy: [TOPIC]",
        "granularity: MONTH, groupBy: [CHANNEL]",
        "granularity: WEEK, groupBy: [ORG_UNIT, TOPIC]",
        "granularity: DAY",
        // A threshold the rollups do not keep: answered from the records.
        "groupBy: [CHANNEL], serviceLevelThresholdSeconds: 25",
    ];
    let mut answers = Vec::new();
    for shape in shapes {
        let query = format!(
            "{{ metrics(query: {{ metrics: [{ALL_METRICS}], from: \"{from}\", to: \"{to}\", {shape} }}) {{ rows {{ periodLabel channel orgUnit {{ code }} agent {{ id }} topic {{ code }} values {{ metric value numerator denominator lower upper suppressed }} }} }} }}"
        );
        let (_, body) = app.post(Some(token), &query, json!({})).await;
        assert!(body.get("errors").is_none(), "{shape}: {body}");
        let rows = body["data"]["metrics"]["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{shape}");
        answers.push(body);
    }
    answers
}

#[tokio::test]
async fn a_purge_erases_personal_fields_and_every_metric_stays_identical() {
    let periods = [
        ("RETENTION_CUSTOMER_CONTACTS_DAYS", "45"),
        ("RETENTION_SURVEY_COMMENTS_DAYS", "45"),
        ("RETENTION_INVITATION_TOKENS_DAYS", "1"),
        ("RETENTION_SESSIONS_DAYS", "1"),
        ("RETENTION_SCHEDULE_INTERVAL", "off"),
    ];
    let app = TestApp::spawn_with(&periods).await;
    // The same database answered from the records instead of the rollups.
    let mut base_variables = periods.to_vec();
    base_variables.push(("METRICS_SOURCE", "base"));
    let base = TestApp::spawn_on(app.database_url.clone(), &base_variables).await;

    let summary = seed_synthetic(
        &app.database,
        &app.config,
        SeedOptions {
            interactions: 3_000,
            seed: 13,
            days: 120,
            until: None,
            workers: 2,
            batch_size: 1_000,
        },
    )
    .await
    .expect("seed synthetic data");
    assert!(!summary.has_problems(), "{:?}", summary.problems);
    let from = summary.first_day.to_string();
    let to = summary.last_day.to_string();
    let admin = app.token_for("admin@bac.example.gov").await;
    let ingest = app.token_for("ingest@bac.example.gov").await;
    let mut connection = app.connection();

    // Survey links: three that expired five days ago (due), one answered today (not due).
    let phone_calls: Vec<i64> = diesel::sql_query(
        "SELECT i.id AS count FROM interactions i JOIN org_units u ON u.id = i.org_unit_id \
          WHERE i.channel = 'PHONE' AND u.code = 'NORTH-PHONE' ORDER BY i.id LIMIT 4",
    )
    .load::<Count>(&mut connection)
    .unwrap()
    .into_iter()
    .map(|row| row.count)
    .collect();
    let mut tokens = Vec::new();
    for id in &phone_calls {
        let (_, body) = app
            .post(
                Some(&ingest),
                "mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token invitation { id } } }",
                json!({ "id": id.to_string() }),
            )
            .await;
        tokens.push(
            body["data"]["createSurveyInvitation"]["token"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned(),
        );
    }
    let (_, body) = app
        .post(
            None,
            "mutation($token: String!) { submitSurveyResponse(token: $token, answers: { satisfaction: 4, comment: \"Call me back on 555-0199\" }) { accepted } }",
            json!({ "token": tokens[3] }),
        )
        .await;
    assert_eq!(
        body["data"]["submitSurveyResponse"]["accepted"], true,
        "{body}"
    );
    diesel::sql_query(
        "UPDATE survey_invitations SET sent_at = now() - interval '20 days', expires_at = now() - interval '5 days' \
          WHERE token_hash IS NOT NULL AND responded_at IS NULL",
    )
    .execute(&mut connection)
    .unwrap();
    // A session that ended nine days ago, with its refresh token.
    diesel::sql_query(
        "WITH ended AS (INSERT INTO sessions (id, user_id, kind, created_at, expires_at) \
           SELECT gen_random_uuid(), id, 'login', now() - interval '10 days', now() - interval '9 days' \
             FROM users WHERE email = 'admin@bac.example.gov' RETURNING id) \
         INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
           SELECT sha256(id::text::bytea), id, now() - interval '9 days' FROM ended",
    )
    .execute(&mut connection)
    .unwrap();

    // Holds: a whole team, and one customer served elsewhere whose contacts are all old.
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation { placeLegalHold(input: { orgUnitCode: \"SOUTH-WALKIN\", reason: \"Records request 2026-88\" }) { id target active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["placeLegalHold"]["target"], "ORG_UNIT",
        "{body}"
    );
    let held_customer = count(
        &mut connection,
        "SELECT c.id AS count FROM customers c JOIN interactions i ON i.customer_id = c.id \
           JOIN org_units u ON u.id = i.org_unit_id \
          GROUP BY c.id HAVING max(i.started_at) < now() - interval '60 days' \
             AND bool_and(u.code <> 'SOUTH-WALKIN') ORDER BY c.id LIMIT 1",
    );
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation($id: ID!) { placeLegalHold(input: { customerId: $id, reason: \"Case 26-CV-0042\" }) { target customerKey } }",
            json!({ "id": held_customer.to_string() }),
        )
        .await;
    assert!(
        body["data"]["placeLegalHold"]["customerKey"]
            .as_str()
            .unwrap()
            .starts_with("cust_"),
        "{body}"
    );

    let metrics_before = all_metric_values(&app, &admin, &from, &to).await;
    let records_before = all_metric_values(&base, &admin, &from, &to).await;
    let personal_before = count(
        &mut connection,
        "SELECT count(*) FROM customers WHERE email IS NOT NULL",
    );

    // A dry run counts and changes nothing.
    let dry = run(&app, true).await;
    assert!(dry.dry_run && dry.audit_event_id.is_none());
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM customers WHERE email IS NOT NULL"
        ),
        personal_before
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM audit_events WHERE action = 'retention.run'"
        ),
        0
    );

    let report = run(&app, false).await;
    eprintln!("purge report: {}", serde_json::to_string(&report).unwrap());
    let contacts = outcome(&report, RetentionRule::CustomerContacts);
    let comments = outcome(&report, RetentionRule::SurveyComments);
    let tokens_erased = outcome(&report, RetentionRule::InvitationTokens);
    let sessions = outcome(&report, RetentionRule::Sessions);
    assert!(contacts.0 > 10 && contacts.1 > 0, "{contacts:?}");
    assert!(comments.0 > 10 && comments.1 > 0, "{comments:?}");
    assert_eq!(tokens_erased, (3, 0));
    assert_eq!(sessions, (1, 0));
    // The dry run foresaw exactly this.
    assert_eq!(
        dry.rules
            .iter()
            .map(|rule| (rule.affected, rule.held))
            .collect::<Vec<_>>(),
        report
            .rules
            .iter()
            .map(|rule| (rule.affected, rule.held))
            .collect::<Vec<_>>()
    );

    // Every metric value is identical, from the rollups and from the records.
    assert_eq!(
        all_metric_values(&app, &admin, &from, &to).await,
        metrics_before
    );
    assert_eq!(
        all_metric_values(&base, &admin, &from, &to).await,
        records_before
    );

    // What is left of the personal fields: only what a hold keeps, or what is not due yet.
    let cutoff = format!("'{}'::timestamptz", report.rules[0].cutoff.to_rfc3339());
    assert_eq!(
        count(
            &mut connection,
            &format!(
                "SELECT count(*) FROM customers c WHERE (c.business_name IS NOT NULL OR c.contact_name IS NOT NULL \
                   OR c.email IS NOT NULL OR c.phone IS NOT NULL) \
                   AND (SELECT max(started_at) FROM interactions WHERE customer_id = c.id) < {cutoff}"
            )
        ),
        contacts.1
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM customers WHERE contact_details_erased_at IS NOT NULL \
               AND business_name IS NULL AND contact_name IS NULL AND email IS NULL AND phone IS NULL"
        ),
        contacts.0
    );
    assert_eq!(
        count(
            &mut connection,
            &format!(
                "SELECT count(*) FROM customers WHERE id = {held_customer} AND email IS NOT NULL"
            )
        ),
        1,
        "the held customer keeps their details"
    );
    assert_eq!(
        count(
            &mut connection,
            &format!("SELECT count(*) FROM survey_responses WHERE comment IS NOT NULL AND submitted_at < {cutoff}")
        ),
        comments.1
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM survey_responses WHERE comment = 'Call me back on 555-0199'"
        ),
        1,
        "today's comment is not due"
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM survey_invitations WHERE token_hash IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM refresh_tokens WHERE expires_at < now() - interval '1 day'"
        ),
        0
    );
    // An expired link whose hash is gone answers like any unknown link.
    let page = app
        .client
        .get(format!("{}/s/{}", app.address, tokens[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);

    // One audit event for the run, naming each rule with its cutoff and counts; the chain holds.
    let events: Vec<(i64, Option<String>, Option<Value>)> = audit_events::table
        .filter(audit_events::action.eq("retention.run"))
        .select((
            audit_events::id,
            audit_events::actor_role,
            audit_events::after,
        ))
        .load(&mut connection)
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(Some(events[0].0), report.audit_event_id);
    assert_eq!(events[0].1.as_deref(), Some("operator"));
    assert_eq!(
        events[0].2.as_ref().unwrap()["rules"],
        serde_json::to_value(&report.rules).unwrap()
    );
    assert_eq!(
        events[0].2.as_ref().unwrap()["rules"][0]["rule"],
        "customer_contacts"
    );
    let (_, body) = app
        .post(
            Some(&admin),
            "{ verifyAuditChain { ok checked firstBrokenId } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["verifyAuditChain"]["ok"], true, "{body}");

    // A second run finds nothing more to do.
    let again = run(&app, false).await;
    assert!(
        again.rules.iter().all(|rule| rule.affected == 0),
        "{again:?}"
    );
    assert_eq!(
        outcome(&again, RetentionRule::CustomerContacts).1,
        contacts.1
    );

    // The oversight report states the rules in force and the last run.
    let today = chrono::Utc::now().date_naive();
    let (fiscal_year, quarter) = {
        use chrono::Datelike;
        let month = today.month();
        let year = if month >= 7 {
            today.year() + 1
        } else {
            today.year()
        };
        (year, (month + 5) % 12 / 3 + 1)
    };
    let (_, body) = app
        .post(
            Some(&admin),
            "query($year: Int!, $quarter: Int!) { oversightReport(fiscalYear: $year, quarter: $quarter) { retention { rules { rule periodDays } activeLegalHolds lastRun { runBy auditEventId rules { rule affected held } } } } }",
            json!({ "year": fiscal_year, "quarter": quarter }),
        )
        .await;
    let retention = &body["data"]["oversightReport"]["retention"];
    assert_eq!(
        retention["rules"],
        json!([
            { "rule": "CUSTOMER_CONTACTS", "periodDays": 45 },
            { "rule": "SURVEY_COMMENTS", "periodDays": 45 },
            { "rule": "INVITATION_TOKENS", "periodDays": 1 },
            { "rule": "SESSIONS", "periodDays": 1 },
        ]),
        "{body}"
    );
    assert_eq!(retention["activeLegalHolds"], 2);
    assert_eq!(retention["lastRun"]["runBy"], "operator");
    assert_eq!(
        retention["lastRun"]["rules"][0],
        json!({ "rule": "CUSTOMER_CONTACTS", "affected": 0, "held": contacts.1 })
    );
}

/// Old contacts for the fixture's customers, so contact details are due under a 7-day rule.
const OLD_INTERACTIONS: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome
crm,old-1,email,TEAM-A1,,CRM-OLD-1,Old One LLC,Ann Old,ann@old.example.com,+1-555-0001,LICENSING,2026-09-01T15:00:00Z,,300,0,false,resolved
crm,old-2,email,TEAM-B1,,CRM-OLD-2,Old Two LLC,Bob Old,bob@old.example.com,+1-555-0002,LICENSING,2026-09-02T15:00:00Z,,300,0,false,resolved
crm,old-3,email,TEAM-A2,,CRM-OLD-3,Old Three LLC,Cy Old,cy@old.example.com,+1-555-0003,LICENSING,2026-09-03T15:00:00Z,,300,0,false,resolved
";
const OLD_RESPONSES: &str = "source,external_id,interaction_source,interaction_external_id,kind,submitted_at,satisfaction,trust,effectiveness,ease,efficiency,transparency,helpfulness,resolved,comment
crm,old-r1,crm,old-1,follow_up,2026-09-04T15:00:00Z,4,,,,,,,,Ann says thanks
crm,old-r3,crm,old-3,follow_up,2026-09-04T15:00:00Z,2,,,,,,,,Cy was unhappy
";

async fn import(app: &TestApp, token: &str, kind: &str, body: &'static str) -> Value {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

fn details_of(connection: &mut PgConnection, customer_ref: &str) -> Option<String> {
    use bac_metrics::db::schema::customers;
    customers::table
        .filter(customers::customer_ref.eq(customer_ref))
        .select(customers::email)
        .first::<Option<String>>(connection)
        .unwrap()
}

fn audit_count(app: &TestApp) -> i64 {
    audit_events::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn legal_holds_keep_records_until_lifted_and_only_admins_place_them() {
    // Periods that end on 2026-10-01 whatever today is: the old contacts below (September) are
    // due, the fixture's (2026-11-02) and its survey (today) are not.
    let days = (chrono::Utc::now().date_naive()
        - chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
    .num_days()
    .to_string();
    let app = TestApp::spawn_with(&[
        ("RETENTION_CUSTOMER_CONTACTS_DAYS", days.as_str()),
        ("RETENTION_SURVEY_COMMENTS_DAYS", days.as_str()),
    ])
    .await;
    // The fixture holds TEAM-B1.
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin).to_owned();
    let ingest = world.token(Role::Ingest).to_owned();
    let report = import(&app, &ingest, "interactions", OLD_INTERACTIONS).await;
    assert_eq!(report["inserted"], 3, "{report}");
    let report = import(&app, &ingest, "survey-responses", OLD_RESPONSES).await;
    assert_eq!(report["inserted"], 2, "{report}");
    let mut connection = app.connection();

    // Hold the interaction old-3: its customer and its comment are kept too.
    let old_3 = count(
        &mut connection,
        "SELECT id AS count FROM interactions WHERE external_id = 'old-3'",
    );
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation($id: ID!) { placeLegalHold(input: { interactionId: $id, reason: \"PRR-2026-7\" }) { id target interactionId active placedBy { email } } }",
            json!({ "id": old_3.to_string() }),
        )
        .await;
    let hold = body["data"]["placeLegalHold"].clone();
    assert_eq!(
        hold,
        json!({ "id": hold["id"], "target": "INTERACTION", "interactionId": old_3.to_string(),
                "active": true, "placedBy": { "email": "admin@test.example" } }),
        "{body}"
    );

    let report = run(&app, false).await;
    // CRM-OLD-1 is erased; CRM-OLD-2 is in the held TEAM-B1; CRM-OLD-3 behind its interaction.
    assert_eq!(outcome(&report, RetentionRule::CustomerContacts), (1, 2));
    assert_eq!(outcome(&report, RetentionRule::SurveyComments), (1, 1));
    assert_eq!(details_of(&mut connection, "CRM-OLD-1"), None);
    assert_eq!(
        details_of(&mut connection, "CRM-OLD-2").as_deref(),
        Some("bob@old.example.com")
    );
    assert_eq!(
        details_of(&mut connection, "CRM-OLD-3").as_deref(),
        Some("cy@old.example.com")
    );
    // The erasure shows as such to the PII roles.
    let (_, body) = app
        .post(
            Some(&admin),
            "{ customers(first: 100) { edges { node { customerRef businessName email contactDetailsErasedAt } } } }",
            json!({}),
        )
        .await;
    let erased = body["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["customerRef"] == "CRM-OLD-1")
        .unwrap_or_else(|| panic!("{body}"))["node"]
        .clone();
    assert_eq!(erased["email"], Value::Null);
    assert!(erased["contactDetailsErasedAt"].is_string(), "{erased}");

    // Auditors see the holds (with pseudonyms, not contact details); only admins place them.
    let (_, body) = app
        .post(
            Some(world.token(Role::Auditor)),
            "{ legalHolds(active: true) { totalCount edges { node { target reason orgUnit { code } interactionId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["legalHolds"]["totalCount"], 2, "{body}");
    assert_eq!(
        body["data"]["legalHolds"]["edges"][0]["node"],
        json!({ "target": "ORG_UNIT", "reason": "Matter 2026-014", "orgUnit": { "code": "TEAM-B1" }, "interactionId": null })
    );

    // Refusals change nothing.
    let before = audit_count(&app);
    for (input, code, field) in [
        (json!({ "reason": "x" }), "BAD_USER_INPUT", None),
        (
            json!({ "orgUnitCode": "TEAM-A1", "interactionId": old_3.to_string(), "reason": "x" }),
            "BAD_USER_INPUT",
            None,
        ),
        (
            json!({ "orgUnitCode": "TEAM-A1", "reason": "   " }),
            "BAD_USER_INPUT",
            Some("reason"),
        ),
        (
            json!({ "orgUnitCode": "NOWHERE", "reason": "x" }),
            "NOT_FOUND",
            None,
        ),
        (
            json!({ "customerId": "999999", "reason": "x" }),
            "NOT_FOUND",
            None,
        ),
    ] {
        let (_, body) = app
            .post(
                Some(&admin),
                "mutation($input: PlaceLegalHoldInput!) { placeLegalHold(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some(code), "{input}: {body}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], field);
        }
    }
    assert_eq!(audit_count(&app), before);

    // Lifting both holds lets the next run erase what they kept; a hold is lifted once.
    for id in [hold["id"].as_str().unwrap(), world.legal_hold_id.as_str()] {
        let (_, body) = app
            .post(
                Some(&admin),
                "mutation($id: ID!) { liftLegalHold(id: $id, reason: \"Matter closed\") { active liftedAt liftReason liftedBy { email } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["liftLegalHold"]["active"], false, "{body}");
        assert_eq!(
            body["data"]["liftLegalHold"]["liftedBy"]["email"],
            "admin@test.example"
        );
    }
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation($id: ID!) { liftLegalHold(id: $id, reason: \"again\") { active } }",
            json!({ "id": world.legal_hold_id }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("CONFLICT"), "{body}");
    let (_, body) = app
        .post(
            Some(&admin),
            "mutation { liftLegalHold(id: \"424242\", reason: \"x\") { active } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");

    let report = run(&app, false).await;
    assert_eq!(outcome(&report, RetentionRule::CustomerContacts), (2, 0));
    assert_eq!(outcome(&report, RetentionRule::SurveyComments), (1, 0));
    assert_eq!(details_of(&mut connection, "CRM-OLD-3"), None);

    // Placing and lifting are audited by id, without the reasons (they may name people).
    let events: Vec<(String, Option<Value>)> = audit_events::table
        .filter(audit_events::action.like("legal_hold.%"))
        .order(audit_events::id.asc())
        .select((audit_events::action, audit_events::after))
        .load(&mut connection)
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|(action, _)| action.as_str())
            .collect::<Vec<_>>(),
        [
            "legal_hold.place",
            "legal_hold.place",
            "legal_hold.lift",
            "legal_hold.lift"
        ]
    );
    assert_eq!(
        events[1].1,
        Some(json!({ "org_unit_id": null, "customer_id": null, "interaction_id": old_3 }))
    );
    let trail = serde_json::to_string(&events).unwrap();
    assert!(
        !trail.contains("PRR") && !trail.contains("Matter"),
        "{trail}"
    );

    // A file imported again after its comments were erased is the same record: unchanged,
    // not a conflict, and the comment is not written back.
    let report = import(&app, &ingest, "survey-responses", OLD_RESPONSES).await;
    assert_eq!(
        (report["unchanged"].clone(), report["conflicts"].clone()),
        (json!(2), json!(0)),
        "{report}"
    );
    assert_eq!(
        count(
            &mut connection,
            "SELECT count(*) FROM survey_responses WHERE external_id LIKE 'old-r%' AND comment IS NULL AND comment_erased_at IS NOT NULL"
        ),
        2
    );
}

#[tokio::test]
async fn runs_take_turns_through_the_advisory_lock_and_the_schedule() {
    let app = TestApp::spawn_with(&[("RETENTION_SCHEDULE_INTERVAL", "off")]).await;
    app.seed_org().await;

    // Another process holds the lock: this run does nothing, not even an audit event.
    let mut other = PgConnection::establish(&app.database_url).unwrap();
    diesel::sql_query(format!("SELECT pg_advisory_lock({RUN_LOCK_KEY})"))
        .execute(&mut other)
        .unwrap();
    let outcome = retention::run(&app.database, &app.config.retention, operator_run(false))
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::AnotherRunInProgress);
    // The command says so and exits 3.
    let output = Command::new(BINARY)
        .arg("retention")
        .env("DATABASE_URL", &app.database_url)
        .env(
            "JWT_SECRET",
            String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("another retention run is in progress")
    );
    assert_eq!(audit_count(&app), 0);
    diesel::sql_query(format!("SELECT pg_advisory_unlock({RUN_LOCK_KEY})"))
        .execute(&mut other)
        .unwrap();

    // The command: a dry run reports without an event, a run reports with one.
    let command = |dry_run: bool| {
        let mut command = Command::new(BINARY);
        command
            .arg("retention")
            .env("DATABASE_URL", &app.database_url)
            .env(
                "JWT_SECRET",
                String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        if dry_run {
            command.arg("--dry-run");
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let dry = command(true);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["audit_event_id"], Value::Null);
    assert_eq!(
        dry["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| (
                rule["rule"].as_str().unwrap(),
                rule["period_days"].as_u64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("customer_contacts", 1095),
            ("survey_comments", 1095),
            ("invitation_tokens", 30),
            ("sessions", 30)
        ]
    );
    assert_eq!(audit_count(&app), 0);
    let ran = command(false);
    assert!(ran["audit_event_id"].is_i64(), "{ran}");
    assert_eq!(audit_count(&app), 1);

    // Two servers on one database with a two-second schedule take turns: one run per interval
    // among them, never two within one.
    let first = TestApp::spawn_on(
        app.database_url.clone(),
        &[("RETENTION_SCHEDULE_INTERVAL", "2s")],
    )
    .await;
    let second = TestApp::spawn_on(
        app.database_url.clone(),
        &[("RETENTION_SCHEDULE_INTERVAL", "2s")],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(9)).await;
    let runs: Vec<(chrono::DateTime<chrono::Utc>, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("retention.run"))
        .order(audit_events::id.asc())
        .select((audit_events::occurred_at, audit_events::actor_role))
        .load(&mut app.connection())
        .unwrap();
    drop((first, second));
    let scheduled: Vec<_> = runs
        .iter()
        .filter(|(_, role)| role.as_deref() == Some("scheduler"))
        .collect();
    assert!(
        (2..=4).contains(&scheduled.len()),
        "runs in nine seconds: {runs:?}"
    );
    for pair in runs.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= chrono::Duration::milliseconds(1_990), "{runs:?}");
    }
}

#[tokio::test]
async fn the_database_allows_erasing_personal_fields_and_nothing_else() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let mut connection = app.connection();
    let refused = |connection: &mut PgConnection, sql: &str| {
        let result = connection.transaction::<_, diesel::result::Error, _>(|connection| {
            diesel::sql_query(sql).execute(connection)?;
            Ok(())
        });
        assert!(result.is_err(), "{sql} should be refused");
    };
    let allowed = |connection: &mut PgConnection, sql: &str| {
        diesel::sql_query(sql)
            .execute(connection)
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    };
    let response = "(SELECT id FROM survey_responses WHERE comment IS NOT NULL LIMIT 1)";
    refused(
        &mut connection,
        &format!("UPDATE survey_responses SET comment = 'rewritten' WHERE id = {response}"),
    );
    refused(
        &mut connection,
        &format!("UPDATE survey_responses SET satisfaction = 1 WHERE id = {response}"),
    );
    refused(
        &mut connection,
        &format!("UPDATE survey_responses SET submitted_at = now() - interval '1 day' WHERE id = {response}"),
    );
    refused(
        &mut connection,
        "UPDATE customers SET customer_ref = 'CRM-NEW' WHERE customer_ref = 'CRM-1'",
    );
    refused(
        &mut connection,
        "UPDATE interactions SET started_at = now() WHERE external_id = 'call-1'",
    );
    allowed(
        &mut connection,
        &format!(
            "UPDATE survey_responses SET comment = NULL, comment_erased_at = now() WHERE id = {response}"
        ),
    );
    refused(
        &mut connection,
        "UPDATE survey_responses SET comment_erased_at = NULL WHERE comment_erased_at IS NOT NULL",
    );
    allowed(
        &mut connection,
        "UPDATE customers SET business_name = NULL, contact_name = NULL, email = NULL, phone = NULL, \
           contact_details_erased_at = now() WHERE customer_ref = 'CRM-1'",
    );
    allowed(
        &mut connection,
        "UPDATE survey_invitations SET token_hash = NULL, token_erased_at = now() WHERE token_hash IS NOT NULL",
    );
    // Holds are never deleted and change only by being lifted, once.
    let hold = &world.legal_hold_id;
    refused(
        &mut connection,
        &format!("DELETE FROM legal_holds WHERE id = {hold}"),
    );
    refused(
        &mut connection,
        &format!("UPDATE legal_holds SET reason = 'other' WHERE id = {hold}"),
    );
    refused(
        &mut connection,
        &format!("UPDATE legal_holds SET lifted_at = now() WHERE id = {hold}"),
    );
}

#[tokio::test]
async fn the_audit_trail_holds_no_personal_data() {
    let app = TestApp::spawn_with(&[
        ("RETENTION_CUSTOMER_CONTACTS_DAYS", "1"),
        ("RETENTION_SURVEY_COMMENTS_DAYS", "1"),
    ])
    .await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest).to_owned();
    import(&app, &ingest, "interactions", OLD_INTERACTIONS).await;
    import(&app, &ingest, "survey-responses", OLD_RESPONSES).await;
    // Failed sign-ins with addresses that are a customer's and nobody's.
    for email in ["ann@old.example.com", "Pat.Owner@Example.com"] {
        let (_, body) = app.login(email, "not the password").await;
        assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    }
    run(&app, false).await;

    let trail: Vec<(String, Option<Value>, Option<Value>)> = audit_events::table
        .select((
            audit_events::action,
            audit_events::before,
            audit_events::after,
        ))
        .load(&mut app.connection())
        .unwrap();
    let text = serde_json::to_string(&trail).unwrap().to_lowercase();
    // The fixture's customers, the imported ones, their comments, the addresses typed.
    for personal in [
        "pat owner",
        "business crm-1",
        "crm-1@example.com",
        "555-0100",
        "call me at",
        "ann old",
        "ann@old.example.com",
        "old one llc",
        "ann says thanks",
        "pat.owner@example.com",
    ] {
        assert!(
            !text.contains(personal),
            "the audit trail holds `{personal}`"
        );
    }
    // A failed sign-in naming no account leaves no event at all (it is counted and summarised);
    // a real account's names the account by id and a reason, never the address typed.
    let failures: Vec<&Option<Value>> = trail
        .iter()
        .filter(|(action, _, _)| action == "auth.login_failed")
        .map(|(_, _, after)| after)
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        app.auth
            .refusals()
            .unknown_accounts_total
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    app.login("agent@test.example", "still not").await;
    let (entity, after): (Option<String>, Option<Value>) = audit_events::table
        .filter(audit_events::action.eq("auth.login_failed"))
        .order(audit_events::id.desc())
        .select((audit_events::entity_id, audit_events::after))
        .first(&mut app.connection())
        .unwrap();
    assert!(entity.is_some());
    assert_eq!(
        after.unwrap(),
        serde_json::json!({ "reason": "wrong_password" })
    );
}
