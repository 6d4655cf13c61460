//! Demo data for `serve --demo`: a small, realistic Business Action Center.
//!
//! One agency, two regional offices, four teams; six inquiry topics; users of every role; about
//! 90 days of interactions up to yesterday, and the reference quarter July–September 2026 that
//! the README's examples use, on every channel and the post-call, live-chat and follow-up surveys
//! about them, from the shared generator of [`crate::synthetic`], written as CSV files through
//! the bulk importer exactly as an integration's files would be; training courses and
//! assignments, resource allocations and service standards. The generator is seeded, so every
//! demo database is alike. Seeding runs once: a database that already has the agency is left as
//! it is.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    db::{
        enums::{Channel, MetricKind, Role, SurveyKind},
        schema::{
            customers, org_units, resource_allocations, service_standards, training_assignments,
            training_courses, users,
        },
    },
    error::AppResult,
    import::{ImportContext, ImportKind},
    records::{
        interactions::{CustomerDetails, InteractionSubmission},
        surveys::{InvitationSubmission, ResponseSubmission},
    },
    synthetic::{self, Generator, GeneratorSettings, Organisation},
};

/// The password of every demo user who has one.
pub const DEMO_PASSWORD: &str = "bac-demo-password";
/// The agency's code; its presence means the demo data is already there.
pub const AGENCY_CODE: &str = synthetic::AGENCY_CODE;
const SOURCE: &str = "demo";
const DAYS: u32 = 90;
const INTERACTIONS: u64 = 10_000;
const CUSTOMERS: u32 = 600;
const GENERATOR_SEED: u64 = 20_261_122;
/// The reference quarter every demo database covers, whenever it was seeded: July–September
/// 2026 (fiscal FY2027-Q1 with the default July fiscal year).
pub const REFERENCE_QUARTER_LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 9, 30) {
    Some(day) => day,
    None => panic!("a valid date"),
};
const REFERENCE_QUARTER_DAYS: u32 = 92;
const REFERENCE_QUARTER_INTERACTIONS: u64 = 4_000;

/// The first day of the reference quarter (2026-07-01).
pub fn reference_quarter_first_day() -> NaiveDate {
    REFERENCE_QUARTER_LAST_DAY - Duration::days(i64::from(REFERENCE_QUARTER_DAYS) - 1)
}

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
        let context = ImportContext {
            actor: Actor::operator(),
            request_id: None,
            batch_size: 1_000,
            max_line_bytes: crate::import::DEFAULT_MAX_LINE_BYTES,
            invitation_links: None,
        };
        let mut report = SeedReport::default();

        // Organisation and people: every role; staff get the demo password, service accounts
        // none.
        let organisation = Organisation::demo();
        let counts = synthetic::import_organisation(connection, &organisation, &context)?;
        report.org_units = counts.org_units as usize;
        report.topics = counts.topics as usize;
        report.users = counts.users as usize;
        let staff: Vec<String> = organisation
            .staff()
            .into_iter()
            .filter(|person| !matches!(person.role, Role::Analyst | Role::Ingest))
            .map(|person| person.email)
            .collect();
        diesel::update(users::table.filter(users::email.eq_any(&staff)))
            .set(users::password_hash.eq(Some(password_hash)))
            .execute(connection)?;

        // Interactions and surveys over the 90 days before `today`, and over the reference
        // quarter (July–September 2026), which the README's examples use: they keep working
        // however long after its release the demo is started.
        let mut windows = vec![(
            format!("{SOURCE}-"),
            today - Duration::days(i64::from(DAYS)),
            DAYS,
            INTERACTIONS,
        )];
        if REFERENCE_QUARTER_LAST_DAY < today {
            windows.push((
                format!("{SOURCE}-q-"),
                reference_quarter_first_day(),
                REFERENCE_QUARTER_DAYS,
                REFERENCE_QUARTER_INTERACTIONS,
            ));
        }
        for (id_prefix, first_day, days, interactions) in windows {
            let generator = Generator::new(
                GeneratorSettings {
                    source: SOURCE.into(),
                    id_prefix,
                    seed: GENERATOR_SEED,
                    interactions,
                    customers: CUSTOMERS,
                    first_day,
                    days,
                    time_zone,
                },
                organisation.clone(),
            );
            let contacts: Vec<_> = generator.collect();
            report.interactions += synthetic::import_rows(
                connection,
                ImportKind::Interactions,
                contacts
                    .iter()
                    .map(|contact| interaction_cells(&contact.interaction)),
                &context,
            )? as usize;
            report.survey_invitations += synthetic::import_rows(
                connection,
                ImportKind::SurveyInvitations,
                contacts
                    .iter()
                    .filter_map(|contact| contact.invitation.as_ref())
                    .map(invitation_cells),
                &context,
            )? as usize;
            report.survey_responses += synthetic::import_rows(
                connection,
                ImportKind::SurveyResponses,
                contacts
                    .iter()
                    .filter_map(|contact| contact.response.as_ref())
                    .map(response_cells),
                &context,
            )? as usize;
        }
        report.customers = customers::table.count().get_result::<i64>(connection)? as usize;

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

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// An interaction as a row of the interactions file.
fn interaction_cells(row: &InteractionSubmission) -> Vec<String> {
    let row = row.fields();
    let customer = row.customer.as_ref();
    let detail = |pick: fn(&CustomerDetails) -> Option<&str>| {
        customer.and_then(pick).unwrap_or_default().to_owned()
    };
    vec![
        row.key.source().to_owned(),
        row.key.external_id().to_owned(),
        row.channel.as_file_str(),
        row.org_unit.to_string(),
        optional(row.agent.as_ref()),
        detail(|customer| Some(customer.reference.as_str())),
        detail(|customer| customer.business_name.as_ref().map(|name| name.as_str())),
        detail(|customer| customer.contact_name.as_ref().map(|name| name.as_str())),
        detail(|customer| customer.email.as_ref().map(|email| email.as_str())),
        detail(|customer| customer.phone.as_ref().map(|phone| phone.as_str())),
        optional(row.topic.as_ref()),
        row.started_at.get().to_rfc3339(),
        optional(row.wait.map(|seconds| seconds.get())),
        optional(row.handle.map(|seconds| seconds.get())),
        row.transfers.to_string(),
        row.abandoned.to_string(),
        optional(row.outcome.map(|outcome| outcome.as_db_str())),
    ]
}

