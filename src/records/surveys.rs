//! Recording survey invitations and responses: validation of the answers, resolution of the
//! interaction they are about, and the same `(source, external_id)` idempotency as interactions.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use diesel::{pg::PgConnection, prelude::*};

use crate::{
    db::{
        enums::{Channel, SurveyKind},
        models::{NewSurveyInvitation, NewSurveyResponse, SurveyInvitation, SurveyResponse},
        schema::{survey_invitations, survey_responses},
    },
    error::{AppError, AppResult},
    records::{interactions::validate_key, RowOutcome},
};

/// The answers of one survey: seven 1–5 Likert items, "resolved", and a comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub satisfaction: Option<i16>,
    pub trust: Option<i16>,
    pub effectiveness: Option<i16>,
    pub ease: Option<i16>,
    pub efficiency: Option<i16>,
    pub transparency: Option<i16>,
    pub helpfulness: Option<i16>,
    pub resolved: Option<bool>,
    pub comment: Option<String>,
}

/// Longest comment kept.
pub const MAX_COMMENT_CHARS: usize = 4_000;

impl Answers {
    /// Each Likert answer is 1–5; at least one question is answered; comments are bounded.
    pub fn validate(&self) -> AppResult<()> {
        let items = [
            ("satisfaction", self.satisfaction),
            ("trust", self.trust),
            ("effectiveness", self.effectiveness),
            ("ease", self.ease),
            ("efficiency", self.efficiency),
            ("transparency", self.transparency),
            ("helpfulness", self.helpfulness),
        ];
        for (field, value) in items {
            if let Some(value) = value {
                if !(1..=5).contains(&value) {
                    return Err(AppError::bad_input(field, "must be an answer from 1 to 5"));
                }
            }
        }
        if items.iter().all(|(_, value)| value.is_none())
            && self.resolved.is_none()
            && self.comment.is_none()
        {
            return Err(AppError::invalid(
                "a survey response must answer at least one question",
            ));
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|comment| comment.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(AppError::bad_input(
                "comment",
                format!("must be at most {MAX_COMMENT_CHARS} characters"),
            ));
        }
        Ok(())
    }
}

/// Which survey instrument fits an interaction's channel.
pub fn check_kind_fits_channel(kind: SurveyKind, channel: Channel) -> AppResult<()> {
    let fits = match kind {
        SurveyKind::PostCall => channel == Channel::Phone,
        SurveyKind::LiveChat => channel == Channel::Chat,
        SurveyKind::FollowUp => channel.is_assisted(),
    };
    if fits {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "kind",
            format!(
                "a {} survey does not fit a {} interaction (post_call: PHONE, live_chat: CHAT, follow_up: assisted channels)",
                kind.as_file_str(),
                channel.as_db_str()
            ),
        ))
    }
}

/// An imported response, about the interaction `(interaction_source, interaction_external_id)`.
#[derive(Debug, Clone)]
pub struct ResponseSubmission {
    pub source: String,
    pub external_id: String,
    pub interaction_source: String,
    pub interaction_external_id: String,
    pub kind: SurveyKind,
    pub submitted_at: DateTime<Utc>,
    pub answers: Answers,
}

/// An imported invitation.
#[derive(Debug, Clone)]
pub struct InvitationSubmission {
    pub source: String,
    pub external_id: String,
    pub interaction_source: String,
    pub interaction_external_id: String,
    pub kind: SurveyKind,
    pub sent_at: DateTime<Utc>,
}

/// `(id, channel, started_at)` of an interaction a survey row refers to.
type InteractionFacts = (i64, Channel, DateTime<Utc>);

