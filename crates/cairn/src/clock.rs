//! The wall clock of the runtime and the API, in epoch milliseconds, defined once.
//!
//! Must not be reached from the pure crates: the interpreter gets time through
//! `cairn_core::Ctx`, filled from here by the writer.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch, now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
