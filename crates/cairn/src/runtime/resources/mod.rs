//! Runs Task resources other than activities and turns their outcomes into interpreter inputs.
//!
//! One file per kind of resource (ARNS.md §3):
//! - [`lambda`]: function ARNs and `lambda:invoke`, resolved by the [`functions_file`] or a
//!   Lambda-compatible endpoint (`LAMBDA_ENDPOINT`);
//! - [`http_task`]: `http:invoke`, authenticated from the [`connections`] file;
//! - [`nested`]: `states:startExecution` (all patterns) and `aws-sdk:sfn:*`, answered by this
//!   server itself;
//! - [`aws`]: `aws-sdk:<service>:<action>` for every botocore service and the optimized AWS
//!   integrations (DynamoDB, SQS, SNS, EventBridge, ECS, Batch, Glue, SageMaker), sent to the
//!   configured endpoints (`aws-sdk:sfn` goes there only when `sfn` has an endpoint);
//! - [`mock`]: Step Functions Local's mock configuration, consulted before everything else;
//! - [`unsupported`]: every other service integration fails with a cause that says how to mock it.
//!
//! The functions, connections and mock files are read once, at start-up ([`settings_file`]).
//!
//! The `.waitForTaskToken` suffix is handled here once: the base integration runs and its
//! answer is recorded as `TaskSubmitted`; the result comes later from SendTaskSuccess/Failure.
//!
//! Must not: touch the store or the interpreter directly (child executions go through the
//! runtime's `Children`, `aws-sdk:sfn:*` through the API handlers), or block the async threads.

mod aws;
pub(crate) mod connections;
pub(crate) mod functions_file;
pub(crate) mod http_client;
mod http_task;
mod lambda;
pub(crate) mod mock;
mod nested;
pub(crate) mod settings_file;
mod unsupported;

use super::children::Children;
use super::writer::Command;
use super::Engine;
use crate::config::Config;
pub use aws::endpoints::STEP_FUNCTIONS_LOCAL_VARIABLES;
use cairn_core::Input;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio::sync::mpsc;

/// One invocation of a Task resource, as the interpreter asked for it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub execution_arn: String,
    /// The id of the scheduling event; names the task.
    pub task: u64,
    pub resource: String,
    /// Effective parameters (after Parameters/Arguments).
    pub parameters: Value,
    pub token: String,
    pub state_name: String,
    /// The `TaskSubmitted` output recorded for this task before a restart: a `.sync` task
    /// resumes waiting for that job or child instead of submitting it again.
    pub submitted: Option<String>,
    /// The task attempt's W3C trace context (`None`: not traced, e.g. Express executions);
    /// sent on only with `--otlp-endpoint` (see [`ResourceEnv::traceparent`]).
    pub traceparent: Option<String>,
}

/// A task's error and cause, as they go into `…Failed` events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskError {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// What comes later for a submitted task (`.sync`): its final answer.
pub(crate) type Later = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// What a resource answers.
pub(crate) enum Answer {
    /// The task's result (JSON text).
    Succeeded(String),
    Failed(TaskError),
    /// The request was accepted (`TaskSubmitted` with this JSON text); the final answer comes
    /// from `later`, or from SendTaskSuccess/SendTaskFailure when there is none. `child` is
    /// the nested execution a `.sync` task waits for (stopped if the task is cancelled).
    Submitted {
        output: String,
        later: Option<Later>,
        child: Option<String>,
    },
    /// A `.sync` task repeated after a restart found its child running: it was submitted
    /// before, so only the final answer is still to come.
    Waiting {
        later: Later,
        child: String,
    },
}

impl Answer {
    fn json(v: &Value) -> Answer {
        Answer::Succeeded(v.to_string())
    }
    fn fail(error: impl Into<String>, cause: impl Into<String>) -> Answer {
        Answer::Failed(TaskError::new(error, cause))
    }
}

impl From<Result<Value, TaskError>> for Answer {
    fn from(r: Result<Value, TaskError>) -> Answer {
        match r {
            Ok(v) => Answer::json(&v),
            Err(e) => Answer::Failed(e),
        }
    }
}

