//! Task states (ARNS.md §3): which events a resource writes, scheduling with its effect,
//! TimeoutSeconds/HeartbeatSeconds timers, and the worker's answers.
//!
//! The task is named by the id of its scheduling event (`ActivityScheduled`,
//! `LambdaFunctionScheduled`, `TaskScheduled`); its token is minted from that id. In JSONata
//! mode the resource gets `Arguments` (default: the state input), with the token at
//! `$states.context.Task.Token`, and the timeouts may be expressions.

use crate::errors::{Failure, PAYLOAD_LIMIT};
use crate::history::{json_text, Details};
use crate::jsonata::{Extra, QueryFailure};
use crate::language::{self, Language};
use crate::machine::{Phase, ResourceKind, TaskRun};
use crate::run::{Fault, Run, Step};
use crate::{token, Effect, EventType, Input, Outcome};
use cairn_asl::{Dynamic, State, StateKind, TaskState};
use serde_json::Value;

/// Classify a Task `Resource`.
pub(crate) fn classify(resource: &str) -> ResourceKind {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 {
        if parts[2] == "states" && parts[5].starts_with("activity:") {
            return ResourceKind::Activity;
        }
        if parts[2] == "lambda" && parts[5].starts_with("function:") {
            return ResourceKind::Lambda;
        }
    }
    let rest = resource
        .split_once(":states:::")
        .map_or(resource, |(_, rest)| rest);
    let (resource_type, action) = if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
        match sdk.split_once(':') {
            Some((service, action)) => (format!("aws-sdk:{service}"), action.to_string()),
            None => (format!("aws-sdk:{sdk}"), String::new()),
        }
    } else {
        match rest.split_once(':') {
            Some((service, action)) => (service.to_string(), action.to_string()),
            None => (rest.to_string(), String::new()),
        }
    };
    ResourceKind::Service {
        resource_type,
        resource: action,
    }
}

fn task_def(st: &State) -> &TaskState {
    match &st.kind {
        StateKind::Task(t) => t,
        _ => unreachable!("a task thread is in a Task state"),
    }
}

impl<'a> Run<'a> {
    /// Entering a Task: schedule its first attempt.
    pub(crate) fn start_task(&mut self, tid: u32, _st: &'a State, _task: &'a TaskState) -> Step {
        self.schedule_task(tid)
    }

    /// InputPath and Parameters for one attempt. Evaluated again on every retry, so that
    /// `$$.State.RetryCount` and the new attempt's `$$.Task.Token` are current.
    /// Also returns the role of `Credentials` (a template over the effective input).
    fn task_parameters(&self, tid: u32) -> Result<(Value, Option<String>), Fault> {
        let st = self.state(tid);
        let task = task_def(st);
        // `$$.Task` exists for callback and job-run (`.sync`) tasks (observed absent for
        // request/response): a `.sync` job may pass the token on and report progress with
        // SendTaskHeartbeat, which resets the state's HeartbeatSeconds clock (AWS API
        // reference, SendTaskHeartbeat: "optionally Task states using the job run pattern").
        let token = token_in_context(&task.resource).then(|| self.next_token(tid));
        if language::for_state(st) == Language::Jsonata {
            let raw = &self.m.thread(tid).input;
            let q = self.query(tid, st, token.as_deref(), None);
            let role = match &task.credentials {
                Some(c) => q
                    .template(c, raw, Extra::None, "Credentials")?
                    .get("RoleArn")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None => None,
            };
            let args = match &st.arguments {
                Some(a) => q.template(a, raw, Extra::None, "Arguments")?,
                None => raw.clone(),
            };
            return Ok((args, role));
        }
        let raw = self.m.thread(tid).input.clone();
        let ev = self.eval(tid, st, token.as_deref(), None);
        (|| {
            let effective = ev.input_path(st.input_path.as_deref(), raw)?;
            let role = match &task.credentials {
                Some(c) => ev
                    .template(c, &effective, "Credentials")?
                    .get("RoleArn")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None => None,
            };
            let params = match &st.parameters {
                Some(p) => ev.template(p, &effective, "Parameters")?,
                None => effective,
            };
            Ok((params, role))
        })()
        .map_err(Fault::Path)
    }

    /// The token the next scheduled task of this thread will get.
    fn next_token(&self, tid: u32) -> String {
        let id = if self.m.thread(tid).hidden {
            hidden_task_id(self.m.next_hidden_task + 1)
        } else {
            self.out.next_id
        };
        token::mint(&self.ctx.token_key, &self.info.execution_arn, id)
    }

