//! Persisted GraphQL documents: the allow-list of trusted documents an administrator registers
//! and the automatic persisted queries of Apollo's protocol, in one table
//! (`persisted_documents`) that every server process shares.
//!
//! This module owns, for the HTTP layer (`http/graphql.rs`) and the command line
//! (`bac-metrics documents …`):
//! - **the document hash** ([`DocumentHash`]): the SHA-256 of the exact text, in lowercase hex —
//!   what Apollo's persisted-queries link and its manifest generator send, and what Relay's
//!   compiler writes with `"algorithm": "SHA256"`;
//! - **reading documents to register** ([`read_file`]): `.graphql` files (the whole text is one
//!   document, whatever number of named operations it holds) and Apollo or Relay persisted-query
//!   manifests; every document is parsed, bounded by `MAX_BODY_BYTES` and checked against its
//!   id before anything is written;
//! - **resolving a request** ([`resolve`]): its text, its hash or both become the text to run,
//!   under `GRAPHQL_TRUSTED_DOCUMENTS` and the caller's role — before the document is priced,
//!   so nothing is refused or run on a document the server has not settled;
//! - **the writes**: trusted documents added and removed in one transaction with their audit
//!   events (the operator is the actor), and automatic registrations, which are a cache rather
//!   than a decision: never audited, made only by signed-in callers within an hourly budget per
//!   account, and capped in number (the oldest go first).

use std::{collections::HashSet, path::Path, time::Duration};

use async_graphql::parser::{
    parse_query,
    types::{ExecutableDocument, OperationType, Selection},
};
use chrono::{DateTime, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_types::{BigInt, Integer},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    admission::rate_limit,
    audit::{self, Actor, Entry},
    auth::{Principal, Scope},
    config::{Config, PersistedDocumentSettings, TrustedDocumentsMode},
    db::{enums::Role, schema::persisted_documents, Database},
    error::{AppError, AppResult},
};

/// The field a client names a persisted query's hash in.
pub const HASH_FIELD: &str = "extensions.persistedQuery.sha256Hash";

/// The SHA-256 of a document's exact text, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DocumentHash(String);

impl DocumentHash {
    /// The hash of `text` (its UTF-8 bytes, exactly as sent: no normalisation).
    pub fn of(text: &str) -> Self {
        Self(hex::encode(Sha256::digest(text.as_bytes())))
    }

