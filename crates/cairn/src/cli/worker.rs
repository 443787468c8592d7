//! `cairn worker`: turns any program into an activity worker, on top of the `cairn-worker`
//! library. This file owns the program convention (below); polling, heartbeats, answers and
//! graceful shutdown are the library's.
//!
//! The activity: an ARN (`arn:…`) is used as given; a bare name is resolved by calling
//! CreateActivity with it, which is idempotent by name and answers the ARN in the endpoint's
//! scope (its account, and the region of `--region`). So the worker may start before
//! anything else made the activity, and a name never resolves to another region's activity.
//!
//! For each task the command runs once, in its own process group (Ctrl-C in a terminal
//! reaches the worker, not the commands it runs):
//! - stdin: the task input (JSON), then end of file;
//! - environment: `CAIRN_TASK_TOKEN`, `CAIRN_ACTIVITY_ARN`, `CAIRN_ENDPOINT`, and
//!   `CAIRN_WORKER_NAME` when `--name` is given, besides the worker's own environment;
//! - exit 0: stdout (surrounding whitespace ignored) is the output and must be JSON; if it
//!   is not, the task fails with `Cairn.InvalidOutput`;
//! - exit n ≠ 0: the task fails. If the last non-empty stdout line is a JSON object with a
//!   string `error` (and optionally a string `cause`), those are the error and cause;
//!   otherwise the error is `Cairn.ExitCode.<n>`. A missing cause is the tail of stderr
//!   (at most 32,768 characters);
//! - killed by signal s: error `Cairn.Signal.<s>`, cause the tail of stderr;
//! - cannot start: error `Cairn.CommandNotStarted`;
//! - stderr is passed through to the worker's stderr as well.
//!
//! While the command runs the worker heartbeats every `--heartbeat` seconds. When a heartbeat
//! learns that the task is closed (timed out, execution stopped), the command's process
//! group is killed: nobody waits for its result. SIGTERM or SIGINT: stop polling, let running
//! commands finish and answer, exit 0. A second signal kills the running commands (their
//! tasks fail with `Cairn.WorkerInterrupted`) and the worker exits after answering.

use anyhow::Context;
use cairn_worker::worker::{INVALID_OUTPUT, MAX_CAUSE_CHARS};
use cairn_worker::{SfnConnection, TaskContext, TaskError, Worker};
use clap::Args;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, watch};

/// Stdout kept per task; AWS refuses outputs above 256 KiB anyway.
const MAX_STDOUT_BYTES: usize = 1024 * 1024;
/// Stderr kept per task (its tail), enough for 32,768 characters of cause.
const STDERR_TAIL_BYTES: usize = 4 * MAX_CAUSE_CHARS;
/// After the command exits, how long its pipes may stay open (held by a process it left
/// running in the background) before the worker stops reading them.
const PIPE_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Activity name or ARN (a bare name is created if missing, and resolved to its ARN).
    #[arg(long)]
    pub activity: String,
    /// The Step Functions endpoint (plain http).
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    pub endpoint: String,
    /// Tasks run at once (= concurrent long polls).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Seconds between heartbeats while a command runs; 0 = no heartbeats.
    #[arg(long, default_value_t = 10.0)]
    pub heartbeat: f64,
    /// The workerName sent with GetActivityTask (shown in ActivityStarted events).
    #[arg(long)]
    pub name: Option<String>,
    /// Region named in requests; Cairn mints and resolves ARNs in it.
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    pub region: String,
    /// The program to run for each task, and its arguments (after `--`).
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

pub fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(work(args))
}

/// The program and what every run of it shares.
struct Program {
    command: Vec<String>,
    endpoint: String,
    /// Set by a second SIGINT/SIGTERM: kill what runs.
    interrupted: watch::Receiver<bool>,
}

