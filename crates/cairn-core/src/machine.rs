//! The interpreter's own serialisable state: threads (root flow, Parallel branches, Map
//! iterations), what each waits for, open tasks and live timers.
//!
//! Owns the data layout only; the behaviour lives in the state modules. Kept compact: a
//! thread holds its current state's raw input and nothing else that could be recomputed.

use cairn_asl::{State, StateMachine};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Thread id of the timer that ends the whole execution (`TimeoutSeconds`).
pub(crate) const EXECUTION_TIMER_OWNER: u32 = u32::MAX;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Machine {
    /// Thread arena; freed slots are `None` and reused.
    pub threads: Vec<Option<Thread>>,
    #[serde(default)]
    pub free: Vec<u32>,
    /// Open tasks: scheduling event id → thread.
    pub tasks: BTreeMap<u64, u32>,
    /// Live timers: timer id → owning thread and due time.
    pub timers: BTreeMap<u64, LiveTimer>,
    pub next_timer: u64,
    /// Ids for tasks of hidden (Distributed Map child) threads, which write no events.
    #[serde(default)]
    pub next_hidden_task: u64,
    /// The root thread as it stood when the execution ended unsuccessfully: where a
    /// RedriveExecution resumes (see `redrive.rs`). `None` while running or after success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<Box<Thread>>,
}

/// One flow of control in one scope of the definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Thread {
    /// (parent thread, child slot in the parent's fan-out).
    pub parent: Option<(u32, u32)>,
    /// Path from the root machine to this thread's scope: (state index, branch index).
    pub scope: Vec<(u32, u32)>,
    /// Index of the current state in the scope.
    pub state: u32,
    /// `previousEventId` for the next event of this thread.
    pub source: u64,
    /// Variables assigned in this scope (inner scopes read outer ones through `parent`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Map<String, Value>,
    /// Raw input of the current state.
    pub input: Value,
    pub entered_id: u64,
    /// `previousEventId` of the Entered event: what an `EvaluationFailed` raised on entry
    /// follows (HISTORY.md §3, observed).
    #[serde(default)]
    pub entered_prev: u64,
    pub entered_ms: i64,
    /// `$$.State.RetryCount`.
    pub retry_count: u32,
    /// Attempts used per retrier of the current state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<u32>,
    /// Effective input of the current Task/Parallel/Map, re-sent on every retry.
    #[serde(default)]
    pub effective: Value,
    /// Map iteration index and item of this thread (for iteration events).
    #[serde(default)]
    pub item_index: Option<u32>,
    /// Events of this thread are not written (Distributed Map children run elsewhere on AWS).
    #[serde(default)]
    pub hidden: bool,
    /// The fan-out of this thread's Parallel/Map state as it stood when the state failed
    /// (or the execution stopped) with the failure left unhandled: which branches and
    /// iterations succeeded, and their results. Only a redrive reads it; Retry and Catch
    /// drop it, since they run the whole state again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Box<Fanout>>,
    /// The Map Run of this thread's Distributed Map as it stood when the state failed (or
    /// the execution stopped) unhandled: a redrive redrives that run instead of starting a
    /// new one. Retry and Catch drop it, like `kept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_map_run: Option<Box<Value>>,
    pub phase: Phase,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct LiveTimer {
    pub owner: u32,
    pub fire_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// The current state is to be entered.
    Enter,
    /// A Wait state sleeps until the timer fires.
    Wait { timer: u64 },
    /// A Task state waits for its resource.
    Task(TaskRun),
    /// A Task/Parallel/Map waits before retrying.
    Backoff { timer: u64 },
    /// A Parallel or Map state waits for its children.
    Fanout(Box<Fanout>),
    /// A Distributed Map waits for its Map Run, which the runtime drives (see `map.rs`).
    MapRun(Box<MapRunWait>),
}

/// A Distributed Map's Map Run in flight: an open task (keyed by the `MapRunStarted` event
/// id) whose outcome comes back as `TaskSucceeded` (the Map's result) or `TaskFailed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MapRunWait {
    pub task: u64,
    /// What the runtime's Map Run driver is asked to run (`crate::map::MapRunSpec`, JSON):
    /// re-sent after a restart, so the driver resumes the same run.
    pub spec: Value,
}

