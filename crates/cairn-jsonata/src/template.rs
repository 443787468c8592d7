//! JSONata inside ASL fields: finding `{% %}` strings, evaluating every one of them in a JSON
//! template, and the `States.QueryEvaluationError` cause texts AWS gives when a field's
//! expression fails, returns nothing or returns the wrong type.
//!
//! The cause texts are AWS's, observed on real executions (`ASL.md` §10.1). The interpreter
//! adds the prefix naming the state ("An error occurred while executing the state …").
//! This module must not decide which fields need which type: the interpreter asks.

use std::fmt;

use serde_json::{Map, Value};

use crate::bindings::Bindings;
use crate::error::JsonataError;
use crate::evaluate::evaluate;
use crate::expression::{compile, Expression};

/// The error name of every [`QueryError`].
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// The expression inside a `{% … %}` string, trimmed, or `None` if `s` is a literal.
///
/// A string is JSONata iff it starts with `{%` and ends with `%}`, with nothing around them.
pub fn is_expression(s: &str) -> Option<&str> {
    if s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}") {
        Some(s[2..s.len() - 2].trim())
    } else {
        None
    }
}

/// Why a field's expression failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// The expression returned nothing (`undefined`).
    Undefined,
    /// The expression failed to compile or to evaluate, or hit a limit.
    Evaluation(JsonataError),
    /// The field needs another JSON type.
    UnexpectedType {
        expected: ExpectedType,
        actual: &'static str,
    },
    /// The result holds a function.
    UnsupportedType,
}

/// A `States.QueryEvaluationError` for one field: where it happened and AWS's cause text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.cause)]
pub struct QueryError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    location: String,
    expression: String,
    kind: QueryErrorKind,
    cause: String,
}

impl QueryError {
    fn new(expression: &str, location: &str, kind: QueryErrorKind, tail: String) -> Self {
        QueryError(Box::new(Details {
            cause: format!(
                "The JSONata expression '{expression}' specified for the field '{location}' {tail}"
            ),
            location: location.to_string(),
            expression: expression.to_string(),
            kind,
        }))
    }

    fn undefined(expression: &str, location: &str) -> Self {
        Self::new(
            expression,
            location,
            QueryErrorKind::Undefined,
            "returned nothing (undefined).".to_string(),
        )
    }

    fn from_jsonata(expression: &str, location: &str, error: JsonataError) -> Self {
        match error {
            JsonataError::UnsupportedResult => Self::new(
                expression,
                location,
                QueryErrorKind::UnsupportedType,
                "returned an unsupported result type.".to_string(),
            ),
            error => {
                let tail = format!("threw an error during evaluation. {error}");
                Self::new(
                    expression,
                    location,
                    QueryErrorKind::Evaluation(error),
                    tail,
                )
            }
        }
    }

    /// The error of a field whose `expression` did not [`compile`], for callers that compile
    /// (and cache) expressions themselves.
    pub fn compilation(expression: &str, location: &str, error: JsonataError) -> Self {
        Self::from_jsonata(expression.trim(), location, error)
    }

    /// The error name, always `States.QueryEvaluationError`.
    pub fn error(&self) -> &'static str {
        QUERY_EVALUATION_ERROR
    }

    /// AWS's cause text, without the state prefix.
    pub fn cause(&self) -> &str {
        &self.0.cause
    }

    /// The field path (`Output`, `Assign/result`, `Arguments/list/0`), the `location` of the
    /// `EvaluationFailed` history event.
    pub fn location(&self) -> &str {
        &self.0.location
    }

    /// The expression text as it appears in the cause.
    pub fn expression(&self) -> &str {
        &self.0.expression
    }

    pub fn kind(&self) -> &QueryErrorKind {
        &self.0.kind
    }
}

/// Evaluate one compiled expression for the field `location`; nothing is an error.
pub fn evaluate_field(
    expr: &Expression,
    bindings: &Bindings<'_>,
    location: &str,
) -> Result<Value, QueryError> {
    match evaluate(expr, bindings) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(QueryError::undefined(expr.source().trim(), location)),
        Err(e) => Err(QueryError::from_jsonata(expr.source().trim(), location, e)),
    }
}

/// Walk `template` (objects and arrays at any depth), evaluating every `{% %}` string and
/// keeping every other value as it is. `field` names the ASL field (`Output`, `Arguments`,
/// `Assign`); nested locations append `/key` or `/index` (`Assign/result`).
pub fn evaluate_value(
    template: &Value,
    bindings: &Bindings<'_>,
    field: &str,
) -> Result<Value, QueryError> {
    jsonata_core::value::with_stack(|| match template {
        Value::String(s) => match is_expression(s) {
            Some(source) => {
                let expr =
                    compile(source).map_err(|e| QueryError::from_jsonata(source, field, e))?;
                evaluate_field(&expr, bindings, field)
            }
            None => Ok(template.clone()),
        },
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let location = format!("{field}/{key}");
                out.insert(key.clone(), evaluate_value(value, bindings, &location)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let location = format!("{field}/{i}");
                out.push(evaluate_value(item, bindings, &location)?);
            }
            Ok(Value::Array(out))
        }
        _ => Ok(template.clone()),
    })
}

