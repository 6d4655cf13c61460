//! Recording interactions, one at a time (`recordInteraction`) or in batches (imports, the
//! seed), with the same rules and the same idempotency: `(source, external_id)` identifies an
//! interaction; sending it again with the same content returns the original, with different
//! content it is a conflict.
//!
//! An [`InteractionSubmission`] can only be built from parsed domain values by
//! [`InteractionSubmission::new`], which checks how the fields fit together (an abandoned call
//! has no agent, outcome or handling time; only queued channels wait or are abandoned;
//! self-service has no agent), so every entry point gets the same rules.
//!
//! Customers: a batch first makes sure every customer it names exists (by reference, without
//! details), then inserts the interactions, and only then applies the contact details carried
//! by the rows that were **actually inserted** — a retry, a duplicate or a conflicting row never
//! changes a customer. Every change of an existing customer's details is audited, naming the
//! fields that changed (never their values).

use std::collections::{HashMap, HashSet};

use chrono::SubsecRound;
use diesel::{pg::PgConnection, prelude::*};
use serde_json::{json, Value};

use crate::{
    audit::{self, Actor, Entry},
    db::{
        enums::{Channel, Outcome, Role},
        models::{Interaction, NewInteraction},
        schema::{interactions, org_units, topics, users},
    },
    domain::{Code, CustomerRef, Email, EventTime, ExternalKey, Name, Phone, Seconds},
    error::{AppError, AppResult},
    records::{FieldNames, RowOutcome},
};

/// Most transfers one interaction records.
pub const MAX_TRANSFERS: i64 = 100;

/// The customer as a sending system describes it: its reference and whatever contact details
/// came with this contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerDetails {
    pub reference: CustomerRef,
    pub business_name: Option<Name>,
    pub contact_name: Option<Name>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
}

impl CustomerDetails {
    fn has_details(&self) -> bool {
        self.business_name.is_some()
            || self.contact_name.is_some()
            || self.email.is_some()
            || self.phone.is_some()
    }
}

/// The fields of an interaction, each a parsed domain value, before they are checked against
/// each other by [`InteractionSubmission::new`].
#[derive(Debug, Clone)]
pub struct InteractionFields {
    pub key: ExternalKey,
    pub channel: Channel,
    pub org_unit: Code,
    pub agent: Option<Email>,
    pub customer: Option<CustomerDetails>,
    pub topic: Option<Code>,
    pub started_at: EventTime,
    pub wait: Option<Seconds>,
    pub handle: Option<Seconds>,
    pub transfers: i32,
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
}

/// An interaction whose fields hold together: the only kind the write functions accept.
#[derive(Debug, Clone)]
pub struct InteractionSubmission(InteractionFields);

impl InteractionSubmission {
    /// Checks the rules between the fields; `names` spells the fields as the entry point does.
    pub fn new(fields: InteractionFields, names: FieldNames) -> AppResult<Self> {
        let name = |api, file| names.pick(api, file);
        if !(0..=MAX_TRANSFERS).contains(&i64::from(fields.transfers)) {
            return Err(AppError::bad_input(
                name("transfers", "transfers"),
                format!("must be a whole number from 0 to {MAX_TRANSFERS}"),
            ));
        }
        if !fields.channel.is_queued() {
            if fields.abandoned {
                return Err(AppError::bad_input(
                    name("abandoned", "abandoned"),
                    "only queued channels (PHONE, CHAT) can be abandoned",
                ));
            }
            if fields.wait.is_some() {
                return Err(AppError::bad_input(
                    name("waitSeconds", "wait_seconds"),
                    "only queued channels (PHONE, CHAT) have a wait",
                ));
            }
        }
        if !fields.channel.is_assisted() && fields.agent.is_some() {
            return Err(AppError::bad_input(
                name("agentEmail", "agent_email"),
                "self-service interactions (WEB_SELF_SERVICE, IVR, SMS) have no agent",
            ));
        }
        if fields.abandoned {
            // Nobody answered: no agent, nothing handled, no outcome.
            for (present, api, file) in [
                (fields.agent.is_some(), "agentEmail", "agent_email"),
                (fields.handle.is_some(), "handleSeconds", "handle_seconds"),
                (fields.outcome.is_some(), "outcome", "outcome"),
                (fields.transfers > 0, "transfers", "transfers"),
            ] {
                if present {
                    return Err(AppError::bad_input(
                        name(api, file),
                        "an abandoned contact was never answered: leave it empty",
                    ));
                }
            }
        }
        Ok(Self(fields))
    }

