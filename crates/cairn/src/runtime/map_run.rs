//! The Map Run driver: runs a Distributed Map's items as child executions.
//!
//! The core resolves everything about the Map on entering it (items after ItemSelector and
//! ItemBatcher, concurrency, tolerance, the children's definition and labelled machine) and
//! hands it over as the parameters of an internal task ([`cairn_core::MAP_RUN_RESOURCE`]);
//! this driver answers that task with the Map's result (the children's outputs in item order)
//! or a failure (`States.ExceedToleratedFailureThreshold`), which the core turns into
//! `MapRunSucceeded` / `MapRunFailed` and the Map state's end.
//!
//! Durable progress: the run's `map_runs` row (status, counts, the settings UpdateMapRun
//! changes) and, per STANDARD child, its execution row and its link to the run. Children are
//! started with names derived from the Map Run and the item index, so a driver started again
//! after a restart (the task is recovered like any other) finds each child it started
//! before instead of starting it twice: StartExecution's idempotence answers a running child,
//! and a closed one is read back with its outcome. Counts are recomputed on that pass.
//!
//! EXPRESS children keep no record: they run as tasks of the driver (in its `JoinSet`), which
//! awaits their end in memory and drops them when the run is aborted; a restart runs them
//! again (AWS's Express children are at-least-once too).
//!
//! Must not: decide anything the core decides (which items, what each child gets, what counts
//! as exceeding the tolerance: [`cairn_core::tolerance_exceeded`]), or touch the parent's
//! history (it answers the task; the writer commits).

use super::children::{Children, MapChild, MapChildStart, Started};
use super::on_store;
use super::resources::{Answer, Invocation, ResourceEnv, TaskError};
use crate::clock::now_ms;
use cairn_core::{tolerance_exceeded, MapRunSpec};
use cairn_store::MapRunRecord;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Prefix of the "child" a Map Run task records with the resource runner, so that
/// withdrawing the task (the parent stopped) aborts the run: see [`abort`].
pub(crate) const CHILD_PREFIX: &str = "mapRun:";

const EXCEEDED: &str = "States.ExceedToleratedFailureThreshold";
const EXCEEDED_CAUSE: &str = "The specified tolerated failure threshold was exceeded";

/// How often, at most, the counts are written while children finish (and how often the
/// settings are read again without a nudge, for a run updated through another node).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Map Runs driven by this process, to nudge when UpdateMapRun changed their settings.
static LIVE: LazyLock<Mutex<HashMap<String, Arc<Notify>>>> = LazyLock::new(Default::default);

/// UpdateMapRun changed the run's settings in the store: its driver reads them now.
pub(crate) fn settings_changed(map_run_arn: &str) {
    if let Some(n) = LIVE.lock().expect("live map runs").get(map_run_arn) {
        n.notify_one();
    }
}

/// The answer to a Map Run task: the run, driven to its end in the background.
pub(crate) fn answer(env: &ResourceEnv, call: &Invocation) -> Answer {
    let spec: MapRunSpec = match serde_json::from_value(call.parameters.clone()) {
        Ok(s) => s,
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    let child = format!("{CHILD_PREFIX}{}", spec.map_run_arn);
    Answer::Waiting {
        later: Box::pin(drive(env.clone(), call.execution_arn.clone(), spec)),
        child,
    }
}

/// How a child ended: its status (`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`) and its
/// output, or its error and cause.
struct End {
    status: String,
    output: Value,
}

impl End {
    fn of(status: &str, output: Option<&str>, error: Option<String>, cause: Option<String>) -> End {
        let output = match status {
            "SUCCEEDED" => output
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null),
            "TIMED_OUT" => {
                json!({"Error": error.or_else(|| Some("States.Timeout".into())), "Cause": cause})
            }
            _ => json!({"Error": error, "Cause": cause}),
        };
        End {
            status: status.to_string(),
            output,
        }
    }

    fn failed(cause: String) -> End {
        End::of("FAILED", None, Some("States.Runtime".into()), Some(cause))
    }
}

