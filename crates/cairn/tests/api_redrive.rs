//! RedriveExecution through aws-sdk-rust against the real server: a Task that fails until
//! the worker is fixed, Map and Parallel re-running only what did not succeed, the redrive
//! fields of DescribeExecution and ListExecutions, `clientToken` idempotency, AWS's refusals,
//! and redrives that survive a restart and a SIGKILL of `cairn serve`.

mod common;

use aws_sdk_sfn::types::{ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus};
use common::{error_code, error_message, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn fast_config() -> cairn::config::Config {
    cairn::config::Config {
        wait_time_scale: 0.05,
        activity_long_poll: Duration::from_millis(300),
        ..Default::default()
    }
}

async fn take(server: &TestServer, activity_arn: &str) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = server
            .client
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name("w")
            .send()
            .await
            .unwrap();
        if let Some(token) = t.task_token() {
            let input = serde_json::from_str(t.input().unwrap_or("null")).unwrap();
            return (token.to_string(), input);
        }
        assert!(Instant::now() < deadline, "no task arrived");
    }
}

async fn history(server: &TestServer, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    server
        .client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events()
        .to_vec()
}

fn types(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.r#type().as_str()).collect()
}

async fn redrive(
    server: &TestServer,
    arn: &str,
    token: Option<&str>,
) -> Result<
    aws_sdk_sfn::operation::redrive_execution::RedriveExecutionOutput,
    aws_sdk_sfn::error::SdkError<aws_sdk_sfn::operation::redrive_execution::RedriveExecutionError>,
> {
    server
        .client
        .redrive_execution()
        .execution_arn(arn)
        .set_client_token(token.map(str::to_string))
        .send()
        .await
}

async fn refused(server: &TestServer, arn: &str) -> String {
    let err = redrive(server, arn, None).await.expect_err("refused");
    assert_eq!(
        error_code(&err).as_deref(),
        Some("ExecutionNotRedrivable"),
        "{err:?}"
    );
    error_message(&err).unwrap_or_default()
}

async fn listed(server: &TestServer, sm: &str, filter: ExecutionRedriveFilter) -> Vec<String> {
    server
        .client
        .list_executions()
        .state_machine_arn(sm)
        .redrive_filter(filter)
        .send()
        .await
        .unwrap()
        .executions()
        .iter()
        .map(|e| e.name().to_string())
        .collect()
}

