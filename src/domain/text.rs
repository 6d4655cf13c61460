//! Text at the boundary: what PostgreSQL cannot store, and how a bad value is quoted back.
//!
//! Every string that enters the system — GraphQL arguments and variables, import cells, URL
//! parameters of the exports — passes [`check_storable`] before any work is done, so a value
//! PostgreSQL would refuse mid-transaction is instead a `BAD_USER_INPUT` naming its field.
//! Error messages quote values through [`quote`], so a hostile megabyte-long value is never
//! echoed back whole.

use crate::error::{AppError, AppResult};

/// Characters of a value quoted in an error message, at most.
pub const QUOTE_CHARS: usize = 64;

/// Refuses text PostgreSQL cannot store: the NUL character (`\u0000`), which no `text` or
/// `jsonb` value may contain. (Invalid UTF-8 cannot reach a Rust `str`; readers of raw bytes
/// reject it themselves.)
pub fn check_storable(field: &str, value: &str) -> AppResult<()> {
    if value.contains('\0') {
        return Err(AppError::bad_input(
            field,
            "must not contain the NUL character (\\u0000)",
        ));
    }
    Ok(())
}

/// `value` shortened for an error message: at most [`QUOTE_CHARS`] characters, then how many
/// more there were. Control characters are shown escaped so a message stays on one line.
pub fn quote(value: &str) -> String {
    let mut quoted = String::new();
    let mut chars = value.chars();
    for (shown, character) in chars.by_ref().enumerate() {
        if shown == QUOTE_CHARS {
            let rest = 1 + chars.count();
            quoted.push_str(&format!("… ({rest} more characters)"));
            return quoted;
        }
        if character.is_control() {
            quoted.extend(character.escape_default());
        } else {
            quoted.push(character);
        }
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_with_the_field() {
        let error = check_storable("name", "a\0b").unwrap_err();
        assert!(matches!(error, AppError::BadUserInput { field: Some(ref f), .. } if f == "name"));
        assert!(check_storable("name", "plain ✓").is_ok());
    }

    #[test]
    fn long_values_are_cut_and_control_characters_escaped() {
        let long = "x".repeat(1_000_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 120, "{quoted}");
        assert!(quoted.ends_with("(999936 more characters)"), "{quoted}");
        assert_eq!(quote("a\nb\0"), "a\\nb\\u{0}");
        assert_eq!(quote("short"), "short");
    }
}
