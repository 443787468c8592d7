//! OpenTelemetry traces of executions, exported over OTLP/HTTP (protobuf) when
//! `--otlp-endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set.
//!
//! One trace per execution: a root span for the execution (ExecutionStarted to its end), a
//! span per state entered (StateEntered to StateExited, or to the execution's end), nested
//! under its Parallel or Map state, and a span per task attempt (…Scheduled to its close)
//! under its state. A task's retries are events on the state's span. A child execution
//! started by a `states:startExecution` task belongs to its parent's trace, under the task
//! attempt's span; a Distributed Map's run is a "Map Run" span under its Map state
//! (MapRunStarted to its end), and each child execution's root hangs under it.
//!
//! **Ids are derived, never stored.** Trace and span ids are hashes (SHA-256, truncated) of
//! the execution ARN and the id of the event that opens the span: the root span from the
//! ARN, a state span from its `…StateEntered` event, a task span from its `…Scheduled` event;
//! the trace id from the ARN, or, for a child, from the parent's context carried in its
//! `ExecutionInfo::trace_parent` (durable in the execution's snapshot). So the same span is
//! named the same way by every node and after any restart: a span still open when the node
//! stopped is ended (with the right ids and start time) once its closing event commits, its
//! opening events read back from the store's history.
//!
//! Spans come only from **committed** events: the tracker subscribes to the engine's event
//! tap (published after each commit) and runs on its own task, off the writer thread; spans
//! are exported in batches by the SDK's `BatchSpanProcessor` on its own thread.
//!
//! Trace context passed on: [`task_traceparent`] is the W3C `traceparent` of a task
//! attempt's span, which the resources send as a `traceparent` header (HTTP Tasks, URL-based
//! functions), a `TRACEPARENT` environment variable (command-based functions, `cairn worker`
//! commands), and GetActivityTask's `traceparent` response header.
//!
//! Not traced: Express executions (they keep no history), Distributed Map child executions
//! (not started through the writer yet). The tracker forgets an execution when it ends; one
//! that another node takes over (a cluster) is held until this node sees its end or stops.
//!
//! Must not: block the writer, write to the store, or change what the engine does.

use crate::runtime::on_store;
use cairn_store::{EventRecord, HistoryPage, Store};
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use opentelemetry_sdk::Resource;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

// ---- derived ids ------------------------------------------------------------------------

fn digest(kind: &str, arn: &str, id: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"cairn-otel\0");
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(arn.as_bytes());
    h.update([0]);
    h.update(id.to_be_bytes());
    h.finalize().into()
}

fn span_id(kind: &str, arn: &str, id: u64) -> SpanId {
    let d = digest(kind, arn, id);
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    if b == [0; 8] {
        b[7] = 1;
    }
    SpanId::from_bytes(b)
}

/// The trace id of a top-level execution.
pub fn trace_id_of(execution_arn: &str) -> TraceId {
    let d = digest("trace", execution_arn, 0);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    if b == [0; 16] {
        b[15] = 1;
    }
    TraceId::from_bytes(b)
}

/// The execution's root span.
pub fn execution_span_id(execution_arn: &str) -> SpanId {
    span_id("execution", execution_arn, 0)
}

/// The span of the state entered by event `entered`.
pub fn state_span_id(execution_arn: &str, entered: u64) -> SpanId {
    span_id("state", execution_arn, entered)
}

/// The span of the task attempt scheduled by event `scheduled` (a task's id).
pub fn task_span_id(execution_arn: &str, scheduled: u64) -> SpanId {
    span_id("task", execution_arn, scheduled)
}

/// A W3C `traceparent` (`00-<trace>-<span>-01`).
pub fn traceparent(trace: TraceId, span: SpanId) -> String {
    format!("00-{trace}-{span}-01")
}

