//! Randomness: `States.MathRandom` and `States.UUID`.
//!
//! Unseeded draws step the caller's entropy cell with splitmix64, so repeated calls differ
//! while a whole evaluation replays identically from the recorded seed. A seeded
//! `States.MathRandom` depends on its seed only.

use super::args::Args;
use super::math::rounded_i32;
use crate::PathError;
use serde_json::Value;
use std::cell::Cell;

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The next splitmix64 output, advancing the cell.
pub(crate) fn next_u64(entropy: &Cell<u64>) -> u64 {
    let state = entropy.get().wrapping_add(GOLDEN_GAMMA);
    entropy.set(state);
    mix(state)
}

/// `States.MathRandom(start, end[, seed])`: an integer in `[start, end)` (AWS documents
/// "between"; end-exclusive as Java's `Random.nextInt` bound is an inference). Non-integers are
/// rounded half up.
pub(crate) fn math_random(args: &Args, entropy: &Cell<u64>) -> Result<Value, PathError> {
    let start = rounded_i32(args, 0)?;
    let end = rounded_i32(args, 1)?;
    if end < start {
        return Err(args.fail(format!(
            "expects the start ({start}) to be at most the end ({end})"
        )));
    }
    let draw = if args.len() == 3 {
        let seed = args.integer(2)?;
        mix((seed as u64).wrapping_add(GOLDEN_GAMMA))
    } else {
        next_u64(entropy)
    };
    let span = (end - start) as u64;
    let offset = if span == 0 { 0 } else { draw % span };
    Ok(Value::from(start + offset as i64))
}

/// `States.UUID()`: a version-4 UUID in lowercase 8-4-4-4-12 form.
pub(crate) fn uuid(entropy: &Cell<u64>) -> Value {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_u64(entropy).to_be_bytes());
    bytes[8..].copy_from_slice(&next_u64(entropy).to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn random(values: Vec<Value>, entropy: &Cell<u64>) -> Result<Value, PathError> {
        let args = Args::new(
            "States.MathRandom",
            values.into_iter().map(Cow::Owned).collect(),
        );
        math_random(&args, entropy)
    }

    #[test]
    fn unseeded_draws_stay_in_range_and_vary() {
        let entropy = Cell::new(42);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let v = random(vec![json!(12.5), json!(44.51)], &entropy)
                .unwrap()
                .as_i64()
                .unwrap();
            assert!((13..45).contains(&v), "{v}");
            seen.insert(v);
        }
        assert!(seen.len() > 10);
    }

    #[test]
    fn unseeded_draws_replay_from_the_same_entropy() {
        let draw = |seed| {
            let e = Cell::new(seed);
            (0..5)
                .map(|_| random(vec![json!(0), json!(1_000_000)], &e).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn seeded_draws_depend_on_the_seed_only() {
        let a = random(vec![json!(0), json!(999), json!(3)], &Cell::new(1)).unwrap();
        let b = random(vec![json!(0), json!(999), json!(3)], &Cell::new(2)).unwrap();
        assert_eq!(a, b);
        let values: std::collections::HashSet<_> = (0..20)
            .map(|seed| {
                random(vec![json!(0), json!(1_000_000), json!(seed)], &Cell::new(0))
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(values.len() > 1);
    }

    #[test]
    fn bounds_checks() {
        let e = Cell::new(0);
        assert_eq!(random(vec![json!(5), json!(5)], &e).unwrap(), json!(5));
        assert!(random(vec![json!(6), json!(5)], &e).is_err());
        assert!(random(vec![json!("a"), json!(5)], &e).is_err());
        assert!(random(vec![json!(0), json!(5), json!(1.5)], &e).is_err());
    }

    #[test]
    fn uuids_are_v4_and_distinct() {
        let e = Cell::new(0);
        let a = uuid(&e);
        let b = uuid(&e);
        assert_ne!(a, b);
        let s = a.as_str().unwrap();
        assert_eq!(s.len(), 36);
        let parts: Vec<&str> = s.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(s
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(uuid(&Cell::new(9)), uuid(&Cell::new(9)));
    }
}
