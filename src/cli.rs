//! The command line: `serve [--demo]`, `migrate`, `user add`, `token`, `import`, `seed`,
//! `retention`, `documents add|list|remove`, `schema`, `reference`.
//!
//! Commands that need a database use `DATABASE_URL` when it is set and otherwise start (or join)
//! the private cluster in `DATA_DIR`. Start-up failures are reported with `anyhow` context, in
//! sentences an operator can act on.

use std::{
    io::{Read, Write},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::{
    audit::Actor,
    auth::{password, AuthService, JwtKeys, PasswordHasher},
    config::Config,
    db::{
        cluster::{Durability, PrivateCluster, APPLICATION_DATABASE},
        enums::Role,
        models::User,
        Database, PoolOptions, Workload,
    },
    demo,
    error::AppError,
    import,
    records::{
        documents,
        organisation::{self, NewPassword, UserDraft, UserFields, UserInput},
    },
    secrets::Secrets,
    startup::Application,
    synthetic,
};

/// bac-metrics: customer assistance metrics for a Business Action Center.
#[derive(Debug, Parser)]
#[command(name = "bac-metrics", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether this is `serve --demo` (which defaults to the developer environment).
    pub fn is_demo(&self) -> bool {
        matches!(self.command, Command::Serve { demo: true })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (GraphQL at /graphql).
    Serve {
        /// Seed demo data (once) and print a ready-to-use token for every role.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Mint an access token for a user or service account (printed alone on stdout).
    Token {
        #[arg(long)]
        email: String,
        /// Lifetime: seconds, or a number with s, m, h or d.
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: Duration,
    },
    /// Import a CSV or NDJSON file: org-units, topics, users, interactions,
    /// survey-invitations or survey-responses (formats in docs/import-formats.md). Prints the report as JSON;
    /// exits with status 2 when rows were rejected or conflicted.
    Import {
        /// org-units, topics, users, interactions, survey-invitations, survey-responses.
        kind: String,
        /// The file; `.csv`, `.ndjson` or `.jsonl` (or say which with --format).
        file: std::path::PathBuf,
        /// csv or ndjson, when the file name does not tell.
        #[arg(long)]
        format: Option<String>,
        /// survey-invitations only: issue a one-time survey link to every invitation the import
        /// creates and list the links in the report (shown this once; a re-import issues none).
        #[arg(long)]
        links: bool,
        /// Days the issued links stay usable (1–90).
        #[arg(long = "link-days", default_value_t = crate::records::surveys::DEFAULT_LINK_DAYS, requires = "links")]
        link_days: i32,
    },
    /// Generate synthetic data at scale: the organisation, topics and staff when missing, then
    /// N interactions on every channel over D days with their survey invitations and responses,
    /// written batch by batch through the importer. The same seed and window give the same
    /// data, so running it again inserts nothing. Prints a JSON summary; exits with status 2
    /// when rows were rejected or conflicted.
    Seed {
        /// How many interactions to generate, repeat contacts included.
        #[arg(long)]
        interactions: u64,
        /// The random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Days of history, ending with --until.
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36_600))]
        days: u32,
        /// The last day (YYYY-MM-DD, reporting time zone); yesterday by default. Pin it to
        /// generate the same data on another day.
        #[arg(long)]
        until: Option<NaiveDate>,
        /// Parallel writers, one database connection each (at most DATABASE_POOL_SIZE).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
        workers: u32,
        /// Interactions per batch (each batch is one transaction, its surveys two more).
        #[arg(long = "batch-size", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
        batch_size: u32,
    },
    /// Apply the retention rules now: erase the personal fields of records past their period
    /// (RETENTION_* variables) except those under a legal hold, as one audited run. Prints the
    /// report as JSON; exits with status 3 when another run holds the lock.
    Retention {
        /// Count what would be erased, change nothing, record no audit event.
        #[arg(long = "dry-run")]
        dry_run: bool,
    },
    /// Manage the trusted GraphQL documents (the allow-list enforced with
    /// GRAPHQL_TRUSTED_DOCUMENTS=allow-list) and the stored automatic persisted queries.
    Documents {
        #[command(subcommand)]
        action: DocumentsCommand,
    },
    /// Print the GraphQL schema (SDL) the server serves.
    Schema,
    /// Print a reference document generated from the code: `metrics` (docs/metrics.md) or
    /// `roles` (docs/roles.md).
    Reference {
        #[arg(value_enum)]
        document: ReferenceDocument,
    },
}

