//! OpenTelemetry traces (`--otlp-endpoint`): an OTLP/HTTP receiver started here decodes the
//! exported protobuf (`opentelemetry-proto`) and the tests check one span per state with the
//! right parents and attributes, retries as span events, a nested `.sync` child in its
//! parent's trace under the parent's task, a state span open across a restart, and the trace
//! context passed on: the `traceparent` header an HTTP Task's server sees, `TRACEPARENT` in
//! a command-based function's and a `cairn worker` command's environment.
//!
//! Spans are exported in batches (every few seconds), so the tests poll the receiver until
//! what they expect has arrived, with a generous deadline.

#[path = "resources_helpers.rs"]
mod helpers;

use axum::http::HeaderMap;
use cairn::config::Config;
use helpers::*;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// An OTLP/HTTP traces receiver on 127.0.0.1: keeps every span it is sent.
struct Receiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let kept = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    assert_eq!(
                        headers.get("content-type").unwrap(),
                        "application/x-protobuf"
                    );
                    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                    for rs in request.resource_spans {
                        for ss in rs.scope_spans {
                            kept.lock().unwrap().extend(ss.spans);
                        }
                    }
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            endpoint: format!("http://{addr}"),
            spans,
        }
    }

    /// The spans received once `ready` holds of them (panics after 60 s).
    async fn until(&self, what: &str, ready: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let spans = self.spans.lock().unwrap().clone();
            if ready(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never received; got {:#?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    let kv = span.attributes.iter().find(|kv| kv.key == key)?;
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// The one span of this trace with this name.
fn named<'a>(spans: &'a [Span], trace: &[u8], name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == trace && s.name == name)
        .collect();
    assert_eq!(found.len(), 1, "one span named {name}: {found:#?}");
    found[0]
}

fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
        .collect()
}

/// The root span of the execution named `execution` (its ARN attribute).
fn root_of<'a>(spans: &'a [Span], execution_arn: &str) -> Option<&'a Span> {
    spans
        .iter()
        .find(|s| attr(s, "cairn.execution.arn").as_deref() == Some(execution_arn))
}

/// `00-<trace>-<span>-01` → (trace, span) as hex.
fn split_traceparent(tp: &str) -> (String, String) {
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "a traceparent: {tp}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[3], "01");
    (parts[1].to_string(), parts[2].to_string())
}

