//! Transitions within one scope: every `StartAt`, `Next`, `Default`, Choice rule `Next` and
//! Catch `Next` must name a state of the same scope; every state must be reachable from
//! `StartAt`; the scope must contain a terminal state.
//!
//! AWS's observed behaviour (measured with ValidateStateMachineDefinition):
//! - a missing target is `MISSING_TRANSITION_TARGET: Missing 'Next' target: X` with the
//!   literal word `Next` for every kind of edge, located at the edge's field;
//! - an unreachable state is `MISSING_TRANSITION_TARGET: State "X" is not reachable.` at the
//!   state;
//! - a scope without any terminal state (`End: true`, Succeed, Fail) is
//!   `MISSING_END_STATE: Workflow has no terminal state` without a location, and that
//!   suppresses the reachability walk.
//!
//! For `StartAt` naming no state we use the same "Missing 'Next' target" wording at
//! `/StartAt` (AWS's exact wording for that case is unknown) and skip reachability, which would
//! otherwise report every state.
//!
//! Must not: judge the fields that carry the edges (schema/choice/retry_catch do).

use super::context::{at, Cx, MISSING_END_STATE, MISSING_TRANSITION_TARGET};
use std::collections::{HashMap, VecDeque};

/// What the graph walk needs to know about one state.
#[derive(Debug, Clone)]
pub struct StateEdges {
    pub name: String,
    pub location: String,
    /// (target state name, location of the field naming it).
    pub targets: Vec<(String, String)>,
    /// Ends the scope (`End: true`, Succeed, Fail) — or its type is unknown, in which case we
    /// cannot tell and assume so to avoid a cascade of diagnostics.
    pub terminal: bool,
}

pub fn check_scope(cx: &mut Cx, start_at: Option<&str>, states: &[StateEdges], location: &str) {
    let index: HashMap<&str, usize> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();

    let mut start_ok = false;
    if let Some(start) = start_at {
        if index.contains_key(start) {
            start_ok = true;
        } else {
            cx.error(
                MISSING_TRANSITION_TARGET,
                format!("Missing 'Next' target: {start}"),
                at(location, "StartAt"),
            );
        }
    }
    for state in states {
        for (target, field_at) in &state.targets {
            if !index.contains_key(target.as_str()) {
                cx.error(
                    MISSING_TRANSITION_TARGET,
                    format!("Missing 'Next' target: {target}"),
                    field_at.clone(),
                );
            }
        }
    }

    if states.is_empty() {
        return;
    }
    if !states.iter().any(|s| s.terminal) {
        // The root has no location, as AWS reports it; nested scopes point at themselves.
        cx.error(
            MISSING_END_STATE,
            "Workflow has no terminal state",
            location.to_string(),
        );
        return;
    }
    let (Some(start), true) = (start_at, start_ok) else {
        return;
    };

    let mut reached = vec![false; states.len()];
    let mut queue = VecDeque::new();
    if let Some(&i) = index.get(start) {
        reached[i] = true;
        queue.push_back(i);
    }
    while let Some(i) = queue.pop_front() {
        for (target, _) in &states[i].targets {
            if let Some(&j) = index.get(target.as_str()) {
                if !reached[j] {
                    reached[j] = true;
                    queue.push_back(j);
                }
            }
        }
    }
    for (state, reached) in states.iter().zip(reached) {
        if !reached {
            cx.error(
                MISSING_TRANSITION_TARGET,
                format!("State \"{}\" is not reachable.", state.name),
                state.location.clone(),
            );
        }
    }
}
