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
//! A redriven parent redrives its Map Run (`redrive_count` in the spec): the same children
//! are found again, and those that closed without succeeding are redriven (RedriveExecution
//! with a client token per run redrive); items never started start now.
//!
//! EXPRESS children keep no record: they run as tasks of the driver (in its `JoinSet`), which
//! awaits their end in memory and drops them when the run is aborted; a restart runs them
//! again (AWS's Express children are at-least-once too).
//!
//! With an ItemReader the items are pulled from `runtime/items` only as concurrency allows
//! (never collected whole), each through the core's ItemSelector and ItemBatcher pieces; the
//! total is then known only at the end, so ToleratedFailurePercentage is measured against the
//! items read so far. With a ResultWriter the outputs are not kept for the Map's output:
//! `items::write_results` gets STANDARD children's outcomes from their records a page at a
//! time, in item order, once the run ends; EXPRESS children, which have no record, are pushed
//! to an `items::ResultSink` as each ends (its parts leave as they fill). Its answer is the
//! Map's result. So the driver's memory is the running children, whatever the item count
//! (`cairn bench --scenario distributed-map`, docs/performance.md); only a run without a
//! ResultWriter keeps every child's output, for the Map's output.
//!
//! Must not: decide anything the core decides (which items, what each child gets, what counts
//! as exceeding the tolerance: [`cairn_core::tolerance_exceeded`]), or touch the parent's
//! history (it answers the task; the writer commits).

use super::children::{Children, MapChild, MapChildStart, Started};
use super::items::{
    self, ChildOutcome, ItemError, ItemStream, ObjectStore, OutcomePages, ResultSink,
};
use super::on_store;
use super::resources::{Answer, Invocation, ResourceEnv, TaskError};
use crate::clock::now_ms;
use cairn_core::{tolerance_exceeded, Batcher, MapRunSpec};
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
        later: Box::pin(drive(
            env.clone(),
            call.execution_arn.clone(),
            // The children's spans hang under the Map Run's task span (`--otlp-endpoint`).
            env.traceparent(call).map(str::to_string),
            spec,
        )),
        child,
    }
}

