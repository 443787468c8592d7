//! RedriveExecution: a FAILED, TIMED_OUT or ABORTED Standard execution continues from the
//! state that did not succeed (the interpreter's `cairn_core::redrive`, fed through the
//! writer like any input, so the redrive is durable once answered). Refusals answer
//! `ExecutionNotRedrivable` with AWS's `redriveStatusReason` text; a repeated `clientToken`
//! answers the earlier redrive's date.

use super::execution_common::{load_execution, redrive_refusal};
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{time::epoch_seconds, ApiError, Arn, Resource};
use cairn_core::{Input as CoreInput, Outcome};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    execution_arn: String,
    client_token: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let arn = Arn::parse_as(&req.execution_arn, &["execution", "express"])?;
    if matches!(arn.resource, Resource::ExpressExecution { .. }) {
        // Express executions keep no history to continue (unverified message).
        return Err(ApiError::execution_not_redrivable(
            "Execution is an EXPRESS execution and cannot be redriven",
        ));
    }
    let record = load_execution(app, &req.execution_arn).await?;
    let window_ms = app.config.redrive_window.map(|w| w.as_millis() as i64);
    if let Some(reason) = redrive_refusal(&record, ctx.now_ms, window_ms) {
        // Checked here for a clear answer without a trip through the writer; the writer
        // checks again against the execution it holds. A repeated client token still gets
        // its idempotent answer below.
        if req.client_token.is_none() {
            return Err(ApiError::execution_not_redrivable(reason));
        }
    }
    let redrive = CoreInput::Redrive {
        client_token: req.client_token,
        window_ms,
    };
    let outcome = app
        .engine
        .deliver(req.execution_arn.clone(), redrive)
        .await
        .map_err(|e| ApiError::internal_failure(e.to_string()))?;
    match outcome {
        Outcome::Redriven { date_ms } => Ok(json!({ "redriveDate": epoch_seconds(date_ms) })),
        _ => {
            let record = load_execution(app, &req.execution_arn).await?;
            let reason = redrive_refusal(&record, ctx.now_ms, window_ms)
                .unwrap_or("Execution is RUNNING and cannot be redriven");
            Err(ApiError::execution_not_redrivable(reason))
        }
    }
}
