//! The rows the store keeps, as plain values. JSON payloads are kept as text exactly as the
//! layers above produced them.

use serde::{Deserialize, Serialize};

/// A pagination position: the sort key of the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Store-assigned, strictly increasing insertion sequence of the last row returned.
    pub seq: i64,
}

/// Whose executions [`crate::Store::list_executions`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionsOf<'a> {
    /// Every execution of a state machine (its unqualified ARN).
    Machine(&'a str),
    /// Executions started through this version ARN, directly or through an alias routing to
    /// it (both record the version).
    Version(&'a str),
    /// Executions started through this alias ARN.
    Alias(&'a str),
}

impl<'a> ExecutionsOf<'a> {
    /// The `executions` column the ARN is compared with (each has its own index).
    pub fn column(self) -> &'static str {
        match self {
            ExecutionsOf::Machine(_) => "state_machine_arn",
            ExecutionsOf::Version(_) => "state_machine_version_arn",
            ExecutionsOf::Alias(_) => "state_machine_alias_arn",
        }
    }

    pub fn arn(self) -> &'a str {
        match self {
            ExecutionsOf::Machine(a) | ExecutionsOf::Version(a) | ExecutionsOf::Alias(a) => a,
        }
    }
}

/// ListExecutions' filters, all applied by the store's query (so a page is never short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionFilter<'a> {
    pub of: ExecutionsOf<'a>,
    /// `statusFilter`: only executions with this status.
    pub status: Option<&'a str>,
    /// `redriveFilter`: `Some(true)` only executions redriven at least once, `Some(false)`
    /// only never redriven ones.
    pub redriven: Option<bool>,
}

impl<'a> ExecutionFilter<'a> {
    /// Every execution of a state machine.
    pub fn machine(arn: &'a str) -> Self {
        ExecutionFilter {
            of: ExecutionsOf::Machine(arn),
            status: None,
            redriven: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub arn: String,
    pub name: String,
    pub creation_date_ms: i64,
    /// `encryptionConfiguration` as JSON text (`{"type":"AWS_OWNED_KEY"}` by default).
    pub encryption_configuration: String,
    /// Insertion sequence, assigned by the store (ignored on insert).
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachineRecord {
    pub arn: String,
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: String,
    /// The definition exactly as submitted.
    pub definition: String,
    pub role_arn: String,
    /// `ACTIVE` or `DELETING`.
    pub status: String,
    pub creation_date_ms: i64,
    pub update_date_ms: Option<i64>,
    pub revision_id: Option<String>,
    /// `loggingConfiguration` as JSON text.
    pub logging_configuration: String,
    /// `tracingConfiguration` as JSON text.
    pub tracing_configuration: String,
    /// `encryptionConfiguration` as JSON text.
    pub encryption_configuration: String,
    pub description: Option<String>,
    /// Insertion sequence, assigned by the store (ignored on insert).
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The definition this execution runs (it keeps running it after an update).
    pub definition: String,
    pub role_arn: String,
    pub state_machine_version_arn: Option<String>,
    pub state_machine_alias_arn: Option<String>,
    pub redrive_count: u32,
    /// When the execution was last redriven (RedriveExecution), if ever.
    pub redrive_date_ms: Option<i64>,
    /// The interpreter's snapshot of the execution (JSON text), enough to continue it.
    pub snapshot: String,
    /// Insertion sequence, assigned by the store (ignored on upsert).
    pub seq: i64,
}

/// A history event: `body` is the interpreter's serialised event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub execution_arn: String,
    pub id: u64,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPage {
    /// Events with id greater than this, ascending.
    After(u64),
    /// Events with id smaller than this, descending (`u64::MAX` = from the newest).
    Before(u64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityTaskRecord {
    pub activity_arn: String,
    pub execution_arn: String,
    /// Id of the `ActivityScheduled` event.
    pub task: u64,
    pub token: String,
    pub input: String,
    pub scheduled_ms: i64,
    /// Whether a worker has been handed this task.
    pub taken: bool,
}

/// An activity's queue at a glance (the console's backlog view). Tasks in progress are not
/// here: a handed-out row stays taken after its answer until the execution withdraws it, so
/// the engine counts those from history instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityBacklog {
    /// Tasks waiting for a worker.
    pub queued: u64,
    /// When the oldest waiting task was scheduled, epoch milliseconds.
    pub oldest_queued_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerRecord {
    pub execution_arn: String,
    pub timer: u64,
    pub fire_at_ms: i64,
}

/// Everything a batch of interpreter steps writes, committed atomically by [`crate::Store::commit`].
///
/// Applied in this order: executions, events, new tasks and timers, then withdrawals and
/// cancellations. Task and timer ids are event ids, never reused, so a task queued and
/// withdrawn in one batch (or a timer added and cancelled) ends up absent.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Insert or update by ARN (a new execution is inserted with a fresh `seq`); the same ARN
    /// twice in one batch: the later row wins. An update writes only what changes while an
    /// execution runs (status, stop date, output, error, cause, version and alias ARNs,
    /// redrive count and date, snapshot): the state machine ARN, name, start date, input,
    /// definition and role ARN are an execution's for life (an ARN is never reused), so the
    /// first insert's stay, and a step does not rewrite the definition and input.
    pub executions: Vec<ExecutionRecord>,
    pub events: Vec<EventRecord>,
    /// New queued tasks, FIFO in this order (after every task already queued).
    pub activity_tasks: Vec<ActivityTaskRecord>,
    /// (execution ARN, task id) of tasks to delete; an unknown one is ignored.
    pub withdrawn_tasks: Vec<(String, u64)>,
    /// (execution ARN, task id) of queued tasks handed to a worker by this batch: marked
    /// taken for good. For tasks found by `Store::peek_activity_tasks`, and for tasks
    /// claimed from a store shared by several nodes, whose claims are short leases (see
    /// `Store::claim_activity_task`); a task already taken stays taken.
    pub taken_tasks: Vec<(String, u64)>,
    /// Timers to add; adding an existing (execution, timer) moves it to the new time.
    pub timers: Vec<TimerRecord>,
    /// (execution ARN, timer id) of timers to delete; an unknown one is ignored.
    pub cancelled_timers: Vec<(String, u64)>,
    /// With several nodes: the partition leases the writing node believes it holds for the
    /// executions of this batch. The commit fails with `StoreError::Fenced`, writing
    /// nothing, unless every one of them is still held by that node with that epoch. `None`
    /// (single node): no check.
    pub fence: Option<Fence>,
}

/// The leases a batch is written under (see [`Batch::fence`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fence {
    /// The writing node's id.
    pub node: String,
    /// (partition, epoch) pairs, each once.
    pub leases: Vec<(i16, i64)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.executions.is_empty()
            && self.events.is_empty()
            && self.activity_tasks.is_empty()
            && self.withdrawn_tasks.is_empty()
            && self.taken_tasks.is_empty()
            && self.timers.is_empty()
            && self.cancelled_timers.is_empty()
    }
}

/// A published state-machine version: an immutable copy of one revision of a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `<machine arn>:<version>`, minted by the store with the number it assigns (ignored on
    /// publish).
    pub arn: String,
    pub machine_arn: String,
    /// Assigned by the store: 1, 2, 3, … per machine, never reused (ignored on publish).
    pub version: u64,
    pub definition: String,
    pub role_arn: String,
    /// The machine revision this version copies (`None`: the machine's initial revision).
    pub revision_id: Option<String>,
    pub description: Option<String>,
    pub creation_date_ms: i64,
    /// The configurations as JSON text, as on [`StateMachineRecord`].
    pub logging_configuration: String,
    pub tracing_configuration: String,
    pub encryption_configuration: String,
    /// Insertion sequence, assigned by the store (ignored on publish).
    pub seq: i64,
}

/// What [`crate::Store::publish_version`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Published {
    /// A new version, with its number and ARN.
    Created(VersionRecord),
    /// The revision already has a version; here it is (nothing was written).
    Exists(VersionRecord),
    /// The machine already has the maximum number of versions.
    QuotaExceeded,
    /// The machine does not exist (any more).
    NoMachine,
}

