//! The virtual clock (`--virtual-clock`): long Waits, hours of retry back-off and task
//! timeouts end at once, with the same history (timestamps aside) as a run in scaled real
//! time; a worker holding a task is never timed out by a jump; the `CairnClock.*`
//! operations read, advance, freeze and resume it. Assertions are on the virtual timestamps
//! and on completion, never on wall time.

mod common;

use aws_sdk_sfn::types::HistoryEventType;
use cairn::config::Config;
use common::TestServer;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn virtual_config() -> Config {
    Config {
        virtual_clock: true,
        activity_long_poll: Duration::from_millis(200),
        ..Default::default()
    }
}

/// The same engine on the real clock, with time scaled down by `scale`.
fn scaled_config(scale: f64) -> Config {
    Config {
        wait_time_scale: scale,
        activity_long_poll: Duration::from_millis(200),
        ..Default::default()
    }
}

/// A raw AWS JSON 1.0 call with any target: (HTTP status, body).
async fn raw_call(server: &TestServer, target: &str, body: &Value) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn clock(server: &TestServer, op: &str, body: Value) -> Value {
    let (status, answer) = raw_call(server, &format!("CairnClock.{op}"), &body).await;
    assert_eq!(status, 200, "{op}: {answer}");
    answer
}

/// The history as AWS JSON without timestamps, and the timestamps (ms) in event order.
async fn history(server: &TestServer, arn: &str) -> (Vec<Value>, Vec<i64>) {
    let (status, answer) = raw_call(
        server,
        "AWSStepFunctions.GetExecutionHistory",
        &json!({"executionArn": arn, "maxResults": 1000}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut events = answer["events"].as_array().cloned().unwrap_or_default();
    let times = events
        .iter()
        .map(|e| (e["timestamp"].as_f64().unwrap() * 1000.0).round() as i64)
        .collect();
    for e in &mut events {
        e.as_object_mut().unwrap().remove("timestamp");
    }
    (events, times)
}

/// Run `definition` to its end on a virtual-clock server and on a scaled real-time server;
/// both histories must be the same but for timestamps. Answers the virtual timestamps.
async fn same_history_as_scaled(
    name: &str,
    definition: Value,
    scale: f64,
) -> (Vec<Value>, Vec<i64>) {
    let mut runs = Vec::new();
    for config in [virtual_config(), scaled_config(scale)] {
        let server = TestServer::start_with(config).await;
        server.create_activity("nobody").await;
        let sm = server.create_machine(name, &definition).await;
        let arn = server.start_execution(&sm, &json!({"k": 1})).await;
        server.wait_done(&arn).await;
        let (shapes, times) = history(&server, &arn).await;
        // The execution names differ (a fresh uuid each): strip them from the shapes.
        let shapes: Vec<Value> = shapes
            .into_iter()
            .map(|s| Value::String(s.to_string().replace(&arn, "<execution>")))
            .collect();
        runs.push((shapes, times));
        server.stop().await;
    }
    let scaled = runs.pop().unwrap();
    let virtual_run = runs.pop().unwrap();
    assert_eq!(
        virtual_run.0, scaled.0,
        "virtual and scaled histories differ"
    );
    virtual_run
}

fn activity_arn() -> String {
    "arn:aws:states:us-east-1:123456789012:activity:nobody".into()
}

#[tokio::test]
async fn a_one_year_wait_ends_at_once_on_the_virtual_clock() {
    let year_s: i64 = 365 * 24 * 3600;
    let definition = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": year_s, "Next": "P"},
        "P": {"Type": "Pass", "Result": "done", "End": true}}});
    // 1e-9: the scaled run waits 32 ms.
    let (shapes, times) = same_history_as_scaled("year", definition, 1e-9).await;
    assert!(shapes
        .last()
        .unwrap()
        .to_string()
        .contains("ExecutionSucceeded"));
    // Events 2 and 3: WaitStateEntered, WaitStateExited.
    // The clock lands on the timer and runs on while the writer steps (a few ms at most).
    let waited = times[2] - times[1];
    assert!(
        (year_s * 1000..year_s * 1000 + 1000).contains(&waited),
        "waited {waited} ms"
    );
}

