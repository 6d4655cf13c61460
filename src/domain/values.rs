//! The value types of the domain, each constructed only by its parser (parse, don't validate):
//! once a value exists it is known good, so the rules live here once and every entry point —
//! GraphQL inputs, import rows, the command line — gets the same rule and the same message.
//! Parsers take the name of the input at fault, as that entry point spells it (`contactName`,
//! `contact_name`, `--email`), for the error.

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::{
    domain::text::{check_storable, quote},
    error::{AppError, AppResult},
};

/// Implements `as_str`, `Display`, `AsRef<str>` and `into_inner` for a newtype over `String`.
macro_rules! text_value {
    ($name:ident) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An email address: trimmed and lower-cased; `local@domain.tld` with at most 64 characters
/// before the `@`, a domain of dot-separated labels of letters, digits and `-` ending in a
/// top-level domain of letters, 254 characters at most. (Stricter than RFC 5322 on purpose: no
/// quoted local parts, comments or IP literals — what staff directories and contact forms use.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);
text_value!(Email);

impl Email {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        check_storable(field, raw)?;
        let email = raw.trim().to_lowercase();
        let invalid = || {
            AppError::bad_input(
                field,
                format!(
                    "`{}` is not an email address (name@example.gov)",
                    quote(raw.trim())
                ),
            )
        };
        if email.len() > 254 {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    /// The part before the `@` (a default display name).
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or(&self.0)
    }
}

/// A reference code (org unit, topic, course): 1–64 upper-case letters, digits, `_` or `-`,
/// starting with a letter or digit — what the database's CHECK constraints accept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);
text_value!(Code);

impl Code {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        check_storable(field, raw)?;
        let code = raw.trim();
        let valid = code.len() <= 64
            && code
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(Self(code.to_owned()))
        } else {
            Err(AppError::bad_input(
                field,
                format!(
                    "`{}` is not a code: use 1–64 upper-case letters, digits, `_` or `-`",
                    quote(code)
                ),
            ))
        }
    }
}

/// Text of bounded length: trimmed, not empty, at most `MAX` characters, no control characters
/// (line breaks and tabs only where `MULTILINE`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundedText<const MAX: usize, const MULTILINE: bool>(String);

