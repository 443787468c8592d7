//! Values crossing between `serde_json` and jsonata-core, with JSONata-js's number rules.
//!
//! Owns the result side of AWS's behaviour: a number that is integral stays an integer
//! (`1.0` → `1`, `$parse("-0")` → `0`), `undefined` inside an object drops the key and
//! inside an array becomes `null` (as `JSON.stringify` does), and a function anywhere in a
//! result is "an unsupported result type". It must not evaluate anything.

use jsonata_core::value::JValue;
use serde_json::{Map, Number, Value};

/// A result that JSON cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

pub(crate) fn to_jvalue(value: &Value) -> JValue {
    JValue::from(value.clone())
}

/// Convert a JSONata result; `Ok(None)` is `undefined`.
pub(crate) fn from_jvalue(value: &JValue) -> Result<Option<Value>, Unsupported> {
    jsonata_core::value::with_stack(|| match value {
        JValue::Undefined => Ok(None),
        JValue::Null => Ok(Some(Value::Null)),
        JValue::Bool(b) => Ok(Some(Value::Bool(*b))),
        JValue::Number(n) => Ok(Some(number(*n))),
        JValue::String(s) => Ok(Some(Value::String(s.to_string()))),
        JValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(from_jvalue(item)?.unwrap_or(Value::Null));
            }
            Ok(Some(Value::Array(out)))
        }
        JValue::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter() {
                if let Some(v) = from_jvalue(v)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => Err(Unsupported),
    })
}

/// A JSON number the way JSONata-js prints it: integral values as integers.
pub(crate) fn number(n: f64) -> Value {
    if !n.is_finite() {
        // JSONata raises D1001 before an infinite number escapes; JSON has no NaN.
        return Value::Null;
    }
    if n.fract() == 0.0 {
        // -0 prints as 0 in JavaScript.
        if n.abs() < 9_223_372_036_854_775_808.0 {
            return Value::Number(Number::from(n as i64));
        }
        if n > 0.0 && n < 18_446_744_073_709_551_616.0 {
            return Value::Number(Number::from(n as u64));
        }
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_numbers_stay_integers() {
        assert_eq!(number(1.0).to_string(), "1");
        assert_eq!(number(-0.0).to_string(), "0");
        assert_eq!(number(1.5).to_string(), "1.5");
        assert_eq!(number(1e19).to_string(), "10000000000000000000");
    }

    #[test]
    fn undefined_drops_keys_and_nulls_array_slots() {
        let mut m = indexmap_of(&[("a", JValue::Undefined), ("b", JValue::Number(2.0))]);
        let v = from_jvalue(&std::mem::replace(&mut m, JValue::Null)).unwrap();
        assert_eq!(v, Some(json!({"b": 2})));
        let arr = JValue::array(vec![JValue::Undefined, JValue::Bool(true)]);
        assert_eq!(from_jvalue(&arr).unwrap(), Some(json!([null, true])));
    }

    fn indexmap_of(pairs: &[(&str, JValue)]) -> JValue {
        let mut v = JValue::from(json!({}));
        let map = v.as_object_mut().unwrap();
        for (k, x) in pairs {
            map.insert((*k).to_string(), x.clone());
        }
        v
    }
}