async fn work(args: WorkerArgs) -> anyhow::Result<()> {
    let heartbeat = Duration::try_from_secs_f64(args.heartbeat)
        .map_err(|_| anyhow::anyhow!("--heartbeat is a number of seconds ≥ 0"))?;
    // Listen before anything else, so an early signal is a graceful stop, not a kill.
    let (stop, interrupted) = signals()?;
    let activity_arn = resolve_activity(&args).await?;
    tracing::info!(
        activity = %activity_arn,
        endpoint = %args.endpoint,
        concurrency = args.concurrency,
        "cairn worker is polling"
    );
    let program = Arc::new(Program {
        command: args.command.clone(),
        endpoint: args.endpoint.clone(),
        interrupted,
    });
    let mut worker = Worker::new(args.endpoint.clone(), activity_arn)
        .concurrency(args.concurrency)
        .heartbeat(heartbeat)
        .region(args.region.clone());
    if let Some(name) = &args.name {
        worker = worker.name(name.clone());
    }
    let handler = move |ctx: TaskContext, input: String| run_program(program.clone(), ctx, input);
    worker
        .run(handler, async {
            let _ = stop.await;
        })
        .await?;
    tracing::info!("cairn worker stopped");
    Ok(())
}

/// Serve `activity_arn` at `endpoint` with `command` (program and arguments) until `stop`
/// resolves, with the same program convention as `cairn worker` (`cairn run --activity`).
pub(super) async fn serve_activity(
    endpoint: String,
    activity_arn: String,
    command: Vec<String>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    anyhow::ensure!(!command.is_empty(), "the activity's command is empty");
    // Nobody interrupts these commands: `cairn run` stops its workers once the execution
    // has ended, when no task can be running.
    let (_never, interrupted) = watch::channel(false);
    let program = Arc::new(Program {
        command,
        endpoint: endpoint.clone(),
        interrupted,
    });
    let handler = move |ctx: TaskContext, input: String| run_program(program.clone(), ctx, input);
    Worker::new(endpoint, activity_arn)
        .heartbeat(Duration::from_secs(10))
        .run(handler, stop)
        .await?;
    Ok(())
}

/// A bare name → CreateActivity (idempotent by name) → its ARN; an ARN as is.
async fn resolve_activity(args: &WorkerArgs) -> anyhow::Result<String> {
    if args.activity.starts_with("arn:") {
        return Ok(args.activity.clone());
    }
    let mut conn = SfnConnection::new(&args.endpoint)?
        .with_region(args.region.clone())
        .with_timeout(Duration::from_secs(30));
    let created = conn
        .call("CreateActivity", &json!({"name": args.activity}))
        .await
        .with_context(|| format!("cannot resolve the activity {:?}", args.activity))?;
    created["activityArn"]
        .as_str()
        .map(str::to_string)
        .context("CreateActivity answered no activityArn")
}

/// First SIGINT/SIGTERM → `stop` resolves; the second → `interrupted` turns true.
fn signals() -> anyhow::Result<(oneshot::Receiver<()>, watch::Receiver<bool>)> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let (interrupt_tx, interrupt_rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::info!("signal received: finishing running tasks (signal again to kill them)");
        let _ = stop_tx.send(());
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::warn!("second signal: killing running commands");
        let _ = interrupt_tx.send(true);
        // Keep the sender alive: receivers read a dropped sender as "never".
        std::future::pending::<()>().await;
    });
    Ok((stop_rx, interrupt_rx))
}

/// Why the worker killed a command before it exited.
enum Killed {
    Interrupted,
    TaskClosed,
}