    /// The fields.
    pub fn fields(&self) -> &InteractionFields {
        &self.0
    }
}

/// Who is writing, for the audit trail.
#[derive(Debug, Clone)]
pub struct Author {
    pub actor: Actor,
    pub request_id: Option<String>,
}

/// Codes and emails of one batch, resolved to ids with one query per kind.
#[derive(Debug, Default)]
struct References {
    org_units: HashMap<String, i64>,
    topics: HashMap<String, i64>,
    /// Active agents and supervisors by email.
    agents: HashMap<String, i64>,
}

impl References {
    fn load(connection: &mut PgConnection, rows: &[&InteractionSubmission]) -> AppResult<Self> {
        let unit_codes: HashSet<&str> = rows.iter().map(|row| row.0.org_unit.as_str()).collect();
        let topic_codes: HashSet<&str> = rows
            .iter()
            .filter_map(|row| row.0.topic.as_ref().map(Code::as_str))
            .collect();
        let emails: HashSet<&str> = rows
            .iter()
            .filter_map(|row| row.0.agent.as_ref().map(Email::as_str))
            .collect();
        Ok(Self {
            org_units: org_units::table
                .filter(org_units::code.eq_any(unit_codes))
                .select((org_units::code, org_units::id))
                .load::<(String, i64)>(connection)?
                .into_iter()
                .collect(),
            topics: topics::table
                .filter(topics::code.eq_any(topic_codes))
                .select((topics::code, topics::id))
                .load::<(String, i64)>(connection)?
                .into_iter()
                .collect(),
            agents: users::table
                .filter(users::email.eq_any(emails))
                .filter(users::active.eq(true))
                .filter(users::role.eq_any([Role::Agent, Role::Supervisor]))
                .select((users::email, users::id))
                .load::<(String, i64)>(connection)?
                .into_iter()
                .collect(),
        })
    }

    /// Resolves one submission into a row to insert (without its customer id yet).
    fn resolve(&self, row: &InteractionSubmission, names: FieldNames) -> AppResult<NewInteraction> {
        let fields = &row.0;
        let org_unit_id = *self
            .org_units
            .get(fields.org_unit.as_str())
            .ok_or_else(|| {
                AppError::bad_input(
                    names.pick("orgUnitCode", "org_unit_code"),
                    format!("no org unit `{}`", fields.org_unit),
                )
            })?;
        let topic_id = fields
            .topic
            .as_ref()
            .map(|code| {
                self.topics.get(code.as_str()).copied().ok_or_else(|| {
                    AppError::bad_input(
                        names.pick("topicCode", "topic_code"),
                        format!("no topic `{code}`"),
                    )
                })
            })
            .transpose()?;
        let agent_id = fields
            .agent
            .as_ref()
            .map(|email| {
                self.agents.get(email.as_str()).copied().ok_or_else(|| {
                    AppError::bad_input(
                        names.pick("agentEmail", "agent_email"),
                        format!("no active agent or supervisor `{email}`"),
                    )
                })
            })
            .transpose()?;
        Ok(NewInteraction {
            source: fields.key.source().to_owned(),
            external_id: fields.key.external_id().to_owned(),
            channel: fields.channel,
            org_unit_id,
            agent_id,
            customer_id: None,
            topic_id,
            // PostgreSQL keeps microseconds; compare retries at that precision.
            started_at: fields.started_at.get().trunc_subsecs(6),
            wait_seconds: fields.wait.map(Seconds::get),
            handle_seconds: fields.handle.map(Seconds::get),
            transfers: fields.transfers,
            abandoned: fields.abandoned,
            outcome: fields.outcome,
        })
    }
}

/// Customers a writer has seen, so that a reference it meets again costs no database work (most
/// of an import's rows name a customer seen before), and details it applied are not applied
/// again. Entries written in the open transaction are staged, and only kept once it commits: a
/// rolled back customer must never be taken for an existing one. Bounded: it starts over when
/// full.
#[derive(Debug, Default)]
pub struct CustomerCache {
    /// Reference → (id, fingerprint of the contact details last applied, if any).
    committed: HashMap<String, (i64, Option<u64>)>,
    staged: Vec<(String, i64, Option<u64>)>,
}

/// Most references a [`CustomerCache`] holds (about 20 MB).
const CUSTOMER_CACHE_CAPACITY: usize = 200_000;

