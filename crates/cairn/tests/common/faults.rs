//! Helpers for the fault tests (`postgres_restart.rs`, `full_disk.rs`): a `cairn serve`
//! process, a client that neither retries nor waits forever, repeating a call until storage
//! is back, and reading a whole history.
//!
//! Included with `#[path = "common/faults.rs"] mod faults;` (next to `common/cluster.rs`,
//! whose `client` and `why` it uses).

#![allow(dead_code)]

use crate::cluster::{self, why};
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::types::HistoryEvent;
use aws_sdk_sfn::Client;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
