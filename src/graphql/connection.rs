//! Relay connections with keyset cursors.
//!
//! A cursor is the base64url JSON of the row's sort key, so pages stay stable when rows are
//! inserted before them. `first` defaults to 20 and may not exceed 100; asking for more is a
//! `BAD_USER_INPUT` rather than a silently shorter page.

use async_graphql::{
    connection::{Connection, Edge},
    OutputType, SimpleObject,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{AppError, AppResult};

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i64 = 100;

/// Extra fields on every connection.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConnectionTotals {
    /// How many rows match the filters (in the caller's scope), across all pages.
    pub total_count: i64,
}

/// A connection whose cursors are `String`s and which carries `totalCount`.
pub type KeysetConnection<Node> = Connection<String, Node, ConnectionTotals>;

/// Which way a page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: ascending from the `after` key.
    Forward,
    /// `last`/`before`: descending from the `before` key, returned in ascending order.
    Backward,
}

/// A validated page request with decoded keys.
#[derive(Debug, Clone)]
pub struct PageRequest<Key> {
    pub direction: Direction,
    pub limit: i64,
    pub after: Option<Key>,
    pub before: Option<Key>,
}

impl<Key: DeserializeOwned> PageRequest<Key> {
    /// Validates the four Relay arguments.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Self> {
        let (direction, requested) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(AppError::invalid("pass either `first` or `last`, not both"))
            }
            (Some(first), None) => (Direction::Forward, (first, "first")),
            (None, Some(last)) => (Direction::Backward, (last, "last")),
            (None, None) if before.is_some() && after.is_none() => {
                (Direction::Backward, (DEFAULT_PAGE_SIZE as i32, "last"))
            }
            (None, None) => (Direction::Forward, (DEFAULT_PAGE_SIZE as i32, "first")),
        };
        let (size, name) = requested;
        if size < 0 || i64::from(size) > MAX_PAGE_SIZE {
            return Err(AppError::bad_input(
                name,
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Self {
            direction,
            limit: i64::from(size),
            after: after
                .map(|cursor| decode_cursor(&cursor, "after"))
                .transpose()?,
            before: before
                .map(|cursor| decode_cursor(&cursor, "before"))
                .transpose()?,
        })
    }

    /// Rows to fetch: one more than the page, to learn whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Turns the fetched rows (in query order) into a connection.
    pub fn into_connection<Row, Node: OutputType>(
        self,
        mut rows: Vec<Row>,
        total_count: i64,
        key_of: impl Fn(&Row) -> Key,
        node_of: impl Fn(Row) -> Node,
    ) -> KeysetConnection<Node>
    where
        Key: Serialize,
    {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let (has_previous_page, has_next_page) = match self.direction {
            Direction::Forward => (self.after.is_some(), has_more),
            Direction::Backward => {
                rows.reverse();
                (has_more, self.before.is_some())
            }
        };
        let mut connection = Connection::with_additional_fields(
            has_previous_page,
            has_next_page,
            ConnectionTotals { total_count },
        );
        connection.edges.extend(
            rows.into_iter()
                .map(|row| Edge::new(encode_cursor(&key_of(&row)), node_of(row))),
        );
        connection
    }
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor<Key: Serialize>(key: &Key) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("cursor keys serialise"))
}

fn decode_cursor<Key: DeserializeOwned>(cursor: &str, argument: &str) -> AppResult<Key> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::bad_input(argument, "is not a cursor returned by this list"))
}

/// Applies a `(timestamp, id)`-keyed page (`after`/`before`, order, limit) to a boxed Diesel
/// query: rows sharing a timestamp are ordered by id, so cursors never skip or repeat a row.
#[macro_export]
macro_rules! page_by_time {
    ($query:expr, $time:expr, $id:expr, $page:expr) => {{
        let mut query = $query;
        if let Some((at, id)) = $page.after {
            query = query.filter($time.gt(at).or($time.eq(at).and($id.gt(id))));
        }
        if let Some((at, id)) = $page.before {
            query = query.filter($time.lt(at).or($time.eq(at).and($id.lt(id))));
        }
        match $page.direction {
            $crate::graphql::connection::Direction::Forward => {
                query.order(($time.asc(), $id.asc()))
            }
            $crate::graphql::connection::Direction::Backward => {
                query.order(($time.desc(), $id.desc()))
            }
        }
        .limit($page.fetch_limit())
    }};
}