async fn run_program(
    program: Arc<Program>,
    ctx: TaskContext,
    input: String,
) -> Result<String, TaskError> {
    let (name, args) = program
        .command
        .split_first()
        .expect("clap requires a command");
    let mut command = tokio::process::Command::new(name);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("CAIRN_TASK_TOKEN", ctx.task_token())
        .env("CAIRN_ACTIVITY_ARN", ctx.activity_arn())
        .env("CAIRN_ENDPOINT", &program.endpoint)
        .process_group(0)
        .kill_on_drop(true);
    if let Some(tp) = ctx.traceparent() {
        command.env("TRACEPARENT", tp);
    }
    if let Some(worker) = ctx.worker_name() {
        command.env("CAIRN_WORKER_NAME", worker);
    }
    let mut child = command.spawn().map_err(|e| {
        TaskError::new(
            "Cairn.CommandNotStarted",
            format!("cannot start {name:?}: {e}"),
        )
    })?;
    let group = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        // A program may exit without reading its input: a broken pipe is not an error.
        tokio::spawn(async move {
            let _ = stdin.write_all(input.as_bytes()).await;
            let _ = stdin.shutdown().await;
        });
    }
    let stdout = Captured::start(child.stdout.take(), false, MAX_STDOUT_BYTES);
    let stderr = Captured::start(child.stderr.take(), true, STDERR_TAIL_BYTES);
    let mut interrupted = program.interrupted.clone();
    let (status, killed) = tokio::select! {
        status = child.wait() => (status, None),
        _ = wait_true(&mut interrupted) => (kill_group(&mut child, group).await, Some(Killed::Interrupted)),
        _ = ctx.closed() => (kill_group(&mut child, group).await, Some(Killed::TaskClosed)),
    };
    let status = status.map_err(|e| {
        TaskError::new(
            "Cairn.CommandNotStarted",
            format!("cannot wait for {name:?}: {e}"),
        )
    })?;
    let stdout = stdout.finish().await;
    let stderr = stderr.finish().await;
    match killed {
        Some(Killed::Interrupted) => {
            return Err(TaskError::new(
                "Cairn.WorkerInterrupted",
                "the worker was told to stop twice and killed the command",
            ))
        }
        Some(Killed::TaskClosed) => {
            return Err(TaskError::new(
                "Cairn.TaskClosed",
                "the task was closed while the command ran; the command was killed",
            ))
        }
        None => {}
    }
    outcome(status, &stdout, &stderr)
}

/// The task's answer from how the command ended (see the module header).
fn outcome(
    status: std::process::ExitStatus,
    stdout: &Output,
    stderr: &Output,
) -> Result<String, TaskError> {
    use std::os::unix::process::ExitStatusExt;
    let text = String::from_utf8_lossy(&stdout.bytes);
    let stderr_tail = || {
        let text = String::from_utf8_lossy(&stderr.bytes);
        let skip = text.chars().count().saturating_sub(MAX_CAUSE_CHARS);
        text.chars().skip(skip).collect::<String>()
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => {
            if stdout.overflowed {
                return Err(TaskError::new(
                    INVALID_OUTPUT,
                    format!("the command's stdout is larger than {MAX_STDOUT_BYTES} bytes"),
                ));
            }
            let output = text.trim();
            match serde_json::from_str::<Value>(output) {
                Ok(_) => Ok(output.to_string()),
                Err(_) if output.is_empty() => Err(TaskError::new(
                    INVALID_OUTPUT,
                    "the command exited 0 but wrote nothing to stdout; its output must be JSON",
                )),
                Err(e) => Err(TaskError::new(
                    INVALID_OUTPUT,
                    format!(
                        "the command exited 0 but its stdout is not JSON ({e}); stdout begins: {}",
                        output.chars().take(200).collect::<String>()
                    ),
                )),
            }
        }
        (Some(code), _) => {
            let declared = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .and_then(declared_failure);
            Err(match declared {
                Some((error, Some(cause))) => TaskError::new(error, cause),
                Some((error, None)) => TaskError::new(error, stderr_tail()),
                None => {
                    let cause = stderr_tail();
                    let cause = if cause.trim().is_empty() {
                        format!("the command exited with code {code} and wrote nothing to stderr")
                    } else {
                        cause
                    };
                    TaskError::new(format!("Cairn.ExitCode.{code}"), cause)
                }
            })
        }
        (None, signal) => {
            let signal = signal.unwrap_or_default();
            let cause = stderr_tail();
            let cause = if cause.trim().is_empty() {
                format!("the command was killed by signal {signal}")
            } else {
                cause
            };
            Err(TaskError::new(format!("Cairn.Signal.{signal}"), cause))
        }
    }
}

/// `{"error": "...", "cause": "..."}` on a line → (error, cause).
fn declared_failure(line: &str) -> Option<(String, Option<String>)> {
    let value: Value = serde_json::from_str(line.trim()).ok()?;
    let error = value.get("error")?.as_str()?.to_string();
    let cause = value
        .get("cause")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((error, cause))
}

async fn wait_true(flag: &mut watch::Receiver<bool>) {
    if flag.wait_for(|f| *f).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// SIGKILL the command's process group (the command and what it started), then reap it.
async fn kill_group(
    child: &mut tokio::process::Child,
    group: Option<u32>,
) -> std::io::Result<std::process::ExitStatus> {
    if let Some(pid) = group.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) takes plain integers; a negative pid names the process group that
        // `process_group(0)` made for this child, which we have not reaped yet.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.start_kill();
    child.wait().await
}

