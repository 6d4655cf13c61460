//! The organisation: org units, topics and users.

pub mod query;
pub mod types;

pub use query::OrganisationQuery;
pub use types::{OrgUnitType, TopicType, UserType};
