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
//!
//! Figures are printed, never asserted: the machines are shared and noisy; compare ratios
//! taken in one run.

mod endpoints;
mod overload;
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
    /// Which scenarios: pass-chain, map, activity, overload, distributed-map, or all (all but
    /// overload and distributed-map).
    #[arg(long, default_value = "all")]
    pub scenario: String,
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
    /// Overload and distributed-map: the server process whose memory to read
    /// (`/proc/<pid>/status`) when it is
    /// not this one (with `--endpoint`).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The in-process server's `--max-queued-requests` (default: serve's; for the overload
    /// scenario, twice `--concurrency`, so that ten times the connections exceed it).
    #[arg(long)]
    pub max_queued_requests: Option<usize>,
}

/// Run the benchmark; prints figures to stdout.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut local = None;
    let s3_dir = match &args.s3_root {
        Some(_) => None,
        None if args.scenario == "distributed-map" => Some(tempfile::tempdir()?),
        None => None,
    };
    let s3_root = args
        .s3_root
        .clone()
        .or_else(|| s3_dir.as_ref().map(|d| d.path().to_path_buf()));
    if !args.endpoint.is_empty() && args.scenario == "distributed-map" && args.s3_root.is_none() {
        anyhow::bail!(
            "distributed-map with --endpoint needs --s3-root DIR, the folder the server was \
             started with (cairn serve --s3-root DIR): the bench writes its items there"
        );
    }
    let endpoint = if args.endpoint.is_empty() {
        let bound = args.max_queued_requests.or(if args.scenario == "overload" {
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
    println!("cairn bench against {endpoint}");
    let all = args.scenario == "all";
    if all || args.scenario == "pass-chain" {
        scenarios::pass_chain(&endpoint, args.executions, args.concurrency).await?;
    }
    if all || args.scenario == "map" {
        scenarios::map(&endpoint, args.map_executions, args.concurrency.min(4)).await?;
    }
    if all || args.scenario == "activity" {
        for &workers in &args.workers {
            scenarios::activity_throughput(
                &endpoint,
                args.activity_tasks,
                workers,
                args.concurrency,
            )
            .await?;
        }
        scenarios::activity_latency(&endpoint, args.latency_samples, 8).await?;
    }
    if args.scenario == "overload" {
        overload::overload(
            &endpoint,
            args.concurrency,
            args.overload_factor,
            args.overload_seconds,
            args.server_pid,
        )
        .await?;
    }
    if args.scenario == "distributed-map" {
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
    if let Some(server) = local {
        server.stop().await;
    }
    Ok(())
}