/// What was read from one of the command's pipes.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    /// More than the limit was written (stdout: the head was kept; stderr: the tail).
    overflowed: bool,
}

/// A pipe read to its end in the background.
struct Captured {
    output: Arc<Mutex<Output>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Captured {
    /// Read `pipe`, keeping at most `limit` bytes: the head, or the tail if `tail` (stderr,
    /// which is also copied to the worker's stderr).
    fn start(
        pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
        tail: bool,
        limit: usize,
    ) -> Self {
        let output = Arc::new(Mutex::new(Output::default()));
        let reader = pipe.map(|mut pipe| {
            let output = output.clone();
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 16 * 1024];
                let mut echo = tokio::io::stderr();
                while let Ok(n) = pipe.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    if tail {
                        let _ = echo.write_all(&chunk[..n]).await;
                    }
                    let mut out = output.lock().expect("pipe buffer lock");
                    out.bytes.extend_from_slice(&chunk[..n]);
                    if out.bytes.len() > limit {
                        out.overflowed = true;
                        if tail {
                            let excess = out.bytes.len() - limit;
                            out.bytes.drain(..excess);
                        } else {
                            out.bytes.truncate(limit);
                        }
                    }
                }
            })
        });
        Captured { output, reader }
    }

    /// Everything read, once the pipe closed or [`PIPE_GRACE`] passed.
    async fn finish(mut self) -> Output {
        if let Some(reader) = self.reader.take() {
            let abort = reader.abort_handle();
            if tokio::time::timeout(PIPE_GRACE, reader).await.is_err() {
                tracing::warn!(
                    "a process the command left running holds its pipe; stopped reading it"
                );
                abort.abort();
            }
        }
        std::mem::take(&mut *self.output.lock().expect("pipe buffer lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn out(text: &str) -> Output {
        Output {
            bytes: text.as_bytes().to_vec(),
            overflowed: false,
        }
    }

    fn exit(code: i32) -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn exit_zero_with_json_is_the_output() {
        assert_eq!(
            outcome(exit(0), &out(" {\"a\":1}\n"), &out("")),
            Ok("{\"a\":1}".to_string())
        );
    }

    #[test]
    fn exit_zero_without_json_fails_with_invalid_output() {
        let e = outcome(exit(0), &out("done!"), &out("")).unwrap_err();
        assert_eq!(e.error, INVALID_OUTPUT);
        assert!(e.cause.contains("not JSON"), "{}", e.cause);
        let e = outcome(exit(0), &out(""), &out("")).unwrap_err();
        assert!(e.cause.contains("nothing to stdout"), "{}", e.cause);
    }

    #[test]
    fn the_last_stdout_line_may_declare_the_failure() {
        let stdout = out("working\n{\"error\":\"Img.TooLarge\",\"cause\":\"9000 px\"}\n\n");
        assert_eq!(
            outcome(exit(3), &stdout, &out("trace")),
            Err(TaskError::new("Img.TooLarge", "9000 px"))
        );
        let stdout = out("{\"error\":\"Img.TooLarge\"}");
        assert_eq!(
            outcome(exit(3), &stdout, &out("trace")),
            Err(TaskError::new("Img.TooLarge", "trace"))
        );
    }

    #[test]
    fn otherwise_the_exit_code_names_the_error_and_stderr_is_the_cause() {
        let stderr = format!("{}END", "x".repeat(40_000));
        let e = outcome(exit(2), &out("not json"), &out(&stderr)).unwrap_err();
        assert_eq!(e.error, "Cairn.ExitCode.2");
        assert_eq!(e.cause.chars().count(), MAX_CAUSE_CHARS);
        assert!(e.cause.ends_with("END"));
        let e = outcome(exit(1), &out(""), &out("")).unwrap_err();
        assert!(e.cause.contains("code 1"), "{}", e.cause);
    }

    #[test]
    fn a_signal_names_the_error() {
        let e = outcome(std::process::ExitStatus::from_raw(9), &out(""), &out("")).unwrap_err();
        assert_eq!(e.error, "Cairn.Signal.9");
    }
}
