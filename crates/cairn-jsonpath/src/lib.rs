//! AWS Step Functions' JSONPath dialect, payload templates and intrinsic functions.
//!
//! This crate owns everything that JSONPath-mode states evaluate:
//! - paths (`$…` over the data, `$$…` over the context object, `$name…` over variables),
//!   with AWS's Jayway-like dialect (filters, slices, wildcards, deep scan);
//! - reference paths and writing a result into a copy of the input (`ResultPath`);
//! - payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath `Assign`):
//!   keys ending in `.$` are evaluated;
//! - the 18 intrinsic functions (`States.Format`, `States.Array`, …).
//!
//! Errors carry AWS's own messages (see `../shared/spec/ASL.md` §5 and §7) so the interpreter
//! can put them into `States.Runtime` causes unchanged.
//!
//! Invariant: pure functions; no I/O, no clock. Randomness (`States.UUID`,
//! `States.MathRandom` without a seed) comes from the caller through [`Scope::entropy`].
//!
//! Code map:
//! - `path/`: the path syntax tree (`mod.rs`), its parser (`parse.rs`), filter expressions
//!   (`filter.rs`) and borrowing evaluation with Jayway's messages (`eval.rs`);
//! - `result_path.rs`: `ResultPath` writes; `template.rs`: payload templates;
//! - `expression.rs`: one `.$` value (path or call) and the error that keeps "selected
//!   nothing" apart, because AWS words it differently in a template and in a `…Path` field;
//! - `intrinsics/`: call parser, argument checks, one file per family of functions;
//! - `java_style.rs`: how AWS's Java runtime renders values in text.
//!
//! Error conventions (what [`PathError::error`] holds):
//! - [`STATES_RUNTIME`] for everything about paths: a definite path selecting nothing
//!   (`Invalid path '$.x' : No results for path: $['x']`), a template member whose path selects
//!   nothing (`The JSONPath '$.x' specified for the field 'k.$' could not be found in the input
//!   '<compact input>'`), a `ResultPath` that cannot be applied, malformed text;
//! - [`STATES_INTRINSIC_FAILURE`] when an intrinsic function rejects its arguments (wrong type,
//!   out of range, placeholder count…); messages read `The function 'States.X' …`.
//!
//! Messages never carry the "An error occurred while executing the state …" prefix.

mod expression;
mod intrinsics;
mod java_style;
mod path;
mod result_path;
mod template;

use serde_json::Value;
use std::cell::Cell;

pub use intrinsics::FUNCTION_NAMES;

/// The error name of every path failure (AWS reports `States.Runtime`, not the spec's
/// `States.ParameterPathFailure`, observed).
pub const STATES_RUNTIME: &str = "States.Runtime";
/// The error name of an intrinsic function called with arguments it rejects (the spec's name;
/// AWS's choice here is not observed).
pub const STATES_INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";

/// What a path or template is evaluated against.
pub struct Scope<'a> {
    /// `$`: the current data (state input, effective input, task result, …).
    pub input: &'a Value,
    /// `$$`: the context object.
    pub context: &'a Value,
    /// `$name`: workflow variables visible at this point.
    pub variables: &'a dyn Variables,
    /// Source of randomness for `States.UUID()` and unseeded `States.MathRandom`; the caller
    /// seeds it from a recorded value so evaluation is deterministic on replay.
    pub entropy: &'a Cell<u64>,
}

/// Read access to workflow variables.
pub trait Variables {
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all.
pub struct NoVariables;
impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

impl Variables for std::collections::HashMap<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        std::collections::HashMap::get(self, name)
    }
}

/// An evaluation failure. `message` is AWS's text (without the
/// "An error occurred while executing the state …" prefix, which the interpreter adds).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    /// The error name AWS reports: `States.Runtime` for path failures,
    /// `States.IntrinsicFailure` where AWS raises that.
    pub error: &'static str,
    pub message: String,
}