    /// `TimeoutSeconds`/`HeartbeatSeconds` (`field`): literal, `…Path` or expression.
    fn seconds(
        &self,
        tid: u32,
        d: &Option<Dynamic<u64>>,
        field: &str,
    ) -> Result<Option<u64>, Fault> {
        match d {
            None => Ok(None),
            Some(Dynamic::Literal(n)) => Ok(Some(*n)),
            Some(Dynamic::Path(p)) => {
                let st = self.state(tid);
                let input = &self.m.thread(tid).input;
                let v = self.eval(tid, st, None, None).path(p, input)?;
                match v.as_u64() {
                    Some(n) if n > 0 => Ok(Some(n)),
                    _ => Err(Fault::Runtime(format!(
                        "The value of the field '{p}' must be a positive integer: {}",
                        json_text(&v)
                    ))),
                }
            }
            Some(Dynamic::Expr(e)) => {
                let st = self.state(tid);
                let input = &self.m.thread(tid).input;
                let n = self.query(tid, st, None, None).integer(e, input, field)?;
                if n <= 0 {
                    // AWS's text is unrecorded.
                    return Err(Fault::Query(QueryFailure::new(
                        Some(field),
                        format!("The {field} field must be a positive integer but was: {n}"),
                    )));
                }
                Ok(Some(n as u64))
            }
        }
    }

    /// Schedule the task (its first attempt, or the next one on retry).
    pub(crate) fn schedule_task(&mut self, tid: u32) -> Step {
        let st = self.state(tid);
        let task = task_def(st);
        let role = match self.task_parameters(tid) {
            Ok((params, role)) => {
                self.m.thread_mut(tid).effective = params;
                role
            }
            Err(f) => return Step::Fail(self.fault(tid, f)),
        };
        let (timeout, heartbeat) = match self
            .seconds(tid, &task.timeout_seconds, "TimeoutSeconds")
            .and_then(|t| {
                Ok((
                    t,
                    self.seconds(tid, &task.heartbeat_seconds, "HeartbeatSeconds")?,
                ))
            }) {
            Ok(v) => v,
            Err(f) => return Step::Fail(self.fault(tid, f)),
        };
        let kind = classify(&task.resource);
        let params = self.m.thread(tid).effective.clone();
        let text = json_text(&params);
        if kind == ResourceKind::Activity && !self.ctx.world.activity_exists(&task.resource) {
            return Step::Fail(self.runtime_failure(
                tid,
                &format!("The activity {} does not exist.", task.resource),
            ));
        }
        let hidden = self.m.thread(tid).hidden;
        let scheduled_id = if hidden {
            self.m.next_hidden_task += 1;
            hidden_task_id(self.m.next_hidden_task)
        } else {
            self.out.next_id
        };
        let token = token::mint(&self.ctx.token_key, &self.info.execution_arn, scheduled_id);
        let started = match &kind {
            ResourceKind::Activity => {
                self.emit_in(
                    tid,
                    EventType::ActivityScheduled,
                    Details::new()
                        .str("resource", task.resource.as_str())
                        .input(text.clone())
                        .opt_num("timeoutInSeconds", timeout)
                        .opt_num("heartbeatInSeconds", heartbeat)
                        .done(),
                );
                self.effect(Effect::ScheduleActivity {
                    task: scheduled_id,
                    activity_arn: task.resource.clone(),
                    input: text,
                    token,
                    state_name: st.name.clone(),
                });
                false
            }
            ResourceKind::Lambda => {
                self.emit_in(
                    tid,
                    EventType::LambdaFunctionScheduled,
                    Details::new()
                        .str("resource", task.resource.as_str())
                        .input(text)
                        .opt_num("timeoutInSeconds", timeout)
                        .credentials(role.as_deref())
                        .done(),
                );
                self.emit_in(tid, EventType::LambdaFunctionStarted, None);
                self.effect(Effect::InvokeResource {
                    task: scheduled_id,
                    resource: task.resource.clone(),
                    parameters: params,
                    token,
                    state_name: st.name.clone(),
                });
                true
            }
            ResourceKind::Service {
                resource_type,
                resource,
            } => {
                self.emit_in(
                    tid,
                    EventType::TaskScheduled,
                    Details::new()
                        .str("resourceType", resource_type.as_str())
                        .str("resource", resource.as_str())
                        .str("region", self.info.region.as_str())
                        .str("parameters", text)
                        .opt_num("timeoutInSeconds", timeout)
                        .opt_num("heartbeatInSeconds", heartbeat)
                        .credentials(role.as_deref())
                        .done(),
                );
                self.emit_in(
                    tid,
                    EventType::TaskStarted,
                    Details::new()
                        .str("resourceType", resource_type.as_str())
                        .str("resource", resource.as_str())
                        .done(),
                );
                self.effect(Effect::InvokeResource {
                    task: scheduled_id,
                    resource: task.resource.clone(),
                    parameters: params,
                    token,
                    state_name: st.name.clone(),
                });
                true
            }
        };
        let timeout_timer = timeout.map(|s| self.start_timer(tid, secs_ms(s)));
        let heartbeat_timer = match (started, heartbeat) {
            (true, Some(s)) => Some(self.start_timer(tid, secs_ms(s))),
            _ => None,
        };
        self.m.tasks.insert(scheduled_id, tid);
        self.m.thread_mut(tid).phase = Phase::Task(TaskRun {
            task: scheduled_id,
            kind,
            started,
            timeout_timer,
            heartbeat_seconds: heartbeat,
            heartbeat_timer,
            submitted: None,
        });
        Step::Blocked
    }

