//! The one CSV writer of every export, and the streaming of large exports.
//!
//! Text cells that a spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return — are neutralised with a leading apostrophe (OWASP's CSV injection
//! advice), so a name like `=HYPERLINK(…)` stored by a hostile source reaches an auditor's
//! spreadsheet as text. Numbers are written as numbers (a negative gap stays `-0.5`).
//!
//! [`stream_csv`] runs the producing query on a blocking thread with row-by-row loading and
//! hands the client chunks of about 64 KiB through a small bounded channel, so an export of any
//! size holds a bounded amount of memory, and a client that reads slowly slows the query down
//! instead of filling the server's memory.

use std::borrow::Cow;

use actix_web::{http::header, web::Bytes, HttpResponse};
use diesel::{pg::PgConnection, Connection, RunQueryDsl};
use futures_util::stream;

use crate::{
    db::Database,
    error::{AppError, AppResult},
    http::errors::error_response,
};

/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks buffered between the query and a slow client.
const CHUNKS_IN_FLIGHT: usize = 8;

/// One cell of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text, neutralised if a spreadsheet would read it as a formula.
    Text(&'a str),
    /// A number; empty when `None`.
    Number(Option<f64>),
    /// A whole number; empty when `None`.
    Integer(Option<i64>),
}

/// `text`, prefixed with `'` when it starts like a spreadsheet formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// Encodes rows into a growing byte buffer.
pub struct CsvRows {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for CsvRows {
    fn default() -> Self {
        Self {
            writer: new_writer(),
        }
    }
}

fn new_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(CHUNK_BYTES + 4096))
}

impl CsvRows {
    /// Appends one row.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> AppResult<()> {
        let fields: Vec<Cow<'_, str>> = cells
            .iter()
            .map(|cell| match cell {
                Cell::Text(text) => neutralise(text),
                Cell::Number(value) => Cow::Owned(value.map(|v| v.to_string()).unwrap_or_default()),
                Cell::Integer(value) => {
                    Cow::Owned(value.map(|v| v.to_string()).unwrap_or_default())
                }
            })
            .collect();
        self.writer
            .write_record(fields.iter().map(|field| field.as_bytes()))
            .map_err(|error| AppError::internal_with("writing a CSV row", error))
    }

    /// Appends a header row of column names.
    pub fn header(&mut self, names: &[&str]) -> AppResult<()> {
        let cells: Vec<Cell<'_>> = names.iter().map(|name| Cell::Text(name)).collect();
        self.row(&cells)
    }

    /// Bytes written so far and not yet taken (the writer's own small buffer aside).
    pub fn len(&self) -> usize {
        self.writer.get_ref().len()
    }

    /// True when nothing is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the bytes written so far.
    pub fn take(&mut self) -> AppResult<Vec<u8>> {
        std::mem::replace(&mut self.writer, new_writer())
            .into_inner()
            .map_err(|error| AppError::internal_with("writing CSV", error.into_error()))
    }

    /// The whole document (for small exports built in memory).
    pub fn finish(mut self) -> AppResult<String> {
        let bytes = self.take()?;
        String::from_utf8(bytes).map_err(|error| AppError::internal_with("writing CSV", error))
    }
}

/// Rows of a streamed export: encoded, then sent to the client a chunk at a time.
pub struct CsvSink {
    rows: CsvRows,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    sent: bool,
}

impl CsvSink {
    /// Appends a row, sending a chunk when enough has gathered. Fails when the client went
    /// away, which stops the query.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> AppResult<()> {
        self.rows.row(cells)?;
        if self.rows.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends the header row.
    pub fn header(&mut self, names: &[&str]) -> AppResult<()> {
        self.rows.header(names)
    }

    fn flush(&mut self) -> AppResult<()> {
        let chunk = self.rows.take()?;
        self.sent = true;
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| AppError::internal("the client closed the connection during an export"))
    }

    /// After an error: if the client already has part of the file, end the body with an error
    /// so it sees a truncated transfer rather than a short file that looks complete.
    fn fail(&mut self) {
        if self.sent {
            let _ = self.sender.blocking_send(Err(std::io::Error::other(
                "the export failed part-way; see the server log",
            )));
        }
    }
}

/// Answers with a CSV file produced by `produce` on a pooled connection of `database` (a read
/// transaction with `statement_timeout` raised to `timeout`, since an export lasts as long as
/// the client reads). An error before the first chunk is an ordinary error response; after it,
/// the transfer is cut short.
pub async fn stream_csv<F>(
    database: &Database,
    filename: &str,
    timeout: std::time::Duration,
    produce: F,
) -> HttpResponse
where
    F: FnOnce(&mut PgConnection, &mut CsvSink) -> AppResult<()> + Send + 'static,
{
    let (sender, mut receiver) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let database = database.clone();
    let producer = tokio::spawn(async move {
        database
            .run(move |connection| {
                let mut sink = CsvSink {
                    rows: CsvRows::default(),
                    sender,
                    sent: false,
                };
                let result = connection.transaction(|connection| {
                    diesel::sql_query(format!(
                        "SET LOCAL statement_timeout = {}",
                        timeout.as_millis()
                    ))
                    .execute(connection)?;
                    produce(connection, &mut sink)?;
                    if !sink.rows.is_empty() || !sink.sent {
                        sink.flush()?;
                    }
                    Ok(())
                });
                if result.is_err() {
                    sink.fail();
                }
                result
            })
            .await
    });
    // Nothing is answered until the first chunk (or the failure) is known.
    let Some(first) = receiver.recv().await else {
        let error = match producer.await {
            Ok(Err(error)) => error,
            Ok(Ok(())) => AppError::internal("an export ended without any output"),
            Err(join_error) => AppError::from(join_error),
        };
        return error_response(&error);
    };
    tokio::spawn(async move {
        if let Ok(Err(error)) = producer.await {
            tracing::warn!(error = %error.chain(), "an export stopped part-way");
        }
    });
    let rest = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let body = futures_util::StreamExt::chain(stream::iter([first]), rest);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        let mut rows = CsvRows::default();
        rows.row(&[
            Cell::Text("=HYPERLINK(\"http://x.example/?leak\",\"click\")"),
            Cell::Text("+SUM(1+1)*cmd|' /C calc'!A0"),
            Cell::Text("-2+3"),
            Cell::Text("@SUM(A1)"),
            Cell::Text("\tTab"),
            Cell::Text("\rReturn"),
            Cell::Text("plain, with comma"),
            Cell::Number(Some(-0.5)),
            Cell::Integer(Some(-3)),
            Cell::Number(None),
        ])
        .unwrap();
        let text = rows.finish().unwrap();
        assert_eq!(
            text,
            "\"'=HYPERLINK(\"\"http://x.example/?leak\"\",\"\"click\"\")\",'+SUM(1+1)*cmd|' /C calc'!A0,'-2+3,'@SUM(A1),'\tTab,\"'\rReturn\",\"plain, with comma\",-0.5,-3,\n"
        );
    }
}
