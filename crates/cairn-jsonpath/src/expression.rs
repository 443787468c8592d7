//! One `.$` value: a path or an intrinsic call, and the error type that keeps "the path
//! selected nothing" apart from other failures, because AWS words the two differently
//! depending on where the expression sits (a `…Path` field or a template key).

use crate::path::eval::{self, Miss};
use crate::path::parse::parse_path;
use crate::{intrinsics, PathError, Scope, STATES_RUNTIME};
use serde_json::Value;
use std::borrow::Cow;

/// Why an expression produced no value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprError {
    /// A path (the expression itself or an intrinsic argument) selected nothing.
    Miss { path: String, miss: Miss },
    /// A path or call that does not parse (the validator should have rejected it).
    Syntax { text: String, message: String },
    /// Anything else, already in AWS's terms (an intrinsic rejecting its arguments).
    Failure(PathError),
}

impl ExprError {
    pub fn is_absence(&self) -> bool {
        match self {
            ExprError::Miss { miss, .. } => miss.is_absence(),
            _ => false,
        }
    }

    /// The error as a `…Path` field reports it: `Invalid path '$.x' : No results for path: $['x']`.
    pub fn into_path_error(self) -> PathError {
        match self {
            ExprError::Miss { path, miss } => PathError {
                error: STATES_RUNTIME,
                message: format!("Invalid path '{path}' : {}", miss.detail()),
            },
            ExprError::Syntax { text, message } if crate::is_intrinsic(&text) => PathError {
                error: STATES_RUNTIME,
                message: format!("Invalid intrinsic function call '{text}' : {message}"),
            },
            ExprError::Syntax { text, message } => PathError {
                error: STATES_RUNTIME,
                message: format!("Invalid path '{text}' : {message}"),
            },
            ExprError::Failure(e) => e,
        }
    }
}

/// Evaluate path text, borrowing from the scope until the end.
pub(crate) fn evaluate_path_text(path: &str, scope: &Scope) -> Result<Value, ExprError> {
    // The most common path by far; skip parsing.
    if path == "$" {
        return Ok(scope.input.clone());
    }
    select(path, scope).map(Cow::into_owned)
}

/// Select with a path, returning a borrow into the scope where possible.
pub(crate) fn select<'v>(path: &str, scope: &Scope<'v>) -> Result<Cow<'v, Value>, ExprError> {
    let parsed = parse_path(path).map_err(|message| ExprError::Syntax {
        text: path.to_string(),
        message,
    })?;
    eval::evaluate(&parsed, scope).map_err(|miss| ExprError::Miss {
        path: path.to_string(),
        miss,
    })
}

/// Evaluate a `.$` value: an intrinsic call if it starts with `States.`, else a path.
pub(crate) fn evaluate(expr: &str, scope: &Scope) -> Result<Value, ExprError> {
    if crate::is_intrinsic(expr) {
        intrinsics::evaluate_text(expr, scope)
    } else {
        evaluate_path_text(expr, scope)
    }
}
