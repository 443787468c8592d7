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
            // jsonata-js: "Attempted to invoke a non-function"; jsonata-core appends the
            // name (": $x"). AWS's causes carry the jsonata-js text.
            Some("T1006") => "Attempted to invoke a non-function".to_string(),
            _ => message,
        };
        JsonataError::Evaluation { code, message }
    }
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
