//! Mocked integrations with a Step Functions Local mock configuration file, through the real
//! server and SDK: the test case is picked by `stateMachineArn#TestCase`; success, failure
//! (caught and uncaught), responses by retry attempt, states left unmocked, an unknown case.

#[path = "resources_helpers.rs"]
mod helpers;

use helpers::*;
use serde_json::{json, Value};

const MOCKS: &str = r#"{
  "StateMachines": {
    "orders": {
      "TestCases": {
        "HappyPath": {"Charge": "ChargeOk", "Notify": "SqsOk"},
        "Declined": {"Charge": "ChargeDeclined"},
        "Flaky": {"Charge": "ChargeFlaky", "Notify": "SqsOk"},
        "Hybrid": {"Charge": "ChargeOk"}
      }
    }
  },
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 10}}}},
    "ChargeDeclined": {"0": {"Throw": {"Error": "Payment.Declined", "Cause": "card declined"}}},
    "ChargeFlaky": {
      "0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
      "1-2": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "try again"}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"charged": 3}}}
    },
    "SqsOk": {"0": {"Return": {"MessageId": "m-1", "MD5OfMessageBody": "x"}}}
  }
}"#;

fn orders() -> Value {
    json!({"StartAt": "Charge", "States": {
        "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                   "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException", "Lambda.ServiceException"],
                              "IntervalSeconds": 1, "MaxAttempts": 3}],
                   "ResultSelector": {"charged.$": "$.Payload.charged"},
                   "ResultPath": "$.charge", "Next": "Notify"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                   "Parameters": {"QueueUrl": "https://example.invalid/q", "MessageBody.$": "$"},
                   "ResultSelector": {"id.$": "$.MessageId"},
                   "ResultPath": "$.notify", "End": true}}})
}

async fn server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("MockConfigFile.json");
    std::fs::write(&path, MOCKS).unwrap();
    let server = TestServer::start_with(cairn::config::Config {
        mock_config: Some(path),
        wait_time_scale: 0.01,
        ..Default::default()
    })
    .await;
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_returns_the_mocked_responses() {
    let (server, _dir) = server().await;
    let sm = machine(&server, "orders", orders()).await;
    let (arn, d) = run(&server, &format!("{sm}#HappyPath"), json!({"order": 1})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(
        output(&d),
        json!({"order": 1, "charge": {"charged": 10}, "notify": {"id": "m-1"}})
    );
    assert_eq!(
        d.state_machine_arn(),
        sm,
        "the execution belongs to the machine"
    );
    let types = history_types(&server, &arn).await;
    assert_eq!(types.iter().filter(|t| *t == "TaskSucceeded").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thrown_errors_fail_the_task() {
    let (server, _dir) = server().await;
    let sm = machine(&server, "orders", orders()).await;
    let (_, d) = run(&server, &format!("{sm}#Declined"), json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("Payment.Declined"));
    assert_eq!(d.cause(), Some("card declined"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_follow_the_retry_attempts() {
    let (server, _dir) = server().await;
    let sm = machine(&server, "orders", orders()).await;
    let (arn, d) = run(&server, &format!("{sm}#Flaky"), json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d)["charge"], json!({"charged": 3}));
    let errors: Vec<String> = history(&server, &arn)
        .await
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .map(|f| f.error().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "Lambda.TooManyRequestsException",
            "Lambda.ServiceException",
            "Lambda.ServiceException"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_the_case_does_not_name_run_for_real() {
    let (server, _dir) = server().await;
    let sm = machine(&server, "orders", orders()).await;
    let (_, d) = run(&server, &format!("{sm}#Hybrid"), json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.Runtime"));
    assert!(d.cause().unwrap().contains("sqs:sendMessage"));
    // Without a test case nothing is mocked: the Lambda function is unknown.
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("Lambda.ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_test_case_is_named_in_the_failure() {
    let (server, _dir) = server().await;
    let sm = machine(&server, "orders", orders()).await;
    let (_, d) = run(&server, &format!("{sm}#Nope"), json!({})).await;
    assert_eq!(d.error(), Some("States.Runtime"));
    assert!(
        d.cause()
            .unwrap()
            .contains("StateMachines.orders.TestCases.Nope"),
        "{:?}",
        d.cause()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_executions_take_a_test_case_too() {
    let (server, _dir) = server().await;
    let sm = server
        .client
        .create_state_machine()
        .name("orders")
        .role_arn(ROLE_ARN)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(orders().to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = server
        .client
        .start_sync_execution()
        .state_machine_arn(format!("{sm}#HappyPath"))
        .input("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_str(), "SUCCEEDED", "{:?}", out.cause());
    let result: Value = serde_json::from_str(out.output().unwrap()).unwrap();
    assert_eq!(result["charge"], json!({"charged": 10}));
    let out = server
        .client
        .start_sync_execution()
        .state_machine_arn(format!("{sm}#Declined"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.error(), Some("Payment.Declined"));
}
