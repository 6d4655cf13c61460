//! The organisation directory — users, org units, topics — kept in memory between requests.
//!
//! Nearly every record a caller reads shows who handled it, in which unit, on which topic, so
//! a page of 50 interactions used to read the same few dozen directory rows again on every
//! request (three statements of five). The directory is small and changes only when an
//! administrator or an import changes it, so each server keeps the rows it has read.
//!
//! **Staying current on every server.** Any statement that changes `users`, `org_units` or
//! `topics` bumps the one-row `directory_version` table (statement triggers, migration
//! `directory_version`), in the same transaction as the change. The session check every
//! authenticated request already runs on the primary reads that version too
//! ([`crate::auth::Principal::directory_version`]), so a request knows the directory's current
//! version at no extra statement. A request uses this cache only when the cache holds exactly
//! that version; a newer version empties it first. A role change, a deactivation or a renamed
//! unit is therefore seen by the next request on every server, however many there are.
//!
//! **Never older than the version it is filed under.** Missing rows are read after the
//! version itself, each in its own statement, so the rows are at least as new as the version
//! read (a later statement's snapshot never sees less, on the primary or on a replica). They
//! are kept only when that version is the request's; rows read from a replica that has not
//! yet replayed the latest change serve that request and are not kept.
//!
//! Requests that write (mutations) do not use the cache: what they return must show their own
//! change. Scope rules do not live here: the cache holds the rows the loaders would have
//! read, and the fields that show them ask the scope module as before.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use diesel::{pg::PgConnection, prelude::*, sql_types::BigInt};

use crate::db::models::{OrgUnit, Topic, User};

/// Rows kept per kind at most; past it the kind is emptied and refilled by the next reads.
/// The directory of an agency is a few thousand rows; this only bounds a pathological one.
const MAX_ROWS_PER_KIND: usize = 50_000;

/// The directory rows this server has read, with the version they are current for.
#[derive(Default)]
pub struct DirectoryCache {
    state: RwLock<DirectoryState>,
}

#[derive(Default)]
struct DirectoryState {
    version: i64,
    users: HashMap<i64, User>,
    org_units: HashMap<i64, OrgUnit>,
    topics: HashMap<i64, Topic>,
}

