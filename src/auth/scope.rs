//! The one place that decides what a caller may see and do (docs/roles.md is generated from
//! it). Deny by default.
//!
//! [`authenticate`] turns a bearer token into a [`Scope`]: the token's signature and claims are
//! verified, then its session and user are checked in the database, so logout and deactivation
//! take effect on the very next request; the same statement counts the request against the
//! session's budget. Resolvers never look at roles themselves: they ask
//! [`Scope::authorize`] for an [`Action`], and list queries filter by [`Principal::record_scope`].
//! The web front's session cookie becomes a [`Scope`] here too ([`authenticate_session_cookie`]).
//!
//! An access token of the external identity provider (`OIDC_ISSUER`; its header names a key id
//! or an asymmetric algorithm, which ours never do) is verified by [`crate::auth::oidc`] instead,
//! and names its user by email or subject. It has no session row: the user's row is read on
//! every request instead, so deactivation and role changes take effect on the next request
//! just the same, and the request budget is counted per user.

use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz};

use crate::{
    auth::{
        jwt::TokenRejection,
        oidc::{ExternalRejection, OidcVerifier},
        AuthService,
    },
    config::UserClaim,
    db::{
        enums::Role,
        prepared::{Param, ReusableQuery},
        schema::{caller_writes, session_cookies, sessions, users},
        Database, Workload,
    },
    error::{AppError, AppResult},
};

/// A verified, currently valid caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub org_unit_id: i64,
    pub session_id: Uuid,
    /// The primary's WAL position after this caller's latest write (0: none recorded). A
    /// replica serves the caller's reads only once it has replayed this far (read-your-writes;
    /// see `db::replicas`).
    pub write_floor: i64,
    /// The organisation directory's version when this request's session was checked (0:
    /// unknown): the request reads the directory cache only at this version (see
    /// `db::directory`).
    pub directory_version: i64,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No credentials were presented.
    Anonymous,
    /// Credentials were presented and refused; the reason is told to the caller.
    Refused(TokenRejection),
    /// A verified caller.
    Authenticated(Principal),
}

/// Everything a caller can ask to do. [`is_allowed`] is the role matrix (docs/roles.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Org units and topics: the vocabulary every signed-in caller needs.
    ReadReferenceData,
    /// `me`, `logout`.
    UseOwnSession,
    /// Push or import interactions, customers and survey data; create survey invitations.
    RecordInteractions,
    /// Interactions, survey invitations and responses (within [`Principal::record_scope`]).
    ReadInteractions,
    /// Customer contact details (within [`Principal::record_scope`]).
    ReadCustomerContacts,
    /// Free-text survey comments, which may hold PII.
    ReadSurveyComments,
    /// Which staff member handled a record (analysts get aggregates without agents).
    IdentifyAgents,
    /// Staff follow-up assessments (within [`Principal::record_scope`]).
    RecordFollowUp,
    /// The course catalogue.
    ReadTrainingCourses,
    /// Individual training assignments (within [`Principal::record_scope`]).
    ReadTrainingAssignments,
    AssignTraining,
    CompleteOwnTraining,
    ReadAllocations,
    ProposeAllocation,
    DecideAllocation,
    /// Published service standards.
    ReadServiceStandards,
    /// Staff accounts (within [`Principal::record_scope`]).
    ReadUsers,
    ReadMetrics,
    /// Per-agent training needs against their team (within [`Principal::record_scope`]).
    ReadTrainingNeeds,
    /// Before/after effect of a course on the agents who completed it.
    ReadTrainingImpact,
    /// Staffing plans (Erlang C) against approved allocations.
    PlanStaffing,
    /// The composite program scorecard.
    ReadScorecard,
    /// The quarterly oversight report (with the audit chain head).
    ReadOversightReport,
    ReadAuditTrail,
    /// Legal holds and what they preserve from retention.
    ReadLegalHolds,
    /// Place and lift legal holds.
    ManageLegalHolds,
    /// Users, org units, topics, courses, service standards.
    Administer,
}