/// `/echo` answers with the request's headers.
async fn echo_server() -> String {
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::any(|headers: HeaderMap| async move {
            let headers: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                .collect();
            axum::Json(json!({ "headers": headers }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn functions_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("functions.toml");
    std::fs::write(
        &path,
        r#"
[functions.flaky]
command = "cat >/dev/null; if [ -e tried ]; then printf '{\"tp\": \"%s\"}' \"$TRACEPARENT\"; else touch tried; exit 1; fi"
"#,
    )
    .unwrap();
    path
}

async fn traced_server(receiver: &Receiver, dir: &std::path::Path) -> TestServer {
    TestServer::start_with(Config {
        otlp_endpoint: Some(receiver.endpoint.clone()),
        functions_file: Some(functions_file(dir)),
        wait_time_scale: 0.01,
        activity_long_poll: Duration::from_millis(300),
        ..Config::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_per_state_nested_with_attributes_retries_and_trace_context() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    let echo = echo_server().await;
    let definition = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Next": "Done",
                "Branches": [
                    {"StartAt": "Call", "States": {"Call": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::http:invoke",
                        "Parameters": {"ApiEndpoint": format!("{echo}/echo"), "Method": "GET"},
                        "OutputPath": "$.ResponseBody.headers",
                        "End": true
                    }}},
                    {"StartAt": "Flaky", "States": {"Flaky": {
                        "Type": "Task",
                        "Resource": format!("{FN_ARN}flaky"),
                        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                        "End": true
                    }}}
                ]
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let sm = machine(&server, "traced", definition).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);

    // Every state entered has ended: root, Prepare, Fan, Call, Flaky, Done, and the task
    // attempts (one for Call, two for Flaky).
    let spans = receiver
        .until("the execution's spans", |spans| {
            root_of(spans, &arn).is_some_and(|root| {
                spans.iter().filter(|s| s.trace_id == root.trace_id).count() == 9
            })
        })
        .await;
    let root = root_of(&spans, &arn).unwrap();
    let trace = root.trace_id.clone();
    assert_eq!(root.name, "traced");
    assert!(root.parent_span_id.is_empty(), "the root has no parent");
    assert_eq!(
        attr(root, "cairn.state_machine.name").as_deref(),
        Some("traced")
    );

    let prepare = named(&spans, &trace, "Prepare");
    let fan = named(&spans, &trace, "Fan");
    let done = named(&spans, &trace, "Done");
    for (span, ty) in [(prepare, "Pass"), (fan, "Parallel"), (done, "Succeed")] {
        assert_eq!(
            span.parent_span_id, root.span_id,
            "{} under the root",
            span.name
        );
        assert_eq!(attr(span, "cairn.state.type").as_deref(), Some(ty));
        assert_eq!(
            attr(span, "cairn.state.name").as_deref(),
            Some(span.name.as_str())
        );
    }
    let call = named(&spans, &trace, "Call");
    let flaky = named(&spans, &trace, "Flaky");
    assert_eq!(
        call.parent_span_id, fan.span_id,
        "branch states under the Parallel"
    );
    assert_eq!(flaky.parent_span_id, fan.span_id);
    assert_eq!(attr(call, "cairn.state.type").as_deref(), Some("Task"));
    assert_eq!(
        attr(call, "cairn.state.resource").as_deref(),
        Some("arn:aws:states:::http:invoke")
    );
    assert_eq!(
        attr(flaky, "cairn.state.resource"),
        Some(format!("{FN_ARN}flaky"))
    );
    // Times nest: a state starts and ends within the execution.
    for s in [prepare, fan, call, flaky, done] {
        assert!(
            s.start_time_unix_nano >= root.start_time_unix_nano,
            "{}",
            s.name
        );
        assert!(
            s.end_time_unix_nano <= root.end_time_unix_nano,
            "{}",
            s.name
        );
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
    }

    // The retry: two attempts under Flaky, the first failed; a retry event on the state.
    let attempts = children(&spans, flaky);
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    let failed: Vec<_> = attempts
        .iter()
        .filter(|a| attr(a, "cairn.error").is_some())
        .collect();
    assert_eq!(failed.len(), 1, "one failed attempt: {attempts:#?}");
    let event_names: Vec<&str> = flaky.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(event_names, ["task failed", "retry"], "{:#?}", flaky.events);
    assert!(
        flaky.status.as_ref().is_none_or(|s| s.code != 2),
        "the state succeeded in the end: {:?}",
        flaky.status
    );

    // Trace context passed on: the HTTP server saw the Call attempt's span, the function
    // the second Flaky attempt's.
    let call_attempts = children(&spans, call);
    assert_eq!(call_attempts.len(), 1);
    assert_eq!(call_attempts[0].kind, 3, "a client span (SPAN_KIND_CLIENT)");
    assert_eq!(call.kind, 1, "a state is an internal span");
    let (t, s) = split_traceparent(out[0]["traceparent"].as_str().expect("traceparent header"));
    assert_eq!(t, hex(&trace));
    assert_eq!(s, hex(&call_attempts[0].span_id));
    let (t, s) = split_traceparent(out[1]["tp"].as_str().unwrap());
    assert_eq!(t, hex(&trace));
    let second = attempts
        .iter()
        .find(|a| attr(a, "cairn.task.attempt").as_deref() == Some("2"))
        .expect("attempt 2");
    assert_eq!(s, hex(&second.span_id));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_marks_its_state_and_root_as_errors() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    let sm = machine(
        &server,
        "fails",
        json!({"StartAt": "Boom", "States": {"Boom": {
            "Type": "Fail", "Error": "Custom.Bad", "Cause": "it broke"
        }}}),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    let spans = receiver
        .until("the failed execution's spans", |spans| {
            root_of(spans, &arn)
                .is_some_and(|r| spans.iter().any(|s| s.parent_span_id == r.span_id))
        })
        .await;
    let root = root_of(&spans, &arn).unwrap();
    let boom = named(&spans, &root.trace_id, "Boom");
    for s in [root, boom] {
        assert_eq!(
            s.status.as_ref().map(|s| s.code),
            Some(2),
            "{} is an error",
            s.name
        );
        assert_eq!(attr(s, "cairn.error").as_deref(), Some("Custom.Bad"));
        assert_eq!(attr(s, "cairn.cause").as_deref(), Some("it broke"));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_child_execution_joins_its_parents_trace_under_the_task() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    let child = machine(
        &server,
        "child",
        json!({"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let parent = machine(
        &server,
        "parent",
        task_machine(json!({
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Input": {"x": 1}}
        })),
    )
    .await;
    let (arn, d) = run(&server, &parent, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let child_arn = output(&d)["ExecutionArn"].as_str().unwrap().to_string();
    let spans = receiver
        .until("the parent's and the child's spans", |spans| {
            root_of(spans, &arn).is_some()
                && root_of(spans, &child_arn).is_some()
                && spans.iter().any(|s| s.name == "Inner")
        })
        .await;
    let root = root_of(&spans, &arn).unwrap();
    let task = named(&spans, &root.trace_id, "T");
    assert_eq!(task.parent_span_id, root.span_id);
    let attempts = children(&spans, task);
    assert_eq!(attempts.len(), 1, "{attempts:#?}");
    let child_root = root_of(&spans, &child_arn).unwrap();
    assert_eq!(child_root.trace_id, root.trace_id, "one trace");
    assert_eq!(
        child_root.parent_span_id, attempts[0].span_id,
        "under the task"
    );
    assert_eq!(child_root.name, "child");
    let inner = named(&spans, &root.trace_id, "Inner");
    assert_eq!(inner.parent_span_id, child_root.span_id);
    server.stop().await;
}

/// An executable `/bin/sh` script in `dir`.
fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_open_across_a_restart_ends_and_a_worker_command_sees_traceparent() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    let activity = server.create_activity("traced-work").await;
    let sm = machine(
        &server,
        "waits",
        json!({"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 600, "Next": "After"},
            "After": {"Type": "Pass", "End": true}
        }}),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    // The task is queued (ActivityScheduled committed) before the node restarts.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !history_types(&server, &arn)
        .await
        .iter()
        .any(|t| t == "ActivityScheduled")
    {
        assert!(
            Instant::now() < deadline,
            "the activity task was never scheduled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = server.restart().await;
    let work = script(
        dir.path(),
        "tp.sh",
        r#"cat >/dev/null
printf '{"tp":"%s"}\n' "$TRACEPARENT""#,
    );
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("worker")
        .args(["--endpoint", &server.endpoint, "--activity", &activity])
        .arg("--")
        .arg(&work)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start cairn worker");
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let tp = output(&d)["tp"].as_str().unwrap().to_string();
    let spans = receiver
        .until(
            "the spans of the execution that crossed the restart",
            |spans| {
                root_of(spans, &arn).is_some_and(|r| {
                    spans
                        .iter()
                        .any(|s| s.trace_id == r.trace_id && s.name == "After")
                })
            },
        )
        .await;
    let root = root_of(&spans, &arn).unwrap();
    let work_span = named(&spans, &root.trace_id, "Work");
    assert_eq!(work_span.parent_span_id, root.span_id);
    assert_eq!(
        attr(work_span, "cairn.state.resource").as_deref(),
        Some(activity.as_str())
    );
    let history = history(&server, &arn).await;
    let entered = history
        .iter()
        .find(|e| e.r#type().as_str() == "TaskStateEntered")
        .unwrap();
    let entered_ns = entered.timestamp().as_nanos() as u64;
    // Started before the restart (its start read back from the history), ended after.
    assert!(
        work_span.start_time_unix_nano.abs_diff(entered_ns) < 2_000_000,
        "the span starts when the state was entered"
    );
    assert!(root.start_time_unix_nano <= work_span.start_time_unix_nano);
    let attempt = children(&spans, work_span);
    assert_eq!(attempt.len(), 1, "{attempt:#?}");
    let (t, s) = split_traceparent(&tp);
    assert_eq!(t, hex(&root.trace_id));
    assert_eq!(s, hex(&attempt[0].span_id));
    let _ = worker.start_kill();
    let _ = worker.wait().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_execution_gets_a_root_under_its_first_run() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    // No Retry: the first run fails on the flaky function, the redrive succeeds.
    let sm = machine(
        &server,
        "redriven",
        task_machine(json!({"Resource": format!("{FN_ARN}flaky")})),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    server
        .client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("redrive");
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let redriven = |s: &Span| attr(s, "cairn.execution.redriven").as_deref() == Some("true");
    let spans = receiver
        .until("the redriven run's spans", |spans| {
            spans.iter().any(|s| redriven(s) && s.status.is_some())
                && root_of(spans, &arn).is_some()
        })
        .await;
    let first = spans
        .iter()
        .find(|s| !redriven(s) && s.parent_span_id.is_empty())
        .expect("the first run's root");
    assert_eq!(first.status.as_ref().map(|s| s.code), Some(2), "it failed");
    let second = spans.iter().find(|s| redriven(s)).unwrap();
    assert_eq!(second.trace_id, first.trace_id);
    assert_eq!(second.parent_span_id, first.span_id);
    assert_ne!(
        second.status.as_ref().map(|s| s.code),
        Some(2),
        "it succeeded"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_no_trace_context_is_passed_on() {
    let server = TestServer::start().await;
    let echo = echo_server().await;
    let sm = machine(
        &server,
        "untraced",
        task_machine(json!({
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": format!("{echo}/echo"), "Method": "GET"},
            "OutputPath": "$.ResponseBody.headers"
        })),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let headers = output(&d);
    assert!(headers.get("user-agent").is_some(), "{headers}");
    assert!(headers.get("traceparent").is_none(), "{headers}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_map_children_join_their_parents_trace_under_the_map() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = traced_server(&receiver, dir.path()).await;
    let parent = machine(
        &server,
        "dmap-parent",
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}
            }
        }}}),
    )
    .await;
    let (arn, d) = run(&server, &parent, json!({"items": [1, 2]})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let spans = receiver
        .until("the parent's span and both children's states", |spans| {
            root_of(spans, &arn).is_some()
                && spans.iter().filter(|s| s.name == "Inner").count() == 2
        })
        .await;
    let root = root_of(&spans, &arn).unwrap();
    let map = named(&spans, &root.trace_id, "M");
    assert_eq!(map.parent_span_id, root.span_id);
    // Each child's root is in the parent's trace, under the Map state (through the Map Run's
    // task span), and each child's state under its own root.
    let under_map = |span: &Span| {
        let mut at = span;
        for _ in 0..4 {
            if at.parent_span_id == map.span_id {
                return true;
            }
            match spans.iter().find(|s| s.span_id == at.parent_span_id) {
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    };
    let inners: Vec<&Span> = spans.iter().filter(|s| s.name == "Inner").collect();
    for inner in inners {
        assert_eq!(inner.trace_id, root.trace_id, "one trace");
        let child_root = spans
            .iter()
            .find(|s| s.span_id == inner.parent_span_id)
            .expect("the child's root span");
        assert!(
            attr(child_root, "cairn.execution.arn")
                .is_some_and(|a| a.contains(":execution:dmap-parent/")),
            "{child_root:#?}"
        );
        assert!(
            under_map(child_root),
            "child root under the Map: {spans:#?}"
        );
    }
    server.stop().await;
}