#[tokio::test]
async fn failing_task_is_redriven_to_success_after_the_worker_is_fixed() {
    let server = TestServer::start_with(fast_config()).await;
    let act = server.create_activity("fixme").await;
    let sm = server
        .create_machine(
            "redrive-task",
            &json!({"StartAt": "Prep", "States": {
                "Prep": {"Type": "Pass", "Result": 1, "ResultPath": "$.prep", "Next": "Work"},
                "Work": {"Type": "Task", "Resource": act, "Parameters": {
                    "x.$": "$.x", "redrives.$": "$$.Execution.RedriveCount"}, "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&sm, &json!({"x": 7})).await;
    let other = server.start_execution(&sm, &json!({"x": 8})).await;
    let (token, input) = take(&server, &act).await;
    let (token2, _) = take(&server, &act).await;
    assert_eq!(input["redrives"], json!(0));
    // The worker is broken: the task fails, and so does the execution.
    let (failing, succeeding) = if input["x"] == json!(7) {
        (token, token2)
    } else {
        (token2, token)
    };
    server
        .client
        .send_task_failure()
        .task_token(failing)
        .error("Broken")
        .cause("not fixed yet")
        .send()
        .await
        .unwrap();
    server
        .client
        .send_task_success()
        .task_token(succeeding)
        .output("{}")
        .send()
        .await
        .unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(
        d.redrive_status(),
        Some(&ExecutionRedriveStatus::Redrivable)
    );
    assert_eq!(d.redrive_count(), Some(0));
    assert!(d.redrive_date().is_none());
    let failed_events = history(&server, &arn).await.len();

    // Redrive, with a client token; the same token again answers the same redrive.
    let first = redrive(&server, &arn, Some("tok-1")).await.unwrap();
    let again = redrive(&server, &arn, Some("tok-1")).await.unwrap();
    assert_eq!(first.redrive_date(), again.redrive_date());
    let d = server
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Running);
    assert_eq!(d.redrive_count(), Some(1));
    assert_eq!(d.redrive_date(), Some(first.redrive_date()));
    assert!(d.error().is_none() && d.stop_date().is_none());
    // Running: a redrive without a known token is refused.
    assert_eq!(
        refused(&server, &arn).await,
        "Execution is RUNNING and cannot be redriven"
    );

    // The fixed worker takes the re-run task, which sees RedriveCount 1.
    let (token, input) = take(&server, &act).await;
    assert_eq!(input, json!({"x": 7, "redrives": 1}));
    server
        .client
        .send_task_success()
        .task_token(token)
        .output(r#"{"fixed":true}"#)
        .send()
        .await
        .unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.output(), Some(r#"{"fixed":true}"#));
    assert_eq!(d.redrive_count(), Some(1));
    assert_eq!(
        d.redrive_status(),
        Some(&ExecutionRedriveStatus::NotRedrivable)
    );
    assert_eq!(
        d.redrive_status_reason(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );

    let events = history(&server, &arn).await;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityFailed",
            "ExecutionFailed",
            "ExecutionRedriven",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    );
    assert_eq!(failed_events, 8, "the failed attempt's history is kept");
    let redriven = &events[8];
    assert_eq!(redriven.id(), 9);
    assert_eq!(redriven.previous_event_id(), 8);
    assert_eq!(
        redriven
            .execution_redriven_event_details()
            .map(|d| d.redrive_count()),
        Some(Some(1))
    );
    let entered = events[9].state_entered_event_details().unwrap();
    assert_eq!(entered.name(), "Work");
    assert_eq!(entered.input(), Some(r#"{"x":7,"prep":1}"#));
    assert_eq!(events[9].previous_event_id(), 9);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id(), i as i64 + 1, "ids are gap-free");
    }

    // ListExecutions: the redrive fields, and redriveFilter.
    let names = |f| listed(&server, &sm, f);
    let redriven_names = names(ExecutionRedriveFilter::Redriven).await;
    let arn_name = arn.rsplit(':').next().unwrap().to_string();
    let other_name = other.rsplit(':').next().unwrap().to_string();
    assert_eq!(redriven_names, std::slice::from_ref(&arn_name));
    assert_eq!(
        names(ExecutionRedriveFilter::NotRedriven).await,
        [other_name]
    );
    let all = server
        .client
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    let item = all
        .executions()
        .iter()
        .find(|e| e.name() == arn_name)
        .unwrap();
    assert_eq!(item.redrive_count(), Some(1));
    assert_eq!(item.redrive_date(), Some(first.redrive_date()));
    server.stop().await;
}

#[tokio::test]
async fn map_and_parallel_re_run_only_what_did_not_succeed() {
    let server = TestServer::start().await;
    // An item fails while RedriveCount is 0 if it is odd.
    let fails_first = |value: &str| {
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$.r", "NumericEquals": 0},
                {"Variable": value, "NumericEquals": 1}], "Next": "F"}],
                "Default": "Ok"},
            "F": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
            "Ok": {"Type": "Pass", "End": true}}})
    };
    let map = server
        .create_machine(
            "redrive-map",
            &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "MaxConcurrency": 1,
                "ItemSelector": {"v.$": "$$.Map.Item.Value",
                    "r.$": "$$.Execution.RedriveCount"},
                "ItemProcessor": fails_first("$.v")}}}),
        )
        .await;
    let arn = server.start_execution(&map, &json!([0, 1, 0])).await;
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(d.error(), Some("Odd"));
    let before = history(&server, &arn).await.len();
    redrive(&server, &arn, None).await.unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded, "{d:?}");
    let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
    let redrives: Vec<Value> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["r"].clone())
        .collect();
    assert_eq!(
        redrives,
        [json!(0), json!(1), json!(1)],
        "item 0 kept its first result; the failed item 1 and the never-run item 2 re-ran"
    );
    let events = history(&server, &arn).await;
    let rerun: Vec<i32> = events[before..]
        .iter()
        .filter_map(|e| e.map_iteration_started_event_details())
        .map(|d| d.index())
        .collect();
    assert_eq!(rerun, [1, 2]);
    assert_eq!(
        &types(&events)[before..before + 3],
        ["ExecutionRedriven", "MapStateEntered", "MapStateStarted"]
    );

    let par = server
        .create_machine(
            "redrive-parallel",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
                "Parameters": {"r.$": "$$.Execution.RedriveCount", "one": 1},
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                    fails_first("$.one")]}}}),
        )
        .await;
    let arn = server.start_execution(&par, &json!({})).await;
    assert_eq!(
        server.wait_done(&arn).await.status(),
        &ExecutionStatus::Failed
    );
    redrive(&server, &arn, None).await.unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
    assert_eq!(
        out,
        json!([{"r": 0, "one": 1}, {"r": 1, "one": 1}]),
        "the succeeded branch is not run again"
    );
    let events = history(&server, &arn).await;
    let passes = types(&events)
        .iter()
        .filter(|t| **t == "PassStateEntered")
        .count();
    assert_eq!(passes, 2, "branch A once, the failed branch's Pass once");
    server.stop().await;
}

