//! `staffingPlan` (Erlang C against approved allocations) on a small hand-built dataset.
//!
//! The interactions go in through `POST /import/interactions`, the allocations through
//! `proposeResourceAllocation` / `decideResourceAllocation`. Every expected number is a literal
//! derived in the comments. Erlang C values (P(wait), service level, ASA) come from an
//! independent Python computation with exact fractions and factorials:
//! C(N, A) = (A^N/N!·N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N!·N/(N−A)), SL = 1 − C·e^{−(N−A)t/AHT},
//! ASA = C·AHT/(N−A) (the same reference as the unit tests of `insights::erlang`).
//!
//! The history is 2026-11-02 (Monday) … 2026-11-16 (Monday) in America/New_York (EST, UTC−5
//! after 2026-11-01): 15 days, so three Mondays and two of every other weekday. Target 80% within
//! 20 seconds, shrinkage 25% (staff = agents ÷ 0.75).

use bac_metrics::db::enums::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, TestApp};

const HEADER: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";

const A1: &str = "agent.a1@test.example";
const A2: &str = "agent.a2@test.example";
const B1: &str = "agent.b1@test.example";

/// PHONE and noise rows; local time = UTC − 5 h. The 400 Wednesday calls are added in code.
///
/// | row | local time            | unit    | handle | in the OFFICE-A PHONE plan?          |
/// |-----|-----------------------|---------|--------|--------------------------------------|
/// | m1  | Mon 11-02 09:05       | TEAM-A1 | 600    | Monday 09                            |
/// | m2  | Mon 11-02 09:20       | TEAM-A1 | 900    | Monday 09                            |
/// | m3  | Mon 11-02 09:40       | TEAM-A2 | 1200   | Monday 09 (TEAM-A2 is in the subtree) |
/// | m4  | Mon 11-09 09:10       | TEAM-A1 | 900    | Monday 09                            |
/// | m5  | Mon 11-09 09:30       | TEAM-A1 | 900    | Monday 09                            |
/// | m6  | Mon 11-09 09:50       | TEAM-A1 | –      | Monday 09, abandoned: arrives, no AHT |
/// | m7  | Mon 11-09 10:15       | TEAM-A2 | 1800   | Monday 10                            |
/// | b1  | Mon 11-16 23:30       | TEAM-A1 | 600    | Monday 23 (11-17 04:30 UTC, still in) |
/// | t1  | Tue 11-03 14:00       | TEAM-A1 | null   | Tuesday 14, answered, no handle time |
/// | n1  | Mon 11-02 09:15 CHAT  | TEAM-A1 | 300    | no (channel); the CHAT plan's only row |
/// | n2  | Mon 11-02 09:25 EMAIL | TEAM-A1 | 300    | no (channel)                         |
/// | n3  | Mon 11-02 09:35       | TEAM-B1 | 300    | no (outside OFFICE-A)                |
/// | n4  | Sun 11-01 23:30       | TEAM-A1 | 300    | no (before `from` locally; Monday in UTC) |
/// | n5  | Tue 11-17 00:30       | TEAM-A1 | 300    | no (after `to` locally)              |
const ROWS: &str = "
pbx,m1,phone,TEAM-A1,agent.a1@test.example,,,2026-11-02T14:05:00Z,10,600,0,false,resolved
pbx,m2,phone,TEAM-A1,agent.a1@test.example,,,2026-11-02T14:20:00Z,10,900,0,false,resolved
pbx,m3,phone,TEAM-A2,agent.a2@test.example,,,2026-11-02T14:40:00Z,10,1200,0,false,resolved
pbx,m4,phone,TEAM-A1,agent.a1@test.example,,,2026-11-09T14:10:00Z,10,900,0,false,resolved
pbx,m5,phone,TEAM-A1,agent.a1@test.example,,,2026-11-09T14:30:00Z,10,900,0,false,resolved
pbx,m6,phone,TEAM-A1,,,,2026-11-09T14:50:00Z,60,,0,true,
pbx,m7,phone,TEAM-A2,agent.a2@test.example,,,2026-11-09T15:15:00Z,5,1800,0,false,resolved
pbx,b1,phone,TEAM-A1,agent.a1@test.example,,,2026-11-17T04:30:00Z,5,600,0,false,resolved
pbx,t1,phone,TEAM-A1,agent.a1@test.example,,,2026-11-03T19:00:00Z,5,,0,false,resolved
pbx,n1,chat,TEAM-A1,agent.a1@test.example,,,2026-11-02T14:15:00Z,5,300,0,false,resolved
pbx,n2,email,TEAM-A1,agent.a1@test.example,,,2026-11-02T14:25:00Z,,300,0,false,resolved
pbx,n3,phone,TEAM-B1,agent.b1@test.example,,,2026-11-02T14:35:00Z,5,300,0,false,resolved
pbx,n4,phone,TEAM-A1,agent.a1@test.example,,,2026-11-02T04:30:00Z,5,300,0,false,resolved
pbx,n5,phone,TEAM-A1,agent.a1@test.example,,,2026-11-17T05:30:00Z,5,300,0,false,resolved
";

