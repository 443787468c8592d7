//! DescribeExecution: the execution's row as AWS shapes it.

use super::execution_common::{describe, load_execution, RedrivePolicy};
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    execution_arn: String,
    included_data: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let record = load_execution(app, &req.execution_arn).await?;
    let include = req.included_data.as_deref() != Some("METADATA_ONLY");
    Ok(describe(
        &record,
        include,
        RedrivePolicy::of(app, ctx.now_ms),
    ))
}
