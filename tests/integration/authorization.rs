//! Deny by default: every role (and no token) against every root field and mutation, plus the
//! connection behaviour of the lists that exist so far.

use std::collections::BTreeSet;

use bac_metrics::db::enums::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp, PASSWORD};

use bac_metrics::db::schema::audit_events;
use diesel::prelude::*;

use crate::fixture::{self, World};

const EVERYONE: &[Role] = &[
    Role::Ingest,
    Role::Agent,
    Role::Supervisor,
    Role::Analyst,
    Role::Auditor,
    Role::Admin,
];
const READERS: &[Role] = &[
    Role::Agent,
    Role::Supervisor,
    Role::Analyst,
    Role::Auditor,
    Role::Admin,
];
const PII: &[Role] = &[Role::Agent, Role::Supervisor, Role::Admin];
const AUDIT: &[Role] = &[Role::Auditor, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

/// One root query: who may call it and, for lists, how many rows each role sees in the
/// fixture world (their scope).
struct QueryCase {
    field: &'static str,
    query: String,
    allowed: &'static [Role],
    /// `(role, totalCount)` for scoped lists.
    totals: &'static [(Role, i64)],
}

/// Interactions in November 2026 (the fixture's three are on 2026-11-02).
const METRICS_QUERY: &str = "{ metrics(query: { metrics: [INTERACTIONS], from: \"2026-11-01\", to: \"2026-11-30\" }) { rows { values { numerator } } } }";

fn query_cases(world: &World) -> Vec<QueryCase> {
    let list =
        |field: &'static str, allowed: &'static [Role], totals: &'static [(Role, i64)]| QueryCase {
            field,
            query: format!("{{ {field} {{ totalCount }} }}"),
            allowed,
            totals,
        };
    vec![
        QueryCase {
            field: "me",
            query: "{ me { email } }".into(),
            allowed: EVERYONE,
            totals: &[],
        },
        list("orgUnits", EVERYONE, &[(Role::Agent, 6), (Role::Ingest, 6)]),
        QueryCase {
            field: "orgUnit",
            query: "{ orgUnit(code: \"AGENCY\") { code } }".into(),
            allowed: EVERYONE,
            totals: &[],
        },
        list("topics", EVERYONE, &[(Role::Analyst, 1)]),
        list(
            "users",
            &[Role::Agent, Role::Supervisor, Role::Auditor, Role::Admin],
            &[
                (Role::Agent, 1),
                (Role::Supervisor, 2),
                (Role::Auditor, 7),
                (Role::Admin, 7),
            ],
        ),
        list(
            "interactions",
            READERS,
            &[
                (Role::Agent, 1),
                (Role::Supervisor, 2),
                (Role::Analyst, 3),
                (Role::Auditor, 3),
                (Role::Admin, 3),
            ],
        ),
        QueryCase {
            field: "interaction",
            query: format!(
                "{{ interaction(id: \"{}\") {{ id }} }}",
                world.own_interaction
            ),
            allowed: READERS,
            totals: &[],
        },
        list(
            "surveyResponses",
            READERS,
            &[(Role::Agent, 1), (Role::Supervisor, 1), (Role::Analyst, 1)],
        ),
        list(
            "surveyInvitations",
            READERS,
            &[(Role::Agent, 1), (Role::Auditor, 1)],
        ),
        list(
            "customers",
            PII,
            &[(Role::Agent, 1), (Role::Supervisor, 1), (Role::Admin, 2)],
        ),
        list("trainingCourses", READERS, &[(Role::Analyst, 1)]),
        list(
            "trainingAssignments",
            &[Role::Agent, Role::Supervisor, Role::Auditor, Role::Admin],
            &[(Role::Agent, 1), (Role::Supervisor, 1), (Role::Auditor, 1)],
        ),
        list(
            "resourceAllocations",
            &[Role::Supervisor, Role::Analyst, Role::Auditor, Role::Admin],
            &[(Role::Supervisor, 1), (Role::Analyst, 1)],
        ),
        list("serviceStandards", READERS, &[(Role::Agent, 1)]),
        QueryCase {
            field: "metrics",
            query: METRICS_QUERY.into(),
            allowed: READERS,
            totals: &[],
        },
        QueryCase {
            field: "metricCatalog",
            query: "{ metricCatalog { metric formula } }".into(),
            allowed: READERS,
            totals: &[],
        },
        QueryCase {
            field: "serviceStandardAttainment",
            query: "{ serviceStandardAttainment(from: \"2026-11-01\", to: \"2026-11-30\") { target met } }"
                .into(),
            allowed: READERS,
            totals: &[],
        },
        QueryCase {
            field: "staffingPlan",
            query: "{ staffingPlan(orgUnitCode: \"OFFICE-A\", channel: PHONE, from: \"2026-11-01\", to: \"2026-11-30\", targetServiceLevel: 0.8, thresholdSeconds: 20, shrinkage: 0.3) { requiredStaffHoursPerWeek } }".into(),
            allowed: &[Role::Supervisor, Role::Analyst, Role::Admin],
            totals: &[],
        },
        QueryCase {
            field: "trainingNeeds",
            query: "{ trainingNeeds(from: \"2026-11-01\", to: \"2026-11-30\", orgUnitCode: \"OFFICE-A\") { minimumN } }".into(),
            allowed: &[Role::Supervisor, Role::Admin],
            totals: &[],
        },
        QueryCase {
            field: "trainingImpact",
            query: format!(
                "{{ trainingImpact(courseId: \"{}\", windowDays: 30) {{ windowDays }} }}",
                world.course_id
            ),
            allowed: &[Role::Supervisor, Role::Auditor, Role::Admin],
            totals: &[],
        },
        QueryCase {
            field: "programScorecard",
            query: "{ programScorecard(from: \"2026-11-01\", to: \"2026-11-30\") { composite } }".into(),
            allowed: &[Role::Supervisor, Role::Analyst, Role::Auditor, Role::Admin],
            totals: &[],
        },
        QueryCase {
            field: "oversightReport",
            query: "{ oversightReport(fiscalYear: 2027, quarter: 2) { auditChainHead { hash } } }".into(),
            allowed: AUDIT,
            totals: &[],
        },
        list("auditEvents", AUDIT, &[]),
        list(
            "legalHolds",
            AUDIT,
            &[(Role::Auditor, 1), (Role::Admin, 1)],
        ),
        QueryCase {
            field: "verifyAuditChain",
            query: "{ verifyAuditChain { ok } }".into(),
            allowed: AUDIT,
            totals: &[],
        },
    ]
}

