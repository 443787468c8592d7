//! RedriveExecution in the pure core: what a redrive appends, what it re-runs, what it keeps,
//! and when it is refused.

mod common;

use cairn_core::{replay::replay, Effect, ExecutionStatus, Input, Outcome};
use common::*;
use serde_json::{json, Value};

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:act";
const DAY_MS: i64 = 24 * 3600 * 1000;

fn redrive(d: &mut Driver, token: Option<&str>, window_ms: Option<i64>) -> Outcome {
    d.feed(Input::Redrive {
        client_token: token.map(str::to_string),
        window_ms,
    })
    .outcome
}

/// The open activity tasks scheduled since event `after`: (task, input).
fn scheduled_since(d: &Driver, after: u64) -> Vec<(u64, Value)> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleActivity { task, input, .. } if *task > after => {
                Some((*task, serde_json::from_str(input).unwrap()))
            }
            _ => None,
        })
        .collect()
}

fn succeed(d: &mut Driver, task: u64, output: &str) {
    d.feed(Input::TaskSucceeded {
        task,
        output: output.into(),
    });
}

fn fail(d: &mut Driver, task: u64) {
    d.feed(Input::TaskFailed {
        task,
        error: Some("Broken".into()),
        cause: Some("worker not fixed".into()),
    });
}

fn replays(d: &Driver) {
    let world: std::sync::Arc<dyn cairn_core::World> = std::sync::Arc::new(cairn_core::OpenWorld);
    let c = ctx(T0, 1, &world);
    // Replay starts from the execution as it was started: no redrives yet.
    let mut info = d.exec.info.clone();
    info.redrive_count = 0;
    info.redrive_time_ms = None;
    let got = replay(info, &d.def, &d.history, &c, &|id| id)
        .unwrap_or_else(|e| panic!("replay diverged: {e}"));
    assert_eq!(got.status, d.exec.status);
    assert_eq!(got.info.redrive_count, d.exec.info.redrive_count);
}