#[tokio::test]
async fn refusals_answer_execution_not_redrivable_with_aws_reasons() {
    let server = TestServer::start_with(cairn::config::Config {
        redrive_window: Some(Duration::ZERO),
        ..fast_config()
    })
    .await;
    let ok = server
        .create_machine(
            "ok",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&ok, &json!({})).await;
    server.wait_done(&arn).await;
    assert_eq!(
        refused(&server, &arn).await,
        "Execution is SUCCEEDED and cannot be redriven"
    );

    // With a zero redrivable window, a failed execution is past it at once.
    let bad = server
        .create_machine(
            "bad",
            &json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
        )
        .await;
    let arn = server.start_execution(&bad, &json!({})).await;
    let d = server.wait_done(&arn).await;
    assert_eq!(
        d.redrive_status(),
        Some(&ExecutionRedriveStatus::NotRedrivable)
    );
    assert_eq!(
        d.redrive_status_reason(),
        Some("Execution redrivable period exceeded")
    );
    assert_eq!(
        refused(&server, &arn).await,
        "Execution redrivable period exceeded"
    );
    assert_eq!(d.redrive_count(), Some(0));

    let express = arn.replacen(":execution:", ":express:", 1) + ":0123";
    let err = redrive(&server, &express, None).await.unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ExecutionNotRedrivable"));
    let missing = arn.replace(":bad:", ":nope:");
    let err = redrive(&server, &missing, None).await.unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ExecutionDoesNotExist"));
    let err = redrive(&server, "not-an-arn", None).await.unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    server.stop().await;
}

#[tokio::test]
async fn a_redrive_survives_restarts() {
    let server = TestServer::start_with(fast_config()).await;
    let act = server.create_activity("restart").await;
    let sm = server
        .create_machine(
            "redrive-restart",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act,
                "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&sm, &json!({"n": 1})).await;
    let (token, _) = take(&server, &act).await;
    server
        .client
        .send_task_failure()
        .task_token(token)
        .error("E")
        .send()
        .await
        .unwrap();
    server.wait_done(&arn).await;
    // Restart between the failure and the redrive, and between the redrive and the task.
    let server = server.restart().await;
    redrive(&server, &arn, None).await.unwrap();
    let server = server.restart().await;
    let (token, input) = take(&server, &act).await;
    assert_eq!(input, json!({"n": 1}));
    server
        .client
        .send_task_success()
        .task_token(token)
        .output("2")
        .send()
        .await
        .unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.redrive_count(), Some(1));
    server.stop().await;
}

