//! Parallel states (ASL.md §11.1, HISTORY.md §4.6): branches as child threads, results in
//! Branches order, a failing branch aborts its siblings; and aborting any running thread.
//! In JSONata mode every branch gets `Arguments` (default: the state input).

use crate::errors::Failure;
use crate::jsonata::Extra;
use crate::language::{self, Language};
use crate::machine::{Fanout, Phase, Thread};
use crate::run::{aborted_type, Run, Step};
use crate::{Effect, EventType};
use cairn_asl::{State, StateKind};
use serde_json::Value;

impl<'a> Run<'a> {
    pub(crate) fn start_parallel(&mut self, tid: u32, _st: &'a State) -> Step {
        self.fan_out_parallel(tid)
    }

    /// `ParallelStateStarted` and every branch started (also on retry).
    pub(crate) fn fan_out_parallel(&mut self, tid: u32) -> Step {
        let st = self.state(tid);
        let StateKind::Parallel(p) = &st.kind else {
            unreachable!()
        };
        // InputPath and Parameters, evaluated for every attempt (`$$.State.RetryCount`).
        if language::for_state(st) == Language::Jsonata {
            let outcome = {
                let raw = &self.m.thread(tid).input;
                match &st.arguments {
                    Some(a) => {
                        self.query(tid, st, None, None)
                            .template(a, raw, Extra::None, "Arguments")
                    }
                    None => Ok(raw.clone()),
                }
            };
            match outcome {
                Ok(effective) => self.m.thread_mut(tid).effective = effective,
                Err(q) => {
                    // The state fails before its branches start (unverified: like a Map
                    // whose Items fail, ParallelStateFailed follows EvaluationFailed).
                    let mut f = self.query_failure(tid, q);
                    f.from_children = true;
                    return Step::Fail(f);
                }
            }
        } else {
            let outcome = {
                let raw = self.m.thread(tid).input.clone();
                let ev = self.eval(tid, st, None, None);
                ev.input_path(st.input_path.as_deref(), raw)
                    .and_then(|eff| match &st.parameters {
                        Some(p) => ev.template(p, &eff, "Parameters"),
                        None => Ok(eff),
                    })
            };
            match outcome {
                Ok(effective) => self.m.thread_mut(tid).effective = effective,
                Err(e) => return Step::Fail(self.path_failure(tid, e)),
            }
        }
        let started = self.emit_in(tid, EventType::ParallelStateStarted, None);
        let n = p.branches.len();
        // A redrive keeps the branches that succeeded before (see `redrive.rs`).
        let (done, kept_results) = match self.m.thread_mut(tid).kept.take() {
            Some(k) if k.done.len() == n && k.results.len() == n => (k.done, k.results),
            _ => (vec![false; n], vec![Value::Null; n]),
        };
        let to_run = done.iter().filter(|d| !**d).count();
        let t = self.m.thread(tid);
        let (scope, state, hidden) = (t.scope.clone(), t.state, t.hidden);
        let effective = t.effective.clone();
        self.m.thread_mut(tid).phase = Phase::Fanout(Box::new(Fanout {
            is_map: false,
            distributed: false,
            children: vec![None; n],
            results: kept_results,
            // Every branch counts as running from the start, so that a branch finishing
            // before its siblings are created does not end the state.
            running: to_run as u32,
            next: n as u32,
            total: n as u32,
            limit: n as u32,
            items: Vec::new(),
            cursor: started,
            last_done: started,
            run_started: 0,
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            done,
        }));
        if to_run == 0 && n > 0 {
            // Every branch succeeded in an earlier attempt: the state succeeds at once.
            let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                unreachable!()
            };
            let results = std::mem::take(&mut f.results);
            self.emit_at(tid, started, EventType::ParallelStateSucceeded, None);
            return self.complete_with_result(tid, Value::Array(results));
        }
        for (i, branch) in p.branches.iter().enumerate() {
            if matches!(&self.m.thread(tid).phase, Phase::Fanout(f) if f.done[i]) {
                continue;
            }
            let mut child_scope = scope.clone();
            child_scope.push((state, i as u32));
            let start = branch.index.get(&branch.start_at).copied().unwrap_or(0) as u32;
            let mut child = Thread::new(
                Some((tid, i as u32)),
                child_scope,
                start,
                started,
                effective.clone(),
            );
            child.hidden = hidden;
            let cid = self.m.add_thread(child);
            if let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase {
                f.children[i] = Some(cid);
            }
            if let Some(r) = self.continue_thread(cid, Step::Enter) {
                if let Some(step) = self.branch_finished(tid, i as u32, cid, r) {
                    return step;
                }
            }
        }
        Step::Blocked
    }

    /// A branch ended. `Some` when the Parallel state is decided.
    pub(crate) fn branch_finished(
        &mut self,
        tid: u32,
        slot: u32,
        child: u32,
        r: Result<Value, Failure>,
    ) -> Option<Step> {
        let child_source = self.m.thread(child).source;
        match r {
            Ok(v) => {
                self.m.remove_thread(child);
                let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                    unreachable!()
                };
                f.children[slot as usize] = None;
                f.running -= 1;
                f.results[slot as usize] = v;
                f.done[slot as usize] = true;
                f.last_done = f.last_done.max(child_source);
                if f.running > 0 {
                    return None;
                }
                let last = f.last_done;
                let results = std::mem::take(&mut f.results);
                self.emit_at(tid, last, EventType::ParallelStateSucceeded, None);
                self.m.thread_mut(tid).source = last;
                Some(self.complete_with_result(tid, Value::Array(results)))
            }
            Err(f) => Some(self.children_failed(tid, slot, child, f)),
        }
    }

    /// A branch or iteration failed: abort the failed child's state and every sibling,
    /// then fail the Parallel/Map state with the child's error.
    pub(crate) fn children_failed(
        &mut self,
        tid: u32,
        slot: u32,
        child: u32,
        mut f: Failure,
    ) -> Step {
        let failing = self.m.thread(child).source;
        let is_map = matches!(self.state(tid).kind, StateKind::Map(_));
        if is_map {
            self.iteration_event(tid, EventType::MapIterationFailed, failing, slot);
        }
        if let StateKind::Task(_) = self.state(child).kind {
            self.emit_at(child, failing, EventType::TaskStateAborted, None);
        }
        self.m.remove_thread(child);
        let t = self.m.thread_mut(tid);
        let phase = std::mem::replace(&mut t.phase, Phase::Enter);
        let siblings: Vec<(u32, u32)> = match phase {
            Phase::Fanout(mut fan) => {
                fan.children[slot as usize] = None;
                let list = fan
                    .children
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.map(|c| (i as u32, c)))
                    .collect();
                fan.children.iter_mut().for_each(|c| *c = None);
                fan.running = 0;
                // What succeeded so far, for a redrive if the failure ends the execution.
                t.kept = Some(fan);
                list
            }
            _ => Vec::new(),
        };
        for (i, c) in siblings {
            if is_map {
                self.iteration_event(tid, EventType::MapIterationAborted, failing, i);
            }
            self.abort_thread(c, failing);
        }
        let t = self.m.thread_mut(tid);
        t.source = failing;
        f.from_children = true;
        Step::Fail(f)
    }

    /// Abort a running thread (and its children): `…StateAborted` events, tasks withdrawn,
    /// timers cancelled.
    pub(crate) fn abort_thread(&mut self, tid: u32, prev: u64) {
        let st = self.state(tid);
        let phase = std::mem::replace(&mut self.m.thread_mut(tid).phase, Phase::Enter);
        match phase {
            Phase::Enter => {}
            Phase::Task(run) => {
                self.m.tasks.remove(&run.task);
                for timer in [run.timeout_timer, run.heartbeat_timer]
                    .into_iter()
                    .flatten()
                {
                    self.cancel_timer(timer);
                }
                self.effect(Effect::CancelTask { task: run.task });
                self.emit_at(tid, prev, EventType::TaskStateAborted, None);
            }
            Phase::Wait { timer } | Phase::Backoff { timer } => {
                self.cancel_timer(timer);
                if let Some(ty) = aborted_type(&st.kind) {
                    self.emit_at(tid, prev, ty, None);
                }
            }
            Phase::MapRun(wait) => {
                // Stopping the parent aborts the Map Run; the runtime stops its children
                // when the task is withdrawn.
                self.m.tasks.remove(&wait.task);
                self.effect(Effect::CancelTask { task: wait.task });
                let id = self.emit_at(tid, prev, EventType::MapRunAborted, None);
                if let Some(ty) = aborted_type(&st.kind) {
                    self.emit_at(tid, id, ty, None);
                }
            }
            Phase::Fanout(fan) => {
                for (i, c) in fan.children.iter().enumerate() {
                    if let Some(c) = *c {
                        if fan.is_map && !fan.distributed {
                            self.iteration_event(
                                tid,
                                EventType::MapIterationAborted,
                                prev,
                                i as u32,
                            );
                        }
                        self.abort_thread(c, prev);
                    }
                }
                if let Some(ty) = aborted_type(&st.kind) {
                    self.emit_at(tid, prev, ty, None);
                }
            }
        }
        self.m.remove_thread(tid);
    }
}
