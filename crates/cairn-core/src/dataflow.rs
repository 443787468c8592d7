//! JSONPath-mode data flow (ASL.md §5.2): InputPath → Parameters → [work] → ResultSelector →
//! ResultPath → OutputPath, plus evaluation of paths and payload templates against `$`, `$$`
//! and the variables in scope.
//!
//! Owns the default fast paths (`$`, `null`) so the common case never calls the JSONPath
//! engine and never clones a value it can move. Does not decide what a state does with
//! the values; that is the state modules' job. JSONata states use `jsonata.rs` instead.

use crate::context::{mentions_context, ContextParts};
use crate::machine::Machine;
use crate::variables::ThreadVars;
use cairn_jsonpath::{PathError, Scope};
use serde_json::{Map, Value};
use std::cell::{Cell, OnceCell};

/// Everything an expression of one state may read besides `$`.
pub(crate) struct Eval<'a> {
    pub machine: &'a Machine,
    pub tid: u32,
    pub parts: ContextParts<'a>,
    pub entropy: &'a Cell<u64>,
    context: OnceCell<Value>,
}

impl<'a> Eval<'a> {
    pub fn new(
        machine: &'a Machine,
        tid: u32,
        parts: ContextParts<'a>,
        entropy: &'a Cell<u64>,
    ) -> Self {
        Eval {
            machine,
            tid,
            parts,
            entropy,
            context: OnceCell::new(),
        }
    }

    /// Use this context object instead of building one (TestState's `context`).
    pub fn with_context(self, context: Value) -> Self {
        Eval {
            context: OnceCell::from(context),
            ..self
        }
    }

    fn context(&self, needed: bool) -> &Value {
        static NULL: Value = Value::Null;
        if needed {
            self.context.get_or_init(|| self.parts.build())
        } else {
            &NULL
        }
    }

    fn with_scope<T>(&self, input: &Value, needs_context: bool, f: impl FnOnce(&Scope) -> T) -> T {
        let vars = ThreadVars {
            machine: self.machine,
            tid: self.tid,
        };
        let scope = Scope {
            input,
            context: self.context(needs_context),
            variables: &vars,
            entropy: self.entropy,
        };
        f(&scope)
    }

    /// Evaluate a Path (`$` is answered without the engine).
    pub fn path(&self, path: &str, input: &Value) -> Result<Value, PathError> {
        if path == "$" {
            return Ok(input.clone());
        }
        self.with_scope(input, path.contains("$$"), |s| {
            cairn_jsonpath::evaluate_path(path, s)
        })
    }

    /// Like [`Eval::path`] but a missing node is `None`.
    pub fn lookup(&self, path: &str, input: &Value) -> Result<Option<Value>, PathError> {
        if path == "$" {
            return Ok(Some(input.clone()));
        }
        self.with_scope(input, path.contains("$$"), |s| {
            cairn_jsonpath::lookup_path(path, s)
        })
    }

    /// Evaluate a payload template (Parameters, ResultSelector, ItemSelector, Assign).
    pub fn template(
        &self,
        template: &Value,
        input: &Value,
        field: &str,
    ) -> Result<Value, PathError> {
        if !has_dynamic_keys(template) {
            return Ok(template.clone());
        }
        self.with_scope(input, mentions_context(template), |s| {
            cairn_jsonpath::evaluate_template(template, s, field)
        })
    }

    /// Evaluate one `.$`-style expression (path or intrinsic), e.g. Fail `ErrorPath`.
    pub fn expression(&self, expr: &str, input: &Value) -> Result<Value, PathError> {
        if expr == "$" {
            return Ok(input.clone());
        }
        self.with_scope(input, expr.contains("$$"), |s| {
            cairn_jsonpath::evaluate_expression(expr, s)
        })
    }

    /// `InputPath`: `$` keeps the value (moved), `null` gives `{}`.
    pub fn input_path(&self, path: Option<&str>, raw: Value) -> Result<Value, PathError> {
        match path {
            Some("$") => Ok(raw),
            None => Ok(Value::Object(Map::new())),
            Some(p) => self.path(p, &raw),
        }
    }

    /// `OutputPath`.
    pub fn output_path(&self, path: Option<&str>, value: Value) -> Result<Value, PathError> {
        self.input_path(path, value)
    }

    /// `Assign` in JSONPath mode: a payload template whose keys are variable names.
    pub fn assign(&self, assign: &Value, input: &Value) -> Result<Map<String, Value>, PathError> {
        match self.template(assign, input, "Assign")? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }
}

/// `ResultPath`: `$` replaces, `null` keeps the raw input, otherwise writes into it.
pub(crate) fn result_path(
    path: Option<&str>,
    raw_input: Value,
    result: Value,
) -> Result<Value, PathError> {
    match path {
        Some("$") => Ok(result),
        None => Ok(raw_input),
        Some(p) => cairn_jsonpath::write_result_path(p, raw_input, result),
    }
}

/// Does a template contain any `.$` key (else it is copied as is)?
pub(crate) fn has_dynamic_keys(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.ends_with(".$") || has_dynamic_keys(v)),
        Value::Array(a) => a.iter().any(has_dynamic_keys),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn static_templates_are_recognised() {
        assert!(!has_dynamic_keys(&json!({"a": 1, "b": [{"c": "$.x"}]})));
        assert!(has_dynamic_keys(&json!({"a": {"b.$": "$.x"}})));
        assert!(has_dynamic_keys(&json!([{"b.$": "$.x"}])));
    }

    #[test]
    fn result_path_defaults() {
        assert_eq!(
            result_path(Some("$"), json!({"a": 1}), json!(2)).unwrap(),
            json!(2)
        );
        assert_eq!(
            result_path(None, json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1})
        );
    }
}
