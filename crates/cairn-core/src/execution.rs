//! The execution as a whole: `ExecutionStarted`, its end (`ExecutionSucceeded`/`Failed`/
//! `Aborted`/`TimedOut`), StopExecution, the history limit and timer dispatch.
//!
//! Everything here acts on the root or on the whole machine; per-state behaviour stays in
//! the state modules.

use crate::errors::Failure;
use crate::history::{json_text, Details};
use crate::machine::{Phase, Thread, EXECUTION_TIMER_OWNER};
use crate::run::{End, Run, Step, HISTORY_LIMIT};
use crate::{Effect, EventType};
use serde_json::Value;

impl Run<'_> {
    pub fn start_root(&mut self, input: Value) {
        let d = Details::new()
            .input(self.info.input_text.clone())
            .str("roleArn", self.info.role_arn.as_str())
            .opt_str(
                "stateMachineAliasArn",
                self.info.state_machine_alias_arn.as_deref(),
            )
            .opt_str(
                "stateMachineVersionArn",
                self.info.state_machine_version_arn.as_deref(),
            );
        self.out.emit(0, EventType::ExecutionStarted, d.done());
        let start = self.def.index.get(&self.def.start_at).copied().unwrap_or(0) as u32;
        let root = self
            .m
            .add_thread(Thread::new(None, Vec::new(), start, 0, input));
        self.first_input_text = Some(self.info.input_text.clone());
        if let Some(secs) = self.def.timeout_seconds {
            let fire_at_ms = self
                .info
                .start_time_ms
                .saturating_add((secs as i64).saturating_mul(1000));
            let timer = self.m.new_timer(EXECUTION_TIMER_OWNER, fire_at_ms);
            self.effect(Effect::StartTimer { timer, fire_at_ms });
        }
        self.settle(root, Step::Enter);
    }

    pub(crate) fn end_execution(&mut self, root: u32, r: Result<Value, Failure>) {
        let prev = self.m.thread(root).source;
        match r {
            Ok(v) => {
                let text = json_text(&v);
                self.out.emit(
                    prev,
                    EventType::ExecutionSucceeded,
                    Details::new().output(text.clone()).done(),
                );
                self.end = Some(End::Succeeded(text));
            }
            Err(f) => {
                self.out.emit(
                    prev,
                    EventType::ExecutionFailed,
                    Details::new()
                        .error_cause(f.error.as_deref(), f.cause.as_deref())
                        .done(),
                );
                self.end = Some(End::Failed(f));
            }
        }
        self.close_everything();
    }

    /// End of a step: an execution whose history is full fails (error name unverified).
    pub fn finish_step(&mut self) {
        if self.history_full && self.end.is_none() {
            let f = Failure::runtime_raw(format!(
                "The execution reached the maximum number of history events ({HISTORY_LIMIT})."
            ));
            self.out.emit(
                self.out.next_id - 1,
                EventType::ExecutionFailed,
                Details::new()
                    .error_cause(f.error.as_deref(), f.cause.as_deref())
                    .done(),
            );
            self.end = Some(End::Failed(f));
            self.close_everything();
        }
    }

    /// Withdraw every open task and timer and drop all threads. An execution that did not
    /// succeed parks its root thread first: a redrive resumes from there.
    pub fn close_everything(&mut self) {
        if !matches!(self.end, Some(End::Succeeded(_)) | None) {
            self.park_root();
        }
        let tasks: Vec<u64> = self.m.tasks.keys().copied().collect();
        for task in tasks {
            self.effect(Effect::CancelTask { task });
        }
        self.m.tasks.clear();
        let timers: Vec<u64> = self.m.timers.keys().copied().collect();
        for timer in timers {
            self.effect(Effect::CancelTimer { timer });
        }
        self.m.timers.clear();
        self.m.threads.clear();
        self.m.free.clear();
    }

    /// StopExecution: `ExecutionAborted` (previousEventId 0), everything withdrawn.
    pub fn stop(&mut self, error: Option<&str>, cause: Option<&str>) {
        self.out.emit(
            0,
            EventType::ExecutionAborted,
            Details::new().error_cause(error, cause).done(),
        );
        self.end = Some(End::Aborted {
            error: error.map(str::to_string),
            cause: cause.map(str::to_string),
        });
        self.close_everything();
    }

    /// A timer fired; stale timers (cancelled, or of a finished state) are ignored.
    pub fn timer_fired(&mut self, timer: u64) {
        let Some(owner) = self.m.timers.remove(&timer).map(|t| t.owner) else {
            return;
        };
        if owner == EXECUTION_TIMER_OWNER {
            self.out.emit(
                0,
                EventType::ExecutionTimedOut,
                Details::new()
                    .error_cause(Some(crate::errors::STATES_TIMEOUT), None)
                    .done(),
            );
            self.end = Some(End::TimedOut);
            self.close_everything();
            return;
        }
        if !self.m.alive(owner) {
            return;
        }
        let step = match &self.m.thread(owner).phase {
            Phase::Wait { timer: t } if *t == timer => self.wait_over(owner),
            Phase::Backoff { timer: t } if *t == timer => self.retry_work(owner),
            Phase::Task(run) if run.timeout_timer == Some(timer) => {
                self.task_timed_out(owner, false)
            }
            Phase::Task(run) if run.heartbeat_timer == Some(timer) => {
                self.task_timed_out(owner, true)
            }
            _ => return,
        };
        self.settle(owner, step);
    }
}
