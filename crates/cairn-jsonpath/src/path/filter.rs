//! Filter expressions (`[?(@.price > 10 && @.kind == 'book')]`): syntax tree, parser and
//! evaluation against one candidate node.
//!
//! Semantics follow Jayway as AWS uses it: `@…` is relative to the candidate, `$…` to the
//! document root; a bare operand tests existence; comparisons between different JSON types are
//! false (and `!=` true); a missing operand makes every comparison false except `!=`.
//! `&&` binds tighter than `||`; `!` negates; parentheses group.

use super::eval;
use super::parse::{parse_segments, Cursor};
use super::Segment;
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `@…`: relative to the candidate node.
    Current(Vec<Segment>),
    /// `$…`: relative to the document root.
    Root(Vec<Segment>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `in`: the left value equals one element of the right array.
    In,
    /// `nin`: the negation of `in`.
    Nin,
}

/// Parse the expression inside `[?( … )]`; the cursor stops before the closing `)`.
pub(crate) fn parse_expr(c: &mut Cursor) -> Result<Expr, String> {
    c.enter()?;
    let expr = parse_or(c);
    c.leave();
    expr
}

fn parse_or(c: &mut Cursor) -> Result<Expr, String> {
    let mut left = parse_and(c)?;
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'|') && c.peek_at(1) == Some(b'|') {
            c.pos += 2;
            c.operator()?;
            let right = parse_and(c)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        } else {
            return Ok(left);
        }
    }
}

fn parse_and(c: &mut Cursor) -> Result<Expr, String> {
    let mut left = parse_unary(c)?;
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'&') && c.peek_at(1) == Some(b'&') {
            c.pos += 2;
            c.operator()?;
            let right = parse_unary(c)?;
            left = Expr::And(Box::new(left), Box::new(right));
        } else {
            return Ok(left);
        }
    }
}

fn parse_unary(c: &mut Cursor) -> Result<Expr, String> {
    c.skip_spaces();
    match c.peek() {
        Some(b'!') if c.peek_at(1) != Some(b'=') => {
            c.pos += 1;
            c.enter()?;
            let inner = parse_unary(c);
            c.leave();
            Ok(Expr::Not(Box::new(inner?)))
        }
        Some(b'(') => {
            c.pos += 1;
            let inner = parse_expr(c)?;
            c.skip_spaces();
            c.expect(b')')?;
            Ok(inner)
        }
        _ => parse_comparison(c),
    }
}

fn parse_comparison(c: &mut Cursor) -> Result<Expr, String> {
    let left = parse_operand(c)?;
    c.skip_spaces();
    let op = match (c.peek(), c.peek_at(1)) {
        (Some(b'='), Some(b'=')) => Some((CmpOp::Eq, 2)),
        (Some(b'!'), Some(b'=')) => Some((CmpOp::Ne, 2)),
        (Some(b'<'), Some(b'=')) => Some((CmpOp::Le, 2)),
        (Some(b'>'), Some(b'=')) => Some((CmpOp::Ge, 2)),
        (Some(b'<'), _) => Some((CmpOp::Lt, 1)),
        (Some(b'>'), _) => Some((CmpOp::Gt, 1)),
        _ if keyword_at(c, "in") => Some((CmpOp::In, 2)),
        _ if keyword_at(c, "nin") => Some((CmpOp::Nin, 3)),
        _ => None,
    };
    let Some((op, len)) = op else {
        return match left {
            Operand::Literal(_) => Err(c.error("expected a comparison operator")),
            path => Ok(Expr::Exists(path)),
        };
    };
    c.pos += len;
    c.skip_spaces();
    let right = parse_operand(c)?;
    Ok(Expr::Compare(left, op, right))
}

/// A word operator followed by a blank or an operand start (so `index` is not `in`).
fn keyword_at(c: &Cursor, word: &str) -> bool {
    c.src
        .get(c.pos..)
        .is_some_and(|rest| rest.starts_with(word))
        && matches!(
            c.src.as_bytes().get(c.pos + word.len()),
            Some(b' ' | b'[' | b'$' | b'@' | b'\'' | b'"')
        )
}

fn parse_operand(c: &mut Cursor) -> Result<Operand, String> {
    c.skip_spaces();
    match c.peek() {
        Some(b'[') => list(c).map(Operand::Literal),
        Some(b'@') => {
            c.pos += 1;
            Ok(Operand::Current(parse_segments(c, true)?))
        }
        Some(b'$') => {
            c.pos += 1;
            Ok(Operand::Root(parse_segments(c, true)?))
        }
        Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(c.quoted()?.to_string()))),
        Some(b'-' | b'0'..=b'9') => number(c).map(Operand::Literal),
        Some(b't' | b'f' | b'n') => {
            for (word, value) in [
                ("true", Value::Bool(true)),
                ("false", Value::Bool(false)),
                ("null", Value::Null),
            ] {
                if c.src[c.pos..].starts_with(word) {
                    c.pos += word.len();
                    return Ok(Operand::Literal(value));
                }
            }
            Err(c.error("expected an operand"))
        }
        _ => Err(c.error("expected an operand")),
    }
}