impl CustomerCache {
    /// The id of `reference`, if this writer has seen it (in the open transaction or one that
    /// committed).
    fn id(&self, reference: &str) -> Option<i64> {
        self.staged
            .iter()
            .rev()
            .find(|(staged, _, _)| staged == reference)
            .map(|(_, id, _)| *id)
            .or_else(|| self.committed.get(reference).map(|(id, _)| *id))
    }

    /// Whether the details with this fingerprint were the last applied to `reference`.
    fn applied(&self, reference: &str, fingerprint: u64) -> bool {
        self.staged
            .iter()
            .rev()
            .find(|(staged, _, _)| staged == reference)
            .map(|(_, _, applied)| *applied)
            .or_else(|| self.committed.get(reference).map(|(_, applied)| *applied))
            .flatten()
            == Some(fingerprint)
    }

    fn stage(&mut self, reference: String, id: i64, fingerprint: Option<u64>) {
        self.staged.push((reference, id, fingerprint));
    }

    /// Details staged for `reference` in the open transaction were taken off again.
    fn forget_details(&mut self, reference: &str) {
        for (staged, _, applied) in &mut self.staged {
            if staged == reference {
                *applied = None;
            }
        }
    }

    /// The open transaction committed: keep what it wrote.
    pub fn commit(&mut self) {
        if self.committed.len() + self.staged.len() > CUSTOMER_CACHE_CAPACITY {
            self.committed.clear();
        }
        for (reference, id, fingerprint) in self.staged.drain(..) {
            let entry = self.committed.entry(reference).or_insert((id, None));
            entry.0 = id;
            if fingerprint.is_some() {
                entry.1 = fingerprint;
            }
        }
    }

    /// The open transaction rolled back: forget what it wrote.
    pub fn discard(&mut self) {
        self.staged.clear();
    }
}

/// A stable digest of a customer's merged contact details.
fn fingerprint(details: &MergedDetails) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        &details.business_name,
        &details.contact_name,
        &details.email,
        &details.phone,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// What a batch did to customers, for its audit event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerChanges {
    /// Customers this batch created.
    pub created: Vec<i64>,
    /// Existing customers whose contact details changed, with the fields that changed.
    pub changed: Vec<(i64, Vec<&'static str>)>,
}

impl CustomerChanges {
    /// Writes one `customer.details` audit event naming the changed fields (no values), when
    /// anything changed.
    fn audit(&self, connection: &mut PgConnection, author: &Author) -> AppResult<()> {
        if self.created.is_empty() && self.changed.is_empty() {
            return Ok(());
        }
        let changed: Vec<Value> = self
            .changed
            .iter()
            .map(|(id, fields)| json!({ "customer_id": id, "fields": fields }))
            .collect();
        audit::record(
            connection,
            Entry::new(author.actor.clone(), "customer.details", "customer")
                .after(json!({ "created": self.created.len(), "changed": changed }))
                .request_id(author.request_id.clone()),
        )?;
        Ok(())
    }
}

