//! The driver: runs threads until they wait, propagates finished branches/iterations to
//! their parents, and dispatches failures to Retry and Catch.
//!
//! One `Run` lives for one `start`/`step` call. Per-state behaviour is in the state modules
//! (`pass.rs`, `task.rs`, `parallel.rs`, `map.rs`, …) and execution-wide events in
//! `execution.rs`, each adding methods to `Run`. Invariant: state events are appended only
//! through `emit_in` (thread events, which move the thread's `previousEventId` source) or
//! `emit_at` (events with an explicit predecessor); only `execution.rs` writes `Execution*`.

use crate::context::ContextParts;
use crate::dataflow::{result_path, Eval};
use crate::errors::{Failure, PAYLOAD_LIMIT, STATES_QUERY_EVALUATION};
use crate::history::{json_text, Details, Emitter};
use crate::jsonata::{Extra, Query, QueryFailure};
use crate::language::{self, Language};
use crate::machine::{scope_at, state_of, Machine, Phase};
use crate::{catch, retry, variables};
use crate::{Ctx, Effect, EventType, ExecutionInfo};
use cairn_asl::{State, StateKind, StateMachine, Transition};
use serde_json::{Map, Value};
use std::cell::Cell;

/// How the execution ended during this step.
#[derive(Debug)]
pub(crate) enum End {
    Succeeded(String),
    Failed(Failure),
    TimedOut,
    /// StopExecution's error and cause, which DescribeExecution reports.
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// What a thread does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Enter the thread's current state.
    Enter,
    /// Waiting for an input.
    Blocked,
    /// The thread's flow ended with this output.
    End(Value),
    /// The current state failed.
    Fail(Failure),
}

/// Why a field of a state could not be evaluated, before `Run::fault` turns it into the
/// state's [`Failure`] (writing `EvaluationFailed` for JSONata failures).
#[derive(Debug)]
pub(crate) enum Fault {
    /// A JSONPath path or template failed (AWS's message, `States.Runtime` or intrinsic).
    Path(cairn_jsonpath::PathError),
    /// A JSONata field failed: `States.QueryEvaluationError`.
    Query(QueryFailure),
    /// A `States.Runtime` failure of the state with this detail.
    Runtime(String),
    /// Already a failure.
    Failed(Failure),
}

impl From<cairn_jsonpath::PathError> for Fault {
    fn from(e: cairn_jsonpath::PathError) -> Self {
        Fault::Path(e)
    }
}

impl From<QueryFailure> for Fault {
    fn from(e: QueryFailure) -> Self {
        Fault::Query(e)
    }
}

impl From<Failure> for Fault {
    fn from(f: Failure) -> Self {
        Fault::Failed(f)
    }
}

/// Where a state goes after it exits.
pub(crate) enum Next<'d> {
    /// The state's own `Next`/`End`.
    Own,
    Named(&'d str),
}

pub(crate) struct Run<'a> {
    pub def: &'a StateMachine,
    pub info: &'a ExecutionInfo,
    pub ctx: &'a Ctx,
    pub m: &'a mut Machine,
    pub out: Emitter,
    pub entropy: Cell<u64>,
    pub end: Option<End>,
    /// The first state's input is the execution input text as sent (observed: AWS keeps
    /// the caller's formatting there), not a re-serialisation.
    pub(crate) first_input_text: Option<String>,
    /// The history reached its limit; the execution fails when the step ends.
    pub(crate) history_full: bool,
}

/// AWS's history limit per execution (ASL.md §12). It also bounds a step: a loop of
/// states that never waits ends here instead of spinning forever.
pub(crate) const HISTORY_LIMIT: u64 = 25_000;

impl<'a> Run<'a> {
    pub fn new(
        def: &'a StateMachine,
        info: &'a ExecutionInfo,
        ctx: &'a Ctx,
        m: &'a mut Machine,
        next_id: u64,
    ) -> Self {
        Run {
            def,
            info,
            ctx,
            m,
            out: Emitter::new(next_id, ctx.now_ms),
            entropy: Cell::new(retry::mix(ctx.entropy ^ next_id)),
            end: None,
            first_input_text: None,
            history_full: false,
        }
    }

    // ----------------------------------------------------------------- emission ----

    /// Emit an event of a thread: `previousEventId` = the thread's source, which then moves.
    pub fn emit_in(&mut self, tid: u32, ty: EventType, details: Option<Map<String, Value>>) -> u64 {
        let t = self.m.thread_mut(tid);
        if t.hidden {
            return t.source;
        }
        let id = self.out.emit(t.source, ty, details);
        t.source = id;
        id
    }

