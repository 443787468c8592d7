//! Lambda functions without AWS, through the real server and SDK: a functions file with shell
//! commands (function ARNs and `lambda:invoke`, success, function error, non-zero exit, env and
//! cwd), a Lambda-compatible Invoke endpoint started here (`LAMBDA_ENDPOINT`), and the
//! not-configured failure.

#[path = "resources_helpers.rs"]
mod helpers;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use cairn::config::Config;
use helpers::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A functions file in a temp dir, with a `work` subdirectory for `cwd`.
fn functions_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("work")).unwrap();
    let path = dir.join("functions.toml");
    std::fs::write(
        &path,
        r#"
[functions.echo]
command = "cat"

[functions.fails]
command = ["sh", "-c", "cat >/dev/null; echo '{\"errorType\": \"ValueError\", \"errorMessage\": \"bad input\"}'"]

[functions.crashes]
command = "echo oops >&2; exit 3"

[functions.env]
command = "printf '{\"greeting\": \"%s\", \"dir\": \"%s\"}' \"$GREETING\" \"$(basename \"$PWD\")\""
cwd = "work"
env = { GREETING = "hello" }

[functions.ack]
command = "cat >/dev/null; echo '{\"queued\": true}'"

[functions.slow]
command = "sleep 0.5; touch finished"
cwd = "work"

[functions.logs]
command = "echo 'to the log' >&2; echo '{\"ok\": 1}'"

[functions.flaky]
command = "if [ -e tried ]; then echo '{\"ok\": true}'; else touch tried; exit 1; fi"
cwd = "work"
"#,
    )
    .unwrap();
    path
}

