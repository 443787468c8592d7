//! SendTaskSuccess: a worker (or callback) reports the task's result.

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
    output: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    if cairn_core::limits::too_deep(&req.output) {
        return Err(ApiError::invalid_output(format!(
            "Invalid Output: '{}'",
            cairn_core::limits::too_deep_message("The output")
        )));
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&req.output) {
        return Err(ApiError::invalid_output(format!(
            "Invalid Output: 'The output is not valid JSON: {e}'"
        )));
    }
    let output = req.output;
    answer(app, &req.task_token, move |task| CoreInput::TaskSucceeded {
        task,
        output,
    })
    .await?;
    Ok(json!({}))
}
