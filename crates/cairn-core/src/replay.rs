//! Replay: re-derive the external inputs from a recorded history and feed them again.
//!
//! Every externally caused event maps back to one [`Input`]: a worker's `ActivityStarted`,
//! an answer (`…Succeeded`/`…Failed`), `TaskSubmitted`, a timer (a Wait exit, a retry's
//! re-scheduling, a `…TimedOut`), `ExecutionAborted`. Feeding them with the recorded
//! timestamps must reproduce the history bit for bit; [`replay`] checks exactly that.
//!
//! A Distributed Map's result is not in the parent's history (its children are executions
//! of their own): replay runs the Map Run's children in-core ([`run_map_run`]), which works
//! for children that need nothing from outside (no tasks).

use crate::{start, step, Ctx, Effect, EventType, Execution, ExecutionInfo, HistoryEvent, Input};
use serde_json::Value;

/// Why a replay diverged.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("event {id}: recorded {recorded:?}, replayed {replayed:?}")]
    Diverged {
        id: u64,
        recorded: Box<Option<HistoryEvent>>,
        replayed: Box<Option<HistoryEvent>>,
    },
    #[error("cannot derive an input for event {0}")]
    NoInput(u64),
}

/// Replay `history` against `definition`. `ctx` supplies the key and the world; the time of
/// each step is taken from the recorded events and its entropy is `entropy_of(next_event_id)`, the
/// id the step's first event gets (1 for `start`): a runtime that derives a step's entropy
/// from the execution and that id (never from a random source) can be replayed exactly.
pub fn replay(
    info: ExecutionInfo,
    definition: &cairn_asl::StateMachine,
    history: &[HistoryEvent],
    ctx: &Ctx,
    entropy_of: &dyn Fn(u64) -> u64,
) -> Result<Execution, ReplayError> {
    let input: Value = serde_json::from_str(&info.input_text).unwrap_or(Value::Null);
    let first_ms = history
        .first()
        .map_or(info.start_time_ms, |e| e.timestamp_ms);
    let mut c = Ctx {
        now_ms: first_ms,
        entropy: entropy_of(1),
        ..ctx.clone()
    };
    let (mut exec, d) = start(info, definition, input, &c);
    let mut produced: Vec<HistoryEvent> = d.events;
    let mut timers: Vec<(u64, i64)> = Vec::new();
    let mut map_runs: Vec<(u64, Input)> = Vec::new();
    track_timers(&mut timers, &d.effects);
    track_map_runs(&mut map_runs, &d.effects, &c);
    while produced.len() < history.len() {
        let next = &history[produced.len()];
        check_prefix(history, &produced)?;
        c.now_ms = next.timestamp_ms;
        c.entropy = entropy_of(exec.next_event_id);
        let map_run = match next.event_type {
            EventType::MapRunSucceeded | EventType::MapRunFailed => map_runs
                .iter()
                .position(|(t, _)| *t == next.previous_event_id)
                .map(|i| map_runs.remove(i).1),
            _ => None,
        };
        let d = match map_run.or_else(|| derive_input(history, next)) {
            Some(input) => {
                let d = step(&mut exec, definition, input, &c);
                if d.events.is_empty() && next.event_type != EventType::ActivityStarted {
                    return Err(ReplayError::NoInput(next.id));
                }
                d
            }
            // Not caused from outside: a timer fired. Which one shows in the event it
            // caused, so try the live timers, earliest first.
            None => {
                let mut candidates = timers.clone();
                candidates.sort_by_key(|(t, at)| (*at, *t));
                let mut found = None;
                for (timer, _) in candidates {
                    let mut attempt = exec.clone();
                    let d = step(&mut attempt, definition, Input::TimerFired { timer }, &c);
                    if d.events.first() == Some(next) {
                        timers.retain(|(t, _)| *t != timer);
                        found = Some((attempt, d));
                        break;
                    }
                }
                let Some((attempt, d)) = found else {
                    return Err(ReplayError::NoInput(next.id));
                };
                exec = attempt;
                d
            }
        };
        track_timers(&mut timers, &d.effects);
        track_map_runs(&mut map_runs, &d.effects, &c);
        produced.extend(d.events);
    }
    check_prefix(history, &produced)?;
    if produced.len() != history.len() {
        let id = history.len() as u64 + 1;
        return Err(ReplayError::Diverged {
            id,
            recorded: Box::new(None),
            replayed: Box::new(produced.get(history.len()).cloned()),
        });
    }
    Ok(exec)
}

fn check_prefix(history: &[HistoryEvent], produced: &[HistoryEvent]) -> Result<(), ReplayError> {
    for (i, p) in produced.iter().enumerate() {
        let r = history.get(i);
        if r != Some(p) {
            return Err(ReplayError::Diverged {
                id: i as u64 + 1,
                recorded: Box::new(r.cloned()),
                replayed: Box::new(Some(p.clone())),
            });
        }
    }
    Ok(())
}

fn track_timers(timers: &mut Vec<(u64, i64)>, effects: &[Effect]) {
    for e in effects {
        match e {
            Effect::StartTimer { timer, fire_at_ms } => timers.push((*timer, *fire_at_ms)),
            Effect::CancelTimer { timer } => timers.retain(|(t, _)| t != timer),
            _ => {}
        }
    }
}

fn track_map_runs(map_runs: &mut Vec<(u64, Input)>, effects: &[Effect], ctx: &Ctx) {
    for e in effects {
        if let Effect::InvokeResource {
            task,
            resource,
            parameters,
            ..
        } = e
        {
            if resource != crate::MAP_RUN_RESOURCE {
                continue;
            }
            let outcome = serde_json::from_value::<crate::MapRunSpec>(parameters.clone())
                .ok()
                .and_then(|spec| run_map_run(*task, &spec, ctx));
            if let Some(input) = outcome {
                map_runs.push((*task, input));
            }
        }
    }
}