/// Interaction ids and channels by `(source, external_id)`, one query for the batch.
fn interactions_by_key(
    connection: &mut PgConnection,
    keys: &[(&str, &str)],
) -> AppResult<HashMap<(String, String), InteractionFacts>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        source: String,
        #[diesel(sql_type = Text)]
        external_id: String,
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        channel: Channel,
        #[diesel(sql_type = Timestamptz)]
        started_at: DateTime<Utc>,
    }
    // A join on the key pairs is one index probe per key; `source = ANY(..) AND external_id =
    // ANY(..)` can be planned as a scan of every row of the source.
    let sources: Vec<&str> = keys.iter().map(|(source, _)| *source).collect();
    let external_ids: Vec<&str> = keys.iter().map(|(_, external_id)| *external_id).collect();
    Ok(diesel::sql_query(
        "SELECT i.source, i.external_id, i.id, i.channel, i.started_at \
           FROM UNNEST($1::text[], $2::text[]) AS wanted(source, external_id) \
           JOIN interactions i ON i.source = wanted.source AND i.external_id = wanted.external_id",
    )
    .bind::<Array<Text>, _>(sources)
    .bind::<Array<Text>, _>(external_ids)
    .load::<Found>(connection)?
    .into_iter()
    .map(|row| {
        (
            (row.source, row.external_id),
            (row.id, row.channel, row.started_at),
        )
    })
    .collect())
}

fn find_interaction(
    found: &HashMap<(String, String), InteractionFacts>,
    source: &str,
    external_id: &str,
) -> AppResult<InteractionFacts> {
    found
        .get(&(source.to_owned(), external_id.to_owned()))
        .copied()
        .ok_or_else(|| {
            AppError::bad_input(
                "interactionExternalId",
                format!("no interaction ({source}, {external_id}); import interactions first"),
            )
        })
}

/// Records imported responses inside the caller's transaction; one outcome per row.
pub fn record_response_batch(
    connection: &mut PgConnection,
    rows: &[ResponseSubmission],
    now: DateTime<Utc>,
) -> AppResult<Vec<RowOutcome>> {
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.interaction_source.as_str(),
                row.interaction_external_id.as_str(),
            )
        })
        .collect();
    let found = interactions_by_key(connection, &keys)?;
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let mut new_rows: Vec<(usize, NewSurveyResponse)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let checked = (|| -> AppResult<NewSurveyResponse> {
            validate_key(&row.source, &row.external_id)?;
            row.answers.validate()?;
            if row.submitted_at > now + chrono::Duration::seconds(60) {
                return Err(AppError::bad_input(
                    "submittedAt",
                    "must not be in the future",
                ));
            }
            let (interaction_id, channel, started_at) = find_interaction(
                &found,
                &row.interaction_source,
                &row.interaction_external_id,
            )?;
            check_kind_fits_channel(row.kind, channel)?;
            if row.submitted_at < started_at {
                return Err(AppError::bad_input(
                    "submittedAt",
                    "must not be before the interaction started",
                ));
            }
            Ok(NewSurveyResponse {
                source: Some(row.source.clone()),
                external_id: Some(row.external_id.clone()),
                kind: row.kind,
                interaction_id,
                invitation_id: None,
                recorded_by: None,
                submitted_at: row.submitted_at.trunc_subsecs(6),
                satisfaction: row.answers.satisfaction,
                trust: row.answers.trust,
                effectiveness: row.answers.effectiveness,
                ease: row.answers.ease,
                efficiency: row.answers.efficiency,
                transparency: row.answers.transparency,
                helpfulness: row.answers.helpfulness,
                resolved: row.answers.resolved,
                comment: row.answers.comment.clone(),
            })
        })();
        match checked {
            Ok(new) => new_rows.push((index, new)),
            Err(error) => outcomes[index] = Some(RowOutcome::Rejected(error)),
        }
    }
    let inserted = insert_new_responses(
        connection,
        &new_rows.iter().map(|(_, new)| new).collect::<Vec<_>>(),
    )?;
    let mut claimed = HashSet::new();
    for (index, new) in new_rows {
        let key = (
            new.source.clone().unwrap_or_default(),
            new.external_id.clone().unwrap_or_default(),
        );
        outcomes[index] = Some(match inserted.get(&key) {
            Some(&id) if claimed.insert(id) => RowOutcome::Inserted(id),
            _ => {
                let current: SurveyResponse = survey_responses::table
                    .filter(survey_responses::source.eq(&key.0))
                    .filter(survey_responses::external_id.eq(&key.1))
                    .select(SurveyResponse::as_select())
                    .first(connection)?;
                let same = current.kind == new.kind
                    && current.interaction_id == new.interaction_id
                    && current.submitted_at == new.submitted_at
                    && (
                        current.satisfaction,
                        current.trust,
                        current.effectiveness,
                        current.ease,
                    ) == (new.satisfaction, new.trust, new.effectiveness, new.ease)
                    && (
                        current.efficiency,
                        current.transparency,
                        current.helpfulness,
                        current.resolved,
                    ) == (
                        new.efficiency,
                        new.transparency,
                        new.helpfulness,
                        new.resolved,
                    )
                    && current.comment == new.comment;
                if same {
                    RowOutcome::Unchanged(current.id)
                } else {
                    RowOutcome::Conflict {
                        id: current.id,
                        message: format!(
                            "survey response ({}, {}) was already recorded with different content",
                            key.0, key.1
                        ),
                    }
                }
            }
        });
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every row has an outcome"))
        .collect())
}

