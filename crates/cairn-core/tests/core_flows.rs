//! End-to-end flows through `start`/`step` with canned inputs, checked against the
//! event sequences and `previousEventId` chains of HISTORY.md.

mod common;

use cairn_core::{replay::replay, EventType, ExecutionStatus, Input, Outcome};
use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:act";

#[test]
fn pass_chain_succeeds_with_linear_chain() {
    let d = Driver::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Result": {"r": 1}, "End": true}}}),
        r#"{"x": 1}"#,
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(d.chain(), [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5)]);
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"r":1}"#));
    assert_eq!(
        d.detail(1, "input"),
        Some(json!(r#"{"x": 1}"#)),
        "ExecutionStarted keeps the input verbatim"
    );
    assert_eq!(
        d.detail(2, "input"),
        Some(json!(r#"{"x": 1}"#)),
        "so does the first state"
    );
    assert_eq!(
        d.detail(4, "input"),
        Some(json!(r#"{"x":1}"#)),
        "later payloads are compact"
    );
    assert_eq!(
        d.detail(2, "inputDetails"),
        Some(json!({"truncated": false}))
    );
}

fn activity_machine(extra: serde_json::Value) -> serde_json::Value {
    let mut task = json!({"Type": "Task", "Resource": ACT, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "A", "States": {"A": task, "Handle": {"Type": "Pass", "End": true}}})
}

#[test]
fn activity_success_matches_the_recorded_shape() {
    let mut d = Driver::start(
        activity_machine(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 10})),
        r#"{"x":1}"#,
    );
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"]
    );
    assert_eq!(d.detail(3, "timeoutInSeconds"), Some(json!(60)));
    assert_eq!(d.detail(3, "heartbeatInSeconds"), Some(json!(10)));
    let task = d.last_scheduled();
    let sched = d
        .effects
        .iter()
        .find(|e| matches!(e, cairn_core::Effect::ScheduleActivity { .. }))
        .cloned()
        .unwrap();
    let cairn_core::Effect::ScheduleActivity { token, input, .. } = sched else {
        unreachable!()
    };
    assert_eq!(input, r#"{"x":1}"#);
    assert_eq!(
        cairn_core::token::open(&[3u8; 32], &token).unwrap().task,
        task
    );
    d.feed(Input::ActivityStarted {
        task,
        worker_name: Some("w1".into()),
    });
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"ok":true}"#.into(),
    });
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        d.chain(),
        [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6)]
    );
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"ok":true}"#));
    assert!(
        d.timers.is_empty(),
        "timeout and heartbeat timers are cancelled"
    );
    // A late answer: the task is closed; the execution is not running.
    let late = d.feed(Input::TaskSucceeded {
        task,
        output: "{}".into(),
    });
    assert_eq!(late.outcome, Outcome::NotRunning);
}

#[test]
fn activity_failure_without_catch_fails_the_execution() {
    let mut d = Driver::start(activity_machine(json!({})), "{}");
    let task = d.last_scheduled();
    d.feed(Input::ActivityStarted {
        task,
        worker_name: None,
    });
    d.feed(Input::TaskFailed {
        task,
        error: Some("Boom".into()),
        cause: None,
    });
    assert_eq!(d.types().last(), Some(&"ExecutionFailed"));
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    assert_eq!(d.exec.error.as_deref(), Some("Boom"));
    assert_eq!(d.exec.cause, None);
    let failed = d.history.last().unwrap().details.clone().unwrap();
    assert!(
        !failed.contains_key("cause"),
        "absent cause is omitted, not empty"
    );
    assert_eq!(
        d.detail(4, "workerName"),
        None,
        "no workerName member without a name"
    );
}

#[test]
fn activity_failure_caught_goes_to_the_catcher() {
    let mut d = Driver::start(
        activity_machine(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}]})),
        r#"{"x":1}"#,
    );
    let task = d.last_scheduled();
    d.feed(Input::ActivityStarted {
        task,
        worker_name: Some("w1".into()),
    });
    d.feed(Input::TaskFailed {
        task,
        error: Some("Boom".into()),
        cause: Some("bad".into()),
    });
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        d.chain(),
        [
            (1, 0),
            (2, 0),
            (3, 2),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 8)
        ]
    );
    assert_eq!(
        d.exec.output.as_deref(),
        Some(r#"{"Error":"Boom","Cause":"bad"}"#)
    );
}

