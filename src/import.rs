//! Bulk import (formats in docs/import-formats.md): CSV or NDJSON files of org units, topics, users, interactions,
//! survey invitations and survey responses, from `bac-metrics import KIND FILE` or
//! `POST /import/{kind}`.
//!
//! The input is read as a stream, one batch of rows at a time (constant memory whatever the
//! file size). Each batch is one transaction with one audit event carrying its counts. Rows
//! follow the same validation and idempotency rules as the GraphQL mutations: a new key is
//! inserted, a repeated key with the same content is an unchanged duplicate, with different
//! content a conflict; an invalid row is rejected with its line number and reason and applies
//! nothing, while the good rows around it still land.
//!
//! A survey-invitations import may also issue the customers' survey links
//! ([`InvitationLinks`]): each invitation the import creates gets a one-time token in the same
//! transaction as its row, and the report lists the links once (`links`, by line). Rows whose
//! invitation already existed (a re-import) are `unchanged` and get no link: a link is only
//! ever handed out when its invitation is created, and only its hash is stored, so an import
//! can neither show an earlier link again nor replace it behind the sender's back.

use std::{
    collections::HashMap,
    fmt,
    io::Read,
    str::FromStr,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};

use crate::domain::{EventTime, ExternalKey};
use diesel::{pg::PgConnection, prelude::*, Connection};
use serde::Serialize;
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::Action,
    db::{
        enums::{Channel, Outcome, Role, SurveyKind},
        Database,
    },
    domain::{
        parse_boolean, parse_count,
        text::{check_storable, quote},
        Answers, Code, CustomerRef, Email, Likert, LikertItem, Name, Phone, RawAnswers, Seconds,
    },
    error::{AppError, AppResult},
    records::{
        interactions::{
            record_batch, record_customers, Author, CustomerCache, CustomerDetails,
            InteractionFields, InteractionSubmission, MAX_TRANSFERS,
        },
        organisation::{
            self, OrgUnitDraft, OrgUnitFields, TopicDraft, TopicFields, UserDraft, UserFields,
            UserInput,
        },
        surveys::{
            issue_links_for_new_invitations, mark_answered_invitations, record_invitation_batch,
            record_response_batch, InvitationSubmission, IssuedLink, LinkIssuing,
            ResponseSubmission,
        },
        FieldNames, RowOutcome,
    },
};

/// Most row problems listed in a report; the counts always cover every row.
pub const MAX_LISTED_ISSUES: usize = 1_000;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    OrgUnits,
    Topics,
    Users,
    Interactions,
    SurveyInvitations,
    SurveyResponses,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::OrgUnits,
        ImportKind::Topics,
        ImportKind::Users,
        ImportKind::Interactions,
        ImportKind::SurveyInvitations,
        ImportKind::SurveyResponses,
    ];

    /// Whether this kind is written by `IMPORT_WORKERS` parallel writers (the others by one).
    pub fn is_parallel(self) -> bool {
        !matches!(
            self,
            ImportKind::OrgUnits | ImportKind::Topics | ImportKind::Users
        )
    }

    /// The name used on the command line and in `/import/{kind}`.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::OrgUnits => "org-units",
            ImportKind::Topics => "topics",
            ImportKind::Users => "users",
            ImportKind::Interactions => "interactions",
            ImportKind::SurveyInvitations => "survey-invitations",
            ImportKind::SurveyResponses => "survey-responses",
        }
    }

    /// The columns of the kind's format (docs/import-formats.md), in order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::OrgUnits => &["code", "name", "parent_code"],
            ImportKind::Topics => &["code", "name"],
            ImportKind::Users => &["email", "display_name", "role", "org_unit_code"],
            ImportKind::Interactions => &[
                "source",
                "external_id",
                "channel",
                "org_unit_code",
                "agent_email",
                "customer_ref",
                "business_name",
                "contact_name",
                "email",
                "phone",
                "topic_code",
                "started_at",
                "wait_seconds",
                "handle_seconds",
                "transfers",
                "abandoned",
                "outcome",
            ],
            ImportKind::SurveyInvitations => &[
                "source",
                "external_id",
                "interaction_source",
                "interaction_external_id",
                "kind",
                "sent_at",
            ],
            ImportKind::SurveyResponses => &[
                "source",
                "external_id",
                "interaction_source",
                "interaction_external_id",
                "kind",
                "submitted_at",
                "satisfaction",
                "trust",
                "effectiveness",
                "ease",
                "efficiency",
                "transparency",
                "helpfulness",
                "resolved",
                "comment",
            ],
        }
    }

    /// Columns a CSV header may leave out: contact details (a sending system may not hold
    /// them) and survey comments. Every other column must be there — a missing one would
    /// silently read as empty, and turn a measured value into a default.
    pub fn optional_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Interactions => &["business_name", "contact_name", "email", "phone"],
            ImportKind::SurveyResponses => &["comment"],
            _ => &[],
        }
    }

    /// Who may import it: reference data and accounts are the administrator's; interactions
    /// and surveys are the integrations' too.
    pub fn required_action(self) -> Action {
        match self {
            ImportKind::OrgUnits | ImportKind::Topics | ImportKind::Users => Action::Administer,
            _ => Action::RecordInteractions,
        }
    }
}

