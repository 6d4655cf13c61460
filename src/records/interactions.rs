//! Recording interactions, one at a time (`recordInteraction`) or in batches (imports), with
//! the same validation and the same idempotency rule: `(source, external_id)` identifies an
//! interaction; sending it again with the same content returns the original, with different
//! content it is a conflict.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use diesel::{pg::PgConnection, prelude::*};
use serde_json::{json, Value};

use crate::{
    db::{
        enums::{Channel, Outcome, Role},
        models::{Interaction, NewCustomer, NewInteraction},
        schema::{interactions, org_units, topics, users},
    },
    error::{AppError, AppResult},
    records::RowOutcome,
};

/// Seconds a `started_at` may lie ahead of the server clock (clock skew of the sender).
const FUTURE_LEEWAY_SECONDS: i64 = 60;
/// Longest plausible wait or handling time: a week.
const MAX_DURATION_SECONDS: i32 = 7 * 24 * 3600;

/// The customer as a sending system describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSubmission {
    pub customer_ref: String,
    pub business_name: Option<String>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An interaction as submitted, with codes and emails not yet resolved.
#[derive(Debug, Clone)]
pub struct InteractionSubmission {
    pub source: String,
    pub external_id: String,
    pub channel: Channel,
    pub org_unit_code: String,
    pub agent_email: Option<String>,
    pub customer: Option<CustomerSubmission>,
    pub topic_code: Option<String>,
    pub started_at: DateTime<Utc>,
    pub wait_seconds: Option<i32>,
    pub handle_seconds: Option<i32>,
    pub transfers: i32,
    pub abandoned: bool,
    pub outcome: Option<Outcome>,
}

impl InteractionSubmission {
    /// Checks everything that needs no database. Errors name the field (API spelling).
    pub fn validate(&self, now: DateTime<Utc>) -> AppResult<()> {
        validate_key(&self.source, &self.external_id)?;
        if self.started_at > now + chrono::Duration::seconds(FUTURE_LEEWAY_SECONDS) {
            return Err(AppError::bad_input(
                "startedAt",
                "must not be in the future",
            ));
        }
        for (field, value) in [
            ("waitSeconds", self.wait_seconds),
            ("handleSeconds", self.handle_seconds),
        ] {
            if let Some(seconds) = value {
                if !(0..=MAX_DURATION_SECONDS).contains(&seconds) {
                    return Err(AppError::bad_input(
                        field,
                        format!("must be between 0 and {MAX_DURATION_SECONDS} seconds"),
                    ));
                }
            }
        }
        if self.transfers < 0 {
            return Err(AppError::bad_input("transfers", "must not be negative"));
        }
        if self.abandoned && !self.channel.is_queued() {
            return Err(AppError::bad_input(
                "abandoned",
                "only queued channels (PHONE, CHAT) can be abandoned",
            ));
        }
        if !self.channel.is_assisted() && self.agent_email.is_some() {
            return Err(AppError::bad_input(
                "agentEmail",
                "self-service interactions (WEB_SELF_SERVICE, IVR, SMS) have no agent",
            ));
        }
        if let Some(customer) = &self.customer {
            if customer.customer_ref.trim().is_empty() || customer.customer_ref.len() > 200 {
                return Err(AppError::bad_input(
                    "customerRef",
                    "must be 1 to 200 characters",
                ));
            }
        }
        Ok(())
    }
}

/// Checks an idempotency key.
pub fn validate_key(source: &str, external_id: &str) -> AppResult<()> {
    if source.trim().is_empty() || source.len() > 100 {
        return Err(AppError::bad_input("source", "must be 1 to 100 characters"));
    }
    if external_id.trim().is_empty() || external_id.len() > 200 {
        return Err(AppError::bad_input(
            "externalId",
            "must be 1 to 200 characters",
        ));
    }
    Ok(())
}

/// Codes and emails of one batch, resolved to ids with one query per kind.
#[derive(Debug, Default)]
struct References {
    org_units: HashMap<String, i64>,
    topics: HashMap<String, i64>,
    /// Active agents and supervisors by lower-case email.
    agents: HashMap<String, i64>,
}

