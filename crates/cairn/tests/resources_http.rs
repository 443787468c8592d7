//! HTTP Tasks (`arn:aws:states:::http:invoke`) against a server started here, through the real
//! Cairn server and SDK: methods, headers, query parameters, JSON and text bodies, URL-encoded
//! bodies, status codes as errors, a socket timeout, a refused connection, and authentication
//! from a connections file.

#[path = "resources_helpers.rs"]
mod helpers;

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use cairn::config::Config;
use helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

/// `/echo` answers with what it got; `/text` is plain text; `/status/{n}` answers `n`;
/// `/slow` answers after two seconds.
async fn api() -> String {
    let echo = |method: Method, RawQuery(q): RawQuery, headers: HeaderMap, body: String| async move {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        (
            [("x-served-by", "test")],
            axum::Json(
                json!({"method": method.as_str(), "query": q, "headers": headers, "body": body}),
            ),
        )
    };
    let app = axum::Router::new()
        .route("/echo", axum::routing::any(echo))
        .route("/text", axum::routing::get(|| async { "plain words" }))
        .route(
            "/status/{n}",
            axum::routing::get(|Path(n): Path<u16>| async move {
                (
                    StatusCode::from_u16(n).unwrap(),
                    axum::Json(json!({"problem": n})),
                )
                    .into_response()
            }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn server(connections: Option<std::path::PathBuf>) -> TestServer {
    TestServer::start_with(Config {
        connections_file: connections,
        http_timeout: Duration::from_millis(500),
        ..Config::default()
    })
    .await
}

fn http(parameters: Value) -> Value {
    task_machine(json!({"Resource": "arn:aws:states:::http:invoke", "Parameters": parameters}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_request_and_response() {
    let base = api().await;
    let server = server(None).await;
    let sm = machine(
        &server,
        "post",
        http(json!({
            "ApiEndpoint": format!("{base}/echo"),
            "Method": "POST",
            "Headers": {"X-Trace": "t-1"},
            "QueryParameters": {"q": "a b", "n": 2},
            "RequestBody": {"item.$": "$.item"}
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({"item": "book"})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["StatusText"], "OK");
    assert_eq!(out["Headers"]["x-served-by"], json!(["test"]));
    let echoed = &out["ResponseBody"];
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["query"], "q=a%20b&n=2");
    assert_eq!(echoed["headers"]["x-trace"], "t-1");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(
        echoed["headers"]["user-agent"],
        "Amazon|StepFunctions|HttpInvoke|us-east-1"
    );
    assert_eq!(echoed["body"], r#"{"item":"book"}"#);
    let types = history_types(&server, &arn).await;
    assert_eq!(
        types[2..5],
        ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_bodies_stay_text() {
    let base = api().await;
    let server = server(None).await;
    let sm = machine(
        &server,
        "text",
        http(json!({"ApiEndpoint": format!("{base}/text"), "Method": "GET"})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(output(&d)["ResponseBody"], "plain words");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_encoded_bodies_use_the_array_format() {
    let base = api().await;
    let server = server(None).await;
    let sm = machine(
        &server,
        "form",
        http(json!({
            "ApiEndpoint": format!("{base}/echo"),
            "Method": "PUT",
            "RequestBody": {"tags": ["a", "b"], "who": {"name": "x y"}},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                          "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}
        })),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    let echoed = &output(&d)["ResponseBody"];
    assert_eq!(
        echoed["body"],
        "tags%5B%5D=a&tags%5B%5D=b&who%5Bname%5D=x%20y"
    );
    assert_eq!(
        echoed["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_fail_with_the_status_code() {
    let base = api().await;
    let server = server(None).await;
    let definition = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                 "Parameters": {"ApiEndpoint.$": "$.url", "Method": "GET"},
                 "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "NotFound"}],
                 "End": true},
        "NotFound": {"Type": "Pass", "End": true}}});
    let sm = machine(&server, "status", definition).await;
    let (_, d) = run(&server, &sm, json!({"url": format!("{base}/status/404")})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    let out = output(&d);
    assert_eq!(out["Error"], "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(out["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["StatusCode"], 404);
    assert_eq!(cause["ResponseBody"], json!({"problem": 404}));

    let (_, d) = run(&server, &sm, json!({"url": format!("{base}/status/503")})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.Http.StatusCode.503"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_refused_connections_are_socket_errors() {
    let base = api().await;
    let server = server(None).await;
    let sm = machine(
        &server,
        "slow",
        http(json!({"ApiEndpoint": format!("{base}/slow"), "Method": "GET"})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Http.Socket"));
    assert!(d.cause().unwrap().contains("timed out"), "{:?}", d.cause());

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sm = machine(
        &server,
        "refused",
        http(json!({"ApiEndpoint": format!("http://127.0.0.1:{port}/x"), "Method": "GET"})),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Http.Socket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_file_authenticates_requests() {
    let base = api().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connections.toml");
    std::fs::write(
        &path,
        r#"
[connections."arn:aws:events:us-east-1:123456789012:connection/key/1"]
api_key = { name = "x-api-key", value = "s3cret" }
query_parameters = { tenant = "t7" }

[connections."arn:aws:events:us-east-1:123456789012:connection/basic/2"]
basic = { username = "user", password = "pass" }
"#,
    )
    .unwrap();
    let server = server(Some(path)).await;
    let call = |conn: &str| {
        http(json!({
            "ApiEndpoint": format!("{base}/echo"),
            "Method": "GET",
            "Authentication": {"ConnectionArn": format!("arn:aws:events:us-east-1:123456789012:connection/{conn}")}
        }))
    };
    let sm = machine(&server, "key", call("key/1")).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    let echoed = &output(&d)["ResponseBody"];
    assert_eq!(echoed["headers"]["x-api-key"], "s3cret");
    assert_eq!(echoed["query"], "tenant=t7");

    let sm = machine(&server, "basic", call("basic/2")).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(
        output(&d)["ResponseBody"]["headers"]["authorization"],
        "Basic dXNlcjpwYXNz"
    );

    let sm = machine(&server, "unknown", call("nope/3")).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Runtime"));
    assert!(d.cause().unwrap().contains("connection/nope/3"));
}
