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
    let mut out = describe(&record, include, RedrivePolicy::of(app, ctx.now_ms));
    // A Distributed Map's child names its Map Run (only children have a labelled machine).
    if record.state_machine_arn.contains('/') {
        let arn = record.arn.clone();
        if let Some(run) = app.store(move |s| s.map_run_of_execution(&arn)).await? {
            out["mapRunArn"] = serde_json::json!(run);
        }
    }
    Ok(out)
}
