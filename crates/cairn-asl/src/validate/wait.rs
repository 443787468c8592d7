//! Wait: exactly one of `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath` (JSONata:
//! `Seconds` or `Timestamp`, each a literal or an expression).
//!
//! `Seconds` is a non-negative integer ≤ 99,999,999 (0 allowed). A literal `Timestamp` must be
//! an ISO-8601 date-time with `T` and an offset or `Z` (`2016-03-14T01:59:00Z`, fractional
//! seconds allowed) — the same format the runtime accepts (ASL digest §3); refusing a
//! malformed literal at create time is our choice (AWS's create-time behaviour unverified).
//!
//! Must not: compute delays.

use super::context::{at, Cx};
use super::{jsonata, paths, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

const DURATION: [&str; 4] = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    let present = DURATION.iter().filter(|f| state.contains_key(**f)).count();
    match present {
        0 => cx.schema(
            format!(
                "Exactly one of these fields is required: [{}]",
                DURATION.join(", ")
            ),
            location,
        ),
        1 => {}
        _ => cx.only_one_of(&DURATION, location),
    }

    if !jsonata::dynamic(ql, state.get("Seconds")) {
        values::integer(cx, state, "Seconds", location, 0, Some(values::MAX_SECONDS));
    }
    if !jsonata::dynamic(ql, state.get("Timestamp")) {
        if let Some(ts) = values::string(cx, state, "Timestamp", location) {
            if !is_timestamp(ts) {
                cx.schema(
                    "The value for the field 'Timestamp' must be an ISO-8601 extended offset date-time format string",
                    at(location, "Timestamp"),
                );
            }
        }
    }
    if ql == QueryLanguage::JsonPath {
        for field in ["SecondsPath", "TimestampPath"] {
            if let Some(value) = state.get(field) {
                paths::reference_path(cx, value, field, &at(location, field), true);
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let number = |range: std::ops::Range<usize>| -> u32 {
        s.get(range)
            .and_then(|d| d.parse().ok())
            .unwrap_or(u32::MAX)
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    if !(1..=12).contains(&number(5..7))
        || !(1..=31).contains(&number(8..10))
        || number(11..13) > 23
        || number(14..16) > 59
        || number(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}
