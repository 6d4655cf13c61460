//! The mixed-load benchmark of issue 10: can one caller take the service away from the others?
//!
//! A load generator (`harness = false`), driven by `scripts/bench-mixed.sh`, which builds the
//! release server, seeds it, starts it, mints the tokens listed in `--tokens` and samples the
//! server's memory. For `--duration` seconds, all at once:
//!
//! - **Interactive clients** (16 by default), each with its own token, in a closed loop with a
//!   short think time: a page of `interactions(first: 50)` with agent, org unit and topic
//!   (following `pageInfo.endCursor` for a few pages, then starting again), `{ me { email role } }`,
//!   and the 12-month × CHANNEL `metrics` query of `scripts/bench-metrics.sh` (a), in a fixed mix.
//!   Any HTTP status but 200, any GraphQL `errors` entry and any timeout is an error: the issue's
//!   targets (zero errors, p99 ≤ 250 ms) concern these clients only.
//! - **Hostile clients**, one per attack, each sending its next request as soon as the previous
//!   one is answered: aliased reports (`metrics` and `trainingNeeds` fifty times in one
//!   document), maximal CSV exports, a login flood (single wrong passwords, and alongside them
//!   documents of 200 aliased `login` fields), and forged or garbage bearer tokens. What they get
//!   is counted (status, every `extensions.code`), never judged.
//!
//! Every request has a timeout, so a stalled server shows up as errors rather than a hang; a
//! hostile request still running at the end of the run is abandoned (and counted as cut off), so
//! the run ends on time. The result is markdown on stdout; `--summary FILE` also writes the
//! figures the script checks against the targets as `key=value` lines. Progress goes to stderr.
//!
//! Run it through the script (`scripts/bench-mixed.sh`); by hand:
//! `cargo bench --bench mixed_load -- --url http://127.0.0.1:18090 --tokens tokens.txt`.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{Datelike, Local, Months, NaiveDate};
use clap::Parser;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

/// Every metric of the catalogue (docs/metrics.md): what the aliased reports and the exports ask for.
const ALL_METRICS: [&str; 17] = [
    "INTERACTIONS",
    "ABANDONMENT_RATE",
    "AVERAGE_SPEED_OF_ANSWER",
    "SERVICE_LEVEL",
    "AVERAGE_HANDLE_TIME",
    "TRANSFER_RATE",
    "FIRST_CONTACT_RESOLUTION",
    "SELF_SERVICE_CONTAINMENT",
    "CSAT",
    "TRUST",
    "EFFECTIVENESS",
    "EASE",
    "EFFICIENCY",
    "TRANSPARENCY",
    "HELPFULNESS",
    "REPORTED_RESOLUTION",
    "SURVEY_RESPONSE_RATE",
];

/// The eight metrics of the dashboard query (bench-metrics.sh (a)).
const DASHBOARD_METRICS: &str = "INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, \
    SERVICE_LEVEL, AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION, CSAT, SURVEY_RESPONSE_RATE";

const PAGE_QUERY: &str = "query Page($after: String) { interactions(first: 50, after: $after) { \
    edges { node { id channel startedAt outcome agent { email } orgUnit { code } topic { code } } } \
    pageInfo { endCursor hasNextPage } } }";

const ME_QUERY: &str = "{ me { email role } }";

/// Record-level exports the server may have; each is probed once and skipped when it is 404.
const RECORD_EXPORTS: [&str; 2] = ["/export/interactions.csv", "/export/survey-responses.csv"];

#[derive(Debug, Parser)]
#[command(about = "Mixed interactive + hostile load against a running bac-metrics server")]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:18090. Without it the generator does
    /// nothing, so that a plain `cargo bench` or `cargo test --all-targets` passes over it.
    #[arg(long, requires = "tokens")]
    url: Option<String>,
    /// Tokens, one a line: `PURPOSE EMAIL TOKEN`, where PURPOSE is `interactive`,
    /// `aliases-agent`, `aliases-supervisor`, `exports` or `tampered` (a real token the
    /// bad-token client alters; optional).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Interactive clients (each takes the next `interactive` token, round robin).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Think time of an interactive client between two requests, in milliseconds.
    #[arg(long = "think-ms", default_value_t = 20)]
    think_ms: u64,
    /// Interactive mix in percent: page,me,metrics.
    #[arg(long, default_value = "50,25,25")]
    mix: String,
    /// Pages an interactive client follows before starting from the first page again.
    #[arg(long, default_value_t = 4)]
    pages: u32,
    /// Attacks to run, comma-separated: aliases, exports, logins, tokens; or `none`.
    #[arg(long, default_value = "aliases,exports,logins,tokens")]
    attacks: String,
    /// Aliases of `metrics` / `trainingNeeds` per document.
    #[arg(long, default_value_t = 50)]
    aliases: usize,
    /// `login` fields in one aliased document of the login flood (0: single logins only).
    #[arg(long = "login-aliases", default_value_t = 200)]
    login_aliases: usize,
    /// The real account whose password the login flood guesses.
    #[arg(long = "login-email", default_value = "admin@bac.example.gov")]
    login_email: String,
    /// The query string of the metrics export, instead of the largest one (every metric,
    /// DAY × AGENT × CHANNEL × TOPIC, two years): to try an export that finishes within the
    /// statement timeout.
    #[arg(long = "export-query")]
    export_query: Option<String>,
    /// The unit the `trainingNeeds` aliases ask about (the supervisor's office).
    #[arg(long = "training-org-unit", default_value = "BAC-CENTRAL")]
    training_org_unit: String,
    /// Timeout of an interactive request, in milliseconds (connect to last body byte).
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Timeout of a hostile request, in milliseconds.
    #[arg(long = "hostile-timeout-ms", default_value_t = 120_000)]
    hostile_timeout_ms: u64,
    /// Width of the time windows of the interactive timeline, in seconds.
    #[arg(long = "window-secs", default_value_t = 10)]
    window_secs: u64,
    /// A title for the tables.
    #[arg(long, default_value = "mixed load")]
    label: String,
    /// Also write the checked figures here, as key=value lines.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One finished request.