/// Files loaded once at start-up.
struct Loaded {
    functions: Option<functions_file::FunctionsFile>,
    connections: Option<connections::Connections>,
    mocks: Option<mock::MockConfig>,
    aws: aws::endpoints::Aws,
}

/// What a resource invocation may use: the settings, the loaded files, and (for nested
/// executions) the runtime's interface to child executions.
#[derive(Clone)]
pub struct ResourceEnv {
    pub config: Config,
    loaded: Arc<Loaded>,
    mock_state: Arc<mock::MockState>,
    /// None only where no runtime exists (unit tests of single resources).
    children: Option<Arc<Children>>,
    /// The engine's metrics, which Express executions count into (None outside a runtime).
    metrics: Option<Arc<super::metrics::Metrics>>,
    /// Only for `aws-sdk:sfn:*`, which is the whole API answered in-process: its handlers
    /// need the engine, which exists after this (child executions never use it).
    api_engine: Arc<OnceLock<Weak<Engine>>>,
    /// Distributed Map storage, built on first use and shared by every Map Run (one S3
    /// client and its connection pool, not one per run).
    object_store: Arc<OnceLock<Option<Arc<crate::runtime::items::ObjectStore>>>>,
}

impl ResourceEnv {
    /// The trace context to pass on to `call`'s resource: only when traces are exported
    /// (`--otlp-endpoint`), so that nothing changes for resources otherwise.
    pub fn traceparent<'a>(&self, call: &'a Invocation) -> Option<&'a str> {
        self.config.otlp_endpoint.as_ref()?;
        call.traceparent.as_deref()
    }

    /// Load the functions, connections and mock files named in the config.
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let functions = config
            .functions_file
            .as_deref()
            .map(functions_file::FunctionsFile::load)
            .transpose()?;
        let connections = config
            .connections_file
            .as_deref()
            .map(connections::Connections::load)
            .transpose()?;
        let mocks = config
            .mock_config
            .as_deref()
            .map(mock::MockConfig::load)
            .transpose()?;
        let aws_settings = config
            .aws_settings_file
            .as_deref()
            .map(aws::endpoints::AwsSettings::load)
            .transpose()?
            .unwrap_or_default();
        Ok(ResourceEnv {
            loaded: Arc::new(Loaded {
                functions,
                connections,
                mocks,
                aws: aws::endpoints::Aws::new(config.clone(), aws_settings),
            }),
            config,
            mock_state: Arc::default(),
            children: None,
            metrics: None,
            api_engine: Arc::new(OnceLock::new()),
            object_store: Arc::new(OnceLock::new()),
        })
    }

    /// Distributed Map storage (`--s3-endpoint` / `--s3-root`); `None` when neither is set.
    pub fn object_store(&self) -> Option<Arc<crate::runtime::items::ObjectStore>> {
        self.object_store
            .get_or_init(|| crate::runtime::items::ObjectStore::from_config(&self.config))
            .clone()
    }

    /// The same, able to start child executions through the runtime's `children`.
    pub fn with_children(self, children: Arc<Children>) -> Self {
        ResourceEnv {
            children: Some(children),
            ..self
        }
    }

    /// The same, with the engine's metrics (Express executions count into them).
    pub fn with_metrics(self, metrics: Arc<super::metrics::Metrics>) -> Self {
        ResourceEnv {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The engine's metrics (None outside a runtime).
    pub fn metrics(&self) -> Option<&Arc<super::metrics::Metrics>> {
        self.metrics.as_ref()
    }

    /// Starting, stopping and awaiting child executions (None outside a runtime).
    pub fn children(&self) -> Option<Arc<Children>> {
        self.children.clone()
    }

    /// Called once the engine exists, for `aws-sdk:sfn:*`.
    pub fn attach_api(&self, engine: &Arc<Engine>) {
        let _ = self.api_engine.set(Arc::downgrade(engine));
    }

    /// The engine for `aws-sdk:sfn:*`, unless it has shut down.
    pub fn api_engine(&self) -> Option<Arc<Engine>> {
        self.api_engine.get().and_then(Weak::upgrade)
    }

    /// StartExecution named a mock test case (`stateMachineArn#TestCase`) for this execution.
    /// Kept in memory: an execution recovered after a restart runs without its mocks.
    pub fn set_test_case(&self, execution_arn: &str, test_case: Option<&str>) {
        self.mock_state.set_test_case(execution_arn, test_case);
    }
}

pub use http_task::Trace;

/// TestState at inspection level TRACE: run an HTTP Task (`http:invoke`) once with these
/// parameters and record the request and response (secrets hidden unless `reveal`).
pub async fn run_http_traced(
    env: &ResourceEnv,
    parameters: &Value,
    reveal: bool,
) -> (Input, Trace) {
    let mut trace = Trace::default();
    let answer = http_task::invoke_traced(env, parameters, Some((&mut trace, reveal)), None).await;
    let input = match first_input(1, answer) {
        (Some(input), _, _) => input,
        _ => Input::TaskFailed {
            task: 1,
            error: Some("States.Runtime".into()),
            cause: Some("The resource gave no answer".into()),
        },
    };
    (input, trace)
}

/// Run one resource invocation to its first outcome (the continuation of a `.sync` task is
/// dropped: Express machines, the only other caller, cannot use `.sync`).
pub async fn run(env: &ResourceEnv, call: &Invocation) -> Input {
    let mut answer = answer(env, call).await;
    loop {
        match first_input(call.task, answer) {
            (Some(input), _, _) => return input,
            (None, Some(later), _) => answer = later.await,
            (None, None, _) => {
                return Input::TaskFailed {
                    task: call.task,
                    error: Some("States.Runtime".into()),
                    cause: Some("The resource gave no answer".into()),
                }
            }
        }
    }
}

/// The input for the writer (none when the task was submitted before), and what may follow.
fn first_input(task: u64, answer: Answer) -> (Option<Input>, Option<Later>, Option<String>) {
    match answer {
        Answer::Succeeded(output) => (Some(Input::TaskSucceeded { task, output }), None, None),
        Answer::Failed(e) => (
            Some(Input::TaskFailed {
                task,
                error: Some(e.error),
                cause: Some(e.cause),
            }),
            None,
            None,
        ),
        Answer::Submitted {
            output,
            later,
            child,
        } => (Some(Input::TaskSubmitted { task, output }), later, child),
        Answer::Waiting { later, child } => (None, Some(later), Some(child)),
    }
}

/// Pick the runner by resource kind. Mocks win over everything.
async fn answer(env: &ResourceEnv, call: &Invocation) -> Answer {
    if call.resource == cairn_core::MAP_RUN_RESOURCE {
        return super::map_run::answer(env, call);
    }
    if let Some(answer) = mock::answer(env, call) {
        return answer;
    }
    let (base, callback) = match call.resource.strip_suffix(".waitForTaskToken") {
        Some(base) => (base, true),
        None => (call.resource.as_str(), false),
    };
    if let Some(answer) = resume_submitted(env, call, base) {
        return answer;
    }
    let answer = match Kind::of(base) {
        Kind::Function => {
            lambda::invoke_function_arn(env, base, &call.parameters, env.traceparent(call)).await
        }
        Kind::Service {
            service: "lambda",
            action: "invoke",
        } => lambda::invoke_integration(env, &call.parameters, env.traceparent(call)).await,
        Kind::Service {
            service: "http",
            action: "invoke",
        } => http_task::invoke(env, &call.parameters, env.traceparent(call)).await,
        Kind::Service {
            service: "states",
            action,
        } => nested::optimized(env, call, action, callback).await,
        Kind::Service {
            service: "aws-sdk:sfn",
            action,
        } if !env.loaded.aws.explicit("sfn") => nested::sdk(env, call, action).await,
        Kind::Service { service, action } if service.starts_with("aws-sdk:") => {
            aws::sdk(env, &service["aws-sdk:".len()..], action, &call.parameters).await
        }
        // A callback to a service with no endpoint keeps waiting (below), as before.
        Kind::Service { service, action }
            if aws::optimized::handles(service)
                && (!callback || aws::optimized::configured(env, service)) =>
        {
            aws::optimized::run(env, service, action, &call.parameters).await
        }
        // A callback to a service Cairn cannot call: the token is in the TaskScheduled
        // parameters for whoever plays that service; wait for SendTaskSuccess/Failure.
        Kind::Service { .. } if callback => {
            return Answer::Submitted {
                output: "{}".into(),
                later: None,
                child: None,
            }
        }
        Kind::Service { .. } | Kind::Other => unsupported::answer(&call.resource),
    };
    match (answer, callback) {
        (Answer::Succeeded(output), true) => Answer::Submitted {
            output,
            later: None,
            child: None,
        },
        (answer, _) => answer,
    }
}

/// A `.sync` task whose submission is recorded (`TaskSubmitted`, before a restart or a
/// takeover): wait for that job or child execution again rather than submit a second one.
fn resume_submitted(env: &ResourceEnv, call: &Invocation, base: &str) -> Option<Answer> {
    let submitted = call.submitted.as_deref()?;
    match Kind::of(base) {
        Kind::Service {
            service: "states",
            action,
        } => nested::resume_submitted(env, action, submitted),
        Kind::Service { service, action } if aws::optimized::handles(service) => {
            aws::optimized::resume_submitted(env, service, action, &call.parameters, submitted)
        }
        _ => None,
    }
}

/// What a `Resource` names (ARNS.md §3), without the `.waitForTaskToken` suffix.
#[derive(Debug, PartialEq)]
enum Kind<'a> {
    /// `arn:{p}:lambda:{r}:{a}:function:{name}[:{qualifier}]`
    Function,
    /// `arn:{p}:states:::{service}:{action}` (`aws-sdk:{id}` counts as the service).
    Service {
        service: &'a str,
        action: &'a str,
    },
    Other,
}

