//! `survey_invitations` and `survey_responses`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::Answers;

use crate::db::{
    enums::SurveyKind,
    schema::{survey_invitations, survey_responses},
};

/// The answers a row with the seven Likert columns holds (the one place they are read back;
/// a row to insert and a stored row share the columns, not a type).
macro_rules! stored_answers {
    ($row:expr) => {
        Answers::stored(
            [
                $row.satisfaction,
                $row.trust,
                $row.effectiveness,
                $row.ease,
                $row.efficiency,
                $row.transparency,
                $row.helpfulness,
            ],
            $row.resolved,
            $row.comment.as_deref(),
        )
    };
}

/// A survey offered for an interaction.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = survey_invitations, check_for_backend(diesel::pg::Pg))]
pub struct SurveyInvitation {
    pub id: i64,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub interaction_id: i64,
    pub kind: SurveyKind,
    pub sent_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// sha256 of the one-time token (never the token).
    pub token_hash: Option<Vec<u8>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When retention erased the token hash (the link stopped resolving then, if not before).
    pub token_erased_at: Option<DateTime<Utc>>,
}

/// An invitation to create.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = survey_invitations)]
pub struct NewSurveyInvitation {
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub interaction_id: i64,
    pub kind: SurveyKind,
    pub sent_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub token_hash: Option<Vec<u8>>,
    pub responded_at: Option<DateTime<Utc>>,
}

/// One answered survey.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = survey_responses, check_for_backend(diesel::pg::Pg))]
pub struct SurveyResponse {
    pub id: i64,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub kind: SurveyKind,
    pub interaction_id: i64,
    pub invitation_id: Option<i64>,
    pub recorded_by: Option<i64>,
    pub submitted_at: DateTime<Utc>,
    pub satisfaction: Option<i16>,
    pub trust: Option<i16>,
    pub effectiveness: Option<i16>,
    pub ease: Option<i16>,
    pub efficiency: Option<i16>,
    pub transparency: Option<i16>,
    pub helpfulness: Option<i16>,
    pub resolved: Option<bool>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When retention erased the comment (null: never erased).
    pub comment_erased_at: Option<DateTime<Utc>>,
}

/// A response to record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = survey_responses)]
pub struct NewSurveyResponse {
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub kind: SurveyKind,
    pub interaction_id: i64,
    pub invitation_id: Option<i64>,
    pub recorded_by: Option<i64>,
    pub submitted_at: DateTime<Utc>,
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

/// The facts of a response other than its answers.
#[derive(Debug, Clone)]
pub struct ResponseFacts {
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub kind: SurveyKind,
    pub interaction_id: i64,
    pub invitation_id: Option<i64>,
    pub recorded_by: Option<i64>,
    pub submitted_at: DateTime<Utc>,
}

impl NewSurveyResponse {
    /// A response to record: its facts and its answers (the one place the seven Likert items
    /// meet their columns on the way in).
    pub fn new(facts: ResponseFacts, answers: &Answers) -> Self {
        let [satisfaction, trust, effectiveness, ease, efficiency, transparency, helpfulness] =
            answers.likert_columns();
        Self {
            source: facts.source,
            external_id: facts.external_id,
            kind: facts.kind,
            interaction_id: facts.interaction_id,
            invitation_id: facts.invitation_id,
            recorded_by: facts.recorded_by,
            submitted_at: facts.submitted_at,
            satisfaction,
            trust,
            effectiveness,
            ease,
            efficiency,
            transparency,
            helpfulness,
            resolved: answers.resolved(),
            comment: answers.comment().map(str::to_owned),
        }
    }

    /// The answers this row holds.
    pub fn answers(&self) -> Answers {
        stored_answers!(self)
    }
}

impl SurveyResponse {
    /// The answers this response holds.
    pub fn answers(&self) -> Answers {
        stored_answers!(self)
    }
}
