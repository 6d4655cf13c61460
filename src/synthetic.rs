//! Synthetic data: the organisation of a Business Action Center and a seeded, streaming
//! generator of its interactions, survey invitations and survey responses.
//!
//! This module owns what the data looks like; two callers decide how it is written. `serve
//! --demo` ([`crate::demo`]) takes a small dataset and imports it as CSV files, exactly as an
//! integration would; `bac-metrics seed` ([`load`]) streams millions of rows batch by batch
//! through the importer's record functions ([`import::write_prepared_batch`]), never holding
//! more than a few batches in memory.
//!
//! The generator is deterministic: the same settings (seed, volume, window, time zone) give the
//! same rows, whatever the batch size. It covers every channel with weekday,
//! holiday, month and hour-of-day seasonality in the reporting time zone; queued channels wait
//! and are sometimes abandoned (more often at peak hours); agents differ in how well they
//! resolve; customers come back on the same topic within days when their issue was not settled
//! (so first-contact resolution is below 100%) and call within hours after a self-service visit
//! that did not help (so containment is below 100%); answered calls and chats are offered
//! post-call and live-chat surveys, other assisted contacts sometimes a follow-up assessment,
//! and about a third answer, more favourably when their issue was resolved.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex,
    },
    time::Instant,
};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use diesel::pg::PgConnection;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use crate::{
    db::{
        enums::{Channel, Outcome, Role, SurveyKind},
        Database,
    },
    domain::{
        Answers, Code, CustomerRef, Email, EventTime, ExternalKey, LikertItem, Name, Phone,
        RawAnswers, Seconds,
    },
    error::{AppError, AppResult},
    import::{self, Format, ImportContext, ImportKind, ImportReport, PreparedBatch},
    records::{
        interactions::{CustomerCache, CustomerDetails, InteractionFields, InteractionSubmission},
        surveys::{InvitationSubmission, ResponseSubmission},
        FieldNames,
    },
};

/// The agency's code, the root of the organisation.
pub const AGENCY_CODE: &str = "BAC";
const AGENCY_NAME: &str = "Business Action Center";
const EMAIL_DOMAIN: &str = "bac.example.gov";

/// Inquiry topics: code, name and how common each is.
const TOPICS: [(&str, &str, u32); 6] = [
    ("LICENSING", "Professional and business licensing", 30),
    ("PERMITS", "Permits and inspections", 25),
    ("TAX_REGISTRATION", "Tax registration", 15),
    (
        "BUSINESS_FORMATION",
        "Starting and registering a business",
        15,
    ),
    ("GRANTS_FINANCING", "Grants, loans and financing", 8),
    ("COMPLIANCE", "Regulatory compliance", 7),
];
const TAX_REGISTRATION: usize = 2;

/// A regional office and its supervisor.
#[derive(Debug)]
pub struct Office {
    pub code: &'static str,
    pub name: &'static str,
    pub supervisor_email: &'static str,
    pub supervisor_name: &'static str,
}

const OFFICES: [Office; 3] = [
    Office {
        code: "BAC-NORTH",
        name: "North Regional Office",
        supervisor_email: "supervisor.north@bac.example.gov",
        supervisor_name: "Sam North",
    },
    Office {
        code: "BAC-SOUTH",
        name: "South Regional Office",
        supervisor_email: "supervisor.south@bac.example.gov",
        supervisor_name: "Sky South",
    },
    Office {
        code: "BAC-CENTRAL",
        name: "Central Contact Center",
        supervisor_email: "supervisor.central@bac.example.gov",
        supervisor_name: "Cam Central",
    },
];

/// A team's fixed description; its agents are numbered from 1.
struct TeamSpec {
    code: &'static str,
    name: &'static str,
    office: usize,
    /// The team's part of its agents' emails: `agent.{slug}.{number}@…`.
    slug: &'static str,
    channels: &'static [Channel],
}

const TEAMS: [TeamSpec; 6] = [
    TeamSpec {
        code: "NORTH-PHONE",
        name: "North Phone Team",
        office: 0,
        slug: "north.phone",
        channels: &[Channel::Phone, Channel::Mail],
    },
    TeamSpec {
        code: "NORTH-DIGITAL",
        name: "North Digital Team",
        office: 0,
        slug: "north.digital",
        channels: &[Channel::Chat, Channel::Email],
    },
    TeamSpec {
        code: "SOUTH-PHONE",
        name: "South Phone Team",
        office: 1,
        slug: "south.phone",
        channels: &[Channel::Phone, Channel::Email],
    },
    TeamSpec {
        code: "SOUTH-WALKIN",
        name: "South Walk-in Center",
        office: 1,
        slug: "south.walkin",
        channels: &[Channel::InPerson, Channel::Chat],
    },
    TeamSpec {
        code: "CENTRAL-CONTACT",
        name: "Central Contact Team",
        office: 2,
        slug: "central.contact",
        channels: &[Channel::Phone, Channel::Chat],
    },
    TeamSpec {
        code: "CENTRAL-MAIL",
        name: "Central Correspondence Unit",
        office: 2,
        slug: "central.mail",
        channels: &[Channel::Email, Channel::Mail],
    },
];

/// The agency-wide accounts: administrator, oversight, and the BI and telephony service
/// accounts.
const AGENCY_ACCOUNTS: [(&str, &str, Role); 4] = [
    ("admin@bac.example.gov", "Avery Admin", Role::Admin),
    ("auditor@bac.example.gov", "Olive Oversight", Role::Auditor),
    (
        "analyst@bac.example.gov",
        "BI Service Account",
        Role::Analyst,
    ),
    (
        "ingest@bac.example.gov",
        "Telephony Integration",
        Role::Ingest,
    ),
];

const FIRST_NAMES: [&str; 24] = [
    "Alex", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy", "Jordan",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor",
    "Umi", "Val", "Wren", "Zion",
];

/// An agent: who they are and how well they resolve issues (1.0 is the center's average).
#[derive(Debug, Clone)]
pub struct Agent {
    pub email: String,
    pub display_name: String,
    pub skill: f64,
}

