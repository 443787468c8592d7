//! `cairn run FILE.asl.json`: one execution of a definition, in-process, for the edit-run
//! loop and CI. It creates the state machine (and every activity its Task states name) in a
//! temporary store (or `--database`), starts the execution through the same API handlers
//! and engine as `cairn serve`, prints each history event as it is committed, then the
//! output, or the error and cause.
//!
//! Exit status: 0 SUCCEEDED; 1 FAILED, TIMED_OUT or ABORTED (or Cairn itself failed);
//! 2 a definition the validator refuses (its diagnostics and where they are go to stderr),
//! or bad arguments (unreadable file, input that is not JSON, a malformed `--activity`).
//!
//! `--activity NAME=COMMAND` serves the activity `NAME` with `sh -c COMMAND`, as
//! `cairn worker` would (same program convention; see `worker.rs`): the engine is then also
//! served over HTTP on a free port of 127.0.0.1 for the worker to poll. `--skip-time` runs on
//! a virtual clock that jumps over waits (see `runtime/clock.rs`).
//!
//! Must not: interpret anything itself; the engine runs the execution.

use super::EngineArgs;
use crate::api::{self, Ctx};
use crate::app::App;
use crate::runtime::Engine;
use anyhow::Context;
use cairn_api::ApiError;
use cairn_asl::{MachineType, Severity};
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The state machine definition (Amazon States Language JSON).
    pub file: PathBuf,
    /// The execution input: JSON text, or `@FILE` to read it from a file (default `{}`).
    #[arg(long)]
    pub input: Option<String>,
    /// The state machine's name (default: the file name without `.asl.json` / `.json`);
    /// mock configurations find their test cases by it.
    #[arg(long)]
    pub name: Option<String>,
    /// The test case of the mock configuration (`--mock-config`) to run.
    #[arg(long, requires = "mock_config")]
    pub test_case: Option<String>,
    /// Serve an activity with a command: `NAME=COMMAND` (run by `sh -c`, task input on
    /// stdin, output on stdout, as `cairn worker` does). Repeatable.
    #[arg(long = "activity", value_name = "NAME=COMMAND")]
    pub activities: Vec<String>,
    /// Print events and the result as JSON lines instead of readable text.
    #[arg(long)]
    pub json: bool,
    /// Keep the execution in this database (SQLite file or `postgres://` URL) instead of a
    /// temporary one.
    #[arg(long)]
    pub database: Option<PathBuf>,
    /// Skip time: a virtual clock jumps to the next timer (Wait, retry back-off, timeouts)
    /// whenever nothing is in flight.
    #[arg(long)]
    pub skip_time: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Exit status of a bad definition or bad arguments.
const EXIT_BAD_INPUT: i32 = 2;

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let code = match prepare(&args) {
        Ok(prepared) => {
            let runtime = super::engine_runtime()?;
            let (store, _temp) = match &args.database {
                Some(d) => {
                    let store = super::serve::open_store(d)?;
                    if args.skip_time && store.cluster().is_some() {
                        // Other nodes on the database would keep their own clocks.
                        eprintln!("--skip-time needs a SQLite database (or none)");
                        std::process::exit(EXIT_BAD_INPUT);
                    }
                    (store, None)
                }
                None => {
                    let dir = tempfile::tempdir().context("cannot create a temporary store")?;
                    let store = cairn_store::sqlite::SqliteStore::open(&dir.path().join("run.db"))
                        .context("cannot open the temporary store")?;
                    (Arc::new(store) as Arc<dyn cairn_store::Store>, Some(dir))
                }
            };
            let code = runtime.block_on(execute(&args, prepared, store))?;
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            code
        }
        Err(Refused(message)) => {
            eprintln!("{message}");
            EXIT_BAD_INPUT
        }
    };
    std::io::stdout().flush().ok();
    std::process::exit(code);
}

/// Arguments refused before anything runs (exit 2), with what to tell the user.
struct Refused(String);

/// What the arguments resolve to.
struct Prepared {
    definition: String,
    input: String,
    name: String,
    /// (activity name, command).
    activities: Vec<(String, String)>,
}