impl<'a> Kind<'a> {
    fn of(resource: &'a str) -> Kind<'a> {
        let parts: Vec<&str> = resource.splitn(7, ':').collect();
        if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
            return Kind::Function;
        }
        let Some((_, rest)) = resource.split_once(":states:::") else {
            return Kind::Other;
        };
        let split = if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
            sdk.find(':').map(|i| i + "aws-sdk:".len())
        } else {
            rest.find(':')
        };
        match split {
            Some(i) => Kind::Service {
                service: &rest[..i],
                action: &rest[i + 1..],
            },
            None => Kind::Other,
        }
    }
}

/// Runs invocations for the writer and sends their outcomes back to it; cancels them when
/// the interpreter withdraws their task (execution stopped, timed out, branch failed).
#[derive(Clone)]
pub struct ResourceRunner {
    writer: mpsc::UnboundedSender<Command>,
    runtime: tokio::runtime::Handle,
    env: ResourceEnv,
    running: Arc<Mutex<HashMap<(String, u64), Running>>>,
}

/// An invocation in flight.
#[derive(Default)]
struct Running {
    abort: Option<tokio::task::AbortHandle>,
    /// The nested execution a `.sync` task waits for.
    child: Option<String>,
}

impl ResourceRunner {
    /// A mocked activity state (mock configuration, test case, attempt): the answer to give
    /// instead of queuing the task for a worker; `None` when the state is not mocked.
    pub fn mocked_activity(
        &self,
        execution_arn: &str,
        task: u64,
        state_name: &str,
    ) -> Option<Input> {
        let call = Invocation {
            execution_arn: execution_arn.to_string(),
            task,
            resource: String::new(),
            parameters: Value::Null,
            token: String::new(),
            state_name: state_name.to_string(),
            submitted: None,
            traceparent: None,
        };
        match mock::answer(&self.env, &call)? {
            Answer::Succeeded(output) => Some(Input::TaskSucceeded { task, output }),
            Answer::Failed(e) => Some(Input::TaskFailed {
                task,
                error: Some(e.error),
                cause: Some(e.cause),
            }),
            Answer::Submitted { .. } | Answer::Waiting { .. } => None,
        }
    }