impl FromStr for ImportKind {
    type Err = AppError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ImportKind::ALL
            .into_iter()
            .find(|kind| kind.name() == value)
            .ok_or_else(|| {
                AppError::bad_input(
                    "kind",
                    format!(
                        "unknown import kind `{}` (expected one of: {})",
                        quote(value),
                        ImportKind::ALL.map(ImportKind::name).join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// From a `Content-Type` essence.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "text/csv" | "application/csv" => Some(Format::Csv),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// One problem row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowIssue {
    /// 1-based line in the file (the CSV header is line 1).
    pub line: u64,
    /// The column at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub rows_read: u64,
    pub inserted: u64,
    pub unchanged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub batches: u64,
    /// Conflicting rows: the first [`MAX_LISTED_ISSUES`] by line.
    pub conflict_rows: Vec<RowIssue>,
    /// True when there were more conflicts than `conflict_rows` lists.
    pub conflict_rows_truncated: bool,
    /// Rejected rows: the first [`MAX_LISTED_ISSUES`] by line.
    pub rejected_rows: Vec<RowIssue>,
    /// True when there were more rejected rows than `rejected_rows` lists.
    pub rejected_rows_truncated: bool,
    /// With [`InvitationLinks`]: the link of every invitation this import created, by line —
    /// shown this once. Absent when links were not asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<IssuedLink>>,
}

impl ImportReport {
    fn new(kind: ImportKind) -> Self {
        Self {
            kind,
            rows_read: 0,
            inserted: 0,
            unchanged: 0,
            conflicts: 0,
            rejected: 0,
            batches: 0,
            conflict_rows: Vec::new(),
            conflict_rows_truncated: false,
            rejected_rows: Vec::new(),
            rejected_rows_truncated: false,
            links: None,
        }
    }

    /// Rows split badly are reported as they are read and the rest per batch: put both in
    /// file order.
    fn finished(mut self, context: &ImportContext) -> Self {
        let kind = self.kind.name();
        for (result, rows) in [
            ("inserted", self.inserted),
            ("unchanged", self.unchanged),
            ("conflict", self.conflicts),
            ("rejected", self.rejected),
        ] {
            crate::telemetry::metrics::import_rows(kind, result, rows);
        }
        self.rejected_rows.sort_by_key(|issue| issue.line);
        self.conflict_rows.sort_by_key(|issue| issue.line);
        if let Some(links) = &context.invitation_links {
            let mut issued = links.take();
            issued.sort_by_key(|link| link.line);
            self.links = Some(issued);
        }
        self
    }

    fn reject(&mut self, line: u64, error: &AppError) {
        self.rejected += 1;
        let issue = RowIssue {
            line,
            field: match error {
                AppError::BadUserInput { field, .. } => field.clone(),
                _ => None,
            },
            reason: error.public_message(),
        };
        self.rejected_rows_truncated |= keep_first(&mut self.rejected_rows, issue);
    }

    fn tally(&mut self, line: u64, outcome: &RowOutcome) {
        match outcome {
            RowOutcome::Inserted(_) => self.inserted += 1,
            RowOutcome::Unchanged(_) => self.unchanged += 1,
            RowOutcome::Conflict { message, .. } => {
                self.conflicts += 1;
                let issue = RowIssue {
                    line,
                    field: None,
                    reason: message.clone(),
                };
                self.conflict_rows_truncated |= keep_first(&mut self.conflict_rows, issue);
            }
            RowOutcome::Rejected(error) => self.reject(line, error),
        }
    }
}

/// Adds `issue` to `issues`, keeping the [`MAX_LISTED_ISSUES`] with the smallest line numbers
/// (parallel writers report batches out of file order). Returns whether an issue was dropped.
fn keep_first(issues: &mut Vec<RowIssue>, issue: RowIssue) -> bool {
    if issues.len() < MAX_LISTED_ISSUES {
        issues.push(issue);
        return false;
    }
    let (latest, _) = issues
        .iter()
        .enumerate()
        .max_by_key(|(_, listed)| listed.line)
        .expect("a full list is not empty");
    if issue.line < issues[latest].line {
        issues[latest] = issue;
    }
    true
}

/// Who is importing, for the audit trail, and the limits of the import.
#[derive(Debug, Clone)]
pub struct ImportContext {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub batch_size: usize,
    /// Longest line (CSV record line or NDJSON object) read; a longer one is rejected.
    pub max_line_bytes: usize,
    /// Survey-invitations only: issue a link to every invitation the import creates.
    pub invitation_links: Option<InvitationLinks>,
}

impl ImportContext {
    /// Who writes, for the audit events of the records' own modules.
    pub fn author(&self) -> Author {
        Author {
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// The longest line read when no limit is configured (`IMPORT_MAX_LINE_BYTES`'s default).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// Bounds every line of the input, so one endless line cannot exhaust memory: lines are passed
/// on whole, and a line longer than the limit is replaced by an empty line (which both formats
/// skip) and its number noted, for the report to reject it. Memory stays within one line.
struct LineGuard<R: std::io::BufRead> {
    inner: R,
    max_line_bytes: usize,
    /// Physical lines consumed so far.
    lines: u64,
    /// The line being handed on, and how much of it has been.
    pending: Vec<u8>,
    position: usize,
    /// Numbers of the lines that were too long, not yet reported.
    overlong: std::rc::Rc<std::cell::RefCell<Vec<u64>>>,
}

impl<R: std::io::BufRead> LineGuard<R> {
    fn new(inner: R, max_line_bytes: usize) -> Self {
        Self {
            inner,
            max_line_bytes: max_line_bytes.max(1),
            lines: 0,
            pending: Vec::new(),
            position: 0,
            overlong: Default::default(),
        }
    }

    /// Reads the next physical line into `pending` (empty at the end of the input).
    fn next_line(&mut self) -> std::io::Result<()> {
        self.pending.clear();
        self.position = 0;
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (length, complete) = match available.iter().position(|byte| *byte == b'\n') {
                Some(end) => (end + 1, true),
                None => (available.len(), false),
            };
            // The newline itself does not count against the limit.
            let content = length - usize::from(complete);
            if !too_long && self.pending.len() + content > self.max_line_bytes {
                too_long = true;
                self.pending = Vec::new();
            }
            if !too_long {
                self.pending.extend_from_slice(&available[..length]);
            }
            self.inner.consume(length);
            if complete {
                break;
            }
        }
        if read_any {
            self.lines += 1;
        }
        if too_long {
            self.overlong.borrow_mut().push(self.lines);
            self.pending.push(b'\n');
        }
        Ok(())
    }
}

impl<R: std::io::BufRead> Read for LineGuard<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.position == self.pending.len() {
            self.next_line()?;
            if self.pending.is_empty() {
                return Ok(0);
            }
        }
        let length = buffer.len().min(self.pending.len() - self.position);
        buffer[..length].copy_from_slice(&self.pending[self.position..self.position + length]);
        self.position += length;
        Ok(length)
    }
}

/// Links for the invitations an import creates, and the links issued so far by batches that
/// committed (a batch that rolls back hands out nothing).
#[derive(Debug, Clone)]
pub struct InvitationLinks {
    issuing: LinkIssuing,
    issued: Arc<Mutex<Vec<IssuedLink>>>,
}

impl InvitationLinks {
    /// Links for an import of `kind`: only survey invitations have them, and only a server
    /// that knows its public address can build them.
    pub fn new(kind: ImportKind, issuing: LinkIssuing) -> AppResult<Self> {
        if kind != ImportKind::SurveyInvitations {
            return Err(AppError::bad_input(
                "links",
                "only a survey-invitations import issues links",
            ));
        }
        if !issuing.links.is_configured() {
            return Err(AppError::bad_input(
                "links",
                "this server has no public base URL (PUBLIC_BASE_URL) to build links from",
            ));
        }
        crate::records::surveys::check_link_days("linkDays", issuing.expires_in_days)?;
        Ok(Self {
            issuing,
            issued: Arc::new(Mutex::new(Vec::new())),
        })
    }

    fn add(&self, mut links: Vec<IssuedLink>) {
        self.issued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .append(&mut links);
    }

    fn take(&self) -> Vec<IssuedLink> {
        std::mem::take(
            &mut *self
                .issued
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// A row's cells in the order of its columns; empty cells read as absent.
struct Row {
    line: u64,
    /// The column of each value (a CSV file's header, shared by all its rows).
    columns: Arc<[String]>,
    /// All the row's values in one buffer: two allocations per row rather than two per cell,
    /// which keeps the rows in flight of a parallel import small (and cheaper to read).
    values: csv::StringRecord,
}

impl Row {
    /// The cell, trimmed, without a copy (empty cells are absent).
    fn cell(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .position(|name| name == column)
            .and_then(|index| self.values.get(index))
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    fn text(&self, column: &str) -> Option<String> {
        self.cell(column).map(str::to_owned)
    }

    fn required(&self, column: &str) -> AppResult<&str> {
        self.cell(column)
            .ok_or_else(|| AppError::bad_input(column, "is required"))
    }

    /// The cell parsed by `parse` (a domain rule, given the column as the field), if present.
    fn optional<T>(
        &self,
        column: &'static str,
        parse: impl FnOnce(&str, &str) -> AppResult<T>,
    ) -> AppResult<Option<T>> {
        self.cell(column)
            .map(|value| parse(column, value))
            .transpose()
    }

    fn enumeration<T: FromStr<Err = crate::db::enums::UnknownValue>>(
        &self,
        column: &str,
    ) -> AppResult<Option<T>> {
        self.cell(column)
            .map(|value| {
                value
                    .parse::<T>()
                    .map_err(|error| AppError::bad_input(column, error.to_string()))
            })
            .transpose()
    }

    fn key(&self, source: &'static str, external_id: &'static str) -> AppResult<ExternalKey> {
        ExternalKey::parse(
            (source, self.required(source)?),
            (external_id, self.required(external_id)?),
        )
    }

    fn time(&self, column: &'static str, now: DateTime<Utc>) -> AppResult<EventTime> {
        EventTime::parse_text(column, self.required(column)?, now)
    }
}

/// Yields rows from CSV or NDJSON, with their line numbers; every line passes a [`LineGuard`].
struct RowSource<R: Read> {
    rows: Rows<R>,
    /// Lines the guard found too long, shared with it.
    overlong: std::rc::Rc<std::cell::RefCell<Vec<u64>>>,
    max_line_bytes: usize,
}

enum Rows<R: Read> {
    Csv {
        reader: csv::Reader<LineGuard<std::io::BufReader<R>>>,
        headers: Arc<[String]>,
    },
    Ndjson {
        lines: std::io::BufReader<LineGuard<std::io::BufReader<R>>>,
        line: u64,
    },
}

impl<R: Read> RowSource<R> {
    fn open(kind: ImportKind, format: Format, input: R, max_line_bytes: usize) -> AppResult<Self> {
        let guard = LineGuard::new(std::io::BufReader::new(input), max_line_bytes);
        let overlong = guard.overlong.clone();
        let rows = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(false)
                    .trim(csv::Trim::Headers)
                    .from_reader(guard);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(|error| {
                        AppError::bad_input(
                            "header",
                            format!("line 1: the CSV header cannot be read: {error}"),
                        )
                    })?
                    .iter()
                    .map(|header| header.trim_start_matches('\u{feff}').to_owned())
                    .collect();
                if overlong.borrow().first() == Some(&1) {
                    return Err(AppError::bad_input(
                        "header",
                        format!("line 1: the CSV header is longer than {max_line_bytes} bytes"),
                    ));
                }
                check_columns(kind, &headers)?;
                Rows::Csv {
                    reader,
                    headers: headers.into(),
                }
            }
            Format::Ndjson => Rows::Ndjson {
                lines: std::io::BufReader::new(guard),
                line: 0,
            },
        };
        Ok(Self {
            rows,
            overlong,
            max_line_bytes,
        })
    }

    /// Reports the lines the guard dropped as too long since the last call.
    fn report_overlong(&mut self, report: &mut ImportReport) {
        let lines: Vec<u64> = self.overlong.borrow_mut().drain(..).collect();
        for line in lines {
            report.rows_read += 1;
            report.reject(
                line,
                &AppError::invalid(format!(
                    "is longer than {} bytes (IMPORT_MAX_LINE_BYTES); split the record or shorten its text",
                    self.max_line_bytes
                )),
            );
        }
    }

    /// Up to `batch_size` rows; rows that cannot be split into cells are counted and rejected
    /// in `report` on the way. `None` once the input is exhausted.
    fn next_batch(
        &mut self,
        kind: ImportKind,
        batch_size: usize,
        report: &mut ImportReport,
    ) -> Option<Vec<Row>> {
        let batch_size = batch_size.max(1);
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            let next = self.next(kind);
            self.report_overlong(report);
            match next {
                Some(Ok(row)) => batch.push(row),
                Some(Err((line, error))) => report.reject(line, &error),
                None if batch.is_empty() => return None,
                None => break,
            }
            report.rows_read += 1;
        }
        Some(batch)
    }

    /// The next row, `Err` for a row that cannot even be split into cells, `None` at the end.
    fn next(&mut self, kind: ImportKind) -> Option<Result<Row, (u64, AppError)>> {
        let row = self.next_unchecked(kind)?;
        Some(row.and_then(|row| {
            // Text PostgreSQL cannot store is refused here, for every kind and format.
            for (column, value) in row.columns.iter().zip(row.values.iter()) {
                check_storable(column, value).map_err(|error| (row.line, error))?;
            }
            Ok(row)
        }))
    }

    fn next_unchecked(&mut self, kind: ImportKind) -> Option<Result<Row, (u64, AppError)>> {
        match &mut self.rows {
            Rows::Csv { reader, headers } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record
                            .position()
                            .map(|position| position.line())
                            .unwrap_or(0);
                        Some(Ok(Row {
                            line,
                            columns: headers.clone(),
                            values: record,
                        }))
                    }
                    Err(error) => {
                        let line = error
                            .position()
                            .map(|position| position.line())
                            .unwrap_or(0);
                        let reason = match error.kind() {
                            csv::ErrorKind::UnequalLengths {
                                expected_len, len, ..
                            } => {
                                format!("has {len} cells; the header has {expected_len}")
                            }
                            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                            csv::ErrorKind::Io(_) => {
                                return Some(Err((
                                    line,
                                    AppError::invalid("the upload was interrupted"),
                                )))
                            }
                            _ => "cannot be parsed as CSV".to_owned(),
                        };
                        Some(Err((line, AppError::invalid(reason))))
                    }
                }
            }
            Rows::Ndjson { lines, line } => loop {
                let mut bytes = Vec::new();
                match std::io::BufRead::read_until(lines, b'\n', &mut bytes) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(_) => {
                        *line += 1;
                        return Some(Err((
                            *line,
                            AppError::invalid("the upload was interrupted"),
                        )));
                    }
                }
                *line += 1;
                let Ok(text) = String::from_utf8(bytes) else {
                    return Some(Err((*line, AppError::invalid("is not valid UTF-8 text"))));
                };
                if text.trim().is_empty() {
                    continue;
                }
                let parsed: Result<serde_json::Map<String, serde_json::Value>, _> =
                    serde_json::from_str(&text);
                return Some(match parsed {
                    Err(_) => Err((*line, AppError::invalid("is not a JSON object"))),
                    Ok(object) => {
                        if let Some(unknown) = object
                            .keys()
                            .find(|key| !kind.columns().contains(&key.as_str()))
                        {
                            Err((
                                *line,
                                AppError::bad_input(
                                    quote(unknown),
                                    format!("unknown field `{}`", quote(unknown)),
                                ),
                            ))
                        } else {
                            let mut columns = Vec::with_capacity(object.len());
                            let mut values = csv::StringRecord::new();
                            for (key, value) in object {
                                match value {
                                    serde_json::Value::Null => continue,
                                    serde_json::Value::String(text) => values.push_field(&text),
                                    other => values.push_field(&other.to_string()),
                                }
                                columns.push(key);
                            }
                            Ok(Row {
                                line: *line,
                                columns: columns.into(),
                                values,
                            })
                        }
                    }
                });
            },
        }
    }
}

/// A CSV header must name every required column of its kind once, in any order (see
/// [`ImportKind::optional_columns`]): a missing column would silently read as empty cells, a
/// repeated one would silently shadow the other.
fn check_columns(kind: ImportKind, headers: &[String]) -> AppResult<()> {
    let expected = || {
        let optional = kind.optional_columns();
        if optional.is_empty() {
            kind.columns().join(",")
        } else {
            format!(
                "{} (these may be left out: {})",
                kind.columns().join(","),
                optional.join(", ")
            )
        }
    };
    let refuse = |problem: String| {
        Err(AppError::bad_input(
            "header",
            format!(
                "line 1: {problem} for {kind}; the header must be: {}",
                expected()
            ),
        ))
    };
    if let Some(unknown) = headers
        .iter()
        .find(|header| !kind.columns().contains(&header.as_str()))
    {
        return refuse(format!("unknown column `{}`", quote(unknown)));
    }
    if let Some((_, repeated)) = headers
        .iter()
        .enumerate()
        .find(|(position, header)| headers[..*position].contains(header))
    {
        return refuse(format!("column `{repeated}` appears twice"));
    }
    let missing: Vec<&str> = kind
        .columns()
        .iter()
        .copied()
        .filter(|column| !kind.optional_columns().contains(column))
        .filter(|column| !headers.iter().any(|header| header == column))
        .collect();
    if !missing.is_empty() {
        return refuse(format!("missing column(s) {}", missing.join(", ")));
    }
    Ok(())
}

/// Imports `input` on `connection` (call from a blocking thread). Fails as a whole only when the
/// file itself is unusable (its header) or the database fails; row problems go in the report.
pub fn run(
    connection: &mut PgConnection,
    kind: ImportKind,
    format: Format,
    input: impl Read,
    context: &ImportContext,
) -> AppResult<ImportReport> {
    let mut source = RowSource::open(kind, format, input, context.max_line_bytes)?;
    let mut report = ImportReport::new(kind);
    let mut customers = CustomerCache::default();
    while let Some(rows) = source.next_batch(kind, context.batch_size, &mut report) {
        let batch = ParsedBatch::parse(kind, rows);
        let outcomes = write_batch(connection, &batch, context, &mut customers)?;
        tally_batch(&mut report, &batch.lines, &outcomes);
    }
    Ok(report.finished(context))
}

/// Chooses the writer of each row of a parallel import.
///
/// A row naming a customer goes to the writer that owns the customer (a hash of the reference),
/// so two writers never hold the same new customer uncommitted, which would make one wait for
/// the other's whole batch; other rows are spread by their key. But a row whose key is still in
/// flight (read, and not yet committed by its writer) goes to that writer, behind it: rows
/// sharing a key keep their file order, and the report is the same with any number of
/// writers. Memory holds only the keys in flight (at most a few batches per writer).
struct Router {
    workers: usize,
    /// Hash of each key in flight → its writer and how many of its rows are in flight.
    in_flight: HashMap<u64, (usize, u32)>,
    /// Per writer, the key hashes of each batch in flight, oldest first; the last is the batch
    /// being filled.
    batches: Vec<std::collections::VecDeque<Vec<u64>>>,
}

impl Router {
    fn new(workers: usize) -> Self {
        Self {
            workers,
            in_flight: HashMap::new(),
            batches: (0..workers)
                .map(|_| std::collections::VecDeque::from([Vec::new()]))
                .collect(),
        }
    }

