//! The Map Run driver: runs a Distributed Map's items as child executions.
//!
//! The core resolves everything about the Map on entering it (items after ItemSelector and
//! ItemBatcher, concurrency, tolerance, the children's definition and labelled machine) and
//! hands it over as the parameters of an internal task ([`cairn_core::MAP_RUN_RESOURCE`]);
//! this driver answers that task with the Map's result (the children's outputs in item order)
//! or a failure (`States.ExceedToleratedFailureThreshold`), which the core turns into
//! `MapRunSucceeded` / `MapRunFailed` and the Map state's end.
//!
//! Children are started through the runtime's [`Children`] with names derived from the Map
//! Run and the item index, so a driver started again after a restart (the task is recovered
//! like any other) finds each child it started before instead of starting it twice:
//! StartExecution's idempotence answers a running child, and a closed one is read back. The
//! driver itself keeps nothing that a restart would need.
//!
//! EXPRESS children keep no record: they run as tasks of the driver (in its `JoinSet`), which
//! awaits their end in memory; a restart runs them again (AWS's Express children are
//! at-least-once too).
//!
//! Must not: decide anything the core decides (which items, what each child gets, what counts
//! as exceeding the tolerance: [`cairn_core::tolerance_exceeded`]), or touch the parent's
//! history (it answers the task; the writer commits).

use super::children::{Children, MapChild, MapChildStart, Started};
use super::resources::{Answer, Invocation, ResourceEnv, TaskError};
use cairn_core::{tolerance_exceeded, ExecutionStatus, MapRunSpec};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::task::JoinSet;

/// Prefix of the "child" a Map Run task records with the resource runner, so that
/// withdrawing the task (the parent stopped) aborts the run: see [`abort`].
pub(crate) const CHILD_PREFIX: &str = "mapRun:";

const EXCEEDED: &str = "States.ExceedToleratedFailureThreshold";
const EXCEEDED_CAUSE: &str = "The specified tolerated failure threshold was exceeded";

/// Map Runs driven by this process: their running STANDARD children, so that a stopped
/// parent stops them.
static LIVE: LazyLock<Mutex<HashMap<String, Arc<Live>>>> = LazyLock::new(Default::default);

#[derive(Default)]
struct Live {
    running: Mutex<HashMap<usize, String>>,
}

