//! Parsing intrinsic calls: `States.Name(arg, …)` where an argument is a single-quoted string
//! (escapes `\'`, `\{`, `\}`, `\\`), a number, `true`/`false`/`null`, a path (`$…`, `$$…`,
//! `$var…`) or a nested call, at most [`MAX_NESTING`] calls deep.
//!
//! Parsing never panics and never evaluates.

use super::{Arg, Call};
use crate::path::parse::parse_path;
use serde_json::Value;

/// The deepest nesting of calls AWS accepts in one field.
pub(crate) const MAX_NESTING: usize = 10;

pub(crate) fn parse_call_text(src: &str) -> Result<Call, String> {
    let mut p = Parser { src, pos: 0 };
    p.skip_spaces();
    let call = p.call(1)?;
    p.skip_spaces();
    if p.pos < src.len() {
        return Err(p.error("unexpected text after the call"));
    }
    Ok(call)
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at position {}", self.pos)
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_NESTING {
            return Err(self.error(&format!(
                "intrinsic functions cannot be nested more than {MAX_NESTING} deep"
            )));
        }
        if !self.src[self.pos..].starts_with("States.") {
            return Err(self.error("expected an intrinsic function 'States.<Name>('"));
        }
        let start = self.pos;
        self.pos += "States.".len();
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name = self.src[start..self.pos].to_string();
        if name.len() == "States.".len() {
            return Err(self.error("expected a function name"));
        }
        self.skip_spaces();
        if self.peek() != Some(b'(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(Call { name, args });
        }
        loop {
            self.skip_spaces();
            args.push(self.arg(depth)?);
            self.skip_spaces();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(Call { name, args });
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some(b'\'') => self.string(),
            Some(b'$') => self.path(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'S') => Ok(Arg::Call(self.call(depth + 1)?)),
            Some(b't' | b'f' | b'n') => self.keyword(),
            _ => Err(self.error("expected an argument")),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        let bytes = self.src.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'\'' => {
                    let raw = &self.src[start..i];
                    self.pos = i + 1;
                    return Ok(Arg::String {
                        raw: raw.to_string(),
                        value: unescape(raw),
                    });
                }
                _ => i += 1,
            }
        }
        Err(self.error("unterminated string literal"))
    }

    /// A path runs to the next `,` or `)` outside brackets and quotes.
    fn path(&mut self) -> Result<Arg, String> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        let mut i = start;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if b == b'\\' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => match b {
                    b'\'' | b'"' => quote = Some(b),
                    b'[' | b'(' => depth += 1,
                    b']' if depth > 0 => depth -= 1,
                    b')' if depth > 0 => depth -= 1,
                    b',' | b')' if depth == 0 => break,
                    _ => {}
                },
            }
            i += 1;
        }
        let i = i.min(bytes.len());
        let text = self.src[start..i].trim_end();
        let parsed = parse_path(text).map_err(|e| format!("invalid path '{text}': {e}"))?;
        self.pos = start + text.len();
        Ok(Arg::Path {
            text: text.to_string(),
            path: parsed,
        })
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        self.pos += 1;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
        ) {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        serde_json::from_str::<serde_json::Number>(text)
            .map(|n| Arg::Literal(Value::Number(n)))
            .map_err(|_| format!("invalid number '{text}' at position {start}"))
    }

    fn keyword(&mut self) -> Result<Arg, String> {
        for (word, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.src[self.pos..].starts_with(word) {
                let end = self.pos + word.len();
                let next = self.src.as_bytes().get(end);
                if next.is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_') {
                    self.pos = end;
                    return Ok(Arg::Literal(value));
                }
            }
        }
        Err(self.error("expected an argument"))
    }
}

/// The value of a string literal: `\'`, `\{`, `\}` and `\\` lose their backslash; any other
/// backslash is kept as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next @ ('\'' | '{' | '}' | '\\')) = chars.peek() {
                out.push(next);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Root;

    #[test]
    fn parses_names_and_argument_kinds() {
        let call =
            parse_call_text("States.Format('a {}', $.x, 1, -2.5, true, false, null)").unwrap();
        assert_eq!(call.name, "States.Format");
        assert_eq!(call.args.len(), 7);
        assert!(matches!(&call.args[0], Arg::String { value, .. } if value == "a {}"));
        assert!(matches!(&call.args[1], Arg::Path { text, .. } if text == "$.x"));
        assert_eq!(call.args[2], Arg::Literal(serde_json::json!(1)));
        assert_eq!(call.args[3], Arg::Literal(serde_json::json!(-2.5)));
        assert_eq!(call.args[4], Arg::Literal(Value::Bool(true)));
        assert_eq!(call.args[6], Arg::Literal(Value::Null));
    }

    #[test]
    fn string_escapes() {
        let call = parse_call_text(r"States.Array('it\'s', '\{\}', 'a\\b', 'x\ny')").unwrap();
        let values: Vec<&str> = call
            .args
            .iter()
            .map(|a| match a {
                Arg::String { value, .. } => value.as_str(),
                _ => panic!("not a string"),
            })
            .collect();
        assert_eq!(values, vec!["it's", "{}", r"a\b", r"x\ny"]);
        assert!(matches!(&call.args[1], Arg::String { raw, .. } if raw == r"\{\}"));
    }

    #[test]
    fn paths_with_brackets_commas_and_roots() {
        let call =
            parse_call_text("States.Array($['a,b'], $.c[?(@.d == 'x)')], $$.Execution.Id, $v)")
                .unwrap();
        let texts: Vec<&str> = call
            .args
            .iter()
            .map(|a| match a {
                Arg::Path { text, .. } => text.as_str(),
                _ => panic!("not a path"),
            })
            .collect();
        assert_eq!(
            texts,
            vec!["$['a,b']", "$.c[?(@.d == 'x)')]", "$$.Execution.Id", "$v"]
        );
        assert!(
            matches!(&call.args[3], Arg::Path { path, .. } if path.root == Root::Variable("v".into()))
        );
    }

    #[test]
    fn nesting_and_spaces() {
        let call = parse_call_text(
            "  States.ArrayGetItem( States.StringSplit($$.StateMachine.Name, '-') , 0 ) ",
        )
        .unwrap();
        assert!(matches!(&call.args[0], Arg::Call(inner) if inner.name == "States.StringSplit"));
        assert_eq!(parse_call_text("States.UUID()").unwrap().args.len(), 0);
    }

    #[test]
    fn nesting_limit() {
        let nested = |n: usize| {
            let mut s = "States.Array()".to_string();
            for _ in 1..n {
                s = format!("States.Array({s})");
            }
            s
        };
        assert!(parse_call_text(&nested(MAX_NESTING)).is_ok());
        assert!(parse_call_text(&nested(MAX_NESTING + 1)).is_err());
    }

    #[test]
    fn rejects_malformed_calls() {
        for bad in [
            "",
            "States.",
            "States.Format",
            "States.Format(",
            "States.Format('a'",
            "States.Format('a',)",
            "States.Format(,)",
            "Format('a')",
            "States.Format('a') x",
            "States.Array(tru)",
            "States.Array(truex)",
            "States.Array(1 2)",
            "States.Array(\"a\")",
            "States.Array($.a b)",
            "States.Array(--1)",
            "States.Array('unterminated)",
        ] {
            assert!(parse_call_text(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