    /// The writer of `row`, which joins that writer's batch being filled.
    fn route(&mut self, row: &Row) -> usize {
        if self.workers <= 1 {
            return 0;
        }
        let hash = |parts: &[Option<&str>]| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            parts.hash(&mut hasher);
            hasher.finish()
        };
        let key = hash(&[row.cell("source"), row.cell("external_id")]);
        let worker = match self.in_flight.get_mut(&key) {
            Some((worker, rows)) => {
                *rows += 1;
                *worker
            }
            None => {
                let owner = row
                    .cell("customer_ref")
                    .map_or(key, |customer| hash(&[Some(customer)]));
                let worker = (owner % self.workers as u64) as usize;
                self.in_flight.insert(key, (worker, 1));
                worker
            }
        };
        if let Some(open) = self.batches[worker].back_mut() {
            open.push(key);
        }
        worker
    }

    /// `worker`'s batch being filled was sent; start the next.
    fn sent(&mut self, worker: usize) {
        if self.workers > 1 {
            self.batches[worker].push_back(Vec::new());
        }
    }

    /// `worker` committed its oldest batch in flight: its keys are no longer in flight.
    fn written(&mut self, worker: usize) {
        let Some(keys) = self
            .batches
            .get_mut(worker)
            .and_then(|batches| batches.pop_front())
        else {
            return;
        };
        for key in keys {
            if let std::collections::hash_map::Entry::Occupied(mut entry) =
                self.in_flight.entry(key)
            {
                entry.get_mut().1 -= 1;
                if entry.get().1 == 0 {
                    entry.remove();
                }
            }
        }
    }
}