#[derive(Debug, Clone)]
struct Sample {
    /// Which operation or attack variant.
    op: &'static str,
    /// When it started, from the start of the run.
    at: Duration,
    latency: Duration,
    /// `ok`, or what went wrong: `HTTP 500`, `200 INTERNAL`, `timeout`, ….
    outcome: String,
    /// Response body bytes read.
    bytes: u64,
}

/// What one client brings back.
#[derive(Debug, Default)]
struct ClientReport {
    samples: Vec<Sample>,
    /// Every `extensions.code` seen, per operation, counted per error (an aliased document can
    /// carry fifty).
    codes: BTreeMap<(&'static str, String), u64>,
    /// The first message seen per outcome (or error code) of an operation, to say what it was.
    messages: BTreeMap<(&'static str, String), String>,
    /// Requests still running when the run ended (hostile clients only).
    cut_off: BTreeMap<&'static str, u64>,
    /// Notes for the report (e.g. a skipped export).
    notes: Vec<String>,
}

/// A response, read and classified.
struct Outcome {
    status: u16,
    /// The parsed body of an interactive response (small), when it was JSON.
    body: Option<Value>,
    /// Error codes in the body, one per error, with their messages.
    codes: Vec<(String, String)>,
    bytes: u64,
}

impl Outcome {
    /// `ok` or a short description of what went wrong.
    fn key(&self) -> String {
        if self.codes.is_empty() {
            if self.status == 200 {
                "ok".into()
            } else {
                format!("HTTP {}", self.status)
            }
        } else {
            let mut codes: Vec<&str> = self.codes.iter().map(|(code, _)| code.as_str()).collect();
            codes.sort_unstable();
            codes.dedup();
            format!("{} {}", self.status, codes.join("+"))
        }
    }
}

/// The GraphQL response envelope, with the data skipped rather than built: an aliased report
/// answer can be tens of megabytes.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    code: Option<String>,
}

fn error_codes(errors: Option<Vec<GraphqlError>>) -> Vec<(String, String)> {
    errors
        .unwrap_or_default()
        .into_iter()
        .map(|error| {
            let code = error
                .extensions
                .and_then(|extensions| extensions.code)
                .unwrap_or_else(|| "NO_CODE".into());
            (code, error.message)
        })
        .collect()
}

/// A request that produced no response: what kind of failure, and the error chain.
struct Failure {
    kind: String,
    detail: String,
}

fn transport_failure(error: &reqwest::Error) -> Failure {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect error"
    } else if error.is_body() || error.is_decode() {
        "body error"
    } else {
        "transport error"
    };
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(detail, ": {cause}");
        source = cause.source();
    }
    Failure {
        kind: kind.into(),
        detail,
    }
}

/// A message for the report: one line, not too long.
fn short(message: &str) -> String {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.chars().count() > 140 {
        format!("{}…", line.chars().take(140).collect::<String>())
    } else {
        line
    }
}

impl ClientReport {
    /// Adds `other`'s samples and counts to this report.
    fn merge(&mut self, other: ClientReport) {
        self.samples.extend(other.samples);
        for (key, count) in other.codes {
            *self.codes.entry(key).or_default() += count;
        }
        for (key, message) in other.messages {
            self.messages.entry(key).or_insert(message);
        }
        for (key, count) in other.cut_off {
            *self.cut_off.entry(key).or_default() += count;
        }
        self.notes.extend(other.notes);
    }

    /// Counts the codes of `outcome` (or the failure) for `op` and keeps first messages.
    fn record(&mut self, op: &'static str, result: &Result<Outcome, Failure>) {
        match result {
            Ok(outcome) => {
                for (code, message) in &outcome.codes {
                    *self.codes.entry((op, code.clone())).or_default() += 1;
                    self.messages
                        .entry((op, code.clone()))
                        .or_insert_with(|| short(message));
                }
            }
            Err(failure) => {
                self.messages
                    .entry((op, failure.kind.clone()))
                    .or_insert_with(|| short(&failure.detail));
            }
        }
    }
}