const PLAN: &str = "query($unit: String!, $channel: Channel!, $from: Date!, $to: Date!, \
    $target: Float!, $threshold: Int!, $shrinkage: Float!) { \
    staffingPlan(orgUnitCode: $unit, channel: $channel, from: $from, to: $to, \
                 targetServiceLevel: $target, thresholdSeconds: $threshold, shrinkage: $shrinkage) { \
      orgUnit { code } channel from to targetServiceLevel thresholdSeconds shrinkage timeZone \
      slots { weekday hour arrivalsPerHour averageHandleSeconds handleTimeFromWholeRange erlangs \
              agentsRequired staffRequired expectedServiceLevel expectedAverageSpeedOfAnswer \
              probabilityOfWaiting occupancy } \
      requiredStaffHoursPerWeek approvedStaffHoursPerWeek gapStaffHoursPerWeek } }";

struct World {
    app: TestApp,
    admin: String,
    ingest: String,
    analyst: String,
    auditor: String,
    /// Supervisor of OFFICE-A (TEAM-A1, TEAM-A2).
    supervisor: String,
    agent: String,
}

impl World {
    async fn spawn() -> Self {
        let app = TestApp::spawn().await;
        app.seed_org().await;
        for (email, role, unit) in [
            ("admin@test.example", Role::Admin, "AGENCY"),
            ("ingest@test.example", Role::Ingest, "AGENCY"),
            ("analyst@test.example", Role::Analyst, "AGENCY"),
            ("auditor@test.example", Role::Auditor, "AGENCY"),
            ("supervisor.a@test.example", Role::Supervisor, "OFFICE-A"),
            (A1, Role::Agent, "TEAM-A1"),
            (A2, Role::Agent, "TEAM-A2"),
            (B1, Role::Agent, "TEAM-B1"),
        ] {
            app.create_user(email, role, unit, false).await;
        }
        Self {
            admin: app.token_for("admin@test.example").await,
            ingest: app.token_for("ingest@test.example").await,
            analyst: app.token_for("analyst@test.example").await,
            auditor: app.token_for("auditor@test.example").await,
            supervisor: app.token_for("supervisor.a@test.example").await,
            agent: app.token_for(A1).await,
            app,
        }
    }

