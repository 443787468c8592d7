//! The engine's Prometheus metrics (`GET /metrics`, encoded by `prometheus-client`).
//!
//! Owns the metric families: AWS's CloudWatch metrics for Step Functions (executions,
//! activities, Lambda functions, service integrations), labelled by state machine, activity,
//! function or integration ARN, and the engine's own figures (writer batch size and commit
//! latency, command queue depth, open executions; the per-activity backlog gauges are set at
//! scrape time by `api::metrics`).
//!
//! Counting happens in one place, [`Metrics::observe`], which the writer calls with the
//! history events of a batch **after** the batch committed: a count never includes anything
//! that was rolled back. Express executions, which have no commit, are counted by
//! `express.rs` through the same method, step by step. Times (ExecutionTime, ActivityScheduleTime, …) are differences of
//! event timestamps, in seconds. A missed heartbeat is recorded as `States.Timeout` like any
//! timeout (as AWS records it), so `…_heartbeat_timed_out` counts only events whose error is
//! `States.HeartbeatTimeout`, which the interpreter does not write today. Must not: read the store, or block (it runs on the writer
//! thread).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MachineLabel {
    pub state_machine_arn: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActivityLabel {
    pub activity_arn: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LambdaLabel {
    pub lambda_function_arn: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabel {
    pub service_integration_resource_arn: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabel {
    pub node: String,
    pub address: String,
}

type Hist<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    // 1 ms … ~9 h.
    Histogram::new(exponential_buckets(0.001, 2.0, 25))
}

fn batch_sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 14))
}

/// The counters and histograms of one kind of task (activity, Lambda, integration).
pub struct TaskFamilies<L> {
    pub scheduled: Family<L, Counter>,
    pub started: Family<L, Counter>,
    pub succeeded: Family<L, Counter>,
    pub failed: Family<L, Counter>,
    pub timed_out: Family<L, Counter>,
    pub heartbeat_timed_out: Family<L, Counter>,
    pub schedule_time: Hist<L>,
    pub run_time: Hist<L>,
    pub time: Hist<L>,
}

impl<L> TaskFamilies<L>
where
    L: Clone + std::fmt::Debug + std::hash::Hash + Eq + EncodeLabelSet + Send + Sync + 'static,
{
    fn new(registry: &mut Registry, prefix: &str, what: &str, cw: &str) -> Self {
        let f = TaskFamilies {
            scheduled: Family::default(),
            started: Family::default(),
            succeeded: Family::default(),
            failed: Family::default(),
            timed_out: Family::default(),
            heartbeat_timed_out: Family::default(),
            schedule_time: Family::new_with_constructor(seconds as fn() -> Histogram),
            run_time: Family::new_with_constructor(seconds as fn() -> Histogram),
            time: Family::new_with_constructor(seconds as fn() -> Histogram),
        };
        let counters = [
            ("scheduled", "Scheduled", &f.scheduled),
            ("started", "Started", &f.started),
            ("succeeded", "Succeeded", &f.succeeded),
            ("failed", "Failed", &f.failed),
            ("timed_out", "TimedOut", &f.timed_out),
            (
                "heartbeat_timed_out",
                "HeartbeatTimedOut",
                &f.heartbeat_timed_out,
            ),
        ];
        for (name, aws, family) in counters {
            registry.register(
                format!("{prefix}_{name}"),
                format!("{what} {} (CloudWatch {cw}{aws}).", name.replace('_', " ")),
                family.clone(),
            );
        }
        let times = [
            (
                "schedule_time_seconds",
                "ScheduleTime",
                "from scheduled to started",
                &f.schedule_time,
            ),
            (
                "run_time_seconds",
                "RunTime",
                "from started to closed",
                &f.run_time,
            ),
            ("time_seconds", "Time", "from scheduled to closed", &f.time),
        ];
        for (name, aws, text, family) in times {
            registry.register(
                format!("{prefix}_{name}"),
                format!("{what} time {text} (CloudWatch {cw}{aws})."),
                family.clone(),
            );
        }
        f
    }
}