/// Everything a client needs to build its requests.
struct Plan {
    url: String,
    /// The 12 full months before this one (bench-metrics.sh (a)).
    dashboard_from: NaiveDate,
    dashboard_to: NaiveDate,
    /// Two years up to yesterday (the seed's default history).
    wide_from: NaiveDate,
    wide_to: NaiveDate,
    args: Args,
}

impl Plan {
    fn new(url: &str, args: Args) -> Self {
        let today = Local::now().date_naive();
        let month_start = today.with_day(1).expect("day 1 exists");
        let dashboard_to = month_start.pred_opt().expect("a day before");
        let dashboard_from = month_start
            .checked_sub_months(Months::new(12))
            .expect("a year back");
        let wide_to = today.pred_opt().expect("yesterday");
        let wide_from = today - chrono::Duration::days(730);
        Self {
            url: url.trim_end_matches('/').to_owned(),
            dashboard_from,
            dashboard_to,
            wide_from,
            wide_to,
            args,
        }
    }

    fn dashboard_query(&self) -> String {
        format!(
            "{{ metrics(query: {{ metrics: [{DASHBOARD_METRICS}], from: \"{}\", to: \"{}\", \
             granularity: MONTH, groupBy: [CHANNEL] }}) \
             {{ rows {{ periodLabel channel values {{ metric value numerator denominator lower upper }} }} }} }}",
            self.dashboard_from, self.dashboard_to
        )
    }

    /// `count` aliases of the widest report an agent may ask for. Each alias starts a day
    /// later, so no layer can answer them all from one computation.
    fn aliased_metrics(&self, count: usize) -> String {
        let mut document = String::from("{");
        for index in 0..count {
            let from = self.wide_from + chrono::Duration::days(index as i64);
            let _ = write!(
                document,
                " m{index}: metrics(query: {{ metrics: [{}], from: \"{from}\", to: \"{}\", \
                 granularity: DAY, groupBy: [AGENT] }}) {{ rows {{ periodStart agent {{ email }} \
                 values {{ metric value numerator denominator lower upper suppressed }} }} }}",
                ALL_METRICS.join(", "),
                self.wide_to
            );
        }
        document.push_str(" }");
        document
    }

    /// `count` aliases of `trainingNeeds` over two years (again one day apart).
    fn aliased_training_needs(&self, count: usize) -> String {
        let mut document = String::from("{");
        for index in 0..count {
            let from = self.wide_from + chrono::Duration::days(index as i64);
            let _ = write!(
                document,
                " t{index}: trainingNeeds(from: \"{from}\", to: \"{}\", orgUnitCode: \"{}\") \
                 {{ minimumN agents {{ agent {{ email }} needs {{ metric agentValue n teamValue teamN }} }} \
                 insufficientData {{ metric n }} }}",
                self.wide_to, self.args.training_org_unit
            );
        }
        document.push_str(" }");
        document
    }

    /// The largest metrics export: every metric, DAY × AGENT × CHANNEL × TOPIC, two years.
    fn maximal_export(&self) -> String {
        if let Some(query) = &self.args.export_query {
            return format!("{}/export/metrics.csv?{query}", self.url);
        }
        format!(
            "{}/export/metrics.csv?metrics={}&from={}&to={}&granularity=DAY&groupBy=AGENT,CHANNEL,TOPIC",
            self.url,
            ALL_METRICS.join(","),
            self.wide_from,
            self.wide_to
        )
    }
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .expect("an HTTP client")
}

/// POSTs a GraphQL document. Interactive answers are parsed whole (they are small and the
/// cursor is needed); hostile ones only for their error codes.
async fn graphql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
    keep_body: bool,
) -> Result<Outcome, Failure> {
    let mut request = client
        .post(format!("{url}/graphql"))
        .header("Content-Type", "application/json")
        .header(
            "Accept",
            "application/graphql-response+json, application/json;q=0.9",
        )
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request
        .send()
        .await
        .map_err(|error| transport_failure(&error))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| transport_failure(&error))?;
    let size = bytes.len() as u64;
    if keep_body {
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        let codes = body
            .as_ref()
            .and_then(|body| body.get("errors").cloned())
            .map(|errors| error_codes(serde_json::from_value(errors).ok()))
            .unwrap_or_default();
        Ok(Outcome {
            status,
            body,
            codes,
            bytes: size,
        })
    } else {
        let codes = serde_json::from_slice::<Envelope>(&bytes)
            .map(|envelope| error_codes(envelope.errors))
            .unwrap_or_default();
        Ok(Outcome {
            status,
            body: None,
            codes,
            bytes: size,
        })
    }
}

/// GETs `url` and reads the whole body in chunks (counted, not kept: exports can be large).
async fn download(client: &reqwest::Client, url: &str, token: &str) -> Result<Outcome, Failure> {
    let mut response = client
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .map_err(|error| transport_failure(&error))?;
    let status = response.status().as_u16();
    let json = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    let mut bytes = 0u64;
    // An error answer is JSON and small: keep it for its code.
    let mut kept = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_failure(&error))?
    {
        bytes += chunk.len() as u64;
        if json && kept.len() < 1 << 20 {
            kept.extend_from_slice(&chunk);
        }
    }
    let codes = if json {
        serde_json::from_slice::<Envelope>(&kept)
            .map(|envelope| error_codes(envelope.errors))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Outcome {
        status,
        body: None,
        codes,
        bytes,
    })
}