impl Action {
    /// Every action, in the order the role matrix lists them.
    pub const ALL: [Action; 27] = [
        Action::ReadReferenceData,
        Action::UseOwnSession,
        Action::RecordInteractions,
        Action::ReadInteractions,
        Action::ReadCustomerContacts,
        Action::ReadSurveyComments,
        Action::IdentifyAgents,
        Action::RecordFollowUp,
        Action::ReadTrainingCourses,
        Action::ReadTrainingAssignments,
        Action::AssignTraining,
        Action::CompleteOwnTraining,
        Action::ReadAllocations,
        Action::ProposeAllocation,
        Action::DecideAllocation,
        Action::ReadServiceStandards,
        Action::ReadUsers,
        Action::ReadMetrics,
        Action::ReadTrainingNeeds,
        Action::ReadTrainingImpact,
        Action::PlanStaffing,
        Action::ReadScorecard,
        Action::ReadOversightReport,
        Action::ReadAuditTrail,
        Action::ReadLegalHolds,
        Action::ManageLegalHolds,
        Action::Administer,
    ];

    /// What the action covers, in the words of the role matrix (docs/roles.md), and its place
    /// in [`Action::ALL`] (a new action fails to compile here until it is listed).
    pub fn describe(self) -> (usize, &'static str) {
        use Action::*;
        match self {
            ReadReferenceData => (0, "Read org units and topics"),
            UseOwnSession => (1, "`me`, `logout`"),
            RecordInteractions => (
                2,
                "Record or import interactions, customers, survey invitations and responses",
            ),
            ReadInteractions => (
                3,
                "Read interactions, survey invitations and responses (in scope)",
            ),
            ReadCustomerContacts => (4, "Read customers' contact details (in scope)"),
            ReadSurveyComments => (5, "Read free-text survey comments"),
            IdentifyAgents => (
                6,
                "See which staff member handled a record; metrics by agent",
            ),
            RecordFollowUp => (7, "Record follow-up assessments (in scope)"),
            ReadTrainingCourses => (8, "Read the course catalogue"),
            ReadTrainingAssignments => (9, "Read training assignments (in scope)"),
            AssignTraining => (10, "Assign training (in scope)"),
            CompleteOwnTraining => (11, "Mark one's own training complete"),
            ReadAllocations => (12, "Read resource allocations (in scope)"),
            ProposeAllocation => (13, "Propose a resource allocation (in scope)"),
            DecideAllocation => (14, "Approve or reject a resource allocation"),
            ReadServiceStandards => (15, "Read service standards and their attainment"),
            ReadUsers => (16, "Read staff accounts (in scope)"),
            ReadMetrics => (17, "Run `metrics` and `/export/metrics.csv` (in scope)"),
            ReadTrainingNeeds => (18, "Per-agent training needs (in scope)"),
            ReadTrainingImpact => (19, "Before/after effect of a course"),
            PlanStaffing => (20, "Staffing plans (Erlang C)"),
            ReadScorecard => (21, "The program scorecard"),
            ReadOversightReport => (22, "The quarterly oversight report"),
            ReadAuditTrail => (23, "Read and verify the audit trail"),
            ReadLegalHolds => (24, "Read legal holds"),
            ManageLegalHolds => (25, "Place and lift legal holds"),
            Administer => (
                26,
                "Administer users, org units, topics, courses and service standards",
            ),
        }
    }
}

