//! Durable timers, armed in memory: the rows live in the store (written in the same
//! transaction as the step that started them); this service only wakes the writer when one
//! is due. Firing a timer twice, or one the execution no longer wants, is harmless: the
//! interpreter ignores stale timers.
//!
//! `WAIT_TIME_SCALE` shrinks (or stretches) the remaining delay when a timer is armed, so
//! tests and local runs need not wait real minutes.

use super::writer::Command;
use crate::clock::now_ms;
use cairn_core::Input;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;
use tokio::sync::mpsc;

struct Arm {
    execution_arn: String,
    timer: u64,
    fire_at_ms: i64,
}

#[derive(Clone)]
pub struct TimerService {
    arms: mpsc::UnboundedSender<Arm>,
    scale: f64,
}

impl TimerService {
    /// Spawn the timer loop on the current tokio runtime.
    pub fn start(writer: mpsc::UnboundedSender<Command>, scale: f64) -> TimerService {
        let (tx, mut rx) = mpsc::unbounded_channel::<Arm>();
        tokio::spawn(async move {
            // Min-heap by due time; the sequence number keeps equal due times in arming order.
            let mut heap: BinaryHeap<Reverse<(i64, u64, String, u64)>> = BinaryHeap::new();
            let mut seq = 0u64;
            loop {
                let now = now_ms();
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
                let sleep = heap
                    .peek()
                    .map(|Reverse((due, ..))| Duration::from_millis((*due - now).max(0) as u64))
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
                }
            }
        });
        TimerService { arms: tx, scale }
    }

    /// Arm a timer (already durable in the store).
    pub fn arm(&self, execution_arn: String, timer: u64, fire_at_ms: i64) {
        let fire_at_ms = if (self.scale - 1.0).abs() > f64::EPSILON {
            let now = now_ms();
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