/// The documents `reference` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReferenceDocument {
    /// The metric definitions.
    Metrics,
    /// The role matrix.
    Roles,
}

#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// Register the documents of .graphql files (each file's exact text is one document, with
    /// one or several named operations) and of Apollo or Relay persisted-query manifests
    /// (.json) as trusted. Every file is checked before anything is written; re-adding a
    /// document changes nothing unless its roles differ. Prints one line per document.
    Add {
        /// .graphql/.gql documents and .json manifests.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Limit the documents to these roles (repeat, or separate with commas); without it
        /// any caller, signed in or not, may run them.
        #[arg(long = "role", value_delimiter = ',')]
        roles: Vec<Role>,
    },
    /// List the stored documents: trusted ones first, then automatic persisted queries.
    List,
    /// Remove a stored document (trusted or automatic) by its SHA-256 hash.
    Remove {
        /// The document's SHA-256 (64 hexadecimal digits).
        hash: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin it is a service account (tokens only).
    Add {
        #[arg(long)]
        email: String,
        /// ingest, agent, supervisor, analyst, auditor or admin.
        #[arg(long)]
        role: Role,
        /// Code of the user's org unit.
        #[arg(long = "org-unit")]
        org_unit: String,
        /// Defaults to the part of the email before the @.
        #[arg(long = "display-name")]
        display_name: Option<String>,
        /// Read the password from standard input.
        #[arg(long = "password-stdin")]
        password_stdin: bool,
    },
    /// Link a user to the subject (`sub`) the identity provider gives them, for
    /// OIDC_USER_CLAIM=sub (docs/guides/identity-provider.md); --unlink removes it.
    Link {
        #[arg(long)]
        email: String,
        #[arg(long, required_unless_present = "unlink", conflicts_with = "unlink")]
        subject: Option<String>,
        #[arg(long)]
        unlink: bool,
    },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        Role::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_db_str()))
    }
}

