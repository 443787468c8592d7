//! The writer's commit-then-act half: folding the interpreter's decisions into the batch
//! ([`Writer::absorb`]), committing the batch in one transaction, and only then acting on it
//! ([`Writer::finish`]: replies, woken pollers and watchers, armed timers, resource calls,
//! metrics). The intake half (commands, starts, deliveries, claims, recovery) is in
//! `mod.rs`.
//!
//! Must not: act on anything before the commit that holds it has succeeded.

use super::*;

impl Writer {
    /// Fold a decision into the batch: events and outbox rows now, the rest after commit.
    pub(super) fn absorb(
        &mut self,
        arn: &str,
        decision: Decision,
        ctx: &Ctx,
        pending: &mut Pending,
    ) {
        if decision.events.is_empty() && decision.effects.is_empty() {
            return;
        }
        pending.touch(arn);
        for event in &decision.events {
            if let Some(o) = crate::runtime::metrics::Observed::of(arn, event) {
                pending.observed.push(o);
            }
            pending.batch.events.push(EventRecord {
                execution_arn: arn.to_string(),
                id: event.id,
                body: event.to_wire(true).to_string(),
            });
        }
        for effect in decision.effects {
            match &effect {
                Effect::ScheduleActivity {
                    task,
                    activity_arn,
                    input,
                    token,
                    state_name,
                } => match self.resources.mocked_activity(arn, *task, state_name) {
                    // A mocked activity state never reaches a worker: it is started and
                    // answered here, with the events a real worker's answer would produce.
                    Some(answer) => {
                        pending
                            .mocked_activities
                            .push((arn.to_string(), *task, answer))
                    }
                    None => pending.batch.activity_tasks.push(ActivityTaskRecord {
                        activity_arn: activity_arn.clone(),
                        execution_arn: arn.to_string(),
                        task: *task,
                        token: token.clone(),
                        input: input.clone(),
                        scheduled_ms: ctx.now_ms,
                        taken: false,
                    }),
                },
                Effect::StartTimer { timer, fire_at_ms } => {
                    pending.batch.timers.push(TimerRecord {
                        execution_arn: arn.to_string(),
                        timer: *timer,
                        fire_at_ms: *fire_at_ms,
                    })
                }
                Effect::CancelTimer { timer } => pending
                    .batch
                    .cancelled_timers
                    .push((arn.to_string(), *timer)),
                Effect::CancelTask { task } => {
                    pending.batch.withdrawn_tasks.push((arn.to_string(), *task))
                }
                Effect::InvokeResource { .. } => {}
            }
            pending.after_commit.push((arn.to_string(), effect));
        }
    }

    pub(super) fn record(&self, arn: &str) -> Option<ExecutionRecord> {
        let live = self.live.get(arn)?;
        let e = &live.execution;
        Some(ExecutionRecord {
            arn: arn.to_string(),
            state_machine_arn: e.info.state_machine_arn.clone(),
            name: e.info.name.clone(),
            status: e.status.as_str().to_string(),
            start_date_ms: e.info.start_time_ms,
            stop_date_ms: e.stop_time_ms,
            input: e.info.input_text.clone(),
            output: e.output.clone(),
            error: e.error.clone(),
            cause: e.cause.clone(),
            definition: live.definition_text.to_string(),
            role_arn: e.info.role_arn.clone(),
            state_machine_version_arn: e.info.state_machine_version_arn.clone(),
            state_machine_alias_arn: e.info.state_machine_alias_arn.clone(),
            redrive_count: e.info.redrive_count,
            redrive_date_ms: e.info.redrive_time_ms,
            // Cannot fail: an execution is plain data with string keys and no non-finite
            // floats. Were it to, stopping loudly beats committing an empty snapshot.
            snapshot: serde_json::to_string(e).expect("an execution serialises to JSON"),
            seq: live.seq,
        })
    }