/// Records a batch inside the caller's transaction, and audits what it did to customers. Returns
/// one outcome per row, in order: inserted, an unchanged duplicate, a conflict, or rejected (a
/// reference that does not resolve). With a `cache`, customers it knows cost no database work;
/// the caller commits or discards the cache with the transaction.
pub fn record_batch(
    connection: &mut PgConnection,
    rows: &[InteractionSubmission],
    names: FieldNames,
    author: &Author,
    cache: Option<&mut CustomerCache>,
) -> AppResult<Vec<RowOutcome>> {
    let mut scratch = CustomerCache::default();
    let cache = cache.unwrap_or(&mut scratch);
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let references = References::load(connection, &rows.iter().collect::<Vec<_>>())?;
    let mut resolved: Vec<(usize, NewInteraction, Option<&CustomerDetails>)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match references.resolve(row, names) {
            Ok(new) => resolved.push((index, new, row.0.customer.as_ref())),
            Err(error) => outcomes[index] = Some(RowOutcome::Rejected(error)),
        }
    }

    // Large batches look their keys up first: keys already recorded are compared, and the first
    // row of every other key is expected to create its interaction (a later row with the same
    // key is compared with it). Small batches (a single API write) skip the extra round trip.
    let prechecked = resolved.len() >= PRECHECKED_BATCH;
    let mut existing: HashMap<(String, String), Interaction> = if prechecked {
        load_by_keys(
            connection,
            &resolved.iter().map(|(_, new, _)| new).collect::<Vec<_>>(),
        )?
    } else {
        HashMap::new()
    };
    let creates: Vec<bool> = if prechecked {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        resolved
            .iter()
            .map(|(_, new, _)| {
                !existing.contains_key(&(new.source.clone(), new.external_id.clone()))
                    && seen.insert((new.source.as_str(), new.external_id.as_str()))
            })
            .collect()
    } else {
        vec![false; resolved.len()]
    };

    // Customers: every reference gets an id. A new customer is created with the details of
    // the rows expected to create their interaction (the same details a later update would
    // apply, without writing the customer twice); other new customers get none.
    let wanted: Vec<&str> = resolved
        .iter()
        .filter_map(|(_, _, customer)| customer.map(|customer| customer.reference.as_str()))
        .collect();
    let seeds: Vec<&CustomerDetails> = resolved
        .iter()
        .zip(&creates)
        .filter(|(_, creates)| **creates)
        .filter_map(|((_, _, customer), _)| customer.filter(|customer| customer.has_details()))
        .collect();
    let (customer_ids, created, seeded) = ensure_customers(connection, &wanted, &seeds, cache)?;
    for (_, new, customer) in resolved.iter_mut() {
        new.customer_id = customer.map(|customer| customer_ids[customer.reference.as_str()]);
    }

    // Interactions: the expected ones are inserted.
    let inserted: HashMap<(String, String), i64> = if resolved.is_empty() {
        HashMap::new()
    } else if !prechecked {
        let mut new_rows: Vec<&NewInteraction> = resolved.iter().map(|(_, new, _)| new).collect();
        // One lock order for every writer: concurrent import batches cannot deadlock.
        new_rows.sort_by(|a, b| (&a.source, &a.external_id).cmp(&(&b.source, &b.external_id)));
        insert_new(connection, &new_rows, Insert::SkipExisting)?
    } else {
        let mut new_rows: Vec<&NewInteraction> = resolved
            .iter()
            .zip(&creates)
            .filter(|(_, creates)| **creates)
            .map(|((_, new, _), _)| new)
            .collect();
        new_rows.sort_by(|a, b| (&a.source, &a.external_id).cmp(&(&b.source, &b.external_id)));
        if new_rows.is_empty() {
            HashMap::new()
        } else {
            // A plain insert skips the speculative insertion that `ON CONFLICT` costs on every
            // row. Only a key another writer committed since the lookup above can still
            // collide: then the insert starts over skipping the keys that exist, and the
            // customers created with details meanwhile lose them (nobody else has seen them),
            // to get the details of the rows that did insert below, as without the lookup.
            match connection
                .transaction(|connection| insert_new(connection, &new_rows, Insert::AllNew))
            {
                Err(AppError::Database(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ))) => {
                    forget_seeded_details(connection, &seeded, cache)?;
                    insert_new(connection, &new_rows, Insert::SkipExisting)?
                }
                other => other?,
            }
        }
    };
    let missing_keys: Vec<&NewInteraction> = resolved
        .iter()
        .map(|(_, new, _)| new)
        .filter(|new| {
            let key = (new.source.clone(), new.external_id.clone());
            !inserted.contains_key(&key) && !existing.contains_key(&key)
        })
        .collect();
    existing.extend(load_by_keys(connection, &missing_keys)?);
    let mut claimed: HashSet<i64> = HashSet::new();
    // The details of the rows that created their interaction, in row order.
    let mut carried: Vec<&CustomerDetails> = Vec::new();
    for (index, new, customer) in resolved {
        let key = (new.source.clone(), new.external_id.clone());
        let outcome = match inserted.get(&key) {
            // The first row with a new key created it; a later row with the same key in the
            // same batch is a duplicate of it.
            Some(&id) if claimed.insert(id) => {
                if let Some(customer) = customer.filter(|customer| customer.has_details()) {
                    carried.push(customer);
                }
                RowOutcome::Inserted(id)
            }
            Some(&id) => {
                let current: Interaction = interactions::table
                    .find(id)
                    .select(Interaction::as_select())
                    .first(connection)?;
                compare(&current, &new)
            }
            None => match existing.get(&key) {
                Some(current) => compare(current, &new),
                None => {
                    RowOutcome::Rejected(AppError::internal("interaction vanished during import"))
                }
            },
        };
        outcomes[index] = Some(outcome);
    }
    let changed = apply_details(connection, &carried, &customer_ids, cache)?;
    CustomerChanges {
        changed: changed
            .into_iter()
            .filter(|(id, _)| !created.contains(id))
            .collect(),
        created,
    }
    .audit(connection, author)?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every row has an outcome"))
        .collect())
}

