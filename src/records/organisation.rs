//! The organisation's writes — users, org units and topics — for every entry point: the GraphQL
//! mutations (`createUser`, `deactivateUser`, `createOrgUnit`, `createTopic`), the bulk
//! import's reference rows, and `bac-metrics user add`.
//!
//! This module owns, for each of them:
//! - **parsing** the inputs into domain values ([`UserDraft`], [`NewPassword`],
//!   [`OrgUnitDraft`], [`TopicDraft`]) with the rules of `domain::values`, naming the input at
//!   fault as the caller spells it (GraphQL `orgUnitCode`, file column `org_unit_code`, command
//!   line `--org-unit`), so one rule gives one message everywhere;
//! - **existence checks** of the org units a record names, inside the write's transaction;
//! - **the write**, safe under concurrency by construction: `INSERT … ON CONFLICT DO NOTHING
//!   RETURNING`, so a concurrent duplicate waits for the first to commit and then finds its key
//!   taken — a `CONFLICT`, never a unique violation surfacing as `INTERNAL`;
//! - **idempotency of imports**: a re-imported identical row is unchanged, a different one a
//!   conflict;
//! - **the audit event** of every record created or user deactivated, in the same transaction.
//!
//! Password hashing (argon2id, CPU-heavy) runs on the blocking pool, never on the executor.

use chrono::Utc;
use diesel::{pg::PgConnection, prelude::*};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::password,
    db::{
        enums::Role,
        models::{NewOrgUnit, NewTopic, NewUser, OrgUnit, Topic, User},
        schema::{org_units, sessions, topics, users},
        Database,
    },
    domain::{Code, Email, Name},
    error::{AppError, AppResult},
    records::RowOutcome,
};

/// How one entry point names a user's inputs, for its error messages.
#[derive(Debug, Clone, Copy)]
pub struct UserFields {
    pub email: &'static str,
    pub display_name: &'static str,
    pub org_unit_code: &'static str,
}

/// How one entry point names an org unit's inputs, for its error messages.
#[derive(Debug, Clone, Copy)]
pub struct OrgUnitFields {
    pub code: &'static str,
    pub name: &'static str,
    pub parent_code: &'static str,
}

/// How one entry point names a topic's inputs, for its error messages.
#[derive(Debug, Clone, Copy)]
pub struct TopicFields {
    pub code: &'static str,
    pub name: &'static str,
}

/// A user's inputs as an entry point received them, not yet checked.
#[derive(Debug, Clone, Copy)]
pub struct UserInput<'a> {
    pub email: &'a str,
    /// `None` means "not given": the part of the email before the `@` is used.
    pub display_name: Option<&'a str>,
    pub role: Role,
    pub org_unit_code: &'a str,
}

/// A user to create: every value parsed; the org unit is resolved in the write's transaction.
#[derive(Debug, Clone)]
pub struct UserDraft {
    email: Email,
    display_name: Name,
    role: Role,
    org_unit_code: Code,
    fields: UserFields,
}

impl UserDraft {
    /// Parses a user's inputs; errors name the input as `fields` spells it.
    pub fn parse(fields: UserFields, input: UserInput<'_>) -> AppResult<Self> {
        let email = Email::parse(fields.email, input.email)?;
        let display_name = match input.display_name {
            Some(display_name) => Name::parse(fields.display_name, display_name)?,
            None => Name::parse(fields.display_name, email.local_part())?,
        };
        Ok(Self {
            display_name,
            role: input.role,
            org_unit_code: Code::parse(fields.org_unit_code, input.org_unit_code)?,
            email,
            fields,
        })
    }
}

/// A password for a new account that meets the policy (`auth::password::check_policy`).
/// Deliberately not `Debug`: it is a secret until it is hashed.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `raw` against the password policy; errors name `field`.
    pub fn parse(field: &str, raw: String) -> AppResult<Self> {
        password::check_policy(field, &raw)?;
        Ok(Self(raw))
    }

    /// The argon2id hash, computed on the blocking pool so the executor never waits on it.
    async fn hash(self) -> AppResult<String> {
        password::hash_off_executor(self.0).await
    }
}

/// An org unit to create: every value parsed; the parent is resolved in the write's transaction.
#[derive(Debug, Clone)]
pub struct OrgUnitDraft {
    code: Code,
    name: Name,
    parent_code: Option<Code>,
    fields: OrgUnitFields,
}

