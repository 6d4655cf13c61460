//! The survey pages' HTML: the form (with its answers and errors when it comes back), the
//! thank-you page, the one page for every link that cannot be used, and the failure page.
//!
//! Every page is complete without JavaScript: radios and a textarea in a plain POST form,
//! labels tied to their inputs, one `fieldset`/`legend` per question, an error summary that
//! takes the focus and links to each field in error (GOV.UK's pattern), and a single column
//! that fits a phone. The only script counts the comment's characters. All text is escaped.

use chrono_tz::Tz;

use crate::{
    http::reports::escape_html,
    records::surveys::{OpenInvitation, MAX_COMMENT_CHARS},
};

use super::text::{Language, Text};

/// The stylesheet and script, served from this server (`/s/assets/…`).
pub const STYLESHEET_PATH: &str = "/s/assets/survey.css";
pub const SCRIPT_PATH: &str = "/s/assets/survey.js";

/// The answers as the form sent them, so the form can come back with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues {
    /// The seven agreement items by field name, as sent ("1"–"5", or anything a client made up).
    pub likert: Vec<(String, String)>,
    /// "yes" or "no".
    pub resolved: Option<String>,
    pub comment: String,
}

impl FormValues {
    fn likert(&self, field: &str) -> Option<&str> {
        self.likert
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// One problem to show: the field it belongs to (none: the whole form) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub field: Option<String>,
    pub message: String,
}

/// Where an error's link in the summary takes the focus.
fn anchor(field: Option<&str>) -> String {
    match field {
        None => "satisfaction-1".to_owned(),
        Some("comment") => "comment".to_owned(),
        Some("resolved") => "resolved-yes".to_owned(),
        Some(likert) => format!("{likert}-1"),
    }
}

/// The form page.
pub fn survey_form(
    language: Language,
    token: &str,
    invitation: &OpenInvitation,
    zone: Tz,
    values: &FormValues,
    errors: &[PageError],
) -> String {
    let text = language.text();
    let mut body = String::with_capacity(12 * 1024);
    if !errors.is_empty() {
        body.push_str(&error_summary(text, errors));
    }
    body.push_str(&format!(
        "<h1>{}</h1>\n<p class=\"about\">{}</p>\n<p>{}</p>\n",
        escape_html(text.survey_title),
        escape_html(text.about)
            .replace(
                "{channel}",
                &format!(
                    "<strong>{}</strong>",
                    escape_html(text.channel_phrase(invitation.channel))
                )
            )
            .replace(
                "{date}",
                &format!(
                    "<strong>{}</strong>",
                    escape_html(&text.long_date(invitation.started_at, zone))
                )
            ),
        escape_html(text.intro),
    ));
    body.push_str(&format!(
        "<form method=\"post\" action=\"/s/{token}?lang={lang}\" novalidate>\n<p class=\"hint\" id=\"scale-hint\">{hint}</p>\n",
        token = escape_html(token),
        lang = language.tag(),
        hint = escape_html(text.scale_hint),
    ));
    let error_of = |field: &str| {
        errors
            .iter()
            .find(|error| error.field.as_deref() == Some(field))
    };
    for (index, statement) in text.statements.iter().enumerate() {
        let number = index + 1;
        let field = statement.field;
        let chosen = values.likert(field);
        let options: Vec<(String, String, String)> = text
            .scale
            .iter()
            .enumerate()
            .map(|(position, label)| {
                let value = (position + 1).to_string();
                (
                    format!("{field}-{value}"),
                    value.clone(),
                    format!("{value} – {label}"),
                )
            })
            .collect();
        body.push_str(&question(
            text,
            number,
            field,
            statement.text,
            "scale",
            &options,
            chosen,
            error_of(field),
        ));
    }
    let yes_no = vec![
        (
            "resolved-yes".to_owned(),
            "yes".to_owned(),
            text.yes.to_owned(),
        ),
        (
            "resolved-no".to_owned(),
            "no".to_owned(),
            text.no.to_owned(),
        ),
    ];
    body.push_str(&question(
        text,
        text.statements.len() + 1,
        "resolved",
        text.resolved,
        "scale yes-no",
        &yes_no,
        values.resolved.as_deref(),
        error_of("resolved"),
    ));

    let comment_error = error_of("comment");
    let mut described_by = "comment-hint".to_owned();
    let mut comment_message = String::new();
    if let Some(error) = comment_error {
        described_by.push_str(" comment-error");
        comment_message = error_message(text, "comment-error", &error.message);
    }
    body.push_str(&format!(
        "<div class=\"question{class}\">\n<label class=\"question-label\" for=\"comment\">{label}</label>\n<p class=\"hint\" id=\"comment-hint\">{hint}</p>\n{comment_message}<textarea id=\"comment\" name=\"comment\" rows=\"6\" maxlength=\"{max}\" aria-describedby=\"{described_by}\"{invalid}>{value}</textarea>\n<p class=\"count\" id=\"comment-count\" data-template=\"{left}\" hidden></p>\n<p class=\"visually-hidden\" id=\"comment-count-live\" aria-live=\"polite\"></p>\n</div>\n",
        class = if comment_error.is_some() { " has-error" } else { "" },
        label = escape_html(text.comment_label),
        hint = escape_html(text.comment_hint),
        max = MAX_COMMENT_CHARS,
        invalid = if comment_error.is_some() { " aria-invalid=\"true\"" } else { "" },
        // A newline right after <textarea> is dropped by the parser: keep a leading one.
        value = if values.comment.starts_with('\n') {
            format!("\n{}", escape_html(&values.comment))
        } else {
            escape_html(&values.comment)
        },
        left = escape_html(text.characters_left),
    ));
    body.push_str(&format!(
        "<button type=\"submit\" class=\"button\">{}</button>\n</form>\n<p class=\"privacy\">{}</p>\n",
        escape_html(text.submit),
        escape_html(text.privacy),
    ));
    let title = if errors.is_empty() {
        format!("{} – {}", text.survey_title, text.agency)
    } else {
        format!(
            "{} {} – {}",
            text.error_prefix, text.survey_title, text.agency
        )
    };
    layout(language, &title, &body)
}

/// One question: a fieldset of radios, with its error when it has one.
#[allow(clippy::too_many_arguments)]
fn question(
    text: &Text,
    number: usize,
    field: &str,
    statement: &str,
    layout_class: &str,
    options: &[(String, String, String)],
    chosen: Option<&str>,
    error: Option<&PageError>,
) -> String {
    let error_id = format!("{field}-error");
    let mut html = format!(
        "<fieldset class=\"question{class}\" id=\"question-{field}\"{described}>\n<legend><span class=\"number\">{number}.</span> {statement}</legend>\n",
        class = if error.is_some() { " has-error" } else { "" },
        described = if error.is_some() {
            format!(" aria-describedby=\"{error_id}\"")
        } else {
            String::new()
        },
        statement = escape_html(statement),
    );
    if let Some(error) = error {
        html.push_str(&error_message(text, &error_id, &error.message));
    }
    html.push_str(&format!("<div class=\"{layout_class}\">\n"));
    for (id, value, label) in options {
        html.push_str(&format!(
            "<div class=\"option\"><input type=\"radio\" id=\"{id}\" name=\"{field}\" value=\"{value}\"{checked}><label for=\"{id}\">{label}</label></div>\n",
            checked = if chosen == Some(value.as_str()) { " checked" } else { "" },
            label = escape_html(label),
        ));
    }
    html.push_str("</div>\n</fieldset>\n");
    html
}

fn error_message(text: &Text, id: &str, message: &str) -> String {
    format!(
        "<p class=\"error-message\" id=\"{id}\"><span class=\"visually-hidden\">{prefix}</span> {message}</p>\n",
        prefix = escape_html(text.error_prefix),
        message = escape_html(message),
    )
}

/// The summary at the top of a form that came back: it takes the focus when the page loads
/// (`autofocus`, no script needed) and links to each field in error.
fn error_summary(text: &Text, errors: &[PageError]) -> String {
    let mut html = format!(
        "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\" tabindex=\"-1\" autofocus>\n<h2 id=\"error-summary-title\">{}</h2>\n<ul>\n",
        escape_html(text.error_summary_title)
    );
    for error in errors {
        html.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>\n",
            anchor(error.field.as_deref()),
            escape_html(&error.message)
        ));
    }
    html.push_str("</ul>\n</div>\n");
    html
}

