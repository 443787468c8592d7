//! ListTagsForResource: the tags of a state machine or activity, in insertion order.

use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    resource_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input { resource_arn } = parse_input(input)?;
    tags::require_taggable(app, &resource_arn).await?;
    let pairs = app.store(move |s| s.list_tags(&resource_arn)).await?;
    Ok(json!({ "tags": tags::encode(&pairs) }))
}