/// The operations of an interactive client.
#[derive(Clone, Copy)]
enum Operation {
    Page,
    Me,
    Metrics,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Page => "interactions page",
            Operation::Me => "me",
            Operation::Metrics => "metrics 12 months × CHANNEL",
        }
    }
}

const OPERATIONS: [Operation; 3] = [Operation::Page, Operation::Me, Operation::Metrics];

async fn interactive(
    plan: Arc<Plan>,
    index: usize,
    token: String,
    mix: [u32; 3],
    start: Instant,
    deadline: Instant,
) -> ClientReport {
    let client = http_client(Duration::from_millis(plan.args.timeout_ms));
    // A seeded generator per client: the same run asks the same things in the same order.
    let mut random = StdRng::seed_from_u64(index as u64 + 1);
    let total: u32 = mix.iter().sum();
    let dashboard = plan.dashboard_query();
    let think = Duration::from_millis(plan.args.think_ms);
    let mut cursor: Option<String> = None;
    let mut pages = 0u32;
    let mut report = ClientReport::default();
    while Instant::now() < deadline {
        let mut pick = random.gen_range(0..total);
        let operation = OPERATIONS
            .into_iter()
            .zip(mix)
            .find(|(_, weight)| {
                if pick < *weight {
                    true
                } else {
                    pick -= weight;
                    false
                }
            })
            .map(|(operation, _)| operation)
            .unwrap_or(Operation::Me);
        let (query, variables) = match operation {
            Operation::Page => (PAGE_QUERY, json!({ "after": cursor })),
            Operation::Me => (ME_QUERY, json!({})),
            Operation::Metrics => (dashboard.as_str(), json!({})),
        };
        let began = Instant::now();
        let result = graphql(&client, &plan.url, Some(&token), query, variables, true).await;
        let latency = began.elapsed();
        report.record(operation.name(), &result);
        let (outcome, bytes) = match result {
            Ok(outcome) => {
                if let (Operation::Page, Some(body)) = (operation, &outcome.body) {
                    // Follow the cursor for a few pages, then start again from the first.
                    let info = &body["data"]["interactions"]["pageInfo"];
                    pages += 1;
                    cursor = match (info["hasNextPage"].as_bool(), info["endCursor"].as_str()) {
                        (Some(true), Some(next)) if pages < plan.args.pages => Some(next.into()),
                        _ => None,
                    };
                    if cursor.is_none() {
                        pages = 0;
                    }
                }
                // A 200 whose body is not the expected JSON is an error too.
                let key = if outcome.status == 200 && outcome.body.is_none() {
                    "200 unreadable body".into()
                } else {
                    outcome.key()
                };
                (key, outcome.bytes)
            }
            Err(failure) => (failure.kind, 0),
        };
        report.samples.push(Sample {
            op: operation.name(),
            at: began - start,
            latency,
            outcome,
            bytes,
        });
        tokio::time::sleep(think).await;
    }
    report
}

/// The four attacks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attack {
    Aliases,
    Exports,
    Logins,
    Tokens,
}

impl Attack {
    fn parse(raw: &str) -> Result<Vec<Attack>, String> {
        if raw.trim() == "none" {
            return Ok(Vec::new());
        }
        raw.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| match name {
                "aliases" => Ok(Attack::Aliases),
                "exports" => Ok(Attack::Exports),
                "logins" => Ok(Attack::Logins),
                "tokens" => Ok(Attack::Tokens),
                other => Err(format!(
                    "unknown attack `{other}` (aliases, exports, logins, tokens, or none)"
                )),
            })
            .collect()
    }
}

/// The tokens of the hostile clients (each a principal of its own, distinct from the
/// interactive ones, so that a per-principal limit is charged to the attacker).
struct HostileTokens {
    agent: String,
    supervisor: String,
    exports: String,
    tampered: Option<String>,
}

/// Runs `request` unless the run ends first; records the sample or the cut-off.
async fn hostile_request<F>(
    report: &mut ClientReport,
    op: &'static str,
    start: Instant,
    deadline: Instant,
    request: F,
) where
    F: std::future::Future<Output = Result<Outcome, Failure>>,
{
    let began = Instant::now();
    match tokio::time::timeout_at(deadline, request).await {
        Err(_) => *report.cut_off.entry(op).or_default() += 1,
        Ok(result) => {
            let latency = began.elapsed();
            report.record(op, &result);
            let (outcome, bytes) = match result {
                Ok(outcome) => (outcome.key(), outcome.bytes),
                Err(failure) => (failure.kind, 0),
            };
            report.samples.push(Sample {
                op,
                at: began - start,
                latency,
                outcome,
                bytes,
            });
        }
    }
}