impl OrgUnitDraft {
    /// Parses an org unit's inputs (no parent: a new root); errors name the input as `fields`
    /// spells it.
    pub fn parse(
        fields: OrgUnitFields,
        code: &str,
        name: &str,
        parent_code: Option<&str>,
    ) -> AppResult<Self> {
        Ok(Self {
            code: Code::parse(fields.code, code)?,
            name: Name::parse(fields.name, name)?,
            parent_code: parent_code
                .map(|parent| Code::parse(fields.parent_code, parent))
                .transpose()?,
            fields,
        })
    }
}

/// A topic to create, every value parsed.
#[derive(Debug, Clone)]
pub struct TopicDraft {
    code: Code,
    name: Name,
}

impl TopicDraft {
    /// Parses a topic's inputs; errors name the input as `fields` spells it.
    pub fn parse(fields: TopicFields, code: &str, name: &str) -> AppResult<Self> {
        Ok(Self {
            code: Code::parse(fields.code, code)?,
            name: Name::parse(fields.name, name)?,
        })
    }
}

/// What an insert found: the new record, or the one that already held its key.
enum Insertion<T> {
    Created(T),
    AlreadyThere(T),
}

impl<T> Insertion<T> {
    /// The one way a record of this module is created. `insert` is an `INSERT … ON CONFLICT DO
    /// NOTHING RETURNING`, so it yields nothing when the key is taken — also by a transaction
    /// that committed while this one waited on the key — instead of failing on the unique
    /// index; `existing` then reads the holder (a new statement, which sees that commit). A new
    /// record gets its audit event (`event`) in the caller's transaction; a taken key none.
    fn attempt(
        connection: &mut PgConnection,
        insert: impl FnOnce(&mut PgConnection) -> QueryResult<Option<T>>,
        existing: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
        event: impl FnOnce(&T) -> Entry,
    ) -> AppResult<Self> {
        match insert(connection)? {
            Some(record) => {
                audit::record(connection, event(&record))?;
                Ok(Insertion::Created(record))
            }
            None => Ok(Insertion::AlreadyThere(existing(connection)?)),
        }
    }

    /// For the single-record entry points: an existing key is a `CONFLICT`.
    fn created_or_conflict(self, conflict: impl FnOnce() -> String) -> AppResult<T> {
        match self {
            Insertion::Created(record) => Ok(record),
            Insertion::AlreadyThere(_) => Err(AppError::Conflict(conflict())),
        }
    }

    /// For imports: an existing key is an unchanged duplicate when `same` says its content is
    /// the row's, else a conflict (nothing is changed either way).
    fn row_outcome(
        self,
        id: impl Fn(&T) -> i64,
        same: impl FnOnce(&T) -> bool,
        conflict: impl FnOnce() -> String,
    ) -> RowOutcome {
        match self {
            Insertion::Created(record) => RowOutcome::Inserted(id(&record)),
            Insertion::AlreadyThere(existing) if same(&existing) => {
                RowOutcome::Unchanged(id(&existing))
            }
            Insertion::AlreadyThere(existing) => RowOutcome::Conflict {
                id: id(&existing),
                message: conflict(),
            },
        }
    }
}

/// Creates a user (`createUser`, `bac-metrics user add`): a staff member with a password, or a
/// service account without one. The email must be new: a taken one — also by a concurrent
/// request — is a `CONFLICT`. The caller has authorized `actor`.
pub async fn create_user(
    database: &Database,
    actor: Actor,
    request_id: Option<String>,
    draft: UserDraft,
    password: Option<NewPassword>,
) -> AppResult<User> {
    let password_hash = match password {
        Some(password) => Some(password.hash().await?),
        None => None,
    };
    database
        .transaction(move |connection| {
            let org_unit_id =
                org_unit_id(connection, draft.fields.org_unit_code, &draft.org_unit_code)?;
            insert_user(
                connection,
                &draft,
                org_unit_id,
                password_hash.as_deref(),
                actor,
                request_id,
            )?
            .created_or_conflict(|| format!("a user with email {} already exists", draft.email))
        })
        .await
}