impl References {
    fn load(connection: &mut PgConnection, rows: &[&InteractionSubmission]) -> AppResult<Self> {
        let unit_codes: HashSet<&str> = rows.iter().map(|row| row.org_unit_code.as_str()).collect();
        let topic_codes: HashSet<&str> = rows
            .iter()
            .filter_map(|row| row.topic_code.as_deref())
            .collect();
        let emails: HashSet<String> = rows
            .iter()
            .filter_map(|row| row.agent_email.as_deref())
            .map(|email| email.trim().to_lowercase())
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
    fn resolve(&self, row: &InteractionSubmission) -> AppResult<NewInteraction> {
        let org_unit_id = *self.org_units.get(&row.org_unit_code).ok_or_else(|| {
            AppError::bad_input(
                "orgUnitCode",
                format!("no org unit `{}`", row.org_unit_code),
            )
        })?;
        let topic_id =
            row.topic_code
                .as_ref()
                .map(|code| {
                    self.topics.get(code).copied().ok_or_else(|| {
                        AppError::bad_input("topicCode", format!("no topic `{code}`"))
                    })
                })
                .transpose()?;
        let agent_id = row
            .agent_email
            .as_ref()
            .map(|email| {
                self.agents
                    .get(&email.trim().to_lowercase())
                    .copied()
                    .ok_or_else(|| {
                        AppError::bad_input(
                            "agentEmail",
                            format!("no active agent or supervisor `{email}`"),
                        )
                    })
            })
            .transpose()?;
        Ok(NewInteraction {
            source: row.source.clone(),
            external_id: row.external_id.clone(),
            channel: row.channel,
            org_unit_id,
            agent_id,
            customer_id: None,
            topic_id,
            // PostgreSQL keeps microseconds; compare retries at that precision.
            started_at: row.started_at.trunc_subsecs(6),
            wait_seconds: row.wait_seconds,
            handle_seconds: row.handle_seconds,
            transfers: row.transfers,
            abandoned: row.abandoned,
            outcome: row.outcome,
        })
    }
}

/// Customers a writer has recorded, so that a reference it meets again with the same contact
/// details costs no database work (most of an import's rows name a customer seen before).
/// Entries written in the open transaction are staged, and only kept once it commits: a rolled
/// back customer must never be taken for an existing one. Bounded: it starts over when full.
#[derive(Debug, Default)]
pub struct CustomerCache {
    /// Reference → (id, fingerprint of the contact details last applied).
    committed: HashMap<String, (i64, u64)>,
    staged: Vec<(String, i64, u64)>,
}

/// Most references a [`CustomerCache`] holds (about 20 MB).
const CUSTOMER_CACHE_CAPACITY: usize = 200_000;

impl CustomerCache {
    /// The id of `reference` when these details were already applied in a committed batch.
    fn known(&self, reference: &str, fingerprint: u64) -> Option<i64> {
        self.committed
            .get(reference)
            .filter(|(_, applied)| *applied == fingerprint)
            .map(|(id, _)| *id)
    }

    fn stage(&mut self, reference: String, id: i64, fingerprint: u64) {
        self.staged.push((reference, id, fingerprint));
    }

    /// The open transaction committed: keep what it wrote.
    pub fn commit(&mut self) {
        if self.committed.len() + self.staged.len() > CUSTOMER_CACHE_CAPACITY {
            self.committed.clear();
        }
        self.committed.extend(
            self.staged
                .drain(..)
                .map(|(reference, id, fingerprint)| (reference, (id, fingerprint))),
        );
    }

