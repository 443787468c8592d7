//! String intrinsics: `States.Format` and `States.StringSplit`.

use super::args::Args;
use crate::java_style;
use crate::PathError;
use serde_json::Value;

/// One piece of a format template.
enum Piece<'t> {
    Text(&'t str),
    Char(char),
    Placeholder,
}

/// Split a template into literal text and `{}` placeholders; `\{`, `\}`, `\'` and `\\` are
/// literal characters.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let bytes = template.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(&c @ (b'{' | b'}' | b'\'' | b'\\'))) => {
                out.push(Piece::Text(&template[start..i]));
                out.push(Piece::Char(c as char));
                i += 2;
                start = i;
            }
            (b'{', Some(b'}')) => {
                out.push(Piece::Text(&template[start..i]));
                out.push(Piece::Placeholder);
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(Piece::Text(&template[start..]));
    out
}

/// `States.Format(template, v…)`: each `{}` takes the next argument; strings go in raw, other
/// values as Java renders them (`{Arg1=1, Arg2=[]}` for objects, observed).
/// `raw_template` is the literal template as written, escapes intact, when there is one.
pub(crate) fn format(args: &Args, raw_template: Option<&str>) -> Result<Value, PathError> {
    let template = match raw_template {
        Some(raw) => raw,
        None => args.string(0)?,
    };
    let pieces = pieces(template);
    let placeholders = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Placeholder))
        .count();
    let values = args.len() - 1;
    if placeholders != values {
        return Err(args.fail(format!(
            "has {placeholders} placeholder(s) in its template but was given {values} value(s)"
        )));
    }
    let mut out = String::with_capacity(template.len());
    let mut next = 1;
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Char(c) => out.push(c),
            Piece::Placeholder => {
                match args.get(next) {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&java_style::to_java_string(other)),
                }
                next += 1;
            }
        }
    }
    Ok(Value::String(out))
}

/// `States.StringSplit(s, delimiters)`: every character of `delimiters` separates; empty
/// tokens are dropped (observed: `",,,,"` → `[]`).
pub(crate) fn string_split(args: &Args) -> Result<Value, PathError> {
    let s = args.string(0)?;
    let delimiters = args.string(1)?;
    Ok(Value::Array(
        s.split(|c| delimiters.contains(c))
            .filter(|token| !token.is_empty())
            .map(|token| Value::String(token.to_string()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn format_with(raw: Option<&str>, values: Vec<Value>) -> Result<Value, PathError> {
        let args = Args::new(
            "States.Format",
            values.into_iter().map(Cow::Owned).collect(),
        );
        format(&args, raw)
    }

    fn fmt(template: &str, values: Vec<Value>) -> Value {
        let mut all = vec![json!(template)];
        all.extend(values);
        format_with(Some(template), all).unwrap()
    }

    #[test]
    fn format_renders_each_type_like_aws() {
        let t = "Formatting argument {}.";
        assert_eq!(fmt(t, vec![json!("")]), json!("Formatting argument ."));
        assert_eq!(fmt(t, vec![json!(" ")]), json!("Formatting argument  ."));
        assert_eq!(
            fmt(t, vec![json!(null)]),
            json!("Formatting argument null.")
        );
        assert_eq!(fmt(t, vec![json!(1.1)]), json!("Formatting argument 1.1."));
        assert_eq!(
            fmt(t, vec![json!("{\"Arg1\": 1, \"Arg2\": []}")]),
            json!("Formatting argument {\"Arg1\": 1, \"Arg2\": []}.")
        );
        assert_eq!(
            fmt(
                "fst={} and snd={}.",
                vec![
                    json!({"Arg1": 1, "Arg2": []}),
                    json!({"Arg1": 1, "Arg2": []})
                ]
            ),
            json!("fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.")
        );
        assert_eq!(
            fmt("{}{}", vec![json!(true), json!([1, "a"])]),
            json!("true[1, a]")
        );
    }

    #[test]
    fn format_escapes_are_literal_braces() {
        assert_eq!(fmt(r"\{\} {}", vec![json!(1)]), json!("{} 1"));
        assert_eq!(fmt(r"a\\{}", vec![json!(1)]), json!(r"a\1"));
        assert_eq!(fmt(r"it\'s {}", vec![json!("x")]), json!("it's x"));
        assert_eq!(fmt(r"\n {}", vec![json!("x")]), json!(r"\n x"));
    }

    #[test]
    fn format_counts_must_match() {
        let err = format_with(Some("{} {}"), vec![json!("{} {}"), json!(1)]).unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
        assert!(format_with(Some("none"), vec![json!("none"), json!(1)]).is_err());
        assert!(format_with(None, vec![json!(5)]).is_err());
        assert_eq!(
            format_with(None, vec![json!("{}!"), json!("hi")]).unwrap(),
            json!("hi!")
        );
    }

    fn split(s: &str, d: &str) -> Value {
        let args = Args::new(
            "States.StringSplit",
            vec![Cow::Owned(json!(s)), Cow::Owned(json!(d))],
        );
        string_split(&args).unwrap()
    }

    #[test]
    fn split_on_any_delimiter_dropping_empties() {
        assert_eq!(split(" ", ","), json!([" "]));
        assert_eq!(split(" , ", ","), json!([" ", " "]));
        assert_eq!(split(",,,,", ","), json!([]));
        assert_eq!(
            split("split on T and \nnew line", "T\n"),
            json!(["split on ", " and ", "new line"])
        );
        assert_eq!(split("Hello\nWorld", "\n"), json!(["Hello", "World"]));
        assert_eq!(split("abc", ""), json!(["abc"]));
        assert_eq!(split("", ","), json!([]));
    }
}
