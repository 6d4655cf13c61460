//! The answers of a survey (the OMB A-11 driver items): seven 1–5 Likert items, "my issue was
//! resolved", and an optional comment. The seven items are named here once ([`LikertItem`]);
//! every entry point (the API, the hosted page, imports, the seed) builds [`Answers`] through
//! [`Answers::parse`], and the database model maps them to its columns in one place.

use crate::{
    domain::{Comment, Likert},
    error::{AppError, AppResult},
};

/// The seven Likert items, in the order the survey asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LikertItem {
    Satisfaction,
    Trust,
    Effectiveness,
    Ease,
    Efficiency,
    Transparency,
    Helpfulness,
}

impl LikertItem {
    /// Every item, in question order.
    pub const ALL: [LikertItem; 7] = [
        LikertItem::Satisfaction,
        LikertItem::Trust,
        LikertItem::Effectiveness,
        LikertItem::Ease,
        LikertItem::Efficiency,
        LikertItem::Transparency,
        LikertItem::Helpfulness,
    ];

    /// The item's name in the API, the import formats and the page's form (one word each).
    pub fn name(self) -> &'static str {
        match self {
            LikertItem::Satisfaction => "satisfaction",
            LikertItem::Trust => "trust",
            LikertItem::Effectiveness => "effectiveness",
            LikertItem::Ease => "ease",
            LikertItem::Efficiency => "efficiency",
            LikertItem::Transparency => "transparency",
            LikertItem::Helpfulness => "helpfulness",
        }
    }

    /// The item a name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|item| item.name() == name)
    }

    /// Its position in question order (0–6).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Answers as they arrive, before [`Answers::parse`]: numbers not yet checked, a comment not
/// yet trimmed or bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAnswers {
    /// By [`LikertItem::index`].
    pub likert: [Option<i64>; 7],
    pub resolved: Option<bool>,
    pub comment: Option<String>,
}

impl RawAnswers {
    /// Sets one Likert item.
    pub fn set(&mut self, item: LikertItem, value: Option<i64>) {
        self.likert[item.index()] = value;
    }
}

/// A survey's answers, each within its rules; at least one question answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    likert: [Option<Likert>; 7],
    resolved: Option<bool>,
    comment: Option<Comment>,
}

impl Answers {
    /// Every rule the answers break, in question order (the hosted page lists them all); the
    /// answers when they break none. A blank comment is no comment.
    pub fn parse_all(raw: RawAnswers) -> Result<Self, Vec<AppError>> {
        let mut problems = Vec::new();
        let mut likert = [None; 7];
        for item in LikertItem::ALL {
            if let Some(value) = raw.likert[item.index()] {
                match Likert::parse(item.name(), value) {
                    Ok(answer) => likert[item.index()] = Some(answer),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        let comment = match Comment::parse_optional("comment", raw.comment.as_deref()) {
            Ok(comment) => comment,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        if raw.likert.iter().all(Option::is_none) && raw.resolved.is_none() && comment.is_none() {
            problems.push(AppError::invalid(
                "a survey response must answer at least one question",
            ));
        }
        if problems.is_empty() {
            Ok(Self {
                likert,
                resolved: raw.resolved,
                comment,
            })
        } else {
            Err(problems)
        }
    }

    /// Like [`Answers::parse_all`], reporting the first problem.
    pub fn parse(raw: RawAnswers) -> AppResult<Self> {
        Self::parse_all(raw).map_err(|problems| {
            problems
                .into_iter()
                .next()
                .expect("a refusal names a problem")
        })
    }

    /// The answers of a stored response (the database's CHECKs keep them in range). A comment
    /// that retention erased is absent.
    pub fn stored(likert: [Option<i16>; 7], resolved: Option<bool>, comment: Option<&str>) -> Self {
        Self {
            likert: likert.map(|value| value.and_then(Likert::from_stored)),
            resolved,
            comment: comment.and_then(|text| Comment::parse("comment", text).ok()),
        }
    }

    /// One Likert answer.
    pub fn get(&self, item: LikertItem) -> Option<Likert> {
        self.likert[item.index()]
    }

    /// The Likert answers as the database stores them, by [`LikertItem::index`].
    pub fn likert_columns(&self) -> [Option<i16>; 7] {
        self.likert.map(|answer| answer.map(Likert::get))
    }

    pub fn resolved(&self) -> Option<bool> {
        self.resolved
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_ref().map(Comment::as_str)
    }

    /// Whether `self` holds the same answers as `recorded`, ignoring the comment when
    /// `comment_erased` (retention removed it: a retry that still carries it is the same
    /// record, and the comment is not written back).
    pub fn same_as(&self, recorded: &Answers, comment_erased: bool) -> bool {
        self.likert == recorded.likert
            && self.resolved == recorded.resolved
            && (comment_erased || self.comment == recorded.comment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_problem_is_listed_in_question_order() {
        let mut raw = RawAnswers::default();
        raw.set(LikertItem::Trust, Some(9));
        raw.set(LikertItem::Helpfulness, Some(0));
        raw.comment = Some("x".repeat(4_001));
        let problems = Answers::parse_all(raw).unwrap_err();
        let fields: Vec<Option<String>> = problems
            .iter()
            .map(|problem| match problem {
                AppError::BadUserInput { field, .. } => field.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                Some("trust".into()),
                Some("helpfulness".into()),
                Some("comment".into())
            ]
        );
    }

    #[test]
    fn a_blank_comment_is_no_answer() {
        let raw = RawAnswers {
            comment: Some("   ".into()),
            ..RawAnswers::default()
        };
        let problem = Answers::parse(raw).unwrap_err();
        assert!(problem.to_string().contains("at least one question"));
        let raw = RawAnswers {
            resolved: Some(false),
            comment: Some("  thanks \n".into()),
            ..RawAnswers::default()
        };
        let answers = Answers::parse(raw).unwrap();
        assert_eq!(answers.comment(), Some("thanks"));
        assert_eq!(answers.likert_columns(), [None; 7]);
    }

    #[test]
    fn names_round_trip() {
        for item in LikertItem::ALL {
            assert_eq!(LikertItem::from_name(item.name()), Some(item));
        }
        assert_eq!(LikertItem::from_name("courtesy"), None);
    }

    proptest! {
        #[test]
        fn parsed_answers_store_what_was_given(values in proptest::array::uniform7(proptest::option::of(1i64..=5)), resolved in proptest::option::of(any::<bool>())) {
            prop_assume!(values.iter().any(Option::is_some) || resolved.is_some());
            let raw = RawAnswers { likert: values, resolved, comment: None };
            let answers = Answers::parse(raw).unwrap();
            prop_assert_eq!(answers.likert_columns(), values.map(|value| value.map(|v| v as i16)));
            let stored = Answers::stored(answers.likert_columns(), resolved, None);
            prop_assert!(answers.same_as(&stored, false));
        }
    }
}
