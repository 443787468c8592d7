//! Scopes of states: the top-level machine, each Parallel branch and each Map
//! `ItemProcessor` / `Iterator`.
//!
//! Owns the fields of the scope objects themselves (`StartAt`, `States`, `Comment`, top-level
//! `Version`, `TimeoutSeconds`, `QueryLanguage`), state names (length, duplicates across the
//! whole machine), and hands each state to [`super::schema`] and the scope's graph to
//! [`super::transitions`]. Nested scopes have their own transition namespace: a branch cannot
//! jump out and outer states cannot jump in.
//!
//! Must not: check state bodies (schema and the per-type modules do).

use super::context::{at, here, Cx, DUPLICATE_STATE_NAME, INVALID_STATE_NAME};
use super::{jsonata, schema, transitions, values};
use serde_json::{Map, Value};

/// Longest state name AWS accepts (characters).
const MAX_STATE_NAME: usize = 80;

/// Which kind of object holds the scope: decides its allowed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Root,
    /// A Parallel branch. `QueryLanguage` is listed as allowed there by the ASL digest; AWS
    /// resolves languages against the top level anyway, so it has no effect.
    Branch,
    /// Map `ItemProcessor`: AWS refuses `QueryLanguage` here (observed "Field 'QueryLanguage'
    /// is not supported" at `/States/M/ItemProcessor`).
    ItemProcessor,
    /// Legacy Map `Iterator`: same as ItemProcessor (AWS accepts `ProcessorConfig` in it too;
    /// seen in definitions AWS accepted).
    Iterator,
}

impl ScopeKind {
    fn allowed_fields(self) -> &'static [&'static str] {
        match self {
            ScopeKind::Root => &[
                "Comment",
                "StartAt",
                "States",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
            ScopeKind::Branch => &["Comment", "StartAt", "States", "QueryLanguage"],
            ScopeKind::ItemProcessor | ScopeKind::Iterator => {
                &["Comment", "StartAt", "States", "ProcessorConfig"]
            }
        }
    }
}

/// Check the whole document (already known to be a JSON object).
pub fn check_root(cx: &mut Cx, root: &Map<String, Value>) {
    cx.root_language = jsonata::root_language(cx, root);
    if root.contains_key("Version") {
        if let Some(v) = values::string(cx, root, "Version", "") {
            if v != "1.0" {
                cx.enum_values("Version", &["1.0"], "/Version");
            }
        }
    }
    values::integer(cx, root, "TimeoutSeconds", "", 1, Some(values::MAX_SECONDS));
    check_scope(cx, root, "", ScopeKind::Root);
}

/// Check a scope object at `location` (`""` for the root).
pub fn check_scope(cx: &mut Cx, obj: &Map<String, Value>, location: &str, kind: ScopeKind) {
    values::only_fields(cx, obj, kind.allowed_fields(), &here(location));
    values::string(cx, obj, "Comment", location);
    if kind == ScopeKind::Branch && obj.contains_key("QueryLanguage") {
        // Only its value is checked: it does not change how the branch's states resolve.
        jsonata::state_language(cx, obj, location);
    }

    let missing: Vec<&str> = ["States", "StartAt"]
        .into_iter()
        .filter(|f| !obj.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        cx.required(&missing, &here(location));
    }
    let start_at = values::string(cx, obj, "StartAt", location);
    let Some(states) = values::object(cx, obj, "States", location) else {
        return;
    };
    if states.is_empty() {
        cx.empty(&at(location, "States"));
    }

    let states_at = at(location, "States");
    let mut graph = Vec::with_capacity(states.len());
    for (name, body) in states {
        let state_at = at(&states_at, name);
        check_name(cx, name, &state_at);
        graph.push(schema::check_state(cx, name, body, &state_at));
    }
    transitions::check_scope(cx, start_at, &graph, location);
}

fn check_name(cx: &mut Cx, name: &str, location: &str) {
    let len = name.chars().count();
    if len == 0 {
        cx.error(INVALID_STATE_NAME, "State name cannot be empty", location);
    } else if len > MAX_STATE_NAME {
        cx.error(
            INVALID_STATE_NAME,
            format!("State name '{name}' is longer than {MAX_STATE_NAME} characters"),
            location,
        );
    }
    // The States Language spec: "State names MUST be unique within the scope of the whole
    // state machine" — nested scopes included (the ASL digest marks AWS's enforcement
    // unverified; a duplicate would make history events ambiguous, so we refuse it). Repeats
    // inside one `States` object are found by `duplicates`, as JSON maps keep one key.
    if let Some(first) = cx.state_names.get(name) {
        let first = first.clone();
        cx.error(
            DUPLICATE_STATE_NAME,
            format!("State name '{name}' is already used at {first}"),
            location,
        );
    } else {
        cx.state_names
            .insert(name.to_string(), location.to_string());
    }
}