/// Mutations covered by their own tests rather than by the table (they end or open sessions).
const SESSION_MUTATIONS: &[&str] = &["login", "refreshSession", "logout"];

/// Builds `(query, variables)` for a caller (named, so inputs can be unique per caller).
type MakeRequest = Box<dyn Fn(&str) -> (String, Value)>;

struct MutationCase {
    field: &'static str,
    /// `None`: public (anonymous callers reach it too).
    allowed: Option<&'static [Role]>,
    request: MakeRequest,
}

fn mutation_cases(world: &World) -> Vec<MutationCase> {
    let own = world.own_interaction.clone();
    let agent = world.agent_id.clone();
    let other_agent = world.other_agent_id.clone();
    let assignment = world.assignment_id.clone();
    let allocation = world.allocation_id.clone();
    let hold = world.legal_hold_id.clone();
    let case = |field: &'static str, allowed: Option<&'static [Role]>, request: MakeRequest| {
        MutationCase {
            field,
            allowed,
            request,
        }
    };
    vec![
        case(
            "recordInteraction",
            Some(&[Role::Ingest, Role::Admin]),
            Box::new(|who| {
                let mut input =
                    fixture::interaction_input(&format!("matrix-{who}"), None, "TEAM-A1", "CRM-9");
                input["channel"] = json!("IVR");
                // Self-service: no wait, no handling time.
                input["waitSeconds"] = json!(null);
                input["handleSeconds"] = json!(null);
                (fixture::RECORD.into(), json!({ "input": input }))
            }),
        ),
        case(
            "createSurveyInvitation",
            Some(&[Role::Ingest, Role::Admin]),
            Box::new(move |_| {
                (
            "mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token } }".into(),
            json!({ "id": own }),
        )
            }),
        ),
        case(
            "submitSurveyResponse",
            None,
            Box::new(|_| {
                (
            "mutation { submitSurveyResponse(token: \"bms_not-a-token\", answers: { satisfaction: 3 }) { accepted } }".into(),
            json!({}),
        )
            }),
        ),
        case("recordFollowUpAssessment", Some(PII), {
            let own = world.own_interaction.clone();
            Box::new(move |who| {
                (
                "mutation($id: ID!, $key: String) { recordFollowUpAssessment(interactionId: $id, answers: { satisfaction: 4 }, source: \"crm\", externalId: $key) { id } }".into(),
                json!({ "id": own, "key": format!("follow-{who}") }),
            )
            })
        }),
        case(
            "createUser",
            Some(ADMIN),
            Box::new(|who| {
                (
            "mutation($email: String!) { createUser(input: { email: $email, displayName: \"New\", role: AGENT, orgUnitCode: \"TEAM-A1\" }) { id } }".into(),
            json!({ "email": format!("new-{who}@test.example") }),
        )
            }),
        ),
        case(
            "deactivateUser",
            Some(ADMIN),
            Box::new(move |_| {
                (
                    "mutation($id: ID!) { deactivateUser(id: $id) { active } }".into(),
                    json!({ "id": other_agent }),
                )
            }),
        ),
        case(
            "createOrgUnit",
            Some(ADMIN),
            Box::new(|who| {
                (
            "mutation($code: String!) { createOrgUnit(code: $code, name: \"New unit\", parentCode: \"AGENCY\") { id } }".into(),
            json!({ "code": format!("NEW-{}", who.to_uppercase()) }),
        )
            }),
        ),
        case(
            "createTopic",
            Some(ADMIN),
            Box::new(|who| {
                (
            "mutation($code: String!) { createTopic(code: $code, name: \"New topic\") { id } }".into(),
            json!({ "code": format!("T-{}", who.to_uppercase()) }),
        )
            }),
        ),
        case(
            "createTrainingCourse",
            Some(ADMIN),
            Box::new(|who| {
                (
            "mutation($code: String!) { createTrainingCourse(code: $code, title: \"New course\") { id } }".into(),
            json!({ "code": format!("C-{}", who.to_uppercase()) }),
        )
            }),
        ),
        case(
            "assignTraining",
            Some(&[Role::Supervisor, Role::Admin]),
            Box::new(move |_| {
                (
            "mutation($agent: ID!) { assignTraining(agentId: $agent, courseCode: \"FCR-101\", reason: \"matrix\") { id } }".into(),
            json!({ "agent": agent }),
        )
            }),
        ),
        case(
            "completeTraining",
            Some(&[Role::Agent, Role::Admin]),
            Box::new(move |_| {
                (
                    "mutation($id: ID!) { completeTraining(assignmentId: $id) { completedAt } }"
                        .into(),
                    json!({ "id": assignment }),
                )
            }),
        ),
        case(
            "proposeResourceAllocation",
            Some(&[Role::Supervisor, Role::Admin]),
            Box::new(|_| {
                (
            "mutation { proposeResourceAllocation(input: { orgUnitCode: \"TEAM-A1\", channel: CHAT, periodStart: \"2027-01-01\", periodEnd: \"2027-03-31\", staffHoursPerWeek: 40, fte: 1, rationale: \"matrix\" }) { id } }".into(),
            json!({}),
        )
            }),
        ),
        case(
            "decideResourceAllocation",
            Some(ADMIN),
            Box::new(move |_| {
                (
            "mutation($id: ID!) { decideResourceAllocation(id: $id, approve: true) { status } }".into(),
            json!({ "id": allocation }),
        )
            }),
        ),
        case(
            "placeLegalHold",
            Some(ADMIN),
            Box::new(|who| {
                (
                    "mutation($reason: String!) { placeLegalHold(input: { orgUnitCode: \"TEAM-A2\", reason: $reason }) { id active } }".into(),
                    json!({ "reason": format!("Matter of {who}") }),
                )
            }),
        ),
        case(
            "liftLegalHold",
            Some(ADMIN),
            Box::new(move |_| {
                (
                    "mutation($id: ID!) { liftLegalHold(id: $id, reason: \"Matter closed\") { active } }".into(),
                    json!({ "id": hold }),
                )
            }),
        ),
        case(
            "setServiceStandard",
            Some(ADMIN),
            Box::new(|_| {
                (
            "mutation { setServiceStandard(input: { metric: CSAT, comparator: AT_LEAST, target: 0.85, effectiveFrom: \"2026-01-01\" }) { id } }".into(),
            json!({}),
        )
            }),
        ),
    ]
}

