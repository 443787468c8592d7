//! Property tests: no path or intrinsic text, however malformed, makes the parsers, the checks
//! or the evaluators panic.

use cairn_jsonpath::{
    check_intrinsic, check_path, check_reference_path, evaluate_expression, evaluate_path,
    evaluate_template, lookup_path, write_result_path, NoVariables, Scope,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::cell::Cell;

fn sample() -> Value {
    json!({"a": {"b": [1, 2.5, "x", null, {"c": true}]}, "s": "t,u", "n": -3, "arr": [[1], [2, 3]]})
}

/// Text built from the characters the grammars care about, so generated cases reach deep into
/// the parsers instead of failing on the first character.
fn path_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("*".to_string()),
        Just("?(".to_string()),
        Just(")".to_string()),
        Just("@".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just(" == ".to_string()),
        Just(" && ".to_string()),
        Just("!".to_string()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just("é".to_string()),
        "[a-z0-9]{1,3}".prop_map(|s| s),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn intrinsic_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("States.".to_string()),
        Just("Format".to_string()),
        Just("Array".to_string()),
        Just("ArrayRange".to_string()),
        Just("StringSplit".to_string()),
        Just("MathAdd".to_string()),
        Just("Hash".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(", ".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("{}".to_string()),
        Just("$.a.b".to_string()),
        Just("$.s".to_string()),
        Just("$$".to_string()),
        Just("1".to_string()),
        Just("-2.5".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("é".to_string()),
    ];
    prop::collection::vec(piece, 0..20).prop_map(|v| v.concat())
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-c ,]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn exercise(text: &str) {
    exercise_on(text, sample());
}

fn exercise_on(text: &str, input: Value) {
    let context = json!({"Execution": {"Input": input.clone()}});
    let entropy = Cell::new(3);
    let scope = Scope {
        input: &input,
        context: &context,
        variables: &NoVariables,
        entropy: &entropy,
    };
    let _ = check_path(text);
    let _ = check_reference_path(text);
    let _ = check_intrinsic(text);
    let _ = evaluate_path(text, &scope);
    let _ = lookup_path(text, &scope);
    let _ = evaluate_expression(text, &scope);
    let _ = write_result_path(text, input.clone(), json!(1));
    let _ = evaluate_template(&json!({"k.$": text}), &scope, "Parameters");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn path_like_text_never_panics(text in path_like()) {
        exercise(&text);
    }

    #[test]
    fn intrinsic_like_text_never_panics(text in intrinsic_like()) {
        exercise(&text);
    }

    #[test]
    fn paths_over_arbitrary_data_never_panic(text in path_like(), input in json_value()) {
        exercise_on(&text, input);
    }

    #[test]
    fn intrinsics_over_arbitrary_data_never_panic(
        function in prop::sample::select(cairn_jsonpath::FUNCTION_NAMES.to_vec()),
        args in prop::collection::vec(prop_oneof![
            Just("$.a".to_string()),
            Just("$.b".to_string()),
            Just("$.a[0]".to_string()),
            Just("$".to_string()),
            Just("'x'".to_string()),
            Just("'{}'".to_string()),
            Just("'SHA-256'".to_string()),
            Just("false".to_string()),
            Just("-9223372036854775808".to_string()),
            Just("9223372036854775807".to_string()),
            Just("1e308".to_string()),
            Just("3".to_string()),
        ], 0..4),
        a in json_value(),
        b in json_value(),
    ) {
        let text = format!("{function}({})", args.join(", "));
        exercise_on(&text, json!({"a": a, "b": b}));
    }
}

#[test]
fn pathological_nesting_is_rejected_not_overflowed() {
    let deep_filter = format!("$[?({}@.a{})]", "(".repeat(5000), ")".repeat(5000));
    assert!(check_path(&deep_filter).is_err());
    let deep_not = format!("$[?({}@.a)]", "!".repeat(5000));
    assert!(check_path(&deep_not).is_err());
}