/// Records imported invitations inside the caller's transaction; one outcome per row.
pub fn record_invitation_batch(
    connection: &mut PgConnection,
    rows: &[InvitationSubmission],
    now: DateTime<Utc>,
) -> AppResult<Vec<RowOutcome>> {
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row.interaction_source.as_str(),
                row.interaction_external_id.as_str(),
            )
        })
        .collect();
    let found = interactions_by_key(connection, &keys)?;
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let mut new_rows: Vec<(usize, NewSurveyInvitation)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let checked = (|| -> AppResult<NewSurveyInvitation> {
            validate_key(&row.source, &row.external_id)?;
            if row.sent_at > now + chrono::Duration::seconds(60) {
                return Err(AppError::bad_input("sentAt", "must not be in the future"));
            }
            let (interaction_id, channel, _) = find_interaction(
                &found,
                &row.interaction_source,
                &row.interaction_external_id,
            )?;
            check_kind_fits_channel(row.kind, channel)?;
            Ok(NewSurveyInvitation {
                source: Some(row.source.clone()),
                external_id: Some(row.external_id.clone()),
                interaction_id,
                kind: row.kind,
                sent_at: row.sent_at.trunc_subsecs(6),
                expires_at: None,
                token_hash: None,
                responded_at: None,
            })
        })();
        match checked {
            Ok(new) => new_rows.push((index, new)),
            Err(error) => outcomes[index] = Some(RowOutcome::Rejected(error)),
        }
    }
    let inserted = insert_new_invitations(
        connection,
        &new_rows.iter().map(|(_, new)| new).collect::<Vec<_>>(),
    )?;
    let mut claimed = HashSet::new();
    for (index, new) in new_rows {
        let key = (
            new.source.clone().unwrap_or_default(),
            new.external_id.clone().unwrap_or_default(),
        );
        outcomes[index] = Some(match inserted.get(&key) {
            Some(&id) if claimed.insert(id) => RowOutcome::Inserted(id),
            _ => {
                let current: SurveyInvitation = survey_invitations::table
                    .filter(survey_invitations::source.eq(&key.0))
                    .filter(survey_invitations::external_id.eq(&key.1))
                    .select(SurveyInvitation::as_select())
                    .first(connection)?;
                if current.kind == new.kind
                    && current.interaction_id == new.interaction_id
                    && current.sent_at == new.sent_at
                {
                    RowOutcome::Unchanged(current.id)
                } else {
                    RowOutcome::Conflict {
                        id: current.id,
                        message: format!(
                            "survey invitation ({}, {}) was already recorded with different content",
                            key.0, key.1
                        ),
                    }
                }
            }
        });
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every row has an outcome"))
        .collect())
}