#[test]
fn failed_task_is_re_entered_and_the_execution_continues() {
    let mut d = Driver::start(
        json!({"StartAt": "Prep", "States": {
            "Prep": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.prep", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": ACT, "Parameters": {
                "in.$": "$", "redrives.$": "$$.Execution.RedriveCount"}, "End": true}}}),
        r#"{"x":1}"#,
    );
    let task = d.last_scheduled();
    fail(&mut d, task);
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    assert_eq!(d.exec.error.as_deref(), Some("Broken"));
    let failed_at = d.history.len() as u64;

    d.now += 60_000;
    let outcome = redrive(&mut d, Some("t1"), Some(14 * DAY_MS));
    assert_eq!(outcome, Outcome::Redriven { date_ms: d.now });
    assert_eq!(d.exec.status, ExecutionStatus::Running);
    assert_eq!(d.exec.info.redrive_count, 1);
    assert_eq!(d.exec.info.redrive_time_ms, Some(d.now));
    assert_eq!((d.exec.error.as_ref(), d.exec.stop_time_ms), (None, None));
    assert_eq!(
        &d.types()[failed_at as usize..],
        ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"],
        "Prep is not run again"
    );
    let redriven = failed_at + 1;
    assert_eq!(d.detail(redriven, "redriveCount"), Some(json!(1)));
    assert_eq!(
        d.history[redriven as usize - 1].previous_event_id,
        failed_at,
        "ExecutionRedriven follows the last event"
    );
    assert_eq!(
        d.history[redriven as usize].previous_event_id, redriven,
        "the re-entered state follows ExecutionRedriven"
    );
    assert_eq!(
        d.detail(redriven + 1, "input"),
        Some(json!(r#"{"x":1,"prep":{"n":1}}"#)),
        "the failed state gets its input again"
    );
    let tasks = scheduled_since(&d, failed_at);
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].1["redrives"],
        json!(1),
        "$$.Execution.RedriveCount"
    );

    succeed(&mut d, tasks[0].0, r#"{"ok":true}"#);
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(d.exec.output.as_deref(), Some(r#"{"ok":true}"#));
    assert_eq!(d.types().last(), Some(&"ExecutionSucceeded"));
    replays(&d);

    // The same client token again: the first redrive's date, nothing appended.
    let before = d.history.len();
    d.now += 1_000;
    assert_eq!(
        redrive(&mut d, Some("t1"), None),
        Outcome::Redriven {
            date_ms: d.now - 1_000
        }
    );
    assert_eq!(d.history.len(), before);
    // Another token on a SUCCEEDED execution: refused.
    assert_eq!(redrive(&mut d, Some("t2"), None), Outcome::NotRedrivable);
    assert_eq!(
        d.exec.redrive_refusal(d.now, None),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );
}

#[test]
fn parallel_re_runs_only_the_failed_branch() {
    let mut d = Driver::start(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": ACT,
                "Parameters": {"b": "a"}, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": ACT,
                "Parameters": {"b": "b"}, "End": true}}}]}}}),
        "{}",
    );
    let tasks = scheduled_since(&d, 0);
    assert_eq!(tasks.len(), 2);
    succeed(&mut d, tasks[0].0, r#""a-done""#);
    fail(&mut d, tasks[1].0);
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    let failed_at = d.history.len() as u64;

    assert!(matches!(
        redrive(&mut d, None, None),
        Outcome::Redriven { .. }
    ));
    assert_eq!(
        &d.types()[failed_at as usize..],
        [
            "ExecutionRedriven",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateEntered",
            "ActivityScheduled"
        ]
    );
    let again = scheduled_since(&d, failed_at);
    assert_eq!(again.len(), 1, "only the failed branch runs again");
    assert_eq!(again[0].1, json!({"b": "b"}));
    succeed(&mut d, again[0].0, r#""b-done""#);
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(d.exec.output.as_deref(), Some(r#"["a-done","b-done"]"#));
    replays(&d);
}

#[test]
fn map_re_runs_only_the_failed_iterations() {
    let mut d = Driver::start(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": ACT, "End": true}}}}}}),
        "[0, 1, 2, 3]",
    );
    let tasks = scheduled_since(&d, 0);
    assert_eq!(tasks.len(), 4);
    succeed(&mut d, tasks[0].0, "10");
    succeed(&mut d, tasks[2].0, "12");
    fail(&mut d, tasks[1].0);
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    let failed_at = d.history.len() as u64;

    d.now += 1_000;
    assert!(matches!(
        redrive(&mut d, None, None),
        Outcome::Redriven { .. }
    ));
    let again = scheduled_since(&d, failed_at);
    let inputs: Vec<Value> = again.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(
        inputs,
        [json!(1), json!(3)],
        "the failed and the aborted iteration run again, not the succeeded ones"
    );
    let indices: Vec<Value> = d.history[failed_at as usize..]
        .iter()
        .filter(|e| e.event_type.as_str() == "MapIterationStarted")
        .map(|e| e.details.as_ref().unwrap()["index"].clone())
        .collect();
    assert_eq!(indices, [json!(1), json!(3)]);
    succeed(&mut d, again[0].0, "11");
    succeed(&mut d, again[1].0, "13");
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(d.exec.output.as_deref(), Some("[10,11,12,13]"));
    replays(&d);
}

#[test]
fn aborted_and_timed_out_executions_redrive_and_can_fail_again() {
    let mut d = Driver::start(
        json!({"StartAt": "W", "TimeoutSeconds": 100, "States": {
            "W": {"Type": "Task", "Resource": ACT, "End": true}}}),
        "{}",
    );
    d.feed(Input::Stop {
        error: Some("E".into()),
        cause: None,
    });
    assert_eq!(d.exec.status, ExecutionStatus::Aborted);
    assert!(matches!(
        redrive(&mut d, None, None),
        Outcome::Redriven { .. }
    ));
    assert_eq!(d.exec.status, ExecutionStatus::Running);
    assert_eq!(
        d.exec.redrive_refusal(d.now, None),
        Some("Execution is RUNNING and cannot be redriven")
    );
    assert_eq!(redrive(&mut d, None, None), Outcome::NotRedrivable);
    // The execution timeout counts again from the redrive.
    d.run_timers();
    assert_eq!(d.exec.status, ExecutionStatus::TimedOut);
    assert!(matches!(
        redrive(&mut d, None, None),
        Outcome::Redriven { .. }
    ));
    assert_eq!(d.exec.info.redrive_count, 2);
    let task = d.last_scheduled();
    succeed(&mut d, task, "{}");
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    let redriven: Vec<Value> = d
        .history
        .iter()
        .filter(|e| e.event_type.as_str() == "ExecutionRedriven")
        .map(|e| e.details.as_ref().unwrap()["redriveCount"].clone())
        .collect();
    assert_eq!(redriven, [json!(1), json!(2)]);
    replays(&d);
}

#[test]
fn refusals_name_aws_reasons() {
    let mut d = Driver::start(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
        "{}",
    );
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    let stopped = d.exec.stop_time_ms.unwrap();
    assert_eq!(
        d.exec.redrive_refusal(stopped + DAY_MS, Some(14 * DAY_MS)),
        None
    );
    assert_eq!(
        d.exec
            .redrive_refusal(stopped + 15 * DAY_MS, Some(14 * DAY_MS)),
        Some("Execution redrivable period exceeded")
    );
    assert_eq!(d.exec.redrive_refusal(stopped + 15 * DAY_MS, None), None);
    assert_eq!(
        d.exec.redrive_refusal(stopped + 366 * DAY_MS, None),
        Some("Execution has exceeded the max execution time")
    );
    d.now = stopped + 15 * DAY_MS;
    assert_eq!(
        redrive(&mut d, None, Some(14 * DAY_MS)),
        Outcome::NotRedrivable
    );
    assert_eq!(d.exec.status, ExecutionStatus::Failed, "nothing changed");
    let mut full = d.exec.clone();
    full.next_event_id = 25_000;
    assert_eq!(
        full.redrive_refusal(stopped, None),
        Some("Execution history event limit exceeded")
    );
    // A Fail state fails again after a redrive.
    assert!(matches!(
        redrive(&mut d, None, None),
        Outcome::Redriven { .. }
    ));
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    assert_eq!(
        &d.types()[3..],
        ["ExecutionRedriven", "FailStateEntered", "ExecutionFailed"]
    );
}