    /// Imports `ROWS` plus 200 calls in each of the two Wednesdays' 11:00 local hour.
    async fn load_interactions(&self) {
        let mut file = String::from(HEADER);
        for line in ROWS.lines().map(str::trim).filter(|line| !line.is_empty()) {
            file.push('\n');
            file.push_str(line);
        }
        // Wednesday 11:00–11:59 local (16:xx UTC), 2026-11-04 and 2026-11-11: 200 answered
        // calls each, 17 seconds apart (the last at 11:56:23), 180 seconds handle time.
        for day in ["04", "11"] {
            for call in 0..200 {
                let offset = 17 * call;
                file.push_str(&format!(
                    "\npbx,w{day}-{call},phone,TEAM-A1,{A1},,,2026-11-{day}T16:{:02}:{:02}Z,5,180,0,false,resolved",
                    offset / 60,
                    offset % 60
                ));
            }
        }
        file.push('\n');
        let response = self
            .app
            .client
            .post(format!("{}/import/interactions", self.app.address))
            .bearer_auth(&self.ingest)
            .header("content-type", "text/csv")
            .body(file)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["inserted"], 414, "{report}");
        assert_eq!(report["rejected"], 0, "{report}");
    }

    /// Proposes an allocation as the OFFICE-A supervisor; the admin approves or rejects it
    /// unless `decision` is `None`.
    async fn allocation(
        &self,
        unit: &str,
        channel: &str,
        period: (&str, &str),
        hours: f64,
        decision: Option<bool>,
    ) {
        let (_, body) = self
            .app
            .post(
                Some(&self.supervisor),
                "mutation($input: ResourceAllocationInput!) { proposeResourceAllocation(input: $input) { id } }",
                json!({ "input": { "orgUnitCode": unit, "channel": channel, "periodStart": period.0,
                                   "periodEnd": period.1, "staffHoursPerWeek": hours, "fte": hours / 40.0,
                                   "rationale": "Staffing test" } }),
            )
            .await;
        let id = body["data"]["proposeResourceAllocation"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("propose: {body}"))
            .to_owned();
        if let Some(approve) = decision {
            let (_, body) = self
                .app
                .post(
                    Some(&self.admin),
                    "mutation($id: ID!, $approve: Boolean!) { decideResourceAllocation(id: $id, approve: $approve) { status } }",
                    json!({ "id": id, "approve": approve }),
                )
                .await;
            assert!(body.get("errors").is_none(), "decide: {body}");
        }
    }

    async fn plan(&self, token: Option<&str>, variables: Value) -> Value {
        self.app.post(token, PLAN, variables).await.1
    }

    async fn plan_ok(&self, token: &str, variables: Value) -> Value {
        let body = self.plan(Some(token), variables).await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"]["staffingPlan"].clone()
    }
}

/// The plan's arguments; `changes` overrides some.
fn arguments(unit: &str, channel: &str, changes: Value) -> Value {
    let mut variables = json!({ "unit": unit, "channel": channel, "from": "2026-11-02",
                                "to": "2026-11-16", "target": 0.8, "threshold": 20, "shrinkage": 0.25 });
    if let Value::Object(changes) = changes {
        for (key, value) in changes {
            variables[key] = value;
        }
    }
    variables
}

fn assert_close(actual: &Value, expected: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected {expected}, got {actual}"));
    let tolerance = 1e-6 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: expected {expected}, got {actual}"
    );
}

/// A slot with arrivals: (weekday, hour, arrivals/h, AHT, from whole range, Erlangs, agents,
/// staff, SL, ASA, P(wait), occupancy).
type Busy = (u64, u64, f64, f64, bool, f64, u64, f64, f64, f64, f64, f64);

