//! What goes into the interpreter ([`Input`], [`Ctx`]) and what comes out ([`Decision`]).

use crate::HistoryEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the interpreter may ask about the world outside the execution. The answers end up in
/// the history (e.g. a missing activity fails the execution), so replay stays deterministic.
pub trait World: Send + Sync {
    /// Does this activity exist now? (A Task on a missing activity fails with `States.Runtime`.)
    fn activity_exists(&self, activity_arn: &str) -> bool;
}

/// A world where every activity exists (tests, replay).
pub struct OpenWorld;
impl World for OpenWorld {
    fn activity_exists(&self, _activity_arn: &str) -> bool {
        true
    }
}

/// Everything non-deterministic that a step may use. The runtime records it implicitly: the
/// time is every event's timestamp, the entropy feeds ids that end up in events.
#[derive(Clone)]
pub struct Ctx {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Seed for `States.UUID`, `States.MathRandom`, `$uuid`, `$random`, retry jitter.
    pub entropy: u64,
    /// Secret key that makes task tokens unforgeable (HMAC); the same for the store's lifetime.
    pub token_key: [u8; 32],
    pub world: std::sync::Arc<dyn World>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("now_ms", &self.now_ms)
            .field("entropy", &self.entropy)
            .finish_non_exhaustive()
    }
}

/// An external happening fed into a running execution. Tasks are named by the id of the
/// event that scheduled them (`ActivityScheduled`, `TaskScheduled`, `LambdaFunctionScheduled`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A worker took the activity task (GetActivityTask): `ActivityStarted`.
    ActivityStarted {
        task: u64,
        worker_name: Option<String>,
    },
    /// SendTaskSuccess, or a runner's successful result. `output` is JSON text.
    TaskSucceeded { task: u64, output: String },
    /// SendTaskFailure, or a runner's failure.
    TaskFailed {
        task: u64,
        error: Option<String>,
        cause: Option<String>,
    },
    /// SendTaskHeartbeat: restarts the heartbeat clock; writes no event.
    TaskHeartbeat { task: u64 },
    /// A `.waitForTaskToken` or `.sync` task was submitted; `output` is the API response
    /// recorded in `TaskSubmitted`.
    TaskSubmitted { task: u64, output: String },
    /// A timer started by [`Effect::StartTimer`] is due.
    TimerFired { timer: u64 },
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// RedriveExecution of a FAILED, TIMED_OUT or ABORTED execution (see [`crate::redrive`]).
    /// `window_ms`: how long after its stop an execution stays redrivable (`None`: no limit).
    Redrive {
        client_token: Option<String>,
        window_ms: Option<i64>,
    },
}

/// Something for the runtime to do once the step is committed. Every effect is idempotent
/// under repetition (keyed by execution and task/timer id): after a crash between commit and
/// effect, the runtime recomputes effects from the execution state and repeats them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Queue an activity task for GetActivityTask (a durable row, FIFO per activity).
    ScheduleActivity {
        task: u64,
        activity_arn: String,
        /// Effective input as JSON text.
        input: String,
        token: String,
        /// The Task state's name (mock configurations are keyed by it).
        state_name: String,
    },
    /// Run a non-activity Task resource (Lambda function, `lambda:invoke`, HTTP, nested
    /// execution, SDK call, `.waitForTaskToken` callback). The outcome returns as
    /// `TaskSubmitted` / `TaskSucceeded` / `TaskFailed`.
    InvokeResource {
        task: u64,
        resource: String,
        /// Effective parameters (after Parameters/Arguments).
        parameters: Value,
        token: String,
        /// The Task state's name (mocked responses are keyed by it).
        #[serde(default)]
        state_name: String,
    },
    /// Withdraw a task that will never be wanted again (timed out, stopped, sibling failed):
    /// delete its queued activity row; its token now answers `TaskTimedOut`.
    CancelTask { task: u64 },
    /// Fire [`Input::TimerFired`] at this time (durable timer row).
    StartTimer { timer: u64, fire_at_ms: i64 },
    /// The timer is no longer wanted (firing it anyway is harmless: stale timers are ignored).
    CancelTimer { timer: u64 },
}

/// What an input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Outcome {
    /// The input was applied (possibly producing no events, e.g. a heartbeat).
    #[default]
    Applied,
    /// The task named by the input is no longer open: SendTask* answers `TaskTimedOut`.
    TaskClosed,
    /// The execution is not running any more.
    NotRunning,
    /// RedriveExecution applied now, or earlier under the same client token: the redrive's
    /// date.
    Redriven { date_ms: i64 },
    /// RedriveExecution refused: the execution cannot be redriven (the reason follows from
    /// the execution: [`crate::Execution::redrive_refusal`]).
    NotRedrivable,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    pub outcome: Outcome,
}
