//! DescribeStateMachine: the machine as stored, with AWS's defaults for the configurations.
//! `includedData: METADATA_ONLY` replaces the definition with `{}`. Versions and labelled
//! (Distributed Map) ARNs name nothing yet, so they are `StateMachineDoesNotExist`.

use crate::api::configurations::stored;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    included_data: Option<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let given = input.state_machine_arn;
    let arn = Arn::parse_as(&given, &["stateMachine"])?;
    if !matches!(arn.resource, Resource::StateMachine { .. }) {
        return Err(ApiError::no_such_state_machine(&given));
    }
    let key = given.clone();
    let m = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(&given))?;
    let definition = match input.included_data.as_deref() {
        Some("METADATA_ONLY") => "{}".to_string(),
        _ => m.definition,
    };
    let mut out = json!({
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": m.status,
        "definition": definition,
        "roleArn": m.role_arn,
        "type": m.machine_type,
        "creationDate": epoch_seconds(m.creation_date_ms),
        "loggingConfiguration": stored(&m.logging_configuration),
        "tracingConfiguration": stored(&m.tracing_configuration),
        "encryptionConfiguration": stored(&m.encryption_configuration),
    });
    if let Some(revision) = m.revision_id {
        out["revisionId"] = revision.into();
    }
    if let Some(description) = m.description {
        out["description"] = description.into();
    }
    Ok(out)
}