    /// Commit the batch, then answer and act; on a failed commit, answer with the error and
    /// forget the touched executions so they are reloaded from what is durable. The batch's
    /// reply-less inputs are held and run again after a back-off (unless fenced: another
    /// node owns them now), so a storage outage delays executions instead of stranding them.
    pub(super) fn finish(&mut self, mut pending: Pending) {
        for arn in &pending.touched {
            if let Some(r) = self.record(arn) {
                pending.batch.executions.push(r);
            }
        }
        if let Some(node) = self.ownership.node() {
            pending.batch.fence = Some(Fence {
                node: node.id.clone(),
                leases: pending.fence.iter().map(|(p, e)| (*p, *e)).collect(),
            });
        }
        let result = if pending.batch.is_empty() {
            Ok(())
        } else {
            let started = std::time::Instant::now();
            let result = self.store.commit(&pending.batch);
            self.metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            result
        };
        if let Err(e) = result {
            let fenced = matches!(e, StoreError::Fenced(_));
            if fenced {
                // Another node holds one of the leases now: the keeper finds out which and
                // releases them; the callers are told to route again.
                tracing::warn!(error = %e, "commit fenced off; the batch is dropped");
                self.ownership.poke();
            } else {
                tracing::error!(error = %e, "commit failed; the batch is dropped");
                let failed = std::mem::take(&mut pending.again_if_failed);
                pending.again.extend(failed);
            }
            self.retry.later(
                std::mem::take(&mut pending.again),
                pending.attempt,
                &e.to_string(),
            );
            for arn in &pending.touched {
                self.live.remove(arn);
                self.busy.remove(arn);
                self.queued.remove(arn);
            }
            for (reply, _) in pending.start_replies {
                let _ = reply.send(Err(if fenced {
                    StartError::NotOwner
                } else {
                    StartError::Internal(e.to_string())
                }));
            }
            for (reply, _) in pending.deliver_replies {
                if let Some(r) = reply {
                    let _ = r.send(Err(if fenced {
                        EngineError::NotOwner
                    } else {
                        EngineError::Store(StoreError::Database(e.to_string()))
                    }));
                }
            }
            for (reply, _) in pending.claim_replies {
                let _ = reply.send(Err(EngineError::Store(StoreError::Database(e.to_string()))));
            }
            self.finish_releases(pending.releases);
            return;
        }
        self.retry.later(
            std::mem::take(&mut pending.again),
            pending.attempt,
            "cannot read the execution",
        );
        self.events.publish(&pending.batch.events);
        if self.clock.is_virtual() {
            for arn in &pending.touched {
                self.track(arn);
            }
        }
        if !pending.observed.is_empty() {
            let batch = &pending.batch;
            let machine_of = |arn: &str| {
                batch
                    .executions
                    .iter()
                    .find(|e| e.arn == arn)
                    .map(|e| (e.state_machine_arn.clone(), e.start_date_ms))
            };
            self.metrics.observe(&pending.observed, &machine_of);
        }
        for (reply, result) in pending.start_replies {
            let _ = reply.send(result);
        }
        for (reply, outcome) in pending.deliver_replies {
            if let Some(r) = reply {
                let _ = r.send(Ok(outcome));
            }
        }
        for (reply, task) in pending.claim_replies {
            // A poller that went away meanwhile cannot be given its task; the task stays with
            // its execution as started, and its timeouts apply.
            let _ = reply.send(Ok(task));
        }
        for (arn, task, answer) in pending.mocked_activities {
            self.resources.answer_mocked_activity(&arn, task, answer);
        }
        for (arn, effect) in pending.after_commit {
            match effect {
                Effect::ScheduleActivity { activity_arn, .. } => self.dispatch.wake(&activity_arn),
                Effect::StartTimer { timer, fire_at_ms } => self.timers.arm(arn, timer, fire_at_ms),
                Effect::CancelTimer { .. } => {}
                Effect::CancelTask { task } => self.resources.cancel(&arn, task),
                Effect::InvokeResource {
                    task,
                    resource,
                    parameters,
                    token,
                    state_name,
                } => self.resources.invoke(resources::Invocation {
                    traceparent: self.traceparent(&arn, task),
                    execution_arn: arn,
                    task,
                    resource,
                    parameters,
                    token,
                    state_name,
                    submitted: None,
                }),
            }
        }
        self.finish_releases(std::mem::take(&mut pending.releases));
        // Finished executions leave the cache: their rows are final.
        for arn in &pending.touched {
            let done = self
                .live
                .get(arn)
                .map(|l| l.execution.status != cairn_core::ExecutionStatus::Running)
                .unwrap_or(false);
            if done {
                self.live.remove(arn);
                for w in self.watchers.remove(arn).unwrap_or_default() {
                    let _ = w.send(());
                }
            }
        }
        self.metrics.open_executions.set(self.live.len() as i64);
    }

    /// The trace context a task's resource is called with (see `telemetry`).
    pub(super) fn traceparent(&self, arn: &str, task: u64) -> Option<String> {
        let live = self.live.get(arn)?;
        Some(crate::runtime::telemetry::task_traceparent(
            &live.execution.info,
            task,
        ))
    }

    /// The batch that still wrote under the released leases is done: drop their executions
    /// and let the keeper give the leases up.
    pub(super) fn finish_releases(&mut self, releases: Vec<(Vec<i16>, oneshot::Sender<()>)>) {
        for (partitions, done) in releases {
            self.forget_partitions(&partitions.into_iter().collect());
            let _ = done.send(());
        }
    }
}
