//! Durable timers, armed in memory: the rows live in the store (written in the same
//! transaction as the step that started them); this service only wakes the writer when one
//! is due. Firing a timer twice, or one the execution no longer wants, is harmless: the
//! interpreter ignores stale timers.
//!
//! Due times are read on the engine's [`Clock`]. `WAIT_TIME_SCALE` shrinks (or stretches)
//! the remaining delay when a timer is armed, so tests and local runs need not wait real
//! minutes. With a skipping virtual clock, when the next timer is not due yet and the writer
//! reports itself idle ([`Quiet`]), the service asks the writer to jump the clock to that
//! timer (`Command::Jump`); the writer decides, because only it knows what is in flight.

use super::clock::Clock;
use super::writer::Command;
use cairn_core::Input;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The writer's state after its last batch: (nothing in flight and nothing queued, batch
/// number). Published only when the clock is virtual.
pub type Quiet = (bool, u64);

struct Arm {
    execution_arn: String,
    timer: u64,
    fire_at_ms: i64,
}

#[derive(Clone)]
pub struct TimerService {
    arms: mpsc::UnboundedSender<Arm>,
    scale: f64,
    clock: Arc<Clock>,
}

impl TimerService {
    /// Spawn the timer loop on the current tokio runtime.
    pub fn start(
        writer: mpsc::UnboundedSender<Command>,
        scale: f64,
        clock: Arc<Clock>,
        mut quiet: watch::Receiver<Quiet>,
    ) -> TimerService {
        let (tx, mut rx) = mpsc::unbounded_channel::<Arm>();
        let mut changes = clock.subscribe();
        let service = TimerService {
            arms: tx,
            scale,
            clock: clock.clone(),
        };
        tokio::spawn(async move {
            // Min-heap by due time; the sequence number keeps equal due times in arming order.
            let mut heap: BinaryHeap<Reverse<(i64, u64, String, u64)>> = BinaryHeap::new();
            let mut seq = 0u64;
            // The last (due time, writer batch) a jump was asked for: asked once per state.
            let mut asked: Option<(i64, u64)> = None;
            loop {
                let now = clock.now_ms();
                while let Some(Reverse((due, _, _, _))) = heap.peek() {
                    if *due > now {
                        break;
                    }
                    let Reverse((_, _, arn, timer)) = heap.pop().expect("peeked");
                    let fired = Command::Deliver {
                        execution_arn: arn,
                        input: Input::TimerFired { timer },
                        reply: None,
                    };
                    if writer.send(fired).is_err() {
                        return;
                    }
                }
                let next = heap.peek().map(|Reverse((due, ..))| *due);
                if let Some(due) = next {
                    let (idle, batch) = *quiet.borrow_and_update();
                    if idle && clock.skips() && asked != Some((due, batch)) {
                        asked = Some((due, batch));
                        if writer.send(Command::Jump { to_ms: due }).is_err() {
                            return;
                        }
                    }
                }
                // Sleeping on the system clock is right for a virtual clock too: unless it
                // is moved (which wakes us), it runs at the system's rate.
                let sleep = next
                    .map(|due| Duration::from_millis((due - now).max(0) as u64))
                    .unwrap_or(Duration::from_secs(3600));
                tokio::select! {
                    arm = rx.recv() => match arm {
                        Some(a) => {
                            seq += 1;
                            heap.push(Reverse((a.fire_at_ms, seq, a.execution_arn, a.timer)));
                        }
                        None => return,
                    },
                    _ = tokio::time::sleep(sleep) => {}
                    Ok(()) = changes.changed() => {}
                    Ok(()) = quiet.changed() => {}
                }
            }
        });
        service
    }

    /// Arm a timer (already durable in the store).
    pub fn arm(&self, execution_arn: String, timer: u64, fire_at_ms: i64) {
        let fire_at_ms = if (self.scale - 1.0).abs() > f64::EPSILON {
            let now = self.clock.now_ms();
            let remaining = (fire_at_ms - now).max(0) as f64 * self.scale.max(0.0);
            now + remaining as i64
        } else {
            fire_at_ms
        };
        let _ = self.arms.send(Arm {
            execution_arn,
            timer,
            fire_at_ms,
        });
    }
}