/// The role matrix as Markdown (docs/roles.md, printed by `bac-metrics reference roles`),
/// generated from [`is_allowed`], [`Principal::record_scope`] and [`Principal::metrics_access`]
/// so the document cannot drift from the rules.
pub fn role_matrix_markdown() -> String {
    let roles = Role::ALL;
    let mut out = String::from(
        "# Roles and what they may see\n\n\
         Generated by `bac-metrics reference roles` from `src/auth/scope.rs`, the one place that \
         decides access (a test fails when this file and the code disagree). Deny by default: an \
         action not marked here is refused with `FORBIDDEN`, and a record outside the caller's \
         scope is answered exactly like a record that does not exist (`NOT_FOUND`, or absent \
         from a list).\n\n\
         Without a token a caller may only `login`, `refreshSession`, answer a survey through its \
         one-time link (`submitSurveyResponse`, the page at `/s/{token}`), and reach `/healthz` \
         and `/readyz`.\n\n",
    );
    out.push_str("| action |");
    for role in roles {
        out.push_str(&format!(" `{}` |", role.as_db_str()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(roles.len()));
    out.push('\n');
    for action in Action::ALL {
        out.push_str(&format!("| {} |", action.describe().1));
        for role in roles {
            out.push_str(if is_allowed(*role, action) {
                " ✓ |"
            } else {
                " – |"
            });
        }
        out.push('\n');
    }
    out.push_str(
        "\n## Which records\n\n\
         \"In scope\" above means:\n\n\
         | role | records |\n|---|---|\n",
    );
    for role in roles {
        let principal = Principal::describing(*role);
        let records = match principal.record_scope() {
            RecordScope::All => "all",
            RecordScope::Subtree(_) => "those of their org unit and every unit below it",
            RecordScope::Own(_) => "those they handled themselves",
        };
        out.push_str(&format!("| `{}` | {records} |\n", role.as_db_str()));
    }
    out.push_str(
        "\n## Metrics\n\n\
         | role | computed over | small survey cells | by agent |\n|---|---|---|---|\n",
    );
    for role in roles {
        let principal = Principal::describing(*role);
        match principal.metrics_access(10) {
            Err(_) => out.push_str(&format!("| `{}` | – | – | – |\n", role.as_db_str())),
            Ok(access) => {
                let over = match access.records {
                    RecordScope::All => "all interactions",
                    RecordScope::Subtree(_) => "their org-unit subtree",
                    RecordScope::Own(_) => "their own interactions",
                };
                let small = if access.min_cell_size.is_some() {
                    "suppressed below `MIN_CELL_SIZE`"
                } else {
                    "shown"
                };
                let by_agent = if access.may_break_down_by_agent {
                    "yes"
                } else {
                    "no"
                };
                out.push_str(&format!(
                    "| `{}` | {over} | {small} | {by_agent} |\n",
                    role.as_db_str()
                ));
            }
        }
    }
    out
}

/// The role matrix: may `role` perform `action` at all? (Which records is [`RecordScope`].)
pub fn is_allowed(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ReadReferenceData | UseOwnSession => true,
        RecordInteractions => matches!(role, Ingest | Admin),
        ReadInteractions => matches!(role, Agent | Supervisor | Analyst | Auditor | Admin),
        ReadCustomerContacts => matches!(role, Agent | Supervisor | Admin),
        ReadSurveyComments => matches!(role, Agent | Supervisor | Auditor | Admin),
        IdentifyAgents => matches!(role, Agent | Supervisor | Auditor | Admin),
        RecordFollowUp => matches!(role, Agent | Supervisor | Admin),
        ReadTrainingCourses => matches!(role, Agent | Supervisor | Analyst | Auditor | Admin),
        ReadTrainingAssignments => matches!(role, Agent | Supervisor | Auditor | Admin),
        AssignTraining => matches!(role, Supervisor | Admin),
        CompleteOwnTraining => matches!(role, Agent | Admin),
        ReadAllocations => matches!(role, Supervisor | Analyst | Auditor | Admin),
        ProposeAllocation => matches!(role, Supervisor | Admin),
        DecideAllocation => matches!(role, Admin),
        ReadServiceStandards => matches!(role, Agent | Supervisor | Analyst | Auditor | Admin),
        ReadUsers => matches!(role, Agent | Supervisor | Auditor | Admin),
        ReadMetrics => matches!(role, Agent | Supervisor | Analyst | Auditor | Admin),
        ReadTrainingNeeds => matches!(role, Supervisor | Admin),
        ReadTrainingImpact => matches!(role, Supervisor | Auditor | Admin),
        PlanStaffing => matches!(role, Supervisor | Analyst | Admin),
        ReadScorecard => matches!(role, Supervisor | Analyst | Auditor | Admin),
        ReadOversightReport => matches!(role, Auditor | Admin),
        ReadAuditTrail => matches!(role, Auditor | Admin),
        ReadLegalHolds => matches!(role, Auditor | Admin),
        ManageLegalHolds => matches!(role, Admin),
        Administer => matches!(role, Admin),
    }
}

/// Which records of a scoped kind a principal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordScope {
    /// Everything.
    All,
    /// Records of this org unit and every unit below it.
    Subtree(i64),
    /// Records the user handled themselves.
    Own(i64),
}

impl Principal {
    /// A caller of `role` and nothing else, for describing what the role may do.
    fn describing(role: Role) -> Self {
        Self {
            user_id: 0,
            role,
            org_unit_id: 0,
            session_id: Uuid::nil(),
            write_floor: 0,
            directory_version: 0,
        }
    }