/// How a child ended: its status (`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`) and its
/// output, or its error and cause.
struct End {
    status: String,
    output: Value,
    /// What a ResultWriter records of the child (kept only when there is one).
    outcome: Option<ChildOutcome>,
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
            outcome: None,
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
    results_written: u64,
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
            "resultsWritten": self.results_written,
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

async fn drive(
    env: ResourceEnv,
    parent: String,
    trace_parent: Option<String>,
    spec: MapRunSpec,
) -> Answer {
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
    let answer = run(
        &env,
        &children,
        &parent,
        trace_parent.as_deref(),
        &spec,
        &nudge,
    )
    .await;
    LIVE.lock()
        .expect("live map runs")
        .remove(&spec.map_run_arn);
    answer
}

/// Where the children's inputs come from: the items the core resolved, or an ItemReader
/// read as concurrency allows (each item through ItemSelector and ItemBatcher as it comes).
enum Source {
    Inline {
        next: usize,
    },
    Reader {
        stream: Box<ItemStream>,
        read: u64,
        batcher: Option<Batcher>,
        done: bool,
    },
}

impl Source {
    /// The next child's input and how many items it carries; `None` at the end.
    async fn next(&mut self, spec: &MapRunSpec) -> Result<Option<(Value, u64)>, ItemError> {
        match self {
            Source::Inline { next } => {
                let Some(input) = spec.items.get(*next) else {
                    return Ok(None);
                };
                *next += 1;
                Ok(Some((input.clone(), items_of(spec, input))))
            }
            Source::Reader {
                stream,
                read,
                batcher,
                done,
            } => loop {
                if *done {
                    return Ok(None);
                }
                let Some(item) = stream.next().await? else {
                    *done = true;
                    let last = batcher.as_mut().and_then(Batcher::finish);
                    return Ok(last.map(|b| {
                        let n = items_of(spec, &b);
                        (b, n)
                    }));
                };
                let index = *read;
                *read += 1;
                let selected = match &spec.item_selector {
                    Some(sel) => sel
                        .apply(index, &item)
                        .map_err(|(error, cause)| ItemError {
                            error: error.unwrap_or_else(|| "States.Runtime".into()),
                            cause: cause.unwrap_or_default(),
                        })?,
                    None => item,
                };
                match batcher {
                    None => return Ok(Some((selected, 1))),
                    Some(b) => {
                        if let Some(batch) = b.push(selected) {
                            let n = items_of(spec, &batch);
                            return Ok(Some((batch, n)));
                        }
                    }
                }
            },
        }
    }
}

/// Open the run's item source.
async fn source(env: &ResourceEnv, spec: &MapRunSpec) -> Result<Source, ItemError> {
    let Some(reader) = &spec.item_reader else {
        return Ok(Source::Inline { next: 0 });
    };
    let store = object_store(env, "States.ItemReaderFailed")?;
    let reader = items::ReaderSpec {
        resource: reader.resource.clone(),
        parameters: reader.parameters.clone(),
        reader_config: reader.reader_config.clone(),
    };
    Ok(Source::Reader {
        stream: Box::new(items::open(&store, &reader).await?),
        read: 0,
        batcher: spec.batcher.as_ref().map(|b| b.batcher()),
        done: false,
    })
}

fn object_store(env: &ResourceEnv, error: &str) -> Result<Arc<ObjectStore>, ItemError> {
    env.object_store().ok_or_else(|| ItemError {
        error: error.into(),
        cause: "No object storage is configured: start cairn serve with --s3-endpoint URL \
                (an S3-compatible server) or --s3-root DIR (a folder per bucket)"
            .into(),
    })
}

type Page<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Vec<ChildOutcome>>, ItemError>> + Send + 'a>,
>;

/// STANDARD children's outcomes read from their records, a page at a time, in item order
/// (each page found through the run's item index: the cost of a page does not grow with the
/// run).
struct StoredOutcomes {
    children: Arc<Children>,
    map_run_arn: String,
    after: Option<u64>,
    done: bool,
}

const OUTCOME_PAGE: usize = 1000;

impl OutcomePages for StoredOutcomes {
    fn next_page(&mut self) -> Page<'_> {
        Box::pin(async move {
            if self.done {
                return Ok(None);
            }
            let (arn, after) = (self.map_run_arn.clone(), self.after);
            let rows = on_store(self.children.store(), move |s| {
                s.map_run_executions_by_item(&arn, after, OUTCOME_PAGE)
            })
            .await
            .map_err(|e| ItemError {
                error: "States.ResultWriterFailed".into(),
                cause: e.to_string(),
            })?;
            self.done = rows.len() < OUTCOME_PAGE;
            self.after = rows.last().map(|(i, _)| *i).or(self.after);
            if rows.is_empty() {
                return Ok(None);
            }
            Ok(Some(rows.into_iter().map(|(_, r)| outcome_of(r)).collect()))
        })
    }
}

fn outcome_of(r: cairn_store::ExecutionRecord) -> ChildOutcome {
    ChildOutcome {
        execution_arn: r.arn,
        name: r.name,
        state_machine_arn: r.state_machine_arn,
        status: r.status,
        input: r.input,
        output: r.output,
        error: r.error,
        cause: r.cause,
        start_date_ms: r.start_date_ms,
        stop_date_ms: r.stop_date_ms,
        redrive_count: r.redrive_count,
    }
}

fn failed_with(e: ItemError) -> Answer {
    Answer::Failed(TaskError::new(e.error, e.cause))
}

