//! Tags as the API carries them (`[{"key", "value"}]`), shared by CreateActivity,
//! CreateStateMachine and the tag operations. At most 50 tags per resource (`TooManyTags`).

use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Tags one resource may carry.
pub const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    key: Option<String>,
    value: Option<String>,
}

/// Tags as (key, value) pairs; a tag without a key is a `ValidationException`.
pub fn pairs(tags: &[Tag]) -> Result<Vec<(String, String)>, ApiError> {
    tags.iter()
        .map(|t| match &t.key {
            Some(key) => Ok((key.clone(), t.value.clone().unwrap_or_default())),
            None => Err(ApiError::validation("Tag keys must not be null")),
        })
        .collect()
}

/// `TooManyTags` unless `existing` plus `new` fit on a resource (a repeated key overwrites,
/// so it counts once).
pub fn check_limit(
    resource_arn: &str,
    existing: &[(String, String)],
    new: &[(String, String)],
) -> Result<(), ApiError> {
    let mut keys: Vec<&str> = existing
        .iter()
        .chain(new)
        .map(|(k, _)| k.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() > MAX_TAGS {
        return Err(ApiError::too_many_tags(format!(
            "Too many tags: a resource can have at most {MAX_TAGS} tags, got {}",
            keys.len()
        ))
        .with("resourceName", resource_arn));
    }
    Ok(())
}

/// The wire form of tag pairs.
pub fn encode(pairs: &[(String, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// Forget every tag of a deleted resource (a resource created again later starts bare).
pub async fn remove_all(app: &App, resource_arn: &str) -> Result<(), ApiError> {
    let arn = resource_arn.to_string();
    app.store(move |s| {
        let keys: Vec<String> = s.list_tags(&arn)?.into_iter().map(|(k, _)| k).collect();
        if keys.is_empty() {
            Ok(())
        } else {
            s.remove_tags(&arn, &keys)
        }
    })
    .await
}

/// A resource that can carry tags: an existing state machine (unqualified ARN) or activity.
/// Anything else that parses as an ARN is `ResourceNotFound` (observed for versions).
pub async fn require_taggable(app: &App, resource_arn: &str) -> Result<(), ApiError> {
    let arn = cairn_api::Arn::parse(resource_arn)?;
    let key = resource_arn.to_string();
    let exists = match arn.resource {
        cairn_api::Resource::StateMachine { .. } => {
            app.store(move |s| s.get_state_machine(&key).map(|m| m.is_some()))
                .await?
        }
        cairn_api::Resource::Activity { .. } => {
            app.store(move |s| s.get_activity(&key).map(|a| a.is_some()))
                .await?
        }
        _ => false,
    };
    if exists {
        Ok(())
    } else {
        Err(ApiError::no_such_resource(resource_arn))
    }
}
