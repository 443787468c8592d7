//! Replay: `$now`, `$millis`, `$random`, `$uuid` and `$shuffle` read only the recorded time and
//! entropy in `Bindings`, so the same bindings give the same values, bit for bit.

use cairn_jsonata::{compile, evaluate, Bindings};
use serde_json::{json, Value};

fn eval_with(expr: &str, now_ms: i64, entropy: u64) -> Value {
    let states = json!({"input": {}, "context": {}});
    let b = Bindings::new(&states)
        .with_now_ms(now_ms)
        .with_entropy(entropy);
    evaluate(&compile(expr).unwrap(), &b).unwrap().unwrap()
}

#[test]
fn uuid_random_and_shuffle_are_pinned_to_the_entropy() {
    // Golden values, computed independently of this crate (SplitMix64 from seed 42): a
    // change here changes what a replayed history computes.
    assert_eq!(
        eval_with("$uuid()", 0, 42),
        json!("bdd73226-2feb-4e95-a8ef-e333b266f103")
    );
    assert_eq!(eval_with("$random()", 0, 42), json!(0.7415648787718233));
    assert_eq!(eval_with("$random(42)", 0, 0), json!(0.7415648787718233));
    assert_eq!(
        eval_with("$shuffle([1, 2, 3, 4, 5, 6])", 0, 42),
        json!([5, 4, 1, 3, 6, 2])
    );
}

#[test]
fn the_same_bindings_replay_the_same_values() {
    for expr in [
        "[$uuid(), $uuid(), $random(), $shuffle([1, 2, 3, 4, 5, 6, 7, 8])]",
        "($f := $random; [$f(), $f()])",
        "($u := $uuid; $u())",
        "($s := $shuffle; $s([1, 2, 3, 4, 5, 6, 7, 8]))",
        "$map([1, 2, 3], function($i){ $uuid() })",
    ] {
        let first = eval_with(expr, 0, 7);
        assert_eq!(first, eval_with(expr, 0, 7), "{expr}");
        assert_ne!(first, eval_with(expr, 0, 8), "{expr} ignores the entropy");
    }
}

#[test]
fn every_draw_differs_within_an_evaluation() {
    let v = eval_with("$map([1, 2, 3, 4], function($i){ $uuid() })", 0, 1);
    let ids: std::collections::BTreeSet<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn draws_continue_across_evaluations_sharing_bindings() {
    let states = json!({});
    let b = Bindings::new(&states).with_entropy(42);
    let e = compile("$uuid()").unwrap();
    let first = evaluate(&e, &b).unwrap();
    let second = evaluate(&e, &b).unwrap();
    assert_eq!(first, Some(json!("bdd73226-2feb-4e95-a8ef-e333b266f103")));
    assert_eq!(second, Some(json!("47526757-130f-4f52-981c-e1ff0e4ae394")));
}

#[test]
fn time_comes_from_the_bindings() {
    assert_eq!(eval_with("$now()", 0, 0), json!("1970-01-01T00:00:00.000Z"));
    assert_eq!(
        eval_with("$now()", 1_709_209_845_123, 0),
        json!("2024-02-29T12:30:45.123Z")
    );
    assert_eq!(eval_with("$millis()", 86_400_000, 0), json!(86_400_000));
    // Called as a value, the override still answers.
    assert_eq!(
        eval_with("($f := $now; $f())", 0, 0),
        json!("1970-01-01T00:00:00.000Z")
    );
    assert_eq!(eval_with("($m := $millis; $m())", 5, 0), json!(5));
    assert_eq!(
        eval_with("$map([1, 2], function($i){ $millis() + $i })", 10, 0),
        json!([11, 12])
    );
}

#[test]
fn seeded_random_ignores_the_entropy() {
    assert_eq!(
        eval_with("$random(99)", 0, 1),
        eval_with("$random(99)", 0, 2)
    );
    let r = eval_with("$random(99)", 0, 1).as_f64().unwrap();
    assert!((0.0..1.0).contains(&r));
}
