//! DataLoaders: nested fields load in one batched query per level instead of one per parent row.
//!
//! Loaders fetch by id without scope checks: they only ever resolve objects hanging off a parent
//! the caller was already allowed to see, and each field that exposes something sensitive
//! (an agent, a customer, a comment) asks the scope module itself.

use std::collections::HashMap;

use async_graphql::{
    dataloader::{DataLoader, HashMapCache, Loader},
    Lookahead,
};
use diesel::{pg::PgConnection, prelude::*};

use crate::db::{
    directory::DirectoryView,
    models::{Customer, Interaction, OrgUnit, SurveyResponse, Topic, TrainingCourse, User},
    schema::{
        customers, interactions, org_units, survey_responses, topics, training_courses, users,
    },
    Database,
};

/// Declares a loader of rows by their `i64` primary key, with the blocking `fetch` it and
/// the page prefetches share. With `via KIND`, its `read` answers from the directory cache's
/// `KIND` when the request may use it (users, topics).
macro_rules! by_id_loader {
    ($(#[$meta:meta])* $loader:ident, $model:ty, $table:ident $(, via $kind:ident)?) => {
        $(#[$meta])*
        pub struct $loader {
            database: Database,
            directory: Option<DirectoryView>,
        }

        impl $loader {
            /// The rows with these ids, in one statement.
            pub fn fetch(connection: &mut PgConnection, keys: Vec<i64>) -> QueryResult<Vec<$model>> {
                $table::table
                    .filter($table::id.eq_any(keys))
                    .select(<$model>::as_select())
                    .load(connection)
            }

            /// [`Self::fetch`], answered from the directory cache when this is a directory
            /// loader and the request may use the cache.
            pub fn read(
                connection: &mut PgConnection,
                keys: Vec<i64>,
                directory: Option<&DirectoryView>,
            ) -> QueryResult<Vec<$model>> {
                $(if let Some(directory) = directory {
                    return directory.$kind(connection, keys, Self::fetch);
                })?
                let _ = directory;
                Self::fetch(connection, keys)
            }
        }

        impl Loader<i64> for $loader {
            type Value = $model;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $model>, Self::Error> {
                let keys = keys.to_vec();
                let directory = self.directory.clone();
                let rows = self
                    .database
                    .run(move |connection| Ok(Self::read(connection, keys, directory.as_ref())?))
                    .await?;
                Ok(rows.into_iter().map(|row| (row.id, row)).collect())
            }
        }
    };
}

/// Org units by id. Each batch also brings the units' ancestors, so walking up the tree
/// (`parent { parent { … } }`) is answered from the request's cache.
pub struct OrgUnitLoader {
    database: Database,
    directory: Option<DirectoryView>,
}

impl OrgUnitLoader {
    /// The units with these ids and every unit on their paths to the root, in one statement.
    pub fn fetch(connection: &mut PgConnection, keys: Vec<i64>) -> QueryResult<Vec<OrgUnit>> {
        org_units::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "org_units.id IN (SELECT unnest(ancestor.path) FROM org_units ancestor WHERE ancestor.id = ANY(",
                )
                .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(keys)
                .sql("))"),
            )
            .select(OrgUnit::as_select())
            .load(connection)
    }

    /// [`Self::fetch`], answered from the directory cache when the request may use it.
    pub fn read(
        connection: &mut PgConnection,
        keys: Vec<i64>,
        directory: Option<&DirectoryView>,
    ) -> QueryResult<Vec<OrgUnit>> {
        match directory {
            Some(directory) => directory.org_units_with_ancestors(connection, keys, Self::fetch),
            None => Self::fetch(connection, keys),
        }
    }
}

