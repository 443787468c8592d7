//! The benchmark scenarios and the in-process server they run against by default.

use super::{Endpoints, RoundRobin};
use crate::app::App;
use crate::config::Config;
use crate::runtime::Engine;
use anyhow::Context;
use cairn_store::sqlite::SqliteStore;
use cairn_worker::client::CallError;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROLE: &str = "arn:aws:iam::123456789012:role/cairn-bench";

/// A Cairn server in this process, on 127.0.0.1, with the durable SQLite settings of `serve`.
pub struct LocalServer {
    pub endpoint: String,
    engine: Arc<Engine>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl LocalServer {
    pub async fn start(
        database: Option<PathBuf>,
        max_queued_requests: Option<usize>,
        s3_root: Option<PathBuf>,
    ) -> anyhow::Result<LocalServer> {
        let (dir, path) = match database {
            Some(p) => (None, p),
            None => {
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("bench.db");
                (Some(dir), path)
            }
        };
        let store: Arc<dyn cairn_store::Store> =
            Arc::new(SqliteStore::open(&path).context("opening the bench database")?);
        let mut config = Config::default();
        if let Some(bound) = max_queued_requests {
            config.max_queued_requests = bound;
        }
        config.s3_root = s3_root;
        let engine = Engine::start(store.clone(), config.clone())?;
        let app = Arc::new(App::new(store, config, engine.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = crate::server::serve(listener, app, async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(LocalServer {
            endpoint,
            engine,
            stop,
            server,
            _dir: dir,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        self.engine.shutdown().await;
    }
}

pub(super) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

pub(super) async fn create_machine(
    conn: &mut RoundRobin,
    name: &str,
    definition: &Value,
) -> Result<String, CallError> {
    let out = conn
        .call(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE}),
        )
        .await?;
    Ok(out["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Start `count` executions over `concurrency` connections; returns their ARNs.
pub(super) async fn start_many(
    endpoints: &Endpoints,
    machine: &str,
    count: usize,
    concurrency: usize,
    input: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..concurrency.max(1) {
        let (endpoints, machine, next, input) = (
            endpoints.clone(),
            machine.to_string(),
            next.clone(),
            input.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = endpoints.connect(c).await?;
            let mut arns = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, CallError>(arns);
                }
                let out = conn
                    .call(
                        "StartExecution",
                        &json!({"stateMachineArn": machine, "name": format!("e{i}"), "input": input(i)}),
                    )
                    .await?;
                arns.push(out["executionArn"].as_str().unwrap_or_default().to_string());
            }
        }));
    }
    let mut arns = Vec::with_capacity(count);
    for t in tasks {
        arns.extend(t.await??);
    }
    Ok(arns)
}

/// Wait until every execution has left RUNNING; returns how many SUCCEEDED.
pub(super) async fn await_all(
    endpoints: &Endpoints,
    arns: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<usize> {
    let arns = Arc::new(arns);
    let next = Arc::new(AtomicUsize::new(0));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency.max(1) {
        let (endpoints, arns, next, succeeded) = (
            endpoints.clone(),
            arns.clone(),
            next.clone(),
            succeeded.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = endpoints.connect(c).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(arn) = arns.get(i) else {
                    return Ok::<_, CallError>(());
                };
                loop {
                    let out = conn
                        .call("DescribeExecution", &json!({"executionArn": arn}))
                        .await?;
                    match out["status"].as_str() {
                        // A server that never runs executions (moto) ends the scenario.
                        Some("RUNNING") if begin.elapsed() > Duration::from_secs(300) => {
                            return Err(CallError {
                                code: "BenchTimeout".into(),
                                message: format!("{arn} still RUNNING after 5 minutes"),
                            });
                        }
                        Some("RUNNING") => tokio::time::sleep(Duration::from_millis(20)).await,
                        Some("SUCCEEDED") => {
                            succeeded.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        _ => break,
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(succeeded.load(Ordering::Relaxed))
}

/// A scenario's result: the line printed in text reports, and its figures (JSON report).
pub struct Figures {
    pub text: String,
    pub figures: Value,
    /// What the server's CPU is divided by (executions, round trips), and its name.
    pub units: (usize, &'static str),
}

fn report(
    label: &str,
    executions: usize,
    succeeded: usize,
    transitions_each: usize,
    elapsed: Duration,
) -> Figures {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let per_second = executions as f64 / secs;
    let transitions = (executions * transitions_each) as f64 / secs;
    Figures {
        text: format!(
            "{label}: {executions} executions ({succeeded} succeeded) in {secs:.2}s = {per_second:.0} executions/s, {transitions:.0} state transitions/s"
        ),
        figures: json!({
            "executions": executions,
            "succeeded": succeeded,
            "seconds": secs,
            "executions_per_second": per_second,
            "state_transitions_per_second": transitions,
        }),
        units: (executions, "execution"),
    }
}

/// Ten Pass states in a row.
pub(super) fn pass_chain_definition() -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let mut s = json!({"Type": "Pass", "Result": {"step": i}, "ResultPath": "$.last"});
        if i == 9 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

pub async fn pass_chain(
    endpoints: &Endpoints,
    executions: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let definition = pass_chain_definition();
    let mut conn = endpoints.connect(0).await?;
    let machine = create_machine(&mut conn, &unique("bench-pass"), &definition).await?;
    let begin = Instant::now();
    let arns = start_many(
        endpoints,
        &machine,
        executions,
        concurrency,
        Arc::new(|i| json!({"i": i}).to_string()),
    )
    .await?;
    let succeeded = await_all(endpoints, arns, concurrency).await?;
    Ok(report(
        "pass-chain (10 states)",
        executions,
        succeeded,
        10,
        begin.elapsed(),
    ))
}

/// An inline Map over 1,000 items, one Pass state per item.
pub async fn map(
    endpoints: &Endpoints,
    executions: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let definition = json!({
        "StartAt": "M",
        "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
        }}
    });
    let items: Vec<usize> = (0..1000).collect();
    let input = json!({"items": items}).to_string();
    let mut conn = endpoints.connect(0).await?;
    let machine = create_machine(&mut conn, &unique("bench-map"), &definition).await?;
    let begin = Instant::now();
    let arns = start_many(
        endpoints,
        &machine,
        executions,
        concurrency,
        Arc::new(move |_| input.clone()),
    )
    .await?;
    let succeeded = await_all(endpoints, arns, concurrency).await?;
    // The Map state plus one Pass state per item.
    Ok(report(
        "map (1,000 items)",
        executions,
        succeeded,
        1001,
        begin.elapsed(),
    ))
}

/// One Distributed Map over `items` JSONL items that an ItemReader reads from
/// `<s3_root>/bench-dmap/items-<items>.jsonl` (written here first, unless it is there
/// already), `MaxConcurrency` 1,000, Pass children of `execution_type`, results written by a
/// ResultWriter to the same bucket (as a run this large must: its output would exceed the
/// payload limit). Prints items/s and the server's peak resident memory (`VmHWM` of
/// `server_pid`, or of this process when the server is the in-process one).
pub async fn distributed_map(
    endpoints: &Endpoints,
    s3_root: &std::path::Path,
    items: usize,
    execution_type: &str,
    server_pid: Option<u32>,
) -> anyhow::Result<()> {
    const BUCKET: &str = "bench-dmap";
    let key = format!("items-{items}.jsonl");
    let path = s3_root.join(BUCKET).join(&key);
    if !path.exists() {
        std::fs::create_dir_all(s3_root.join(BUCKET)).context("creating the bench bucket")?;
        let mut body = String::with_capacity(items * 16);
        for i in 0..items {
            body.push_str(&format!("{{\"i\":{i}}}\n"));
        }
        std::fs::write(&path, body).context("writing the bench items")?;
    }
    let definition = json!({
        "StartAt": "M",
        "States": {"M": {
            "Type": "Map", "MaxConcurrency": 1000, "End": true,
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": BUCKET, "Key": key}
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix": "results"}
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
            }
        }}
    });
    let mut conn = endpoints.connect(0).await?;
    let machine = create_machine(&mut conn, &unique("bench-dmap"), &definition).await?;
    let begin = Instant::now();
    let arns = start_many(endpoints, &machine, 1, 1, Arc::new(|_| "{}".to_string())).await?;
    let succeeded = await_all(endpoints, arns, 1).await?;
    let secs = begin.elapsed().as_secs_f64().max(1e-9);
    let whose = match server_pid {
        Some(pid) => format!("server (pid {pid})"),
        None => "this process (the in-process server)".to_string(),
    };
    println!(
        "distributed-map ({items} JSONL items from an ItemReader, {execution_type} children, \
         MaxConcurrency 1000, ResultWriter): {} in {secs:.2}s = {:.0} items/s; \
         peak memory of {whose} {}",
        if succeeded == 1 {
            "succeeded"
        } else {
            "FAILED"
        },
        items as f64 / secs,
        peak_memory(server_pid).unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// `VmHWM` (peak resident set) from `/proc/<pid>/status` (this process's without a pid),
/// where there is one.
fn peak_memory(pid: Option<u32>) -> Option<String> {
    let file = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line["VmHWM:".len()..].trim().to_string())
}

pub(super) async fn activity_machine(conn: &mut RoundRobin) -> anyhow::Result<(String, String)> {
    let activity = conn
        .call("CreateActivity", &json!({"name": unique("bench-act")}))
        .await?;
    let activity_arn = activity["activityArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity_arn, "End": true}}});
    let machine = create_machine(conn, &unique("bench-act"), &definition).await?;
    Ok((activity_arn, machine))
}

/// Workers that poll, answer at once, and record the dispatch latency of each task
/// (microseconds from the `t` the starter put in the input).
/// Workers stop when this is dropped (also when a scenario fails half-way).
struct Workers(Vec<tokio::task::JoinHandle<Result<(), CallError>>>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &self.0 {
            w.abort();
        }
    }
}

fn spawn_workers(
    endpoints: &Endpoints,
    activity_arn: &str,
    workers: usize,
    done: Arc<AtomicUsize>,
    latencies: Arc<Mutex<Vec<u64>>>,
) -> Workers {
    Workers(
        (0..workers)
            .map(|w| {
                let (endpoints, activity_arn, done, latencies) = (
                    endpoints.clone(),
                    activity_arn.to_string(),
                    done.clone(),
                    latencies.clone(),
                );
                tokio::spawn(async move {
                    let mut conn = endpoints.connect(w).await?;
                    loop {
                        let task = conn
                        .call(
                            "GetActivityTask",
                            &json!({"activityArn": activity_arn, "workerName": format!("w{w}")}),
                        )
                        .await?;
                        let Some(token) = task["taskToken"].as_str() else {
                            continue;
                        };
                        let received = micros_now();
                        if let Some(t) = task["input"]
                            .as_str()
                            .and_then(|s| serde_json::from_str::<Value>(s).ok())
                            .and_then(|v| v["t"].as_u64())
                        {
                            latencies
                                .lock()
                                .expect("latency lock")
                                .push(received.saturating_sub(t));
                        }
                        conn.call(
                            "SendTaskSuccess",
                            &json!({"taskToken": token, "output": "{}"}),
                        )
                        .await?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect(),
    )
}

/// Round trips/s: `tasks` executions, each one activity task answered by one of `workers`.
pub async fn activity_throughput(
    endpoints: &Endpoints,
    tasks: usize,
    workers: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let mut conn = endpoints.connect(0).await?;
    let (activity_arn, machine) = activity_machine(&mut conn).await?;
    let done = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let pool = spawn_workers(endpoints, &activity_arn, workers, done.clone(), latencies);
    let begin = Instant::now();
    start_many(
        endpoints,
        &machine,
        tasks,
        concurrency,
        Arc::new(|_| json!({"t": micros_now()}).to_string()),
    )
    .await?;
    while done.load(Ordering::Relaxed) < tasks {
        if begin.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("activity scenario did not finish in 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = begin.elapsed().as_secs_f64();
    drop(pool);
    let per_second = tasks as f64 / secs;
    Ok(Figures {
        text: format!(
            "activity round trips, {workers} worker(s): {tasks} in {secs:.2}s = {per_second:.0} round trips/s"
        ),
        figures: json!({
            "workers": workers,
            "round_trips": tasks,
            "seconds": secs,
            "round_trips_per_second": per_second,
        }),
        units: (tasks, "round_trip"),
    })
}

/// Dispatch latency to a parked worker: one execution at a time, each started only after the
/// previous task was answered, so a worker is always waiting when the task is scheduled.
pub async fn activity_latency(
    endpoints: &Endpoints,
    samples: usize,
    workers: usize,
) -> anyhow::Result<Figures> {
    let mut conn = endpoints.connect(0).await?;
    let (activity_arn, machine) = activity_machine(&mut conn).await?;
    let done = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let pool = spawn_workers(
        endpoints,
        &activity_arn,
        workers,
        done.clone(),
        latencies.clone(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await; // let the workers park
    let stalled = Arc::new(AtomicBool::new(false));
    for i in 0..samples {
        conn.call(
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": format!("l{i}"), "input": json!({"t": micros_now()}).to_string()}),
        )
        .await?;
        let begin = Instant::now();
        while done.load(Ordering::Relaxed) <= i {
            if begin.elapsed() > Duration::from_secs(30) {
                stalled.store(true, Ordering::Relaxed);
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        if stalled.load(Ordering::Relaxed) {
            anyhow::bail!("a task was not delivered within 30 s");
        }
    }
    drop(pool);
    let mut l = latencies.lock().expect("latency lock").clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let (p50, p99, max) = (pct(0.50), pct(0.99), pct(1.0));
    Ok(Figures {
        text: format!(
            "activity dispatch latency ({} samples, {workers} parked workers): p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
            l.len(),
        ),
        figures: json!({
            "samples": l.len(),
            "parked_workers": workers,
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": max,
        }),
        units: (samples, "round_trip"),
    })
}