/// A list literal for `in`/`nin`: `['a', 1, true, null]`.
fn list(c: &mut Cursor) -> Result<Value, String> {
    c.expect(b'[')?;
    let mut items = Vec::new();
    c.skip_spaces();
    if c.eat(b']') {
        return Ok(Value::Array(items));
    }
    loop {
        // A nested list is refused before it is read: reading it first recursed once per
        // `[`, and `[[[[…` a thousand deep overflowed the stack (found by fuzzing).
        c.skip_spaces();
        if c.peek() == Some(b'[') {
            return Err(c.error("a list may only hold literals"));
        }
        match parse_operand(c)? {
            Operand::Literal(v) if !v.is_array() => items.push(v),
            _ => return Err(c.error("a list may only hold literals")),
        }
        c.skip_spaces();
        if c.eat(b']') {
            return Ok(Value::Array(items));
        }
        c.expect(b',')?;
    }
}

fn number(c: &mut Cursor) -> Result<Value, String> {
    let start = c.pos;
    c.eat(b'-');
    while matches!(
        c.peek(),
        Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
    ) {
        c.pos += 1;
    }
    serde_json::from_str::<serde_json::Number>(&c.src[start..c.pos])
        .map(Value::Number)
        .map_err(|_| {
            c.pos = start;
            c.error("malformed number")
        })
}

/// Whether `node` passes the filter; `doc` is the root for `$…` operands.
pub(crate) fn matches(expr: &Expr, node: &Value, doc: &Value) -> bool {
    match expr {
        Expr::Or(a, b) => matches(a, node, doc) || matches(b, node, doc),
        Expr::And(a, b) => matches(a, node, doc) && matches(b, node, doc),
        Expr::Not(e) => !matches(e, node, doc),
        Expr::Exists(operand) => match resolve(operand, node, doc) {
            Some(Cow::Owned(Value::Array(found))) => !found.is_empty(),
            Some(_) => true,
            None => false,
        },
        Expr::Compare(left, op, right) => {
            match (resolve(left, node, doc), resolve(right, node, doc)) {
                (Some(l), Some(r)) => compare(&l, *op, &r),
                _ => matches!(op, CmpOp::Ne | CmpOp::Nin),
            }
        }
    }
}

fn resolve<'v>(operand: &'v Operand, node: &'v Value, doc: &'v Value) -> Option<Cow<'v, Value>> {
    match operand {
        Operand::Current(segments) => eval::select_relative(segments, node, doc),
        Operand::Root(segments) => eval::select_relative(segments, doc, doc),
        Operand::Literal(v) => Some(Cow::Borrowed(v)),
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    let ordering = match (l, r) {
        (Value::Number(a), Value::Number(b)) => number_order(a, b),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) => equal(a, b).then_some(Ordering::Equal),
    };
    match op {
        CmpOp::Eq => ordering == Some(Ordering::Equal),
        CmpOp::Ne => ordering != Some(Ordering::Equal),
        CmpOp::In => r
            .as_array()
            .is_some_and(|items| items.iter().any(|i| equal(l, i))),
        CmpOp::Nin => !r
            .as_array()
            .is_some_and(|items| items.iter().any(|i| equal(l, i))),
        CmpOp::Lt => ordering == Some(Ordering::Less) && orderable(l),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)) && orderable(l),
        CmpOp::Gt => ordering == Some(Ordering::Greater) && orderable(l),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)) && orderable(l),
    }
}

/// Jayway's equality: by value for numbers; a number and a string are compared by converting
/// the right side to the left side's kind (so `'1' == 1` holds); anything else structurally.
fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => number_order(a, b) == Some(Ordering::Equal),
        (Value::Number(a), Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .is_some_and(|x| Some(x) == a.as_f64()),
        (Value::String(s), Value::Number(n)) => *s == n.to_string(),
        (a, b) => a == b,
    }
}

/// Only numbers and strings have an order; `true <= true` is false in Jayway.
fn orderable(v: &Value) -> bool {
    matches!(v, Value::Number(_) | Value::String(_))
}

