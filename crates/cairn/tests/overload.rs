//! Overload: requests beyond `max_queued_requests` waiting for the writer are answered
//! `ThrottlingException` ("Rate exceeded", 400, which SDKs retry) before anything is queued;
//! a throttled request changed nothing, an accepted one is kept.

mod common;

use common::{error_code, error_message, TestServer};
use serde_json::json;

fn machine() -> serde_json::Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
}

fn no_retries(server: &TestServer) -> aws_sdk_sfn::Client {
    let config = server
        .client
        .config()
        .to_builder()
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

#[tokio::test]
async fn beyond_the_queue_requests_are_throttled_and_change_nothing() {
    let server = TestServer::start_with(cairn::config::Config {
        max_queued_requests: 0,
        ..Default::default()
    })
    .await;
    let sm = server.create_machine("full", &machine()).await;
    let err = no_retries(&server)
        .start_execution()
        .state_machine_arn(&sm)
        .name("refused")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(error_code(&err).as_deref(), Some("ThrottlingException"));
    assert_eq!(error_message(&err).as_deref(), Some("Rate exceeded"));
    let (status, _, body) = server
        .raw(
            "AWSStepFunctions.StartExecution",
            &json!({"stateMachineArn": sm, "name": "raw"}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["__type"]
        .as_str()
        .unwrap()
        .ends_with("#ThrottlingException"));
    let listed = server
        .client
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert!(listed.executions().is_empty());
    // Both refusals are counted as CloudWatch's ExecutionThrottled for the machine.
    let label = cairn::runtime::metrics::MachineLabel {
        state_machine_arn: sm.clone(),
    };
    let throttled = server
        .app
        .engine
        .metrics
        .executions_throttled
        .get_or_create(&label);
    assert_eq!(throttled.get(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_burst_every_request_is_either_kept_or_throttled() {
    let server = TestServer::start_with(cairn::config::Config {
        max_queued_requests: 2,
        ..Default::default()
    })
    .await;
    let sm = server.create_machine("burst", &machine()).await;
    let client = no_retries(&server);
    let calls = (0..60).map(|i| {
        let (client, sm) = (client.clone(), sm.clone());
        tokio::spawn(async move {
            client
                .start_execution()
                .state_machine_arn(sm)
                .name(format!("e{i}"))
                .send()
                .await
        })
    });
    let mut started = 0;
    for call in futures_join(calls).await {
        match call {
            Ok(_) => started += 1,
            Err(e) => assert_eq!(error_code(&e).as_deref(), Some("ThrottlingException")),
        }
    }
    let mut listed = 0;
    let mut token = None;
    loop {
        let page = server
            .client
            .list_executions()
            .state_machine_arn(&sm)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        listed += page.executions().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        listed, started,
        "every accepted start is kept, no throttled one"
    );
    assert!(started >= 1);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.expect("task"));
    }
    out
}
