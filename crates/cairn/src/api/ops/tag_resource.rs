//! TagResource: add or overwrite tags of a state machine or activity (at most 50 in all).

use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    resource_arn: String,
    tags: Vec<tags::Tag>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let new = tags::pairs(&input.tags)?;
    tags::require_taggable(app, &input.resource_arn).await?;
    let arn = input.resource_arn.clone();
    let existing = app.store(move |s| s.list_tags(&arn)).await?;
    tags::check_limit(&input.resource_arn, &existing, &new)?;
    let arn = input.resource_arn;
    app.store(move |s| s.put_tags(&arn, &new)).await?;
    Ok(json!({}))
}