/// DescribeMapRun's `itemCounts` / `executionCounts`.
#[derive(Default, Clone, Copy)]
struct Counts {
    pending: u64,
    running: u64,
    succeeded: u64,
    failed: u64,
    timed_out: u64,
    aborted: u64,
    total: u64,
}

impl Counts {
    fn new(total: u64) -> Counts {
        Counts {
            pending: total,
            total,
            ..Counts::default()
        }
    }

    fn started(&mut self, n: u64) {
        self.pending -= n.min(self.pending);
        self.running += n;
    }

    fn ended(&mut self, n: u64, status: &str) {
        self.running -= n.min(self.running);
        match status {
            "SUCCEEDED" => self.succeeded += n,
            "TIMED_OUT" => self.timed_out += n,
            "ABORTED" => self.aborted += n,
            _ => self.failed += n,
        }
    }

    fn unsuccessful(&self) -> u64 {
        self.failed + self.timed_out + self.aborted
    }

    fn json(&self) -> String {
        json!({
            "pending": self.pending,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timedOut": self.timed_out,
            "aborted": self.aborted,
            "total": self.total,
            "resultsWritten": 0,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        })
        .to_string()
    }
}

/// The run's progress as the driver keeps it.
struct Progress {
    items: Counts,
    executions: Counts,
    written: Instant,
    /// Changed since last written.
    dirty: bool,
}

/// How many items a child carries (its batch's, with an ItemBatcher).
fn items_of(spec: &MapRunSpec, input: &Value) -> u64 {
    match input.get("Items").and_then(Value::as_array) {
        Some(a) if spec.batched => a.len() as u64,
        _ => 1,
    }
}

async fn drive(env: ResourceEnv, parent: String, spec: MapRunSpec) -> Answer {
    let Some(children) = env.children() else {
        return Answer::Failed(TaskError::new(
            "States.Runtime",
            "The engine is shutting down",
        ));
    };
    let nudge = Arc::new(Notify::new());
    LIVE.lock()
        .expect("live map runs")
        .insert(spec.map_run_arn.clone(), nudge.clone());
    let answer = run(&env, &children, &parent, &spec, &nudge).await;
    LIVE.lock()
        .expect("live map runs")
        .remove(&spec.map_run_arn);
    answer
}