/// Imports a user row, inside the import's transaction. Imported users have no password (an
/// administrator sets up sign-in separately); they exist so interactions can name their
/// agents. The same email with the same name, role and unit is unchanged; otherwise a conflict.
pub fn import_user(
    connection: &mut PgConnection,
    draft: &UserDraft,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<RowOutcome> {
    let org_unit_id = org_unit_id(connection, draft.fields.org_unit_code, &draft.org_unit_code)?;
    Ok(
        insert_user(connection, draft, org_unit_id, None, actor, request_id)?.row_outcome(
            |user| user.id,
            |user| {
                user.display_name == draft.display_name.as_str()
                    && user.role == draft.role
                    && user.org_unit_id == org_unit_id
            },
            || {
                format!(
                    "user {} already exists with a different name, role or org unit",
                    draft.email
                )
            },
        ),
    )
}

/// Inserts the user (in unit `org_unit_id`) with its audit event, unless the email is taken.
fn insert_user(
    connection: &mut PgConnection,
    draft: &UserDraft,
    org_unit_id: i64,
    password_hash: Option<&str>,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<Insertion<User>> {
    Insertion::attempt(
        connection,
        |connection| {
            diesel::insert_into(users::table)
                .values(NewUser {
                    email: draft.email.as_str(),
                    display_name: draft.display_name.as_str(),
                    role: draft.role,
                    org_unit_id,
                    password_hash,
                })
                .on_conflict(users::email)
                .do_nothing()
                .returning(User::as_returning())
                .get_result(connection)
                .optional()
        },
        |connection| {
            users::table
                .filter(users::email.eq(draft.email.as_str()))
                .select(User::as_select())
                .first(connection)
        },
        |user| {
            Entry::new(actor, "user.create", "user")
                .entity_id(user.id)
                .after(json!({
                    "email": user.email,
                    "display_name": user.display_name,
                    "role": user.role.as_db_str(),
                    "org_unit_id": user.org_unit_id,
                    "service_account": user.password_hash.is_none(),
                }))
                .request_id(request_id)
        },
    )
}

/// Deactivates a user: their sessions end and their tokens stop working at once. No one may
/// deactivate their own account (`id_field` names the input at fault). The user's row is locked
/// for the change, so concurrent deactivations are applied one after the other and each event's
/// `before` is true.
pub async fn deactivate_user(
    database: &Database,
    actor: Actor,
    request_id: Option<String>,
    id_field: &str,
    user_id: i64,
) -> AppResult<User> {
    if actor.user_id == Some(user_id) {
        return Err(AppError::bad_input(
            id_field,
            "you cannot deactivate your own account",
        ));
    }
    database
        .transaction(move |connection| {
            let before: User = users::table
                .find(user_id)
                .select(User::as_select())
                .for_update()
                .first(connection)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("no user {user_id}")))?;
            let user: User = diesel::update(users::table.find(user_id))
                .set(users::active.eq(false))
                .returning(User::as_returning())
                .get_result(connection)?;
            let ended = diesel::update(sessions::table)
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null())
                .set((
                    sessions::revoked_at.eq(Some(Utc::now())),
                    sessions::revoked_reason.eq("deactivated"),
                ))
                .execute(connection)?;
            audit::record(
                connection,
                Entry::new(actor, "user.deactivate", "user")
                    .entity_id(user_id)
                    .before(json!({ "active": before.active }))
                    .after(json!({ "active": false, "sessions_ended": ended }))
                    .request_id(request_id),
            )?;
            Ok(user)
        })
        .await
}

/// Links a user to the subject (`sub` claim) the external identity provider gives them, or
/// unlinks them (`subject` `None`), for `OIDC_USER_CLAIM=sub` (`bac-metrics user link`). A
/// subject already linked to another account is a `CONFLICT`. Audited with the user's id only:
/// the subject is the provider's identifier of a person.
pub async fn link_external_subject(
    database: &Database,
    actor: Actor,
    email: &str,
    subject: Option<String>,
) -> AppResult<User> {
    if let Some(subject) = &subject {
        if subject.is_empty() || subject.len() > 255 || subject.trim() != subject {
            return Err(AppError::bad_input(
                "--subject",
                "a subject is 1 to 255 characters without surrounding spaces",
            ));
        }
    }
    let email = email.trim().to_lowercase();
    database
        .transaction(move |connection| {
            let before: User = users::table
                .filter(users::email.eq(&email))
                .select(User::as_select())
                .for_update()
                .first(connection)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("no user with email {email}")))?;
            if let Some(subject) = &subject {
                let taken: i64 = users::table
                    .filter(users::external_subject.eq(subject))
                    .filter(users::id.ne(before.id))
                    .count()
                    .get_result(connection)?;
                if taken > 0 {
                    return Err(AppError::Conflict(
                        "that subject is already linked to another account".into(),
                    ));
                }
            }
            let user: User = diesel::update(users::table.find(before.id))
                .set(users::external_subject.eq(&subject))
                .returning(User::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(actor, "user.link_external_subject", "user")
                    .entity_id(before.id)
                    .before(json!({ "linked": before.external_subject.is_some() }))
                    .after(json!({ "linked": subject.is_some() })),
            )?;
            Ok(user)
        })
        .await
}