/// A JSON template (`Arguments`, `Output`, `Assign`, `ItemSelector` …) with every `{% %}`
/// compiled once, for the interpreter to cache per state. `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Template(Node);

#[derive(Debug, Clone)]
enum Node {
    /// A subtree without expressions, kept as it is.
    Literal(Value),
    Expression(Box<Expression>),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

/// A `{% %}` string of a template that does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The field path (`Output/items/0`).
    pub location: String,
    /// The text between `{%` and `%}`.
    pub expression: String,
    pub error: JsonataError,
}

impl Template {
    /// Compile every expression in `template`, the value of the field `field`. On failure,
    /// every expression that does not compile, with its location (for static validation).
    pub fn compile(template: &Value, field: &str) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let node = compile_node(template, field, &mut errors);
        if errors.is_empty() {
            Ok(Template(node))
        } else {
            Err(errors)
        }
    }

    /// Evaluate the template, as [`evaluate_value`] does.
    pub fn evaluate(&self, bindings: &Bindings<'_>, field: &str) -> Result<Value, QueryError> {
        evaluate_node(&self.0, bindings, field)
    }
}

fn compile_node(value: &Value, location: &str, errors: &mut Vec<TemplateError>) -> Node {
    jsonata_core::value::with_stack(|| match value {
        Value::String(s) => match is_expression(s) {
            Some(source) => match compile(source) {
                Ok(expr) => Node::Expression(Box::new(expr)),
                Err(error) => {
                    errors.push(TemplateError {
                        location: location.to_string(),
                        expression: source.to_string(),
                        error,
                    });
                    Node::Literal(Value::Null)
                }
            },
            None => Node::Literal(value.clone()),
        },
        Value::Object(map) => {
            let fields: Vec<(String, Node)> = map
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        compile_node(v, &format!("{location}/{k}"), errors),
                    )
                })
                .collect();
            if fields.iter().all(|(_, n)| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Object(fields)
            }
        }
        Value::Array(items) => {
            let items: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_node(v, &format!("{location}/{i}"), errors))
                .collect();
            if items.iter().all(|n| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(items)
            }
        }
        _ => Node::Literal(value.clone()),
    })
}

fn evaluate_node(
    node: &Node,
    bindings: &Bindings<'_>,
    location: &str,
) -> Result<Value, QueryError> {
    jsonata_core::value::with_stack(|| match node {
        Node::Literal(v) => Ok(v.clone()),
        Node::Expression(expr) => evaluate_field(expr, bindings, location),
        Node::Object(fields) => {
            let mut out = Map::new();
            for (key, node) in fields {
                let value = evaluate_node(node, bindings, &format!("{location}/{key}"))?;
                out.insert(key.clone(), value);
            }
            Ok(Value::Object(out))
        }
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, node)| evaluate_node(node, bindings, &format!("{location}/{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    })
}

/// The JSON type a field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedType {
    Array,
    Object,
    String,
    Number,
    /// A number without a fractional part.
    Integer,
    Boolean,
}

impl ExpectedType {
    pub fn name(self) -> &'static str {
        match self {
            ExpectedType::Array => "array",
            ExpectedType::Object => "object",
            ExpectedType::String => "string",
            ExpectedType::Number => "number",
            ExpectedType::Integer => "integer",
            ExpectedType::Boolean => "boolean",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            ExpectedType::Array => value.is_array(),
            ExpectedType::Object => value.is_object(),
            ExpectedType::String => value.is_string(),
            ExpectedType::Number => value.is_number(),
            ExpectedType::Integer => value.is_i64() || value.is_u64(),
            ExpectedType::Boolean => value.is_boolean(),
        }
    }
}

impl fmt::Display for ExpectedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The JSON type name AWS prints for a value.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Check the result of `expression` (the text between `{%` and `%}`) for a field that needs
/// one JSON type, with AWS's cause: "…returned an unexpected result type. Expected 'array',
/// but was 'string' for value: \"x\"".
pub fn expect_type(
    value: &Value,
    expected: ExpectedType,
    expression: &str,
    location: &str,
) -> Result<(), QueryError> {
    if expected.accepts(value) {
        return Ok(());
    }
    let actual = type_name(value);
    let tail = format!(
        "returned an unexpected result type. Expected '{expected}', but was '{actual}' for value: {value}"
    );
    Err(QueryError::new(
        expression.trim(),
        location,
        QueryErrorKind::UnexpectedType { expected, actual },
        tail,
    ))
}
