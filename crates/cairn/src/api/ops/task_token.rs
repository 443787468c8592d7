//! What SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat share: open the token, feed
//! the answer to its execution, and turn the outcome into AWS's errors.
//!
//! A token that does not authenticate is `InvalidToken`; one whose execution is unknown is
//! `TaskDoesNotExist`; one whose task (or execution) is already closed is `TaskTimedOut`.

use crate::app::App;
use crate::runtime::EngineError;
use cairn_api::ApiError;
use cairn_core::{token, Input, Outcome};

pub const CLOSED: &str =
    "Task Timed Out: 'Provided task does not exist anymore or has already been closed'";

/// Resolve `token` and deliver the input built from its task id.
pub async fn answer(
    app: &App,
    task_token: &str,
    input: impl FnOnce(u64) -> Input,
) -> Result<(), ApiError> {
    let Some(target) = token::open(app.engine.token_key(), task_token) else {
        return Err(ApiError::invalid_token(format!(
            "Invalid Token: 'Invalid token: {}'",
            preview(task_token)
        )));
    };
    match app
        .engine
        .deliver(target.execution_arn.clone(), input(target.task))
        .await
    {
        Ok(Outcome::Applied) => Ok(()),
        Ok(Outcome::TaskClosed | Outcome::NotRunning | Outcome::NotRedrivable)
        | Ok(Outcome::Redriven { .. }) => Err(ApiError::task_timed_out(CLOSED)),
        Err(EngineError::NoSuchExecution(_)) => Err(ApiError::task_does_not_exist(format!(
            "Task Does Not Exist: '{}'",
            preview(task_token)
        ))),
        Err(e) => Err(crate::api::engine_error(e)),
    }
}

fn preview(token: &str) -> String {
    token.chars().take(64).collect()
}