/// A syntax error found when checking a path or intrinsic call statically.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// Evaluate a Path (InputPath, OutputPath, ItemsPath, `…Path` fields, Choice `Variable`).
/// A definite path that selects nothing is an error (`Invalid path '$.x' : No results for path: $['x']`);
/// an indefinite path (wildcard, slice, filter, deep scan) returns an array, possibly empty.
pub fn evaluate_path(path: &str, scope: &Scope) -> Result<Value, PathError> {
    expression::evaluate_path_text(path, scope).map_err(|e| e.into_path_error())
}

/// Like [`evaluate_path`] but `Ok(None)` when a definite path selects nothing
/// (Choice `IsPresent`, optional fields).
pub fn lookup_path(path: &str, scope: &Scope) -> Result<Option<Value>, PathError> {
    match expression::evaluate_path_text(path, scope) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_absence() => Ok(None),
        Err(e) => Err(e.into_path_error()),
    }
}

/// Write `result` into `target` at a reference path (`ResultPath`): `$` replaces the whole
/// value; `$.a.b` creates intermediate objects in a copy of `target`.
pub fn write_result_path(path: &str, target: Value, result: Value) -> Result<Value, PathError> {
    result_path::write(path, target, result)
}

/// Evaluate a payload template: objects are copied with `key.$` entries evaluated (a path or
/// an intrinsic call) and renamed to `key`; recursion into nested objects and arrays.
/// `field` names the template for error messages (e.g. `Parameters`).
pub fn evaluate_template(template: &Value, scope: &Scope, field: &str) -> Result<Value, PathError> {
    template::evaluate(template, scope, field)
}

/// Evaluate one `.$` value: a path or an intrinsic function call.
pub fn evaluate_expression(expr: &str, scope: &Scope) -> Result<Value, PathError> {
    expression::evaluate(expr, scope).map_err(|e| e.into_path_error())
}

/// Check the syntax of a Path (`$…`, `$$…`, `$var…`), for static validation.
pub fn check_path(path: &str) -> Result<(), SyntaxError> {
    path::parse::parse_path(path)
        .map(|_| ())
        .map_err(|e| SyntaxError(format!("Invalid JSONPath '{path}': {e}")))
}

/// Check that a path is a reference path (no wildcards, filters, slices or deep scan).
pub fn check_reference_path(path: &str) -> Result<(), SyntaxError> {
    let parsed = path::parse::parse_path(path)
        .map_err(|e| SyntaxError(format!("Invalid JSONPath '{path}': {e}")))?;
    if parsed.is_reference() {
        Ok(())
    } else {
        Err(SyntaxError(format!(
            "Invalid reference path '{path}': only member names and array indices are allowed \
             (no wildcards, slices, unions, filters or deep scan)"
        )))
    }
}

/// Check that a path can be a `ResultPath`: a reference path over the data (`$…`), not the
/// context object (`$$…`) nor a variable (`$name…`).
pub fn check_result_path(path: &str) -> Result<(), SyntaxError> {
    check_reference_path(path)?;
    if path.starts_with("$$")
        || path
            .as_bytes()
            .get(1)
            .is_some_and(|b| *b != b'.' && *b != b'[')
    {
        return Err(SyntaxError(format!(
            "Invalid ResultPath '{path}': a ResultPath must start with '$' and address the state's data"
        )));
    }
    Ok(())
}

/// Check the syntax of an intrinsic function call (`States.Format('{}', $.x)`): the call
/// syntax, known function names, argument counts, nesting depth and the paths used as arguments.
pub fn check_intrinsic(expr: &str) -> Result<(), SyntaxError> {
    intrinsics::check(expr).map_err(SyntaxError)
}

/// Check a `.$` value: an intrinsic call if it starts with `States.`, else a path.
pub fn check_expression(expr: &str) -> Result<(), SyntaxError> {
    if is_intrinsic(expr) {
        check_intrinsic(expr)
    } else {
        check_path(expr)
    }
}

/// Whether a `.$` value is an intrinsic call rather than a path (it starts with `States.`).
pub fn is_intrinsic(expr: &str) -> bool {
    expr.trim_start().starts_with("States.")
}
