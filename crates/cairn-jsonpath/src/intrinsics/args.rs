//! Evaluated arguments of one call and the checks functions apply to them, so every function
//! reports a wrong type or value in the same words: `The function 'States.X' …`.

use crate::{PathError, STATES_INTRINSIC_FAILURE};
use serde_json::Value;
use std::borrow::Cow;

pub(crate) struct Args<'a> {
    name: &'a str,
    values: Vec<Cow<'a, Value>>,
}

pub(crate) fn failure(message: String) -> PathError {
    PathError {
        error: STATES_INTRINSIC_FAILURE,
        message,
    }
}

/// A JSON type as AWS names it in messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a> Args<'a> {
    pub fn new(name: &'a str, values: Vec<Cow<'a, Value>>) -> Self {
        Args { name, values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn get(&self, i: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.values.get(i).map_or(&NULL, |v| v.as_ref())
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values.into_iter().map(Cow::into_owned).collect()
    }

    /// A failure of this call, worded `The function 'States.X' <what>`.
    pub fn fail(&self, what: impl std::fmt::Display) -> PathError {
        failure(format!("The function '{}' {what}", self.name))
    }

    fn wrong_type(&self, i: usize, wanted: &str) -> PathError {
        let got = self.get(i);
        self.fail(format!(
            "expects argument {} to be {wanted} but was {} '{}'",
            i + 1,
            type_name(got),
            got
        ))
    }

    pub fn string(&self, i: usize) -> Result<&str, PathError> {
        self.get(i)
            .as_str()
            .ok_or_else(|| self.wrong_type(i, "a string"))
    }

    pub fn array(&self, i: usize) -> Result<&Vec<Value>, PathError> {
        self.get(i)
            .as_array()
            .ok_or_else(|| self.wrong_type(i, "an array"))
    }

    pub fn object(&self, i: usize) -> Result<&serde_json::Map<String, Value>, PathError> {
        self.get(i)
            .as_object()
            .ok_or_else(|| self.wrong_type(i, "an object"))
    }

    pub fn number(&self, i: usize) -> Result<f64, PathError> {
        self.get(i)
            .as_f64()
            .ok_or_else(|| self.wrong_type(i, "a number"))
    }

    /// An integer; a float with an integral value (`2.0`) counts.
    pub fn integer(&self, i: usize) -> Result<i64, PathError> {
        let v = self.get(i);
        if let Some(n) = v.as_i64() {
            return Ok(n);
        }
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(self.wrong_type(i, "an integer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(values: Vec<Value>) -> Args<'static> {
        Args::new("States.Test", values.into_iter().map(Cow::Owned).collect())
    }

    #[test]
    fn typed_access_and_messages() {
        let a = args(vec![json!("s"), json!(2.0), json!(2.5), json!([1])]);
        assert_eq!(a.string(0).unwrap(), "s");
        assert_eq!(a.integer(1).unwrap(), 2);
        assert_eq!(
            a.integer(2).unwrap_err().message,
            "The function 'States.Test' expects argument 3 to be an integer but was number '2.5'"
        );
        assert_eq!(a.integer(2).unwrap_err().error, "States.IntrinsicFailure");
        assert_eq!(a.array(3).unwrap().len(), 1);
        assert!(a.array(0).is_err());
        assert!(a.object(0).is_err());
        assert_eq!(a.get(9), &Value::Null);
        assert_eq!(a.len(), 4);
    }
}