#[test]
fn activity_retry_reschedules_after_backoff() {
    let mut d = Driver::start(
        activity_machine(
            json!({"Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 1}]}),
        ),
        "{}",
    );
    let first = d.last_scheduled();
    d.feed(Input::TaskFailed {
        task: first,
        error: Some("Boom".into()),
        cause: None,
    });
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].1, T0 + 2000);
    assert!(d.fire_next_timer());
    let second = d.last_scheduled();
    assert_ne!(first, second);
    // The old task is closed.
    assert_eq!(
        d.feed(Input::TaskSucceeded {
            task: first,
            output: "{}".into()
        })
        .outcome,
        Outcome::TaskClosed
    );
    d.feed(Input::TaskFailed {
        task: second,
        error: Some("Boom".into()),
        cause: None,
    });
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityFailed",
            "ActivityScheduled",
            "ActivityFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.chain()[4], (5, 4), "retries continue the chain");
}

#[test]
fn heartbeat_timeout_reports_states_timeout_and_is_caught_as_heartbeat() {
    let mut d = Driver::start(
        activity_machine(json!({"HeartbeatSeconds": 5,
            "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Handle"}]})),
        "{}",
    );
    let task = d.last_scheduled();
    assert!(d.timers.is_empty(), "heartbeat starts with ActivityStarted");
    d.feed(Input::ActivityStarted {
        task,
        worker_name: None,
    });
    assert_eq!(d.timers.len(), 1);
    d.now += 4000;
    d.feed(Input::TaskHeartbeat { task });
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].1, T0 + 9000, "a heartbeat restarts the clock");
    d.run_timers();
    let timed_out = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::ActivityTimedOut)
        .unwrap();
    assert_eq!(
        timed_out.details.as_ref().unwrap()["error"],
        "States.Timeout"
    );
    assert!(d.effects.contains(&cairn_core::Effect::CancelTask { task }));
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn stale_timers_are_ignored() {
    let mut d = Driver::start(activity_machine(json!({"TimeoutSeconds": 5})), "{}");
    let task = d.last_scheduled();
    let (timer, _) = d.timers[0];
    d.feed(Input::TaskSucceeded {
        task,
        output: "{}".into(),
    });
    let before = d.history.len();
    let r = d.feed(Input::TimerFired { timer });
    assert!(r.events.is_empty());
    assert_eq!(d.history.len(), before);
}

#[test]
fn missing_activity_fails_with_runtime_error_and_no_schedule() {
    let world = Arc::new(Activities(HashSet::new()));
    let d = Driver::start_in(activity_machine(json!({})), "{}", world);
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    assert_eq!(d.exec.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        d.exec.cause.as_deref(),
        Some(&*format!(
            "An error occurred while executing the state 'A' (entered at the event id #2). The activity {ACT} does not exist."
        ))
    );
}

#[test]
fn stop_aborts_with_prev_zero_and_withdraws_the_task() {
    let mut d = Driver::start(activity_machine(json!({"TimeoutSeconds": 100})), "{}");
    let task = d.last_scheduled();
    let r = d.feed(Input::Stop {
        error: Some("E".into()),
        cause: None,
    });
    assert_eq!(d.types().last(), Some(&"ExecutionAborted"));
    assert_eq!(d.history.last().unwrap().previous_event_id, 0);
    assert!(r.effects.contains(&cairn_core::Effect::CancelTask { task }));
    assert!(d.timers.is_empty());
    assert_eq!(d.exec.status, ExecutionStatus::Aborted);
    assert_eq!(
        d.feed(Input::TaskSucceeded {
            task,
            output: "{}".into()
        })
        .outcome,
        Outcome::NotRunning
    );
}

#[test]
fn wait_then_stop_has_no_wait_aborted() {
    let mut d = Driver::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}),
        "{}",
    );
    d.feed(Input::Stop {
        error: None,
        cause: None,
    });
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    assert_eq!(d.chain(), [(1, 0), (2, 0), (3, 0)]);
    assert_eq!(d.history[2].details.as_ref().unwrap().len(), 0);
}