    /// Agents see their own records, supervisors their subtree, everyone else everything.
    pub fn record_scope(&self) -> RecordScope {
        match self.role {
            Role::Agent => RecordScope::Own(self.user_id),
            Role::Supervisor => RecordScope::Subtree(self.org_unit_id),
            Role::Ingest | Role::Analyst | Role::Auditor | Role::Admin => RecordScope::All,
        }
    }

    /// This principal, if their role may perform `action`; `FORBIDDEN` otherwise.
    pub fn authorize(&self, action: Action) -> AppResult<&Principal> {
        if is_allowed(self.role, action) {
            Ok(self)
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_db_str()
            )))
        }
    }

    /// The metrics this principal may see, or `FORBIDDEN` (see [`Scope::metrics_access`]). For
    /// domain code that already holds the authorized caller, such as the training-need check of
    /// an assignment.
    pub fn metrics_access(&self, min_cell_size: i64) -> AppResult<MetricsAccess> {
        self.authorize(Action::ReadMetrics)?;
        Ok(MetricsAccess {
            records: self.record_scope(),
            min_cell_size: (self.role == Role::Analyst).then_some(min_cell_size),
            may_break_down_by_agent: is_allowed(self.role, Action::IdentifyAgents),
        })
    }
}

/// What a caller may see of the metrics (the metrics table of docs/roles.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAccess {
    /// Whose interactions the metrics are computed over.
    pub records: RecordScope,
    /// Survey-based cells with a smaller denominator are suppressed (`analyst`).
    pub min_cell_size: Option<i64>,
    /// Whether the caller may group or filter by agent.
    pub may_break_down_by_agent: bool,
}

impl Scope {
    /// The metrics this caller may see, or `UNAUTHENTICATED`/`FORBIDDEN`. `min_cell_size` is the
    /// configured suppression threshold, applied to the roles that see aggregates only.
    pub fn metrics_access(&self, min_cell_size: i64) -> AppResult<MetricsAccess> {
        self.principal()?.metrics_access(min_cell_size)
    }

    /// The caller, or `UNAUTHENTICATED` saying why not.
    pub fn principal(&self) -> AppResult<&Principal> {
        match self {
            Scope::Authenticated(principal) => Ok(principal),
            Scope::Anonymous => Err(AppError::Unauthenticated(
                "authentication required: send `Authorization: Bearer <access token>`".into(),
            )),
            Scope::Refused(reason) => Err(AppError::Unauthenticated(reason.to_string())),
        }
    }

    /// The caller, if their role may perform `action`; `UNAUTHENTICATED` or `FORBIDDEN` otherwise.
    pub fn authorize(&self, action: Action) -> AppResult<&Principal> {
        self.principal()?.authorize(action)
    }
}

/// SQL filters that confine each table to a [`RecordScope`]. Every list and lookup query of a
/// scoped table applies one of these; `None` means "no restriction" (scope `All`).
pub mod visible {
    use diesel::{pg::Pg, prelude::*, sql_types::Bool};

    use super::RecordScope;
    use crate::db::schema::{
        customers, interactions, org_units, resource_allocations, survey_invitations,
        survey_responses, training_assignments, users,
    };

    type Filter<Table> = Option<Box<dyn BoxableExpression<Table, Pg, SqlType = Bool>>>;

    /// Ids of `root` and every unit below it.
    /// The query selecting the ids of a subtree.
    pub type SubtreeIds = diesel::dsl::Select<
        diesel::dsl::Filter<
            org_units::table,
            diesel::dsl::Contains<org_units::path, Vec<Option<i64>>>,
        >,
        org_units::id,
    >;

    pub fn subtree(root: i64) -> SubtreeIds {
        org_units::table
            .filter(org_units::path.contains(vec![Some(root)]))
            .select(org_units::id)
    }

    /// Whether a write aimed at `org_unit_id` falls inside `scope`: anywhere for `All`, within
    /// the subtree for `Subtree`, nowhere for an own-records scope (units are not "own").
    pub fn org_unit_in_scope(
        connection: &mut PgConnection,
        scope: RecordScope,
        org_unit_id: i64,
    ) -> QueryResult<bool> {
        match scope {
            RecordScope::All => Ok(true),
            RecordScope::Own(_) => Ok(false),
            RecordScope::Subtree(root) => {
                let inside: i64 = subtree(root)
                    .filter(org_units::id.eq(org_unit_id))
                    .count()
                    .get_result(connection)?;
                Ok(inside > 0)
            }
        }
    }

