//! The per-state field matrix (ASL digest §2): `Type`, which fields each state type allows in
//! which query language, required fields, and `Next` vs `End`. Then hands the state to its
//! type's module and collects its outgoing edges for [`super::transitions`].
//!
//! Observed AWS wordings: an unknown/misplaced field is `Field 'X' is not supported` located
//! at the state; a field of the other query language is `The QueryLanguage is set to 'X', but
//! field 'F' is only supported for the 'Y' QueryLanguage`, also at the state.
//!
//! Must not: check the values of type-specific fields (the per-type modules do).

use super::context::{at, at_index, Cx, Kind};
use super::transitions::StateEdges;
use super::{
    assign, choice, expressions, fail, jsonata, map, parallel, pass, paths, retry_catch, task,
    values, wait,
};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

pub const STATE_TYPES: [&str; 8] = [
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];

/// Which query language a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Both,
    /// JSONPath only.
    Path,
    /// JSONata only.
    Ata,
}

const ALL: &[&str] = &STATE_TYPES;
const FLOW: &[&str] = &["Pass", "Task", "Wait", "Parallel", "Map"];
const IO: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Parallel", "Map",
];
const WORK: &[&str] = &["Task", "Parallel", "Map"];
const ASSIGNING: &[&str] = &["Pass", "Task", "Choice", "Wait", "Parallel", "Map"];

/// (field, state types that allow it, query language).
const FIELDS: &[(&str, &[&str], Lang)] = &[
    ("Type", ALL, Lang::Both),
    ("Comment", ALL, Lang::Both),
    ("QueryLanguage", ALL, Lang::Both),
    ("Next", FLOW, Lang::Both),
    ("End", FLOW, Lang::Both),
    ("InputPath", IO, Lang::Path),
    ("OutputPath", IO, Lang::Path),
    (
        "Parameters",
        &["Pass", "Task", "Parallel", "Map"],
        Lang::Path,
    ),
    ("ResultSelector", WORK, Lang::Path),
    (
        "ResultPath",
        &["Pass", "Task", "Parallel", "Map"],
        Lang::Path,
    ),
    ("Result", &["Pass"], Lang::Path),
    ("Arguments", &["Task", "Parallel"], Lang::Ata),
    ("Output", IO, Lang::Ata),
    ("Assign", ASSIGNING, Lang::Both),
    ("Retry", WORK, Lang::Both),
    ("Catch", WORK, Lang::Both),
    ("Resource", &["Task"], Lang::Both),
    ("TimeoutSeconds", &["Task"], Lang::Both),
    ("HeartbeatSeconds", &["Task"], Lang::Both),
    ("TimeoutSecondsPath", &["Task"], Lang::Path),
    ("HeartbeatSecondsPath", &["Task"], Lang::Path),
    ("Credentials", &["Task"], Lang::Both),
    ("Choices", &["Choice"], Lang::Both),
    ("Default", &["Choice"], Lang::Both),
    ("Seconds", &["Wait"], Lang::Both),
    ("Timestamp", &["Wait"], Lang::Both),
    ("SecondsPath", &["Wait"], Lang::Path),
    ("TimestampPath", &["Wait"], Lang::Path),
    ("Error", &["Fail"], Lang::Both),
    ("Cause", &["Fail"], Lang::Both),
    ("ErrorPath", &["Fail"], Lang::Path),
    ("CausePath", &["Fail"], Lang::Path),
    ("Branches", &["Parallel"], Lang::Both),
    ("ItemsPath", &["Map"], Lang::Path),
    ("Items", &["Map"], Lang::Ata),
    ("ItemProcessor", &["Map"], Lang::Both),
    ("Iterator", &["Map"], Lang::Both),
    ("ItemSelector", &["Map"], Lang::Both),
    ("MaxConcurrency", &["Map"], Lang::Both),
    ("MaxConcurrencyPath", &["Map"], Lang::Path),
    ("ToleratedFailureCount", &["Map"], Lang::Both),
    ("ToleratedFailureCountPath", &["Map"], Lang::Path),
    ("ToleratedFailurePercentage", &["Map"], Lang::Both),
    ("ToleratedFailurePercentagePath", &["Map"], Lang::Path),
    ("ItemReader", &["Map"], Lang::Both),
    ("ItemBatcher", &["Map"], Lang::Both),
    ("ResultWriter", &["Map"], Lang::Both),
    ("Label", &["Map"], Lang::Both),
];

/// Does state type `ty` have field `field` (in some query language)?
pub fn allows(ty: &str, field: &str) -> bool {
    FIELDS
        .iter()
        .any(|(f, types, _)| *f == field && types.contains(&ty))
}

/// Fields a type cannot do without (Map's ItemProcessor/Iterator pair and Wait's duration
/// group are "one of" rules, checked by their modules).
fn required_fields(ty: &str) -> &'static [&'static str] {
    match ty {
        "Task" => &["Resource"],
        "Choice" => &["Choices"],
        "Parallel" => &["Branches"],
        _ => &[],
    }
}