/// Parses `90`, `90s`, `15m`, `12h` or `7d`.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(index) => raw.split_at(index),
        None => (raw, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 90s, 15m, 12h or 7d"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => return Err(format!("unknown unit in `{raw}`; use s, m, h or d")),
    };
    if seconds == 0 {
        return Err("the lifetime must be greater than zero".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// Runs one command to completion.
pub fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            return Ok(());
        }
        Command::Reference { document } => {
            print!(
                "{}",
                match document {
                    ReferenceDocument::Metrics => crate::metrics::catalog::reference_markdown(),
                    ReferenceDocument::Roles => crate::auth::scope::role_matrix_markdown(),
                }
            );
            return Ok(());
        }
        _ => {}
    }
    let demo = matches!(cli.command, Command::Serve { demo: true });
    let environment = open_environment(&config)?;
    let may_generate = environment.cluster.is_some() || demo;
    let config = Arc::new(config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let result = runtime.block_on(async {
        let applied = environment
            .database
            .migrate()
            .await
            .context("could not apply database migrations")?;
        match cli.command {
            Command::Serve { demo } => {
                let secrets = Secrets::load(&config, may_generate)?;
                serve(config, environment.database.clone(), &secrets, demo).await
            }
            Command::Migrate => {
                if applied.is_empty() {
                    println!("migrations are up to date: nothing to apply");
                } else {
                    println!("applied {} migration(s):", applied.len());
                    for version in &applied {
                        println!("  {version}");
                    }
                }
                // The one place the reporting time zone of a database in use changes: servers
                // refuse to start with a zone other than the database's.
                let zone = config.reporting.time_zone.name().to_owned();
                let settled_zone = zone.clone();
                let rebuilt = environment
                    .database
                    .for_workload(Workload::Import)
                    .run(move |connection| {
                        crate::metrics::align_time_zone(connection, &settled_zone)
                    })
                    .await
                    .context("could not set the reporting time zone")?;
                if rebuilt {
                    println!("reporting time zone is now {zone}: rebuilt the metric rollups; restart every server with REPORTING_TZ={zone}");
                }
                Ok(())
            }
            Command::User {
                action:
                    UserCommand::Add {
                        email,
                        role,
                        org_unit,
                        display_name,
                        password_stdin,
                    },
            } => {
                let password = if password_stdin {
                    let mut password = String::new();
                    std::io::stdin()
                        .read_to_string(&mut password)
                        .context("could not read the password from standard input")?;
                    Some(password.trim_end_matches(['\r', '\n']).to_owned())
                } else {
                    None
                };
                let user = add_user(
                    &environment.database,
                    &email,
                    role,
                    &org_unit,
                    display_name,
                    password,
                )
                .await
                .map_err(for_operator)?;
                println!(
                    "created user {} ({}, {})",
                    user.id,
                    user.email,
                    user.role.as_db_str()
                );
                Ok(())
            }
            Command::User {
                action:
                    UserCommand::Link {
                        email,
                        subject,
                        unlink: _,
                    },
            } => {
                let linked = subject.is_some();
                let user = organisation::link_external_subject(
                    &environment.database,
                    Actor::operator(),
                    &email,
                    subject,
                )
                .await
                .map_err(for_operator)?;
                if linked {
                    println!("linked user {} ({}) to its subject", user.id, user.email);
                } else {
                    println!("unlinked user {} ({})", user.id, user.email);
                }
                Ok(())
            }
            Command::Token { email, ttl } => {
                let secret = Secrets::jwt(&config, may_generate)?;
                let auth = AuthService::new(
                    JwtKeys::new(&secret, &config.tokens),
                    tokio::task::spawn_blocking(PasswordHasher::new).await??,
                    &config,
                    // Minting a token throttles nothing; any key will do.
                    &secret,
                );
                let minted = auth
                    .mint_for_email(&environment.database, &email, ttl)
                    .await?;
                println!("{}", minted.token);
                Ok(())
            }
            Command::Import {
                kind,
                file,
                format,
                links,
                link_days,
            } => {
                let report = import_file(
                    &environment.database,
                    &config,
                    &kind,
                    &file,
                    format.as_deref(),
                    links.then_some(link_days),
                )
                .await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                if report.rejected > 0 || report.conflicts > 0 {
                    eprintln!(
                        "{} rows rejected and {} in conflict; see the report for line numbers",
                        report.rejected, report.conflicts
                    );
                    std::process::exit(2);
                }
                Ok(())
            }
            Command::Seed {
                interactions,
                seed,
                days,
                until,
                workers,
                batch_size,
            } => {
                let options = SeedOptions {
                    interactions,
                    seed,
                    days,
                    until,
                    workers: workers as usize,
                    batch_size: batch_size as usize,
                };
                let summary = seed_synthetic(&environment.database, &config, options).await?;
                println!("{}", serde_json::to_string_pretty(&summary)?);
                if summary.has_problems() {
                    eprintln!(
                        "some rows were rejected or conflicted (a different --interactions, --days or --until with the same --seed makes different rows under the same keys); see `problems`"
                    );
                    std::process::exit(2);
                }
                Ok(())
            }
            Command::Retention { dry_run } => {
                let outcome = crate::retention::run(
                    &environment.database,
                    &config.retention,
                    crate::retention::RunOptions {
                        dry_run,
                        actor: Actor::operator(),
                        unless_run_since: None,
                    },
                )
                .await?;
                match outcome {
                    crate::retention::RunOutcome::Completed(report) => {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                        Ok(())
                    }
                    crate::retention::RunOutcome::AnotherRunInProgress => {
                        eprintln!("another retention run is in progress; nothing was done");
                        std::process::exit(3);
                    }
                    crate::retention::RunOutcome::NotDue { .. } => {
                        unreachable!("a run from the command line is always due")
                    }
                }
            }
            Command::Documents { action } => {
                manage_documents(&environment.database, &config, action)
                    .await
                    .map_err(for_operator)
            }
            Command::Schema | Command::Reference { .. } => {
                unreachable!("handled before the database is opened")
            }
        }
    });
    drop(runtime);
    if let Some(cluster) = environment.cluster {
        cluster.stop();
    }
    result
}

