//! Programme writes under concurrency and hostile input: training completions, course codes,
//! allocation decisions and standard revisions raced deterministically (a test connection holds
//! the contended lock until both requests are queued behind it), bounded text, and scope.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use bac_metrics::db::{enums::Role, schema::audit_events};
use chrono::{DateTime, Utc};
use diesel::{dsl::sql, pg::PgConnection, prelude::*, sql_query, sql_types::BigInt};
use serde_json::{json, Value};

use crate::{
    fixture::{self, World},
    helpers::{first_error_code, first_error_message, TestApp},
};

const COMPLETE: &str =
    "mutation($id: ID!) { completeTraining(assignmentId: $id) { id completedAt } }";
const ASSIGN: &str = "mutation($agent: ID!, $reason: String) { assignTraining(agentId: $agent, courseCode: \"FCR-101\", reason: $reason) { id } }";
const CREATE_COURSE: &str = "mutation($code: String!, $title: String!, $description: String) { createTrainingCourse(code: $code, title: $title, description: $description) { id code } }";
const PROPOSE: &str = "mutation($input: ResourceAllocationInput!) { proposeResourceAllocation(input: $input) { id status } }";
const DECIDE: &str = "mutation($id: ID!, $approve: Boolean!, $note: String) { decideResourceAllocation(id: $id, approve: $approve, note: $note) { status decisionNote } }";
const SET_STANDARD: &str =
    "mutation($input: ServiceStandardInput!) { setServiceStandard(input: $input) { id target } }";

/// Text of `length` characters.
fn long_text(length: usize) -> String {
    "x".repeat(length)
}

/// A proposal for TEAM-A1 with `changes` applied.
fn proposal(changes: Value) -> Value {
    let mut input = json!({ "orgUnitCode": "TEAM-A1", "channel": "CHAT", "periodStart": "2027-01-01",
                            "periodEnd": "2027-03-31", "staffHoursPerWeek": 40, "fte": 1,
                            "budgetCents": 5000, "rationale": "Chat queue growth" });
    if let Value::Object(changes) = changes {
        for (key, value) in changes {
            input[key] = value;
        }
    }
    json!({ "input": input })
}

/// The audit events of `action` on `entity_id`, oldest first: `(before, after)`.
fn audit_events_of(
    app: &TestApp,
    action: &str,
    entity_id: &str,
) -> Vec<(Option<Value>, Option<Value>)> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .filter(audit_events::entity_id.eq(entity_id))
        .order(audit_events::id)
        .select((audit_events::before, audit_events::after))
        .load(&mut app.connection())
        .unwrap()
}

fn audit_count(app: &TestApp) -> i64 {
    audit_events::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

/// How many server connections of this test's database wait for a lock.
fn lock_waiters(observer: &mut PgConnection) -> i64 {
    diesel::select(sql::<BigInt>(
        "(SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
          WHERE NOT l.granted AND a.datname = current_database())",
    ))
    .get_result(observer)
    .unwrap()
}

