//! Definitions and role ARNs as CreateStateMachine and UpdateStateMachine check them:
//! `cairn_asl::validate` → `InvalidDefinition` in AWS's message form.

use cairn_api::ApiError;
use cairn_asl::{invalid_definition_message, validate, MachineType, Severity};

/// The machine type of a `type` member (`STANDARD` unless `EXPRESS`).
pub fn machine_type(name: &str) -> MachineType {
    if name == "EXPRESS" {
        MachineType::Express
    } else {
        MachineType::Standard
    }
}

/// `InvalidDefinition` listing every error the validator finds; warnings pass.
pub fn check(definition: &str, machine_type: MachineType) -> Result<(), ApiError> {
    let diagnostics = validate(definition, machine_type);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(ApiError::invalid_definition(invalid_definition_message(
            &diagnostics,
        )));
    }
    Ok(())
}

/// `publish` and `versionDescription` of CreateStateMachine and UpdateStateMachine: a
/// description needs `publish: true`.
pub fn check_publish(publish: bool, version_description: Option<&str>) -> Result<(), ApiError> {
    if version_description.is_some() && !publish {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    Ok(())
}

/// A role ARN must at least look like an ARN (`arn:<partition>:<service>:…`).
pub fn check_role_arn(role_arn: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && !parts[1].is_empty() && !parts[2].is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_arn_prefix(role_arn))
    }
}

/// `variableReferences` of DescribeStateMachine / DescribeStateMachineForExecution: state
/// name → variables it reads (see `cairn_asl::variable_references`); `None` when no state
/// reads any (AWS then leaves the member out).
pub fn variable_references(definition: &str) -> Option<serde_json::Value> {
    let parsed: serde_json::Value = serde_json::from_str(definition).ok()?;
    let refs = cairn_asl::variable_references(&parsed);
    if refs.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = refs
        .into_iter()
        .map(|(state, names)| (state, serde_json::Value::from(names)))
        .collect();
    Some(serde_json::Value::Object(map))
}