/// Records one interaction with its audit events (`interaction.create` when it is new, and the
/// customer's details when they changed). Returns it and whether it was created; a conflict or
/// a reference that does not resolve is an error.
pub fn record_one(
    connection: &mut PgConnection,
    submission: &InteractionSubmission,
    names: FieldNames,
    author: &Author,
) -> AppResult<(Interaction, bool)> {
    let outcome = record_batch(
        connection,
        std::slice::from_ref(submission),
        names,
        author,
        None,
    )?
    .pop()
    .ok_or_else(|| AppError::internal("no outcome for the interaction"))?;
    let (id, created) = match outcome {
        RowOutcome::Inserted(id) => (id, true),
        RowOutcome::Unchanged(id) => (id, false),
        RowOutcome::Conflict { message, .. } => return Err(AppError::Conflict(message)),
        RowOutcome::Rejected(error) => return Err(error),
    };
    let interaction: Interaction = interactions::table
        .find(id)
        .select(Interaction::as_select())
        .first(connection)?;
    if created {
        audit::record(
            connection,
            Entry::new(author.actor.clone(), "interaction.create", "interaction")
                .entity_id(id)
                .after(audit_image(&interaction))
                .request_id(author.request_id.clone()),
        )?;
    }
    Ok((interaction, created))
}

/// What [`ensure_customers`] returns: the ids by reference, the ids created, and the customers
/// created with details (reference and id).
type EnsuredCustomers = (HashMap<String, i64>, Vec<i64>, Vec<(String, i64)>);

/// The ids of the customers `references` name, creating those that do not exist yet, with the
/// merged details of `seeds` (rows expected to create their interaction, in order) or none:
/// details come only with an inserted interaction. Returns the ids by reference, the ids
/// created, and the customers created with details (reference and id).
fn ensure_customers(
    connection: &mut PgConnection,
    references: &[&str],
    seeds: &[&CustomerDetails],
    cache: &mut CustomerCache,
) -> AppResult<EnsuredCustomers> {
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};

    #[derive(QueryableByName)]
    struct CustomerId {
        #[diesel(sql_type = Text)]
        customer_ref: String,
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bool)]
        created: bool,
    }
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut unknown: Vec<&str> = Vec::new();
    for reference in references {
        if ids.contains_key(*reference) {
            continue;
        }
        match cache.id(reference) {
            Some(id) => {
                ids.insert((*reference).to_owned(), id);
            }
            None if !unknown.contains(reference) => unknown.push(reference),
            None => {}
        }
    }
    let (_, merged) = merge_details(seeds);
    let mut created = Vec::new();
    let mut seeded = Vec::new();
    while !unknown.is_empty() {
        // One lock order for every writer: concurrent batches cannot deadlock.
        unknown.sort_unstable();
        let seed = |pick: fn(&MergedDetails) -> &Option<String>| -> Vec<Option<&str>> {
            unknown
                .iter()
                .map(|reference| {
                    merged
                        .get(reference)
                        .and_then(|details| pick(details).as_deref())
                })
                .collect()
        };
        let found: Vec<CustomerId> = diesel::sql_query(
            "WITH wanted AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                $5::text[]) AS wanted(customer_ref, business_name, contact_name, email, phone)), \
             inserted AS ( \
               INSERT INTO customers (customer_ref, business_name, contact_name, email, phone) \
               SELECT customer_ref, business_name, contact_name, email, phone FROM wanted \
                WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_ref = wanted.customer_ref) \
               ORDER BY customer_ref \
               ON CONFLICT (customer_ref) DO NOTHING \
               RETURNING customer_ref, id) \
             SELECT customer_ref, id, true AS created FROM inserted \
             UNION ALL \
             SELECT c.customer_ref, c.id, false FROM customers c JOIN wanted USING (customer_ref)",
        )
        .bind::<Array<Text>, _>(&unknown)
        .bind::<Array<Nullable<Text>>, _>(seed(|details| &details.business_name))
        .bind::<Array<Nullable<Text>>, _>(seed(|details| &details.contact_name))
        .bind::<Array<Nullable<Text>>, _>(seed(|details| &details.email))
        .bind::<Array<Nullable<Text>>, _>(seed(|details| &details.phone))
        .load(connection)?;
        for row in found {
            // A customer created with details has those of the rows expected to insert: the
            // cache says so, and applying the same details after the insert costs nothing.
            let applied = match merged.get(row.customer_ref.as_str()) {
                Some(details) if row.created => {
                    seeded.push((row.customer_ref.clone(), row.id));
                    Some(fingerprint(details))
                }
                _ => None,
            };
            if row.created {
                created.push(row.id);
            }
            cache.stage(row.customer_ref.clone(), row.id, applied);
            ids.insert(row.customer_ref, row.id);
        }
        // A reference another writer created after this statement's snapshot is found by the
        // next round (its insert committed before ours could conflict).
        unknown.retain(|reference| !ids.contains_key(*reference));
    }
    Ok((ids, created, seeded))
}