    /// An input about a task. Unknown or closed tasks answer `TaskClosed`.
    pub(crate) fn task_input(&mut self, input: Input) -> Outcome {
        let task = match &input {
            Input::ActivityStarted { task, .. }
            | Input::TaskSucceeded { task, .. }
            | Input::TaskFailed { task, .. }
            | Input::TaskHeartbeat { task }
            | Input::TaskSubmitted { task, .. } => *task,
            _ => return Outcome::Applied,
        };
        let Some(&tid) = self.m.tasks.get(&task) else {
            return Outcome::TaskClosed;
        };
        if matches!(self.m.thread(tid).phase, Phase::MapRun(_)) {
            return self.map_run_input(tid, input);
        }
        let Phase::Task(run) = &self.m.thread(tid).phase else {
            return Outcome::TaskClosed;
        };
        let run = run.clone();
        match input {
            Input::ActivityStarted { worker_name, .. } => {
                if run.kind == ResourceKind::Activity && !run.started {
                    self.emit_in(
                        tid,
                        EventType::ActivityStarted,
                        Details::new()
                            .opt_str("workerName", worker_name.as_deref())
                            .done(),
                    );
                    let hb = run
                        .heartbeat_seconds
                        .map(|s| self.start_timer(tid, secs_ms(s)));
                    if let Phase::Task(r) = &mut self.m.thread_mut(tid).phase {
                        r.started = true;
                        r.heartbeat_timer = hb;
                    }
                }
                Outcome::Applied
            }
            Input::TaskHeartbeat { .. } => {
                if let (Some(old), Some(s)) = (run.heartbeat_timer, run.heartbeat_seconds) {
                    self.cancel_timer(old);
                    let hb = self.start_timer(tid, secs_ms(s));
                    if let Phase::Task(r) = &mut self.m.thread_mut(tid).phase {
                        r.heartbeat_timer = Some(hb);
                    }
                }
                Outcome::Applied
            }
            Input::TaskSubmitted { output, .. } => {
                if let ResourceKind::Service {
                    resource_type,
                    resource,
                } = &run.kind
                {
                    self.emit_in(
                        tid,
                        EventType::TaskSubmitted,
                        Details::new()
                            .str("resourceType", resource_type.as_str())
                            .str("resource", resource.as_str())
                            .output(output.clone())
                            .done(),
                    );
                }
                if let Phase::Task(r) = &mut self.m.thread_mut(tid).phase {
                    r.submitted = Some(output);
                }
                Outcome::Applied
            }
            Input::TaskSucceeded { output, .. } => {
                self.close_task(tid, &run, false);
                if output.len() > PAYLOAD_LIMIT {
                    let f = Failure::new(
                        Some(crate::errors::STATES_DATA_LIMIT.into()),
                        Some(format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            task_def(self.state(tid)).resource
                        )),
                    );
                    self.emit_task_failure(tid, &run, f.error.as_deref(), f.cause.as_deref());
                    self.settle(tid, Step::Fail(f));
                    return Outcome::Applied;
                }
                if crate::limits::too_deep(&output) {
                    // Unreadable after a restart: fail like a malformed result, terminally.
                    let detail = crate::limits::too_deep_message("The task's result");
                    let f = self.runtime_failure(tid, &detail);
                    self.emit_task_failure(tid, &run, f.error.as_deref(), f.cause.as_deref());
                    self.settle(tid, Step::Fail(f));
                    return Outcome::Applied;
                }
                let ty = match &run.kind {
                    ResourceKind::Activity => EventType::ActivitySucceeded,
                    ResourceKind::Lambda => EventType::LambdaFunctionSucceeded,
                    ResourceKind::Service { .. } => EventType::TaskSucceeded,
                };
                let result: Value =
                    serde_json::from_str(&output).unwrap_or(Value::String(output.clone()));
                self.emit_in(tid, ty, service_names(&run.kind).output(output).done());
                let step = self.complete_with_result(tid, result);
                self.settle(tid, step);
                Outcome::Applied
            }
            Input::TaskFailed { error, cause, .. } => {
                self.close_task(tid, &run, false);
                self.emit_task_failure(tid, &run, error.as_deref(), cause.as_deref());
                self.settle(tid, Step::Fail(Failure::new(error, cause)));
                Outcome::Applied
            }
            _ => Outcome::Applied,
        }
    }

    fn emit_task_failure(
        &mut self,
        tid: u32,
        run: &TaskRun,
        error: Option<&str>,
        cause: Option<&str>,
    ) {
        let ty = match &run.kind {
            ResourceKind::Activity => EventType::ActivityFailed,
            ResourceKind::Lambda => EventType::LambdaFunctionFailed,
            ResourceKind::Service { .. } => EventType::TaskFailed,
        };
        self.emit_in(
            tid,
            ty,
            service_names(&run.kind).error_cause(error, cause).done(),
        );
    }

    /// The task is no longer open: forget it and its timers (and withdraw it if asked).
    pub(crate) fn close_task(&mut self, tid: u32, run: &TaskRun, withdraw: bool) {
        self.m.tasks.remove(&run.task);
        for timer in [run.timeout_timer, run.heartbeat_timer]
            .into_iter()
            .flatten()
        {
            self.cancel_timer(timer);
        }
        if withdraw {
            self.effect(Effect::CancelTask { task: run.task });
        }
        self.m.thread_mut(tid).phase = Phase::Enter;
    }

    /// TimeoutSeconds or HeartbeatSeconds elapsed.
    pub(crate) fn task_timed_out(&mut self, tid: u32, heartbeat: bool) -> Step {
        let Phase::Task(run) = &self.m.thread(tid).phase else {
            return Step::Blocked;
        };
        let run = run.clone();
        self.close_task(tid, &run, true);
        let ty = match &run.kind {
            ResourceKind::Activity => EventType::ActivityTimedOut,
            ResourceKind::Lambda => EventType::LambdaFunctionTimedOut,
            ResourceKind::Service { .. } => EventType::TaskTimedOut,
        };
        self.emit_in(
            tid,
            ty,
            service_names(&run.kind)
                .error_cause(Some(crate::errors::STATES_TIMEOUT), None)
                .done(),
        );
        Step::Fail(Failure::timeout(heartbeat))
    }
}

