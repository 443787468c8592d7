//! Crash recovery: the effects an execution still owes the world, recomputed from its
//! state alone (DESIGN.md "batch, commit, then act": a crash between commit and effect
//! repeats the effect, keyed by task/timer id, never loses it).

use crate::history::json_text;
use crate::machine::{state_of, Phase, ResourceKind};
use crate::{token, Effect, Execution, ExecutionStatus};
use cairn_asl::{StateKind, StateMachine};

impl Execution {
    /// Every open task that still waits for the runtime (activities not yet handed to a
    /// worker, every running non-activity resource) and every live timer, as the effects
    /// that started them. Empty once the execution has ended.
    pub fn outstanding_effects(
        &self,
        definition: &StateMachine,
        token_key: &[u8; 32],
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.status != ExecutionStatus::Running {
            return out;
        }
        let m = &self.machine;
        for (&task, &tid) in &m.tasks {
            if !m.alive(tid) {
                continue;
            }
            let t = m.thread(tid);
            if let Phase::MapRun(wait) = &t.phase {
                out.push(Effect::InvokeResource {
                    task,
                    resource: crate::MAP_RUN_RESOURCE.into(),
                    parameters: wait.spec.clone(),
                    token: token::mint(token_key, &self.info.execution_arn, task),
                    state_name: state_of(definition, t).name.clone(),
                });
                continue;
            }
            let (Phase::Task(run), StateKind::Task(def)) =
                (&t.phase, &state_of(definition, t).kind)
            else {
                continue;
            };
            let token = token::mint(token_key, &self.info.execution_arn, task);
            match run.kind {
                ResourceKind::Activity if run.started => {}
                ResourceKind::Activity => out.push(Effect::ScheduleActivity {
                    task,
                    activity_arn: def.resource.clone(),
                    input: json_text(&t.effective),
                    token,
                    state_name: state_of(definition, t).name.clone(),
                }),
                _ => out.push(Effect::InvokeResource {
                    task,
                    resource: def.resource.clone(),
                    parameters: t.effective.clone(),
                    token,
                    state_name: state_of(definition, t).name.clone(),
                }),
            }
        }
        for (&timer, live) in &m.timers {
            out.push(Effect::StartTimer {
                timer,
                fire_at_ms: live.fire_at_ms,
            });
        }
        out
    }

    /// The recorded `TaskSubmitted` output of an open task (a `.sync` job or child execution
    /// already started), so a task re-run after a restart waits for that submission instead
    /// of submitting again. `None` for unknown, closed or not yet submitted tasks.
    pub fn submitted_output(&self, task: u64) -> Option<&str> {
        let m = &self.machine;
        let &tid = m.tasks.get(&task)?;
        if !m.alive(tid) {
            return None;
        }
        match &m.thread(tid).phase {
            Phase::Task(run) if run.task == task => run.submitted.as_deref(),
            _ => None,
        }
    }

    /// Whether work outside the engine is in flight for this execution: an activity task a
    /// worker took and has not answered, a resource invocation running, or a
    /// `.waitForTaskToken` token handed out and not answered. Activity tasks no worker took
    /// and nested `states:startExecution` children (which are executions of their own) are
    /// not. The runtime lets a virtual clock jump only while no execution answers true.
    pub fn work_in_flight(&self, definition: &StateMachine) -> bool {
        if self.status != ExecutionStatus::Running {
            return false;
        }
        let m = &self.machine;
        m.tasks.values().any(|&tid| {
            if !m.alive(tid) {
                return false;
            }
            let t = m.thread(tid);
            let (Phase::Task(run), StateKind::Task(def)) =
                (&t.phase, &state_of(definition, t).kind)
            else {
                return false;
            };
            match run.kind {
                ResourceKind::Activity => run.started,
                _ => {
                    let nested = def
                        .resource
                        .starts_with("arn:aws:states:::states:startExecution")
                        || def.resource.contains(":states:::states:startExecution");
                    !nested || def.resource.ends_with(".waitForTaskToken")
                }
            }
        })
    }

    /// The activity ARNs of this execution's activity tasks that no worker has taken yet
    /// (one entry per task). The runtime lets a virtual clock jump past them only while no
    /// worker is about to take them.
    pub fn queued_activities(&self, definition: &StateMachine) -> Vec<String> {
        if self.status != ExecutionStatus::Running {
            return Vec::new();
        }
        let m = &self.machine;
        m.tasks
            .values()
            .filter(|&&tid| m.alive(tid))
            .filter_map(|&tid| {
                let t = m.thread(tid);
                match (&t.phase, &state_of(definition, t).kind) {
                    (Phase::Task(run), StateKind::Task(def))
                        if run.kind == ResourceKind::Activity && !run.started =>
                    {
                        Some(def.resource.clone())
                    }
                    _ => None,
                }
            })
            .collect()
    }
}
