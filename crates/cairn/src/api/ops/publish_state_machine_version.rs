//! PublishStateMachineVersion: publish the machine's current revision as its next version.
//!
//! Publishing a revision that already has a version answers that version (observed). With
//! `revisionId`, the machine's current revision must be that one (`INITIAL` = never
//! updated), else `ConflictException` with AWS's message (observed). Qualified ARNs name no
//! machine to publish (`StateMachineDoesNotExist`, as UpdateStateMachine answers).

use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    revision_id: Option<String>,
    description: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let given = input.state_machine_arn;
    match Arn::parse_as(&given, &["stateMachine"])?.resource {
        Resource::StateMachine { .. } => {}
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => return Err(ApiError::no_such_state_machine(&given)),
    }
    let key = given.clone();
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(&given))?;
    if machine.status == "DELETING" {
        return Err(ApiError::state_machine_is_deleting(&given));
    }
    if let Some(wanted) = &input.revision_id {
        let current = machine.revision_id.as_deref().unwrap_or("INITIAL");
        if wanted != current {
            return Err(ApiError::conflict(format!(
                "Failed to publish the State Machine version for revision {wanted}. The \
                 current State Machine revision is {current}."
            )));
        }
    }
    let version = versions::publish(app, &machine, input.description, ctx.now_ms).await?;
    Ok(json!({
        "creationDate": epoch_seconds(version.creation_date_ms),
        "stateMachineVersionArn": version.arn,
    }))
}
