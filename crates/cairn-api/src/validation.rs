//! Model-level request validation: what AWS checks before any business logic runs.
//!
//! The table itself lives in [`crate::model`] (generated from botocore's model). This module
//! walks a request body against it and answers, like AWS, one `ValidationException` listing
//! every violation: `1 validation error detected: Value '<v>' at '<member>' failed to satisfy
//! constraint: Member must …` (several → `N validation errors detected: …; …`).
//! A member of the wrong JSON type is a `SerializationException`, as in AWS's JSON protocol.
//! `null` counts as absent, as SDKs send it.

use crate::error::ApiError;
pub use crate::model::OPERATIONS;
use serde_json::Value;

/// One operation of the model.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub input: &'static Shape,
    /// `endpoint.hostPrefix` (`sync-` for StartSyncExecution and TestState).
    pub host_prefix: Option<&'static str>,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub required: bool,
    pub shape: &'static Shape,
}

/// The regular-expression patterns of the model, each checked by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `CharacterRestrictedName` (alias names): word characters, with at least one non-digit.
    AliasName,
    /// `ClientToken`: printable ASCII without space.
    PrintableAscii,
    /// `TraceHeader`: ASCII.
    Ascii,
}

impl Pattern {
    /// The pattern as the model writes it (and as AWS quotes it in messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::AliasName => "^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$",
            Pattern::PrintableAscii => "[!-~]+",
            Pattern::Ascii => "\\p{ASCII}*",
        }
    }

    pub fn matches(self, s: &str) -> bool {
        match self {
            Pattern::AliasName => {
                let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
                !s.is_empty()
                    && s.chars().all(word)
                    && s.chars().any(|c| word(c) && !c.is_ascii_digit())
            }
            Pattern::PrintableAscii => !s.is_empty() && s.chars().all(|c| ('!'..='~').contains(&c)),
            Pattern::Ascii => s.is_ascii(),
        }
    }
}

/// An input shape of the model.
#[derive(Debug)]
pub enum Shape {
    Structure {
        name: &'static str,
        members: &'static [Member],
    },
    String {
        name: &'static str,
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<Pattern>,
        /// Enum values; empty = any string.
        values: &'static [&'static str],
        /// AWS does not echo sensitive values in messages.
        sensitive: bool,
    },
    Integer {
        name: &'static str,
        min: Option<i64>,
        max: Option<i64>,
    },
    Float {
        name: &'static str,
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean {
        name: &'static str,
    },
    List {
        name: &'static str,
        member: &'static Shape,
        min: Option<u64>,
        max: Option<u64>,
    },
}

impl Shape {
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Structure { name, .. }
            | Shape::String { name, .. }
            | Shape::Integer { name, .. }
            | Shape::Float { name, .. }
            | Shape::Boolean { name }
            | Shape::List { name, .. } => name,
        }
    }
}

/// The operation of this name, if the model has it.
pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .binary_search_by(|op| op.name.cmp(name))
        .ok()
        .map(|i| &OPERATIONS[i])
}

/// Check a request body against the operation's input shape.
pub fn validate_request(op: &Operation, body: &Value) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    check(op.input, body, "", &mut violations)?;
    match violations.len() {
        0 => Ok(()),
        1 => Err(ApiError::validation(format!(
            "1 validation error detected: {}",
            violations[0]
        ))),
        n => Err(ApiError::validation(format!(
            "{n} validation errors detected: {}",
            violations.join("; ")
        ))),
    }
}

fn violation(value: Option<&Value>, sensitive: bool, path: &str, rule: &str) -> String {
    let value = match value {
        None => "Value null".to_string(),
        Some(_) if sensitive => "Value".to_string(),
        Some(v) => format!("Value '{}'", render(v)),
    };
    format!("{value} at '{path}' failed to satisfy constraint: Member must {rule}")
}

/// A value as AWS (Java) prints it inside quotes.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn wrong_type(path: &str, expected: &str) -> ApiError {
    let at = if path.is_empty() {
        "the request body"
    } else {
        path
    };
    ApiError::serialization(format!("Expected {expected} for {at}"))
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn check_len(len: u64, min: Option<u64>, max: Option<u64>) -> Option<String> {
    if let Some(min) = min.filter(|&m| len < m) {
        return Some(format!("have length greater than or equal to {min}"));
    }
    if let Some(max) = max.filter(|&m| len > m) {
        return Some(format!("have length less than or equal to {max}"));
    }
    None
}