#[tokio::test]
async fn hours_of_retry_back_off_and_task_timeouts_are_skipped() {
    // An activity nobody polls: each attempt times out after 2 h, retried after 1 h, 2 h.
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": activity_arn(), "TimeoutSeconds": 7200,
              "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3600,
                         "MaxAttempts": 2, "BackoffRate": 2.0, "JitterStrategy": "NONE"}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}],
              "End": true},
        "Gave up": {"Type": "Pass", "End": true}}});
    // 1e-5: the scaled run takes about 0.36 s.
    let (shapes, times) = same_history_as_scaled("retry", definition, 1e-5).await;
    let text = Value::Array(shapes).to_string();
    assert_eq!(text.matches("ActivityTimedOut").count(), 3, "{text}");
    assert!(text.contains("ExecutionSucceeded"), "{text}");
    // Three 2 h timeouts and 1 h + 2 h of back-off: 9 h on the virtual clock.
    let span = times.last().unwrap() - times[0];
    let nine_hours = 9 * 3600 * 1000;
    assert!(
        (nine_hours..nine_hours + 1000).contains(&span),
        "virtual span {span} ms"
    );
}

#[tokio::test]
async fn a_heartbeat_timeout_fires_when_the_clock_is_advanced_past_it() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": activity_arn(), "HeartbeatSeconds": 3600,
              "End": true}}});
    let mut shapes_of_runs = Vec::new();
    for (virtual_clock, config) in [(true, virtual_config()), (false, scaled_config(1e-4))] {
        let server = TestServer::start_with(config).await;
        let activity = server.create_activity("nobody").await;
        let sm = server.create_machine("hb", &definition).await;
        let arn = server.start_execution(&sm, &json!({})).await;
        // A worker takes the task and then goes silent.
        let task = server
            .client
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .unwrap();
        assert!(task.task_token.is_some());
        if virtual_clock {
            // The worker holds the task: the clock does not jump; the test moves it.
            clock(&server, "Advance", json!({"seconds": 3600})).await;
        }
        let d = server.wait_done(&arn).await;
        // As on AWS: a task's timeout fails the execution (TIMED_OUT is the execution's own).
        assert_eq!(d.status, aws_sdk_sfn::types::ExecutionStatus::Failed);
        assert_eq!(d.error.as_deref(), Some("States.Timeout"));
        let (shapes, times) = history(&server, &arn).await;
        let text = Value::Array(shapes.clone()).to_string();
        assert!(text.contains("ActivityTimedOut"), "{text}");
        assert!(text.contains("States.Timeout"), "{text}");
        if virtual_clock {
            // ActivityStarted (4) → ActivityTimedOut (5): the hour the clock was moved.
            assert!(times[4] - times[3] >= 3600 * 1000, "{times:?}");
        }
        shapes_of_runs.push(
            Value::Array(shapes)
                .to_string()
                .replace(&arn, "<execution>"),
        );
        server.stop().await;
    }
    assert_eq!(shapes_of_runs[0], shapes_of_runs[1]);
}

