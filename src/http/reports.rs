//! The quarterly oversight report over plain HTTP, for readers without a GraphQL client
//! (auditor, admin; bearer token, authenticated like `/export/metrics.csv`):
//!
//! - `GET /export/oversight-report.csv?fiscalYear=2026&quarter=1`: one row per org unit ×
//!   channel. Columns: `fiscal_quarter, period_start, period_end, org_unit_code,
//!   org_unit_name, channel, volume, surveys_offered, responses, response_rate`, then
//!   item its top-2-box share and its n (`satisfied, satisfied_n, trust, trust_n, effective,
//!   effective_n, easy, easy_n, efficient, efficient_n, transparent, transparent_n,
//!   employee_helpfulness, employee_helpfulness_n`), `allocations_proposed,
//!   allocations_approved, allocations_rejected` (of that unit and channel),
//!   `unit_training_assigned, unit_training_completed` (the unit's, repeated on each of its rows:
//!   training has no channel, so do not add them up over channels; a unit with training but no
//!   interactions or allocations gets one row with an empty channel), and
//!   `audit_chain_head_event_id, audit_chain_head_hash, generated_at`, then records retention
//!   (`retention_rules`: `rule:days` pairs separated by `;`; `retention_last_run_at`,
//!   `retention_last_run_by`, `retention_last_run_erased` and `retention_last_run_held`: the
//!   last run's time, actor and per-rule `rule:count` pairs, blank before the first run;
//!   `legal_holds_active`), repeated on every row like the chain head. The chain head and the
//!   generation time are also in the `x-audit-chain-head` and `x-generated-at` headers. The
//!   service-standard attainment is in the GraphQL and HTML forms (it is per standard, not per
//!   row).
//! - `GET /reports/oversight?fiscalYear=2026&quarter=1`: the same report as one self-contained,
//!   printable HTML page (inline CSS, no scripts, no external assets; every text escaped).
//!
//! Both read the one [`OversightReport`] that also answers the GraphQL `oversightReport`.
//!
//! Both also accept the web front's session cookie (`http/web_front/`), so oversight staff open them
//! in a browser after signing in. The page then gets the web front's banner (skip link, the
//! quarters, the CSV, sign out; not printed), and a browser's errors are pages: no session →
//! the sign-in page, which returns here; a role that may not read reports → a 403 page. With a
//! bearer header (scripts) everything is as before: JSON errors, no banner.

use std::collections::HashMap;

use actix_web::{
    http::header::{self, HeaderName},
    web::{Data, Query},
    HttpRequest, HttpResponse, HttpResponseBuilder,
};
use chrono::SecondsFormat;

use crate::{
    auth::{Action, Scope},
    db::{
        enums::{Comparator, MetricKind},
        Workload,
    },
    error::{AppError, AppResult},
    http::{
        csv::{Cell, CsvRows},
        errors::error_response,
        web_front::{self as web, pages, Caller, Credentials},
        AppState,
    },
    insights::oversight::{self, A11Figures, OversightReport, DRIVERS},
    metrics::{
        catalog::{definition, MetricUnit},
        MetricValue,
    },
    retention::{self, RetentionStatus, RuleOutcome},
};

/// `GET /export/oversight-report.csv`.
pub async fn oversight_csv(
    request: HttpRequest,
    query: Query<HashMap<String, String>>,
    state: Data<AppState>,
) -> HttpResponse {
    let caller = match identify(&request, &state).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let report = match load_report(&caller, &query, &state).await {
        Ok(report) => report,
        Err(error) => return failure(&request, &state, &caller, &error).await,
    };
    match write_csv(&report) {
        Ok(body) => {
            let filename = format!("oversight-report-{}.csv", report.label);
            let mut response = HttpResponse::Ok();
            provenance_headers(&mut response, &report);
            response
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ))
                .body(body)
        }
        Err(error) => error_response(&error),
    }
}

