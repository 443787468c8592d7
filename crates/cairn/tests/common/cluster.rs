//! Several `cairn serve` processes on one PostgreSQL schema, for the cluster tests.
//!
//! - [`Schema`]: a scratch schema on the server named by `CAIRN_TEST_POSTGRES_URL`, created
//!   empty and dropped (with everything in it) when dropped, so tests run side by side on one
//!   database;
//! - [`Cluster`]: the real binary started once per node on a loopback port against that schema,
//!   each node's stderr kept in a file (printed when the test fails), every node killed on drop;
//! - [`Metrics`]: the figures a node reports on `GET /metrics`;
//! - [`client`]: an SDK client for one node, and [`Failover`]: calls that move on to the next
//!   node when one gives no answer.
//!
//! Included with `#[path = "common/cluster.rs"] mod cluster;` by the tests that need it, so the
//! other test binaries do not build it.

#![allow(dead_code)]

use aws_sdk_sfn::config::http::HttpResponse;
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::error::{DisplayErrorContext, SdkError};
use aws_sdk_sfn::types::HistoryEvent;
use aws_sdk_sfn::Client;
use sqlx::{Connection, PgConnection};
use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const URL_VARIABLE: &str = "CAIRN_TEST_POSTGRES_URL";

/// A scratch schema: created empty, dropped (with everything in it) when dropped.
pub struct Schema {
    /// The server's URL, for the administrative connection.
    server: String,
    pub name: String,
    /// The server's URL with this schema as `search_path`: what the nodes connect to.
    pub url: String,
}

impl Schema {
    /// `None` (after saying "skipped") when no server is configured.
    pub async fn create() -> Option<Schema> {
        let Ok(server) = std::env::var(URL_VARIABLE) else {
            eprintln!("skipped: {URL_VARIABLE} not set");
            return None;
        };
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin(&server, &format!("CREATE SCHEMA {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE SCHEMA {name}: {e}"));
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options[search_path]={name}");
        Some(Schema { server, name, url })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with a runtime of its own runs the statement.
        let (server, sql) = (
            self.server.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let done = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the schema")
                .block_on(admin(&server, &sql))
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop schema {}: {e}", self.name);
        }
    }
}

/// Run one statement on its own connection.
async fn admin(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql(sql).execute(&mut conn).await?;
    conn.close().await
}

/// One `cairn serve` process.
pub struct Node {
    /// `--node-id`.
    pub id: String,
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Its stderr.
    pub log: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Still running (not killed by the test).
    pub fn is_alive(&self) -> bool {
        self.child.is_some()
    }

    /// SIGTERM, then wait for the process to exit: a graceful stop.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// SIGKILL: no shutdown, no lease released, connections cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Nodes sharing one scratch schema. Dropping it kills the nodes, then drops the schema.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub schema: Schema,
    logs: tempfile::TempDir,
}