#[test]
fn wait_seconds_fires_at_the_right_time() {
    let mut d = Driver::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}),
        r#"{"a":1}"#,
    );
    assert_eq!(d.timers, vec![(d.timers[0].0, T0 + 10_000)]);
    d.run_timers();
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(d.history[2].timestamp_ms, T0 + 10_000);
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"a":1}"#));
}

#[test]
fn wait_timestamp_in_the_past_does_not_wait() {
    let d = Driver::start(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}}}),
        "{}",
    );
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn execution_timeout() {
    let mut d = Driver::start(
        json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}),
        "{}",
    );
    d.run_timers();
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    );
    assert_eq!(d.exec.status, ExecutionStatus::TimedOut);
    assert!(d.timers.is_empty());
}

#[test]
fn fail_state_with_and_without_fields() {
    let d = Driver::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}),
        "{}",
    );
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
    assert_eq!(
        (d.exec.error.as_deref(), d.exec.cause.as_deref()),
        (Some("E"), Some("C"))
    );
    let d = Driver::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}),
        "{}",
    );
    assert_eq!(d.history[2].details.as_ref().unwrap().len(), 0);
}

#[test]
fn choice_default_and_no_match() {
    let def = |default: bool| {
        let mut c =
            json!({"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "P"}]});
        if default {
            c["Default"] = json!("P");
        }
        json!({"StartAt": "C", "States": {"C": c, "P": {"Type": "Pass", "End": true}}})
    };
    let d = Driver::start(def(true), "{}");
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(d.types()[1..3], ["ChoiceStateEntered", "ChoiceStateExited"]);
    let d = Driver::start(def(false), "{}");
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
    assert_eq!(d.exec.error.as_deref(), Some("States.NoChoiceMatched"));
    let d = Driver::start(def(false), "null");
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn parallel_branches_and_chain() {
    let d = Driver::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}]}}}),
        "{}",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        d.chain(),
        [
            (1, 0),
            (2, 0),
            (3, 2),
            (4, 3),
            (5, 4),
            (6, 3),
            (7, 6),
            (8, 7),
            (9, 7),
            (10, 9)
        ]
    );
    assert_eq!(d.exec.output.as_deref(), Some("[1,2]"));
}

#[test]
fn parallel_branch_failure_aborts_the_sibling_task() {
    let mut d = Driver::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}},
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}]}}}),
        "{}",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "FailStateEntered",
            "TaskStateAborted",
            "ParallelStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.chain()[6..], [(7, 6), (8, 6), (9, 8)]);
    assert!(d
        .effects
        .contains(&cairn_core::Effect::CancelTask { task: 5 }));
    assert_eq!(
        d.feed(Input::TaskSucceeded {
            task: 5,
            output: "{}".into()
        })
        .outcome,
        Outcome::NotRunning
    );
}

#[test]
fn parallel_retry_restarts_branches() {
    let mut d = Driver::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
            "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}]}}}),
        "{}",
    );
    d.run_timers();
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.exec.error.as_deref(), Some("E"));
}

#[test]
fn map_inline_chain_matches_the_recording() {
    let d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        "[1,2]",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        d.chain(),
        [
            (1, 0),
            (2, 0),
            (3, 2),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 6),
            (8, 6),
            (9, 8),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 11),
            (14, 13)
        ]
    );
    assert_eq!(d.detail(3, "length"), Some(json!(2)));
    assert_eq!(d.detail(4, "name"), Some(json!("M")));
    assert_eq!(d.exec.output.as_deref(), Some("[1,2]"));
}