/// `GET /reports/oversight`.
pub async fn oversight_html(
    request: HttpRequest,
    query: Query<HashMap<String, String>>,
    state: Data<AppState>,
) -> HttpResponse {
    let caller = match identify(&request, &state).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let report = match load_report(&caller, &query, &state).await {
        Ok(report) => report,
        Err(error) => return failure(&request, &state, &caller, &error).await,
    };
    // The page needs nothing from anywhere: no scripts, no fetches; its inline styles are
    // allowed by their hashes.
    let mut referrer_policy = None;
    let (html, policy) = match (&caller.scope, &caller.credentials) {
        (Scope::Authenticated(principal), Credentials::Cookie(token)) => {
            let (display_name, form_token) = match web::account_of(&state, principal, token).await {
                Ok(account) => account,
                Err(error) => return failure(&request, &state, &caller, &error).await,
            };
            let account = pages::Account {
                display_name: &display_name,
                role: principal.role,
                form_token: &form_token,
            };
            let csv = pages::csv_href(report.fiscal_year, report.quarter);
            let banner = pages::banner(
                Some(&account),
                &[("/web/", "All quarters"), (&csv, "Download CSV")],
            );
            // The banner's sign-out form must carry our origin.
            referrer_policy = Some(web::FORM_PAGE_REFERRER_POLICY);
            (
                render_html_page(&report, Some((pages::STYLE, &banner))),
                pages::policy_for_styles(&[STYLE, pages::STYLE]),
            )
        }
        _ => (render_html(&report), pages::policy_for_styles(&[STYLE])),
    };
    let mut response = HttpResponse::Ok();
    provenance_headers(&mut response, &report);
    if let Some(referrer_policy) = referrer_policy {
        response.insert_header((header::REFERRER_POLICY, referrer_policy));
    }
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .body(html)
}

/// Who is asking: a bearer header, the web front's cookie, or nobody. A failure to tell is
/// answered in the caller's language (a page for a browser, JSON otherwise).
async fn identify(request: &HttpRequest, state: &AppState) -> Result<Caller, HttpResponse> {
    match web::identify(request, state).await {
        Ok(caller) => Ok(caller),
        Err(error) if web::wants_html(request) => {
            Err(web::error_page(state, &web::unknown_caller(), &error).await)
        }
        Err(error) => Err(error_response(&error)),
    }
}

/// An error for `caller`: scripts get the JSON error as always; a browser without a session is
/// sent to sign in (and back here afterwards), other browser errors are pages.
async fn failure(
    request: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    error: &AppError,
) -> HttpResponse {
    if !caller.is_browser {
        return error_response(error);
    }
    match error {
        AppError::Unauthenticated(_) => web::to_sign_in(request, state, caller),
        _ => web::error_page(state, caller, error).await,
    }
}

/// Authorizes the caller and generates the report the URL names.
async fn load_report(
    caller: &Caller,
    parameters: &HashMap<String, String>,
    state: &AppState,
) -> AppResult<OversightReport> {
    let scope = &caller.scope;
    scope.authorize(Action::ReadOversightReport)?;
    let access = scope.metrics_access(state.metrics.min_cell_size())?;
    let whole_number = |name: &str| -> AppResult<i32> {
        let raw = parameters
            .get(name)
            .ok_or_else(|| AppError::bad_input(name, "is required"))?;
        raw.trim()
            .parse::<i32>()
            .map_err(|_| AppError::bad_input(name, format!("`{raw}` is not a whole number")))
    };
    let fiscal_year = whole_number("fiscalYear")?;
    let quarter = whole_number("quarter")?;
    let database = state
        .admission
        .reads_for(&state.database, Workload::Reporting, scope);
    oversight::generate(
        &database,
        &state.metrics,
        access,
        &state.config.retention,
        fiscal_year,
        quarter,
    )
    .await
}

/// `x-audit-chain-head` (when the trail has an event) and `x-generated-at`.
fn provenance_headers(response: &mut HttpResponseBuilder, report: &OversightReport) {
    if let Some(head) = &report.audit_chain_head {
        response.insert_header((
            HeaderName::from_static("x-audit-chain-head"),
            head.hash.clone(),
        ));
    }
    response.insert_header((
        HeaderName::from_static("x-generated-at"),
        report
            .generated_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
    ));
}

/// One cell of an oversight CSV row, owned (the row is built before it is written).
enum Value {
    /// Text from the database (names, codes, hashes): neutralised by the CSV writer if it
    /// starts like a formula.
    Text(String),
    /// A share or a mean; blank when absent.
    Number(Option<f64>),
    /// A count.
    Count(i64),
}

