//! Hand-written SQL that PostgreSQL parses and plans once per connection, not once per request.
//!
//! Diesel keeps a prepared statement per connection for queries written with its DSL, but
//! never for `sql_query` text: such a statement is parsed, analysed and planned again every
//! time. For the statements every request runs (the session check) or every report runs (the
//! metrics engine's), that work was as large as the statement itself. A [`ReusableQuery`] is the
//! same text-plus-bind-values, marked safe to keep: Diesel prepares it under its text on first
//! use and executes the prepared statement afterwards.
//!
//! Each kept statement costs memory in the server process of every pooled connection, so only
//! a bounded number of distinct texts are kept: fixed texts ([`ReusableQuery::fixed`]) are few
//! by construction, and texts generated from a request ([`ReusableQuery::generated`]) are kept
//! only for the first [`MAX_GENERATED_SHAPES`] distinct ones the process sees; any other runs
//! unprepared, exactly as before (slower, never wrong).

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Mutex, OnceLock},
};

use chrono::NaiveDate;
use diesel::{
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Array, BigInt, Date, Integer, Text, Untyped, Uuid as SqlUuid},
    QueryResult, RunQueryDsl,
};
use uuid::Uuid;

/// Distinct generated texts kept prepared (per connection, at most this many).
pub const MAX_GENERATED_SHAPES: usize = 256;

/// A bind value of a [`ReusableQuery`].
#[derive(Debug, Clone)]
pub enum Param {
    Uuid(Uuid),
    BigInt(i64),
    Integer(i32),
    Text(String),
    Date(NaiveDate),
    BigIntArray(Vec<i64>),
    TextArray(Vec<String>),
}

/// SQL text with its bind values (`$1`, `$2`, … in the order they were added), run as a
/// prepared statement kept by the connection when its text may be kept.
#[derive(Debug, Clone)]
#[must_use = "Queries are only executed when calling `load`, `get_result` or similar."]
pub struct ReusableQuery {
    sql: String,
    params: Vec<Param>,
    keep: bool,
}

impl ReusableQuery {
    /// A statement whose text does not depend on the request (only its bind values do).
    pub fn fixed(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
            keep: true,
        }
    }

    /// A statement whose text was generated from a request: kept prepared if it is one of the
    /// first [`MAX_GENERATED_SHAPES`] distinct texts of the process.
    pub fn generated(sql: String) -> Self {
        let keep = admit_shape(&sql);
        Self {
            sql,
            params: Vec::new(),
            keep,
        }
    }

    /// Adds a bind value.
    pub fn bind(mut self, param: Param) -> Self {
        self.params.push(param);
        self
    }

    /// Adds bind values in order.
    pub fn bind_all(mut self, params: impl IntoIterator<Item = Param>) -> Self {
        self.params.extend(params);
        self
    }

    /// Whether the connection keeps this statement prepared.
    pub fn is_kept(&self) -> bool {
        self.keep
    }
}

/// The process-wide set of generated texts that may be kept, by digest.
fn admit_shape(sql: &str) -> bool {
    static SHAPES: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    let mut hasher = DefaultHasher::new();
    sql.hash(&mut hasher);
    let digest = hasher.finish();
    let mut shapes = SHAPES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if shapes.contains(&digest) {
        return true;
    }
    if shapes.len() < MAX_GENERATED_SHAPES {
        shapes.insert(digest);
        return true;
    }
    false
}

impl QueryFragment<Pg> for ReusableQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !self.keep {
            out.unsafe_to_cache_prepared();
        }
        // Diesel writes each bind's placeholder itself, numbering them in the order they are
        // pushed; the text names its values `$n`, in any order and possibly more than once. So
        // the text is passed on piece by piece, and each `$n` becomes the n-th value's own
        // placeholder (a value named twice is sent twice).
        let mut cursor = 0;
        for (start, end, index) in placeholders(&self.sql) {
            out.push_sql(&self.sql[cursor..start]);
            let param = self.params.get(index.wrapping_sub(1)).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!(
                        "the statement names ${index} but has {} values",
                        self.params.len()
                    )
                    .into(),
                )
            })?;
            push_param(&mut out, param)?;
            cursor = end;
        }
        out.push_sql(&self.sql[cursor..]);
        Ok(())
    }
}

fn push_param<'b>(out: &mut AstPass<'_, 'b, Pg>, param: &'b Param) -> QueryResult<()> {
    match param {
        Param::Uuid(value) => out.push_bind_param::<SqlUuid, _>(value),
        Param::BigInt(value) => out.push_bind_param::<BigInt, _>(value),
        Param::Integer(value) => out.push_bind_param::<Integer, _>(value),
        Param::Text(value) => out.push_bind_param::<Text, _>(value),
        Param::Date(value) => out.push_bind_param::<Date, _>(value),
        Param::BigIntArray(value) => out.push_bind_param::<Array<BigInt>, _>(value),
        Param::TextArray(value) => out.push_bind_param::<Array<Text>, _>(value),
    }
}

/// The `$n` placeholders of `sql` as (start, end, n), outside quoted literals and identifiers.
fn placeholders(sql: &str) -> Vec<(usize, usize, usize)> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            quote @ (b'\'' | b'"') => {
                // Skip to the closing quote; a doubled quote is an escaped one and the scan
                // simply continues past it.
                index += 1;
                while index < bytes.len() && bytes[index] != quote {
                    index += 1;
                }
                index += 1;
            }
            b'$' if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) => {
                let start = index;
                index += 1;
                while index < bytes.len() && bytes[index].is_ascii_digit() {
                    index += 1;
                }
                if let Ok(number) = sql[start + 1..index].parse::<usize>() {
                    found.push((start, index, number));
                }
            }
            _ => index += 1,
        }
    }
    found
}

/// Not identified by type: Diesel then keys the kept statement by its text and bind types.
impl QueryId for ReusableQuery {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ReusableQuery {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for ReusableQuery {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_outside_quotes_only() {
        let sql = "SELECT $2, '$1 it''s', \"$3\", $1 || $10 FROM t WHERE a = $2";
        let found: Vec<usize> = placeholders(sql).into_iter().map(|(_, _, n)| n).collect();
        assert_eq!(found, vec![2, 1, 10, 2]);
    }

    #[test]
    fn the_text_sent_numbers_values_in_order_and_repeats_a_value_named_twice() {
        let query = ReusableQuery::fixed("SELECT $2 + $1 + $2")
            .bind(Param::BigInt(1))
            .bind(Param::BigInt(2));
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.starts_with("SELECT $1 + $2 + $3"), "{sql}");
        assert!(sql.contains("binds: [2, 1, 2]"), "{sql}");
    }

    #[test]
    fn generated_texts_beyond_the_bound_run_unprepared() {
        // Other tests may have admitted shapes already: fill up to the bound, then one more.
        let mut admitted = 0;
        for index in 0..=MAX_GENERATED_SHAPES {
            if ReusableQuery::generated(format!("SELECT {index} /* bound test */")).is_kept() {
                admitted += 1;
            }
        }
        assert!(admitted <= MAX_GENERATED_SHAPES);
        let over = ReusableQuery::generated(format!(
            "SELECT {} /* bound test */",
            MAX_GENERATED_SHAPES + 1
        ));
        assert!(!over.is_kept());
        // A text admitted earlier stays kept.
        if admitted > 0 {
            assert!(ReusableQuery::generated("SELECT 0 /* bound test */".into()).is_kept());
        }
        assert!(ReusableQuery::fixed("SELECT 1").is_kept());
    }
}
