//! `TestApp`: the real server on port 0 against a database of its own, cloned from a migrated
//! template. The databases live on a throwaway private PostgreSQL cluster started once per test
//! run (or on `TEST_DATABASE_URL`'s server when that is set).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, OnceLock},
    time::Duration,
};

use bac_metrics::{
    auth::{AuthService, JwtKeys},
    cli,
    config::Config,
    db::{
        cluster::{Durability, PrivateCluster},
        enums::Role,
        models::NewOrgUnit,
        run_migrations,
        schema::org_units,
        Database, PoolOptions,
    },
    graphql::AppSchema,
    secrets::Secrets,
    startup::Application,
};
use diesel::{pg::PgConnection, prelude::*, sql_query, Connection};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

/// The signing secret every test server uses, so tests can craft tokens.
pub const TEST_SECRET: &[u8] = b"integration-test-secret-0123456789abcdef";
/// The pseudonym key every test server uses.
pub const PSEUDONYM_KEY: &str = "integration-test-pseudonym-key-0123456789";
/// A password that meets the policy.
pub const PASSWORD: &str = "correct horse battery staple";
const TEMPLATE: &str = "bac_metrics_test_template";

/// Where test databases are created.
struct TestServer {
    /// Builds a URL for a database name on this server.
    base_url: String,
    _cluster: Option<PrivateCluster>,
}

impl TestServer {
    fn url(&self, database: &str) -> String {
        with_database(&self.base_url, database)
    }
}

fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (base_url, cluster) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => (url, None),
            _ => {
                let root =
                    std::env::temp_dir().join(format!("bac-metrics-test-{}", std::process::id()));
                let cluster = PrivateCluster::start(&root, Durability::Throwaway)
                    .expect("start the throwaway PostgreSQL cluster for the tests");
                (cluster.database_url("postgres"), Some(cluster))
            }
        };
        let server = TestServer {
            base_url,
            _cluster: cluster,
        };
        create_template(&server);
        server
    })
}

/// Migrates the template once; on a shared server an advisory lock serialises concurrent runs.
fn create_template(server: &TestServer) {
    let mut admin = PgConnection::establish(&server.base_url).expect("connect to the test server");
    sql_query("SELECT pg_advisory_lock(4242)")
        .execute(&mut admin)
        .unwrap();
    sql_query(format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    sql_query(format!("CREATE DATABASE {TEMPLATE}"))
        .execute(&mut admin)
        .unwrap();
    {
        let mut template = PgConnection::establish(&server.url(TEMPLATE)).unwrap();
        run_migrations(&mut template).expect("migrate the template database");
    }
    sql_query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut admin)
        .unwrap();
}

/// A new database cloned from the migrated template; returns its URL.
pub fn fresh_database() -> String {
    create_database(Some(TEMPLATE))
}

/// A new, empty database (no migrations); returns its URL.
pub fn empty_database() -> String {
    create_database(None)
}