/// The cache as one request may use it: at the directory version its session check read.
#[derive(Clone)]
pub struct DirectoryView {
    cache: Arc<DirectoryCache>,
    version: i64,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// The directory's current version, as the session check reads it.
pub const VERSION_SQL: &str = "(SELECT version FROM directory_version)";

impl DirectoryCache {
    /// The view for a request that read `version` (a positive number; 0 means unknown and
    /// gives no view). A newer version than the cache's empties the cache; an older one (a
    /// request that raced a change) gets no view and reads the database.
    pub fn view(self: &Arc<Self>, version: i64) -> Option<DirectoryView> {
        if version <= 0 {
            return None;
        }
        let current = self.read().version;
        if current > version {
            return None;
        }
        if current < version {
            let mut state = self.write();
            if state.version < version {
                *state = DirectoryState {
                    version,
                    ..DirectoryState::default()
                };
            } else if state.version > version {
                return None;
            }
        }
        Some(DirectoryView {
            cache: Arc::clone(self),
            version,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, DirectoryState> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters (each insert is whole), so a poisoned lock is used as is.
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, DirectoryState> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl DirectoryView {
    /// The users with these ids: kept ones from memory, the rest in one statement. Never
    /// with their password hash: the cache keeps only whether there is one (an empty string,
    /// which no verification accepts), which is all a loaded user is shown for (service
    /// accounts have none).
    pub fn users(
        &self,
        connection: &mut PgConnection,
        keys: Vec<i64>,
        fetch: impl FnOnce(&mut PgConnection, Vec<i64>) -> QueryResult<Vec<User>>,
    ) -> QueryResult<Vec<User>> {
        self.through(
            connection,
            keys,
            |state| &state.users,
            |state| &mut state.users,
            |user| user.id,
            |connection, keys| {
                let users = fetch(connection, keys)?;
                Ok(users.into_iter().map(without_password_hash).collect())
            },
        )
    }

    /// The topics with these ids: kept ones from memory, the rest in one statement.
    pub fn topics(
        &self,
        connection: &mut PgConnection,
        keys: Vec<i64>,
        fetch: impl FnOnce(&mut PgConnection, Vec<i64>) -> QueryResult<Vec<Topic>>,
    ) -> QueryResult<Vec<Topic>> {
        self.through(
            connection,
            keys,
            |state| &state.topics,
            |state| &mut state.topics,
            |topic| topic.id,
            fetch,
        )
    }

    /// The units with these ids and every unit on their paths to the root (what
    /// `fetch` reads): from memory when all of them are kept, else all read again.
    pub fn org_units_with_ancestors(
        &self,
        connection: &mut PgConnection,
        keys: Vec<i64>,
        fetch: impl FnOnce(&mut PgConnection, Vec<i64>) -> QueryResult<Vec<OrgUnit>>,
    ) -> QueryResult<Vec<OrgUnit>> {
        if let Some(kept) = self.kept_units_with_ancestors(&keys) {
            return Ok(kept);
        }
        let version = current_version(connection)?;
        let rows = fetch(connection, keys)?;
        self.keep(version, |state| {
            keep_rows(&mut state.org_units, &rows, |unit| unit.id)
        });
        Ok(rows)
    }

    fn kept_units_with_ancestors(&self, keys: &[i64]) -> Option<Vec<OrgUnit>> {
        let state = self.cache.read();
        if state.version != self.version {
            return None;
        }
        let mut ids: Vec<i64> = Vec::new();
        for key in keys {
            let unit = state.org_units.get(key)?;
            ids.extend(unit.path.iter().flatten().copied());
            ids.push(*key);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .map(|id| state.org_units.get(id).cloned())
            .collect()
    }

    fn through<T: Clone>(
        &self,
        connection: &mut PgConnection,
        keys: Vec<i64>,
        kept: impl Fn(&DirectoryState) -> &HashMap<i64, T>,
        kept_mut: impl Fn(&mut DirectoryState) -> &mut HashMap<i64, T>,
        id: impl Fn(&T) -> i64,
        fetch: impl FnOnce(&mut PgConnection, Vec<i64>) -> QueryResult<Vec<T>>,
    ) -> QueryResult<Vec<T>> {
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        {
            let state = self.cache.read();
            if state.version == self.version {
                let rows = kept(&state);
                for key in keys {
                    match rows.get(&key) {
                        Some(row) => found.push(row.clone()),
                        None => missing.push(key),
                    }
                }
            } else {
                missing = keys;
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let version = current_version(connection)?;
        let rows = fetch(connection, missing)?;
        self.keep(version, |state| keep_rows(kept_mut(state), &rows, &id));
        found.extend(rows);
        Ok(found)
    }

    /// Files rows read at directory `version` — only when that is this request's version and
    /// still the cache's (a newer change may have emptied it meanwhile).
    fn keep(&self, version: i64, file: impl FnOnce(&mut DirectoryState)) {
        if version != self.version {
            return;
        }
        let mut state = self.cache.write();
        if state.version == self.version {
            file(&mut state);
        }
    }
}

fn without_password_hash(mut user: User) -> User {
    user.password_hash = user.password_hash.map(|_| String::new());
    user
}

fn keep_rows<T: Clone>(kept: &mut HashMap<i64, T>, rows: &[T], id: impl Fn(&T) -> i64) {
    if kept.len() + rows.len() > MAX_ROWS_PER_KIND {
        kept.clear();
    }
    for row in rows {
        kept.insert(id(row), row.clone());
    }
}

/// The directory's version now, read before the rows that are to be filed under it.
fn current_version(connection: &mut PgConnection) -> QueryResult<i64> {
    diesel::sql_query(format!("SELECT {VERSION_SQL} AS version"))
        .get_result::<VersionRow>(connection)
        .map(|row| row.version)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::DirectoryCache;

    #[test]
    fn a_request_uses_the_cache_only_at_its_own_version() {
        let cache = Arc::new(DirectoryCache::default());
        assert!(cache.view(0).is_none(), "an unknown version gets no view");
        let first = cache.view(3).expect("the first version seen");
        assert_eq!(first.version, 3);
        cache.write().topics.insert(
            1,
            crate::db::models::Topic {
                id: 1,
                code: "LICENSING".into(),
                name: "Licensing".into(),
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            },
        );
        // The same version keeps what was filed; a newer one empties the cache first.
        assert!(cache.view(3).is_some());
        assert_eq!(cache.read().topics.len(), 1);
        assert!(cache.view(4).is_some());
        assert!(cache.read().topics.is_empty());
        // A request that read an older version (it raced a change) reads the database.
        assert!(cache.view(3).is_none());
        // Rows read at a version other than the view's are not filed.
        first.keep(3, |state| state.topics.clear());
        assert_eq!(cache.read().version, 4);
    }
}
