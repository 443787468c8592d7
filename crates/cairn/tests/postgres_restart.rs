//! The PostgreSQL server stopped (`pg_ctl stop -m fast`) and started again under a running
//! `cairn serve` node, with executions in every state: activity tasks held by a worker, Wait
//! timers due during the outage, answers sent during it.
//!
//! Checked: callers during the outage get an error answer (not a hang, and nothing of what
//! they asked is applied: a StartExecution refused then does not exist afterwards, a refused
//! SendTaskSuccess is not in any history); timers that fire during the outage are held and
//! run once storage is back; the node carries on by itself (same process) and every
//! acknowledged execution and answer is there, once, with gap-free histories.
//!
//! The test starts a PostgreSQL server of its own with `scripts/postgres-test-server` (the
//! shared one of `CAIRN_TEST_POSTGRES_URL` must not be stopped under other tests), so it needs
//! PostgreSQL installed: skipped with a message without it, failing in CI (`CI=true`).

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/faults.rs"]
mod faults;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use cluster::{why, Metrics};
use faults::{check_histories, patient_client, start_load, until_ok, Load, Node};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/postgres-test-server"
);
/// Executions of each kind.
const EACH: usize = 6;

/// A throwaway PostgreSQL cluster in a directory of its own; stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    url: String,
}

impl Postgres {
    fn start() -> Option<Postgres> {
        let dir = tempfile::tempdir().expect("a directory for PostgreSQL");
        // As root the cluster belongs to the postgres user, which must reach into it.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let out = script("start", &dir.path().join("cluster"));
        let url = String::from_utf8_lossy(&out.stdout)
            .split_once("CAIRN_TEST_POSTGRES_URL=")
            .map(|(_, url)| url.trim().to_string());
        match url {
            Some(url) if out.status.success() => Some(Postgres { dir, url }),
            _ => {
                let why = String::from_utf8_lossy(&out.stderr).to_string();
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI needs PostgreSQL for this test: {why}"
                );
                eprintln!("skipped: could not start a PostgreSQL server: {why}");
                None
            }
        }
    }

    fn cluster(&self) -> PathBuf {
        self.dir.path().join("cluster")
    }

    fn stop(&self) {
        let out = script("stop", &self.cluster());
        assert!(out.status.success(), "pg_ctl stop: {out:?}");
    }

    /// Starts the server again, on the same port (so the node's URL stays valid).
    fn restart(&self) {
        let out = script("start", &self.cluster());
        assert!(out.status.success(), "pg_ctl start: {out:?}");
        let again = String::from_utf8_lossy(&out.stdout);
        assert!(
            again.contains(&self.url),
            "the server came back on another address: {again}"
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = script("stop", &self.cluster());
    }
}

