//! JSONata-mode data flow (ASL.md §10): the fields of a JSONata state (`Arguments`, `Output`,
//! `Assign`, `Condition`, `Items`, `ItemSelector`, numeric and timestamp expressions) evaluated
//! against `$states`, the workflow variables in scope, the step's time and the run's entropy.
//!
//! Owns the binding of `$states` (`input`, `context`, `result`, `errorOutput`) and the cache
//! of compiled expressions: a definition's `{% %}` strings are compiled once per process and
//! shared, so a chain of JSONata states never parses the same text twice. Does not write
//! events: a failure comes back as a [`QueryFailure`] and `run.rs` turns it into
//! `EvaluationFailed` plus `States.QueryEvaluationError`.

use crate::context::ContextParts;
use crate::machine::Machine;
use crate::variables::ThreadVars;
use cairn_jsonata::{
    compile, evaluate_field, expect_type, is_expression, Bindings, ExpectedType, Expression,
    JsonataError, QueryError,
};
use serde_json::{Map, Value};
use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// A JSONata field that failed: the `location` of the `EvaluationFailed` event (absent when
/// the failure is not one field's, e.g. a Map input that is not an array) and AWS's cause
/// without the prefix naming the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryFailure {
    pub location: Option<String>,
    pub cause: String,
}

impl QueryFailure {
    pub fn new(location: Option<&str>, cause: impl Into<String>) -> Self {
        QueryFailure {
            location: location.map(str::to_string),
            cause: cause.into(),
        }
    }
}

impl From<QueryError> for QueryFailure {
    fn from(e: QueryError) -> Self {
        QueryFailure {
            location: Some(e.location().to_string()),
            cause: e.cause().to_string(),
        }
    }
}

/// What `$states` holds besides `input` and `context`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Extra<'v> {
    None,
    /// `$states.result`: Output and Assign of Task, Parallel and Map after success.
    Result(&'v Value),
    /// `$states.errorOutput`: a catcher's Output and Assign.
    ErrorOutput(&'v Value),
}

/// Most expressions ever cached at once; past it the cache starts over (the definitions in
/// use compile again on their next evaluation).
const CACHE_LIMIT: usize = 8_192;

/// The compiled form of `source` (the text between `{%` and `%}`), compiled at most once.
pub(crate) fn compiled(source: &str) -> Result<Arc<Expression>, JsonataError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Expression>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(e) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(source)
    {
        return Ok(e.clone());
    }
    let expr = Arc::new(compile(source)?);
    let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(source.to_string(), expr.clone());
    Ok(expr)
}

/// Which parts of `$states` the expressions of a field read.
#[derive(Debug, Default, Clone, Copy)]
struct Needs {
    states: bool,
    context: bool,
}

impl Needs {
    fn scan_source(&mut self, source: &str) {
        let mut rest = source;
        while let Some(at) = rest.find("$states") {
            self.states = true;
            rest = &rest[at + "$states".len()..];
            let after = rest.trim_start();
            // `$states` as a whole (passed to a function, `$keys($states)`) needs everything.
            match after.strip_prefix('.') {
                Some(member) if !member.trim_start().starts_with("context") => {}
                _ => self.context = true,
            }
        }
    }

    fn scan_template(&mut self, v: &Value) {
        match v {
            Value::String(s) => {
                if let Some(source) = is_expression(s) {
                    self.scan_source(source);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.scan_template(v)),
            Value::Object(o) => o.values().for_each(|v| self.scan_template(v)),
            _ => {}
        }
    }
}

/// Everything the JSONata fields of one state may read besides `$states.input`.
pub(crate) struct Query<'a> {
    machine: &'a Machine,
    tid: u32,
    parts: ContextParts<'a>,
    entropy: &'a Cell<u64>,
    now_ms: i64,
    context: OnceCell<Value>,
}

impl<'a> Query<'a> {
    pub fn new(
        machine: &'a Machine,
        tid: u32,
        parts: ContextParts<'a>,
        entropy: &'a Cell<u64>,
        now_ms: i64,
    ) -> Self {
        Query {
            machine,
            tid,
            parts,
            entropy,
            now_ms,
            context: OnceCell::new(),
        }
    }

    /// Use this context object instead of building one (TestState's `context`).
    pub fn with_context(self, context: Value) -> Self {
        Query {
            context: OnceCell::from(context),
            ..self
        }
    }

    /// The value of `$states` for one field.
    fn states(&self, needs: Needs, input: &Value, extra: Extra) -> Value {
        let mut m = Map::new();
        if !needs.states {
            return Value::Object(m);
        }
        m.insert("input".into(), input.clone());
        if needs.context {
            let context = self.context.get_or_init(|| self.parts.build());
            m.insert("context".into(), context.clone());
        }
        match extra {
            Extra::None => {}
            Extra::Result(r) => {
                m.insert("result".into(), r.clone());
            }
            Extra::ErrorOutput(e) => {
                m.insert("errorOutput".into(), e.clone());
            }
        }
        Value::Object(m)
    }

    fn with_bindings<T>(&self, states: &Value, f: impl FnOnce(&Bindings) -> T) -> T {
        let vars = ThreadVars {
            machine: self.machine,
            tid: self.tid,
        };
        // Each field draws its own seed, so two `$uuid()` in one state differ and a replay
        // with the same step entropy draws them again.
        let seed = self.entropy.get();
        self.entropy
            .set(crate::retry::mix(seed ^ 0x004a_534f_4e61_7461));
        let bindings = Bindings::new(states)
            .with_variables(&vars)
            .with_now_ms(self.now_ms)
            .with_entropy(seed);
        f(&bindings)
    }