async fn serve(
    config: Arc<Config>,
    database: Database,
    secrets: &Secrets,
    demo: bool,
) -> anyhow::Result<()> {
    if demo {
        let hash =
            tokio::task::spawn_blocking(|| password::hash_password(demo::DEMO_PASSWORD)).await??;
        let time_zone = config.reporting.time_zone;
        let today = chrono::Utc::now().with_timezone(&time_zone).date_naive();
        let report = database
            .for_workload(Workload::Import)
            .run(move |connection| demo::seed(connection, &hash, time_zone, today))
            .await
            .context("could not seed the demo data")?;
        if report.already_present {
            tracing::info!("demo data already present; keeping it");
        } else {
            tracing::info!(?report, "seeded demo data");
        }
    }
    let application = Application::build(config.clone(), database.clone(), secrets)
        .await
        .with_context(|| format!("could not start the HTTP server on {}", config.bind))?;
    let address = format!("http://{}:{}", config.bind.ip(), application.port());
    if let (Some(metrics), Some(port)) = (config.metrics_bind, application.metrics_port()) {
        tracing::info!(address = %format!("http://{}:{port}/metrics", metrics.ip()), "serving metrics");
    }
    if demo {
        let mut out = String::new();
        let today = chrono::Utc::now()
            .with_timezone(&config.reporting.time_zone)
            .date_naive();
        out.push_str(&format!(
            "\nbac-metrics demo is running.\n  GraphiQL: {address}/graphql\n  Oversight reports in a browser: {address}/web/ (sign in as auditor@bac.example.gov)\n  Data: the 90 days before {today}, and July–September 2026 (the README's examples).\n  Staff accounts (admin, auditor, supervisors, agents) sign in with the `login` mutation,\n  password \"{}\"; analyst@ and ingest@ are service accounts, with tokens only.\n  Or paste one of these into GraphiQL's Headers tab (valid 12 hours):\n\n",
            demo::DEMO_PASSWORD
        ));
        for (role, email) in demo::ROLE_ACCOUNTS {
            let minted = application
                .state()
                .auth
                .mint_for_email(&database, email, Duration::from_secs(12 * 3600))
                .await?;
            out.push_str(&format!(
                "  {:<10} {email}\n  {{\"Authorization\": \"Bearer {}\"}}\n\n",
                role.as_db_str(),
                minted.token
            ));
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
    } else {
        tracing::info!(%address, "listening");
    }
    application.run_until_stopped().await?;
    tracing::info!("server stopped");
    Ok(())
}

/// The database to use and, without `DATABASE_URL`, the private cluster serving it.
pub struct DatabaseEnvironment {
    pub database: Database,
    pub cluster: Option<PrivateCluster>,
}

/// Connects to `DATABASE_URL`, or starts the private cluster in `DATA_DIR`.
pub fn open_environment(config: &Config) -> anyhow::Result<DatabaseEnvironment> {
    let options = PoolOptions::from_config(config);
    match &config.database_url {
        Some(url) => Ok(DatabaseEnvironment {
            database: Database::connect_lazily(secrecy::ExposeSecret::expose_secret(url), &options),
            cluster: None,
        }),
        None => {
            let cluster = PrivateCluster::start(&config.data_dir, Durability::Durable)
                .context("could not start the private PostgreSQL (set DATABASE_URL to use an existing server)")?;
            tracing::info!(data_dir = %config.data_dir.display(), "using the private PostgreSQL cluster");
            Ok(DatabaseEnvironment {
                database: Database::connect_lazily(
                    &cluster.database_url(APPLICATION_DATABASE),
                    &options,
                ),
                cluster: Some(cluster),
            })
        }
    }
}

/// Imports `file` as `kind` through the same importer as `POST /import/{kind}`.
///
/// With `link_days`, a survey-invitations import issues a link (usable that many days) to every
/// invitation it creates, built from `PUBLIC_BASE_URL` (in development, from `BIND`).
pub async fn import_file(
    database: &Database,
    config: &Config,
    kind: &str,
    file: &std::path::Path,
    format: Option<&str>,
    link_days: Option<i32>,
) -> anyhow::Result<import::ImportReport> {
    let kind: import::ImportKind = kind.parse()?;
    let invitation_links = link_days
        .map(|expires_in_days| {
            import::InvitationLinks::new(
                kind,
                crate::records::surveys::LinkIssuing {
                    links: crate::startup::survey_links(config, config.bind.port()),
                    expires_in_days,
                },
            )
        })
        .transpose()?;
    let format = match format {
        Some("csv") => import::Format::Csv,
        Some("ndjson") | Some("jsonl") => import::Format::Ndjson,
        Some(other) => anyhow::bail!("unknown format `{other}`; use csv or ndjson"),
        None => import::Format::from_path(file).with_context(|| {
            format!(
                "cannot tell the format of {}; name it .csv or .ndjson, or pass --format",
                file.display()
            )
        })?,
    };
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let context = import::ImportContext {
        actor: Actor::operator(),
        request_id: None,
        batch_size: config.import_batch_size,
        max_line_bytes: config.imports.max_line_bytes,
        invitation_links,
    };
    let workers = config.import_workers;
    Ok(database
        .for_workload(Workload::Import)
        .run_job(workers as u32, move |database| {
            import::run_parallel(
                database,
                workers,
                kind,
                format,
                std::io::BufReader::new(input),
                &context,
            )
        })
        .await?)
}

/// What `seed` generates.
#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub interactions: u64,
    pub seed: u64,
    pub days: u32,
    /// The last day; yesterday in the reporting time zone when `None`.
    pub until: Option<NaiveDate>,
    pub workers: usize,
    /// Interactions per batch.
    pub batch_size: usize,
}

