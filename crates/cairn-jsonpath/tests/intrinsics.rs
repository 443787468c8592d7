//! Table tests of intrinsic calls through the public API: results, AWS quirks, and errors.

use cairn_jsonpath::{
    check_expression, check_intrinsic, evaluate_expression, NoVariables, Scope, FUNCTION_NAMES,
};
use serde_json::{json, Value};
use std::cell::Cell;

fn call_with(expr: &str, input: &Value, entropy: &Cell<u64>) -> Result<Value, (String, String)> {
    let context = json!({"Execution": {"Name": "exec"}});
    let scope = Scope {
        input,
        context: &context,
        variables: &NoVariables,
        entropy,
    };
    evaluate_expression(expr, &scope).map_err(|e| (e.error.to_string(), e.message))
}

fn call(expr: &str) -> Result<Value, (String, String)> {
    let input = json!({"arr": [1, 2, 3], "obj": {"a": 1}, "s": "a,b", "n": 2.5, "t": "{}!"});
    call_with(expr, &input, &Cell::new(11))
}

#[test]
fn results_table() {
    let table: &[(&str, Value)] = &[
        ("States.Array()", json!([])),
        (
            "States.Array(1, 'a', true, null, $.obj)",
            json!([1, "a", true, null, {"a": 1}]),
        ),
        (
            "States.Format('{} and {}', $.s, $.obj)",
            json!("a,b and {a=1}"),
        ),
        ("States.Format($.t, 'x')", json!("x!")),
        ("States.Format('\\{\\} {}', 1)", json!("{} 1")),
        (
            "States.Format('it\\'s {}', $$.Execution.Name)",
            json!("it's exec"),
        ),
        (
            "States.StringToJson('{\"a\": [1, 2.0]}')",
            json!({"a": [1, 2.0]}),
        ),
        ("States.JsonToString($.obj)", json!("{\"a\":1}")),
        ("States.ArrayPartition($.arr, 2)", json!([[1, 2], [3]])),
        ("States.ArrayContains($.arr, 2)", json!(true)),
        ("States.ArrayRange(10, 0, -5)", json!([10, 5, 0])),
        ("States.ArrayGetItem($.arr, 2)", json!(3)),
        ("States.ArrayLength($.arr)", json!(3)),
        (
            "States.ArrayUnique(States.Array(1, 1, $.obj, $.obj))",
            json!([1, {"a": 1}]),
        ),
        (
            "States.Base64Decode(States.Base64Encode('héllo'))",
            json!("héllo"),
        ),
        (
            "States.Hash('input data', 'SHA-1')",
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        (
            "States.JsonMerge($.obj, States.StringToJson('{\"b\": 2}'), false)",
            json!({"a": 1, "b": 2}),
        ),
        ("States.MathAdd($.n, -1)", json!(2)),
        ("States.MathRandom(7, 8)", json!(7)),
        ("States.StringSplit($.s, ',')", json!(["a", "b"])),
        (
            "States.ArrayLength(States.Array(States.Array(States.Array())))",
            json!(1),
        ),
    ];
    for (expr, expected) in table {
        assert_eq!(&call(expr).unwrap(), expected, "{expr}");
    }
}

#[test]
fn argument_errors_are_intrinsic_failures() {
    for expr in [
        "States.Format('{}')",
        "States.Format('{}', 1, 2)",
        "States.ArrayGetItem($.arr, 3)",
        "States.ArrayPartition($.arr, 0)",
        "States.ArrayRange(0, 1000, 1)",
        "States.ArrayRange(0, 10, 0)",
        "States.ArrayLength($.obj)",
        "States.Base64Decode('%%%')",
        "States.Hash('x', 'SHA-999')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathAdd('1', 2)",
        "States.MathRandom(5, 1)",
        "States.StringToJson('{')",
        "States.StringSplit(1, ',')",
        "States.UUID(1)",
        "States.Nope()",
    ] {
        let (error, message) = call(expr).unwrap_err();
        assert_eq!(error, "States.IntrinsicFailure", "{expr}: {message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn missing_path_argument_is_a_runtime_error() {
    let (error, message) = call("States.Array($.nope)").unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert_eq!(
        message,
        "Invalid path '$.nope' : No results for path: $['nope']"
    );
}

#[test]
fn uuid_and_random_are_deterministic_per_seed() {
    let input = json!({});
    let run = |seed| {
        let entropy = Cell::new(seed);
        (
            call_with("States.UUID()", &input, &entropy).unwrap(),
            call_with("States.UUID()", &input, &entropy).unwrap(),
            call_with("States.MathRandom(0, 1000000)", &input, &entropy).unwrap(),
        )
    };
    let (a1, a2, r) = run(5);
    assert_ne!(a1, a2);
    assert_eq!(run(5), (a1, a2, r));
    assert_ne!(run(6).0, run(5).0);
}

#[test]
fn static_check_table() {
    assert_eq!(FUNCTION_NAMES.len(), 18);
    for name in FUNCTION_NAMES {
        assert!(name.starts_with("States."));
    }
    for good in [
        "States.UUID()",
        "States.Format('{}', $.a)",
        "States.MathRandom(1, 2)",
        "States.MathRandom(1, 2, 3)",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
        "States.JsonMerge($a, $$.x, false)",
    ] {
        assert!(check_intrinsic(good).is_ok(), "{good}");
    }
    for bad in [
        "States.UUID(1)",
        "States.Format()",
        "States.MathRandom(1)",
        "States.Hash('a')",
        "States.Unknown()",
        "States.Format('{}', $.a",
        "States.Array(States.Nope())",
        "States.Array($.a[)",
        "$.a",
    ] {
        assert!(check_intrinsic(bad).is_err(), "{bad}");
    }
    assert!(check_expression("States.Format('{}', $.a)").is_ok());
    assert!(check_expression("$.a[0]").is_ok());
    assert!(check_expression("States.Format('{}'").is_err());
    assert!(check_expression("$.a[").is_err());
    assert!(check_expression("plain").is_err());
}