    /// Emit an event with an explicit predecessor (does not move any source). Hidden
    /// threads (Distributed Map children) write nothing.
    pub fn emit_at(
        &mut self,
        tid: u32,
        prev: u64,
        ty: EventType,
        details: Option<Map<String, Value>>,
    ) -> u64 {
        if self.m.thread(tid).hidden {
            return prev;
        }
        self.out.emit(prev, ty, details)
    }

    pub fn effect(&mut self, e: Effect) {
        self.out.effects.push(e);
    }

    pub fn start_timer(&mut self, tid: u32, delay_ms: i64) -> u64 {
        let fire_at_ms = self.ctx.now_ms.saturating_add(delay_ms.max(0));
        let timer = self.m.new_timer(tid, fire_at_ms);
        self.effect(Effect::StartTimer { timer, fire_at_ms });
        timer
    }

    pub fn cancel_timer(&mut self, timer: u64) {
        if self.m.timers.remove(&timer).is_some() {
            self.effect(Effect::CancelTimer { timer });
        }
    }

    // --------------------------------------------------------------- evaluation ----

    pub fn state(&self, tid: u32) -> &'a State {
        state_of(self.def, self.m.thread(tid))
    }

    /// The context object's parts for a thread's current state.
    fn context_parts<'s>(
        &'s self,
        tid: u32,
        st: &'s State,
        token: Option<&'s str>,
        item: Option<(u32, &'s Value)>,
    ) -> ContextParts<'s> {
        let t = self.m.thread(tid);
        let retry_count = matches!(
            st.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        )
        .then_some(t.retry_count);
        ContextParts {
            info: self.info,
            state_name: &st.name,
            entered_ms: t.entered_ms,
            retry_count,
            task_token: token,
            map_item: item,
        }
    }

    /// The evaluation scope of a thread's current state (JSONPath).
    pub fn eval<'s>(
        &'s self,
        tid: u32,
        st: &'s State,
        token: Option<&'s str>,
        item: Option<(u32, &'s Value)>,
    ) -> Eval<'s> {
        let parts = self.context_parts(tid, st, token, item);
        Eval::new(&*self.m, tid, parts, &self.entropy)
    }

    /// The evaluation scope of a thread's current state (JSONata). `$now()` is the time of
    /// the step, which every event of the step carries, so a replay sees it again.
    pub fn query<'s>(
        &'s self,
        tid: u32,
        st: &'s State,
        token: Option<&'s str>,
        item: Option<(u32, &'s Value)>,
    ) -> Query<'s> {
        let parts = self.context_parts(tid, st, token, item);
        Query::new(&*self.m, tid, parts, &self.entropy, self.ctx.now_ms)
    }

    /// A JSONata field failed: write `EvaluationFailed` and fail the state with
    /// `States.QueryEvaluationError` (same error and cause in both, HISTORY.md §4.2).
    ///
    /// On entry the event follows what the Entered event followed (observed for Pass,
    /// Task and Map), except in a Wait state, where it follows the Entered event (observed);
    /// later in the state's life it follows the thread's last event.
    pub fn query_failure(&mut self, tid: u32, q: QueryFailure) -> Failure {
        let st = self.state(tid);
        let t = self.m.thread(tid);
        let failure = Failure::query(&st.name, t.entered_id, &q.cause);
        let on_entry = t.source == t.entered_id && !matches!(st.kind, StateKind::Wait(_));
        let prev = if on_entry { t.entered_prev } else { t.source };
        let id = self.emit_at(
            tid,
            prev,
            EventType::EvaluationFailed,
            Details::new()
                .str("error", STATES_QUERY_EVALUATION)
                .opt_str("cause", failure.cause.as_deref())
                .opt_str("location", q.location.as_deref())
                .str("state", st.name.as_str())
                .done(),
        );
        self.m.thread_mut(tid).source = id;
        failure
    }

    /// The failure of a state whose field could not be evaluated.
    pub fn fault(&mut self, tid: u32, fault: Fault) -> Failure {
        match fault {
            Fault::Path(e) => self.path_failure(tid, e),
            Fault::Query(q) => self.query_failure(tid, q),
            Fault::Runtime(detail) => self.runtime_failure(tid, &detail),
            Fault::Failed(f) => f,
        }
    }

    pub fn path_failure(&self, tid: u32, e: cairn_jsonpath::PathError) -> Failure {
        let t = self.m.thread(tid);
        Failure::from_path_error(&self.state(tid).name, t.entered_id, e)
    }

    pub fn runtime_failure(&self, tid: u32, detail: &str) -> Failure {
        let t = self.m.thread(tid);
        Failure::runtime(&self.state(tid).name, t.entered_id, detail)
    }

    // ------------------------------------------------------------------ threads ----

    /// Run a thread until it waits or its flow ends.
    pub fn continue_thread(&mut self, tid: u32, mut step: Step) -> Option<Result<Value, Failure>> {
        loop {
            step = match step {
                Step::Enter => self.enter_state(tid),
                Step::Blocked => return None,
                Step::End(v) => return Some(Ok(v)),
                Step::Fail(f) => match self.on_failure(tid, f) {
                    Step::Fail(f) => return Some(Err(f)),
                    other => other,
                },
            };
        }
    }

    /// Run a thread and hand finished flows up to their parents, up to the root.
    pub fn settle(&mut self, tid: u32, step: Step) {
        let mut tid = tid;
        let mut result = self.continue_thread(tid, step);
        while let Some(r) = result.take() {
            let Some((parent, slot)) = self.m.thread(tid).parent else {
                self.end_execution(tid, r);
                return;
            };
            let step = self.child_finished(parent, slot, tid, r);
            result = self.continue_thread(parent, step);
            tid = parent;
        }
    }

    fn child_finished(
        &mut self,
        parent: u32,
        slot: u32,
        child: u32,
        r: Result<Value, Failure>,
    ) -> Step {
        match &self.state(parent).kind {
            StateKind::Parallel(_) => self
                .branch_finished(parent, slot, child, r)
                .unwrap_or(Step::Blocked),
            StateKind::Map(_) => match self.iteration_finished(parent, slot, child, r) {
                Some(step) => step,
                None => self.pump_map(parent),
            },
            _ => unreachable!("children belong to Parallel or Map states"),
        }
    }

    fn enter_state(&mut self, tid: u32) -> Step {
        if self.out.next_id + 2 > HISTORY_LIMIT {
            self.history_full = true;
            return Step::Blocked;
        }
        let st = self.state(tid);
        let ty = entered_type(&st.kind);
        let input_text = match self.first_input_text.take() {
            Some(text) => text,
            None => json_text(&self.m.thread(tid).input),
        };
        let entered_prev = self.m.thread(tid).source;
        let id = self.emit_in(
            tid,
            ty,
            Details::new()
                .str("name", st.name.as_str())
                .input(input_text)
                .done(),
        );
        {
            let t = self.m.thread_mut(tid);
            t.entered_id = id;
            t.entered_prev = entered_prev;
            t.entered_ms = self.ctx.now_ms;
            t.retry_count = 0;
            t.attempts.clear();
        }
        match &st.kind {
            StateKind::Pass(p) => self.run_pass(tid, st, p),
            StateKind::Choice(c) => self.run_choice(tid, st, c),
            StateKind::Wait(w) => self.run_wait(tid, st, w),
            StateKind::Succeed => self.run_succeed(tid, st),
            StateKind::Fail(f) => self.run_fail(tid, st, f),
            StateKind::Task(t) => self.start_task(tid, st, t),
            StateKind::Parallel(_) => self.start_parallel(tid, st),
            StateKind::Map(_) => self.start_map(tid, st),
        }
    }

    /// Emit the state's Exited event, apply its assignments and move on.
    pub fn exit_state(
        &mut self,
        tid: u32,
        output: Value,
        assigned: Option<Map<String, Value>>,
        next: Next<'a>,
    ) -> Step {
        let st = self.state(tid);
        let text = json_text(&output);
        if text.len() > PAYLOAD_LIMIT {
            return Step::Fail(Failure::data_limit(&st.name));
        }
        if crate::limits::too_deep(&text) {
            let detail = crate::limits::too_deep_message("The state's output");
            return Step::Fail(self.runtime_failure(tid, &detail));
        }
        if let Some(a) = &assigned {
            if let Some(what) = variables::over_limit(self.m, a) {
                return Step::Fail(Failure::variable_limit(&st.name, what));
            }
            variables::apply(self.m, tid, a);
        }
        self.emit_in(
            tid,
            exited_type(&st.kind),
            Details::new()
                .str("name", st.name.as_str())
                .output(text)
                .assigned(assigned.as_ref())
                .done(),
        );
        self.transition(tid, st, output, next)
    }

    pub fn transition(&mut self, tid: u32, st: &'a State, output: Value, next: Next<'a>) -> Step {
        let target = match next {
            Next::Named(n) => Some(n),
            Next::Own => match &st.transition {
                Some(Transition::Next(n)) => Some(n.as_str()),
                _ => None,
            },
        };
        match target {
            None => Step::End(output),
            Some(name) => {
                let t = self.m.thread(tid);
                let Some(&idx) = scope_at(self.def, &t.scope).index.get(name) else {
                    // Validation rules this out; never panic on a definition that slipped by.
                    return Step::Fail(
                        self.runtime_failure(tid, &format!("Missing 'Next' target: {name}")),
                    );
                };
                let idx = idx as u32;
                let t = self.m.thread_mut(tid);
                t.state = idx;
                t.input = output;
                t.phase = Phase::Enter;
                t.effective = Value::Null;
                Step::Enter
            }
        }
    }

    /// The common tail of Task, Parallel and Map: ResultSelector, Assign, ResultPath,
    /// OutputPath, then exit.
    pub fn complete_with_result(&mut self, tid: u32, result: Value) -> Step {
        let st = self.state(tid);
        // A catcher of this state needs the raw input if the data flow below fails, and so
        // does a retrier (a query or intrinsic failure is retried by running the work again).
        let raw = if handles_failures(&st.kind) {
            self.m.thread(tid).input.clone()
        } else {
            std::mem::take(&mut self.m.thread_mut(tid).input)
        };
        if language::for_state(st) == Language::Jsonata {
            let outcome = self.query(tid, st, None, None).assign_and_output(
                st.assign.as_ref(),
                st.output.as_ref(),
                &raw,
                Extra::Result(&result),
            );
            return match outcome {
                Ok((out, assigned)) => {
                    self.m.thread_mut(tid).phase = Phase::Enter;
                    self.exit_state(tid, out.unwrap_or(result), assigned, Next::Own)
                }
                Err(q) => Step::Fail(self.query_failure(tid, q)),
            };
        }
        let outcome = {
            let ev = self.eval(tid, st, None, None);
            (|| {
                let assigned = match &st.assign {
                    Some(a) => Some(ev.assign(a, &result)?),
                    None => None,
                };
                let selected = match &st.result_selector {
                    Some(sel) => ev.template(sel, &result, "ResultSelector")?,
                    None => result,
                };
                let merged = result_path(st.result_path.as_deref(), raw, selected)?;
                let out = ev.output_path(st.output_path.as_deref(), merged)?;
                Ok((out, assigned))
            })()
        };
        match outcome {
            Ok((out, assigned)) => {
                self.m.thread_mut(tid).phase = Phase::Enter;
                self.exit_state(tid, out, assigned, Next::Own)
            }
            Err(e) => Step::Fail(self.path_failure(tid, e)),
        }
    }

    /// Retry, then Catch, else hand the failure on.
    fn on_failure(&mut self, tid: u32, failure: Failure) -> Step {
        let st = self.state(tid);
        let (retriers, catchers, failed_type) = match &st.kind {
            StateKind::Task(t) => (&t.retry[..], &t.catch[..], None),
            StateKind::Parallel(p) => (
                &p.retry[..],
                &p.catch[..],
                Some(EventType::ParallelStateFailed),
            ),
            StateKind::Map(m) => (&m.retry[..], &m.catch[..], Some(EventType::MapStateFailed)),
            _ => (&[][..], &[][..], None),
        };
        // Retry and Catch run the whole state again; only an unhandled failure keeps the
        // fan-out's successes for a redrive.
        let kept = self.m.thread_mut(tid).kept.take();
        let kept_map_run = self.m.thread_mut(tid).kept_map_run.take();
        let seed = retry::mix(self.ctx.entropy ^ self.out.next_id.rotate_left(17));
        let delay = {
            let t = self.m.thread_mut(tid);
            retry::next_delay_ms(retriers, &mut t.attempts, &failure, seed)
        };
        if let Some(delay) = delay {
            self.m.thread_mut(tid).retry_count += 1;
            let timer = self.start_timer(tid, delay);
            self.m.thread_mut(tid).phase = Phase::Backoff { timer };
            return Step::Blocked;
        }
        if failure.from_children {
            if let Some(ty) = failed_type {
                self.emit_in(tid, ty, None);
            }
        }
        let Some(catcher) = catch::find(catchers, &failure) else {
            self.m.thread_mut(tid).kept = kept;
            self.m.thread_mut(tid).kept_map_run = kept_map_run;
            return Step::Fail(failure.propagated());
        };
        let raw = std::mem::take(&mut self.m.thread_mut(tid).input);
        if language::for_state(st) == Language::Jsonata {
            // Output defaults to `$states.errorOutput`; the state's own Output and Assign
            // are skipped (ASL.md §9.3).
            let error_output = failure.error_output();
            let outcome = self.query(tid, st, None, None).assign_and_output(
                catcher.assign.as_ref(),
                catcher.output.as_ref(),
                &raw,
                Extra::ErrorOutput(&error_output),
            );
            return match outcome {
                Ok((out, assigned)) => {
                    self.m.thread_mut(tid).phase = Phase::Enter;
                    let out = out.unwrap_or(error_output);
                    self.exit_state(tid, out, assigned, Next::Named(&catcher.next))
                }
                Err(q) => Step::Fail(self.query_failure(tid, q)),
            };
        }
        let outcome = {
            let ev = self.eval(tid, st, None, None);
            (|| {
                let assigned = match &catcher.assign {
                    Some(a) => Some(ev.assign(a, &failure.error_output())?),
                    None => None,
                };
                Ok((catch::output(catcher, &failure, raw)?, assigned))
            })()
        };
        match outcome {
            Ok((out, assigned)) => {
                self.m.thread_mut(tid).phase = Phase::Enter;
                self.exit_state(tid, out, assigned, Next::Named(&catcher.next))
            }
            Err(e) => Step::Fail(self.path_failure(tid, e)),
        }
    }

    /// A retry back-off ended: run the state's work again with the same effective input.
    pub(crate) fn retry_work(&mut self, tid: u32) -> Step {
        match &self.state(tid).kind {
            StateKind::Task(_) => self.schedule_task(tid),
            StateKind::Parallel(_) => self.fan_out_parallel(tid),
            StateKind::Map(_) => self.fan_out_map(tid),
            _ => Step::Blocked,
        }
    }
}

