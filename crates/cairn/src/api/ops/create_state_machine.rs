//! CreateStateMachine: check the name, role and definition, then store the machine.
//!
//! Idempotent by name: the same definition, type and configurations answer the original ARN
//! and creation date (role and tags may differ); anything else, even whitespace in the
//! definition, is `StateMachineAlreadyExists`. `publish: true` also publishes version 1 (or,
//! for a repeated create, answers the version that already holds the revision).

use crate::api::configurations::{encryption, logging, stored, tracing};
use crate::api::{definition, parse_input, tags, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{validate_name, ApiError};
use cairn_store::{Inserted, StateMachineRecord};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    name: String,
    definition: String,
    role_arn: String,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    logging_configuration: Option<Value>,
    #[serde(default)]
    tags: Vec<tags::Tag>,
    tracing_configuration: Option<Value>,
    #[serde(default)]
    publish: bool,
    version_description: Option<String>,
    encryption_configuration: Option<Value>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    validate_name(&input.name)?;
    definition::check_publish(input.publish, input.version_description.as_deref())?;
    definition::check_role_arn(&input.role_arn)?;
    let arn = ctx.scope.state_machine(&input.name);
    let tags = tags::pairs(&input.tags)?;
    tags::check_limit(&arn, &[], &tags)?;
    let machine_type = input.machine_type.unwrap_or_else(|| "STANDARD".into());
    let logging = logging(input.logging_configuration.as_ref())?;
    let tracing = tracing(input.tracing_configuration.as_ref());
    let encryption = encryption(input.encryption_configuration.as_ref())?;
    definition::check(&input.definition, definition::machine_type(&machine_type))?;

    let record = StateMachineRecord {
        arn: arn.clone(),
        name: input.name,
        machine_type,
        definition: input.definition,
        role_arn: input.role_arn,
        status: "ACTIVE".into(),
        creation_date_ms: ctx.now_ms,
        update_date_ms: None,
        revision_id: None,
        logging_configuration: logging.to_string(),
        tracing_configuration: tracing.to_string(),
        encryption_configuration: encryption.to_string(),
        description: None,
        seq: 0,
    };
    let inserted = app
        .store(move |s| {
            let inserted = s.insert_state_machine(&record)?;
            if inserted == Inserted::Created && !tags.is_empty() {
                s.put_tags(&record.arn, &tags)?;
            }
            Ok(match inserted {
                Inserted::Created => Ok(record),
                Inserted::Exists(existing) => Err((existing, record)),
            })
        })
        .await?;
    // A machine deleted and created again under the same ARN is read afresh.
    app.machines.forget(&arn);
    let machine = match inserted {
        Ok(created) => created,
        Err((existing, wanted)) => {
            if existing.status == "DELETING" {
                return Err(ApiError::state_machine_is_deleting(&arn));
            }
            if !same_settings(&existing, &wanted) {
                return Err(ApiError::state_machine_exists(&arn));
            }
            existing
        }
    };
    let mut out = json!({
        "stateMachineArn": machine.arn,
        "creationDate": epoch_seconds(machine.creation_date_ms),
    });
    if input.publish {
        let version =
            versions::publish(app, &machine, input.version_description, ctx.now_ms).await?;
        out["stateMachineVersionArn"] = version.arn.into();
    }
    Ok(out)
}

/// Whether a repeated create asks for what exists (role ARN and tags do not count).
fn same_settings(existing: &StateMachineRecord, wanted: &StateMachineRecord) -> bool {
    existing.definition == wanted.definition
        && existing.machine_type == wanted.machine_type
        && stored(&existing.logging_configuration) == stored(&wanted.logging_configuration)
        && stored(&existing.tracing_configuration) == stored(&wanted.tracing_configuration)
        && stored(&existing.encryption_configuration) == stored(&wanted.encryption_configuration)
}
