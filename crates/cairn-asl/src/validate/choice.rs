//! Choice: `Choices` (non-empty array of rules), `Default`, and the rules themselves (ASL
//! digest §2, §8).
//!
//! JSONPath rules: exactly one comparison operator (with `Variable`) or one of `And` / `Or`
//! (non-empty arrays of rules) / `Not` (a rule). Operand types per operator family; `…Path`
//! operands are Paths. JSONata rules: a `Condition` (boolean or `{% %}` expression) instead.
//! Top-level rules need `Next` and may carry `Assign` (and `Output` in JSONata); nested rules
//! may not. Wordings for rule shape problems are ours.
//!
//! Must not: collect transitions (schema does, from `Choices[i].Next` and `Default`).

use super::context::{at, at_index, Cx, Kind};
use super::{assign, jsonata, paths, values};
use crate::model::{ComparisonOperator, QueryLanguage};
use serde_json::{Map, Value};

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    values::string(cx, state, "Default", location);
    let Some(rules) = values::array(cx, state, "Choices", location) else {
        return;
    };
    if rules.is_empty() {
        cx.empty(&at(location, "Choices"));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rule_at = at_index(location, "Choices", i);
        match rule {
            Value::Object(rule) => check_rule(cx, rule, ql, &rule_at, true),
            other => cx.wrong_kind("Choices", Kind::Object, other, &rule_at),
        }
    }
}

/// The operator a key names: `StringEquals`, or `StringEqualsPath` for operators that have a
/// path variant. Returns the operator and whether the operand is a path.
fn operator(key: &str) -> Option<(ComparisonOperator, bool)> {
    if let Some(op) = ComparisonOperator::from_name(key) {
        return Some((op, false));
    }
    let op = ComparisonOperator::from_name(key.strip_suffix("Path")?)?;
    op.has_path_variant().then_some((op, true))
}

fn check_rule(
    cx: &mut Cx,
    rule: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
    top: bool,
) {
    // Field placement.
    for key in rule.keys() {
        let k = key.as_str();
        let jsonpath_only = operator(k).is_some() || matches!(k, "Variable" | "And" | "Or" | "Not");
        let jsonata_only = matches!(k, "Condition" | "Output");
        let other_language = (jsonpath_only && ql == QueryLanguage::Jsonata)
            || (jsonata_only && ql == QueryLanguage::JsonPath);
        let known = jsonpath_only || jsonata_only || matches!(k, "Comment" | "Next" | "Assign");
        let top_only = matches!(k, "Next" | "Assign" | "Output");
        if other_language {
            cx.wrong_language(k, ql, location);
        } else if !known || (top_only && !top) {
            cx.not_supported(k, location);
        }
    }
    values::string(cx, rule, "Comment", location);
    if top {
        if rule.contains_key("Next") {
            values::string(cx, rule, "Next", location);
        } else {
            cx.required(&["Next"], location);
        }
        assign::check(cx, rule, ql, location);
    }
    match ql {
        QueryLanguage::JsonPath => check_jsonpath_condition(cx, rule, ql, location),
        QueryLanguage::Jsonata => check_jsonata_condition(cx, rule, location),
    }
}

fn check_jsonata_condition(cx: &mut Cx, rule: &Map<String, Value>, location: &str) {
    let Some(condition) = rule.get("Condition") else {
        cx.required(&["Condition"], location);
        return;
    };
    if !(condition.is_boolean() || jsonata::is_expression(condition)) {
        cx.schema(
            format!(
                "The value for the field 'Condition' must be a JSONata expression ({{% … %}}) or a BOOLEAN but was {}",
                Kind::of(condition).with_article()
            ),
            at(location, "Condition"),
        );
    }
}

fn check_jsonpath_condition(
    cx: &mut Cx,
    rule: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
) {
    let present: Vec<&str> = rule
        .keys()
        .map(String::as_str)
        .filter(|k| operator(k).is_some() || matches!(*k, "And" | "Or" | "Not"))
        .collect();
    match present.len() {
        0 => {
            cx.schema(
                "A choice rule must have exactly one comparison operator (with 'Variable') or one of [And, Or, Not]",
                location,
            );
            return;
        }
        1 => {}
        _ => {
            cx.only_one_of(&present, location);
            return;
        }
    }
    let key = present[0];
    let value = &rule[key];
    let field_at = at(location, key);
    match key {
        "And" | "Or" => {
            if rule.contains_key("Variable") {
                cx.not_supported("Variable", location);
            }
            let Value::Array(rules) = value else {
                cx.wrong_kind(key, Kind::Array, value, &field_at);
                return;
            };
            if rules.is_empty() {
                cx.empty(&field_at);
            }
            for (i, nested) in rules.iter().enumerate() {
                let nested_at = at_index(location, key, i);
                match nested {
                    Value::Object(nested) => check_rule(cx, nested, ql, &nested_at, false),
                    other => cx.wrong_kind(key, Kind::Object, other, &nested_at),
                }
            }
        }
        "Not" => {
            if rule.contains_key("Variable") {
                cx.not_supported("Variable", location);
            }
            match value {
                Value::Object(nested) => check_rule(cx, nested, ql, &field_at, false),
                other => cx.wrong_kind(key, Kind::Object, other, &field_at),
            }
        }
        _ => {
            match rule.get("Variable") {
                None => cx.required(&["Variable"], location),
                Some(variable) => paths::path(cx, variable, "Variable", &at(location, "Variable")),
            }
            let Some((op, is_path)) = operator(key) else {
                return;
            };
            if is_path {
                paths::path(cx, value, key, &field_at);
            } else {
                check_operand(cx, op, value, &field_at);
            }
        }
    }
}

/// The literal operand of an operator must have the operator's type.
fn check_operand(cx: &mut Cx, op: ComparisonOperator, value: &Value, location: &str) {
    use ComparisonOperator::*;
    let expected = match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals
        | StringMatches
        | TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => Kind::String,
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => Kind::Number,
        BooleanEquals | IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => {
            Kind::Boolean
        }
    };
    let ok = match expected {
        Kind::String => value.is_string(),
        Kind::Number => value.is_number(),
        _ => value.is_boolean(),
    };
    if !ok {
        cx.wrong_kind(op.name(), expected, value, location);
    }
}
