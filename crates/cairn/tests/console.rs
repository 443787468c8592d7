//! The web console: its HTTP routes (page, assets, the history event stream, the activity
//! backlog), and the page itself in headless Chromium driven by Playwright
//! (`tests/console/console.mjs`). The browser test needs `node`, Debian's `chromium` and
//! `playwright-core` installed into `target/console-test/` (`scripts/test` installs them):
//! without them it is skipped with a reason, except under `CI=true`, where it fails.

mod common;

use common::TestServer;
use serde_json::json;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path`; status, content type and body.
async fn get(server: &TestServer, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn page_and_assets_are_served_and_the_api_stays_on_post() {
    let server = TestServer::start().await;
    let (status, content_type, body) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("/console/app.js"));
    for (file, kind) in [
        ("app.js", "text/javascript"),
        ("graph.js", "text/javascript"),
        ("style.css", "text/css"),
    ] {
        let (status, content_type, body) = get(&server, &format!("/console/{file}")).await;
        assert_eq!(status, 200, "{file}");
        assert!(content_type.starts_with(kind), "{file}: {content_type}");
        assert!(!body.is_empty());
    }
    assert_eq!(get(&server, "/console/nope.js").await.0, 404);
    // The API is unchanged on POST /.
    let (status, _, body) = server.raw("AWSStepFunctions.ListActivities", "{}").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"activities": []}));
}

#[tokio::test]
async fn event_stream_sends_every_history_event_then_end() {
    let server = TestServer::start().await;
    let machine = server
        .create_machine(
            "m",
            &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                               "B": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&machine, &json!({"x": 1})).await;
    server.wait_done(&arn).await;
    let (status, content_type, body) = get(
        &server,
        &format!("/console/api/events?arn={}", encode(&arn)),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let ids: Vec<u64> = body
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .collect();
    // ExecutionStarted, 2 × (entered, exited), ExecutionSucceeded.
    assert_eq!(ids, (1..=6).collect::<Vec<_>>());
    assert!(body.contains("event: end"), "{body}");
    assert!(body.contains(r#""status":"SUCCEEDED""#), "{body}");
    // From a later position, only what follows.
    let (_, _, body) = get(
        &server,
        &format!("/console/api/events?arn={}&after=4", encode(&arn)),
    )
    .await;
    let ids: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, vec!["5", "6"]);
    let missing = arn.replace(":m:", ":nope:");
    let (status, _, _) = get(
        &server,
        &format!("/console/api/events?arn={}", encode(&missing)),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn activity_backlog_counts_queued_and_running_tasks() {
    let server = TestServer::start().await;
    let activity = server.create_activity("work").await;
    let machine = server
        .create_machine(
            "m",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}}),
        )
        .await;
    let empty = backlog(&server, &activity).await;
    assert_eq!(empty["queued"], 0);
    assert_eq!(empty["lastPollMs"], serde_json::Value::Null);
    for i in 0..2 {
        server.start_execution(&machine, &json!({ "i": i })).await;
    }
    // Both tasks are queued once the writer has committed them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let queued = loop {
        let b = backlog(&server, &activity).await;
        if b["queued"] == 2 || std::time::Instant::now() > deadline {
            break b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(queued["queued"], 2);
    assert!(queued["oldestAgeSeconds"].as_f64().unwrap() >= 0.0);
    let task = server
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    assert!(task.task_token.is_some());
    let after = backlog(&server, &activity).await;
    assert_eq!(
        (after["queued"].clone(), after["inProgress"].clone()),
        (json!(1), json!(1))
    );
    assert!(after["lastPollMs"].as_i64().unwrap() > 0);
    assert_eq!(after["parkedWorkers"], 0);
    let missing = format!("{activity}-nope");
    let (status, _, _) = get(
        &server,
        &format!("/console/api/activity?arn={}", encode(&missing)),
    )
    .await;
    assert_eq!(status, 404);
}

/// The console's backlog figures of an activity.
async fn backlog(server: &TestServer, activity: &str) -> serde_json::Value {
    let path = format!("/console/api/activity?arn={}", encode(activity));
    let (status, _, body) = get(server, &path).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing(playwright: &Path) -> Option<String> {
    if !Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium is not installed".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node is not installed".into());
    }
    if !playwright.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "playwright-core is not installed in {}",
            playwright.display()
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let playwright = root.join("target/console-test");
    if let Some(why) = browser_missing(&playwright) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the browser test must run in CI: {why}"
        );
        eprintln!("skipping the browser test: {why}");
        return;
    }
    let server = TestServer::start().await;
    let artefacts = root.join("target/console-test/screenshots");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/console/console.mjs");
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&server.endpoint)
        .arg(&artefacts)
        .env("PLAYWRIGHT_DIR", &playwright)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        artefacts.display()
    );
    assert!(stdout.contains("console test passed"));
}

#[tokio::test]
async fn an_open_event_stream_ends_when_the_server_shuts_down() {
    let server = TestServer::start().await;
    let activity = server.create_activity("never").await;
    let machine = server
        .create_machine(
            "m",
            &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}}),
        )
        .await;
    let arn = server.start_execution(&machine, &json!({})).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /console/api/events?arn={} HTTP/1.1\r\nhost: {}\r\n\r\n",
        encode(&arn),
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read until the first history event has arrived: the stream is open and waiting.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("id: 1\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "stream closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    // Shutting down does not wait for the running execution; the stream just ends.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), server.stop()).await;
    assert!(stopped.is_ok(), "shutdown waited for the open event stream");
    let rest = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        rest
    })
    .await
    .expect("the stream ended");
    assert!(!String::from_utf8_lossy(&rest).contains("event: end"));
}