/// What `seed` did, printed as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    pub seed: u64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub time_zone: String,
    /// Organisation rows inserted (existing identical rows are left alone).
    pub organisation: synthetic::OrganisationCounts,
    pub interactions: synthetic::WrittenCounts,
    pub survey_invitations: synthetic::WrittenCounts,
    pub survey_responses: synthetic::WrittenCounts,
    pub batch_size: usize,
    pub workers: usize,
    /// Wall-clock seconds of generating and writing the interactions and surveys.
    pub seconds: f64,
    /// Of which the writers spent this long (summed) generating.
    pub generating_seconds: f64,
    /// Interactions, invitations and responses written per second.
    pub rows_per_second: f64,
    pub interactions_per_second: f64,
    /// The first few rejected or conflicting rows.
    pub problems: Vec<String>,
}

impl SeedSummary {
    /// True when some rows were rejected or conflicted.
    pub fn has_problems(&self) -> bool {
        [
            self.interactions,
            self.survey_invitations,
            self.survey_responses,
        ]
        .iter()
        .any(|counts| counts.conflicts > 0 || counts.rejected > 0)
    }
}

/// `seed`: creates the synthetic organisation when missing, then generates and writes the
/// interactions and surveys through the importer's batch path (no CSV in between).
pub async fn seed_synthetic(
    database: &Database,
    config: &Config,
    options: SeedOptions,
) -> anyhow::Result<SeedSummary> {
    anyhow::ensure!(options.days > 0, "--days must be at least 1");
    let time_zone = config.reporting.time_zone;
    let today = chrono::Utc::now().with_timezone(&time_zone).date_naive();
    let last_day = options.until.unwrap_or(today - chrono::Days::new(1));
    anyhow::ensure!(
        last_day < today,
        "--until must be a day before today ({today} in {time_zone}): interactions cannot lie in the future"
    );
    let first_day = last_day - chrono::Days::new(u64::from(options.days - 1));
    // The records' own rule: nothing this program measures happened before 2000.
    anyhow::ensure!(
        first_day.and_hms_opt(12, 0, 0).is_some_and(|noon| noon.and_utc() > crate::domain::EventTime::earliest()),
        "--days reaches back to {first_day}, before 2000-01-02: choose fewer days or a later --until"
    );
    let organisation = synthetic::Organisation::sized_for(options.interactions, options.days);
    let context = import::ImportContext {
        actor: Actor::operator(),
        request_id: None,
        batch_size: config.import_batch_size,
        max_line_bytes: config.imports.max_line_bytes,
        invitation_links: None,
    };
    let database = database.for_workload(Workload::Import);
    let organisation_counts = {
        let (organisation, context) = (organisation.clone(), context.clone());
        database
            .run(move |connection| {
                synthetic::import_organisation(connection, &organisation, &context)
            })
            .await
            .context("could not create the synthetic organisation")?
    };
    let generator = synthetic::Generator::new(
        synthetic::GeneratorSettings {
            source: "synthetic".into(),
            id_prefix: format!("s{}-", options.seed),
            seed: options.seed,
            interactions: options.interactions,
            customers: u32::try_from(options.interactions / 8)
                .unwrap_or(u32::MAX)
                .max(100),
            first_day,
            days: options.days,
            time_zone,
        },
        organisation,
    );
    let workers = options
        .workers
        .clamp(1, config.workloads.import.connections.max(1) as usize);
    let batch_size = options.batch_size.max(1);
    let started = std::time::Instant::now();
    let report = database
        .run_job(workers as u32, move |database| {
            synthetic::load(database, generator, batch_size, workers, &context)
        })
        .await
        .context("could not write the synthetic data")?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = report.interactions.total()
        + report.survey_invitations.total()
        + report.survey_responses.total();
    Ok(SeedSummary {
        seed: options.seed,
        first_day,
        last_day,
        time_zone: time_zone.name().to_owned(),
        organisation: organisation_counts,
        interactions: report.interactions,
        survey_invitations: report.survey_invitations,
        survey_responses: report.survey_responses,
        batch_size,
        workers,
        seconds,
        generating_seconds: report.generating_seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        interactions_per_second: report.interactions.total() as f64 / seconds.max(1e-9),
        problems: report.problems,
    })
}