fn script(command: &str, dir: &Path) -> std::process::Output {
    Command::new(SCRIPT)
        .arg(command)
        .arg(dir)
        .output()
        .expect("run scripts/postgres-test-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_mid_load_loses_nothing_and_the_node_carries_on() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let url = format!("{}?options[search_path]=restart_test", pg.url);
    let logs = tempfile::tempdir().expect("a log directory");
    let mut node = Node::spawn(
        &["--database", &url, "--node-id", "solo", "--lease-ttl", "2"],
        &logs.path().join("node.log"),
    );
    let endpoint = node.endpoint();
    // Up, and holding every partition (a lone node takes them all).
    let begin = Instant::now();
    loop {
        if let Ok(m) = Metrics::fetch(node.port).await {
            if m.partitions_owned.unwrap_or(0) > 0 && m.cluster_nodes == Some(1) {
                break;
            }
        }
        assert!(node.alive(), "the node exited");
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "the node did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sfn = cluster::client(&endpoint);
    let during = patient_client(&endpoint);

    // Activity executions with their tasks taken by a worker, half of them answered (those
    // sit in their Wait when storage goes away), and Wait-only executions whose timers come
    // due during the outage.
    let Load {
        activity,
        waits,
        executions,
        tokens,
        mut acked,
        timers_due,
        ..
    } = start_load(&sfn, "arn:aws:iam::123456789012:role/restart", EACH).await;

    // ---- the outage ------------------------------------------------------------------
    pg.stop();
    let outage = Instant::now();
    let asked = Instant::now();
    let refused = during
        .start_execution()
        .state_machine_arn(&waits)
        .name("during-outage")
        .send()
        .await
        .expect_err("StartExecution without storage");
    assert!(
        refused.as_service_error().is_some(),
        "StartExecution during the outage got no answer: {}",
        why(&refused)
    );
    eprintln!(
        "StartExecution during the outage: {} ({:?}) after {:.1?}",
        refused.code().unwrap_or("?"),
        refused.message(),
        asked.elapsed()
    );
    // A worker's long poll is answered too (with an error), not left hanging.
    let poll = during
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect_err("GetActivityTask without storage");
    assert!(
        poll.as_service_error().is_some(),
        "GetActivityTask during the outage got no answer: {}",
        why(&poll)
    );
    for (i, token) in &tokens {
        let output = json!({"answer": format!("during-{i}")}).to_string();
        let asked = Instant::now();
        let err = during
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .expect_err("SendTaskSuccess without storage");
        assert!(
            err.as_service_error().is_some(),
            "SendTaskSuccess during the outage got no answer: {}",
            why(&err)
        );
        eprintln!(
            "SendTaskSuccess during the outage: {} after {:.1?}",
            err.code().unwrap_or("?"),
            asked.elapsed()
        );
    }
    // Keep storage away until the Wait timers (and the node's 2 s leases) have run out, so
    // the timers fire into the outage.
    let until = timers_due.max(outage + Duration::from_secs(4)) + Duration::from_secs(1);
    tokio::time::sleep_until(until.into()).await;
    assert!(node.alive(), "the node exited during the outage");
    pg.restart();
    eprintln!("PostgreSQL was down {:.1?}", outage.elapsed());
    // The outage did what it is here for: timers fired into it and were held for a retry.
    assert!(
        node.log()
            .contains("storage failed; holding reply-less inputs"),
        "no reply-less input was held during the outage"
    );

    // ---- storage is back: the held answers go through, everything finishes --------------
    for (i, token) in &tokens {
        let output = json!({"answer": format!("after-{i}")}).to_string();
        until_ok("SendTaskSuccess after the outage", || {
            sfn.send_task_success()
                .task_token(token)
                .output(&output)
                .send()
        })
        .await;
        acked.push((*i, output));
    }
    let begin = Instant::now();
    for arn in &executions {
        loop {
            let d = until_ok("DescribeExecution", || {
                sfn.describe_execution().execution_arn(arn).send()
            })
            .await;
            if d.status != ExecutionStatus::Running {
                assert_eq!(d.status, ExecutionStatus::Succeeded, "{arn}: {d:?}");
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(120),
                "{arn} still RUNNING two minutes after the restart"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "all {} executions SUCCEEDED {:.1?} after the restart",
        executions.len(),
        begin.elapsed()
    );
    assert!(node.alive(), "the node is the same process");

    // Nothing refused was applied.
    let gone = sfn
        .describe_execution()
        .execution_arn(format!(
            "{}:during-outage",
            waits.replace(":stateMachine:", ":execution:")
        ))
        .send()
        .await
        .expect_err("a StartExecution refused during the outage started nothing");
    assert_eq!(gone.code(), Some("ExecutionDoesNotExist"));

    // Every history gap-free, each input applied once; each acknowledged answer recorded.
    check_histories(&sfn, &executions, &acked).await;

    // And it takes new work as before.
    let after = sfn
        .start_execution()
        .state_machine_arn(&waits)
        .name("after-outage")
        .send()
        .await
        .expect("StartExecution after the outage")
        .execution_arn;
    until_ok("the new execution", || async {
        let d = sfn.describe_execution().execution_arn(&after).send().await;
        match d {
            Ok(d) if d.status == ExecutionStatus::Succeeded => Ok(()),
            Ok(d) => Err(std::io::Error::other(format!("{:?}", d.status))),
            Err(e) => Err(std::io::Error::other(why(&e))),
        }
    })
    .await;
}