#[test]
fn map_empty_and_concurrency_with_tasks() {
    let d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        "[]",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(d.exec.output.as_deref(), Some("[]"));

    let mut d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "End": true}}}}}}),
        "[1,2,3]",
    );
    let scheduled = |d: &Driver| {
        d.history
            .iter()
            .filter(|e| e.event_type == EventType::ActivityScheduled)
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        scheduled(&d).len(),
        2,
        "MaxConcurrency 2 starts two iterations"
    );
    let tasks = scheduled(&d);
    d.feed(Input::TaskSucceeded {
        task: tasks[1],
        output: "\"b\"".into(),
    });
    assert_eq!(scheduled(&d).len(), 3);
    let third = scheduled(&d)[2];
    d.feed(Input::TaskSucceeded {
        task: third,
        output: "\"c\"".into(),
    });
    d.feed(Input::TaskSucceeded {
        task: tasks[0],
        output: "\"a\"".into(),
    });
    assert_eq!(d.exec.output.as_deref(), Some(r#"["a","b","c"]"#));
}

#[test]
fn map_iteration_failure_is_caught() {
    let d = Driver::start(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "Next": "H", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                  "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}},
            "H": {"Type": "Pass", "End": true}}}),
        "[1]",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed",
            "MapStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(d.chain()[5..8], [(6, 5), (7, 5), (8, 7)]);
    assert_eq!(
        d.exec.output.as_deref(),
        Some(r#"{"Error":"E","Cause":"C"}"#)
    );
}

#[test]
fn execution_state_round_trips_through_serde() {
    let mut d = Driver::start(activity_machine(json!({"TimeoutSeconds": 60})), "{}");
    let text = serde_json::to_string(&d.exec).unwrap();
    let mut back: cairn_core::Execution = serde_json::from_str(&text).unwrap();
    let task = d.last_scheduled();
    let c = ctx(d.now, 9, &d.world);
    let a = cairn_core::step(
        &mut back,
        &d.def,
        Input::TaskSucceeded {
            task,
            output: "{}".into(),
        },
        &c,
    );
    let b = cairn_core::step(
        &mut d.exec,
        &d.def,
        Input::TaskSucceeded {
            task,
            output: "{}".into(),
        },
        &c,
    );
    assert_eq!(a, b);
}

#[test]
fn replaying_a_history_reproduces_it() {
    let mut d = Driver::start(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3, "Next": "A"},
            "A": {"Type": "Task", "Resource": ACT, "HeartbeatSeconds": 30, "Next": "P",
                  "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "JitterStrategy": "FULL"}]},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT, "End": true}}}]}}}),
        r#"{"k": "v"}"#,
    );
    d.run_timers();
    let t1 = d.last_scheduled();
    d.now += 500;
    d.feed(Input::ActivityStarted {
        task: t1,
        worker_name: Some("w".into()),
    });
    d.feed(Input::TaskFailed {
        task: t1,
        error: Some("Boom".into()),
        cause: Some("x".into()),
    });
    d.fire_next_timer();
    let t2 = d.last_scheduled();
    d.feed(Input::ActivityStarted {
        task: t2,
        worker_name: None,
    });
    d.now += 250;
    d.feed(Input::TaskSucceeded {
        task: t2,
        output: r#"{"r":1}"#.into(),
    });
    let t3 = d.last_scheduled();
    d.feed(Input::TaskSucceeded {
        task: t3,
        output: "2".into(),
    });
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    let exec = replay(
        common::info(r#"{"k": "v"}"#),
        &d.def,
        &d.history,
        &ctx(0, 0, &d.world),
        &|id| id,
    )
    .expect("replay reproduces the history");
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(exec.output, d.exec.output);

    // A tampered history is detected.
    let mut bad = d.history.clone();
    bad[4].previous_event_id = 1;
    assert!(replay(
        common::info(r#"{"k": "v"}"#),
        &d.def,
        &bad,
        &ctx(0, 0, &d.world),
        &|id| id
    )
    .is_err());
}

#[test]
fn outstanding_effects_recreate_open_tasks_and_timers() {
    let mut d = Driver::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT, "TimeoutSeconds": 9, "End": true}}},
            {"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}}]}}}),
        r#"{"a":1}"#,
    );
    let key = [3u8; 32];
    let mut again = d.exec.outstanding_effects(&d.def, &key);
    let mut first: Vec<_> = d.effects.clone();
    let order = |e: &cairn_core::Effect| format!("{e:?}");
    again.sort_by_key(order);
    first.sort_by_key(order);
    assert_eq!(
        again, first,
        "recomputed effects equal the ones first issued"
    );
    // Once the activity is handed out it is not queued again.
    let task = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::ActivityScheduled)
        .unwrap()
        .id;
    d.feed(Input::ActivityStarted {
        task,
        worker_name: None,
    });
    assert!(!d
        .exec
        .outstanding_effects(&d.def, &key)
        .iter()
        .any(|e| matches!(e, cairn_core::Effect::ScheduleActivity { .. })));
    d.feed(Input::Stop {
        error: None,
        cause: None,
    });
    assert!(d.exec.outstanding_effects(&d.def, &key).is_empty());
}

