//! JSON intrinsics: `States.StringToJson`, `States.JsonToString`, `States.JsonMerge`.

use super::args::Args;
use crate::java_style;
use crate::PathError;
use serde_json::Value;

/// `States.StringToJson(s)`: parse `s`; blank text gives `null` (observed).
pub(crate) fn string_to_json(args: &Args) -> Result<Value, PathError> {
    let s = args.string(0)?;
    if s.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut value: Value = serde_json::from_str(s)
        .map_err(|e| args.fail(format!("cannot parse '{s}' as JSON: {e}")))?;
    // AWS (Jackson) reads the integer `-0` as the integer 0 (observed), serde_json as the
    // float -0.0. Without a float-form negative zero in the text, every -0.0 came from `-0`.
    if !["-0.", "-0e", "-0E"].iter().any(|f| s.contains(f)) {
        integer_zeros(&mut value);
    }
    Ok(value)
}

fn integer_zeros(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => {
            *value = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_zeros),
        Value::Object(members) => members.values_mut().for_each(integer_zeros),
        _ => {}
    }
}

/// `States.JsonToString(v)`: compact JSON text, numbers as Jackson writes them.
pub(crate) fn json_to_string(args: &Args) -> Result<Value, PathError> {
    Ok(Value::String(java_style::to_json_text(args.get(0))))
}

/// `States.JsonMerge(a, b, false)`: shallow merge, members of `b` win; deep merge (`true`) is
/// not supported by AWS.
pub(crate) fn json_merge(args: &Args) -> Result<Value, PathError> {
    let left = args.object(0)?;
    let right = args.object(1)?;
    match args.get(2) {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(args.fail("does not support deep merging (true)")),
        other => {
            return Err(args.fail(format!(
                "expects argument 3 to be the boolean false but was '{other}'"
            )))
        }
    }
    let mut merged = left.clone();
    for (k, v) in right {
        merged.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn args(name: &'static str, values: Vec<Value>) -> Args<'static> {
        Args::new(name, values.into_iter().map(Cow::Owned).collect())
    }

    fn parse(s: &str) -> Result<Value, PathError> {
        string_to_json(&args("States.StringToJson", vec![json!(s)]))
    }

    #[test]
    fn string_to_json_keeps_number_kinds() {
        assert_eq!(parse("-0").unwrap(), json!(0));
        assert!(parse("-0").unwrap().is_i64());
        assert_eq!(parse("[-0, {\"a\": -0}]").unwrap(), json!([0, {"a": 0}]));
        assert_eq!(parse("-0.0").unwrap().to_string(), "-0.0");
        assert_eq!(parse("1").unwrap(), json!(1));
        assert!(parse("1").unwrap().is_i64());
        assert_eq!(parse("1.1").unwrap(), json!(1.1));
        assert_eq!(parse("true").unwrap(), json!(true));
        assert_eq!(
            parse("{\"Arg1\": 1, \"Arg2\": []}").unwrap(),
            json!({"Arg1": 1, "Arg2": []})
        );
        assert_eq!(parse("").unwrap(), json!(null));
        assert_eq!(parse("  ").unwrap(), json!(null));
        assert_eq!(parse("{").unwrap_err().error, "States.IntrinsicFailure");
        assert!(string_to_json(&args("States.StringToJson", vec![json!(1)])).is_err());
    }

    #[test]
    fn json_to_string_is_compact() {
        let s = |v: Value| json_to_string(&args("States.JsonToString", vec![v])).unwrap();
        assert_eq!(s(json!(null)), json!("null"));
        assert_eq!(s(json!(1.1)), json!("1.1"));
        assert_eq!(s(json!(true)), json!("true"));
        assert_eq!(s(json!("HelloWorld")), json!("\"HelloWorld\""));
        assert_eq!(s(json!({"a": 1, "b": []})), json!("{\"a\":1,\"b\":[]}"));
        assert_eq!(s(json!([1e21])), json!("[1.0E21]"));
    }

    #[test]
    fn merge_is_shallow_and_right_wins() {
        let m = |a: Value, b: Value, deep: Value| {
            json_merge(&args("States.JsonMerge", vec![a, b, deep]))
        };
        assert_eq!(
            m(
                json!({"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}),
                json!({"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}),
                json!(false)
            )
            .unwrap(),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4})
        );
        assert!(m(json!({}), json!({}), json!(true)).is_err());
        assert!(m(json!({}), json!({}), json!("false")).is_err());
        assert!(m(json!([]), json!({}), json!(false)).is_err());
    }
}