fn check(shape: &Shape, value: &Value, path: &str, out: &mut Vec<String>) -> Result<(), ApiError> {
    match shape {
        Shape::Structure { members, .. } => {
            let Value::Object(map) = value else {
                return Err(wrong_type(path, "an object"));
            };
            for m in members.iter() {
                let p = child(path, m.name);
                match map.get(m.name).filter(|v| !v.is_null()) {
                    None if m.required => out.push(violation(None, false, &p, "not be null")),
                    None => {}
                    Some(v) => check(m.shape, v, &p, out)?,
                }
            }
        }
        Shape::String {
            min,
            max,
            pattern,
            values,
            sensitive,
            ..
        } => {
            let Value::String(s) = value else {
                return Err(wrong_type(path, "a string"));
            };
            // Java counts UTF-16 code units.
            let len = s.encode_utf16().count() as u64;
            if let Some(rule) = check_len(len, *min, *max) {
                out.push(violation(Some(value), *sensitive, path, &rule));
            }
            if let Some(p) = pattern {
                if !p.matches(s) {
                    let rule = format!("satisfy regular expression pattern: {}", p.as_str());
                    out.push(violation(Some(value), *sensitive, path, &rule));
                }
            }
            if !values.is_empty() && !values.contains(&s.as_str()) {
                let rule = format!("satisfy enum value set: [{}]", values.join(", "));
                out.push(violation(Some(value), *sensitive, path, &rule));
            }
        }
        Shape::Integer { min, max, .. } => {
            let Some(n) = value.as_i64() else {
                return Err(wrong_type(path, "an integer"));
            };
            if let Some(min) = min.filter(|&m| n < m) {
                let rule = format!("have value greater than or equal to {min}");
                out.push(violation(Some(value), false, path, &rule));
            } else if let Some(max) = max.filter(|&m| n > m) {
                let rule = format!("have value less than or equal to {max}");
                out.push(violation(Some(value), false, path, &rule));
            }
        }
        Shape::Float { min, max, .. } => {
            let Some(n) = value.as_f64() else {
                return Err(wrong_type(path, "a number"));
            };
            if let Some(min) = min.filter(|&m| n < m) {
                let rule = format!("have value greater than or equal to {min:?}");
                out.push(violation(Some(value), false, path, &rule));
            } else if let Some(max) = max.filter(|&m| n > m) {
                let rule = format!("have value less than or equal to {max:?}");
                out.push(violation(Some(value), false, path, &rule));
            }
        }
        Shape::Boolean { .. } => {
            if !value.is_boolean() {
                return Err(wrong_type(path, "a boolean"));
            }
        }
        Shape::List {
            member, min, max, ..
        } => {
            let Value::Array(items) = value else {
                return Err(wrong_type(path, "a list"));
            };
            if let Some(rule) = check_len(items.len() as u64, *min, *max) {
                out.push(violation(Some(value), false, path, &rule));
            }
            for (i, item) in items.iter().enumerate() {
                let p = format!("{}.{}.member", path, i + 1);
                if item.is_null() {
                    out.push(violation(None, false, &p, "not be null"));
                } else {
                    check(member, item, &p, out)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn run(op: &str, body: Value) -> Result<(), ApiError> {
        validate_request(operation(op).unwrap(), &body)
    }

    #[test]
    fn every_operation_is_found_by_name() {
        assert_eq!(OPERATIONS.len(), 37);
        for op in OPERATIONS {
            assert_eq!(operation(op.name).unwrap().name, op.name);
        }
        assert!(operation("Nope").is_none());
        assert_eq!(
            operation("StartSyncExecution").unwrap().host_prefix,
            Some("sync-")
        );
    }

    #[test]
    fn max_results_range_has_aws_message() {
        let e = run("ListActivities", json!({"maxResults": 1001})).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationException);
        assert_eq!(
            e.message,
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to 1000"
        );
    }

    #[test]
    fn several_violations_are_counted_and_joined() {
        let e = run("CreateStateMachine", json!({"name": "", "type": "FAST"})).unwrap_err();
        assert!(
            e.message.starts_with("4 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(e.message.contains(
            "Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ));
        assert!(e.message.contains(
            "Value null at 'definition' failed to satisfy constraint: Member must not be null"
        ));
        assert!(e
            .message
            .contains("Member must satisfy enum value set: [STANDARD, EXPRESS]"));
        assert_eq!(e.message.matches("; ").count(), 3);
    }

    #[test]
    fn nested_list_members_use_aws_paths() {
        let long = "k".repeat(129);
        let e = run(
            "TagResource",
            json!({"resourceArn": "a", "tags": [{"key": "ok"}, {"key": long}]}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("at 'tags.2.member.key'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let e = run("ListActivities", json!({"maxResults": "ten"})).unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
        let e = run("ListActivities", json!([])).unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
    }

    #[test]
    fn patterns_and_nulls() {
        assert!(Pattern::AliasName.matches("prod-1"));
        assert!(!Pattern::AliasName.matches("123"));
        assert!(!Pattern::PrintableAscii.matches("a b"));
        assert!(run("ListActivities", json!({"maxResults": null})).is_ok());
        let e = run(
            "RedriveExecution",
            json!({"executionArn": "x", "clientToken": "a b"}),
        )
        .unwrap_err();
        assert!(e
            .message
            .contains("Member must satisfy regular expression pattern: [!-~]+"));
        // sensitive values are not echoed
        let e = run(
            "StopExecution",
            json!({"executionArn": "x", "error": "e".repeat(257)}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("Value at 'error' failed"),
            "{}",
            e.message
        );
    }
}