    /// A hash as a client or a manifest spells it: 64 hex digits in either case, optionally
    /// prefixed `sha256:`. Errors name `field`.
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let digits = raw.trim();
        let digits = digits.strip_prefix("sha256:").unwrap_or(digits);
        if digits.len() != 64 || !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(AppError::bad_input(
                field,
                "must be a SHA-256 hash: 64 hexadecimal digits",
            ));
        }
        Ok(Self(digits.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DocumentHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The rules a request's document is resolved under, from configuration.
#[derive(Debug, Clone)]
pub struct DocumentRules {
    pub settings: PersistedDocumentSettings,
    /// Largest document stored (`MAX_BODY_BYTES`: no bigger one could be sent in full).
    pub max_bytes: usize,
    /// Development: introspection-only operations run in allow-list mode too (GraphiQL).
    pub introspection_exempt: bool,
}

impl DocumentRules {
    pub fn from_config(config: &Config) -> Self {
        Self {
            settings: config.persisted_documents.clone(),
            max_bytes: config.graphql.max_body_bytes,
            introspection_exempt: config.developer_tools_enabled(),
        }
    }

    fn allow_list(&self) -> bool {
        self.settings.trusted_documents == TrustedDocumentsMode::AllowList
    }
}

/// What a request carried: the document's text, the hash of a persisted one, or both.
#[derive(Debug, Clone, Default)]
pub struct DocumentRequest {
    pub text: Option<String>,
    pub hash: Option<DocumentHash>,
}

/// The document a request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDocument {
    pub text: String,
    /// True when the request named the document by hash alone (its `GET` may be cached).
    pub by_hash_alone: bool,
    /// An automatic persisted query to register under this hash once the document has been
    /// admitted ([`register_automatic`]).
    pub to_register: Option<DocumentHash>,
}

/// A stored document as a lookup sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = persisted_documents, check_for_backend(diesel::pg::Pg))]
struct StoredDocument {
    body: String,
    trusted: bool,
    roles: Option<Vec<Option<String>>>,
}

/// Settles which document a request runs, before it is priced:
///
/// - the hash alone: the stored document (in allow-list mode only a trusted one), else
///   `PERSISTED_QUERY_NOT_FOUND`, which makes Apollo's link resend the text with the hash;
/// - the text with its hash: the hash must be the text's (`BAD_USER_INPUT` otherwise); with
///   trusted documents off, a signed-in caller's document is then registered;
/// - the text alone: as sent.
///
/// In allow-list mode a document that is not trusted — or trusted for other roles — is
/// `PERSISTED_QUERY_NOT_ALLOWED`, except introspection in development.
pub async fn resolve(
    database: &Database,
    rules: &DocumentRules,
    scope: &Scope,
    request: DocumentRequest,
) -> AppResult<ResolvedDocument> {
    match (request.text, request.hash) {
        (None, None) => Err(AppError::invalid("`query` is required")),
        (None, Some(hash)) => {
            let stored = find(database, hash)
                .await?
                .filter(|stored| stored.trusted || !rules.allow_list())
                .ok_or(AppError::PersistedQueryNotFound)?;
            if rules.allow_list() {
                check_roles(&stored, scope)?;
            }
            Ok(ResolvedDocument {
                text: stored.body,
                by_hash_alone: true,
                to_register: None,
            })
        }
        (Some(text), hash) => {
            if let Some(hash) = &hash {
                if DocumentHash::of(&text) != *hash {
                    return Err(AppError::bad_input(
                        HASH_FIELD,
                        "is not the SHA-256 of `query` (the hash of its exact UTF-8 text, in hexadecimal)",
                    ));
                }
            }
            if rules.allow_list() {
                if !(rules.introspection_exempt && is_introspection_only(&text)) {
                    let hash = hash.unwrap_or_else(|| DocumentHash::of(&text));
                    let Some(stored) = find(database, hash.clone())
                        .await?
                        .filter(|stored| stored.trusted)
                    else {
                        // What a front-end sends that was never registered: the operator's cue
                        // to add it (or to find who is sending it).
                        tracing::info!(%hash, "refused a GraphQL document that is not on the allow-list");
                        return Err(AppError::PersistedQueryNotAllowed(
                            "this server runs only the GraphQL documents an administrator registered, and this one is not among them".into(),
                        ));
                    };
                    check_roles(&stored, scope)?;
                }
                return Ok(ResolvedDocument {
                    text,
                    by_hash_alone: false,
                    to_register: None,
                });
            }
            let registers = rules.settings.max_automatic > 0
                && text.len() <= rules.max_bytes
                && matches!(scope, Scope::Authenticated(_));
            Ok(ResolvedDocument {
                text,
                by_hash_alone: false,
                to_register: hash.filter(|_| registers),
            })
        }
    }
}

/// A trusted document limited to roles runs only for a signed-in caller of one of them.
fn check_roles(stored: &StoredDocument, scope: &Scope) -> AppResult<()> {
    let Some(roles) = &stored.roles else {
        return Ok(());
    };
    let principal = scope.principal()?;
    let allowed = roles
        .iter()
        .flatten()
        .any(|role| role.as_str() == principal.role.as_db_str());
    if allowed {
        Ok(())
    } else {
        Err(AppError::PersistedQueryNotAllowed(format!(
            "this GraphQL document is registered for other roles than {}",
            principal.role.as_db_str()
        )))
    }
}

async fn find(database: &Database, hash: DocumentHash) -> AppResult<Option<StoredDocument>> {
    database
        .run(move |connection| {
            Ok(persisted_documents::table
                .find(hash.0)
                .select(StoredDocument::as_select())
                .first(connection)
                .optional()?)
        })
        .await
}

/// True when every operation of `text` selects only introspection fields (`__schema`,
/// `__type`, `__typename`) at its root, as GraphiQL's schema query does.
fn is_introspection_only(text: &str) -> bool {
    let Ok(document) = parse_query(text) else {
        return false;
    };
    document.operations.iter().all(|(_, operation)| {
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .all(|selection| match &selection.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
            })
    })
}

