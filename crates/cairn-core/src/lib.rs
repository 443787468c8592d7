//! The interpreter: runs one execution of an ASL state machine, one input at a time.
//!
//! The contract, which the runtime (crate `cairn`) relies on:
//! - [`start`] creates an [`Execution`] and runs it as far as it can go without waiting;
//! - [`step`] feeds one [`Input`] (a worker's answer, a timer, a stop) into a running
//!   execution and runs it again as far as it can go.
//!
//! Both return a [`Decision`]: the history events to append (ids already assigned, AWS's
//! `previousEventId` chain) and the [`Effect`]s to carry out **after** the runtime has
//! committed the events and the new execution state in one transaction.
//!
//! Invariant: deterministic and pure. No I/O, no clock, no random numbers, no tokio: the
//! time, the entropy and the task-token key come in through [`Ctx`]; so feeding the same
//! inputs with the same contexts yields the same events bit for bit. Replaying a history
//! means re-deriving those inputs from the externally caused events and feeding them again.
//!
//! Module map:
//! - `machine` — the serialisable interpreter state: threads (root, Parallel branches, Map
//!   iterations), open tasks, live timers;
//! - `run` — the driver: runs threads until they wait, hands finished children to their
//!   Parallel/Map parent, Retry/Catch dispatch;
//! - `execution` — `ExecutionStarted`, the end of the execution, StopExecution, timers;
//! - `history` — event numbering, `previousEventId` threading, details members;
//! - `pass`, `choice`, `wait`, `terminal` (Succeed/Fail), `task`, `parallel`, `map` — the
//!   state types; `retry`, `catch`, `errors` — failures;
//! - `dataflow` (JSONPath data flow), `jsonata` (JSONata data flow: `$states`, compiled
//!   expressions cached), `context` (`$$`, `$states.context`), `variables` (`Assign`, both
//!   languages), `language` (which of the two a state uses);
//! - [`replay`] — re-derive inputs from a history and check it is reproduced;
//! - `recovery` — [`Execution::outstanding_effects`] after a crash;
//! - [`test_state`] — the TestState API: one state evaluated alone, with its inspection data.
//! - `map_run` — a Distributed Map's Map Run as handed to the runtime, and the per-item
//!   pieces (ItemSelector, ItemBatcher, tolerance) its driver applies;
//! - `redrive` — [`redrive`]: RedriveExecution, resuming an execution that did not succeed.

mod catch;
mod choice;
mod context;
mod dataflow;
mod errors;
pub mod event;
pub mod event_type;
mod execution;
mod history;
pub mod input;
mod jsonata;
mod language;
pub mod limits;
mod machine;
mod map;
mod map_run;
mod parallel;
mod pass;
mod recovery;
mod redrive;
pub mod replay;
mod retry;
mod run;
mod task;
mod terminal;
pub mod test_state;
pub mod token;
mod variables;
mod wait;

pub use event::HistoryEvent;
pub use event_type::EventType;
pub use input::{Ctx, Decision, Effect, Input, OpenWorld, Outcome, World};
pub use map_run::{
    tolerance_exceeded, Batcher, BatcherSpec, ItemSelection, MapRunSpec, ReaderSpec, WriterSpec,
    MAP_RUN_RESOURCE,
};
pub use redrive::{redrive, Redrive, RedriveToken};

use machine::Machine;
use run::{End, Run};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `ExecutionStatus` of the API model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
            Self::PendingRedrive => "PENDING_REDRIVE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            "ABORTED" => Self::Aborted,
            "PENDING_REDRIVE" => Self::PendingRedrive,
            _ => return None,
        })
    }
}

/// What the execution is, fixed at start: the context object's `Execution` and `StateMachine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    /// The region written into `TaskScheduled.region`.
    pub region: String,
    pub start_time_ms: i64,
    /// The execution input exactly as the caller sent it (ExecutionStarted keeps it verbatim).
    pub input_text: String,
    pub state_machine_version_arn: Option<String>,
    pub state_machine_alias_arn: Option<String>,
    pub redrive_count: u32,
    /// When the latest redrive happened (`$$.Execution.RedriveTime`, DescribeExecution's
    /// `redriveDate`); `None` until the first redrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_time_ms: Option<i64>,
    /// The mock configuration's test case (`stateMachineArn#TestCase` at start). A runtime
    /// matter, kept here so that it is durable with the execution and survives a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_test_case: Option<String>,
    /// The W3C `traceparent` of the task that started this execution (a child of another
    /// execution), so that its trace spans hang under the parent's (see the runtime's
    /// `telemetry`). A runtime matter, durable here like `mock_test_case`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_parent: Option<String>,
}

