//! `Retry` and `Catch` on Task, Parallel and Map (ASL digest §9).
//!
//! Retrier: `ErrorEquals` (required, non-empty strings), `IntervalSeconds` 1..99,999,999,
//! `MaxAttempts` 0..99,999,999, `BackoffRate` ≥ 1.0, `MaxDelaySeconds` 1..31,622,400,
//! `JitterStrategy` FULL | NONE, `Comment`. Catcher: `ErrorEquals`, `Next` (both required),
//! `ResultPath` (JSONPath), `Output` (JSONata), `Assign`, `Comment`. `States.ALL` must be
//! alone in its `ErrorEquals` and only in the last retrier / catcher. Wordings for the
//! `States.ALL` rules are ours.
//!
//! Must not: check that `Next` exists (transitions does).

use super::context::{at, at_index, Cx, Kind};
use super::{assign, paths, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

const RETRIER_FIELDS: [&str; 7] = [
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: [&str; 6] = [
    "ErrorEquals",
    "Next",
    "ResultPath",
    "Output",
    "Assign",
    "Comment",
];
/// Retry `MaxDelaySeconds` upper bound (ASL digest §12).
const MAX_DELAY_SECONDS: i64 = 31_622_400;
const ALL: &str = "States.ALL";

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    if let Some(retriers) = values::array(cx, state, "Retry", location) {
        for (i, retrier) in retriers.iter().enumerate() {
            let retrier_at = at_index(location, "Retry", i);
            let Value::Object(retrier) = retrier else {
                cx.wrong_kind("Retry", Kind::Object, retrier, &retrier_at);
                continue;
            };
            let has_all = check_retrier(cx, retrier, &retrier_at);
            if has_all && i + 1 < retriers.len() {
                cx.schema(
                    "A retrier with 'States.ALL' in its ErrorEquals must be the last retrier",
                    &retrier_at,
                );
            }
        }
    }
    if let Some(catchers) = values::array(cx, state, "Catch", location) {
        for (i, catcher) in catchers.iter().enumerate() {
            let catcher_at = at_index(location, "Catch", i);
            let Value::Object(catcher) = catcher else {
                cx.wrong_kind("Catch", Kind::Object, catcher, &catcher_at);
                continue;
            };
            let has_all = check_catcher(cx, catcher, ql, &catcher_at);
            if has_all && i + 1 < catchers.len() {
                cx.schema(
                    "A catcher with 'States.ALL' in its ErrorEquals must be the last catcher",
                    &catcher_at,
                );
            }
        }
    }
}

/// Returns whether the retrier's ErrorEquals contains `States.ALL`.
fn check_retrier(cx: &mut Cx, retrier: &Map<String, Value>, location: &str) -> bool {
    values::only_fields(cx, retrier, &RETRIER_FIELDS, location);
    values::string(cx, retrier, "Comment", location);
    let has_all = error_equals(cx, retrier, location, true);
    values::integer(
        cx,
        retrier,
        "IntervalSeconds",
        location,
        1,
        Some(values::MAX_SECONDS),
    );
    values::integer(
        cx,
        retrier,
        "MaxAttempts",
        location,
        0,
        Some(values::MAX_SECONDS),
    );
    values::number(cx, retrier, "BackoffRate", location, 1.0, None);
    values::integer(
        cx,
        retrier,
        "MaxDelaySeconds",
        location,
        1,
        Some(MAX_DELAY_SECONDS),
    );
    values::one_of(cx, retrier, "JitterStrategy", &["FULL", "NONE"], location);
    has_all
}

fn check_catcher(
    cx: &mut Cx,
    catcher: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
) -> bool {
    for key in catcher.keys() {
        match key.as_str() {
            "ResultPath" if ql == QueryLanguage::Jsonata => cx.wrong_language(key, ql, location),
            "Output" if ql == QueryLanguage::JsonPath => cx.wrong_language(key, ql, location),
            k if CATCHER_FIELDS.contains(&k) => {}
            k => cx.not_supported(k, location),
        }
    }
    values::string(cx, catcher, "Comment", location);
    let has_all = error_equals(cx, catcher, location, false);
    if catcher.contains_key("Next") {
        values::string(cx, catcher, "Next", location);
    }
    let missing: Vec<&str> = ["ErrorEquals", "Next"]
        .into_iter()
        .filter(|f| !catcher.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        cx.required(&missing, location);
    }
    if ql == QueryLanguage::JsonPath {
        if let Some(value) = catcher.get("ResultPath") {
            paths::result_path(cx, value, &at(location, "ResultPath"));
        }
    }
    assign::check(cx, catcher, ql, location);
    has_all
}

/// `ErrorEquals`: required, non-empty array of strings, `States.ALL` alone. `report_missing`:
/// catchers report a missing ErrorEquals together with `Next` instead. Returns whether `States.ALL` is in
/// it.
fn error_equals(
    cx: &mut Cx,
    owner: &Map<String, Value>,
    location: &str,
    report_missing: bool,
) -> bool {
    let Some(value) = owner.get("ErrorEquals") else {
        if report_missing {
            cx.required(&["ErrorEquals"], location);
        }
        return false;
    };
    let field_at = at(location, "ErrorEquals");
    let Value::Array(names) = value else {
        cx.wrong_kind("ErrorEquals", Kind::Array, value, &field_at);
        return false;
    };
    if names.is_empty() {
        cx.empty(&field_at);
    }
    let mut has_all = false;
    for (i, name) in names.iter().enumerate() {
        match name {
            Value::String(s) if s == ALL => has_all = true,
            Value::String(_) => {}
            other => cx.wrong_kind(
                "ErrorEquals",
                Kind::String,
                other,
                &format!("{field_at}[{i}]"),
            ),
        }
    }
    if has_all && names.len() > 1 {
        cx.schema("'States.ALL' must appear alone in ErrorEquals", &field_at);
    }
    has_all
}
