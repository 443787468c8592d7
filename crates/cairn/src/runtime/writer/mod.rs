//! The writer: the one thread of a node that advances executions.
//!
//! Batch, commit, then act: it takes every queued command (up to [`MAX_BATCH`]), runs the
//! interpreter for each against its cached execution, gathers all events, execution rows,
//! activity tasks and timers into one [`Batch`], commits it in one transaction, and only
//! then answers the callers and carries out the effects. Throughput comes from amortising
//! the commit over many steps; correctness from never acting on anything uncommitted.

mod commit;

use super::activities::Dispatch;
use super::clock::Clock;
use super::cluster::Ownership;
use super::resources::{self, ResourceRunner};
use super::retry::{Again, Retrier};
use super::timers::{Quiet, TimerService};
use super::{ActivityTask, EngineError, EventTap};
use cairn_asl::StateMachine;
use cairn_core::{Ctx, Decision, Effect, Execution, ExecutionInfo, Input, Outcome, World};
use cairn_store::{
    partition_of, ActivityTaskRecord, Batch, EventRecord, ExecutionRecord, Fence, Lease, Store,
    StoreError, TimerRecord,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Most commands folded into one transaction.
const MAX_BATCH: usize = 512;

/// Where the answer to a command goes once its batch is committed.
type StartReply = oneshot::Sender<Result<StartResult, StartError>>;
type DeliverReply = oneshot::Sender<Result<Outcome, EngineError>>;
type ClaimReply = oneshot::Sender<Result<Option<ActivityTask>, EngineError>>;

pub enum Command {
    Start {
        request: StartRequest,
        reply: StartReply,
    },
    Deliver {
        execution_arn: String,
        input: Input,
        reply: Option<DeliverReply>,
    },
    /// GetActivityTask: hand the oldest queued task of the activity to this worker, if any.
    /// Answered after the commit that records `ActivityStarted`.
    Claim {
        activity_arn: String,
        worker_name: Option<String>,
        reply: ClaimReply,
    },
    /// After a restart: carry out again the effects of this running execution that no
    /// durable row remembers (resource invocations in flight when the process died).
    Recover {
        execution_arn: String,
    },
    /// Answer once the execution has closed (at once if it already has, or is unknown).
    Watch {
        execution_arn: String,
        reply: oneshot::Sender<()>,
    },
    /// Cluster: these leases were granted to this node. Forget any cached copy of their
    /// executions, hold the leases, take the RUNNING executions and pending timers (read
    /// from the store under the new leases) in, and carry out what they had in flight.
    Adopt {
        leases: Vec<Lease>,
        running: Vec<ExecutionRecord>,
        timers: Vec<TimerRecord>,
        done: oneshot::Sender<()>,
    },
    /// Cluster: stop advancing these partitions (handed over, or lost). Inputs for them are
    /// refused from this command on; the batch in progress still commits under the old
    /// lease; then their executions leave the cache and `done` is answered, after which the
    /// lease may be given up.
    Release {
        partitions: Vec<i16>,
        done: oneshot::Sender<()>,
    },
    /// A skipping virtual clock: the timer service's next timer is due at `to_ms`. The
    /// clock jumps there if this command is alone in its batch, nothing else is queued and
    /// no execution has work in flight outside the engine (see `clock.rs`).
    Jump {
        to_ms: i64,
    },
    /// Reply-less inputs held after a failed commit (or a failed read), back after their
    /// back-off (see `retry.rs`); `attempt` counts the failures so far.
    Retry {
        inputs: Vec<Again>,
        attempt: u32,
    },
    Shutdown,
}

/// A StartExecution that passed the API layer's checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartRequest {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub region: String,
    /// The definition the execution runs (the machine's current one, or a version's).
    pub definition: String,
    /// The input exactly as sent (already checked to be JSON).
    pub input_text: String,
    pub state_machine_version_arn: Option<String>,
    pub state_machine_alias_arn: Option<String>,
    /// The mock configuration's test case (`stateMachineArn#TestCase`), if any.
    pub mock_test_case: Option<String>,
    /// A child execution's parent task context (`ExecutionInfo::trace_parent`).
    #[serde(default)]
    pub trace_parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartResult {
    pub execution_arn: String,
    pub start_date_ms: i64,
}

#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
pub enum StartError {
    /// Same name, but a closed execution or another input.
    #[error("Execution Already Exists: '{0}'")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    Internal(String),
    /// Another node owns the execution's partition (the engine routes there and retries).
    #[error("this node does not own the execution")]
    NotOwner,
}

/// A running execution held by the writer.
struct Live {
    execution: Execution,
    definition: Arc<StateMachine>,
    definition_text: Arc<str>,
    seq: i64,
}

/// Answers `activity_exists` from the store at the moment a Task state schedules. A found
/// activity is remembered for [`ACTIVITY_SEEN_FOR`], so a burst of tasks on one activity costs
/// one read instead of one per task (a read on the writer thread is a round trip each on a
/// remote store): a DeleteActivity is noticed by schedulers up to that much later.
struct StoreWorld {
    store: Arc<dyn Store>,
    seen: std::sync::Mutex<HashMap<String, std::time::Instant>>,
}

const ACTIVITY_SEEN_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl World for StoreWorld {
    fn activity_exists(&self, activity_arn: &str) -> bool {
        let now = std::time::Instant::now();
        let mut seen = self.seen.lock().expect("activity cache lock");
        if seen
            .get(activity_arn)
            .is_some_and(|at| now.duration_since(*at) < ACTIVITY_SEEN_FOR)
        {
            return true;
        }
        let exists = matches!(self.store.get_activity(activity_arn), Ok(Some(_)));
        if exists {
            if seen.len() > 10_000 {
                seen.retain(|_, at| now.duration_since(*at) < ACTIVITY_SEEN_FOR);
            }
            seen.insert(activity_arn.to_string(), now);
        } else {
            seen.remove(activity_arn);
        }
        exists
    }
}

/// The clock the writer reads, where it reports being idle (virtual clocks), and where it
/// publishes committed events.
pub struct WriterTime {
    pub clock: Arc<Clock>,
    pub quiet: watch::Sender<Quiet>,
    pub events: Arc<EventTap>,
}

pub struct Writer {
    metrics: Arc<super::metrics::Metrics>,
    store: Arc<dyn Store>,
    ownership: Arc<Ownership>,
    token_key: [u8; 32],
    dispatch: Arc<Dispatch>,
    timers: TimerService,
    resources: ResourceRunner,
    world: Arc<dyn World>,
    live: HashMap<String, Live>,
    definitions: HashMap<Arc<str>, Arc<StateMachine>>,
    /// Callers waiting for an execution to close (nested `.sync` tasks, sync starts).
    watchers: HashMap<String, Vec<oneshot::Sender<()>>>,
    clock: Arc<Clock>,
    /// Virtual clock: the cached executions with work in flight outside the engine.
    busy: HashSet<String>,
    /// Virtual clock: the activity ARNs of each cached execution's untaken activity tasks.
    queued: HashMap<String, Vec<String>>,
    /// Virtual clock: told after every batch whether the writer is idle.
    quiet: watch::Sender<Quiet>,
    batches: u64,
    events: Arc<EventTap>,
    /// Holds reply-less inputs through storage failures (see `retry.rs`).
    retry: Retrier,
}

/// What one batch produced, kept until its commit is known.
#[derive(Default)]
struct Pending {
    batch: Batch,
    touched: Vec<String>,
    touched_set: HashSet<String>,
    start_replies: Vec<(StartReply, Result<StartResult, StartError>)>,
    deliver_replies: Vec<(Option<DeliverReply>, Outcome)>,
    claim_replies: Vec<(ClaimReply, Option<ActivityTask>)>,
    /// Tasks this batch handed out or found stale: not to be peeked again before the commit.
    claimed: HashSet<(String, u64)>,
    /// Queued tasks this batch's claims have read, per activity, oldest first: a claim takes
    /// the next one from here and reads the store only when they run out (one read per
    /// activity per batch under load, instead of one ever longer read per claim).
    peeked: HashMap<String, Peeked>,
    after_commit: Vec<(String, Effect)>,
    /// Mocked activity states: (execution, task, the mocked answer), delivered after commit.
    mocked_activities: Vec<(String, u64, Input)>,
    /// Cluster: the lease of every partition this batch writes to (the commit's fence).
    fence: BTreeMap<i16, i64>,
    /// The stored executions named by this batch's starts, looked up before it ran:
    /// (status, input, start time) by ARN. `None`: not looked up.
    stored: Option<HashMap<String, (String, String, i64)>>,
    /// Cluster: partitions to let go of once this batch is committed.
    releases: Vec<(Vec<i16>, oneshot::Sender<()>)>,
    /// What the metrics count once this batch is committed.
    observed: Vec<super::metrics::Observed>,
    /// Reply-less inputs of this batch: run again if its commit fails for good.
    again_if_failed: Vec<Again>,
    /// Reply-less inputs that failed before the commit (a read from storage): run again.
    again: Vec<Again>,
    /// The most failures any retried input of this batch has been through.
    attempt: u32,
}

/// See [`Pending::peeked`].
struct Peeked {
    tasks: std::collections::VecDeque<ActivityTaskRecord>,
    /// The read was cut at its limit: more may be queued behind these.
    more: bool,
}

/// Queued tasks a claim reads ahead beyond those the batch has taken already.
const PEEK_AHEAD: usize = 16;

impl Pending {
    /// Record the lease a write for this execution happens under.
    fn fence(&mut self, lease: (i16, i64)) {
        self.fence.insert(lease.0, lease.1);
    }

    fn touch(&mut self, arn: &str) {
        if self.touched_set.insert(arn.to_string()) {
            self.touched.push(arn.to_string());
        }
    }
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        metrics: Arc<super::metrics::Metrics>,
        store: Arc<dyn Store>,
        ownership: Arc<Ownership>,
        token_key: [u8; 32],
        dispatch: Arc<Dispatch>,
        timers: TimerService,
        resources: ResourceRunner,
        time: WriterTime,
        commands: mpsc::WeakUnboundedSender<Command>,
    ) -> Self {
        let WriterTime {
            clock,
            quiet,
            events,
        } = time;
        Writer {
            metrics,
            world: Arc::new(StoreWorld {
                store: store.clone(),
                seen: Default::default(),
            }),
            store,
            ownership,
            token_key,
            dispatch,
            timers,
            resources,
            live: HashMap::new(),
            definitions: HashMap::new(),
            watchers: HashMap::new(),
            clock,
            busy: HashSet::new(),
            queued: HashMap::new(),
            quiet,
            batches: 0,
            events,
            retry: Retrier::new(commands),
        }
    }

    pub fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        loop {
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            let mut commands = vec![first];
            while commands.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => commands.push(c),
                    Err(_) => break,
                }
            }
            self.metrics.batch_size.observe(commands.len() as f64);
            self.metrics.command_queue.set(rx.len() as i64);
            let mut shutdown = false;
            let alone = commands.len() == 1;
            let mut jump = None;
            let mut pending = Pending::default();
            self.look_up_starts(&commands, &mut pending);
            for command in commands {
                match command {
                    Command::Start { request, reply } => {
                        let result = self.start(request, &mut pending);
                        pending.start_replies.push((reply, result));
                    }
                    Command::Deliver {
                        execution_arn,
                        input,
                        reply: None,
                    } => self.deliver_held(execution_arn, input, &mut pending),
                    Command::Deliver {
                        execution_arn,
                        input,
                        reply: Some(reply),
                    } => match self.deliver(&execution_arn, input, &mut pending) {
                        Ok(outcome) => pending.deliver_replies.push((Some(reply), outcome)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    },
                    Command::Retry { inputs, attempt } => {
                        self.retry.returned();
                        pending.attempt = pending.attempt.max(attempt);
                        for again in inputs {
                            match again {
                                Again::Deliver {
                                    execution_arn,
                                    input,
                                } => self.deliver_held(execution_arn, input, &mut pending),
                                Again::Recover { execution_arn } => {
                                    self.recover_held(execution_arn, &mut pending)
                                }
                            }
                        }
                    }
                    Command::Claim {
                        activity_arn,
                        worker_name,
                        reply,
                    } => match self.claim(&activity_arn, worker_name, &mut pending) {
                        Ok(task) => pending.claim_replies.push((reply, task)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    },
                    Command::Recover { execution_arn } => {
                        self.recover_held(execution_arn, &mut pending)
                    }
                    Command::Watch {
                        execution_arn,
                        reply,
                    } => self.watch(execution_arn, reply, &pending),
                    Command::Adopt {
                        leases,
                        running,
                        timers,
                        done,
                    } => {
                        self.adopt(leases, running, timers);
                        let _ = done.send(());
                    }
                    Command::Release { partitions, done } => {
                        for p in &partitions {
                            self.ownership.forget(*p);
                        }
                        pending.releases.push((partitions, done));
                    }
                    Command::Jump { to_ms } => jump = Some(to_ms),
                    Command::Shutdown => shutdown = true,
                }
            }
            self.finish(pending);
            if shutdown {
                return;
            }
            if self.clock.is_virtual() {
                let idle = rx.is_empty() && self.idle();
                if let Some(to_ms) = jump.filter(|_| alone && idle) {
                    if self.clock.jump_to(to_ms) {
                        tracing::debug!(to_ms, "virtual clock jumped to the next timer");
                    }
                }
                self.batches += 1;
                let _ = self.quiet.send((idle, self.batches));
            }
        }
    }

    /// Virtual clock: no cached execution has work in flight outside the engine, nor an
    /// activity task a worker is about to take (see `clock.rs`).
    fn idle(&self) -> bool {
        self.busy.is_empty()
            && !self.retry.waiting()
            && !self
                .queued
                .values()
                .flatten()
                .any(|a| self.dispatch.about_to_take(a))
    }

    /// Virtual clock: what this cached execution holds the clock with.
    fn track(&mut self, arn: &str) {
        let (in_flight, queued) = match self.live.get(arn) {
            Some(l) => (
                l.execution.work_in_flight(&l.definition),
                l.execution.queued_activities(&l.definition),
            ),
            None => (false, Vec::new()),
        };
        if in_flight {
            self.busy.insert(arn.to_string());
        } else {
            self.busy.remove(arn);
        }
        if queued.is_empty() {
            self.queued.remove(arn);
        } else {
            self.queued.insert(arn.to_string(), queued);
        }
    }

    /// Take the oldest queued task of an activity for a worker: `ActivityStarted` goes into
    /// this batch, and with stores that peek the task is marked taken by the same commit.
    /// Tasks whose execution no longer wants them (stopped, timed out, gone) are withdrawn.
    fn claim(
        &mut self,
        activity_arn: &str,
        worker_name: Option<String>,
        pending: &mut Pending,
    ) -> Result<Option<ActivityTask>, EngineError> {
        loop {
            let Some(task) = self.next_queued(activity_arn, pending)? else {
                return Ok(None);
            };
            let key = (task.execution_arn.clone(), task.task);
            pending.claimed.insert(key.clone());
            let started = Input::ActivityStarted {
                task: task.task,
                worker_name: worker_name.clone(),
            };
            // `deliver` marks the task taken (or withdraws a leftover the execution no longer
            // wants) in this batch.
            let outcome = match self.deliver(&task.execution_arn, started, pending) {
                Ok(outcome) => outcome,
                Err(EngineError::NoSuchExecution(_)) => {
                    pending.batch.withdrawn_tasks.push(key);
                    Outcome::NotRunning
                }
                Err(e) => return Err(e),
            };
            if outcome == Outcome::Applied {
                return Ok(Some(ActivityTask {
                    token: task.token,
                    input: task.input,
                }));
            }
        }
    }

    /// The oldest queued task of the activity that this batch has not handed out yet: from
    /// the tasks the batch peeked already, else from the store (which still lists the tasks
    /// this batch took, so the read skips past them). A store that does not peek claims.
    fn next_queued(
        &self,
        activity_arn: &str,
        pending: &mut Pending,
    ) -> Result<Option<ActivityTaskRecord>, EngineError> {
        loop {
            if let Some(peeked) = pending.peeked.get_mut(activity_arn) {
                while let Some(task) = peeked.tasks.pop_front() {
                    if !pending
                        .claimed
                        .contains(&(task.execution_arn.clone(), task.task))
                    {
                        return Ok(Some(task));
                    }
                }
                if !peeked.more {
                    return Ok(None);
                }
            }
            let limit = pending.claimed.len() + PEEK_AHEAD;
            let Some(tasks) = self.store.peek_activity_tasks(activity_arn, limit)? else {
                return Ok(self.store.claim_activity_task(activity_arn)?);
            };
            // At most `claimed.len()` of them are taken: if the read was cut at its limit,
            // at least PEEK_AHEAD untaken ones are among them, so this loop ends.
            let more = tasks.len() >= limit;
            pending.peeked.insert(
                activity_arn.to_string(),
                Peeked {
                    tasks: tasks.into(),
                    more,
                },
            );
        }
    }

    /// Re-run the resource invocations of a recovered execution. Timers and activity tasks
    /// are durable rows already. Invocations are at-least-once (as a retry on AWS would be):
    /// a Lambda or HTTP call in flight at the crash runs again; a `.sync` task whose
    /// `TaskSubmitted` is recorded resumes waiting for that job or child (never submitted
    /// twice), and one not yet recorded finds its child again by its derived name. Callback (`.waitForTaskToken`)
    /// tasks are not re-sent: their token is out, and a second `TaskSubmitted` would be wrong.
    fn recover(&mut self, arn: &str) -> Result<(), StoreError> {
        if self.ownership.epoch_of(arn).is_none() {
            return Ok(());
        }
        let token_key = self.token_key;
        let effects = match self.load(arn) {
            Ok(Some(_)) => {
                if self.clock.is_virtual() {
                    self.track(arn);
                }
                let live = self.live.get(arn).expect("loaded above");
                live.execution
                    .outstanding_effects(&live.definition, &token_key)
                    .into_iter()
                    .map(|effect| {
                        let submitted = match &effect {
                            Effect::InvokeResource { task, .. } => {
                                live.execution.submitted_output(*task).map(str::to_string)
                            }
                            _ => None,
                        };
                        (effect, submitted)
                    })
                    .collect::<Vec<_>>()
            }
            Ok(None) => return Ok(()),
            Err(EngineError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::error!(execution = arn, error = %e, "cannot recover execution");
                return Ok(());
            }
        };
        for (effect, submitted) in effects {
            // A mocked activity state has no queued row: answer it again from the mock.
            if let Effect::ScheduleActivity {
                task, state_name, ..
            } = &effect
            {
                if let Some(answer) = self.resources.mocked_activity(arn, *task, state_name) {
                    self.resources.answer_mocked_activity(arn, *task, answer);
                }
                continue;
            }
            if let Effect::InvokeResource {
                task,
                resource,
                parameters,
                token,
                state_name,
            } = effect
            {
                if resource.ends_with(".waitForTaskToken") {
                    continue;
                }
                let traceparent = self.traceparent(arn, task);
                self.resources.invoke(resources::Invocation {
                    execution_arn: arn.to_string(),
                    task,
                    resource,
                    parameters,
                    token,
                    state_name,
                    submitted,
                    traceparent,
                });
            }
        }
        Ok(())
    }

    /// A reply-less input: kept to run again if storage fails under it (see `retry.rs`).
    fn deliver_held(&mut self, execution_arn: String, input: Input, pending: &mut Pending) {
        let kept = input.clone();
        let result = self.deliver(&execution_arn, input, pending);
        let again = Again::Deliver {
            execution_arn,
            input: kept,
        };
        match result {
            Ok(outcome) => {
                pending.deliver_replies.push((None, outcome));
                pending.again_if_failed.push(again);
            }
            // Reading the execution failed: nothing of it is in the batch.
            Err(EngineError::Store(_)) => pending.again.push(again),
            // Not ours (its new owner reloads what is durable), or gone: nothing to keep.
            Err(_) => {}
        }
    }

    /// [`Command::Recover`], run again later if the execution cannot be read.
    fn recover_held(&mut self, execution_arn: String, pending: &mut Pending) {
        if let Err(e) = self.recover(&execution_arn) {
            tracing::warn!(execution = %execution_arn, error = %e, "cannot recover execution yet");
            pending.again.push(Again::Recover { execution_arn });
        }
    }

    fn watch(&mut self, arn: String, reply: oneshot::Sender<()>, pending: &Pending) {
        if self.ownership.epoch_of(&arn).is_none() {
            // Not ours to watch: dropping the reply tells the engine to look in the store.
            return;
        }
        // A closed execution is looked at in the store, never taken into the cache: nothing
        // would take it out again (a Distributed Map awaits each of its children, most of
        // them closed by then, and the cache grew by one execution per child).
        let running = match self.live.get(&arn) {
            Some(live) => live.execution.status == cairn_core::ExecutionStatus::Running,
            None => match self.store.get_execution(&arn) {
                Ok(Some(record)) if record.status == "RUNNING" => {
                    matches!(self.load(&arn), Ok(Some(_)))
                }
                _ => false,
            },
        };
        // An execution this batch closed is not closed until the batch commits: its watcher
        // is answered after the commit, with the other watchers of touched executions (an
        // earlier answer let a reader see it still RUNNING, without its closing events).
        if running || pending.touched_set.contains(&arn) {
            self.watchers.entry(arn).or_default().push(reply);
        } else {
            let _ = reply.send(());
        }
    }

    /// The context of one step of `execution_arn` whose first event will be `first_event_id`.
    fn ctx(&self, execution_arn: &str, first_event_id: u64) -> Ctx {
        Ctx {
            now_ms: self.clock.now_ms(),
            entropy: cairn_core::token::step_entropy(
                &self.token_key,
                execution_arn,
                first_event_id,
            ),
            token_key: self.token_key,
            world: self.world.clone(),
        }
    }

    fn definition(&mut self, text: &str) -> Result<(Arc<str>, Arc<StateMachine>), String> {
        if let Some((k, v)) = self.definitions.get_key_value(text) {
            return Ok((k.clone(), v.clone()));
        }
        let parsed = cairn_asl::parse_definition_str(text).map_err(|e| e.to_string())?;
        let key: Arc<str> = Arc::from(text);
        let machine = Arc::new(parsed);
        self.definitions.insert(key.clone(), machine.clone());
        Ok((key, machine))
    }

    /// Find the stored executions the batch's StartExecutions name, in one store call: the
    /// same name may exist already (idempotent start or ExecutionAlreadyExists), and one
    /// lookup per start would serialise a round trip each on a remote store.
    fn look_up_starts(&self, commands: &[Command], pending: &mut Pending) {
        let arns: Vec<String> = commands
            .iter()
            .filter_map(|c| match c {
                Command::Start { request, .. }
                    if !self.live.contains_key(&request.execution_arn) =>
                {
                    Some(request.execution_arn.clone())
                }
                _ => None,
            })
            .collect();
        if arns.is_empty() {
            return;
        }
        match self.store.get_executions(&arns) {
            Ok(found) => {
                pending.stored = Some(
                    found
                        .into_iter()
                        .map(|r| (r.arn.clone(), (r.status, r.input, r.start_date_ms)))
                        .collect(),
                )
            }
            // Each start then looks for itself (and reports the failure if it persists).
            Err(e) => tracing::warn!(error = %e, "cannot look up the batch's executions"),
        }
    }

    fn start(
        &mut self,
        request: StartRequest,
        pending: &mut Pending,
    ) -> Result<StartResult, StartError> {
        let Some(lease) = self.ownership.epoch_of(&request.execution_arn) else {
            return Err(StartError::NotOwner);
        };
        let existing = match self.live.get(&request.execution_arn) {
            Some(live) => Some((
                live.execution.status.as_str().to_string(),
                live.execution.info.input_text.clone(),
                live.execution.info.start_time_ms,
            )),
            None => match &pending.stored {
                Some(stored) => stored.get(&request.execution_arn).cloned(),
                None => self
                    .store
                    .get_execution(&request.execution_arn)
                    .map_err(|e| StartError::Internal(e.to_string()))?
                    .map(|r| (r.status, r.input, r.start_date_ms)),
            },
        };
        if let Some((status, input, start_ms)) = existing {
            // Idempotent while running with the same input (observed AWS behaviour).
            if status == "RUNNING" && input == request.input_text {
                return Ok(StartResult {
                    execution_arn: request.execution_arn,
                    start_date_ms: start_ms,
                });
            }
            return Err(StartError::AlreadyExists(request.execution_arn));
        }
        let (definition_text, definition) = self
            .definition(&request.definition)
            .map_err(StartError::InvalidDefinition)?;
        let input: serde_json::Value = serde_json::from_str(&request.input_text)
            .map_err(|e| StartError::Internal(format!("input is not JSON: {e}")))?;
        let ctx = self.ctx(&request.execution_arn, 1);
        let info = ExecutionInfo {
            execution_arn: request.execution_arn.clone(),
            name: request.name,
            state_machine_arn: request.state_machine_arn,
            state_machine_name: request.state_machine_name,
            role_arn: request.role_arn,
            region: request.region,
            start_time_ms: ctx.now_ms,
            input_text: request.input_text,
            state_machine_version_arn: request.state_machine_version_arn,
            state_machine_alias_arn: request.state_machine_alias_arn,
            redrive_count: 0,
            redrive_time_ms: None,
            mock_test_case: request.mock_test_case,
            trace_parent: request.trace_parent,
        };
        if let Some(case) = &info.mock_test_case {
            self.resources
                .set_test_case(&info.execution_arn, Some(case));
        }
        let (execution, decision) = cairn_core::start(info, &definition, input, &ctx);
        let arn = request.execution_arn;
        pending.fence(lease);
        self.live.insert(
            arn.clone(),
            Live {
                execution,
                definition,
                definition_text,
                seq: 0,
            },
        );
        self.absorb(&arn, decision, &ctx, pending);
        Ok(StartResult {
            execution_arn: arn,
            start_date_ms: ctx.now_ms,
        })
    }

    fn load(&mut self, arn: &str) -> Result<Option<&mut Live>, EngineError> {
        if !self.live.contains_key(arn) {
            let Some(record) = self.store.get_execution(arn)? else {
                return Ok(None);
            };
            self.cache(record)?;
        }
        Ok(self.live.get_mut(arn))
    }

    /// Take a stored execution into the cache.
    fn cache(&mut self, record: ExecutionRecord) -> Result<(), StoreError> {
        let arn = record.arn;
        let execution: Execution = serde_json::from_str(&record.snapshot)
            .map_err(|e| StoreError::Corrupt(format!("snapshot of {arn}: {e}")))?;
        if let Some(case) = &execution.info.mock_test_case {
            // A restart forgets the in-memory mock state; the snapshot remembers the case.
            self.resources.set_test_case(&arn, Some(case));
        }
        let (definition_text, definition) = self
            .definition(&record.definition)
            .map_err(StoreError::Corrupt)?;
        self.live.insert(
            arn,
            Live {
                execution,
                definition,
                definition_text,
                seq: record.seq,
            },
        );
        Ok(())
    }

    /// See [`Command::Adopt`].
    fn adopt(
        &mut self,
        leases: Vec<Lease>,
        running: Vec<ExecutionRecord>,
        timers: Vec<TimerRecord>,
    ) {
        let partitions: HashSet<i16> = leases.iter().map(|l| l.partition).collect();
        self.forget_partitions(&partitions);
        for lease in leases {
            self.ownership.hold(lease);
        }
        for record in running {
            let arn = record.arn.clone();
            if !partitions.contains(&partition_of(&arn)) {
                continue;
            }
            match self.cache(record) {
                Ok(()) => {
                    if let Err(e) = self.recover(&arn) {
                        tracing::error!(execution = %arn, error = %e, "cannot recover execution");
                    }
                }
                Err(e) => tracing::error!(execution = %arn, error = %e, "cannot adopt execution"),
            }
        }
        for t in timers {
            self.timers.arm(t.execution_arn, t.timer, t.fire_at_ms);
        }
    }

    /// Drop the cached executions (and their watchers, who then look in the store) of
    /// partitions this node does not advance any more, or is about to reload.
    fn forget_partitions(&mut self, partitions: &HashSet<i16>) {
        self.live
            .retain(|arn, _| !partitions.contains(&partition_of(arn)));
        self.busy
            .retain(|arn| !partitions.contains(&partition_of(arn)));
        self.queued
            .retain(|arn, _| !partitions.contains(&partition_of(arn)));
        self.watchers
            .retain(|arn, _| !partitions.contains(&partition_of(arn)));
    }

    fn deliver(
        &mut self,
        arn: &str,
        input: Input,
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        let Some(lease) = self.ownership.epoch_of(arn) else {
            return Err(EngineError::NotOwner);
        };
        let started = match &input {
            Input::ActivityStarted { task, .. } => Some(*task),
            _ => None,
        };
        let outcome = self.step(arn, input, lease, pending)?;
        if let Some(task) = started {
            // The hand-out and the task's taken mark commit together; a task its execution
            // no longer wants (stopped, timed out, already started) leaves the queue.
            let key = (arn.to_string(), task);
            if outcome == Outcome::Applied {
                pending.batch.taken_tasks.push(key);
            } else {
                pending.batch.withdrawn_tasks.push(key);
            }
        }
        Ok(outcome)
    }

    /// Run one input through the interpreter, under `lease`.
    fn step(
        &mut self,
        arn: &str,
        input: Input,
        lease: (i16, i64),
        pending: &mut Pending,
    ) -> Result<Outcome, EngineError> {
        pending.fence(lease);
        if let Input::TimerFired { timer } = &input {
            // The fired timer's row is spent whatever the interpreter makes of it.
            pending
                .batch
                .cancelled_timers
                .push((arn.to_string(), *timer));
        }
        let Some(live) = self.load(arn)? else {
            return Err(EngineError::NoSuchExecution(arn.to_string()));
        };
        // A redrive is the one input for an execution that is not running.
        if live.execution.status != cairn_core::ExecutionStatus::Running
            && !matches!(input, Input::Redrive { .. })
        {
            // Not kept in the cache (unless this batch closed it and still has to write it):
            // late inputs to closed executions would otherwise pile up there.
            if !pending.touched_set.contains(arn) {
                self.live.remove(arn);
            }
            return Ok(Outcome::NotRunning);
        }
        let definition = live.definition.clone();
        let first_event_id = live.execution.next_event_id;
        let ctx = self.ctx(arn, first_event_id);
        let live = self.live.get_mut(arn).expect("loaded above");
        let decision = cairn_core::step(&mut live.execution, &definition, input, &ctx);
        let outcome = decision.outcome;
        self.absorb(arn, decision, &ctx, pending);
        Ok(outcome)
    }
}
