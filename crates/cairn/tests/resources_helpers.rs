//! Helpers the `resources_*` tests share (included with `#[path]`): create a machine, run an
//! execution to its end, read its history. Has no tests of its own.

#![allow(dead_code, unused_imports)]

#[path = "common/mod.rs"]
mod common;

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
pub use common::{error_code, error_message, TestServer, ROLE_ARN};
use serde_json::Value;
use std::time::{Duration, Instant};

pub async fn machine(server: &TestServer, name: &str, definition: Value) -> String {
    server.create_machine(name, &definition).await
}

pub async fn start(server: &TestServer, sm: &str, input: Value) -> String {
    server.start_execution(sm, &input).await
}

pub async fn wait_done(server: &TestServer, arn: &str) -> DescribeExecutionOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = server
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe execution");
        if d.status() != &ExecutionStatus::Running {
            return d;
        }
        assert!(Instant::now() < deadline, "{arn} still running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Wait until an execution that something else starts exists, then until it ends.
pub async fn wait_started_and_done(server: &TestServer, arn: &str) -> DescribeExecutionOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{arn} never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_done(server, arn).await
}

/// Start and wait for the end.
pub async fn run(server: &TestServer, sm: &str, input: Value) -> (String, DescribeExecutionOutput) {
    let arn = start(server, sm, input).await;
    let d = wait_done(server, &arn).await;
    (arn, d)
}

pub async fn history(server: &TestServer, arn: &str) -> Vec<HistoryEvent> {
    server
        .client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events
}

pub async fn history_types(server: &TestServer, arn: &str) -> Vec<String> {
    history(server, arn)
        .await
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect()
}

/// The execution's output as JSON.
pub fn output(d: &DescribeExecutionOutput) -> Value {
    serde_json::from_str(d.output().expect("an output")).expect("output is JSON")
}

/// A one-state machine: the Task with these fields, then End.
pub fn task_machine(task: Value) -> Value {
    let mut state = task;
    state["Type"] = "Task".into();
    state["End"] = true.into();
    serde_json::json!({"StartAt": "T", "States": {"T": state}})
}
