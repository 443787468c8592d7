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
        Value::Number(n) => out.push_str(&number_text(n)),
        other => out.push_str(&other.to_string()),
    }
}

/// A number as Jackson writes it: integers as is, floating-point numbers as Java's
/// `Double.toString` (`100.0`, `1.0E20`, `1.0E-4`).
pub(crate) fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => java_double(f),
        _ => n.to_string(),
    }
}

/// Java's `Double.toString` for a finite value: plain notation when 10^-3 <= |x| < 10^7,
/// otherwise `d.dddE<exp>`; always at least one digit after the point. The digits are the
/// shortest that read back to the same value (Rust's and modern Java's choice alike).
pub(crate) fn java_double(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_string();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-3..7).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int_part, frac) = padded.split_at(int_len);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{sign}{int_part}.{frac}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

/// Compact JSON text as Jackson writes it (`States.JsonToString`): like serde_json's compact
/// form, except floating-point numbers, which follow [`number_text`].
pub(crate) fn to_json_text(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_json(out, v);
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
    fn doubles_render_like_java() {
        for (x, text) in [
            (1.1, "1.1"),
            (100.0, "100.0"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (1e20, "1.0E20"),
            (-1.5e-7, "-1.5E-7"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (123.456, "123.456"),
        ] {
            assert_eq!(java_double(x), text, "{x}");
        }
        assert_eq!(to_java_string(&json!(7)), "7");
        assert_eq!(to_java_string(&json!([1e20, 2])), "[1.0E20, 2]");
    }

    #[test]
    fn json_text_is_compact_with_java_doubles() {
        assert_eq!(
            to_json_text(&json!({"a": [1, 2.0, 1e-5], "b\"": "q\"\n", "c": null})),
            "{\"a\":[1,2.0,1.0E-5],\"b\\\"\":\"q\\\"\\n\",\"c\":null}"
        );
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