async fn server_with_functions() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        functions_file: Some(functions_file(dir.path())),
        wait_time_scale: 0.01,
        ..Config::default()
    };
    (TestServer::start_with(config).await, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_arn_returns_the_raw_value() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "legacy",
        task_machine(json!({"Resource": format!("{FN_ARN}echo")})),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"a": [1, 2]})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(output(&d), json!({"a": [1, 2]}));
    assert_eq!(
        history_types(&server, &arn).await,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_wraps_the_result_like_aws() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "invoke",
        task_machine(json!({
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "echo", "Payload.$": "$"}
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"x": 1})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    let out = output(&d);
    assert_eq!(out["Payload"], json!({"x": 1}));
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    assert_eq!(out["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"], "7");
    assert_eq!(
        out["SdkResponseMetadata"]["RequestId"],
        out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
    );
    // Every header AWS's recorded envelopes carry, in their order, in both header maps
    // (X-Amzn-Trace-Id included: Lambda answers every Invoke with one).
    let recorded = [
        "Connection",
        "Content-Length",
        "Content-Type",
        "Date",
        "X-Amz-Executed-Version",
        "X-Amzn-Trace-Id",
        "x-amzn-Remapped-Content-Length",
        "x-amzn-RequestId",
    ];
    for map in ["AllHttpHeaders", "HttpHeaders"] {
        let headers = out["SdkHttpMetadata"][map].as_object().unwrap();
        assert_eq!(headers.keys().collect::<Vec<_>>(), recorded, "{map}");
    }
    let trace = out["SdkHttpMetadata"]["HttpHeaders"]["X-Amzn-Trace-Id"]
        .as_str()
        .unwrap();
    assert!(trace.starts_with("root=1-"), "{trace}");
    assert_eq!(
        out["SdkHttpMetadata"]["AllHttpHeaders"]["X-Amzn-Trace-Id"],
        json!([trace])
    );
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    let types = history_types(&server, &arn).await;
    assert_eq!(
        types[2..5],
        ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_and_dry_run_invocations_do_not_wait_for_a_result() {
    let (server, dir) = server_with_functions().await;
    let definition = json!({"StartAt": "Event", "States": {
        "Event": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "slow", "InvocationType": "Event"},
                  "ResultSelector": {"status.$": "$.StatusCode", "payload.$": "$.Payload"},
                  "ResultPath": "$.event", "Next": "DryRun"},
        "DryRun": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "crashes", "InvocationType": "DryRun"},
                   "ResultSelector": {"status.$": "$.StatusCode"},
                   "ResultPath": "$.dry", "End": true}}});
    let sm = machine(&server, "event", definition).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(
        output(&d),
        json!({"event": {"status": 202, "payload": ""}, "dry": {"status": 204}})
    );
    // The Event invocation still runs, in the background.
    let finished = dir.path().join("work/finished");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !finished.exists() {
        assert!(std::time::Instant::now() < deadline, "the event never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_type_tail_returns_the_log() {
    use base64::Engine as _;
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "tail",
        task_machine(json!({
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "logs", "LogType": "Tail"}
        })),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    let out = output(&d);
    assert_eq!(out["Payload"], json!({"ok": 1}));
    let log = base64::engine::general_purpose::STANDARD
        .decode(out["LogResult"].as_str().expect("a LogResult"))
        .unwrap();
    assert_eq!(String::from_utf8(log).unwrap(), "to the log\n");
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys[..3], ["ExecutedVersion", "LogResult", "Payload"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_cwd_reach_the_command() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "env",
        task_machine(json!({"Resource": format!("{FN_ARN}env:$LATEST")})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(output(&d), json!({"greeting": "hello", "dir": "work"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_error_fails_with_its_type_and_payload() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "fails",
        task_machine(json!({"Resource": format!("{FN_ARN}fails")})),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("ValueError"));
    let cause: Value = serde_json::from_str(d.cause().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], "bad input");
    assert_eq!(cause["errorType"], "ValueError");
    let keys: Vec<&String> = cause.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["errorMessage", "errorType", "requestId", "stackTrace"]
    );
    let types = history_types(&server, &arn).await;
    assert!(
        types.contains(&"LambdaFunctionFailed".to_string()),
        "{types:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_zero_exit_is_a_catchable_function_error() {
    let (server, _dir) = server_with_functions().await;
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": "crashes", "Payload": {}},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let sm = machine(&server, "crashes", definition).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    let out = output(&d);
    assert_eq!(out["Error"], "Runtime.ExitError");
    let cause: Value = serde_json::from_str(out["Cause"].as_str().unwrap()).unwrap();
    assert!(
        cause["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status 3"),
        "{cause}"
    );
    assert_eq!(cause["stackTrace"], json!(["oops"]));
    assert!(history_types(&server, &arn)
        .await
        .contains(&"TaskFailed".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_wait_for_task_token_waits_for_the_callback() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "callback",
        task_machine(json!({
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ack", "Payload": {"token.$": "$$.Task.Token"}}
        })),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (token, submitted) = loop {
        let events = history(&server, &arn).await;
        let token = events.iter().find_map(|e| {
            let p: Value =
                serde_json::from_str(e.task_scheduled_event_details()?.parameters()).ok()?;
            p["Payload"]["token"].as_str().map(str::to_string)
        });
        let submitted = events.iter().find_map(|e| {
            e.task_submitted_event_details()
                .and_then(|d| d.output().map(str::to_string))
        });
        if let (Some(t), Some(s)) = (token, submitted) {
            break (t, s);
        }
        assert!(std::time::Instant::now() < deadline, "never submitted");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let submitted: Value = serde_json::from_str(&submitted).unwrap();
    assert_eq!(submitted["Payload"], json!({"queued": true}));
    assert_eq!(submitted["StatusCode"], 200);
    server
        .client
        .send_task_success()
        .task_token(token)
        .output(r#"{"done": 1}"#)
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(output(&d), json!({"done": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_function_is_killed() {
    let (server, dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "slow",
        task_machine(json!({"Resource": format!("{FN_ARN}slow"), "TimeoutSeconds": 1})),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Timeout"));
    assert!(history_types(&server, &arn)
        .await
        .contains(&"LambdaFunctionTimedOut".to_string()));
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(
        !dir.path().join("work/finished").exists(),
        "the command ran on after its task timed out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_runs_the_function_again() {
    let (server, _dir) = server_with_functions().await;
    let sm = machine(
        &server,
        "flaky",
        task_machine(json!({
            "Resource": format!("{FN_ARN}flaky"),
            "Retry": [{"ErrorEquals": ["Runtime.ExitError"], "IntervalSeconds": 1, "MaxAttempts": 2}]
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(output(&d), json!({"ok": true}));
    let types = history_types(&server, &arn).await;
    let failed = types
        .iter()
        .filter(|t| *t == "LambdaFunctionFailed")
        .count();
    let scheduled = types
        .iter()
        .filter(|t| *t == "LambdaFunctionScheduled")
        .count();
    assert_eq!((failed, scheduled), (1, 2), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_function_says_how_to_configure_one() {
    let server = TestServer::start().await;
    let sm = machine(
        &server,
        "unknown",
        task_machine(json!({
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "nowhere", "Payload": {}}
        })),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("Lambda.ResourceNotFoundException"));
    let cause = d.cause().unwrap();
    assert!(
        cause.starts_with(
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nowhere:$LATEST \
             (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException;"
        ),
        "{cause}"
    );
    assert!(
        cause.contains("--functions") && cause.contains("LAMBDA_ENDPOINT"),
        "{cause}"
    );
}

/// The trace header the fake endpoint answers with (the envelope passes it on).
const TRACE: &str = "root=1-5e1b4151-5ac6c58f5b5dbd6a3c5f1a2b;sampled=0";

/// What the fake Lambda endpoint saw: (function, invocation type, qualifier).
type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// A Lambda-compatible Invoke endpoint: `double` doubles `n`, `boom` raises, others are 404.
async fn lambda_endpoint() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/2015-03-31/functions/{name}/invocations",
        axum::routing::post(
            move |Path(name): Path<String>,
                  Query(q): Query<HashMap<String, String>>,
                  headers: HeaderMap,
                  body: String| {
                let s = s.clone();
                async move {
                    let kind = headers
                        .get("x-amz-invocation-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    s.lock()
                        .unwrap()
                        .push((name.clone(), kind, q.get("Qualifier").cloned()));
                    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    match name.as_str() {
                        "double" => (
                            StatusCode::OK,
                            [
                                ("x-amz-executed-version", "7"),
                                ("x-amzn-trace-id", TRACE),
                            ],
                            json!({"n": event["n"].as_i64().unwrap_or(0) * 2}).to_string(),
                        )
                            .into_response(),
                        "boom" => (
                            StatusCode::OK,
                            [("x-amz-function-error", "Unhandled")],
                            r#"{"errorMessage":"kaboom","errorType":"Boom","requestId":"r-1","stackTrace":[]}"#,
                        )
                            .into_response(),
                        _ => (
                            StatusCode::NOT_FOUND,
                            [("x-amzn-errortype", "ResourceNotFoundException:http://internal")],
                            json!({"Type": "User", "Message": format!("Function not found: {name}")})
                                .to_string(),
                        )
                            .into_response(),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_endpoint_runs_functions_the_file_does_not_name() {
    let (endpoint, seen) = lambda_endpoint().await;
    let server = TestServer::start_with(Config {
        lambda_endpoint: Some(endpoint),
        ..Config::default()
    })
    .await;
    let definition = json!({"StartAt": "Legacy", "States": {
        "Legacy": {"Type": "Task", "Resource": format!("{FN_ARN}double"), "ResultPath": "$.legacy",
                   "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": format!("{FN_ARN}double:live"), "Payload": {"n.$": "$.legacy.n"}},
                   "ResultSelector": {"n.$": "$.Payload.n", "v.$": "$.ExecutedVersion",
                                      "t.$": "$.SdkHttpMetadata.HttpHeaders['X-Amzn-Trace-Id']"},
                   "End": true}}});
    let sm = machine(&server, "endpoint", definition).await;
    let (_, d) = run(&server, &sm, json!({"n": 3})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!({"n": 12, "v": "7", "t": TRACE}));
    assert_eq!(
        seen.lock().unwrap().clone(),
        [
            ("double".to_string(), "RequestResponse".to_string(), None),
            (
                "double".to_string(),
                "RequestResponse".to_string(),
                Some("live".to_string())
            )
        ]
    );

    let sm = machine(
        &server,
        "boom",
        task_machine(json!({"Resource": format!("{FN_ARN}boom")})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("Boom"));
    assert_eq!(
        d.cause(),
        Some(r#"{"errorMessage":"kaboom","errorType":"Boom","requestId":"r-1","stackTrace":[]}"#)
    );

    let sm = machine(
        &server,
        "missing",
        task_machine(json!({"Resource": format!("{FN_ARN}missing")})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("Lambda.ResourceNotFoundException"));
    assert!(d.cause().unwrap().starts_with(
        "Function not found: missing (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException;"
    ));
}
