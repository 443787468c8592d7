//! Keeping reply-less inputs through a failed commit.
//!
//! Owns: what the writer does with the inputs nobody waits on (fired timers, resource
//! results, recoveries) when the commit carrying them fails for good (disk full, database
//! unreachable): it holds them and hands them back to the writer's own queue after a
//! back-off (100 ms doubling to 5 s, for as long as storage stays down, with a log line
//! each time), so the node carries on by itself once storage comes back.
//! Must not: retry inputs a caller waits on (their caller gets the error, and nothing was
//! applied), retry after a fenced commit (another node owns those executions now), decide
//! anything about an execution (the writer re-runs each input against what is durable), or
//! keep the writer's queue open (it holds a weak sender only).

use super::writer::Command;
use cairn_core::Input;
use std::time::Duration;
use tokio::sync::mpsc;

/// First back-off after a failed commit.
const FIRST: Duration = Duration::from_millis(100);
/// Longest back-off: storage that comes back is noticed within this.
const MOST: Duration = Duration::from_secs(5);

/// One input to run again.
#[derive(Debug)]
pub enum Again {
    /// A reply-less input for this execution.
    Deliver { execution_arn: String, input: Input },
    /// Re-run the outstanding effects of this execution (its load failed).
    Recover { execution_arn: String },
}

/// The back-off before attempt `attempt` (0 for the first retry).
pub fn delay(attempt: u32) -> Duration {
    FIRST.saturating_mul(1 << attempt.min(16)).min(MOST)
}

/// Hands held inputs back to the writer after their back-off.
pub struct Retrier {
    commands: mpsc::WeakUnboundedSender<Command>,
    runtime: Option<tokio::runtime::Handle>,
    /// Batches of inputs scheduled and not yet back in the writer's queue.
    outstanding: usize,
}

impl Retrier {
    /// Must be made inside a tokio runtime to retry at all (the timers run on it).
    pub fn new(commands: mpsc::WeakUnboundedSender<Command>) -> Self {
        Retrier {
            commands,
            runtime: tokio::runtime::Handle::try_current().ok(),
            outstanding: 0,
        }
    }

    /// Something is held for a retry (a virtual clock must not jump past it).
    pub fn waiting(&self) -> bool {
        self.outstanding > 0
    }

    /// A [`Command::Retry`] came back to the writer.
    pub fn returned(&mut self) {
        self.outstanding = self.outstanding.saturating_sub(1);
    }

    /// Send `inputs` back to the writer's queue after the back-off of `attempt`.
    pub fn later(&mut self, inputs: Vec<Again>, attempt: u32, why: &str) {
        if inputs.is_empty() {
            return;
        }
        let Some(runtime) = &self.runtime else {
            tracing::error!(
                inputs = inputs.len(),
                "no runtime to retry on; inputs dropped"
            );
            return;
        };
        let wait = delay(attempt);
        tracing::warn!(
            inputs = inputs.len(),
            attempt = attempt + 1,
            retry_in_ms = wait.as_millis() as u64,
            error = why,
            "storage failed; holding reply-less inputs to run again"
        );
        self.outstanding += 1;
        let commands = self.commands.clone();
        runtime.spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(tx) = commands.upgrade() {
                let _ = tx.send(Command::Retry {
                    inputs,
                    attempt: attempt + 1,
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_bounded() {
        assert_eq!(delay(0), Duration::from_millis(100));
        assert_eq!(delay(1), Duration::from_millis(200));
        assert_eq!(delay(5), Duration::from_millis(3200));
        assert_eq!(delay(6), MOST);
        assert_eq!(delay(u32::MAX), MOST);
    }
}
