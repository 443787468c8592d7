//! DeleteStateMachineAlias: delete an alias; an unknown one succeeds (observed). Executions
//! started through it keep running and keep reporting its ARN.

use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_alias_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input {
        state_machine_alias_arn: arn,
    } = parse_input(input)?;
    versions::alias_arn(&arn)?;
    app.store(move |s| s.delete_alias(&arn)).await?;
    Ok(json!({}))
}
