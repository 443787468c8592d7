//! The 18 intrinsic functions of JSONPath states (`States.Format`, `States.Array`, …):
//! call syntax tree, static checks, and evaluation that dispatches to one module per family.
//!
//! Arguments are evaluated left to right; path arguments borrow from the scope and only the
//! function's result is built. A function rejecting its arguments fails with
//! `States.IntrinsicFailure`; a path argument that selects nothing fails like any path.

mod args;
mod array;
mod encoding;
mod json;
mod math;
pub(crate) mod parse;
mod random;
mod text;

use crate::expression::ExprError;
use crate::path::eval;
use crate::path::Path;
use crate::Scope;
use args::Args;
use serde_json::Value;
use std::borrow::Cow;

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    /// Full name, `States.Format`.
    pub name: String,
    pub args: Vec<Arg>,
}

/// One argument as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// `'…'`: `raw` as written between the quotes (escapes intact, which `States.Format`
    /// needs to tell `\{` from a placeholder) and `value` unescaped.
    String {
        raw: String,
        value: String,
    },
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    Path {
        text: String,
        path: Path,
    },
    Call(Call),
}

/// Every intrinsic function with its accepted argument counts (min, max).
const FUNCTIONS: [(&str, usize, usize); 18] = [
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// The names of the intrinsic functions, e.g. for a validator's messages.
pub const FUNCTION_NAMES: [&str; 18] = {
    let mut names = [""; 18];
    let mut i = 0;
    while i < 18 {
        names[i] = FUNCTIONS[i].0;
        i += 1;
    }
    names
};

fn arity_error(call: &Call) -> Option<String> {
    let Some(&(_, min, max)) = FUNCTIONS.iter().find(|(n, _, _)| *n == call.name) else {
        return Some(format!("Unknown intrinsic function '{}'", call.name));
    };
    let n = call.args.len();
    if n < min || n > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Some(format!(
            "The function '{}' expects {expected} argument(s) but was given {n}",
            call.name
        ));
    }
    None
}

/// Static check: syntax, known names, argument counts (recursively).
pub(crate) fn check(expr: &str) -> Result<(), String> {
    let call = parse::parse_call_text(expr)
        .map_err(|e| format!("Invalid intrinsic function call '{expr}': {e}"))?;
    check_call(&call)
}

fn check_call(call: &Call) -> Result<(), String> {
    if let Some(e) = arity_error(call) {
        return Err(e);
    }
    for arg in &call.args {
        if let Arg::Call(inner) = arg {
            check_call(inner)?;
        }
    }
    Ok(())
}

/// Parse and evaluate a call written as text.
pub(crate) fn evaluate_text(expr: &str, scope: &Scope) -> Result<Value, ExprError> {
    let call = parse::parse_call_text(expr).map_err(|message| ExprError::Syntax {
        text: expr.to_string(),
        message,
    })?;
    evaluate_call(&call, scope)
}

fn evaluate_call(call: &Call, scope: &Scope) -> Result<Value, ExprError> {
    if let Some(message) = arity_error(call) {
        return Err(ExprError::Failure(args::failure(message)));
    }
    let mut values: Vec<Cow<Value>> = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        values.push(match arg {
            Arg::String { value, .. } => Cow::Owned(Value::String(value.clone())),
            Arg::Literal(v) => Cow::Borrowed(v),
            Arg::Path { text, path } => {
                eval::evaluate(path, scope).map_err(|miss| ExprError::Miss {
                    path: text.clone(),
                    miss,
                })?
            }
            Arg::Call(inner) => Cow::Owned(evaluate_call(inner, scope)?),
        });
    }
    let args = Args::new(&call.name, values);
    let result = match call.name.as_str() {
        "States.Format" => text::format(&args, format_template_raw(call)),
        "States.StringSplit" => text::string_split(&args),
        "States.StringToJson" => json::string_to_json(&args),
        "States.JsonToString" => json::json_to_string(&args),
        "States.JsonMerge" => json::json_merge(&args),
        "States.Array" => Ok(array::array(args)),
        "States.ArrayPartition" => array::partition(&args),
        "States.ArrayContains" => array::contains(&args),
        "States.ArrayRange" => array::range(&args),
        "States.ArrayGetItem" => array::get_item(&args),
        "States.ArrayLength" => array::length(&args),
        "States.ArrayUnique" => array::unique(&args),
        "States.Base64Encode" => encoding::base64_encode(&args),
        "States.Base64Decode" => encoding::base64_decode(&args),
        "States.Hash" => encoding::hash(&args),
        "States.MathAdd" => math::add(&args),
        "States.MathRandom" => random::math_random(&args, scope.entropy),
        "States.UUID" => Ok(random::uuid(scope.entropy)),
        _ => Err(args::failure(format!(
            "Unknown intrinsic function '{}'",
            call.name
        ))),
    };
    result.map_err(ExprError::Failure)
}

/// `States.Format` keeps `\{` and `\}` distinct from placeholders only in a literal template.
fn format_template_raw(call: &Call) -> Option<&str> {
    match call.args.first() {
        Some(Arg::String { raw, .. }) => Some(raw),
        _ => None,
    }
}