    /// The metrics engine's restriction of rows that carry `org_unit_id` and `agent_id` columns
    /// (rollup cells or interactions) to `scope`: SQL text using the bind parameter
    /// `$parameter`, and the id to bind to it. `None` means no restriction.
    pub fn metric_rows_sql(scope: RecordScope, parameter: usize) -> Option<(String, i64)> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some((format!("r.agent_id = ${parameter}"), user_id)),
            RecordScope::Subtree(root) => Some((
                format!(
                    "r.org_unit_id IN (SELECT id FROM org_units WHERE path @> ARRAY[${parameter}::bigint])"
                ),
                root,
            )),
        }
    }

    /// Agents: what they handled. Supervisors: what their subtree handled.
    pub fn interactions(scope: RecordScope) -> Filter<interactions::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(
                interactions::agent_id.eq(user_id).assume_not_null(),
            )),
            RecordScope::Subtree(root) => {
                Some(Box::new(interactions::org_unit_id.eq_any(subtree(root))))
            }
        }
    }

    /// Responses follow their interaction.
    pub fn survey_responses(scope: RecordScope) -> Filter<survey_responses::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(
                survey_responses::interaction_id.eq_any(
                    interactions::table
                        .filter(interactions::agent_id.eq(user_id))
                        .select(interactions::id),
                ),
            )),
            RecordScope::Subtree(root) => Some(Box::new(
                survey_responses::interaction_id.eq_any(
                    interactions::table
                        .filter(interactions::org_unit_id.eq_any(subtree(root)))
                        .select(interactions::id),
                ),
            )),
        }
    }

    /// Invitations follow their interaction.
    pub fn survey_invitations(scope: RecordScope) -> Filter<survey_invitations::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(
                survey_invitations::interaction_id.eq_any(
                    interactions::table
                        .filter(interactions::agent_id.eq(user_id))
                        .select(interactions::id),
                ),
            )),
            RecordScope::Subtree(root) => Some(Box::new(
                survey_invitations::interaction_id.eq_any(
                    interactions::table
                        .filter(interactions::org_unit_id.eq_any(subtree(root)))
                        .select(interactions::id),
                ),
            )),
        }
    }

    /// Customers the caller served (agent) or their subtree served (supervisor).
    pub fn customers(scope: RecordScope) -> Filter<customers::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(
                customers::id.eq_any(
                    interactions::table
                        .filter(interactions::agent_id.eq(user_id))
                        .filter(interactions::customer_id.is_not_null())
                        .select(interactions::customer_id.assume_not_null()),
                ),
            )),
            RecordScope::Subtree(root) => Some(Box::new(
                customers::id.eq_any(
                    interactions::table
                        .filter(interactions::org_unit_id.eq_any(subtree(root)))
                        .filter(interactions::customer_id.is_not_null())
                        .select(interactions::customer_id.assume_not_null()),
                ),
            )),
        }
    }

    /// Agents: themselves. Supervisors: users of their subtree.
    pub fn users(scope: RecordScope) -> Filter<users::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(users::id.eq(user_id))),
            RecordScope::Subtree(root) => Some(Box::new(users::org_unit_id.eq_any(subtree(root)))),
        }
    }

    /// Agents: their own assignments. Supervisors: assignments of agents in their subtree.
    pub fn training_assignments(scope: RecordScope) -> Filter<training_assignments::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => Some(Box::new(training_assignments::agent_id.eq(user_id))),
            RecordScope::Subtree(root) => Some(Box::new(
                training_assignments::agent_id.eq_any(
                    users::table
                        .filter(users::org_unit_id.eq_any(subtree(root)))
                        .select(users::id),
                ),
            )),
        }
    }

    /// Supervisors: allocations of their subtree; an own-records scope: what the user proposed.
    pub fn resource_allocations(scope: RecordScope) -> Filter<resource_allocations::table> {
        match scope {
            RecordScope::All => None,
            RecordScope::Own(user_id) => {
                Some(Box::new(resource_allocations::proposed_by.eq(user_id)))
            }
            RecordScope::Subtree(root) => Some(Box::new(
                resource_allocations::org_unit_id.eq_any(subtree(root)),
            )),
        }
    }
}