/// Which history events a Task writes (ARNS.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ResourceKind {
    Activity,
    Lambda,
    Service {
        resource_type: String,
        resource: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskRun {
    /// Id of the scheduling event; names the task in inputs and effects.
    pub task: u64,
    pub kind: ResourceKind,
    pub started: bool,
    pub timeout_timer: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_timer: Option<u64>,
    /// The `TaskSubmitted` output once recorded (a `.sync` job or child was started): a task
    /// re-run after a restart resumes waiting for that submission instead of submitting again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Fanout {
    pub is_map: bool,
    pub distributed: bool,
    /// Running child thread per slot.
    pub children: Vec<Option<u32>>,
    pub results: Vec<Value>,
    pub running: u32,
    /// Next Map item to start.
    pub next: u32,
    pub total: u32,
    /// Map concurrency limit (always > 0).
    pub limit: u32,
    /// Map items not started yet are taken from here (already through ItemSelector).
    pub items: Vec<Value>,
    /// `previousEventId` for the next `MapIterationStarted`.
    pub cursor: u64,
    /// Latest finishing event (highest branch event / last `MapIterationSucceeded`).
    pub last_done: u64,
    /// Distributed Map: `MapRunStarted` id and tolerance.
    pub run_started: u64,
    pub failures: u32,
    pub tolerated_count: Option<u64>,
    pub tolerated_percentage: Option<f64>,
    /// Slots whose branch/iteration succeeded (their result is in `results`); a redrive
    /// re-runs only the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<bool>,
}

impl Machine {
    pub fn thread(&self, tid: u32) -> &Thread {
        self.threads[tid as usize].as_ref().expect("live thread")
    }
    pub fn thread_mut(&mut self, tid: u32) -> &mut Thread {
        self.threads[tid as usize].as_mut().expect("live thread")
    }
    pub fn alive(&self, tid: u32) -> bool {
        self.threads.get(tid as usize).is_some_and(|t| t.is_some())
    }
    pub fn add_thread(&mut self, t: Thread) -> u32 {
        if let Some(id) = self.free.pop() {
            self.threads[id as usize] = Some(t);
            id
        } else {
            self.threads.push(Some(t));
            (self.threads.len() - 1) as u32
        }
    }
    pub fn remove_thread(&mut self, tid: u32) -> Thread {
        let t = self.threads[tid as usize].take().expect("live thread");
        self.free.push(tid);
        t
    }
    pub fn new_timer(&mut self, owner: u32, fire_at_ms: i64) -> u64 {
        self.next_timer += 1;
        self.timers
            .insert(self.next_timer, LiveTimer { owner, fire_at_ms });
        self.next_timer
    }
}

impl Thread {
    pub fn new(
        parent: Option<(u32, u32)>,
        scope: Vec<(u32, u32)>,
        state: u32,
        source: u64,
        input: Value,
    ) -> Self {
        Thread {
            parent,
            scope,
            state,
            source,
            vars: Map::new(),
            input,
            entered_id: 0,
            entered_prev: 0,
            entered_ms: 0,
            retry_count: 0,
            attempts: Vec::new(),
            effective: Value::Null,
            item_index: None,
            hidden: false,
            kept: None,
            kept_map_run: None,
            phase: Phase::Enter,
        }
    }
}

/// The scope (root machine, branch or item processor) at a path.
pub(crate) fn scope_at<'d>(root: &'d StateMachine, path: &[(u32, u32)]) -> &'d StateMachine {
    let mut m = root;
    for &(state, branch) in path {
        m = match &m.states[state as usize].kind {
            cairn_asl::StateKind::Parallel(p) => &p.branches[branch as usize],
            cairn_asl::StateKind::Map(map) => &map.processor,
            _ => unreachable!("scope path through a state without children"),
        };
    }
    m
}

/// The current state of a thread.
pub(crate) fn state_of<'d>(root: &'d StateMachine, t: &Thread) -> &'d State {
    &scope_at(root, &t.scope).states[t.state as usize]
}
