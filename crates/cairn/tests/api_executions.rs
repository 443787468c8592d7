//! Executions through the real SDK: start (names, idempotency, input checks), describe, list,
//! stop, history paging, DescribeStateMachineForExecution, Express runs, and their errors.

mod common;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use common::{error_code, error_message, TestServer, ROLE_ARN};
use serde_json::{json, Value};

async fn machine(server: &TestServer, name: &str, definition: Value) -> String {
    server.create_machine(name, &definition).await
}

fn pass_chain() -> Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "End": true}}})
}

fn long_wait() -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}})
}

#[tokio::test]
async fn pass_chain_runs_to_success_with_aws_history() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "chain", pass_chain()).await;
    let started = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("first")
        .input(r#"{"x": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.execution_arn(),
        "arn:aws:states:us-east-1:123456789012:execution:chain:first"
    );
    let d = c
        .describe_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(d.input(), Some(r#"{"x": 1}"#), "input is kept verbatim");
    let output: Value = serde_json::from_str(d.output().unwrap()).unwrap();
    assert_eq!(output, json!({"x": 1, "a": {"n": 1}}));
    assert!(d.stop_date().is_some());
    assert_eq!(d.state_machine_arn(), sm);

    let history = c
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .unwrap();
    let types: Vec<HistoryEventType> = history
        .events()
        .iter()
        .map(|e| e.r#type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            HistoryEventType::ExecutionStarted,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::ExecutionSucceeded,
        ]
    );
    let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
    let prev: Vec<i64> = history
        .events()
        .iter()
        .map(|e| e.previous_event_id())
        .collect();
    assert_eq!(prev, vec![0, 0, 2, 3, 4, 5]);
    let entered = history.events()[1].state_entered_event_details().unwrap();
    assert_eq!(entered.name(), "A");
    // The first state sees the input as the caller wrote it; later states see compact JSON.
    assert_eq!(entered.input(), Some(r#"{"x": 1}"#));
    let second = history.events()[3].state_entered_event_details().unwrap();
    assert_eq!(second.name(), "B");
    assert_eq!(second.input(), Some(r#"{"x":1,"a":{"n":1}}"#));
}

#[tokio::test]
async fn start_is_idempotent_while_running_and_conflicts_otherwise() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "waiter", long_wait()).await;
    let first = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("e1")
        .input("{}")
        .send()
        .await
        .unwrap();
    let again = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("e1")
        .input("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(first.execution_arn(), again.execution_arn());
    assert_eq!(first.start_date(), again.start_date());

    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("e1")
        .input(r#"{"other": true}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ExecutionAlreadyExists"));
    assert!(error_message(&err)
        .unwrap_or_default()
        .contains(first.execution_arn()));

    // Stopped: the name stays taken, whatever the input.
    c.stop_execution()
        .execution_arn(first.execution_arn())
        .error("Halt")
        .cause("test")
        .send()
        .await
        .unwrap();
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("e1")
        .input("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ExecutionAlreadyExists"));
}

#[tokio::test]
async fn start_rejects_bad_input_names_and_machines() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "chain", pass_chain()).await;
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidExecutionInput"));
    assert!(error_message(&err)
        .unwrap_or_default()
        .starts_with("Invalid State Machine Execution Input: '"));
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidExecutionInput"));

    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidName"));

    let missing = sm.replace(":chain", ":nothing-here");
    let err = c
        .start_execution()
        .state_machine_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineDoesNotExist")
    );
    let err = c
        .start_execution()
        .state_machine_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));

    // Any JSON value is accepted as input, and no name means a generated one.
    let ok = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("42")
        .send()
        .await
        .unwrap();
    assert!(ok
        .execution_arn()
        .starts_with("arn:aws:states:us-east-1:123456789012:execution:chain:"));
    // Nothing was stored by the refused starts.
    let listed = c
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
}