/// A running or finished execution: everything needed to continue it. Serialised as the
/// execution's snapshot in the store after every committed step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    pub info: ExecutionInfo,
    pub status: ExecutionStatus,
    /// Id the next history event will get (ids start at 1, gap-free).
    pub next_event_id: u64,
    /// Final output (SUCCEEDED) as compact JSON text.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_time_ms: Option<i64>,
    /// Client tokens of the latest redrives (RedriveExecution idempotency).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redrive_tokens: Vec<RedriveToken>,
    /// The interpreter's own state (threads, pending tasks, timers, variables). Owned by the
    /// interpreter modules; opaque to everybody else.
    pub(crate) machine: Machine,
}

/// Start an execution: emits `ExecutionStarted` and runs until the first wait.
/// `input` is the parsed execution input (`info.input_text` parsed).
pub fn start(
    info: ExecutionInfo,
    definition: &cairn_asl::StateMachine,
    input: Value,
    ctx: &Ctx,
) -> (Execution, Decision) {
    let mut execution = Execution {
        info,
        status: ExecutionStatus::Running,
        next_event_id: 1,
        output: None,
        error: None,
        cause: None,
        stop_time_ms: None,
        redrive_tokens: Vec::new(),
        machine: Machine::default(),
    };
    let mut machine = std::mem::take(&mut execution.machine);
    let (out, end) = {
        let mut run = Run::new(definition, &execution.info, ctx, &mut machine, 1);
        run.start_root(input);
        run.finish_step();
        (run.out, run.end)
    };
    execution.machine = machine;
    let decision = finish(&mut execution, out, end, Outcome::Applied, ctx);
    (execution, decision)
}

/// Feed one input into a running execution.
pub fn step(
    execution: &mut Execution,
    definition: &cairn_asl::StateMachine,
    input: Input,
    ctx: &Ctx,
) -> Decision {
    if let Input::Redrive {
        client_token,
        window_ms,
    } = &input
    {
        return match redrive(
            execution,
            definition,
            client_token.as_deref(),
            *window_ms,
            ctx,
        ) {
            Redrive::Applied {
                mut decision,
                date_ms,
            } => {
                decision.outcome = Outcome::Redriven { date_ms };
                decision
            }
            Redrive::Repeated { date_ms } => Decision {
                outcome: Outcome::Redriven { date_ms },
                ..Decision::default()
            },
            Redrive::Refused(_) => Decision {
                outcome: Outcome::NotRedrivable,
                ..Decision::default()
            },
        };
    }
    if execution.status != ExecutionStatus::Running {
        return Decision {
            outcome: Outcome::NotRunning,
            ..Decision::default()
        };
    }
    let mut machine = std::mem::take(&mut execution.machine);
    let (out, end, outcome) = {
        let mut run = Run::new(
            definition,
            &execution.info,
            ctx,
            &mut machine,
            execution.next_event_id,
        );
        let outcome = match input {
            Input::TimerFired { timer } => {
                run.timer_fired(timer);
                Outcome::Applied
            }
            Input::Stop { error, cause } => {
                run.stop(error.as_deref(), cause.as_deref());
                Outcome::Applied
            }
            Input::Redrive { .. } => unreachable!("handled above"),
            other => run.task_input(other),
        };
        run.finish_step();
        (run.out, run.end, outcome)
    };
    execution.machine = machine;
    finish(execution, out, end, outcome, ctx)
}

/// Fold a step's result into the execution.
pub(crate) fn finish(
    execution: &mut Execution,
    out: history::Emitter,
    end: Option<End>,
    outcome: Outcome,
    ctx: &Ctx,
) -> Decision {
    execution.next_event_id = out.next_id;
    if let Some(end) = end {
        execution.stop_time_ms = Some(ctx.now_ms);
        match end {
            End::Succeeded(output) => {
                execution.status = ExecutionStatus::Succeeded;
                execution.output = Some(output);
            }
            End::Failed(f) => {
                execution.status = ExecutionStatus::Failed;
                execution.error = f.error;
                execution.cause = f.cause;
            }
            End::TimedOut => {
                execution.status = ExecutionStatus::TimedOut;
                execution.error = Some(errors::STATES_TIMEOUT.into());
            }
            End::Aborted { error, cause } => {
                execution.status = ExecutionStatus::Aborted;
                execution.error = error;
                execution.cause = cause;
            }
        }
    }
    Decision {
        events: out.events,
        effects: out.effects,
        outcome,
    }
}
