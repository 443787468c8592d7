//! The engine's clock: the one source of "now" for the writer (the time of every history
//! event), the timer service (when a timer is due) and the API (a request's time). The pure
//! core never reads it: the writer puts its reading into `cairn_core::Ctx`.
//!
//! Not the wall clock: `src/clock.rs` (`crate::clock::now_ms`) is the system's time, which
//! this clock reads when real and offsets when virtual; `api/clock.rs` serves the
//! `CairnClock.*` operations that move this one.
//!
//! Two kinds:
//! - **real** (the default): the system clock.
//! - **virtual** (`cairn serve --virtual-clock`, `cairn run --skip-time`): the system clock
//!   plus an offset, which tests may move forward ([`Clock::advance`]), stop
//!   ([`Clock::freeze`]) and restart ([`Clock::resume`]). A virtual clock also **skips**: when
//!   the engine is idle (see below) and only timers are pending, the timer service asks the
//!   writer to jump the clock to the next due timer, so a one-day Wait ends at once with the
//!   timestamps a real day would have written. A frozen clock never jumps.
//!
//! When the clock may jump (checked by the writer, on its own thread, between batches, so
//! nothing can slip in between the check and the jump): no command is queued for the writer
//! or in the batch, and no running execution of this node has work outside the engine in
//! flight: an activity task handed to a worker and not answered, a resource invocation
//! running (Lambda, HTTP Task, a function command, an AWS SDK call), or a `.waitForTaskToken`
//! token handed out and not answered; nor a queued activity task a worker is about to take
//! (a GetActivityTask is parked on its activity, or this process serves the activity, as
//! `cairn run --activity` does). Other queued activity tasks and nested
//! `states:startExecution` children (their own timers count) do not hold the clock.
//! So a worker's heartbeat or a task's timeout can only fire on a jump while nobody is
//! working on the task; [`Clock::advance`] is a deliberate act and moves time regardless.
//!
//! Must not: go backwards (advancing takes only non-negative amounts, a jump only moves
//! forward), or be read by the pure crates.

use std::sync::Mutex;
use tokio::sync::watch;

/// The system clock, epoch milliseconds (`crate::clock::now_ms`, defined once).
pub use crate::clock::now_ms as system_now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    /// Added to the system clock (virtual clocks only).
    offset_ms: i64,
    /// A frozen clock reads this, whatever the system clock does.
    frozen_at: Option<i64>,
}

/// Why a clock operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("the clock is the system clock; start the server with --virtual-clock to move it")]
    NotVirtual,
    #[error("the clock only moves forward: {0} ms is negative")]
    Negative(i64),
}

/// What [`Clock::status`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStatus {
    pub now_ms: i64,
    pub is_virtual: bool,
    pub frozen: bool,
    /// Jumps to the next timer when idle.
    pub skipping: bool,
}

pub struct Clock {
    is_virtual: bool,
    state: Mutex<State>,
    /// Bumped at every change (advance, freeze, resume, jump), so the timer service
    /// recomputes what is due.
    changes: watch::Sender<u64>,
}

impl Clock {
    /// The system clock.
    pub fn real() -> Clock {
        Clock::new(false)
    }

    /// A virtual clock, starting at the system time; it skips to the next timer when idle.
    pub fn virtual_clock() -> Clock {
        Clock::new(true)
    }

    fn new(is_virtual: bool) -> Clock {
        Clock {
            is_virtual,
            state: Mutex::new(State {
                offset_ms: 0,
                frozen_at: None,
            }),
            changes: watch::Sender::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        if !self.is_virtual {
            return system_now_ms();
        }
        let s = *self.state();
        s.frozen_at.unwrap_or_else(|| system_now_ms() + s.offset_ms)
    }

    pub fn is_virtual(&self) -> bool {
        self.is_virtual
    }

    /// Whether the clock jumps to the next timer when idle now (virtual and not frozen).
    pub fn skips(&self) -> bool {
        self.is_virtual && self.state().frozen_at.is_none()
    }

    pub fn status(&self) -> ClockStatus {
        ClockStatus {
            now_ms: self.now_ms(),
            is_virtual: self.is_virtual,
            frozen: self.is_virtual && self.state().frozen_at.is_some(),
            skipping: self.skips(),
        }
    }

    /// Move a virtual clock forward by `ms` (frozen or not); answers the new time.
    pub fn advance(&self, ms: i64) -> Result<i64, ClockError> {
        if !self.is_virtual {
            return Err(ClockError::NotVirtual);
        }
        if ms < 0 {
            return Err(ClockError::Negative(ms));
        }
        {
            let mut s = self.state();
            match &mut s.frozen_at {
                Some(at) => *at = at.saturating_add(ms),
                None => s.offset_ms = s.offset_ms.saturating_add(ms),
            }
        }
        self.changed();
        Ok(self.now_ms())
    }

    /// Stop a virtual clock where it is: it reads the same until advanced or resumed, and
    /// never jumps meanwhile.
    pub fn freeze(&self) -> Result<i64, ClockError> {
        if !self.is_virtual {
            return Err(ClockError::NotVirtual);
        }
        {
            let mut s = self.state();
            if s.frozen_at.is_none() {
                s.frozen_at = Some(system_now_ms() + s.offset_ms);
            }
        }
        self.changed();
        Ok(self.now_ms())
    }

    /// Let a frozen virtual clock run again from where it stands (and skip again).
    pub fn resume(&self) -> Result<i64, ClockError> {
        if !self.is_virtual {
            return Err(ClockError::NotVirtual);
        }
        {
            let mut s = self.state();
            if let Some(at) = s.frozen_at.take() {
                s.offset_ms = at - system_now_ms();
            }
        }
        self.changed();
        Ok(self.now_ms())
    }

    /// The writer's jump: a running virtual clock moves forward to `to_ms` (never back).
    /// Answers whether it moved.
    pub(crate) fn jump_to(&self, to_ms: i64) -> bool {
        if !self.is_virtual {
            return false;
        }
        let moved = {
            let mut s = self.state();
            if s.frozen_at.is_some() {
                false
            } else {
                let now = system_now_ms() + s.offset_ms;
                if to_ms > now {
                    s.offset_ms += to_ms - now;
                    true
                } else {
                    false
                }
            }
        };
        if moved {
            self.changed();
        }
        moved
    }

    /// A receiver that sees every change of the clock.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_clock_cannot_be_moved() {
        let c = Clock::real();
        assert_eq!(c.advance(1), Err(ClockError::NotVirtual));
        assert_eq!(c.freeze(), Err(ClockError::NotVirtual));
        assert!(!c.jump_to(i64::MAX / 2));
        assert!(!c.skips());
    }

    #[test]
    fn a_frozen_clock_moves_only_when_advanced_and_never_jumps() {
        let c = Clock::virtual_clock();
        let at = c.freeze().unwrap();
        assert_eq!(c.now_ms(), at);
        assert!(!c.skips());
        assert!(!c.jump_to(at + 1_000));
        assert_eq!(c.advance(86_400_000).unwrap(), at + 86_400_000);
        assert_eq!(c.advance(-1), Err(ClockError::Negative(-1)));
        let resumed = c.resume().unwrap();
        assert!(resumed >= at + 86_400_000);
        assert!(c.skips());
    }

    #[test]
    fn a_jump_only_moves_forward() {
        let c = Clock::virtual_clock();
        let now = c.now_ms();
        assert!(!c.jump_to(now - 10_000));
        assert!(c.jump_to(now + 365 * 86_400_000));
        assert!(c.now_ms() >= now + 365 * 86_400_000);
    }
}
