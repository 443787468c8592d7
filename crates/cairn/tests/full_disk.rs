//! A real full filesystem under a `cairn serve` node on SQLite: the database lives on a small
//! tmpfs, which the test fills with a file of its own while executions run (activity tasks
//! held by a worker, Wait timers coming due), then frees.
//!
//! Checked: StartExecution while the disk is full is answered with an error (no hang) and
//! leaves nothing; timers that fire meanwhile are held and run once space is back; the node
//! carries on by itself (same process); every acknowledged start and answer is there, once,
//! with gap-free histories.
//!
//! Needs to mount a tmpfs (root, and a sandbox that allows it): otherwise the test says why
//! it was skipped (in CI too: mounting is a property of the machine, not of the code).

#[path = "common/cluster.rs"]
mod cluster;
#[path = "common/faults.rs"]
mod faults;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use cluster::why;
use faults::{check_histories, patient_client, start_load, until_ok, Load, Node};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Executions of each kind.
const EACH: usize = 6;
/// The filesystem's size: room for the database and its WAL, quickly filled.
const SIZE: &str = "16m";

/// A tmpfs mounted on a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Result<Tmpfs, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root, so no tmpfs can be mounted".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SIZE}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Writes `path` until the filesystem is full (ENOSPC); returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("the filler file");
    let mut written = 0;
    for chunk in [256 * 1024, 4096, 512] {
        let block = vec![0x5a_u8; chunk];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    let _ = file.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_sqlite_loses_nothing_and_the_node_carries_on() {
    let fs = match Tmpfs::mount() {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let logs = tempfile::tempdir().expect("a log directory");
    let database = fs.path().join("cairn.db");
    let mut node = Node::spawn(
        &["--database", database.to_str().unwrap()],
        &logs.path().join("node.log"),
    );
    node.up().await;
    let endpoint = node.endpoint();
    let sfn = cluster::client(&endpoint);
    let during = patient_client(&endpoint);

    let Load {
        waits,
        mut executions,
        mut tokens,
        mut acked,
        timers_due,
        ..
    } = start_load(&sfn, "arn:aws:iam::123456789012:role/full-disk", EACH).await;
    let execution_arn = |machine: &str, name: &str| {
        format!(
            "{}:{name}",
            machine.replace(":stateMachine:", ":execution:")
        )
    };

    // ---- the disk fills up ---------------------------------------------------------------
    let filler: PathBuf = fs.path().join("filler");
    let filled = fill(&filler);
    let full = Instant::now();
    // SQLite may still have room in its WAL: large starts use it up. Each is answered, and
    // one is refused once no page can be written.
    let big = json!({"pad": "x".repeat(200 * 1024)}).to_string();
    let mut refused = Vec::new();
    for k in 0..200 {
        let name = format!("full-{k}");
        let asked = Instant::now();
        match during
            .start_execution()
            .state_machine_arn(&waits)
            .name(&name)
            .input(&big)
            .send()
            .await
        {
            Ok(out) => executions.push(out.execution_arn),
            Err(e) => {
                assert!(
                    e.as_service_error().is_some(),
                    "StartExecution on a full disk got no answer: {}",
                    why(&e)
                );
                eprintln!(
                    "StartExecution on a full disk: {} ({:?}) after {:.1?}, {k} accepted before",
                    e.code().unwrap_or("?"),
                    e.message(),
                    asked.elapsed()
                );
                refused.push(name);
                break;
            }
        }
    }
    assert_eq!(
        refused.len(),
        1,
        "no StartExecution was refused on a full disk"
    );
    // Answers while full: each is answered; one that is refused is sent again later.
    let mut pending = Vec::new();
    for (i, token) in tokens.drain(..) {
        let output = json!({"answer": format!("during-{i}")}).to_string();
        match during
            .send_task_success()
            .task_token(&token)
            .output(&output)
            .send()
            .await
        {
            Ok(_) => acked.push((i, output)),
            Err(e) => {
                assert!(
                    e.as_service_error().is_some(),
                    "SendTaskSuccess on a full disk got no answer: {}",
                    why(&e)
                );
                pending.push((i, token));
            }
        }
    }
    eprintln!(
        "disk full ({filled} bytes of filler): {} of {} answers refused",
        pending.len(),
        EACH - EACH / 2
    );
    // Full until the Wait timers are due and a bit more, so they fire into it.
    tokio::time::sleep_until((timers_due.max(full) + Duration::from_secs(2)).into()).await;
    assert!(node.alive(), "the node exited on a full disk");
    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    assert!(
        node.log()
            .contains("storage failed; holding reply-less inputs"),
        "no reply-less input was held while the disk was full"
    );

    // ---- space is back ----------------------------------------------------------------
    for (i, token) in &pending {
        let output = json!({"answer": format!("after-{i}")}).to_string();
        until_ok("SendTaskSuccess after space came back", || {
            sfn.send_task_success()
                .task_token(token)
                .output(&output)
                .send()
        })
        .await;
        acked.push((*i, output));
    }
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
                freed.elapsed() < Duration::from_secs(120),
                "{arn} still RUNNING two minutes after space came back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "all {} executions SUCCEEDED {:.1?} after space came back",
        executions.len(),
        freed.elapsed()
    );
    assert!(node.alive(), "the node is the same process");

    for name in &refused {
        let gone = sfn
            .describe_execution()
            .execution_arn(execution_arn(&waits, name))
            .send()
            .await
            .expect_err("a StartExecution refused on a full disk started nothing");
        assert_eq!(gone.code(), Some("ExecutionDoesNotExist"), "{name}");
    }
    check_histories(&sfn, &executions, &acked).await;

    let after = sfn
        .start_execution()
        .state_machine_arn(&waits)
        .name("after-full")
        .send()
        .await
        .expect("StartExecution after space came back")
        .execution_arn;
    until_ok("the new execution", || async {
        match sfn.describe_execution().execution_arn(&after).send().await {
            Ok(d) if d.status == ExecutionStatus::Succeeded => Ok(()),
            Ok(d) => Err(std::io::Error::other(format!("{:?}", d.status))),
            Err(e) => Err(std::io::Error::other(why(&e))),
        }
    })
    .await;
    drop(node);
}
