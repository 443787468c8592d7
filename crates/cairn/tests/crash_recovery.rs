//! Durability: SIGKILL a real `cairn serve` while executions sit in Wait states, run Maps and
//! wait in retry back-off, start it again on the same database, and check that every
//! execution finishes with a complete, gap-free history (no event lost or repeated); and
//! SIGKILL it while `.sync` jobs and child executions are in flight, checking that the
//! restarted server waits for the recorded submission instead of submitting again.

mod standins;

use aws_sdk_sfn::Client;
use serde_json::json;
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn start(database: &Path, port: u16) -> Server {
        Server::start_with(database, port, &[])
    }

    fn start_with(database: &Path, port: u16, extra: &[&str]) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(database)
            .args(extra)
            .env("RUST_LOG", "warn")
            // Integrations sign with these instead of asking the credential chain, whose
            // last resort (instance metadata) is not on this machine.
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cairn serve");
        let endpoint = format!("http://127.0.0.1:{port}");
        let begin = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, endpoint }
    }

    fn kill(mut self) {
        // SIGKILL: no graceful shutdown, no flush beyond what was committed.
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .build();
    Client::from_conf(config)
}

const ROLE: &str = "arn:aws:iam::123456789012:role/crash-test";

async fn create(client: &Client, name: &str, definition: serde_json::Value) -> String {
    client
        .create_state_machine()
        .name(name)
        .role_arn(ROLE)
        .definition(definition.to_string())
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn
}

async fn start(client: &Client, machine: &str, name: &str, input: &str) -> String {
    client
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input)
        .send()
        .await
        .expect("start execution")
        .execution_arn
}

/// Ids 1..=n, each once, in order; one start, one end, and the end is last.
async fn assert_history_complete(client: &Client, arn: &str, last: &str) {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(token)
            .max_results(1000)
            .send()
            .await
            .expect("history");
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let expected: Vec<i64> = (1..=ids.len() as i64).collect();
    assert_eq!(
        ids, expected,
        "{arn}: ids must be 1..n without gaps or repeats"
    );
    let types: Vec<String> = events
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect();
    assert_eq!(
        types.first().map(String::as_str),
        Some("ExecutionStarted"),
        "{arn}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some(last),
        "{arn}: {types:?}"
    );
    let starts = types.iter().filter(|t| *t == "ExecutionStarted").count();
    assert_eq!(starts, 1, "{arn}: one ExecutionStarted");
    let distinct: HashSet<&i64> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_finishes_every_execution() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let port = free_port();
    let server = Server::start(&database, port);
    let sfn = client(&server.endpoint).await;

    let wait_machine = create(
        &sfn,
        "crash-wait",
        serde_json::json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": true}}}),
    )
    .await;
    let map_machine = create(
        &sfn,
        "crash-map",
        serde_json::json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 10, "End": true,
            "ItemProcessor": {"StartAt": "IW", "States": {
                "IW": {"Type": "Wait", "Seconds": 1, "Next": "IP"},
                "IP": {"Type": "Pass", "End": true}}}}}}),
    )
    .await;
    // A Parallel whose branch always fails, retried with back-off (1 s, then 2 s): it ends
    // FAILED with the branch's error once the retries are spent.
    let retry_machine = create(
        &sfn,
        "crash-retry",
        serde_json::json!({"StartAt": "Par", "States": {"Par": {
            "Type": "Parallel", "End": true,
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}]}}}),
    )
    .await;

    let items: Vec<u32> = (0..40).collect();
    let map_input = serde_json::json!({ "items": items }).to_string();
    let mut arns = Vec::new();
    for i in 0..20 {
        arns.push((
            start(&sfn, &wait_machine, &format!("w{i}"), "{}").await,
            "SUCCEEDED",
        ));
        arns.push((
            start(&sfn, &retry_machine, &format!("r{i}"), "{}").await,
            "FAILED",
        ));
    }
    for i in 0..3 {
        arns.push((
            start(&sfn, &map_machine, &format!("m{i}"), &map_input).await,
            "SUCCEEDED",
        ));
    }
    // Let some timers fire and some Map iterations advance, then kill mid-flight.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.kill();

    let server = Server::start(&database, port);
    let sfn = client(&server.endpoint).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    for (arn, expected) in &arns {
        loop {
            let d = sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .expect("describe after restart");
            match d.status.as_str() {
                "RUNNING" => {
                    assert!(
                        Instant::now() < deadline,
                        "{arn} still running after restart"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                status => {
                    assert_eq!(status, *expected, "{arn}: {:?} {:?}", d.error, d.cause);
                    if status == "FAILED" {
                        assert_eq!(d.error.as_deref(), Some("Boom"));
                    }
                    break;
                }
            }
        }
        let last = if *expected == "SUCCEEDED" {
            "ExecutionSucceeded"
        } else {
            "ExecutionFailed"
        };
        assert_history_complete(&sfn, arn, last).await;
    }
    server.kill();
}

/// A Lambda function (a local command) is running when the server dies; after the restart the
/// invocation runs again (at least once, as a retry would on AWS) and the execution finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_in_flight_at_sigkill_runs_again_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let functions = dir.path().join("functions.toml");
    let runs = dir.path().join("runs.log");
    std::fs::write(
        &functions,
        format!(
            "[functions.slow]\ncommand = \"echo run >> {}; sleep 1.5; cat\"\n",
            runs.display()
        ),
    )
    .unwrap();
    let flags = ["--functions", functions.to_str().unwrap()];
    let port = free_port();
    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    let machine = create(
        &sfn,
        "crash-lambda",
        serde_json::json!({"StartAt": "F", "States": {"F": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow",
            "End": true}}}),
    )
    .await;
    let arn = start(&sfn, &machine, "l1", r#"{"v": 42}"#).await;
    // Kill while the command sleeps.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let d = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        if d.status.as_str() != "RUNNING" {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "{arn} still running after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        d.status.as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        d.error,
        d.cause
    );
    let output: serde_json::Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, serde_json::json!({"v": 42}));
    let started = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(started, 2, "once before the kill, once after the restart");
    assert_history_complete(&sfn, &arn, "ExecutionSucceeded").await;
    server.kill();
}