/// The options of `user add`, as errors name them.
const USER_OPTIONS: UserFields = UserFields {
    email: "--email",
    display_name: "--display-name",
    org_unit_code: "--org-unit",
};

/// Creates a user as the operator (`user add`) through `records::organisation`, with the same
/// rules and audit event as `createUser`; errors name the command's options. Without a display
/// name, the part of the email before the `@`. A password, when given, must meet the policy.
pub async fn add_user(
    database: &Database,
    email: &str,
    role: Role,
    org_unit_code: &str,
    display_name: Option<String>,
    password: Option<String>,
) -> Result<User, AppError> {
    let draft = UserDraft::parse(
        USER_OPTIONS,
        UserInput {
            email,
            display_name: display_name.as_deref(),
            role,
            org_unit_code,
        },
    )?;
    let password = password
        .map(|password| NewPassword::parse("--password-stdin", password))
        .transpose()?;
    organisation::create_user(database, Actor::operator(), None, draft, password).await
}

/// `documents add|list|remove`, through `records::documents` with the operator as the actor
/// of their audit events. Prints one line per document.
pub async fn manage_documents(
    database: &Database,
    config: &Config,
    action: DocumentsCommand,
) -> Result<(), AppError> {
    match action {
        DocumentsCommand::Add { files, roles } => {
            let mut drafts = Vec::new();
            for file in &files {
                drafts.extend(documents::read_file(file, config.graphql.max_body_bytes)?);
            }
            let roles = (!roles.is_empty()).then_some(roles);
            let report = documents::add_trusted(database, Actor::operator(), drafts, roles).await?;
            for added in &report {
                let outcome = match added.outcome {
                    documents::AddOutcome::Added => "added",
                    documents::AddOutcome::RolesChanged => "roles changed",
                    documents::AddOutcome::Unchanged => "unchanged",
                };
                println!(
                    "{}  {outcome}  {}",
                    added.hash,
                    describe_operations(added.operation_names.iter().map(String::as_str))
                );
            }
            let added = report
                .iter()
                .filter(|added| added.outcome != documents::AddOutcome::Unchanged)
                .count();
            println!(
                "{} document(s): {added} added or changed, {} unchanged",
                report.len(),
                report.len() - added
            );
        }
        DocumentsCommand::List => {
            let stored = documents::list(database).await?;
            if stored.is_empty() {
                println!("no persisted documents");
            }
            for document in &stored {
                let kind = if document.trusted {
                    "trusted"
                } else {
                    "automatic"
                };
                let roles = match &document.roles {
                    Some(roles) => roles
                        .iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                    None if document.trusted => "any role".into(),
                    None => "-".into(),
                };
                println!(
                    "{}  {kind}  {roles}  {}  {}",
                    document.hash,
                    document.registered_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    describe_operations(
                        document
                            .operation_names
                            .iter()
                            .flatten()
                            .map(String::as_str)
                    )
                );
            }
        }
        DocumentsCommand::Remove { hash } => {
            let hash = documents::DocumentHash::parse("HASH", &hash)?;
            let removed = documents::remove(database, Actor::operator(), hash).await?;
            println!(
                "removed {} ({})",
                removed.hash,
                if removed.trusted {
                    "trusted"
                } else {
                    "automatic"
                }
            );
        }
    }
    Ok(())
}

/// Operation names for a listing; an anonymous operation has none.
fn describe_operations<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "(anonymous operation)".into()
    } else {
        names.join(", ")
    }
}

/// An error of a command, for the operator: input errors lead with the option at fault.
fn for_operator(error: AppError) -> anyhow::Error {
    match error {
        AppError::BadUserInput {
            field: Some(field),
            message,
        } => anyhow::anyhow!("{field}: {message}"),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lifetimes() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("soon").is_err());
    }
}
