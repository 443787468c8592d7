//! `variableReferences` of DescribeStateMachine: for each state that reads workflow
//! variables, the names it reads.
//!
//! What counts as a read (our reading of AWS's documentation: "a map of state name to a list
//! of variables referenced by that state; states that do not use variable references are not
//! shown"): `$name` in a JSONata expression (`{% … %}`) anywhere in the state, and, in a
//! JSONPath state, a path or intrinsic-function argument starting with `$name` in a field
//! whose value is a path (`…​.$` keys, `InputPath`, `OutputPath`, `ItemsPath`, Choice
//! `Variable` and `…Path` comparisons). Not reads: JSONata function calls (`$count(…)`),
//! `$states`, `$$` (the context object), `$` and `$.…` (the input), and text inside string
//! literals. Names are listed in order of first appearance, once each. States nested in
//! Parallel branches and Map processors are listed under their own names.
//!
//! Pure: a function of the definition JSON only. Not confirmed against AWS's output for
//! every case (order in particular).

use serde_json::{Map, Value};

/// State name → variable names read, for every state (at any depth) that reads any.
pub fn variable_references(definition: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if let Some(root) = definition.as_object() {
        let jsonata = root.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
        scope(root, jsonata, &mut out);
    }
    out
}

fn scope(obj: &Map<String, Value>, jsonata: bool, out: &mut Vec<(String, Vec<String>)>) {
    let Some(states) = obj.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        let Some(state) = state.as_object() else {
            continue;
        };
        let lang = match state.get("QueryLanguage").and_then(Value::as_str) {
            Some("JSONata") => true,
            Some(_) => false,
            None => jsonata,
        };
        let mut names = Vec::new();
        for (key, value) in state {
            match key.as_str() {
                "Branches" => {
                    for b in value.as_array().into_iter().flatten() {
                        if let Some(b) = b.as_object() {
                            scope(b, lang, out);
                        }
                    }
                }
                "ItemProcessor" | "Iterator" => {
                    if let Some(p) = value.as_object() {
                        scope(p, lang, out);
                    }
                }
                "Type" | "Next" | "End" | "Comment" | "QueryLanguage" | "Default"
                | "ResultPath" => {}
                _ => walk(key, value, lang, false, &mut names),
            }
        }
        if !names.is_empty() {
            out.push((name.clone(), names));
        }
    }
}

/// Fields whose plain string value is a JSONPath (JSONPath states).
fn is_path_field(key: &str) -> bool {
    key.ends_with(".$")
        || key == "Variable"
        || key == "InputPath"
        || key == "OutputPath"
        || key == "ItemsPath"
        || (key.ends_with("Path") && key != "ResultPath")
}

fn walk(key: &str, value: &Value, jsonata: bool, in_path: bool, names: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            let t = s.trim();
            if let Some(body) = t.strip_prefix("{%").and_then(|b| b.strip_suffix("%}")) {
                if jsonata {
                    scan(body, true, names);
                }
            } else if !jsonata && (in_path || is_path_field(key)) {
                scan(t, false, names);
            }
        }
        Value::Array(items) => {
            for v in items {
                walk(key, v, jsonata, in_path || is_path_field(key), names);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(k, v, jsonata, false, names);
            }
        }
        _ => {}
    }
}

/// Collect `$name` reads from an expression, skipping string literals. `calls_are_functions`:
/// in JSONata `$name(` is a function call, not a variable.
fn scan(text: &str, calls_are_functions: bool, names: &mut Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            i += 1;
            continue;
        }
        if c == '$' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            // `$$` (context) and `$` alone (input) are not variables.
            let preceded = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '$');
            if end > start && !preceded {
                let name: String = chars[start..end].iter().collect();
                let call = calls_are_functions && chars.get(end) == Some(&'(');
                if !call && name != "states" && !names.contains(&name) {
                    names.push(name);
                }
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonata_reads_skip_functions_states_and_literals() {
        let d = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $count($items) + $x + $states.input.y & '$nope' %}",
                  "Assign": {"z": "{% $x %}"}, "Next": "C"},
            "C": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "D", "States": {
                "D": {"Type": "Pass", "Output": "{% $z %}", "End": true}}}]}
        }});
        assert_eq!(
            variable_references(&d),
            vec![
                ("B".to_string(), vec!["items".to_string(), "x".to_string()]),
                ("D".to_string(), vec!["z".to_string()]),
            ]
        );
    }

    #[test]
    fn jsonpath_reads_in_paths_and_intrinsics() {
        let d = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"a.$": "$v.field", "b.$": "$.in", "c.$": "$$.Execution.Id",
                  "d.$": "States.Format('{} $no', $w)", "e": "$literal"}, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$flag", "BooleanEquals": true, "Next": "A"},
                  {"Variable": "$.x", "NumericEqualsPath": "$limit", "Next": "A"}], "Default": "A"}
        }});
        assert_eq!(
            variable_references(&d),
            vec![
                ("A".to_string(), vec!["v".to_string(), "w".to_string()]),
                (
                    "B".to_string(),
                    vec!["flag".to_string(), "limit".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn no_variables_no_entries() {
        let d = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
        assert!(variable_references(&d).is_empty());
    }
}
