//! Failing fast while the PostgreSQL server is unreachable.
//!
//! Owns: telling unreachability apart from other database errors (the marker [`UNREACHABLE`]
//! that `From<sqlx::Error>` puts on them) and, once a call found the server unreachable,
//! refusing further calls at once until the next probe is due ([`PROBE_EVERY`]): one call then
//! goes through as the probe, and the first call that succeeds closes the breaker.
//! Without it, every call during an outage waits out the pool's acquire timeout while sqlx
//! keeps trying to connect, and the writer, which commits one batch at a time, makes each
//! caller wait for several of those in a row.
//! Must not: refuse anything for another reason, retry anything (the writer holds reply-less
//! inputs and retries them; callers get their error), or hold its lock during a call.

use crate::StoreError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the message of an error meaning "the server cannot be reached" begins.
pub const UNREACHABLE: &str = "PostgreSQL is unreachable";
/// While the server is unreachable, one call in this long goes through to try it.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Whether a sqlx error means the server cannot be reached, as opposed to an error in what
/// was asked. Only the pool's timeout counts: sqlx answers it after trying to connect (again
/// and again: refused, or the server starting or stopping) for the whole acquire timeout. A
/// single connection cut (a server restarting, a backend ended) is not enough: the next call
/// opens a new one, and a healthy server must not be cut off for a second over it.
pub fn unreachable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut)
}

/// Open (calls refused at once) from a call that found the server unreachable until the
/// next probe succeeds.
#[derive(Default)]
pub struct Breaker {
    /// `Some(when the next probe may go)` while open.
    next_probe: Mutex<Option<Instant>>,
}

impl Breaker {
    /// `Err` when the call must not go to the server now; otherwise the call goes (as the
    /// probe, if the breaker is open: later callers are refused until it is answered or the
    /// next probe is due).
    pub fn admit(&self) -> Result<(), StoreError> {
        let mut next = self.next_probe.lock().unwrap_or_else(|e| e.into_inner());
        match *next {
            None => Ok(()),
            Some(at) => {
                let now = Instant::now();
                if now < at {
                    Err(StoreError::Database(format!(
                        "{UNREACHABLE} (calls fail at once until it answers again; next try in {} ms)",
                        (at - now).as_millis()
                    )))
                } else {
                    *next = Some(now + PROBE_EVERY);
                    Ok(())
                }
            }
        }
    }

    /// What a call that went through found.
    pub fn record<T>(&self, outcome: &Result<T, StoreError>) {
        let mut next = self.next_probe.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(_) => *next = None,
            Err(StoreError::Database(m)) if m.starts_with(UNREACHABLE) => {
                *next = Some(Instant::now() + PROBE_EVERY)
            }
            // Any other answer came from the server: it is reachable.
            Err(_) => *next = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> Result<(), StoreError> {
        Err(StoreError::Database(format!(
            "{UNREACHABLE}: pool timed out"
        )))
    }

    #[test]
    fn after_an_unreachable_server_calls_fail_at_once_until_a_probe_succeeds() {
        let b = Breaker::default();
        assert!(b.admit().is_ok());
        b.record(&down());
        let refused = b.admit().expect_err("refused while open");
        assert!(refused.to_string().contains(UNREACHABLE), "{refused}");
        // The probe is due: one call goes, the next is refused while it runs.
        *b.next_probe.lock().unwrap() = Some(Instant::now());
        assert!(b.admit().is_ok());
        assert!(b.admit().is_err());
        b.record(&Ok(()));
        assert!(b.admit().is_ok());
    }

    #[test]
    fn other_errors_leave_it_closed() {
        let b = Breaker::default();
        b.record::<()>(&Err(StoreError::Database("duplicate key".into())));
        assert!(b.admit().is_ok());
    }
}