async fn run(
    env: &ResourceEnv,
    children: &Arc<Children>,
    parent: &str,
    trace_parent: Option<&str>,
    spec: &MapRunSpec,
    nudge: &Notify,
) -> Answer {
    let definition = match cairn_asl::parse_definition_str(&spec.definition) {
        Ok(d) => Arc::new(d),
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    // Inline items are counted up front; items read are counted as they are read.
    let inline_items: u64 = spec.items.iter().map(|i| items_of(spec, i)).sum();
    let mut progress = Progress {
        items: Counts::new(inline_items),
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
        redrive_count: 0,
        redrive_date_ms: None,
    };
    // A driver started again after a restart keeps the run's settings (UpdateMapRun's too).
    let mut settings = match on_store(children.store(), move |s| s.create_map_run(&record)).await {
        Ok(r) => r,
        Err(e) => return Answer::Failed(TaskError::new("States.Runtime", e.to_string())),
    };
    if spec.redrive_count > 0 {
        let (arn, count) = (spec.map_run_arn.clone(), spec.redrive_count);
        let redriven = on_store(children.store(), move |s| {
            s.redrive_map_run(&arn, count, now_ms())
        })
        .await;
        if let Err(e) = redriven {
            return Answer::Failed(TaskError::new("States.Runtime", e.to_string()));
        }
        settings = reread(children, settings).await;
    }
    let mut source = match source(env, spec).await {
        Ok(s) => s,
        Err(e) => {
            write(children, spec, &mut progress, "FAILED").await;
            return failed_with(e);
        }
    };
    let reading = spec.item_reader.is_some();
    // With a ResultWriter the outputs go to storage, not into the Map's output: STANDARD
    // children's are read back from their records a page at a time; EXPRESS children keep
    // no record, so theirs are written as each child ends.
    let writing = spec.result_writer.is_some();
    let keep_outcomes = writing && spec.execution_type == "EXPRESS";
    // The children's outputs for the Map's output (none with a ResultWriter), in item order.
    let mut results: Vec<Value> = Vec::new();
    let mut started: usize = 0;
    let mut express_results = ExpressResults::NotOpened;
    let mut running: JoinSet<(usize, u64, End)> = JoinSet::new();
    let mut exhausted = false;
    loop {
        let limit = match settings.max_concurrency {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        while !exhausted && running.len() < limit {
            let (input, n) = match source.next(spec).await {
                Ok(Some(next)) => next,
                Ok(None) => {
                    exhausted = true;
                    break;
                }
                Err(e) => {
                    running.abort_all();
                    stop_children(children, &spec.map_run_arn).await;
                    write(children, spec, &mut progress, "FAILED").await;
                    return failed_with(e);
                }
            };
            let i = started;
            started += 1;
            if !writing {
                results.push(Value::Null);
            }
            if reading {
                progress.items.total += n;
                progress.items.pending += n;
                progress.executions.total += 1;
                progress.executions.pending += 1;
            }
            progress.items.started(n);
            progress.executions.started(1);
            progress.dirty = true;
            let child = ChildInput {
                index: i,
                items: n,
                input,
                keep_outcome: keep_outcomes,
            };
            start_child(
                env,
                children,
                spec,
                &definition,
                trace_parent,
                child,
                &mut running,
            );
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            _ = nudge.notified() => {
                settings = reread(children, settings).await;
                continue;
            }
            // Counts written (children started, none ended lately) and settings read again
            // (an update through another node) while the run goes on.
            _ = tokio::time::sleep(PROGRESS_EVERY), if progress.dirty || !exhausted => {
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
        let (i, n, end) = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "a map run child task ended abnormally");
                return Answer::Failed(TaskError::new("States.Runtime", e.to_string()));
            }
        };
        progress.items.ended(n, &end.status);
        progress.executions.ended(1, &end.status);
        progress.dirty = true;
        if !writing {
            results[i] = end.output;
        }
        if let (Some(o), Some(w)) = (&end.outcome, &spec.result_writer) {
            express_results.push(env, spec, w, o).await;
        }
        if end.status != "SUCCEEDED" {
            // The tolerance as it stands now (UpdateMapRun may have changed it).
            settings = reread(children, settings).await;
        }
        if end.status != "SUCCEEDED"
            && tolerance_exceeded(
                progress.items.unsuccessful(),
                progress.items.total,
                Some(settings.tolerated_failure_count),
                Some(settings.tolerated_failure_percentage),
            )
        {
            running.abort_all();
            stop_children(children, &spec.map_run_arn).await;
            // AWS writes the results of a run that failed too: what ran, the failures in
            // FAILED_n.json. The Map still fails with the tolerance error; a write that
            // fails as well is only logged.
            if let Some(w) = &spec.result_writer {
                match write_outcomes(env, children, spec, w, keep_outcomes, &mut express_results)
                    .await
                {
                    Ok(_) => {
                        progress.items.results_written =
                            progress.items.succeeded + progress.items.unsuccessful();
                        progress.executions.results_written =
                            progress.executions.succeeded + progress.executions.unsuccessful();
                    }
                    Err(e) => tracing::warn!(
                        map_run = %spec.map_run_arn, error = %e.error, cause = %e.cause,
                        "the results of a failed map run could not be written"
                    ),
                }
            }
            write(children, spec, &mut progress, "FAILED").await;
            return Answer::Failed(TaskError::new(EXCEEDED, EXCEEDED_CAUSE));
        }
        if progress.written.elapsed() >= PROGRESS_EVERY {
            write(children, spec, &mut progress, "RUNNING").await;
            settings = reread(children, settings).await;
        }
    }
    let answer = match &spec.result_writer {
        None => Answer::Succeeded(Value::Array(results).to_string()),
        Some(w) => {
            match write_outcomes(env, children, spec, w, keep_outcomes, &mut express_results).await
            {
                Ok(v) => {
                    progress.items.results_written =
                        progress.items.succeeded + progress.items.unsuccessful();
                    progress.executions.results_written =
                        progress.executions.succeeded + progress.executions.unsuccessful();
                    Answer::Succeeded(v.to_string())
                }
                Err(e) => {
                    write(children, spec, &mut progress, "FAILED").await;
                    return failed_with(e);
                }
            }
        }
    };
    write(children, spec, &mut progress, "SUCCEEDED").await;
    answer
}

fn writer_spec(w: &cairn_core::WriterSpec) -> items::WriterSpec {
    items::WriterSpec {
        resource: w.resource.clone(),
        parameters: w.parameters.clone(),
        writer_config: w.writer_config.clone(),
    }
}

/// EXPRESS children's outcomes for a ResultWriter, written as the children end: they keep
/// no record to read back, and holding them until the end grew the driver by about a
/// kilobyte per item. Opened with the first outcome; a failure (no storage, a bad spec, an
/// upload refused) is kept and is the run's answer at the end, as it was when everything
/// was written at the end.
enum ExpressResults {
    NotOpened,
    Open(Box<ResultSink>),
    Failed(ItemError),
}

impl ExpressResults {
    fn open(
        env: &ResourceEnv,
        spec: &MapRunSpec,
        w: &cairn_core::WriterSpec,
    ) -> Result<ResultSink, ItemError> {
        object_store(env, "States.ResultWriterFailed")
            .and_then(|store| ResultSink::open(&store, &writer_spec(w), &spec.map_run_arn))
    }

    async fn push(
        &mut self,
        env: &ResourceEnv,
        spec: &MapRunSpec,
        w: &cairn_core::WriterSpec,
        outcome: &ChildOutcome,
    ) {
        if let ExpressResults::NotOpened = self {
            *self = match ExpressResults::open(env, spec, w) {
                Ok(sink) => ExpressResults::Open(Box::new(sink)),
                Err(e) => ExpressResults::Failed(e),
            };
        }
        if let ExpressResults::Open(sink) = self {
            if let Err(e) = sink.push(outcome).await {
                *self = ExpressResults::Failed(e);
            }
        }
    }

    async fn finish(
        &mut self,
        env: &ResourceEnv,
        spec: &MapRunSpec,
        w: &cairn_core::WriterSpec,
    ) -> Result<Value, ItemError> {
        match std::mem::replace(self, ExpressResults::NotOpened) {
            // No child ended with an outcome: the manifest and empty lists are still written.
            ExpressResults::NotOpened => ExpressResults::open(env, spec, w)?.finish().await,
            ExpressResults::Open(sink) => sink.finish().await,
            ExpressResults::Failed(e) => Err(e),
        }
    }
}

/// Write the children's outcomes through the ResultWriter `w`: EXPRESS children's were
/// pushed to `express` as they ended, STANDARD children's are read back from their records
/// a page at a time.
async fn write_outcomes(
    env: &ResourceEnv,
    children: &Arc<Children>,
    spec: &MapRunSpec,
    w: &cairn_core::WriterSpec,
    keep_outcomes: bool,
    express: &mut ExpressResults,
) -> Result<Value, ItemError> {
    if keep_outcomes {
        express.finish(env, spec, w).await
    } else {
        let store = object_store(env, "States.ResultWriterFailed")?;
        let writer = writer_spec(w);
        let mut pages = StoredOutcomes {
            children: children.clone(),
            map_run_arn: spec.map_run_arn.clone(),
            after: None,
            done: false,
        };
        items::write_results(&store, &writer, &spec.map_run_arn, &mut pages).await
    }
}

/// One child to start: its item index, how many items it carries, its input, and whether a
/// ResultWriter needs its outcome.
struct ChildInput {
    index: usize,
    items: u64,
    input: Value,
    keep_outcome: bool,
}

/// Start a child (or find it again) and await its end, as a task of `running`: starts run
/// side by side, so the writer commits many in one batch.
fn start_child(
    env: &ResourceEnv,
    children: &Arc<Children>,
    spec: &MapRunSpec,
    definition: &Arc<cairn_asl::StateMachine>,
    trace_parent: Option<&str>,
    child: ChildInput,
    running: &mut JoinSet<(usize, u64, End)>,
) {
    let ChildInput {
        index: i,
        items: n,
        input,
        keep_outcome,
    } = child;
    let name = child_name(&spec.map_run_arn, i);
    let express = spec.execution_type == "EXPRESS";
    // The STANDARD child's ARN, linked to the run before it is started, so that stopping
    // the run finds it however far its start got.
    let link = (!express).then(|| {
        let arn = format!(
            "{}:{name}",
            spec.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        );
        (spec.map_run_arn.clone(), arn)
    });
    let request = MapChildStart {
        state_machine_arn: spec.state_machine_arn.clone(),
        name,
        input_text: input.to_string(),
        definition: definition.clone(),
        definition_text: spec.definition.clone(),
        role_arn: spec.role_arn.clone(),
        express,
        trace_parent: trace_parent.map(str::to_string),
    };
    let (env, children) = (env.clone(), children.clone());
    let redrive_count = spec.redrive_count;
    running.spawn(async move {
        if let Some((run_arn, child_arn)) = link {
            let linked = on_store(children.store(), move |s| {
                s.link_map_run_execution(&run_arn, &child_arn, i as u64)
            })
            .await;
            if let Err(e) = linked {
                tracing::warn!(error = %e, "map run child not linked");
            }
        }
        let end = match children.start_map_child(&env, request).await {
            Ok(MapChild::Express { run, .. }) => {
                let e = run.await;
                let mut end = End::of(
                    e.status.as_str(),
                    e.output.as_deref(),
                    e.error.clone(),
                    e.cause.clone(),
                );
                if keep_outcome {
                    end.outcome = Some(ChildOutcome {
                        execution_arn: e.info.execution_arn.clone(),
                        name: e.info.name.clone(),
                        state_machine_arn: e.info.state_machine_arn.clone(),
                        status: e.status.as_str().to_string(),
                        input: e.info.input_text.clone(),
                        output: e.output,
                        error: e.error,
                        cause: e.cause,
                        start_date_ms: e.info.start_time_ms,
                        stop_date_ms: e.stop_time_ms,
                        redrive_count: 0,
                    });
                }
                end
            }
            Ok(MapChild::Standard(Started::Running { execution_arn, .. })) => {
                standard_end(&children, &execution_arn, keep_outcome).await
            }
            // Started before: closed. In a redriven run, a child that did not succeed is
            // redriven (once per run redrive: the client token says which).
            Ok(MapChild::Standard(Started::NameTaken { execution_arn })) => {
                if redrive_count > 0 {
                    let failed = matches!(
                        children.record(&execution_arn).await,
                        Ok(Some(r)) if r.status != "SUCCEEDED" && r.status != "RUNNING"
                    );
                    let token = format!("mapRunRedrive-{redrive_count}");
                    if failed {
                        if let Err(e) = children.redrive(&execution_arn, &token).await {
                            tracing::warn!(execution_arn, error = %e.message, "child not redriven");
                        }
                    }
                }
                standard_end(&children, &execution_arn, keep_outcome).await
            }
            // The child could not be started at all: the item fails like a failed child.
            Err(e) => End::failed(e.message),
        };
        (i, n, end)
    });
}

async fn standard_end(children: &Children, execution_arn: &str, keep_outcome: bool) -> End {
    match children.closed(execution_arn).await {
        Ok(Some(r)) => {
            let mut end = End::of(
                &r.status,
                r.output.as_deref(),
                r.error.clone(),
                r.cause.clone(),
            );
            if keep_outcome {
                end.outcome = Some(outcome_of(r));
            }
            end
        }
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
