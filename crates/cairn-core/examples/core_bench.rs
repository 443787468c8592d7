//! Interpreter throughput, single-threaded: state transitions per second for a 10-state Pass
//! chain and for a Map over 1,000 items (one Pass state per iteration).
//!
//! `cargo run --release -p cairn-core --example core_bench`

use cairn_core::{start, Ctx, ExecutionInfo, ExecutionStatus, OpenWorld};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

fn info(input: &str) -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:bench:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        state_machine_name: "bench".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        region: "us-east-1".into(),
        start_time_ms: 1_700_000_000_000,
        input_text: input.into(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
        mock_test_case: None,
        trace_parent: None,
    }
}

/// Run `runs` executions; returns (transitions/s, events/s).
fn measure(definition: &Value, input: &str, transitions_per_run: u64, runs: u64) -> (f64, f64) {
    let def = cairn_asl::parse_definition(definition).expect("definition");
    let ctx = Ctx {
        now_ms: 1_700_000_000_000,
        entropy: 1,
        token_key: [1; 32],
        world: Arc::new(OpenWorld),
    };
    let parsed: Value = serde_json::from_str(input).unwrap();
    let mut events = 0u64;
    let t = Instant::now();
    for _ in 0..runs {
        let (exec, d) = start(info(input), &def, parsed.clone(), &ctx);
        assert_eq!(exec.status, ExecutionStatus::Succeeded);
        events += d.events.len() as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    (
        (transitions_per_run * runs) as f64 / secs,
        events as f64 / secs,
    )
}

fn main() {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let mut s = json!({"Type": "Pass"});
        if i == 9 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    let chain = json!({"StartAt": "S0", "States": states});
    let input =
        r#"{"order": {"id": "o-123", "items": [1, 2, 3], "total": 42.5}, "customer": "c-9"}"#;
    let (tps, eps) = measure(&chain, input, 10, 20_000);
    println!("pass chain (10 states):   {tps:>12.0} transitions/s  {eps:>12.0} events/s");

    let map = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let items: Vec<Value> = (0..1000).map(|i| json!({"n": i})).collect();
    let input = serde_json::to_string(&items).unwrap();
    // 1,000 iterations of one Pass state, plus the Map state itself.
    let (tps, eps) = measure(&map, &input, 1001, 100);
    println!("map over 1,000 items:     {tps:>12.0} transitions/s  {eps:>12.0} events/s");
}
