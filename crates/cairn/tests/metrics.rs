//! `GET /metrics` after a known workload: every family present, the counts exact.

mod common;

use common::TestServer;
use serde_json::json;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Scrape `/metrics`: (content type, samples by `name{labels}`).
async fn scrape(server: &TestServer) -> (String, String, HashMap<String, f64>) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    let samples = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse::<f64>().unwrap()))
        .collect();
    (content_type, body.to_string(), samples)
}

fn get(samples: &HashMap<String, f64>, name: &str, label: &str, value: &str) -> f64 {
    let key = format!("{name}{{{label}=\"{value}\"}}");
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no sample {key}"))
}

#[tokio::test]
async fn metrics_count_a_known_workload_exactly() {
    let server = TestServer::start().await;
    let pass = server
        .create_machine(
            "pass",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let fail = server
        .create_machine(
            "fail",
            &json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
        )
        .await;
    let activity = server.create_activity("work").await;
    let worked = server
        .create_machine(
            "worked",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}}),
        )
        .await;
    for i in 0..3 {
        let e = server.start_execution(&pass, &json!({ "i": i })).await;
        server.wait_done(&e).await;
    }
    for i in 0..2 {
        let e = server.start_execution(&fail, &json!({ "i": i })).await;
        server.wait_done(&e).await;
    }
    // Two tasks answered (one success, one failure), one execution stopped while its task
    // waits, one left waiting.
    let mut answered = Vec::new();
    for i in 0..2 {
        let e = server.start_execution(&worked, &json!({ "i": i })).await;
        let task = server
            .client
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .unwrap();
        let token = task.task_token.unwrap();
        if i == 0 {
            server
                .client
                .send_task_success()
                .task_token(token)
                .output("{}")
                .send()
                .await
                .unwrap();
        } else {
            server
                .client
                .send_task_failure()
                .task_token(token)
                .error("Bad")
                .send()
                .await
                .unwrap();
        }
        answered.push(e);
    }
    for e in &answered {
        server.wait_done(e).await;
    }
    let stopped = server.start_execution(&worked, &json!({})).await;
    server
        .client
        .stop_execution()
        .execution_arn(&stopped)
        .send()
        .await
        .unwrap();
    server.wait_done(&stopped).await;
    let waiting = server
        .start_execution(&worked, &json!({"waiting": true}))
        .await;

    // Counting happens right after each commit; wait until the last one shows.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (content_type, body, s) = loop {
        let scraped = scrape(&server).await;
        let key = format!("cairn_activities_scheduled_total{{activity_arn=\"{activity}\"}}");
        if scraped.2.get(&key) == Some(&4.0) || std::time::Instant::now() > deadline {
            break scraped;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let m = "state_machine_arn";
    assert_eq!(get(&s, "cairn_executions_started_total", m, &pass), 3.0);
    assert_eq!(get(&s, "cairn_executions_succeeded_total", m, &pass), 3.0);
    assert_eq!(get(&s, "cairn_execution_time_seconds_count", m, &pass), 3.0);
    assert_eq!(get(&s, "cairn_executions_started_total", m, &fail), 2.0);
    assert_eq!(get(&s, "cairn_executions_failed_total", m, &fail), 2.0);
    assert_eq!(get(&s, "cairn_executions_started_total", m, &worked), 4.0);
    assert_eq!(get(&s, "cairn_executions_succeeded_total", m, &worked), 1.0);
    assert_eq!(get(&s, "cairn_executions_failed_total", m, &worked), 1.0);
    assert_eq!(get(&s, "cairn_executions_aborted_total", m, &worked), 1.0);
    assert_eq!(
        get(&s, "cairn_execution_time_seconds_count", m, &worked),
        3.0
    );
    assert!(!s.contains_key(&format!("cairn_executions_failed_total{{{m}=\"{pass}\"}}")));
    let a = "activity_arn";
    assert_eq!(
        get(&s, "cairn_activities_scheduled_total", a, &activity),
        4.0
    );
    assert_eq!(get(&s, "cairn_activities_started_total", a, &activity), 2.0);
    assert_eq!(
        get(&s, "cairn_activities_succeeded_total", a, &activity),
        1.0
    );
    assert_eq!(get(&s, "cairn_activities_failed_total", a, &activity), 1.0);
    assert_eq!(
        get(
            &s,
            "cairn_activities_schedule_time_seconds_count",
            a,
            &activity
        ),
        2.0
    );
    assert_eq!(
        get(&s, "cairn_activities_run_time_seconds_count", a, &activity),
        2.0
    );
    assert_eq!(
        get(&s, "cairn_activities_time_seconds_count", a, &activity),
        2.0
    );
    // The backlog: the waiting execution's task.
    assert_eq!(get(&s, "cairn_activity_queued_tasks", a, &activity), 1.0);
    assert_eq!(
        get(&s, "cairn_activity_tasks_in_progress", a, &activity),
        0.0
    );
    assert_eq!(get(&s, "cairn_activity_parked_pollers", a, &activity), 0.0);
    assert!(get(&s, "cairn_activity_oldest_task_age_seconds", a, &activity) >= 0.0);
    assert_eq!(s["cairn_open_executions"], 1.0, "the waiting execution");
    assert_eq!(s["cairn_pending_timers"], 0.0);
    assert!(s["cairn_writer_batch_size_count"] >= 1.0);
    assert!(s["cairn_writer_commit_seconds_count"] >= 1.0);
    assert!(s.contains_key("cairn_writer_command_queue"));
    assert_eq!(s["cairn_cluster_nodes"], 1.0, "this node alone");
    assert_eq!(s["cairn_node_info{node=\"single\",address=\"\"}"], 1.0);
    // Families with no samples yet are still described.
    for family in [
        "cairn_executions_throttled",
        "cairn_executions_timed_out",
        "cairn_activities_timed_out",
        "cairn_activities_heartbeat_timed_out",
        "cairn_lambda_functions_scheduled",
        "cairn_lambda_functions_time_seconds",
        "cairn_service_integrations_succeeded",
        "cairn_service_integrations_schedule_time_seconds",
    ] {
        assert!(
            body.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    let _ = waiting;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_lambda_integrations_and_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("functions.toml");
    std::fs::write(
        &functions,
        r#"
[functions.echo]
command = "cat"

[functions.fails]
command = ["sh", "-c", "cat >/dev/null; echo '{\"errorType\": \"ValueError\", \"errorMessage\": \"bad\"}'"]
"#,
    )
    .unwrap();
    let config = cairn::config::Config {
        functions_file: Some(functions),
        wait_time_scale: 0.01,
        ..Default::default()
    };
    let server = TestServer::start_with(config).await;
    let echo = "arn:aws:lambda:us-east-1:123456789012:function:echo";
    let fails = "arn:aws:lambda:us-east-1:123456789012:function:fails";
    let lambda = server
        .create_machine(
            "lambda",
            &json!({"StartAt": "Direct", "States": {
                "Direct": {"Type": "Task", "Resource": echo, "Next": "Invoke"},
                "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"FunctionName": echo, "Payload.$": "$"}, "Next": "Bad"},
                "Bad": {"Type": "Task", "Resource": fails, "End": true}}}),
        )
        .await;
    let e = server.start_execution(&lambda, &json!({"x": 1})).await;
    assert_eq!(server.wait_done(&e).await.status().as_str(), "FAILED");

    // One activity task times out before any worker takes it, one misses its heartbeat.
    let activity = server.create_activity("slow").await;
    let waits = server
        .create_machine(
            "waits",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity,
                "TimeoutSeconds": 100, "HeartbeatSeconds": 5, "End": true}}}),
        )
        .await;
    let first = server.start_execution(&waits, &json!({})).await;
    let task = server
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    assert!(task.task_token.is_some());
    assert_eq!(server.wait_done(&first).await.status().as_str(), "FAILED");
    let second = server.start_execution(&waits, &json!({})).await;
    assert_eq!(server.wait_done(&second).await.status().as_str(), "FAILED");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (_, _, s) = loop {
        let scraped = scrape(&server).await;
        let key = format!("cairn_executions_failed_total{{state_machine_arn=\"{waits}\"}}");
        if scraped.2.get(&key) == Some(&2.0) || std::time::Instant::now() > deadline {
            break scraped;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let l = "lambda_function_arn";
    assert_eq!(
        get(&s, "cairn_lambda_functions_scheduled_total", l, echo),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_lambda_functions_started_total", l, echo),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_lambda_functions_succeeded_total", l, echo),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_lambda_functions_time_seconds_count", l, echo),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_lambda_functions_scheduled_total", l, fails),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_lambda_functions_failed_total", l, fails),
        1.0
    );
    let i = "service_integration_resource_arn";
    let invoke = "arn:aws:states:::lambda:invoke";
    assert_eq!(
        get(&s, "cairn_service_integrations_scheduled_total", i, invoke),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_service_integrations_started_total", i, invoke),
        1.0
    );
    assert_eq!(
        get(&s, "cairn_service_integrations_succeeded_total", i, invoke),
        1.0
    );
    assert_eq!(
        get(
            &s,
            "cairn_service_integrations_run_time_seconds_count",
            i,
            invoke
        ),
        1.0
    );
    let a = "activity_arn";
    assert_eq!(
        get(&s, "cairn_activities_scheduled_total", a, &activity),
        2.0
    );
    assert_eq!(get(&s, "cairn_activities_started_total", a, &activity), 1.0);
    // AWS records a missed heartbeat as `States.Timeout` too (HISTORY.md), so history cannot
    // tell the two apart: both count as timed out, and HeartbeatTimedOut stays empty.
    assert_eq!(
        get(&s, "cairn_activities_timed_out_total", a, &activity),
        2.0
    );
    assert!(!s.contains_key(&format!(
        "cairn_activities_heartbeat_timed_out_total{{{a}=\"{activity}\"}}"
    )));
    assert_eq!(
        get(&s, "cairn_activity_tasks_in_progress", a, &activity),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_executions_are_counted() {
    let server = TestServer::start().await;
    let create = |name: &'static str, definition: serde_json::Value| {
        let client = server.client.clone();
        async move {
            client
                .create_state_machine()
                .name(name)
                .role_arn(common::ROLE_ARN)
                .r#type(aws_sdk_sfn::types::StateMachineType::Express)
                .definition(definition.to_string())
                .send()
                .await
                .expect("create express machine")
                .state_machine_arn
        }
    };
    let ok = create(
        "express-ok",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let bad = create(
        "express-bad",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}),
    )
    .await;
    for _ in 0..2 {
        let r = server
            .client
            .start_sync_execution()
            .state_machine_arn(&ok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_str(), "SUCCEEDED");
    }
    let r = server
        .client
        .start_sync_execution()
        .state_machine_arn(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_str(), "FAILED");
    // StartExecution on an EXPRESS machine runs in the background: wait for its count.
    server.start_execution(&ok, &json!({})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let s = loop {
        let (_, _, s) = scrape(&server).await;
        if s.get(&format!(
            "cairn_executions_succeeded_total{{state_machine_arn=\"{ok}\"}}"
        )) == Some(&3.0)
        {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "never counted: {s:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let label = "state_machine_arn";
    assert_eq!(get(&s, "cairn_executions_started_total", label, &ok), 3.0);
    assert_eq!(get(&s, "cairn_executions_started_total", label, &bad), 1.0);
    assert_eq!(get(&s, "cairn_executions_failed_total", label, &bad), 1.0);
    assert_eq!(
        get(&s, "cairn_execution_time_seconds_count", label, &ok),
        3.0
    );
    assert_eq!(
        get(&s, "cairn_execution_time_seconds_count", label, &bad),
        1.0
    );
}