    /// Use this mock test case for the execution's Task states (see `ExecutionInfo`).
    pub fn set_test_case(&self, execution_arn: &str, test_case: Option<&str>) {
        self.env.set_test_case(execution_arn, test_case);
    }

    /// Answer a mocked activity task as a worker would: `ActivityStarted` (no worker name),
    /// then the mocked success or failure, both through the writer, in that order.
    pub fn answer_mocked_activity(&self, execution_arn: &str, task: u64, answer: Input) {
        let started = Input::ActivityStarted {
            task,
            worker_name: None,
        };
        for input in [started, answer] {
            let _ = self.writer.send(Command::Deliver {
                execution_arn: execution_arn.to_string(),
                input,
                reply: None,
            });
        }
    }

    /// Must be created inside the tokio runtime that will run the invocations.
    pub fn new(writer: mpsc::UnboundedSender<Command>, env: ResourceEnv) -> Self {
        ResourceRunner {
            writer,
            runtime: tokio::runtime::Handle::current(),
            env,
            running: Arc::default(),
        }
    }

    pub fn invoke(&self, call: Invocation) {
        let key = (call.execution_arn.clone(), call.task);
        self.running
            .lock()
            .expect("running lock")
            .insert(key.clone(), Running::default());
        let writer = self.writer.clone();
        let env = self.env.clone();
        let running = self.running.clone();
        let done = key.clone();
        let handle = self.runtime.spawn(async move {
            let (input, later, child) = first_input(call.task, answer(&env, &call).await);
            let send = |input| {
                // The writer is gone only when the engine has stopped.
                let _ = writer.send(Command::Deliver {
                    execution_arn: call.execution_arn.clone(),
                    input,
                    reply: None,
                });
            };
            if let Some(r) = running.lock().expect("running lock").get_mut(&done) {
                r.child = child;
            }
            if let Some(input) = input {
                send(input);
            }
            if let Some(later) = later {
                if let (Some(input), _, _) = first_input(call.task, later.await) {
                    send(input);
                }
            }
            running.lock().expect("running lock").remove(&done);
        });
        if let Some(r) = self.running.lock().expect("running lock").get_mut(&key) {
            r.abort = Some(handle.abort_handle());
        }
    }