#[tokio::test]
async fn a_worker_holding_a_task_is_never_timed_out_by_a_jump() {
    let server = TestServer::start_with(virtual_config()).await;
    let activity = server.create_activity("slow").await;
    // The heartbeat timer (60 s, armed when the worker takes the task) is the only timer
    // while the worker works: a jump would fire it at once. (No TimeoutSeconds: that timer
    // runs from scheduling, and the clock may rightly jump to it before a worker polls.)
    let sm = server
        .create_machine(
            "held",
            &json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 60,
                      "Next": "W"},
                "W": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&sm, &json!({})).await;
    let task = server
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    let token = task.task_token.expect("a task");
    let taken_at = clock(&server, "GetTime", json!({})).await["timeMillis"]
        .as_i64()
        .unwrap();
    // The worker "works" for a moment of real time; an idle engine would have jumped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = clock(&server, "GetTime", json!({})).await["timeMillis"]
        .as_i64()
        .unwrap();
    assert!(
        now - taken_at < 60_000,
        "the clock jumped while a worker held the task"
    );
    let status = server
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap()
        .status;
    assert_eq!(status, aws_sdk_sfn::types::ExecutionStatus::Running);
    server
        .client
        .send_task_success()
        .task_token(token)
        .output("{\"done\":true}")
        .send()
        .await
        .expect("the task is still open");
    // Answered: the day-long Wait is skipped.
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    let (_, times) = history(&server, &arn).await;
    let span = times.last().unwrap() - times[0];
    assert!(span >= 86_400_000, "span {span} ms");
    let events = server
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap()
        .events;
    assert!(!events
        .iter()
        .any(|e| e.r#type == HistoryEventType::ActivityTimedOut));
    server.stop().await;
}

#[tokio::test]
async fn the_clock_is_read_advanced_frozen_and_resumed_through_the_server() {
    let server = TestServer::start_with(virtual_config()).await;
    let read = clock(&server, "GetTime", json!({})).await;
    assert_eq!(read["virtual"], true);
    assert_eq!(read["skipping"], true);
    let frozen = clock(&server, "Freeze", json!({})).await;
    assert_eq!(frozen["frozen"], true);
    assert_eq!(frozen["skipping"], false);
    let at = frozen["timeMillis"].as_i64().unwrap();
    assert_eq!(clock(&server, "GetTime", json!({})).await["timeMillis"], at);

    // Frozen: a Wait ends only when the clock is advanced past it.
    let sm = server
        .create_machine(
            "frozen",
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&sm, &json!({})).await;
    let d = server
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, aws_sdk_sfn::types::ExecutionStatus::Running);
    // The API's request time is the clock's too.
    // (The SDK reads epoch seconds as a float: allow its rounding.)
    assert!((d.start_date.to_millis().unwrap() - at).abs() <= 1);
    let advanced = clock(&server, "Advance", json!({"seconds": 3600})).await;
    assert_eq!(advanced["timeMillis"], at + 3_600_000);
    server.wait_done(&arn).await;
    let (_, times) = history(&server, &arn).await;
    assert_eq!(*times.last().unwrap(), at + 3_600_000);
    let ms = clock(&server, "Advance", json!({"milliseconds": 5})).await;
    assert_eq!(ms["timeMillis"], at + 3_600_005);

    let resumed = clock(&server, "Resume", json!({})).await;
    assert_eq!(resumed["frozen"], false);
    assert!(resumed["timeMillis"].as_i64().unwrap() >= at + 3_600_005);

    // Bad requests are AWS-shaped errors.
    let (status, body) = raw_call(&server, "CairnClock.Advance", &json!({"seconds": -1})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"]
            .as_str()
            .map(|t| t.ends_with("ValidationException")),
        Some(true)
    );
    let (status, _) = raw_call(&server, "CairnClock.Advance", &json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = raw_call(&server, "CairnClock.Rewind", &json!({})).await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn the_system_clock_cannot_be_moved() {
    let server = TestServer::start().await;
    let read = clock(&server, "GetTime", json!({})).await;
    assert_eq!(read["virtual"], false);
    let (status, body) = raw_call(&server, "CairnClock.Advance", &json!({"seconds": 1})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--virtual-clock"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_nested_child_s_wait_is_skipped_too() {
    let server = TestServer::start_with(virtual_config()).await;
    let child = server
        .create_machine(
            "child",
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
        )
        .await;
    // The parent waits on its child: a nested execution is not work outside the engine.
    let parent = server
        .create_machine(
            "parent",
            &json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {}},
                "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&parent, &json!({})).await;
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
    let (_, times) = history(&server, &arn).await;
    let span = times.last().unwrap() - times[0];
    assert!(span >= 86_400_000, "span {span} ms");
    server.stop().await;
}