impl<const MAX: usize, const MULTILINE: bool> BoundedText<MAX, MULTILINE> {
    /// The most characters allowed.
    pub const MAX_CHARS: usize = MAX;

    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        check_storable(field, raw)?;
        let text = raw.trim();
        if text.is_empty() {
            return Err(AppError::bad_input(field, "must not be empty"));
        }
        let length = text.chars().count();
        if length > MAX {
            return Err(AppError::bad_input(
                field,
                format!("is {length} characters long; at most {MAX} are allowed"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !(MULTILINE && matches!(c, '\n' | '\r' | '\t')))
        {
            return Err(AppError::bad_input(
                field,
                if MULTILINE {
                    "must not contain control characters other than line breaks and tabs"
                } else {
                    "must be one line without control characters"
                },
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Like [`BoundedText::parse`], with blank input meaning "not given".
    pub fn parse_optional(field: &str, raw: Option<&str>) -> AppResult<Option<Self>> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => Self::parse(field, text).map(Some),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an owned string.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize, const MULTILINE: bool> fmt::Display for BoundedText<MAX, MULTILINE> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A name: of a person, a business, an org unit, a topic, a course (one line, 200 characters).
pub type Name = BoundedText<200, false>;
/// A telephone number as the sending system wrote it (one line, 40 characters).
pub type Phone = BoundedText<40, false>;
/// A source system's opaque customer reference (one line, 200 characters).
pub type CustomerRef = BoundedText<200, false>;
/// A free-text survey comment (may hold PII; 4,000 characters, line breaks allowed).
pub type Comment = BoundedText<4_000, true>;
/// A reason, rationale or decision note (2,000 characters, line breaks allowed).
pub type Note = BoundedText<2_000, true>;
/// A course description (4,000 characters, line breaks allowed).
pub type Description = BoundedText<4_000, true>;

/// The idempotency key of a record sent by another system: the sending system (`source`,
/// 1–100 characters) and its own id for the record (`external_id`, 1–200), one line each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalKey {
    source: String,
    external_id: String,
}

impl ExternalKey {
    /// `source_field` and `id_field` name the two inputs for errors.
    pub fn parse(
        (source_field, source): (&str, &str),
        (id_field, external_id): (&str, &str),
    ) -> AppResult<Self> {
        Ok(Self {
            source: BoundedText::<100, false>::parse(source_field, source)?.into_inner(),
            external_id: BoundedText::<200, false>::parse(id_field, external_id)?.into_inner(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn external_id(&self) -> &str {
        &self.external_id
    }
}

/// A 1–5 answer to a Likert item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Likert(i16);

impl Likert {
    pub fn parse(field: &str, value: i64) -> AppResult<Self> {
        if (1..=5).contains(&value) {
            Ok(Self(value as i16))
        } else {
            Err(AppError::bad_input(field, "must be an answer from 1 to 5"))
        }
    }

    /// From text (`"4"`), as files carry it.
    pub fn parse_text(field: &str, raw: &str) -> AppResult<Self> {
        let value: i64 = raw.trim().parse().map_err(|_| {
            AppError::bad_input(
                field,
                format!("`{}` is not a whole number from 1 to 5", quote(raw.trim())),
            )
        })?;
        Self::parse(field, value)
    }

    /// A stored answer (the database's CHECK keeps it in range).
    pub fn from_stored(value: i16) -> Option<Self> {
        (1..=5).contains(&value).then_some(Self(value))
    }

    pub fn get(self) -> i16 {
        self.0
    }
}

/// A duration in whole seconds, from 0 to a week (waits and handling times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seconds(i32);

impl Seconds {
    /// The longest plausible wait or handling time.
    pub const MAX: i32 = 7 * 24 * 3600;

    pub fn parse(field: &str, value: i64) -> AppResult<Self> {
        if (0..=i64::from(Self::MAX)).contains(&value) {
            Ok(Self(value as i32))
        } else {
            Err(AppError::bad_input(
                field,
                format!("must be between 0 and {} seconds", Self::MAX),
            ))
        }
    }

    pub fn parse_text(field: &str, raw: &str) -> AppResult<Self> {
        let value: i64 = raw.trim().parse().map_err(|_| {
            AppError::bad_input(
                field,
                format!("`{}` is not a whole number of seconds", quote(raw.trim())),
            )
        })?;
        Self::parse(field, value)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A moment something happened: not before 2000-01-01 (nothing this program measures is older;
/// a year 0001 is a typo or a default) and not more than a minute ahead of this server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTime(DateTime<Utc>);

impl EventTime {
    /// How far ahead of the clock a sender's time may be (clock skew).
    pub const FUTURE_LEEWAY_SECONDS: i64 = 60;

    /// The earliest time accepted.
    pub fn earliest() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid instant")
    }

    pub fn parse(field: &str, value: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<Self> {
        if value < Self::earliest() {
            return Err(AppError::bad_input(
                field,
                format!("{} is before 2000-01-01", value.to_rfc3339()),
            ));
        }
        if value > now + chrono::Duration::seconds(Self::FUTURE_LEEWAY_SECONDS) {
            return Err(AppError::bad_input(field, "must not be in the future"));
        }
        Ok(Self(value))
    }

    /// From RFC 3339 text with an offset (`2026-11-02T10:00:00-05:00`), as files carry it.
    pub fn parse_text(field: &str, raw: &str, now: DateTime<Utc>) -> AppResult<Self> {
        let value = DateTime::parse_from_rfc3339(raw.trim())
            .map_err(|_| {
                AppError::bad_input(
                    field,
                    format!(
                        "`{}` is not an RFC 3339 time with offset",
                        quote(raw.trim())
                    ),
                )
            })?
            .with_timezone(&Utc);
        Self::parse(field, value, now)
    }

    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

/// A calendar date a report or a record may name: from 2000-01-01 to 2100-12-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportDate(NaiveDate);

impl ReportDate {
    pub fn parse(field: &str, value: NaiveDate) -> AppResult<Self> {
        let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
        let latest = NaiveDate::from_ymd_opt(2100, 12, 31).expect("a valid date");
        if (earliest..=latest).contains(&value) {
            Ok(Self(value))
        } else {
            Err(AppError::bad_input(
                field,
                format!("{value} is outside 2000-01-01 … 2100-12-31"),
            ))
        }
    }

    pub fn get(self) -> NaiveDate {
        self.0
    }
}

/// A strict boolean as files carry it: `true` or `false` (any case), nothing else.
pub fn parse_boolean(field: &str, raw: &str) -> AppResult<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::bad_input(
            field,
            format!("`{}` is not `true` or `false`", quote(raw.trim())),
        )),
    }
}

/// A count from 0 to `max`, as files carry it.
pub fn parse_count(field: &str, raw: &str, max: i64) -> AppResult<i32> {
    match raw.trim().parse::<i64>() {
        Ok(value) if (0..=max).contains(&value) => Ok(value as i32),
        _ => Err(AppError::bad_input(
            field,
            format!(
                "`{}` is not a whole number from 0 to {max}",
                quote(raw.trim())
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalised_and_strict() {
        let email = Email::parse("email", "  Pat.Owner+Ops@Agency.State.GOV ").unwrap();
        assert_eq!(email.as_str(), "pat.owner+ops@agency.state.gov");
        assert_eq!(email.local_part(), "pat.owner+ops");
        for bad in [
            "",
            "pat",
            "@agency.gov",
            "pat@",
            "pat@agency",
            "pat@@agency.gov",
            "pat@agency.g",
            "pat@-agency.gov",
            "pat@agency..gov",
            ".pat@agency.gov",
            "pa..t@agency.gov",
            "pat owner@agency.gov",
            "pat@agen\ncy.gov",
            "=1+2@x.example.4",
            "pat@agency.gov.1",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} was accepted");
        }
        let error = Email::parse("agent_email", "nope").unwrap_err();
        assert!(
            matches!(error, AppError::BadUserInput { field: Some(ref f), .. } if f == "agent_email")
        );
    }

    #[test]
    fn bounded_text_trims_and_limits() {
        assert_eq!(Name::parse("name", "  Acme  ").unwrap().as_str(), "Acme");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(
            Name::parse("name", &"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
        assert!(Name::parse("name", "two\nlines").is_err());
        assert!(Comment::parse("comment", "two\nlines\tok").is_ok());
        assert!(Comment::parse("comment", "bell\u{7}").is_err());
        assert_eq!(Name::parse_optional("name", Some("  ")).unwrap(), None);
    }

    #[test]
    fn times_and_dates_have_sane_bounds() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert!(EventTime::parse_text("started_at", "0001-01-01T00:00:00Z", now).is_err());
        assert!(EventTime::parse_text("started_at", "2026-11-30T12:00:59Z", now).is_ok());
        assert!(EventTime::parse_text("started_at", "2026-11-30T12:01:01Z", now).is_err());
        assert!(EventTime::parse_text("started_at", "2026-11-30 12:00", now).is_err());
        assert!(ReportDate::parse("from", NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()).is_err());
    }

    #[test]
    fn booleans_are_true_or_false_only() {
        assert!(parse_boolean("abandoned", "TRUE").unwrap());
        assert!(!parse_boolean("abandoned", "false").unwrap());
        for bad in ["yes", "1", "t", "no", ""] {
            assert!(parse_boolean("abandoned", bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_parsed_email_parses_again_to_itself(
            local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]",
            domain in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
            tld in "[a-z]{2,6}",
        ) {
            let raw = format!("{local}@{domain}.{tld}");
            prop_assume!(!local.contains(".."));
            let email = Email::parse("email", &raw).unwrap();
            prop_assert_eq!(Email::parse("email", email.as_str()).unwrap(), email.clone());
            prop_assert_eq!(Email::parse("email", &raw.to_uppercase()).unwrap(), email);
        }

        #[test]
        fn any_text_either_parses_within_bounds_or_is_refused(raw in any::<String>()) {
            match Name::parse("name", &raw) {
                Ok(name) => {
                    prop_assert!(name.as_str().chars().count() <= 200);
                    prop_assert!(!name.as_str().is_empty());
                    prop_assert!(!name.as_str().chars().any(char::is_control));
                    prop_assert_eq!(name.as_str(), name.as_str().trim());
                }
                Err(error) => {
                    let refused_as_input = matches!(error, AppError::BadUserInput { .. });
                    prop_assert!(refused_as_input);
                }
            }
        }

        #[test]
        fn codes_accept_exactly_the_documented_alphabet(raw in "\\PC{0,70}") {
            let accepted = Code::parse("code", &raw).is_ok();
            let trimmed = raw.trim();
            let expected = !trimmed.is_empty()
                && trimmed.len() <= 64
                && trimmed.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && trimmed.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
            prop_assert_eq!(accepted, expected);
        }

        #[test]
        fn likert_and_seconds_accept_their_ranges_only(value in any::<i64>()) {
            prop_assert_eq!(Likert::parse("x", value).is_ok(), (1..=5).contains(&value));
            prop_assert_eq!(Seconds::parse("x", value).is_ok(), (0..=i64::from(Seconds::MAX)).contains(&value));
        }

        #[test]
        fn event_times_accept_exactly_2000_to_a_minute_ahead(offset in -40_000_000_000i64..40_000_000_000i64) {
            let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
            let Some(value) = now.checked_add_signed(chrono::Duration::milliseconds(offset)) else {
                return Ok(());
            };
            let accepted = EventTime::parse("t", value, now).is_ok();
            prop_assert_eq!(accepted, value >= EventTime::earliest() && value <= now + chrono::Duration::seconds(60));
        }
    }
}
