//! Hostile input through the real SDK and raw HTTP: JSON nested far deeper than anything Cairn
//! can read back is refused with AWS-shaped 400s (never a 500) and changes nothing; inside an
//! execution, a state output nested too deeply fails the execution with `States.Runtime`, and
//! the server still restarts and reads every execution back.

mod common;

use aws_sdk_sfn::types::ExecutionStatus;
use cairn_core::limits::MAX_JSON_DEPTH;
use common::{error_code, error_message, TestServer};
use serde_json::json;
use std::time::{Duration, Instant};

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn pass_machine() -> serde_json::Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
}

#[tokio::test]
async fn deeply_nested_execution_input_is_invalid_execution_input() {
    let server = TestServer::start().await;
    let sm = server.create_machine("deep", &pass_machine()).await;
    for depth in [MAX_JSON_DEPTH + 1, 5_000, 100_000] {
        let err = server
            .client
            .start_execution()
            .state_machine_arn(&sm)
            .input(nested(depth))
            .send()
            .await
            .expect_err("too deep");
        assert_eq!(error_code(&err).as_deref(), Some("InvalidExecutionInput"));
        let message = error_message(&err).unwrap_or_default();
        assert!(message.contains("nested deeper"), "{message}");
    }
    let listed = server
        .client
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert!(listed.executions().is_empty(), "nothing was started");
    // At the limit it runs.
    let arn = server
        .start_execution(
            &sm,
            &serde_json::from_str(&nested(MAX_JSON_DEPTH)).expect("readable"),
        )
        .await;
    assert_eq!(
        server.wait_done(&arn).await.status(),
        &ExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn deeply_nested_express_input_is_invalid_execution_input() {
    let server = TestServer::start().await;
    let sm = server
        .client
        .create_state_machine()
        .name("deep-express")
        .role_arn(common::ROLE_ARN)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(pass_machine().to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let err = server
        .client
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(nested(10_000))
        .send()
        .await
        .expect_err("too deep");
    assert_eq!(error_code(&err).as_deref(), Some("InvalidExecutionInput"));
}

#[tokio::test]
async fn deeply_nested_request_body_is_a_serialization_error() {
    let server = TestServer::start().await;
    let body = format!(r#"{{"name": {}}}"#, nested(100_000));
    let (status, _, answer) = server.raw("AWSStepFunctions.CreateActivity", &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["__type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("#SerializationException"),
        "{answer}"
    );
}

#[tokio::test]
async fn deeply_nested_task_output_is_invalid_output_and_the_task_stays_open() {
    let server = TestServer::start_with(cairn::config::Config {
        activity_long_poll: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let activity = server.create_activity("deep-worker").await;
    let sm = server
        .create_machine(
            "deep-task",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&sm, &json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let token = loop {
        let task = server
            .client
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .unwrap();
        if let Some(token) = task.task_token() {
            break token.to_string();
        }
        assert!(Instant::now() < deadline, "no task arrived");
    };
    let err = server
        .client
        .send_task_success()
        .task_token(&token)
        .output(nested(50_000))
        .send()
        .await
        .expect_err("too deep");
    assert_eq!(error_code(&err).as_deref(), Some("InvalidOutput"));
    // The refusal changed nothing: the task still takes a good answer.
    server
        .client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"ok": true}"#)
        .send()
        .await
        .expect("task still open");
    let done = server.wait_done(&arn).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"ok":true}"#));
}

#[tokio::test]
async fn a_state_output_nested_too_deeply_fails_with_states_runtime() {
    let server = TestServer::start().await;
    // Input at the limit; wrapping it once more goes over it.
    let sm = server
        .create_machine(
            "wrap",
            &json!({"StartAt": "Wrap", "States": {
                "Wrap": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}}),
        )
        .await;
    let input: serde_json::Value = serde_json::from_str(&nested(MAX_JSON_DEPTH)).unwrap();
    let arn = server.start_execution(&sm, &input).await;
    let done = server.wait_done(&arn).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Runtime"));
    assert!(done.cause().unwrap_or_default().contains("nested deeper"));
    // Everything kept is readable after a restart.
    let server = server.restart().await;
    let again = server
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), &ExecutionStatus::Failed);
    let history = server
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(history.events().len() >= 3);
}

/// A local function answering JSON nested deeper than the limit fails its Task (never a
/// 500, never kept as an unreadable value), through the legacy ARN and `lambda:invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_result_nested_too_deeply_fails_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("functions.toml");
    let depth = MAX_JSON_DEPTH + 10;
    std::fs::write(
        &file,
        format!(
            "[functions.deep]\ncommand = \"cat >/dev/null; printf '{}'\"\n",
            nested(depth)
        ),
    )
    .unwrap();
    let server = TestServer::start_with(cairn::config::Config {
        functions_file: Some(file),
        ..Default::default()
    })
    .await;
    let function = "arn:aws:lambda:us-east-1:123456789012:function:deep";
    for (name, task) in [
        (
            "legacy",
            json!({"Type": "Task", "Resource": function, "End": true}),
        ),
        (
            "invoke",
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": function}, "End": true}),
        ),
    ] {
        let sm = server
            .create_machine(name, &json!({"StartAt": "T", "States": {"T": task}}))
            .await;
        let arn = server.start_execution(&sm, &json!({})).await;
        let done = server.wait_done(&arn).await;
        assert_eq!(done.status(), &ExecutionStatus::Failed, "{name}");
        // The functions runner cannot read the answer back: Lambda's own error for a
        // response that is not JSON it can read.
        assert_eq!(done.error(), Some("Runtime.InvalidResponse"), "{name}");
    }
}