/// What became of an automatic registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Registered,
    /// Another request stored it first.
    AlreadyStored,
    /// The account used up its hourly registrations; the document still ran.
    OverBudget,
}

/// Key of an account's registration counter in `rate_limit_counters`.
fn registration_counter(user_id: i64) -> String {
    format!("persisted-query-registrations:{user_id}")
}

/// Registers an automatic persisted query for a signed-in caller: counted against the
/// account's hourly budget, then inserted, dropping the oldest automatic registrations beyond
/// `GRAPHQL_PERSISTED_QUERIES_MAX_AUTOMATIC` in the same transaction. Trusted documents are
/// never touched.
pub async fn register_automatic(
    database: &Database,
    rules: &DocumentRules,
    principal: &Principal,
    hash: DocumentHash,
    text: String,
) -> AppResult<Registration> {
    let operation_names = parse_operations(&text)
        .map(|operations| operations.names)
        .unwrap_or_default();
    let user_id = principal.user_id;
    let per_hour = rules.settings.registrations_per_user_per_hour;
    let cap = i64::from(rules.settings.max_automatic);
    let logged_hash = hash.clone();
    let registration = database
        .transaction(move |connection| {
            let stored: bool = diesel::select(diesel::dsl::exists(
                persisted_documents::table.find(hash.as_str()),
            ))
            .get_result(connection)?;
            if stored {
                return Ok(Registration::AlreadyStored);
            }
            let counted = rate_limit::count(
                connection,
                &registration_counter(user_id),
                Duration::from_secs(3_600),
            )?;
            if i64::from(counted.hits) > i64::from(per_hour) {
                return Ok(Registration::OverBudget);
            }
            let inserted = diesel::insert_into(persisted_documents::table)
                .values((
                    persisted_documents::sha256.eq(hash.as_str()),
                    persisted_documents::body.eq(&text),
                    persisted_documents::operation_names
                        .eq(operation_names.into_iter().map(Some).collect::<Vec<_>>()),
                    persisted_documents::trusted.eq(false),
                    persisted_documents::registered_by.eq(Some(user_id)),
                ))
                .on_conflict_do_nothing()
                .execute(connection)?;
            if inserted == 0 {
                return Ok(Registration::AlreadyStored);
            }
            evict_oldest_automatic(connection, cap)?;
            Ok(Registration::Registered)
        })
        .await?;
    match registration {
        Registration::Registered => {
            tracing::info!(hash = %logged_hash, user_id, "registered an automatic persisted query")
        }
        Registration::OverBudget => tracing::warn!(
            hash = %logged_hash,
            user_id,
            "an account used up its automatic persisted query registrations for this hour; the query ran unregistered"
        ),
        Registration::AlreadyStored => {}
    }
    Ok(registration)
}

/// Keeps the newest `cap` automatic registrations.
fn evict_oldest_automatic(connection: &mut PgConnection, cap: i64) -> AppResult<usize> {
    #[derive(QueryableByName)]
    struct Evicted {
        #[diesel(sql_type = Integer)]
        evicted: i32,
    }
    let evicted: Evicted = diesel::sql_query(
        "WITH gone AS ( \
           DELETE FROM persisted_documents WHERE sha256 IN ( \
             SELECT sha256 FROM persisted_documents WHERE NOT trusted \
              ORDER BY registered_at DESC, sha256 DESC OFFSET $1) \
           RETURNING 1) \
         SELECT count(*)::int AS evicted FROM gone",
    )
    .bind::<BigInt, _>(cap)
    .get_result(connection)?;
    Ok(evicted.evicted as usize)
}