/// The slots of the OFFICE-A PHONE plan that have arrivals; every other slot is empty.
const OFFICE_A_PHONE: [Busy; 5] = [
    // Monday 09: m1–m6 = 6 arrivals ÷ 3 Mondays = 2/h. AHT of the answered, timed calls:
    // (600 + 900 + 1200 + 900 + 900) / 5 = 900 (m6 is abandoned). A = 2 × 900 / 3600 = 0.5.
    // 1 agent: SL 0.5055248054 < 0.8; 2 agents: C = 0.1, SL = 0.9032783900, ASA = 0.1 × 900 /
    // 1.5 = 60, occupancy 0.25. Staff 2 / 0.75 = 2.6666667.
    (
        1,
        9,
        2.0,
        900.0,
        false,
        0.5,
        2,
        8.0 / 3.0,
        0.9032783900,
        60.0,
        0.1,
        0.25,
    ),
    // Monday 10: m7 = 1 ÷ 3 = 1/3 per hour, AHT 1800, A = 1/3 × 1800 / 3600 = 1/6.
    // 1 agent: C = A = 1/6, SL = 0.8348694207, ASA = (1/6) × 1800 / (5/6) = 360. Staff 4/3.
    (
        1,
        10,
        1.0 / 3.0,
        1800.0,
        false,
        1.0 / 6.0,
        1,
        4.0 / 3.0,
        0.8348694207,
        360.0,
        1.0 / 6.0,
        1.0 / 6.0,
    ),
    // Monday 23: b1 (Monday 11-16 23:30 local, Tuesday in UTC) = 1/3 per hour, AHT 600,
    // A = 1/18. 1 agent: SL = 0.9461661722, ASA = (1/18) × 600 / (17/18) = 35.2941176. Staff 4/3.
    (
        1,
        23,
        1.0 / 3.0,
        600.0,
        false,
        1.0 / 18.0,
        1,
        4.0 / 3.0,
        0.9461661722,
        35.29411765,
        1.0 / 18.0,
        1.0 / 18.0,
    ),
    // Tuesday 14: t1 = 1 ÷ 2 Tuesdays = 0.5/h, no handle time of its own → the whole range's:
    // (600 + 900 + 1200 + 900 + 900 + 1800 + 400 × 180 + 600) / 407 = 78900 / 407 = 193.8574939.
    // A = 0.5 × 193.8574939 / 3600 = 263/9768 = 0.02692465192. 1 agent: SL = 0.9756470862,
    // ASA = 5.363968531. Staff 4/3.
    (
        2,
        14,
        0.5,
        193.8574939,
        true,
        0.02692465192,
        1,
        4.0 / 3.0,
        0.9756470862,
        5.363968531,
        0.02692465192,
        0.02692465192,
    ),
    // Wednesday 11: 400 calls ÷ 2 Wednesdays = 200/h (100 per 30 minutes), AHT 180, A = 10:
    // the published example. 13 agents: SL 0.7955947884 < 0.8; 14 agents: C = 0.1741319336,
    // SL = 0.8883500192, ASA = 7.835937012, occupancy 10/14. Staff 14 / 0.75 = 18.6666667.
    (
        3,
        11,
        200.0,
        180.0,
        false,
        10.0,
        14,
        56.0 / 3.0,
        0.8883500192,
        7.835937012,
        0.1741319336,
        10.0 / 14.0,
    ),
];

fn check_slots(slots: &Value, busy: &[Busy]) {
    let slots = slots.as_array().expect("slots");
    assert_eq!(slots.len(), 168);
    for (index, slot) in slots.iter().enumerate() {
        let (weekday, hour) = (index as u64 / 24 + 1, index as u64 % 24);
        assert_eq!(slot["weekday"], weekday, "{slot}");
        assert_eq!(slot["hour"], hour, "{slot}");
        let what = format!("weekday {weekday} hour {hour}");
        match busy.iter().find(|b| b.0 == weekday && b.1 == hour) {
            None => {
                // No arrivals (Monday 04, where n4 would fall in UTC, included): nothing needed.
                assert_eq!(slot["arrivalsPerHour"], 0.0, "{what}: {slot}");
                assert_eq!(slot["erlangs"], 0.0, "{what}: {slot}");
                assert_eq!(slot["agentsRequired"], 0, "{what}: {slot}");
                assert_eq!(slot["staffRequired"], 0.0, "{what}: {slot}");
                for field in [
                    "averageHandleSeconds",
                    "expectedServiceLevel",
                    "expectedAverageSpeedOfAnswer",
                    "probabilityOfWaiting",
                    "occupancy",
                ] {
                    assert!(slot[field].is_null(), "{what}: {field}: {slot}");
                }
            }
            Some(&(
                _,
                _,
                arrivals,
                handle,
                borrowed,
                erlangs,
                agents,
                staff,
                level,
                speed,
                waiting,
                occupancy,
            )) => {
                assert_close(
                    &slot["arrivalsPerHour"],
                    arrivals,
                    &format!("{what}: arrivals"),
                );
                assert_close(
                    &slot["averageHandleSeconds"],
                    handle,
                    &format!("{what}: AHT"),
                );
                assert_eq!(slot["handleTimeFromWholeRange"], borrowed, "{what}");
                assert_close(&slot["erlangs"], erlangs, &format!("{what}: Erlangs"));
                assert_eq!(slot["agentsRequired"], agents, "{what}");
                assert_close(&slot["staffRequired"], staff, &format!("{what}: staff"));
                assert_close(&slot["expectedServiceLevel"], level, &format!("{what}: SL"));
                assert_close(
                    &slot["expectedAverageSpeedOfAnswer"],
                    speed,
                    &format!("{what}: ASA"),
                );
                assert_close(
                    &slot["probabilityOfWaiting"],
                    waiting,
                    &format!("{what}: P(wait)"),
                );
                assert_close(&slot["occupancy"], occupancy, &format!("{what}: occupancy"));
            }
        }
    }
}

