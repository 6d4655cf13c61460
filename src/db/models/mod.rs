//! Diesel row types, one file per entity: `Entity` (a row read back), `NewEntity` (an insert),
//! and `EntityChangeset` where the entity can be updated.

pub mod allocation;
pub mod audit_event;
pub mod customer;
pub mod interaction;
pub mod legal_hold;
pub mod org_unit;
pub mod session;
pub mod standard;
pub mod survey;
pub mod topic;
pub mod training;
pub mod user;

pub use allocation::{NewResourceAllocation, ResourceAllocation, ResourceAllocationChangeset};
pub use audit_event::{AuditEvent, NewAuditEvent};
pub use customer::{Customer, NewCustomer};
pub use interaction::{Interaction, NewInteraction};
pub use legal_hold::{LegalHold, NewLegalHold};
pub use org_unit::{NewOrgUnit, OrgUnit};
pub use session::{NewRefreshToken, NewSession, RefreshToken, Session};
pub use standard::{NewServiceStandard, ServiceStandard};
pub use survey::{
    NewSurveyInvitation, NewSurveyResponse, ResponseFacts, SurveyInvitation, SurveyResponse,
};
pub use topic::{NewTopic, Topic};
pub use training::{NewTrainingAssignment, NewTrainingCourse, TrainingAssignment, TrainingCourse};
pub use user::{NewUser, User, UserChangeset};
