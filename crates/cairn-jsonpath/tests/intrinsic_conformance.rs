//! Replays the intrinsic-function executions recorded on AWS (`tests/data/`, taken from the
//! shared conformance cases): each is a Pass state whose `Parameters` calls an intrinsic, run
//! here through the same pipeline steps the interpreter uses (template, ResultPath, OutputPath).

use cairn_jsonpath::{evaluate_path, evaluate_template, write_result_path, NoVariables, Scope};
use serde_json::{json, Value};
use std::cell::Cell;

/// What AWS's recorder wrote in place of a random number.
const RANDOM_PLACEHOLDER: &str = "RandomNumberGenerated";

fn run_case(case: &Value) -> Value {
    let input = &case["input"];
    let context = json!({"Execution": {"Input": input}, "StateMachine": {"Name": "machine"}});
    let entropy = Cell::new(0x5eed);
    let scope = Scope {
        input,
        context: &context,
        variables: &NoVariables,
        entropy: &entropy,
    };
    let result = evaluate_template(&case["parameters"], &scope, "Parameters")
        .unwrap_or_else(|e| panic!("{}: {e}", case["case"]));
    let output = match case["result_path"].as_str() {
        Some(path) => write_result_path(path, input.clone(), result).unwrap(),
        None => result,
    };
    match case["output_path"].as_str() {
        Some(path) => {
            let scope = Scope {
                input: &output,
                ..scope
            };
            evaluate_path(path, &scope).unwrap()
        }
        None => output,
    }
}

#[test]
fn every_recorded_intrinsic_case_matches_aws() {
    let cases: Vec<Value> = include_str!("data/intrinsic_conformance.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(cases.len() >= 70, "the case file lost its cases");
    let mut failures = Vec::new();
    for case in &cases {
        let got = run_case(case);
        let expected = &case["expected"];
        if expected["FunctionResult"] == RANDOM_PLACEHOLDER {
            let bounds = &case["input"]["FunctionInput"];
            let (lo, hi) = (
                bounds["fst"].as_f64().unwrap(),
                bounds["snd"].as_f64().unwrap(),
            );
            let n = got["FunctionResult"].as_i64().map(|n| n as f64);
            if !n.is_some_and(|n| n >= lo.floor() && n <= hi.ceil()) {
                failures.push(format!("{}: {got} not in [{lo}, {hi}]", case["case"]));
            }
        } else if &got != expected {
            failures.push(format!(
                "{} with input {}: got {got}, AWS gave {expected}",
                case["case"], case["input"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn nested_calls_over_the_context_object() {
    let input = json!({"FunctionInput": null});
    let context = json!({"StateMachine": {"Name": "first-second-third"}});
    let entropy = Cell::new(0);
    let scope = Scope {
        input: &input,
        context: &context,
        variables: &NoVariables,
        entropy: &entropy,
    };
    let template = json!({
        "FunctionResult.$": "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)"
    });
    assert_eq!(
        evaluate_template(&template, &scope, "Parameters").unwrap(),
        json!({"FunctionResult": "first"})
    );
}