#[tokio::test]
async fn stop_aborts_and_lists_filter_by_status_newest_first() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "waiter", long_wait()).await;
    let mut arns = Vec::new();
    for i in 0..5 {
        let s = c
            .start_execution()
            .state_machine_arn(&sm)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap();
        arns.push(s.execution_arn().to_string());
    }
    let stopped = c
        .stop_execution()
        .execution_arn(&arns[1])
        .error("Halt")
        .cause("because")
        .send()
        .await
        .unwrap();
    let d = c
        .describe_execution()
        .execution_arn(&arns[1])
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    assert_eq!(d.error(), Some("Halt"));
    assert_eq!(d.cause(), Some("because"));
    assert_eq!(d.stop_date(), Some(stopped.stop_date()));
    let history = c
        .get_execution_history()
        .execution_arn(&arns[1])
        .send()
        .await
        .unwrap();
    let last = history.events().last().unwrap();
    assert_eq!(last.r#type(), &HistoryEventType::ExecutionAborted);
    let details = last.execution_aborted_event_details().unwrap();
    assert_eq!(details.error(), Some("Halt"));

    // Stopping again is harmless and reports the same stop date.
    let again = c
        .stop_execution()
        .execution_arn(&arns[1])
        .send()
        .await
        .unwrap();
    assert_eq!(again.stop_date(), stopped.stop_date());

    let running = c
        .list_executions()
        .state_machine_arn(&sm)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = running.executions().iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        vec!["e4", "e3", "e2", "e0"],
        "newest first, aborted filtered out"
    );

    // Pages of two, newest first, covering all five exactly once.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_executions()
            .state_machine_arn(&sm)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(page.executions().iter().map(|e| e.name().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, vec!["e4", "e3", "e2", "e1", "e0"]);
    let err = c
        .list_executions()
        .state_machine_arn(&sm)
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));
}

#[tokio::test]
async fn history_pages_both_ways_and_can_omit_data() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "chain", pass_chain()).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"k":"v"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(&arn)
            .max_results(4)
            .reverse_order(true)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        ids.extend(page.events().iter().map(|e| e.id()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(ids, vec![6, 5, 4, 3, 2, 1]);

    let lean = c
        .get_execution_history()
        .execution_arn(&arn)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    let started = lean.events()[0].execution_started_event_details().unwrap();
    assert_eq!(started.input(), None);
    assert!(started.input_details().is_some(), "the details flag stays");
    assert_eq!(started.role_arn(), Some(ROLE_ARN));

    let err = c
        .get_execution_history()
        .execution_arn(arn.replace("execution:chain:", "execution:chain:missing-"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ExecutionDoesNotExist"));
}

#[tokio::test]
async fn running_execution_keeps_its_definition_after_update() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = machine(&server, "waiter", long_wait()).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    c.update_state_machine()
        .state_machine_arn(&sm)
        .definition(pass_chain().to_string())
        .send()
        .await
        .unwrap();
    let d = c
        .describe_state_machine_for_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition(), long_wait().to_string());
    assert_eq!(d.name(), "waiter");
    assert_eq!(d.state_machine_arn(), sm);
}

#[tokio::test]
async fn express_machines_run_synchronously_without_history() {
    let server = TestServer::start().await;
    let c = &server.client;
    let sm = c
        .create_state_machine()
        .name("quick")
        .role_arn(ROLE_ARN)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(pass_chain().to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = c
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(r#"{"x": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.status(),
        &aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );
    let output: Value = serde_json::from_str(out.output().unwrap()).unwrap();
    assert_eq!(output, json!({"x": 2, "a": {"n": 1}}));
    assert!(out.execution_arn().contains(":express:quick:"));
    assert!(out.billing_details().is_some());

    let err = c
        .describe_execution()
        .execution_arn(out.execution_arn())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    assert!(error_message(&err).unwrap_or_default().contains("express"));
    let err = c
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineTypeNotSupported")
    );

    let standard = machine(&server, "slow", pass_chain()).await;
    let err = c
        .start_sync_execution()
        .state_machine_arn(&standard)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineTypeNotSupported")
    );
}

#[tokio::test]
async fn executions_survive_a_restart() {
    let server = TestServer::start().await;
    let sm = machine(&server, "waiter", long_wait()).await;
    let arn = server
        .client
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = server
        .client
        .start_execution()
        .state_machine_arn(&machine(&server, "chain", pass_chain()).await)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let server = server.restart().await;
    let c = &server.client;
    let d = c
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Running);
    let d = c
        .describe_execution()
        .execution_arn(&done)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    // The recovered execution still answers to a stop.
    c.stop_execution().execution_arn(&arn).send().await.unwrap();
    let d = c
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
}
