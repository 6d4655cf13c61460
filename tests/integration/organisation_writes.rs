//! The organisation's writes — users, org units and topics — through every entry point: the
//! GraphQL mutations, the bulk import and `bac-metrics user add` refuse the same input with the
//! same message (naming the field as that entry point spells it), a concurrent duplicate is a
//! `CONFLICT` and never an internal error, and each created record has exactly one audit event,
//! written in the same transaction as the record.

use std::process::{Command, Output, Stdio};

use bac_metrics::db::{
    enums::Role,
    schema::{audit_events, org_units, topics, users},
};
use diesel::{connection::SimpleConnection, prelude::*};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, first_error_message, rejections, TestApp, TEST_SECRET};

const BINARY: &str = env!("CARGO_BIN_EXE_bac-metrics");

const CREATE_USER: &str =
    "mutation($input: CreateUserInput!) { createUser(input: $input) { id email displayName } }";
const CREATE_ORG_UNIT: &str = "mutation($code: String!, $name: String!, $parent: String) { createOrgUnit(code: $code, name: $name, parentCode: $parent) { id code } }";
const CREATE_TOPIC: &str =
    "mutation($code: String!, $name: String!) { createTopic(code: $code, name: $name) { id code } }";

/// Emails that only look like emails; the old checks (where is the `@`?) let each through.
const INVALID_EMAILS: [&str; 4] = ["pat@agency", "pat@@x.gov", "a b@x.gov", "pat@-x.gov"];

/// The org tree of `seed_org` and an admin; returns the admin's token.
async fn admin(app: &TestApp) -> String {
    app.seed_org().await;
    app.create_user("admin@test.example", Role::Admin, "AGENCY", true)
        .await;
    app.token_for("admin@test.example").await
}