/// Takes the details off customers this transaction created with details (their rows did not
/// all insert after all), so that only the rows that did insert give them details.
fn forget_seeded_details(
    connection: &mut PgConnection,
    seeded: &[(String, i64)],
    cache: &mut CustomerCache,
) -> AppResult<()> {
    use diesel::sql_types::{Array, BigInt};

    if seeded.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE customers SET business_name = NULL, contact_name = NULL, email = NULL, phone = NULL \
          WHERE id = ANY ($1)",
    )
    .bind::<Array<BigInt>, _>(seeded.iter().map(|(_, id)| *id).collect::<Vec<_>>())
    .execute(connection)?;
    for (reference, _) in seeded {
        cache.forget_details(reference);
    }
    Ok(())
}

/// Merges the details of `carried` per customer (in order; the latest non-empty value of each
/// detail wins). Returns the references in order of first appearance and their details.
fn merge_details<'a>(
    carried: &[&'a CustomerDetails],
) -> (Vec<&'a str>, HashMap<&'a str, MergedDetails>) {
    let mut merged: HashMap<&str, MergedDetails> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for customer in carried {
        let reference = customer.reference.as_str();
        let entry = merged.entry(reference).or_insert_with(|| {
            order.push(reference);
            MergedDetails::default()
        });
        let latest = |field: &mut Option<String>, value: Option<&str>| {
            if let Some(value) = value {
                *field = Some(value.to_owned());
            }
        };
        latest(
            &mut entry.business_name,
            customer.business_name.as_ref().map(Name::as_str),
        );
        latest(
            &mut entry.contact_name,
            customer.contact_name.as_ref().map(Name::as_str),
        );
        latest(&mut entry.email, customer.email.as_ref().map(Email::as_str));
        latest(&mut entry.phone, customer.phone.as_ref().map(Phone::as_str));
    }
    (order, merged)
}

/// The contact details to apply to one customer: the latest non-empty value of each among the
/// rows that carry them, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct MergedDetails {
    business_name: Option<String>,
    contact_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// Applies the details of `carried` (rows whose interaction was inserted, in order; the latest
/// non-empty value of each detail wins) to their customers in one statement, skipping customers
/// the cache knows already have them. Returns each customer whose details changed, with the
/// fields that changed.
fn apply_details(
    connection: &mut PgConnection,
    carried: &[&CustomerDetails],
    ids: &HashMap<String, i64>,
    cache: &mut CustomerCache,
) -> AppResult<Vec<(i64, Vec<&'static str>)>> {
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};

    let (order, merged) = merge_details(carried);
    let mut pending: Vec<(&str, &MergedDetails, u64)> = order
        .iter()
        .map(|reference| {
            let details = &merged[reference];
            (*reference, details, fingerprint(details))
        })
        .filter(|(reference, _, digest)| !cache.applied(reference, *digest))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    // One lock order for every writer: concurrent batches cannot deadlock.
    pending.sort_by_key(|(reference, _, _)| *reference);
    #[derive(QueryableByName)]
    struct Changed {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bool)]
        business_name: bool,
        #[diesel(sql_type = Bool)]
        contact_name: bool,
        #[diesel(sql_type = Bool)]
        email: bool,
        #[diesel(sql_type = Bool)]
        phone: bool,
    }
    let column = |pick: fn(&MergedDetails) -> &Option<String>| -> Vec<Option<String>> {
        pending
            .iter()
            .map(|(_, details, _)| pick(details).clone())
            .collect()
    };
    // `old` reads each customer before the update (a data-modifying statement's sub-queries see
    // the snapshot before it), so the statement can say which fields it changed.
    let changed: Vec<Changed> = diesel::sql_query(
        "WITH incoming AS ( \
           SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[]) \
             AS incoming(id, business_name, contact_name, email, phone)), \
         old AS ( \
           SELECT c.id, c.business_name, c.contact_name, c.email, c.phone \
             FROM customers c JOIN incoming i ON i.id = c.id), \
         updated AS ( \
           UPDATE customers c SET \
                  business_name = COALESCE(i.business_name, c.business_name), \
                  contact_name = COALESCE(i.contact_name, c.contact_name), \
                  email = COALESCE(i.email, c.email), \
                  phone = COALESCE(i.phone, c.phone), \
                  updated_at = now() \
             FROM incoming i \
            WHERE c.id = i.id \
              AND (c.business_name, c.contact_name, c.email, c.phone) IS DISTINCT FROM \
                  (COALESCE(i.business_name, c.business_name), COALESCE(i.contact_name, c.contact_name), \
                   COALESCE(i.email, c.email), COALESCE(i.phone, c.phone)) \
           RETURNING c.id, c.business_name, c.contact_name, c.email, c.phone) \
         SELECT u.id, \
                u.business_name IS DISTINCT FROM o.business_name AS business_name, \
                u.contact_name IS DISTINCT FROM o.contact_name AS contact_name, \
                u.email IS DISTINCT FROM o.email AS email, \
                u.phone IS DISTINCT FROM o.phone AS phone \
           FROM updated u JOIN old o ON o.id = u.id",
    )
    .bind::<Array<BigInt>, _>(
        pending
            .iter()
            .map(|(reference, _, _)| ids[*reference])
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(column(|details| &details.business_name))
    .bind::<Array<Nullable<Text>>, _>(column(|details| &details.contact_name))
    .bind::<Array<Nullable<Text>>, _>(column(|details| &details.email))
    .bind::<Array<Nullable<Text>>, _>(column(|details| &details.phone))
    .load(connection)?;
    for (reference, _, digest) in &pending {
        cache.stage((*reference).to_owned(), ids[*reference], Some(*digest));
    }
    Ok(changed
        .into_iter()
        .map(|row| {
            let fields: Vec<&'static str> = [
                (row.business_name, "business_name"),
                (row.contact_name, "contact_name"),
                (row.email, "email"),
                (row.phone, "phone"),
            ]
            .into_iter()
            .filter_map(|(changed, name)| changed.then_some(name))
            .collect();
            (row.id, fields)
        })
        .collect())
}

