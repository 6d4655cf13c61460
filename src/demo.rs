//! Demo data for `serve --demo`: a small, realistic Business Action Center.
//!
//! One agency, two regional offices, four teams; six inquiry topics; users of every role; about
//! 90 days of interactions on every channel (weekday and hour-of-day seasonality, abandoned
//! calls, transfers, repeat contacts, self-service followed by a call) and the post-call,
//! live-chat and follow-up surveys about them; training courses and assignments, resource
//! allocations and service standards. The generator is seeded, so every demo database is alike.
//! Seeding runs once: a database that already has the agency is left as it is.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    db::{
        enums::{Channel, Outcome, Role, SurveyKind},
        schema::{
            customers, org_units, resource_allocations, service_standards, training_assignments,
            training_courses, users,
        },
    },
    error::{AppError, AppResult},
    import::{self, Format, ImportContext, ImportKind},
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

/// A team, its channels and its agents' emails.
struct Team {
    code: &'static str,
    office: &'static str,
    channels: &'static [Channel],
    agents: Vec<String>,
}

/// One generated interaction, in the terms of the import format.
struct Planned {
    external_id: String,
    channel: Channel,
    team: &'static str,
    agent_email: Option<String>,
    customer: Option<usize>,
    topic: &'static str,
    started_at: DateTime<Utc>,
    wait_seconds: Option<i32>,
    handle_seconds: Option<i32>,
    transfers: i32,
    abandoned: bool,
    outcome: Option<Outcome>,
}

const TOPICS: [(&str, &str); 6] = [
    ("LICENSING", "Professional and business licensing"),
    ("PERMITS", "Permits and inspections"),
    ("TAX_REGISTRATION", "Tax registration"),
    ("BUSINESS_FORMATION", "Starting and registering a business"),
    ("GRANTS_FINANCING", "Grants, loans and financing"),
    ("COMPLIANCE", "Regulatory compliance"),
];

