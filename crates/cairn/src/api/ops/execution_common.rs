//! Pieces shared by the execution operations: resolving the machine an execution starts
//! from, checking execution input, and the DescribeExecution / ListExecutions shapes.

use crate::api::machine_cache::MachineCache;
use crate::api::versions;
use crate::app::{read_store, App};
use cairn_api::{time::epoch_seconds, ApiError, Arn, Resource};
use cairn_store::{ExecutionRecord, StateMachineRecord, Store};
use serde_json::{json, Map, Value};
use std::sync::Arc;

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

/// What a StartExecution/StartSyncExecution ARN starts: the machine (for a version or alias
/// start, with the version's definition, role and configurations in place of the latest
/// revision's; `arn` stays the machine's own), and the version/alias the execution is
/// associated with.
pub struct StartTarget {
    pub machine: StateMachineRecord,
    pub arn: Arn,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// Resolve a start ARN: unqualified (latest revision), a version, or an alias (its version
/// chosen by weight, seeded by the alias and the execution `name`, see
/// [`versions::choose_route`]). With `cache`, a machine read less than a second ago is used
/// again (see `api/machine_cache.rs`).
pub async fn machine_for_start(
    store: &Arc<dyn Store>,
    cache: Option<&MachineCache>,
    state_machine_arn: &str,
    name: &str,
) -> Result<StartTarget, ApiError> {
    let arn = Arn::parse_as(state_machine_arn, &["stateMachine"])?;
    let (base, version_arn, alias_arn) = match &arn.resource {
        Resource::StateMachine { .. } => (state_machine_arn.to_string(), None, None),
        Resource::Version { .. } => (
            versions::base_arn(state_machine_arn),
            Some(state_machine_arn.to_string()),
            None,
        ),
        Resource::Alias { .. } => {
            let key = state_machine_arn.to_string();
            let alias = read_store(store, move |s| s.get_alias(&key))
                .await?
                .ok_or_else(|| ApiError::no_such_state_machine(state_machine_arn))?;
            let chosen = versions::choose_route(&alias.routes, &alias.arn, name).to_string();
            (alias.machine_arn, Some(chosen), Some(alias.arn))
        }
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => return Err(ApiError::no_such_state_machine(state_machine_arn)),
    };
    let cached = cache.and_then(|c| c.get(&base));
    let mut machine = match cached {
        Some(machine) => machine,
        None => {
            let key = base.clone();
            let machine = read_store(store, move |s| s.get_state_machine(&key))
                .await?
                .ok_or_else(|| ApiError::no_such_state_machine(state_machine_arn))?;
            if let Some(cache) = cache {
                cache.put(&machine);
            }
            machine
        }
    };
    if machine.status == "DELETING" {
        return Err(ApiError::state_machine_deleting(format!(
            "State Machine is being deleted: '{state_machine_arn}'"
        )));
    }
    if let Some(v) = &version_arn {
        // A version is immutable: its executions run what was published, whatever the
        // machine's latest revision is now.
        let key = v.clone();
        let version = read_store(store, move |s| s.get_version(&key))
            .await?
            .ok_or_else(|| ApiError::no_such_state_machine(state_machine_arn))?;
        machine.definition = version.definition;
        machine.role_arn = version.role_arn;
        machine.revision_id = version.revision_id;
        machine.logging_configuration = version.logging_configuration;
        machine.tracing_configuration = version.tracing_configuration;
        machine.encryption_configuration = version.encryption_configuration;
    }
    Ok(StartTarget {
        machine,
        arn,
        version_arn,
        alias_arn,
    })
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

/// Why RedriveExecution would refuse this execution now (AWS's `redriveStatusReason`), or
/// `None` if it can be redriven. `window_ms`: the redrivable period (`None`: no limit).
pub fn redrive_refusal(
    record: &ExecutionRecord,
    now_ms: i64,
    window_ms: Option<i64>,
) -> Option<&'static str> {
    match record.status.as_str() {
        "RUNNING" | "PENDING_REDRIVE" => Some("Execution is RUNNING and cannot be redriven"),
        "SUCCEEDED" => Some("Execution is SUCCEEDED and cannot be redriven"),
        // Only closed, unsuccessful executions need their snapshot read.
        _ => match serde_json::from_str::<cairn_core::Execution>(&record.snapshot) {
            Ok(execution) => execution.redrive_refusal(now_ms, window_ms),
            Err(_) => Some("Execution was started before the launch of RedriveExecution"),
        },
    }
}

/// What decides `redriveStatus`: now and the redrivable period (`--redrive-window-days`).
#[derive(Debug, Clone, Copy)]
pub struct RedrivePolicy {
    pub now_ms: i64,
    pub window_ms: Option<i64>,
}

impl RedrivePolicy {
    pub fn of(app: &App, now_ms: i64) -> Self {
        Self::of_config(&app.config, now_ms)
    }

    pub fn of_config(config: &crate::config::Config, now_ms: i64) -> Self {
        RedrivePolicy {
            now_ms,
            window_ms: config.redrive_window.map(|w| w.as_millis() as i64),
        }
    }
}

/// `redriveStatus` and its reason for a closed execution (none while it runs, observed).
fn redrive_status(
    record: &ExecutionRecord,
    policy: RedrivePolicy,
) -> Option<(&'static str, &'static str)> {
    if record.status == "RUNNING" {
        return None;
    }
    Some(
        match redrive_refusal(record, policy.now_ms, policy.window_ms) {
            Some(reason) => ("NOT_REDRIVABLE", reason),
            None => ("REDRIVABLE", ""),
        },
    )
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
    if let Some(date) = record.redrive_date_ms {
        out.insert("redriveDate".into(), epoch_seconds(date));
    }
}

/// DescribeExecution's answer.
pub fn describe(record: &ExecutionRecord, include_data: bool, policy: RedrivePolicy) -> Value {
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
    if let Some((status, reason)) = redrive_status(record, policy) {
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