#[tokio::test]
async fn a_staffing_plan_matches_hand_computation() {
    let world = World::spawn().await;
    world.load_interactions().await;
    let november = ("2026-10-01", "2026-12-31");
    // Counted: approved, OFFICE-A, PHONE, covering the whole range → 4 h/week.
    world
        .allocation("OFFICE-A", "PHONE", november, 4.0, Some(true))
        .await;
    // Counted in part: approved from 11-09, i.e. 8 of the range's 15 days → 15 × 8/15 = 8.
    world
        .allocation(
            "OFFICE-A",
            "PHONE",
            ("2026-11-09", "2026-12-31"),
            15.0,
            Some(true),
        )
        .await;
    // Not counted: still proposed; rejected; another channel; a team's own allocation (the
    // plan compares the unit's own allocations only); approved but after the range.
    world
        .allocation("OFFICE-A", "PHONE", november, 40.0, None)
        .await;
    world
        .allocation("OFFICE-A", "PHONE", november, 60.0, Some(false))
        .await;
    world
        .allocation("OFFICE-A", "CHAT", november, 100.0, Some(true))
        .await;
    world
        .allocation("TEAM-A1", "PHONE", november, 50.0, Some(true))
        .await;
    world
        .allocation(
            "OFFICE-A",
            "PHONE",
            ("2026-11-17", "2026-12-31"),
            30.0,
            Some(true),
        )
        .await;

    let plan = world
        .plan_ok(&world.admin, arguments("OFFICE-A", "PHONE", json!({})))
        .await;
    assert_eq!(plan["orgUnit"]["code"], "OFFICE-A");
    assert_eq!(plan["channel"], "PHONE");
    assert_eq!(plan["from"], "2026-11-02");
    assert_eq!(plan["to"], "2026-11-16");
    assert_eq!(plan["thresholdSeconds"], 20);
    assert_close(&plan["targetServiceLevel"], 0.8, "target");
    assert_close(&plan["shrinkage"], 0.25, "shrinkage");
    assert_eq!(plan["timeZone"], "America/New_York");
    check_slots(&plan["slots"], &OFFICE_A_PHONE);
    // Required: (2 + 1 + 1 + 1 + 14) agents ÷ 0.75 = 76/3 staff hours per week.
    assert_close(&plan["requiredStaffHoursPerWeek"], 76.0 / 3.0, "required");
    // Approved: 4 + 8 = 12.
    assert_close(&plan["approvedStaffHoursPerWeek"], 12.0, "approved");
    // Gap: 76/3 − 12 = 40/3 (understaffed).
    assert_close(&plan["gapStaffHoursPerWeek"], 40.0 / 3.0, "gap");

    // The supervisor of OFFICE-A and the analyst see the same plan.
    for token in [&world.supervisor, &world.analyst] {
        let same = world
            .plan_ok(token, arguments("OFFICE-A", "PHONE", json!({})))
            .await;
        assert_eq!(same, plan);
    }

    // CHAT: only n1, Monday 09, 1 ÷ 3 = 1/3 per hour, AHT 300, A = 1/36, 1 agent → 4/3 staff
    // hours; the approved CHAT allocation is 100 → gap 4/3 − 100 = −296/3 (overstaffed).
    let chat = world
        .plan_ok(&world.admin, arguments("OFFICE-A", "CHAT", json!({})))
        .await;
    // 1 agent with A = 1/36: C = 1/36, SL = 1 − (1/36)·e^{−(35/36)·20/300} = 0.9739655275,
    // ASA = (1/36) × 300 / (35/36) = 8.571428571.
    check_slots(
        &chat["slots"],
        &[(
            1,
            9,
            1.0 / 3.0,
            300.0,
            false,
            1.0 / 36.0,
            1,
            4.0 / 3.0,
            0.9739655275,
            8.571428571,
            1.0 / 36.0,
            1.0 / 36.0,
        )],
    );
    assert_close(
        &chat["requiredStaffHoursPerWeek"],
        4.0 / 3.0,
        "chat required",
    );
    assert_close(&chat["approvedStaffHoursPerWeek"], 100.0, "chat approved");
    assert_close(&chat["gapStaffHoursPerWeek"], -296.0 / 3.0, "chat gap");

    // TEAM-A1 alone: Monday 09 loses m3 (TEAM-A2): 5 ÷ 3 Mondays per hour; its own approved
    // PHONE allocation is the 50 h/week one.
    let team = world
        .plan_ok(&world.admin, arguments("TEAM-A1", "PHONE", json!({})))
        .await;
    assert_close(
        &team["slots"][9]["arrivalsPerHour"],
        5.0 / 3.0,
        "TEAM-A1 Monday 09",
    );
    assert_close(&team["approvedStaffHoursPerWeek"], 50.0, "TEAM-A1 approved");
    assert_eq!(team["slots"][10]["agentsRequired"], 0, "m7 is TEAM-A2's");
}