/// Every family, registered once.
pub struct Metrics {
    registry: Registry,
    pub executions_started: Family<MachineLabel, Counter>,
    pub executions_succeeded: Family<MachineLabel, Counter>,
    pub executions_failed: Family<MachineLabel, Counter>,
    pub executions_aborted: Family<MachineLabel, Counter>,
    pub executions_timed_out: Family<MachineLabel, Counter>,
    pub executions_throttled: Family<MachineLabel, Counter>,
    pub executions_redriven: Family<MachineLabel, Counter>,
    pub execution_time: Hist<MachineLabel>,
    pub activities: TaskFamilies<ActivityLabel>,
    pub lambdas: TaskFamilies<LambdaLabel>,
    pub integrations: TaskFamilies<IntegrationLabel>,
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
    pub command_queue: Gauge,
    pub open_executions: Gauge,
    pub pending_timers: Gauge,
    pub queued_tasks: Family<ActivityLabel, Gauge>,
    pub oldest_task_age: Family<ActivityLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub tasks_in_progress: Family<ActivityLabel, Gauge>,
    pub parked_pollers: Family<ActivityLabel, Gauge>,
    pub node_info: Family<NodeLabel, Gauge>,
    pub cluster_nodes: Gauge,
    pub partitions_owned: Gauge,
    /// Tasks scheduled and not closed yet, by execution then by their latest event id.
    open_tasks: Mutex<HashMap<String, HashMap<u64, OpenTask>>>,
}

/// What one history event tells the metrics (copied out of the event by the writer).
#[derive(Debug, Clone)]
pub struct Observed {
    pub execution_arn: String,
    pub id: u64,
    pub previous: u64,
    pub kind: &'static str,
    pub timestamp_ms: i64,
    /// `resource` of a …Scheduled event.
    pub resource: Option<String>,
    /// `resourceType` of a TaskScheduled event.
    pub resource_type: Option<String>,
    /// `error` of a …TimedOut event.
    pub error: Option<String>,
}

/// Run `$body` with `$f` the families of the task's kind and `$l` its label.
macro_rules! with_family {
    ($self:ident, $kind:expr, |$f:ident, $l:ident| $body:expr) => {
        match $kind {
            TaskKind::Activity($l) => {
                let $f = &$self.activities;
                $body
            }
            TaskKind::Lambda($l) => {
                let $f = &$self.lambdas;
                $body
            }
            TaskKind::Integration($l) => {
                let $f = &$self.integrations;
                $body
            }
        }
    };
}

#[derive(Debug, Clone)]
enum TaskKind {
    Activity(ActivityLabel),
    Lambda(LambdaLabel),
    Integration(IntegrationLabel),
}

