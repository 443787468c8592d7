//! UntagResource: remove tags by key; absent keys are ignored (observed).

use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input {
        resource_arn,
        tag_keys,
    } = parse_input(input)?;
    tags::require_taggable(app, &resource_arn).await?;
    app.store(move |s| s.remove_tags(&resource_arn, &tag_keys))
        .await?;
    Ok(json!({}))
}
