//! DeleteStateMachineVersion: delete a version unless an alias routes to it
//! (`ConflictException` naming the aliases, observed). An unknown version succeeds
//! (observed). Executions of the version keep running: they hold their own definition.

use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{ApiError, Arn, Resource};
use cairn_store::VersionDeleted;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_version_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input {
        state_machine_version_arn: arn,
    } = parse_input(input)?;
    match Arn::parse_as(&arn, &["stateMachine"])?.resource {
        Resource::Version { .. } => {}
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => {
            return Err(ApiError::validation(format!(
                "Invalid Arn: 'Not a state machine version ARN: {arn}'"
            )))
        }
    }
    match app.store(move |s| s.delete_version(&arn)).await? {
        VersionDeleted::Deleted | VersionDeleted::Absent => Ok(json!({})),
        VersionDeleted::Referenced(names) => Err(ApiError::conflict(format!(
            "Version to be deleted must not be referenced by an alias. Current list of \
             aliases referencing this version: [{}]",
            names.join(", ")
        ))),
    }
}
