//! Demo data for `serve --demo`: a small, realistic Business Action Center.
//!
//! One agency, two regional offices, four teams; six inquiry topics; users of every role; about
//! 90 days of interactions on every channel (weekday and hour-of-day seasonality, abandoned
//! calls, transfers, repeat contacts, self-service followed by a call) and the post-call,
//! live-chat and follow-up surveys about them; training courses and assignments, resource
//! allocations and service standards. The generator is seeded, so every demo database is alike.
//! Seeding runs once: a database that already has the agency is left as it is.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    db::{
        enums::{Channel, Outcome, Role, SurveyKind},
        models::{
            NewCustomer, NewInteraction, NewOrgUnit, NewSurveyInvitation, NewSurveyResponse,
            NewTopic, NewUser,
        },
        schema::{
            customers, interactions, org_units, resource_allocations, service_standards,
            survey_invitations, survey_responses, topics, training_assignments, training_courses,
            users,
        },
    },
    error::AppResult,
};

/// The password of every demo user who has one.
pub const DEMO_PASSWORD: &str = "bac-demo-password";
/// The agency's code; its presence means the demo data is already there.
pub const AGENCY_CODE: &str = "BAC";
const SOURCE: &str = "demo";
const DAYS: i64 = 90;

/// One demo account per role, for printing tokens.
pub const ROLE_ACCOUNTS: &[(Role, &str)] = &[
    (Role::Admin, "admin@bac.example.gov"),
    (Role::Auditor, "auditor@bac.example.gov"),
    (Role::Analyst, "analyst@bac.example.gov"),
    (Role::Supervisor, "supervisor.north@bac.example.gov"),
    (Role::Agent, "agent.north.phone.1@bac.example.gov"),
    (Role::Ingest, "ingest@bac.example.gov"),
];

/// What seeding created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub already_present: bool,
    pub org_units: usize,
    pub topics: usize,
    pub users: usize,
    pub customers: usize,
    pub interactions: usize,
    pub survey_invitations: usize,
    pub survey_responses: usize,
}

/// `(id, channel, started_at, abandoned, outcome, org_unit_id)` of an inserted interaction.
type InsertedInteraction = (i64, Channel, DateTime<Utc>, bool, Option<Outcome>, i64);

struct Team {
    id: i64,
    office_id: i64,
    channels: &'static [Channel],
    agents: Vec<i64>,
}

