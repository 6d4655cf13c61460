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
use diesel::prelude::*;

use crate::db::{
    models::{Customer, Interaction, OrgUnit, SurveyResponse, Topic, TrainingCourse, User},
    schema::{
        customers, interactions, org_units, survey_responses, topics, training_courses, users,
    },
    Database,
};

/// Declares a loader of rows by their `i64` primary key.
macro_rules! by_id_loader {
    ($(#[$meta:meta])* $loader:ident, $model:ty, $table:ident) => {
        $(#[$meta])*
        pub struct $loader {
            database: Database,
        }

        impl Loader<i64> for $loader {
            type Value = $model;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, $model>, Self::Error> {
                let keys = keys.to_vec();
                let rows: Vec<$model> = self
                    .database
                    .run(move |connection| {
                        Ok($table::table
                            .filter($table::id.eq_any(keys))
                            .select(<$model>::as_select())
                            .load(connection)?)
                    })
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
}

impl Loader<i64> for OrgUnitLoader {
    type Value = OrgUnit;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, OrgUnit>, Self::Error> {
        let keys = keys.to_vec();
        let rows: Vec<OrgUnit> = self
            .database
            .run(move |connection| {
                // One statement: the units asked for and every unit on their paths to the root.
                Ok(org_units::table
                    .filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "org_units.id IN (SELECT unnest(ancestor.path) FROM org_units ancestor WHERE ancestor.id = ANY(",
                        )
                        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(keys)
                        .sql("))"),
                    )
                    .select(OrgUnit::as_select())
                    .load(connection)?)
            })
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}
by_id_loader!(
    /// Topics by id.
    TopicLoader, Topic, topics
);
by_id_loader!(
    /// Users by id.
    UserLoader, User, users
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

impl Loader<i64> for ResponsesByInteractionLoader {
    type Value = Vec<SurveyResponse>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<SurveyResponse>>, Self::Error> {
        let keys_requested = keys.to_vec();
        let keys = keys.to_vec();
        let rows: Vec<SurveyResponse> = self
            .database
            .run(move |connection| {
                Ok(survey_responses::table
                    .filter(survey_responses::interaction_id.eq_any(keys))
                    .order((survey_responses::submitted_at, survey_responses::id))
                    .select(SurveyResponse::as_select())
                    .load(connection)?)
            })
            .await?;
        // Every key gets an entry, empty or not, so "no responses" is cached too.
        let mut grouped: HashMap<i64, Vec<SurveyResponse>> = keys_requested
            .iter()
            .map(|key| (*key, Vec::new()))
            .collect();
        for row in rows {
            grouped.entry(row.interaction_id).or_default().push(row);
        }
        Ok(grouped)
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
}

fn cached<T: Loader<i64>>(loader: T) -> CachedLoader<T> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

impl Loaders {
    pub fn new(database: &Database) -> Self {
        let database = || database.clone();
        Self {
            org_units: cached(OrgUnitLoader {
                database: database(),
            }),
            topics: cached(TopicLoader {
                database: database(),
            }),
            users: cached(UserLoader {
                database: database(),
            }),
            customers: cached(CustomerLoader {
                database: database(),
            }),
            interactions: cached(InteractionLoader {
                database: database(),
            }),
            courses: cached(CourseLoader {
                database: database(),
            }),
            responses_by_interaction: cached(ResponsesByInteractionLoader {
                database: database(),
            }),
        }
    }

    /// Loads everything a page of interactions will ask for, one batch per relation, before
    /// the fields resolve: the statement count of a page is then fixed by the selection, not
    /// by the page size or by when each row's fields happen to be polled.
    pub async fn prefetch_for_interactions(
        &self,
        rows: &[Interaction],
        node: Lookahead<'_>,
    ) -> Result<(), async_graphql::Error> {
        let wants = |name: &str| node.field(name).exists();
        // The page's own rows answer `surveyResponses { interaction }` without a query.
        self.interactions
            .feed_many(rows.iter().map(|row| (row.id, row.clone())))
            .await;
        let ids = |pick: fn(&Interaction) -> Option<i64>| -> Vec<i64> {
            rows.iter().filter_map(pick).collect()
        };
        let agent_ids = if wants("agent") {
            ids(|row| row.agent_id)
        } else {
            Vec::new()
        };
        let topic_ids = if wants("topic") {
            ids(|row| row.topic_id)
        } else {
            Vec::new()
        };
        let customer_ids = if wants("customer") || wants("customerKey") {
            ids(|row| row.customer_id)
        } else {
            Vec::new()
        };
        let interaction_ids = if wants("surveyResponses") {
            ids(|row| Some(row.id))
        } else {
            Vec::new()
        };
        let (agents, _, _, _) = futures_util::try_join!(
            load_if_any(&self.users, agent_ids),
            load_if_any(&self.topics, topic_ids),
            load_if_any(&self.customers, customer_ids),
            load_if_any(&self.responses_by_interaction, interaction_ids),
        )?;
        let mut unit_ids = if wants("orgUnit") {
            ids(|row| Some(row.org_unit_id))
        } else {
            Vec::new()
        };
        if node.field("agent").field("orgUnit").exists() {
            unit_ids.extend(agents.values().map(|agent| agent.org_unit_id));
        }
        load_if_any(&self.org_units, unit_ids).await?;
        Ok(())
    }
}

/// One batch for `keys` (deduplicated), or nothing at all when there are none.
async fn load_if_any<T: Loader<i64, Error = async_graphql::Error>>(
    loader: &CachedLoader<T>,
    mut keys: Vec<i64>,
) -> Result<HashMap<i64, T::Value>, async_graphql::Error> {
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    loader.load_many(keys).await
}