/// What the database says about a token's session and user, and the session's request count
/// in the current minute (counted by the same statement).
#[derive(QueryableByName)]
struct SessionCheck {
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<Role>,
    #[diesel(sql_type = Nullable<BigInt>)]
    org_unit_id: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    active: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Integer)]
    hits: i32,
    #[diesel(sql_type = Double)]
    resets_in: f64,
    #[diesel(sql_type = BigInt)]
    write_floor: i64,
    #[diesel(sql_type = BigInt)]
    directory_version: i64,
}

/// The window of the per-session request budget.
const SESSION_BUDGET_WINDOW_SECONDS: i64 = 60;

/// Turns an `Authorization` header value into a scope: verifies the JWT, then checks in the
/// database — in one statement on the authentication workload — that its session is open, its
/// user active and its role current, and counts the request against the session's budget
/// (`REQUESTS_PER_MINUTE_PER_SESSION`, across every server process).
///
/// A refused token is logged and counted ([`crate::auth::refusals`]), never written to the
/// audit chain one by one: an anonymous caller must not be able to grow it at will. A session
/// over its budget is `RATE_LIMITED` with the wait until the minute ends.
pub async fn authenticate(
    auth: &AuthService,
    database: &Database,
    authorization: Option<&str>,
    request_id: Option<&str>,
) -> AppResult<Scope> {
    let scope = verify_bearer(auth, database, authorization).await?;
    if let Scope::Refused(reason) = &scope {
        auth.refusals().token_refused(reason, request_id);
    }
    Ok(scope)
}

async fn verify_bearer(
    auth: &AuthService,
    database: &Database,
    authorization: Option<&str>,
) -> AppResult<Scope> {
    let Some(header) = authorization else {
        return Ok(Scope::Anonymous);
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
    else {
        return Ok(Scope::Refused(TokenRejection::Invalid));
    };
    if let Some(oidc) = auth.oidc() {
        if OidcVerifier::claims_token(token) {
            return verify_external(auth, oidc, database, token).await;
        }
    }
    let claims = match auth.keys().verify(token) {
        Ok(claims) => claims,
        Err(rejection) => return Ok(Scope::Refused(rejection)),
    };
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| AppError::internal("a verified token's subject is not a user id"))?;
    let session_id = claims.sid;
    let budget_sql = crate::admission::rate_limit::window_upsert_sql(3, 4);
    let directory_version = crate::db::directory::VERSION_SQL;
    let check: SessionCheck = database
        .for_workload(Workload::Authentication)
        .run(move |connection| {
            // Every request runs it: prepared once per connection (the text never changes).
            Ok(ReusableQuery::fixed(format!(
                "WITH budget AS ({budget_sql}) \
                 SELECT u.role, u.org_unit_id, u.active, s.revoked_at, s.expires_at, \
                        budget.hits, budget.resets_in, \
                        coalesce((SELECT w.lsn FROM caller_writes w WHERE w.user_id = $2), 0) \
                          AS write_floor, \
                        {directory_version} AS directory_version \
                   FROM budget \
                   LEFT JOIN (sessions s JOIN users u ON u.id = s.user_id AND u.id = $2) \
                     ON s.id = $1 AND s.kind IN ('login', 'minted')"
            ))
            .bind(Param::Uuid(session_id))
            .bind(Param::BigInt(user_id))
            .bind(Param::Text(format!("session:{session_id}")))
            .bind(Param::BigInt(SESSION_BUDGET_WINDOW_SECONDS))
            .get_result(connection)?)
        })
        .await?;
    let (Some(role), Some(org_unit_id), Some(active), Some(expires_at)) = (
        check.role,
        check.org_unit_id,
        check.active,
        check.expires_at,
    ) else {
        return Ok(Scope::Refused(TokenRejection::SessionEnded));
    };
    let scope = if !active {
        Scope::Refused(TokenRejection::Deactivated)
    } else if check.revoked_at.is_some() || expires_at <= chrono::Utc::now() {
        Scope::Refused(TokenRejection::SessionEnded)
    } else if role != claims.role {
        Scope::Refused(TokenRejection::Stale)
    } else {
        crate::admission::rate_limit::WindowCount {
            hits: check.hits,
            resets_in: check.resets_in,
        }
        .enforce(auth.requests_per_minute_per_session(), "session", || {
            format!(
                "this session has made more than {} requests this minute; slow down",
                auth.requests_per_minute_per_session()
            )
        })?;
        Scope::Authenticated(Principal {
            user_id,
            role,
            org_unit_id,
            session_id,
            write_floor: check.write_floor,
            directory_version: check.directory_version,
        })
    };
    Ok(scope)
}

