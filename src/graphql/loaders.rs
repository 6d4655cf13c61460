//! DataLoaders: nested fields load in one batched query per level instead of one per parent row.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use diesel::prelude::*;

use crate::db::{
    models::{OrgUnit, Topic},
    schema::{org_units, topics},
    Database,
};

/// The loaders of one request (their caches live as long as the request).
pub struct Loaders {
    pub org_units: DataLoader<OrgUnitLoader>,
    pub topics: DataLoader<TopicLoader>,
}

impl Loaders {
    pub fn new(database: &Database) -> Self {
        Self {
            org_units: DataLoader::new(
                OrgUnitLoader {
                    database: database.clone(),
                },
                tokio::spawn,
            ),
            topics: DataLoader::new(
                TopicLoader {
                    database: database.clone(),
                },
                tokio::spawn,
            ),
        }
    }
}

/// Org units by id.
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
                Ok(org_units::table
                    .filter(org_units::id.eq_any(keys))
                    .select(OrgUnit::as_select())
                    .load(connection)?)
            })
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Topics by id.
pub struct TopicLoader {
    database: Database,
}

impl Loader<i64> for TopicLoader {
    type Value = Topic;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Topic>, Self::Error> {
        let keys = keys.to_vec();
        let rows: Vec<Topic> = self
            .database
            .run(move |connection| {
                Ok(topics::table
                    .filter(topics::id.eq_any(keys))
                    .select(Topic::as_select())
                    .load(connection)?)
            })
            .await?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}