/// SIGKILL `cairn serve` while a redriven execution waits, start it again on the same
/// database: the execution finishes, its history gap-free.
#[tokio::test]
async fn a_redrive_carries_on_after_kill_9() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spawn = || {
        let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(&db)
            .args(["--redrive-window-days", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cairn serve");
        let begin = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    };
    let client = common::client(&format!("http://127.0.0.1:{port}"), "us-east-1");
    let mut child = spawn();
    // The branch fails while RedriveCount is 0; after a redrive it waits 2 s and succeeds
    // (a failed branch re-runs from its first state).
    let sm = client
        .create_state_machine()
        .name("redrive-kill")
        .role_arn(common::ROLE_ARN)
        .definition(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
                "Parameters": {"r.$": "$$.Execution.RedriveCount"},
                "Branches": [{"StartAt": "C", "States": {
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$.r",
                        "NumericEquals": 0, "Next": "F"}], "Default": "W"},
                    "F": {"Type": "Fail", "Error": "First"},
                    "W": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
                    "Done": {"Type": "Succeed"}}}]}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let arn = client
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let describe =
        |c: &aws_sdk_sfn::Client| c.describe_execution().execution_arn(arn.clone()).send();
    let deadline = Instant::now() + Duration::from_secs(20);
    while describe(&client).await.unwrap().status() == &ExecutionStatus::Running {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    // The redrive is answered once durable: kill -9 now, mid-Wait.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let d = loop {
        let d = describe(&client).await.unwrap();
        if d.status() != &ExecutionStatus::Running {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "redriven execution never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.redrive_count(), Some(1));
    let events = client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap()
        .events()
        .to_vec();
    let names: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    let at = names
        .iter()
        .position(|t| *t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    assert_eq!(names[at - 1], "ExecutionFailed");
    assert_eq!(
        &names[at..at + 3],
        [
            "ExecutionRedriven",
            "ParallelStateEntered",
            "ParallelStateStarted"
        ]
    );
    assert_eq!(names.iter().filter(|t| **t == "WaitStateExited").count(), 1);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id(), i as i64 + 1, "gap-free after the kill");
    }
    assert_eq!(
        names.iter().filter(|t| **t == "ExecutionRedriven").count(),
        1
    );
    assert_eq!(names.last(), Some(&"ExecutionSucceeded"));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A redriven `.sync` Task runs again like any Task: it starts a new child execution (the
/// failed child stays as it was). AWS documents child redrives only for Distributed Map Runs;
/// see README "Redriving executions".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_sync_task_starts_a_new_child() {
    let server = TestServer::start().await;
    let child = server
        .create_machine(
            "child",
            &json!({"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.r",
                    "NumericEquals": 0, "Next": "F"}], "Default": "Ok"},
                "F": {"Type": "Fail", "Error": "ChildFailed"},
                "Ok": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let parent = server
        .create_machine(
            "parent",
            &json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child,
                    "Input": {"r.$": "$$.Execution.RedriveCount"}},
                "OutputPath": "$.Output", "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&parent, &json!({})).await;
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    redrive(&server, &arn, None).await.unwrap();
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded, "{:?}", d.cause());
    assert_eq!(d.output(), Some(r#"{"r":1}"#));
    let children = server
        .client
        .list_executions()
        .state_machine_arn(&child)
        .send()
        .await
        .unwrap();
    let mut statuses: Vec<&str> = children
        .executions()
        .iter()
        .map(|e| e.status().as_str())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["FAILED", "SUCCEEDED"]);
    server.stop().await;
}

/// ListExecutions by version or alias ARN with `redriveFilter`: the filter is in the store's
/// query, so a page holds `maxResults` matches even when other executions sit between them,
/// and `nextToken` leads to the rest (it used to filter the page read, losing the token).
#[tokio::test]
async fn redrive_filter_by_version_and_alias_gives_full_pages() {
    let server = TestServer::start().await;
    let c = &server.client;
    // Fails on its first run when `f` is 1; a redrive re-runs the failed branch, which then
    // succeeds.
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "R", "States": {
            "R": {"Type": "Pass", "Next": "C",
                "Parameters": {"f.$": "$.f", "r.$": "$$.Execution.RedriveCount"}},
            "C": {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$.r", "NumericEquals": 0},
                {"Variable": "$.f", "NumericEquals": 1}], "Next": "F"}],
                "Default": "Ok"},
            "F": {"Type": "Fail", "Error": "First", "Cause": "first run"},
            "Ok": {"Type": "Pass", "End": true}}}]}}});
    let sm = server.create_machine("redrive-pages", &definition).await;
    let version = c
        .publish_state_machine_version()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .state_machine_version_arn
        .clone();
    let alias = c
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(
            aws_sdk_sfn::types::RoutingConfigurationListItem::builder()
                .state_machine_version_arn(&version)
                .weight(100)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn
        .clone();
    // e0..e5 through the alias (so through the version too); the odd ones fail, then are
    // redriven to success. Newest first: e5 (redriven) e4 e3 (redriven) e2 e1 (redriven) e0.
    let mut arns = Vec::new();
    for i in 0..6 {
        let arn = c
            .start_execution()
            .state_machine_arn(&alias)
            .name(format!("e{i}"))
            .input(json!({"f": i % 2}).to_string())
            .send()
            .await
            .unwrap()
            .execution_arn;
        server.wait_done(&arn).await;
        arns.push(arn);
    }
    for arn in arns.iter().skip(1).step_by(2) {
        redrive(&server, arn, None).await.unwrap();
        let d = server.wait_done(arn).await;
        assert_eq!(d.status(), &ExecutionStatus::Succeeded, "{d:?}");
    }
    for qualifier in [&version, &alias] {
        let page = |filter: ExecutionRedriveFilter, token: Option<String>| {
            c.list_executions()
                .state_machine_arn(qualifier)
                .redrive_filter(filter)
                .max_results(2)
                .set_next_token(token)
                .send()
        };
        let names = |out: &aws_sdk_sfn::operation::list_executions::ListExecutionsOutput| {
            out.executions()
                .iter()
                .map(|e| e.name().to_string())
                .collect::<Vec<_>>()
        };
        let first = page(ExecutionRedriveFilter::Redriven, None).await.unwrap();
        assert_eq!(names(&first), ["e5", "e3"], "{qualifier}");
        let token = first.next_token().expect("a second page").to_string();
        let second = page(ExecutionRedriveFilter::Redriven, Some(token))
            .await
            .unwrap();
        assert_eq!(names(&second), ["e1"], "{qualifier}");
        assert_eq!(second.next_token(), None);
        let never = page(ExecutionRedriveFilter::NotRedriven, None)
            .await
            .unwrap();
        assert_eq!(names(&never), ["e4", "e2"], "{qualifier}");
        assert!(never.next_token().is_some());
    }
    server.stop().await;
}

