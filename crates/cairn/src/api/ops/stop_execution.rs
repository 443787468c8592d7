//! StopExecution: abort a running execution (`ExecutionAborted`); its open task tokens then
//! answer `TaskTimedOut`. Stopping a closed execution answers its original stop date.

use super::execution_common::load_execution;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{time::epoch_seconds, ApiError};
use cairn_core::Input as CoreInput;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    execution_arn: String,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let record = load_execution(app, &req.execution_arn).await?;
    if record.status == "RUNNING" {
        let stop = CoreInput::Stop {
            error: req.error,
            cause: req.cause,
        };
        app.engine
            .deliver(req.execution_arn.clone(), stop)
            .await
            .map_err(crate::api::engine_error)?;
    }
    let record = load_execution(app, &req.execution_arn).await?;
    let stop = record.stop_date_ms.unwrap_or(ctx.now_ms);
    Ok(json!({ "stopDate": epoch_seconds(stop) }))
}
