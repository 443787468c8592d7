//! Typed scalar fields: integers with AWS's ranges, numbers, strings, booleans, enums and
//! mutually exclusive groups.
//!
//! Integers must be written as JSON integers: `5.0` is refused (AWS's schema says INTEGER,
//! and the parser reads these fields with `as_u64`, so accepting `5.0` would silently fall
//! back to a default at run time). Range messages follow AWS's observed wording
//! (`Maximum value is 99999999 at /States/Wait/Seconds`).
//!
//! Must not: know which state owns a field — callers pass the field name and location.

use super::context::{at, Cx, Kind};
use serde_json::{Map, Value};

/// The upper bound AWS puts on TimeoutSeconds, HeartbeatSeconds, Wait Seconds, Retry
/// IntervalSeconds and MaxAttempts.
pub const MAX_SECONDS: i64 = 99_999_999;

/// Read `obj[field]` as an integer in `min..=max` (`max` = None: unbounded). Reports a wrong
/// type or a bound, and returns the value only when it is valid.
pub fn integer(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    field: &str,
    location: &str,
    min: i64,
    max: Option<i64>,
) -> Option<i64> {
    let value = obj.get(field)?;
    integer_value(cx, value, field, &at(location, field), min, max)
}

/// Like [`integer`] for a value already taken out of its object; `location` is the value's own.
pub fn integer_value(
    cx: &mut Cx,
    value: &Value,
    field: &str,
    location: &str,
    min: i64,
    max: Option<i64>,
) -> Option<i64> {
    let n = match value {
        Value::Number(n) if n.is_i64() => n.as_i64()?,
        // Larger than i64: certainly above any bound we use.
        Value::Number(n) if n.is_u64() => i64::MAX,
        _ => {
            cx.wrong_kind(field, Kind::Integer, value, location);
            return None;
        }
    };
    if n < min {
        cx.schema(format!("Minimum value is {min}"), location);
        return None;
    }
    if let Some(max) = max {
        if n > max {
            cx.schema(format!("Maximum value is {max}"), location);
            return None;
        }
    }
    Some(n)
}

/// Read `obj[field]` as a number in `min..=max`; messages print bounds as decimals
/// (`Minimum value is 1.0`).
pub fn number(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    field: &str,
    location: &str,
    min: f64,
    max: Option<f64>,
) -> Option<f64> {
    let value = obj.get(field)?;
    let location = at(location, field);
    let Some(n) = value.as_f64() else {
        cx.wrong_kind(field, Kind::Number, value, &location);
        return None;
    };
    if n < min {
        cx.schema(format!("Minimum value is {min:?}"), &location);
        return None;
    }
    if let Some(max) = max {
        if n > max {
            cx.schema(format!("Maximum value is {max:?}"), &location);
            return None;
        }
    }
    Some(n)
}

/// Read `obj[field]` as a string; reports any other type.
pub fn string<'a>(
    cx: &mut Cx,
    obj: &'a Map<String, Value>,
    field: &str,
    location: &str,
) -> Option<&'a str> {
    let value = obj.get(field)?;
    match value {
        Value::String(s) => Some(s),
        other => {
            cx.wrong_kind(field, Kind::String, other, &at(location, field));
            None
        }
    }
}

pub fn boolean(cx: &mut Cx, obj: &Map<String, Value>, field: &str, location: &str) -> Option<bool> {
    let value = obj.get(field)?;
    match value {
        Value::Bool(b) => Some(*b),
        other => {
            cx.wrong_kind(field, Kind::Boolean, other, &at(location, field));
            None
        }
    }
}

/// `obj[field]` must be an object; returns it.
pub fn object<'a>(
    cx: &mut Cx,
    obj: &'a Map<String, Value>,
    field: &str,
    location: &str,
) -> Option<&'a Map<String, Value>> {
    let value = obj.get(field)?;
    match value {
        Value::Object(o) => Some(o),
        other => {
            cx.wrong_kind(field, Kind::Object, other, &at(location, field));
            None
        }
    }
}

/// `obj[field]` must be an array; returns it.
pub fn array<'a>(
    cx: &mut Cx,
    obj: &'a Map<String, Value>,
    field: &str,
    location: &str,
) -> Option<&'a Vec<Value>> {
    let value = obj.get(field)?;
    match value {
        Value::Array(a) => Some(a),
        other => {
            cx.wrong_kind(field, Kind::Array, other, &at(location, field));
            None
        }
    }
}

/// `obj[field]` must be one of `values` (case-sensitive).
pub fn one_of<'a>(
    cx: &mut Cx,
    obj: &'a Map<String, Value>,
    field: &str,
    values: &[&str],
    location: &str,
) -> Option<&'a str> {
    let s = string(cx, obj, field, location)?;
    if values.contains(&s) {
        Some(s)
    } else {
        cx.enum_values(field, values, &at(location, field));
        None
    }
}

/// At most one member of `group` may be present; reports the group at `location` (the
/// owning object) otherwise. Returns how many are present.
pub fn exclusive(cx: &mut Cx, obj: &Map<String, Value>, group: &[&str], location: &str) -> usize {
    let present = group.iter().filter(|f| obj.contains_key(**f)).count();
    if present > 1 {
        cx.only_one_of(group, location);
    }
    present
}

/// Report every member of `obj` whose name is not in `allowed` as unsupported at `location`.
pub fn only_fields(cx: &mut Cx, obj: &Map<String, Value>, allowed: &[&str], location: &str) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            cx.not_supported(key, location);
        }
    }
}
