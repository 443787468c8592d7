//! Runaway expressions stop with `LimitExceeded`, never a hang, and the limits in `Bindings`
//! are the ones applied.

use std::time::{Duration, Instant};

use cairn_jsonata::{compile, evaluate, Bindings, JsonataError, Limit, Limits};
use serde_json::json;

fn run(expr: &str, limits: Limits) -> Result<Option<serde_json::Value>, JsonataError> {
    let states = json!({});
    evaluate(
        &compile(expr).unwrap(),
        &Bindings::new(&states).with_limits(limits),
    )
}

fn limit_of(r: Result<Option<serde_json::Value>, JsonataError>) -> Option<Limit> {
    match r {
        Err(JsonataError::LimitExceeded { limit, .. }) => Some(limit),
        _ => None,
    }
}

const RECURSE_200: &str = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(200))";

#[test]
fn the_depth_limit_is_the_one_in_the_bindings() {
    assert_eq!(
        run(RECURSE_200, Limits::default()).unwrap(),
        Some(json!(200))
    );
    let shallow = Limits {
        max_depth: 100,
        ..Limits::default()
    };
    assert_eq!(limit_of(run(RECURSE_200, shallow)), Some(Limit::Depth));
}

#[test]
fn the_sequence_limit_is_the_one_in_the_bindings() {
    let expr = "$count([1..500].($ * 2))";
    assert_eq!(run(expr, Limits::default()).unwrap(), Some(json!(500)));
    let small = Limits {
        max_sequence_length: 100,
        ..Limits::default()
    };
    assert_eq!(limit_of(run(expr, small)), Some(Limit::Size));
}

#[test]
fn an_endless_loop_stops_within_the_time_budget() {
    let budget = Limits {
        time_budget_ms: 200,
        ..Limits::default()
    };
    let started = Instant::now();
    let r = run("($loop := function($n){ $loop($n + 1) }; $loop(0))", budget);
    assert_eq!(limit_of(r), Some(Limit::Time));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_limit_error_carries_its_jsonata_code() {
    let err = run("[1..100000000]", Limits::default()).unwrap_err();
    assert_eq!(err.code(), Some("D2014"));
    let err = run(
        "($f := function($n){ $f($n + 1) + 1 }; $f(0))",
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), Some("D1011"));
    assert!(err.to_string().starts_with("D1011: Stack overflow"));
}
