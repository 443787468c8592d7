//! Pass: `Result` is copied as is — a `key.$` member inside it is never evaluated, which AWS
//! flags with the `PASS_RESULT_IS_STATIC` warning ("attempt to use a path in the result of a
//! pass state"). `Parameters`/`ResultPath` are in `paths`.
//!
//! Must not: refuse anything — `Result` may be any JSON value.

use super::context::{at, Cx, PASS_RESULT_IS_STATIC};
use serde_json::{Map, Value};

pub fn check(cx: &mut Cx, state: &Map<String, Value>, location: &str) {
    if let Some(result) = state.get("Result") {
        if has_dollar_key(result) {
            cx.warning(
                PASS_RESULT_IS_STATIC,
                "'Result' contains fields ending in '.$', but a Pass state's Result is static and never evaluated (use 'Parameters')",
                at(location, "Result"),
            );
        }
    }
}

fn has_dollar_key(value: &Value) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(k, v)| k.ends_with(".$") || has_dollar_key(v)),
        Value::Array(items) => items.iter().any(has_dollar_key),
        _ => false,
    }
}