async fn hostile(
    plan: Arc<Plan>,
    attack: Attack,
    tokens: Arc<HostileTokens>,
    start: Instant,
    deadline: Instant,
) -> ClientReport {
    let client = http_client(Duration::from_millis(plan.args.hostile_timeout_ms));
    let mut report = ClientReport::default();
    let url = plan.url.as_str();
    match attack {
        Attack::Aliases => {
            let metrics = plan.aliased_metrics(plan.args.aliases);
            let needs = plan.aliased_training_needs(plan.args.aliases);
            let mut turn = 0u64;
            while Instant::now() < deadline {
                let (op, token, document) = if turn.is_multiple_of(2) {
                    ("aliased metrics (agent)", &tokens.agent, &metrics)
                } else {
                    (
                        "aliased trainingNeeds (supervisor)",
                        &tokens.supervisor,
                        &needs,
                    )
                };
                let request = graphql(&client, url, Some(token), document, json!({}), false);
                hostile_request(&mut report, op, start, deadline, request).await;
                turn += 1;
            }
        }
        Attack::Exports => {
            let mut targets: Vec<(&'static str, String)> =
                vec![("export metrics.csv (admin)", plan.maximal_export())];
            for path in RECORD_EXPORTS {
                let target = format!("{url}{path}?from={}&to={}", plan.wide_from, plan.wide_to);
                // Only the status matters here; dropping the response closes the connection.
                let probe = http_client(Duration::from_secs(30))
                    .get(&target)
                    .header("Authorization", format!("Bearer {}", tokens.exports))
                    .send()
                    .await;
                match probe {
                    Ok(response) if response.status().as_u16() == 404 => {
                        report.notes.push(format!("`{path}`: 404, skipped"));
                    }
                    Ok(response) => {
                        report.notes.push(format!(
                            "`{path}`: probed with HTTP {}, included",
                            response.status().as_u16()
                        ));
                        let op: &'static str = if path.contains("interactions") {
                            "export interactions.csv (admin)"
                        } else {
                            "export survey-responses.csv (admin)"
                        };
                        targets.push((op, target));
                    }
                    Err(error) => report.notes.push(format!(
                        "`{path}`: probe failed ({}), skipped",
                        transport_failure(&error).detail
                    )),
                }
            }
            let mut turn = 0usize;
            while Instant::now() < deadline {
                let (op, target) = &targets[turn % targets.len()];
                let request = download(&client, target, &tokens.exports);
                hostile_request(&mut report, op, start, deadline, request).await;
                turn += 1;
            }
        }
        Attack::Logins => {
            // Two requests in flight all the time: single wrong passwords one after another,
            // and documents of aliased `login` fields one after another (each such document
            // can take longer than the run, which would otherwise stop the single flood).
            let email = serde_json::to_string(&plan.args.login_email).expect("a JSON string");
            let singles = async {
                let mut report = ClientReport::default();
                let single = "mutation Login($email: String!, $password: String!) { \
                              login(email: $email, password: $password) { accessToken } }";
                let mut turn = 0u64;
                while Instant::now() < deadline {
                    turn += 1;
                    let variables = json!({
                        "email": plan.args.login_email,
                        "password": format!("wrong-{turn}"),
                    });
                    let op = "login (wrong password)";
                    let request = graphql(&client, url, None, single, variables, false);
                    hostile_request(&mut report, op, start, deadline, request).await;
                }
                report
            };
            let aliased = async {
                let mut report = ClientReport::default();
                let mut turn = 0u64;
                while plan.args.login_aliases > 0 && Instant::now() < deadline {
                    turn += 1;
                    let mut document = String::from("mutation {");
                    for index in 0..plan.args.login_aliases {
                        let _ = write!(
                            document,
                            " l{index}: login(email: {email}, password: \"wrong-{turn}-{index}\") \
                             {{ accessToken }}"
                        );
                    }
                    document.push_str(" }");
                    let op = "login ×aliases (wrong passwords)";
                    let request = graphql(&client, url, None, &document, json!({}), false);
                    hostile_request(&mut report, op, start, deadline, request).await;
                }
                report
            };
            let (singles, aliased) = tokio::join!(singles, aliased);
            report.merge(singles);
            report.merge(aliased);
        }
        Attack::Tokens => {
            let forged = forged_tokens(tokens.tampered.as_deref());
            let mut turn = 0usize;
            while Instant::now() < deadline {
                let (kind, token) = &forged[turn % forged.len()];
                // Every other request is an export, which authenticates on its own path.
                if (turn / forged.len()).is_multiple_of(2) {
                    let request = graphql(&client, url, Some(token), ME_QUERY, json!({}), false);
                    hostile_request(&mut report, kind.graphql, start, deadline, request).await;
                } else {
                    let target = format!(
                        "{url}/export/metrics.csv?metrics=INTERACTIONS&from={}&to={}",
                        plan.dashboard_from, plan.dashboard_to
                    );
                    let request = download(&client, &target, token);
                    hostile_request(&mut report, kind.export, start, deadline, request).await;
                }
                turn += 1;
            }
        }
    }
    report
}

/// The names of one kind of bad token, on `/graphql` and on the export.
struct ForgedKind {
    graphql: &'static str,
    export: &'static str,
}