/// After a submission.
pub fn thank_you(language: Language) -> String {
    let text = language.text();
    layout(
        language,
        &format!("{} – {}", text.thanks_title, text.agency),
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p>{}</p>\n",
            escape_html(text.thanks_title),
            escape_html(text.thanks_body),
            escape_html(text.thanks_close)
        ),
    )
}

/// Unknown, used and expired links alike: nothing on it depends on which.
pub fn invalid_link(language: Language) -> String {
    let text = language.text();
    layout(
        language,
        &format!("{} – {}", text.invalid_title, text.agency),
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n<p>{}</p>\n",
            escape_html(text.invalid_title),
            escape_html(text.invalid_body),
            escape_html(text.invalid_contact)
        ),
    )
}

/// The server could not record the answers.
pub fn failure(language: Language) -> String {
    let text = language.text();
    layout(
        language,
        &format!("{} – {}", text.failure_title, text.agency),
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            escape_html(text.failure_title),
            escape_html(text.failure_body)
        ),
    )
}

/// The frame every page shares: language, skip link, banner with the language switch, main,
/// footer. The switch is a relative link (`?lang=…`), so it keeps the page's own address
/// without repeating the token in the markup.
fn layout(language: Language, title: &str, main: &str) -> String {
    let text = language.text();
    let other = language.other();
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">\n<script src=\"{SCRIPT_PATH}\" defer></script>\n</head>\n<body>\n<a class=\"skip-link\" href=\"#main\">{skip}</a>\n<header class=\"banner\">\n<div class=\"wrap banner-inner\">\n<p class=\"agency\">{agency}</p>\n<nav class=\"language\" aria-label=\"{nav}\"><a href=\"?lang={other_tag}\" hreflang=\"{other_tag}\" lang=\"{other_tag}\">{other_name}</a></nav>\n</div>\n</header>\n<main id=\"main\" class=\"wrap\" tabindex=\"-1\">\n{main}</main>\n<footer class=\"wrap footer\"><p>{footer}</p></footer>\n</body>\n</html>\n",
        lang = language.tag(),
        title = escape_html(title),
        skip = escape_html(text.skip_link),
        agency = escape_html(text.agency),
        nav = escape_html(text.language_nav),
        other_tag = other.tag(),
        other_name = escape_html(other.text().language_name),
        footer = escape_html(text.footer),
    )
}
