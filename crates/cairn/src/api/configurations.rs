//! The configuration members of state machines and activities — `loggingConfiguration`,
//! `tracingConfiguration`, `encryptionConfiguration` — checked and brought to the canonical
//! form that is stored and described (AWS's defaults filled in), so that equal settings
//! compare equal (idempotent creates, revision ids).

use cairn_api::ApiError;
use serde_json::{json, Map, Value};

/// `loggingConfiguration`: default `{"level":"OFF","includeExecutionData":false}`. A level other
/// than OFF needs exactly one destination (`InvalidLoggingConfiguration`).
pub fn logging(given: Option<&Value>) -> Result<Value, ApiError> {
    let empty = Map::new();
    let given = given.and_then(Value::as_object).unwrap_or(&empty);
    let level = given.get("level").and_then(Value::as_str).unwrap_or("OFF");
    let include = given
        .get("includeExecutionData")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let destinations = given
        .get("destinations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if destinations.len() > 1 {
        return Err(ApiError::invalid_logging_configuration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    if level != "OFF" && destinations.is_empty() {
        return Err(ApiError::invalid_logging_configuration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    let mut out = json!({"level": level, "includeExecutionData": include});
    if !destinations.is_empty() {
        out["destinations"] = Value::Array(destinations);
    }
    Ok(out)
}

/// `tracingConfiguration`: default `{"enabled":false}`.
pub fn tracing(given: Option<&Value>) -> Value {
    let enabled = given
        .and_then(|t| t.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    json!({ "enabled": enabled })
}

/// `encryptionConfiguration`: default `{"type":"AWS_OWNED_KEY"}`. A customer managed key needs
/// `kmsKeyId`; an AWS owned key takes no key settings (`InvalidEncryptionConfiguration`).
pub fn encryption(given: Option<&Value>) -> Result<Value, ApiError> {
    let Some(given) = given.and_then(Value::as_object) else {
        return Ok(json!({"type": "AWS_OWNED_KEY"}));
    };
    let kind = given
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("AWS_OWNED_KEY");
    let key = given.get("kmsKeyId").and_then(Value::as_str);
    let period = given
        .get("kmsDataKeyReusePeriodSeconds")
        .and_then(Value::as_i64);
    match (kind, key) {
        ("AWS_OWNED_KEY", None) if period.is_none() => Ok(json!({"type": "AWS_OWNED_KEY"})),
        ("AWS_OWNED_KEY", _) => Err(ApiError::invalid_encryption_configuration(
            "Invalid Encryption Configuration: kmsKeyId and kmsDataKeyReusePeriodSeconds \
             can only be set with type CUSTOMER_MANAGED_KMS_KEY",
        )),
        (_, None) => Err(ApiError::invalid_encryption_configuration(
            "Invalid Encryption Configuration: kmsKeyId is required for type \
             CUSTOMER_MANAGED_KMS_KEY",
        )),
        (_, Some(key)) => Ok(json!({
            "type": kind,
            "kmsKeyId": key,
            "kmsDataKeyReusePeriodSeconds": period.unwrap_or(300),
        })),
    }
}

/// A configuration as stored (JSON text) back to its value; unreadable text reads as `{}`.
pub fn stored(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(
            logging(None).unwrap(),
            json!({"level":"OFF","includeExecutionData":false})
        );
        assert_eq!(tracing(None), json!({"enabled": false}));
        assert_eq!(encryption(None).unwrap(), json!({"type":"AWS_OWNED_KEY"}));
    }

    #[test]
    fn invalid_settings() {
        assert!(logging(Some(&json!({"level": "ALL"}))).is_err());
        assert!(encryption(Some(&json!({"type": "CUSTOMER_MANAGED_KMS_KEY"}))).is_err());
        assert!(encryption(Some(&json!({"type": "AWS_OWNED_KEY", "kmsKeyId": "k"}))).is_err());
    }
}
