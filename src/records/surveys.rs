//! Recording survey invitations and responses: validation of the answers, resolution of the
//! interaction they are about, and the same `(source, external_id)` idempotency as interactions.
//!
//! It is also the one home of the one-time survey link: minting a token (only its SHA-256 is
//! stored), building the link from the configured public base URL, creating an invitation
//! ([`create_invitation`], used by `createSurveyInvitation`), issuing links to invitations an
//! import has just created ([`issue_links_for_new_invitations`]), finding the open invitation a
//! link names ([`open_invitation`], the hosted page), and answering through a link
//! ([`submit_with_token`], used by both `submitSurveyResponse` and the hosted page, so the
//! one-time rule, the expiry, the per-address rate limit and the answer rules are the same
//! whichever way a customer answers).

use std::collections::{HashMap, HashSet};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, SubsecRound, Utc};
use diesel::{pg::PgConnection, prelude::*};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    admission::rate_limit::KeyedLimit,
    audit::{self, Actor, Entry},
    db::{
        enums::{Channel, SurveyKind},
        models::{
            NewSurveyInvitation, NewSurveyResponse, ResponseFacts, SurveyInvitation, SurveyResponse,
        },
        schema::{interactions, survey_invitations, survey_responses},
        Database,
    },
    domain::{EventTime, ExternalKey},
    error::{AppError, AppResult},
    records::{FieldNames, RowOutcome},
};

pub use crate::domain::Answers;

/// Longest comment kept (the rule of [`crate::domain::Comment`]).
pub const MAX_COMMENT_CHARS: usize = crate::domain::Comment::MAX_CHARS;

/// The prefix of every survey token.
pub const TOKEN_PREFIX: &str = "bms_";
/// Where the hosted survey page lives: a link is `PUBLIC_BASE_URL` + this + the token.
pub const SURVEY_PATH: &str = "/s/";
/// Days a link stays usable unless the caller says otherwise.
pub const DEFAULT_LINK_DAYS: i32 = 14;
/// Longest a link may stay usable.
pub const MAX_LINK_DAYS: i32 = 90;

/// Refused alike for unknown, expired and used tokens, so the answer tells nothing about which.
pub const INVALID_SURVEY_TOKEN: &str =
    "this survey link is not valid: it may have expired or already been used";

/// A new one-time token (`bms_` and 256 random bits, base64url) and the hash that is stored.
pub fn mint_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

/// What is stored of a token: its SHA-256 (the token has 256 random bits, so no salt or slow
/// hash is needed to make the hash useless to someone who reads it).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `text` has the shape of a token this server mints (anything else cannot be one).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    })
}

/// Builds survey links from the public base URL (see `PUBLIC_BASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyLinks {
    base: Option<String>,
}

impl SurveyLinks {
    /// Links under `base` (no trailing slash); `None` builds no links.
    pub fn new(base: Option<String>) -> Self {
        Self {
            base: base.map(|base| base.trim_end_matches('/').to_owned()),
        }
    }

    /// The customer's link for `token`, when a base URL is known.
    pub fn link(&self, token: &str) -> Option<String> {
        self.base
            .as_ref()
            .map(|base| format!("{base}{SURVEY_PATH}{token}"))
    }

    /// Whether links can be built.
    pub fn is_configured(&self) -> bool {
        self.base.is_some()
    }
}

/// `days` is a link lifetime `createSurveyInvitation` and the import accept.
pub fn check_link_days(field: &str, days: i32) -> AppResult<()> {
    if (1..=MAX_LINK_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            format!("must be from 1 to {MAX_LINK_DAYS}"),
        ))
    }
}

/// A new invitation and its link, shown once.
#[derive(Debug, Clone)]
pub struct CreatedInvitation {
    pub invitation: SurveyInvitation,
    /// The one-time token; only its hash is kept.
    pub token: String,
    /// `PUBLIC_BASE_URL/s/TOKEN`, when a base URL is configured.
    pub link: Option<String>,
}

