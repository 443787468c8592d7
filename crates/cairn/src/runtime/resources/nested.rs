//! Step Functions calling itself: the optimized `states:startExecution` integration (request/
//! response, `.sync`, `.sync:2`, `.waitForTaskToken`) and `aws-sdk:sfn:<action>` for every
//! operation this server answers. The optimized integration starts, stops and awaits its
//! child through the runtime's [`Children`] (refused exactly as StartExecution refuses);
//! `aws-sdk:sfn:*` is the API itself, so it goes through the operation handlers in-process
//! (`crate::api::call`) and behaves exactly like the same call over HTTP.
//!
//! `.sync` answers twice: `TaskSubmitted` with the StartExecution response, then, when the
//! child has closed, `TaskSucceeded` with a DescribeExecution-like object (`Input`/`Output` as
//! JSON text; parsed with `.sync:2`), or `TaskFailed` `States.TaskFailed` whose cause is that
//! object as JSON text when the child failed, timed out or was aborted.
//!
//! A child started without a `Name` gets one derived from the parent and the task, so a task
//! repeated after a crash finds its running child again instead of starting a second one.
//!
//! Must not: reach into the store or the writer except through `Children`, the engine and
//! the handlers.

use super::{lower_first, upper_first, Answer, Invocation, Later, ResourceEnv, TaskError};
use crate::api::ops::execution_common::describe;
use crate::api::{self, Ctx};
use crate::app::App;
use crate::runtime::children::{ChildStart, Children, Started};
use cairn_api::{time::epoch_seconds, ApiError, TARGET_PREFIX};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;

/// `arn:aws:states:::states:{action}` with `.waitForTaskToken` already taken off.
pub(super) async fn optimized(
    env: &ResourceEnv,
    call: &Invocation,
    action: &str,
    callback: bool,
) -> Answer {
    let version = match action {
        "startExecution" => None,
        "startExecution.sync" => Some(1),
        "startExecution.sync:2" => Some(2),
        _ => return super::unsupported::answer(&call.resource),
    };
    let Some(children) = env.children() else {
        return shutting_down();
    };
    let p = &call.parameters;
    let Some(machine) = p.get("StateMachineArn").and_then(Value::as_str) else {
        return Answer::fail(
            "States.Runtime",
            "The field 'StateMachineArn' is required for arn:aws:states:::states:startExecution",
        );
    };
    let given_name = p.get("Name").and_then(Value::as_str).map(str::to_string);
    let derived_name = given_name.is_none();
    let request = ChildStart {
        state_machine_arn: machine.to_string(),
        name: given_name.unwrap_or_else(|| child_name(call)),
        input_text: input_text(p.get("Input")),
        trace_parent: call.traceparent.clone(),
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let (execution_arn, start_date_ms) = match children.start(env, request).await {
        Ok(Started::Running {
            execution_arn,
            start_date_ms,
            ..
        }) => (execution_arn, start_date_ms),
        // The name is this task's own, so the child is the one this very task started
        // before (the task is being repeated after a restart): carry on with it.
        Ok(Started::NameTaken { execution_arn }) if derived_name => {
            return resume(children, execution_arn, version, request_id).await;
        }
        Ok(Started::NameTaken { execution_arn }) => {
            let e = ApiError::execution_exists(&execution_arn);
            return Answer::Failed(optimized_error(&e, &request_id));
        }
        Err(e) => return Answer::Failed(optimized_error(&e, &request_id)),
    };
    let response = start_response(&execution_arn, start_date_ms, &request_id);
    // StartExecution answers an earlier start of the same name and input with that
    // execution: a child started before this call means the task is repeated after a
    // restart, and its TaskSubmitted is in the history already.
    let started_before = start_date_ms < now_ms;
    match (version, callback) {
        (Some(version), _) if started_before => Answer::Waiting {
            later: wait_for_child(children, execution_arn.clone(), version),
            child: execution_arn,
        },
        (None, false) => Answer::json(&response),
        (None, true) => Answer::Submitted {
            output: response.to_string(),
            later: None,
            child: None,
        },
        (Some(version), _) => Answer::Submitted {
            output: response.to_string(),
            later: Some(wait_for_child(children, execution_arn.clone(), version)),
            child: Some(execution_arn),
        },
    }
}

/// A `.sync` task re-run after a restart whose `TaskSubmitted` (the StartExecution response)
/// is recorded: wait for that child again, whatever its name and whether or not it has
/// closed meanwhile, instead of starting it again. `None` when the resource is not a `.sync`
/// startExecution or the recorded response names no execution.
pub(super) fn resume_submitted(env: &ResourceEnv, action: &str, submitted: &str) -> Option<Answer> {
    let version = match action {
        "startExecution.sync" => 1,
        "startExecution.sync:2" => 2,
        _ => return None,
    };
    let response: Value = serde_json::from_str(submitted).ok()?;
    let execution_arn = response.get("ExecutionArn")?.as_str()?.to_string();
    let Some(children) = env.children() else {
        return Some(shutting_down());
    };
    Some(Answer::Waiting {
        later: wait_for_child(children, execution_arn.clone(), version),
        child: execution_arn,
    })
}

/// The child this task started earlier has closed: its answer, as if just waited for.
async fn resume(
    children: Arc<Children>,
    execution_arn: String,
    version: Option<u8>,
    request_id: String,
) -> Answer {
    match version {
        Some(v) => wait_for_child(children, execution_arn, v).await,
        None => match children.record(&execution_arn).await {
            Ok(Some(r)) => Answer::json(&start_response(&r.arn, r.start_date_ms, &request_id)),
            Ok(None) => {
                let e = ApiError::no_such_execution(&execution_arn);
                Answer::Failed(optimized_error(&e, &request_id))
            }
            Err(e) => Answer::Failed(optimized_error(&e, &request_id)),
        },
    }
}

/// `Input` as StartExecution wants it: text kept, JSON serialised, nothing = `{}`.
fn input_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "{}".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// A UUID-shaped name that is the same every time this task is run.
fn child_name(call: &Invocation) -> String {
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (i, &call.execution_arn, call.task).hash(&mut h);
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// One API operation, in-process. Boxed: StartExecution may start an Express execution,
/// which runs resources again (the future would otherwise contain itself).
fn call_api<'a>(
    app: &'a App,
    ctx: &'a Ctx,
    operation: &str,
    body: String,
) -> Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send + 'a>> {
    let target = format!("{TARGET_PREFIX}{operation}");
    Box::pin(async move { api::call(app, ctx, Some(&target), body.as_bytes()).await })
}