/// The trace and parent span of a W3C `traceparent`, if it is one.
pub fn parse_traceparent(text: &str) -> Option<(TraceId, SpanId)> {
    let mut parts = text.trim().split('-');
    let (version, trace, span) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    if version.len() != 2 || trace.len() != 32 || span.len() != 16 {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok()?;
    let span = SpanId::from_hex(span).ok()?;
    (trace != TraceId::INVALID && span != SpanId::INVALID).then_some((trace, span))
}

/// The trace an execution belongs to: its parent's (a child's `trace_parent`), or its own.
pub fn execution_trace(execution_arn: &str, trace_parent: Option<&str>) -> TraceId {
    trace_parent
        .and_then(parse_traceparent)
        .map(|(t, _)| t)
        .unwrap_or_else(|| trace_id_of(execution_arn))
}

/// The `traceparent` a task's resource is called with: the task attempt's span.
pub fn task_traceparent(info: &cairn_core::ExecutionInfo, task: u64) -> String {
    let arn = &info.execution_arn;
    traceparent(
        execution_trace(arn, info.trace_parent.as_deref()),
        task_span_id(arn, task),
    )
}

/// The `traceparent` of the task a task token names (GetActivityTask's answer): the trace
/// of its execution, which a child execution's record knows.
pub async fn token_traceparent(
    store: &Arc<dyn Store>,
    token_key: &[u8; 32],
    token: &str,
) -> Option<String> {
    let t = cairn_core::token::open(token_key, token)?;
    let key = t.execution_arn.clone();
    let record = on_store(store, move |s| s.get_execution(&key))
        .await
        .ok()??;
    let parent = snapshot_trace_parent(&record.snapshot);
    Some(traceparent(
        execution_trace(&t.execution_arn, parent.as_deref()),
        task_span_id(&t.execution_arn, t.task),
    ))
}

/// `ExecutionInfo::trace_parent` out of a stored snapshot.
fn snapshot_trace_parent(snapshot: &str) -> Option<String> {
    let v: Value = serde_json::from_str(snapshot).ok()?;
    v.pointer("/info/trace_parent")?
        .as_str()
        .map(str::to_string)
}

/// `--otlp-endpoint` as given (the OTLP base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`) to the
/// traces URL: `/v1/traces` is appended unless the URL already ends with it.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

// ---- export -----------------------------------------------------------------------------

/// The OTLP exporter's HTTP client: the engine's own (hyper, rustls), run on the engine's
/// tokio runtime (the batch processor exports from its own thread).
#[derive(Debug)]
struct OtlpClient {
    runtime: tokio::runtime::Handle,
    timeout: Duration,
}

type HttpResult = Result<opentelemetry_http::Response<bytes::Bytes>, opentelemetry_http::HttpError>;

impl opentelemetry_http::HttpClient for OtlpClient {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: opentelemetry_http::Request<bytes::Bytes>,
    ) -> Pin<Box<dyn Future<Output = HttpResult> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        let (parts, body) = request.into_parts();
        let request = super::resources::http_client::HttpRequest {
            method: parts.method.to_string(),
            url: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: body.to_vec(),
        };
        let call = self
            .runtime
            .spawn(super::resources::http_client::send(request, self.timeout));
        Box::pin(async move {
            let response = call.await??;
            let mut builder = opentelemetry_http::Response::builder().status(response.status);
            for (n, v) in &response.headers {
                builder = builder.header(n, v);
            }
            Ok(builder.body(response.body)?)
        })
    }
}

/// The running tracer: call [`Telemetry::shutdown`] to export what is left.
pub struct Telemetry {
    processor: Arc<BatchSpanProcessor>,
}

impl Telemetry {
    /// Start exporting to `endpoint` the spans of the events `events` delivers (the engine's
    /// committed events). Must be called inside a tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        events: mpsc::UnboundedReceiver<EventRecord>,
        endpoint: &str,
        node: Option<String>,
    ) -> anyhow::Result<Telemetry> {
        use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_http_client(OtlpClient {
                runtime: tokio::runtime::Handle::current(),
                timeout: Duration::from_secs(10),
            })
            .build()?;
        let mut processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(BatchConfigBuilder::default().build())
            .build();
        let mut resource = Resource::builder().with_service_name("cairn");
        if let Some(node) = node {
            resource = resource.with_attribute(KeyValue::new("service.instance.id", node));
        }
        processor.set_resource(&resource.build());
        let processor = Arc::new(processor);
        let tracker = Tracker {
            store,
            sink: processor.clone(),
            scope: InstrumentationScope::builder("cairn")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
            executions: HashMap::new(),
        };
        tokio::spawn(tracker.run(events));
        Ok(Telemetry { processor })
    }

    /// Export the spans still buffered (at shutdown).
    pub async fn shutdown(&self) {
        let processor = self.processor.clone();
        let _ = tokio::task::spawn_blocking(move || processor.force_flush()).await;
    }
}