/// Creates an org unit (`createOrgUnit`) under its parent, or as a new root. The code must be
/// new: a taken one — also by a concurrent request — is a `CONFLICT`. The caller has authorized
/// `actor`.
pub async fn create_org_unit(
    database: &Database,
    actor: Actor,
    request_id: Option<String>,
    draft: OrgUnitDraft,
) -> AppResult<OrgUnit> {
    database
        .transaction(move |connection| {
            let parent_id = parent_id(connection, &draft)?;
            insert_org_unit(connection, &draft, parent_id, actor, request_id)?
                .created_or_conflict(|| format!("org unit `{}` already exists", draft.code))
        })
        .await
}

/// Imports an org-unit row, inside the import's transaction (its parent may be an earlier row
/// of the same file). The same code with the same name and parent is unchanged; otherwise a
/// conflict.
pub fn import_org_unit(
    connection: &mut PgConnection,
    draft: &OrgUnitDraft,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<RowOutcome> {
    let parent_id = parent_id(connection, draft)?;
    Ok(
        insert_org_unit(connection, draft, parent_id, actor, request_id)?.row_outcome(
            |unit| unit.id,
            |unit| unit.name == draft.name.as_str() && unit.parent_id == parent_id,
            || {
                format!(
                    "org unit `{}` already exists with a different name or parent",
                    draft.code
                )
            },
        ),
    )
}

/// Inserts the unit (under `parent_id`) with its audit event, unless the code is taken.
fn insert_org_unit(
    connection: &mut PgConnection,
    draft: &OrgUnitDraft,
    parent_id: Option<i64>,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<Insertion<OrgUnit>> {
    Insertion::attempt(
        connection,
        |connection| {
            diesel::insert_into(org_units::table)
                .values(NewOrgUnit {
                    code: draft.code.as_str(),
                    name: draft.name.as_str(),
                    parent_id,
                })
                .on_conflict(org_units::code)
                .do_nothing()
                .returning(OrgUnit::as_returning())
                .get_result(connection)
                .optional()
        },
        |connection| {
            org_units::table
                .filter(org_units::code.eq(draft.code.as_str()))
                .select(OrgUnit::as_select())
                .first(connection)
        },
        |unit| {
            Entry::new(actor, "org_unit.create", "org_unit")
                .entity_id(unit.id)
                .after(json!({ "code": unit.code, "name": unit.name, "parent_id": unit.parent_id }))
                .request_id(request_id)
        },
    )
}

/// Creates an inquiry topic (`createTopic`). The code must be new: a taken one — also by a
/// concurrent request — is a `CONFLICT`. The caller has authorized `actor`.
pub async fn create_topic(
    database: &Database,
    actor: Actor,
    request_id: Option<String>,
    draft: TopicDraft,
) -> AppResult<Topic> {
    database
        .transaction(move |connection| {
            insert_topic(connection, &draft, actor, request_id)?
                .created_or_conflict(|| format!("topic `{}` already exists", draft.code))
        })
        .await
}

/// Imports a topic row, inside the import's transaction. The same code with the same name is
/// unchanged; otherwise a conflict.
pub fn import_topic(
    connection: &mut PgConnection,
    draft: &TopicDraft,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<RowOutcome> {
    Ok(
        insert_topic(connection, draft, actor, request_id)?.row_outcome(
            |topic| topic.id,
            |topic| topic.name == draft.name.as_str(),
            || {
                format!(
                    "topic `{}` already exists with a different name",
                    draft.code
                )
            },
        ),
    )
}

/// Inserts the topic with its audit event, unless the code is taken.
fn insert_topic(
    connection: &mut PgConnection,
    draft: &TopicDraft,
    actor: Actor,
    request_id: Option<String>,
) -> AppResult<Insertion<Topic>> {
    Insertion::attempt(
        connection,
        |connection| {
            diesel::insert_into(topics::table)
                .values(NewTopic {
                    code: draft.code.as_str(),
                    name: draft.name.as_str(),
                })
                .on_conflict(topics::code)
                .do_nothing()
                .returning(Topic::as_returning())
                .get_result(connection)
                .optional()
        },
        |connection| {
            topics::table
                .filter(topics::code.eq(draft.code.as_str()))
                .select(Topic::as_select())
                .first(connection)
        },
        |topic| {
            Entry::new(actor, "topic.create", "topic")
                .entity_id(topic.id)
                .after(json!({ "code": topic.code, "name": topic.name }))
                .request_id(request_id)
        },
    )
}

/// The id of the org unit `code`; `field` names the input when there is none.
fn org_unit_id(connection: &mut PgConnection, field: &str, code: &Code) -> AppResult<i64> {
    find_org_unit(connection, code)?
        .ok_or_else(|| AppError::bad_input(field, format!("no org unit `{code}`")))
}

/// The id of a draft's parent unit, `None` for a root.
fn parent_id(connection: &mut PgConnection, draft: &OrgUnitDraft) -> AppResult<Option<i64>> {
    let Some(parent) = &draft.parent_code else {
        return Ok(None);
    };
    find_org_unit(connection, parent)?.map(Some).ok_or_else(|| {
        // In a file the parent may simply come later: say what order works.
        AppError::bad_input(
            draft.fields.parent_code,
            format!("no org unit `{parent}` (create a parent before the units under it)"),
        )
    })
}

fn find_org_unit(connection: &mut PgConnection, code: &Code) -> AppResult<Option<i64>> {
    Ok(org_units::table
        .filter(org_units::code.eq(code.as_str()))
        .select(org_units::id)
        .first(connection)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: UserFields = UserFields {
        email: "email",
        display_name: "displayName",
        org_unit_code: "orgUnitCode",
    };
    const FILE: UserFields = UserFields {
        email: "email",
        display_name: "display_name",
        org_unit_code: "org_unit_code",
    };

    fn field_of(error: AppError) -> String {
        match error {
            AppError::BadUserInput {
                field: Some(field), ..
            } => field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    fn input<'a>(email: &'a str, display_name: Option<&'a str>, unit: &'a str) -> UserInput<'a> {
        UserInput {
            email,
            display_name,
            role: Role::Agent,
            org_unit_code: unit,
        }
    }

    #[test]
    fn a_user_is_parsed_into_normalised_values() {
        let draft = UserDraft::parse(
            API,
            input(" Pat.Owner@Agency.GOV ", Some(" Pat "), "TEAM-A1"),
        )
        .unwrap();
        assert_eq!(draft.email.as_str(), "pat.owner@agency.gov");
        assert_eq!(draft.display_name.as_str(), "Pat");
        // Without a display name, the part of the email before the `@`.
        let draft = UserDraft::parse(API, input("Night.Shift@x.gov", None, "TEAM-A1")).unwrap();
        assert_eq!(draft.display_name.as_str(), "night.shift");
    }

    #[test]
    fn errors_name_the_input_as_each_entry_point_spells_it() {
        let long = "x".repeat(201);
        for (fields, raw, expected) in [
            (API, input("pat@agency", Some("Pat"), "TEAM-A1"), "email"),
            (FILE, input("pat@agency", Some("Pat"), "TEAM-A1"), "email"),
            (
                API,
                input("pat@x.gov", Some(&long), "TEAM-A1"),
                "displayName",
            ),
            (
                FILE,
                input("pat@x.gov", Some(&long), "TEAM-A1"),
                "display_name",
            ),
            (
                FILE,
                input("pat@x.gov", Some(""), "TEAM-A1"),
                "display_name",
            ),
            (
                API,
                input("pat@x.gov", Some("Pat"), "team a1"),
                "orgUnitCode",
            ),
            (
                FILE,
                input("pat@x.gov", Some("Pat"), "team a1"),
                "org_unit_code",
            ),
        ] {
            assert_eq!(
                field_of(UserDraft::parse(fields, raw).unwrap_err()),
                expected
            );
        }
        let fields = OrgUnitFields {
            code: "code",
            name: "name",
            parent_code: "parentCode",
        };
        assert_eq!(
            field_of(OrgUnitDraft::parse(fields, "TEAM", "Team", Some("bad code")).unwrap_err()),
            "parentCode"
        );
        assert_eq!(
            field_of(OrgUnitDraft::parse(fields, "TEAM", &long, None).unwrap_err()),
            "name"
        );
        let fields = TopicFields {
            code: "code",
            name: "name",
        };
        assert_eq!(
            field_of(TopicDraft::parse(fields, "lower", "Lower").unwrap_err()),
            "code"
        );
        assert_eq!(
            field_of(
                NewPassword::parse("--password-stdin", "short".into())
                    .err()
                    .unwrap()
            ),
            "--password-stdin"
        );
        assert!(NewPassword::parse("password", "long enough password".into()).is_ok());
    }
}
