//! DescribeStateMachine: the machine as stored, with AWS's defaults for the configurations.
//! `includedData: METADATA_ONLY` replaces the definition with `{}`. A version ARN describes
//! that version (its ARN, definition, revision and `description`, observed); alias and
//! labelled (Distributed Map) ARNs are `StateMachineDoesNotExist`.

use crate::api::configurations::stored;
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use cairn_store::StateMachineRecord;
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
    let m = match arn.resource {
        Resource::StateMachine { .. } => {
            let key = given.clone();
            app.store(move |s| s.get_state_machine(&key))
                .await?
                .ok_or_else(|| ApiError::no_such_state_machine(&given))?
        }
        Resource::Version { .. } => version_as_machine(app, &given).await?,
        _ => return Err(ApiError::no_such_state_machine(&given)),
    };
    let variable_references = crate::api::definition::variable_references(&m.definition);
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
    });
    // AWS's recorded DescribeStateMachine answers (machines and versions created without an
    // encryption configuration) carry no `encryptionConfiguration`: the default AWS-owned
    // key is left out, a customer managed key is shown.
    let encryption = stored(&m.encryption_configuration);
    if encryption != json!({"type": "AWS_OWNED_KEY"}) {
        out["encryptionConfiguration"] = encryption;
    }
    if let Some(revision) = m.revision_id {
        out["revisionId"] = revision.into();
    }
    if let Some(description) = m.description {
        out["description"] = description.into();
    }
    if let Some(refs) = variable_references {
        out["variableReferences"] = refs;
    }
    Ok(out)
}

/// A version in the shape of a machine record: its own ARN, definition, configurations,
/// revision, description and creation date; name, type and status of its machine.
async fn version_as_machine(app: &App, arn: &str) -> Result<StateMachineRecord, ApiError> {
    let version = versions::load_version(app, arn).await?;
    let key = version.machine_arn.clone();
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(arn))?;
    Ok(StateMachineRecord {
        arn: version.arn,
        definition: version.definition,
        role_arn: version.role_arn,
        creation_date_ms: version.creation_date_ms,
        update_date_ms: None,
        revision_id: version.revision_id,
        logging_configuration: version.logging_configuration,
        tracing_configuration: version.tracing_configuration,
        encryption_configuration: version.encryption_configuration,
        description: version.description,
        ..machine
    })
}
