//! Mocked activity states (beyond Step Functions Local, which mocks only service tasks): a
//! test case answers an activity Task without any worker, with the history events a worker's
//! answers would produce, attempt by attempt under Retry; nothing is queued for workers.

#[path = "resources_helpers.rs"]
mod helpers;

use helpers::*;
use serde_json::json;

const MOCKS: &str = r#"{
  "StateMachines": {
    "worked": {"TestCases": {
      "Recovers": {"Work": "FlakyThenDone"},
      "Broken": {"Work": "AlwaysBroken"}
    }}
  },
  "MockedResponses": {
    "FlakyThenDone": {
      "0": {"Throw": {"Error": "Work.Flaky", "Cause": "first try"}},
      "1": {"Return": {"done": true}}
    },
    "AlwaysBroken": {"0": {"Throw": {"Error": "Work.Broken", "Cause": "nope"}}}
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_state_answers_from_the_mock_without_a_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("MockConfigFile.json");
    std::fs::write(&path, MOCKS).unwrap();
    let server = TestServer::start_with(cairn::config::Config {
        mock_config: Some(path),
        wait_time_scale: 0.01,
        activity_long_poll: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let activity = server.create_activity("work").await;
    let definition = json!({"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": true,
        "Retry": [{"ErrorEquals": ["Work.Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}]}}});
    let sm = machine(&server, "worked", definition).await;

    let (arn, d) = run(&server, &format!("{sm}#Recovers"), json!({"job": 1})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(d.output(), Some(r#"{"done":true}"#));
    let types = history_types(&server, &arn).await;
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityFailed",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );

    let (_, d) = run(&server, &format!("{sm}#Broken"), json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("Work.Broken"));
    assert_eq!(d.cause(), Some("nope"));

    // Nothing was queued for workers.
    let task = server
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    assert_eq!(task.task_token(), None);
}

/// The test case is part of the execution: after a restart, the retried attempt is still
/// answered by the mock (no worker ever sees the task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_case_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("MockConfigFile.json");
    std::fs::write(&path, MOCKS).unwrap();
    let server = TestServer::start_with(cairn::config::Config {
        mock_config: Some(path),
        wait_time_scale: 0.01,
        activity_long_poll: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let activity = server.create_activity("work").await;
    // The retry waits 100 s × 0.01 = 1 s: time enough to restart in between.
    let definition = json!({"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": true,
        "Retry": [{"ErrorEquals": ["Work.Flaky"], "IntervalSeconds": 100, "MaxAttempts": 3}]}}});
    let sm = machine(&server, "worked", definition).await;
    let arn = start(&server, &format!("{sm}#Recovers"), json!({})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !history_types(&server, &arn)
        .await
        .iter()
        .any(|t| t == "ActivityFailed")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "first attempt not answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let server = server.restart().await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let task = server
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    assert_eq!(task.task_token(), None, "no worker was ever needed");
}
