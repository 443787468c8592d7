//! How AWS's Java runtime renders JSON values in text, reproduced because it leaks into
//! observable output: `States.Format` prints objects as `{Arg1=1, Arg2=[]}` (a Java `Map`'s
//! `toString`), and Jayway's path errors name Java classes.
//!
//! Only rendering lives here; no evaluation.

use serde_json::Value;

/// The JSON provider class Jayway names in "not a json object" messages (AWS's choice of
/// provider is not observed; Jackson is the likeliest).
pub(crate) const JSON_PROVIDER: &str = "com.jayway.jsonpath.spi.json.JacksonJsonProvider";

/// The Java class a value maps to under Jackson's untyped binding.
pub(crate) fn class_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => "java.lang.Integer",
            Some(_) => "java.lang.Long",
            None => "java.math.BigInteger",
        },
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

/// Java's `toString` of the bound value: strings raw, numbers and literals as JSON text,
/// lists `[a, b]`, maps `{k=v, k2=v2}`.
pub(crate) fn to_java_string(value: &Value) -> String {
    let mut out = String::new();
    write_java(&mut out, value);
    out
}

fn write_java(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java(out, v);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_and_lists_render_like_java() {
        assert_eq!(
            to_java_string(&json!({"Arg1": 1, "Arg2": []})),
            "{Arg1=1, Arg2=[]}"
        );
        assert_eq!(
            to_java_string(&json!([1, "a", null, {"k": [true, 1.5]}])),
            "[1, a, null, {k=[true, 1.5]}]"
        );
        assert_eq!(to_java_string(&json!("raw \"text\"")), "raw \"text\"");
        assert_eq!(to_java_string(&json!(1.1)), "1.1");
    }

    #[test]
    fn class_names_follow_jackson_binding() {
        assert_eq!(class_name(&json!("s")), "java.lang.String");
        assert_eq!(class_name(&json!(1)), "java.lang.Integer");
        assert_eq!(class_name(&json!(5_000_000_000_i64)), "java.lang.Long");
        assert_eq!(class_name(&json!(1.5)), "java.lang.Double");
        assert_eq!(class_name(&json!([])), "java.util.ArrayList");
        assert_eq!(class_name(&json!(null)), "null");
    }
}
