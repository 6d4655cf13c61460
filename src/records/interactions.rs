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
        schema::{customers, interactions, org_units, topics, users},
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

/// Records a batch inside the caller's transaction. Returns one outcome per row, in order.
/// Invalid rows are rejected without touching the database; valid rows are inserted, or
/// recognised as unchanged duplicates or conflicts of an existing interaction.
pub fn record_batch(
    connection: &mut PgConnection,
    rows: &[InteractionSubmission],
    now: DateTime<Utc>,
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

    // Customers: the latest non-empty contact details win; one statement for the batch.
    let mut by_ref: HashMap<&str, NewCustomer> = HashMap::new();
    for (_, _, customer) in &resolved {
        if let Some(customer) = customer {
            by_ref.insert(
                customer.customer_ref.as_str(),
                NewCustomer {
                    customer_ref: customer.customer_ref.clone(),
                    business_name: customer.business_name.clone(),
                    contact_name: customer.contact_name.clone(),
                    email: customer.email.clone(),
                    phone: customer.phone.clone(),
                },
            );
        }
    }
    let customer_ids: HashMap<String, i64> = if by_ref.is_empty() {
        HashMap::new()
    } else {
        let mut new_customers: Vec<NewCustomer> = by_ref.into_values().collect();
        // One lock order for every writer: concurrent import batches cannot deadlock.
        new_customers.sort_by(|a, b| a.customer_ref.cmp(&b.customer_ref));
        upsert_customers(connection, &new_customers)?
    };
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

/// Inserts new customers and fills in contact details that arrive later (the latest non-empty
/// value wins). Rows whose details do not change are not rewritten, so re-sending known
/// customers costs no writes. Returns the id of every customer by reference.
fn upsert_customers(
    connection: &mut PgConnection,
    customers_in: &[NewCustomer],
) -> AppResult<HashMap<String, i64>> {
    use diesel::sql_types::{Array, Nullable, Text};
    let column = |pick: fn(&NewCustomer) -> Option<String>| -> Vec<Option<String>> {
        customers_in.iter().map(pick).collect()
    };
    let references: Vec<String> = customers_in
        .iter()
        .map(|customer| customer.customer_ref.clone())
        .collect();
    let business_names = column(|customer| customer.business_name.clone());
    let contact_names = column(|customer| customer.contact_name.clone());
    let emails = column(|customer| customer.email.clone());
    let phones = column(|customer| customer.phone.clone());
    // New references are inserted; known ones are not touched (not even locked) here.
    diesel::sql_query(
        "INSERT INTO customers (customer_ref, business_name, contact_name, email, phone) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
         ON CONFLICT (customer_ref) DO NOTHING",
    )
    .bind::<Array<Text>, _>(&references)
    .bind::<Array<Nullable<Text>>, _>(&business_names)
    .bind::<Array<Nullable<Text>>, _>(&contact_names)
    .bind::<Array<Nullable<Text>>, _>(&emails)
    .bind::<Array<Nullable<Text>>, _>(&phones)
    .execute(connection)?;
    // Known customers whose details really change get the new non-empty values.
    diesel::sql_query(
        "UPDATE customers SET \
           business_name = COALESCE(incoming.business_name, customers.business_name), \
           contact_name = COALESCE(incoming.contact_name, customers.contact_name), \
           email = COALESCE(incoming.email, customers.email), \
           phone = COALESCE(incoming.phone, customers.phone) \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
           AS incoming(customer_ref, business_name, contact_name, email, phone) \
         WHERE customers.customer_ref = incoming.customer_ref \
           AND (customers.business_name, customers.contact_name, customers.email, customers.phone) \
               IS DISTINCT FROM (COALESCE(incoming.business_name, customers.business_name), \
                                 COALESCE(incoming.contact_name, customers.contact_name), \
                                 COALESCE(incoming.email, customers.email), \
                                 COALESCE(incoming.phone, customers.phone))",
    )
    .bind::<Array<Text>, _>(&references)
    .bind::<Array<Nullable<Text>>, _>(&business_names)
    .bind::<Array<Nullable<Text>>, _>(&contact_names)
    .bind::<Array<Nullable<Text>>, _>(&emails)
    .bind::<Array<Nullable<Text>>, _>(&phones)
    .execute(connection)?;
    Ok(customers::table
        .filter(customers::customer_ref.eq_any(&references))
        .select((customers::customer_ref, customers::id))
        .load::<(String, i64)>(connection)?
        .into_iter()
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