async fn root_fields(app: &TestApp, type_name: &str) -> BTreeSet<String> {
    let (_, body) = app
        .post(
            None,
            "query($name: String!) { __type(name: $name) { fields { name } } }",
            json!({ "name": type_name }),
        )
        .await;
    body["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap().to_owned())
        .collect()
}

fn audit_count(app: &TestApp) -> i64 {
    audit_events::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn the_matrix_covers_every_root_field_and_mutation() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let queries: BTreeSet<String> = query_cases(&world)
        .iter()
        .map(|case| case.field.to_owned())
        .collect();
    assert_eq!(
        root_fields(&app, "Query").await,
        queries,
        "add new query fields to query_cases"
    );
    let mut mutations: BTreeSet<String> = mutation_cases(&world)
        .iter()
        .map(|case| case.field.to_owned())
        .collect();
    mutations.extend(SESSION_MUTATIONS.iter().map(|name| name.to_string()));
    assert_eq!(
        root_fields(&app, "Mutation").await,
        mutations,
        "add new mutations to mutation_cases"
    );
}

#[tokio::test]
async fn every_role_against_every_query() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let mut callers: Vec<Option<Role>> = vec![None];
    callers.extend(EVERYONE.iter().copied().map(Some));
    for case in query_cases(&world) {
        for role in &callers {
            let token = role.map(|role| world.token(role).to_owned());
            let (status, body) = app.post(token.as_deref(), &case.query, json!({})).await;
            assert_eq!(status, StatusCode::OK);
            let field = case.field;
            match role {
                None => {
                    assert_eq!(
                        first_error_code(&body),
                        Some("UNAUTHENTICATED"),
                        "anonymous {field}: {body}"
                    );
                    assert!(body["data"].is_null(), "nothing leaks: {body}");
                }
                Some(role) if case.allowed.contains(role) => {
                    assert!(body.get("errors").is_none(), "{role:?} {field}: {body}");
                    assert!(!body["data"][field].is_null(), "{role:?} {field}: {body}");
                    if let Some((_, total)) = case.totals.iter().find(|(scoped, _)| scoped == role)
                    {
                        assert_eq!(
                            body["data"][field]["totalCount"], *total,
                            "{role:?} sees its scope of {field}"
                        );
                    }
                }
                Some(role) => {
                    assert_eq!(
                        first_error_code(&body),
                        Some("FORBIDDEN"),
                        "{role:?} {field}: {body}"
                    );
                    assert!(body["data"].is_null(), "nothing leaks: {body}");
                }
            }
        }
    }
}

