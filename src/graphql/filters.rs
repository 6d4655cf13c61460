//! GraphQL ids of list filters. Code resolution and reporting-zone date ranges are domain
//! rules (`records::lookup`), re-exported here for the resolvers.

use async_graphql::ID;

use crate::error::{AppError, AppResult};
pub use crate::records::lookup::{course_ids, local_date_range, org_unit_subtrees, topic_ids};

/// Parses GraphQL ids of numeric keys; `field` names the argument in the error.
pub fn parse_ids(field: &str, ids: &[ID]) -> AppResult<Vec<i64>> {
    ids.iter().map(|id| parse_id(field, id)).collect()
}

/// Parses one GraphQL id.
pub fn parse_id(field: &str, id: &ID) -> AppResult<i64> {
    id.parse::<i64>()
        .map_err(|_| AppError::bad_input(field, format!("`{}` is not an id", id.as_str())))
}