/// Bad tokens of four kinds: garbage, a well-formed token signed with the wrong key, an
/// unsigned (`alg: none`) token, and (given a real token) a real token with its subject changed.
fn forged_tokens(real: Option<&str>) -> Vec<(ForgedKind, String)> {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "bac-metrics", "aud": "bac-metrics-api", "sub": "1",
        "exp": now + 3600, "nbf": now - 10, "iat": now - 10,
        "jti": uuid::Uuid::new_v4().to_string(), "sid": uuid::Uuid::new_v4().to_string(),
        "role": "admin",
    });
    let wrong_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"not the server's secret, 32 bytes or more"),
    )
    .expect("a signed token");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut tokens = vec![
        (
            ForgedKind {
                graphql: "bad token: garbage → /graphql",
                export: "bad token: garbage → export",
            },
            "garbage-not-a-jwt".to_owned(),
        ),
        (
            ForgedKind {
                graphql: "bad token: wrong key → /graphql",
                export: "bad token: wrong key → export",
            },
            wrong_key,
        ),
        (
            ForgedKind {
                graphql: "bad token: alg none → /graphql",
                export: "bad token: alg none → export",
            },
            unsigned,
        ),
    ];
    if let Some(tampered) = real.and_then(tamper) {
        tokens.push((
            ForgedKind {
                graphql: "bad token: tampered → /graphql",
                export: "bad token: tampered → export",
            },
            tampered,
        ));
    }
    tokens
}

/// A real token with its payload's `sub` changed and the original signature kept.
fn tamper(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["sub"] = json!("1");
    claims["role"] = json!("admin");
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    Some(format!("{header}.{payload}.{signature}"))
}

/// CPU time this process has used (user + system), from `/proc/self/stat`; 0 where there is
/// no procfs. The generator shares the machine with the server, so the report says how much
/// it took.
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| -> f64 {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / per_second
}

/// Nearest-rank percentile of sorted latencies.
fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis >= 100.0 {
        format!("{millis:.0} ms")
    } else {
        format!("{millis:.1} ms")
    }
}

fn bytes(count: u64) -> String {
    match count {
        0..=9_999 => format!("{count} B"),
        10_000..=9_999_999 => format!("{:.1} kB", count as f64 / 1e3),
        _ => format!("{:.1} MB", count as f64 / 1e6),
    }
}

/// Statistics of a set of samples.
struct Stats {
    count: usize,
    errors: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
    outcomes: BTreeMap<String, usize>,
    bytes: u64,
}

