//! `States.MathAdd`: both arguments are rounded half up first (Java's `Math.round`, observed:
//! 1.5 → 2, -1.5 → -1, -2.5 → -2) and must lie in the 32-bit signed range, as AWS documents.

use super::args::Args;
use crate::PathError;
use serde_json::Value;

/// Round half up (towards positive infinity), as Java's `Math.round`.
pub(crate) fn round_half_up(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// A rounded argument within `i32`.
pub(crate) fn rounded_i32(args: &Args, i: usize) -> Result<i64, PathError> {
    let v = args.get(i);
    let rounded = match v.as_i64() {
        Some(n) => n as f64,
        None => round_half_up(args.number(i)?),
    };
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&rounded) {
        return Err(args.fail(format!(
            "expects argument {} to be within the 32-bit integer range but was '{v}'",
            i + 1
        )));
    }
    Ok(rounded as i64)
}

pub(crate) fn add(args: &Args) -> Result<Value, PathError> {
    let a = rounded_i32(args, 0)?;
    let b = rounded_i32(args, 1)?;
    Ok(Value::from(a + b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn add_values(a: Value, b: Value) -> Result<Value, PathError> {
        add(&Args::new(
            "States.MathAdd",
            vec![Cow::Owned(a), Cow::Owned(b)],
        ))
    }

    #[test]
    fn rounding_observed_on_aws() {
        for (a, b, sum) in [
            (json!(-9), json!(3), -6),
            (json!(1.49), json!(1.5), 3),
            (json!(-1.5), json!(0), -1),
            (json!(0.5), json!(0), 1),
            (json!(1.5), json!(0), 2),
            (json!(2.5), json!(0), 3),
            (json!(3.5), json!(0), 4),
            (json!(-0.5), json!(0.5), 1),
            (json!(1.5), json!(1.51), 4),
            (json!(-3.5), json!(0), -3),
            (json!(1.49), json!(0), 1),
            (json!(1.49), json!(-1.49), 0),
            (json!(1.51), json!(0), 2),
            (json!(-1.49), json!(0), -1),
        ] {
            let got = add_values(a.clone(), b.clone()).unwrap();
            assert_eq!(got, json!(sum), "{a} + {b}");
            assert!(got.is_i64());
        }
    }

    #[test]
    fn range_and_type_errors() {
        assert_eq!(
            add_values(json!(2147483647), json!(2147483647)).unwrap(),
            json!(4294967294_i64)
        );
        assert!(add_values(json!(2147483648_i64), json!(0)).is_err());
        assert!(add_values(json!("1"), json!(0)).is_err());
        assert!(add_values(json!(null), json!(0)).is_err());
    }
}