/// The Map Run task a Distributed Map opened: its id and what the runtime is asked to run.
fn map_run_task(d: &Driver) -> (u64, cairn_core::MapRunSpec) {
    d.effects
        .iter()
        .find_map(|e| match e {
            cairn_core::Effect::InvokeResource {
                task,
                resource,
                parameters,
                ..
            } if resource == cairn_core::MAP_RUN_RESOURCE => {
                Some((*task, serde_json::from_value(parameters.clone()).unwrap()))
            }
            _ => None,
        })
        .expect("a map run task")
}

#[test]
fn distributed_map_hands_its_batches_to_the_map_run_driver() {
    let mut d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Label": "L",
            "MaxConcurrency": 3, "ToleratedFailurePercentage": 50,
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"k": "v"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        "[1,2,3]",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted"
        ]
    );
    let (task, spec) = map_run_task(&d);
    assert_eq!(task, 4);
    assert_eq!(
        spec.items,
        [
            json!({"Items": [1, 2], "BatchInput": {"k": "v"}}),
            json!({"Items": [3], "BatchInput": {"k": "v"}})
        ]
    );
    assert!(spec.batched);
    assert_eq!(spec.execution_type, "EXPRESS");
    assert_eq!(
        (spec.max_concurrency, spec.tolerated_failure_percentage),
        (3, Some(50.0))
    );
    assert_eq!(
        spec.state_machine_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:m/L"
    );
    let definition: serde_json::Value = serde_json::from_str(&spec.definition).unwrap();
    assert_eq!(definition["StartAt"], "P");
    assert!(definition.get("ProcessorConfig").is_none());
    let arn = d.detail(4, "mapRunArn").unwrap();
    assert_eq!(arn, json!(spec.map_run_arn));
    assert!(spec
        .map_run_arn
        .starts_with("arn:aws:states:us-east-1:123456789012:mapRun:m/L:"));
    // A restart asks for the same run again.
    let key = [7u8; 32];
    assert!(d
        .exec
        .outstanding_effects(&d.def, &key)
        .iter()
        .any(|e| matches!(e, cairn_core::Effect::InvokeResource { task: 4, .. })));
    d.feed(Input::TaskSucceeded {
        task,
        output: "[1,2]".into(),
    });
    assert_eq!(
        d.types()[4..],
        [
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(d.exec.output.as_deref(), Some("[1,2]"));
}

#[test]
fn distributed_map_failure_beyond_tolerance() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let mut d = Driver::start(def, "[1,2,3]");
    let (task, _) = map_run_task(&d);
    d.feed(Input::TaskFailed {
        task,
        error: Some("States.ExceedToleratedFailureThreshold".into()),
        cause: Some("The specified tolerated failure threshold was exceeded".into()),
    });
    assert_eq!(
        d.exec.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        d.types()[4..],
        ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    );
}

#[test]
fn stopping_the_parent_aborts_the_map_run() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let mut d = Driver::start(def, "[1,2,3]");
    let (task, _) = map_run_task(&d);
    d.feed(Input::Stop {
        error: None,
        cause: None,
    });
    // As for any stopped execution, only `ExecutionAborted`; the withdrawn task is what
    // aborts the Map Run and its children.
    assert!(d.effects.contains(&cairn_core::Effect::CancelTask { task }));
    assert_eq!(d.types()[4..], ["ExecutionAborted"]);
}

