//! `cairn bench --scenario overload`: what a node does when offered ten times the load it takes.
//!
//! Owns: the two phases and their figures. First the **baseline**: `--concurrency`
//! connections start executions of the 10-state Pass chain back to back for
//! `--overload-seconds`, which measures what the node takes. Then the **overload**: `--overload-factor`
//! times as many connections (ten by default) do the same for as long. Each StartExecution
//! answered `ThrottlingException` is retried the way the AWS SDKs' standard retry mode does
//! (at most 3 attempts, full-jitter exponential back-off from 1 s), and one that still fails
//! is counted as surfaced to the caller. Printed: accepted starts/s in both phases (throughput
//! should hold at the limit, not collapse), attempts, throttles, retries and surfaced errors,
//! the server's resident memory (VmRSS sampled, and VmHWM, the peak, from
//! `/proc/<pid>/status`: `--server-pid` for a server of its own, else this process, which
//! then includes the load generator), and finally that every accepted execution SUCCEEDED.
//! Must not: assert anything (figures only, as the other scenarios), or hide a failure other
//! than throttling (any other error ends the run).
//!
//! Throttling only starts once `max_queued_requests` requests wait for the writer: the
//! in-process server uses twice `--concurrency` for this scenario unless
//! `--max-queued-requests` says otherwise; against `--endpoint`, start the server with a
//! bound the offered connections exceed.

use super::scenarios::{await_all, create_machine, pass_chain_definition, unique};
use super::Endpoints;
use cairn_worker::client::CallError;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The SDKs' standard retry mode: attempts per call, first back-off ceiling, longest one.
const MAX_ATTEMPTS: u32 = 3;
const BASE_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// What one phase did.
#[derive(Default)]
struct Counts {
    attempts: AtomicUsize,
    accepted: AtomicUsize,
    /// `accepted` when the phase's time ran out.
    accepted_in_time: AtomicUsize,
    throttled: AtomicUsize,
    retried: AtomicUsize,
    surfaced: AtomicUsize,
    arns: Mutex<Vec<String>>,
}

/// Memory figures of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Memory {
    pub fn read(pid: Option<u32>) -> Option<Memory> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/status"),
            None => "/proc/self/status".to_string(),
        };
        let status = std::fs::read_to_string(path).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Run both phases and print their figures.
