//! The `.sync` pattern of ECS `runTask`, Batch `submitJob`, Glue `startJobRun` and SageMaker's
//! job creations (`createTrainingJob`, `createTransformJob`, `createProcessingJob`,
//! `createHyperParameterTuningJob`, `createLabelingJob`: the SageMaker APIs AWS lists with
//! `.sync`): after the request-response call (recorded as `TaskSubmitted`), poll the job until
//! it ends, as Step Functions does, and stop it when the task is withdrawn (execution stopped,
//! timed out, heartbeat missed, branch failed).
//!
//! The task succeeds with the job's final description (ECS: the task from DescribeTasks, ended
//! well when every container exited 0; Batch: the job from DescribeJobs; Glue: the `JobRun`
//! from GetJobRun; SageMaker: the whole `Describe<Kind>` answer, ended well at `Completed`)
//! and fails with `States.TaskFailed` and that description as cause when the job did not
//! succeed.
//!
//! Must not: poll without pause (every [`interval`], scaled like Wait states), or keep
//! anything beyond the job's reference (`child`: `aws-job:<json>`).

use super::{call, model, CallError};
use crate::runtime::resources::{Answer, Later, ResourceEnv};
use serde_json::{json, Value};
use std::time::Duration;

/// How a job is named in the runner's `child` (nested executions are ARNs).
pub(crate) const CHILD_PREFIX: &str = "aws-job:";

/// Whether `.sync` is built for this request-response action.
pub(crate) fn supports(service: &str, action: &str) -> bool {
    match service {
        "ecs" => action == "runTask",
        "batch" => action == "submitJob",
        "glue" => action == "startJobRun",
        "sagemaker" => sagemaker_kind(action).is_some(),
        _ => false,
    }
}

/// `TrainingJob` for `createTrainingJob`: names the Describe/Stop actions, the name member
/// and the status member of a SageMaker job.
fn sagemaker_kind(action: &str) -> Option<&'static str> {
    Some(match action {
        "createTrainingJob" => "TrainingJob",
        "createTransformJob" => "TransformJob",
        "createProcessingJob" => "ProcessingJob",
        "createHyperParameterTuningJob" => "HyperParameterTuningJob",
        "createLabelingJob" => "LabelingJob",
        _ => return None,
    })
}

/// What identifies a submitted job, from the call's action, parameters and result.
pub(crate) fn job(service: &str, action: &str, params: &Value, result: &Value) -> Option<Value> {
    match service {
        "sagemaker" => {
            let kind = sagemaker_kind(action)?;
            Some(json!({
                "service": "sagemaker",
                "kind": kind,
                "name": params.get(format!("{kind}Name"))?,
            }))
        }
        "ecs" => {
            let task = result.get("Tasks")?.get(0)?;
            Some(json!({
                "service": "ecs",
                "cluster": task.get("ClusterArn").or(params.get("Cluster")),
                "task": task.get("TaskArn")?,
            }))
        }
        "batch" => Some(json!({"service": "batch", "job": result.get("JobId")?})),
        "glue" => Some(json!({
            "service": "glue",
            "name": params.get("JobName")?,
            "run": result.get("JobRunId")?,
        })),
        _ => None,
    }
}

/// How long between two polls.
fn interval(env: &ResourceEnv) -> Duration {
    Duration::from_secs_f64((2.0 * env.config.wait_time_scale).clamp(0.05, 2.0))
}

/// Poll the job to its end.
pub(crate) fn later(env: &ResourceEnv, job: Value) -> Later {
    let env = env.clone();
    Box::pin(async move {
        loop {
            tokio::time::sleep(interval(&env)).await;
            match describe(&env, &job).await {
                Ok(Some((true, d))) => return Answer::json(&d),
                Ok(Some((false, d))) => return Answer::fail("States.TaskFailed", d.to_string()),
                Ok(None) => continue,
                Err(e) => return Answer::Failed(e),
            }
        }
    })
}

