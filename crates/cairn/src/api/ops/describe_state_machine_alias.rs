//! DescribeStateMachineAlias: an alias's name, description and routing. Unknown alias →
//! `ResourceNotFound` "Request references a resource that does not exist." (observed).

use super::alias_common::describe;
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_alias_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    versions::alias_arn(&input.state_machine_alias_arn)?;
    let alias = versions::load_alias(app, &input.state_machine_alias_arn).await?;
    Ok(describe(&alias))
}