impl Loader<i64> for OrgUnitLoader {
    type Value = OrgUnit;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, OrgUnit>, Self::Error> {
        let keys = keys.to_vec();
        let directory = self.directory.clone();
        let rows = self
            .database
            .run(move |connection| Ok(Self::read(connection, keys, directory.as_ref())?))
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

by_id_loader!(
    /// Topics by id.
    TopicLoader, Topic, topics, via topics
);
by_id_loader!(
    /// Users by id (through the directory cache without their password hash: see
    /// [`DirectoryView::users`]).
    UserLoader, User, users, via users
);
by_id_loader!(
    /// Customers by id.
    CustomerLoader, Customer, customers
);
by_id_loader!(
    /// Interactions by id.
    InteractionLoader, Interaction, interactions
);
by_id_loader!(
    /// Training courses by id.
    CourseLoader, TrainingCourse, training_courses
);

/// The survey responses of each interaction, oldest first.
pub struct ResponsesByInteractionLoader {
    database: Database,
}

impl ResponsesByInteractionLoader {
    /// The responses of these interactions, oldest first, with an entry (maybe empty) for every
    /// key, so "no responses" is cached too. One statement.
    pub fn fetch(
        connection: &mut PgConnection,
        keys: Vec<i64>,
    ) -> QueryResult<HashMap<i64, Vec<SurveyResponse>>> {
        let mut grouped: HashMap<i64, Vec<SurveyResponse>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        let rows: Vec<SurveyResponse> = survey_responses::table
            .filter(survey_responses::interaction_id.eq_any(keys))
            .order((survey_responses::submitted_at, survey_responses::id))
            .select(SurveyResponse::as_select())
            .load(connection)?;
        for row in rows {
            grouped.entry(row.interaction_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

impl Loader<i64> for ResponsesByInteractionLoader {
    type Value = Vec<SurveyResponse>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<SurveyResponse>>, Self::Error> {
        let keys = keys.to_vec();
        Ok(self
            .database
            .run(move |connection| Ok(Self::fetch(connection, keys)?))
            .await?)
    }
}

type CachedLoader<T> = DataLoader<T, HashMapCache>;

/// The loaders of one request; each caches what it loaded for the rest of the request.
pub struct Loaders {
    pub org_units: CachedLoader<OrgUnitLoader>,
    pub topics: CachedLoader<TopicLoader>,
    pub users: CachedLoader<UserLoader>,
    pub customers: CachedLoader<CustomerLoader>,
    pub interactions: CachedLoader<InteractionLoader>,
    pub courses: CachedLoader<CourseLoader>,
    pub responses_by_interaction: CachedLoader<ResponsesByInteractionLoader>,
    /// The directory cache as this request may use it (none for requests that write).
    directory: Option<DirectoryView>,
}

fn cached<T: Loader<i64>>(loader: T) -> CachedLoader<T> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

impl Loaders {
    /// The loaders of a request reading through `database`; `directory` is the directory
    /// cache at the version the request's session check read, or `None` (requests that write,
    /// callers without a session).
    pub fn new(database: &Database, directory: Option<DirectoryView>) -> Self {
        let database = || database.clone();
        Self {
            org_units: cached(OrgUnitLoader {
                database: database(),
                directory: directory.clone(),
            }),
            topics: cached(TopicLoader {
                database: database(),
                directory: directory.clone(),
            }),
            users: cached(UserLoader {
                database: database(),
                directory: directory.clone(),
            }),
            customers: cached(CustomerLoader {
                database: database(),
                directory: None,
            }),
            interactions: cached(InteractionLoader {
                database: database(),
                directory: None,
            }),
            courses: cached(CourseLoader {
                database: database(),
                directory: None,
            }),
            responses_by_interaction: cached(ResponsesByInteractionLoader {
                database: database(),
            }),
            directory,
        }
    }

    /// The directory cache as this request may use it, for reads made outside the loaders
    /// (a page's related rows, read with the page).
    pub fn directory(&self) -> Option<DirectoryView> {
        self.directory.clone()
    }

    /// Puts what [`InteractionRelations::fetch`] loaded for a page of interactions into the
    /// request's caches, so the page's nested fields resolve without another query.
    pub async fn feed_interaction_page(&self, rows: &[Interaction], related: RelatedRows) {
        if related.feed_page_rows {
            // The page's own rows answer `surveyResponses { interaction }` without a query.
            self.interactions
                .feed_many(rows.iter().map(|row| (row.id, row.clone())))
                .await;
        }
        self.users
            .feed_many(related.users.into_iter().map(|row| (row.id, row)))
            .await;
        self.topics
            .feed_many(related.topics.into_iter().map(|row| (row.id, row)))
            .await;
        self.customers
            .feed_many(related.customers.into_iter().map(|row| (row.id, row)))
            .await;
        self.responses_by_interaction
            .feed_many(related.responses)
            .await;
        self.org_units
            .feed_many(related.org_units.into_iter().map(|row| (row.id, row)))
            .await;
    }
}

/// Which relations of a page of interactions its selection asks for, decided from the
/// look-ahead before the page is read, so the page and everything its fields need are read in
/// one trip to the database: one statement per relation asked for, whatever the page size.
#[derive(Debug, Clone, Copy, Default)]
pub struct InteractionRelations {
    agent: bool,
    agent_org_unit: bool,
    org_unit: bool,
    topic: bool,
    customer: bool,
    survey_responses: bool,
}

/// The related rows of one page, as [`InteractionRelations::fetch`] read them.
#[derive(Default)]
pub struct RelatedRows {
    feed_page_rows: bool,
    users: Vec<User>,
    topics: Vec<Topic>,
    customers: Vec<Customer>,
    responses: HashMap<i64, Vec<SurveyResponse>>,
    org_units: Vec<OrgUnit>,
}

impl InteractionRelations {
    /// The relations `node` (the selection of an interaction) asks for. Agents are left out
    /// when `may_identify_agents` is false: their fields answer null for such callers anyway.
    pub fn wanted(node: Lookahead<'_>, may_identify_agents: bool) -> Self {
        let wants = |name: &str| node.field(name).exists();
        Self {
            agent: may_identify_agents && wants("agent"),
            agent_org_unit: may_identify_agents && node.field("agent").field("orgUnit").exists(),
            org_unit: wants("orgUnit"),
            topic: wants("topic"),
            customer: wants("customer") || wants("customerKey"),
            survey_responses: wants("surveyResponses"),
        }
    }

    /// Reads the related rows of `rows` on the connection the page was read on. Blocking:
    /// call it inside the page's `db.run`.
    pub fn fetch(
        self,
        connection: &mut PgConnection,
        rows: &[Interaction],
        directory: Option<&DirectoryView>,
    ) -> QueryResult<RelatedRows> {
        let ids = |wanted: bool, pick: fn(&Interaction) -> Option<i64>| -> Vec<i64> {
            if !wanted {
                return Vec::new();
            }
            let mut ids: Vec<i64> = rows.iter().filter_map(pick).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut related = RelatedRows {
            feed_page_rows: self.survey_responses,
            ..RelatedRows::default()
        };
        let agent_ids = ids(self.agent, |row| row.agent_id);
        if !agent_ids.is_empty() {
            related.users = UserLoader::read(connection, agent_ids, directory)?;
        }
        let topic_ids = ids(self.topic, |row| row.topic_id);
        if !topic_ids.is_empty() {
            related.topics = TopicLoader::read(connection, topic_ids, directory)?;
        }
        let customer_ids = ids(self.customer, |row| row.customer_id);
        if !customer_ids.is_empty() {
            related.customers = CustomerLoader::fetch(connection, customer_ids)?;
        }
        let interaction_ids = ids(self.survey_responses, |row| Some(row.id));
        if !interaction_ids.is_empty() {
            related.responses = ResponsesByInteractionLoader::fetch(connection, interaction_ids)?;
        }
        let mut unit_ids = ids(self.org_unit, |row| Some(row.org_unit_id));
        if self.agent_org_unit {
            unit_ids.extend(related.users.iter().map(|agent| agent.org_unit_id));
            unit_ids.sort_unstable();
            unit_ids.dedup();
        }
        if !unit_ids.is_empty() {
            related.org_units = OrgUnitLoader::read(connection, unit_ids, directory)?;
        }
        Ok(related)
    }
}
