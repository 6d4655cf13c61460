//! The hosted survey's wording in English and Spanish, and how a request picks its language.
//!
//! The seven statements follow the OMB Circular A-11 §280 customer experience drivers
//! (satisfaction, trust, effectiveness, ease, efficiency, transparency, employee helpfulness),
//! in this program's own words, each answered on a five-point agreement scale; then "my issue
//! was resolved" (yes / no) and an optional comment.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::db::enums::Channel;

/// A language the survey is offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Spanish,
}

impl Language {
    /// The BCP 47 tag (`lang` attributes, `Content-Language`, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Language {
        match self {
            Language::English => Language::Spanish,
            Language::Spanish => Language::English,
        }
    }

    /// `?lang=` when it names a language we offer, else the caller's `Accept-Language`
    /// preference among ours, else English.
    pub fn choose(explicit: Option<&str>, accept_language: Option<&str>) -> Language {
        if let Some(language) = explicit.and_then(Language::from_tag) {
            return language;
        }
        let mut best: Option<(f32, Language)> = None;
        for range in accept_language.unwrap_or("").split(',') {
            let mut parts = range.split(';');
            let Some(language) = parts.next().and_then(Language::from_tag) else {
                continue;
            };
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|value| value.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // The first of equal preferences wins, as the header lists them by preference.
            if quality > 0.0 && best.is_none_or(|(best_quality, _)| quality > best_quality) {
                best = Some((quality, language));
            }
        }
        best.map(|(_, language)| language)
            .unwrap_or(Language::English)
    }

    /// `en`, `en-US`, `es`, `es-419`… (case-insensitive); anything else is not ours.
    fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split('-').next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }

    /// The wording in this language.
    pub fn text(self) -> &'static Text {
        match self {
            Language::English => &ENGLISH,
            Language::Spanish => &SPANISH,
        }
    }
}

/// One agreement statement of the survey.
pub struct Statement {
    /// The answer's field name (as in `SurveyAnswersInput` and the form).
    pub field: &'static str,
    pub text: &'static str,
}