pub async fn overload(
    endpoints: &Endpoints,
    concurrency: usize,
    factor: usize,
    seconds: f64,
    server_pid: Option<u32>,
) -> anyhow::Result<()> {
    let mut conn = endpoints.connect(0).await?;
    let machine = create_machine(
        &mut conn,
        &unique("bench-overload"),
        &pass_chain_definition(),
    )
    .await?;
    let phase = Duration::from_secs_f64(seconds.max(1.0));
    let whose = if server_pid.is_some() {
        "the server's"
    } else {
        "this process's (server and load generator)"
    };

    let before = Memory::read(server_pid);
    let (baseline, base_time) =
        run_phase(endpoints, &machine, concurrency, phase, "b", None).await?;
    let after_baseline = Memory::read(server_pid);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let (overload, over_time) = run_phase(
        endpoints,
        &machine,
        concurrency * factor.max(1),
        phase,
        "o",
        Some((server_pid, samples.clone())),
    )
    .await?;
    let after_overload = Memory::read(server_pid);

    // Rates count what was accepted while the phase ran (not the retries still in flight
    // when it ended).
    let rate = |c: &Counts, t: Duration| {
        c.accepted_in_time.load(Ordering::Relaxed) as f64 / t.as_secs_f64()
    };
    let base_rate = rate(&baseline, base_time);
    let over_rate = rate(&overload, over_time);
    let line = |label: &str, conns: usize, c: &Counts, t: Duration| {
        let attempts = c.attempts.load(Ordering::Relaxed);
        println!(
            "overload {label}: {conns} connections for {:.1}s: {} StartExecution accepted = {:.0}/s; \
             {attempts} attempts ({:.0}/s), {} ThrottlingException, {} retried, {} surfaced after {MAX_ATTEMPTS} attempts",
            t.as_secs_f64(),
            c.accepted_in_time.load(Ordering::Relaxed),
            rate(c, t),
            attempts as f64 / t.as_secs_f64(),
            c.throttled.load(Ordering::Relaxed),
            c.retried.load(Ordering::Relaxed),
            c.surfaced.load(Ordering::Relaxed),
        );
    };
    line("baseline", concurrency, &baseline, base_time);
    line(
        &format!("x{}", factor.max(1)),
        concurrency * factor.max(1),
        &overload,
        over_time,
    );
    println!(
        "overload: accepted throughput under {}x the connections is {:.0}% of the baseline",
        factor.max(1),
        100.0 * over_rate / base_rate.max(1e-9)
    );
    if let (Some(b), Some(a), Some(o)) = (before, after_baseline, after_overload) {
        let samples = samples.lock().unwrap_or_else(|e| e.into_inner());
        let lo = samples
            .iter()
            .map(|m: &Memory| m.rss_kib)
            .min()
            .unwrap_or(0);
        let hi = samples.iter().map(|m| m.rss_kib).max().unwrap_or(0);
        // VmRSS at each quarter of the overload: flat means it levels off, not that it
        // keeps growing with the time spent over the limit.
        let quarters: Vec<String> = (1..=4)
            .filter_map(|q| samples.get((samples.len() * q / 4).saturating_sub(1)))
            .map(|m| format!("{:.1}", mib(m.rss_kib)))
            .collect();
        println!(
            "overload memory ({whose}): VmHWM {:.1} MiB at start, {:.1} MiB after the baseline, \
             {:.1} MiB after the overload; VmRSS during the overload {:.1}..{:.1} MiB, \
             at each quarter {} MiB",
            mib(b.hwm_kib),
            mib(a.hwm_kib),
            mib(o.hwm_kib),
            mib(lo),
            mib(hi),
            quarters.join(" / ")
        );
    } else {
        println!("overload memory: /proc/<pid>/status not readable here");
    }

    let mut arns = std::mem::take(&mut *baseline.arns.lock().unwrap_or_else(|e| e.into_inner()));
    arns.extend(std::mem::take(
        &mut *overload.arns.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    let accepted = arns.len();
    let succeeded = await_all(endpoints, arns, concurrency).await?;
    println!("overload: {succeeded} of {accepted} accepted executions SUCCEEDED");
    Ok(())
}

type Sampling = (Option<u32>, Arc<Mutex<Vec<Memory>>>);

/// `connections` callers starting executions back to back for `length`; with `sampling`,
/// the process's memory is read every 250 ms meanwhile.
async fn run_phase(
    endpoints: &Endpoints,
    machine: &str,
    connections: usize,
    length: Duration,
    prefix: &str,
    sampling: Option<Sampling>,
) -> anyhow::Result<(Arc<Counts>, Duration)> {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections.max(1) {
        let (endpoints, machine, counts, stop, next, prefix) = (
            endpoints.clone(),
            machine.to_string(),
            counts.clone(),
            stop.clone(),
            next.clone(),
            prefix.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = endpoints.connect(c).await?;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({"stateMachineArn": machine, "name": format!("{prefix}{i}"), "input": "{}"});
                let mut attempt = 0;
                loop {
                    counts.attempts.fetch_add(1, Ordering::Relaxed);
                    match conn.call("StartExecution", &body).await {
                        Ok(out) => {
                            counts.accepted.fetch_add(1, Ordering::Relaxed);
                            let arn = out["executionArn"].as_str().unwrap_or_default().to_string();
                            counts.arns.lock().unwrap_or_else(|e| e.into_inner()).push(arn);
                            break;
                        }
                        Err(e) if e.code == "ThrottlingException" => {
                            counts.throttled.fetch_add(1, Ordering::Relaxed);
                            attempt += 1;
                            if attempt >= MAX_ATTEMPTS {
                                counts.surfaced.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            counts.retried.fetch_add(1, Ordering::Relaxed);
                            let ceiling = BASE_BACKOFF.saturating_mul(1 << (attempt - 1)).min(MAX_BACKOFF);
                            tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
                        }
                        Err(e) => return Err::<(), CallError>(e),
                    }
                }
            }
            Ok(())
        }));
    }
    let begin = Instant::now();
    let sampler = sampling.map(|(pid, samples)| {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(m) = Memory::read(pid) {
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push(m);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    });
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = begin.elapsed();
    counts
        .accepted_in_time
        .store(counts.accepted.load(Ordering::Relaxed), Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    if let Some(s) = sampler {
        let _ = s.await;
    }
    Ok((counts, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_figures() {
        let m = Memory::read(None).expect("/proc/self/status on Linux");
        assert!(m.rss_kib > 0 && m.hwm_kib >= m.rss_kib, "{m:?}");
    }
}
