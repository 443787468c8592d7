//! Distributed Map through the real server and SDK. Today: ListMapRuns reads an execution's
//! Map Runs from its history (ARN, labelled machine ARN, dates), pages, and refuses what AWS
//! refuses.

#[path = "resources_helpers.rs"]
mod helpers;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use helpers::*;
use serde_json::{json, Value};

fn distributed(inner: &str, label: Option<&str>, next: Option<&str>) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": inner,
            "States": {inner: {"Type": "Pass", "End": true}}
        },
        "ResultPath": null,
    });
    if let Some(label) = label {
        map["Label"] = json!(label);
    }
    match next {
        Some(n) => map["Next"] = json!(n),
        None => map["End"] = json!(true),
    }
    map
}

/// The `mapRunArn` of each `MapRunStarted` in the execution's history, oldest first.
async fn started_runs(server: &TestServer, arn: &str) -> Vec<String> {
    history(server, arn)
        .await
        .iter()
        .filter_map(|e| e.map_run_started_event_details())
        .filter_map(|d| d.map_run_arn().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_map_runs_reads_the_runs_from_the_history() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-list",
        json!({"StartAt": "First", "States": {
            "First": distributed("P1", Some("Labelled"), Some("Second")),
            "Second": distributed("P2", None, None),
        }}),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"items": [1, 2, 3]})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let started = started_runs(&server, &arn).await;
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(
        started[0].contains(":mapRun:dmap-list/Labelled:"),
        "{}",
        started[0]
    );

    let listed = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .send()
        .await
        .expect("list map runs");
    let runs = listed.map_runs();
    assert_eq!(runs.len(), 2);
    assert!(listed.next_token().is_none());
    // Newest first.
    assert_eq!(runs[0].map_run_arn(), started[1]);
    assert_eq!(runs[1].map_run_arn(), started[0]);
    for r in runs {
        assert_eq!(r.execution_arn(), arn);
        assert!(r.stop_date().is_some(), "{r:?}");
        assert!(r.stop_date().unwrap() >= r.start_date());
    }
    assert!(
        runs[1]
            .state_machine_arn()
            .ends_with(":stateMachine:dmap-list/Labelled"),
        "{}",
        runs[1].state_machine_arn()
    );

    // One at a time.
    let first = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .max_results(1)
        .send()
        .await
        .expect("first page");
    assert_eq!(first.map_runs().len(), 1);
    let token = first.next_token().expect("a second page").to_string();
    let second = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .max_results(1)
        .next_token(token)
        .send()
        .await
        .expect("second page");
    assert_eq!(second.map_runs()[0].map_run_arn(), started[0]);
    assert!(second.next_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_map_runs_refuses_unknown_executions_and_tokens() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-none",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let (arn, _) = run(&server, &sm, json!({})).await;
    let listed = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .send()
        .await
        .expect("list map runs");
    assert!(listed.map_runs().is_empty());

    let missing = arn.replace(":dmap-none:", ":dmap-none-missing:");
    let e = server
        .client
        .list_map_runs()
        .execution_arn(&missing)
        .send()
        .await
        .expect_err("no such execution");
    assert_eq!(e.code(), Some("ExecutionDoesNotExist"), "{e:?}");

    let e = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(e.code(), Some("InvalidToken"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_a_stopped_parent_stops_with_it() {
    let server = TestServer::start().await;
    let mut map = distributed("W", Some("Long"), None);
    map["ItemProcessor"]["States"]["W"] = json!({"Type": "Wait", "Seconds": 3600, "End": true});
    let sm = machine(
        &server,
        "dmap-stop",
        json!({"StartAt": "M", "States": {"M": map}}),
    )
    .await;
    let arn = start(&server, &sm, json!({"items": [1]})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while started_runs(&server, &arn).await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no MapRunStarted");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let listed = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .send()
        .await
        .expect("list while running");
    assert_eq!(listed.map_runs().len(), 1);
    assert!(listed.map_runs()[0].stop_date().is_none());

    let stopped = server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop");
    let listed = server
        .client
        .list_map_runs()
        .execution_arn(&arn)
        .send()
        .await
        .expect("list after the stop");
    assert_eq!(listed.map_runs()[0].stop_date(), Some(stopped.stop_date()));
}