impl Stats {
    fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut latencies = Vec::new();
        let mut outcomes = BTreeMap::new();
        let mut errors = 0;
        let mut total_bytes = 0;
        for sample in samples {
            latencies.push(sample.latency);
            total_bytes += sample.bytes;
            if sample.outcome != "ok" {
                errors += 1;
            }
            *outcomes.entry(sample.outcome.clone()).or_insert(0) += 1;
        }
        latencies.sort_unstable();
        Self {
            count: latencies.len(),
            errors,
            p50: percentile(&latencies, 0.50),
            p95: percentile(&latencies, 0.95),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            outcomes,
            bytes: total_bytes,
        }
    }

    /// `ok ×12, 200 INTERNAL ×3`, most frequent first.
    fn outcome_list(&self) -> String {
        let mut outcomes: Vec<(&String, &usize)> = self.outcomes.iter().collect();
        outcomes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome} ×{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn error_list(&self) -> String {
        let mut outcomes: Vec<(&String, &usize)> = self
            .outcomes
            .iter()
            .filter(|(outcome, _)| outcome.as_str() != "ok")
            .collect();
        if outcomes.is_empty() {
            return "–".into();
        }
        outcomes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome} ×{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_mix(raw: &str) -> Result<[u32; 3], String> {
    let parts: Vec<u32> = raw
        .split(',')
        .map(|part| part.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--mix `{raw}`: three whole numbers, page,me,metrics"))?;
    match parts.as_slice() {
        [page, me, metrics] if page + me + metrics > 0 => Ok([*page, *me, *metrics]),
        _ => Err(format!(
            "--mix `{raw}`: three whole numbers, page,me,metrics, not all 0"
        )),
    }
}

/// Reads `PURPOSE EMAIL TOKEN` lines.
fn read_tokens(path: &PathBuf) -> Result<Vec<(String, String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("reading {}: {error}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [purpose, email, token] => {
                    Ok(((*purpose).into(), (*email).into(), (*token).into()))
                }
                _ => Err(format!(
                    "{}: `{}…` is not `PURPOSE EMAIL TOKEN`",
                    path.display(),
                    line.chars().take(40).collect::<String>()
                )),
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    if let Err(message) = run(Args::parse()).await {
        eprintln!("mixed_load: {message}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mix = parse_mix(&args.mix)?;
    let attacks = Attack::parse(&args.attacks)?;
    let (Some(url), Some(tokens_path)) = (args.url.clone(), args.tokens.clone()) else {
        eprintln!(
            "mixed_load: no --url, nothing to do; scripts/bench-mixed.sh runs this benchmark"
        );
        return Ok(());
    };
    let tokens = read_tokens(&tokens_path)?;
    let by_purpose = |purpose: &str| -> Vec<(String, String)> {
        tokens
            .iter()
            .filter(|(kind, _, _)| kind == purpose)
            .map(|(_, email, token)| (email.clone(), token.clone()))
            .collect()
    };
    let interactive_tokens = by_purpose("interactive");
    if interactive_tokens.is_empty() && args.clients > 0 {
        return Err("no `interactive` token in the tokens file".into());
    }
    let needed = |purpose: &str, attack: Attack| -> Result<String, String> {
        match by_purpose(purpose).into_iter().next() {
            Some((_, token)) => Ok(token),
            None if !attacks.contains(&attack) => Ok(String::new()),
            None => Err(format!("no `{purpose}` token in the tokens file")),
        }
    };
    let hostile_tokens = Arc::new(HostileTokens {
        agent: needed("aliases-agent", Attack::Aliases)?,
        supervisor: needed("aliases-supervisor", Attack::Aliases)?,
        exports: needed("exports", Attack::Exports)?,
        tampered: by_purpose("tampered")
            .into_iter()
            .next()
            .map(|(_, token)| token),
    });
    let clients = args.clients;
    let duration = Duration::from_secs(args.duration);
    let window = Duration::from_secs(args.window_secs.max(1));
    let summary_path = args.summary.clone();
    let plan = Arc::new(Plan::new(&url, args));

    // Distinct users per client where there are enough; which user each client is, for the report.
    let assignment: Vec<(String, String)> = (0..clients)
        .map(|index| interactive_tokens[index % interactive_tokens.len()].clone())
        .collect();
    let distinct_users = {
        let mut emails: Vec<&str> = assignment.iter().map(|(email, _)| email.as_str()).collect();
        emails.sort_unstable();
        emails.dedup();
        emails.len()
    };

    eprintln!(
        "mixed_load: {clients} interactive clients ({distinct_users} users), attacks: {}, {} s",
        if attacks.is_empty() {
            "none".into()
        } else {
            plan.args.attacks.clone()
        },
        duration.as_secs()
    );
    let start = Instant::now();
    let deadline = start + duration;
    let mut interactive_tasks = Vec::new();
    for (index, (_, token)) in assignment.iter().enumerate() {
        interactive_tasks.push(tokio::spawn(interactive(
            plan.clone(),
            index,
            token.clone(),
            mix,
            start,
            deadline,
        )));
    }
    let mut hostile_tasks = Vec::new();
    for attack in &attacks {
        hostile_tasks.push(tokio::spawn(hostile(
            plan.clone(),
            *attack,
            hostile_tokens.clone(),
            start,
            deadline,
        )));
    }
    let mut interactive_reports = Vec::new();
    for task in interactive_tasks {
        interactive_reports.push(task.await.map_err(|error| error.to_string())?);
    }
    let mut hostile_reports = Vec::new();
    for task in hostile_tasks {
        hostile_reports.push(task.await.map_err(|error| error.to_string())?);
    }
    let elapsed = start.elapsed();
    eprintln!("mixed_load: done in {:.1} s", elapsed.as_secs_f64());

    let seconds = duration.as_secs_f64();
    let mut out = String::new();
    let interactive_samples: Vec<&Sample> = interactive_reports
        .iter()
        .flat_map(|report| report.samples.iter())
        .collect();
    let overall = Stats::of(interactive_samples.iter().copied());

    let _ = writeln!(
        out,
        "#### {}: interactive clients ({clients} clients, {distinct_users} users, think time {} ms, \
         mix page/me/metrics {}/{}/{}; errors = non-200, GraphQL `errors`, or no answer within {} ms)\n",
        plan.args.label, plan.args.think_ms, mix[0], mix[1], mix[2], plan.args.timeout_ms
    );
    let _ = writeln!(
        out,
        "| operation | requests | errors | req/s | p50 | p95 | p99 | max | body (mean) | errors by kind |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for operation in OPERATIONS {
        let stats = Stats::of(
            interactive_samples
                .iter()
                .copied()
                .filter(|sample| sample.op == operation.name()),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            operation.name(),
            stats.count,
            stats.errors,
            stats.count as f64 / seconds,
            ms(stats.p50),
            ms(stats.p95),
            ms(stats.p99),
            ms(stats.max),
            bytes(stats.bytes / stats.count.max(1) as u64),
            stats.error_list()
        );
    }
    let _ = writeln!(
        out,
        "| **all** | **{}** | **{}** | **{:.1}** | **{}** | **{}** | **{}** | **{}** | {} | {} |",
        overall.count,
        overall.errors,
        overall.count as f64 / seconds,
        ms(overall.p50),
        ms(overall.p95),
        ms(overall.p99),
        ms(overall.max),
        bytes(overall.bytes / overall.count.max(1) as u64),
        overall.error_list()
    );
    let mut messages: BTreeMap<(&'static str, String), String> = BTreeMap::new();
    for report in &interactive_reports {
        for (key, message) in &report.messages {
            messages
                .entry(key.clone())
                .or_insert_with(|| message.clone());
        }
    }
    if !messages.is_empty() {
        let _ = writeln!(
            out,
            "\nWhat the interactive errors said (first of each kind):\n"
        );
        for ((op, kind), message) in &messages {
            let _ = writeln!(out, "- {op}, {kind}: \"{message}\"");
        }
    }

    // The timeline shows whether trouble is steady or comes in bursts (e.g. while an export runs).
    let windows = duration.as_secs().div_ceil(window.as_secs()).max(1);
    let _ = writeln!(
        out,
        "\nInteractive timeline ({} s windows, by request start):\n",
        window.as_secs()
    );
    let _ = writeln!(out, "| window | requests | errors | p50 | p99 | max |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for number in 0..windows {
        let from = window * number as u32;
        let to = from + window;
        let stats = Stats::of(
            interactive_samples
                .iter()
                .copied()
                .filter(|sample| sample.at >= from && sample.at < to),
        );
        let _ = writeln!(
            out,
            "| {}–{} s | {} | {} | {} | {} | {} |",
            from.as_secs(),
            to.min(duration).as_secs(),
            stats.count,
            stats.errors,
            ms(stats.p50),
            ms(stats.p99),
            ms(stats.max)
        );
    }

    if !hostile_reports.is_empty() {
        let _ = writeln!(
            out,
            "\n#### {}: hostile clients (one per attack, each sending its next request when the previous one \
             is answered, the login flood two at a time; their errors are expected)\n",
            plan.args.label
        );
        let _ = writeln!(
            out,
            "| attack | requests | p50 | max | body (mean) | answers | error codes (per error) | cut off at the end |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        let mut notes = Vec::new();
        for report in &hostile_reports {
            let mut ops: Vec<&'static str> = Vec::new();
            for sample in &report.samples {
                if !ops.contains(&sample.op) {
                    ops.push(sample.op);
                }
            }
            for op in report.cut_off.keys() {
                if !ops.contains(op) {
                    ops.push(op);
                }
            }
            for op in ops {
                let stats = Stats::of(report.samples.iter().filter(|sample| sample.op == op));
                let codes: Vec<String> = report
                    .codes
                    .iter()
                    .filter(|((code_op, _), _)| *code_op == op)
                    .map(|((_, code), count)| format!("{code} ×{count}"))
                    .collect();
                let (p50, max, body, answers) = if stats.count == 0 {
                    ("–".into(), "–".into(), "–".into(), "–".into())
                } else {
                    (
                        ms(stats.p50),
                        ms(stats.max),
                        bytes(stats.bytes / stats.count as u64),
                        stats.outcome_list(),
                    )
                };
                let _ = writeln!(
                    out,
                    "| {op} | {} | {p50} | {max} | {body} | {answers} | {} | {} |",
                    stats.count,
                    if codes.is_empty() {
                        "–".into()
                    } else {
                        codes.join(", ")
                    },
                    report.cut_off.get(op).copied().unwrap_or(0)
                );
            }
            notes.extend(report.notes.iter().cloned());
            for ((op, kind), message) in &report.messages {
                notes.push(format!("{op}, {kind}: \"{message}\""));
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(
                out,
                "\nProbes, and what the hostile clients were told (first message of each kind):\n"
            );
            for note in notes {
                let _ = writeln!(out, "- {note}");
            }
        }
    }
    print!("{out}");

    if let Some(path) = summary_path {
        let mut summary = String::new();
        let _ = writeln!(summary, "interactive_requests={}", overall.count);
        let _ = writeln!(summary, "interactive_errors={}", overall.errors);
        let _ = writeln!(
            summary,
            "interactive_p50_ms={:.1}",
            overall.p50.as_secs_f64() * 1000.0
        );
        let _ = writeln!(
            summary,
            "interactive_p99_ms={:.1}",
            overall.p99.as_secs_f64() * 1000.0
        );
        let _ = writeln!(
            summary,
            "interactive_max_ms={:.1}",
            overall.max.as_secs_f64() * 1000.0
        );
        let _ = writeln!(
            summary,
            "interactive_rps={:.1}",
            overall.count as f64 / seconds
        );
        let hostile_count: usize = hostile_reports
            .iter()
            .map(|report| report.samples.len())
            .sum();
        let _ = writeln!(summary, "hostile_requests={hostile_count}");
        let _ = writeln!(summary, "generator_cpu_seconds={:.2}", own_cpu_seconds());
        let mut codes: HashMap<&str, u64> = HashMap::new();
        for report in &interactive_reports {
            for ((_, code), count) in &report.codes {
                *codes.entry(code.as_str()).or_default() += count;
            }
        }
        let mut codes: Vec<String> = codes
            .into_iter()
            .map(|(code, count)| format!("{code} ×{count}"))
            .collect();
        codes.sort();
        let _ = writeln!(
            summary,
            "interactive_error_kinds={}",
            overall.error_list().replace('\n', " ")
        );
        let _ = writeln!(summary, "interactive_codes={}", codes.join(", "));
        std::fs::write(&path, summary)
            .map_err(|error| format!("writing {}: {error}", path.display()))?;
    }
    Ok(())
}
