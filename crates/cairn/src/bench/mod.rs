//! `cairn bench`: load generator and figures, against this build (an in-process server with
//! its durable SQLite settings) or any endpoint that speaks the Step Functions API
//! (`--endpoint http://…`), so the same load gives side-by-side ratios. Several endpoints
//! (`--endpoint http://a,http://b,http://c`: nodes sharing one database) get the scenarios'
//! calls round robin, so one command measures one node or a cluster.
//!
//! Scenarios:
//! - `pass-chain`: executions of a 10-state Pass chain → executions/s and state transitions/s;
//! - `map`: executions of an inline Map over 1,000 items (one Pass per item);
//! - `activity`: activity round trips/s with 1, 8 and 64 workers, then the dispatch latency
//!   (StartExecution sent → a parked worker holds the task), p50 and p99;
//! - `overload` (only when named): ten times the connections the node takes, throttled
//!   requests retried as the SDKs do, throughput and peak memory (see `overload.rs`).
//! - `distributed-map` (only when named): one Distributed Map, EXPRESS then STANDARD
//!   children, items/s and peak memory.
//! - `memory` (not part of `all`): `parked-pollers`, `timers`, `tokens` (see `memory.rs`).
//!
//! `--scenario` takes one name or a comma-separated list. `--report json` prints one JSON
//! document with every figure instead of lines of text; `--server-pid PID` adds the server's
//! CPU time (per execution or per round trip) and peak RSS to each scenario (`probe.rs`).
//!
//! Figures are printed, never asserted: the machines are shared and noisy; compare ratios
//! taken in one run.

mod endpoints;
mod memory;
mod overload;
mod probe;
mod scenarios;

pub use endpoints::{Endpoints, RoundRobin};

pub use cairn_worker::client::{CallError, SfnConnection};

use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Target this endpoint instead of an in-process Cairn server. Several, comma-separated
    /// (nodes sharing one database), get the calls round robin.
    #[arg(long, value_name = "URL[,URL…]", value_delimiter = ',')]
    pub endpoint: Vec<String>,
    /// Which scenarios (comma-separated): pass-chain, map, activity, all (those three),
    /// parked-pollers, timers, tokens, memory (those three), overload, distributed-map.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub scenario: Vec<String>,
    /// Executions of the Pass chain.
    #[arg(long, default_value_t = 5000)]
    pub executions: usize,
    /// Concurrent client connections starting executions.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Executions of the 1,000-item Map.
    #[arg(long, default_value_t = 20)]
    pub map_executions: usize,
    /// Activity tasks per worker count.
    #[arg(long, default_value_t = 3000)]
    pub activity_tasks: usize,
    /// Worker counts for the activity scenario.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub workers: Vec<usize>,
    /// Samples for the dispatch-latency measurement.
    #[arg(long, default_value_t = 300)]
    pub latency_samples: usize,
    /// Items of the distributed-map scenario (JSONL lines read by an ItemReader; run once
    /// with EXPRESS children, once with STANDARD ones).
    #[arg(long, default_value_t = 100_000)]
    pub dmap_items: usize,
    /// The distributed-map scenario's bucket folder root: the bench writes its items to
    /// `DIR/bench-dmap/`. The in-process server gets it as its `--s3-root` (default: a fresh
    /// temporary directory); with `--endpoint`, the server must have been started with
    /// `cairn serve --s3-root DIR` on the same folder.
    #[arg(long, value_name = "DIR")]
    pub s3_root: Option<PathBuf>,
    /// Database of the in-process server (default: a fresh temporary directory).
    #[arg(long)]
    pub database: Option<PathBuf>,
    /// Overload: how many times `--concurrency` connections the second phase offers.
    #[arg(long, default_value_t = 10)]
    pub overload_factor: usize,
    /// Overload: seconds each phase (baseline, overload) lasts.
    #[arg(long, default_value_t = 10.0)]
    pub overload_seconds: f64,
    /// The in-process server's `--max-queued-requests` (default: serve's; for the overload
    /// scenario, twice `--concurrency`, so that ten times the connections exceed it).
    #[arg(long)]
    pub max_queued_requests: Option<usize>,
    /// `text` (a line per scenario) or `json` (one document with every figure).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub report: String,
    /// The server's process id: report its CPU time and peak RSS per scenario (Linux).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Parked GetActivityTask pollers of the `parked-pollers` scenario.
    #[arg(long, default_value_t = 10_000)]
    pub pollers: usize,
    /// Waiting executions of the `timers` and `tokens` scenarios.
    #[arg(long, default_value_t = 100_000)]
    pub waiting: usize,
}

