//! DataLoaders: nested fields load in one batched query per level instead of one per parent row.
//!
//! Loaders fetch by id without scope checks: they only ever resolve objects hanging off a parent
//! the caller was already allowed to see, and each field that exposes something sensitive
//! (an agent, a customer, a comment) asks the scope module itself.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
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

by_id_loader!(
    /// Org units by id.
    OrgUnitLoader, OrgUnit, org_units
);
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
        let mut grouped: HashMap<i64, Vec<SurveyResponse>> = HashMap::new();
        for row in rows {
            grouped.entry(row.interaction_id).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The loaders of one request (their caches live as long as the request).
pub struct Loaders {
    pub org_units: DataLoader<OrgUnitLoader>,
    pub topics: DataLoader<TopicLoader>,
    pub users: DataLoader<UserLoader>,
    pub customers: DataLoader<CustomerLoader>,
    pub interactions: DataLoader<InteractionLoader>,
    pub courses: DataLoader<CourseLoader>,
    pub responses_by_interaction: DataLoader<ResponsesByInteractionLoader>,
}

impl Loaders {
    pub fn new(database: &Database) -> Self {
        let database = || database.clone();
        Self {
            org_units: DataLoader::new(
                OrgUnitLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            topics: DataLoader::new(
                TopicLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            users: DataLoader::new(
                UserLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            customers: DataLoader::new(
                CustomerLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            interactions: DataLoader::new(
                InteractionLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            courses: DataLoader::new(
                CourseLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
            responses_by_interaction: DataLoader::new(
                ResponsesByInteractionLoader {
                    database: database(),
                },
                tokio::spawn,
            ),
        }
    }
}
