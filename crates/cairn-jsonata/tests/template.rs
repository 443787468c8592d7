//! JSONata in ASL fields: `{% %}` detection, templates evaluated at any depth, and the
//! `States.QueryEvaluationError` causes AWS gives (texts from executions recorded on AWS,
//! `/work/shared/conformance/cases.jsonl`, and `ASL.md` §10.1).

use std::collections::HashMap;

use cairn_jsonata::{
    compile, evaluate_field, evaluate_value, expect_type, is_expression, Bindings, ExpectedType,
    JsonataError, QueryErrorKind, Template, QUERY_EVALUATION_ERROR,
};
use serde_json::{json, Value};

fn vars(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

#[test]
fn a_string_is_an_expression_only_between_the_delimiters() {
    assert_eq!(is_expression("{% $x %}"), Some("$x"));
    assert_eq!(is_expression("{%$x%}"), Some("$x"));
    assert_eq!(is_expression("{% 'a' & 'b' %}"), Some("'a' & 'b'"));
    assert_eq!(is_expression(" {% $x %}"), None);
    assert_eq!(is_expression("{% $x %} "), None);
    assert_eq!(is_expression("{% $x"), None);
    assert_eq!(is_expression("$x %}"), None);
    assert_eq!(is_expression("{%}"), None);
    assert_eq!(is_expression("$states.input"), None);
    assert_eq!(is_expression("{%%}"), Some(""));
}

#[test]
fn templates_are_evaluated_at_any_depth_and_literals_are_kept() {
    let states = json!({"input": {"title": "Doctor", "n": [1, 2, 3]}, "context": {}});
    let v = vars(&[("customerName", json!("María"))]);
    let b = Bindings::new(&states).with_variables(&v);
    let template = json!({
        "static": "Hello",
        "title": "{% $states.input.title %}",
        "name": "{% $customerName %}",
        "not-evaluated": "$customerName",
        "almost": " {% 1 %}",
        "deep": {"list": [1, "{% $sum($states.input.n) %}", {"x": "{% $count($states.input.n) %}"}]},
        "n": 1.5,
        "t": true,
        "z": null
    });
    let out = evaluate_value(&template, &b, "Arguments").unwrap();
    assert_eq!(
        out,
        json!({
            "static": "Hello",
            "title": "Doctor",
            "name": "María",
            "not-evaluated": "$customerName",
            "almost": " {% 1 %}",
            "deep": {"list": [1, 6, {"x": 3}]},
            "n": 1.5,
            "t": true,
            "z": null
        })
    );
}

#[test]
fn an_items_array_with_an_expression_inside() {
    // Conformance case: Map `Items: [1, "{% $number(\"2\") %}", 3]` iterates over [1, 2, 3].
    let states = json!({"input": {}, "context": {}});
    let b = Bindings::new(&states);
    let items = json!([1, "{% $number(\"2\") %}", 3]);
    let out = evaluate_value(&items, &b, "Items").unwrap();
    assert_eq!(out.to_string(), "[1,2,3]");
}

#[test]
fn output_reading_input_context_and_variables() {
    // Conformance case `outputdecl`: Output with expressions over $states and variables.
    let input = json!({"input_value": "string literal", "input_values": [1, 2, 3]});
    let states = json!({"input": input, "context": {"State": {"Name": "State0"}}});
    let v = vars(&[
        ("var_constant_1", json!(1)),
        ("var_input_value", json!("string literal")),
    ]);
    let b = Bindings::new(&states).with_variables(&v);
    let output = json!({
        "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
        "ja_states_context": "{% $states.context %}",
        "ja_states_input": "{% $states.input %}",
        "ja_var_access": "{% $var_input_value %}"
    });
    let out = evaluate_value(&output, &b, "Output").unwrap();
    assert_eq!(out["ja_expr"].to_string(), "7");
    assert_eq!(
        out["ja_states_context"],
        json!({"State": {"Name": "State0"}})
    );
    assert_eq!(out["ja_states_input"], input);
    assert_eq!(out["ja_var_access"], json!("string literal"));
}

#[test]
fn a_string_compared_with_a_quote() {
    // Conformance case: `Output: "{% $states.input = '\"' %}"` with input "\"" is true.
    let states = json!({"input": "\""});
    let out = evaluate_value(
        &json!("{% $states.input = '\"' %}"),
        &Bindings::new(&states),
        "Output",
    );
    assert_eq!(out.unwrap(), json!(true));
}

#[test]
fn nothing_names_the_field_path() {
    let states = json!({"input": {}, "context": {}});
    let b = Bindings::new(&states);
    for (field, template, location) in [
        ("Arguments", json!("{% $doesNotExist %}"), "Arguments"),
        ("Output", json!("{% $doesNotExist %}"), "Output"),
        (
            "Output",
            json!({"result": "{% $doesNotExist %}"}),
            "Output/result",
        ),
        (
            "Assign",
            json!({"result": "{% $doesNotExist %}"}),
            "Assign/result",
        ),
        (
            "Arguments",
            json!({"a": {"b": ["x", "{% $doesNotExist %}"]}}),
            "Arguments/a/b/1",
        ),
    ] {
        let err = evaluate_value(&template, &b, field).unwrap_err();
        assert_eq!(err.location(), location);
        assert_eq!(err.error(), QUERY_EVALUATION_ERROR);
        assert_eq!(err.kind(), &QueryErrorKind::Undefined);
        assert_eq!(
            err.cause(),
            format!(
                "The JSONata expression '$doesNotExist' specified for the field '{location}' returned nothing (undefined)."
            )
        );
        assert_eq!(err.to_string(), err.cause());
    }
}

#[test]
fn an_evaluator_exception_carries_its_code() {
    let states = json!({"input": {}});
    let b = Bindings::new(&states);
    let err = evaluate_value(&json!({"x": "{% $x() %}"}), &b, "Output").unwrap_err();
    assert_eq!(
        err.cause(),
        "The JSONata expression '$x()' specified for the field 'Output/x' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
    assert!(matches!(err.kind(), QueryErrorKind::Evaluation(e) if e.code() == Some("T1006")));

    let states = json!({"input": {"n": 5}});
    let b2 = Bindings::new(&states);
    let err =
        evaluate_value(&json!("{% $uppercase($states.input.n) %}"), &b2, "Output").unwrap_err();
    assert_eq!(
        err.cause(),
        "The JSONata expression '$uppercase($states.input.n)' specified for the field 'Output' threw an error during evaluation. T0410: Argument 1 of function \"uppercase\" does not match function signature"
    );
    let err = evaluate_value(&json!("{% $states.input.n & 'x' + 1 %}"), &b2, "Output").unwrap_err();
    assert!(err
        .cause()
        .ends_with("T2001: The left side of the \"+\" operator must evaluate to a number"));

    let err = evaluate_value(&json!("{% $error('custom') %}"), &b, "Output").unwrap_err();
    assert_eq!(
        err.cause(),
        "The JSONata expression '$error('custom')' specified for the field 'Output' threw an error during evaluation. D3137: custom"
    );
}

#[test]
fn a_function_is_an_unsupported_result_type() {
    let states = json!({"input": {}});
    let b = Bindings::new(&states);
    let err = evaluate_value(&json!("{% function($x){ $x } %}"), &b, "Output").unwrap_err();
    assert_eq!(err.kind(), &QueryErrorKind::UnsupportedType);
    assert_eq!(
        err.cause(),
        "The JSONata expression 'function($x){ $x }' specified for the field 'Output' returned an unsupported result type."
    );
}

#[test]
fn a_field_that_needs_an_array() {
    // Conformance cases: Map `Items` evaluating to 1, {'foo': 'bar'}, 'string', null, true.
    let states = json!({"input": {}});
    for (expr, variable, want) in [
        (
            "1",
            json!(null),
            "Expected 'array', but was 'number' for value: 1",
        ),
        (
            "{'foo': 'bar'}",
            json!(null),
            "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}",
        ),
        (
            "'string'",
            json!(null),
            "Expected 'array', but was 'string' for value: \"string\"",
        ),
        (
            "$ItemsVar",
            json!(null),
            "Expected 'array', but was 'null' for value: null",
        ),
        (
            "$ItemsVar",
            json!(true),
            "Expected 'array', but was 'boolean' for value: true",
        ),
    ] {
        let v = vars(&[("ItemsVar", variable)]);
        let b = Bindings::new(&states).with_variables(&v);
        let value = evaluate_field(&compile(expr).unwrap(), &b, "Items").unwrap();
        let err = expect_type(&value, ExpectedType::Array, expr, "Items").unwrap_err();
        assert_eq!(
            err.cause(),
            format!(
                "The JSONata expression '{expr}' specified for the field 'Items' returned an unexpected result type. {want}"
            )
        );
        assert_eq!(err.location(), "Items");
    }
    assert!(expect_type(&json!([]), ExpectedType::Array, "[]", "Items").is_ok());
}

#[test]
fn fields_that_need_a_boolean_an_integer_or_a_string() {
    assert!(expect_type(&json!(true), ExpectedType::Boolean, "x", "Condition").is_ok());
    assert!(expect_type(&json!(5), ExpectedType::Integer, "x", "TimeoutSeconds").is_ok());
    assert!(expect_type(&json!("e"), ExpectedType::String, "x", "Error").is_ok());
    assert!(expect_type(&json!({}), ExpectedType::Object, "x", "Arguments").is_ok());
    assert!(expect_type(&json!(1.5), ExpectedType::Number, "x", "Seconds").is_ok());
    let err = expect_type(&json!(1.5), ExpectedType::Integer, "$t", "TimeoutSeconds").unwrap_err();
    assert_eq!(
        err.cause(),
        "The JSONata expression '$t' specified for the field 'TimeoutSeconds' returned an unexpected result type. Expected 'integer', but was 'number' for value: 1.5"
    );
    let err = expect_type(&json!("yes"), ExpectedType::Boolean, "$c", "Condition").unwrap_err();
    assert!(err
        .cause()
        .ends_with("Expected 'boolean', but was 'string' for value: \"yes\""));
    assert!(matches!(
        err.kind(),
        QueryErrorKind::UnexpectedType {
            expected: ExpectedType::Boolean,
            actual: "string"
        }
    ));
}

#[test]
fn a_syntax_error_at_run_time_fails_the_field() {
    let states = json!({});
    let err = evaluate_value(&json!("{% 1 + %}"), &Bindings::new(&states), "Output").unwrap_err();
    assert!(err.cause().starts_with(
        "The JSONata expression '1 +' specified for the field 'Output' threw an error during evaluation. S0207"
    ));
}

#[test]
fn two_uuids_in_one_template_differ() {
    let states = json!({});
    let b = Bindings::new(&states).with_entropy(3);
    let out = evaluate_value(
        &json!({"a": "{% $uuid() %}", "b": "{% $uuid() %}"}),
        &b,
        "Output",
    )
    .unwrap();
    assert_ne!(out["a"], out["b"]);
    // And a replay with the same entropy gives both again.
    let again = evaluate_value(
        &json!({"a": "{% $uuid() %}", "b": "{% $uuid() %}"}),
        &Bindings::new(&states).with_entropy(3),
        "Output",
    )
    .unwrap();
    assert_eq!(out, again);
}

#[test]
fn states_always_comes_from_the_bindings() {
    let states = json!({"input": {"who": "input"}});
    let v = vars(&[("states", json!({"input": {"who": "variable"}}))]);
    let b = Bindings::new(&states).with_variables(&v);
    let out = evaluate_value(&json!("{% $states.input.who %}"), &b, "Output").unwrap();
    assert_eq!(out, json!("input"));
}

#[test]
fn a_compiled_template_evaluates_as_the_walk_does() {
    let states = json!({"input": {"a": [1, 2], "s": "x"}, "context": {}});
    let b = Bindings::new(&states);
    let template = json!({
        "lit": {"deep": [1, "two", null]},
        "sum": "{% $sum($states.input.a) %}",
        "list": ["{% $states.input.s %}", 3, {"k": "{% $count($states.input.a) %}"}]
    });
    let compiled = Template::compile(&template, "Arguments").unwrap();
    assert_eq!(
        compiled.evaluate(&b, "Arguments").unwrap(),
        evaluate_value(&template, &b, "Arguments").unwrap()
    );
    assert_eq!(
        compiled.evaluate(&b, "Arguments").unwrap(),
        json!({"lit": {"deep": [1, "two", null]}, "sum": 3, "list": ["x", 3, {"k": 2}]})
    );
    let err = Template::compile(&json!({"x": "{% $nope %}"}), "Output")
        .unwrap()
        .evaluate(&b, "Output")
        .unwrap_err();
    assert_eq!(err.location(), "Output/x");
    assert_eq!(err.kind(), &QueryErrorKind::Undefined);
}

#[test]
fn compiling_a_template_lists_every_syntax_error() {
    let template = json!({
        "ok": "{% 1 + 1 %}",
        "bad": "{% 1 + %}",
        "nested": ["{% $eval('1') %}", {"worse": "{% a ?? b %}"}]
    });
    let errors = Template::compile(&template, "Output").unwrap_err();
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.location.as_str(), e.expression.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Output/bad", "1 +"),
            ("Output/nested/0", "$eval('1')"),
            ("Output/nested/1/worse", "a ?? b"),
        ]
    );
    assert_eq!(errors[0].error.code(), Some("S0207"));
    assert!(errors
        .iter()
        .all(|e| matches!(e.error, JsonataError::Syntax { .. })));
}

#[test]
fn a_template_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
}