// ---- spans from committed events --------------------------------------------------------

/// One history event, as much as the spans need of it.
struct Ev {
    id: u64,
    previous: u64,
    kind: String,
    ms: i64,
    details: Map<String, Value>,
}

impl Ev {
    fn parse(record: &EventRecord) -> Option<Ev> {
        let v: Value = serde_json::from_str(&record.body).ok()?;
        let details = v
            .as_object()?
            .iter()
            .find(|(k, _)| k.ends_with("EventDetails"))
            .and_then(|(_, d)| d.as_object().cloned())
            .unwrap_or_default();
        Some(Ev {
            id: v.get("id")?.as_u64()?,
            previous: v
                .get("previousEventId")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            kind: v.get("type")?.as_str()?.to_string(),
            ms: (v.get("timestamp")?.as_f64()? * 1000.0).round() as i64,
            details,
        })
    }

    fn field(&self, name: &str) -> Option<String> {
        self.details
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// A span not ended yet.
struct Open {
    name: String,
    parent: SpanId,
    start_ms: i64,
    attributes: Vec<KeyValue>,
    events: Vec<Event>,
    /// The latest failure inside it that nothing succeeded after: (error, cause).
    error: Option<(String, String)>,
    /// Task attempts scheduled in it (a state).
    attempts: u32,
    /// The state span a task attempt belongs to.
    state: Option<SpanId>,
}

/// A span to export: its id, what was open, its end (epoch ms), its error and cause.
type Ended = (SpanId, Open, i64, Option<(String, String)>);

/// What the tracker holds of one execution while it runs.
struct Execution {
    arn: String,
    trace: TraceId,
    root: SpanId,
    /// The span the root hangs under (a child's parent task), remote.
    remote_parent: Option<SpanId>,
    /// The state span (or the root) each event belongs to.
    scope: HashMap<u64, SpanId>,
    open: HashMap<SpanId, Open>,
    /// Task attempts by the id of their latest event.
    tasks: HashMap<u64, SpanId>,
}

struct Tracker {
    store: Arc<dyn Store>,
    sink: Arc<BatchSpanProcessor>,
    scope: InstrumentationScope,
    executions: HashMap<String, Execution>,
}

const TERMINAL: [&str; 4] = [
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionAborted",
    "ExecutionTimedOut",
];

/// `Activity…`, `LambdaFunction…` or `Task…` (not `TaskState…`): the step of a task attempt.
fn task_step(kind: &str) -> Option<&str> {
    if let Some(step) = kind.strip_prefix("Activity") {
        return Some(step);
    }
    if let Some(step) = kind.strip_prefix("LambdaFunction") {
        return Some(step);
    }
    if kind.starts_with("TaskState") {
        return None;
    }
    kind.strip_prefix("Task")
}

fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// The state machine's name, from an execution ARN
/// (`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`).
fn machine_name(arn: &str) -> &str {
    arn.split(':').nth(6).unwrap_or("execution")
}

impl Tracker {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<EventRecord>) {
        while let Some(record) = events.recv().await {
            let Some(ev) = Ev::parse(&record) else {
                continue;
            };
            if !self.executions.contains_key(&record.execution_arn) {
                match self.load(&record.execution_arn, &ev).await {
                    Some(e) => {
                        self.executions.insert(record.execution_arn.clone(), e);
                    }
                    None => continue,
                }
            }
            self.event(&record.execution_arn, &ev, true);
        }
    }

    /// First sight of an execution on this node: its trace context from its record, and,
    /// when it started before (a restart, a takeover, a redrive), its earlier events read
    /// back, so that the spans still open are known (nothing is exported for them again).
    async fn load(&mut self, arn: &str, first: &Ev) -> Option<Execution> {
        let key = arn.to_string();
        let record = on_store(&self.store, move |s| s.get_execution(&key))
            .await
            .ok()
            .flatten();
        let trace_parent = record
            .as_ref()
            .and_then(|r| snapshot_trace_parent(&r.snapshot));
        let remote = trace_parent.as_deref().and_then(parse_traceparent);
        let execution = Execution {
            arn: arn.to_string(),
            trace: remote.map(|(t, _)| t).unwrap_or_else(|| trace_id_of(arn)),
            root: execution_span_id(arn),
            remote_parent: remote.map(|(_, s)| s),
            scope: HashMap::new(),
            open: HashMap::new(),
            tasks: HashMap::new(),
        };
        if first.kind == "ExecutionStarted" {
            return Some(execution);
        }
        self.executions.insert(arn.to_string(), execution);
        let mut after = 0;
        'pages: loop {
            let key = arn.to_string();
            let page = on_store(&self.store, move |s| {
                s.history(&key, HistoryPage::After(after), 1000)
            })
            .await
            .unwrap_or_default();
            if page.is_empty() {
                break;
            }
            for record in &page {
                after = record.id;
                if record.id >= first.id {
                    break 'pages;
                }
                if let Some(ev) = Ev::parse(record) {
                    self.event(arn, &ev, false);
                }
            }
        }
        self.executions.remove(arn)
    }