/// Records customers with their details ahead of their interactions, in one statement: the
/// explicit customer write of the `seed` command, whose writers then only look customers up.
/// Returns how many distinct references the batch named.
pub fn record_customers(
    connection: &mut PgConnection,
    customers_in: &[CustomerDetails],
    author: &Author,
) -> AppResult<usize> {
    let mut cache = CustomerCache::default();
    let references: Vec<&str> = customers_in
        .iter()
        .map(|customer| customer.reference.as_str())
        .collect();
    let carried: Vec<&CustomerDetails> = customers_in
        .iter()
        .filter(|customer| customer.has_details())
        .collect();
    let (ids, created, _) = ensure_customers(connection, &references, &carried, &mut cache)?;
    let changed = apply_details(connection, &carried, &ids, &mut cache)?;
    CustomerChanges {
        changed: changed
            .into_iter()
            .filter(|(id, _)| !created.contains(id))
            .collect(),
        created,
    }
    .audit(connection, author)?;
    Ok(ids.len())
}

/// Batches of at least this many rows look their keys up before inserting, so that the insert
/// needs no `ON CONFLICT` (whose speculative insertion cost about a quarter of the insert); a
/// smaller batch (a single API write) saves the extra round trips instead.
const PRECHECKED_BATCH: usize = 64;

/// How [`insert_new`] treats keys that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insert {
    /// The caller looked the keys up: none exists, and one that does is an error
    /// (a unique violation) rather than a row to skip.
    AllNew,
    /// Rows whose key exists are skipped (`ON CONFLICT DO NOTHING`) and left for comparison.
    SkipExisting,
}