    /// A template field (`Arguments`, `Output`, `Assign`, `ItemSelector`, `Items` …): every
    /// `{% %}` string at any depth is evaluated, everything else kept. `field` is the
    /// location of the field (`Output`, `Assign`).
    pub fn template(
        &self,
        template: &Value,
        input: &Value,
        extra: Extra,
        field: &str,
    ) -> Result<Value, QueryFailure> {
        if !has_expressions(template) {
            return Ok(template.clone());
        }
        let mut needs = Needs::default();
        needs.scan_template(template);
        let states = self.states(needs, input, extra);
        self.with_bindings(&states, |b| walk(template, b, field))
            .map_err(QueryFailure::from)
    }

    /// A field that is one expression as a whole (`source` is the text between `{%` `%}`).
    pub fn expression(
        &self,
        source: &str,
        input: &Value,
        extra: Extra,
        field: &str,
    ) -> Result<Value, QueryFailure> {
        let mut needs = Needs::default();
        needs.scan_source(source);
        let states = self.states(needs, input, extra);
        self.with_bindings(&states, |b| evaluate_source(source, b, field))
            .map_err(QueryFailure::from)
    }

    /// An expression field that needs one JSON type.
    pub fn typed(
        &self,
        source: &str,
        input: &Value,
        field: &str,
        expected: ExpectedType,
    ) -> Result<Value, QueryFailure> {
        let v = self.expression(source, input, Extra::None, field)?;
        expect_type(&v, expected, source, field)?;
        Ok(v)
    }

    /// `Assign`: the variables to set, all evaluated before any is set.
    pub fn assign(
        &self,
        assign: &Value,
        input: &Value,
        extra: Extra,
    ) -> Result<Map<String, Value>, QueryFailure> {
        match self.template(assign, input, extra, "Assign")? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }

    /// Assign and Output of a state (or of a catcher or Choice rule), both evaluated against
    /// the variables as of state entry. The output is `None` when Output is absent (the
    /// caller knows the default).
    #[allow(clippy::type_complexity)]
    pub fn assign_and_output(
        &self,
        assign: Option<&Value>,
        output: Option<&Value>,
        input: &Value,
        extra: Extra,
    ) -> Result<(Option<Value>, Option<Map<String, Value>>), QueryFailure> {
        let assigned = match assign {
            Some(a) => Some(self.assign(a, input, extra)?),
            None => None,
        };
        let out = match output {
            Some(o) => Some(self.template(o, input, extra, "Output")?),
            None => None,
        };
        Ok((out, assigned))
    }

    /// A Choice rule's `Condition`: a literal boolean or an expression that returns one.
    pub fn condition(&self, condition: &Value, input: &Value) -> Result<bool, QueryFailure> {
        match condition {
            Value::Bool(b) => Ok(*b),
            Value::String(source) => {
                let v = self.typed(source, input, "Condition", ExpectedType::Boolean)?;
                Ok(v.as_bool() == Some(true))
            }
            other => Err(QueryFailure::new(
                Some("Condition"),
                format!(
                    "The Condition field must be a boolean but was: {}",
                    crate::history::json_text(other)
                ),
            )),
        }
    }

    /// A whole-number field (`TimeoutSeconds`, `Seconds`, `MaxConcurrency` …).
    pub fn integer(&self, source: &str, input: &Value, field: &str) -> Result<i64, QueryFailure> {
        let v = self.typed(source, input, field, ExpectedType::Integer)?;
        Ok(v.as_i64().unwrap_or(i64::MAX))
    }

    /// A number field (`ToleratedFailurePercentage`).
    pub fn number(&self, source: &str, input: &Value, field: &str) -> Result<f64, QueryFailure> {
        let v = self.typed(source, input, field, ExpectedType::Number)?;
        Ok(v.as_f64().unwrap_or(f64::NAN))
    }
}

/// Does a template hold any `{% %}` string (else it is copied as is)?
pub(crate) fn has_expressions(v: &Value) -> bool {
    match v {
        Value::String(s) => is_expression(s).is_some(),
        Value::Array(a) => a.iter().any(has_expressions),
        Value::Object(o) => o.values().any(has_expressions),
        _ => false,
    }
}

fn evaluate_source(source: &str, b: &Bindings, location: &str) -> Result<Value, QueryError> {
    match compiled(source) {
        Ok(expr) => evaluate_field(&expr, b, location),
        Err(e) => Err(QueryError::compilation(source, location, e)),
    }
}

fn walk(template: &Value, b: &Bindings, location: &str) -> Result<Value, QueryError> {
    match template {
        Value::String(s) => match is_expression(s) {
            Some(source) => evaluate_source(source, b, location),
            None => Ok(template.clone()),
        },
        Value::Object(map) if has_expressions(template) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let v = walk(value, b, &format!("{location}/{key}"))?;
                out.insert(key.clone(), v);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) if has_expressions(template) => items
            .iter()
            .enumerate()
            .map(|(i, v)| walk(v, b, &format!("{location}/{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        _ => Ok(template.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_context_only_when_read() {
        let mut n = Needs::default();
        n.scan_source("$states.input.a");
        assert!(n.states && !n.context);
        n.scan_source("$states . context.Execution.Id");
        assert!(n.context);
        let mut n = Needs::default();
        n.scan_source("$keys($states)");
        assert!(n.context);
        let mut n = Needs::default();
        n.scan_template(&json!({"a": ["{% $x %}"]}));
        assert!(!n.states);
    }

    #[test]
    fn expressions_are_compiled_once() {
        let a = compiled("1 + 1").unwrap();
        let b = compiled("1 + 1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(compiled("1 +").is_err());
    }

    #[test]
    fn templates_without_expressions_are_literals() {
        assert!(!has_expressions(&json!({"a": "{% x", "b": [1, "%}"]})));
        assert!(has_expressions(&json!({"a": [{"b": "{% 1 %}"}]})));
    }
}