/// An invitation as a row of the survey-invitations file.
fn invitation_cells(row: &InvitationSubmission) -> Vec<String> {
    survey_cells(&row.key, &row.interaction, row.kind, row.sent_at.get())
}

/// A response as a row of the survey-responses file.
fn response_cells(row: &ResponseSubmission) -> Vec<String> {
    let answers = &row.answers;
    let mut cells = survey_cells(&row.key, &row.interaction, row.kind, row.submitted_at.get());
    cells.extend(
        crate::domain::LikertItem::ALL
            .into_iter()
            .map(|item| optional(answers.get(item).map(|answer| answer.get()))),
    );
    cells.extend([optional(answers.resolved()), optional(answers.comment())]);
    cells
}

/// The cells both survey files start with: the record's key, its interaction's key, the kind
/// and when it was sent or submitted.
fn survey_cells(
    key: &crate::domain::ExternalKey,
    interaction: &crate::domain::ExternalKey,
    kind: SurveyKind,
    at: DateTime<Utc>,
) -> Vec<String> {
    vec![
        key.source().to_owned(),
        key.external_id().to_owned(),
        interaction.source().to_owned(),
        interaction.external_id().to_owned(),
        kind.as_file_str(),
        at.to_rfc3339(),
    ]
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
                training_courses::addressed_metrics.eq(vec![
                    Some(MetricKind::FirstContactResolution),
                    Some(MetricKind::TransferRate),
                ]),
            ),
            (
                training_courses::code.eq("PLAIN-LANG"),
                training_courses::title.eq("Plain language for regulations"),
                training_courses::description.eq(Some(
                    "Explaining requirements so customers trust and act on them.",
                )),
                training_courses::addressed_metrics.eq(vec![
                    Some(MetricKind::Transparency),
                    Some(MetricKind::Trust),
                    Some(MetricKind::Ease),
                ]),
            ),
            (
                training_courses::code.eq("CHAT-ETIQ"),
                training_courses::title.eq("Live chat etiquette and efficiency"),
                training_courses::description.eq(None::<&str>),
                training_courses::addressed_metrics.eq(vec![
                    Some(MetricKind::Csat),
                    Some(MetricKind::Helpfulness),
                    Some(MetricKind::AverageHandleTime),
                ]),
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
                training_assignments::due_at.eq(Some(now - Duration::days(40))),
                // Mid-way through the demo's 90 days, so `trainingImpact` has both windows.
                training_assignments::completed_at.eq(Some(now - Duration::days(45))),
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