/// Everything the pages say, in one language.
pub struct Text {
    pub agency: &'static str,
    pub skip_link: &'static str,
    pub language_nav: &'static str,
    /// The name of this language, in itself (the switch shows the other one's).
    pub language_name: &'static str,
    pub survey_title: &'static str,
    /// `{channel}` and `{date}` are filled in.
    pub about: &'static str,
    pub intro: &'static str,
    pub scale_hint: &'static str,
    /// 1 (strongly disagree) to 5 (strongly agree).
    pub scale: [&'static str; 5],
    pub statements: [Statement; 7],
    pub resolved: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub comment_label: &'static str,
    pub comment_hint: &'static str,
    /// `{n}` is filled in by the page's script.
    pub characters_left: &'static str,
    pub submit: &'static str,
    pub privacy: &'static str,
    pub error_prefix: &'static str,
    pub error_summary_title: &'static str,
    pub error_nothing_answered: &'static str,
    /// `{n}` is the question number.
    pub error_likert: &'static str,
    /// `{n}` is the question number.
    pub error_resolved: &'static str,
    pub error_comment_too_long: &'static str,
    pub error_rate_limited: &'static str,
    pub error_unreadable_form: &'static str,
    pub thanks_title: &'static str,
    pub thanks_body: &'static str,
    pub thanks_close: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub invalid_contact: &'static str,
    pub failure_title: &'static str,
    pub failure_body: &'static str,
    pub footer: &'static str,
    /// Monday first.
    weekdays: [&'static str; 7],
    months: [&'static str; 12],
}

impl Text {
    /// How the survey names the contact it is about ("your phone call").
    pub fn channel_phrase(&self, channel: Channel) -> &'static str {
        let english = std::ptr::eq(self, &ENGLISH);
        match (channel, english) {
            (Channel::Phone, true) => "phone call",
            (Channel::Chat, true) => "live chat",
            (Channel::Email, true) => "email",
            (Channel::InPerson, true) => "visit to our office",
            (Channel::Mail, true) => "letter",
            (Channel::WebSelfService, true) => "visit to our website",
            (Channel::Ivr, true) => "call to our automated phone line",
            (Channel::Sms, true) => "text message",
            (Channel::Phone, false) => "llamada telefónica",
            (Channel::Chat, false) => "conversación por chat",
            (Channel::Email, false) => "correo electrónico",
            (Channel::InPerson, false) => "visita a nuestra oficina",
            (Channel::Mail, false) => "carta",
            (Channel::WebSelfService, false) => "visita a nuestro sitio web",
            (Channel::Ivr, false) => "llamada a nuestra línea automatizada",
            (Channel::Sms, false) => "mensaje de texto",
        }
    }

    /// The contact's local date in the reporting time zone, spelt out ("Monday, November 2,
    /// 2026" / "lunes 2 de noviembre de 2026").
    pub fn long_date(&self, at: DateTime<Utc>, zone: Tz) -> String {
        let local = at.with_timezone(&zone).date_naive();
        let weekday = self.weekdays[local.weekday().num_days_from_monday() as usize];
        let month = self.months[local.month0() as usize];
        if std::ptr::eq(self, &ENGLISH) {
            format!("{weekday}, {month} {}, {}", local.day(), local.year())
        } else {
            format!("{weekday} {} de {month} de {}", local.day(), local.year())
        }
    }
}

static ENGLISH: Text = Text {
    agency: "Business Action Center",
    skip_link: "Skip to main content",
    language_nav: "Language",
    language_name: "English",
    survey_title: "How did we do?",
    about: "This short survey is about your {channel} with the Business Action Center on {date}.",
    intro: "It takes about two minutes. Every question is optional: answer the ones you want to.",
    scale_hint: "For questions 1 to 7, choose how much you agree with each statement.",
    scale: [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ],
    statements: [
        Statement {
            field: "satisfaction",
            text: "I am satisfied with the service I received.",
        },
        Statement {
            field: "trust",
            text: "After this contact, I have more confidence in the Business Action Center.",
        },
        Statement {
            field: "effectiveness",
            text: "I got the help I needed.",
        },
        Statement {
            field: "ease",
            text: "It was easy to get done what I needed to do.",
        },
        Statement {
            field: "efficiency",
            text: "It took a reasonable amount of time.",
        },
        Statement {
            field: "transparency",
            text: "At each step, it was clear what I needed to do and what would happen next.",
        },
        Statement {
            field: "helpfulness",
            text: "The staff who helped me were helpful and courteous.",
        },
    ],
    resolved: "My issue was resolved.",
    yes: "Yes",
    no: "No",
    comment_label: "Is there anything else you would like to tell us? (optional)",
    comment_hint: "Please do not include personal details such as your name, phone number or email. You can write up to 4,000 characters.",
    characters_left: "{n} characters left",
    submit: "Send my answers",
    privacy: "Your answers help us improve our service and train our staff; they are reported in summaries. This link works only once.",
    error_prefix: "Error:",
    error_summary_title: "There is a problem",
    error_nothing_answered: "Answer at least one question before sending.",
    error_likert: "Question {n}: choose one of the five answers.",
    error_resolved: "Question {n}: choose Yes or No.",
    error_comment_too_long: "Your comment is longer than 4,000 characters: please shorten it.",
    error_rate_limited: "Too many surveys were sent from your connection in the last minute. Wait a minute, then send your answers again.",
    error_unreadable_form: "Your answers could not be read. Please try again.",
    thanks_title: "Thank you",
    thanks_body: "Your answers have been recorded. Thank you for helping us improve the Business Action Center.",
    thanks_close: "You can close this page now.",
    invalid_title: "This survey link cannot be used",
    invalid_body: "The link may have expired, it may already have been used, or part of it may be missing. Each link works only once, for a limited time.",
    invalid_contact: "If you would like to tell us about your experience, please contact the Business Action Center.",
    failure_title: "Something went wrong",
    failure_body: "We could not record your answers because of a problem on our side. Please try again later.",
    footer: "Business Action Center customer survey",
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};

static SPANISH: Text = Text {
    agency: "Centro de Acción Empresarial",
    skip_link: "Saltar al contenido principal",
    language_nav: "Idioma",
    language_name: "Español",
    survey_title: "¿Cómo lo hicimos?",
    about: "Esta breve encuesta es sobre su {channel} con el Centro de Acción Empresarial del {date}.",
    intro: "Le tomará unos dos minutos. Todas las preguntas son opcionales: responda las que desee.",
    scale_hint: "En las preguntas 1 a 7, indique cuánto está de acuerdo con cada afirmación.",
    scale: [
        "Totalmente en desacuerdo",
        "En desacuerdo",
        "Ni de acuerdo ni en desacuerdo",
        "De acuerdo",
        "Totalmente de acuerdo",
    ],
    statements: [
        Statement {
            field: "satisfaction",
            text: "Quedé conforme con el servicio que recibí.",
        },
        Statement {
            field: "trust",
            text: "Después de este contacto, tengo más confianza en el Centro de Acción Empresarial.",
        },
        Statement {
            field: "effectiveness",
            text: "Obtuve la ayuda que necesitaba.",
        },
        Statement {
            field: "ease",
            text: "Fue fácil hacer lo que necesitaba.",
        },
        Statement {
            field: "efficiency",
            text: "El trámite tomó un tiempo razonable.",
        },
        Statement {
            field: "transparency",
            text: "En cada paso entendí lo que debía hacer y lo que pasaría después.",
        },
        Statement {
            field: "helpfulness",
            text: "El personal que me atendió fue servicial y amable.",
        },
    ],
    resolved: "Mi asunto quedó resuelto.",
    yes: "Sí",
    no: "No",
    comment_label: "¿Hay algo más que quiera contarnos? (opcional)",
    comment_hint: "No incluya datos personales como su nombre, teléfono o correo electrónico. Puede escribir hasta 4000 caracteres.",
    characters_left: "Quedan {n} caracteres",
    submit: "Enviar mis respuestas",
    privacy: "Sus respuestas nos ayudan a mejorar el servicio y a capacitar a nuestro personal; se informan de forma resumida. Este enlace solo funciona una vez.",
    error_prefix: "Error:",
    error_summary_title: "Hay un problema",
    error_nothing_answered: "Responda al menos una pregunta antes de enviar.",
    error_likert: "Pregunta {n}: elija una de las cinco respuestas.",
    error_resolved: "Pregunta {n}: elija Sí o No.",
    error_comment_too_long: "Su comentario tiene más de 4000 caracteres: acórtelo, por favor.",
    error_rate_limited: "Se enviaron demasiadas encuestas desde su conexión en el último minuto. Espere un minuto y vuelva a enviar sus respuestas.",
    error_unreadable_form: "No pudimos leer sus respuestas. Inténtelo de nuevo.",
    thanks_title: "Gracias",
    thanks_body: "Sus respuestas quedaron registradas. Gracias por ayudarnos a mejorar el Centro de Acción Empresarial.",
    thanks_close: "Ya puede cerrar esta página.",
    invalid_title: "Este enlace de encuesta no se puede usar",
    invalid_body: "Es posible que el enlace haya vencido, que ya se haya usado o que le falte una parte. Cada enlace funciona una sola vez y por un tiempo limitado.",
    invalid_contact: "Si desea contarnos su experiencia, comuníquese con el Centro de Acción Empresarial.",
    failure_title: "Algo salió mal",
    failure_body: "No pudimos registrar sus respuestas por un problema de nuestra parte. Inténtelo más tarde.",
    footer: "Encuesta de clientes del Centro de Acción Empresarial",
    weekdays: [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ],
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_the_query_then_the_header() {
        assert_eq!(Language::choose(Some("es"), None), Language::Spanish);
        assert_eq!(
            Language::choose(Some("en"), Some("es-MX,es;q=0.9")),
            Language::English
        );
        assert_eq!(
            Language::choose(Some("fr"), Some("es-MX,es;q=0.9")),
            Language::Spanish
        );
        assert_eq!(
            Language::choose(None, Some("fr-FR, en;q=0.5, es;q=0.8")),
            Language::Spanish
        );
        assert_eq!(
            Language::choose(None, Some("es;q=0, en-US")),
            Language::English
        );
        assert_eq!(Language::choose(None, Some("de")), Language::English);
        assert_eq!(Language::choose(None, None), Language::English);
    }

    #[test]
    fn dates_are_spelt_out_in_the_reporting_zone() {
        // 03:30 UTC on 3 November is still 2 November in New York.
        let at = DateTime::parse_from_rfc3339("2026-11-03T03:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let zone = chrono_tz::America::New_York;
        assert_eq!(
            Language::English.text().long_date(at, zone),
            "Monday, November 2, 2026"
        );
        assert_eq!(
            Language::Spanish.text().long_date(at, zone),
            "lunes 2 de noviembre de 2026"
        );
    }
}