async fn wait_status(
    sfn: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        if d.status.as_str() != "RUNNING" {
            return d;
        }
        assert!(Instant::now() < deadline, "{arn} still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn history_types(sfn: &Client, arn: &str) -> Vec<String> {
    sfn.get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect()
}

async fn wait_for_event(sfn: &Client, arn: &str, event: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !history_types(sfn, arn).await.iter().any(|t| t == event) {
        assert!(Instant::now() < deadline, "{arn}: no {event}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An ECS task started by `ecs:runTask.sync` is running when the server dies: after the
/// restart the Task resumes polling that task (RunTask is not called again) and succeeds
/// when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_in_flight_at_sigkill_is_polled_not_submitted_again() {
    let ecs = standins::Ecs::start(standins::Ending::Never).await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let endpoint = format!("ecs={}", ecs.url);
    let flags = ["--aws-endpoint", &endpoint, "--wait-time-scale", "0.05"];
    let port = free_port();
    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    let machine = create(
        &sfn,
        "crash-ecs",
        json!({"StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "c1", "TaskDefinition": "job:1", "LaunchType": "FARGATE"},
            "End": true}}}),
    )
    .await;
    let arn = start(&sfn, &machine, "e1", "{}").await;
    wait_for_event(&sfn, &arn, "TaskSubmitted").await;
    server.kill();
    assert_eq!(ecs.submissions(), 1);
    let polls_before = ecs.polls();

    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    // The restarted server polls the recorded task.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ecs.polls() <= polls_before {
        assert!(
            Instant::now() < deadline,
            "the task is not polled after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ecs.submissions(),
        1,
        "RunTask was called again after the restart"
    );
    ecs.finish_all(0);
    let d = wait_status(&sfn, &arn).await;
    assert_eq!(
        d.status.as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        d.error,
        d.cause
    );
    let output: serde_json::Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["LastStatus"], json!("STOPPED"), "{output}");
    assert_eq!(output["TaskArn"], ecs.tasks()[0]["taskArn"]);
    assert_eq!(ecs.submissions(), 1);
    let types = history_types(&sfn, &arn).await;
    assert_eq!(
        types.iter().filter(|t| *t == "TaskSubmitted").count(),
        1,
        "{types:?}"
    );
    assert_history_complete(&sfn, &arn, "ExecutionSucceeded").await;
    server.kill();
}

