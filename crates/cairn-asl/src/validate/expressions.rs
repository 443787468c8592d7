//! JSONata expressions (`"{% … %}"`) of JSONata states: where they stand, and a lexical check
//! of each body.
//!
//! AWS parses every expression at create time and refuses the definition with
//! `INVALID_JSONATA_EXPRESSION` (does not parse) or `UNSUPPORTED_JSONATA_EXPRESSION` (e.g.
//! `Reference to 'phone' at the top level is not supported.` at `/States/E/Output/v`: the
//! context item is empty in Step Functions, data comes from `$states.input` or variables).
//! Both codes and the top-level wording were measured by another emulator against AWS.
//!
//! This crate has no JSONata parser, so the check is lexical and deliberately conservative —
//! it only refuses what cannot be valid:
//! - an empty body, an unterminated string / quoted name / comment / regex, unbalanced or
//!   mismatched brackets, a binary operator without right operand (`1 +`, `{"a":}`)
//!   (`INVALID_JSONATA_EXPRESSION`, our wording);
//! - a bare name (not `$…`, not a keyword) used where it would read the top-level context
//!   item: not after `.`, not inside a predicate `[…]`, a step block `.( … )` or a group-by
//!   `{…}` that follows a value (`UNSUPPORTED_JSONATA_EXPRESSION`, AWS's wording).
//!
//! Must not: evaluate expressions or judge their types.

use super::context::{at, Cx};
use crate::model::jsonata_expression;
use serde_json::{Map, Value};

pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
pub const UNSUPPORTED_JSONATA_EXPRESSION: &str = "UNSUPPORTED_JSONATA_EXPRESSION";

/// Members of a state (or rule, catcher) that never hold expressions, or hold nested scopes
/// checked on their own.
const NOT_EVALUATED: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Next",
    "End",
    "Default",
    "Resource",
    "Label",
    "ErrorEquals",
    "Branches",
    "ItemProcessor",
    "Iterator",
];

/// Check every expression of a JSONata state.
pub fn check_state(cx: &mut Cx, state: &Map<String, Value>, location: &str) {
    for (key, value) in state {
        if !NOT_EVALUATED.contains(&key.as_str()) {
            walk(cx, value, &at(location, key), is_asl_list(key));
        }
    }
}

/// `asl_object`: whether object members named in [`NOT_EVALUATED`] are skipped (true for the
/// ASL objects of a state — rules and catchers — false inside user payloads such as
/// `Arguments`, where any key is data).
fn walk(cx: &mut Cx, value: &Value, location: &str, asl_object: bool) {
    match value {
        Value::String(s) => {
            if let Some(body) = jsonata_expression(s) {
                check_body(cx, body, location);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(cx, item, &format!("{location}[{i}]"), asl_object);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                if asl_object && NOT_EVALUATED.contains(&key.as_str()) {
                    continue;
                }
                walk(
                    cx,
                    member,
                    &at(location, key),
                    asl_object && is_asl_list(key),
                );
            }
        }
        _ => {}
    }
}

/// ASL fields whose elements are ASL objects with their own `Next`/`Comment` (not data).
fn is_asl_list(key: &str) -> bool {
    matches!(key, "Choices" | "Catch" | "Retry")
}

/// Lexical check of one expression body (without the delimiters).
pub fn check_body(cx: &mut Cx, body: &str, location: &str) {
    match scan(body) {
        Ok(top_level) => {
            for name in top_level {
                cx.error(
                    UNSUPPORTED_JSONATA_EXPRESSION,
                    format!("Reference to '{name}' at the top level is not supported."),
                    location,
                );
            }
        }
        Err(reason) => cx.error(
            INVALID_JSONATA_EXPRESSION,
            format!("The JSONata expression '{body}' is not valid: {reason}"),
            location,
        ),
    }
}

const KEYWORDS: &[&str] = &["and", "or", "in", "true", "false", "null", "function"];

/// One open bracket: its closer and whether names inside are relative to a context value.
struct Open {
    closer: char,
    relative: bool,
}

