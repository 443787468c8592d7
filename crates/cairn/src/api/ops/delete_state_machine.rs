//! DeleteStateMachine: remove the machine, its tags, versions and aliases (the store does it
//! in one transaction). Deleting an unknown machine succeeds
//! (observed). Executions already running keep their own copy of the definition and finish.
//! A labelled (Distributed Map) ARN is a `ValidationException`; version and alias ARNs have
//! their own delete operations.

use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input { state_machine_arn } = parse_input(input)?;
    let arn = Arn::parse_as(&state_machine_arn, &["stateMachine"])?;
    match arn.resource {
        Resource::StateMachine { .. } => {}
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => {
            return Err(ApiError::validation(format!(
                "Invalid Arn: '{state_machine_arn}': use DeleteStateMachineVersion or \
                 DeleteStateMachineAlias for qualified ARNs"
            )))
        }
    }
    let key = state_machine_arn.clone();
    let deleted = app.store(move |s| s.delete_state_machine(&key)).await?;
    app.machines.forget(&state_machine_arn);
    if deleted {
        tags::remove_all(app, &state_machine_arn).await?;
    }
    Ok(json!({}))
}