/// Builds a CSV document from a header and rows.
fn csv_document(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let to_error = |error: csv::Error| AppError::internal(format!("demo CSV: {error}"));
    writer.write_record(header).map_err(to_error)?;
    for row in rows {
        writer.write_record(&row).map_err(to_error)?;
    }
    writer
        .into_inner()
        .map_err(|error| AppError::internal(format!("demo CSV: {error}")))
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// Seeds the demo data unless the agency already exists. The organisation, people,
/// interactions and surveys go through the bulk importer, exactly as an integration's files
/// would. `password_hash` is the argon2id hash of [`DEMO_PASSWORD`] (hashed once by the caller,
/// off the async executor). `today` is the local date in `time_zone` the 90 days end before.
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
        let context = ImportContext {
            actor: Actor::operator(),
            request_id: None,
            batch_size: 1_000,
        };
        let import = |connection: &mut PgConnection,
                      kind: ImportKind,
                      document: Vec<u8>|
         -> AppResult<u64> {
            let report = import::run(connection, kind, Format::Csv, document.as_slice(), &context)?;
            if report.rejected > 0 || report.conflicts > 0 {
                return Err(AppError::internal(format!(
                    "the demo {kind} file was not accepted whole: {:?} {:?}",
                    report.rejected_rows, report.conflict_rows
                )));
            }
            Ok(report.inserted)
        };
        let mut report = SeedReport::default();

        // Organisation: agency → two offices → four teams.
        let mut teams = vec![
            Team {
                code: "NORTH-PHONE",
                office: "BAC-NORTH",
                channels: &[Channel::Phone, Channel::Mail],
                agents: vec![],
            },
            Team {
                code: "NORTH-DIGITAL",
                office: "BAC-NORTH",
                channels: &[Channel::Chat, Channel::Email],
                agents: vec![],
            },
            Team {
                code: "SOUTH-PHONE",
                office: "BAC-SOUTH",
                channels: &[Channel::Phone, Channel::Email],
                agents: vec![],
            },
            Team {
                code: "SOUTH-WALKIN",
                office: "BAC-SOUTH",
                channels: &[Channel::InPerson, Channel::Chat],
                agents: vec![],
            },
        ];
        let team_names = [
            "North Phone Team",
            "North Digital Team",
            "South Phone Team",
            "South Walk-in Center",
        ];
        let mut units = vec![
            vec![
                AGENCY_CODE.to_owned(),
                "Business Action Center".into(),
                String::new(),
            ],
            vec![
                "BAC-NORTH".into(),
                "North Regional Office".into(),
                AGENCY_CODE.into(),
            ],
            vec![
                "BAC-SOUTH".into(),
                "South Regional Office".into(),
                AGENCY_CODE.into(),
            ],
        ];
        units.extend(
            teams
                .iter()
                .zip(team_names)
                .map(|(team, name)| vec![team.code.into(), name.into(), team.office.into()]),
        );
        report.org_units = import(
            connection,
            ImportKind::OrgUnits,
            csv_document(&["code", "name", "parent_code"], units)?,
        )? as usize;
        report.topics = import(
            connection,
            ImportKind::Topics,
            csv_document(
                &["code", "name"],
                TOPICS
                    .iter()
                    .map(|(code, name)| vec![code.to_string(), name.to_string()]),
            )?,
        )? as usize;

        // People: every role; staff get the demo password, service accounts none.
        let mut people: Vec<(String, String, Role, &str)> = vec![
            (
                "admin@bac.example.gov".into(),
                "Avery Admin".into(),
                Role::Admin,
                AGENCY_CODE,
            ),
            (
                "auditor@bac.example.gov".into(),
                "Olive Oversight".into(),
                Role::Auditor,
                AGENCY_CODE,
            ),
            (
                "analyst@bac.example.gov".into(),
                "BI Service Account".into(),
                Role::Analyst,
                AGENCY_CODE,
            ),
            (
                "ingest@bac.example.gov".into(),
                "Telephony Integration".into(),
                Role::Ingest,
                AGENCY_CODE,
            ),
            (
                "supervisor.north@bac.example.gov".into(),
                "Sam North".into(),
                Role::Supervisor,
                "BAC-NORTH",
            ),
            (
                "supervisor.south@bac.example.gov".into(),
                "Sky South".into(),
                Role::Supervisor,
                "BAC-SOUTH",
            ),
        ];
        let first_names = [
            "Alex", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy",
            "Jordan", "Kai", "Logan",
        ];
        let mut name_index = 0;
        for (slug, team) in [
            "north.phone",
            "north.digital",
            "south.phone",
            "south.walkin",
        ]
        .iter()
        .zip(teams.iter_mut())
        {
            for number in 1..=3 {
                let email = format!("agent.{slug}.{number}@bac.example.gov");
                people.push((
                    email.clone(),
                    format!("{} {}", first_names[name_index], slug.replace('.', "-")),
                    Role::Agent,
                    team.code,
                ));
                team.agents.push(email);
                name_index += 1;
            }
        }
        report.users = import(
            connection,
            ImportKind::Users,
            csv_document(
                &["email", "display_name", "role", "org_unit_code"],
                people.iter().map(|(email, name, role, unit)| {
                    vec![
                        email.clone(),
                        name.clone(),
                        role.as_db_str().into(),
                        unit.to_string(),
                    ]
                }),
            )?,
        )? as usize;
        let staff: Vec<&str> = people
            .iter()
            .filter(|(_, _, role, _)| !matches!(role, Role::Analyst | Role::Ingest))
            .map(|(email, ..)| email.as_str())
            .collect();
        diesel::update(users::table.filter(users::email.eq_any(&staff)))
            .set(users::password_hash.eq(Some(password_hash)))
            .execute(connection)?;

        // Customers (their details travel with their interactions, as in a CRM export).
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
        let customer_count = 600;
        let customer_row = |index: usize| -> [String; 5] {
            [
                format!("CRM-{:06}", 100_000 + index),
                format!(
                    "{} {} LLC",
                    business_words[index % business_words.len()],
                    business_kinds[(index / business_words.len()) % business_kinds.len()]
                ),
                format!("Contact {index}"),
                format!("owner{index}@business.example.com"),
                format!("+1-555-{:04}", index),
            ]
        };

        // Interactions: 90 days, weekday and hour-of-day seasonality, repeat contacts, and
        // self-service visits followed by a call.
        let mut planned: Vec<Planned> = Vec::new();
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
                let topic = TOPICS[weighted_index(&mut rng, &[30, 25, 15, 15, 8, 7])].0;
                let customer = rng.gen_bool(0.8).then(|| rng.gen_range(0..customer_count));
                planned.push(plan_interaction(
                    &mut rng, &teams, channel, started_at, topic, customer, sequence,
                ));
                let follow_up_call =
                    !channel.is_assisted() && customer.is_some() && rng.gen_bool(0.3);
                let repeat_call = channel.is_assisted() && customer.is_some() && rng.gen_bool(0.08);
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
                            topic,
                            customer,
                            sequence,
                        ));
                    }
                }
            }
        }
        let interaction_rows = planned.iter().map(|plan| {
            let customer = plan.customer.map(customer_row);
            let customer_cell = |index: usize| {
                customer
                    .as_ref()
                    .map(|row| row[index].clone())
                    .unwrap_or_default()
            };
            vec![
                SOURCE.into(),
                plan.external_id.clone(),
                plan.channel.as_file_str(),
                plan.team.into(),
                optional(plan.agent_email.clone()),
                customer_cell(0),
                customer_cell(1),
                customer_cell(2),
                customer_cell(3),
                customer_cell(4),
                plan.topic.into(),
                plan.started_at.to_rfc3339(),
                optional(plan.wait_seconds),
                optional(plan.handle_seconds),
                plan.transfers.to_string(),
                plan.abandoned.to_string(),
                optional(plan.outcome.map(|outcome| outcome.as_db_str())),
            ]
        });
        report.interactions = import(
            connection,
            ImportKind::Interactions,
            csv_document(ImportKind::Interactions.columns(), interaction_rows)?,
        )? as usize;
        report.customers = customers::table.count().get_result::<i64>(connection)? as usize;

        // Surveys: invitations after about half the answered calls and chats, responses to about
        // a third of those, and follow-up assessments for a sample of other assisted contacts.
        let mut invitations = Vec::new();
        let mut responses = Vec::new();
        for plan in &planned {
            if plan.abandoned {
                continue;
            }
            let kind = match plan.channel {
                Channel::Phone => SurveyKind::PostCall,
                Channel::Chat => SurveyKind::LiveChat,
                channel => {
                    if channel.is_assisted() && rng.gen_bool(0.05) {
                        let submitted_at = plan.started_at + Duration::days(rng.gen_range(3..10));
                        if submitted_at.with_timezone(&time_zone).date_naive() < today {
                            responses.push(survey_answers(
                                &mut rng,
                                plan,
                                SurveyKind::FollowUp,
                                submitted_at,
                            ));
                        }
                    }
                    continue;
                }
            };
            if !rng.gen_bool(0.55) {
                continue;
            }
            let sent_at = plan.started_at + Duration::minutes(5);
            invitations.push(vec![
                SOURCE.into(),
                format!("inv-{}", plan.external_id),
                SOURCE.into(),
                plan.external_id.clone(),
                kind.as_file_str(),
                sent_at.to_rfc3339(),
            ]);
            if rng.gen_bool(0.35) {
                let submitted_at = sent_at + Duration::minutes(rng.gen_range(2..2_000));
                if submitted_at < Utc::now() {
                    responses.push(survey_answers(&mut rng, plan, kind, submitted_at));
                }
            }
        }
        report.survey_invitations = import(
            connection,
            ImportKind::SurveyInvitations,
            csv_document(ImportKind::SurveyInvitations.columns(), invitations)?,
        )? as usize;
        report.survey_responses = import(
            connection,
            ImportKind::SurveyResponses,
            csv_document(ImportKind::SurveyResponses.columns(), responses)?,
        )? as usize;

        seed_programme(connection, today)?;

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
fn seed_programme(connection: &mut PgConnection, today: NaiveDate) -> AppResult<()> {
    let user = |connection: &mut PgConnection, email: &str| -> AppResult<i64> {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(connection)?)
    };
    let unit = |connection: &mut PgConnection, code: &str| -> AppResult<i64> {
        Ok(org_units::table
            .filter(org_units::code.eq(code))
            .select(org_units::id)
            .first(connection)?)
    };
    let admin = user(connection, "admin@bac.example.gov")?;
    let supervisor = user(connection, "supervisor.north@bac.example.gov")?;
    let north = unit(connection, "BAC-NORTH")?;
    let north_phone = unit(connection, "NORTH-PHONE")?;
    let first_phone_agent = user(connection, "agent.north.phone.1@bac.example.gov")?;
    let second_digital_agent = user(connection, "agent.north.digital.2@bac.example.gov")?;

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
                training_assignments::agent_id.eq(first_phone_agent),
                training_assignments::course_id.eq(courses[0]),
                training_assignments::assigned_by.eq(supervisor),
                training_assignments::reason.eq("FCR below team average last quarter"),
                training_assignments::due_at.eq(Some(now + Duration::days(30))),
                training_assignments::completed_at.eq(None::<DateTime<Utc>>),
            ),
            (
                training_assignments::agent_id.eq(second_digital_agent),
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
                resource_allocations::org_unit_id.eq(north_phone),
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

fn plan_interaction(
    rng: &mut StdRng,
    teams: &[Team],
    channel: Channel,
    started_at: DateTime<Utc>,
    topic: &'static str,
    customer: Option<usize>,
    sequence: u32,
) -> Planned {
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
    Planned {
        external_id: format!("demo-{sequence:07}"),
        channel,
        team: team.code,
        agent_email: assisted.then(|| team.agents[rng.gen_range(0..team.agents.len())].clone()),
        customer,
        topic,
        started_at,
        wait_seconds,
        handle_seconds,
        transfers,
        abandoned,
        outcome,
    }
}

/// A survey-responses row about `plan`, in the import format.
fn survey_answers(
    rng: &mut StdRng,
    plan: &Planned,
    kind: SurveyKind,
    submitted_at: DateTime<Utc>,
) -> Vec<String> {
    let resolved = plan.outcome == Some(Outcome::Resolved);
    let mut likert = |skip: f64| -> String {
        if rng.gen_bool(skip) {
            return String::new();
        }
        let weights: &[u32] = if resolved {
            &[2, 3, 8, 35, 52]
        } else {
            &[14, 18, 26, 27, 15]
        };
        (weighted_index(rng, weights) + 1).to_string()
    };
    let answers = [
        likert(0.02),
        likert(0.1),
        likert(0.1),
        likert(0.1),
        likert(0.1),
        likert(0.15),
        likert(0.05),
    ];
    let comments = [
        "Quick and clear, thank you.",
        "Took two calls to get the right form.",
        "The agent explained the permit steps well.",
        "Website sent me in circles before I called.",
    ];
    let said_resolved = (!rng.gen_bool(0.1)).then(|| {
        if resolved {
            rng.gen_bool(0.9)
        } else {
            rng.gen_bool(0.2)
        }
    });
    let comment = rng
        .gen_bool(0.2)
        .then(|| comments[rng.gen_range(0..comments.len())].to_owned());
    let mut row = vec![
        SOURCE.to_owned(),
        format!("resp-{}-{}", kind.as_file_str(), plan.external_id),
        SOURCE.to_owned(),
        plan.external_id.clone(),
        kind.as_file_str(),
        submitted_at.to_rfc3339(),
    ];
    row.extend(answers);
    row.push(optional(said_resolved));
    row.push(comment.unwrap_or_default());
    row
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
