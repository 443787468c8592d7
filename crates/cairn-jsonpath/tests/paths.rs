//! Table tests of the public path API: evaluation, lookup, ResultPath and the static checks.

use cairn_jsonpath::{
    check_path, check_reference_path, check_result_path, evaluate_path, lookup_path,
    write_result_path, Scope,
};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashMap;

fn with_scope<T>(input: &Value, f: impl FnOnce(&Scope) -> T) -> T {
    let context = json!({
        "Execution": {"Id": "arn:exec", "Input": {"k": "v"}},
        "Map": {"Item": {"Index": 2, "Value": {"x": 1}}}
    });
    let variables: HashMap<String, Value> = HashMap::from([
        ("count".to_string(), json!(3)),
        ("cfg".to_string(), json!({"limits": [5, 6]})),
    ]);
    let entropy = Cell::new(1);
    let scope = Scope {
        input,
        context: &context,
        variables: &variables,
        entropy: &entropy,
    };
    f(&scope)
}

fn eval(path: &str, input: &Value) -> Result<Value, String> {
    with_scope(input, |s| evaluate_path(path, s)).map_err(|e| {
        assert_eq!(e.error, "States.Runtime");
        e.message
    })
}

#[test]
fn path_results_table() {
    let input = json!({
        "a": {"b": [10, 20, 30], "c d": true, "n": null},
        "items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3}],
        "s": "text"
    });
    let table: &[(&str, Value)] = &[
        ("$", input.clone()),
        ("$.a.b", json!([10, 20, 30])),
        ("$.a.b[0]", json!(10)),
        ("$.a.b[-1]", json!(30)),
        ("$['a']['c d']", json!(true)),
        ("$[\"a\"].n", json!(null)),
        ("$.a.b[1:3]", json!([20, 30])),
        ("$.a.b[::2]", json!([10, 30])),
        ("$.a.b[0,2]", json!([10, 30])),
        ("$.a.b[*]", json!([10, 20, 30])),
        ("$.items[*].id", json!([1, 2, 3])),
        ("$..id", json!([1, 2, 3])),
        ("$.items[?(@.id > 1)].id", json!([2, 3])),
        ("$.items[?(@.ok == true)].id", json!([1])),
        ("$.items[?(@.ok)].id", json!([1, 2])),
        ("$.items[?(@.id == 1 || @.id == 3)].id", json!([1, 3])),
        ("$.items[?(@.id >= 2 && @.ok == false)].id", json!([2])),
        ("$.missing[*]", json!([])),
        ("$$.Execution.Id", json!("arn:exec")),
        ("$$.Map.Item.Value.x", json!(1)),
        ("$count", json!(3)),
        ("$cfg.limits[1]", json!(6)),
        ("$cfg.limits[*]", json!([5, 6])),
    ];
    for (path, expected) in table {
        assert_eq!(&eval(path, &input).unwrap(), expected, "{path}");
    }
}

#[test]
fn path_error_messages_table() {
    let input = json!({"a": {"b": 1}, "s": "text", "arr": [1, 2]});
    let table = [
        ("$.x", "Invalid path '$.x' : No results for path: $['x']"),
        ("$.a.b.c.d", "Invalid path '$.a.b.c.d' : Expected to find an object with property ['c'] in path $['a']['b'] but found 'java.lang.Integer'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'."),
        ("$.x.y", "Invalid path '$.x.y' : Missing property in path $['x']"),
        ("$.a.x", "Invalid path '$.a.x' : No results for path: $['a']['x']"),
        ("$.arr[2]", "Invalid path '$.arr[2]' : No results for path: $['arr'][2]"),
        ("$.s[0]", "Invalid path '$.s[0]' : Filter: [0] can only be applied to arrays. Current context is: text"),
    ];
    for (path, message) in table {
        assert_eq!(eval(path, &input).unwrap_err(), message, "{path}");
    }
}

#[test]
fn lookup_distinguishes_absent_from_present_null() {
    let input = json!({"a": null, "b": {"c": 1}});
    with_scope(&input, |s| {
        assert_eq!(lookup_path("$.a", s).unwrap(), Some(json!(null)));
        assert_eq!(lookup_path("$.b.c", s).unwrap(), Some(json!(1)));
        assert_eq!(lookup_path("$.x", s).unwrap(), None);
        assert_eq!(lookup_path("$.x.y", s).unwrap(), None);
        assert_eq!(lookup_path("$.b.c.d", s).unwrap(), None);
        assert_eq!(lookup_path("$undefinedVar", s).unwrap(), None);
        assert_eq!(lookup_path("$.x[*]", s).unwrap(), Some(json!([])));
        assert!(lookup_path("$.[", s).is_err());
    });
}

#[test]
fn result_path_table() {
    let input = json!({"keep": 1, "arr": [0, {"in": 1}]});
    let table: &[(&str, Value)] = &[
        ("$", json!("R")),
        (
            "$.new",
            json!({"keep": 1, "arr": [0, {"in": 1}], "new": "R"}),
        ),
        ("$.keep", json!({"keep": "R", "arr": [0, {"in": 1}]})),
        (
            "$.a.b.c",
            json!({"keep": 1, "arr": [0, {"in": 1}], "a": {"b": {"c": "R"}}}),
        ),
        ("$.arr[0]", json!({"keep": 1, "arr": ["R", {"in": 1}]})),
        (
            "$.arr[1].out",
            json!({"keep": 1, "arr": [0, {"in": 1, "out": "R"}]}),
        ),
        (
            "$['with space']",
            json!({"keep": 1, "arr": [0, {"in": 1}], "with space": "R"}),
        ),
    ];
    for (path, expected) in table {
        assert_eq!(
            &write_result_path(path, input.clone(), json!("R")).unwrap(),
            expected,
            "{path}"
        );
    }
    for bad in [
        "$.keep.x",
        "$.arr.x",
        "$.arr[7]",
        "$$.Execution",
        "$v",
        "$.arr[*]",
    ] {
        let err = write_result_path(bad, input.clone(), json!("R")).unwrap_err();
        assert_eq!(err.error, "States.Runtime", "{bad}");
    }
}

#[test]
fn static_checks() {
    for good in [
        "$",
        "$$",
        "$.a",
        "$['a b'].c[0]",
        "$..x",
        "$.a[?(@.b > 1)]",
        "$[1:2]",
        "$v.x",
        "$$.Map.Item.Value",
        "$.Jobs.sum()",
    ] {
        assert!(check_path(good).is_ok(), "{good}");
    }
    for bad in ["", "a", "$.", "$[", "$.a[?(@.b >)]", "$.a b", "$['x'"] {
        let err = check_path(bad).unwrap_err();
        assert!(err.0.contains(bad), "{bad}: {err}");
    }
    for good in ["$", "$.a.b", "$['a'][0]", "$$.Execution.Input", "$var.x"] {
        assert!(check_reference_path(good).is_ok(), "{good}");
    }
    for bad in [
        "$.a[*]",
        "$..a",
        "$.a[0:1]",
        "$.a[?(@.x)]",
        "$.a[0,1]",
        "$['a','b']",
        "$.a.*",
        "$.a.length()",
    ] {
        assert!(check_reference_path(bad).is_err(), "{bad}");
    }
    for good in ["$", "$.a", "$[0].b"] {
        assert!(check_result_path(good).is_ok(), "{good}");
    }
    for bad in ["$$", "$$.Execution", "$var", "$.a[*]"] {
        assert!(check_result_path(bad).is_err(), "{bad}");
    }
}
