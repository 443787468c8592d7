//! Pieces shared by the execution operations: resolving the machine an execution starts
//! from, checking execution input, and the DescribeExecution / ListExecutions shapes.

use crate::app::App;
use cairn_api::{time::epoch_seconds, ApiError, Arn, Resource};
use cairn_store::{ExecutionRecord, StateMachineRecord};
use serde_json::{json, Map, Value};

/// The model's limit on `input` (and on outputs): 256 KiB of UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The execution's name: as given (checked against the name rules), or a generated UUID.
pub fn execution_name(name: Option<String>) -> Result<String, ApiError> {
    match name {
        Some(n) => {
            cairn_api::validate_name(&n)?;
            Ok(n)
        }
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

/// Absent input is `{}`; anything else must be JSON (any JSON value, observed).
pub fn check_execution_input(input: Option<String>) -> Result<String, ApiError> {
    let Some(text) = input else {
        return Ok("{}".into());
    };
    if text.is_empty() {
        return Err(ApiError::invalid_execution_input(
            "Invalid State Machine Execution Input: 'Invalid execution input.'",
        ));
    }
    // Deeper than Cairn can read back (see `cairn_core::limits`): refused like malformed
    // input, before anything is stored.
    if cairn_core::limits::too_deep(&text) {
        return Err(ApiError::invalid_execution_input(format!(
            "Invalid State Machine Execution Input: '{}'",
            cairn_core::limits::too_deep_message("The input")
        )));
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        return Err(ApiError::invalid_execution_input(format!(
            "Invalid State Machine Execution Input: '{e}'"
        )));
    }
    Ok(text)
}

/// The machine named by a StartExecution/StartSyncExecution ARN.
pub async fn machine_for_start(
    app: &App,
    state_machine_arn: &str,
) -> Result<(StateMachineRecord, Arn), ApiError> {
    let arn = Arn::parse_as(state_machine_arn, &["stateMachine"])?;
    if !matches!(arn.resource, Resource::StateMachine { .. }) {
        // Versions and aliases are not stored yet: nothing answers to a qualified ARN.
        return Err(ApiError::no_such_state_machine(state_machine_arn));
    }
    let key = state_machine_arn.to_string();
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(state_machine_arn))?;
    if machine.status == "DELETING" {
        return Err(ApiError::state_machine_deleting(format!(
            "State Machine is being deleted: '{state_machine_arn}'"
        )));
    }
    Ok((machine, arn))
}

/// Parse an execution ARN for an operation that only knows STANDARD executions.
pub fn standard_execution_arn(value: &str) -> Result<Arn, ApiError> {
    Arn::parse_as(value, &["execution"])
}

/// Load an execution or answer `ExecutionDoesNotExist`.
pub async fn load_execution(app: &App, arn: &str) -> Result<ExecutionRecord, ApiError> {
    standard_execution_arn(arn)?;
    let key = arn.to_string();
    app.store(move |s| s.get_execution(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_execution(arn))
}

/// `redriveStatus` and its reason for a closed execution. Redrive is not built yet, but the
/// status reports what AWS would (FAILED/ABORTED/TIMED_OUT are redrivable there).
fn redrive_status(status: &str) -> Option<(&'static str, String)> {
    match status {
        "RUNNING" => None,
        "SUCCEEDED" => Some((
            "NOT_REDRIVABLE",
            "Execution is SUCCEEDED and cannot be redriven".into(),
        )),
        _ => Some(("REDRIVABLE", String::new())),
    }
}

/// The members DescribeExecution and ListExecutions items start with.
fn summary(record: &ExecutionRecord) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("executionArn".into(), json!(record.arn));
    out.insert("stateMachineArn".into(), json!(record.state_machine_arn));
    out.insert("name".into(), json!(record.name));
    out.insert("status".into(), json!(record.status));
    out.insert("startDate".into(), epoch_seconds(record.start_date_ms));
    if let Some(stop) = record.stop_date_ms {
        out.insert("stopDate".into(), epoch_seconds(stop));
    }
    out
}

/// The version/alias the execution was started through, and its redrive count.
fn qualifiers(record: &ExecutionRecord, out: &mut Map<String, Value>) {
    if let Some(v) = &record.state_machine_version_arn {
        out.insert("stateMachineVersionArn".into(), json!(v));
    }
    if let Some(a) = &record.state_machine_alias_arn {
        out.insert("stateMachineAliasArn".into(), json!(a));
    }
    out.insert("redriveCount".into(), json!(record.redrive_count));
}

/// DescribeExecution's answer.
pub fn describe(record: &ExecutionRecord, include_data: bool) -> Value {
    let mut out = summary(record);
    if include_data {
        out.insert("input".into(), json!(record.input));
    }
    out.insert("inputDetails".into(), json!({"included": include_data}));
    if record.status == "SUCCEEDED" {
        if include_data {
            if let Some(o) = &record.output {
                out.insert("output".into(), json!(o));
            }
        }
        out.insert("outputDetails".into(), json!({"included": include_data}));
    }
    if let Some(e) = &record.error {
        out.insert("error".into(), json!(e));
    }
    if let Some(c) = &record.cause {
        out.insert("cause".into(), json!(c));
    }
    qualifiers(record, &mut out);
    if let Some((status, reason)) = redrive_status(&record.status) {
        out.insert("redriveStatus".into(), json!(status));
        if !reason.is_empty() {
            out.insert("redriveStatusReason".into(), json!(reason));
        }
    }
    Value::Object(out)
}

/// One item of ListExecutions.
pub fn list_item(record: &ExecutionRecord) -> Value {
    let mut out = summary(record);
    qualifiers(record, &mut out);
    Value::Object(out)
}