impl Value {
    fn cell(&self) -> Cell<'_> {
        match self {
            Value::Text(text) => Cell::Text(text),
            Value::Number(value) => Cell::Number(*value),
            Value::Count(count) => Cell::Integer(Some(*count)),
        }
    }
}

/// The CSV document: a header row, then one row per org unit × channel. Written by the one CSV
/// writer of every export (`http::csv`), so a unit named `=HYPERLINK(…)` reaches a spreadsheet
/// as text.
pub fn write_csv(report: &OversightReport) -> AppResult<String> {
    let mut header: Vec<String> = [
        "fiscal_quarter",
        "period_start",
        "period_end",
        "org_unit_code",
        "org_unit_name",
        "channel",
        "volume",
        "surveys_offered",
        "responses",
        "response_rate",
    ]
    .map(String::from)
    .to_vec();
    for (_, column, _) in DRIVERS {
        header.push(column.to_owned());
        header.push(format!("{column}_n"));
    }
    header.extend(
        [
            "allocations_proposed",
            "allocations_approved",
            "allocations_rejected",
            "unit_training_assigned",
            "unit_training_completed",
            "audit_chain_head_event_id",
            "audit_chain_head_hash",
            "generated_at",
            "retention_rules",
            "retention_last_run_at",
            "retention_last_run_by",
            "retention_last_run_erased",
            "retention_last_run_held",
            "legal_holds_active",
        ]
        .map(String::from),
    );
    let mut rows = CsvRows::default();
    rows.header(&header.iter().map(String::as_str).collect::<Vec<_>>())?;

    let head_id = report
        .audit_chain_head
        .as_ref()
        .map(|head| head.event_id.to_string())
        .unwrap_or_default();
    let head_hash = report
        .audit_chain_head
        .as_ref()
        .map(|head| head.hash.clone())
        .unwrap_or_default();
    let generated_at = report
        .generated_at
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    let retention_columns = retention_columns(&report.retention);
    let training_of = |code: &str| {
        report
            .units
            .iter()
            .find(|activity| activity.unit.code == code)
            .map(|activity| activity.training)
            .unwrap_or_default()
    };
    let record =
        |code: &str, name: &str, channel: &str, figures: &A11Figures, allocations: [i64; 3]| {
            let training = training_of(code);
            let mut record: Vec<Value> = vec![
                Value::Text(report.label.clone()),
                Value::Text(report.from.format("%Y-%m-%d").to_string()),
                Value::Text(report.to.format("%Y-%m-%d").to_string()),
                Value::Text(code.to_owned()),
                Value::Text(name.to_owned()),
                Value::Text(channel.to_owned()),
                Value::Number(Some(figures.volume)),
                Value::Number(Some(figures.surveys_offered)),
                Value::Number(Some(figures.responses)),
                Value::Number(figures.response_rate.value),
            ];
            for driver in &figures.drivers {
                record.push(Value::Number(driver.value));
                record.push(Value::Number(driver.denominator));
            }
            record.extend(allocations.map(Value::Count));
            record.push(Value::Count(training.assigned));
            record.push(Value::Count(training.completed));
            record.push(Value::Text(head_id.clone()));
            record.push(Value::Text(head_hash.clone()));
            record.push(Value::Text(generated_at.clone()));
            record.extend(retention_columns.iter().cloned().map(Value::Text));
            record
        };
    let mut write = |values: Vec<Value>| {
        let cells: Vec<Cell<'_>> = values.iter().map(Value::cell).collect();
        rows.row(&cells)
    };
    for row in &report.rows {
        let allocations = [
            row.allocations.proposed,
            row.allocations.approved,
            row.allocations.rejected,
        ];
        write(record(
            &row.unit.code,
            &row.unit.name,
            row.channel.as_db_str(),
            &row.figures,
            allocations,
        ))?;
    }
    // Units whose only activity in the quarter is training.
    let empty = empty_figures();
    for activity in &report.units {
        if report
            .rows
            .iter()
            .any(|row| row.unit.code == activity.unit.code)
        {
            continue;
        }
        write(record(
            &activity.unit.code,
            &activity.unit.name,
            "",
            &empty,
            [0, 0, 0],
        ))?;
    }
    rows.finish()
}

