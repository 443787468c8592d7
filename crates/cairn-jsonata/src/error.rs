//! The errors of compiling and evaluating one expression.
//!
//! Owns the mapping from jsonata-core's error strings onto three kinds the interpreter acts
//! on: a syntax error (static validation rejects the definition), an evaluation error (the
//! state fails with `States.QueryEvaluationError`, the cause carries the JSONata code) and a
//! limit (a runaway expression was stopped). It must not know about ASL fields: the cause
//! texts that name a field live in `template`.

use std::fmt;

/// Which guard stopped a runaway expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The evaluation ran longer than [`crate::Limits::time_budget_ms`] (JSONata code D1012).
    Time,
    /// Evaluation nested deeper than [`crate::Limits::max_depth`] (D1011, or U1001).
    Depth,
    /// A sequence grew beyond [`crate::Limits::max_sequence_length`] (D2015), or an
    /// AWS function was asked for a result beyond its own cap (`$range`).
    Size,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Time => "time budget",
            Limit::Depth => "recursion depth",
            Limit::Size => "result size",
        })
    }
}

/// Why an expression could not be compiled or evaluated.
///
/// `Display` gives the form AWS appends to its causes: `"<code>: <message>"` when the
/// JSONata error has a code (`T1006: Attempted to invoke a non-function`), else the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonataError {
    /// The text is not a JSONata expression AWS accepts: a parse error (`S0201` …), an
    /// operator newer than JSONata 2.0.6 (`??`, `?:`), `$eval`, or an assignment to `$states`.
    #[error("{}", with_code(code.as_deref(), message))]
    Syntax {
        code: Option<String>,
        message: String,
    },
    /// The evaluator threw (`T1006`, `T2001`, `D3137` from `$error()` …).
    #[error("{}", with_code(code.as_deref(), message))]
    Evaluation {
        code: Option<String>,
        message: String,
    },
    /// A guard stopped a runaway expression.
    #[error("{}", with_code(code.as_deref(), message))]
    LimitExceeded {
        limit: Limit,
        code: Option<String>,
        message: String,
    },
    /// The result holds a function (a lambda, a built-in, a regex), which JSON cannot hold.
    #[error("The expression returned a function, which JSON cannot represent")]
    UnsupportedResult,
}

impl JsonataError {
    /// The JSONata error code (`"T1006"`), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            JsonataError::Syntax { code, .. }
            | JsonataError::Evaluation { code, .. }
            | JsonataError::LimitExceeded { code, .. } => code.as_deref(),
            JsonataError::UnsupportedResult => None,
        }
    }

    /// The message without its code.
    pub fn message(&self) -> &str {
        match self {
            JsonataError::Syntax { message, .. }
            | JsonataError::Evaluation { message, .. }
            | JsonataError::LimitExceeded { message, .. } => message,
            JsonataError::UnsupportedResult => "The expression returned a function",
        }
    }

    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        JsonataError::Syntax {
            code: None,
            message: message.into(),
        }
    }

    /// A parse error from jsonata-core, split into code and message.
    pub(crate) fn from_parser(text: &str) -> Self {
        // jsonata-core prefixes some parse errors with its own words.
        let text = text.strip_prefix("Invalid syntax: ").unwrap_or(text);
        let (code, message) = split_code(text);
        JsonataError::Syntax { code, message }
    }

    /// An evaluation error from jsonata-core, sorted into a limit or an evaluation error,
    /// with messages brought back to jsonata-js's wording where jsonata-core adds detail.
    pub(crate) fn from_evaluator(text: &str) -> Self {
        Self::from_evaluator_in(text, None)
    }

    /// As [`JsonataError::from_evaluator`], for an expression whose only built-in is
    /// `function`: jsonata-core's signature errors do not name the function, jsonata-js's do.
    pub(crate) fn from_evaluator_in(text: &str, function: Option<&str>) -> Self {
        let (code, message) = split_code(text);
        let limit = match code.as_deref() {
            Some("D1012") => Some(Limit::Time),
            Some("D1011") | Some("U1001") => Some(Limit::Depth),
            // U2001 is Cairn's own: a replaced built-in asked for too large a result.
            Some("D2014") | Some("D2015") | Some("U2001") => Some(Limit::Size),
            _ => None,
        };
        if let Some(limit) = limit {
            return JsonataError::LimitExceeded {
                limit,
                code,
                message,
            };
        }
        let message = match code.as_deref() {
            Some(code) => jsonata_js_message(code, message, function),
            None => message,
        };
        JsonataError::Evaluation { code, message }
    }
}