/// Creates a one-time survey invitation for an interaction: checks the lifetime and that the
/// kind fits the interaction's channel, mints the token, stores its hash, and records the audit
/// event, in one transaction. The caller has authorized `actor` to record survey data.
pub async fn create_invitation(
    database: &Database,
    links: &SurveyLinks,
    actor: Actor,
    interaction_id: i64,
    kind: SurveyKind,
    expires_in_days: i32,
    request_id: Option<String>,
) -> AppResult<CreatedInvitation> {
    check_link_days("expiresInDays", expires_in_days)?;
    let (token, hash) = mint_token();
    let invitation = database
        .transaction(move |connection| {
            let channel: Channel = interactions::table
                .find(interaction_id)
                .select(interactions::channel)
                .first(connection)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("no interaction {interaction_id}")))?;
            check_kind_fits_channel(kind, channel)?;
            let sent_at = Utc::now();
            let invitation: SurveyInvitation = diesel::insert_into(survey_invitations::table)
                .values(NewSurveyInvitation {
                    source: None,
                    external_id: None,
                    interaction_id,
                    kind,
                    sent_at,
                    expires_at: Some(sent_at + chrono::Duration::days(i64::from(expires_in_days))),
                    token_hash: Some(hash),
                    responded_at: None,
                })
                .returning(SurveyInvitation::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(actor, "survey_invitation.create", "survey_invitation")
                    .entity_id(invitation.id)
                    .after(json!({ "interaction_id": interaction_id, "kind": kind, "expires_at": invitation.expires_at }))
                    .request_id(request_id),
            )?;
            Ok(invitation)
        })
        .await?;
    let link = links.link(&token);
    Ok(CreatedInvitation {
        invitation,
        token,
        link,
    })
}

/// What a customer's link opens: which contact the survey is about (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvitation {
    pub kind: SurveyKind,
    pub channel: Channel,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The invitation `token` opens, if it is known, unanswered and not expired; `None` otherwise,
/// whichever of the three it is.
pub async fn open_invitation(
    database: &Database,
    token: &str,
) -> AppResult<Option<OpenInvitation>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    database
        .run(move |connection| {
            let now = Utc::now();
            type Found = (SurveyKind, Option<DateTime<Utc>>, Channel, DateTime<Utc>);
            let found: Option<Found> = survey_invitations::table
                .inner_join(interactions::table)
                .filter(survey_invitations::token_hash.eq(&hash))
                .filter(survey_invitations::responded_at.is_null())
                .filter(survey_invitations::expires_at.gt(now))
                .select((
                    survey_invitations::kind,
                    survey_invitations::expires_at,
                    interactions::channel,
                    interactions::started_at,
                ))
                .first(connection)
                .optional()?;
            Ok(found.and_then(|(kind, expires_at, channel, started_at)| {
                Some(OpenInvitation {
                    kind,
                    channel,
                    started_at,
                    expires_at: expires_at?,
                })
            }))
        })
        .await
}

/// A response accepted through a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmittedResponse {
    pub response_id: i64,
    pub kind: SurveyKind,
}

/// A customer answers through their one-time link (`submitSurveyResponse` and the hosted
/// page). In this order: the per-address rate limit (every attempt counts, so the limit also
/// slows token guessing), the answer rules, then in one transaction the claim of the
/// invitation (known, unanswered, unexpired — refused alike with `NOT_FOUND` otherwise), the
/// response and its audit event. The comment is not copied into the audit trail.
pub async fn submit_with_token(
    database: &Database,
    limit: &KeyedLimit,
    client_address: &str,
    token: &str,
    answers: Answers,
    request_id: Option<String>,
) -> AppResult<SubmittedResponse> {
    // Counted in its own statement before anything else, so refused attempts (unknown tokens)
    // count too: guessing tokens is throttled like submitting. (The answers were parsed by the
    // caller: bad ones never got this far, and count as nothing.)
    limit.check(database, client_address).await?;
    if !looks_like_token(token) {
        return Err(AppError::NotFound(INVALID_SURVEY_TOKEN.into()));
    }
    let hash = token_hash(token);
    database
        .transaction(move |connection| {
            let now = Utc::now();
            // Claiming the invitation and checking it are one statement, so two concurrent
            // submissions of the same token cannot both succeed.
            let claimed: Option<SurveyInvitation> = diesel::update(survey_invitations::table)
                .filter(survey_invitations::token_hash.eq(&hash))
                .filter(survey_invitations::responded_at.is_null())
                .filter(survey_invitations::expires_at.gt(now))
                .set(survey_invitations::responded_at.eq(now))
                .returning(SurveyInvitation::as_returning())
                .get_result(connection)
                .optional()?;
            let Some(invitation) = claimed else {
                return Err(AppError::NotFound(INVALID_SURVEY_TOKEN.into()));
            };
            let response: SurveyResponse = diesel::insert_into(survey_responses::table)
                .values(NewSurveyResponse::new(
                    ResponseFacts {
                        source: None,
                        external_id: None,
                        kind: invitation.kind,
                        interaction_id: invitation.interaction_id,
                        invitation_id: Some(invitation.id),
                        recorded_by: None,
                        submitted_at: now,
                    },
                    &answers,
                ))
                .returning(SurveyResponse::as_returning())
                .get_result(connection)?;
            audit::record(
                connection,
                Entry::new(Actor::anonymous(), "survey_response.submit", "survey_response")
                    .entity_id(response.id)
                    .after(json!({ "invitation_id": invitation.id, "interaction_id": invitation.interaction_id, "kind": invitation.kind }))
                    .request_id(request_id),
            )?;
            Ok(SubmittedResponse {
                response_id: response.id,
                kind: invitation.kind,
            })
        })
        .await
}

