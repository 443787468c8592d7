//! GetActivityTask: a long poll of up to 60 s for the activity's oldest queued task.
//! Nothing came → `{}` (SDKs read a null `taskToken`).

use crate::api::{parse_input, Ctx};
use crate::app::App;
use crate::runtime::PollError;
use cairn_api::{ApiError, Arn};
use serde::Deserialize;
use serde_json::{json, Value};
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    activity_arn: String,
    worker_name: Option<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
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
        Ok(Some(task)) => Ok(json!({"taskToken": task.token, "input": task.input})),
        Ok(None) => Ok(json!({})),
        Err(PollError::ActivityDoesNotExist(arn)) => Err(ApiError::no_such_activity(&arn)),
        Err(PollError::WorkerLimitExceeded) => Err(ApiError::activity_worker_limit_exceeded(
            PollError::WorkerLimitExceeded.to_string(),
        )),
        Err(PollError::Engine(e)) => Err(ApiError::internal_failure(e.to_string())),
    }
}
