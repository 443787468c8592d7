//! GetActivityTask: a long poll of up to 60 s for the activity's oldest queued task.
//! Nothing came → `{}` (SDKs read a null `taskToken`).
//!
//! With `--otlp-endpoint`, a task comes with a `traceparent` response header (W3C Trace
//! Context: the task's span; AWS's answer has no field for it, and SDKs ignore unknown
//! headers), which `cairn-worker` hands to its handlers and `cairn worker` to its commands.

use crate::api::{parse_input, Ctx};
use crate::app::App;
use crate::runtime::{telemetry, PollError};
use cairn_api::{ApiError, Arn};
use serde::Deserialize;
use serde_json::{json, Value};
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    activity_arn: String,
    worker_name: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    Arn::parse_as(&req.activity_arn, &["activity"])?;
    match app
        .engine
        .poll_activity(
            &req.activity_arn,
            req.worker_name,
            app.config.activity_long_poll,
        )
        .await
    {
        Ok(Some(task)) => {
            if app.config.otlp_endpoint.is_some() {
                let key = *app.engine.token_key();
                if let Some(tp) = telemetry::token_traceparent(&app.store, &key, &task.token).await
                {
                    ctx.response_headers
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(("traceparent".into(), tp));
                }
            }
            Ok(json!({"taskToken": task.token, "input": task.input}))
        }
        Ok(None) => Ok(json!({})),
        Err(PollError::ActivityDoesNotExist(arn)) => Err(ApiError::no_such_activity(&arn)),
        Err(PollError::WorkerLimitExceeded) => Err(ApiError::activity_worker_limit_exceeded(
            PollError::WorkerLimitExceeded.to_string(),
        )),
        Err(PollError::Engine(e)) => Err(ApiError::internal_failure(e.to_string())),
    }
}