/// Links for the invitations an import batch has just created: how long they stay usable and
/// where they point.
#[derive(Debug, Clone)]
pub struct LinkIssuing {
    pub links: SurveyLinks,
    pub expires_in_days: i32,
}

/// A link issued to an imported invitation, handed back once in the import report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IssuedLink {
    /// The line of the file that created the invitation.
    pub line: u64,
    pub invitation_id: i64,
    pub source: String,
    pub external_id: String,
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// Mints a link for each of `invitations` (`(line, id)` of rows the same transaction has just
/// inserted) that has none and is not already answered by an imported response, stores the
/// token hashes and the expiry, and returns the links with their lines. Invitations that
/// existed before the import are never given a link here: a link is handed out once, when its
/// invitation is created, and is not stored, so it can be neither shown again nor silently
/// replaced.
pub fn issue_links_for_new_invitations(
    connection: &mut PgConnection,
    invitations: &[(u64, i64)],
    issuing: &LinkIssuing,
    now: DateTime<Utc>,
) -> AppResult<Vec<IssuedLink>> {
    use diesel::sql_types::{Array, BigInt, Bytea, Nullable, Text, Timestamptz};
    #[derive(QueryableByName)]
    struct Linked {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Nullable<Text>)]
        source: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        external_id: Option<String>,
        #[diesel(sql_type = Bytea)]
        token_hash: Vec<u8>,
    }
    if invitations.is_empty() {
        return Ok(Vec::new());
    }
    let expires_at =
        now.trunc_subsecs(6) + chrono::Duration::days(i64::from(issuing.expires_in_days));
    let tokens: Vec<(String, Vec<u8>)> = invitations.iter().map(|_| mint_token()).collect();
    let linked: Vec<Linked> = diesel::sql_query(
        "UPDATE survey_invitations v SET token_hash = n.token_hash, expires_at = $3            FROM UNNEST($1::int8[], $2::bytea[]) AS n(id, token_hash)           WHERE v.id = n.id AND v.token_hash IS NULL AND v.responded_at IS NULL             AND NOT EXISTS (SELECT 1 FROM survey_responses r                              WHERE r.interaction_id = v.interaction_id AND r.kind = v.kind)          RETURNING v.id, v.source, v.external_id, v.token_hash",
    )
    .bind::<Array<BigInt>, _>(invitations.iter().map(|(_, id)| *id).collect::<Vec<_>>())
    .bind::<Array<Bytea>, _>(
        tokens
            .iter()
            .map(|(_, hash)| hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Timestamptz, _>(expires_at)
    .load(connection)?;
    let token_of: HashMap<&[u8], &str> = tokens
        .iter()
        .map(|(token, hash)| (hash.as_slice(), token.as_str()))
        .collect();
    let line_of: HashMap<i64, u64> = invitations.iter().map(|(line, id)| (*id, *line)).collect();
    let mut issued: Vec<IssuedLink> = linked
        .into_iter()
        .filter_map(|row| {
            let token = token_of.get(row.token_hash.as_slice())?;
            Some(IssuedLink {
                line: *line_of.get(&row.id)?,
                invitation_id: row.id,
                source: row.source.unwrap_or_default(),
                external_id: row.external_id.unwrap_or_default(),
                link: issuing.links.link(token)?,
                expires_at,
            })
        })
        .collect();
    issued.sort_by_key(|link| link.line);
    Ok(issued)
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

/// An imported response, about the interaction `interaction` names.
#[derive(Debug, Clone)]
pub struct ResponseSubmission {
    pub key: ExternalKey,
    pub interaction: ExternalKey,
    pub kind: SurveyKind,
    pub submitted_at: EventTime,
    pub answers: Answers,
}

/// An imported invitation.
#[derive(Debug, Clone)]
pub struct InvitationSubmission {
    pub key: ExternalKey,
    pub interaction: ExternalKey,
    pub kind: SurveyKind,
    pub sent_at: EventTime,
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
    key: &ExternalKey,
    names: FieldNames,
) -> AppResult<InteractionFacts> {
    found
        .get(&(key.source().to_owned(), key.external_id().to_owned()))
        .copied()
        .ok_or_else(|| {
            AppError::bad_input(
                names.pick("interactionExternalId", "interaction_external_id"),
                format!(
                    "no interaction ({}, {}); import interactions first",
                    key.source(),
                    key.external_id()
                ),
            )
        })
}

/// A survey row's time must not lie before the contact it is about.
fn check_not_before(
    field: &'static str,
    time: DateTime<Utc>,
    started_at: DateTime<Utc>,
) -> AppResult<()> {
    if time < started_at {
        return Err(AppError::bad_input(
            field,
            "must not be before the interaction started",
        ));
    }
    Ok(())
}

/// Records imported responses inside the caller's transaction; one outcome per row.
pub fn record_response_batch(
    connection: &mut PgConnection,
    rows: &[ResponseSubmission],
    names: FieldNames,
) -> AppResult<Vec<RowOutcome>> {
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row.interaction.source(), row.interaction.external_id()))
        .collect();
    let found = interactions_by_key(connection, &keys)?;
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let mut new_rows: Vec<(usize, NewSurveyResponse)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let checked = (|| -> AppResult<NewSurveyResponse> {
            let (interaction_id, channel, started_at) =
                find_interaction(&found, &row.interaction, names)?;
            check_kind_fits_channel(row.kind, channel)?;
            check_not_before(
                names.pick("submittedAt", "submitted_at"),
                row.submitted_at.get(),
                started_at,
            )?;
            Ok(NewSurveyResponse::new(
                ResponseFacts {
                    source: Some(row.key.source().to_owned()),
                    external_id: Some(row.key.external_id().to_owned()),
                    kind: row.kind,
                    interaction_id,
                    invitation_id: None,
                    recorded_by: None,
                    submitted_at: row.submitted_at.get().trunc_subsecs(6),
                },
                &row.answers,
            ))
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
                // Imported keys share the namespace of responses nobody recorded by hand.
                let current: SurveyResponse = survey_responses::table
                    .filter(survey_responses::recorded_by.is_null())
                    .filter(survey_responses::source.eq(&key.0))
                    .filter(survey_responses::external_id.eq(&key.1))
                    .select(SurveyResponse::as_select())
                    .first(connection)?;
                let same = current.kind == new.kind
                    && current.interaction_id == new.interaction_id
                    && current.submitted_at == new.submitted_at
                    && new
                        .answers()
                        .same_as(&current.answers(), current.comment_erased_at.is_some());
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
    names: FieldNames,
) -> AppResult<Vec<RowOutcome>> {
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row.interaction.source(), row.interaction.external_id()))
        .collect();
    let found = interactions_by_key(connection, &keys)?;
    let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
    let mut new_rows: Vec<(usize, NewSurveyInvitation)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let checked = (|| -> AppResult<NewSurveyInvitation> {
            let (interaction_id, channel, started_at) =
                find_interaction(&found, &row.interaction, names)?;
            check_kind_fits_channel(row.kind, channel)?;
            // An invitation follows the contact it asks about.
            check_not_before(
                names.pick("sentAt", "sent_at"),
                row.sent_at.get(),
                started_at,
            )?;
            Ok(NewSurveyInvitation {
                source: Some(row.key.source().to_owned()),
                external_id: Some(row.key.external_id().to_owned()),
                interaction_id,
                kind: row.kind,
                sent_at: row.sent_at.get().trunc_subsecs(6),
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
         ON CONFLICT ((COALESCE(recorded_by, 0)), source, external_id) DO NOTHING \
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_shape_and_links_one_form() {
        let (token, hash) = mint_token();
        assert!(looks_like_token(&token), "{token}");
        assert_eq!(hash, token_hash(&token));
        assert_ne!(mint_token().0, token);
        for not_a_token in [
            "",
            "bms_",
            "bms_short",
            "xyz_0000000000000000000000000000000000000000000",
        ] {
            assert!(!looks_like_token(not_a_token), "{not_a_token}");
        }
        assert!(!looks_like_token(&format!("{token}/")));
        let links = SurveyLinks::new(Some("https://survey.example.gov/".into()));
        assert_eq!(
            links.link("bms_x").as_deref(),
            Some("https://survey.example.gov/s/bms_x")
        );
        assert_eq!(SurveyLinks::new(None).link("bms_x"), None);
        assert!(check_link_days("days", 90).is_ok());
        assert!(check_link_days("days", 0).is_err());
    }
}