/// A row `INSERT … RETURNING` reports: its key and new id.
#[derive(QueryableByName)]
struct InsertedKey {
    #[diesel(sql_type = diesel::sql_types::Text)]
    source: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    external_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn by_key(rows: Vec<InsertedKey>) -> HashMap<(String, String), i64> {
    rows.into_iter()
        .map(|row| ((row.source, row.external_id), row.id))
        .collect()
}

/// Inserts imported responses whose key is new, in one statement with one array per column
/// (far cheaper to send, parse and plan than thousands of bound rows), and returns their ids
/// by key; rows whose key exists are left alone for comparison.
fn insert_new_responses(
    connection: &mut PgConnection,
    rows: &[&NewSurveyResponse],
) -> AppResult<HashMap<(String, String), i64>> {
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, SmallInt, Text, Timestamptz};
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let likert = |pick: fn(&NewSurveyResponse) -> Option<i16>| -> Vec<Option<i16>> {
        rows.iter().map(|row| pick(row)).collect()
    };
    let inserted: Vec<InsertedKey> = diesel::sql_query(
        "INSERT INTO survey_responses (source, external_id, kind, interaction_id, submitted_at, \
           satisfaction, trust, effectiveness, ease, efficiency, transparency, helpfulness, \
           resolved, comment) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::timestamptz[], \
           $6::int2[], $7::int2[], $8::int2[], $9::int2[], $10::int2[], $11::int2[], $12::int2[], \
           $13::bool[], $14::text[]) \
         ON CONFLICT (source, external_id) DO NOTHING \
         RETURNING source, external_id, id",
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.source.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.external_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|row| row.kind.as_db_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<BigInt>, _>(
        rows.iter()
            .map(|row| row.interaction_id)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.submitted_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.satisfaction))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.trust))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.effectiveness))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.ease))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.efficiency))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.transparency))
    .bind::<Array<Nullable<SmallInt>>, _>(likert(|row| row.helpfulness))
    .bind::<Array<Nullable<Bool>>, _>(rows.iter().map(|row| row.resolved).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.comment.as_deref())
            .collect::<Vec<_>>(),
    )
    .load(connection)?;
    Ok(by_key(inserted))
}

/// Inserts imported invitations whose key is new, like [`insert_new_responses`].
fn insert_new_invitations(
    connection: &mut PgConnection,
    rows: &[&NewSurveyInvitation],
) -> AppResult<HashMap<(String, String), i64>> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let inserted: Vec<InsertedKey> = diesel::sql_query(
        "INSERT INTO survey_invitations (source, external_id, interaction_id, kind, sent_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::timestamptz[]) \
         ON CONFLICT (source, external_id) DO NOTHING \
         RETURNING source, external_id, id",
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.source.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|row| row.external_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<BigInt>, _>(
        rows.iter()
            .map(|row| row.interaction_id)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|row| row.kind.as_db_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|row| row.sent_at).collect::<Vec<_>>())
    .load(connection)?;
    Ok(by_key(inserted))
}

/// Marks invitations answered when a response of the same kind exists for the same interaction
/// (imports bring invitations and responses separately, in either order).
pub fn mark_answered_invitations(
    connection: &mut PgConnection,
    interaction_ids: &[i64],
) -> AppResult<usize> {
    if interaction_ids.is_empty() {
        return Ok(0);
    }
    // The interaction ids also filter the invitations directly, so they are found through
    // their index: planned from the join alone, the update scanned every invitation.
    Ok(diesel::sql_query(
        "UPDATE survey_invitations i SET responded_at = r.submitted_at \
         FROM (SELECT interaction_id, kind, min(submitted_at) AS submitted_at FROM survey_responses \
               WHERE interaction_id = ANY($1) GROUP BY interaction_id, kind) r \
         WHERE i.interaction_id = r.interaction_id AND i.kind = r.kind AND i.responded_at IS NULL \
           AND i.interaction_id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(interaction_ids)
    .execute(connection)?)
}