/// What the database says about the user an identity provider's token names, and that user's
/// request count in the current minute.
#[derive(QueryableByName)]
struct ExternalUserCheck {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<Role>,
    #[diesel(sql_type = Nullable<BigInt>)]
    org_unit_id: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    active: Option<bool>,
    #[diesel(sql_type = Integer)]
    hits: i32,
    #[diesel(sql_type = Double)]
    resets_in: f64,
    /// See [`Principal::write_floor`].
    #[diesel(sql_type = BigInt)]
    write_floor: i64,
    /// See [`Principal::directory_version`].
    #[diesel(sql_type = BigInt)]
    directory_version: i64,
}

/// The identity provider's token: verified against the provider's keys, then its user looked
/// up by email (case-insensitively: emails are stored in lower case) or by linked subject, in
/// one statement that also counts the request against a per-identity budget. The role is the
/// `users` row's, never a claim of the token.
async fn verify_external(
    auth: &AuthService,
    oidc: &OidcVerifier,
    database: &Database,
    token: &str,
) -> AppResult<Scope> {
    let identity = match oidc.verify(token).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(rejection)) => return Ok(Scope::Refused(rejection)),
        Err(unavailable) => {
            tracing::warn!(problem = %unavailable, "an identity provider token could not be checked");
            return Err(AppError::unavailable(
                "the identity provider's signing keys cannot be fetched at the moment; try again shortly",
                oidc.settings().jwks_refetch_interval,
            ));
        }
    };
    let column = match identity.claim {
        UserClaim::Email => "email",
        UserClaim::Subject => "external_subject",
    };
    // The counter key is a digest: the rate-limit table holds no email addresses.
    let digest: [u8; 16] = {
        use sha2::{Digest, Sha256};
        let full = Sha256::digest(format!("{column}\n{}", identity.value).as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        digest
    };
    let budget_key = format!("external:{}", hex::encode(digest));
    let session_id = uuid::Builder::from_custom_bytes(digest).into_uuid();
    let budget_sql = crate::admission::rate_limit::window_upsert_sql(2, 3);
    let directory_version = crate::db::directory::VERSION_SQL;
    let value = identity.value.clone();
    let check: ExternalUserCheck = database
        .for_workload(Workload::Authentication)
        .run(move |connection| {
            // Two texts (by email, by subject), each prepared once per connection.
            Ok(ReusableQuery::fixed(format!(
                "WITH budget AS ({budget_sql}) \
                 SELECT u.id, u.role, u.org_unit_id, u.active, budget.hits, budget.resets_in, \
                        coalesce((SELECT w.lsn FROM caller_writes w WHERE w.user_id = u.id), 0) \
                          AS write_floor, \
                        {directory_version} AS directory_version \
                   FROM budget LEFT JOIN users u ON u.{column} = $1"
            ))
            .bind(Param::Text(value))
            .bind(Param::Text(budget_key))
            .bind(Param::BigInt(SESSION_BUDGET_WINDOW_SECONDS))
            .get_result(connection)?)
        })
        .await?;
    let (Some(user_id), Some(role), Some(org_unit_id), Some(active)) =
        (check.id, check.role, check.org_unit_id, check.active)
    else {
        return Ok(Scope::Refused(TokenRejection::External(
            ExternalRejection::NoMatchingUser,
        )));
    };
    if !active {
        return Ok(Scope::Refused(TokenRejection::Deactivated));
    }
    crate::admission::rate_limit::WindowCount {
        hits: check.hits,
        resets_in: check.resets_in,
    }
    .enforce(auth.requests_per_minute_per_session(), "session", || {
        format!(
            "this account has made more than {} requests this minute; slow down",
            auth.requests_per_minute_per_session()
        )
    })?;
    Ok(Scope::Authenticated(Principal {
        user_id,
        role,
        org_unit_id,
        // Names no `sessions` row: a stable id per identity (its budget key), so `logout`
        // finds nothing to end and says so.
        session_id,
        write_floor: check.write_floor,
        directory_version: check.directory_version,
    }))
}

