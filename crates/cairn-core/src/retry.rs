//! Retry (ASL.md §9.2): which retrier applies to a failure and how long to wait.
//!
//! The first retrier whose ErrorEquals matches decides; once it is used up no other
//! retrier is tried. Jitter comes from the step's entropy, never from a random source.

use crate::errors::Failure;
use cairn_asl::{JitterStrategy, Retrier};

/// The delay in ms before the next attempt, or `None` when the failure is not retried.
/// `attempts` holds the attempts used per retrier and is updated.
pub(crate) fn next_delay_ms(
    retriers: &[Retrier],
    attempts: &mut Vec<u32>,
    failure: &Failure,
    entropy: u64,
) -> Option<i64> {
    if failure.terminal {
        return None;
    }
    let idx = retriers
        .iter()
        .position(|r| failure.matches(&r.error_equals))?;
    if attempts.len() < retriers.len() {
        attempts.resize(retriers.len(), 0);
    }
    let r = &retriers[idx];
    let used = attempts[idx];
    if u64::from(used) >= r.max_attempts {
        return None;
    }
    attempts[idx] = used + 1;
    let mut seconds = r.interval_seconds as f64 * r.backoff_rate.powi(used as i32);
    if let Some(max) = r.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    let mut ms = (seconds * 1000.0).round();
    if r.jitter_strategy == JitterStrategy::Full {
        let unit = (mix(entropy) >> 11) as f64 / (1u64 << 53) as f64;
        ms = (ms * unit).floor();
    }
    Some(ms.min(i64::MAX as f64) as i64)
}

/// SplitMix64 finaliser: spreads a seed over all bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(errors: &[&str], max: u64) -> Retrier {
        Retrier {
            error_equals: errors.iter().map(|s| s.to_string()).collect(),
            max_attempts: max,
            ..Retrier::default()
        }
    }

    #[test]
    fn backoff_grows_and_stops() {
        let rs = vec![retrier(&["E"], 3)];
        let f = Failure::new(Some("E".into()), None);
        let mut a = Vec::new();
        assert_eq!(next_delay_ms(&rs, &mut a, &f, 0), Some(1000));
        assert_eq!(next_delay_ms(&rs, &mut a, &f, 0), Some(2000));
        assert_eq!(next_delay_ms(&rs, &mut a, &f, 0), Some(4000));
        assert_eq!(next_delay_ms(&rs, &mut a, &f, 0), None);
    }

    #[test]
    fn first_matching_retrier_decides() {
        let rs = vec![retrier(&["E"], 0), retrier(&["States.ALL"], 5)];
        let f = Failure::new(Some("E".into()), None);
        assert_eq!(next_delay_ms(&rs, &mut Vec::new(), &f, 0), None);
    }

    #[test]
    fn max_delay_caps_and_jitter_stays_below() {
        let mut r = retrier(&["States.ALL"], 10);
        r.interval_seconds = 10;
        r.max_delay_seconds = Some(15);
        let rs = vec![r.clone()];
        let f = Failure::new(Some("E".into()), None);
        let mut a = vec![3];
        assert_eq!(next_delay_ms(&rs, &mut a, &f, 0), Some(15_000));
        r.jitter_strategy = JitterStrategy::Full;
        let rs = vec![r];
        for seed in 0..50 {
            let d = next_delay_ms(&rs, &mut vec![0], &f, seed).unwrap();
            assert!((0..=10_000).contains(&d));
        }
    }

    #[test]
    fn runtime_errors_are_never_retried() {
        let rs = vec![retrier(&["States.ALL"], 3), retrier(&["States.Runtime"], 3)];
        let f = Failure::runtime("S", 2, "x");
        assert_eq!(next_delay_ms(&rs, &mut Vec::new(), &f, 0), None);
    }
}