/// What [`crate::Store::delete_version`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionDeleted {
    Deleted,
    Absent,
    /// Aliases route to it (their names, in creation order); nothing was deleted.
    Referenced(Vec<String>),
}

/// A state-machine alias: a name routing executions to one or two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// `<machine arn>:<name>`
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub description: Option<String>,
    /// (version ARN, weight) pairs in the order given, one or two of them.
    pub routes: Vec<(String, u32)>,
    pub creation_date_ms: i64,
    pub update_date_ms: i64,
    /// Insertion sequence, assigned by the store (ignored on writes).
    pub seq: i64,
}

/// What an alias write ([`crate::Store::insert_alias`], [`crate::Store::update_alias`]) did.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasWritten {
    Done,
    /// Insert: an alias with this ARN exists; here it is (nothing was written).
    Exists(AliasRecord),
    /// Update: no alias with this ARN.
    Absent,
    /// A routed version does not exist (this ARN); nothing was written.
    MissingVersion(String),
    /// Insert: the machine already has the maximum number of aliases.
    QuotaExceeded,
}

/// A Distributed Map's Map Run (DescribeMapRun): settings UpdateMapRun may change, and the
/// progress its driver keeps. Counts are JSON text (`itemCounts` / `executionCounts` as the
/// API shapes them), since only the driver writes them and only DescribeMapRun reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRunRecord {
    pub arn: String,
    /// The parent execution.
    pub execution_arn: String,
    /// The labelled machine of the children (`…:stateMachine:<machine>/<label>`).
    pub state_machine_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `ABORTED`.
    pub status: String,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
    /// 0: no limit.
    pub max_concurrency: u64,
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: f64,
    pub item_counts: String,
    pub execution_counts: String,
    /// RedriveExecution of the parent redrove the run this often; last at `redrive_date_ms`.
    pub redrive_count: u32,
    pub redrive_date_ms: Option<i64>,
}
