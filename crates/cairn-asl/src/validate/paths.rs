//! JSONPath-mode fields: Paths (`InputPath`, `OutputPath`, Choice `Variable`, …), Reference
//! Paths (`ResultPath`, `ItemsPath`, every scalar `…Path` field) and payload templates
//! (`Parameters`, `ResultSelector`, `ItemSelector`, `Credentials`, JSONPath `Assign`), whose
//! `key.$` members must hold a path or an intrinsic function call.
//!
//! Syntax is judged by `cairn_jsonpath::{check_path, check_reference_path, check_intrinsic}`;
//! this module adds only what it needs to tell the three apart: a path starts with `$`, an
//! intrinsic with `States.` (`cairn_jsonpath::is_intrinsic`). Wordings: `.$` with a non-string value is AWS's observed
//! "The value for the field 'a.$' must be a STRING that contains a JSONPath but was an ARRAY";
//! a non-reference path in a `…Path` field is "Value is not a Reference Path" (measured by
//! another emulator); the rest are ours in the same style.
//!
//! Also emits AWS's `NO_DOLLAR` warning for a template member that holds a path-looking
//! string under a key without `.$` (probably a forgotten suffix).
//!
//! Must not: evaluate anything.

use super::context::{at, Cx, Kind, NO_DOLLAR};
use super::{schema, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

/// `InputPath`, `OutputPath`, `ResultPath`, `Parameters`, `ResultSelector` of a state (only
/// in JSONPath mode: in JSONata mode the schema already refused them).
pub fn check_io(
    cx: &mut Cx,
    state: &Map<String, Value>,
    ty: &str,
    ql: QueryLanguage,
    location: &str,
) {
    if ql != QueryLanguage::JsonPath {
        return;
    }
    let get = |field: &str| state.get(field).filter(|_| schema::allows(ty, field));
    for field in ["InputPath", "OutputPath"] {
        if let Some(value) = get(field) {
            if !value.is_null() {
                path(cx, value, field, &at(location, field));
            }
        }
    }
    if let Some(value) = get("ResultPath") {
        result_path(cx, value, &at(location, "ResultPath"));
    }
    // Parameters may be any JSON value (only objects are templates).
    if let Some(value) = get("Parameters") {
        template(cx, value, &at(location, "Parameters"));
    }
    if get("ResultSelector").is_some() {
        if let Some(selector) = values::object(cx, state, "ResultSelector", location) {
            template_object(cx, selector, &at(location, "ResultSelector"));
        }
    }
}

/// A Path field (`$…`, `$$…`, `$var…`); `location` is the field's own.
pub fn path(cx: &mut Cx, value: &Value, field: &str, location: &str) {
    let Value::String(p) = value else {
        cx.wrong_kind(field, Kind::String, value, location);
        return;
    };
    if !p.starts_with('$') || cairn_jsonpath::check_path(p).is_err() {
        cx.schema(
            format!("The value for the field '{field}' must be a valid JSONPath"),
            location,
        );
    }
}

/// A Reference Path field: a path addressing one node (no wildcards, filters, slices, deep
/// scan). `allow_context`: whether `$$…` is accepted (AWS refuses it in Map's numeric
/// `…Path` fields, measured; elsewhere we accept it).
pub fn reference_path(
    cx: &mut Cx,
    value: &Value,
    field: &str,
    location: &str,
    allow_context: bool,
) {
    let Value::String(p) = value else {
        cx.wrong_kind(field, Kind::String, value, location);
        return;
    };
    let ok = p.starts_with('$')
        && (allow_context || !p.starts_with("$$"))
        && cairn_jsonpath::check_path(p).is_ok()
        && cairn_jsonpath::check_reference_path(p).is_ok();
    if !ok {
        cx.schema("Value is not a Reference Path", location);
    }
}

/// `ResultPath` (of a state or a catcher): `null`, or a reference path into the state's own
/// data — not the context object, not a variable (`cairn_jsonpath::check_result_path`).
pub fn result_path(cx: &mut Cx, value: &Value, location: &str) {
    match value {
        Value::Null => {}
        Value::String(p) => {
            if !p.starts_with('$') || cairn_jsonpath::check_result_path(p).is_err() {
                cx.schema("Value is not a Reference Path", location);
            }
        }
        other => cx.wrong_kind("ResultPath", Kind::String, other, location),
    }
}

/// A value evaluated as a path or an intrinsic call: `.$` template members, Fail
/// `ErrorPath`/`CausePath`.
pub fn path_or_intrinsic(cx: &mut Cx, value: &Value, field: &str, location: &str) {
    let Value::String(expr) = value else {
        cx.schema(
            format!(
                "The value for the field '{field}' must be a STRING that contains a JSONPath but was {}",
                Kind::of(value).with_article()
            ),
            location,
        );
        return;
    };
    let ok = if expr.starts_with('$') {
        cairn_jsonpath::check_path(expr).is_ok()
    } else if cairn_jsonpath::is_intrinsic(expr) {
        cairn_jsonpath::check_intrinsic(expr).is_ok()
    } else {
        false
    };
    if !ok {
        cx.schema(
            format!(
                "The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
            ),
            location,
        );
    }
}

/// A payload template: any JSON; objects (also inside arrays) have their `.$` members checked.
pub fn template(cx: &mut Cx, value: &Value, location: &str) {
    match value {
        Value::Object(obj) => template_object(cx, obj, location),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                template(cx, item, &format!("{location}[{i}]"));
            }
        }
        _ => {}
    }
}

pub fn template_object(cx: &mut Cx, obj: &Map<String, Value>, location: &str) {
    for (key, value) in obj {
        let member_at = at(location, key);
        if key.ends_with(".$") {
            path_or_intrinsic(cx, value, key, &member_at);
        } else if value.as_str().is_some_and(looks_evaluated) {
            cx.warning(
                NO_DOLLAR,
                format!("The field '{key}' holds what looks like a JSONPath or an intrinsic function call, but its name does not end with '.$', so it is passed on as a plain string"),
                member_at,
            );
        } else {
            template(cx, value, &member_at);
        }
    }
}

/// A plain string that looks like something meant to be evaluated: `$.x`, `$$.x`, `$` or
/// `States.Fn(…)` (AWS's NO_DOLLAR / NO_PATH warnings).
pub fn looks_evaluated(s: &str) -> bool {
    s == "$"
        || s.starts_with("$.")
        || s.starts_with("$$.")
        || s.starts_with("$[")
        || (cairn_jsonpath::is_intrinsic(s) && s.trim_end().ends_with(')'))
}