fn create_database(template: Option<&str>) -> String {
    let server = server();
    let name = format!("bac_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&server.base_url).expect("connect to the test server");
    let template_clause = template
        .map(|t| format!(" TEMPLATE {t}"))
        .unwrap_or_default();
    sql_query(format!("CREATE DATABASE {name}{template_clause}"))
        .execute(&mut admin)
        .expect("create a test database");
    server.url(&name)
}

/// The URL of a database on the test server that does not exist (for readiness tests).
pub fn missing_database_url() -> String {
    server().url("bac_no_such_database")
}

fn with_database(url: &str, database: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let scheme_end = before_query.find("://").map(|index| index + 3).unwrap_or(0);
    let host_part = match before_query[scheme_end..].find('/') {
        Some(index) => &before_query[..scheme_end + index],
        None => before_query,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

/// A running server with its own database.
pub struct TestApp {
    pub address: String,
    /// The `/metrics` listener's base URL, when the test set `METRICS_BIND`.
    pub metrics_address: Option<String>,
    pub database_url: String,
    pub database: Database,
    pub auth: AuthService,
    pub keys: JwtKeys,
    pub config: Arc<Config>,
    pub schema: AppSchema,
    pub client: reqwest::Client,
}

impl TestApp {
    /// A server with the default (development) configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// A server with extra environment variables (e.g. `APP_ENV=production`).
    pub async fn spawn_with(variables: &[(&str, &str)]) -> Self {
        let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
        Self::spawn_on(url, variables).await
    }

    /// A server against `database_url` (which may be unreachable).
    pub async fn spawn_on(database_url: String, variables: &[(&str, &str)]) -> Self {
        let secret = String::from_utf8(TEST_SECRET.to_vec()).unwrap();
        let mut pairs: Vec<(String, String)> = vec![
            ("BIND".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database_url.clone()),
            ("JWT_SECRET".into(), secret),
            ("HTTP_WORKERS".into(), "1".into()),
            ("DATABASE_POOL_SIZE".into(), "4".into()),
            ("DATABASE_CHECKOUT_TIMEOUT_MS".into(), "2000".into()),
            // Tests see the developer tools unless they ask for production.
            ("APP_ENV".into(), "development".into()),
        ];
        for (name, value) in variables {
            pairs.retain(|(existing, _)| existing != name);
            pairs.push((name.to_string(), value.to_string()));
        }
        let config = Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .expect("valid test configuration");
        let config = Arc::new(config);
        let database = Database::connect_lazily(&database_url, &PoolOptions::from_config(&config));
        let secrets = Secrets {
            jwt: TEST_SECRET.to_vec(),
            pseudonym: b"integration-test-pseudonym-key-0123456789".to_vec(),
        };
        let application = Application::build(config.clone(), database.clone(), &secrets)
            .await
            .expect("build the application");
        let address = format!("http://127.0.0.1:{}", application.port());
        let metrics_address = application
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let auth = application.state().auth.clone();
        let schema = application.state().schema.clone();
        tokio::spawn(application.run_until_stopped());
        Self {
            address,
            metrics_address,
            database_url,
            database,
            keys: JwtKeys::new(TEST_SECRET, &config.tokens),
            auth,
            config,
            schema,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Under the server's 5 s keep-alive: a connection idle that long may be closing
                // on the server's side just as the client reuses it (an `IncompleteMessage`
                // seen once on a loaded machine), so the client drops idle ones first.
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap(),
        }
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.address)
    }

    /// POSTs a GraphQL request with `application/json` and returns the status and body.
    pub async fn post(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Like [`TestApp::post`], asking for `application/graphql-response+json`.
    pub async fn post_graphql_response(
        &self,
        token: Option<&str>,
        query: &str,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.graphql_url())
            .header(header::ACCEPT, "application/graphql-response+json")
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// A direct database connection (to arrange or tamper with state behind the API's back).
    pub fn connection(&self) -> PgConnection {
        PgConnection::establish(&self.database_url).expect("connect to the test database")
    }

    /// Creates the org tree AGENCY → OFFICE-A (TEAM-A1, TEAM-A2), OFFICE-B (TEAM-B1).
    pub async fn seed_org(&self) {
        self.database
            .run(|connection| {
                let mut insert = |code: &str, parent: Option<&str>| -> QueryResult<i64> {
                    let parent_id = match parent {
                        Some(parent) => Some(
                            org_units::table
                                .filter(org_units::code.eq(parent))
                                .select(org_units::id)
                                .first::<i64>(connection)?,
                        ),
                        None => None,
                    };
                    diesel::insert_into(org_units::table)
                        .values(NewOrgUnit {
                            code,
                            name: &format!("Unit {code}"),
                            parent_id,
                        })
                        .returning(org_units::id)
                        .get_result(connection)
                };
                insert("AGENCY", None)?;
                insert("OFFICE-A", Some("AGENCY"))?;
                insert("OFFICE-B", Some("AGENCY"))?;
                insert("TEAM-A1", Some("OFFICE-A"))?;
                insert("TEAM-A2", Some("OFFICE-A"))?;
                insert("TEAM-B1", Some("OFFICE-B"))?;
                Ok(())
            })
            .await
            .expect("seed the org tree");
    }

    /// Creates a user with [`PASSWORD`] (or a service account) and returns its id.
    pub async fn create_user(
        &self,
        email: &str,
        role: Role,
        org_unit: &str,
        with_password: bool,
    ) -> i64 {
        cli::add_user(
            &self.database,
            email,
            role,
            org_unit,
            None,
            with_password.then(|| PASSWORD.to_owned()),
        )
        .await
        .expect("create a user")
        .id
    }

    /// Mints a token for `email` through the same service the `token` command uses.
    pub async fn token_for(&self, email: &str) -> String {
        self.auth
            .mint_for_email(&self.database, email, Duration::from_secs(600))
            .await
            .expect("mint a token")
            .token
    }

    /// Logs in through the API and returns the `login` payload.
    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            None,
            "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken tokenType user { email role } } }",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// One user of every role in the org tree; returns `(role, email, token)`.
    pub async fn users_of_every_role(&self) -> Vec<(Role, String, String)> {
        let mut users = Vec::new();
        for (role, unit) in [
            (Role::Ingest, "AGENCY"),
            (Role::Agent, "TEAM-A1"),
            (Role::Supervisor, "OFFICE-A"),
            (Role::Analyst, "AGENCY"),
            (Role::Auditor, "AGENCY"),
            (Role::Admin, "AGENCY"),
        ] {
            let email = format!("{}@test.example", role.as_db_str());
            self.create_user(&email, role, unit, true).await;
            let token = self.token_for(&email).await;
            users.push((role, email, token));
        }
        users
    }
}

/// The `extensions.code` of the first error, if any.
pub fn first_error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The message of the first error, if any.
pub fn first_error_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

/// `bac-metrics serve` as a separate process on `database_url` (JSON logs at `info`), once it
/// listens: the child, its base URL, and every later log line as a JSON object.
pub fn spawn_server_process(
    database_url: &str,
    variables: &[(&str, &str)],
) -> (Child, String, mpsc::Receiver<Value>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bac-metrics"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env(
            "JWT_SECRET",
            String::from_utf8(TEST_SECRET.to_vec()).unwrap(),
        )
        .env("PSEUDONYM_KEY", PSEUDONYM_KEY)
        .env("BIND", "127.0.0.1:0")
        .env("HTTP_WORKERS", "1")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in variables {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start bac-metrics serve");
    let stderr = child.stderr.take().unwrap();
    let (address_sender, address_receiver) = mpsc::channel();
    let (log_sender, log_receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut address_sender = Some(address_sender);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["message"] == "listening" {
                if let Some(sender) = address_sender.take() {
                    // `http://127.0.0.1:PORT`
                    let _ = sender.send(event["address"].as_str().unwrap_or("").to_owned());
                }
            } else {
                // Nobody listening any more is fine: the test took what it needed.
                let _ = log_sender.send(event);
            }
        }
    });
    let address = address_receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the server process starts listening");
    (child, address, log_receiver)
}

/// The line numbers an import report lists under `list` (`rejected_rows`, `conflict_rows`, …),
/// in the report's order.
pub fn report_lines(report: &Value, list: &str) -> Vec<i64> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("the report has no `{list}`: {report}"))
        .iter()
        .map(|row| row["line"].as_i64().unwrap())
        .collect()
}

/// `(line, field, reason)` of every rejected row of an import report.
pub fn rejections(report: &Value) -> Vec<(i64, String, String)> {
    report["rejected_rows"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has no `rejected_rows`: {report}"))
        .iter()
        .map(|row| {
            (
                row["line"].as_i64().unwrap(),
                row["field"].as_str().unwrap_or("").to_owned(),
                row["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}