/// What the database says about a web front session cookie.
#[derive(Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct CookieSessionCheck {
    #[diesel(select_expression = session_cookies::session_id)]
    session_id: Uuid,
    /// The role at sign-in: the cookie's counterpart of a token's role claim.
    #[diesel(select_expression = session_cookies::role)]
    signed_in_role: Role,
    #[diesel(select_expression = sessions::kind)]
    kind: String,
    #[diesel(select_expression = users::id)]
    user_id: i64,
    #[diesel(select_expression = users::role)]
    role: Role,
    #[diesel(select_expression = users::org_unit_id)]
    org_unit_id: i64,
    #[diesel(select_expression = users::active)]
    active: bool,
    #[diesel(select_expression = sessions::revoked_at)]
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(select_expression = sessions::expires_at)]
    expires_at: chrono::DateTime<chrono::Utc>,
    #[diesel(select_expression = caller_writes::lsn.nullable())]
    write_floor: Option<i64>,
}

/// Turns the web front's session cookie value into a scope, with the same checks as a bearer
/// token's session: open, not expired, user active, role unchanged since sign-in. A refused
/// cookie is logged and counted like a refused token (never written to the audit chain one by
/// one: anyone can send a cookie).
pub async fn authenticate_session_cookie(
    auth: &AuthService,
    database: &Database,
    cookie_token: &str,
    request_id: Option<String>,
) -> AppResult<Scope> {
    let token_hash = crate::auth::browser_session::hash_token(cookie_token);
    let row: Option<CookieSessionCheck> = database
        .for_workload(Workload::Authentication)
        .run(move |connection| {
            Ok(session_cookies::table
                .inner_join(
                    sessions::table.inner_join(users::table.left_join(caller_writes::table)),
                )
                .filter(session_cookies::token_hash.eq(token_hash))
                .select(CookieSessionCheck::as_select())
                .first(connection)
                .optional()?)
        })
        .await?;
    let scope = match row {
        None => Scope::Refused(TokenRejection::SessionEnded),
        Some(check) if !check.active => Scope::Refused(TokenRejection::Deactivated),
        Some(check)
            if check.kind != "browser"
                || check.revoked_at.is_some()
                || check.expires_at <= chrono::Utc::now() =>
        {
            Scope::Refused(TokenRejection::SessionEnded)
        }
        Some(check) if check.role != check.signed_in_role => Scope::Refused(TokenRejection::Stale),
        Some(check) => Scope::Authenticated(Principal {
            user_id: check.user_id,
            role: check.role,
            org_unit_id: check.org_unit_id,
            session_id: check.session_id,
            write_floor: check.write_floor.unwrap_or(0),
            // The web front's pages read no directory through the GraphQL loaders.
            directory_version: 0,
        }),
    };
    if let Scope::Refused(reason) = &scope {
        auth.refusals().token_refused(reason, request_id.as_deref());
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyst_never_sees_contacts_or_agents() {
        assert!(!is_allowed(Role::Analyst, Action::ReadCustomerContacts));
        assert!(!is_allowed(Role::Analyst, Action::ReadSurveyComments));
        assert!(!is_allowed(Role::Analyst, Action::IdentifyAgents));
        assert!(is_allowed(Role::Analyst, Action::ReadMetrics));
    }

    #[test]
    fn only_auditor_and_admin_read_the_audit_trail() {
        let readers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|role| is_allowed(*role, Action::ReadAuditTrail))
            .collect();
        assert_eq!(readers, vec![Role::Auditor, Role::Admin]);
    }

    #[test]
    fn only_admin_manages_legal_holds_and_oversight_reads_them() {
        let readers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|role| is_allowed(*role, Action::ReadLegalHolds))
            .collect();
        assert_eq!(readers, vec![Role::Auditor, Role::Admin]);
        let managers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|role| is_allowed(*role, Action::ManageLegalHolds))
            .collect();
        assert_eq!(managers, vec![Role::Admin]);
    }

    #[test]
    fn every_action_is_listed_once_in_its_place() {
        for (position, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action.describe().0, position, "{action:?}");
        }
    }

    #[test]
    fn the_role_matrix_document_is_generated_from_these_rules() {
        let checked_in = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/roles.md"));
        assert!(
            checked_in == role_matrix_markdown(),
            "docs/roles.md is out of date: run `cargo run -q -- reference roles > docs/roles.md`"
        );
    }

    #[test]
    fn anonymous_is_refused_everything() {
        let error = Scope::Anonymous
            .authorize(Action::ReadReferenceData)
            .unwrap_err();
        assert_eq!(error.code(), crate::error::ErrorCode::Unauthenticated);
    }
}
