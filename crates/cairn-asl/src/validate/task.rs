//! Task-specific fields: `Resource`, `TimeoutSeconds` / `HeartbeatSeconds` (and their `…Path`
//! forms), `Credentials`. `Parameters`/`ResultSelector`/`ResultPath` are in `paths`,
//! `Retry`/`Catch` in `retry_catch`.
//!
//! Rules (ASL digest §3): both timeouts are positive integers ≤ 99,999,999 (JSONata: or an
//! expression); each is exclusive with its `…Path`; HeartbeatSeconds must be smaller than
//! TimeoutSeconds when both are literals; Credentials needs `RoleArn` (observed: "The field
//! 'RoleArn' is required but was missing at /States/X/Credentials").
//!
//! Must not: classify resources (see `resource`).

use super::context::{at, Cx, Kind};
use super::{jsonata, paths, resource, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    if let Some(value) = state.get("Resource") {
        let field_at = at(location, "Resource");
        match value {
            Value::String(_) if jsonata::is_expression(value) => {
                jsonata::literal_only(cx, value, "Resource", &field_at)
            }
            Value::String(r) => resource::check(cx, r, &field_at),
            other => cx.wrong_kind("Resource", Kind::String, other, &field_at),
        }
    }

    let timeout = seconds(cx, state, "TimeoutSeconds", ql, location);
    let heartbeat = seconds(cx, state, "HeartbeatSeconds", ql, location);
    if let (Some(t), Some(h)) = (timeout, heartbeat) {
        if h >= t {
            cx.schema(
                format!("HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"),
                at(location, "HeartbeatSeconds"),
            );
        }
    }
    for (field, path_field) in [
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ] {
        values::exclusive(cx, state, &[field, path_field], location);
        if ql == QueryLanguage::JsonPath {
            if let Some(value) = state.get(path_field) {
                paths::reference_path(cx, value, path_field, &at(location, path_field), true);
            }
        }
    }

    if let Some(credentials) = values::object(cx, state, "Credentials", location) {
        check_credentials(cx, credentials, ql, &at(location, "Credentials"));
    }
}

/// A positive-seconds field; returns the literal when there is a valid one.
fn seconds(
    cx: &mut Cx,
    state: &Map<String, Value>,
    field: &str,
    ql: QueryLanguage,
    location: &str,
) -> Option<i64> {
    if jsonata::dynamic(ql, state.get(field)) {
        return None;
    }
    values::integer(cx, state, field, location, 1, Some(values::MAX_SECONDS))
}

fn check_credentials(
    cx: &mut Cx,
    credentials: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
) {
    let allowed: &[&str] = match ql {
        QueryLanguage::JsonPath => &["RoleArn", "RoleArn.$"],
        QueryLanguage::Jsonata => &["RoleArn"],
    };
    values::only_fields(cx, credentials, allowed, location);
    if !credentials.contains_key("RoleArn") && !credentials.contains_key("RoleArn.$") {
        cx.schema("The field 'RoleArn' is required but was missing", location);
    }
    values::exclusive(cx, credentials, &["RoleArn", "RoleArn.$"], location);
    if ql == QueryLanguage::JsonPath {
        paths::template_object(cx, credentials, location);
    }
    if let Some(role) = credentials.get("RoleArn") {
        if !role.is_string() {
            cx.wrong_kind("RoleArn", Kind::String, role, &at(location, "RoleArn"));
        }
    }
}