impl Cluster {
    /// One node per id (`--node-id <id>`), each on a free loopback port, with `args` added to
    /// `cairn serve`; returns once every node accepts connections. `None` when no PostgreSQL
    /// server is configured.
    pub async fn start(ids: &[&str], args: &[&str]) -> Option<Cluster> {
        let schema = Schema::create().await?;
        let logs = tempfile::tempdir().expect("a directory for node logs");
        let mut cluster = Cluster {
            nodes: Vec::new(),
            schema,
            logs,
        };
        for id in ids {
            let port = free_port();
            let log = cluster.logs.path().join(format!("{id}.log"));
            let stderr = std::fs::File::create(&log).expect("a node log file");
            let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
                .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
                .args(["--database", &cluster.schema.url, "--node-id", id])
                .args(args)
                .env("RUST_LOG", "warn")
                .env_remove("WAIT_TIME_SCALE")
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("start cairn serve");
            cluster.nodes.push(Node {
                id: id.to_string(),
                port,
                endpoint: format!("http://127.0.0.1:{port}"),
                log,
                child: Some(child),
            });
        }
        let begin = Instant::now();
        for node in &mut cluster.nodes {
            while tokio::net::TcpStream::connect(("127.0.0.1", node.port))
                .await
                .is_err()
            {
                if let Some(status) = node.child.as_mut().and_then(|c| c.try_wait().ok()?) {
                    panic!("node {} exited at start: {status}", node.id);
                }
                assert!(
                    begin.elapsed() < Duration::from_secs(30),
                    "node {} did not come up",
                    node.id
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Some(cluster)
    }

    /// An SDK client per node, in node order (dead nodes included: they refuse connections).
    pub fn clients(&self) -> Vec<Client> {
        self.nodes.iter().map(|n| client(&n.endpoint)).collect()
    }

    /// Poll every live node's metrics until `check` holds for all of them at once; panics
    /// after `limit` with the last figures.
    pub async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&[Metrics]) -> bool,
    ) -> Vec<Metrics> {
        let begin = Instant::now();
        loop {
            let mut all = Vec::new();
            for node in self.nodes.iter().filter(|n| n.is_alive()) {
                match Metrics::fetch(node.port).await {
                    Ok(m) => all.push(m),
                    Err(e) => all.push(Metrics::unreachable(&node.id, e)),
                }
            }
            if check(&all) {
                return all;
            }
            assert!(
                begin.elapsed() < limit,
                "{what}: not within {limit:?}; last figures: {all:#?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if std::thread::panicking() {
            for node in &self.nodes {
                let log = std::fs::read_to_string(&node.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- last lines of node {}'s stderr ---", node.id);
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An SDK client for one node: static test credentials, region `us-east-1`, a short connect
/// timeout and quick retries, so a dead node is noticed in about a second.
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(100)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// How long a call may keep failing on every node before the test gives up.
pub const CALL_LIMIT: Duration = Duration::from_secs(60);

/// Calls that go to one node until it gives no answer, then to the next, as a client of a
/// cluster behind a list of addresses does. An answer with a 4xx status is the caller's.
pub struct Failover {
    clients: Arc<[Client]>,
    current: usize,
    /// Counts the moves to another node (shared by all the failovers of a test).
    switches: Arc<AtomicUsize>,
}

impl Failover {
    /// Calls go to `clients[first % len]` first.
    pub fn new(clients: Arc<[Client]>, first: usize, switches: Arc<AtomicUsize>) -> Failover {
        Failover {
            current: first % clients.len(),
            clients,
            switches,
        }
    }

    /// `op` on the current node; after a failure that is not a 4xx answer (connection
    /// refused or reset, timeout, 5xx — the SDK has retried those already), on the next node.
    /// Panics when no node has answered for [`CALL_LIMIT`].
    pub async fn call<T, Err, Fut>(
        &mut self,
        what: &str,
        op: impl Fn(Client) -> Fut,
    ) -> Result<T, SdkError<Err, HttpResponse>>
    where
        Fut: Future<Output = Result<T, SdkError<Err, HttpResponse>>>,
        Err: std::error::Error + 'static,
    {
        let mut failing_since = None;
        loop {
            match op(self.clients[self.current].clone()).await {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.raw_response()
                        .is_some_and(|r| r.status().is_client_error()) =>
                {
                    return Err(e)
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    assert!(
                        since.elapsed() < CALL_LIMIT,
                        "{what}: no node answered for {CALL_LIMIT:?}: {}",
                        why(&e)
                    );
                    self.switches.fetch_add(1, Ordering::Relaxed);
                    self.current = (self.current + 1) % self.clients.len();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// An execution's whole history with its data, fetched `page` events at a time.
pub async fn history(
    sfn: &mut Failover,
    arn: &str,
    page: i32,
) -> Result<Vec<HistoryEvent>, String> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let answer = sfn
            .call("GetExecutionHistory", |c| {
                c.get_execution_history()
                    .execution_arn(arn)
                    .include_execution_data(true)
                    .max_results(page)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| format!("GetExecutionHistory: {}", why(&e)))?;
        events.extend(answer.events().iter().cloned());
        token = answer.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(events);
        }
    }
}

/// An SDK error with its causes.
pub fn why(e: &(impl std::error::Error + 'static)) -> String {
    DisplayErrorContext(e).to_string()
}

/// What one node says on `GET /metrics`.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// The node asked (from `cairn_node_info`, or the id it was started with if unreachable).
    pub node: String,
    /// `cairn_node_info{address=…}`.
    pub address: Option<String>,
    /// `cairn_cluster_nodes`: live nodes as this node sees them.
    pub cluster_nodes: Option<u64>,
    /// `cairn_partitions_owned`.
    pub partitions_owned: Option<u64>,
    /// Why the node could not be asked.
    pub error: Option<String>,
}

impl Metrics {
    fn unreachable(node: &str, error: String) -> Metrics {
        Metrics {
            node: node.to_string(),
            error: Some(error),
            ..Metrics::default()
        }
    }

    /// `GET /metrics` on `127.0.0.1:<port>` (HTTP/1.0, so the body is never chunked).
    pub async fn fetch(port: u16) -> Result<Metrics, String> {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            stream
                .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .await?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
        };
        let answer = tokio::time::timeout(Duration::from_secs(5), exchange)
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("not an HTTP answer: {answer:?}"))?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return Err(format!(
                "GET /metrics: {}",
                head.lines().next().unwrap_or("")
            ));
        }
        Ok(Metrics::parse(body))
    }

    /// The figures this file knows from Prometheus text; other lines are ignored.
    pub fn parse(text: &str) -> Metrics {
        let mut m = Metrics::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let number = value.trim().parse::<f64>().ok().map(|v| v as u64);
            if name == "cairn_cluster_nodes" {
                m.cluster_nodes = number;
            } else if name == "cairn_partitions_owned" {
                m.partitions_owned = number;
            } else if let Some(labels) = name.strip_prefix("cairn_node_info{") {
                m.node = label(labels, "node").unwrap_or_default();
                m.address = label(labels, "address");
            }
        }
        m
    }
}

/// The value of `key="…"` in a Prometheus label set.
fn label(labels: &str, key: &str) -> Option<String> {
    let start = labels.find(&format!("{key}=\""))? + key.len() + 2;
    let rest = &labels[start..];
    Some(rest[..rest.find('"')?].to_string())
}