    /// Fold one event in; `export`: false while reading back events exported before.
    fn event(&mut self, arn: &str, ev: &Ev, export: bool) {
        let Some(x) = self.executions.get_mut(arn) else {
            return;
        };
        let scope = x.scope.get(&ev.previous).copied().unwrap_or(x.root);
        let kind = ev.kind.as_str();
        let mut ended: Vec<Ended> = Vec::new();
        if kind == "ExecutionStarted" || kind == "ExecutionRedriven" {
            let mut attributes = vec![
                KeyValue::new("cairn.execution.arn", arn.to_string()),
                KeyValue::new("cairn.state_machine.name", machine_name(arn).to_string()),
            ];
            let mut parent = x.remote_parent.unwrap_or(SpanId::INVALID);
            if kind == "ExecutionRedriven" {
                // The first run's root span was ended and exported: the redriven run gets
                // its own, under it.
                parent = execution_span_id(arn);
                x.root = span_id("redrive", arn, ev.id);
                attributes.push(KeyValue::new("cairn.execution.redriven", true));
            }
            let name = machine_name(arn).to_string();
            x.open.insert(
                x.root,
                Open {
                    name,
                    parent,
                    start_ms: ev.ms,
                    attributes,
                    events: Vec::new(),
                    error: None,
                    attempts: 0,
                    state: None,
                },
            );
            x.scope.insert(ev.id, x.root);
        } else if let Some(ty) = kind.strip_suffix("StateEntered") {
            let span = state_span_id(arn, ev.id);
            let name = ev.field("name").unwrap_or_default();
            x.open.insert(
                span,
                Open {
                    name: name.clone(),
                    parent: scope,
                    start_ms: ev.ms,
                    attributes: vec![
                        KeyValue::new("cairn.state.name", name),
                        KeyValue::new("cairn.state.type", ty.to_string()),
                    ],
                    events: Vec::new(),
                    error: None,
                    attempts: 0,
                    state: None,
                },
            );
            x.scope.insert(ev.id, span);
        } else if kind.ends_with("StateExited") {
            let parent = match x.open.remove(&scope) {
                Some(open) if scope != x.root => {
                    let parent = open.parent;
                    let error = open.error.clone();
                    ended.push((scope, open, ev.ms, error));
                    parent
                }
                Some(open) => {
                    x.open.insert(scope, open);
                    scope
                }
                None => x.root,
            };
            x.scope.insert(ev.id, parent);
        } else if TERMINAL.contains(&kind) {
            let error = match kind {
                "ExecutionSucceeded" => None,
                _ => Some((
                    ev.field("error").unwrap_or_else(|| match kind {
                        "ExecutionAborted" => "States.Aborted".into(),
                        "ExecutionTimedOut" => "States.Timeout".into(),
                        _ => "States.Failed".into(),
                    }),
                    ev.field("cause").unwrap_or_default(),
                )),
            };
            // Whatever is still open ends with the execution (a Fail state, a task the
            // execution failed in, the states of a stopped execution).
            for (span, open) in x.open.drain() {
                let err = open.error.clone().or_else(|| error.clone());
                ended.push((span, open, ev.ms, err));
            }
            x.tasks.clear();
            x.scope.clear();
        } else if kind == "MapRunStarted" {
            // A Distributed Map's run is the Map state's internal task (keyed by this event's
            // id, see cairn-core's map.rs): its span is the one its children's roots hang
            // under (the driver passes this task's `traceparent` to each child).
            let span = task_span_id(arn, ev.id);
            x.open.insert(
                span,
                Open {
                    name: "Map Run".into(),
                    parent: scope,
                    start_ms: ev.ms,
                    attributes: vec![KeyValue::new(
                        "cairn.map_run.arn",
                        ev.field("mapRunArn").unwrap_or_default(),
                    )],
                    events: Vec::new(),
                    error: None,
                    attempts: 0,
                    state: Some(scope),
                },
            );
            x.scope.insert(ev.id, scope);
        } else if matches!(kind, "MapRunSucceeded" | "MapRunFailed" | "MapRunAborted") {
            let run = x
                .open
                .iter()
                .find(|(_, o)| o.name == "Map Run" && o.state == Some(scope))
                .map(|(span, _)| *span);
            if let Some(open) = run.and_then(|span| x.open.remove(&span).map(|o| (span, o))) {
                let failure = (kind != "MapRunSucceeded").then(|| {
                    (
                        ev.field("error").unwrap_or_else(|| match kind {
                            "MapRunAborted" => "States.Aborted".into(),
                            _ => "States.ExceedToleratedFailureThreshold".into(),
                        }),
                        ev.field("cause").unwrap_or_default(),
                    )
                });
                ended.push((open.0, open.1, ev.ms, failure));
            }
            x.scope.insert(ev.id, scope);
        } else if let Some(step) = task_step(kind) {
            if step == "Scheduled" {
                let state = scope;
                let span = task_span_id(arn, ev.id);
                let resource = ev.field("resource").unwrap_or_default();
                let resource = match ev.field("resourceType") {
                    Some(t) if !resource.starts_with("arn:") => {
                        format!("arn:aws:states:::{t}:{resource}")
                    }
                    _ => resource,
                };
                let mut attempt = 1;
                if let Some(s) = x.open.get_mut(&state) {
                    s.attempts += 1;
                    attempt = s.attempts;
                    set(&mut s.attributes, "cairn.state.resource", resource.clone());
                    if attempt > 1 {
                        s.events.push(Event::new(
                            "retry",
                            time(ev.ms),
                            vec![KeyValue::new("cairn.task.attempt", attempt as i64)],
                            0,
                        ));
                    }
                }
                x.open.insert(
                    span,
                    Open {
                        name: format!("{} attempt {attempt}", kind.trim_end_matches("Scheduled")),
                        parent: state,
                        start_ms: ev.ms,
                        attributes: vec![
                            KeyValue::new("cairn.task.resource", resource),
                            KeyValue::new("cairn.task.attempt", attempt as i64),
                        ],
                        events: Vec::new(),
                        error: None,
                        attempts: 0,
                        state: Some(state),
                    },
                );
                x.tasks.insert(ev.id, span);
                x.scope.insert(ev.id, state);
            } else if let Some(span) = x.tasks.remove(&ev.previous) {
                let state = x.open.get(&span).and_then(|o| o.state).unwrap_or(scope);
                let closing = matches!(
                    step,
                    "Succeeded"
                        | "Failed"
                        | "TimedOut"
                        | "StartFailed"
                        | "ScheduleFailed"
                        | "SubmitFailed"
                );
                if closing {
                    let failure = (step != "Succeeded").then(|| {
                        (
                            ev.field("error")
                                .unwrap_or_else(|| "States.TaskFailed".into()),
                            ev.field("cause").unwrap_or_default(),
                        )
                    });
                    if let Some(s) = x.open.get_mut(&state) {
                        if let Some((error, cause)) = &failure {
                            s.events.push(Event::new(
                                format!("task {}", step.to_lowercase()),
                                time(ev.ms),
                                vec![
                                    KeyValue::new("cairn.error", error.clone()),
                                    KeyValue::new("cairn.cause", cause.clone()),
                                ],
                                0,
                            ));
                        }
                        s.error = failure.clone();
                    }
                    if let Some(open) = x.open.remove(&span) {
                        ended.push((span, open, ev.ms, failure));
                    }
                } else {
                    x.tasks.insert(ev.id, span);
                }
                x.scope.insert(ev.id, state);
            } else {
                x.scope.insert(ev.id, scope);
            }
        } else {
            x.scope.insert(ev.id, scope);
        }
        let (trace, done) = (x.trace, TERMINAL.contains(&kind));
        let remote_parent = x.remote_parent;
        let arn_root = execution_span_id(&x.arn);
        // While reading back, an ended execution is kept: the event that made it be read
        // back is a redrive, which goes on from there.
        if done && export {
            self.executions.remove(arn);
        }
        if !export {
            return;
        }
        for (span, open, end_ms, error) in ended {
            let is_root_remote =
                (span == arn_root && remote_parent.is_some()) || open.parent == SpanId::INVALID;
            self.export(trace, span, open, end_ms, error, is_root_remote);
        }
    }