    /// The open transaction rolled back: forget what it wrote.
    pub fn discard(&mut self) {
        self.staged.clear();
    }
}

/// A stable digest of a customer's contact details.
fn fingerprint(customer: &NewCustomer) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        &customer.business_name,
        &customer.contact_name,
        &customer.email,
        &customer.phone,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// Records a batch inside the caller's transaction. Returns one outcome per row, in order.
/// Invalid rows are rejected without touching the database; valid rows are inserted, or
/// recognised as unchanged duplicates or conflicts of an existing interaction. With a
/// `cache`, customers it knows with the same details are not written again; the caller
/// commits or discards the cache with the transaction.
pub fn record_batch(
    connection: &mut PgConnection,
    rows: &[InteractionSubmission],
    now: DateTime<Utc>,
    cache: Option<&mut CustomerCache>,
) -> AppResult<Vec<RowOutcome>> {
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let valid: Vec<(usize, &InteractionSubmission)> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, row)| match row.validate(now) {
            Ok(()) => Some((index, row)),
            Err(error) => {
                outcomes[index] = Some(RowOutcome::Rejected(error));
                None
            }
        })
        .collect();
    let references = References::load(
        connection,
        &valid.iter().map(|(_, row)| *row).collect::<Vec<_>>(),
    )?;
    let mut resolved: Vec<(usize, NewInteraction, Option<&CustomerSubmission>)> = Vec::new();
    for (index, row) in valid {
        match references.resolve(row) {
            Ok(new) => resolved.push((index, new, row.customer.as_ref())),
            Err(error) => outcomes[index] = Some(RowOutcome::Rejected(error)),
        }
    }

    // Customers: one statement for the batch, for the customers the cache does not already
    // know with these details.
    let merged = merge_customers(resolved.iter().filter_map(|(_, _, customer)| *customer));
    let mut customer_ids: HashMap<String, i64> = HashMap::with_capacity(merged.len());
    let mut to_write: Vec<(NewCustomer, u64)> = Vec::new();
    for customer in merged {
        let fingerprint = fingerprint(&customer);
        match cache
            .as_deref()
            .and_then(|cache| cache.known(&customer.customer_ref, fingerprint))
        {
            Some(id) => {
                customer_ids.insert(customer.customer_ref, id);
            }
            None => to_write.push((customer, fingerprint)),
        }
    }
    if !to_write.is_empty() {
        // One lock order for every writer: concurrent import batches cannot deadlock.
        to_write.sort_by(|(a, _), (b, _)| a.customer_ref.cmp(&b.customer_ref));
        let (new_customers, fingerprints): (Vec<NewCustomer>, Vec<u64>) =
            to_write.into_iter().unzip();
        let written = upsert_customers(connection, &new_customers)?;
        if let Some(cache) = cache {
            for (customer, fingerprint) in new_customers.iter().zip(fingerprints) {
                if let Some(&id) = written.get(&customer.customer_ref) {
                    cache.stage(customer.customer_ref.clone(), id, fingerprint);
                }
            }
        }
        customer_ids.extend(written);
    }
    for (_, new, customer) in resolved.iter_mut() {
        new.customer_id = customer.map(|customer| customer_ids[&customer.customer_ref]);
    }

    // Interactions: new keys are inserted; existing keys are compared afterwards.
    let inserted: HashMap<(String, String), i64> = if resolved.is_empty() {
        HashMap::new()
    } else {
        let mut new_rows: Vec<&NewInteraction> = resolved.iter().map(|(_, new, _)| new).collect();
        // One lock order for every writer: concurrent import batches cannot deadlock.
        new_rows.sort_by(|a, b| (&a.source, &a.external_id).cmp(&(&b.source, &b.external_id)));
        insert_new(connection, &new_rows)?
    };
    let mut claimed: HashSet<i64> = HashSet::new();
    let existing_keys: Vec<&NewInteraction> = resolved
        .iter()
        .map(|(_, new, _)| new)
        .filter(|new| !inserted.contains_key(&(new.source.clone(), new.external_id.clone())))
        .collect();
    let existing: HashMap<(String, String), Interaction> =
        load_by_keys(connection, &existing_keys)?;
    for (index, new, _) in resolved {
        let key = (new.source.clone(), new.external_id.clone());
        let outcome = match inserted.get(&key) {
            // The first row with a new key created it; a later row with the same key in the
            // same batch is a duplicate of it.
            Some(&id) if claimed.insert(id) => RowOutcome::Inserted(id),
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
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every row has an outcome"))
        .collect())
}

/// Inserts the rows whose key is new, in one statement with one array per column (far cheaper
/// for PostgreSQL to parse and plan than thousands of bound values), and returns the ids of
/// those it inserted by key. Rows whose key exists are left alone for comparison.
fn insert_new(
    connection: &mut PgConnection,
    rows: &[&NewInteraction],
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
    let inserted: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO interactions (source, external_id, channel, org_unit_id, agent_id, customer_id, \
           topic_id, started_at, wait_seconds, handle_seconds, transfers, abandoned, outcome) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], \
           $7::int8[], $8::timestamptz[], $9::int4[], $10::int4[], $11::int4[], $12::bool[], $13::text[]) \
         ON CONFLICT (source, external_id) DO NOTHING \
         RETURNING source, external_id, id",
    )
    .bind::<Array<Text>, _>(rows.iter().map(|row| row.source.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|row| row.external_id.clone()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|row| row.channel.as_db_str()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|row| row.org_unit_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.agent_id))
    .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.customer_id))
    .bind::<Array<Nullable<BigInt>>, _>(column(|row| row.topic_id))
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.started_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Integer>>, _>(seconds(|row| row.wait_seconds))
    .bind::<Array<Nullable<Integer>>, _>(seconds(|row| row.handle_seconds))
    .bind::<Array<Integer>, _>(rows.iter().map(|row| row.transfers).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(rows.iter().map(|row| row.abandoned).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|row| row.outcome.map(|outcome| outcome.as_db_str())).collect::<Vec<_>>())
    .load(connection)?;
    Ok(inserted
        .into_iter()
        .map(|row| ((row.source, row.external_id), row.id))
        .collect())
}

/// One customer per reference, with the latest non-empty value of each contact detail among
/// `submissions` (in order): a later submission without an email keeps an earlier one's.
fn merge_customers<'a>(
    submissions: impl Iterator<Item = &'a CustomerSubmission>,
) -> Vec<NewCustomer> {
    let mut by_ref: HashMap<&str, NewCustomer> = HashMap::new();
    for customer in submissions {
        let merged = by_ref
            .entry(customer.customer_ref.as_str())
            .or_insert_with(|| NewCustomer {
                customer_ref: customer.customer_ref.clone(),
                business_name: None,
                contact_name: None,
                email: None,
                phone: None,
            });
        let latest = |field: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                field.clone_from(value);
            }
        };
        latest(&mut merged.business_name, &customer.business_name);
        latest(&mut merged.contact_name, &customer.contact_name);
        latest(&mut merged.email, &customer.email);
        latest(&mut merged.phone, &customer.phone);
    }
    by_ref.into_values().collect()
}