/// Like [`run`], with the file read on one thread while interaction and survey batches are
/// written on `workers` others (so parsing the next batch overlaps writing this one, and
/// PostgreSQL can maintain indexes on one core per connection). Memory stays bounded: each
/// worker has at most two batches in line. Rows are routed to workers by their key, so rows
/// sharing a key keep their file order and the report is the same with any number of workers.
/// Org units, topics and users are imported in file order on one connection, because a row
/// may name an earlier one.
pub fn run_parallel(
    database: &Database,
    workers: usize,
    kind: ImportKind,
    format: Format,
    input: impl Read,
    context: &ImportContext,
) -> AppResult<ImportReport> {
    let workers = workers.max(1);
    if !kind.is_parallel() {
        let mut connection = database.checkout()?;
        return database.with_connection(&mut connection, |connection| {
            run(connection, kind, format, input, context)
        });
    }
    let mut source = RowSource::open(kind, format, input, context.max_line_bytes)?;
    let mut report = ImportReport::new(kind);
    // Each writer's results carry its index, so the router knows whose batch was committed.
    type BatchResult = (usize, AppResult<(Vec<u64>, Vec<RowOutcome>)>);
    let (result_sender, result_receiver) = std::sync::mpsc::channel::<BatchResult>();
    let mut failure: Option<AppError> = None;
    std::thread::scope(|scope| {
        // One queue per worker: every row with a given key goes to the same worker, which
        // writes its rows in file order — so a key repeated in the file resolves exactly as it
        // would with one writer (the first occurrence is inserted, later ones compared to it).
        let mut batch_senders = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (batch_sender, batch_receiver) = std::sync::mpsc::sync_channel::<ParsedBatch>(1);
            batch_senders.push(batch_sender);
            let result_sender = result_sender.clone();
            scope.spawn(move || {
                let mut connection = match database.checkout() {
                    Ok(connection) => connection,
                    Err(error) => {
                        let _ = result_sender.send((worker, Err(error)));
                        return;
                    }
                };
                let mut customers = CustomerCache::default();
                while let Ok(batch) = batch_receiver.recv() {
                    let result = database
                        .with_connection(&mut connection, |connection| {
                            write_batch(connection, &batch, context, &mut customers)
                        })
                        .map(|outcomes| (batch.lines, outcomes));
                    let failed = result.is_err();
                    if result_sender.send((worker, result)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(result_sender);
        let absorb = |(worker, result): BatchResult,
                      report: &mut ImportReport,
                      router: &mut Router,
                      failure: &mut Option<AppError>| match result {
            Ok((lines, outcomes)) => {
                router.written(worker);
                tally_batch(report, &lines, &outcomes);
            }
            Err(error) => {
                failure.get_or_insert(error);
            }
        };
        let mut pending: Vec<Vec<Row>> = (0..workers).map(|_| Vec::new()).collect();
        let mut router = Router::new(workers);
        'reading: while let Some(rows) = source.next_batch(kind, context.batch_size, &mut report) {
            for row in rows {
                let worker = router.route(&row);
                pending[worker].push(row);
                if pending[worker].len() >= context.batch_size {
                    // Parsed here, so the writer only writes while the next batch is read.
                    let batch = ParsedBatch::parse(kind, std::mem::take(&mut pending[worker]));
                    if batch_senders[worker].send(batch).is_err() {
                        break 'reading; // That worker stopped; its error is among the results.
                    }
                    router.sent(worker);
                }
            }
            while let Ok(result) = result_receiver.try_recv() {
                absorb(result, &mut report, &mut router, &mut failure);
            }
            if failure.is_some() {
                break;
            }
        }
        if failure.is_none() {
            for (worker, batch) in pending.into_iter().enumerate() {
                if !batch.is_empty() {
                    let _ = batch_senders[worker].send(ParsedBatch::parse(kind, batch));
                }
            }
        }
        drop(batch_senders);
        for result in result_receiver {
            absorb(result, &mut report, &mut router, &mut failure);
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(report.finished(context)),
    }
}

/// One batch in one transaction with its audit event. If the database refuses the batch as a
/// whole (a rule no validation foresaw), each row is retried alone so good rows still land.
fn write_batch(
    connection: &mut PgConnection,
    batch: &ParsedBatch,
    context: &ImportContext,
    customers: &mut CustomerCache,
) -> AppResult<Vec<RowOutcome>> {
    let kind = batch.records.kind();
    let attempt = in_transaction(connection, customers, |connection, customers| {
        let outcomes = batch.records.write(connection, None, customers, context)?;
        audit_batch(connection, kind, &batch.lines, &outcomes, context)?;
        let links = issue_links(connection, &batch.lines, &outcomes, context)?;
        Ok((outcomes, links))
    });
    match attempt {
        Ok((outcomes, links)) => {
            if let Some(collector) = &context.invitation_links {
                collector.add(links);
            }
            Ok(outcomes)
        }
        // A rule the database enforces: retry row by row so the good rows land. A lost
        // connection or a timeout is no row's fault and fails the import instead.
        Err(AppError::Database(error)) if batch.lines.len() > 1 && is_row_refusal(&error) => {
            let mut outcomes = Vec::with_capacity(batch.lines.len());
            for (position, line) in batch.lines.iter().enumerate() {
                let single = in_transaction(connection, customers, |connection, customers| {
                    let outcome =
                        batch
                            .records
                            .write(connection, Some(position), customers, context)?;
                    audit_batch(connection, kind, &[*line], &outcome, context)?;
                    let links = issue_links(connection, &[*line], &outcome, context)?;
                    Ok((outcome, links))
                });
                match single {
                    Ok((mut outcome, links)) => {
                        if let Some(collector) = &context.invitation_links {
                            collector.add(links);
                        }
                        outcomes.append(&mut outcome)
                    }
                    Err(AppError::Database(error)) if is_row_refusal(&error) => {
                        tracing::warn!(%error, line, "import row refused by the database");
                        outcomes.push(RowOutcome::Rejected(AppError::invalid(
                            "the database refused this row (it breaks a data rule)",
                        )));
                    }
                    Err(other) => return Err(other),
                }
            }
            Ok(outcomes)
        }
        Err(error) => Err(error),
    }
}

/// Whether the database refused the data itself (a constraint or rule), rather than failing.
fn is_row_refusal(error: &diesel::result::Error) -> bool {
    !crate::db::is_connection_loss(error) && !crate::db::is_statement_timeout(error)
}

/// Runs `write` in a transaction; the customers it writes are kept in the cache only if it
/// commits.
fn in_transaction<T>(
    connection: &mut PgConnection,
    customers: &mut CustomerCache,
    write: impl FnOnce(&mut PgConnection, &mut CustomerCache) -> AppResult<T>,
) -> AppResult<T> {
    let result = connection.transaction(|connection| write(connection, customers));
    match &result {
        Ok(_) => customers.commit(),
        Err(_) => customers.discard(),
    }
    result
}

/// With [`InvitationLinks`], issues the links of the invitations this batch inserted, with
/// their audit event, inside the batch's transaction.
fn issue_links(
    connection: &mut PgConnection,
    lines: &[u64],
    outcomes: &[RowOutcome],
    context: &ImportContext,
) -> AppResult<Vec<IssuedLink>> {
    let Some(links) = &context.invitation_links else {
        return Ok(Vec::new());
    };
    let created: Vec<(u64, i64)> = lines
        .iter()
        .zip(outcomes)
        .filter_map(|(line, outcome)| match outcome {
            RowOutcome::Inserted(id) => Some((*line, *id)),
            _ => None,
        })
        .collect();
    let issued = issue_links_for_new_invitations(connection, &created, &links.issuing, Utc::now())?;
    if !issued.is_empty() {
        audit::record(
            connection,
            Entry::new(
                context.actor.clone(),
                "survey_invitation.links_issued",
                "import",
            )
            .entity_id(ImportKind::SurveyInvitations.name())
            .after(json!({
                "links": issued.len(),
                "first_invitation_id": issued.iter().map(|link| link.invitation_id).min(),
                "last_invitation_id": issued.iter().map(|link| link.invitation_id).max(),
                "expires_at": issued.first().map(|link| link.expires_at),
            }))
            .request_id(context.request_id.clone()),
        )?;
    }
    Ok(issued)
}

fn tally_batch(report: &mut ImportReport, lines: &[u64], outcomes: &[RowOutcome]) {
    report.batches += 1;
    for (line, outcome) in lines.iter().zip(outcomes) {
        report.tally(*line, outcome);
    }
}

fn audit_batch(
    connection: &mut PgConnection,
    kind: ImportKind,
    lines: &[u64],
    outcomes: &[RowOutcome],
    context: &ImportContext,
) -> AppResult<()> {
    let count =
        |wanted: fn(&RowOutcome) -> bool| outcomes.iter().filter(|outcome| wanted(outcome)).count();
    audit::record(
        connection,
        Entry::new(context.actor.clone(), "import.batch", "import")
            .entity_id(kind.name())
            .after(json!({
                "kind": kind.name(),
                "first_line": lines.first(),
                "last_line": lines.last(),
                "rows": lines.len(),
                "inserted": count(|o| matches!(o, RowOutcome::Inserted(_))),
                "unchanged": count(|o| matches!(o, RowOutcome::Unchanged(_))),
                "conflicts": count(|o| matches!(o, RowOutcome::Conflict { .. })),
                "rejected": count(|o| matches!(o, RowOutcome::Rejected(_))),
            }))
            .request_id(context.request_id.clone()),
    )?;
    Ok(())
}

/// One batch of rows with their line numbers, parsed into records on the reading thread so
/// that writers only write.
struct ParsedBatch {
    lines: Vec<u64>,
    records: Records,
}

impl ParsedBatch {
    fn parse(kind: ImportKind, rows: Vec<Row>) -> Self {
        let lines = rows.iter().map(|row| row.line).collect();
        let records = match kind {
            ImportKind::Interactions => {
                Records::Interactions(Parsed::new(&rows, parse_interaction))
            }
            ImportKind::SurveyInvitations => {
                Records::SurveyInvitations(Parsed::new(&rows, parse_invitation))
            }
            ImportKind::SurveyResponses => {
                Records::SurveyResponses(Parsed::new(&rows, parse_response))
            }
            ImportKind::OrgUnits | ImportKind::Topics | ImportKind::Users => {
                Records::Reference(kind, rows)
            }
        };
        Self { lines, records }
    }
}

/// A batch's records by kind.
enum Records {
    Interactions(Parsed<InteractionSubmission>),
    SurveyInvitations(Parsed<InvitationSubmission>),
    SurveyResponses(Parsed<ResponseSubmission>),
    /// Org units, topics and users stay rows: each is parsed as it is written, because a row
    /// may name an earlier one.
    Reference(ImportKind, Vec<Row>),
}

impl Records {
    fn kind(&self) -> ImportKind {
        match self {
            Records::Interactions(_) => ImportKind::Interactions,
            Records::SurveyInvitations(_) => ImportKind::SurveyInvitations,
            Records::SurveyResponses(_) => ImportKind::SurveyResponses,
            Records::Reference(kind, _) => *kind,
        }
    }

    /// Writes every row (`only` = `None`) or the row at one position; one outcome per row
    /// written, in order.
    fn write(
        &self,
        connection: &mut PgConnection,
        only: Option<usize>,
        customers: &mut CustomerCache,
        context: &ImportContext,
    ) -> AppResult<Vec<RowOutcome>> {
        match self {
            Records::Interactions(parsed) => parsed.write(connection, only, |connection, rows| {
                record_batch(
                    connection,
                    rows,
                    FieldNames::File,
                    &context.author(),
                    Some(customers),
                )
            }),
            Records::SurveyInvitations(parsed) => {
                parsed.write(connection, only, |connection, rows| {
                    record_invitation_batch(connection, rows, FieldNames::File)
                })
            }
            Records::SurveyResponses(parsed) => {
                parsed.write(connection, only, |connection, rows| {
                    record_responses(connection, rows)
                })
            }
            Records::Reference(kind, rows) => {
                let rows = match only {
                    Some(position) => &rows[position..=position],
                    None => &rows[..],
                };
                let write = match kind {
                    ImportKind::OrgUnits => org_unit_row,
                    ImportKind::Topics => topic_row,
                    _ => user_row,
                };
                one_by_one(connection, rows, context, write)
            }
        }
    }
}

/// Rows parsed into records: the ones that parsed, in order, and for every row either its
/// record's index or its rejection.
struct Parsed<T> {
    records: Vec<T>,
    slots: Vec<Result<usize, RowOutcome>>,
}

impl<T> Parsed<T> {
    fn new(rows: &[Row], parse: fn(&Row) -> AppResult<T>) -> Self {
        let mut records = Vec::with_capacity(rows.len());
        let slots = rows
            .iter()
            .map(|row| match parse(row) {
                Ok(record) => {
                    records.push(record);
                    Ok(records.len() - 1)
                }
                Err(error) => Err(RowOutcome::Rejected(error)),
            })
            .collect();
        Self { records, slots }
    }

    /// Writes the parsable records among every row (or the one row at `only`) as one batch
    /// and merges their outcomes with the rejections, in row order.
    fn write(
        &self,
        connection: &mut PgConnection,
        only: Option<usize>,
        write: impl FnOnce(&mut PgConnection, &[T]) -> AppResult<Vec<RowOutcome>>,
    ) -> AppResult<Vec<RowOutcome>> {
        let (slots, records) = match only {
            Some(position) => {
                let slot = &self.slots[position..=position];
                let records = match slot[0] {
                    Ok(index) => &self.records[index..=index],
                    Err(_) => &self.records[..0],
                };
                (slot, records)
            }
            None => (&self.slots[..], &self.records[..]),
        };
        let mut written = if records.is_empty() {
            Vec::new()
        } else {
            write(connection, records)?
        }
        .into_iter();
        Ok(slots
            .iter()
            .map(|slot| match slot {
                Ok(_) => written.next().expect("one outcome per record"),
                Err(rejection) => rejection.clone(),
            })
            .collect())
    }
}

/// Records responses and marks the invitations they answer.
fn record_responses(
    connection: &mut PgConnection,
    rows: &[ResponseSubmission],
) -> AppResult<Vec<RowOutcome>> {
    let outcomes = record_response_batch(connection, rows, FieldNames::File)?;
    let answered: Vec<i64> = {
        let ids: Vec<i64> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                RowOutcome::Inserted(id) => Some(*id),
                _ => None,
            })
            .collect();
        use crate::db::schema::survey_responses;
        survey_responses::table
            .filter(survey_responses::id.eq_any(ids))
            .select(survey_responses::interaction_id)
            .load(connection)?
    };
    mark_answered_invitations(connection, &answered)?;
    Ok(outcomes)
}

/// Interactions or survey records built in-process rather than read from a file (the `seed`
/// command's synthetic data), for [`write_prepared_batch`].
#[derive(Debug, Clone, Copy)]
pub enum PreparedBatch<'a> {
    Interactions(&'a [InteractionSubmission]),
    SurveyInvitations(&'a [InvitationSubmission]),
    SurveyResponses(&'a [ResponseSubmission]),
}

impl PreparedBatch<'_> {
    /// The import kind the records are.
    pub fn kind(self) -> ImportKind {
        match self {
            PreparedBatch::Interactions(_) => ImportKind::Interactions,
            PreparedBatch::SurveyInvitations(_) => ImportKind::SurveyInvitations,
            PreparedBatch::SurveyResponses(_) => ImportKind::SurveyResponses,
        }
    }

    /// How many records there are.
    pub fn len(self) -> usize {
        match self {
            PreparedBatch::Interactions(rows) => rows.len(),
            PreparedBatch::SurveyInvitations(rows) => rows.len(),
            PreparedBatch::SurveyResponses(rows) => rows.len(),
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Writes pre-built records as one import batch: one transaction through the same record
/// functions as a file's batch, with the same `import.batch` audit event. `first_line` numbers
/// the records in the report and the event, as line numbers do for a file. A database refusal
/// fails the batch (pre-built records are expected to be valid).
pub fn write_prepared_batch(
    connection: &mut PgConnection,
    batch: PreparedBatch<'_>,
    first_line: u64,
    context: &ImportContext,
    customers: &mut CustomerCache,
) -> AppResult<ImportReport> {
    let kind = batch.kind();
    let lines: Vec<u64> = (first_line..).take(batch.len()).collect();
    let outcomes = in_transaction(connection, customers, |connection, customers| {
        let outcomes = match batch {
            PreparedBatch::Interactions(rows) => record_batch(
                connection,
                rows,
                FieldNames::File,
                &context.author(),
                Some(customers),
            )?,
            PreparedBatch::SurveyInvitations(rows) => {
                record_invitation_batch(connection, rows, FieldNames::File)?
            }
            PreparedBatch::SurveyResponses(rows) => record_responses(connection, rows)?,
        };
        audit_batch(connection, kind, &lines, &outcomes, context)?;
        Ok::<_, AppError>(outcomes)
    })?;
    let mut report = ImportReport::new(kind);
    report.rows_read = lines.len() as u64;
    tally_batch(&mut report, &lines, &outcomes);
    Ok(report.finished(context))
}

/// Writes customers ahead of their interactions as one import batch: one transaction with an
/// `import.batch` audit event of kind `customers`. Returns how many distinct references the
/// batch named.
pub fn write_customer_batch(
    connection: &mut PgConnection,
    customers: &[CustomerDetails],
    context: &ImportContext,
) -> AppResult<u64> {
    connection.transaction(|connection| {
        let written = record_customers(connection, customers, &context.author())? as u64;
        audit::record(
            connection,
            Entry::new(context.actor.clone(), "import.batch", "import")
                .entity_id("customers")
                .after(
                    json!({ "kind": "customers", "rows": customers.len(), "customers": written }),
                )
                .request_id(context.request_id.clone()),
        )?;
        Ok(written)
    })
}

/// Writes small reference rows one at a time (a later row may name an earlier one as its
/// parent). A row's own problems reject that row; a database failure fails the batch.
fn one_by_one(
    connection: &mut PgConnection,
    rows: &[Row],
    context: &ImportContext,
    write: fn(&mut PgConnection, &Row, &ImportContext) -> AppResult<RowOutcome>,
) -> AppResult<Vec<RowOutcome>> {
    rows.iter()
        .map(|row| match write(connection, row, context) {
            Err(error @ AppError::BadUserInput { .. }) => Ok(RowOutcome::Rejected(error)),
            other => other,
        })
        .collect()
}

fn parse_interaction(row: &Row) -> AppResult<InteractionSubmission> {
    let now = Utc::now();
    let customer = match row.cell("customer_ref") {
        Some(reference) => Some(CustomerDetails {
            reference: CustomerRef::parse("customer_ref", reference)?,
            business_name: row.optional("business_name", Name::parse)?,
            contact_name: row.optional("contact_name", Name::parse)?,
            email: row.optional("email", Email::parse)?,
            phone: row.optional("phone", Phone::parse)?,
        }),
        None => {
            for column in ["business_name", "contact_name", "email", "phone"] {
                if row.cell(column).is_some() {
                    return Err(AppError::bad_input(
                        column,
                        "customer details need a customer_ref",
                    ));
                }
            }
            None
        }
    };
    let fields = InteractionFields {
        key: row.key("source", "external_id")?,
        channel: row
            .enumeration::<Channel>("channel")?
            .ok_or_else(|| AppError::bad_input("channel", "is required"))?,
        org_unit: Code::parse("org_unit_code", row.required("org_unit_code")?)?,
        agent: row.optional("agent_email", Email::parse)?,
        customer,
        topic: row.optional("topic_code", Code::parse)?,
        started_at: row.time("started_at", now)?,
        wait: row.optional("wait_seconds", Seconds::parse_text)?,
        handle: row.optional("handle_seconds", Seconds::parse_text)?,
        transfers: row
            .optional("transfers", |column, value| {
                parse_count(column, value, MAX_TRANSFERS)
            })?
            .unwrap_or(0),
        abandoned: row.optional("abandoned", parse_boolean)?.unwrap_or(false),
        outcome: row.enumeration::<Outcome>("outcome")?,
    };
    InteractionSubmission::new(fields, FieldNames::File)
}

fn parse_invitation(row: &Row) -> AppResult<InvitationSubmission> {
    Ok(InvitationSubmission {
        key: row.key("source", "external_id")?,
        interaction: row.key("interaction_source", "interaction_external_id")?,
        kind: row
            .enumeration::<SurveyKind>("kind")?
            .ok_or_else(|| AppError::bad_input("kind", "is required"))?,
        sent_at: row.time("sent_at", Utc::now())?,
    })
}

fn parse_response(row: &Row) -> AppResult<ResponseSubmission> {
    let mut raw = RawAnswers {
        resolved: row.optional("resolved", parse_boolean)?,
        comment: row.text("comment"),
        ..RawAnswers::default()
    };
    for item in LikertItem::ALL {
        let value = row
            .cell(item.name())
            .map(|value| Likert::parse_text(item.name(), value))
            .transpose()?;
        raw.set(item, value.map(|answer| i64::from(answer.get())));
    }
    Ok(ResponseSubmission {
        key: row.key("source", "external_id")?,
        interaction: row.key("interaction_source", "interaction_external_id")?,
        kind: row
            .enumeration::<SurveyKind>("kind")?
            .ok_or_else(|| AppError::bad_input("kind", "is required"))?,
        submitted_at: row.time("submitted_at", Utc::now())?,
        answers: Answers::parse(raw)?,
    })
}

/// The columns of an org-units file, as errors name them.
const ORG_UNIT_COLUMNS: OrgUnitFields = OrgUnitFields {
    code: "code",
    name: "name",
    parent_code: "parent_code",
};
/// The columns of a topics file.
const TOPIC_COLUMNS: TopicFields = TopicFields {
    code: "code",
    name: "name",
};
/// The columns of a users file.
const USER_COLUMNS: UserFields = UserFields {
    email: "email",
    display_name: "display_name",
    org_unit_code: "org_unit_code",
};

fn org_unit_row(
    connection: &mut PgConnection,
    row: &Row,
    context: &ImportContext,
) -> AppResult<RowOutcome> {
    let draft = OrgUnitDraft::parse(
        ORG_UNIT_COLUMNS,
        row.cell("code").unwrap_or_default(),
        row.cell("name").unwrap_or_default(),
        row.cell("parent_code"),
    )?;
    organisation::import_org_unit(
        connection,
        &draft,
        context.actor.clone(),
        context.request_id.clone(),
    )
}

fn topic_row(
    connection: &mut PgConnection,
    row: &Row,
    context: &ImportContext,
) -> AppResult<RowOutcome> {
    let draft = TopicDraft::parse(
        TOPIC_COLUMNS,
        row.cell("code").unwrap_or_default(),
        row.cell("name").unwrap_or_default(),
    )?;
    organisation::import_topic(
        connection,
        &draft,
        context.actor.clone(),
        context.request_id.clone(),
    )
}

/// Imported users are service-style accounts without a password (see
/// [`organisation::import_user`]). A file's display name is required, not defaulted.
fn user_row(
    connection: &mut PgConnection,
    row: &Row,
    context: &ImportContext,
) -> AppResult<RowOutcome> {
    let role: Role = row
        .enumeration("role")?
        .ok_or_else(|| AppError::bad_input("role", "is required"))?;
    let draft = UserDraft::parse(
        USER_COLUMNS,
        UserInput {
            email: row.cell("email").unwrap_or_default(),
            display_name: Some(row.cell("display_name").unwrap_or_default()),
            role,
            org_unit_code: row.cell("org_unit_code").unwrap_or_default(),
        },
    )?;
    organisation::import_user(
        connection,
        &draft,
        context.actor.clone(),
        context.request_id.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_formats_document_lists_every_kinds_columns_in_order() {
        let document = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/import-formats.md"
        ));
        for kind in ImportKind::ALL {
            let section = format!("## `{kind}`\n\n```\n{}\n```", kind.columns().join(","));
            assert!(
                document.contains(&section),
                "docs/import-formats.md must show the {kind} header as:\n{section}"
            );
            for column in kind.optional_columns() {
                assert!(
                    document.contains(&format!("| `{column}` | no, *may be left out*")),
                    "docs/import-formats.md must say that `{column}` may be left out"
                );
            }
        }
    }

    #[test]
    fn kinds_and_formats_parse() {
        assert_eq!(
            "survey-responses".parse::<ImportKind>().unwrap(),
            ImportKind::SurveyResponses
        );
        assert!("surveys".parse::<ImportKind>().is_err());
        assert_eq!(
            Format::from_content_type("text/csv; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_content_type("application/x-ndjson"),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_content_type("application/json"), None);
        assert_eq!(
            Format::from_path(std::path::Path::new("a/b.JSONL")),
            Some(Format::Ndjson)
        );
    }

    #[test]
    fn csv_headers_are_checked() {
        let bad = "source,external_id,chanel\n";
        let error = RowSource::open(
            ImportKind::Interactions,
            Format::Csv,
            bad.as_bytes(),
            DEFAULT_MAX_LINE_BYTES,
        )
        .err()
        .unwrap();
        assert!(
            error.to_string().contains("unknown column `chanel`"),
            "{error}"
        );
        let missing = "source,external_id\n";
        let error = RowSource::open(
            ImportKind::Interactions,
            Format::Csv,
            missing.as_bytes(),
            DEFAULT_MAX_LINE_BYTES,
        )
        .err()
        .unwrap();
        assert!(
            error.to_string().contains(
                "missing column(s) channel, org_unit_code, agent_email, customer_ref, topic_code"
            ),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains("the header must be: source,external_id,channel"));
        let repeated = "code,name,code\n";
        let error = RowSource::open(
            ImportKind::Topics,
            Format::Csv,
            repeated.as_bytes(),
            DEFAULT_MAX_LINE_BYTES,
        )
        .err()
        .unwrap();
        assert!(
            error.to_string().contains("column `code` appears twice"),
            "{error}"
        );
    }

    #[test]
    fn rows_carry_their_line_numbers() {
        let data = "code,name\nA,Alpha\n\"B\",\"Beta,\nwith a line break\"\nC,Gamma\n";
        let mut source = RowSource::open(
            ImportKind::Topics,
            Format::Csv,
            data.as_bytes(),
            DEFAULT_MAX_LINE_BYTES,
        )
        .unwrap();
        let lines: Vec<u64> = std::iter::from_fn(|| source.next(ImportKind::Topics))
            .map(|row| row.unwrap().line)
            .collect();
        assert_eq!(lines, vec![2, 3, 5]);
        let ndjson = "{\"code\":\"A\",\"name\":\"Alpha\"}\n\n{\"code\":\"B\",\"nam\":\"x\"}\n";
        let mut source = RowSource::open(
            ImportKind::Topics,
            Format::Ndjson,
            ndjson.as_bytes(),
            DEFAULT_MAX_LINE_BYTES,
        )
        .unwrap();
        assert_eq!(source.next(ImportKind::Topics).unwrap().unwrap().line, 1);
        let (line, error) = source.next(ImportKind::Topics).unwrap().err().unwrap();
        assert_eq!(line, 3);
        assert!(error.to_string().contains("unknown field `nam`"));
    }
}
