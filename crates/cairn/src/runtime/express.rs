//! Express executions: the same interpreter, run in memory with no history kept (AWS keeps
//! none either; it only logs). Used by StartSyncExecution, which waits for the result, and by
//! StartExecution on an EXPRESS machine, which does not.
//!
//! Counted in the metrics like Standard executions (CloudWatch counts Express executions
//! too), step by step.
//!
//! Nothing here is durable, by design: an Express execution that a crash interrupts is lost,
//! as AWS's at-least-once Express semantics allow.

use super::resources;
use crate::clock::now_ms;
use cairn_asl::StateMachine;
use cairn_core::{Ctx, Effect, Execution, ExecutionInfo, ExecutionStatus, Input, OpenWorld};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Express executions end after five minutes (AWS's limit).
const MAX_DURATION_MS: i64 = 5 * 60 * 1000;

/// Start an Express execution in the background, answering nothing (StartExecution on an
/// EXPRESS machine, and EXPRESS child executions); a mock test case, if named, is set first.
pub fn spawn(
    env: resources::ResourceEnv,
    info: ExecutionInfo,
    definition: Arc<StateMachine>,
    input: serde_json::Value,
    token_key: [u8; 32],
    wait_time_scale: f64,
    test_case: Option<&str>,
) {
    if test_case.is_some() {
        env.set_test_case(&info.execution_arn, test_case);
    }
    tokio::spawn(run(
        env,
        info,
        definition,
        input,
        token_key,
        wait_time_scale,
    ));
}

/// Count a step's events into the metrics as the writer counts a committed batch's (there is
/// no commit: an Express execution's events are final as soon as they are made).
fn count(env: &resources::ResourceEnv, info: &ExecutionInfo, events: &[cairn_core::HistoryEvent]) {
    let Some(metrics) = env.metrics() else {
        return;
    };
    let observed: Vec<_> = events
        .iter()
        .filter_map(|e| super::metrics::Observed::of(&info.execution_arn, e))
        .collect();
    if !observed.is_empty() {
        let machine = (info.state_machine_arn.clone(), info.start_time_ms);
        metrics.observe(&observed, &|_| Some(machine.clone()));
    }
}

/// Run an Express execution to its end and return it.
pub async fn run(
    env: resources::ResourceEnv,
    info: ExecutionInfo,
    definition: Arc<StateMachine>,
    input: serde_json::Value,
    token_key: [u8; 32],
    wait_time_scale: f64,
) -> Execution {
    let arn = info.execution_arn.clone();
    let ctx = |now_ms: i64, first_event_id: u64| Ctx {
        now_ms,
        entropy: cairn_core::token::step_entropy(&token_key, &arn, first_event_id),
        token_key,
        world: Arc::new(OpenWorld),
    };
    let started = now_ms();
    let (mut execution, decision) = cairn_core::start(info, &definition, input, &ctx(started, 1));
    count(&env, &execution.info, &decision.events);
    let (results_tx, mut results) = mpsc::unbounded_channel::<Input>();
    let mut timers: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let mut effects: VecDeque<Effect> = decision.effects.into();
    loop {
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::StartTimer { timer, fire_at_ms } => {
                    let now = now_ms();
                    let delay =
                        ((fire_at_ms - now).max(0) as f64 * wait_time_scale.max(0.0)) as i64;
                    timers.push(Reverse((now + delay, timer)));
                }
                Effect::InvokeResource {
                    task,
                    resource,
                    parameters,
                    token,
                    state_name,
                } => {
                    let tx = results_tx.clone();
                    let env = env.clone();
                    let call = resources::Invocation {
                        execution_arn: execution.info.execution_arn.clone(),
                        task,
                        resource,
                        parameters,
                        token,
                        state_name,
                        submitted: None,
                        traceparent: None,
                    };
                    tokio::spawn(async move {
                        let _ = tx.send(resources::run(&env, &call).await);
                    });
                }
                // Express machines cannot use activities (validation rejects them); there is
                // no durable row to withdraw or timer row to delete.
                Effect::ScheduleActivity { .. }
                | Effect::CancelTask { .. }
                | Effect::CancelTimer { .. } => {}
            }
        }
        if execution.status != ExecutionStatus::Running {
            return execution;
        }
        let deadline = started + MAX_DURATION_MS;
        let next_timer = timers
            .peek()
            .map(|Reverse((due, _))| *due)
            .unwrap_or(deadline)
            .min(deadline);
        let sleep = Duration::from_millis((next_timer - now_ms()).max(0) as u64);
        let input = tokio::select! {
            Some(input) = results.recv() => input,
            _ = tokio::time::sleep(sleep) => {
                match timers.peek() {
                    Some(Reverse((due, _))) if *due <= now_ms() => {
                        let Reverse((_, timer)) = timers.pop().expect("peeked");
                        Input::TimerFired { timer }
                    }
                    _ if now_ms() >= deadline => Input::Stop {
                        error: Some("States.Timeout".into()),
                        cause: Some("Express execution exceeded its 5 minute limit".into()),
                    },
                    _ => continue,
                }
            }
        };
        let first_event_id = execution.next_event_id;
        let decision = cairn_core::step(
            &mut execution,
            &definition,
            input,
            &ctx(now_ms(), first_event_id),
        );
        count(&env, &execution.info, &decision.events);
        effects.extend(decision.effects);
    }
}
