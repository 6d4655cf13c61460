//! The closed vocabularies of the data model (roles, channels, outcomes, survey kinds, …).
//!
//! Each is stored as `TEXT` guarded by a `CHECK` constraint, exposed as a GraphQL enum, and parsed
//! from import files in lower snake case. One macro keeps the three spellings in step.

use std::{fmt, str::FromStr};

use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::Text,
};

/// An input value that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "unknown {} `{}` (expected one of: {})",
            self.kind,
            crate::domain::text::quote(&self.value),
            self.expected
        )
    }
}

macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $kind:literal { $( $(#[$variant_meta:meta])* $variant:ident => $db:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            async_graphql::Enum,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
            serde::Serialize, serde::Deserialize,
        )]
        #[diesel(sql_type = Text)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling stored in the database.
            pub fn as_db_str(self) -> &'static str {
                match self { $($name::$variant => $db),+ }
            }

            /// The spelling used in import files (lower snake case).
            pub fn as_file_str(self) -> String {
                self.as_db_str().to_ascii_lowercase()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_db_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            /// Accepts the database, GraphQL and file spellings, case-insensitively.
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let trimmed = value.trim();
                $(
                    if trimmed.eq_ignore_ascii_case($db) {
                        return Ok($name::$variant);
                    }
                )+
                Err(UnknownValue {
                    kind: $kind,
                    value: value.to_owned(),
                    expected: [$($db),+].map(|spelling: &str| spelling.to_ascii_lowercase()).join(", "),
                })
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_db_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                text.parse().map_err(|error: UnknownValue| error.to_string().into())
            }
        }
    };
}

text_enum! {
    /// What a user may do (docs/roles.md).
    Role as "role" {
        /// Integrations that push interactions and survey data.
        Ingest => "ingest",
        /// Front-line staff; sees their own work.
        Agent => "agent",
        /// Sees and manages their org-unit subtree.
        Supervisor => "supervisor",
        /// BI service accounts: aggregates, no PII.
        Analyst => "analyst",
        /// Legislative oversight: reads everything but contact details; the audit trail.
        Auditor => "auditor",
        /// Program administrators.
        Admin => "admin",
    }
}

text_enum! {
    /// How a customer reached the center.
    Channel as "channel" {
        Phone => "PHONE",
        Chat => "CHAT",
        Email => "EMAIL",
        InPerson => "IN_PERSON",
        Mail => "MAIL",
        WebSelfService => "WEB_SELF_SERVICE",
        Ivr => "IVR",
        Sms => "SMS",
    }
}

impl Channel {
    /// Served by staff (as opposed to self-service).
    pub fn is_assisted(self) -> bool {
        matches!(
            self,
            Channel::Phone | Channel::Chat | Channel::Email | Channel::InPerson | Channel::Mail
        )
    }

    /// Has a queue: waits and abandons are meaningful.
    pub fn is_queued(self) -> bool {
        matches!(self, Channel::Phone | Channel::Chat)
    }
}

text_enum! {
    /// How an interaction ended.
    Outcome as "outcome" {
        Resolved => "resolved",
        Unresolved => "unresolved",
        Referred => "referred",
        Escalated => "escalated",
    }
}

text_enum! {
    /// Which survey instrument a response or invitation belongs to.
    SurveyKind as "survey kind" {
        PostCall => "post_call",
        LiveChat => "live_chat",
        FollowUp => "follow_up",
    }
}

text_enum! {
    /// Where a resource allocation stands.
    AllocationStatus as "allocation status" {
        Proposed => "proposed",
        Approved => "approved",
        Rejected => "rejected",
    }
}

text_enum! {
    /// How a service standard's target is compared with the actual value.
    Comparator as "comparator" {
        /// Met when actual ≥ target.
        AtLeast => "AT_LEAST",
        /// Met when actual ≤ target.
        AtMost => "AT_MOST",
    }
}

text_enum! {
    /// The metrics of the reporting contract (docs/metrics.md).
    MetricKind as "metric" {
        Interactions => "INTERACTIONS",
        AbandonmentRate => "ABANDONMENT_RATE",
        AverageSpeedOfAnswer => "AVERAGE_SPEED_OF_ANSWER",
        ServiceLevel => "SERVICE_LEVEL",
        AverageHandleTime => "AVERAGE_HANDLE_TIME",
        TransferRate => "TRANSFER_RATE",
        FirstContactResolution => "FIRST_CONTACT_RESOLUTION",
        SelfServiceContainment => "SELF_SERVICE_CONTAINMENT",
        Csat => "CSAT",
        Trust => "TRUST",
        Effectiveness => "EFFECTIVENESS",
        Ease => "EASE",
        Efficiency => "EFFICIENCY",
        Transparency => "TRANSPARENCY",
        Helpfulness => "HELPFULNESS",
        ReportedResolution => "REPORTED_RESOLUTION",
        SurveyResponseRate => "SURVEY_RESPONSE_RATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("web_self_service".parse(), Ok(Channel::WebSelfService));
        assert_eq!("WEB_SELF_SERVICE".parse(), Ok(Channel::WebSelfService));
        assert_eq!("POST_CALL".parse(), Ok(SurveyKind::PostCall));
        assert_eq!(Channel::InPerson.as_file_str(), "in_person");
        let error = "fax".parse::<Channel>().unwrap_err();
        assert!(error.to_string().contains("unknown channel `fax`"));
        assert!(error.to_string().contains("web_self_service"));
    }

    #[test]
    fn channel_classes_follow_the_design() {
        let assisted: Vec<_> = Channel::ALL.iter().filter(|c| c.is_assisted()).collect();
        assert_eq!(assisted.len(), 5);
        let queued: Vec<_> = Channel::ALL.iter().filter(|c| c.is_queued()).collect();
        assert_eq!(queued, vec![&Channel::Phone, &Channel::Chat]);
    }
}
