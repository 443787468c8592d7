//! RedriveExecution: an execution that ended FAILED, TIMED_OUT or ABORTED continues from the
//! state that did not succeed, appending to the same history.
//!
//! How it works: when an execution ends unsuccessfully, [`Run::park_root`] keeps its root
//! thread (current state, raw input, variables) in the machine, with the fan-out of a
//! Parallel/Map state it stood in (which branches/iterations succeeded and their results).
//! [`redrive`] writes `ExecutionRedriven {redriveCount}`, puts that thread back and enters
//! its state again with the same input; a Parallel/Map re-runs only the branches and
//! iterations that did not succeed. A failed or aborted branch/iteration runs again from its
//! first state (AWS does not document a finer checkpoint inside an iteration).
//!
//! Decisions where AWS is silent or unverified (documented in README): `ExecutionRedriven`
//! follows the execution's last event (`previousEventId`); the execution's `TimeoutSeconds`
//! counts again from the redrive; a Task re-run gets a new task (a `.sync` child execution is
//! started anew, under a new derived name).
//!
//! Owns: the redrive preconditions ([`Execution::redrive_refusal`]), `clientToken`
//! idempotency (the last 10 tokens, 15 minutes) and the redrive itself. Must not: read a
//! clock or a store — now, the redrivable window and the token come from the caller.

use crate::history::Details;
use crate::machine::{Phase, EXECUTION_TIMER_OWNER};
use crate::run::{Run, Step, HISTORY_LIMIT};
use crate::{finish, Ctx, Decision, Effect, EventType, Execution, ExecutionStatus, Outcome};
use serde::{Deserialize, Serialize};

/// AWS: "The execution event history count is less than 24,999".
const REDRIVE_EVENT_LIMIT: u64 = 24_999;
/// AWS: an execution may be open for at most one year (redrives included).
const MAX_OPEN_MS: i64 = 365 * 24 * 3600 * 1000;
/// AWS answers idempotently for the last 10 client tokens, for 15 minutes.
const TOKENS_KEPT: usize = 10;
const TOKEN_VALID_MS: i64 = 15 * 60 * 1000;

/// A client token of an applied redrive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedriveToken {
    pub token: String,
    pub redrive_date_ms: i64,
}

/// What a redrive request did.
#[derive(Debug)]
pub enum Redrive {
    /// Redriven now (`decision` holds `ExecutionRedriven` and the re-run's first events).
    Applied { decision: Decision, date_ms: i64 },
    /// The client token names an earlier redrive: nothing changes, its date is the answer.
    Repeated { date_ms: i64 },
    /// `ExecutionNotRedrivable`, with AWS's `redriveStatusReason` text.
    Refused(&'static str),
}

impl Execution {
    /// Why this execution cannot be redriven now (AWS's `redriveStatusReason` texts), or
    /// `None` if it can. `window_ms`: how long after its stop an execution stays redrivable
    /// (`None`: no limit).
    pub fn redrive_refusal(&self, now_ms: i64, window_ms: Option<i64>) -> Option<&'static str> {
        match self.status {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {
                return Some("Execution is RUNNING and cannot be redriven")
            }
            ExecutionStatus::Succeeded => {
                return Some("Execution is SUCCEEDED and cannot be redriven")
            }
            _ => {}
        }
        if self.machine.parked.is_none() {
            // Ended before this engine kept what a redrive needs.
            return Some("Execution was started before the launch of RedriveExecution");
        }
        if self.next_event_id.saturating_sub(1) >= REDRIVE_EVENT_LIMIT {
            return Some("Execution history event limit exceeded");
        }
        if now_ms.saturating_sub(self.info.start_time_ms) >= MAX_OPEN_MS {
            return Some("Execution has exceeded the max execution time");
        }
        let stopped = self.stop_time_ms.unwrap_or(now_ms);
        if window_ms.is_some_and(|w| now_ms.saturating_sub(stopped) >= w) {
            return Some("Execution redrivable period exceeded");
        }
        None
    }
}