/// The answer to a Map Run task: the run, driven to its end in the background.
pub(crate) fn answer(env: &ResourceEnv, call: &Invocation) -> Answer {
    let spec: MapRunSpec = match serde_json::from_value(call.parameters.clone()) {
        Ok(s) => s,
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    let child = format!("{CHILD_PREFIX}{}", spec.map_run_arn);
    Answer::Waiting {
        later: Box::pin(drive(env.clone(), spec)),
        child,
    }
}

/// How a child ended.
enum End {
    Succeeded(Value),
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
}

impl End {
    fn of(status: &str, output: Option<&str>, error: Option<String>, cause: Option<String>) -> End {
        match status {
            "SUCCEEDED" => End::Succeeded(
                output
                    .and_then(|o| serde_json::from_str(o).ok())
                    .unwrap_or(Value::Null),
            ),
            "TIMED_OUT" => End::Failed {
                error: error.or_else(|| Some("States.Timeout".into())),
                cause,
            },
            _ => End::Failed { error, cause },
        }
    }
}

async fn drive(env: ResourceEnv, spec: MapRunSpec) -> Answer {
    let Some(children) = env.children() else {
        return Answer::Failed(TaskError::new(
            "States.Runtime",
            "The engine is shutting down",
        ));
    };
    let definition = match cairn_asl::parse_definition_str(&spec.definition) {
        Ok(d) => Arc::new(d),
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    let live = Arc::new(Live::default());
    LIVE.lock()
        .expect("live map runs")
        .insert(spec.map_run_arn.clone(), live.clone());
    let answer = run(&env, &children, &spec, definition, &live).await;
    // Aborted drivers never get here: `abort` takes their entry out.
    LIVE.lock()
        .expect("live map runs")
        .remove(&spec.map_run_arn);
    answer
}

async fn run(
    env: &ResourceEnv,
    children: &Arc<Children>,
    spec: &MapRunSpec,
    definition: Arc<cairn_asl::StateMachine>,
    live: &Live,
) -> Answer {
    let total = spec.items.len();
    let limit = match spec.max_concurrency {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut results = vec![Value::Null; total];
    let mut running: JoinSet<(usize, End)> = JoinSet::new();
    let mut next = 0usize;
    let mut failed = 0u64;
    loop {
        while next < total && running.len() < limit {
            let i = next;
            next += 1;
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
                        let status = e.status;
                        let end = match status {
                            ExecutionStatus::Succeeded => {
                                End::of("SUCCEEDED", e.output.as_deref(), None, None)
                            }
                            s => End::of(s.as_str(), None, e.error, e.cause),
                        };
                        (i, end)
                    });
                }
                Ok(MapChild::Standard(
                    Started::Running { execution_arn, .. } | Started::NameTaken { execution_arn },
                )) => {
                    live.running
                        .lock()
                        .expect("running children")
                        .insert(i, execution_arn.clone());
                    let children = children.clone();
                    running
                        .spawn(async move { (i, standard_end(&children, &execution_arn).await) });
                }
                Err(e) => {
                    // The child could not be started at all (its definition refused): the
                    // item fails like a child that failed.
                    running.spawn(async move {
                        (
                            i,
                            End::Failed {
                                error: Some("States.Runtime".into()),
                                cause: Some(e.message),
                            },
                        )
                    });
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, end) = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "a map run child task ended abnormally");
                return Answer::Failed(TaskError::new("States.Runtime", e.to_string()));
            }
        };
        live.running.lock().expect("running children").remove(&i);
        match end {
            End::Succeeded(v) => results[i] = v,
            End::Failed { error, cause } => {
                failed += 1;
                results[i] = json!({"Error": error, "Cause": cause});
                if tolerance_exceeded(
                    failed,
                    total as u64,
                    spec.tolerated_failure_count,
                    spec.tolerated_failure_percentage,
                ) {
                    running.abort_all();
                    stop_running(children, live).await;
                    return Answer::Failed(TaskError::new(EXCEEDED, EXCEEDED_CAUSE));
                }
            }
        }
    }
    Answer::Succeeded(Value::Array(results).to_string())
}

async fn standard_end(children: &Children, execution_arn: &str) -> End {
    match children.closed(execution_arn).await {
        Ok(Some(r)) => End::of(&r.status, r.output.as_deref(), r.error, r.cause),
        Ok(None) => End::Failed {
            error: Some("States.Runtime".into()),
            cause: Some(format!("Execution Does Not Exist: '{execution_arn}'")),
        },
        Err(e) => End::Failed {
            error: Some("States.Runtime".into()),
            cause: Some(e.message),
        },
    }
}

async fn stop_running(children: &Children, live: &Live) {
    let arns: Vec<String> = live
        .running
        .lock()
        .expect("running children")
        .drain()
        .map(|(_, a)| a)
        .collect();
    for arn in arns {
        if let Err(e) = children.stop(&arn, None, None).await {
            tracing::debug!(execution_arn = %arn, error = %e.message, "child not stopped");
        }
    }
}

/// The Map Run's task was withdrawn (the parent stopped, timed out, or a sibling failed):
/// its driver has been dropped (EXPRESS children with it); stop its STANDARD children.
pub(crate) async fn abort(env: &ResourceEnv, map_run_arn: &str) {
    let Some(children) = env.children() else {
        return;
    };
    let live = LIVE.lock().expect("live map runs").remove(map_run_arn);
    if let Some(live) = live {
        stop_running(&children, &live).await;
    }
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
