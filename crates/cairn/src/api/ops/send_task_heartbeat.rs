//! SendTaskHeartbeat: restarts the task's heartbeat clock; writes no history event.

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
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    answer(app, &req.task_token, |task| CoreInput::TaskHeartbeat {
        task,
    })
    .await?;
    Ok(json!({}))
}