/// jsonata-js's wording of a jsonata-core message, where the two differ and jsonata-core's
/// message holds what jsonata-js's template needs. AWS's causes carry the jsonata-js text.
fn jsonata_js_message(code: &str, message: String, function: Option<&str>) -> String {
    match code {
        "T0410" | "T0412" => signature_message(&message, function).unwrap_or(message),
        // jsonata-core appends the name (": $x").
        "T1006" => "Attempted to invoke a non-function".to_string(),
        // jsonata-js quotes the operator: `the "+" operator`.
        "T2001" | "T2002" => {
            let side = if code == "T2001" { "left" } else { "right" };
            let operator = message
                .strip_prefix(&format!("The {side} side of the "))
                .and_then(|rest| rest.strip_suffix(" operator must evaluate to a number"));
            match operator {
                Some(op) if !op.starts_with('"') => {
                    format!("The {side} side of the \"{op}\" operator must evaluate to a number")
                }
                _ => message,
            }
        }
        "T2003" => "The left side of the range operator (..) must evaluate to an integer".into(),
        "T2004" => "The right side of the range operator (..) must evaluate to an integer".into(),
        "D3001" => "Attempting to invoke string function on Infinity or NaN".into(),
        "D3010" => "Second argument of replace function cannot be an empty string".into(),
        "D3020" => "Third argument of split function must evaluate to a positive number".into(),
        "D3030" => match message
            .strip_prefix("Cannot convert '")
            .and_then(|rest| rest.strip_suffix("' to number"))
        {
            Some(value) => format!(
                "Unable to cast value to a number: {}",
                serde_json::Value::String(value.to_string())
            ),
            None => message,
        },
        // jsonata-core adds the count: "… Instead it matched more. (2 values)".
        "D3138" => match message.rfind(" (") {
            Some(i) if message.ends_with(" values)") => message[..i].to_string(),
            _ => message,
        },
        _ => message,
    }
}

/// jsonata-js's `Argument 1 of function "length" does not match function signature` (T0410)
/// or `… must be an array of "numbers"` (T0412) from jsonata-core's forms of them.
fn signature_message(message: &str, function: Option<&str>) -> Option<String> {
    let rest = message.strip_prefix("Argument ")?;
    let (index, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if let Some(named) = rest.strip_prefix("of function ") {
        // `of function length does …`, `of function $join does … (expected String)`.
        let (name, tail) = named.split_once(' ')?;
        if name.starts_with('"') || name == "does" || name == "undefined" {
            return None;
        }
        let name = name.trim_start_matches('$');
        let tail = tail.split(" (expected").next().unwrap_or(tail);
        return Some(format!("Argument {index} of function \"{name}\" {tail}"));
    }
    let function = function?;
    if let Some(kind) = rest.strip_prefix("must be an array of ") {
        let plural = match kind {
            "Number" => "numbers",
            "String" => "strings",
            "Boolean" => "booleans",
            "Object" => "objects",
            "Array" => "arrays",
            "Function" => "functions",
            _ => return None,
        };
        return Some(format!(
            "Argument {index} of function \"{function}\" must be an array of \"{plural}\""
        ));
    }
    if rest.starts_with("must be ") {
        return Some(format!(
            "Argument {index} of function \"{function}\" does not match function signature"
        ));
    }
    if index == "count" {
        // `Argument count mismatch: expected 1, got 2`: the first argument too many, or the
        // first one missing. jsonata-core counts 0 expected for some signatures; skip those.
        let counts = rest.strip_prefix("mismatch: expected ")?;
        let (expected, got) = counts.split_once(", got ")?;
        let (expected, got): (usize, usize) = (expected.parse().ok()?, got.parse().ok()?);
        if expected == 0 {
            return None;
        }
        let index = if got > expected {
            expected + 1
        } else {
            got + 1
        };
        return Some(format!(
            "Argument {index} of function \"{function}\" does not match function signature"
        ));
    }
    None
}

fn with_code(code: Option<&str>, message: &str) -> String {
    match code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_string(),
    }
}

