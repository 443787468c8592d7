//! The **wall clock**: the system's time in epoch milliseconds ([`now_ms`]), defined once,
//! for what reads the system's time directly (Express executions, nested children's start
//! dates, activity poll times, metrics, the console; also re-exported as `api::now_ms`).
//!
//! Not to be confused with the two other clock modules:
//! - `runtime/clock.rs`: the **engine's clock** (`runtime::clock::Clock`), the time of
//!   history events, timers and requests, which may be virtual (`--virtual-clock`,
//!   `cairn run --skip-time`); it reads this one when it is real.
//! - `api/clock.rs`: the `CairnClock.*` test operations that read and move the engine's clock.
//!
//! Kept as `crate::clock` (not renamed) because other modules and branches import
//! `crate::clock::now_ms`; this header is where the difference is stated.
//!
//! Must not be reached from the pure crates: the interpreter gets time through
//! `cairn_core::Ctx`, filled by the writer from the engine's clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch, now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
