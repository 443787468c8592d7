//! Pieces shared by the alias operations: the request's routing shape, the alias name rule
//! and the DescribeStateMachineAlias answer.

use cairn_api::time::epoch_seconds;
use cairn_api::ApiError;
use cairn_store::AliasRecord;
use serde::Deserialize;
use serde_json::{json, Value};

/// One `RoutingConfigurationListItem`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    pub state_machine_version_arn: String,
    pub weight: u32,
}

pub fn routes_of(items: &[RouteInput]) -> Vec<(String, u32)> {
    items
        .iter()
        .map(|r| (r.state_machine_version_arn.clone(), r.weight))
        .collect()
}

pub fn describe_routes(routes: &[(String, u32)]) -> String {
    let items: Vec<String> = routes.iter().map(|(v, w)| format!("{v}={w}")).collect();
    items.join(", ")
}

/// The model's `CharacterRestrictedName`: 1–80 of letters, digits, `_ - .`, at least one
/// not a digit (an all-digit suffix would read as a version number). The model check runs
/// first; this keeps the rule true for internal callers too.
pub fn check_alias_name(name: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let len = name.chars().count();
    if (1..=80).contains(&len)
        && name.chars().all(allowed)
        && name.chars().any(|c| !c.is_ascii_digit())
    {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: \
         ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
    )))
}

/// DescribeStateMachineAlias's answer.
pub fn describe(alias: &AliasRecord) -> Value {
    let routes: Vec<Value> = alias
        .routes
        .iter()
        .map(|(v, w)| json!({"stateMachineVersionArn": v, "weight": w}))
        .collect();
    let mut out = json!({
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        "routingConfiguration": routes,
        "creationDate": epoch_seconds(alias.creation_date_ms),
        "updateDate": epoch_seconds(alias.update_date_ms),
    });
    if let Some(d) = &alias.description {
        out["description"] = json!(d);
    }
    out
}
