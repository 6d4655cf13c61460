//! The organisation: org units, topics and users.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::OrganisationMutation;
pub use query::OrganisationQuery;
pub use types::{OrgUnitType, TopicType, UserType};