fn prepare(args: &RunArgs) -> Result<Prepared, Refused> {
    let file = args.file.display();
    let definition = std::fs::read_to_string(&args.file)
        .map_err(|e| Refused(format!("cannot read {file}: {e}")))?;
    let diagnostics = cairn_asl::validate(&definition, MachineType::Standard);
    let mut errors = 0;
    for d in &diagnostics {
        let severity = match d.severity {
            Severity::Error => {
                errors += 1;
                "error"
            }
            _ => "warning",
        };
        let location = if d.location.is_empty() {
            "/"
        } else {
            d.location.as_str()
        };
        eprintln!("{file}: {severity} {} at {location}: {}", d.code, d.message);
    }
    if errors > 0 {
        return Err(Refused(format!(
            "{file}: the definition is invalid ({errors} error{})",
            if errors == 1 { "" } else { "s" }
        )));
    }
    let input = match args.input.as_deref() {
        None => "{}".to_string(),
        Some(text) => match text.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| Refused(format!("cannot read the input file {path}: {e}")))?,
            None => text.to_string(),
        },
    };
    serde_json::from_str::<Value>(&input)
        .map_err(|e| Refused(format!("the input is not JSON: {e}")))?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => {
            let base = args
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let stem = base
                .strip_suffix(".asl.json")
                .or_else(|| base.strip_suffix(".json"))
                .unwrap_or(&base);
            let clean: String = stem
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(80)
                .collect();
            if clean.is_empty() {
                "cairn-run".into()
            } else {
                clean
            }
        }
    };
    let mut activities = Vec::new();
    for spec in &args.activities {
        let Some((name, command)) = spec.split_once('=') else {
            return Err(Refused(format!(
                "--activity {spec:?}: expected NAME=COMMAND"
            )));
        };
        if name.is_empty() || command.trim().is_empty() {
            return Err(Refused(format!(
                "--activity {spec:?}: expected NAME=COMMAND"
            )));
        }
        activities.push((name.to_string(), command.to_string()));
    }
    Ok(Prepared {
        definition,
        input,
        name,
        activities,
    })
}

/// Every activity name in the definition's Task resources (`arn:…:activity:NAME`),
/// Parallel branches and Map iterators included.
fn activity_names(definition: &Value, out: &mut Vec<String>) {
    match definition {
        Value::Object(o) => {
            for (k, v) in o {
                if let (true, Some(r)) = (k == "Resource", v.as_str()) {
                    if let Some((_, name)) = r.split_once(":activity:") {
                        if !out.iter().any(|n| n == name) {
                            out.push(name.to_string());
                        }
                    }
                }
                activity_names(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| activity_names(v, out)),
        _ => {}
    }
}

async fn call(app: &App, operation: &str, body: Value) -> Result<Value, ApiError> {
    let ctx = Ctx::new(app);
    api::dispatch(app, &ctx, operation, body).await
}

async fn execute(
    args: &RunArgs,
    prepared: Prepared,
    store: Arc<dyn cairn_store::Store>,
) -> anyhow::Result<i32> {
    let mut config = args.engine.config();
    config.virtual_clock = args.skip_time;
    let engine = Engine::start(store.clone(), config.clone())?;
    let app = Arc::new(App::new(store, config.clone(), engine.clone()));
    let result = drive(args, prepared, &app).await;
    engine.shutdown().await;
    result
}

async fn drive(args: &RunArgs, prepared: Prepared, app: &Arc<App>) -> anyhow::Result<i32> {
    let api_err = |what: &str, e: ApiError| anyhow::anyhow!("{what}: {}", e.message);
    // The activities the definition names, created in the store so the Task states find
    // them (a bare name mints the ARN in this run's account and region).
    let parsed: Value = serde_json::from_str(&prepared.definition)?;
    let mut names = Vec::new();
    activity_names(&parsed, &mut names);
    for (name, _) in &prepared.activities {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let mut activity_arns = std::collections::HashMap::new();
    for name in &names {
        let created = call(app, "CreateActivity", json!({ "name": name }))
            .await
            .map_err(|e| api_err(&format!("cannot create the activity {name:?}"), e))?;
        let arn = created["activityArn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        activity_arns.insert(name.clone(), arn);
    }
    let role = format!("arn:aws:iam::{}:role/cairn-run", app.config.account_id);
    let body = json!({
        "name": prepared.name,
        "definition": prepared.definition,
        "roleArn": role,
    });
    let machine_arn = match call(app, "CreateStateMachine", body.clone()).await {
        Ok(created) => created["stateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        // A kept database may hold the machine already, with another definition.
        Err(e) if e.code.as_str() == "StateMachineAlreadyExists" => {
            let arn = Ctx::new(app).scope.state_machine(&prepared.name);
            call(
                app,
                "UpdateStateMachine",
                json!({"stateMachineArn": arn, "definition": prepared.definition}),
            )
            .await
            .map_err(|e| api_err("cannot update the state machine", e))?;
            arn
        }
        Err(e) if e.code.as_str() == "InvalidDefinition" => {
            eprintln!("{}: {}", args.file.display(), e.message);
            return Ok(EXIT_BAD_INPUT);
        }
        Err(e) => return Err(api_err("cannot create the state machine", e)),
    };
    // Workers poll over HTTP, as `cairn worker` does, so the API is served while they run.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = Vec::new();
    if !prepared.activities.is_empty() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let mut stop = stop_rx.clone();
        let server_app = app.clone();
        background.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::server::serve(listener, server_app, shutdown).await {
                tracing::error!(error = %e, "the API server of cairn run failed");
            }
        }));
        for (name, command) in &prepared.activities {
            let arn = activity_arns[name].clone();
            app.engine.serve_activity(&arn);
            let command = vec!["sh".to_string(), "-c".to_string(), command.clone()];
            let mut stop = stop_rx.clone();
            let endpoint = endpoint.clone();
            background.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) =
                    super::worker::serve_activity(endpoint, arn, command, shutdown).await
                {
                    tracing::error!(error = %e, "an activity worker of cairn run failed");
                }
            }));
        }
    }
    let mut events = app.engine.subscribe_events();
    let target = match &args.test_case {
        Some(case) => format!("{machine_arn}#{case}"),
        None => machine_arn.clone(),
    };
    let started = call(
        app,
        "StartExecution",
        json!({"stateMachineArn": target, "input": prepared.input}),
    )
    .await
    .map_err(|e| api_err("cannot start the execution", e))?;
    let execution_arn = started["executionArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !args.json {
        println!("execution {execution_arn}");
    }
    let closed = app.engine.closed(execution_arn.clone());
    tokio::pin!(closed);
    let mut done = false;
    loop {
        tokio::select! {
            biased;
            Some(event) = events.recv() => {
                if event.execution_arn == execution_arn {
                    print_event(&event.body, args.json);
                }
            }
            r = &mut closed, if !done => {
                r?;
                done = true;
            }
            else => break,
        }
        if done {
            // Everything the closing commit wrote was published before `closed` resolved.
            while let Ok(event) = events.try_recv() {
                if event.execution_arn == execution_arn {
                    print_event(&event.body, args.json);
                }
            }
            break;
        }
    }
    let described = call(
        app,
        "DescribeExecution",
        json!({ "executionArn": execution_arn }),
    )
    .await
    .map_err(|e| api_err("cannot describe the execution", e))?;
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    let status = described["status"].as_str().unwrap_or_default();
    print_result(&described, args.json);
    Ok(if status == "SUCCEEDED" { 0 } else { 1 })
}

