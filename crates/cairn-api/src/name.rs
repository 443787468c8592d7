//! Name rules for state machines, executions and activities (ARNS.md §2): 1–80 characters,
//! none of whitespace, brackets, wildcards, the special characters `"#%\^|~`$&,;:/`, or
//! control characters. A violation is `InvalidName` `Invalid Name: '<name>'`.

use crate::error::ApiError;

fn forbidden(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '?'
                | '*'
                | '"'
                | '#'
                | '%'
                | '\\'
                | '^'
                | '|'
                | '~'
                | '`'
                | '$'
                | '&'
                | ','
                | ';'
                | ':'
                | '/'
        )
        || ('\u{0}'..='\u{1f}').contains(&c)
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{fffe}' | '\u{ffff}' | '\u{10ffff}')
}

/// Check a state machine, execution or activity name.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if (1..=80).contains(&len) && !name.chars().any(forbidden) {
        Ok(())
    } else {
        Err(ApiError::invalid_name_of(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_names() {
        for n in [
            "activity-name_123",
            "ACTIVITY_NAME_ABC",
            "activity.name",
            "ünïcode",
            &"a".repeat(80),
        ] {
            assert!(validate_name(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn forbidden_names() {
        for n in [
            "",
            "a b",
            "a\tb",
            "a<b",
            "a>b",
            "a{b",
            "a}b",
            "a[b",
            "a]b",
            "a?b",
            "a*b",
            "a\"b",
            "a#b",
            "a%b",
            "a\\b",
            "a^b",
            "a|b",
            "a~b",
            "a`b",
            "a$b",
            "a&b",
            "a,b",
            "a;b",
            "a:b",
            "a/b",
            "a\u{1}b",
            "a\u{85}b",
            &"a".repeat(81),
        ] {
            let e = validate_name(n).unwrap_err();
            assert_eq!(e.message, format!("Invalid Name: '{n}'"));
        }
    }
}
