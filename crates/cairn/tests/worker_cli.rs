//! Activity workers against a real server: the `cairn-worker` library in-process, and the
//! real `cairn worker` binary running small shell scripts. Executions run Task states on the
//! activity; the tests read their status, output, error and cause. Time is scaled down with
//! `wait_time_scale` (0.05: `HeartbeatSeconds: 6` = 300 ms) and a short long poll.

mod common;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use cairn_worker::{TaskContext, TaskError, Worker, WorkerError};
use common::{TestServer, ROLE_ARN};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

type Described = aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;

fn fast_config() -> cairn::config::Config {
    cairn::config::Config {
        wait_time_scale: 0.05,
        activity_long_poll: Duration::from_millis(300),
        ..Default::default()
    }
}

async fn activity(server: &TestServer, name: &str) -> String {
    server
        .client
        .create_activity()
        .name(name)
        .send()
        .await
        .unwrap()
        .activity_arn
}

/// A one-Task machine on `activity_arn`, with extra fields on the Task state.
async fn machine(server: &TestServer, name: &str, activity_arn: &str, extra: Value) -> String {
    let mut task = json!({"Type": "Task", "Resource": activity_arn, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    server
        .client
        .create_state_machine()
        .name(name)
        .role_arn(ROLE_ARN)
        .definition(json!({"StartAt": "T", "States": {"T": task}}).to_string())
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn
}

async fn start(server: &TestServer, sm: &str, input: Value) -> String {
    server
        .client
        .start_execution()
        .state_machine_arn(sm)
        .input(input.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn
}

async fn describe(server: &TestServer, arn: &str) -> Described {
    server
        .client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap()
}

async fn wait_done(server: &TestServer, arn: &str) -> Described {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = describe(server, arn).await;
        if d.status() != &ExecutionStatus::Running {
            return d;
        }
        assert!(Instant::now() < deadline, "{arn} still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn output(d: &Described) -> Value {
    serde_json::from_str(d.output().expect("an output")).unwrap()
}

fn assert_succeeded(d: &Described) {
    assert_eq!(
        d.status(),
        &ExecutionStatus::Succeeded,
        "error {:?}, cause {:?}",
        d.error(),
        d.cause()
    );
}

fn assert_failed(d: &Described, error: &str) {
    assert_eq!(
        d.status(),
        &ExecutionStatus::Failed,
        "output {:?}",
        d.output()
    );
    assert_eq!(d.error(), Some(error), "cause {:?}", d.cause());
}

/// States.Timeout or States.HeartbeatTimeout: which one AWS reports for a missed heartbeat
/// is the server's business, not the worker's.
fn assert_timed_out(d: &Described) {
    assert_eq!(
        d.status(),
        &ExecutionStatus::Failed,
        "output {:?}",
        d.output()
    );
    let error = d.error().unwrap_or_default();
    assert!(
        error == "States.Timeout" || error == "States.HeartbeatTimeout",
        "{error}"
    );
}

async fn worker_names(server: &TestServer, arn: &str) -> Vec<String> {
    let history = server
        .client
        .get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    history
        .events()
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::ActivityStarted)
        .map(|e| {
            e.activity_started_event_details()
                .and_then(|d| d.worker_name())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The library

/// The handler of the library tests: `{"mode": …}` chooses what it does.
async fn modal(_ctx: TaskContext, input: String) -> Result<String, TaskError> {
    let value: Value = serde_json::from_str(&input).unwrap();
    match value["mode"].as_str().unwrap() {
        "echo" => Ok(input),
        "fail" => Err(TaskError::new("Lib.Refused", "mode fail")),
        "notjson" => Ok("not json".into()),
        "panic" => panic!("the handler gave up"),
        other => unreachable!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_worker_answers_every_task() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "lib-modal").await;
    let sm = machine(&server, "m", &act, json!({"TimeoutSeconds": 600})).await;
    let mut runs = Vec::new();
    for mode in ["echo", "fail", "notjson", "panic"] {
        runs.push((
            mode,
            start(&server, &sm, json!({"mode": mode, "n": 1})).await,
        ));
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Worker::new(server.endpoint.clone(), act.clone())
            .name("lib-worker")
            .concurrency(2)
            .run(modal, async {
                let _ = stopped.await;
            }),
    );
    for (mode, arn) in &runs {
        let d = wait_done(&server, arn).await;
        match *mode {
            "echo" => {
                assert_succeeded(&d);
                assert_eq!(output(&d), json!({"mode": "echo", "n": 1}));
            }
            "fail" => {
                assert_failed(&d, "Lib.Refused");
                assert_eq!(d.cause(), Some("mode fail"));
            }
            "notjson" => {
                assert_failed(&d, "Cairn.InvalidOutput");
                assert!(d.cause().unwrap().contains("not JSON"), "{:?}", d.cause());
            }
            "panic" => {
                assert_failed(&d, "Cairn.HandlerPanicked");
                assert!(
                    d.cause().unwrap().contains("the handler gave up"),
                    "{:?}",
                    d.cause()
                );
            }
            _ => unreachable!(),
        }
        assert_eq!(worker_names(&server, arn).await, vec!["lib-worker"]);
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker stops when told")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_answers_a_handler_that_panics_before_its_future_runs() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "lib-eager-panic").await;
    let sm = machine(&server, "eager", &act, json!({"TimeoutSeconds": 600})).await;
    let first = start(&server, &sm, json!({})).await;
    let second = start(&server, &sm, json!({})).await;
    let eager =
        |_ctx: TaskContext, _input: String| -> std::future::Ready<Result<String, TaskError>> {
            panic!("no future for you")
        };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(Worker::new(server.endpoint.clone(), act).run(eager, async {
        let _ = stopped.await;
    }));
    // Both are answered: the panic took neither the task nor the poller.
    for arn in [&first, &second] {
        let d = wait_done(&server, arn).await;
        assert_failed(&d, "Cairn.HandlerPanicked");
        assert!(
            d.cause().unwrap().contains("no future for you"),
            "{:?}",
            d.cause()
        );
    }
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_heartbeats_keep_a_slow_task_alive() {
    let server = TestServer::start_with(fast_config()).await;
    let beating = activity(&server, "lib-beating").await;
    let silent = activity(&server, "lib-silent").await;
    // HeartbeatSeconds 6 = 300 ms; the handler takes 1 s.
    let task = json!({"TimeoutSeconds": 600, "HeartbeatSeconds": 6});
    let sm_beating = machine(&server, "beating", &beating, task.clone()).await;
    let sm_silent = machine(&server, "silent", &silent, task).await;
    let with_beats = start(&server, &sm_beating, json!({"slow": true})).await;
    let without = start(&server, &sm_silent, json!({"slow": true})).await;
    let slow = |_ctx: TaskContext, input: String| async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        Ok::<_, TaskError>(input)
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let w1 = tokio::spawn(
        Worker::new(server.endpoint.clone(), beating)
            .heartbeat(Duration::from_millis(50))
            .run(slow, until_stopped(stopped.clone())),
    );
    let w2 = tokio::spawn(
        Worker::new(server.endpoint.clone(), silent).run(slow, until_stopped(stopped.clone())),
    );
    let d = wait_done(&server, &with_beats).await;
    assert_succeeded(&d);
    assert_eq!(output(&d), json!({"slow": true}));
    assert_timed_out(&wait_done(&server, &without).await);
    stop.send(true).unwrap();
    w1.await.unwrap().unwrap();
    w2.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_tells_the_handler_when_its_task_closed() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "lib-closing").await;
    // TimeoutSeconds 2 = 100 ms; the handler waits for the news that its task closed.
    let sm = machine(&server, "closing", &act, json!({"TimeoutSeconds": 2})).await;
    let arn = start(&server, &sm, json!({})).await;
    let (seen, mut saw) = mpsc::unbounded_channel();
    let handler = move |ctx: TaskContext, _input: String| {
        let seen = seen.clone();
        async move {
            let closed = tokio::time::timeout(Duration::from_secs(10), ctx.closed()).await;
            seen.send((closed.is_ok(), ctx.is_closed())).unwrap();
            Err::<String, _>(TaskError::new("Lib.Late", "too late"))
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Worker::new(server.endpoint.clone(), act)
            .heartbeat(Duration::from_millis(30))
            .run(handler, async {
                let _ = stopped.await;
            }),
    );
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.error(), Some("States.Timeout"));
    let (woke, closed) = tokio::time::timeout(Duration::from_secs(15), saw.recv())
        .await
        .expect("the handler heard that its task closed")
        .unwrap();
    assert!(woke && closed);
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_shutdown_lets_the_task_in_hand_answer_and_takes_no_more() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "lib-shutdown").await;
    let sm = machine(&server, "shutdown", &act, json!({"TimeoutSeconds": 600})).await;
    let first = start(&server, &sm, json!({"n": 1})).await;
    let (began, mut beginning) = mpsc::unbounded_channel();
    let handler = move |_ctx: TaskContext, input: String| {
        let began = began.clone();
        async move {
            began.send(()).unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, TaskError>(input)
        }
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(
        Worker::new(server.endpoint.clone(), act).run(handler, async {
            let _ = stopped.await;
        }),
    );
    beginning.recv().await.unwrap();
    // Queued while the only poller is busy: it must stay queued after the shutdown.
    let second = start(&server, &sm, json!({"n": 2})).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker returns once its task is answered")
        .unwrap()
        .unwrap();
    let d = describe(&server, &first).await;
    assert_succeeded(&d);
    assert_eq!(output(&d), json!({"n": 1}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        describe(&server, &second).await.status(),
        &ExecutionStatus::Running
    );
    assert!(worker_names(&server, &second).await.is_empty());
}

#[tokio::test]
async fn library_stops_on_an_activity_that_does_not_exist() {
    let server = TestServer::start_with(fast_config()).await;
    let missing = "arn:aws:states:us-east-1:123456789012:activity:nobody-made-me";
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        Worker::new(server.endpoint.clone(), missing).run(modal, std::future::pending()),
    )
    .await
    .expect("a worker on a missing activity stops");
    match result {
        Err(WorkerError::Poll(e)) => assert_eq!(e.code, "ActivityDoesNotExist"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The `cairn worker` binary

/// An executable `/bin/sh` script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `cairn worker --endpoint <server> --activity <activity> <options> -- <command>`.
fn cairn_worker(
    server: &TestServer,
    activity: &str,
    options: &[&str],
    command: &[&str],
) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("worker")
        .args(["--endpoint", &server.endpoint, "--activity", activity])
        .args(options)
        .arg("--")
        .args(command)
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start cairn worker")
}

fn signal(child: &tokio::process::Child, signal: i32) {
    let pid = child.id().expect("a running worker") as i32;
    // SAFETY: kill(2) with the pid of a child we have not reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// SIGTERM, then the exit status (the worker must exit within 15 s).
async fn terminate(mut child: tokio::process::Child) -> std::process::ExitStatus {
    signal(&child, libc::SIGTERM);
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the worker exits after SIGTERM")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_cat_echoes_the_input_on_an_activity_named_by_name() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-echo").await;
    let sm = machine(&server, "echo", &act, json!({"TimeoutSeconds": 600})).await;
    let arn = start(&server, &sm, json!({"hello": ["world", 1]})).await;
    // A bare name resolves to the activity made above (CreateActivity is idempotent).
    let worker = cairn_worker(&server, "cli-echo", &["--name", "cat-1"], &["cat"]);
    let d = wait_done(&server, &arn).await;
    assert_succeeded(&d);
    assert_eq!(output(&d), json!({"hello": ["world", 1]}));
    assert_eq!(worker_names(&server, &arn).await, vec!["cat-1"]);
    assert!(terminate(worker).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_gives_the_command_its_task_in_the_environment() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-env").await;
    let sm = machine(&server, "env", &act, json!({"TimeoutSeconds": 600})).await;
    let dir = tempfile::tempdir().unwrap();
    let env = script(
        dir.path(),
        "env.sh",
        r#"cat >/dev/null
printf '{"arn":"%s","endpoint":"%s","worker":"%s","token_chars":%s}\n' \
  "$CAIRN_ACTIVITY_ARN" "$CAIRN_ENDPOINT" "$CAIRN_WORKER_NAME" "${#CAIRN_TASK_TOKEN}""#,
    );
    let arn = start(&server, &sm, json!({})).await;
    let worker = cairn_worker(
        &server,
        &act,
        &["--name", "env-1"],
        &[env.to_str().unwrap()],
    );
    let d = wait_done(&server, &arn).await;
    assert_succeeded(&d);
    let out = output(&d);
    assert_eq!(out["arn"], json!(act));
    assert_eq!(out["endpoint"], json!(server.endpoint));
    assert_eq!(out["worker"], json!("env-1"));
    assert!(out["token_chars"].as_u64().unwrap() > 0, "{out}");
    assert!(terminate(worker).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exit_codes_and_stdout_follow_the_convention() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-modes").await;
    let sm = machine(&server, "modes", &act, json!({"TimeoutSeconds": 600})).await;
    let dir = tempfile::tempdir().unwrap();
    let modes = script(
        dir.path(),
        "modes.sh",
        r#"input=$(cat)
case "$input" in
  *declared*) echo "progress: 50%"
              echo '{"error": "Custom.Bad", "cause": "the input was declared bad"}'
              exit 3 ;;
  *crash*)    echo "not an error object"
              echo "boom: disk full" >&2
              exit 2 ;;
  *garbage*)  echo "hello, not JSON" ;;
  *)          echo '{"fine": true}' ;;
esac"#,
    );
    let mut runs = Vec::new();
    for mode in ["declared", "crash", "garbage", "fine"] {
        runs.push((mode, start(&server, &sm, json!({"mode": mode})).await));
    }
    let worker = cairn_worker(
        &server,
        &act,
        &["--concurrency", "4"],
        &[modes.to_str().unwrap()],
    );
    for (mode, arn) in &runs {
        let d = wait_done(&server, arn).await;
        match *mode {
            "declared" => {
                assert_failed(&d, "Custom.Bad");
                assert_eq!(d.cause(), Some("the input was declared bad"));
            }
            "crash" => {
                assert_failed(&d, "Cairn.ExitCode.2");
                assert_eq!(d.cause(), Some("boom: disk full\n"));
            }
            "garbage" => {
                assert_failed(&d, "Cairn.InvalidOutput");
                let cause = d.cause().unwrap();
                assert!(
                    cause.contains("not JSON") && cause.contains("hello, not JSON"),
                    "{cause}"
                );
            }
            "fine" => {
                assert_succeeded(&d);
                assert_eq!(output(&d), json!({"fine": true}));
            }
            _ => unreachable!(),
        }
    }
    assert!(terminate(worker).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_heartbeats_keep_a_slow_command_alive() {
    let server = TestServer::start_with(fast_config()).await;
    let beating = activity(&server, "cli-beating").await;
    let silent = activity(&server, "cli-silent").await;
    // HeartbeatSeconds 6 = 300 ms; the command takes 1.5 s.
    let task = json!({"TimeoutSeconds": 600, "HeartbeatSeconds": 6});
    let sm_beating = machine(&server, "beating", &beating, task.clone()).await;
    let sm_silent = machine(&server, "silent", &silent, task).await;
    let dir = tempfile::tempdir().unwrap();
    let slow = script(
        dir.path(),
        "slow.sh",
        "cat >/dev/null\nsleep 1.5\necho '\"slept\"'",
    );
    let slow = slow.to_str().unwrap();
    let with_beats = start(&server, &sm_beating, json!({})).await;
    let without = start(&server, &sm_silent, json!({})).await;
    let w1 = cairn_worker(&server, &beating, &["--heartbeat", "0.05"], &[slow]);
    let w2 = cairn_worker(&server, &silent, &["--heartbeat", "0"], &[slow]);
    let d = wait_done(&server, &with_beats).await;
    assert_succeeded(&d);
    assert_eq!(output(&d), json!("slept"));
    assert_timed_out(&wait_done(&server, &without).await);
    assert!(terminate(w1).await.success());
    assert!(terminate(w2).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sigterm_lets_the_running_command_answer_then_exits_zero() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-sigterm").await;
    let sm = machine(&server, "sigterm", &act, json!({"TimeoutSeconds": 600})).await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let slow = script(
        dir.path(),
        "slow.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'\nsleep 1\necho '{{\"finished\": true}}'",
            marker.display()
        ),
    );
    let arn = start(&server, &sm, json!({})).await;
    let worker = cairn_worker(&server, &act, &[], &[slow.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = terminate(worker).await;
    assert!(status.success(), "{status}");
    // The answer was sent before the worker exited.
    let d = describe(&server, &arn).await;
    assert_succeeded(&d);
    assert_eq!(output(&d), json!({"finished": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_second_signal_kills_the_command_and_still_answers() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-interrupt").await;
    let sm = machine(&server, "interrupt", &act, json!({"TimeoutSeconds": 600})).await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let stuck = script(
        dir.path(),
        "stuck.sh",
        &format!(
            "cat >/dev/null\ntouch '{}'\nsleep 60\necho '{{}}'",
            marker.display()
        ),
    );
    let arn = start(&server, &sm, json!({})).await;
    let mut worker = cairn_worker(&server, &act, &[], &[stuck.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(&worker, libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(&worker, libc::SIGINT);
    let status = tokio::time::timeout(Duration::from_secs(15), worker.wait())
        .await
        .expect("the worker exits after the second signal")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_failed(&describe(&server, &arn).await, "Cairn.WorkerInterrupted");
}

#[tokio::test]
async fn cli_exits_non_zero_on_an_activity_that_does_not_exist() {
    let server = TestServer::start_with(fast_config()).await;
    let missing = "arn:aws:states:us-east-1:123456789012:activity:nobody-made-me";
    let mut worker = cairn_worker(&server, missing, &[], &["cat"]);
    let status = tokio::time::timeout(Duration::from_secs(15), worker.wait())
        .await
        .expect("the worker gives up")
        .unwrap();
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_shutdown_while_polling_strands_no_task() {
    // A long poll that outlives the worker would take the next task to nobody.
    let server = TestServer::start_with(cairn::config::Config {
        activity_long_poll: Duration::from_secs(3),
        ..fast_config()
    })
    .await;
    let act = activity(&server, "lib-idle").await;
    let sm = machine(&server, "idle", &act, json!({"TimeoutSeconds": 600})).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let idle = tokio::spawn(
        Worker::new(server.endpoint.clone(), act.clone())
            .concurrency(3)
            .run(modal, async {
                let _ = stopped.await;
            }),
    );
    // Let the pollers park on the server, then stop the worker while they wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), idle)
        .await
        .expect("an idle worker stops")
        .unwrap()
        .unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "an idle worker abandons its long polls instead of waiting them out"
    );
    let arn = start(&server, &sm, json!({"mode": "echo"})).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let next = tokio::spawn(Worker::new(server.endpoint.clone(), act).name("next").run(
        modal,
        async {
            let _ = stopped.await;
        },
    ));
    let d = wait_done(&server, &arn).await;
    assert_succeeded(&d);
    assert_eq!(worker_names(&server, &arn).await, vec!["next"]);
    stop.send(()).unwrap();
    next.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_a_command_that_cannot_start_fails_the_task() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "cli-missing-program").await;
    let sm = machine(&server, "missing", &act, json!({"TimeoutSeconds": 600})).await;
    let arn = start(&server, &sm, json!({})).await;
    let worker = cairn_worker(&server, &act, &[], &["/nonexistent/cairn-test-program"]);
    let d = wait_done(&server, &arn).await;
    assert_failed(&d, "Cairn.CommandNotStarted");
    assert!(
        d.cause()
            .unwrap()
            .contains("/nonexistent/cairn-test-program"),
        "{:?}",
        d.cause()
    );
    assert!(terminate(worker).await.success());
}
