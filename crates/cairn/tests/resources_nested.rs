//! Nested executions through the real server and SDK: `states:startExecution` with every
//! integration pattern (request/response, `.sync`, `.sync:2`, `.waitForTaskToken`), child
//! failure and abort, `aws-sdk:sfn:*` calls answered in-process, and the clear failure of a
//! service integration Cairn cannot call.

#[path = "resources_helpers.rs"]
mod helpers;

use helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn server() -> TestServer {
    TestServer::start_with(cairn::config::Config {
        wait_time_scale: 0.01,
        ..Default::default()
    })
    .await
}

fn parent(resource: &str, parameters: Value) -> Value {
    task_machine(json!({"Resource": resource, "Parameters": parameters}))
}

async fn child_pass(server: &TestServer) -> String {
    machine(
        server,
        "child-pass",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_response_starts_the_child() {
    let server = server().await;
    let child = child_pass(&server).await;
    let sm = machine(
        &server,
        "parent-rr",
        parent(
            "arn:aws:states:::states:startExecution",
            json!({"StateMachineArn": child, "Input": {"k": "v", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}, "Name": "kid"}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutionArn",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StartDate"
        ]
    );
    assert!(out["StartDate"].is_i64(), "{out}");
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    let child_arn = out["ExecutionArn"].as_str().unwrap();
    assert!(
        child_arn.ends_with(":execution:child-pass:kid"),
        "{child_arn}"
    );
    let c = wait_started_and_done(&server, child_arn).await;
    assert_eq!(c.status().as_str(), "SUCCEEDED");
    let child_input: Value = serde_json::from_str(c.input().unwrap()).unwrap();
    assert_eq!(
        child_input,
        json!({"k": "v", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": arn})
    );
    let types = history_types(&server, &arn).await;
    assert!(!types.contains(&"TaskSubmitted".to_string()), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_waits_for_the_child_and_returns_its_description() {
    let server = server().await;
    let child = child_pass(&server).await;
    for (resource, expected_output) in [
        (
            "arn:aws:states:::states:startExecution.sync",
            json!("{\"Arg1\":\"argument1\"}"),
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"Arg1": "argument1"}),
        ),
    ] {
        let name = if resource.ends_with(":2") { "p2" } else { "p1" };
        let sm = machine(
            &server,
            name,
            parent(resource, json!({"StateMachineArn": child, "Input": null})),
        )
        .await;
        let (arn, d) = run(&server, &sm, json!({})).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
        let out = output(&d);
        assert_eq!(out["Output"], expected_output, "{resource}");
        assert_eq!(out["Status"], "SUCCEEDED");
        assert_eq!(
            out["Name"].as_str().unwrap().len(),
            36,
            "a generated UUID name"
        );
        assert_eq!(out["OutputDetails"], json!({"Included": true}));
        assert!(out["StopDate"].is_i64());
        assert_eq!(
            history_types(&server, &arn).await,
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted",
                "TaskSucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_child_failure_fails_the_task() {
    let server = server().await;
    let child = machine(
        &server,
        "child-fail",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "bad"}}}),
    )
    .await;
    let sm = machine(
        &server,
        "parent-fail",
        parent(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": child}),
        ),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "SomeFailure");
    assert_eq!(cause["Cause"], "bad");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_child_abort_fails_the_task() {
    let server = server().await;
    let child = machine(
        &server,
        "child-wait",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": true}}}),
    )
    .await;
    let sm = machine(
        &server,
        "parent-abort",
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": child, "Name": "to-stop"}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let child_arn = child.replace(":stateMachine:", ":execution:") + ":to-stop";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stopped = server
            .client
            .stop_execution()
            .execution_arn(&child_arn)
            .send()
            .await;
        if stopped.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the child never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause().unwrap()).unwrap();
    assert_eq!(cause["Status"], "ABORTED");
    assert_eq!(cause["Input"], json!({}), ".sync:2 parses the input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_parent_stops_a_sync_child() {
    let server = server().await;
    let child = machine(
        &server,
        "child-long",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": true}}}),
    )
    .await;
    let sm = machine(
        &server,
        "parent-stopped",
        parent(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": child, "Name": "orphan"}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let child_arn = child.replace(":stateMachine:", ":execution:") + ":orphan";
    let deadline = Instant::now() + Duration::from_secs(10);
    while !history_types(&server, &arn)
        .await
        .contains(&"TaskSubmitted".to_string())
    {
        assert!(Instant::now() < deadline, "the child never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(wait_done(&server, &arn).await.status().as_str(), "ABORTED");
    let c = wait_done(&server, &child_arn).await;
    assert_eq!(c.status().as_str(), "ABORTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_task_token_lets_the_child_answer() {
    let server = server().await;
    let child = child_pass(&server).await;
    let sm = machine(
        &server,
        "parent-token",
        parent(
            "arn:aws:states:::states:startExecution.waitForTaskToken",
            json!({"StateMachineArn": child, "Name": "callback-child",
                   "Input": {"token.$": "$$.Task.Token"}}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let child_arn = child.replace(":stateMachine:", ":execution:") + ":callback-child";
    let c = wait_started_and_done(&server, &child_arn).await;
    let token = serde_json::from_str::<Value>(c.input().unwrap()).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .client
        .send_task_success()
        .task_token(token)
        .output(r#"{"answer": 42}"#)
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(output(&d), json!({"answer": 42}));
    let types = history_types(&server, &arn).await;
    assert!(types.contains(&"TaskSubmitted".to_string()), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_task_survives_a_restart_with_one_submission() {
    let server = server().await;
    let child = machine(
        &server,
        "child-slow",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 150, "Next": "P"},
                                          "P": {"Type": "Pass", "Result": "done", "End": true}}}),
    )
    .await;
    let sm = machine(
        &server,
        "parent-restart",
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": child}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !history_types(&server, &arn)
        .await
        .contains(&"TaskSubmitted".to_string())
    {
        assert!(Instant::now() < deadline, "the child never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = server.restart().await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d)["Output"], "done");
    let types = history_types(&server, &arn).await;
    let submitted = types.iter().filter(|t| *t == "TaskSubmitted").count();
    assert_eq!(submitted, 1, "{types:?}");
}

/// When the runtime repeats a task (after a restart), a `.sync` task without a Name finds the
/// child it started the first time instead of failing on its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_sync_task_resumes_its_child() {
    use cairn::runtime::resources::{run as invoke, Invocation};
    use cairn_core::Input;
    let server = server().await;
    let child = child_pass(&server).await;
    let call = Invocation {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:parent:p".into(),
        task: 5,
        resource: "arn:aws:states:::states:startExecution.sync:2".into(),
        parameters: json!({"StateMachineArn": child, "Input": {"n": 1}}),
        token: String::new(),
        state_name: "Child".into(),
        submitted: None,
        traceparent: None,
    };
    let env = server.app.engine.resource_env().clone();
    let first = invoke(&env, &call).await;
    let Input::TaskSubmitted { output, .. } = first else {
        panic!("{first:?}");
    };
    let child_arn = serde_json::from_str::<Value>(&output).unwrap()["ExecutionArn"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&server, &child_arn).await;
    match invoke(&env, &call).await {
        Input::TaskSucceeded { output, .. } => {
            let out: Value = serde_json::from_str(&output).unwrap();
            assert_eq!(out["ExecutionArn"], json!(child_arn));
            assert_eq!(out["Output"], json!({"Arg1": "argument1"}));
        }
        other => panic!("{other:?}"),
    }
    // With a Name of its own, a repeat is AWS's ExecutionAlreadyExists.
    let mut named = call.clone();
    named.parameters["Name"] = json!("fixed");
    invoke(&env, &named).await;
    let fixed = child.replace(":stateMachine:", ":execution:") + ":fixed";
    wait_started_and_done(&server, &fixed).await;
    match invoke(&env, &named).await {
        Input::TaskFailed { error, .. } => assert_eq!(
            error.as_deref(),
            Some("StepFunctions.ExecutionAlreadyExistsException")
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_child_machine_is_a_step_functions_error() {
    let server = server().await;
    let sm = machine(
        &server,
        "parent-missing",
        parent(
            "arn:aws:states:::states:startExecution",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"}),
        ),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(
        d.error(),
        Some("StepFunctions.StateMachineDoesNotExistException")
    );
    assert!(d.cause().unwrap().contains(
        "(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_sfn_calls_the_api_in_process() {
    let server = server().await;
    let child = child_pass(&server).await;
    let definition = json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
                  "Parameters": {"StateMachineArn": child, "Input": {"key": "value"}},
                  "ResultPath": "$.started", "Next": "Describe"},
        "Describe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
                     "Parameters": {"ExecutionArn.$": "$.started.ExecutionArn"},
                     "ResultSelector": {"Input.$": "$.Input", "Name.$": "$.Name", "StartDate.$": "$.StartDate"},
                     "ResultPath": "$.described", "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
                    "Parameters": {"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:child-pass:nope"},
                    "Catch": [{"ErrorEquals": ["Sfn.ExecutionDoesNotExistException"], "ResultPath": "$.error", "Next": "Done"}],
                    "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let sm = machine(&server, "sdk", definition).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);
    let started = out["started"].as_object().unwrap();
    assert_eq!(
        started.keys().collect::<Vec<_>>(),
        ["ExecutionArn", "StartDate"]
    );
    assert_eq!(out["described"]["Input"], "{\"key\":\"value\"}");
    assert!(out["described"]["StartDate"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(out["error"]["Error"], "Sfn.ExecutionDoesNotExistException");
    assert!(out["error"]["Cause"]
        .as_str()
        .unwrap()
        .contains("(Service: Sfn, Status Code: 400, Request ID: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_integrations_fail_with_a_clear_cause() {
    let server = server().await;
    let sm = machine(
        &server,
        "sqs",
        parent(
            "arn:aws:states:::sqs:sendMessage",
            json!({"QueueUrl": "https://example.invalid/q", "MessageBody": "hi"}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Runtime"));
    let cause = d.cause().unwrap();
    assert!(
        cause.contains("'arn:aws:states:::sqs:sendMessage'"),
        "{cause}"
    );
    assert!(
        cause.contains("SFN_MOCK_CONFIG") && cause.contains("#TestCase"),
        "{cause}"
    );
    let types = history_types(&server, &arn).await;
    assert!(types.contains(&"TaskFailed".to_string()), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_child_is_started_in_the_background() {
    let server = server().await;
    let child = server
        .client
        .create_state_machine()
        .name("child-express")
        .role_arn(ROLE_ARN)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
        )
        .send()
        .await
        .expect("create express machine")
        .state_machine_arn;
    let sm = machine(
        &server,
        "parent-express",
        parent(
            "arn:aws:states:::states:startExecution",
            json!({"StateMachineArn": child, "Name": "quick"}),
        ),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);
    let child_arn = out["ExecutionArn"].as_str().unwrap();
    // Express executions carry a run id after the name.
    assert!(
        child_arn.contains(":express:child-express:quick:"),
        "{child_arn}"
    );
    assert!(out["StartDate"].is_i64(), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_is_refused_as_start_execution_refuses() {
    let server = server().await;
    let child = child_pass(&server).await;
    for (parameters, error, code) in [
        (
            json!({"StateMachineArn": child, "Name": "no spaces allowed"}),
            "StepFunctions.InvalidNameException",
            "Error Code: InvalidName;",
        ),
        (
            json!({"StateMachineArn": child, "Input": "{not json"}),
            "StepFunctions.InvalidExecutionInputException",
            "Error Code: InvalidExecutionInput;",
        ),
    ] {
        let sm = machine(
            &server,
            &format!("parent-refused-{}", code.len()),
            parent("arn:aws:states:::states:startExecution", parameters),
        )
        .await;
        let (_, d) = run(&server, &sm, json!({})).await;
        assert_eq!(d.status().as_str(), "FAILED");
        assert_eq!(d.error(), Some(error), "{:?}", d.cause());
        assert!(d.cause().unwrap().contains(code), "{:?}", d.cause());
    }
}
