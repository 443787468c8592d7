//! Replay: re-derive the external inputs from a recorded history and feed them again.
//!
//! Every externally caused event maps back to one [`Input`]: a worker's `ActivityStarted`,
//! an answer (`…Succeeded`/`…Failed`), `TaskSubmitted`, a timer (a Wait exit, a retry's
//! re-scheduling, a `…TimedOut`), `ExecutionAborted`. Feeding them with the recorded
//! timestamps must reproduce the history bit for bit; [`replay`] checks exactly that.

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
    track_timers(&mut timers, &d.effects);
    while produced.len() < history.len() {
        let next = &history[produced.len()];
        check_prefix(history, &produced)?;
        c.now_ms = next.timestamp_ms;
        c.entropy = entropy_of(exec.next_event_id);
        let d = match derive_input(history, next) {
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
