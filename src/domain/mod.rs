//! Domain rules shared by every entry point (GraphQL, HTTP endpoints, imports, the command
//! line): the one place each rule about an input value lives.
//!
//! - [`text`]: what PostgreSQL cannot store, and how a bad value is quoted back.
//! - [`survey`]: a survey's answers, the seven A-11 items named once.
//! - [`values`]: the value types (emails, codes, bounded text, external keys, Likert answers,
//!   durations, event times, report dates), each constructed only by its parser.

pub mod survey;
pub mod text;
pub mod values;

pub use survey::{Answers, LikertItem, RawAnswers};
pub use values::{
    parse_boolean, parse_count, BoundedText, Code, Comment, CustomerRef, Description, Email,
    EventTime, ExternalKey, Likert, Name, Note, Phone, ReportDate, Seconds,
};