/// A Pass or Wait state that fails on entry is entered again with the input it had: the
/// failure must not consume the state's input (it once redrove them with `null`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_or_wait_that_failed_on_entry_is_redriven_with_its_input() {
    let server = TestServer::start_with(fast_config()).await;
    // P fails until the first redrive (its intrinsic parses "not json"), W until the second
    // (its Seconds is a string): each time only the input can make the redriven state pass.
    let sm = server
        .create_machine(
            "entry-failures",
            &json!({"StartAt": "P", "States": {
                "P": {"Type": "Pass", "Next": "W", "Parameters": {
                    "v.$": "States.StringToJson(States.ArrayGetItem($.docs, $$.Execution.RedriveCount))",
                    "secs.$": "$.secs"}},
                "W": {"Type": "Wait", "QueryLanguage": "JSONata", "Next": "Done",
                      "Seconds": "{% $states.context.Execution.RedriveCount < 2 ? 'soon' : $states.input.secs %}"},
                "Done": {"Type": "Pass", "End": true},
            }}),
        )
        .await;
    let input = json!({"docs": ["not json", "{\"ok\":1}"], "secs": 0});
    let arn = server.start_execution(&sm, &input).await;
    let d = server.wait_done(&arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    for (redrives, status) in [
        (1, ExecutionStatus::Failed),
        (2, ExecutionStatus::Succeeded),
    ] {
        redrive(&server, &arn, None).await.expect("redrive");
        let deadline = Instant::now() + Duration::from_secs(10);
        let d = loop {
            let d = server
                .client
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .unwrap();
            if d.redrive_count() == Some(redrives) && d.status() != &ExecutionStatus::Running {
                break d;
            }
            assert!(Instant::now() < deadline, "redrive {redrives} never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(d.status(), &status, "redrive {redrives}: {:?}", d.cause());
        if status == ExecutionStatus::Failed {
            // Failed in W now, not in P again with a null input.
            let events = history(&server, &arn).await;
            let entered: Vec<_> = events
                .iter()
                .filter_map(|e| e.state_entered_event_details())
                .map(|s| {
                    (
                        s.name().to_string(),
                        s.input().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            assert_eq!(entered.last().unwrap().0, "W", "{entered:?}");
            let last_p = entered.iter().rev().find(|(n, _)| n == "P").unwrap();
            assert_eq!(serde_json::from_str::<Value>(&last_p.1).unwrap(), input);
        } else {
            let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
            assert_eq!(out, json!({"v": {"ok": 1}, "secs": 0}));
        }
    }
}