/// Returns the distinct bare names that read the top-level context, or why the body cannot
/// be an expression.
fn scan(body: &str) -> Result<Vec<String>, String> {
    if body.trim().is_empty() {
        return Err("the expression is empty".into());
    }
    let chars: Vec<char> = body.chars().collect();
    let mut stack: Vec<Open> = Vec::new();
    let mut top_level: Vec<String> = Vec::new();
    // The previous significant token ended a value (name, literal, closer): decides whether
    // `/` is division or a regex, and whether `[`/`{` is a predicate/group-by.
    let mut after_value = false;
    let mut after_dot = false;
    let mut after_caret = false;
    // Transforms (`| pattern | update |`) and lambda signatures (`function($x)<n:n>`) hold names
    // that are not context reads; we do not model them, so their presence turns the top-level
    // check off (never a false refusal).
    let mut uncertain = false;
    // A binary operator still waiting for its right operand.
    let mut pending_operator: Option<String> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let was_after_dot = after_dot;
        let was_after_caret = after_caret;
        let pending = pending_operator.take();
        after_dot = false;
        after_caret = false;
        match c {
            '/' if chars.get(i + 1) == Some(&'*') => {
                i = find_from(&chars, i + 2, "*/").ok_or("unterminated comment")? + 2;
                after_dot = was_after_dot;
                pending_operator = pending;
                continue;
            }
            '"' | '\'' | '`' => {
                i = end_of_quoted(&chars, i).ok_or(match c {
                    '`' => "unterminated quoted name",
                    _ => "unterminated string literal",
                })?;
                after_value = true;
                continue;
            }
            '/' if !after_value => {
                i = end_of_quoted(&chars, i).ok_or("no terminating / in regular expression")?;
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                after_value = true;
                continue;
            }
            '(' | '[' | '{' => {
                let inherited = stack.last().is_some_and(|o| o.relative);
                // `.( … )` step block, `^( … )` order-by, `[ … ]` predicate and `{ … }`
                // group-by after a value: names inside are relative to that value.
                let relative = inherited
                    || (c == '(' && (was_after_dot || was_after_caret))
                    || (c != '(' && after_value);
                let closer = match c {
                    '(' => ')',
                    '[' => ']',
                    _ => '}',
                };
                stack.push(Open { closer, relative });
                after_value = false;
            }
            ')' | ']' | '}' => {
                if let Some(op) = pending {
                    return Err(format!("'{c}' cannot follow '{op}'"));
                }
                match stack.pop() {
                    Some(open) if open.closer == c => {}
                    Some(open) => {
                        return Err(format!("expected '{}' but found '{c}'", open.closer))
                    }
                    None => return Err(format!("unexpected '{c}'")),
                }
                after_value = true;
            }
            c if c != 'λ' && (c == '$' || c == '_' || c.is_alphabetic()) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let relative = was_after_dot || stack.last().is_some_and(|o| o.relative);
                let is_keyword = KEYWORDS.contains(&word.as_str());
                uncertain |= word == "function";
                if !word.starts_with('$') && !is_keyword && !relative && !top_level.contains(&word)
                {
                    top_level.push(word.clone());
                }
                after_value = !matches!(word.as_str(), "and" | "or" | "in" | "function");
                if matches!(word.as_str(), "and" | "or" | "in") {
                    pending_operator = Some(word);
                }
                continue;
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    // `1..3` (range) must not swallow the second dot.
                    if chars[i] == '.' && chars.get(i + 1) == Some(&'.') {
                        break;
                    }
                    i += 1;
                }
                after_value = true;
                continue;
            }
            '.' => {
                after_dot = chars.get(i + 1) != Some(&'.');
                after_value = false;
            }
            '^' => {
                after_caret = true;
                after_value = false;
            }
            '|' | 'λ' => {
                uncertain = true;
                after_value = false;
            }
            _ => {
                if "+-/&=<>,:".contains(c) {
                    pending_operator = Some(c.to_string());
                }
                after_value = false
            }
        }
        i += 1;
    }
    if let Some(open) = stack.last() {
        return Err(format!("missing '{}'", open.closer));
    }
    if let Some(op) = pending_operator {
        return Err(format!("unexpected end of expression after '{op}'"));
    }
    if uncertain && (body.contains('|') || body.contains('<') || body.contains('λ')) {
        return Ok(Vec::new());
    }
    Ok(top_level)
}

/// Index of `pattern` at or after `from`.
fn find_from(chars: &[char], from: usize, pattern: &str) -> Option<usize> {
    let pattern: Vec<char> = pattern.chars().collect();
    (from..chars.len()).find(|&i| chars[i..].starts_with(&pattern))
}

/// Given the index of an opening quote (`"`, `'`, `` ` `` or `/`), the index just after its
/// closing twin; backslash escapes the next character (not in quoted names).
fn end_of_quoted(chars: &[char], open: usize) -> Option<usize> {
    let quote = chars[open];
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::scan;

    #[test]
    fn accepts_expressions_aws_accepted() {
        for body in [
            " $states.input.items ",
            " $contains('hello$world', /^hello\\ /) ",
            " $states.input = '\"' ",
            " {'foo': 'bar'} ",
            " $variable := 1 ",
            " $sum($states.input.values) + $x ",
            " $states.input.items[price > 5].name ",
            " $states.input.(a + b) ",
            " $map($states.input, function($v) { $v.id }) ",
            " 10 / 2 / 5 ",
            " [1..3] ",
            " $states.input.orders{customer: $sum(total)} ",
            " /* note */ $x ",
            " `$x` ",
            " true and false or null ",
            " $states.input.items^(>price).name ",
            " $states.input ~> | items | {'seen': true} | ",
            " $map([1, 2], function($v)<n:n> { $v * 2 }) ",
            " $map([1, 2], λ($v) { $v * 2 }) ",
            " $states.input.items[type = 'a'].(price * qty) ",
            " $states.input.* ",
            " $states.input.a.% ",
            " -1 + /* c */ 2 ",
            " $x != 1 and $y >= 2 ",
            " $f(?, 2) ",
        ] {
            assert_eq!(scan(body), Ok(vec![]), "{body}");
        }
    }

    #[test]
    fn refuses_what_cannot_parse_or_reads_the_top_level() {
        for body in [
            " ",
            "a[1,2)",
            "\"unterminated",
            "$match(\"a\", /abc",
            "(1",
            "1)",
            "/* x",
            "1 +",
            "{\"a\":}",
            "$x :=",
            "$x and",
            "[1, 2,]",
        ] {
            assert!(scan(body).is_err(), "{body}");
        }
        assert_eq!(scan(" phone "), Ok(vec!["phone".to_string()]));
        assert_eq!(scan(" $string(a) & a.b "), Ok(vec!["a".to_string()]));
        assert_eq!(scan(" {'k': v} "), Ok(vec!["v".to_string()]));
    }
}