/// A team of agents serving some channels.
#[derive(Debug, Clone)]
pub struct Team {
    pub code: &'static str,
    pub name: &'static str,
    /// Index of the team's office in [`Organisation::offices`].
    pub office: usize,
    pub channels: &'static [Channel],
    pub agents: Vec<Agent>,
}

/// A user to create, in the terms of the users import format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_code: String,
}

/// The synthetic organisation: agency → offices → teams of agents (the topics are fixed).
#[derive(Debug, Clone)]
pub struct Organisation {
    pub offices: &'static [Office],
    pub teams: Vec<Team>,
}

impl Organisation {
    /// The first `offices` (2 or 3) offices with their teams, `agents_per_team` agents each.
    /// Smaller organisations are prefixes of larger ones: the same codes, names and emails.
    pub fn new(offices: usize, agents_per_team: usize) -> Self {
        let offices = &OFFICES[..offices.clamp(2, OFFICES.len())];
        let teams = TEAMS
            .iter()
            .enumerate()
            .filter(|(_, spec)| spec.office < offices.len())
            .map(|(team_index, spec)| Team {
                code: spec.code,
                name: spec.name,
                office: spec.office,
                channels: spec.channels,
                agents: (1..=agents_per_team.max(1))
                    .map(|number| {
                        // The demo's twelve agents (three a team) have twelve different names.
                        let first_name =
                            FIRST_NAMES[(team_index * 3 + number - 1) % FIRST_NAMES.len()];
                        // Skills from 0.8 to 1.2, spread within every team.
                        let skill = 0.8 + 0.4 * ((number * 7 + team_index * 3) % 11) as f64 / 10.0;
                        Agent {
                            email: format!("agent.{}.{number}@{EMAIL_DOMAIN}", spec.slug),
                            display_name: format!("{first_name} {}", spec.slug.replace('.', "-")),
                            skill,
                        }
                    })
                    .collect(),
            })
            .collect();
        Self { offices, teams }
    }

    /// The demo's organisation: two offices, four teams of three agents.
    pub fn demo() -> Self {
        Self::new(2, 3)
    }

    /// Three offices, six teams, and enough agents that each handles a plausible number of
    /// contacts a day (3 to 40 per team).
    pub fn sized_for(interactions: u64, days: u32) -> Self {
        const CONTACTS_PER_AGENT_DAY: f64 = 25.0;
        let assisted_per_team_day =
            interactions as f64 / f64::from(days.max(1)) * 0.75 / TEAMS.len() as f64;
        let agents = (assisted_per_team_day / CONTACTS_PER_AGENT_DAY).ceil() as usize;
        Self::new(OFFICES.len(), agents.clamp(3, 40))
    }

    /// Org units as `(code, name, parent_code)`, parents first.
    pub fn org_units(&self) -> Vec<[String; 3]> {
        let mut units = vec![[AGENCY_CODE.into(), AGENCY_NAME.into(), String::new()]];
        units.extend(
            self.offices
                .iter()
                .map(|office| [office.code.into(), office.name.into(), AGENCY_CODE.into()]),
        );
        units.extend(self.teams.iter().map(|team| {
            [
                team.code.into(),
                team.name.into(),
                self.offices[team.office].code.into(),
            ]
        }));
        units
    }

    /// Everyone: the agency-wide accounts (administrator, auditor, analyst and ingest service
    /// accounts), the offices' supervisors and the teams' agents.
    pub fn staff(&self) -> Vec<Person> {
        let agency = AGENCY_ACCOUNTS
            .iter()
            .map(|(email, display_name, role)| Person {
                email: (*email).into(),
                display_name: (*display_name).into(),
                role: *role,
                org_unit_code: AGENCY_CODE.into(),
            });
        let supervisors = self.offices.iter().map(|office| Person {
            email: office.supervisor_email.into(),
            display_name: office.supervisor_name.into(),
            role: Role::Supervisor,
            org_unit_code: office.code.into(),
        });
        let agents = self.teams.iter().flat_map(|team| {
            team.agents.iter().map(|agent| Person {
                email: agent.email.clone(),
                display_name: agent.display_name.clone(),
                role: Role::Agent,
                org_unit_code: team.code.into(),
            })
        });
        agency.chain(supervisors).chain(agents).collect()
    }
}

/// What [`import_organisation`] inserted (rows already present with the same content are left
/// alone and not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OrganisationCounts {
    pub org_units: u64,
    pub topics: u64,
    pub users: u64,
}

/// Imports the organisation's units, the topics and its staff through the CSV importer (users
/// get no password). Idempotent: rows already present with the same content are unchanged; a
/// row that exists with different content is an error.
pub fn import_organisation(
    connection: &mut PgConnection,
    organisation: &Organisation,
    context: &ImportContext,
) -> AppResult<OrganisationCounts> {
    let org_units = import_rows(
        connection,
        ImportKind::OrgUnits,
        organisation.org_units().into_iter().map(Vec::from),
        context,
    )?;
    let topics = import_rows(
        connection,
        ImportKind::Topics,
        TOPICS
            .iter()
            .map(|(code, name, _)| vec![code.to_string(), name.to_string()]),
        context,
    )?;
    let users = import_rows(
        connection,
        ImportKind::Users,
        organisation.staff().into_iter().map(|person| {
            vec![
                person.email,
                person.display_name,
                person.role.as_db_str().into(),
                person.org_unit_code,
            ]
        }),
        context,
    )?;
    Ok(OrganisationCounts {
        org_units,
        topics,
        users,
    })
}