fn app(env: &ResourceEnv) -> Option<App> {
    let engine = env.api_engine()?;
    Some(App::new(
        engine.store.clone(),
        engine.config.clone(),
        engine,
    ))
}

fn shutting_down() -> Answer {
    Answer::fail("States.Runtime", "The engine is shutting down")
}

/// Requests made for an execution carry its region and account (the parent's ARN names
/// them), so a nested execution lives in its parent's account.
fn ctx_for(app: &App, call: &Invocation) -> Ctx {
    let mut ctx = Ctx::new(app);
    let parts: Vec<&str> = call.execution_arn.split(':').collect();
    if let Some(region) = parts.get(3).filter(|r| !r.is_empty()) {
        ctx.scope.region = region.to_string();
    }
    if let Some(account) = parts.get(4).filter(|a| !a.is_empty()) {
        ctx.scope.account = account.to_string();
    }
    ctx
}

/// The StartExecution response as Step Functions' Java SDK renders it (observed shape).
fn start_response(execution_arn: &str, start_date_ms: i64, request_id: &str) -> Value {
    // The length of the API's own answer, which the SDK's metadata reports.
    let body_len =
        json!({"executionArn": execution_arn, "startDate": epoch_seconds(start_date_ms)})
            .to_string()
            .len();
    json!({
        "ExecutionArn": execution_arn,
        "SdkHttpMetadata": sdk_http_metadata(body_len, request_id),
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": start_date_ms,
    })
}

fn sdk_http_metadata(body_len: usize, request_id: &str) -> Value {
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers = [
        ("Content-Length", body_len.to_string()),
        ("Content-Type", "application/x-amz-json-1.0".to_string()),
        ("Date", date),
        ("connection", "keep-alive".to_string()),
        ("x-amzn-RequestId", request_id.to_string()),
    ];
    let mut all = Map::new();
    let mut single = Map::new();
    for (k, v) in headers {
        all.insert(k.into(), json!([v]));
        single.insert(k.into(), json!(v));
    }
    json!({"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": 200})
}

/// Epoch seconds (the API's timestamps) as epoch milliseconds (the Java SDK's).
fn millis(v: &Value) -> Value {
    match v.as_f64() {
        Some(s) => json!((s * 1000.0).round() as i64),
        None => v.clone(),
    }
}

/// `StepFunctions.<Code>Exception` with the Java SDK v1 cause format.
fn optimized_error(e: &ApiError, request_id: &str) -> TaskError {
    let code = e.code.as_str();
    TaskError::new(
        format!("StepFunctions.{}", exception(code)),
        format!(
            "{} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: \
             {request_id}; Proxy: null)",
            e.message
        ),
    )
}

fn exception(code: &str) -> String {
    if code.ends_with("Exception") {
        code.to_string()
    } else {
        format!("{code}Exception")
    }
}

/// The parent's `.sync` task was withdrawn (parent stopped, timed out, branch failed): stop
/// the child as AWS does. A child that has already closed stays as it is.
pub(super) async fn stop_child(env: &ResourceEnv, execution_arn: &str) {
    let Some(children) = env.children() else {
        return;
    };
    if let Err(e) = children.stop(execution_arn, None, None).await {
        tracing::debug!(execution_arn, error = %e.message, "child not stopped");
    }
}