#[tokio::test]
async fn a_staffing_plan_costs_a_fixed_number_of_statements() {
    let world = World::spawn().await;
    world.load_interactions().await;
    let variables = arguments("OFFICE-A", "PHONE", json!({}));
    world.plan_ok(&world.admin, variables.clone()).await;
    let before = world.app.database.statements_executed();
    world.plan_ok(&world.admin, variables).await;
    let statements = world.app.database.statements_executed() - before;
    // The session check of the bearer token, the org unit, the history, the allocations.
    assert_eq!(statements, 4);
}

#[tokio::test]
async fn staffing_plans_are_refused_outside_the_rules_and_the_callers_scope() {
    let world = World::spawn().await;
    let expect = |body: &Value, code: &str, field: Option<&str>| {
        assert_eq!(first_error_code(body), Some(code), "{body}");
        assert!(
            body["data"].is_null() || body["data"]["staffingPlan"].is_null(),
            "{body}"
        );
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
    };
    let admin = world.admin.as_str();
    // Channels without a queue.
    for channel in ["EMAIL", "IN_PERSON", "WEB_SELF_SERVICE"] {
        let body = world
            .plan(Some(admin), arguments("OFFICE-A", channel, json!({})))
            .await;
        expect(&body, "BAD_USER_INPUT", Some("channel"));
    }
    for (changes, field) in [
        (json!({ "target": 1.0 }), "targetServiceLevel"),
        (json!({ "target": 0.0 }), "targetServiceLevel"),
        (json!({ "threshold": 0 }), "thresholdSeconds"),
        (json!({ "shrinkage": 1.0 }), "shrinkage"),
        (json!({ "shrinkage": -0.2 }), "shrinkage"),
        (json!({ "to": "2026-11-01" }), "to"),
        (json!({ "unit": "NO-SUCH-UNIT" }), "orgUnitCode"),
    ] {
        let body = world
            .plan(Some(admin), arguments("OFFICE-A", "PHONE", changes))
            .await;
        expect(&body, "BAD_USER_INPUT", Some(field));
    }
    // Roles without PlanStaffing.
    for token in [&world.agent, &world.auditor, &world.ingest] {
        let body = world
            .plan(Some(token), arguments("OFFICE-A", "PHONE", json!({})))
            .await;
        expect(&body, "FORBIDDEN", None);
    }
    let body = world
        .plan(None, arguments("OFFICE-A", "PHONE", json!({})))
        .await;
    expect(&body, "UNAUTHENTICATED", None);
    // The OFFICE-A supervisor: another office and the agency above are outside the subtree.
    for unit in ["OFFICE-B", "TEAM-B1", "AGENCY"] {
        let body = world
            .plan(Some(&world.supervisor), arguments(unit, "PHONE", json!({})))
            .await;
        expect(&body, "FORBIDDEN", None);
    }
    // …while a team inside it is planned (an empty history: every slot needs nobody).
    let team = world
        .plan_ok(&world.supervisor, arguments("TEAM-A2", "PHONE", json!({})))
        .await;
    assert_eq!(team["requiredStaffHoursPerWeek"], 0.0);
    assert_eq!(team["gapStaffHoursPerWeek"], 0.0);
}