fn print_event(body: &str, as_json: bool) {
    if as_json {
        println!("{body}");
        return;
    }
    let Ok(event) = serde_json::from_str::<Value>(body) else {
        println!("{body}");
        return;
    };
    let id = event["id"].as_u64().unwrap_or_default();
    let ms = (event["timestamp"].as_f64().unwrap_or_default() * 1000.0).round() as i64;
    let time = jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_else(|_| ms.to_string());
    let kind = event["type"].as_str().unwrap_or_default();
    let details = event
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
        .map(|(_, v)| v);
    let summary = details.map(summarize).unwrap_or_default();
    println!("{id:>4}  {time}  {kind}{summary}");
}

/// The interesting members of an event's details, on one line (long values cut).
fn summarize(details: &Value) -> String {
    let Some(d) = details.as_object() else {
        return String::new();
    };
    let mut out = String::new();
    for key in [
        "name",
        "resource",
        "resourceType",
        "error",
        "cause",
        "output",
        "input",
    ] {
        let Some(v) = d.get(key) else { continue };
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut text: String = text.replace('\n', " ");
        if text.chars().count() > 120 {
            text = text.chars().take(117).collect::<String>() + "...";
        }
        out.push_str(&format!("  {key}={text}"));
    }
    out
}

fn print_result(described: &Value, as_json: bool) {
    let status = described["status"].as_str().unwrap_or_default();
    if as_json {
        let mut result = json!({
            "executionArn": described["executionArn"],
            "status": status,
        });
        for key in ["output", "error", "cause"] {
            if let Some(v) = described.get(key) {
                result[key] = v.clone();
            }
        }
        println!("{result}");
        return;
    }
    println!("{status}");
    if let Some(output) = described["output"].as_str() {
        println!("{output}");
    }
    if let Some(error) = described["error"].as_str() {
        println!("error: {error}");
    }
    if let Some(cause) = described["cause"].as_str() {
        println!("cause: {cause}");
    }
}