impl Observed {
    /// What the metrics need of an event, if they count it.
    pub fn of(execution_arn: &str, event: &cairn_core::HistoryEvent) -> Option<Observed> {
        let kind = event.event_type.as_str();
        let counted = kind.starts_with("Execution")
            || kind.starts_with("Activity")
            || kind.starts_with("LambdaFunction")
            || (kind.starts_with("Task") && !kind.starts_with("TaskState"));
        if !counted {
            return None;
        }
        let field = |name: &str| {
            event
                .details
                .as_ref()
                .and_then(|d| d.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let scheduled = kind.ends_with("Scheduled");
        Some(Observed {
            execution_arn: execution_arn.to_string(),
            id: event.id,
            previous: event.previous_event_id,
            kind,
            timestamp_ms: event.timestamp_ms,
            resource: if scheduled { field("resource") } else { None },
            resource_type: if scheduled {
                field("resourceType")
            } else {
                None
            },
            error: if kind.ends_with("TimedOut") {
                field("error")
            } else {
                None
            },
        })
    }
}

#[derive(Debug, Clone)]
struct OpenTask {
    kind: TaskKind,
    scheduled_ms: i64,
    started_ms: Option<i64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let counter = |r: &mut Registry, name: &str, help: &str| {
            let f = Family::<MachineLabel, Counter>::default();
            r.register(name, help, f.clone());
            f
        };
        let executions_started = counter(
            &mut registry,
            "cairn_executions_started",
            "Executions started (CloudWatch ExecutionsStarted).",
        );
        let executions_succeeded = counter(
            &mut registry,
            "cairn_executions_succeeded",
            "Executions that succeeded (CloudWatch ExecutionsSucceeded).",
        );
        let executions_failed = counter(
            &mut registry,
            "cairn_executions_failed",
            "Executions that failed (CloudWatch ExecutionsFailed).",
        );
        let executions_aborted = counter(
            &mut registry,
            "cairn_executions_aborted",
            "Executions stopped (CloudWatch ExecutionsAborted).",
        );
        let executions_timed_out = counter(
            &mut registry,
            "cairn_executions_timed_out",
            "Executions that timed out (CloudWatch ExecutionsTimedOut).",
        );
        let executions_throttled = counter(
            &mut registry,
            "cairn_executions_throttled",
            "StartExecution calls refused for overload (CloudWatch ExecutionThrottled; --max-queued-requests).",
        );
        let executions_redriven = counter(
            &mut registry,
            "cairn_executions_redriven",
            "Executions redriven (CloudWatch ExecutionsRedriven).",
        );
        let execution_time: Hist<MachineLabel> =
            Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "cairn_execution_time_seconds",
            "From start to close of an execution (CloudWatch ExecutionTime).",
            execution_time.clone(),
        );
        let activities = TaskFamilies::new(
            &mut registry,
            "cairn_activities",
            "Activity tasks",
            "Activity",
        );
        let lambdas = TaskFamilies::new(
            &mut registry,
            "cairn_lambda_functions",
            "Lambda function tasks",
            "LambdaFunction",
        );
        let integrations = TaskFamilies::new(
            &mut registry,
            "cairn_service_integrations",
            "Service integration tasks",
            "ServiceIntegration",
        );
        let batch_size = batch_sizes();
        registry.register(
            "cairn_writer_batch_size",
            "Commands folded into one writer batch.",
            batch_size.clone(),
        );
        let commit_seconds = seconds();
        registry.register(
            "cairn_writer_commit_seconds",
            "Time to commit one writer batch to the store.",
            commit_seconds.clone(),
        );
        let gauge = |r: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let command_queue = gauge(
            &mut registry,
            "cairn_writer_command_queue",
            "Commands waiting for the writer after its last batch was taken.",
        );
        let open_executions = gauge(
            &mut registry,
            "cairn_open_executions",
            "Running executions held in this node's writer.",
        );
        let pending_timers = gauge(
            &mut registry,
            "cairn_pending_timers",
            "Timers waiting to fire, in the store (Wait states, timeouts, retries).",
        );
        let activity_gauge = |r: &mut Registry, name: &str, help: &str| {
            let g = Family::<ActivityLabel, Gauge>::default();
            r.register(name, help, g.clone());
            g
        };
        let queued_tasks = activity_gauge(
            &mut registry,
            "cairn_activity_queued_tasks",
            "Activity tasks waiting for a worker.",
        );
        let oldest_task_age = Family::default();
        registry.register(
            "cairn_activity_oldest_task_age_seconds",
            "Age of the oldest activity task waiting for a worker.",
            oldest_task_age.clone(),
        );
        let tasks_in_progress = activity_gauge(
            &mut registry,
            "cairn_activity_tasks_in_progress",
            "Activity tasks handed to a worker and not closed.",
        );
        let parked_pollers = activity_gauge(
            &mut registry,
            "cairn_activity_parked_pollers",
            "GetActivityTask calls waiting on this node.",
        );
        let node_info = Family::<NodeLabel, Gauge>::default();
        registry.register(
            "cairn_node_info",
            "This node: its id and advertised address.",
            node_info.clone(),
        );
        let cluster_nodes = gauge(
            &mut registry,
            "cairn_cluster_nodes",
            "Live nodes sharing the store.",
        );
        let partitions_owned = gauge(
            &mut registry,
            "cairn_partitions_owned",
            "Execution partitions this node advances.",
        );
        Metrics {
            registry,
            executions_started,
            executions_succeeded,
            executions_failed,
            executions_aborted,
            executions_timed_out,
            executions_throttled,
            executions_redriven,
            execution_time,
            activities,
            lambdas,
            integrations,
            batch_size,
            commit_seconds,
            command_queue,
            open_executions,
            pending_timers,
            queued_tasks,
            oldest_task_age,
            tasks_in_progress,
            parked_pollers,
            node_info,
            cluster_nodes,
            partitions_owned,
            open_tasks: Mutex::new(HashMap::new()),
        }
    }

    /// Activity tasks of this activity started on this node's executions and not closed.
    pub fn activity_tasks_in_progress(&self, activity_arn: &str) -> u64 {
        let open = self.open_tasks.lock().expect("metrics lock");
        open.values()
            .flat_map(|tasks| tasks.values())
            .filter(|t| t.started_ms.is_some())
            .filter(|t| matches!(&t.kind, TaskKind::Activity(l) if l.activity_arn == activity_arn))
            .count() as u64
    }