async fn run(
    env: &ResourceEnv,
    children: &Arc<Children>,
    parent: &str,
    spec: &MapRunSpec,
    nudge: &Notify,
) -> Answer {
    let definition = match cairn_asl::parse_definition_str(&spec.definition) {
        Ok(d) => Arc::new(d),
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    let total_items: u64 = spec.items.iter().map(|i| items_of(spec, i)).sum();
    let mut progress = Progress {
        items: Counts::new(total_items),
        executions: Counts::new(spec.items.len() as u64),
        written: Instant::now(),
        dirty: false,
    };
    let record = MapRunRecord {
        arn: spec.map_run_arn.clone(),
        execution_arn: parent.to_string(),
        state_machine_arn: spec.state_machine_arn.clone(),
        status: "RUNNING".into(),
        start_date_ms: now_ms(),
        stop_date_ms: None,
        max_concurrency: spec.max_concurrency,
        tolerated_failure_count: spec.tolerated_failure_count.unwrap_or(0),
        tolerated_failure_percentage: spec.tolerated_failure_percentage.unwrap_or(0.0),
        item_counts: progress.items.json(),
        execution_counts: progress.executions.json(),
    };
    // A driver started again after a restart keeps the run's settings (UpdateMapRun's too).
    let mut settings = match on_store(children.store(), move |s| s.create_map_run(&record)).await {
        Ok(r) => r,
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    let total = spec.items.len();
    let mut results = vec![Value::Null; total];
    let mut running: JoinSet<(usize, End)> = JoinSet::new();
    let mut next = 0usize;
    loop {
        let limit = match settings.max_concurrency {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        while next < total && running.len() < limit {
            let i = next;
            next += 1;
            let n = items_of(spec, &spec.items[i]);
            progress.items.started(n);
            progress.executions.started(1);
            progress.dirty = true;
            start_child(env, children, spec, &definition, i, &mut running).await;
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            _ = nudge.notified() => {
                settings = reread(children, settings).await;
                continue;
            }
            // Counts written (children started, none ended lately) and settings read again
            // (an update through another node) while the run goes on.
            _ = tokio::time::sleep(PROGRESS_EVERY), if progress.dirty || next < total => {
                if progress.dirty {
                    write(children, spec, &mut progress, "RUNNING").await;
                }
                settings = reread(children, settings).await;
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (i, end) = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "a map run child task ended abnormally");
                return Answer::Failed(TaskError::new("States.Runtime", e.to_string()));
            }
        };
        let n = items_of(spec, &spec.items[i]);
        progress.items.ended(n, &end.status);
        progress.executions.ended(1, &end.status);
        progress.dirty = true;
        results[i] = end.output;
        if end.status != "SUCCEEDED"
            && tolerance_exceeded(
                progress.items.unsuccessful(),
                total_items,
                Some(settings.tolerated_failure_count),
                Some(settings.tolerated_failure_percentage),
            )
        {
            running.abort_all();
            stop_children(children, &spec.map_run_arn).await;
            write(children, spec, &mut progress, "FAILED").await;
            return Answer::Failed(TaskError::new(EXCEEDED, EXCEEDED_CAUSE));
        }
        if progress.written.elapsed() >= PROGRESS_EVERY {
            write(children, spec, &mut progress, "RUNNING").await;
            settings = reread(children, settings).await;
        }
    }
    write(children, spec, &mut progress, "SUCCEEDED").await;
    Answer::Succeeded(Value::Array(results).to_string())
}

/// Start child `i` (or find it again) and have `running` await its end.
async fn start_child(
    env: &ResourceEnv,
    children: &Arc<Children>,
    spec: &MapRunSpec,
    definition: &Arc<cairn_asl::StateMachine>,
    i: usize,
    running: &mut JoinSet<(usize, End)>,
) {
    let request = MapChildStart {
        state_machine_arn: spec.state_machine_arn.clone(),
        name: child_name(&spec.map_run_arn, i),
        input_text: spec.items[i].to_string(),
        definition: definition.clone(),
        definition_text: spec.definition.clone(),
        role_arn: spec.role_arn.clone(),
        express: spec.execution_type == "EXPRESS",
    };
    match children.start_map_child(env, request).await {
        Ok(MapChild::Express { run, .. }) => {
            running.spawn(async move {
                let e = run.await;
                let end = End::of(e.status.as_str(), e.output.as_deref(), e.error, e.cause);
                (i, end)
            });
        }
        Ok(MapChild::Standard(
            Started::Running { execution_arn, .. } | Started::NameTaken { execution_arn },
        )) => {
            let (run_arn, child) = (spec.map_run_arn.clone(), execution_arn.clone());
            let linked = on_store(children.store(), move |s| {
                s.link_map_run_execution(&run_arn, &child, i as u64)
            })
            .await;
            if let Err(e) = linked {
                tracing::warn!(execution_arn, error = %e, "map run child not linked");
            }
            let children = children.clone();
            running.spawn(async move { (i, standard_end(&children, &execution_arn).await) });
        }
        // The child could not be started at all: the item fails like a failed child.
        Err(e) => {
            running.spawn(async move { (i, End::failed(e.message)) });
        }
    }
}

async fn standard_end(children: &Children, execution_arn: &str) -> End {
    match children.closed(execution_arn).await {
        Ok(Some(r)) => End::of(&r.status, r.output.as_deref(), r.error, r.cause),
        Ok(None) => End::failed(format!("Execution Does Not Exist: '{execution_arn}'")),
        Err(e) => End::failed(e.message),
    }
}

/// The run's settings as stored now (UpdateMapRun may have changed them).
async fn reread(children: &Children, current: MapRunRecord) -> MapRunRecord {
    let arn = current.arn.clone();
    match on_store(children.store(), move |s| s.get_map_run(&arn)).await {
        Ok(Some(r)) => r,
        _ => current,
    }
}

async fn write(children: &Children, spec: &MapRunSpec, progress: &mut Progress, status: &str) {
    let (arn, status) = (spec.map_run_arn.clone(), status.to_string());
    let (items, executions) = (progress.items.json(), progress.executions.json());
    let stop = (status != "RUNNING").then(now_ms);
    let written = on_store(children.store(), move |s| {
        s.update_map_run_progress(&arn, &status, stop, &items, &executions)
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(map_run = spec.map_run_arn, error = %e, "map run progress not kept");
    }
    progress.written = Instant::now();
    progress.dirty = false;
}

/// Stop the run's STANDARD children that still run.
async fn stop_children(children: &Children, map_run_arn: &str) {
    let arn = map_run_arn.to_string();
    let listed = on_store(children.store(), move |s| {
        s.list_map_run_executions(&arn, Some("RUNNING"), None, usize::MAX)
    })
    .await;
    for r in listed.unwrap_or_default() {
        if let Err(e) = children.stop(&r.arn, None, None).await {
            tracing::debug!(execution_arn = %r.arn, error = %e.message, "child not stopped");
        }
    }
}

/// The Map Run's task was withdrawn (the parent stopped, timed out, or a sibling failed):
/// its driver has been dropped (EXPRESS children with it); the run is ABORTED and its
/// STANDARD children are stopped.
pub(crate) async fn abort(env: &ResourceEnv, map_run_arn: &str) {
    let Some(children) = env.children() else {
        return;
    };
    LIVE.lock().expect("live map runs").remove(map_run_arn);
    let arn = map_run_arn.to_string();
    let aborted = on_store(children.store(), move |s| {
        let Some(run) = s.get_map_run(&arn)? else {
            return Ok(());
        };
        // The counts as last written, with what was running now aborted.
        let abort_running = |text: &str| -> String {
            let mut v: Value = serde_json::from_str(text).unwrap_or(json!({}));
            let running = v["running"].as_u64().unwrap_or(0);
            v["running"] = json!(0);
            v["aborted"] = json!(v["aborted"].as_u64().unwrap_or(0) + running);
            v.to_string()
        };
        let (items, executions) = (
            abort_running(&run.item_counts),
            abort_running(&run.execution_counts),
        );
        s.update_map_run_progress(&arn, "ABORTED", Some(now_ms()), &items, &executions)
            .map(|_| ())
    })
    .await;
    if let Err(e) = aborted {
        tracing::warn!(map_run = map_run_arn, error = %e, "map run not marked aborted");
    }
    stop_children(&children, map_run_arn).await;
}

/// A UUID-shaped child name, the same every time for this item of this Map Run (SHA-256,
/// stable across builds, so a restarted engine of another version still finds its children).
fn child_name(map_run_arn: &str, index: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(map_run_arn.as_bytes())
        .chain_update((index as u64).to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_names_are_stable_and_valid() {
        let a = child_name("arn:aws:states:us-east-1:1:mapRun:m/L:x", 3);
        assert_eq!(a, child_name("arn:aws:states:us-east-1:1:mapRun:m/L:x", 3));
        assert_ne!(a, child_name("arn:aws:states:us-east-1:1:mapRun:m/L:x", 4));
        assert!(cairn_api::validate_name(&a).is_ok());
    }

    #[test]
    fn counts_follow_children() {
        let mut c = Counts::new(3);
        c.started(2);
        c.ended(1, "SUCCEEDED");
        c.ended(1, "TIMED_OUT");
        let v: Value = serde_json::from_str(&c.json()).unwrap();
        assert_eq!(v["pending"], 1);
        assert_eq!(v["running"], 0);
        assert_eq!(v["succeeded"], 1);
        assert_eq!(v["timedOut"], 1);
        assert_eq!(c.unsuccessful(), 1);
    }
}