/// Imports `rows` (cells in the order of `kind`'s columns) as one CSV document through the
/// importer and returns how many were inserted. Fails unless every row was inserted or
/// unchanged.
pub fn import_rows(
    connection: &mut PgConnection,
    kind: ImportKind,
    rows: impl IntoIterator<Item = Vec<String>>,
    context: &ImportContext,
) -> AppResult<u64> {
    let to_error = |error: csv::Error| AppError::internal(format!("synthetic {kind} CSV: {error}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(kind.columns()).map_err(to_error)?;
    for row in rows {
        writer.write_record(&row).map_err(to_error)?;
    }
    let document = writer
        .into_inner()
        .map_err(|error| AppError::internal(format!("synthetic {kind} CSV: {error}")))?;
    let report = import::run(connection, kind, Format::Csv, document.as_slice(), context)?;
    if report.rejected > 0 || report.conflicts > 0 {
        return Err(AppError::internal(format!(
            "the synthetic {kind} were not accepted whole: {:?} {:?}",
            report.rejected_rows, report.conflict_rows
        )));
    }
    Ok(report.inserted)
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorSettings {
    /// The `source` of every record (half of its idempotency key).
    pub source: String,
    /// Interactions' external ids are this prefix and a sequence number.
    pub id_prefix: String,
    /// The random seed.
    pub seed: u64,
    /// Exactly how many interactions to generate, follow-up contacts included.
    pub interactions: u64,
    /// How many distinct customers there are (80% of contacts name one).
    pub customers: u32,
    /// The first day of the window, in `time_zone`.
    pub first_day: NaiveDate,
    /// The window's length; every time generated lies before its end (local midnight).
    pub days: u32,
    /// The reporting time zone: seasonality follows its clock.
    pub time_zone: Tz,
}

/// One generated interaction, the survey invitation it was offered and the response, if any.
#[derive(Debug, Clone)]
pub struct GeneratedContact {
    pub interaction: InteractionSubmission,
    pub invitation: Option<InvitationSubmission>,
    pub response: Option<ResponseSubmission>,
}

/// A batch of generated records; the surveys refer only to the batch's own interactions.
#[derive(Debug, Clone, Default)]
pub struct GeneratedBatch {
    /// The 1-based position of the first interaction in the whole run.
    pub first_position: u64,
    pub interactions: Vec<InteractionSubmission>,
    pub invitations: Vec<InvitationSubmission>,
    pub responses: Vec<ResponseSubmission>,
}

/// The seeded generator: an iterator of [`GeneratedContact`]s, in day order except that a
/// follow-up contact comes right after the contact that caused it.
pub struct Generator {
    settings: GeneratorSettings,
    organisation: Organisation,
    rng: StdRng,
    /// Local midnight after the window: nothing is generated at or after it.
    window_end: DateTime<Utc>,
    /// `cumulative_quota[d]`: interactions due by the end of day `d`.
    cumulative_quota: Vec<u64>,
    day: usize,
    generated: u64,
    /// A repeat contact or call-back caused by the last contact, emitted next.
    follow_up: Option<FollowUp>,
    /// Team indexes serving each channel (by position in [`Channel::ALL`]).
    teams_by_channel: Vec<Vec<usize>>,
}

/// A contact caused by an earlier one: the same customer on the same topic, later.
struct FollowUp {
    channel: Channel,
    started_at: DateTime<Utc>,
    customer: u32,
    topic: usize,
}

/// Where a contact belongs: a team (assisted), or the customer's office (self-service).
#[derive(Debug, Clone, Copy)]
enum Unit {
    Team(usize),
    Office(usize),
}

/// The facts of one contact, before they become submissions.
struct Contact {
    channel: Channel,
    unit: Unit,
    /// The agent's index in the team, when one served the contact.
    agent: Option<usize>,
    customer: Option<u32>,
    topic: usize,
    started_at: DateTime<Utc>,
    wait_seconds: Option<i32>,
    handle_seconds: Option<i32>,
    transfers: i32,
    abandoned: bool,
    outcome: Option<Outcome>,
}

impl Generator {
    /// A generator of `settings.interactions` interactions by `organisation`'s teams.
    pub fn new(settings: GeneratorSettings, organisation: Organisation) -> Self {
        let mut rng = StdRng::seed_from_u64(settings.seed);
        let days = settings.days as usize;
        let weights: Vec<f64> = (0..days)
            .map(|offset| {
                let day = settings.first_day + Duration::days(offset as i64);
                let years_in = offset as f64 / 365.0;
                day_weight(day) * (1.0 + 0.08 * years_in) * rng.gen_range(0.9..1.1)
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        let cumulative_quota = weights
            .iter()
            .map(|weight| {
                running += weight;
                (settings.interactions as f64 * running / total).round() as u64
            })
            .collect();
        let window_end = local_time(
            settings.time_zone,
            settings.first_day + Duration::days(days as i64),
            0,
            0,
            0,
        );
        let teams_by_channel = Channel::ALL
            .iter()
            .map(|channel| {
                (0..organisation.teams.len())
                    .filter(|&team| organisation.teams[team].channels.contains(channel))
                    .collect()
            })
            .collect();
        Self {
            settings,
            organisation,
            rng,
            window_end,
            cumulative_quota,
            day: 0,
            generated: 0,
            follow_up: None,
            teams_by_channel,
        }
    }

    /// The next `size` contacts (fewer at the end) as a batch, `None` when all are out.
    pub fn next_batch(&mut self, size: usize) -> Option<GeneratedBatch> {
        let mut batch = GeneratedBatch {
            first_position: self.generated + 1,
            interactions: Vec::with_capacity(size),
            ..GeneratedBatch::default()
        };
        for contact in self.by_ref().take(size.max(1)) {
            batch.interactions.push(contact.interaction);
            batch.invitations.extend(contact.invitation);
            batch.responses.extend(contact.response);
        }
        (!batch.interactions.is_empty()).then_some(batch)
    }

    /// A first contact on the current day: channel, hour and topic follow the seasonality.
    fn first_contact(&mut self) -> Contact {
        let day = self.settings.first_day + Duration::days(self.day as i64);
        let closed = is_closed(day);
        let channel = Channel::ALL[weighted_index(
            &mut self.rng,
            if closed {
                &CHANNELS_CLOSED_DAY
            } else {
                &CHANNELS_OPEN_DAY
            },
        )];
        let hour = if channel.is_assisted() && !closed {
            8 + weighted_index(&mut self.rng, &OFFICE_HOURS) as u32
        } else {
            weighted_index(&mut self.rng, &DAY_HOURS) as u32
        };
        let started_at = local_time(
            self.settings.time_zone,
            day,
            hour,
            self.rng.gen_range(0..60),
            self.rng.gen_range(0..60),
        );
        let mut topic_weights = TOPICS.map(|(_, _, weight)| weight);
        if (1..=4).contains(&day.month()) {
            topic_weights[TAX_REGISTRATION] *= 2; // Tax season.
        }
        let topic = weighted_index(&mut self.rng, &topic_weights);
        let customer = self.rng.gen_bool(0.8).then(|| self.pick_customer());
        self.contact(channel, started_at, customer, topic)
    }

    /// Most customers come once or twice; a tenth of them make a third of the contacts.
    fn pick_customer(&mut self) -> u32 {
        let customers = self.settings.customers.max(1);
        if self.rng.gen_bool(0.3) {
            self.rng.gen_range(0..customers.div_ceil(10))
        } else {
            self.rng.gen_range(0..customers)
        }
    }

    /// Who handled a contact and how it went.
    fn contact(
        &mut self,
        channel: Channel,
        started_at: DateTime<Utc>,
        customer: Option<u32>,
        topic: usize,
    ) -> Contact {
        let rng = &mut self.rng;
        let home_office = match customer {
            Some(customer) => customer as usize % self.organisation.offices.len(),
            None => rng.gen_range(0..self.organisation.offices.len()),
        };
        // Teams of the customer's office take most of its contacts.
        let serving = &self.teams_by_channel[channel_position(channel)];
        let local: Vec<usize> = serving
            .iter()
            .copied()
            .filter(|&team| self.organisation.teams[team].office == home_office)
            .collect();
        let unit = if serving.is_empty() {
            Unit::Office(home_office)
        } else if !local.is_empty() && rng.gen_bool(0.7) {
            Unit::Team(local[rng.gen_range(0..local.len())])
        } else {
            Unit::Team(serving[rng.gen_range(0..serving.len())])
        };
        let hour = started_at.with_timezone(&self.settings.time_zone).hour() as usize;
        // Peak hours wait longer and lose more callers.
        let load = hour
            .checked_sub(8)
            .and_then(|index| OFFICE_HOURS.get(index))
            .map_or(0.6, |weight| f64::from(*weight) / 11.0);
        let queued = channel.is_queued();
        let abandoned = queued && rng.gen_bool((0.035 + 0.035 * load).min(0.5));
        let served = channel.is_assisted() && !abandoned;
        let wait_seconds = queued.then(|| {
            let wait = rng.gen_range(0.0_f64..1.0).powi(3) * 240.0 * load;
            (wait as i32) + if abandoned { rng.gen_range(20..180) } else { 0 }
        });
        let team = match unit {
            Unit::Team(team) if served => Some(&self.organisation.teams[team]),
            _ => None,
        };
        let agent = team.map(|team| rng.gen_range(0..team.agents.len()));
        let skill = team
            .zip(agent)
            .map_or(1.0, |(team, agent)| team.agents[agent].skill);
        let handle_seconds = served.then(|| {
            let base = match channel {
                Channel::Phone => rng.gen_range(120..900),
                Channel::Chat => rng.gen_range(180..1_200),
                Channel::Email | Channel::Mail => rng.gen_range(300..1_500),
                _ => rng.gen_range(600..2_400),
            };
            (f64::from(base) / skill) as i32
        });
        let transfers = if served && rng.gen_bool((0.12 / skill).min(0.5)) {
            rng.gen_range(1..3)
        } else {
            0
        };
        let outcome = if abandoned {
            None
        } else if served {
            let resolved = (0.74 * skill - if transfers > 0 { 0.15 } else { 0.0 }).clamp(0.3, 0.95);
            Some(if rng.gen_bool(resolved) {
                Outcome::Resolved
            } else {
                [Outcome::Unresolved, Outcome::Referred, Outcome::Escalated]
                    [weighted_index(rng, &[12, 9, 7])]
            })
        } else {
            // Self-service: resolved when the visitor found the answer.
            let found = match channel {
                Channel::Ivr => 0.6,
                Channel::Sms => 0.75,
                _ => 0.7,
            };
            Some(if rng.gen_bool(found) {
                Outcome::Resolved
            } else {
                Outcome::Unresolved
            })
        };
        Contact {
            channel,
            unit,
            agent,
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

    /// Whether `contact` makes its customer come back on the same topic, and when: a call
    /// within hours after self-service that did not help (or, now and then, that did), a
    /// call-back soon after an abandoned call, a repeat contact within days when the issue was
    /// not resolved.
    fn follow_up_of(&mut self, contact: &Contact) -> Option<FollowUp> {
        let customer = contact.customer?;
        let rng = &mut self.rng;
        let resolved = contact.outcome == Some(Outcome::Resolved);
        let (chance, channel, delay) = if !contact.channel.is_assisted() {
            let channel = if rng.gen_bool(0.8) {
                Channel::Phone
            } else {
                Channel::Chat
            };
            let chance = if resolved { 0.08 } else { 0.55 };
            (chance, channel, Duration::minutes(rng.gen_range(10..600)))
        } else if contact.abandoned {
            (
                0.45,
                contact.channel,
                Duration::minutes(rng.gen_range(5..180)),
            )
        } else {
            let chance = match (contact.outcome, contact.transfers) {
                (Some(Outcome::Resolved), 0) => 0.04,
                (Some(Outcome::Resolved), _) => 0.12,
                (Some(Outcome::Referred), _) => 0.15,
                _ => 0.3,
            };
            let channel = [
                Channel::Phone,
                Channel::Email,
                Channel::Chat,
                Channel::InPerson,
            ][weighted_index(rng, &[60, 20, 15, 5])];
            (chance, channel, Duration::hours(rng.gen_range(2..120)))
        };
        if !rng.gen_bool(chance) {
            return None;
        }
        let started_at = self.staffed_time(channel, contact.started_at + delay);
        (started_at < self.window_end).then_some(FollowUp {
            channel,
            started_at,
            customer,
            topic: contact.topic,
        })
    }

    /// `time`, or for a contact that needs staff the next opening time after it (weekdays
    /// 8:00–17:00 local); email and mail arrive whenever they are sent.
    fn staffed_time(&mut self, channel: Channel, time: DateTime<Utc>) -> DateTime<Utc> {
        if !matches!(channel, Channel::Phone | Channel::Chat | Channel::InPerson) {
            return time;
        }
        let local = time.with_timezone(&self.settings.time_zone);
        if !is_closed(local.date_naive()) && (8..17).contains(&local.hour()) {
            return time;
        }
        let mut day = local.date_naive();
        if local.hour() >= 8 {
            day += Duration::days(1);
        }
        while is_closed(day) {
            day += Duration::days(1);
        }
        let hour = 8 + weighted_index(&mut self.rng, &[3, 2, 1]) as u32;
        local_time(
            self.settings.time_zone,
            day,
            hour,
            self.rng.gen_range(0..60),
            self.rng.gen_range(0..60),
        )
    }

    /// The survey offered after `contact`, and the answer if the customer gave one in time.
    fn survey_of(
        &mut self,
        contact: &Contact,
        interaction: &InteractionSubmission,
    ) -> (Option<InvitationSubmission>, Option<ResponseSubmission>) {
        if contact.abandoned || !contact.channel.is_assisted() {
            return (None, None);
        }
        let rng = &mut self.rng;
        let ended_at = contact.started_at
            + Duration::seconds(i64::from(
                contact.wait_seconds.unwrap_or(0) + contact.handle_seconds.unwrap_or(0),
            ));
        let (kind, offered, sent_at, answer_rate, answer_delay) = match contact.channel {
            Channel::Phone => (
                SurveyKind::PostCall,
                0.55,
                ended_at + Duration::minutes(1),
                0.33,
                Duration::minutes(rng.gen_range(1..180)),
            ),
            Channel::Chat => (
                SurveyKind::LiveChat,
                0.6,
                ended_at + Duration::seconds(10),
                0.38,
                Duration::seconds(rng.gen_range(5..900)),
            ),
            _ => (
                SurveyKind::FollowUp,
                if contact.customer.is_some() {
                    0.15
                } else {
                    0.0
                },
                ended_at + Duration::days(rng.gen_range(2..8)),
                0.28,
                Duration::minutes(rng.gen_range(60..7_200)),
            ),
        };
        if !rng.gen_bool(offered) || sent_at >= self.window_end {
            return (None, None);
        }
        let key = &interaction.fields().key;
        let invitation = InvitationSubmission {
            key: generated_key(key.source(), &format!("inv-{}", key.external_id())),
            interaction: key.clone(),
            kind,
            sent_at: generated_time("sent_at", sent_at),
        };
        let submitted_at = sent_at + answer_delay;
        if !rng.gen_bool(answer_rate) || submitted_at >= self.window_end {
            return (Some(invitation), None);
        }
        let response = ResponseSubmission {
            key: generated_key(
                key.source(),
                &format!("resp-{}-{}", kind.as_file_str(), key.external_id()),
            ),
            interaction: key.clone(),
            kind,
            submitted_at: generated_time("submitted_at", submitted_at),
            answers: answers(rng, contact.outcome == Some(Outcome::Resolved)),
        };
        (Some(invitation), Some(response))
    }

    /// `contact` in the terms of a submission.
    fn submission(&self, contact: &Contact, sequence: u64) -> InteractionSubmission {
        let (org_unit_code, agent_email) = match contact.unit {
            Unit::Team(team) => {
                let team = &self.organisation.teams[team];
                let agent = contact.agent.map(|agent| team.agents[agent].email.clone());
                (team.code, agent)
            }
            Unit::Office(office) => (self.organisation.offices[office].code, None),
        };
        // Generated values go through the same parsers as any submission: a value the rules
        // refuse here is a bug in this generator.
        let fields = InteractionFields {
            key: generated_key(
                &self.settings.source,
                &format!("{}{sequence:07}", self.settings.id_prefix),
            ),
            channel: contact.channel,
            org_unit: Code::parse("org_unit_code", org_unit_code)
                .expect("generated codes are valid"),
            agent: agent_email.map(|email| {
                Email::parse("agent_email", &email).expect("generated emails are valid")
            }),
            customer: contact.customer.map(customer),
            topic: Some(Code::parse("topic_code", TOPICS[contact.topic].0).expect("a valid code")),
            started_at: generated_time("started_at", contact.started_at),
            wait: contact.wait_seconds.map(|seconds| {
                Seconds::parse("wait_seconds", i64::from(seconds)).expect("generated waits fit")
            }),
            handle: contact.handle_seconds.map(|seconds| {
                Seconds::parse("handle_seconds", i64::from(seconds)).expect("generated times fit")
            }),
            transfers: contact.transfers,
            abandoned: contact.abandoned,
            outcome: contact.outcome,
        };
        InteractionSubmission::new(fields, FieldNames::File)
            .expect("generated contacts follow the interaction rules")
    }
}

impl Iterator for Generator {
    type Item = GeneratedContact;

    fn next(&mut self) -> Option<GeneratedContact> {
        if self.generated >= self.settings.interactions {
            return None;
        }
        let contact = match self.follow_up.take() {
            Some(follow_up) => self.contact(
                follow_up.channel,
                follow_up.started_at,
                Some(follow_up.customer),
                follow_up.topic,
            ),
            None => {
                while self.cumulative_quota.get(self.day)? <= &self.generated {
                    self.day += 1;
                }
                self.first_contact()
            }
        };
        self.generated += 1;
        let interaction = self.submission(&contact, self.generated);
        let (invitation, response) = self.survey_of(&contact, &interaction);
        self.follow_up = self.follow_up_of(&contact);
        Some(GeneratedContact {
            interaction,
            invitation,
            response,
        })
    }
}

/// Channel weights (in [`Channel::ALL`] order) on open days and on weekends and holidays.
const CHANNELS_OPEN_DAY: [u32; 8] = [38, 20, 10, 6, 2, 14, 6, 4];
const CHANNELS_CLOSED_DAY: [u32; 8] = [0, 0, 10, 0, 0, 60, 20, 10];
/// Staffed contacts by hour from 8:00 to 16:59: a mid-morning and an early-afternoon peak.
const OFFICE_HOURS: [u32; 9] = [6, 12, 15, 13, 9, 12, 13, 11, 9];
/// Self-service by hour of the day: quiet at night, busy through the working day and evening.
const DAY_HOURS: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 8, 8, 7, 7, 7, 7, 7, 6, 5, 3, 2,
];

fn channel_position(channel: Channel) -> usize {
    Channel::ALL
        .iter()
        .position(|candidate| *candidate == channel)
        .unwrap_or(0)
}

/// Weekends and holidays: offices are closed.
fn is_closed(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || is_holiday(day)
}

/// The fixed-date holidays the center closes on.
fn is_holiday(day: NaiveDate) -> bool {
    matches!(
        (day.month(), day.day()),
        (1, 1) | (7, 4) | (11, 11) | (12, 25)
    )
}

/// A day's share of the volume: the weekday, closures, and the month (busy in tax season,
/// quiet in summer and at year end).
fn day_weight(day: NaiveDate) -> f64 {
    const MONTHS: [f64; 12] = [
        1.15, 1.1, 1.1, 1.15, 1.0, 0.95, 0.85, 0.9, 1.0, 1.05, 0.95, 0.8,
    ];
    let weekday = match day.weekday() {
        Weekday::Mon => 1.15,
        Weekday::Tue => 1.05,
        Weekday::Wed | Weekday::Thu => 1.0,
        Weekday::Fri => 0.85,
        Weekday::Sat => 0.18,
        Weekday::Sun => 0.12,
    };
    let holiday = if is_holiday(day) { 0.15 } else { 1.0 };
    weekday * holiday * MONTHS[day.month0() as usize]
}

/// A generated idempotency key (valid by construction; the parser confirms it).
fn generated_key(source: &str, external_id: &str) -> ExternalKey {
    ExternalKey::parse(("source", source), ("external_id", external_id))
        .expect("generated keys are valid")
}

/// A generated instant: inside the window, which ends before now and starts after 2000.
fn generated_time(field: &str, time: DateTime<Utc>) -> EventTime {
    EventTime::parse(field, time, Utc::now()).expect("generated times lie inside the window")
}

/// The customer with this index, as a CRM export describes them.
pub fn customer(index: u32) -> CustomerDetails {
    const WORDS: [&str; 10] = [
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
    const TRADES: [&str; 10] = [
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
    let index = index as usize;
    let valid = "generated customer details are valid";
    CustomerDetails {
        reference: CustomerRef::parse("customer_ref", &format!("CRM-{:06}", 100_000 + index))
            .expect(valid),
        business_name: Some(
            Name::parse(
                "business_name",
                &format!(
                    "{} {} LLC",
                    WORDS[index % WORDS.len()],
                    TRADES[(index / WORDS.len()) % TRADES.len()]
                ),
            )
            .expect(valid),
        ),
        contact_name: Some(Name::parse("contact_name", &format!("Contact {index}")).expect(valid)),
        email: Some(
            Email::parse("email", &format!("owner{index}@business.example.com")).expect(valid),
        ),
        phone: Some(Phone::parse("phone", &format!("+1-555-{index:04}")).expect(valid)),
    }
}

/// A customer's answers: favourable when the issue was resolved, mixed when it was not; some
/// items skipped, a few comments.
fn answers(rng: &mut StdRng, resolved: bool) -> Answers {
    const RESOLVED: [u32; 5] = [2, 3, 8, 35, 52];
    const NOT_RESOLVED: [u32; 5] = [14, 18, 26, 27, 15];
    const PRAISE: [&str; 4] = [
        "Quick and clear, thank you.",
        "The agent explained the permit steps well.",
        "Friendly and knew the rules.",
        "Got my registration number the same day.",
    ];
    const COMPLAINTS: [&str; 4] = [
        "Took two calls to get the right form.",
        "Website sent me in circles before I called.",
        "Still waiting for an answer about my license.",
        "I was transferred twice.",
    ];
    let weights = if resolved { &RESOLVED } else { &NOT_RESOLVED };
    // How often each item is skipped, in question order.
    const SKIPPED: [f64; 7] = [0.02, 0.1, 0.1, 0.1, 0.1, 0.15, 0.05];
    let mut raw = RawAnswers::default();
    for (item, skip) in LikertItem::ALL.into_iter().zip(SKIPPED) {
        let value = (!rng.gen_bool(skip)).then(|| weighted_index(rng, weights) as i64 + 1);
        raw.set(item, value);
    }
    raw.resolved = (!rng.gen_bool(0.1)).then(|| rng.gen_bool(if resolved { 0.9 } else { 0.2 }));
    if rng.gen_bool(0.15) {
        let satisfied = raw.likert[LikertItem::Satisfaction.index()].unwrap_or(3) >= 4;
        let pool = if satisfied { &PRAISE } else { &COMPLAINTS };
        raw.comment = Some(pool[rng.gen_range(0..pool.len())].to_owned());
    }
    // Satisfaction is skipped only 2% of the time, but a customer may skip everything: then
    // they at least said whether it was resolved.
    if raw.likert.iter().all(Option::is_none) && raw.resolved.is_none() && raw.comment.is_none() {
        raw.resolved = Some(resolved);
    }
    Answers::parse(raw).expect("generated answers follow the survey rules")
}

fn weighted_index(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.gen_range(0..total.max(1));
    for (index, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return index;
        }
        pick -= weight;
    }
    weights.len() - 1
}

/// The instant of a local wall-clock time; a time skipped by a DST change is taken an hour
/// later, an ambiguous one at its first occurrence.
fn local_time(time_zone: Tz, day: NaiveDate, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    let naive = day.and_hms_opt(hour, minute, second).unwrap_or_default();
    time_zone
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            time_zone
                .from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// What [`load`] wrote of one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WrittenCounts {
    pub inserted: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    /// Seconds the writers spent writing them, summed over the writers.
    pub writing_seconds: f64,
}

impl WrittenCounts {
    fn add(&mut self, other: WrittenCounts) {
        self.inserted += other.inserted;
        self.unchanged += other.unchanged;
        self.conflicts += other.conflicts;
        self.rejected += other.rejected;
        self.writing_seconds += other.writing_seconds;
    }

    /// Every record written, whatever its outcome.
    pub fn total(&self) -> u64 {
        self.inserted + self.unchanged + self.conflicts + self.rejected
    }
}

/// Most problem rows [`load`] describes; the counts cover them all.
const MAX_LISTED_PROBLEMS: usize = 20;

/// What [`load`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub interactions: WrittenCounts,
    pub survey_invitations: WrittenCounts,
    pub survey_responses: WrittenCounts,
    /// Batches of interactions written (each with its invitations' and responses' batches).
    pub batches: u64,
    /// Seconds the writers spent generating (or waiting for the generator), summed.
    pub generating_seconds: f64,
    /// The first few rejected or conflicting records: kind, position, reason.
    pub problems: Vec<String>,
}

impl LoadReport {
    fn absorb(&mut self, other: LoadReport) {
        self.interactions.add(other.interactions);
        self.survey_invitations.add(other.survey_invitations);
        self.survey_responses.add(other.survey_responses);
        self.batches += other.batches;
        self.generating_seconds += other.generating_seconds;
        for problem in other.problems {
            if self.problems.len() < MAX_LISTED_PROBLEMS {
                self.problems.push(problem);
            }
        }
    }

    fn record(&mut self, report: &ImportReport, writing_seconds: f64) {
        let counts = WrittenCounts {
            inserted: report.inserted,
            unchanged: report.unchanged,
            conflicts: report.conflicts,
            rejected: report.rejected,
            writing_seconds,
        };
        match report.kind {
            ImportKind::Interactions => self.interactions.add(counts),
            ImportKind::SurveyInvitations => self.survey_invitations.add(counts),
            _ => self.survey_responses.add(counts),
        }
        let issues = report.conflict_rows.iter().chain(&report.rejected_rows);
        for issue in issues {
            if self.problems.len() >= MAX_LISTED_PROBLEMS {
                break;
            }
            self.problems
                .push(format!("{} #{}: {}", report.kind, issue.line, issue.reason));
        }
    }
}

/// Generates `generator`'s data and writes it through `workers` connections at once, batch by
/// batch: each batch's interactions, then their invitations, then the responses, each one
/// transaction with its audit event ([`import::write_prepared_batch`]). A writer takes the next
/// batch from the shared generator when it is done with its last, so memory holds at most one
/// batch per writer. Blocking: call from a blocking thread. The first database failure stops
/// every writer and is returned; rows already committed stay (running again completes them).
pub fn load(
    database: &Database,
    generator: Generator,
    batch_size: usize,
    workers: usize,
    context: &ImportContext,
) -> AppResult<LoadReport> {
    let total = generator.settings.interactions;
    // The customer base first, so that parallel writers never wait on each other's
    // uncommitted new customers (and the interaction batches only look customers up).
    {
        let mut connection = database.checkout()?;
        let customers = generator.settings.customers;
        let mut first = 0;
        while first < customers {
            let last = customers.min(first.saturating_add(batch_size.max(1) as u32));
            let batch: Vec<CustomerDetails> = (first..last).map(customer).collect();
            import::write_customer_batch(&mut connection, &batch, context)?;
            first = last;
        }
    }
    let generator = Mutex::new(generator);
    let failed = AtomicBool::new(false);
    let written = AtomicU64::new(0);
    let write_batches = || -> AppResult<LoadReport> {
        let mut report = LoadReport::default();
        let mut connection = database.checkout()?;
        let mut customers = CustomerCache::default();
        while !failed.load(Ordering::Relaxed) {
            let started = Instant::now();
            let batch = generator
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .next_batch(batch_size);
            report.generating_seconds += started.elapsed().as_secs_f64();
            let Some(batch) = batch else { break };
            let first_position = batch.first_position;
            let parts = [
                PreparedBatch::Interactions(&batch.interactions),
                PreparedBatch::SurveyInvitations(&batch.invitations),
                PreparedBatch::SurveyResponses(&batch.responses),
            ];
            for part in parts.into_iter().filter(|part| !part.is_empty()) {
                let started = Instant::now();
                let written = import::write_prepared_batch(
                    &mut connection,
                    part,
                    first_position,
                    context,
                    &mut customers,
                )
                .inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
                report.record(&written, started.elapsed().as_secs_f64());
            }
            report.batches += 1;
            let count = batch.interactions.len() as u64;
            let before = written.fetch_add(count, Ordering::Relaxed);
            // A progress line at every tenth of the run.
            if (before * 10 / total.max(1)) != ((before + count) * 10 / total.max(1)) {
                tracing::info!(interactions = before + count, total, "seeding");
            }
        }
        Ok(report)
    };
    let results: Vec<AppResult<LoadReport>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..workers.max(1))
            .map(|_| scope.spawn(write_batches))
            .collect();
        writers
            .into_iter()
            .map(|writer| {
                writer
                    .join()
                    .unwrap_or_else(|_| Err(AppError::internal("a seed writer panicked")))
            })
            .collect()
    });
    let mut total = LoadReport::default();
    for result in results {
        total.absorb(result?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn settings(seed: u64, interactions: u64) -> GeneratorSettings {
        GeneratorSettings {
            source: "test".into(),
            id_prefix: "t-".into(),
            seed,
            interactions,
            customers: 2_000,
            first_day: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            days: 365,
            time_zone: chrono_tz::America::New_York,
        }
    }

    fn generate(seed: u64, interactions: u64) -> Vec<GeneratedContact> {
        Generator::new(
            settings(seed, interactions),
            Organisation::sized_for(interactions, 365),
        )
        .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_whatever_the_batch_size() {
        let render = |contacts: &[GeneratedContact]| format!("{contacts:?}");
        let first = generate(7, 500);
        assert_eq!(render(&first), render(&generate(7, 500)));
        assert_ne!(render(&first), render(&generate(8, 500)));
        let mut batched = Generator::new(settings(7, 500), Organisation::sized_for(500, 365));
        let mut interactions = Vec::new();
        while let Some(batch) = batched.next_batch(37) {
            assert_eq!(batch.first_position, interactions.len() as u64 + 1);
            interactions.extend(batch.interactions);
        }
        let expected: Vec<_> = first.iter().map(|contact| &contact.interaction).collect();
        assert_eq!(format!("{interactions:?}"), format!("{expected:?}"));
    }

    #[test]
    fn a_sample_looks_like_a_business_action_center() {
        let contacts = generate(1, 20_000);
        assert_eq!(contacts.len(), 20_000);
        let settings = settings(1, 20_000);
        let window_end = local_time(
            settings.time_zone,
            settings.first_day + Duration::days(i64::from(settings.days)),
            0,
            0,
            0,
        );
        let mut channels = HashSet::new();
        let mut keys = HashSet::new();
        let (mut queued, mut abandoned, mut invitations, mut responses) = (0, 0, 0, 0);
        let mut office_hours = 0;
        let mut assisted_on_weekdays = 0;
        for contact in &contacts {
            // Built by the rules, so every one holds; the checks below read what was built.
            let row = contact.interaction.fields();
            assert!(keys.insert(row.key.external_id().to_owned()), "unique keys");
            assert!(
                row.started_at.get() >= local_time(settings.time_zone, settings.first_day, 0, 0, 0)
            );
            assert!(row.started_at.get() < window_end);
            channels.insert(row.channel);
            assert!(!row.abandoned || row.channel.is_queued(), "{row:?}");
            assert!(row.channel.is_assisted() || row.agent.is_none(), "{row:?}");
            assert!(
                !row.abandoned
                    || (row.agent.is_none() && row.handle.is_none() && row.outcome.is_none()),
                "{row:?}"
            );
            if row.channel.is_queued() {
                queued += 1;
                abandoned += usize::from(row.abandoned);
            }
            let local = row.started_at.get().with_timezone(&settings.time_zone);
            if row.channel.is_assisted() && !is_closed(local.date_naive()) {
                assisted_on_weekdays += 1;
                office_hours += usize::from((8..17).contains(&local.hour()));
            }
            if let Some(invitation) = &contact.invitation {
                invitations += 1;
                crate::records::surveys::check_kind_fits_channel(invitation.kind, row.channel)
                    .unwrap();
                assert!(
                    invitation.sent_at.get() > row.started_at.get()
                        && invitation.sent_at.get() < window_end
                );
            }
            if let Some(response) = &contact.response {
                responses += 1;
                let invitation = contact.invitation.as_ref().unwrap();
                assert_eq!(response.kind, invitation.kind);
                assert!(response.submitted_at.get() > invitation.sent_at.get());
                assert!(response.submitted_at.get() < window_end);
            }
        }
        assert_eq!(
            channels.len(),
            Channel::ALL.len(),
            "every channel: {channels:?}"
        );
        let abandonment = abandoned as f64 / queued as f64;
        assert!((0.05..=0.10).contains(&abandonment), "{abandonment}");
        let response_rate = responses as f64 / invitations as f64;
        assert!((0.25..=0.40).contains(&response_rate), "{response_rate}");
        assert!(office_hours as f64 > 0.95 * assisted_on_weekdays as f64);

        // Repeat contacts (same customer and topic, assisted, within 7 days) and self-service
        // followed by an assisted contact within 24 hours, as the metric definitions count them.
        let mut by_customer_topic: HashMap<(String, String), Vec<&InteractionFields>> =
            HashMap::new();
        for contact in &contacts {
            let row = contact.interaction.fields();
            if let (Some(customer), Some(topic)) = (&row.customer, &row.topic) {
                by_customer_topic
                    .entry((customer.reference.to_string(), topic.to_string()))
                    .or_default()
                    .push(row);
            }
        }
        let followed_within =
            |row: &InteractionFields, others: &[&InteractionFields], window: Duration| {
                others.iter().any(|other| {
                    other.channel.is_assisted()
                        && other.started_at.get() > row.started_at.get()
                        && other.started_at.get() <= row.started_at.get() + window
                })
            };
        let (mut assisted, mut repeated, mut self_service, mut not_contained) = (0, 0, 0, 0);
        for rows in by_customer_topic.values() {
            for row in rows {
                if row.channel.is_assisted() && !row.abandoned {
                    assisted += 1;
                    repeated += usize::from(followed_within(row, rows, Duration::days(7)));
                } else if !row.channel.is_assisted() {
                    self_service += 1;
                    not_contained += usize::from(followed_within(row, rows, Duration::hours(24)));
                }
            }
        }
        let repeat_share = repeated as f64 / assisted as f64;
        let containment = 1.0 - not_contained as f64 / self_service as f64;
        assert!((0.05..0.4).contains(&repeat_share), "{repeat_share}");
        assert!((0.5..0.9).contains(&containment), "{containment}");
    }

    #[test]
    fn organisations_grow_by_extension() {
        let demo = Organisation::demo();
        assert_eq!(demo.org_units().len(), 7);
        assert_eq!(demo.staff().len(), 4 + 2 + 4 * 3);
        let large = Organisation::sized_for(2_000_000, 730);
        assert_eq!(large.offices.len(), 3);
        assert!(large.teams.iter().all(|team| team.agents.len() > 3));
        let large_staff = large.staff();
        for person in demo.staff() {
            assert!(large_staff.contains(&person), "{person:?}");
        }
    }
}
