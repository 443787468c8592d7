//! Parallel: `Branches`, a non-empty array of nested scopes (each checked by `scope` with its
//! own transition namespace). Observed: an empty array is "Value cannot be empty".
//!
//! Must not: check the branch states itself (scope/schema do).

use super::context::{at, Cx, Kind};
use super::scope::{self, ScopeKind};
use super::values;
use serde_json::{Map, Value};

pub fn check(cx: &mut Cx, state: &Map<String, Value>, location: &str) {
    let Some(branches) = values::array(cx, state, "Branches", location) else {
        return;
    };
    let branches_at = at(location, "Branches");
    if branches.is_empty() {
        cx.empty(&branches_at);
    }
    for (i, branch) in branches.iter().enumerate() {
        let branch_at = format!("{branches_at}[{i}]");
        match branch {
            Value::Object(obj) => scope::check_scope(cx, obj, &branch_at, ScopeKind::Branch),
            other => cx.wrong_kind("Branches", Kind::Object, other, &branch_at),
        }
    }
}
