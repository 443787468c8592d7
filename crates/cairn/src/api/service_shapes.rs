//! Response shapes of the AWS APIs a Task can call, for TestState's mock validation.
//!
//! Owns the check of a mocked `result` against the output shape of the integrated
//! operation (`fieldValidationMode` STRICT / PRESENT / NONE) and AWS's message for each
//! violation. The shapes are data generated from botocore's service models by
//! `scripts/gen-service-shapes.py` into `service-shapes.json` (the optimized integrations'
//! services plus the most used aws-sdk services); never edit them by hand. Must not call
//! any service.
//!
//! Rules (observed on AWS): members the shape does not know are accepted; STRICT also
//! requires the shape's required members, at every depth present in the mock; PRESENT
//! checks only the members the mock has; a violation names the member only (`Field
//! 'MemorySize' …`), with Step Functions' capitalised member names. An optimized integration answers blobs as JSON (Lambda's `Payload`),
//! so only an aws-sdk integration's blobs must be strings. Callback (`.waitForTaskToken`)
//! and `.sync` results are not the operation's output, so they are not checked.

use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationMode {
    Strict,
    Present,
    None,
}

static DATA: &str = include_str!("service-shapes.json");

fn data() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(DATA).unwrap_or(Value::Null))
}

/// botocore's service name for a Step Functions resource's service part.
fn service_name(sfn: &str) -> &str {
    match sfn {
        "states" | "sfn" => "stepfunctions",
        "eventbridge" => "events",
        "cloudwatchlogs" => "logs",
        "emrcontainers" => "emr-containers",
        "emrserverless" => "emr-serverless",
        "elasticmapreduce" => "emr",
        "bedrockruntime" => "bedrock-runtime",
        "cognitoidentityprovider" => "cognito-idp",
        other => other,
    }
}

/// `Err(message)` when the mocked result does not fit the operation's output shape.
pub fn check_mock(resource: &str, result: &Value, mode: ValidationMode) -> Result<(), String> {
    if mode == ValidationMode::None {
        return Ok(());
    }
    let Some(rest) = resource.split_once(":states:::").map(|(_, r)| r) else {
        return Ok(()); // a Lambda function or activity ARN: any result
    };
    if rest.contains(".sync") || rest.ends_with(".waitForTaskToken") {
        return Ok(());
    }
    let (sdk, rest) = match rest.strip_prefix("aws-sdk:") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let Some((service, action)) = rest.split_once(':') else {
        return Ok(());
    };
    let mut chars = action.chars();
    let op = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => return Ok(()),
    };
    let svc = &data()["services"][service_name(service)];
    let Some(shape) = svc["ops"][op.as_str()].as_str() else {
        return Ok(());
    };
    let checker = Checker {
        shapes: &svc["shapes"],
        strict: mode == ValidationMode::Strict,
        sdk,
    };
    checker.check(shape, "", result)
}

struct Checker<'a> {
    shapes: &'a Value,
    strict: bool,
    sdk: bool,
}

impl Checker<'_> {
    fn check(&self, shape: &str, field: &str, v: &Value) -> Result<(), String> {
        let s = &self.shapes[shape];
        let kind = s["k"].as_str().unwrap_or("str");
        let err = |what: &str| Err(format!("Field '{field}' {what}"));
        let min = s["min"].as_f64();
        let max = s["max"].as_f64();
        match kind {
            "s" => {
                let Value::Object(obj) = v else {
                    return err("must be an object");
                };
                let members = s["m"].as_object().cloned().unwrap_or_default();
                if self.strict {
                    for r in s["r"].as_array().into_iter().flatten() {
                        let r = pascal(r.as_str().unwrap_or_default());
                        if !obj.contains_key(&r) {
                            return Err(format!("Required field '{r}' is missing"));
                        }
                    }
                }
                self.members(&members, obj)
            }
            "l" => {
                let Value::Array(items) = v else {
                    return err("must be an array");
                };
                let member = s["e"].as_str().unwrap_or_default();
                items.iter().try_for_each(|i| self.check(member, field, i))
            }
            "m" => {
                let Value::Object(obj) = v else {
                    return err("must be an object");
                };
                let value = s["v"].as_str().unwrap_or_default();
                obj.values().try_for_each(|i| self.check(value, field, i))
            }
            "str" | "blob" => {
                if kind == "blob" && !self.sdk {
                    return Ok(());
                }
                let Value::String(text) = v else {
                    return err("must be a string");
                };
                let len = text.chars().count() as f64;
                if min.is_some_and(|m| len < m) {
                    return err("is smaller than the minimum length");
                }
                if max.is_some_and(|m| len > m) {
                    return err("is larger than the maximum length");
                }
                Ok(())
            }
            "int" | "num" => {
                let Some(n) = v.as_f64() else {
                    return err("must be a number");
                };
                if kind == "int" && n.fract() != 0.0 {
                    return err("must be an integer");
                }
                if min.is_some_and(|m| n < m) {
                    return err("is less than the minimum value");
                }
                if max.is_some_and(|m| n > m) {
                    return err("exceeds the maximum value");
                }
                Ok(())
            }
            "bool" => match v {
                Value::Bool(_) => Ok(()),
                _ => err("must be a boolean"),
            },
            // AWS answers timestamps as text; an epoch number is accepted as well.
            "ts" => match v {
                Value::String(_) | Value::Number(_) => Ok(()),
                _ => err("must be a string"),
            },
            _ => Ok(()),
        }
    }

    fn members(
        &self,
        members: &Map<String, Value>,
        obj: &Map<String, Value>,
    ) -> Result<(), String> {
        for (model_name, shape) in members {
            let name = pascal(model_name);
            if let (Some(value), Some(shape)) = (obj.get(&name), shape.as_str()) {
                self.check(shape, &name, value)?;
            }
        }
        Ok(())
    }
}

/// Step Functions answers every integration's members with a capital first letter
/// (`ExecutionArn` for the model's `executionArn`).
fn pascal(name: &str) -> String {
    crate::runtime::resources::upper_first(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KMS: &str = "arn:aws:states:::aws-sdk:kms:encrypt";

    #[test]
    fn strict_checks_types_lengths_ranges_and_required_members() {
        let strict = ValidationMode::Strict;
        assert_eq!(
            check_mock(KMS, &json!({"CiphertextBlob": 1}), strict).unwrap_err(),
            "Field 'CiphertextBlob' must be a string"
        );
        assert_eq!(
            check_mock(KMS, &json!({"CiphertextBlob": ""}), strict).unwrap_err(),
            "Field 'CiphertextBlob' is smaller than the minimum length"
        );
        let get = "arn:aws:states:::aws-sdk:lambda:getFunction";
        assert_eq!(
            check_mock(
                get,
                &json!({"Configuration": {"MemorySize": 32769}}),
                strict
            )
            .unwrap_err(),
            "Field 'MemorySize' exceeds the maximum value"
        );
        let start = "arn:aws:states:::states:startExecution";
        assert_eq!(
            check_mock(start, &json!({}), strict).unwrap_err(),
            "Required field 'ExecutionArn' is missing"
        );
        assert!(check_mock(start, &json!({}), ValidationMode::Present).is_ok());
        assert!(check_mock(start, &json!({"StartDate": true}), ValidationMode::None).is_ok());
        assert!(check_mock(KMS, &json!({"unknown": 1}), strict).is_ok());
    }
}