impl Failure {
    /// The failure as seen by the enclosing state (it did not come from *its* children).
    fn propagated(mut self) -> Self {
        self.from_children = false;
        self
    }
}

fn handles_failures(kind: &StateKind) -> bool {
    match kind {
        StateKind::Task(t) => !t.catch.is_empty() || !t.retry.is_empty(),
        StateKind::Parallel(p) => !p.catch.is_empty() || !p.retry.is_empty(),
        StateKind::Map(m) => !m.catch.is_empty() || !m.retry.is_empty(),
        _ => false,
    }
}

pub(crate) fn entered_type(kind: &StateKind) -> EventType {
    match kind {
        StateKind::Pass(_) => EventType::PassStateEntered,
        StateKind::Task(_) => EventType::TaskStateEntered,
        StateKind::Choice(_) => EventType::ChoiceStateEntered,
        StateKind::Wait(_) => EventType::WaitStateEntered,
        StateKind::Succeed => EventType::SucceedStateEntered,
        StateKind::Fail(_) => EventType::FailStateEntered,
        StateKind::Parallel(_) => EventType::ParallelStateEntered,
        StateKind::Map(_) => EventType::MapStateEntered,
    }
}

pub(crate) fn exited_type(kind: &StateKind) -> EventType {
    match kind {
        StateKind::Pass(_) => EventType::PassStateExited,
        StateKind::Task(_) => EventType::TaskStateExited,
        StateKind::Choice(_) => EventType::ChoiceStateExited,
        StateKind::Wait(_) => EventType::WaitStateExited,
        StateKind::Succeed => EventType::SucceedStateExited,
        StateKind::Parallel(_) => EventType::ParallelStateExited,
        StateKind::Map(_) => EventType::MapStateExited,
        StateKind::Fail(_) => EventType::FailStateEntered,
    }
}

/// The `…StateAborted` event of a state kind, if it has one.
pub(crate) fn aborted_type(kind: &StateKind) -> Option<EventType> {
    match kind {
        StateKind::Task(_) => Some(EventType::TaskStateAborted),
        StateKind::Wait(_) => Some(EventType::WaitStateAborted),
        StateKind::Parallel(_) => Some(EventType::ParallelStateAborted),
        StateKind::Map(_) => Some(EventType::MapStateAborted),
        _ => None,
    }
}