/// Records customers ahead of their interactions, in one statement: new references are
/// created, known ones get the new non-empty details (merged as in [`merge_customers`]). Returns how many distinct references the
/// batch named. (The `seed` command writes its customer base first, so that parallel writers
/// never wait on each other's uncommitted new customers.)
pub fn record_customers(
    connection: &mut PgConnection,
    customers_in: &[CustomerSubmission],
) -> AppResult<usize> {
    let mut new_customers = merge_customers(customers_in.iter());
    // One lock order for every writer: concurrent batches cannot deadlock.
    new_customers.sort_by(|a, b| a.customer_ref.cmp(&b.customer_ref));
    if new_customers.is_empty() {
        return Ok(0);
    }
    Ok(upsert_customers(connection, &new_customers)?.len())
}

/// Inserts new customers and fills in contact details that arrive later (the latest non-empty
/// value wins), in one statement for the batch. Rows whose details do not change are neither
/// rewritten nor locked, so re-sending known customers costs no writes. Returns the id of every
/// customer by reference.
fn upsert_customers(
    connection: &mut PgConnection,
    customers_in: &[NewCustomer],
) -> AppResult<HashMap<String, i64>> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};

    #[derive(QueryableByName)]
    struct CustomerId {
        #[diesel(sql_type = Text)]
        customer_ref: String,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let column = |pick: fn(&NewCustomer) -> Option<String>| -> Vec<Option<String>> {
        customers_in.iter().map(pick).collect()
    };
    let references: Vec<String> = customers_in
        .iter()
        .map(|customer| customer.customer_ref.clone())
        .collect();
    // `known` is read once; new references are inserted (a reference another writer inserts
    // meanwhile is skipped and looked up below); known ones whose details really change get
    // the new non-empty values, found by id.
    let found: Vec<CustomerId> = diesel::sql_query(
        "WITH incoming AS ( \
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
             AS incoming(customer_ref, business_name, contact_name, email, phone)), \
         known AS ( \
           SELECT c.id, c.customer_ref, \
                  COALESCE(i.business_name, c.business_name) AS business_name, \
                  COALESCE(i.contact_name, c.contact_name) AS contact_name, \
                  COALESCE(i.email, c.email) AS email, \
                  COALESCE(i.phone, c.phone) AS phone, \
                  (c.business_name, c.contact_name, c.email, c.phone) IS DISTINCT FROM \
                    (COALESCE(i.business_name, c.business_name), COALESCE(i.contact_name, c.contact_name), \
                     COALESCE(i.email, c.email), COALESCE(i.phone, c.phone)) AS changes \
             FROM incoming i JOIN customers c ON c.customer_ref = i.customer_ref), \
         created AS ( \
           INSERT INTO customers (customer_ref, business_name, contact_name, email, phone) \
           SELECT i.* FROM incoming i \
            WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.customer_ref = i.customer_ref) \
           ON CONFLICT (customer_ref) DO NOTHING \
           RETURNING id, customer_ref), \
         changed AS ( \
           UPDATE customers c SET business_name = k.business_name, contact_name = k.contact_name, \
                  email = k.email, phone = k.phone \
             FROM known k \
            WHERE k.changes AND c.id = k.id \
              AND c.id = ANY (ARRAY(SELECT id FROM known WHERE changes)) \
           RETURNING c.id) \
         SELECT customer_ref, id FROM known \
         UNION ALL SELECT customer_ref, id FROM created",
    )
    .bind::<Array<Text>, _>(&references)
    .bind::<Array<Nullable<Text>>, _>(column(|customer| customer.business_name.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|customer| customer.contact_name.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|customer| customer.email.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(|customer| customer.phone.clone()))
    .load(connection)?;
    let mut ids: HashMap<String, i64> = found
        .into_iter()
        .map(|found| (found.customer_ref, found.id))
        .collect();
    if ids.len() < references.len() {
        // Created by a concurrent writer after this statement's snapshot: committed by now
        // (the insert waited for it), so the same statement again finds them known and applies
        // this batch's details to them.
        let missing: Vec<NewCustomer> = customers_in
            .iter()
            .filter(|customer| !ids.contains_key(&customer.customer_ref))
            .cloned()
            .collect();
        ids.extend(upsert_customers(connection, &missing)?);
    }
    Ok(ids)
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
            message: format!(
                "interaction ({}, {}) was already recorded with different {}",
                current.source,
                current.external_id,
                differing.join(", ")
            ),
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