/// Run the benchmark; prints figures to stdout.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut local = None;
    // The scenarios run only when named (not part of `all`).
    let overload = args.scenario.iter().any(|s| s == "overload");
    let distributed_map = args.scenario.iter().any(|s| s == "distributed-map");
    let s3_dir = match &args.s3_root {
        Some(_) => None,
        None if distributed_map => Some(tempfile::tempdir()?),
        None => None,
    };
    let s3_root = args
        .s3_root
        .clone()
        .or_else(|| s3_dir.as_ref().map(|d| d.path().to_path_buf()));
    if !args.endpoint.is_empty() && distributed_map && args.s3_root.is_none() {
        anyhow::bail!(
            "distributed-map with --endpoint needs --s3-root DIR, the folder the server was \
             started with (cairn serve --s3-root DIR): the bench writes its items there"
        );
    }
    let endpoint = if args.endpoint.is_empty() {
        let bound = args.max_queued_requests.or(if overload {
            Some(args.concurrency * 2)
        } else {
            None
        });
        let server =
            scenarios::LocalServer::start(args.database.clone(), bound, s3_root.clone()).await?;
        if let Some(bound) = bound {
            println!("in-process server: max_queued_requests = {bound}");
        }
        let endpoint = Endpoints::new(vec![server.endpoint.clone()])?;
        local = Some(server);
        endpoint
    } else {
        Endpoints::new(args.endpoint.clone())?
    };
    const NAMES: [&str; 10] = [
        "all",
        "overload",
        "distributed-map",
        "pass-chain",
        "map",
        "activity",
        "memory",
        "parked-pollers",
        "timers",
        "tokens",
    ];
    if let Some(unknown) = args.scenario.iter().find(|s| !NAMES.contains(&s.as_str())) {
        anyhow::bail!("unknown scenario {unknown:?}; known: {}", NAMES.join(", "));
    }
    let probe = args.server_pid.map(probe::Probe::new).transpose()?;
    let json = args.report == "json";
    if !json {
        println!("cairn bench against {endpoint}");
    }
    let wanted = |name: &str| {
        let group = match name {
            "pass-chain" | "map" | "activity" => "all",
            _ => "memory",
        };
        args.scenario.iter().any(|s| s == name || s == group)
    };
    let mut results = Vec::new();
    // A scenario the server cannot run (another emulator without Map states, say) is
    // reported as failed and the others still run.
    let mut failed = 0;
    let mut record =
        |name: String, figures: anyhow::Result<scenarios::Figures>, mark: Option<probe::Mark>| {
            let figures = match figures {
                Ok(figures) => figures,
                Err(e) => {
                    failed += 1;
                    if !json {
                        println!("{name}: failed: {e:#}");
                    }
                    results.push(serde_json::json!({"scenario": name, "error": format!("{e:#}")}));
                    return;
                }
            };
            let mut value = figures.figures;
            let mut text = figures.text;
            if let (Some(probe), Some(mark)) = (&probe, mark) {
                let server = probe.since(mark, figures.units.0, figures.units.1);
                let per = format!("server_cpu_ms_per_{}", figures.units.1);
                text.push_str(&format!(
                    "; server CPU {} ms/{}, peak RSS {} MB",
                    server[&per],
                    figures.units.1.replace('_', " "),
                    server["server_peak_rss_mb"]
                ));
                if let (Some(v), Some(s)) = (value.as_object_mut(), server.as_object()) {
                    v.extend(s.clone());
                }
            }
            if !json {
                println!("{text}");
            }
            results.push(serde_json::json!({"scenario": name, "figures": value}));
        };
    let mark = || probe.as_ref().map(|p| p.mark());
    if wanted("pass-chain") {
        let m = mark();
        let f = scenarios::pass_chain(&endpoint, args.executions, args.concurrency).await;
        record("pass-chain".into(), f, m);
    }
    if wanted("map") {
        let m = mark();
        let f = scenarios::map(&endpoint, args.map_executions, args.concurrency.min(4)).await;
        record("map".into(), f, m);
    }
    if wanted("activity") {
        for &workers in &args.workers {
            let m = mark();
            let f = scenarios::activity_throughput(
                &endpoint,
                args.activity_tasks,
                workers,
                args.concurrency,
            )
            .await;
            record(format!("activity-{workers}"), f, m);
        }
        let m = mark();
        let f = scenarios::activity_latency(&endpoint, args.latency_samples, 8).await;
        record("activity-latency".into(), f, m);
    }
    if wanted("parked-pollers") {
        let m = mark();
        let f = memory::parked_pollers(&endpoint, args.pollers, args.concurrency).await;
        record("parked-pollers".into(), f, m);
    }
    for on in ["timers", "tokens"] {
        if wanted(on) {
            let m = mark();
            let f = memory::waiting(&endpoint, args.waiting, args.concurrency, on).await;
            record(on.into(), f, m);
        }
    }
    if overload {
        overload::overload(
            &endpoint,
            args.concurrency,
            args.overload_factor,
            args.overload_seconds,
            args.server_pid,
        )
        .await?;
    }
    if distributed_map {
        for execution_type in ["EXPRESS", "STANDARD"] {
            scenarios::distributed_map(
                &endpoint,
                s3_root.as_deref().unwrap_or(std::path::Path::new(".")),
                args.dmap_items,
                execution_type,
                args.server_pid,
            )
            .await?;
        }
    }
    if json {
        let report = serde_json::json!({
            "endpoint": endpoint.to_string(),
            "server_pid": args.server_pid,
            "scenarios": results,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if failed > 0 {
        anyhow::bail!("{failed} scenario(s) failed");
    }
    if let Some(server) = local {
        server.stop().await;
    }
    Ok(())
}