#[test]
fn an_item_reader_is_evaluated_on_entry_and_applied_per_item_by_the_driver() {
    let d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL", "MaxItemsPath": "$.max"},
                "Parameters": {"Bucket.$": "$.bucket", "Key": "items.jsonl"}},
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "b.$": "$.bucket"},
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"k": "v"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        r#"{"bucket": "b1", "max": "3"}"#,
    );
    assert_eq!(d.detail(3, "length"), Some(json!(0)));
    let (_, spec) = map_run_task(&d);
    assert!(spec.items.is_empty());
    let reader = spec.item_reader.expect("a reader");
    assert_eq!(
        reader.parameters,
        json!({"Bucket": "b1", "Key": "items.jsonl"})
    );
    assert_eq!(
        reader.reader_config,
        json!({"InputType": "JSONL", "MaxItems": 3})
    );
    let writer = spec.result_writer.expect("a writer");
    assert_eq!(writer.parameters, json!({"Bucket": "b1", "Prefix": "out"}));
    let sel = spec.item_selector.expect("a selector");
    assert_eq!(
        sel.apply(4, &json!("x")).unwrap(),
        json!({"v": "x", "i": 4, "b": "b1"})
    );
    let mut b = spec.batcher.expect("a batcher").batcher();
    assert_eq!(b.push(json!(1)), None);
    assert_eq!(b.push(json!(2)), None);
    assert_eq!(
        b.push(json!(3)),
        Some(json!({"Items": [1, 2], "BatchInput": {"k": "v"}}))
    );
    assert_eq!(
        b.finish(),
        Some(json!({"Items": [3], "BatchInput": {"k": "v"}}))
    );
    assert_eq!(b.finish(), None);
}

#[test]
fn a_failing_sibling_aborts_the_map_run() {
    let def = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
    "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}},
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "F"},
            "F": {"Type": "Fail", "Error": "E"}}}
    ]}}});
    let mut d = Driver::start(def, "[1,2]");
    let (task, _) = map_run_task(&d);
    let (timer, _) = d.timers[0];
    d.feed(Input::TimerFired { timer });
    assert!(d.effects.contains(&cairn_core::Effect::CancelTask { task }));
    let types = d.types();
    assert!(types.contains(&"MapRunAborted"), "{types:?}");
    assert!(types.contains(&"MapStateAborted"), "{types:?}");
    assert_eq!(d.exec.error.as_deref(), Some("E"));
}

#[test]
fn tolerance_rules() {
    use cairn_core::tolerance_exceeded as over;
    assert!(!over(0, 3, None, None));
    assert!(over(1, 3, None, None));
    assert!(!over(1, 3, Some(1), None));
    assert!(over(2, 3, Some(1), None));
    assert!(!over(1, 3, None, Some(34.0)));
    assert!(over(2, 3, None, Some(34.0)));
    assert!(!over(2, 3, Some(1), Some(100.0)));
}

fn wait_failure(wait: serde_json::Value, input: &str) -> Option<String> {
    let mut w = wait;
    w["Type"] = json!("Wait");
    w["End"] = json!(true);
    let d = Driver::start(json!({"StartAt": "W", "States": {"W": w}}), input);
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
    );
    assert_eq!(d.exec.error.as_deref(), Some("States.Runtime"));
    d.exec.cause.map(|c| {
        c.replace(
            "An error occurred while executing the state 'W' (entered at the event id #2). ",
            "",
        )
    })
}