/// The operations of a document, as registration checks them.
struct Operations {
    /// Names of its named operations (empty for one anonymous operation).
    names: Vec<String>,
    /// `(name, kind)` of every operation, `kind` being `query` or `mutation`.
    kinds: Vec<(Option<String>, &'static str)>,
}

/// Parses a document to register: it must be executable, and have no subscription (the API
/// has none).
fn parse_operations(text: &str) -> Result<Operations, String> {
    let document: ExecutableDocument =
        parse_query(text).map_err(|error| format!("is not a GraphQL document: {error}"))?;
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    for (name, operation) in document.operations.iter() {
        let kind = match operation.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => {
                return Err("holds a subscription, and this API has none".into())
            }
        };
        if let Some(name) = name {
            names.push(name.to_string());
        }
        kinds.push((name.map(|name| name.to_string()), kind));
    }
    names.sort();
    Ok(Operations { names, kinds })
}

/// A document read from a file, checked and ready to register as trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDocumentDraft {
    pub hash: DocumentHash,
    pub text: String,
    pub operation_names: Vec<String>,
}

impl TrustedDocumentDraft {
    /// Checks one document: size, syntax, no subscription; when `id` is given (a manifest's),
    /// it must be the text's hash. Errors describe the document as `what`.
    fn parse(what: &str, text: String, id: Option<&str>, max_bytes: usize) -> Result<Self, String> {
        if text.len() > max_bytes {
            return Err(format!(
                "{what} is {} bytes, more than MAX_BODY_BYTES ({max_bytes}): a client could not send it",
                text.len()
            ));
        }
        let operations = parse_operations(&text).map_err(|problem| format!("{what} {problem}"))?;
        let hash = DocumentHash::of(&text);
        if let Some(id) = id {
            let matches = DocumentHash::parse("id", id).is_ok_and(|id| id == hash);
            if !matches {
                return Err(format!(
                    "{what}: its id `{}` is not the SHA-256 of its text ({hash}); generate the manifest with SHA-256 ids (the default of Apollo's generator; `\"algorithm\": \"SHA256\"` in Relay's persistConfig)",
                    crate::domain::text::quote(id)
                ));
            }
        }
        Ok(Self {
            hash,
            text,
            operation_names: operations.names,
        })
    }
}

/// An Apollo persisted-query manifest (`@apollo/generate-persisted-query-manifest`).
#[derive(Debug, Deserialize)]
struct ApolloManifest {
    format: String,
    operations: Vec<ApolloManifestOperation>,
}

#[derive(Debug, Deserialize)]
struct ApolloManifestOperation {
    id: String,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    body: String,
}

/// The `format` of an Apollo manifest.
const APOLLO_MANIFEST_FORMAT: &str = "apollo-persisted-query-manifest";

/// Reads the documents of one file: a `.graphql`/`.gql` file is one document (its exact text);
/// a `.json` file is an Apollo persisted-query manifest (`{"format":
/// "apollo-persisted-query-manifest", "operations": [{"id", "name", "type", "body"}]}`) or a
/// Relay map (`{"<sha256>": "<text>"}`). Errors name the file.
pub fn read_file(path: &Path, max_bytes: usize) -> AppResult<Vec<TrustedDocumentDraft>> {
    let field = path.display().to_string();
    let fail = |message: String| AppError::bad_input(field.clone(), message);
    let bytes = std::fs::read(path).map_err(|error| fail(format!("cannot be read: {error}")))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))?;
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let documents = match extension.as_deref() {
        Some("graphql") | Some("gql") => {
            vec![TrustedDocumentDraft::parse("the document", text, None, max_bytes).map_err(fail)?]
        }
        Some("json") => read_manifest(&text, max_bytes).map_err(fail)?,
        _ => {
            return Err(fail(
                "is neither a .graphql document nor a .json persisted-query manifest".into(),
            ))
        }
    };
    if documents.is_empty() {
        return Err(fail("holds no operations".into()));
    }
    Ok(documents)
}

