//! `--server-pid`: the server's CPU time and memory, read from `/proc/<pid>/stat` and
//! `/proc/<pid>/status` (Linux only), so a scenario can report server CPU per execution or
//! per round trip and the server's peak RSS.
//!
//! It only reads `/proc`, plus one write: before each scenario it asks the kernel to reset
//! the process's peak RSS (`5` into `/proc/<pid>/clear_refs`, Linux 4.0+, needs the right to
//! write there), so each scenario's peak is its own. When the reset is refused the peak is
//! the process's peak since it started, and the report says so.

use serde_json::{json, Value};

/// The server process being measured.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pid: u32,
}

/// CPU time used so far, and when the peak RSS was last reset.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    cpu_ms: f64,
    peak_reset: bool,
}

impl Probe {
    /// A probe of `pid`; fails when its `/proc` entry cannot be read.
    pub fn new(pid: u32) -> anyhow::Result<Probe> {
        let probe = Probe { pid };
        probe
            .cpu_ms()
            .ok_or_else(|| anyhow::anyhow!("cannot read /proc/{pid}/stat"))?;
        Ok(probe)
    }

    /// user + system CPU time of the process (all its threads), in milliseconds.
    fn cpu_ms(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name (field 2) may hold spaces; fields after its ')' are plain.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let per_second = if per_second > 0 {
            per_second as f64
        } else {
            100.0
        };
        Some(ticks * 1000.0 / per_second)
    }

    /// A `/proc/<pid>/status` figure in kB (`VmHWM`, `VmRSS`).
    fn status_kb(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    /// Reset the peak RSS and note the CPU time: the start of a scenario.
    pub fn mark(&self) -> Mark {
        let peak_reset = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok();
        Mark {
            cpu_ms: self.cpu_ms().unwrap_or(0.0),
            peak_reset,
        }
    }

    /// The server's figures since `mark`: CPU used, CPU per unit of work (`per` names the
    /// unit: "execution", "round_trip"), peak and current RSS.
    pub fn since(&self, mark: Mark, units: usize, per: &str) -> Value {
        let cpu_ms = (self.cpu_ms().unwrap_or(mark.cpu_ms) - mark.cpu_ms).max(0.0);
        let mut out = json!({
            "server_cpu_ms": round(cpu_ms),
            "server_peak_rss_mb": self.status_kb("VmHWM").map(mb),
            "server_rss_mb": self.status_kb("VmRSS").map(mb),
            "server_peak_rss_since": if mark.peak_reset { "scenario start" } else { "process start" },
        });
        if units > 0 {
            out[format!("server_cpu_ms_per_{per}")] = json!(round(cpu_ms / units as f64));
        }
        out
    }
}

fn mb(kb: u64) -> f64 {
    round(kb as f64 / 1024.0)
}

/// Three significant decimals are plenty for a noisy machine.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let probe = Probe::new(std::process::id()).unwrap();
        let mark = probe.mark();
        // Burn a little CPU so the figure can move; it must never go backwards.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let figures = probe.since(mark, 10, "execution");
        assert!(figures["server_cpu_ms"].as_f64().unwrap() >= 0.0);
        assert!(figures["server_peak_rss_mb"].as_f64().unwrap() > 0.0);
        assert!(figures["server_cpu_ms_per_execution"].is_number());
        assert!(Probe::new(u32::MAX).is_err());
    }
}