/// Applies an id-keyed page (`after`/`before`, order, limit) to a boxed Diesel query.
#[macro_export]
macro_rules! page_by_id {
    ($query:expr, $id:expr, $page:expr) => {{
        let mut query = $query;
        if let Some(id) = $page.after {
            query = query.filter($id.gt(id));
        }
        if let Some(id) = $page.before {
            query = query.filter($id.lt(id));
        }
        match $page.direction {
            $crate::graphql::connection::Direction::Forward => query.order($id.asc()),
            $crate::graphql::connection::Direction::Backward => query.order($id.desc()),
        }
        .limit($page.fetch_limit())
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_arguments() {
        assert!(PageRequest::<String>::new(Some(101), None, None, None).is_err());
        assert!(PageRequest::<String>::new(Some(-1), None, None, None).is_err());
        assert!(PageRequest::<String>::new(Some(5), None, Some(5), None).is_err());
        assert!(PageRequest::<String>::new(None, Some("%%%".into()), None, None).is_err());
        let page = PageRequest::<String>::new(None, None, None, None).unwrap();
        assert_eq!((page.direction, page.limit), (Direction::Forward, 20));
        let cursor = encode_cursor(&"BAC".to_string());
        let page = PageRequest::<String>::new(None, None, Some(3), Some(cursor)).unwrap();
        assert_eq!(page.before.as_deref(), Some("BAC"));
        assert_eq!(page.direction, Direction::Backward);
    }

    /// The rows `page` would fetch from `keys` (sorted, unique), in query order — what the
    /// keyset SQL does: filter by the cursors, order by the key, fetch one more than the page.
    fn fetch(keys: &[(i64, i64)], page: &PageRequest<(i64, i64)>) -> Vec<(i64, i64)> {
        let mut rows: Vec<(i64, i64)> = keys
            .iter()
            .copied()
            .filter(|key| page.after.is_none_or(|after| *key > after))
            .filter(|key| page.before.is_none_or(|before| *key < before))
            .collect();
        if page.direction == Direction::Backward {
            rows.reverse();
        }
        rows.truncate(page.fetch_limit() as usize);
        rows
    }

    fn read(
        keys: &[(i64, i64)],
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> KeysetConnection<i64> {
        let page = PageRequest::<(i64, i64)>::new(first, after, last, before).unwrap();
        let rows = fetch(keys, &page);
        // The node is the row's position in `keys` (a node must be a GraphQL output type).
        let position = |row: (i64, i64)| keys.binary_search(&row).unwrap() as i64;
        page.into_connection(rows, keys.len() as i64, |row| *row, position)
    }

    proptest::proptest! {
        #[test]
        fn a_cursor_decodes_to_the_key_it_encodes(at in proptest::prelude::any::<i64>(), id in proptest::prelude::any::<i64>(), code in "\\PC{0,40}") {
            let cursor = encode_cursor(&(at, id, code.clone()));
            let decoded: (i64, i64, String) = decode_cursor(&cursor, "after").unwrap();
            proptest::prop_assert_eq!(decoded, (at, id, code));
        }

        #[test]
        fn any_text_as_a_cursor_is_a_key_or_a_bad_input_never_a_panic(raw in "\\PC{0,80}") {
            if let Err(error) = decode_cursor::<(i64, i64)>(&raw, "after") {
                let is_bad_input = matches!(error, AppError::BadUserInput { .. });
                proptest::prop_assert!(is_bad_input, "{:?}", error);
            }
        }

        /// Paging forward with `first`/`after`, or backward with `last`/`before`, from any
        /// set of keys (ties on the first part broken by the second) returns every row once,
        /// in order, and says truthfully whether another page exists.
        #[test]
        fn paging_either_way_visits_every_row_once_in_order(
            mut keys in proptest::collection::vec((0i64..20, 0i64..1000), 0..60),
            size in 1i32..15,
        ) {
            keys.sort_unstable();
            keys.dedup();
            let mut forward = Vec::new();
            let mut after = None;
            loop {
                let connection = read(&keys, Some(size), after.clone(), None, None);
                forward.extend(connection.edges.iter().map(|edge| edge.node));
                match connection.edges.last() {
                    Some(edge) if connection.has_next_page => after = Some(edge.cursor.clone()),
                    _ => break,
                }
            }
            let every_position: Vec<i64> = (0..keys.len() as i64).collect();
            proptest::prop_assert_eq!(&forward, &every_position);

            let mut backward = Vec::new();
            let mut before = None;
            loop {
                let connection = read(&keys, None, None, Some(size), before.clone());
                let page: Vec<i64> = connection.edges.iter().map(|edge| edge.node).collect();
                // Each backward page is itself in ascending order.
                proptest::prop_assert!(page.windows(2).all(|pair| pair[0] < pair[1]));
                backward.splice(0..0, page);
                match connection.edges.first() {
                    Some(edge) if connection.has_previous_page => before = Some(edge.cursor.clone()),
                    _ => break,
                }
            }
            proptest::prop_assert_eq!(&backward, &every_position);
        }
    }
}