/// The job's description once it has ended: (succeeded, description); `None` while running.
async fn describe(
    env: &ResourceEnv,
    job: &Value,
) -> Result<Option<(bool, Value)>, crate::runtime::resources::TaskError> {
    let s = |k: &str| job.get(k).cloned().unwrap_or(Value::Null);
    let kind = job["kind"].as_str().unwrap_or_default();
    let (service, action, params) = match job["service"].as_str() {
        Some("ecs") => (
            "ecs",
            "describeTasks".to_string(),
            json!({"Cluster": s("cluster"), "Tasks": [s("task")]}),
        ),
        Some("sagemaker") => (
            "sagemaker",
            format!("describe{kind}"),
            json!({ format!("{kind}Name"): s("name") }),
        ),
        Some("batch") => (
            "batch",
            "describeJobs".to_string(),
            json!({"Jobs": [s("job")]}),
        ),
        _ => (
            "glue",
            "getJobRun".to_string(),
            json!({"JobName": s("name"), "RunId": s("run")}),
        ),
    };
    let svc = model::service(service).expect("known service");
    let resource = format!("arn:aws:states:::{service}:{action}");
    let called = match call(env, &svc, &resource, &action, &params).await {
        Ok(c) => c.result,
        // A lost answer or a throttled poll: try again at the next poll.
        Err(CallError::NoAnswer(_)) => return Ok(None),
        Err(CallError::Service { status, .. }) if status == 429 || status >= 500 => {
            return Ok(None)
        }
        Err(CallError::Service { code, message, .. }) => {
            return Err(crate::runtime::resources::TaskError::new(
                "States.TaskFailed",
                format!("{code}: {message}"),
            ))
        }
        Err(CallError::Task(e)) => return Err(e),
    };
    Ok(match service {
        "ecs" => {
            let task = called["Tasks"].get(0).cloned().unwrap_or(Value::Null);
            if task["LastStatus"] != "STOPPED" {
                return Ok(None);
            }
            let ok = task["Containers"]
                .as_array()
                .map(|cs| cs.iter().all(|c| c["ExitCode"] == 0))
                .unwrap_or(false);
            Some((ok, task))
        }
        "sagemaker" => match called[format!("{kind}Status")].as_str() {
            Some("Completed") => Some((true, called)),
            Some("Failed" | "Stopped") => Some((false, called)),
            _ => None,
        },
        "batch" => {
            let j = called["Jobs"].get(0).cloned().unwrap_or(Value::Null);
            match j["Status"].as_str() {
                Some("SUCCEEDED") => Some((true, j)),
                Some("FAILED") => Some((false, j)),
                _ => None,
            }
        }
        _ => {
            let r = called["JobRun"].clone();
            match r["JobRunState"].as_str() {
                Some("SUCCEEDED") => Some((true, r)),
                Some("FAILED" | "STOPPED" | "TIMEOUT" | "ERROR" | "EXPIRED") => Some((false, r)),
                _ => None,
            }
        }
    })
}

/// Stop a job whose task was withdrawn (best effort: the task has ended either way).
pub(crate) async fn stop(env: &ResourceEnv, job: &str) {
    let Ok(job) = serde_json::from_str::<Value>(job) else {
        return;
    };
    let s = |k: &str| job.get(k).cloned().unwrap_or(Value::Null);
    let reason = "Task stopped by Step Functions: the state was aborted";
    let kind = job["kind"].as_str().unwrap_or_default();
    let (service, action, params) = match job["service"].as_str() {
        Some("ecs") => (
            "ecs",
            "stopTask".to_string(),
            json!({"Cluster": s("cluster"), "Task": s("task"), "Reason": reason}),
        ),
        Some("batch") => (
            "batch",
            "terminateJob".to_string(),
            json!({"JobId": s("job"), "Reason": reason}),
        ),
        Some("glue") => (
            "glue",
            "batchStopJobRun".to_string(),
            json!({"JobName": s("name"), "JobRunIds": [s("run")]}),
        ),
        Some("sagemaker") => (
            "sagemaker",
            format!("stop{kind}"),
            json!({ format!("{kind}Name"): s("name") }),
        ),
        _ => return,
    };
    let svc = model::service(service).expect("known service");
    let resource = format!("arn:aws:states:::{service}:{action}");
    if call(env, &svc, &resource, &action, &params).await.is_err() {
        tracing::warn!("could not stop {job} after its task was withdrawn");
    }
}