/// Check one state; returns its edges for the scope's graph walk.
pub fn check_state(cx: &mut Cx, name: &str, body: &Value, location: &str) -> StateEdges {
    let mut edges = StateEdges {
        name: name.to_string(),
        location: location.to_string(),
        targets: Vec::new(),
        terminal: true,
    };
    let Value::Object(state) = body else {
        cx.wrong_kind(name, Kind::Object, body, location);
        return edges;
    };
    let ql = jsonata::state_language(cx, state, location);
    values::string(cx, state, "Comment", location);

    let ty = match state.get("Type") {
        None => {
            cx.required(&["Type"], location);
            None
        }
        Some(Value::String(t)) if STATE_TYPES.contains(&t.as_str()) => Some(t.as_str()),
        Some(_) => {
            cx.enum_values("Type", &STATE_TYPES, &at(location, "Type"));
            None
        }
    };
    // Without a known type nothing below is meaningful; still collect the edges so the graph
    // walk does not report states only this one leads to.
    collect_edges(state, ty, location, &mut edges);
    let Some(ty) = ty else {
        return edges;
    };
    edges.terminal =
        matches!(ty, "Succeed" | "Fail") || state.get("End") == Some(&Value::Bool(true));

    check_fields(cx, state, ty, ql, location);
    if FLOW.contains(&ty) {
        check_next_end(cx, state, location);
    }

    // Values of fields the type does not allow were reported above; not judged twice.
    paths::check_io(cx, state, ty, ql, location);
    if allows(ty, "Assign") {
        assign::check(cx, state, ql, location);
    }
    match ty {
        "Pass" => pass::check(cx, state, location),
        "Task" => task::check(cx, state, ql, location),
        "Wait" => wait::check(cx, state, ql, location),
        "Fail" => fail::check(cx, state, ql, location),
        "Choice" => choice::check(cx, state, ql, location),
        "Parallel" => parallel::check(cx, state, location),
        "Map" => map::check(cx, state, ql, location),
        _ => {}
    }
    if WORK.contains(&ty) {
        retry_catch::check(cx, state, ql, location);
    }
    if ql == QueryLanguage::Jsonata {
        expressions::check_state(cx, state, location);
    }
    edges
}

/// Unknown fields, fields of another type, fields of the other query language, required ones.
fn check_fields(
    cx: &mut Cx,
    state: &Map<String, Value>,
    ty: &str,
    ql: QueryLanguage,
    location: &str,
) {
    for key in state.keys() {
        match FIELDS.iter().find(|(f, _, _)| f == key) {
            Some((_, types, _)) if !types.contains(&ty) => cx.not_supported(key, location),
            None => cx.not_supported(key, location),
            Some((_, _, Lang::Path)) if ql == QueryLanguage::Jsonata => {
                cx.wrong_language(key, ql, location)
            }
            Some((_, _, Lang::Ata)) if ql == QueryLanguage::JsonPath => {
                cx.wrong_language(key, ql, location)
            }
            Some(_) => {}
        }
    }
    let missing: Vec<&str> = required_fields(ty)
        .iter()
        .copied()
        .filter(|f| !state.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        cx.required(&missing, location);
    }
}

/// Pass, Task, Wait, Parallel and Map need exactly one of `Next` and `End: true`.
fn check_next_end(cx: &mut Cx, state: &Map<String, Value>, location: &str) {
    values::string(cx, state, "Next", location);
    let end = values::boolean(cx, state, "End", location);
    match (state.contains_key("Next"), state.contains_key("End")) {
        (true, true) => cx.only_one_of(&["Next", "End"], location),
        // `End: false` ends nothing: the state still needs a Next (our wording).
        (false, true) if end == Some(false) => cx.schema(
            "One of these fields is required: [Next, End] ('End' must be true to end the scope)",
            location,
        ),
        (false, false) => cx.schema("One of these fields is required: [Next, End]", location),
        _ => {}
    }
}

/// Every name this state may transition to, wherever its type allows one to be written (a
/// state of unknown type: anywhere).
fn collect_edges(
    state: &Map<String, Value>,
    ty: Option<&str>,
    location: &str,
    edges: &mut StateEdges,
) {
    let allows = |types: &[&str]| ty.is_none_or(|t| types.contains(&t));
    if let (Some(Value::String(next)), true) = (state.get("Next"), allows(FLOW)) {
        edges.targets.push((next.clone(), at(location, "Next")));
    }
    if let (Some(Value::String(default)), true) = (state.get("Default"), allows(&["Choice"])) {
        edges
            .targets
            .push((default.clone(), at(location, "Default")));
    }
    for (field, types) in [("Choices", &["Choice"][..]), ("Catch", WORK)] {
        if !allows(types) {
            continue;
        }
        if let Some(Value::Array(items)) = state.get(field) {
            for (i, item) in items.iter().enumerate() {
                if let Some(Value::String(next)) = item.get("Next") {
                    edges
                        .targets
                        .push((next.clone(), at(&at_index(location, field, i), "Next")));
                }
            }
        }
    }
}