/// The retention columns of every CSV row (see the module header).
fn retention_columns(status: &RetentionStatus) -> [String; 6] {
    let pairs = |values: Vec<(&str, String)>| {
        values
            .into_iter()
            .map(|(rule, value)| format!("{rule}:{value}"))
            .collect::<Vec<_>>()
            .join(";")
    };
    let rules = pairs(
        status
            .rules
            .iter()
            .map(|rule| (rule.rule.name(), rule.period_days.to_string()))
            .collect(),
    );
    let last = status.last_run.as_ref();
    let per_rule = |pick: fn(&RuleOutcome) -> i64| {
        last.map(|run| {
            pairs(
                run.rules
                    .iter()
                    .map(|outcome| (outcome.rule.name(), pick(outcome).to_string()))
                    .collect(),
            )
        })
        .unwrap_or_default()
    };
    [
        rules,
        last.map(|run| retention::format_time(run.ran_at))
            .unwrap_or_default(),
        last.map(|run| run.run_by.clone()).unwrap_or_default(),
        per_rule(|outcome| outcome.affected),
        per_rule(|outcome| outcome.held),
        status.active_legal_holds.to_string(),
    ]
}

fn empty_figures() -> A11Figures {
    let empty = |metric: MetricKind| MetricValue {
        metric,
        value: None,
        numerator: Some(0.0),
        denominator: Some(0.0),
        lower: None,
        upper: None,
        suppressed: false,
    };
    A11Figures {
        volume: 0.0,
        surveys_offered: 0.0,
        responses: 0.0,
        response_rate: empty(MetricKind::SurveyResponseRate),
        drivers: DRIVERS.map(|(metric, _, _)| empty(metric)),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A proportion as a percentage with one decimal, or a dash.
fn percent(value: Option<f64>) -> String {
    value
        .map(|value| format!("{:.1}%", value * 100.0))
        .unwrap_or_else(|| "—".to_owned())
}

/// A count without a fractional part.
fn count(value: f64) -> String {
    format!("{value:.0}")
}

/// A top-2-box share with its n, as one cell (a dash alone when nobody answered).
fn share_cell(value: &MetricValue) -> String {
    let n = value.denominator.unwrap_or(0.0);
    if n <= 0.0 {
        return "<td class=\"num\">—</td>".to_owned();
    }
    format!(
        "<td class=\"num\">{}<span class=\"n\">n={}</span></td>",
        percent(value.value),
        count(n)
    )
}

/// A standard's target or actual in its metric's unit.
fn metric_amount(metric: MetricKind, value: Option<f64>) -> String {
    match (definition(metric).unit, value) {
        (_, None) => "—".to_owned(),
        (MetricUnit::Ratio, Some(value)) => percent(Some(value)),
        (MetricUnit::Seconds, Some(value)) => format!("{value:.1} s"),
        (MetricUnit::Count, Some(value)) => count(value),
    }
}

const STYLE: &str = "
:root { --ink: #1b1f24; --muted: #5b6470; --rule: #cfd6de; --band: #f2f5f8; --accent: #0b4f8a; }
* { box-sizing: border-box; }
body { font: 13px/1.45 -apple-system, 'Segoe UI', 'Liberation Sans', Arial, sans-serif; color: var(--ink);
       margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
h3 .code { color: var(--muted); font-weight: normal; }
.subtitle { color: var(--muted); margin: 0 0 16px; font-size: 14px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0;
          padding: 10px 14px; background: var(--band); border: 1px solid var(--rule); }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
.hash { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 12px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { border: 1px solid var(--rule); padding: 4px 6px; text-align: left; vertical-align: top; }
thead th { background: var(--band); font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 600; background: #fbfcfd; }
.n { display: block; color: var(--muted); font-size: 10.5px; }
.met { color: #17663a; font-weight: 600; }
.missed { color: #a12a1c; font-weight: 600; }
.note { color: var(--muted); font-size: 11.5px; }
footer { margin-top: 28px; border-top: 1px solid var(--rule); padding-top: 8px; }
@media print {
  @page { size: landscape; margin: 12mm; }
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  section.unit, table { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
";

/// The A-11 header cells shared by the unit tables and the totals.
const A11_HEADER: &str = "<th class=\"num\">Volume</th><th class=\"num\">Surveys offered</th>\
<th class=\"num\">Responses</th><th class=\"num\">Response rate</th><th class=\"num\">Satisfied</th>\
<th class=\"num\">Trust</th><th class=\"num\">Effective</th><th class=\"num\">Easy</th>\
<th class=\"num\">Efficient</th><th class=\"num\">Transparent</th>\
<th class=\"num\">Employee helpfulness</th>";

fn a11_cells(figures: &A11Figures) -> String {
    let mut cells = format!(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        count(figures.volume),
        count(figures.surveys_offered),
        count(figures.responses),
        percent(figures.response_rate.value),
    );
    for driver in &figures.drivers {
        cells.push_str(&share_cell(driver));
    }
    cells
}

/// Days as the page states a period ("1,095 days (3 years)").
fn period(days: u32) -> String {
    let count = if days >= 1000 {
        format!("{},{:03}", days / 1000, days % 1000)
    } else {
        days.to_string()
    };
    if days.is_multiple_of(365) {
        let years = days / 365;
        format!(
            "{count} days ({years} year{})",
            if years == 1 { "" } else { "s" }
        )
    } else {
        format!("{count} days")
    }
}

/// The records-retention section: rules in force beside the last run's counts.
fn retention_section(status: &RetentionStatus) -> String {
    let mut html = String::from("<section>\n<h2>Records retention</h2>\n");
    let schedule = match status.schedule_interval_seconds {
        Some(seconds) if seconds % 3600 == 0 => format!("every {} hours", seconds / 3600),
        Some(seconds) => format!("every {seconds} seconds"),
        None => "only when an operator runs it (the server's schedule is off)".to_owned(),
    };
    html.push_str(&format!(
        "<p>When a record's period ends, its personal fields are erased; every count, time and answer stays, so no figure in this report changes. The rules run {schedule}. Active legal holds: {holds}.</p>\n",
        holds = status.active_legal_holds,
    ));
    html.push_str("<table>\n<thead><tr><th>Rule</th><th>What is erased</th><th class=\"num\">Kept for</th><th>Last run: erased if due before</th><th class=\"num\">Erased</th><th class=\"num\">Kept for a legal hold</th></tr></thead>\n<tbody>\n");
    for rule in &status.rules {
        let outcome = status
            .last_run
            .as_ref()
            .and_then(|run| run.rules.iter().find(|outcome| outcome.rule == rule.rule));
        html.push_str(&format!(
            "<tr><td>{name}</td><td>{description}</td><td class=\"num\">{period}</td><td>{cutoff}</td><td class=\"num\">{affected}</td><td class=\"num\">{held}</td></tr>\n",
            name = escape_html(rule.rule.name()),
            description = escape_html(rule.description),
            period = period(rule.period_days),
            cutoff = outcome
                .map(|outcome| format!("{} UTC", outcome.cutoff.format("%Y-%m-%d %H:%M")))
                .unwrap_or_else(|| "—".to_owned()),
            affected = outcome.map(|outcome| outcome.affected.to_string()).unwrap_or_else(|| "—".to_owned()),
            held = outcome.map(|outcome| outcome.held.to_string()).unwrap_or_else(|| "—".to_owned()),
        ));
    }
    html.push_str("</tbody>\n</table>\n");
    match &status.last_run {
        Some(run) => html.push_str(&format!(
            "<p class=\"note\">Last run {at} UTC by the {by} (audit event #{id}).</p>\n",
            at = run.ran_at.format("%Y-%m-%d %H:%M:%S"),
            by = escape_html(&run.run_by),
            id = run.audit_event_id,
        )),
        None => html.push_str("<p class=\"note\">Retention has not run yet.</p>\n"),
    }
    html.push_str("</section>\n");
    html
}

/// The printable page.
pub fn render_html(report: &OversightReport) -> String {
    render_html_page(report, None)
}

/// The printable page; `chrome` is a stylesheet and the HTML to put before the report (the web
/// front's banner), for a signed-in browser.
pub fn render_html_page(report: &OversightReport, chrome: Option<(&str, &str)>) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let title = format!(
        "Quarterly oversight report {} — customer assistance metrics program",
        report.label
    );
    let local_generated = report.generated_at.with_timezone(
        &report
            .time_zone
            .parse::<chrono_tz::Tz>()
            .unwrap_or(chrono_tz::UTC),
    );
    html.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>{STYLE}</style>\n{chrome_style}</head>\n<body>\n{banner}<main id=\"main\" tabindex=\"-1\">\n",
        title = escape_html(&title),
        chrome_style = chrome
            .map(|(style, _)| format!("<style>{style}</style>\n"))
            .unwrap_or_default(),
        banner = chrome.map(|(_, banner)| banner).unwrap_or_default(),
    ));
    html.push_str(&format!(
        "<header>\n<h1>Customer assistance metrics program — quarterly oversight report</h1>\n<p class=\"subtitle\">{label}: {from} to {to} (local days in {zone})</p>\n<dl class=\"meta\">\n<dt>Generated</dt><dd>{generated_utc} UTC ({generated_local} {zone})</dd>\n<dt>Reporting time zone</dt><dd>{zone}</dd>\n",
        label = escape_html(&report.label),
        from = report.from.format("%Y-%m-%d"),
        to = report.to.format("%Y-%m-%d"),
        zone = escape_html(&report.time_zone),
        generated_utc = report.generated_at.format("%Y-%m-%d %H:%M:%S"),
        generated_local = local_generated.format("%Y-%m-%d %H:%M:%S %Z"),
    ));
    match &report.audit_chain_head {
        Some(head) => html.push_str(&format!(
            "<dt>Audit chain head</dt><dd>event #{id}, recorded {at} UTC<br><span class=\"hash\">{hash}</span></dd>\n",
            id = head.event_id,
            at = head.occurred_at.format("%Y-%m-%d %H:%M:%S"),
            hash = escape_html(&head.hash),
        )),
        None => html.push_str("<dt>Audit chain head</dt><dd>the audit trail is empty</dd>\n"),
    }
    html.push_str("</dl>\n</header>\n");

    // Customer experience: one table per org unit, one row per channel, then the program.
    html.push_str(
        "<section>\n<h2>Customer experience by org unit and channel (OMB A-11 drivers)</h2>\n",
    );
    html.push_str("<p class=\"note\">Shares are top-2-box (4 or 5 of 5) of the responses answering each item; n is that number of responses. Responses are survey invitations answered.</p>\n");
    let mut index = 0;
    while index < report.rows.len() {
        let unit = &report.rows[index].unit;
        let end = report.rows[index..]
            .iter()
            .position(|row| row.unit.code != unit.code)
            .map(|offset| index + offset)
            .unwrap_or(report.rows.len());
        html.push_str(&format!(
            "<section class=\"unit\">\n<h3>{name} <span class=\"code\">({code})</span></h3>\n<table>\n<thead><tr><th>Channel</th>{A11_HEADER}<th class=\"num\">Allocations proposed / approved</th></tr></thead>\n<tbody>\n",
            name = escape_html(&unit.name),
            code = escape_html(&unit.code),
        ));
        for row in &report.rows[index..end] {
            html.push_str(&format!(
                "<tr><td>{channel}</td>{cells}<td class=\"num\">{proposed} / {approved}</td></tr>\n",
                channel = escape_html(row.channel.as_db_str()),
                cells = a11_cells(&row.figures),
                proposed = row.allocations.proposed,
                approved = row.allocations.approved,
            ));
        }
        html.push_str("</tbody>\n</table>\n</section>\n");
        index = end;
    }
    if report.rows.is_empty() {
        html.push_str("<p>No interactions in this quarter.</p>\n");
    }
    html.push_str(&format!(
        "<h3>Whole program</h3>\n<table>\n<thead><tr><th>All units and channels</th>{A11_HEADER}</tr></thead>\n<tbody><tr class=\"total\"><td>Total</td>{}</tr></tbody>\n</table>\n</section>\n",
        a11_cells(&report.totals)
    ));

    // Service standards.
    html.push_str("<section>\n<h2>Service standards</h2>\n");
    if report.standards.is_empty() {
        html.push_str("<p>No service standard was in force during the quarter.</p>\n");
    } else {
        html.push_str("<table>\n<thead><tr><th>Metric</th><th>Channel</th><th>Org unit</th><th class=\"num\">Target</th><th class=\"num\">Actual</th><th class=\"num\">n</th><th>Met</th></tr></thead>\n<tbody>\n");
        for attainment in &report.standards {
            let standard = &attainment.standard;
            let comparator = match attainment.comparator {
                Comparator::AtLeast => "≥",
                Comparator::AtMost => "≤",
            };
            let mut metric = standard.metric.as_db_str().to_owned();
            if let Some(seconds) = standard.threshold_seconds {
                metric.push_str(&format!(" (answered within {seconds} s)"));
            }
            let met = match attainment.met {
                Some(true) => "<span class=\"met\">met</span>",
                Some(false) => "<span class=\"missed\">not met</span>",
                None => "no data",
            };
            html.push_str(&format!(
                "<tr><td>{metric}</td><td>{channel}</td><td>{unit}</td><td class=\"num\">{comparator} {target}</td><td class=\"num\">{actual}</td><td class=\"num\">{n}</td><td>{met}</td></tr>\n",
                metric = escape_html(&metric),
                channel = escape_html(standard.channel.map(|c| c.as_db_str()).unwrap_or("all channels")),
                unit = escape_html(attainment.org_unit_code.as_deref().unwrap_or("whole agency")),
                target = metric_amount(standard.metric, Some(attainment.target)),
                actual = metric_amount(standard.metric, attainment.actual.value),
                n = attainment.actual.denominator.or(attainment.actual.numerator).map(count).unwrap_or_else(|| "—".to_owned()),
            ));
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</section>\n");

    // Training and allocations per unit.
    html.push_str("<section>\n<h2>Training and resource allocation</h2>\n");
    if report.units.is_empty() {
        html.push_str("<p>No activity in this quarter.</p>\n");
    } else {
        html.push_str("<table>\n<thead><tr><th>Org unit</th><th class=\"num\">Training assigned</th><th class=\"num\">Training completed</th><th class=\"num\">Allocations proposed</th><th class=\"num\">Allocations approved</th><th class=\"num\">Allocations rejected</th></tr></thead>\n<tbody>\n");
        for activity in &report.units {
            html.push_str(&format!(
                "<tr><td>{name} <span class=\"note\">({code})</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                activity.training.assigned,
                activity.training.completed,
                activity.allocations.proposed,
                activity.allocations.approved,
                activity.allocations.rejected,
                name = escape_html(&activity.unit.name),
                code = escape_html(&activity.unit.code),
            ));
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("<p class=\"note\">Training assigned: assignments created in the quarter, by the agent's unit; completed: completed in the quarter. Allocations proposed: created in the quarter; approved and rejected: decided in the quarter.</p>\n</section>\n");
    html.push_str(&retention_section(&report.retention));

    html.push_str(&format!(
        "<footer class=\"note\">To prove later that the data behind this report has not changed: <code>verifyAuditChain</code> must report an intact chain, and audit event #{id} (<code>auditEvents</code>) must still carry the hash above; every record counted here was written together with an audit event at or before it. Every figure comes from the program's metrics engine, with the definitions of <code>metricCatalog</code>.</footer>\n</main>\n</body>\n</html>\n",
        id = report
            .audit_chain_head
            .as_ref()
            .map(|head| head.event_id.to_string())
            .unwrap_or_else(|| "—".to_owned()),
    ));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_html("<b>Tom & Jerry's \"unit\"</b>"),
            "&lt;b&gt;Tom &amp; Jerry&#39;s &quot;unit&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn shares_and_amounts_are_formatted() {
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(None), "—");
        assert_eq!(
            metric_amount(MetricKind::AverageHandleTime, Some(240.0)),
            "240.0 s"
        );
        assert_eq!(metric_amount(MetricKind::ServiceLevel, Some(0.8)), "80.0%");
        assert_eq!(period(1095), "1,095 days (3 years)");
        assert_eq!(period(30), "30 days");
    }
}