/// Seeds the demo data unless the agency already exists. `password_hash` is the argon2id hash of
/// [`DEMO_PASSWORD`] (hashed once by the caller, off the async executor). `today` is the local
/// date in `time_zone` the 90 days end before.
pub fn seed(
    connection: &mut PgConnection,
    password_hash: &str,
    time_zone: Tz,
    today: NaiveDate,
) -> AppResult<SeedReport> {
    connection.transaction(|connection| {
        let exists: i64 = org_units::table
            .filter(org_units::code.eq(AGENCY_CODE))
            .count()
            .get_result(connection)?;
        if exists > 0 {
            return Ok(SeedReport {
                already_present: true,
                ..SeedReport::default()
            });
        }
        let mut rng = StdRng::seed_from_u64(20_261_122);
        let mut report = SeedReport::default();

        // Organisation.
        let unit = |connection: &mut PgConnection, code: &str, name: &str, parent: Option<i64>| {
            diesel::insert_into(org_units::table)
                .values(NewOrgUnit {
                    code,
                    name,
                    parent_id: parent,
                })
                .returning(org_units::id)
                .get_result::<i64>(connection)
        };
        let agency = unit(connection, AGENCY_CODE, "Business Action Center", None)?;
        let north = unit(
            connection,
            "BAC-NORTH",
            "North Regional Office",
            Some(agency),
        )?;
        let south = unit(
            connection,
            "BAC-SOUTH",
            "South Regional Office",
            Some(agency),
        )?;
        let team_specs: [(&str, &str, i64, &'static [Channel]); 4] = [
            (
                "NORTH-PHONE",
                "North Phone Team",
                north,
                &[Channel::Phone, Channel::Mail],
            ),
            (
                "NORTH-DIGITAL",
                "North Digital Team",
                north,
                &[Channel::Chat, Channel::Email],
            ),
            (
                "SOUTH-PHONE",
                "South Phone Team",
                south,
                &[Channel::Phone, Channel::Email],
            ),
            (
                "SOUTH-WALKIN",
                "South Walk-in Center",
                south,
                &[Channel::InPerson, Channel::Chat],
            ),
        ];
        let mut teams = Vec::new();
        for (code, name, office, channels) in team_specs {
            let id = unit(connection, code, name, Some(office))?;
            teams.push(Team {
                id,
                office_id: office,
                channels,
                agents: Vec::new(),
            });
        }
        report.org_units = 3 + teams.len();

        // Topics.
        let topic_specs = [
            ("LICENSING", "Professional and business licensing"),
            ("PERMITS", "Permits and inspections"),
            ("TAX_REGISTRATION", "Tax registration"),
            ("BUSINESS_FORMATION", "Starting and registering a business"),
            ("GRANTS_FINANCING", "Grants, loans and financing"),
            ("COMPLIANCE", "Regulatory compliance"),
        ];
        let mut topic_ids = Vec::new();
        for (code, name) in topic_specs {
            topic_ids.push(
                diesel::insert_into(topics::table)
                    .values(NewTopic { code, name })
                    .returning(topics::id)
                    .get_result::<i64>(connection)?,
            );
        }
        report.topics = topic_ids.len();

        // Users.
        let add_user = |connection: &mut PgConnection,
                        email: &str,
                        name: &str,
                        role: Role,
                        org_unit_id: i64,
                        with_password: bool| {
            diesel::insert_into(users::table)
                .values(NewUser {
                    email,
                    display_name: name,
                    role,
                    org_unit_id,
                    password_hash: with_password.then_some(password_hash),
                })
                .returning(users::id)
                .get_result::<i64>(connection)
        };
        let admin = add_user(
            connection,
            "admin@bac.example.gov",
            "Avery Admin",
            Role::Admin,
            agency,
            true,
        )?;
        add_user(
            connection,
            "auditor@bac.example.gov",
            "Olive Oversight",
            Role::Auditor,
            agency,
            true,
        )?;
        add_user(
            connection,
            "analyst@bac.example.gov",
            "BI Service Account",
            Role::Analyst,
            agency,
            false,
        )?;
        add_user(
            connection,
            "ingest@bac.example.gov",
            "Telephony Integration",
            Role::Ingest,
            agency,
            false,
        )?;
        let supervisor_north = add_user(
            connection,
            "supervisor.north@bac.example.gov",
            "Sam North",
            Role::Supervisor,
            north,
            true,
        )?;
        let supervisor_south = add_user(
            connection,
            "supervisor.south@bac.example.gov",
            "Sky South",
            Role::Supervisor,
            south,
            true,
        )?;
        let first_names = [
            "Alex", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy",
            "Jordan", "Kai", "Logan",
        ];
        let mut name_index = 0;
        for (team_code, team) in [
            "north.phone",
            "north.digital",
            "south.phone",
            "south.walkin",
        ]
        .iter()
        .zip(teams.iter_mut())
        {
            for number in 1..=3 {
                let email = format!("agent.{team_code}.{number}@bac.example.gov");
                let name = format!(
                    "{} {}",
                    first_names[name_index],
                    team_code.replace('.', "-")
                );
                name_index += 1;
                team.agents.push(add_user(
                    connection,
                    &email,
                    &name,
                    Role::Agent,
                    team.id,
                    true,
                )?);
            }
        }
        report.users = 6 + 12;

        // Customers.
        let business_words = [
            "Maple",
            "Harbor",
            "Summit",
            "Prairie",
            "Granite",
            "Willow",
            "Beacon",
            "Cedar",
            "Riverside",
            "Lakeside",
        ];
        let business_kinds = [
            "Bakery",
            "Construction",
            "Consulting",
            "Auto Repair",
            "Salon",
            "Farm",
            "Brewing",
            "Dental",
            "Landscaping",
            "Tech",
        ];
        let new_customers: Vec<NewCustomer> = (0..600)
            .map(|index| NewCustomer {
                customer_ref: format!("CRM-{:06}", 100_000 + index),
                business_name: Some(format!(
                    "{} {} LLC",
                    business_words[index % business_words.len()],
                    business_kinds[(index / business_words.len()) % business_kinds.len()]
                )),
                contact_name: Some(format!("Contact {index}")),
                email: Some(format!("owner{index}@business.example.com")),
                phone: Some(format!("+1-555-{:04}", index)),
            })
            .collect();
        let customer_ids: Vec<i64> = diesel::insert_into(customers::table)
            .values(&new_customers)
            .returning(customers::id)
            .get_results(connection)?;
        report.customers = customer_ids.len();

        // Interactions.
        let mut planned: Vec<NewInteraction> = Vec::new();
        let first_day = today - Duration::days(DAYS);
        let mut sequence = 0_u32;
        for day_offset in 0..DAYS {
            let day = first_day + Duration::days(day_offset);
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            let volume = if weekend {
                rng.gen_range(15..30)
            } else {
                rng.gen_range(110..160)
            };
            for _ in 0..volume {
                sequence += 1;
                let channel = pick_channel(&mut rng, weekend);
                let hour = if channel.is_assisted() && !weekend {
                    pick_business_hour(&mut rng)
                } else {
                    rng.gen_range(0..24)
                };
                let started_at = local_time(
                    time_zone,
                    day,
                    hour,
                    rng.gen_range(0..60),
                    rng.gen_range(0..60),
                );
                let topic_id = topic_ids[weighted_index(&mut rng, &[30, 25, 15, 15, 8, 7])];
                let customer_id =
                    (rng.gen_bool(0.8)).then(|| customer_ids[rng.gen_range(0..customer_ids.len())]);
                planned.push(plan_interaction(
                    &mut rng,
                    &teams,
                    channel,
                    started_at,
                    topic_id,
                    customer_id,
                    sequence,
                ));
                // Some self-service visits end in a call the next hours; some calls repeat.
                let follow_up_call =
                    !channel.is_assisted() && customer_id.is_some() && rng.gen_bool(0.3);
                let repeat_call =
                    channel.is_assisted() && customer_id.is_some() && rng.gen_bool(0.08);
                if follow_up_call || repeat_call {
                    sequence += 1;
                    let delay = if follow_up_call {
                        Duration::minutes(rng.gen_range(10..600))
                    } else {
                        Duration::hours(rng.gen_range(2..120))
                    };
                    let later = started_at + delay;
                    if later.with_timezone(&time_zone).date_naive() < today {
                        planned.push(plan_interaction(
                            &mut rng,
                            &teams,
                            Channel::Phone,
                            later,
                            topic_id,
                            customer_id,
                            sequence,
                        ));
                    }
                }
            }
        }
        let mut inserted: Vec<InsertedInteraction> = Vec::new();
        for chunk in planned.chunks(2_000) {
            inserted.extend(
                diesel::insert_into(interactions::table)
                    .values(chunk)
                    .returning((
                        interactions::id,
                        interactions::channel,
                        interactions::started_at,
                        interactions::abandoned,
                        interactions::outcome,
                        interactions::org_unit_id,
                    ))
                    .get_results::<(i64, Channel, DateTime<Utc>, bool, Option<Outcome>, i64)>(
                        connection,
                    )?,
            );
        }
        report.interactions = inserted.len();

        // Surveys: invitations after answered calls and chats, responses to about a third, and
        // follow-up assessments recorded by supervisors for a sample of resolved contacts.
        let mut invitations = Vec::new();
        let mut invitation_plans = Vec::new();
        let mut follow_ups = Vec::new();
        let supervisor_by_office: HashMap<i64, i64> = teams
            .iter()
            .map(|team| {
                (
                    team.id,
                    if team.office_id == north {
                        supervisor_north
                    } else {
                        supervisor_south
                    },
                )
            })
            .collect();
        for &(id, channel, started_at, abandoned, outcome, org_unit_id) in &inserted {
            if abandoned {
                continue;
            }
            let kind = match channel {
                Channel::Phone => SurveyKind::PostCall,
                Channel::Chat => SurveyKind::LiveChat,
                _ => {
                    if channel.is_assisted() && outcome.is_some() && rng.gen_bool(0.05) {
                        let submitted_at = started_at + Duration::days(rng.gen_range(3..10));
                        follow_ups.push(survey_answers(
                            &mut rng,
                            id,
                            SurveyKind::FollowUp,
                            submitted_at,
                            outcome,
                            None,
                            supervisor_by_office.get(&org_unit_id).copied(),
                        ));
                    }
                    continue;
                }
            };
            if !rng.gen_bool(0.55) {
                continue;
            }
            let sent_at = started_at + Duration::minutes(5);
            let answers = rng.gen_bool(0.35);
            let responded_at =
                answers.then(|| sent_at + Duration::minutes(rng.gen_range(2..2_000)));
            invitations.push(NewSurveyInvitation {
                source: Some(SOURCE.into()),
                external_id: Some(format!("inv-{id}")),
                interaction_id: id,
                kind,
                sent_at,
                expires_at: Some(sent_at + Duration::days(14)),
                token_hash: None,
                responded_at,
            });
            invitation_plans.push((id, kind, responded_at, outcome));
        }
        let mut invitation_ids = Vec::new();
        for chunk in invitations.chunks(5_000) {
            invitation_ids.extend(
                diesel::insert_into(survey_invitations::table)
                    .values(chunk)
                    .returning(survey_invitations::id)
                    .get_results::<i64>(connection)?,
            );
        }
        report.survey_invitations = invitation_ids.len();
        let mut responses = follow_ups;
        for (invitation_id, (interaction_id, kind, responded_at, outcome)) in
            invitation_ids.into_iter().zip(invitation_plans)
        {
            if let Some(submitted_at) = responded_at {
                responses.push(survey_answers(
                    &mut rng,
                    interaction_id,
                    kind,
                    submitted_at,
                    outcome,
                    Some(invitation_id),
                    None,
                ));
            }
        }
        for chunk in responses.chunks(2_000) {
            diesel::insert_into(survey_responses::table)
                .values(chunk)
                .execute(connection)?;
        }
        report.survey_responses = responses.len();

        seed_programme(connection, admin, supervisor_north, north, &teams, today)?;

        audit::record(
            connection,
            Entry::new(Actor::operator(), "demo.seed", "database").after(json!({
                "org_units": report.org_units,
                "topics": report.topics,
                "users": report.users,
                "customers": report.customers,
                "interactions": report.interactions,
                "survey_invitations": report.survey_invitations,
                "survey_responses": report.survey_responses,
            })),
        )?;
        Ok(report)
    })
}

/// Training courses and assignments, resource allocations and service standards.
fn seed_programme(
    connection: &mut PgConnection,
    admin: i64,
    supervisor: i64,
    north: i64,
    teams: &[Team],
    today: NaiveDate,
) -> AppResult<()> {
    let courses: Vec<i64> = diesel::insert_into(training_courses::table)
        .values(&vec![
            (
                training_courses::code.eq("FCR-101"),
                training_courses::title.eq("Resolving on first contact"),
                training_courses::description.eq(Some("Diagnosis, ownership and warm transfers.")),
            ),
            (
                training_courses::code.eq("PLAIN-LANG"),
                training_courses::title.eq("Plain language for regulations"),
                training_courses::description.eq(Some(
                    "Explaining requirements so customers trust and act on them.",
                )),
            ),
            (
                training_courses::code.eq("CHAT-ETIQ"),
                training_courses::title.eq("Live chat etiquette and efficiency"),
                training_courses::description.eq(None::<&str>),
            ),
        ])
        .returning(training_courses::id)
        .get_results(connection)?;
    let now = Utc::now();
    diesel::insert_into(training_assignments::table)
        .values(&vec![
            (
                training_assignments::agent_id.eq(teams[0].agents[0]),
                training_assignments::course_id.eq(courses[0]),
                training_assignments::assigned_by.eq(supervisor),
                training_assignments::reason.eq("FCR below team average last quarter"),
                training_assignments::due_at.eq(Some(now + Duration::days(30))),
                training_assignments::completed_at.eq(None::<DateTime<Utc>>),
            ),
            (
                training_assignments::agent_id.eq(teams[1].agents[1]),
                training_assignments::course_id.eq(courses[2]),
                training_assignments::assigned_by.eq(supervisor),
                training_assignments::reason.eq("New to the chat queue"),
                training_assignments::due_at.eq(Some(now - Duration::days(20))),
                training_assignments::completed_at.eq(Some(now - Duration::days(25))),
            ),
        ])
        .execute(connection)?;
    let quarter_start = today - Duration::days(i64::from(today.ordinal0() % 91));
    diesel::insert_into(resource_allocations::table)
        .values(&vec![
            (
                resource_allocations::org_unit_id.eq(teams[0].id),
                resource_allocations::channel.eq(Channel::Phone),
                resource_allocations::period_start.eq(quarter_start),
                resource_allocations::period_end.eq(quarter_start + Duration::days(90)),
                resource_allocations::staff_hours_per_week.eq(120.0),
                resource_allocations::fte.eq(3.0),
                resource_allocations::budget_cents.eq(9_000_000_i64),
                resource_allocations::status.eq("approved"),
                resource_allocations::rationale.eq("Baseline phone staffing for the north office"),
                resource_allocations::proposed_by.eq(supervisor),
                resource_allocations::decided_by.eq(Some(admin)),
                resource_allocations::decided_at.eq(Some(now - Duration::days(40))),
            ),
            (
                resource_allocations::org_unit_id.eq(north),
                resource_allocations::channel.eq(Channel::Chat),
                resource_allocations::period_start.eq(quarter_start),
                resource_allocations::period_end.eq(quarter_start + Duration::days(90)),
                resource_allocations::staff_hours_per_week.eq(60.0),
                resource_allocations::fte.eq(1.5),
                resource_allocations::budget_cents.eq(4_500_000_i64),
                resource_allocations::status.eq("proposed"),
                resource_allocations::rationale.eq("Chat abandonment rose above 10% at lunchtime"),
                resource_allocations::proposed_by.eq(supervisor),
                resource_allocations::decided_by.eq(None::<i64>),
                resource_allocations::decided_at.eq(None::<DateTime<Utc>>),
            ),
        ])
        .execute(connection)?;
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    diesel::insert_into(service_standards::table)
        .values(
            &vec![
                (
                    service_standards::metric.eq("SERVICE_LEVEL"),
                    service_standards::comparator.eq("AT_LEAST"),
                    service_standards::target.eq(0.8),
                    service_standards::channel.eq(Some(Channel::Phone)),
                    service_standards::threshold_seconds.eq(Some(30)),
                    service_standards::description
                        .eq(Some("80% of calls answered within 30 seconds")),
                ),
                (
                    service_standards::metric.eq("CSAT"),
                    service_standards::comparator.eq("AT_LEAST"),
                    service_standards::target.eq(0.85),
                    service_standards::channel.eq(None::<Channel>),
                    service_standards::threshold_seconds.eq(None::<i32>),
                    service_standards::description.eq(Some("85% of surveyed customers satisfied")),
                ),
                (
                    service_standards::metric.eq("ABANDONMENT_RATE"),
                    service_standards::comparator.eq("AT_MOST"),
                    service_standards::target.eq(0.08),
                    service_standards::channel.eq(None::<Channel>),
                    service_standards::threshold_seconds.eq(None::<i32>),
                    service_standards::description
                        .eq(Some("No more than 8% of queued contacts abandoned")),
                ),
            ]
            .into_iter()
            .map(|standard| {
                (
                    standard,
                    service_standards::effective_from.eq(year_start),
                    service_standards::created_by.eq(admin),
                )
            })
            .collect::<Vec<_>>(),
        )
        .execute(connection)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn plan_interaction(
    rng: &mut StdRng,
    teams: &[Team],
    channel: Channel,
    started_at: DateTime<Utc>,
    topic_id: i64,
    customer_id: Option<i64>,
    sequence: u32,
) -> NewInteraction {
    let candidates: Vec<&Team> = teams
        .iter()
        .filter(|team| team.channels.contains(&channel))
        .collect();
    let team = if candidates.is_empty() {
        &teams[rng.gen_range(0..teams.len())]
    } else {
        candidates[rng.gen_range(0..candidates.len())]
    };
    let queued = channel.is_queued();
    let abandoned = queued && rng.gen_bool(0.07);
    let assisted = channel.is_assisted() && !abandoned;
    let wait_seconds = queued.then(|| {
        let base: f64 = rng.gen_range(0.0_f64..1.0).powi(3) * 240.0;
        base as i32 + if abandoned { 40 } else { 0 }
    });
    let handle_seconds = assisted.then(|| match channel {
        Channel::Phone => rng.gen_range(120..900),
        Channel::Chat => rng.gen_range(180..1_200),
        Channel::Email | Channel::Mail => rng.gen_range(300..1_500),
        _ => rng.gen_range(600..2_400),
    });
    let transfers = if assisted && rng.gen_bool(0.12) {
        rng.gen_range(1..3)
    } else {
        0
    };
    let outcome = if abandoned {
        None
    } else if assisted {
        Some(match weighted_index(rng, &[72, 12, 9, 7]) {
            0 => Outcome::Resolved,
            1 => Outcome::Unresolved,
            2 => Outcome::Referred,
            _ => Outcome::Escalated,
        })
    } else {
        // Self-service: resolved when the visitor found an answer.
        Some(if rng.gen_bool(0.7) {
            Outcome::Resolved
        } else {
            Outcome::Unresolved
        })
    };
    NewInteraction {
        source: SOURCE.into(),
        external_id: format!("demo-{sequence:07}"),
        channel,
        org_unit_id: team.id,
        agent_id: assisted.then(|| team.agents[rng.gen_range(0..team.agents.len())]),
        customer_id,
        topic_id: Some(topic_id),
        started_at,
        wait_seconds,
        handle_seconds,
        transfers,
        abandoned,
        outcome,
    }
}

fn survey_answers(
    rng: &mut StdRng,
    interaction_id: i64,
    kind: SurveyKind,
    submitted_at: DateTime<Utc>,
    outcome: Option<Outcome>,
    invitation_id: Option<i64>,
    recorded_by: Option<i64>,
) -> NewSurveyResponse {
    let resolved = outcome == Some(Outcome::Resolved);
    let mut likert = |skip: f64| -> Option<i16> {
        if rng.gen_bool(skip) {
            return None;
        }
        let weights: &[u32] = if resolved {
            &[2, 3, 8, 35, 52]
        } else {
            &[14, 18, 26, 27, 15]
        };
        Some(weighted_index(rng, weights) as i16 + 1)
    };
    let satisfaction = likert(0.02);
    let trust = likert(0.1);
    let effectiveness = likert(0.1);
    let ease = likert(0.1);
    let efficiency = likert(0.1);
    let transparency = likert(0.15);
    let helpfulness = likert(0.05);
    let comments = [
        "Quick and clear, thank you.",
        "Took two calls to get the right form.",
        "The agent explained the permit steps well.",
        "Website sent me in circles before I called.",
    ];
    NewSurveyResponse {
        source: Some(SOURCE.into()),
        external_id: Some(format!("resp-{}-{interaction_id}", kind.as_db_str())),
        kind,
        interaction_id,
        invitation_id,
        recorded_by,
        submitted_at,
        satisfaction,
        trust,
        effectiveness,
        ease,
        efficiency,
        transparency,
        helpfulness,
        resolved: (!rng.gen_bool(0.1)).then(|| {
            if resolved {
                rng.gen_bool(0.9)
            } else {
                rng.gen_bool(0.2)
            }
        }),
        comment: rng
            .gen_bool(0.2)
            .then(|| comments[rng.gen_range(0..comments.len())].to_owned()),
    }
}

fn pick_channel(rng: &mut StdRng, weekend: bool) -> Channel {
    const WEEKDAY: [u32; 8] = [38, 20, 10, 6, 2, 14, 6, 4];
    const WEEKEND: [u32; 8] = [0, 0, 10, 0, 0, 60, 20, 10];
    let weights = if weekend { &WEEKEND } else { &WEEKDAY };
    Channel::ALL[weighted_index(rng, weights)]
}

/// Office hours 8–17 with a mid-morning and early-afternoon peak.
fn pick_business_hour(rng: &mut StdRng) -> u32 {
    const WEIGHTS: [u32; 9] = [6, 12, 15, 13, 9, 12, 13, 11, 9];
    8 + weighted_index(rng, &WEIGHTS) as u32
}

fn weighted_index(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.gen_range(0..total);
    for (index, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return index;
        }
        pick -= weight;
    }
    weights.len() - 1
}

fn local_time(time_zone: Tz, day: NaiveDate, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    let naive = day.and_hms_opt(hour, minute, second).unwrap_or_default();
    time_zone
        .from_local_datetime(&naive)
        .earliest()
        // A local time skipped by a DST change: take the same wall time an hour later.
        .or_else(|| {
            time_zone
                .from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}