/// A `states:startExecution.sync:2` child (named by the parent) is running when the server
/// dies: after the restart the parent waits for that child (no second one, no
/// ExecutionAlreadyExists) and takes its output when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_sync_child_in_flight_at_sigkill_is_waited_for_not_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let port = free_port();
    let server = Server::start(&database, port);
    let sfn = client(&server.endpoint).await;
    let activity = sfn
        .create_activity()
        .name("crash-child-work")
        .send()
        .await
        .expect("create activity")
        .activity_arn;
    let child = create(
        &sfn,
        "crash-child",
        json!({"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    let parent = create(
        &sfn,
        "crash-parent",
        json!({"StartAt": "Child", "States": {"Child": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Name": "the-child", "Input": {"n": 1}},
            "OutputPath": "$.Output", "End": true}}}),
    )
    .await;
    let arn = start(&sfn, &parent, "p1", "{}").await;
    wait_for_event(&sfn, &arn, "TaskSubmitted").await;
    server.kill();

    let server = Server::start(&database, port);
    let sfn = client(&server.endpoint).await;
    let task = sfn
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("get activity task");
    let token = task.task_token.expect("the child's activity task");
    sfn.send_task_success()
        .task_token(token)
        .output(r#"{"done": true}"#)
        .send()
        .await
        .expect("send task success");
    let d = wait_status(&sfn, &arn).await;
    assert_eq!(
        d.status.as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        d.error,
        d.cause
    );
    assert_eq!(d.output.as_deref(), Some(r#"{"done":true}"#));
    let children = sfn
        .list_executions()
        .state_machine_arn(&child)
        .send()
        .await
        .expect("list executions")
        .executions;
    assert_eq!(children.len(), 1, "{children:?}");
    let types = history_types(&sfn, &arn).await;
    assert_eq!(
        types.iter().filter(|t| *t == "TaskSubmitted").count(),
        1,
        "{types:?}"
    );
    assert_history_complete(&sfn, &arn, "ExecutionSucceeded").await;
    server.kill();
}

/// The ECS task a restarted server resumed waiting for is stopped (StopTask) when the
/// execution is stopped after the restart, as one submitted by this server would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_resumed_after_sigkill_is_stopped_with_its_execution() {
    let ecs = standins::Ecs::start(standins::Ending::Never).await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let endpoint = format!("ecs={}", ecs.url);
    let flags = ["--aws-endpoint", &endpoint, "--wait-time-scale", "0.05"];
    let port = free_port();
    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    let machine = create(
        &sfn,
        "crash-ecs-stop",
        json!({"StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "c1", "TaskDefinition": "job:1"},
            "End": true}}}),
    )
    .await;
    let arn = start(&sfn, &machine, "s1", "{}").await;
    wait_for_event(&sfn, &arn, "TaskSubmitted").await;
    server.kill();
    let polls_before = ecs.polls();
    let server = Server::start_with(&database, port, &flags);
    let sfn = client(&server.endpoint).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ecs.polls() <= polls_before {
        assert!(
            Instant::now() < deadline,
            "the task is not polled after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sfn.stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop execution");
    while ecs.stops().is_empty() {
        assert!(Instant::now() < deadline, "StopTask was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ecs.stops()[0]["task"], ecs.tasks()[0]["taskArn"]);
    assert_eq!(ecs.submissions(), 1);
    assert_eq!(wait_status(&sfn, &arn).await.status.as_str(), "ABORTED");
    server.kill();
}