/// A Map Run's outcome as the runtime's driver would report it, with every child run
/// in-core to its end at `ctx`'s time (timers fire at once, in order; nested Map Runs
/// recurse). `None` when a child waits for something from outside (a task).
pub fn run_map_run(task: u64, spec: &crate::MapRunSpec, ctx: &Ctx) -> Option<Input> {
    let def = cairn_asl::parse_definition_str(&spec.definition).ok()?;
    let total = spec.items.len() as u64;
    let mut results = Vec::with_capacity(spec.items.len());
    let mut failed = 0;
    for (i, item) in spec.items.iter().enumerate() {
        let name = format!("child-{i}");
        let info = ExecutionInfo {
            execution_arn: format!(
                "{}:{name}",
                spec.state_machine_arn
                    .replacen(":stateMachine:", ":execution:", 1)
            ),
            name,
            state_machine_arn: spec.state_machine_arn.clone(),
            state_machine_name: spec
                .state_machine_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            role_arn: spec.role_arn.clone(),
            region: String::new(),
            start_time_ms: ctx.now_ms,
            input_text: item.to_string(),
            state_machine_version_arn: None,
            state_machine_alias_arn: None,
            redrive_count: 0,
            redrive_time_ms: None,
            mock_test_case: None,
            trace_parent: None,
        };
        let step_ctx = |n: u64| Ctx {
            entropy: crate::retry::mix(ctx.entropy ^ n ^ (i as u64).rotate_left(32)),
            ..ctx.clone()
        };
        let (mut exec, d) = start(info, &def, item.clone(), &step_ctx(1));
        let mut timers: Vec<(u64, i64)> = Vec::new();
        let mut pending: Vec<Input> = Vec::new();
        let mut effects = d.effects;
        loop {
            track_timers(&mut timers, &effects);
            for e in &effects {
                if let Effect::InvokeResource {
                    task,
                    resource,
                    parameters,
                    ..
                } = e
                {
                    if resource != crate::MAP_RUN_RESOURCE {
                        return None;
                    }
                    let spec = serde_json::from_value(parameters.clone()).ok()?;
                    pending.push(run_map_run(*task, &spec, ctx)?);
                }
            }
            if exec.status != crate::ExecutionStatus::Running {
                break;
            }
            let input = if pending.is_empty() {
                timers.sort_by_key(|(t, at)| (*at, *t));
                if timers.is_empty() {
                    return None;
                }
                Input::TimerFired {
                    timer: timers.remove(0).0,
                }
            } else {
                pending.remove(0)
            };
            let n = exec.next_event_id;
            effects = step(&mut exec, &def, input, &step_ctx(n)).effects;
        }
        if exec.status == crate::ExecutionStatus::Succeeded {
            let output = exec.output.as_deref().unwrap_or("null");
            results.push(serde_json::from_str(output).unwrap_or(Value::Null));
            continue;
        }
        failed += 1;
        results.push(serde_json::json!({"Error": exec.error, "Cause": exec.cause}));
        if crate::tolerance_exceeded(
            failed,
            total,
            spec.tolerated_failure_count,
            spec.tolerated_failure_percentage,
        ) {
            return Some(Input::TaskFailed {
                task,
                error: Some("States.ExceedToleratedFailureThreshold".into()),
                cause: Some("The specified tolerated failure threshold was exceeded".into()),
            });
        }
    }
    Some(Input::TaskSucceeded {
        task,
        output: Value::Array(results).to_string(),
    })
}

fn detail<'e>(e: &'e HistoryEvent, key: &str) -> Option<&'e str> {
    e.details.as_ref()?.get(key)?.as_str()
}

/// The external input that caused `event` (the first event of a step); `None` when the
/// event was caused by a timer.
fn derive_input(history: &[HistoryEvent], event: &HistoryEvent) -> Option<Input> {
    let task = event.previous_event_id;
    let owned = |k: &str| detail(event, k).map(str::to_string);
    Some(match event.event_type {
        EventType::ActivityStarted => Input::ActivityStarted {
            task,
            worker_name: owned("workerName"),
        },
        EventType::ActivitySucceeded
        | EventType::LambdaFunctionSucceeded
        | EventType::TaskSucceeded => Input::TaskSucceeded {
            task: task_of(history, event)?,
            output: owned("output")?,
        },
        EventType::ActivityFailed | EventType::LambdaFunctionFailed | EventType::TaskFailed => {
            Input::TaskFailed {
                task: task_of(history, event)?,
                error: owned("error"),
                cause: owned("cause"),
            }
        }
        EventType::TaskSubmitted => Input::TaskSubmitted {
            task: task_of(history, event)?,
            output: owned("output")?,
        },
        EventType::ExecutionAborted => Input::Stop {
            error: owned("error"),
            cause: owned("cause"),
        },
        EventType::ExecutionRedriven => Input::Redrive {
            client_token: None,
            window_ms: None,
        },
        _ => return None,
    })
}

/// The task an answer belongs to: walk the `previousEventId` chain back to the scheduling
/// event (`…Started`/`TaskSubmitted` sit in between).
fn task_of(history: &[HistoryEvent], event: &HistoryEvent) -> Option<u64> {
    let mut id = event.previous_event_id;
    loop {
        let e = history.get(id.checked_sub(1)? as usize)?;
        match e.event_type {
            EventType::ActivityScheduled
            | EventType::LambdaFunctionScheduled
            | EventType::TaskScheduled => return Some(e.id),
            EventType::ActivityStarted
            | EventType::LambdaFunctionStarted
            | EventType::TaskStarted
            | EventType::TaskSubmitted => id = e.previous_event_id,
            _ => return None,
        }
    }
}