#[tokio::test]
async fn every_role_against_every_write() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let mut callers: Vec<Option<Role>> = vec![None];
    callers.extend(EVERYONE.iter().copied().map(Some));
    for case in mutation_cases(&world) {
        for role in &callers {
            let who = role.map(|role| role.as_db_str()).unwrap_or("anonymous");
            let (query, variables) = (case.request)(who);
            let token = role.map(|role| world.token(role).to_owned());
            let before = audit_count(&app);
            let (_, body) = app.post(token.as_deref(), &query, variables).await;
            let field = case.field;
            match (case.allowed, role) {
                (None, _) => {
                    // Public: reachable by anyone, and the bogus token is refused the same way.
                    assert_eq!(
                        first_error_code(&body),
                        Some("NOT_FOUND"),
                        "{who} {field}: {body}"
                    );
                    assert_eq!(audit_count(&app), before);
                }
                (Some(_), None) => {
                    assert_eq!(
                        first_error_code(&body),
                        Some("UNAUTHENTICATED"),
                        "{who} {field}: {body}"
                    );
                    assert_eq!(audit_count(&app), before, "a refused write changes nothing");
                }
                (Some(allowed), Some(role)) if allowed.contains(role) => {
                    assert!(body.get("errors").is_none(), "{who} {field}: {body}");
                }
                (Some(_), Some(_)) => {
                    assert_eq!(
                        first_error_code(&body),
                        Some("FORBIDDEN"),
                        "{who} {field}: {body}"
                    );
                    assert!(body["data"].is_null());
                    assert_eq!(audit_count(&app), before, "a refused write changes nothing");
                }
            }
        }
    }
}

