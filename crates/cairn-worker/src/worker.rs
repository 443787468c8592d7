//! [`Worker`]: polls one activity and answers every task it takes.
//!
//! Each of the N pollers owns one connection and loops: GetActivityTask (long poll), run the
//! handler on the task, heartbeat while it runs, answer with SendTaskSuccess or
//! SendTaskFailure, poll again. N pollers = at most N tasks at a time.
//!
//! The promise it keeps: a task that reached the worker is answered, whatever the handler
//! does (a panic becomes a failure, an output that is not JSON becomes a failure). The only
//! cases left unanswered are those where the server refuses every answer (the task is
//! already closed) or cannot be reached for several attempts. Shutdown stops polling at
//! once (an idle long poll is abandoned), lets tasks in hand finish and be answered, then
//! returns.

use crate::client::{CallError, SfnConnection, DEFAULT_CALL_TIMEOUT};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Step Functions' limit on SendTaskFailure `error` (characters).
pub const MAX_ERROR_CHARS: usize = 256;
/// Step Functions' limit on SendTaskFailure `cause` (characters).
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// The error name sent when a handler's output is not JSON (or the server refused it).
pub const INVALID_OUTPUT: &str = "Cairn.InvalidOutput";
/// The error name sent when a handler panicked.
pub const HANDLER_PANICKED: &str = "Cairn.HandlerPanicked";

/// Sending an answer is tried this many times while the server cannot be reached.
const ANSWER_ATTEMPTS: u32 = 5;
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A task's failure, sent with SendTaskFailure: `error` is what `Catch`/`Retry`
/// `ErrorEquals` match, `cause` a human-readable explanation. Both are cut to Step
/// Functions' limits (256 and 32,768 characters) when sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskError {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// What a handler knows about the task it runs.
#[derive(Debug, Clone)]
pub struct TaskContext {
    task_token: String,
    activity_arn: Arc<str>,
    worker_name: Option<Arc<str>>,
    traceparent: Option<String>,
    closed: watch::Receiver<bool>,
}

impl TaskContext {
    /// The task token (for a handler that wants to call the API itself).
    pub fn task_token(&self) -> &str {
        &self.task_token
    }

    pub fn activity_arn(&self) -> &str {
        &self.activity_arn
    }

    /// The `workerName` this worker polls with, if it has one.
    pub fn worker_name(&self) -> Option<&str> {
        self.worker_name.as_deref()
    }

    /// The task's W3C trace context (`traceparent`), when the server sent one with the task
    /// (Cairn with `--otlp-endpoint`): start the handler's spans under it.
    pub fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    /// A heartbeat learnt that the task is closed (timed out, execution stopped or gone):
    /// nobody waits for its answer any more.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once [`TaskContext::is_closed`] is true; never if heartbeats are off.
    pub async fn closed(&self) {
        let mut closed = self.closed.clone();
        if closed.wait_for(|c| *c).await.is_err() {
            // The worker let go of the task (it answered): nothing will ever close it.
            std::future::pending::<()>().await;
        }
    }
}

/// Why [`Worker::run`] stopped before it was told to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid endpoint: {0}")]
    Endpoint(CallError),
    /// GetActivityTask answered an error that waiting will not cure
    /// (e.g. `ActivityDoesNotExist`, `InvalidArn`).
    #[error("GetActivityTask failed: {0}")]
    Poll(CallError),
    #[error("a poller stopped unexpectedly: {0}")]
    Poller(String),
}

/// An activity worker. Build it, then [`Worker::run`] it with a handler:
///
/// ```no_run
/// use cairn_worker::{TaskContext, TaskError, Worker};
/// use std::time::Duration;
///
/// # async fn example() -> Result<(), cairn_worker::WorkerError> {
/// Worker::new("http://127.0.0.1:8083", "arn:aws:states:us-east-1:123456789012:activity:resize")
///     .concurrency(4)
///     .heartbeat(Duration::from_secs(10))
///     .run(
///         |_ctx: TaskContext, input: String| async move { Ok::<_, TaskError>(input) },
///         async { tokio::signal::ctrl_c().await.unwrap() },
///     )
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Worker {
    endpoint: String,
    activity_arn: String,
    name: Option<String>,
    region: String,
    concurrency: usize,
    heartbeat: Option<Duration>,
    call_timeout: Duration,
}