/// Runs `requests` while a test connection holds a lock taken by `lock_sql` in an open
/// transaction, and releases it only once `waiters` connections of this database are queued
/// for a lock: the requests then certainly overlap at the contended statement, so a race the
/// code leaves open is exercised every time rather than by chance.
async fn while_locked<F: Future>(
    app: &TestApp,
    lock_sql: String,
    waiters: i64,
    requests: F,
) -> F::Output {
    let url = app.database_url.clone();
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let holder = tokio::task::spawn_blocking(move || {
        let mut holder = PgConnection::establish(&url).unwrap();
        let mut observer = PgConnection::establish(&url).unwrap();
        holder
            .transaction::<_, diesel::result::Error, _>(|holder| {
                sql_query(lock_sql).execute(holder)?;
                locked.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(20);
                while lock_waiters(&mut observer) < waiters {
                    assert!(
                        Instant::now() < deadline,
                        "the requests never queued behind the held lock"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(())
            })
            .unwrap();
    });
    is_locked.await.unwrap();
    let output = requests.await;
    holder.await.expect("the lock holder finished");
    output
}

fn completed_at(body: &Value) -> DateTime<Utc> {
    body["data"]["completeTraining"]["completedAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no completion time: {body}"))
        .parse()
        .unwrap()
}

/// Issue 11: two concurrent completions of one assignment (the agent's own twice, and
/// the agent's with an admin's) write one completion time and one `training.complete` event;
/// the second caller gets the first one's result.
#[tokio::test]
async fn concurrent_completions_write_one_time_and_one_audit_event() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let agent = world.token(Role::Agent);
    let admin = world.token(Role::Admin);
    let mut assignments = vec![world.assignment_id.clone()];
    for _ in 0..2 {
        let (_, body) = app
            .post(
                Some(admin),
                ASSIGN,
                json!({ "agent": world.agent_id, "reason": "Refresher" }),
            )
            .await;
        assignments.push(
            body["data"]["assignTraining"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned(),
        );
    }
    for (assignment, second_caller) in assignments.iter().zip([agent, admin, agent]) {
        let variables = json!({ "id": assignment });
        let (first, second) = while_locked(
            &app,
            format!("SELECT id FROM training_assignments WHERE id = {assignment} FOR UPDATE"),
            2,
            async {
                tokio::join!(
                    app.post(Some(agent), COMPLETE, variables.clone()),
                    app.post(Some(second_caller), COMPLETE, variables.clone()),
                )
            },
        )
        .await;
        let (first, second) = (first.1, second.1);
        assert!(first.get("errors").is_none(), "{first}");
        assert!(second.get("errors").is_none(), "{second}");
        assert_eq!(
            completed_at(&first),
            completed_at(&second),
            "both callers see the one completion time"
        );
        let events = audit_events_of(&app, "training.complete", assignment);
        assert_eq!(events.len(), 1, "one completion, one event: {events:?}");
        let recorded: DateTime<Utc> = events[0].1.as_ref().unwrap()["completed_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(recorded, completed_at(&first));
        // A later call changes nothing either.
        let (_, again) = app.post(Some(agent), COMPLETE, variables.clone()).await;
        assert_eq!(completed_at(&again), completed_at(&first));
        assert_eq!(
            audit_events_of(&app, "training.complete", assignment).len(),
            1
        );
    }
}

/// Issue 11: two concurrent courses with one code are one course and one `CONFLICT` — never
/// `INTERNAL` from the unique index.
#[tokio::test]
async fn concurrent_duplicate_course_codes_are_one_course_and_one_conflict() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let variables = json!({ "code": "RACE-1", "title": "Racing" });
    let (first, second) = while_locked(
        &app,
        "LOCK TABLE training_courses IN SHARE ROW EXCLUSIVE MODE".to_owned(),
        2,
        async {
            tokio::join!(
                app.post(Some(admin), CREATE_COURSE, variables.clone()),
                app.post(Some(admin), CREATE_COURSE, variables.clone()),
            )
        },
    )
    .await;
    let bodies = [first.1, second.1];
    let created = bodies
        .iter()
        .filter(|body| body.get("errors").is_none())
        .count();
    assert_eq!(created, 1, "{bodies:?}");
    let refused = bodies
        .iter()
        .find(|body| body.get("errors").is_some())
        .unwrap();
    assert_eq!(first_error_code(refused), Some("CONFLICT"), "{refused}");
    assert_eq!(
        first_error_message(refused),
        "course `RACE-1` already exists"
    );
    let courses: i64 = bac_metrics::db::schema::training_courses::table
        .filter(bac_metrics::db::schema::training_courses::code.eq("RACE-1"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(courses, 1);
    let events: i64 = audit_events::table
        .filter(audit_events::action.eq("training_course.create"))
        .filter(sql::<diesel::sql_types::Bool>("after->>'code' = 'RACE-1'"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(events, 1);
    // Sequentially too.
    let (_, again) = app.post(Some(admin), CREATE_COURSE, variables).await;
    assert_eq!(first_error_code(&again), Some("CONFLICT"), "{again}");
}

/// Issue 11: concurrent decisions on one proposal — one wins, the other is `CONFLICT`; one
/// `allocation.decide` event, and the stored decision is the winner's.
#[tokio::test]
async fn concurrent_decisions_on_one_allocation_are_one_decision_and_one_conflict() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let id = &world.allocation_id;
    let (approve, reject) = while_locked(
        &app,
        format!("SELECT id FROM resource_allocations WHERE id = {id} FOR UPDATE"),
        2,
        async {
            tokio::join!(
                app.post(
                    Some(admin),
                    DECIDE,
                    json!({ "id": id, "approve": true, "note": "Funded" })
                ),
                app.post(
                    Some(admin),
                    DECIDE,
                    json!({ "id": id, "approve": false, "note": "No budget" })
                ),
            )
        },
    )
    .await;
    let (approve, reject) = (approve.1, reject.1);
    let (winner, loser, status) = if approve.get("errors").is_none() {
        (approve, reject, "APPROVED")
    } else {
        (reject, approve, "REJECTED")
    };
    assert_eq!(
        winner["data"]["decideResourceAllocation"]["status"], status,
        "{winner}"
    );
    assert_eq!(first_error_code(&loser), Some("CONFLICT"), "{loser}");
    assert_eq!(
        first_error_message(&loser),
        format!("allocation {id} was already {}", status.to_lowercase())
    );
    let events = audit_events_of(&app, "allocation.decide", id);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, Some(json!({ "status": "PROPOSED" })));
    assert_eq!(events[0].1.as_ref().unwrap()["status"], status);
    let (_, listed) = app
        .post(
            Some(admin),
            "{ resourceAllocations(filter: { orgUnitCodes: [\"TEAM-A1\"] }) { edges { node { id status decisionNote } } } }",
            json!({}),
        )
        .await;
    let node = &listed["data"]["resourceAllocations"]["edges"][0]["node"];
    assert_eq!(node["status"], status, "{listed}");
    assert_eq!(
        node["decisionNote"],
        winner["data"]["decideResourceAllocation"]["decisionNote"]
    );
}

/// Issue 11: a revision's audit event shows the standard as it really was before it: two
/// concurrent revisions are applied one after the other, and the second event's `before` is
/// the first one's `after`. An unknown id is `NOT_FOUND` and writes nothing.
#[tokio::test]
async fn concurrent_revisions_of_a_standard_each_record_the_true_before() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let (_, body) = app
        .post(
            Some(admin),
            SET_STANDARD,
            json!({ "input": { "metric": "CSAT", "comparator": "AT_LEAST", "target": 0.8, "effectiveFrom": "2026-01-01" } }),
        )
        .await;
    let id = body["data"]["setServiceStandard"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let revision = |target: f64| json!({ "input": { "id": id, "metric": "CSAT", "comparator": "AT_LEAST", "target": target, "effectiveFrom": "2026-01-01" } });
    let (first, second) = while_locked(
        &app,
        format!("SELECT id FROM service_standards WHERE id = {id} FOR UPDATE"),
        2,
        async {
            tokio::join!(
                app.post(Some(admin), SET_STANDARD, revision(0.85)),
                app.post(Some(admin), SET_STANDARD, revision(0.9)),
            )
        },
    )
    .await;
    assert!(first.1.get("errors").is_none(), "{}", first.1);
    assert!(second.1.get("errors").is_none(), "{}", second.1);
    let events = audit_events_of(&app, "service_standard.update", &id);
    assert_eq!(events.len(), 2, "{events:?}");
    // The trail keeps numbers as canonical text.
    let target = |image: &Option<Value>| -> f64 {
        image.as_ref().unwrap()["target"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("no target: {events:?}"))
    };
    assert_eq!(
        target(&events[0].0),
        0.8,
        "the first revision starts from 0.8"
    );
    assert_eq!(
        target(&events[1].0),
        target(&events[0].1),
        "the second revision starts from the first one's result: {events:?}"
    );

    let before = audit_count(&app);
    let (_, body) = app
        .post(
            Some(admin),
            SET_STANDARD,
            json!({ "input": { "id": "999999999", "metric": "CSAT", "comparator": "AT_LEAST", "target": 0.5, "effectiveFrom": "2026-01-01" } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
    assert_eq!(first_error_message(&body), "no service standard 999999999");
    assert_eq!(audit_count(&app), before);
}

/// Issue 11: every free text of the programme writes is bounded (5,000 characters is refused
/// naming the field), numbers are bounded, and a NUL is refused at the GraphQL boundary before
/// any resolver runs. Nothing is written for a refused input.
#[tokio::test]
async fn oversized_text_and_numbers_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let supervisor = world.token(Role::Supervisor);
    let huge = long_text(5_000);
    let before = audit_count(&app);
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "rationale": huge })),
            "rationale",
        ),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "rationale": "   " })),
            "rationale",
        ),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "staffHoursPerWeek": 1e12 })),
            "staffHoursPerWeek",
        ),
        (supervisor, PROPOSE, proposal(json!({ "fte": -1 })), "fte"),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "budgetCents": -5 })),
            "budgetCents",
        ),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "periodStart": "1999-12-01", "periodEnd": "1999-12-31" })),
            "periodStart",
        ),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "periodEnd": "2026-12-31" })),
            "periodEnd",
        ),
        (
            supervisor,
            PROPOSE,
            proposal(json!({ "orgUnitCode": "team a1" })),
            "orgUnitCode",
        ),
        (
            supervisor,
            ASSIGN,
            json!({ "agent": world.agent_id, "reason": huge }),
            "reason",
        ),
        (
            admin,
            CREATE_COURSE,
            json!({ "code": "LONG-1", "title": "Long", "description": huge }),
            "description",
        ),
        (
            admin,
            CREATE_COURSE,
            json!({ "code": "LONG-2", "title": long_text(201) }),
            "title",
        ),
        (
            admin,
            CREATE_COURSE,
            json!({ "code": "LONG-3", "title": "Two\nlines" }),
            "title",
        ),
        (
            admin,
            CREATE_COURSE,
            json!({ "code": "lower-case", "title": "Code" }),
            "code",
        ),
        (
            admin,
            DECIDE,
            json!({ "id": world.allocation_id, "approve": true, "note": huge }),
            "note",
        ),
        (
            admin,
            SET_STANDARD,
            json!({ "input": { "metric": "CSAT", "comparator": "AT_LEAST", "target": 0.8, "effectiveFrom": "2026-01-01", "description": huge } }),
            "description",
        ),
        (
            admin,
            SET_STANDARD,
            json!({ "input": { "metric": "SERVICE_LEVEL", "comparator": "AT_LEAST", "target": 0.8, "effectiveFrom": "2026-01-01", "thresholdSeconds": 100000 } }),
            "thresholdSeconds",
        ),
        (
            admin,
            SET_STANDARD,
            json!({ "input": { "metric": "CSAT", "comparator": "AT_LEAST", "target": 1.5, "effectiveFrom": "2026-01-01" } }),
            "target",
        ),
        (
            admin,
            SET_STANDARD,
            json!({ "input": { "metric": "CSAT", "comparator": "AT_LEAST", "target": 0.8, "effectiveFrom": "2026-01-01", "orgUnitCode": "NOWHERE" } }),
            "orgUnitCode",
        ),
    ];
    for (token, query, variables, field) in cases {
        let (_, body) = app.post(Some(token), query, variables).await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{field}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{field}: {body}"
        );
        // A hostile value is never echoed back whole.
        assert!(first_error_message(&body).len() < 200, "{body}");
    }
    let (_, body) = app
        .post(
            Some(supervisor),
            PROPOSE,
            proposal(json!({ "rationale": long_text(5_000) })),
        )
        .await;
    assert!(
        first_error_message(&body).contains("at most 2000"),
        "the limit is stated: {body}"
    );
    // NUL: refused by the GraphQL boundary, naming the argument's path.
    let (_, body) = app
        .post(
            Some(supervisor),
            PROPOSE,
            proposal(json!({ "rationale": "before\u{0}after" })),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "proposeResourceAllocation.input.rationale"
    );
    assert_eq!(audit_count(&app), before, "nothing refused was written");
    // At the limits, it is accepted.
    let (_, body) = app
        .post(
            Some(supervisor),
            PROPOSE,
            proposal(json!({ "rationale": long_text(2_000) })),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// `message` with `id` written as `<id>`, to compare the answers about two ids.
fn without_id(body: &Value, id: &str) -> String {
    first_error_message(body).replace(id, "<id>")
}

/// Issue 11 and the role matrix: an agent or supervisor learns nothing of an assignment, an assignee
/// or an allocation outside their scope — the answer is the one a nonexistent id gets.
#[tokio::test]
async fn objects_outside_the_scope_are_answered_like_missing_ones() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let missing = "999999999";
    // The other agent completes the agent's assignment.
    let other = world.other_agent_token.as_str();
    let (_, outside) = app
        .post(Some(other), COMPLETE, json!({ "id": world.assignment_id }))
        .await;
    let (_, nowhere) = app
        .post(Some(other), COMPLETE, json!({ "id": missing }))
        .await;
    assert_eq!(first_error_code(&outside), Some("NOT_FOUND"), "{outside}");
    assert_eq!(first_error_code(&nowhere), Some("NOT_FOUND"), "{nowhere}");
    assert_eq!(
        without_id(&outside, &world.assignment_id),
        without_id(&nowhere, missing)
    );
    assert!(completed_at_in_database(&app, &world.assignment_id).is_none());
    // The OFFICE-A supervisor assigns training to the TEAM-B1 agent.
    let supervisor = world.token(Role::Supervisor);
    let (_, outside) = app
        .post(
            Some(supervisor),
            ASSIGN,
            json!({ "agent": world.other_agent_id, "reason": "Probe" }),
        )
        .await;
    let (_, nowhere) = app
        .post(
            Some(supervisor),
            ASSIGN,
            json!({ "agent": missing, "reason": "Probe" }),
        )
        .await;
    assert_eq!(first_error_code(&outside), Some("NOT_FOUND"), "{outside}");
    assert_eq!(
        without_id(&outside, &world.other_agent_id),
        without_id(&nowhere, missing)
    );
    // Allocations: only an admin decides, so a supervisor's answer is the same whether the
    // allocation exists in scope, out of scope, or not at all.
    let other_allocation = propose_for_team_b1(&app, &world).await;
    let mut answers = Vec::new();
    for id in [world.allocation_id.as_str(), &other_allocation, missing] {
        let (_, body) = app
            .post(
                Some(supervisor),
                DECIDE,
                json!({ "id": id, "approve": true }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");
        answers.push(without_id(&body, id));
    }
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    // The admin: an unknown allocation is NOT_FOUND.
    let (_, body) = app
        .post(
            Some(world.token(Role::Admin)),
            DECIDE,
            json!({ "id": missing, "approve": true }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"), "{body}");
    assert_eq!(
        first_error_message(&body),
        format!("no resource allocation {missing}")
    );
}

fn completed_at_in_database(app: &TestApp, id: &str) -> Option<DateTime<Utc>> {
    use bac_metrics::db::schema::training_assignments;
    training_assignments::table
        .find(id.parse::<i64>().unwrap())
        .select(training_assignments::completed_at)
        .first(&mut app.connection())
        .unwrap()
}

/// An allocation for TEAM-B1, proposed by the admin (outside the OFFICE-A supervisor's scope).
async fn propose_for_team_b1(app: &TestApp, world: &World) -> String {
    let (_, body) = app
        .post(
            Some(world.token(Role::Admin)),
            PROPOSE,
            proposal(json!({ "orgUnitCode": "TEAM-B1" })),
        )
        .await;
    body["data"]["proposeResourceAllocation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// The domain functions confine themselves to the caller's scope, whoever calls them: a
/// decision by a principal who cannot see the allocation (a supervisor of another office, an
/// agent) is `NOT_FOUND` in the words a nonexistent id gets, and changes nothing; the same
/// decision within scope is applied. (Through the API only an admin decides, so this is the
/// second line of defence the role matrix relies on.)
#[tokio::test]
async fn domain_decisions_are_confined_to_the_callers_scope() {
    use bac_metrics::{
        auth::Principal,
        db::schema::{org_units, resource_allocations},
        error::AppError,
        records::allocations::{self, AllocationDecision},
    };
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let unit = |code: &str| -> i64 {
        org_units::table
            .filter(org_units::code.eq(code))
            .select(org_units::id)
            .first(&mut app.connection())
            .unwrap()
    };
    let principal = |user_id: i64, role: Role, org_unit: &str| Principal {
        user_id,
        role,
        org_unit_id: unit(org_unit),
        session_id: uuid::Uuid::nil(),
        write_floor: 0,
        directory_version: 0,
    };
    let office_b = app
        .create_user(
            "supervisor.b@test.example",
            Role::Supervisor,
            "OFFICE-B",
            true,
        )
        .await;
    let office_a = app
        .create_user(
            "supervisor.a2@test.example",
            Role::Supervisor,
            "OFFICE-A",
            true,
        )
        .await;
    let agent = app
        .create_user("agent.a2@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    let id: i64 = world.allocation_id.parse().unwrap();
    let missing = 999_999_999;
    let decide = |principal: Principal, id: i64| {
        let database = app.database.clone();
        async move {
            allocations::decide(
                &database,
                &principal,
                id,
                AllocationDecision::parse(true, Some("Scope test")).unwrap(),
                None,
            )
            .await
        }
    };
    let not_found = |result: Result<_, AppError>, id: i64| match result {
        Err(AppError::NotFound(message)) => message.replace(&id.to_string(), "<id>"),
        other => panic!("expected NOT_FOUND, got {other:?}"),
    };
    let nowhere = not_found(
        decide(principal(office_b, Role::Supervisor, "OFFICE-B"), missing).await,
        missing,
    );
    for outsider in [
        principal(office_b, Role::Supervisor, "OFFICE-B"),
        principal(agent, Role::Agent, "TEAM-A1"),
    ] {
        let answer = not_found(decide(outsider, id).await, id);
        assert_eq!(answer, nowhere);
    }
    let status: String = resource_allocations::table
        .find(id)
        .select(resource_allocations::status)
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(status, "proposed", "nothing was decided by the outsiders");
    assert!(audit_events_of(&app, "allocation.decide", &world.allocation_id).is_empty());
    let decided = decide(principal(office_a, Role::Supervisor, "OFFICE-A"), id)
        .await
        .expect("within the subtree");
    assert_eq!(decided.decision_note.as_deref(), Some("Scope test"));
}
