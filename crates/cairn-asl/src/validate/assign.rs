//! `Assign` (workflow variables), wherever it appears: states, Choice rules, catchers.
//!
//! Both languages: an object whose keys are variable names. JSONPath mode: a key may end in
//! `.$`, making its value a path or intrinsic (a payload template member). JSONata mode:
//! values are literals or `{% %}` expressions. Names (ASL digest §10.3): no sub-path targets
//! (`x.y`, `x[0]`), `states` is reserved, at most 80 characters. We accept names made of
//! letters, digits and `_` that do not start with a digit (JSONata's `$name` syntax; AWS's
//! exact character class is unverified). The wordings are ours.
//!
//! Must not: check anything but `Assign`.

use super::context::{at, Cx, Kind};
use super::paths;
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

const MAX_VARIABLE_NAME: usize = 80;

/// The `Assign` member of `owner` (a state, a Choice rule or a catcher) at `location`.
pub fn check(cx: &mut Cx, owner: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    let Some(value) = owner.get("Assign") else {
        return;
    };
    let assign_at = at(location, "Assign");
    let Value::Object(vars) = value else {
        cx.wrong_kind("Assign", Kind::Object, value, &assign_at);
        return;
    };
    for (key, value) in vars {
        let member_at = at(&assign_at, key);
        let (name, is_path) = match key.strip_suffix(".$") {
            Some(name) if ql == QueryLanguage::JsonPath => (name, true),
            _ => (key.as_str(), false),
        };
        check_name(cx, name, &member_at);
        if is_path {
            paths::path_or_intrinsic(cx, value, key, &member_at);
        } else if ql == QueryLanguage::JsonPath {
            paths::template(cx, value, &member_at);
        }
    }
}

fn check_name(cx: &mut Cx, name: &str, location: &str) {
    if name == "states" {
        cx.schema(
            "The variable name 'states' is reserved and cannot be assigned",
            location,
        );
        return;
    }
    let mut chars = name.chars();
    let valid_start = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    let valid_rest = chars.all(|c| c.is_alphanumeric() || c == '_');
    if !valid_start || !valid_rest {
        cx.schema(
            format!("The variable name '{name}' is not valid: use letters, digits and '_' (no paths such as 'a.b' or 'a[0]')"),
            location,
        );
    } else if name.chars().count() > MAX_VARIABLE_NAME {
        cx.schema(
            format!("The variable name '{name}' is longer than {MAX_VARIABLE_NAME} characters"),
            location,
        );
    }
}
