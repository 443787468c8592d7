//! Property: whatever inputs arrive, in whatever order (late answers, duplicates, stale
//! timers, stops), the interpreter never panics, ids stay gap-free with every
//! `previousEventId` pointing backwards, a finished execution accepts nothing more, and
//! replaying the history it wrote reproduces it.

mod common;

use cairn_core::{replay::replay, ExecutionStatus, Input, Outcome};
use common::{ctx, info, Driver};
use proptest::prelude::*;
use serde_json::json;

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:act";

fn machine() -> serde_json::Value {
    json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M",
              "Retry": [{"ErrorEquals": ["Retryable"], "MaxAttempts": 2, "JitterStrategy": "FULL"}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "M"}],
              "Branches": [
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "HeartbeatSeconds": 3,
                    "TimeoutSeconds": 20, "End": true}}},
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "L"},
                    "L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
                          "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}]}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.out", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": ACT, "End": true}}}}}})
}

#[derive(Debug, Clone)]
enum Op {
    Started(u64),
    Succeeded(u64),
    Failed(u64, bool),
    Heartbeat(u64),
    Submitted(u64),
    Timer(u64),
    NextTimer,
    Stop,
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..40u64).prop_map(Op::Started),
        (1..40u64).prop_map(Op::Succeeded),
        (1..40u64, any::<bool>()).prop_map(|(t, r)| Op::Failed(t, r)),
        (1..40u64).prop_map(Op::Heartbeat),
        (1..40u64).prop_map(Op::Submitted),
        (1..20u64).prop_map(Op::Timer),
        Just(Op::NextTimer),
        Just(Op::NextTimer),
        Just(Op::Stop),
        (0..4_000i64).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_input_sequence_keeps_the_history_sound(ops in proptest::collection::vec(op(), 0..60)) {
        let input = r#"{"items": [1, 2, 3]}"#;
        let mut d = Driver::start(machine(), input);
        for op in ops {
            let running = d.exec.status == ExecutionStatus::Running;
            let input = match op {
                Op::Started(task) => Input::ActivityStarted { task, worker_name: Some("w".into()) },
                Op::Succeeded(task) => Input::TaskSucceeded { task, output: format!(r#"{{"t":{task}}}"#) },
                Op::Failed(task, retryable) => Input::TaskFailed {
                    task,
                    error: Some(if retryable { "Retryable" } else { "Fatal" }.into()),
                    cause: None,
                },
                Op::Heartbeat(task) => Input::TaskHeartbeat { task },
                Op::Submitted(task) => Input::TaskSubmitted { task, output: "{}".into() },
                Op::Timer(timer) => Input::TimerFired { timer },
                Op::NextTimer => {
                    d.fire_next_timer();
                    continue;
                }
                Op::Stop => Input::Stop { error: None, cause: None },
                Op::Wait(ms) => {
                    d.now += ms;
                    continue;
                }
            };
            let r = d.feed(input);
            if !running {
                prop_assert_eq!(r.outcome, Outcome::NotRunning);
                prop_assert!(r.events.is_empty());
            }
        }
        for (i, e) in d.history.iter().enumerate() {
            prop_assert_eq!(e.id, i as u64 + 1);
            prop_assert!(e.previous_event_id < e.id);
        }
        prop_assert_eq!(d.exec.next_event_id, d.history.len() as u64 + 1);
        if d.exec.status != ExecutionStatus::Running {
            prop_assert!(d.timers.is_empty(), "a finished execution leaves no timer behind");
        }
        let replayed = replay(info(input), &d.def, &d.history, &ctx(0, 0, &d.world), &|id| id);
        prop_assert!(replayed.is_ok(), "replay: {:?}", replayed.err());
        prop_assert_eq!(replayed.unwrap().status, d.exec.status);
    }
}