#[test]
fn wait_errors_use_aws_messages() {
    assert_eq!(
        wait_failure(json!({"SecondsPath": "$.s"}), r#"{"s": -1}"#).as_deref(),
        Some("The SecondsPath parameter references a negative value: $.s == -1")
    );
    assert_eq!(
        wait_failure(json!({"SecondsPath": "$.s"}), r#"{"s": 1.5}"#).as_deref(),
        Some("The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5")
    );
    assert_eq!(
        wait_failure(json!({"TimestampPath": "$.t"}), r#"{"t": "2016-03-14T01:59:00"}"#).as_deref(),
        Some("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == 2016-03-14T01:59:00")
    );
    assert_eq!(
        wait_failure(json!({"Seconds": 2_200_000_000u64}), "{}").as_deref(),
        Some("Wait state delay is too long.")
    );
}

#[test]
fn choice_paths_variables_and_assign() {
    let d = Driver::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"limit": 10}, "Next": "C"},
            "C": {"Type": "Choice", "Assign": {"took": "default"}, "Default": "Low", "Choices": [
                {"And": [{"Variable": "$.n", "IsNumeric": true},
                         {"Variable": "$.n", "NumericGreaterThanPath": "$limit"},
                         {"Not": {"Variable": "$.name", "StringMatches": "tmp-*"}}],
                 "Assign": {"took.$": "$.name"}, "Next": "High"}]},
            "High": {"Type": "Pass", "Parameters": {"took.$": "$took"}, "End": true},
            "Low": {"Type": "Pass", "Parameters": {"took.$": "$took"}, "End": true}}}),
        r#"{"n": 11, "name": "prod-1"}"#,
    );
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"took":"prod-1"}"#));
    let exited = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::ChoiceStateExited)
        .unwrap();
    assert_eq!(
        exited.details.as_ref().unwrap()["assignedVariables"],
        json!({"took": "\"prod-1\""})
    );
    let d = Driver::start(d.def_json(), r#"{"n": 11, "name": "tmp-1"}"#);
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"took":"default"}"#));
}

#[test]
fn assign_sees_values_as_of_state_entry() {
    let d = Driver::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": true}}}),
        "{}",
    );
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"x":2,"y":1}"#));
}

#[test]
fn context_object_in_task_parameters() {
    let d = Driver::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true,
            "Parameters": {"token.$": "$$.Task.Token", "retry.$": "$$.State.RetryCount",
                           "name.$": "$$.State.Name", "start.$": "$$.Execution.StartTime"}}}}),
        "{}",
    );
    let scheduled = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskScheduled)
        .unwrap();
    let details = scheduled.details.as_ref().unwrap();
    assert_eq!(details["resourceType"], "sqs");
    assert_eq!(details["resource"], "sendMessage.waitForTaskToken");
    assert_eq!(details["region"], "us-east-1");
    let params: serde_json::Value =
        serde_json::from_str(details["parameters"].as_str().unwrap()).unwrap();
    let token = params["token"].as_str().unwrap();
    assert_eq!(
        cairn_core::token::open(&[3u8; 32], token).unwrap().task,
        scheduled.id
    );
    assert_eq!(params["retry"], json!(0));
    assert_eq!(params["name"], json!("T"));
    assert_eq!(params["start"], json!("2023-11-14T22:13:20.000Z"));
    assert!(!details.contains_key("timeoutInSeconds"));
}

#[test]
fn a_failing_result_selector_is_caught_with_the_raw_input() {
    let mut d = Driver::start(
        activity_machine(json!({
            "ResultSelector": {"n.$": "States.ArrayGetItem($.list, 5)"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}]})),
        r#"{"keep":true}"#,
    );
    let task = d.last_scheduled();
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"list":[1]}"#.into(),
    });
    assert_eq!(
        d.exec.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        d.exec.cause
    );
    let out: serde_json::Value = serde_json::from_str(d.exec.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["keep"], json!(true));
    assert_eq!(out["err"]["Error"], json!("States.IntrinsicFailure"));
}

#[test]
fn a_waiting_execution_snapshot_is_small() {
    let d = Driver::start(
        activity_machine(json!({"TimeoutSeconds": 60})),
        r#"{"x":1}"#,
    );
    let text = serde_json::to_string(&d.exec).unwrap();
    println!("{text}");
    assert!(text.len() < 1200, "snapshot of {} bytes", text.len());
}

#[test]
fn a_loop_that_never_waits_ends_at_the_history_limit() {
    let d = Driver::start(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$", "IsPresent": true, "Next": "A"}]}}}),
        "{}",
    );
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    assert_eq!(d.exec.error.as_deref(), Some("States.Runtime"));
    assert_eq!(d.history.len(), 25_000);
    let last = d.history.last().unwrap();
    assert_eq!(last.event_type, EventType::ExecutionFailed);
    assert_eq!(last.previous_event_id, last.id - 1);
}