/// RedriveExecution: see the module documentation.
pub fn redrive(
    execution: &mut Execution,
    definition: &cairn_asl::StateMachine,
    client_token: Option<&str>,
    window_ms: Option<i64>,
    ctx: &Ctx,
) -> Redrive {
    if let Some(token) = client_token {
        if let Some(t) = execution.redrive_tokens.iter().find(|t| {
            t.token == token && ctx.now_ms.saturating_sub(t.redrive_date_ms) <= TOKEN_VALID_MS
        }) {
            return Redrive::Repeated {
                date_ms: t.redrive_date_ms,
            };
        }
    }
    if let Some(reason) = execution.redrive_refusal(ctx.now_ms, window_ms) {
        return Redrive::Refused(reason);
    }
    let Some(mut root) = execution.machine.parked.take().map(|b| *b) else {
        return Redrive::Refused("Execution was started before the launch of RedriveExecution");
    };
    execution.info.redrive_count += 1;
    execution.info.redrive_time_ms = Some(ctx.now_ms);
    execution.status = ExecutionStatus::Running;
    execution.output = None;
    execution.error = None;
    execution.cause = None;
    execution.stop_time_ms = None;
    if let Some(token) = client_token {
        execution.redrive_tokens.push(RedriveToken {
            token: token.to_string(),
            redrive_date_ms: ctx.now_ms,
        });
        let excess = execution.redrive_tokens.len().saturating_sub(TOKENS_KEPT);
        execution.redrive_tokens.drain(..excess);
    }
    let mut machine = std::mem::take(&mut execution.machine);
    let (out, end) = {
        let mut run = Run::new(
            definition,
            &execution.info,
            ctx,
            &mut machine,
            execution.next_event_id,
        );
        let last = run.out.next_id - 1;
        let redriven = run.out.emit(
            last,
            EventType::ExecutionRedriven,
            Details::new()
                .num("redriveCount", u64::from(execution.info.redrive_count))
                .done(),
        );
        root.source = redriven;
        root.phase = Phase::Enter;
        let tid = run.m.add_thread(root);
        if let Some(secs) = definition.timeout_seconds {
            let fire_at_ms = ctx
                .now_ms
                .saturating_add((secs as i64).saturating_mul(1000));
            let timer = run.m.new_timer(EXECUTION_TIMER_OWNER, fire_at_ms);
            run.effect(Effect::StartTimer { timer, fire_at_ms });
        }
        run.settle(tid, Step::Enter);
        run.finish_step();
        (run.out, run.end)
    };
    execution.machine = machine;
    let decision = finish(execution, out, end, Outcome::Applied, ctx);
    Redrive::Applied {
        decision,
        date_ms: ctx.now_ms,
    }
}

impl Run<'_> {
    /// Keep the root thread for a redrive (the execution is ending unsuccessfully). A
    /// fan-out still running (StopExecution, timeout) keeps what already succeeded.
    pub(crate) fn park_root(&mut self) {
        let Some(root) = self.m.threads.iter().flatten().find(|t| t.parent.is_none()) else {
            return;
        };
        let mut root = root.clone();
        match std::mem::replace(&mut root.phase, Phase::Enter) {
            Phase::Fanout(mut fan) => {
                fan.children.iter_mut().for_each(|c| *c = None);
                fan.running = 0;
                root.kept = Some(fan);
            }
            // Stopped (or timed out) while its Map Run ran: a redrive redrives that run.
            Phase::MapRun(wait) => root.kept_map_run = Some(Box::new(wait.spec)),
            _ => {}
        }
        self.m.parked = Some(Box::new(root));
    }
}

// The history limit a redrive appends under is the execution's own.
const _: () = assert!(REDRIVE_EVENT_LIMIT < HISTORY_LIMIT);