fn read_manifest(text: &str, max_bytes: usize) -> Result<Vec<TrustedDocumentDraft>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("is not valid JSON: {error}"))?;
    let Value::Object(map) = value else {
        return Err("is not a persisted-query manifest: expected a JSON object".into());
    };
    if map.contains_key("format") {
        return read_apollo_manifest(map, max_bytes);
    }
    // Relay: `{ "<id>": "<text>" }`.
    let mut documents = Vec::with_capacity(map.len());
    for (id, body) in map {
        let what = format!("entry `{}`", crate::domain::text::quote(&id));
        let Value::String(body) = body else {
            return Err(format!(
                "{what} is not a string: expected an Apollo manifest (with `format`) or a Relay map of id to query text"
            ));
        };
        documents.push(TrustedDocumentDraft::parse(
            &what,
            body,
            Some(&id),
            max_bytes,
        )?);
    }
    Ok(documents)
}

fn read_apollo_manifest(
    map: Map<String, Value>,
    max_bytes: usize,
) -> Result<Vec<TrustedDocumentDraft>, String> {
    let manifest: ApolloManifest = serde_json::from_value(Value::Object(map))
        .map_err(|error| format!("is not an Apollo persisted-query manifest: {error}"))?;
    if manifest.format != APOLLO_MANIFEST_FORMAT {
        return Err(format!(
            "has format `{}`; only `{APOLLO_MANIFEST_FORMAT}` is understood",
            crate::domain::text::quote(&manifest.format)
        ));
    }
    manifest
        .operations
        .into_iter()
        .enumerate()
        .map(|(index, operation)| {
            let what = match &operation.name {
                Some(name) => format!("operation `{}`", crate::domain::text::quote(name)),
                None => format!("operation {}", index + 1),
            };
            let draft = TrustedDocumentDraft::parse(
                &what,
                operation.body.clone(),
                Some(&operation.id),
                max_bytes,
            )?;
            // The manifest's name and type must describe its body.
            let operations = parse_operations(&operation.body)?;
            if let Some(name) = &operation.name {
                let Some((_, kind)) = operations
                    .kinds
                    .iter()
                    .find(|(candidate, _)| candidate.as_deref() == Some(name.as_str()))
                else {
                    return Err(format!(
                        "{what}: its body defines no operation of that name"
                    ));
                };
                if let Some(declared) = &operation.kind {
                    if declared != kind {
                        return Err(format!(
                            "{what}: declared a {}, but its body defines a {kind}",
                            crate::domain::text::quote(declared)
                        ));
                    }
                }
            }
            Ok(draft)
        })
        .collect()
}

/// What `add_trusted` did with one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddOutcome {
    /// Newly trusted (new, or until now an automatic registration).
    Added,
    /// Already trusted; its roles were replaced.
    RolesChanged,
    /// Already trusted with the same roles: nothing written.
    Unchanged,
}

/// One document of an `add_trusted` report.
#[derive(Debug, Clone, Serialize)]
pub struct AddedDocument {
    pub hash: DocumentHash,
    pub operation_names: Vec<String>,
    pub outcome: AddOutcome,
}

fn roles_json(roles: &Option<Vec<String>>) -> Value {
    match roles {
        Some(roles) => json!(roles),
        None => Value::Null,
    }
}

/// Registers documents as trusted, limited to `roles` when given (otherwise any caller), in
/// one transaction: each newly trusted document, or one whose roles change, gets its audit
/// event; re-adding the same document with the same roles writes nothing, so a deployment
/// step can run on every release.
pub async fn add_trusted(
    database: &Database,
    actor: Actor,
    documents: Vec<TrustedDocumentDraft>,
    roles: Option<Vec<Role>>,
) -> AppResult<Vec<AddedDocument>> {
    let roles: Option<Vec<String>> = roles.map(|roles| {
        let mut roles: Vec<String> = roles
            .into_iter()
            .map(|role| role.as_db_str().to_owned())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    });
    database
        .transaction(move |connection| {
            let mut seen = HashSet::new();
            let mut report = Vec::new();
            for document in documents {
                if !seen.insert(document.hash.clone()) {
                    continue;
                }
                let outcome = trust_one(connection, &actor, &document, &roles)?;
                report.push(AddedDocument {
                    hash: document.hash,
                    operation_names: document.operation_names,
                    outcome,
                });
            }
            Ok(report)
        })
        .await
}

