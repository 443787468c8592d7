//! SendTaskFailure: a worker (or callback) reports that the task failed.

use super::task_token::answer;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use cairn_core::Input as CoreInput;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    task_token: String,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let (error, cause) = (req.error, req.cause);
    answer(app, &req.task_token, move |task| CoreInput::TaskFailed {
        task,
        error,
        cause,
    })
    .await?;
    Ok(json!({}))
}