    fn export(
        &self,
        trace: TraceId,
        span: SpanId,
        open: Open,
        end_ms: i64,
        error: Option<(String, String)>,
        remote: bool,
    ) {
        let mut attributes = open.attributes;
        let status = match &error {
            Some((e, cause)) => {
                attributes.push(KeyValue::new("cairn.error", e.clone()));
                attributes.push(KeyValue::new("cairn.cause", cause.clone()));
                Status::error(e.clone())
            }
            None => Status::Ok,
        };
        let mut events = SpanEvents::default();
        events.events = open.events;
        self.sink.on_end(SpanData {
            span_context: SpanContext::new(
                trace,
                span,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: open.parent,
            parent_span_is_remote: remote && open.parent != SpanId::INVALID,
            // A task attempt calls out (its context is passed on): a client span.
            span_kind: if open.state.is_some() {
                SpanKind::Client
            } else {
                SpanKind::Internal
            },
            name: Cow::Owned(open.name),
            start_time: time(open.start_ms),
            end_time: time(end_ms.max(open.start_ms)),
            attributes,
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        });
    }
}

fn set(attributes: &mut Vec<KeyValue>, key: &'static str, value: String) {
    attributes.retain(|kv| kv.key.as_str() != key);
    attributes.push(KeyValue::new(key, value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_and_traceparent_round_trips() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:M:e1";
        assert_eq!(state_span_id(arn, 3), state_span_id(arn, 3));
        assert_ne!(state_span_id(arn, 3), state_span_id(arn, 4));
        assert_ne!(state_span_id(arn, 3), task_span_id(arn, 3));
        let tp = traceparent(trace_id_of(arn), task_span_id(arn, 5));
        assert_eq!(
            parse_traceparent(&tp),
            Some((trace_id_of(arn), task_span_id(arn, 5)))
        );
        assert_eq!(execution_trace("other", Some(&tp)), trace_id_of(arn));
        assert_eq!(execution_trace(arn, Some("garbage")), trace_id_of(arn));
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-0000000000000001-01"),
            None
        );
        assert_eq!(machine_name(arn), "M");
        assert_eq!(traces_url("http://h:4318/"), "http://h:4318/v1/traces");
        assert_eq!(
            traces_url("http://h:4318/v1/traces"),
            "http://h:4318/v1/traces"
        );
    }
}