#[tokio::test]
async fn session_mutations_for_every_role() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let users = app.users_of_every_role().await;

    // Anonymous: login and refreshSession are the only doors, and they need valid credentials.
    let (_, body) = app.post(None, "mutation { logout }", json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    let (_, body) = app
        .post(
            None,
            "mutation { refreshSession(refreshToken: \"bmr_nope\") { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));

    for (role, email, token) in users {
        let (_, body) = app.login(&email, PASSWORD).await;
        assert_eq!(
            body["data"]["login"]["user"]["email"],
            email.as_str(),
            "{role:?}: {body}"
        );
        let refresh_token = body["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, body) = app
            .post(
                None,
                "mutation($t: String!) { refreshSession(refreshToken: $t) { user { email } } }",
                json!({ "t": refresh_token }),
            )
            .await;
        assert_eq!(
            body["data"]["refreshSession"]["user"]["email"],
            email.as_str(),
            "{role:?}"
        );
        let (_, body) = app
            .post(Some(&token), "mutation { logout }", json!({}))
            .await;
        assert_eq!(body["data"]["logout"], true, "{role:?}: {body}");
    }
}

#[tokio::test]
async fn lists_page_with_stable_keyset_cursors() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("auditor@test.example", Role::Auditor, "AGENCY", false)
        .await;
    let token = app.token_for("auditor@test.example").await;
    let page = "query($first: Int, $after: String, $last: Int, $before: String, $under: String) {
        orgUnits(first: $first, after: $after, last: $last, before: $before, underCode: $under) {
            totalCount edges { cursor node { code depth parent { code } } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let codes = |body: &Value| -> Vec<String> {
        body["data"]["orgUnits"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["code"].as_str().unwrap().to_owned())
            .collect()
    };

    let (_, first) = app.post(Some(&token), page, json!({ "first": 2 })).await;
    assert_eq!(codes(&first), ["AGENCY", "OFFICE-A"]);
    assert_eq!(first["data"]["orgUnits"]["totalCount"], 6);
    assert_eq!(first["data"]["orgUnits"]["pageInfo"]["hasNextPage"], true);
    let after = first["data"]["orgUnits"]["pageInfo"]["endCursor"].clone();

    // A unit inserted before the cursor does not shift the next page.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("INSERT INTO org_units (code, name) VALUES ('AAA-NEW', 'New')"),
        &mut app.connection(),
    )
    .unwrap();
    let (_, second) = app
        .post(Some(&token), page, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(codes(&second), ["OFFICE-B", "TEAM-A1"]);
    assert_eq!(
        second["data"]["orgUnits"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let (_, last) = app.post(Some(&token), page, json!({ "last": 2 })).await;
    assert_eq!(codes(&last), ["TEAM-A2", "TEAM-B1"]);
    assert_eq!(
        last["data"]["orgUnits"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let before = last["data"]["orgUnits"]["pageInfo"]["startCursor"].clone();
    let (_, earlier) = app
        .post(Some(&token), page, json!({ "last": 1, "before": before }))
        .await;
    assert_eq!(codes(&earlier), ["TEAM-A1"]);

    let (_, subtree) = app
        .post(Some(&token), page, json!({ "under": "OFFICE-A" }))
        .await;
    assert_eq!(codes(&subtree), ["OFFICE-A", "TEAM-A1", "TEAM-A2"]);
    assert_eq!(subtree["data"]["orgUnits"]["totalCount"], 3);
    assert_eq!(subtree["data"]["orgUnits"]["edges"][1]["node"]["depth"], 2);
    assert_eq!(
        subtree["data"]["orgUnits"]["edges"][1]["node"]["parent"]["code"],
        "OFFICE-A"
    );

    for (variables, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (json!({ "under": "NOWHERE" }), "underCode"),
    ] {
        let (_, body) = app.post(Some(&token), page, variables.clone()).await;
        assert_eq!(
            first_error_code(&body),
            Some("BAD_USER_INPUT"),
            "{variables}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
    }
    let (_, body) = app
        .post(Some(&token), page, json!({ "first": 1, "last": 1 }))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn metrics_cover_each_roles_scope() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    // The agent handled one of the three interactions; the supervisor's office two.
    for (role, expected) in [
        (Role::Agent, 1.0),
        (Role::Supervisor, 2.0),
        (Role::Analyst, 3.0),
        (Role::Auditor, 3.0),
        (Role::Admin, 3.0),
    ] {
        let (_, body) = app
            .post(Some(world.token(role)), METRICS_QUERY, json!({}))
            .await;
        assert_eq!(
            body["data"]["metrics"]["rows"][0]["values"][0]["numerator"], expected,
            "{role:?}: {body}"
        );
    }
    // The other agent sees only their own interaction, never the first agent's.
    let (_, body) = app
        .post(Some(&world.other_agent_token), METRICS_QUERY, json!({}))
        .await;
    assert_eq!(
        body["data"]["metrics"]["rows"][0]["values"][0]["numerator"],
        1.0
    );
    // Asking for the first agent's id by filter yields nothing rather than their numbers.
    let query = format!(
        "{{ metrics(query: {{ metrics: [INTERACTIONS], from: \"2026-11-01\", to: \"2026-11-30\", filter: {{ agentIds: [\"{}\"] }} }}) {{ rows {{ channel }} }} }}",
        world.agent_id
    );
    let (_, body) = app
        .post(Some(&world.other_agent_token), &query, json!({}))
        .await;
    assert_eq!(body["data"]["metrics"]["rows"], json!([]), "{body}");
}