fn number_order(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(src: &str) -> Expr {
        let mut c = Cursor::new(src, 0);
        let e = parse_expr(&mut c).unwrap();
        assert!(c.at_end(), "trailing text in {src:?}");
        e
    }

    fn test(src: &str, node: Value) -> bool {
        matches(&filter(src), &node, &json!({"limit": 5}))
    }

    #[test]
    fn numeric_comparisons_by_value() {
        assert!(test("@.x > 1", json!({"x": 2})));
        assert!(!test("@.x > 1", json!({"x": 1})));
        assert!(test("@.x >= 1", json!({"x": 1.0})));
        assert!(test("@.x == 1", json!({"x": 1.0})));
        assert!(test("@.x < -1.5", json!({"x": -2})));
        assert!(test("@.x <= 3", json!({"x": 3})));
        assert!(test("@.x != 3", json!({"x": 4})));
    }

    #[test]
    fn strings_booleans_null() {
        assert!(test("@.x == 'a'", json!({"x": "a"})));
        assert!(test("@.x == \"a\"", json!({"x": "a"})));
        assert!(test("@.x < 'b'", json!({"x": "a"})));
        assert!(test("@.x == true", json!({"x": true})));
        assert!(!test("@.x == true", json!({"x": "true"})));
        assert!(test("@.x == null", json!({"x": null})));
        assert!(!test("@.x <= true", json!({"x": true})));
    }

    #[test]
    fn type_mismatch_and_missing() {
        // Jayway converts between numbers and strings for equality only.
        assert!(test("@.x == 1", json!({"x": "1"})));
        assert!(test("@.x == '2.5'", json!({"x": 2.5})));
        assert!(!test("@.x == 1", json!({"x": "one"})));
        assert!(test("@.x != 1", json!({"x": "2"})));
        assert!(!test("@.x == true", json!({"x": "true"})));
        assert!(!test("@.x == null", json!({"x": "null"})));
        assert!(!test("@.x > 1", json!({"x": "2"})));
        assert!(!test("@.x == 1", json!({})));
        assert!(test("@.x != 1", json!({})));
    }

    #[test]
    fn membership() {
        assert!(test("@.x in ['a', 'b']", json!({"x": "b"})));
        assert!(!test("@.x in ['a', 'b']", json!({"x": "c"})));
        assert!(test("@.x nin ['a', 'b']", json!({"x": "c"})));
        assert!(test("@.x in [1, 2.0, null]", json!({"x": 2})));
        assert!(!test("@.x in []", json!({"x": 1})));
        assert!(test("@.x nin ['a']", json!({})));
        assert!(!test("@.x in ['a']", json!({})));
        assert!(!test("@.x in $.allowed", json!({"x": "k"})));
        assert!(test("@.index == 1", json!({"index": 1})));
    }

    #[test]
    fn existence_and_negation() {
        assert!(test("@.x", json!({"x": null})));
        assert!(!test("@.x", json!({"y": 1})));
        assert!(test("!@.x", json!({"y": 1})));
        assert!(test("@['x y']", json!({"x y": 0})));
    }

    #[test]
    fn boolean_combinators_and_grouping() {
        assert!(test("@.a == 1 && @.b == 2", json!({"a": 1, "b": 2})));
        assert!(!test("@.a == 1 && @.b == 2", json!({"a": 1, "b": 3})));
        assert!(test("@.a == 9 || @.b == 2", json!({"a": 1, "b": 2})));
        // && binds tighter: false || (true && true)
        assert!(test(
            "@.a == 9 || @.a == 1 && @.b == 2",
            json!({"a": 1, "b": 2})
        ));
        assert!(!test(
            "(@.a == 9 || @.a == 1) && @.b == 3",
            json!({"a": 1, "b": 2})
        ));
    }

    #[test]
    fn root_operand_reads_the_document() {
        assert!(test("@.x < $.limit", json!({"x": 4})));
        assert!(!test("@.x < $.limit", json!({"x": 5})));
    }

    #[test]
    fn current_node_itself() {
        assert!(test("@ > 2", json!(3)));
        assert!(!test("@ > 2", json!(1)));
    }

    #[test]
    fn long_operator_chains_are_refused_not_a_stack_overflow() {
        let chain = |n: usize, op: &str| format!("@.a{}", format!(" {op} @.a").repeat(n));
        for op in ["&&", "||"] {
            let ok = chain(super::super::parse::MAX_FILTER_OPERATORS, op);
            assert!(test(&ok, json!({"a": 1})));
            let long = chain(20_000, op);
            let mut c = Cursor::new(&long, 0);
            let err = parse_expr(&mut c).unwrap_err();
            assert!(err.contains("too many && and || operators"), "{err}");
        }
    }

    #[test]
    fn nested_lists_are_refused_not_a_stack_overflow() {
        let src = format!("@.a in {}", "[".repeat(50_000));
        let err = parse_expr(&mut Cursor::new(&src, 0)).unwrap_err();
        assert!(err.contains("a list may only hold literals"), "{err}");
    }

    #[test]
    fn malformed_filters_are_errors() {
        for bad in [
            "",
            "@.x ==",
            "== 1",
            "1",
            "@.x === 1",
            "(@.x",
            "@.x && ",
            "'a",
        ] {
            let mut c = Cursor::new(bad, 0);
            let parsed = parse_expr(&mut c);
            assert!(parsed.is_err() || !c.at_end(), "{bad:?} should not parse");
        }
    }
}