/// Resolve when the child has closed, with its DescribeExecution-like answer.
fn wait_for_child(children: Arc<Children>, execution_arn: String, version: u8) -> Later {
    Box::pin(async move {
        let request_id = uuid::Uuid::new_v4().to_string();
        let record = match children.closed(&execution_arn).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                let e = ApiError::no_such_execution(&execution_arn);
                return Answer::Failed(optimized_error(&e, &request_id));
            }
            Err(_) => return shutting_down(),
        };
        let described = describe(&record, true, children.redrive_policy());
        let out = sync_output(&described, version);
        if record.status == "SUCCEEDED" {
            Answer::json(&out)
        } else {
            Answer::fail("States.TaskFailed", out.to_string())
        }
    })
}

/// DescribeExecution's answer with the SDK's member names, alphabetical as AWS prints it;
/// `.sync:2` parses `Input` and `Output`.
fn sync_output(described: &Value, version: u8) -> Value {
    let Value::Object(fields) = pascal_case(described, true) else {
        return Value::Null;
    };
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    let mut out = Map::new();
    for k in keys {
        let mut v = fields[k].clone();
        if version == 2 && (k == "Input" || k == "Output") {
            if let Some(parsed) = v.as_str().and_then(|s| serde_json::from_str(s).ok()) {
                v = parsed;
            }
        }
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// camelCase API members → the SDK's PascalCase; timestamps in milliseconds (`millis`) or
/// ISO-8601 text (`!millis`, the SDK v2 rendering of `aws-sdk:*` results).
fn pascal_case(v: &Value, millis_dates: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let is_date = k.ends_with("Date") || k == "timestamp";
                    let v = match (is_date, v.as_f64()) {
                        (true, Some(_)) if millis_dates => millis(v),
                        (true, Some(s)) => json!(iso8601(s)),
                        _ => pascal_case(v, millis_dates),
                    };
                    (upper_first(k), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| pascal_case(v, millis_dates)).collect()),
        v => v.clone(),
    }
}

fn iso8601(epoch_seconds: f64) -> String {
    let ms = (epoch_seconds * 1000.0).round() as i64;
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// PascalCase SDK parameters → the API's camelCase members. `Input`/`Output` given as JSON
/// are serialised (AWS does the same implicit serialisation).
fn camel_case(v: &Value, top: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) | Value::Null => v.clone(),
                        v if top && (k == "Input" || k == "Output") => json!(v.to_string()),
                        v => camel_case(v, false),
                    };
                    (lower_first(k), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| camel_case(v, false)).collect()),
        v => v.clone(),
    }
}

/// `arn:aws:states:::aws-sdk:sfn:{action}`: the API operation of that name, in-process.
pub(super) async fn sdk(env: &ResourceEnv, call: &Invocation, action: &str) -> Answer {
    let Some(app) = app(env) else {
        return shutting_down();
    };
    let operation = upper_first(action);
    let mut request = camel_case(&call.parameters, true);
    if operation == "StartExecution" {
        if let Value::Object(m) = &mut request {
            m.entry("name").or_insert_with(|| json!(child_name(call)));
        }
    }
    let ctx = ctx_for(&app, call);
    match call_api(&app, &ctx, &operation, request.to_string()).await {
        Ok(v) => Answer::json(&pascal_case(&v, false)),
        Err(e) => {
            let code = e.code.as_str();
            Answer::fail(
                format!("Sfn.{}", exception(code)),
                format!(
                    "{} (Service: Sfn, Status Code: 400, Request ID: {})",
                    e.message, ctx.request_id
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        let p = json!({"StateMachineArn": "a", "Input": {"k": [1]}, "Tags": [{"Key": "x"}]});
        assert_eq!(
            camel_case(&p, true),
            json!({"stateMachineArn": "a", "input": "{\"k\":[1]}", "tags": [{"key": "x"}]})
        );
        let r = json!({"executionArn": "e", "startDate": 1700000000.123});
        assert_eq!(
            pascal_case(&r, false),
            json!({"ExecutionArn": "e", "StartDate": "2023-11-14T22:13:20.123Z"})
        );
        assert_eq!(
            pascal_case(&r, true),
            json!({"ExecutionArn": "e", "StartDate": 1700000000123i64})
        );
    }

    #[test]
    fn sync_outputs() {
        let d = json!({"status": "SUCCEEDED", "input": "{}", "output": "{\"a\":1}",
                       "executionArn": "e", "inputDetails": {"included": true}});
        let v1 = sync_output(&d, 1);
        assert_eq!(v1["Output"], json!("{\"a\":1}"));
        assert_eq!(
            v1.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["ExecutionArn", "Input", "InputDetails", "Output", "Status"]
        );
        assert_eq!(sync_output(&d, 2)["Output"], json!({"a": 1}));
        assert_eq!(
            sync_output(&d, 2)["InputDetails"],
            json!({"Included": true})
        );
    }

    #[test]
    fn child_names_repeat() {
        let call = Invocation {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            task: 3,
            resource: String::new(),
            parameters: Value::Null,
            token: String::new(),
            state_name: String::new(),
            submitted: None,
            traceparent: None,
        };
        assert_eq!(child_name(&call), child_name(&call));
        assert_ne!(
            child_name(&call),
            child_name(&Invocation {
                task: 4,
                ..call.clone()
            })
        );
        assert!(cairn_api::validate_name(&child_name(&call)).is_ok());
    }
}
