//! Follow-up assessments: a staff member records a customer's answers about an assisted
//! contact in their scope (`recordFollowUpAssessment`). This module owns the whole write: the
//! interaction must be visible to the recorder (otherwise `NOT_FOUND`, exactly as for an id
//! that does not exist), the survey kind must fit its channel, the optional idempotency key is
//! the recorder's own (two people's keys never collide, so a key reveals nothing about anyone
//! else's records), a retry with the same answers returns the original and different answers
//! are a `CONFLICT`, and the response and its audit event are one transaction.

use chrono::Utc;
use diesel::{pg::PgConnection, prelude::*};
use serde_json::json;

use crate::{
    audit::{self, Actor, Entry},
    auth::{scope::visible, Principal},
    db::{
        enums::SurveyKind,
        models::{Interaction, NewSurveyResponse, ResponseFacts, SurveyResponse},
        schema::{interactions, survey_responses},
    },
    domain::{Answers, ExternalKey},
    error::{AppError, AppResult},
    records::surveys::check_kind_fits_channel,
};

/// A follow-up assessment as a staff member submits it.
#[derive(Debug, Clone)]
pub struct FollowUpSubmission {
    pub interaction_id: i64,
    pub answers: Answers,
    /// The recorder's idempotency key, if they gave one.
    pub key: Option<ExternalKey>,
}

/// Records `submission` for `recorder` inside the caller's transaction; returns the response
/// (the original one for a retry).
pub fn record(
    connection: &mut PgConnection,
    recorder: &Principal,
    submission: &FollowUpSubmission,
    request_id: Option<String>,
) -> AppResult<SurveyResponse> {
    let interaction_id = submission.interaction_id;
    let mut query = interactions::table
        .filter(interactions::id.eq(interaction_id))
        .into_boxed();
    if let Some(visible) = visible::interactions(recorder.record_scope()) {
        query = query.filter(visible);
    }
    let interaction: Interaction = query
        .select(Interaction::as_select())
        .first(connection)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no interaction {interaction_id}")))?;
    check_kind_fits_channel(SurveyKind::FollowUp, interaction.channel)?;
    if let Some(key) = &submission.key {
        if let Some(existing) = recorded_by_key(connection, recorder.user_id, key)? {
            return same_or_conflict(existing, submission, key);
        }
    }
    let new = NewSurveyResponse::new(
        ResponseFacts {
            source: submission.key.as_ref().map(|key| key.source().to_owned()),
            external_id: submission
                .key
                .as_ref()
                .map(|key| key.external_id().to_owned()),
            kind: SurveyKind::FollowUp,
            interaction_id,
            invitation_id: None,
            recorded_by: Some(recorder.user_id),
            submitted_at: Utc::now(),
        },
        &submission.answers,
    );
    // A concurrent retry with the same key may win the insert: then it is compared like any
    // retry (the unique key is the recorder's, so only their own records can be in the way).
    let inserted: Option<SurveyResponse> = diesel::insert_into(survey_responses::table)
        .values(&new)
        .on_conflict_do_nothing()
        .returning(SurveyResponse::as_returning())
        .get_result(connection)
        .optional()?;
    let response = match (inserted, &submission.key) {
        (Some(response), _) => response,
        (None, Some(key)) => {
            let existing = recorded_by_key(connection, recorder.user_id, key)?
                .ok_or_else(|| AppError::internal("a conflicting follow-up vanished"))?;
            return same_or_conflict(existing, submission, key);
        }
        (None, None) => return Err(AppError::internal("a follow-up without a key conflicted")),
    };
    audit::record(
        connection,
        Entry::new(
            Actor::user(recorder.user_id, recorder.role),
            "survey_response.follow_up",
            "survey_response",
        )
        .entity_id(response.id)
        // The comment may hold PII and is not copied into the audit trail.
        .after(json!({ "interaction_id": interaction_id, "kind": "follow_up" }))
        .request_id(request_id),
    )?;
    Ok(response)
}

/// The response `recorder` recorded under `key`, if any.
fn recorded_by_key(
    connection: &mut PgConnection,
    recorder: i64,
    key: &ExternalKey,
) -> AppResult<Option<SurveyResponse>> {
    Ok(survey_responses::table
        .filter(survey_responses::recorded_by.eq(recorder))
        .filter(survey_responses::source.eq(key.source()))
        .filter(survey_responses::external_id.eq(key.external_id()))
        .select(SurveyResponse::as_select())
        .first(connection)
        .optional()?)
}

fn same_or_conflict(
    existing: SurveyResponse,
    submission: &FollowUpSubmission,
    key: &ExternalKey,
) -> AppResult<SurveyResponse> {
    let same = existing.interaction_id == submission.interaction_id
        && submission
            .answers
            .same_as(&existing.answers(), existing.comment_erased_at.is_some());
    if same {
        Ok(existing)
    } else {
        Err(AppError::Conflict(format!(
            "assessment ({}, {}) was already recorded with different content",
            key.source(),
            key.external_id()
        )))
    }
}
