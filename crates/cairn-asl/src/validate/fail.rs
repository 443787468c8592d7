//! Fail: `Error` xor `ErrorPath`, `Cause` xor `CausePath`, all optional.
//!
//! `Error`/`Cause` are strings (in JSONata mode possibly `{% %}` expressions, which are
//! strings too). `ErrorPath`/`CausePath` (JSONPath only) are a path or an intrinsic call.
//! Whether the intrinsic returns a string is a run-time matter here.
//!
//! A path-looking literal `Error`/`Cause` gets AWS's `NO_PATH` warning (probably meant
//! `ErrorPath`/`CausePath`).
//!
//! Must not: check I/O fields (the schema refuses them on Fail).

use super::context::{at, Cx, NO_PATH};
use super::{paths, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    for (field, path_field) in [("Error", "ErrorPath"), ("Cause", "CausePath")] {
        values::exclusive(cx, state, &[field, path_field], location);
        let literal = values::string(cx, state, field, location);
        if ql == QueryLanguage::JsonPath && literal.is_some_and(paths::looks_evaluated) {
            cx.warning(
                NO_PATH,
                format!("The field '{field}' holds what looks like a path, but only '{path_field}' is evaluated; the text is used as is"),
                at(location, field),
            );
        }
        if ql == QueryLanguage::JsonPath {
            if let Some(value) = state.get(path_field) {
                paths::path_or_intrinsic(cx, value, path_field, &at(location, path_field));
            }
        }
    }
}