    /// The task was withdrawn: stop waiting for it (a running command is killed) and stop
    /// the nested execution a `.sync` task started. Unknown tasks are ignored.
    pub fn cancel(&self, execution_arn: &str, task: u64) {
        let Some(r) = self
            .running
            .lock()
            .expect("running lock")
            .remove(&(execution_arn.to_string(), task))
        else {
            return;
        };
        if let Some(abort) = r.abort {
            abort.abort();
        }
        if let Some(child) = r.child {
            let env = self.env.clone();
            if let Some(map_run) = child.strip_prefix(super::map_run::CHILD_PREFIX) {
                let map_run = map_run.to_string();
                self.runtime
                    .spawn(async move { super::map_run::abort(&env, &map_run).await });
                return;
            }
            match child.strip_prefix(aws::sync::CHILD_PREFIX) {
                Some(job) => {
                    let job = job.to_string();
                    self.runtime
                        .spawn(async move { aws::sync::stop(&env, &job).await });
                }
                None => {
                    self.runtime
                        .spawn(async move { nested::stop_child(&env, &child).await });
                }
            }
        }
    }
}

/// `Bucket` for `bucket`: the first letter upper-cased (SDK member names as Step Functions
/// shows them); shared by the nested, AWS-service and TestState shape code.
pub(crate) fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `executionArn` for `ExecutionArn`: the first letter lower-cased.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kinds() {
        assert_eq!(
            Kind::of("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Kind::Function
        );
        assert_eq!(
            Kind::of("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"),
            Kind::Function
        );
        assert_eq!(
            Kind::of("arn:aws:states:::lambda:invoke"),
            Kind::Service {
                service: "lambda",
                action: "invoke"
            }
        );
        assert_eq!(
            Kind::of("arn:aws:states:::states:startExecution.sync:2"),
            Kind::Service {
                service: "states",
                action: "startExecution.sync:2"
            }
        );
        assert_eq!(
            Kind::of("arn:aws:states:::aws-sdk:sfn:describeExecution"),
            Kind::Service {
                service: "aws-sdk:sfn",
                action: "describeExecution"
            }
        );
        assert_eq!(Kind::of("arn:aws:states:::aws-sdk:sfn"), Kind::Other);
        assert_eq!(Kind::of("nonsense"), Kind::Other);
    }
}