/// Split `"T1006: text"` into `(Some("T1006"), "text")`.
fn split_code(text: &str) -> (Option<String>, String) {
    let b = text.as_bytes();
    let coded = b.len() >= 6
        && b[0].is_ascii_uppercase()
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b':';
    if coded {
        (
            Some(text[..5].to_string()),
            text[6..].trim_start().to_string(),
        )
    } else {
        (None, text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_message(text: &str) -> String {
        JsonataError::from_evaluator(text).to_string()
    }

    #[test]
    fn messages_take_jsonata_js_wording() {
        assert_eq!(
            eval_message("T1006: Attempted to invoke a non-function: $x"),
            "T1006: Attempted to invoke a non-function"
        );
        assert_eq!(
            eval_message("T2001: The left side of the + operator must evaluate to a number"),
            "T2001: The left side of the \"+\" operator must evaluate to a number"
        );
        assert_eq!(
            eval_message("T2002: The right side of the * operator must evaluate to a number"),
            "T2002: The right side of the \"*\" operator must evaluate to a number"
        );
        assert_eq!(
            eval_message("D3030: Cannot convert 'a\"b' to number"),
            "D3030: Unable to cast value to a number: \"a\\\"b\""
        );
        assert_eq!(
            eval_message("D3138: The $single() function expected exactly 1 matching result.  Instead it matched more. (2 values)"),
            "D3138: The $single() function expected exactly 1 matching result.  Instead it matched more."
        );
        assert_eq!(eval_message("D3137: boom"), "D3137: boom");
    }

    #[test]
    fn signature_errors_name_the_function() {
        let with =
            |text: &str, f: Option<&str>| JsonataError::from_evaluator_in(text, f).to_string();
        assert_eq!(
            with("T0410: Argument 1 must be String", Some("uppercase")),
            "T0410: Argument 1 of function \"uppercase\" does not match function signature"
        );
        assert_eq!(
            with("T0410: Argument 1 must be String", None),
            "T0410: Argument 1 must be String"
        );
        assert_eq!(
            with("T0412: Argument 1 must be an array of Number", Some("sum")),
            "T0412: Argument 1 of function \"sum\" must be an array of \"numbers\""
        );
        assert_eq!(
            with(
                "T0410: Argument count mismatch: expected 1, got 2",
                Some("count")
            ),
            "T0410: Argument 2 of function \"count\" does not match function signature"
        );
        assert_eq!(
            with(
                "T0410: Argument count mismatch: expected 1, got 0",
                Some("lookup")
            ),
            "T0410: Argument 1 of function \"lookup\" does not match function signature"
        );
        assert_eq!(
            with("T0410: Argument 2 of function $join does not match function signature (expected String)", None),
            "T0410: Argument 2 of function \"join\" does not match function signature"
        );
        assert_eq!(
            with(
                "T0410: Argument 1 of function length does not match function signature",
                Some("x")
            ),
            "T0410: Argument 1 of function \"length\" does not match function signature"
        );
    }

    #[test]
    fn limits_are_sorted_out_by_code() {
        for (text, limit) in [
            (
                "D1012: Evaluation timeout after 5 milliseconds",
                Limit::Time,
            ),
            ("D1011: Stack overflow", Limit::Depth),
            ("U1001: Stack overflow error", Limit::Depth),
            ("D2014: The size of the sequence", Limit::Size),
            ("D2015: The maximum sequence length", Limit::Size),
            ("U2001: The width of $pad", Limit::Size),
        ] {
            assert!(
                matches!(JsonataError::from_evaluator(text), JsonataError::LimitExceeded { limit: l, .. } if l == limit),
                "{text}"
            );
        }
    }
}