#[test]
fn a_retried_callback_task_gets_a_fresh_token_and_retry_count() {
    let mut d = Driver::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
            "Parameters": {"token.$": "$$.Task.Token", "retry.$": "$$.State.RetryCount"}}}}),
        "{}",
    );
    let params = |d: &Driver, id: u64| -> serde_json::Value {
        serde_json::from_str(d.detail(id, "parameters").unwrap().as_str().unwrap()).unwrap()
    };
    let first = d.last_scheduled();
    d.feed(Input::TaskFailed {
        task: first,
        error: Some("E".into()),
        cause: None,
    });
    d.fire_next_timer();
    let second = d.last_scheduled();
    let (p1, p2) = (params(&d, first), params(&d, second));
    assert_eq!(
        (p1["retry"].clone(), p2["retry"].clone()),
        (json!(0), json!(1))
    );
    let token = p2["token"].as_str().unwrap();
    let task = cairn_core::token::open(&[3u8; 32], token).unwrap().task;
    assert_eq!(task, second, "the token names the new attempt");
    d.feed(Input::TaskSucceeded {
        task,
        output: "{}".into(),
    });
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn map_iteration_timeout_aborts_the_running_siblings() {
    let mut d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ACT,
                "TimeoutSeconds": 5, "End": true}}}}}}),
        "[1,2,3,4]",
    );
    // Every iteration waits; their timeouts are all due at once, iteration 0's first.
    assert!(d.fire_next_timer());
    let types = d.types();
    let tail: Vec<&str> = types[types.len() - 11..].to_vec();
    assert_eq!(
        tail,
        [
            "ActivityTimedOut",
            "MapIterationFailed",
            "TaskStateAborted",
            "MapIterationAborted",
            "TaskStateAborted",
            "MapIterationAborted",
            "TaskStateAborted",
            "MapIterationAborted",
            "TaskStateAborted",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let timed_out = d.history[types.len() - 11].id;
    for e in &d.history[types.len() - 10..types.len() - 1] {
        assert_eq!(
            e.previous_event_id, timed_out,
            "{:?} points at the failing event",
            e.event_type
        );
    }
    assert_eq!(d.exec.error.as_deref(), Some("States.Timeout"));
    // Every sibling task is withdrawn, every timer cancelled.
    let cancelled = d
        .effects
        .iter()
        .filter(|e| matches!(e, cairn_core::Effect::CancelTask { .. }))
        .count();
    assert_eq!(cancelled, 4);
    assert!(d.timers.is_empty());
    // MapIterationStarted events all point at MapStateStarted.
    let started = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::MapStateStarted)
        .unwrap()
        .id;
    assert!(d
        .history
        .iter()
        .filter(|e| e.event_type == EventType::MapIterationStarted)
        .all(|e| e.previous_event_id == started));
}

#[test]
fn task_credentials_appear_in_the_scheduled_event() {
    let d = Driver::start(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Credentials": {"RoleArn.$": "$.role"}, "End": true}}}),
        r#"{"role": "arn:aws:iam::111122223333:role/x"}"#,
    );
    let scheduled = d
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskScheduled)
        .unwrap();
    assert_eq!(
        scheduled.details.as_ref().unwrap()["taskCredentials"],
        json!({"roleArn": "arn:aws:iam::111122223333:role/x"})
    );
    let d = Driver::start(activity_machine(json!({})), "{}");
    assert!(!d.history[2]
        .details
        .as_ref()
        .unwrap()
        .contains_key("taskCredentials"));
}

#[test]
fn variables_beyond_the_size_limits_fail_the_state() {
    let big = "x".repeat(200 * 1024);
    // One variable over 256 KiB.
    let d = Driver::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Assign": {"v.$": "States.Format('{}{}', $.s, $.s)"}}}}),
        &json!({ "s": big }).to_string(),
    );
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    assert_eq!(d.exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(d
        .exec
        .cause
        .as_deref()
        .unwrap()
        .contains("a variable with a size"));
    // Two variables under the limit each, over it together.
    let d = Driver::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Assign": {"a.$": "$.s", "b.$": "$.s"}}}}),
        &json!({ "s": big }).to_string(),
    );
    assert_eq!(d.exec.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(d.exec.cause.as_deref().unwrap().contains("total size"));
    // Under every limit: assigned and kept.
    let d = Driver::start(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "Assign": {"a.$": "$.s"}}}}),
        &json!({ "s": big }).to_string(),
    );
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}
