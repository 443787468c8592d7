//! Distributed Map through the real server and SDK: children as real executions (STANDARD
//! and EXPRESS), DescribeMapRun / ListMapRuns / UpdateMapRun, ListExecutions with mapRunArn,
//! DescribeExecution of a child, tolerance, and stopping the parent.

#[path = "resources_helpers.rs"]
mod helpers;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::describe_map_run::DescribeMapRunOutput;
use helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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

/// A Distributed Map over `$.items` whose children run `states` from `start_at`.
fn dmap_machine(execution_type: &str, extra: Value, start_at: &str, states: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "Label": "Items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": start_at,
            "States": states,
        },
        "End": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

async fn map_run_of(server: &TestServer, arn: &str) -> String {
    let runs = started_runs(server, arn).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

async fn describe_map_run(server: &TestServer, map_run_arn: &str) -> DescribeMapRunOutput {
    server
        .client
        .describe_map_run()
        .map_run_arn(map_run_arn)
        .send()
        .await
        .expect("describe map run")
}

/// Wait (bounded) until DescribeMapRun satisfies `ok`.
async fn wait_map_run(
    server: &TestServer,
    arn: &str,
    what: &str,
    ok: impl Fn(&DescribeMapRunOutput) -> bool,
) -> DescribeMapRunOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Its row is written by the driver just after `MapRunStarted` is committed.
        let d = server
            .client
            .describe_map_run()
            .map_run_arn(arn)
            .send()
            .await;
        let d = match d {
            Ok(d) if ok(&d) => return d,
            Ok(d) => format!("{d:?}"),
            Err(e) if e.code() == Some("ResourceNotFound") => format!("{e:?}"),
            Err(e) => panic!("describe map run: {e:?}"),
        };
        assert!(Instant::now() < deadline, "map run never {what}: {d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait (bounded) until the parent's history shows its Map Run.
async fn wait_map_run_started(server: &TestServer, arn: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let runs = started_runs(server, arn).await;
        if let Some(r) = runs.first() {
            return r.clone();
        }
        assert!(Instant::now() < deadline, "no map run started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn children_of(
    server: &TestServer,
    map_run_arn: &str,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    server
        .client
        .list_executions()
        .map_run_arn(map_run_arn)
        .send()
        .await
        .expect("list children")
        .executions()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_children_are_executions_of_their_own() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-std",
        dmap_machine(
            "STANDARD",
            json!({"ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}}),
            "P",
            json!({"P": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.v, $.v)", "i.$": "$.i"}, "End": true}}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"items": [1, 2, 3]})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(
        output(&d),
        json!([{"twice": 2, "i": 0}, {"twice": 4, "i": 1}, {"twice": 6, "i": 2}])
    );
    assert_eq!(
        history_types(&server, &arn).await,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let map_run = map_run_of(&server, &arn).await;
    assert!(map_run.contains(":mapRun:dmap-std/Items:"), "{map_run}");

    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.status().as_str(), "SUCCEEDED");
    assert_eq!(run.execution_arn(), arn);
    assert!(run.stop_date().is_some());
    assert_eq!(run.max_concurrency(), 0);
    let items = run.item_counts().unwrap();
    assert_eq!(
        (items.total(), items.succeeded(), items.running()),
        (3, 3, 0)
    );
    let execs = run.execution_counts().unwrap();
    assert_eq!(
        (execs.total(), execs.succeeded(), execs.failed()),
        (3, 3, 0)
    );

    let children = children_of(&server, &map_run).await;
    assert_eq!(children.len(), 3);
    for c in &children {
        assert_eq!(c.status().as_str(), "SUCCEEDED");
        assert_eq!(c.map_run_arn(), Some(map_run.as_str()));
        assert!(
            c.state_machine_arn()
                .ends_with(":stateMachine:dmap-std/Items"),
            "{}",
            c.state_machine_arn()
        );
        assert!(
            c.execution_arn().contains(":execution:dmap-std/Items:"),
            "{}",
            c.execution_arn()
        );
        let child = server
            .client
            .describe_execution()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .expect("describe child");
        assert_eq!(child.map_run_arn(), Some(map_run.as_str()));
        let machine = server
            .client
            .describe_state_machine_for_execution()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .expect("describe the child's machine");
        assert_eq!(machine.label(), Some("Items"));
        assert_eq!(machine.map_run_arn(), Some(map_run.as_str()));
        assert_eq!(machine.name(), "dmap-std");
        let definition: Value = serde_json::from_str(machine.definition()).unwrap();
        assert_eq!(definition["StartAt"], "P");
        let input: Value = serde_json::from_str(child.input().unwrap()).unwrap();
        let out: Value = serde_json::from_str(child.output().unwrap()).unwrap();
        assert_eq!(out["twice"], json!(input["v"].as_i64().unwrap() * 2));
        assert_eq!(
            history_types(&server, c.execution_arn()).await,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
    }
    // The parent is no child.
    let parent = server
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(parent.map_run_arn().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_children_run_without_records() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-express",
        dmap_machine(
            "EXPRESS",
            json!({"MaxConcurrency": 2, "ItemBatcher": {"MaxItemsPerBatch": 2}}),
            "P",
            json!({"P": {"Type": "Pass", "OutputPath": "$.Items", "End": true}}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"items": [1, 2, 3, 4, 5]})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!([[1, 2], [3, 4], [5]]));
    let map_run = map_run_of(&server, &arn).await;
    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.status().as_str(), "SUCCEEDED");
    assert_eq!(run.max_concurrency(), 2);
    assert_eq!(run.item_counts().unwrap().succeeded(), 5);
    assert_eq!(run.execution_counts().unwrap().succeeded(), 3);
    assert!(children_of(&server, &map_run).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_parent_runs_a_distributed_map_synchronously() {
    let server = TestServer::start().await;
    let sm = server
        .client
        .create_state_machine()
        .name("dmap-sync")
        .role_arn("arn:aws:iam::123456789012:role/r")
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(
            dmap_machine(
                "EXPRESS",
                json!({"ItemSelector": {"n.$": "$$.Map.Item.Value"}}),
                "P",
                json!({"P": {"Type": "Pass", "OutputPath": "$.n", "End": true}}),
            )
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = server
        .client
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(json!({"items": ["a", "b"]}).to_string())
        .send()
        .await
        .expect("start sync");
    assert_eq!(out.status().as_str(), "SUCCEEDED", "{:?}", out.cause());
    let output: Value = serde_json::from_str(out.output().unwrap()).unwrap();
    assert_eq!(output, json!(["a", "b"]));
}

fn failing_children() -> Value {
    json!({
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}], "Default": "P"},
        "F": {"Type": "Fail", "Error": "Two", "Cause": "item two"},
        "P": {"Type": "Pass", "End": true},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_failures_decide_the_map_run() {
    let server = TestServer::start().await;
    // Not tolerated: the Map Run fails, and the parent with it.
    let sm = machine(
        &server,
        "dmap-intolerant",
        dmap_machine(
            "STANDARD",
            json!({"MaxConcurrency": 1}),
            "C",
            failing_children(),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"items": [1, 2, 3]})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.ExceedToleratedFailureThreshold"));
    assert_eq!(
        history_types(&server, &arn).await[3..],
        [
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let map_run = map_run_of(&server, &arn).await;
    let described = describe_map_run(&server, &map_run).await;
    assert_eq!(described.status().as_str(), "FAILED");
    assert!(described.stop_date().is_some());
    assert_eq!(described.execution_counts().unwrap().failed(), 1);
    // One at a time: the third item was never started.
    assert_eq!(described.execution_counts().unwrap().pending(), 1);
    let failed = children_of(&server, &map_run).await;
    assert_eq!(failed.len(), 2);

    // Tolerated (by count and by percentage): the failure is in the output.
    for (name, extra) in [
        (
            "dmap-count",
            json!({"ToleratedFailureCountPath": "$.tolerated"}),
        ),
        ("dmap-pct", json!({"ToleratedFailurePercentage": 34})),
    ] {
        let sm = machine(
            &server,
            name,
            dmap_machine("STANDARD", extra, "C", failing_children()),
        )
        .await;
        let (arn, d) = run(&server, &sm, json!({"items": [1, 2, 3], "tolerated": 1})).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED", "{name}: {:?}", d.cause());
        assert_eq!(
            output(&d),
            json!([1, {"Error": "Two", "Cause": "item two"}, 3]),
            "{name}"
        );
        let described = describe_map_run(&server, &map_run_of(&server, &arn).await).await;
        assert_eq!(described.status().as_str(), "SUCCEEDED");
        let execs = described.execution_counts().unwrap();
        assert_eq!((execs.succeeded(), execs.failed()), (2, 1), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redriving_the_parent_redrives_its_map_run() {
    let server = TestServer::start().await;
    let activity = server.create_activity("dmap-redrive").await;
    let sm = machine(
        &server,
        "dmap-redrive",
        dmap_machine(
            "STANDARD",
            json!({"MaxConcurrency": 1}),
            "T",
            json!({"T": {"Type": "Task", "Resource": activity, "End": true}}),
        ),
    )
    .await;
    // The worker answers each task with its input, except item 2's first task.
    let answer = |fail: bool| {
        let (client, activity) = (server.client.clone(), activity.clone());
        async move {
            let task = client
                .get_activity_task()
                .activity_arn(&activity)
                .send()
                .await
                .unwrap();
            let (token, input) = (task.task_token().unwrap(), task.input().unwrap());
            if fail && input == "2" {
                client
                    .send_task_failure()
                    .task_token(token)
                    .error("Two")
                    .send()
                    .await
                    .unwrap();
            } else {
                client
                    .send_task_success()
                    .task_token(token)
                    .output(input)
                    .send()
                    .await
                    .unwrap();
            }
        }
    };
    let arn = start(&server, &sm, json!({"items": [1, 2, 3]})).await;
    answer(true).await;
    answer(true).await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "FAILED");
    let map_run = map_run_of(&server, &arn).await;
    assert_eq!(children_of(&server, &map_run).await.len(), 2);

    server
        .client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("redrive");
    answer(false).await;
    answer(false).await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!([1, 2, 3]));
    let types = history_types(&server, &arn).await;
    let tail = [
        "ExecutionRedriven",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunRedriven",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ];
    assert_eq!(types[types.len() - tail.len()..], tail, "{types:?}");
    // The same run, redriven once; the failed child redriven, not started again.
    assert_eq!(started_runs(&server, &arn).await, vec![map_run.clone()]);
    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.status().as_str(), "SUCCEEDED");
    assert_eq!(run.redrive_count(), Some(1));
    assert!(run.redrive_date().is_some());
    assert_eq!(run.execution_counts().unwrap().succeeded(), 3);
    let children = children_of(&server, &map_run).await;
    assert_eq!(children.len(), 3);
    let redriven: Vec<_> = children
        .iter()
        .filter(|c| c.redrive_count() == Some(1))
        .collect();
    assert_eq!(redriven.len(), 1, "{children:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_parent_aborts_the_run_and_its_children() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-stop",
        dmap_machine(
            "STANDARD",
            json!({}),
            "W",
            json!({"W": {"Type": "Wait", "Seconds": 3600, "End": true}}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({"items": [1, 2]})).await;
    let map_run = wait_map_run_started(&server, &arn).await;
    wait_map_run(&server, &map_run, "running both", |d| {
        d.execution_counts().is_some_and(|c| c.running() == 2)
    })
    .await;
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop");
    let run = wait_map_run(&server, &map_run, "aborted", |d| {
        d.status().as_str() == "ABORTED"
    })
    .await;
    assert!(run.stop_date().is_some());
    let children = children_of(&server, &map_run).await;
    assert_eq!(children.len(), 2);
    for c in children {
        let d = wait_done(&server, c.execution_arn()).await;
        assert_eq!(d.status().as_str(), "ABORTED");
    }
    let e = server
        .client
        .update_map_run()
        .map_run_arn(&map_run)
        .max_concurrency(3)
        .send()
        .await
        .expect_err("a finished run cannot be updated");
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_map_run_raises_the_concurrency_of_a_running_run() {
    let server = TestServer::start().await;
    let activity = server.create_activity("dmap-work").await;
    let sm = machine(
        &server,
        "dmap-update",
        dmap_machine(
            "STANDARD",
            json!({"MaxConcurrency": 1}),
            "T",
            json!({"T": {"Type": "Task", "Resource": activity, "End": true}}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({"items": [1, 2, 3]})).await;
    let map_run = wait_map_run_started(&server, &arn).await;
    let poll = || async {
        server
            .client
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .expect("poll")
            .task_token()
            .map(str::to_string)
    };
    let first = poll().await.expect("one child's task");
    let run = wait_map_run(&server, &map_run, "running one", |d| {
        d.execution_counts().is_some_and(|c| c.running() == 1)
    })
    .await;
    assert_eq!(run.execution_counts().unwrap().pending(), 2);

    server
        .client
        .update_map_run()
        .map_run_arn(&map_run)
        .max_concurrency(3)
        .tolerated_failure_count(5)
        .send()
        .await
        .expect("update map run");
    // The two others start now, while the first still runs.
    let mut tokens = vec![first];
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokens.len() < 3 {
        assert!(Instant::now() < deadline, "the others never started");
        if let Some(t) = poll().await {
            tokens.push(t);
        }
    }
    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.max_concurrency(), 3);
    assert_eq!(run.tolerated_failure_count(), 5);
    for t in tokens {
        server
            .client
            .send_task_success()
            .task_token(t)
            .output("\"done\"")
            .send()
            .await
            .expect("task success");
    }
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!(["done", "done", "done"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_map_run_raises_the_tolerance_of_a_running_run() {
    let server = TestServer::start().await;
    let activity = server.create_activity("dmap-tolerate").await;
    let sm = machine(
        &server,
        "dmap-tolerate",
        dmap_machine(
            "STANDARD",
            json!({"MaxConcurrency": 1}),
            "T",
            json!({"T": {"Type": "Task", "Resource": activity, "End": true}}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({"items": [1, 2]})).await;
    let map_run = wait_map_run_started(&server, &arn).await;
    let token = take_task(&server.client, &activity).await;
    // With no tolerance this failure would fail the run; after the update it is tolerated.
    server
        .client
        .update_map_run()
        .map_run_arn(&map_run)
        .tolerated_failure_count(1)
        .send()
        .await
        .expect("update map run");
    server
        .client
        .send_task_failure()
        .task_token(token)
        .error("Bad")
        .cause("item one")
        .send()
        .await
        .unwrap();
    let token = take_task(&server.client, &activity).await;
    server
        .client
        .send_task_success()
        .task_token(token)
        .output("\"ok\"")
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(
        output(&d),
        json!([{"Error": "Bad", "Cause": "item one"}, "ok"])
    );
    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.tolerated_failure_count(), 1);
    assert_eq!(run.execution_counts().unwrap().failed(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_reader_without_object_storage_fails_the_map_run() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-reader",
        dmap_machine(
            "STANDARD",
            json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "b", "Key": "k.jsonl"}}}),
            "P",
            json!({"P": {"Type": "Pass", "End": true}}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(
        d.error(),
        Some("States.ItemReaderFailed"),
        "{:?}",
        d.cause()
    );
    assert_eq!(
        history_types(&server, &arn).await[2..],
        [
            "MapStateStarted",
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let run = describe_map_run(&server, &map_run_of(&server, &arn).await).await;
    assert_eq!(run.status().as_str(), "FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_writer_without_object_storage_fails_after_the_children_ran() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "dmap-writer",
        dmap_machine(
            "STANDARD",
            json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"}}}),
            "P",
            json!({"P": {"Type": "Pass", "End": true}}),
        ),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"items": [1, 2], "bucket": "b"})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(
        d.error(),
        Some("States.ResultWriterFailed"),
        "{:?}",
        d.cause()
    );
    let map_run = map_run_of(&server, &arn).await;
    let run = describe_map_run(&server, &map_run).await;
    assert_eq!(run.status().as_str(), "FAILED");
    assert_eq!(run.execution_counts().unwrap().succeeded(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_run_operations_refuse_what_aws_refuses() {
    let server = TestServer::start().await;
    let unknown =
        "arn:aws:states:us-east-1:123456789012:mapRun:m/L:0b3c2f3e-7a11-4a5e-9b2b-5f0e0c4f9a11";
    let e = server
        .client
        .describe_map_run()
        .map_run_arn(unknown)
        .send()
        .await
        .expect_err("unknown run");
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
    let e = server
        .client
        .describe_map_run()
        .map_run_arn("arn:aws:states:us-east-1:123456789012:stateMachine:m")
        .send()
        .await
        .expect_err("not a map run arn");
    assert_eq!(e.code(), Some("InvalidArn"), "{e:?}");
    let e = server
        .client
        .list_executions()
        .map_run_arn(unknown)
        .send()
        .await
        .expect_err("unknown run");
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
    let e = server
        .client
        .update_map_run()
        .map_run_arn(unknown)
        .send()
        .await
        .expect_err("nothing to update");
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
    let e = server
        .client
        .update_map_run()
        .map_run_arn(unknown)
        .max_concurrency(2)
        .send()
        .await
        .expect_err("unknown run");
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
}

/// A real `cairn serve` process, for the kill -9 case.
struct Process {
    child: std::process::Child,
    endpoint: String,
}

impl Process {
    fn start(database: &std::path::Path, port: u16) -> Process {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(database)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
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
        Process {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    fn client(&self) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    /// SIGKILL: nothing beyond what was committed survives.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Take one activity task (bounded wait), its token.
async fn take_task(client: &aws_sdk_sfn::Client, activity: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = client
            .get_activity_task()
            .activity_arn(activity)
            .send()
            .await
            .expect("poll");
        if let Some(token) = t.task_token() {
            return token.to_string();
        }
        assert!(Instant::now() < deadline, "no activity task came");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_run_survives_kill_9_without_losing_or_repeating_a_child() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("cairn.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Process::start(&database, port);
    let client = server.client();
    let activity = client
        .create_activity()
        .name("dmap-crash")
        .send()
        .await
        .unwrap()
        .activity_arn
        .clone();
    let definition = dmap_machine(
        "STANDARD",
        json!({"MaxConcurrency": 3}),
        "T",
        json!({"T": {"Type": "Task", "Resource": activity, "End": true}}),
    );
    let machine = client
        .create_state_machine()
        .name("dmap-crash")
        .role_arn("arn:aws:iam::123456789012:role/r")
        .definition(definition.to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let parent = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(json!({"items": [0, 1, 2, 3, 4, 5]}).to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    // Three children run; two of them finish, one keeps its task; then the crash.
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(take_task(&client, &activity).await);
    }
    for t in tokens.drain(..2) {
        client
            .send_task_success()
            .task_token(t)
            .output("\"before\"")
            .send()
            .await
            .unwrap();
    }
    let held = tokens.pop().unwrap();
    // Two more start in their place before the crash.
    tokens.push(take_task(&client, &activity).await);
    tokens.push(take_task(&client, &activity).await);
    server.kill();

    let server = Process::start(&database, port);
    let client = server.client();
    client
        .send_task_success()
        .task_token(held)
        .output("\"after\"")
        .send()
        .await
        .expect("the child running at the crash still waits for its task");
    for t in tokens.drain(..) {
        client
            .send_task_success()
            .task_token(t)
            .output("\"after\"")
            .send()
            .await
            .unwrap();
    }
    // The sixth item is started once, after the restart.
    let last = take_task(&client, &activity).await;
    client
        .send_task_success()
        .task_token(last)
        .output("\"after\"")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let d = client
            .describe_execution()
            .execution_arn(&parent)
            .send()
            .await
            .unwrap();
        if d.status().as_str() != "RUNNING" {
            break d;
        }
        assert!(Instant::now() < deadline, "parent never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done.status().as_str(), "SUCCEEDED", "{:?}", done.cause());
    let out: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(out.as_array().unwrap().len(), 6, "{out}");
    let history = client
        .get_execution_history()
        .execution_arn(&parent)
        .send()
        .await
        .unwrap();
    let map_run = history
        .events()
        .iter()
        .find_map(|e| e.map_run_started_event_details())
        .and_then(|d| d.map_run_arn())
        .unwrap()
        .to_string();
    let children = client
        .list_executions()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap();
    // One child per item, none started twice, each with its one task.
    assert_eq!(children.executions().len(), 6);
    for c in children.executions() {
        assert_eq!(c.status().as_str(), "SUCCEEDED");
        let h = client
            .get_execution_history()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .unwrap();
        let started = h
            .events()
            .iter()
            .filter(|e| e.r#type().as_str() == "ActivityStarted")
            .count();
        assert_eq!(started, 1, "{}", c.execution_arn());
    }
    let outputs: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        outputs.iter().filter(|o| **o == "before").count(),
        2,
        "{out}"
    );
    let run = client
        .describe_map_run()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap();
    assert_eq!(run.status().as_str(), "SUCCEEDED");
    assert_eq!(run.execution_counts().unwrap().succeeded(), 6);
    assert_eq!(run.execution_counts().unwrap().total(), 6);
}