fn trust_one(
    connection: &mut PgConnection,
    actor: &Actor,
    document: &TrustedDocumentDraft,
    roles: &Option<Vec<String>>,
) -> AppResult<AddOutcome> {
    let stored_roles = roles
        .as_ref()
        .map(|roles| roles.iter().cloned().map(Some).collect::<Vec<_>>());
    let inserted = diesel::insert_into(persisted_documents::table)
        .values((
            persisted_documents::sha256.eq(document.hash.as_str()),
            persisted_documents::body.eq(&document.text),
            persisted_documents::operation_names.eq(document
                .operation_names
                .iter()
                .cloned()
                .map(Some)
                .collect::<Vec<_>>()),
            persisted_documents::trusted.eq(true),
            persisted_documents::roles.eq(&stored_roles),
        ))
        .on_conflict_do_nothing()
        .execute(connection)?;
    let entry = |action: &'static str| {
        Entry::new(actor.clone(), action, "persisted_document").entity_id(&document.hash)
    };
    let after = json!({
        "operationNames": document.operation_names,
        "roles": roles_json(roles),
    });
    if inserted == 1 {
        audit::record(connection, entry("persisted_document.add").after(after))?;
        return Ok(AddOutcome::Added);
    }
    let (trusted, current_roles): (bool, Option<Vec<Option<String>>>) = persisted_documents::table
        .find(document.hash.as_str())
        .select((persisted_documents::trusted, persisted_documents::roles))
        .for_update()
        .first(connection)?;
    let current_roles: Option<Vec<String>> =
        current_roles.map(|roles| roles.into_iter().flatten().collect());
    if trusted && current_roles == *roles {
        return Ok(AddOutcome::Unchanged);
    }
    diesel::update(persisted_documents::table.find(document.hash.as_str()))
        .set((
            persisted_documents::trusted.eq(true),
            persisted_documents::roles.eq(&stored_roles),
            persisted_documents::registered_by.eq(None::<i64>),
            persisted_documents::registered_at.eq(diesel::dsl::now),
        ))
        .execute(connection)?;
    if trusted {
        audit::record(
            connection,
            entry("persisted_document.update")
                .before(json!({ "roles": roles_json(&current_roles) }))
                .after(after),
        )?;
        Ok(AddOutcome::RolesChanged)
    } else {
        audit::record(
            connection,
            entry("persisted_document.add")
                .before(json!({ "automatic": true }))
                .after(after),
        )?;
        Ok(AddOutcome::Added)
    }
}

/// A stored document, as `documents list` and `documents remove` show it.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = persisted_documents, check_for_backend(diesel::pg::Pg))]
pub struct DocumentSummary {
    #[diesel(select_expression = persisted_documents::sha256)]
    pub hash: String,
    #[diesel(select_expression = persisted_documents::operation_names)]
    pub operation_names: Vec<Option<String>>,
    pub trusted: bool,
    /// `None`: any caller.
    pub roles: Option<Vec<Option<String>>>,
    pub registered_at: DateTime<Utc>,
}

/// Every stored document: the trusted ones first, then automatic registrations, newest first
/// within each.
pub async fn list(database: &Database) -> AppResult<Vec<DocumentSummary>> {
    database
        .run(|connection| {
            Ok(persisted_documents::table
                .select(DocumentSummary::as_select())
                .order((
                    persisted_documents::trusted.desc(),
                    persisted_documents::registered_at.desc(),
                    persisted_documents::sha256,
                ))
                .load(connection)?)
        })
        .await
}