/// Inserts the rows whose key is new, in one statement with one array per column (far cheaper
/// for PostgreSQL to parse and plan than thousands of bound values), and returns the ids of
/// those it inserted by key.
fn insert_new(
    connection: &mut PgConnection,
    rows: &[&NewInteraction],
    mode: Insert,
) -> AppResult<HashMap<(String, String), i64>> {
    use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};

    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = Text)]
        source: String,
        #[diesel(sql_type = Text)]
        external_id: String,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let column = |pick: fn(&NewInteraction) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(|row| pick(row)).collect()
    };
    let seconds = |pick: fn(&NewInteraction) -> Option<i32>| -> Vec<Option<i32>> {
        rows.iter().map(|row| pick(row)).collect()
    };
    const INSERT: &str = "INSERT INTO interactions (source, external_id, channel, org_unit_id, \
           agent_id, customer_id, topic_id, started_at, wait_seconds, handle_seconds, transfers, \
           abandoned, outcome) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], \
           $7::int8[], $8::timestamptz[], $9::int4[], $10::int4[], $11::int4[], $12::bool[], $13::text[]) ";
    let statement = match mode {
        Insert::AllNew => format!("{INSERT} RETURNING source, external_id, id"),
        Insert::SkipExisting => format!(
            "{INSERT} ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id"
        ),
    };
    let inserted: Vec<Inserted> = diesel::sql_query(statement)
        .bind::<Array<Text>, _>(
            rows.iter()
                .map(|row| row.source.clone())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            rows.iter()
                .map(|row| row.external_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            rows.iter()
                .map(|row| row.channel.as_db_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.org_unit_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.agent_id))
        .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.customer_id))
        .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.topic_id))
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.started_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Integer>>, _>(seconds(|row| row.wait_seconds))
        .bind::<Array<Nullable<Integer>>, _>(seconds(|row| row.handle_seconds))
        .bind::<Array<Integer>, _>(rows.iter().map(|row| row.transfers).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(rows.iter().map(|row| row.abandoned).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            rows.iter()
                .map(|row| row.outcome.map(|outcome| outcome.as_db_str()))
                .collect::<Vec<_>>(),
        )
        .load(connection)?;
    Ok(inserted
        .into_iter()
        .map(|row| ((row.source, row.external_id), row.id))
        .collect())
}

#[derive(QueryableByName)]
struct FoundId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn load_by_keys(
    connection: &mut PgConnection,
    keys: &[&NewInteraction],
) -> AppResult<HashMap<(String, String), Interaction>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // A join on the key pairs is one index probe per key (see `surveys::interactions_by_key`).
    let sources: Vec<&str> = keys.iter().map(|key| key.source.as_str()).collect();
    let external_ids: Vec<&str> = keys.iter().map(|key| key.external_id.as_str()).collect();
    let ids: Vec<i64> = diesel::sql_query(
        "SELECT i.id FROM UNNEST($1::text[], $2::text[]) AS wanted(source, external_id) \
           JOIN interactions i ON i.source = wanted.source AND i.external_id = wanted.external_id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(sources)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(external_ids)
    .load::<FoundId>(connection)?
    .into_iter()
    .map(|found| found.id)
    .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(interactions::table
        .filter(interactions::id.eq_any(ids))
        .select(Interaction::as_select())
        .load::<Interaction>(connection)?
        .into_iter()
        .map(|row| ((row.source.clone(), row.external_id.clone()), row))
        .collect())
}

/// Same key: unchanged when every recorded field matches, otherwise a conflict naming them.
fn compare(current: &Interaction, new: &NewInteraction) -> RowOutcome {
    let mut differing = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            differing.push(name);
        }
    };
    check("channel", current.channel == new.channel);
    check("orgUnitCode", current.org_unit_id == new.org_unit_id);
    check("agentEmail", current.agent_id == new.agent_id);
    check("customerRef", current.customer_id == new.customer_id);
    check("topicCode", current.topic_id == new.topic_id);
    check("startedAt", current.started_at == new.started_at);
    check("waitSeconds", current.wait_seconds == new.wait_seconds);
    check(
        "handleSeconds",
        current.handle_seconds == new.handle_seconds,
    );
    check("transfers", current.transfers == new.transfers);
    check("abandoned", current.abandoned == new.abandoned);
    check("outcome", current.outcome == new.outcome);
    if differing.is_empty() {
        RowOutcome::Unchanged(current.id)
    } else {
        RowOutcome::Conflict {
            id: current.id,
            // The caller may have no right to read the stored record: say that it differs,
            // not how (the operator finds the fields in the log).
            message: {
                tracing::info!(id = current.id, fields = ?differing, "a resent interaction differs from the stored one");
                format!(
                    "interaction ({}, {}) was already recorded with different content",
                    current.source, current.external_id
                )
            },
        }
    }
}

/// The audit image of an interaction: no customer details, only the customer's id.
pub fn audit_image(interaction: &Interaction) -> Value {
    json!({
        "id": interaction.id,
        "source": interaction.source,
        "external_id": interaction.external_id,
        "channel": interaction.channel,
        "org_unit_id": interaction.org_unit_id,
        "agent_id": interaction.agent_id,
        "customer_id": interaction.customer_id,
        "topic_id": interaction.topic_id,
        "started_at": interaction.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "wait_seconds": interaction.wait_seconds,
        "handle_seconds": interaction.handle_seconds,
        "transfers": interaction.transfers,
        "abandoned": interaction.abandoned,
        "outcome": interaction.outcome,
    })
}