async fn upload(app: &TestApp, token: &str, kind: &str, body: String) -> Value {
    let response = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `bac-metrics ARGS` against the test server's database.
fn run_command(app: &TestApp, args: &[&str]) -> Output {
    Command::new(BINARY)
        .env("DATABASE_URL", &app.database_url)
        .env(
            "JWT_SECRET",
            String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

fn user_count(app: &TestApp) -> i64 {
    users::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

/// How many users have `email`, and how many org units and topics have `code`.
fn stored(app: &TestApp, email: &str, code: &str) -> (i64, i64, i64) {
    let mut connection = app.connection();
    let users = users::table
        .filter(users::email.eq(email))
        .count()
        .get_result(&mut connection)
        .unwrap();
    let units = org_units::table
        .filter(org_units::code.eq(code))
        .count()
        .get_result(&mut connection)
        .unwrap();
    let topics = topics::table
        .filter(topics::code.eq(code))
        .count()
        .get_result(&mut connection)
        .unwrap();
    (users, units, topics)
}

/// The entity ids of the audit events with `action`, oldest first.
fn audited(app: &TestApp, action: &str) -> Vec<String> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .order(audit_events::id)
        .select(audit_events::entity_id.assume_not_null())
        .load(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn invalid_emails_are_refused_alike_by_the_api_the_import_and_the_command_line() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    let users_before = user_count(&app);

    for email in INVALID_EMAILS {
        let expected = format!("`{email}` is not an email address (name@example.gov)");

        let (_, body) = app
            .post(
                Some(&admin),
                CREATE_USER,
                json!({ "input": { "email": email, "displayName": "Pat", "role": "AGENT", "orgUnitCode": "TEAM-A1" } }),
            )
            .await;
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "email", "{body}");
        assert_eq!(first_error_message(&body), expected, "{body}");

        let output = run_command(
            &app,
            &[
                "user",
                "add",
                "--email",
                email,
                "--role",
                "agent",
                "--org-unit",
                "TEAM-A1",
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{email} was accepted: {stderr}");
        assert!(
            stderr.contains(&format!("--email: {expected}")),
            "{email}: {stderr}"
        );
    }

    // The same four in a file, between two good rows: each rejected with its line and column,
    // with the API's message; the good rows land.
    let mut file = String::from("email,display_name,role,org_unit_code\n");
    file.push_str("first.agent@test.example,First Agent,agent,TEAM-A1\n");
    for email in INVALID_EMAILS {
        file.push_str(&format!("{email},Pat,agent,TEAM-A1\n"));
    }
    file.push_str("last.agent@test.example,Last Agent,agent,TEAM-A1\n");
    let report = upload(&app, &admin, "users", file).await;
    assert_eq!(report["inserted"], 2, "{report}");
    assert_eq!(report["rejected"], 4, "{report}");
    let expected: Vec<(i64, String, String)> = INVALID_EMAILS
        .iter()
        .zip(3..)
        .map(|(email, line)| {
            (
                line,
                "email".to_owned(),
                format!("`{email}` is not an email address (name@example.gov)"),
            )
        })
        .collect();
    assert_eq!(rejections(&report), expected, "{report}");

    // Only the two good rows became users.
    assert_eq!(user_count(&app), users_before + 2);
}

#[tokio::test]
async fn names_over_200_characters_are_refused_with_the_field_named_in_the_api_and_imports() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    let long = "N".repeat(300);
    let expected = "is 300 characters long; at most 200 are allowed";

    let (_, body) = app
        .post(
            Some(&admin),
            CREATE_USER,
            json!({ "input": { "email": "long@test.example", "displayName": long, "role": "AGENT", "orgUnitCode": "TEAM-A1" } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "displayName");
    assert_eq!(first_error_message(&body), expected);
    for (query, variables) in [
        (
            CREATE_ORG_UNIT,
            json!({ "code": "LONG", "name": long, "parent": "AGENCY" }),
        ),
        (CREATE_TOPIC, json!({ "code": "LONG", "name": long })),
    ] {
        let (_, body) = app.post(Some(&admin), query, variables).await;
        assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");
        assert_eq!(first_error_message(&body), expected);
    }

    let report = upload(
        &app,
        &admin,
        "users",
        format!("email,display_name,role,org_unit_code\nlong@test.example,{long},agent,TEAM-A1\n"),
    )
    .await;
    assert_eq!(
        rejections(&report),
        [(2, "display_name".to_owned(), expected.to_owned())],
        "{report}"
    );
    let report = upload(
        &app,
        &admin,
        "org-units",
        format!("code,name,parent_code\nLONG,{long},AGENCY\n"),
    )
    .await;
    assert_eq!(
        rejections(&report),
        [(2, "name".to_owned(), expected.to_owned())],
        "{report}"
    );
    let report = upload(&app, &admin, "topics", format!("code,name\nLONG,{long}\n")).await;
    assert_eq!(
        rejections(&report),
        [(2, "name".to_owned(), expected.to_owned())],
        "{report}"
    );

    assert_eq!(stored(&app, "long@test.example", "LONG"), (0, 0, 0));
}

/// Sends the same mutation twice at once, `rounds` times with fresh variables each round, and
/// checks every round: one success, one `CONFLICT` — never `INTERNAL` — and one record.
async fn race(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: impl Fn(usize) -> Value,
    count: impl Fn(&TestApp, usize) -> i64,
) {
    for round in 0..12 {
        let variables = variables(round);
        let (first, second) = tokio::join!(
            app.post(Some(token), query, variables.clone()),
            app.post(Some(token), query, variables.clone()),
        );
        let mut codes: Vec<Option<String>> = [&first.1, &second.1]
            .iter()
            .map(|body| first_error_code(body).map(str::to_owned))
            .collect();
        codes.sort();
        assert_eq!(
            codes,
            [None, Some("CONFLICT".to_owned())],
            "round {round}: {} / {}",
            first.1,
            second.1
        );
        let loser = if first_error_code(&first.1).is_some() {
            &first.1
        } else {
            &second.1
        };
        assert!(
            first_error_message(loser).contains("already exists"),
            "{loser}"
        );
        assert_eq!(count(app, round), 1, "round {round}");
    }
}

#[tokio::test]
async fn concurrent_duplicates_make_one_record_and_a_conflict_never_an_internal_error() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;

    race(
        &app,
        &admin,
        CREATE_USER,
        |round| json!({ "input": { "email": format!("twin{round}@test.example"), "displayName": "Twin", "role": "AGENT", "orgUnitCode": "TEAM-A1" } }),
        |app, round| stored(app, &format!("twin{round}@test.example"), "").0,
    )
    .await;
    race(
        &app,
        &admin,
        CREATE_ORG_UNIT,
        |round| json!({ "code": format!("TWIN-{round}"), "name": "Twin", "parent": "AGENCY" }),
        |app, round| stored(app, "", &format!("TWIN-{round}")).1,
    )
    .await;
    race(
        &app,
        &admin,
        CREATE_TOPIC,
        |round| json!({ "code": format!("TWIN-{round}"), "name": "Twin" }),
        |app, round| stored(app, "", &format!("TWIN-{round}")).2,
    )
    .await;

    // Each winner has its one audit event; no loser left one.
    assert_eq!(audited(&app, "topic.create").len(), 12);
    assert_eq!(audited(&app, "org_unit.create").len(), 12);
    // The admin of `admin()` and the twelve twins.
    assert_eq!(audited(&app, "user.create").len(), 13);
}

#[tokio::test]
async fn every_created_record_has_one_audit_event_and_a_refused_write_none() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    let admin_id: String = users::table
        .filter(users::email.eq("admin@test.example"))
        .select(users::id)
        .first::<i64>(&mut app.connection())
        .unwrap()
        .to_string();
    // The command line's user (through `cli::add_user`) is audited as the operator's.
    assert_eq!(audited(&app, "user.create"), [admin_id.as_str()]);

    // One event per record created through the API, naming it.
    let (_, body) = app
        .post(
            Some(&admin),
            CREATE_USER,
            json!({ "input": { "email": "Desk.Agent@Test.Example", "displayName": " Desk Agent ", "role": "AGENT", "orgUnitCode": "TEAM-A1", "password": "a long enough password" } }),
        )
        .await;
    let user = body["data"]["createUser"].clone();
    assert_eq!(user["email"], "desk.agent@test.example", "{body}");
    assert_eq!(user["displayName"], "Desk Agent", "{body}");
    let (_, body) = app
        .post(
            Some(&admin),
            CREATE_ORG_UNIT,
            json!({ "code": "TEAM-A3", "name": "Team A3", "parent": "OFFICE-A" }),
        )
        .await;
    let unit = body["data"]["createOrgUnit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .post(
            Some(&admin),
            CREATE_TOPIC,
            json!({ "code": "GRANTS", "name": "Grants" }),
        )
        .await;
    let topic = body["data"]["createTopic"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(
        audited(&app, "user.create"),
        [admin_id.clone(), user_id.clone()]
    );
    assert_eq!(audited(&app, "org_unit.create"), [unit.as_str()]);
    assert_eq!(audited(&app, "topic.create"), [topic.as_str()]);
    let (actor, after): (Option<i64>, Value) = audit_events::table
        .filter(audit_events::action.eq("user.create"))
        .filter(audit_events::entity_id.eq(&user_id))
        .select((
            audit_events::actor_id,
            audit_events::after.assume_not_null(),
        ))
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(actor.map(|id| id.to_string()), Some(admin_id.clone()));
    assert_eq!(after["email"], "desk.agent@test.example");
    assert_eq!(after["display_name"], "Desk Agent");
    assert_eq!(after["service_account"], false);
    assert!(!after.to_string().contains("argon2"), "{after}");

    // Refused writes leave nothing: duplicates, unknown units, bad input.
    let chain = || -> i64 {
        audit_events::table
            .count()
            .get_result(&mut app.connection())
            .unwrap()
    };
    let before = chain();
    for (query, variables, code) in [
        (
            CREATE_USER,
            json!({ "input": { "email": "desk.agent@test.example", "displayName": "Again", "role": "AGENT", "orgUnitCode": "TEAM-A1" } }),
            "CONFLICT",
        ),
        (
            CREATE_USER,
            json!({ "input": { "email": "new@test.example", "displayName": "New", "role": "AGENT", "orgUnitCode": "NOWHERE" } }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "input": { "email": "new@test.example", "displayName": "New", "role": "AGENT", "orgUnitCode": "TEAM-A1", "password": "short" } }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_ORG_UNIT,
            json!({ "code": "TEAM-A3", "name": "Team A3", "parent": "OFFICE-A" }),
            "CONFLICT",
        ),
        (
            CREATE_ORG_UNIT,
            json!({ "code": "TEAM-Z", "name": "Team Z", "parent": "NOWHERE" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_TOPIC,
            json!({ "code": "GRANTS", "name": "Grants" }),
            "CONFLICT",
        ),
        (
            CREATE_TOPIC,
            json!({ "code": "lower", "name": "Lower" }),
            "BAD_USER_INPUT",
        ),
    ] {
        let (_, body) = app.post(Some(&admin), query, variables).await;
        assert_eq!(first_error_code(&body), Some(code), "{body}");
    }
    assert_eq!(chain(), before, "a refused write left an audit event");

    // An import creates its records through the same functions: one event per new record
    // (besides the batch's), none for a row that is unchanged, conflicting or rejected.
    let report = upload(
        &app,
        &admin,
        "users",
        "email,display_name,role,org_unit_code\n\
         imported@test.example,Imported,agent,TEAM-A3\n\
         desk.agent@test.example,Desk Agent,agent,TEAM-A1\n\
         desk.agent@test.example,Someone Else,agent,TEAM-A1\n\
         nobody@test.example,Nobody,agent,NOWHERE\n"
            .to_owned(),
    )
    .await;
    assert_eq!(
        (
            report["inserted"].as_i64(),
            report["unchanged"].as_i64(),
            report["conflicts"].as_i64(),
            report["rejected"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(
        rejections(&report),
        [(
            5,
            "org_unit_code".to_owned(),
            "no org unit `NOWHERE`".to_owned()
        )]
    );
    let created = audited(&app, "user.create");
    assert_eq!(created.len(), 3, "{created:?}");
    let imported: i64 = users::table
        .filter(users::email.eq("imported@test.example"))
        .select(users::id)
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(created[2], imported.to_string());

    // A unit listed before its parent is rejected with the order that works; the parent lands
    // with its event.
    let report = upload(
        &app,
        &admin,
        "org-units",
        "code,name,parent_code
TEAM-C1,Team C1,REGION-C
REGION-C,Region C,AGENCY
"
        .to_owned(),
    )
    .await;
    assert_eq!(report["inserted"], 1, "{report}");
    assert_eq!(
        rejections(&report),
        [(
            2,
            "parent_code".to_owned(),
            "no org unit `REGION-C` (create a parent before the units under it)".to_owned()
        )]
    );
    let (_, region, _) = stored(&app, "", "REGION-C");
    assert_eq!(region, 1);
    assert_eq!(audited(&app, "org_unit.create").len(), 2);
}

#[tokio::test]
async fn the_record_and_its_audit_event_commit_together_or_not_at_all() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    // Make the audit trail refuse creation events: the writes they belong to must roll back.
    app.connection()
        .batch_execute(
            "CREATE FUNCTION refuse_creation_events() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'audit trail unavailable'; END $$;
             CREATE TRIGGER refuse_creation_events BEFORE INSERT ON audit_events FOR EACH ROW
             WHEN (NEW.action IN ('user.create', 'org_unit.create', 'topic.create'))
             EXECUTE FUNCTION refuse_creation_events();",
        )
        .unwrap();
    let users_before = user_count(&app);
    for (query, variables) in [
        (
            CREATE_USER,
            json!({ "input": { "email": "orphan@test.example", "displayName": "Orphan", "role": "AGENT", "orgUnitCode": "TEAM-A1" } }),
        ),
        (
            CREATE_ORG_UNIT,
            json!({ "code": "ORPHAN", "name": "Orphan", "parent": "AGENCY" }),
        ),
        (CREATE_TOPIC, json!({ "code": "ORPHAN", "name": "Orphan" })),
    ] {
        let (_, body) = app.post(Some(&admin), query, variables).await;
        assert_eq!(first_error_code(&body), Some("INTERNAL"), "{body}");
    }
    let output = run_command(
        &app,
        &[
            "user",
            "add",
            "--email",
            "orphan.cli@test.example",
            "--role",
            "agent",
            "--org-unit",
            "TEAM-A1",
        ],
    );
    assert!(!output.status.success());

    assert_eq!(user_count(&app), users_before);
    assert_eq!(stored(&app, "orphan@test.example", "ORPHAN"), (0, 0, 0));
}

#[tokio::test]
async fn the_command_line_names_its_own_options_and_defaults_the_display_name() {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    let output = run_command(
        &app,
        &[
            "user",
            "add",
            "--email",
            "Night.Shift@Test.Example",
            "--role",
            "agent",
            "--org-unit",
            "TEAM-A2",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (email, display_name): (String, String) = users::table
        .select((users::email, users::display_name))
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(email, "night.shift@test.example");
    assert_eq!(display_name, "night.shift");

    for (args, expected) in [
        (
            vec![
                "--email",
                "night.shift@test.example",
                "--org-unit",
                "TEAM-A2",
            ],
            "a user with email night.shift@test.example already exists".to_owned(),
        ),
        (
            vec!["--email", "day.shift@test.example", "--org-unit", "NOWHERE"],
            "--org-unit: no org unit `NOWHERE`".to_owned(),
        ),
        (
            vec![
                "--email",
                "day.shift@test.example",
                "--org-unit",
                "TEAM-A2",
                "--display-name",
                &"D".repeat(300),
            ],
            "--display-name: is 300 characters long; at most 200 are allowed".to_owned(),
        ),
    ] {
        let mut full = vec!["user", "add", "--role", "agent"];
        full.extend(args);
        let output = run_command(&app, &full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
