//! Query-language resolution and the value rules that only exist in JSONata mode.
//!
//! Resolution (measured against AWS by other emulators; ASL digest §1, §10):
//! - the machine's `QueryLanguage` (default JSONPath) applies to every state that does not
//!   declare its own — including states inside Map processors and Parallel branches, whose
//!   enclosing state's language does **not** propagate;
//! - a state may opt into JSONata under a JSONPath machine, never the reverse
//!   (`'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine`);
//! - a present value other than exactly `JSONPath` resolves to JSONata, after its enum
//!   diagnostic.
//!
//! JSONata expressions are strings wrapped in `{%` `%}`. We do not parse their bodies (no
//! JSONata parser in this crate); we only check where an expression may stand.
//!
//! Must not: check JSONPath syntax (see `paths`).

use super::context::{at, Cx, Kind};
use crate::model::{jsonata_expression, QueryLanguage};
use serde_json::{Map, Value};

const LANGUAGES: [&str; 2] = ["JSONPath", "JSONata"];

/// The top-level language; reports a bad `QueryLanguage` at `/QueryLanguage`.
pub fn root_language(cx: &mut Cx, root: &Map<String, Value>) -> QueryLanguage {
    declared(cx, root, "").unwrap_or(QueryLanguage::JsonPath)
}

/// The effective language of the state at `location`.
pub fn state_language(cx: &mut Cx, state: &Map<String, Value>, location: &str) -> QueryLanguage {
    match declared(cx, state, location) {
        None => cx.root_language,
        Some(QueryLanguage::JsonPath) if cx.root_language == QueryLanguage::Jsonata => {
            cx.schema(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                location,
            );
            QueryLanguage::Jsonata
        }
        Some(ql) => ql,
    }
}

fn declared(cx: &mut Cx, obj: &Map<String, Value>, location: &str) -> Option<QueryLanguage> {
    let value = obj.get("QueryLanguage")?;
    let field_at = at(location, "QueryLanguage");
    match value {
        Value::String(s) if s == "JSONPath" => Some(QueryLanguage::JsonPath),
        Value::String(s) if s == "JSONata" => Some(QueryLanguage::Jsonata),
        Value::String(_) => {
            cx.enum_values("QueryLanguage", &LANGUAGES, &field_at);
            Some(QueryLanguage::Jsonata)
        }
        other => {
            cx.wrong_kind("QueryLanguage", Kind::String, other, &field_at);
            Some(QueryLanguage::Jsonata)
        }
    }
}

/// Is this value a JSONata expression (`"{% … %}"`)?
pub fn is_expression(value: &Value) -> bool {
    value.as_str().and_then(jsonata_expression).is_some()
}

/// In a JSONata state, a field that may be either a literal or an expression: true when it is
/// an expression (and so needs no literal checks).
pub fn dynamic(ql: QueryLanguage, value: Option<&Value>) -> bool {
    ql == QueryLanguage::Jsonata && value.is_some_and(is_expression)
}

/// Fields that must be literal even in JSONata mode (`Resource`): refuse an expression.
pub fn literal_only(cx: &mut Cx, value: &Value, field: &str, location: &str) {
    if is_expression(value) {
        cx.schema(
            format!("The value for the field '{field}' must be a literal string, not a JSONata expression"),
            location,
        );
    }
}
