//! Helpers for the fault tests (`postgres_restart.rs`, `full_disk.rs`): a `cairn serve`
//! process, a client that neither retries nor waits forever, repeating a call until storage
//! is back, and reading a whole history.
//!
//! Included with `#[path = "common/faults.rs"] mod faults;` (next to `common/cluster.rs`,
//! whose `client` and `why` it uses).

#![allow(dead_code)]

use crate::cluster::{self, why};
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType as E};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What [`start_load`] left running when storage fails.
pub struct Load {
    pub activity: String,
    pub worked: String,
    pub waits: String,
    /// Every execution started (`worked-i`, then `waits-i`).
    pub executions: Vec<String>,
    /// The tasks taken but not answered yet: (i of `worked-i`, token).
    pub tokens: Vec<(u64, String)>,
    /// The answers acknowledged so far: (i, output).
    pub acked: Vec<(u64, String)>,
    /// When the `waits-i` timers come due.
    pub timers_due: Instant,
}

/// The load both fault tests put on a node before storage fails: `each` executions of an
/// activity Task then a 2 s Wait (`worked-i`), their tasks taken by a worker and half of them
/// answered; and `each` executions of a 3 s Wait (`waits-i`).
pub async fn start_load(sfn: &Client, role: &str, each: usize) -> Load {
    let activity = sfn
        .create_activity()
        .name("work")
        .send()
        .await
        .expect("CreateActivity")
        .activity_arn;

    let worked = sfn
        .create_state_machine()
        .name("worked")
        .role_arn(role)
        .definition(
            json!({"StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 300, "Next": "Nap"},
                "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
                "Done": {"Type": "Succeed"}}})
            .to_string(),
        )
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;
    let waits = sfn
        .create_state_machine()
        .name("waits")
        .role_arn(role)
        .definition(
            json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 3, "Next": "P"},
                "P": {"Type": "Pass", "End": true}}})
            .to_string(),
        )
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;

    // Activity executions, their tasks taken by a worker (held, not answered yet).
    let mut executions = Vec::new();
    for i in 0..each {
        let arn = sfn
            .start_execution()
            .state_machine_arn(&worked)
            .name(format!("worked-{i}"))
            .input(json!({"i": i}).to_string())
            .send()
            .await
            .expect("StartExecution")
            .execution_arn;
        executions.push(arn);
    }
    let mut tokens = Vec::new();
    while tokens.len() < each {
        let task = sfn
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .expect("GetActivityTask");
        if let Some(token) = task.task_token {
            let input: Value = serde_json::from_str(task.input.as_deref().unwrap()).unwrap();
            tokens.push((input["i"].as_u64().unwrap(), token));
        }
    }
    // Half answered now: those executions sit in their Wait when storage goes away.
    let mut acked: Vec<(u64, String)> = Vec::new();
    for (i, token) in tokens.drain(..each / 2) {
        let output = json!({"answer": format!("before-{i}")}).to_string();
        sfn.send_task_success()
            .task_token(token)
            .output(&output)
            .send()
            .await
            .expect("SendTaskSuccess");
        acked.push((i, output));
    }
    // Wait-only executions whose timers come due during the outage.
    for i in 0..each {
        let arn = sfn
            .start_execution()
            .state_machine_arn(&waits)
            .name(format!("waits-{i}"))
            .send()
            .await
            .expect("StartExecution")
            .execution_arn;
        executions.push(arn);
    }
    let timers_due = Instant::now() + Duration::from_secs(3);
    Load {
        activity,
        worked,
        waits,
        executions,
        tokens,
        acked,
        timers_due,
    }
}

/// After the fault: every history is gap-free, each execution started and succeeded once, its
/// Wait's timer fired once, and each `worked-i` took its task once and recorded exactly the
/// one answer acknowledged for it (`acked`).
pub async fn check_histories(sfn: &Client, executions: &[String], acked: &[(u64, String)]) {
    for arn in executions {
        let events = history(sfn, arn).await;
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=events.len() as i64).collect::<Vec<_>>(), "{arn}");
        let count = |t: E| events.iter().filter(|e| e.r#type == t).count();
        assert_eq!(count(E::ExecutionStarted), 1, "{arn}");
        assert_eq!(count(E::ExecutionSucceeded), 1, "{arn}");
        assert_eq!(count(E::WaitStateExited), 1, "{arn}: the timer fired once");
        if arn.contains(":worked-") {
            assert_eq!(count(E::ActivityScheduled), 1, "{arn}");
            assert_eq!(count(E::ActivityStarted), 1, "{arn}");
            assert_eq!(count(E::ActivitySucceeded), 1, "{arn}");
            let output = events
                .iter()
                .find_map(|e| e.activity_succeeded_event_details.as_ref())
                .and_then(|d| d.output.clone())
                .unwrap();
            let i: u64 = arn.rsplit('-').next().unwrap().parse().unwrap();
            let answered: Vec<Value> = acked
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, o)| serde_json::from_str(o).unwrap())
                .collect();
            let recorded: Value = serde_json::from_str(&output).unwrap();
            assert_eq!(answered, [recorded], "{arn}: the acknowledged answer, once");
        }
    }
}

/// A call during an outage must be answered within this (it is no hang).
pub const ANSWER_LIMIT: Duration = Duration::from_secs(60);

/// The `cairn serve` node; killed when dropped, its log printed if the test failed.
pub struct Node {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of the node's stderr ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A client that does not retry and gives up on a call after [`ANSWER_LIMIT`]: what a call
/// during the outage gets is the node's own answer.
pub fn patient_client(endpoint: &str) -> Client {
    let base = cluster::client(endpoint);
    let config = base
        .config()
        .to_builder()
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_timeout(ANSWER_LIMIT)
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Repeats `op` until it succeeds (storage may take a moment to be back); panics after 90 s.
pub async fn until_ok<T, F, Fut, Err>(what: &str, op: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, Err>>,
    Err: std::error::Error + 'static,
{
    let begin = Instant::now();
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(
                    begin.elapsed() < Duration::from_secs(90),
                    "{what}: still failing after 90 s: {}",
                    why(&e)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The whole history of one execution.
pub async fn history(sfn: &Client, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .expect("GetExecutionHistory");
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

impl Node {
    /// `cairn serve --bind 127.0.0.1:<free port> <args>`, its stderr in `log`.
    pub fn spawn(args: &[&str], log: &Path) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("WAIT_TIME_SCALE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("a log file"))
            .spawn()
            .expect("start cairn serve");
        Node {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (30 s at most) until the node accepts connections.
    pub async fn up(&mut self) {
        let begin = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(self.alive(), "the node exited at start");
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "the node did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
