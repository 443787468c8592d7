//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath `Assign`):
//! an object copied as is, except that `key.$` members are evaluated and renamed `key`.
//!
//! Recurses into nested objects and into objects inside arrays; plain strings are never
//! evaluated; a template that is not an object is returned verbatim.

use crate::expression::{self, ExprError};
use crate::{PathError, Scope, STATES_RUNTIME};
use serde_json::{Map, Value};

pub(crate) fn evaluate(template: &Value, scope: &Scope, _field: &str) -> Result<Value, PathError> {
    match template {
        Value::Object(members) => object(members, scope),
        other => Ok(other.clone()),
    }
}

fn object(members: &Map<String, Value>, scope: &Scope) -> Result<Value, PathError> {
    let mut out = Map::with_capacity(members.len());
    for (key, value) in members {
        match key.strip_suffix(".$") {
            Some(name) => {
                let Value::String(expr) = value else {
                    return Err(PathError {
                        error: STATES_RUNTIME,
                        message: format!(
                            "The value for the field '{key}' must be a STRING that contains a \
                             JSONPath but was an {}",
                            json_type_name(value)
                        ),
                    });
                };
                let evaluated =
                    expression::evaluate(expr, scope).map_err(|e| field_error(e, key, scope))?;
                out.insert(name.to_string(), evaluated);
            }
            None => {
                out.insert(key.clone(), nested(value, scope)?);
            }
        }
    }
    Ok(Value::Object(out))
}

fn nested(value: &Value, scope: &Scope) -> Result<Value, PathError> {
    match value {
        Value::Object(members) => object(members, scope),
        Value::Array(items) => items
            .iter()
            .map(|item| nested(item, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// AWS's wording for a template member whose path selects nothing (observed).
fn field_error(error: ExprError, key: &str, scope: &Scope) -> PathError {
    match error {
        syntax @ ExprError::Syntax { .. } if is_call(&syntax) => syntax.into_path_error(),
        ExprError::Miss { path, .. } | ExprError::Syntax { text: path, .. } => PathError {
            error: STATES_RUNTIME,
            message: format!(
                "The JSONPath '{path}' specified for the field '{key}' could not be found in \
                 the input '{}'",
                scope.input
            ),
        },
        ExprError::Failure(e) => e,
    }
}

fn is_call(error: &ExprError) -> bool {
    matches!(error, ExprError::Syntax { text, .. } if crate::is_intrinsic(text))
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::Number(_) => "NUMBER",
        Value::String(_) => "STRING",
        Value::Array(_) => "ARRAY",
        Value::Object(_) => "OBJECT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoVariables;
    use serde_json::json;
    use std::cell::Cell;

    fn run(template: Value, input: Value) -> Result<Value, PathError> {
        let entropy = Cell::new(7);
        let context = json!({"Execution": {"Name": "exec-1"}});
        let scope = Scope {
            input: &input,
            context: &context,
            variables: &NoVariables,
            entropy: &entropy,
        };
        evaluate(&template, &scope, "Parameters")
    }

    #[test]
    fn dollar_keys_are_evaluated_and_renamed() {
        let out = run(
            json!({"a.$": "$.x", "b": "$.x", "c.$": "$$.Execution.Name", "d.$": "$"}),
            json!({"x": 1}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"a": 1, "b": "$.x", "c": "exec-1", "d": {"x": 1}})
        );
    }

    #[test]
    fn recursion_into_objects_and_arrays_but_not_strings() {
        let out = run(
            json!({"n": {"m.$": "$.x"}, "l": [{"k.$": "$.x"}, "$.x", ["$.x", {"j.$": "$.x"}]]}),
            json!({"x": "v"}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"n": {"m": "v"}, "l": [{"k": "v"}, "$.x", ["$.x", {"j": "v"}]]})
        );
    }

    #[test]
    fn non_object_templates_are_verbatim() {
        assert_eq!(run(json!("$.x"), json!({"x": 1})).unwrap(), json!("$.x"));
        assert_eq!(
            run(json!([{"a.$": "$.x"}]), json!({"x": 1})).unwrap(),
            json!([{"a.$": "$.x"}])
        );
        assert_eq!(run(json!(3), json!({})).unwrap(), json!(3));
    }

    #[test]
    fn intrinsic_values_are_called() {
        let out = run(
            json!({"s.$": "States.Format('{}-{}', $.a, $$.Execution.Name)"}),
            json!({"a": 1}),
        )
        .unwrap();
        assert_eq!(out, json!({"s": "1-exec-1"}));
    }

    #[test]
    fn missing_path_uses_aws_wording_with_compact_input() {
        let err = run(
            json!({"value.$": "$.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.message,
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be \
             found in the input '{\"int-literal\":0}'"
        );
        let err = run(
            json!({"value.$": "$$.Execution.Input.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .unwrap_err();
        assert!(err
            .message
            .starts_with("The JSONPath '$$.Execution.Input.no_such_jsonpath' specified"));
    }

    #[test]
    fn indefinite_paths_over_nothing_are_empty_arrays() {
        let out = run(json!({"item.$": "$.items[*].itemValue"}), json!({})).unwrap();
        assert_eq!(out, json!({"item": []}));
    }

    #[test]
    fn malformed_values_report_what_they_are() {
        let err = run(json!({"a.$": "States.Format('x'"}), json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(
            err.message
                .starts_with("Invalid intrinsic function call 'States.Format('x'' : "),
            "{}",
            err.message
        );
        // AWS treats an unsupported path (a Jayway function) as one that finds nothing.
        let err = run(json!({"Jobs.$": "$.Jobs.sum()"}), json!({"Jobs": [1]})).unwrap_err();
        assert_eq!(
            err.message,
            "The JSONPath '$.Jobs.sum()' specified for the field 'Jobs.$' could not be found in \
             the input '{\"Jobs\":[1]}'"
        );
    }

    #[test]
    fn non_string_dollar_value_is_an_error() {
        let err = run(json!({"a.$": ["$.x"]}), json!({})).unwrap_err();
        assert_eq!(
            err.message,
            "The value for the field 'a.$' must be a STRING that contains a JSONPath but was an ARRAY"
        );
    }
}