    /// The OpenMetrics text of every family.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Count the events of a committed batch. `machine_of` gives an execution's state
    /// machine ARN and start time (epoch ms).
    pub fn observe(&self, events: &[Observed], machine_of: &dyn Fn(&str) -> Option<(String, i64)>) {
        let mut open = self.open_tasks.lock().expect("metrics lock");
        for e in events {
            let machine = || {
                machine_of(&e.execution_arn).map(|(arn, start)| {
                    (
                        MachineLabel {
                            state_machine_arn: arn,
                        },
                        start,
                    )
                })
            };
            let closed = match e.kind {
                "ExecutionStarted" => {
                    if let Some((m, _)) = machine() {
                        self.executions_started.get_or_create(&m).inc();
                    }
                    None
                }
                "ExecutionRedriven" => {
                    if let Some((m, _)) = machine() {
                        self.executions_redriven.get_or_create(&m).inc();
                    }
                    None
                }
                "ExecutionSucceeded" => Some(&self.executions_succeeded),
                "ExecutionFailed" => Some(&self.executions_failed),
                "ExecutionAborted" => Some(&self.executions_aborted),
                "ExecutionTimedOut" => Some(&self.executions_timed_out),
                _ => None,
            };
            if let Some(family) = closed {
                if let Some((m, start)) = machine() {
                    family.get_or_create(&m).inc();
                    self.execution_time
                        .get_or_create(&m)
                        .observe(secs(e.timestamp_ms - start));
                }
                open.remove(&e.execution_arn);
                continue;
            }
            self.observe_task(&mut open, e);
        }
    }

    fn observe_task(&self, open: &mut HashMap<String, HashMap<u64, OpenTask>>, e: &Observed) {
        let (family, step) = match e.kind.strip_prefix("Activity") {
            Some(step) => ("Activity", step),
            None => match e.kind.strip_prefix("LambdaFunction") {
                Some(step) => ("Lambda", step),
                None => match e.kind.strip_prefix("Task") {
                    Some(step) if !e.kind.starts_with("TaskState") => ("Task", step),
                    _ => return,
                },
            },
        };
        let tasks = open.entry(e.execution_arn.clone()).or_default();
        if step == "Scheduled" {
            let resource = e.resource.clone().unwrap_or_default();
            let kind = match family {
                "Activity" => TaskKind::Activity(ActivityLabel {
                    activity_arn: resource,
                }),
                "Lambda" => TaskKind::Lambda(LambdaLabel {
                    lambda_function_arn: resource,
                }),
                // As in CloudWatch, `lambda:invoke` is a service integration
                // (`arn:aws:states:::lambda:invoke`); only a function ARN as the resource
                // (LambdaFunction… events) counts as a Lambda function.
                _ => TaskKind::Integration(IntegrationLabel {
                    service_integration_resource_arn: match &e.resource_type {
                        Some(t) if !resource.starts_with("arn:") => {
                            format!("arn:aws:states:::{t}:{resource}")
                        }
                        _ => resource,
                    },
                }),
            };
            with_family!(self, &kind, |f, l| f.scheduled.get_or_create(l).inc());
            tasks.insert(
                e.id,
                OpenTask {
                    kind,
                    scheduled_ms: e.timestamp_ms,
                    started_ms: None,
                },
            );
            return;
        }
        let Some(mut task) = tasks.remove(&e.previous) else {
            return;
        };
        match step {
            "Started" => {
                with_family!(self, &task.kind, |f, l| f.started.get_or_create(l).inc());
                with_family!(self, &task.kind, |f, l| f
                    .schedule_time
                    .get_or_create(l)
                    .observe(secs(e.timestamp_ms - task.scheduled_ms)));
                task.started_ms = Some(e.timestamp_ms);
                tasks.insert(e.id, task);
            }
            "Submitted" => {
                tasks.insert(e.id, task);
            }
            "Succeeded" | "Failed" | "TimedOut" | "StartFailed" | "ScheduleFailed"
            | "SubmitFailed" => {
                if step == "Succeeded" {
                    with_family!(self, &task.kind, |f, l| f.succeeded.get_or_create(l).inc());
                } else if step == "TimedOut"
                    && e.error.as_deref() == Some("States.HeartbeatTimeout")
                {
                    with_family!(self, &task.kind, |f, l| f
                        .heartbeat_timed_out
                        .get_or_create(l)
                        .inc());
                } else if step == "TimedOut" {
                    with_family!(self, &task.kind, |f, l| f.timed_out.get_or_create(l).inc());
                } else {
                    with_family!(self, &task.kind, |f, l| f.failed.get_or_create(l).inc());
                }
                if let Some(started) = task.started_ms {
                    with_family!(self, &task.kind, |f, l| f
                        .run_time
                        .get_or_create(l)
                        .observe(secs(e.timestamp_ms - started)));
                }
                with_family!(self, &task.kind, |f, l| f
                    .time
                    .get_or_create(l)
                    .observe(secs(e.timestamp_ms - task.scheduled_ms)));
            }
            _ => {
                tasks.insert(e.previous, task);
            }
        }
    }
}

fn secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}