/// Whether `$$.Task.Token` is given to a Task with this resource: callback
/// (`.waitForTaskToken`) and job-run (`.sync`, `.sync:2`) service integrations.
fn token_in_context(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken")
        || (resource.contains(":states:::")
            && (resource.ends_with(".sync") || resource.ends_with(".sync:2")))
}

/// `resourceType`/`resource` members of the Task* events (empty for activities/Lambda).
fn service_names(kind: &ResourceKind) -> Details {
    match kind {
        ResourceKind::Service {
            resource_type,
            resource,
        } => Details::new()
            .str("resourceType", resource_type.as_str())
            .str("resource", resource.as_str()),
        _ => Details::new(),
    }
}

fn secs_ms(s: u64) -> i64 {
    (s as i64).saturating_mul(1000)
}

/// Task ids of hidden threads live far above any event id.
fn hidden_task_id(n: u64) -> u64 {
    (1u64 << 48) + n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(t: &str, r: &str) -> ResourceKind {
        ResourceKind::Service {
            resource_type: t.into(),
            resource: r.into(),
        }
    }

    #[test]
    fn task_token_in_context_for_callback_and_job_run_tasks() {
        for r in [
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::glue:startJobRun.sync",
        ] {
            assert!(token_in_context(r), "{r}");
        }
        for r in [
            "arn:aws:states:::ecs:runTask",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:us-east-1:123456789012:activity:a.sync",
            "arn:aws:lambda:us-east-1:123456789012:function:f.sync",
        ] {
            assert!(!token_in_context(r), "{r}");
        }
    }

    #[test]
    fn resource_kinds() {
        assert_eq!(
            classify("arn:aws:states:us-east-1:123456789012:activity:act"),
            ResourceKind::Activity
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:f"),
            ResourceKind::Lambda
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"),
            ResourceKind::Lambda
        );
        assert_eq!(
            classify("arn:aws:states:::lambda:invoke"),
            svc("lambda", "invoke")
        );
        assert_eq!(
            classify("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            svc("sqs", "sendMessage.waitForTaskToken")
        );
        assert_eq!(
            classify("arn:aws:states:::aws-sdk:s3:getObject"),
            svc("aws-sdk:s3", "getObject")
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync:2"),
            svc("states", "startExecution.sync:2")
        );
        assert_eq!(
            classify("arn:aws:states:::http:invoke"),
            svc("http", "invoke")
        );
    }
}