impl Worker {
    /// A worker for the activity `activity_arn` at `endpoint` (`http://host:port`):
    /// one poller, no heartbeats, no `workerName`.
    pub fn new(endpoint: impl Into<String>, activity_arn: impl Into<String>) -> Worker {
        Worker {
            endpoint: endpoint.into(),
            activity_arn: activity_arn.into(),
            name: None,
            region: "us-east-1".into(),
            concurrency: 1,
            heartbeat: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// The `workerName` sent with GetActivityTask (recorded in `ActivityStarted`).
    pub fn name(mut self, name: impl Into<String>) -> Worker {
        self.name = Some(name.into());
        self
    }

    /// How many tasks may run at once (= concurrent long polls); at least 1.
    pub fn concurrency(mut self, pollers: usize) -> Worker {
        self.concurrency = pollers.max(1);
        self
    }

    /// Send SendTaskHeartbeat this often while a handler runs (pick less than the state's
    /// `HeartbeatSeconds`).
    pub fn heartbeat(mut self, every: Duration) -> Worker {
        self.heartbeat = (!every.is_zero()).then_some(every);
        self
    }

    /// The region named in requests (Cairn reads ARNs' region from it); default `us-east-1`.
    pub fn region(mut self, region: impl Into<String>) -> Worker {
        self.region = region.into();
        self
    }

    /// The client-side limit on one call, long poll included (default 70 s; keep it above
    /// the server's long poll, 60 s on AWS).
    pub fn call_timeout(mut self, timeout: Duration) -> Worker {
        self.call_timeout = timeout;
        self
    }

    /// Poll and serve tasks until `shutdown` resolves, then stop polling, let the tasks in
    /// hand finish and be answered, and return `Ok(())`. Returns an error early only if
    /// GetActivityTask answers an error that retrying cannot cure. Transport failures and
    /// throttling are retried with backoff.
    ///
    /// Signal shutdown rather than dropping the returned future: dropping it abandons the
    /// tasks in hand unanswered.
    pub async fn run<H, F>(
        self,
        handler: H,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), WorkerError>
    where
        H: Fn(TaskContext, String) -> F + Send + Sync + 'static,
        F: Future<Output = Result<String, TaskError>> + Send + 'static,
    {
        SfnConnection::new(&self.endpoint).map_err(WorkerError::Endpoint)?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            handler,
            activity_arn: self.activity_arn.clone().into(),
            worker_name: self.name.clone().map(Into::into),
            worker: self,
        });
        let mut pollers = JoinSet::new();
        for _ in 0..shared.worker.concurrency {
            pollers.spawn(poll_loop(shared.clone(), stopped.clone()));
        }
        tokio::pin!(shutdown);
        let mut stopping = false;
        let mut result = Ok(());
        loop {
            tokio::select! {
                _ = &mut shutdown, if !stopping => {
                    tracing::info!("worker stopping: no new tasks; waiting for tasks in hand");
                    stopping = true;
                    let _ = stop.send(true);
                }
                joined = pollers.join_next() => {
                    let failure = match joined {
                        None => break,
                        Some(Ok(Ok(()))) => continue,
                        Some(Ok(Err(e))) => e,
                        Some(Err(e)) => WorkerError::Poller(e.to_string()),
                    };
                    tracing::error!(error = %failure, "worker stopping");
                    if result.is_ok() {
                        result = Err(failure);
                    }
                    stopping = true;
                    let _ = stop.send(true);
                }
            }
        }
        result
    }
}

struct Shared<H> {
    handler: H,
    worker: Worker,
    activity_arn: Arc<str>,
    worker_name: Option<Arc<str>>,
}

/// Errors of GetActivityTask that a later poll may not meet again.
fn worth_retrying(e: &CallError) -> bool {
    e.is_transport()
        || matches!(
            e.code.as_str(),
            "ActivityWorkerLimitExceeded"
                | "ThrottlingException"
                | "Throttling"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "Unknown"
        )
}

/// Answers meaning the task is no longer open: answering or heartbeating it is pointless.
fn task_closed(e: &CallError) -> bool {
    matches!(
        e.code.as_str(),
        "TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken"
    )
}

async fn poll_loop<H, F>(
    shared: Arc<Shared<H>>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), WorkerError>
where
    H: Fn(TaskContext, String) -> F + Send + Sync + 'static,
    F: Future<Output = Result<String, TaskError>> + Send + 'static,
{
    let worker = &shared.worker;
    let mut conn = SfnConnection::new(&worker.endpoint)
        .map_err(WorkerError::Endpoint)?
        .with_region(worker.region.clone())
        .with_timeout(worker.call_timeout);
    let mut request = json!({"activityArn": worker.activity_arn});
    if let Some(name) = &worker.name {
        request["workerName"] = json!(name);
    }
    let mut backoff = MIN_BACKOFF;
    loop {
        if *stopped.borrow() {
            return Ok(());
        }
        let answer = tokio::select! {
            biased;
            _ = stopped.wait_for(|s| *s) => return Ok(()),
            answer = conn.call("GetActivityTask", &request) => answer,
        };
        match answer {
            Ok(task) => {
                backoff = MIN_BACKOFF;
                if let Some(token) = task["taskToken"].as_str() {
                    let input = task["input"].as_str().unwrap_or("{}").to_string();
                    let traceparent = conn.traceparent().map(str::to_string);
                    serve(&shared, &mut conn, token.to_string(), input, traceparent).await;
                }
            }
            Err(e) if worth_retrying(&e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "GetActivityTask failed");
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(WorkerError::Poll(e)),
        }
    }
}

