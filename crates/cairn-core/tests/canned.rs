//! Canned histories, written by hand from HISTORY.md, replayed through the interpreter:
//! the inputs are re-derived from the external events and must reproduce every event,
//! id, `previousEventId`, timestamp and details member exactly.

mod common;

use cairn_core::{replay::replay, ExecutionStatus, HistoryEvent};
use common::{ctx, info};
use serde_json::json;
use std::sync::Arc;

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:act";
const T: i64 = common::T0;

fn event(id: u64, prev: u64, at: i64, ty: &str, details: serde_json::Value) -> HistoryEvent {
    serde_json::from_value(json!({
        "id": id, "previous_event_id": prev, "timestamp_ms": at, "event_type": ty,
        "details": if details.is_null() { serde_json::Value::Null } else { details },
    }))
    .expect("event")
}

fn not_truncated() -> serde_json::Value {
    json!({"truncated": false})
}

/// HISTORY.md §5: an activity task whose worker fails it, caught into `$.err`.
#[test]
fn activity_failure_caught_by_a_catcher() {
    let definition = cairn_asl::parse_definition(&json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": ACT, "Next": "Handle",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}]},
        "Handle": {"Type": "Pass", "End": true}}}))
    .unwrap();
    let caught = r#"{"x":1,"err":{"Error":"Boom","Cause":"bad"}}"#;
    let history = vec![
        event(
            1,
            0,
            T,
            "ExecutionStarted",
            json!({"input": "{\"x\":1}", "inputDetails": not_truncated(),
            "roleArn": "arn:aws:iam::123456789012:role/r"}),
        ),
        event(
            2,
            0,
            T,
            "TaskStateEntered",
            json!({"name": "A", "input": "{\"x\":1}", "inputDetails": not_truncated()}),
        ),
        event(
            3,
            2,
            T,
            "ActivityScheduled",
            json!({"resource": ACT, "input": "{\"x\":1}", "inputDetails": not_truncated()}),
        ),
        event(
            4,
            3,
            T + 1_000,
            "ActivityStarted",
            json!({"workerName": "w1"}),
        ),
        event(
            5,
            4,
            T + 2_000,
            "ActivityFailed",
            json!({"error": "Boom", "cause": "bad"}),
        ),
        event(
            6,
            5,
            T + 2_000,
            "TaskStateExited",
            json!({"name": "A", "output": caught, "outputDetails": not_truncated()}),
        ),
        event(
            7,
            6,
            T + 2_000,
            "PassStateEntered",
            json!({"name": "Handle", "input": caught, "inputDetails": not_truncated()}),
        ),
        event(
            8,
            7,
            T + 2_000,
            "PassStateExited",
            json!({"name": "Handle", "output": caught, "outputDetails": not_truncated()}),
        ),
        event(
            9,
            8,
            T + 2_000,
            "ExecutionSucceeded",
            json!({"output": caught, "outputDetails": not_truncated()}),
        ),
    ];
    let world: Arc<dyn cairn_core::World> = Arc::new(cairn_core::OpenWorld);
    let exec = replay(
        info("{\"x\":1}"),
        &definition,
        &history,
        &ctx(T, 0, &world),
        &|id| id,
    )
    .expect("the canned history is reproduced");
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(exec.output.as_deref(), Some(caught));
}

/// HISTORY.md §4.1/§4.2: a Wait stopped by StopExecution, and a Wait that runs out.
#[test]
fn wait_then_stop_and_wait_then_exit() {
    let definition = cairn_asl::parse_definition(&json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 5, "End": true}}}))
    .unwrap();
    let world: Arc<dyn cairn_core::World> = Arc::new(cairn_core::OpenWorld);
    let started = event(
        1,
        0,
        T,
        "ExecutionStarted",
        json!({"input": "{}", "inputDetails": not_truncated(),
        "roleArn": "arn:aws:iam::123456789012:role/r"}),
    );
    let entered = event(
        2,
        0,
        T,
        "WaitStateEntered",
        json!({"name": "W", "input": "{}", "inputDetails": not_truncated()}),
    );
    let stopped = vec![
        started.clone(),
        entered.clone(),
        event(
            3,
            0,
            T + 1_000,
            "ExecutionAborted",
            json!({"error": "Stop", "cause": "by hand"}),
        ),
    ];
    let exec = replay(
        info("{}"),
        &definition,
        &stopped,
        &ctx(T, 0, &world),
        &|id| id,
    )
    .expect("stopped history");
    assert_eq!(exec.status, ExecutionStatus::Aborted);

    let waited = vec![
        started,
        entered,
        event(
            3,
            2,
            T + 5_000,
            "WaitStateExited",
            json!({"name": "W", "output": "{}", "outputDetails": not_truncated()}),
        ),
        event(
            4,
            3,
            T + 5_000,
            "ExecutionSucceeded",
            json!({"output": "{}", "outputDetails": not_truncated()}),
        ),
    ];
    let exec = replay(
        info("{}"),
        &definition,
        &waited,
        &ctx(T, 0, &world),
        &|id| id,
    )
    .expect("waited history");
    assert_eq!(exec.status, ExecutionStatus::Succeeded);

    // The same history with another output is not what this machine does.
    let mut early = waited.clone();
    early[3].details.as_mut().unwrap()["output"] = json!("{\"x\":1}");
    assert!(
        replay(info("{}"), &definition, &early, &ctx(T, 0, &world), &|id| {
            id
        })
        .is_err()
    );
}