/// Removes one stored document, trusted or automatic, with its audit event. An unknown hash
/// is `NOT_FOUND`.
pub async fn remove(
    database: &Database,
    actor: Actor,
    hash: DocumentHash,
) -> AppResult<DocumentSummary> {
    database
        .transaction(move |connection| {
            let removed: Option<DocumentSummary> =
                diesel::delete(persisted_documents::table.find(hash.as_str()))
                    .returning(DocumentSummary::as_returning())
                    .get_result(connection)
                    .optional()?;
            let removed = removed.ok_or_else(|| {
                AppError::NotFound(format!("no persisted document has the hash {hash}"))
            })?;
            audit::record(
                connection,
                Entry::new(actor, "persisted_document.remove", "persisted_document")
                    .entity_id(&hash)
                    .before(json!({
                        "operationNames": removed.operation_names,
                        "trusted": removed.trusted,
                        "roles": removed.roles,
                    })),
            )?;
            Ok(removed)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_the_sha256_of_the_exact_text() {
        // `echo -n '{ me { id } }' | sha256sum`
        assert_eq!(
            DocumentHash::of("{ me { id } }").as_str(),
            hex::encode(Sha256::digest(b"{ me { id } }"))
        );
        assert_ne!(
            DocumentHash::of("{ me { id } }"),
            DocumentHash::of("{me{id}}")
        );
        let upper = "sha256:".to_owned() + &"AB".repeat(32);
        assert_eq!(
            DocumentHash::parse("id", &upper).unwrap().as_str(),
            "ab".repeat(32)
        );
        assert!(DocumentHash::parse("id", "abc").is_err());
        assert!(DocumentHash::parse("id", &"g".repeat(64)).is_err());
    }

    #[test]
    fn only_root_introspection_is_introspection() {
        assert!(is_introspection_only(
            "query IntrospectionQuery { __schema { types { ...T } } } fragment T on __Type { name }"
        ));
        assert!(is_introspection_only("{ __typename }"));
        assert!(!is_introspection_only("{ __typename me { id } }"));
        assert!(!is_introspection_only(
            "{ ...F } fragment F on Query { __typename }"
        ));
        assert!(!is_introspection_only("not graphql"));
    }

    #[test]
    fn manifests_are_checked_against_their_ids() {
        let body = "query Me { me { id } }";
        let id = DocumentHash::of(body);
        let apollo = json!({
            "format": APOLLO_MANIFEST_FORMAT,
            "version": 1,
            "operations": [{ "id": id, "name": "Me", "type": "query", "body": body }],
        })
        .to_string();
        let documents = read_manifest(&apollo, 1_000).unwrap();
        assert_eq!(documents[0].hash, id);
        assert_eq!(documents[0].operation_names, vec!["Me".to_owned()]);

        let wrong_id = apollo.replace(id.as_str(), &"0".repeat(64));
        assert!(read_manifest(&wrong_id, 1_000)
            .unwrap_err()
            .contains("is not the SHA-256"));
        let wrong_type = apollo.replace("\"query\"", "\"mutation\"");
        assert!(read_manifest(&wrong_type, 1_000)
            .unwrap_err()
            .contains("declared a mutation"));
        assert!(read_manifest(&apollo, 10)
            .unwrap_err()
            .contains("MAX_BODY_BYTES"));

        let relay = json!({ id.as_str(): body }).to_string();
        assert_eq!(read_manifest(&relay, 1_000).unwrap()[0].hash, id);
        let relay_md5 = json!({ "9a0364b9e99bb480dd25e1f0284c8555": body }).to_string();
        assert!(read_manifest(&relay_md5, 1_000).is_err());
        assert!(read_manifest("[1]", 1_000).is_err());
        let subscription =
            json!({ DocumentHash::of("subscription { a }").as_str(): "subscription { a }" });
        assert!(read_manifest(&subscription.to_string(), 1_000)
            .unwrap_err()
            .contains("subscription"));
    }
}