/// Run the handler on one task, heartbeating meanwhile, and answer it.
async fn serve<H, F>(
    shared: &Shared<H>,
    conn: &mut SfnConnection,
    token: String,
    input: String,
    traceparent: Option<String>,
) where
    H: Fn(TaskContext, String) -> F + Send + Sync + 'static,
    F: Future<Output = Result<String, TaskError>> + Send + 'static,
{
    let (close, closed) = watch::channel(false);
    let ctx = TaskContext {
        task_token: token.clone(),
        activity_arn: shared.activity_arn.clone(),
        worker_name: shared.worker_name.clone(),
        traceparent,
        closed,
    };
    // Its own task, so that a panic is caught and reported instead of taking the poller;
    // a handler may also panic while making its future.
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (shared.handler)(ctx, input)
    }));
    let mut job = match made {
        Ok(future) => tokio::spawn(future),
        Err(payload) => tokio::spawn(async move { std::panic::resume_unwind(payload) }),
    };
    let heartbeat = shared.worker.heartbeat;
    let mut ticker = heartbeat.map(|every| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let beat_timeout = heartbeat
        .unwrap_or_default()
        .max(Duration::from_secs(1))
        .min(shared.worker.call_timeout);
    let joined = loop {
        let tick = async {
            match &mut ticker {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = &mut job => break joined,
            _ = tick => {
                let body = json!({"taskToken": token});
                match conn.call_within("SendTaskHeartbeat", &body, beat_timeout).await {
                    Ok(_) => {}
                    Err(e) if task_closed(&e) => {
                        tracing::info!(error = %e, "task closed by the server; heartbeats stop");
                        ticker = None;
                        let _ = close.send(true);
                    }
                    Err(e) => tracing::warn!(error = %e, "SendTaskHeartbeat failed"),
                }
            }
        }
    };
    let outcome = match joined {
        Ok(Ok(output)) => match serde_json::from_str::<Value>(&output) {
            Ok(_) => Ok(output),
            Err(e) => Err(TaskError::new(
                INVALID_OUTPUT,
                format!("the handler's output is not JSON: {e}"),
            )),
        },
        Ok(Err(failure)) => Err(failure),
        Err(e) if e.is_panic() => Err(TaskError::new(
            HANDLER_PANICKED,
            format!("the handler panicked: {}", panic_message(e.into_panic())),
        )),
        Err(e) => Err(TaskError::new(
            HANDLER_PANICKED,
            format!("the handler did not finish: {e}"),
        )),
    };
    answer(conn, &token, outcome).await;
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// The first `max` characters of `text`.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn failure_body(token: &str, failure: &TaskError) -> Value {
    json!({
        "taskToken": token,
        "error": cut(&failure.error, MAX_ERROR_CHARS),
        "cause": cut(&failure.cause, MAX_CAUSE_CHARS),
    })
}

async fn answer(conn: &mut SfnConnection, token: &str, outcome: Result<String, TaskError>) {
    let sent = match &outcome {
        Ok(output) => {
            let body = json!({"taskToken": token, "output": output});
            match send(conn, "SendTaskSuccess", &body).await {
                // Valid JSON the server still refuses (too large): the task must fail.
                Err(e) if e.code == "InvalidOutput" => {
                    let failure = TaskError::new(INVALID_OUTPUT, e.message);
                    send(conn, "SendTaskFailure", &failure_body(token, &failure)).await
                }
                sent => sent,
            }
        }
        Err(failure) => send(conn, "SendTaskFailure", &failure_body(token, failure)).await,
    };
    match sent {
        Ok(()) => tracing::debug!(succeeded = outcome.is_ok(), "task answered"),
        Err(e) if task_closed(&e) => {
            tracing::info!(error = %e, "task closed before its answer; answer dropped")
        }
        Err(e) => tracing::error!(error = %e, "could not answer the task"),
    }
}

/// One answer, tried again while the server cannot be reached.
async fn send(conn: &mut SfnConnection, operation: &str, body: &Value) -> Result<(), CallError> {
    let mut backoff = MIN_BACKOFF * 2;
    let mut attempt = 1;
    loop {
        match conn.call(operation, body).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transport() && attempt < ANSWER_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "{operation} failed; trying again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn failures_are_cut_to_the_api_limits() {
        let failure = TaskError::new("E".repeat(300), "ü".repeat(40_000));
        let body = failure_body("t", &failure);
        assert_eq!(body["error"].as_str().unwrap().chars().count(), 256);
        assert_eq!(body["cause"].as_str().unwrap().chars().count(), 32_768);
    }

    #[test]
    fn only_curable_poll_errors_are_retried() {
        let e = |code: &str| CallError {
            code: code.into(),
            message: String::new(),
        };
        assert!(worth_retrying(&e(crate::client::TRANSPORT)));
        assert!(worth_retrying(&e("ActivityWorkerLimitExceeded")));
        assert!(!worth_retrying(&e("ActivityDoesNotExist")));
        assert!(!worth_retrying(&e("InvalidArn")));
    }
}
