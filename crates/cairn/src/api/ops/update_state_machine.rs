//! UpdateStateMachine: change the definition, role or configurations of a machine.
//!
//! At least one of them must be given (`MissingRequiredParameter`). An effective change mints
//! a new `revisionId`; an update to identical values keeps the current one. Running
//! executions keep the definition they started with. A version ARN is
//! `StateMachineDoesNotExist` (observed). `publish: true` publishes the resulting revision
//! (answering the existing version when that revision is already published, observed).

use crate::api::configurations::{encryption, logging, stored, tracing};
use crate::api::{definition, parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    definition: Option<String>,
    role_arn: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
    #[serde(default)]
    publish: bool,
    version_description: Option<String>,
    encryption_configuration: Option<Value>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let given = input.state_machine_arn.clone();
    let arn = Arn::parse_as(&given, &["stateMachine"])?;
    match arn.resource {
        Resource::StateMachine { .. } => {}
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => return Err(ApiError::no_such_state_machine(&given)),
    }
    if input.definition.is_none()
        && input.role_arn.is_none()
        && input.logging_configuration.is_none()
        && input.tracing_configuration.is_none()
        && input.encryption_configuration.is_none()
    {
        return Err(ApiError::missing_required_parameter(
            "Either the definition, the role ARN, the LoggingConfiguration, or the \
             TracingConfiguration must be specified",
        ));
    }
    definition::check_publish(input.publish, input.version_description.as_deref())?;
    if let Some(role) = &input.role_arn {
        definition::check_role_arn(role)?;
    }
    let logging = input
        .logging_configuration
        .as_ref()
        .map(|l| logging(Some(l)))
        .transpose()?;
    let tracing = input
        .tracing_configuration
        .as_ref()
        .map(|t| tracing(Some(t)));
    let encryption = input
        .encryption_configuration
        .as_ref()
        .map(|e| encryption(Some(e)))
        .transpose()?;

    let key = given.clone();
    let current = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(&given))?;
    if current.status == "DELETING" {
        return Err(ApiError::state_machine_is_deleting(&given));
    }
    if let Some(def) = &input.definition {
        definition::check(def, definition::machine_type(&current.machine_type))?;
    }

    let mut next = current.clone();
    if let Some(def) = input.definition {
        next.definition = def;
    }
    if let Some(role) = input.role_arn {
        next.role_arn = role;
    }
    if let Some(l) = logging {
        next.logging_configuration = l.to_string();
    }
    if let Some(t) = tracing {
        next.tracing_configuration = t.to_string();
    }
    if let Some(e) = encryption {
        next.encryption_configuration = e.to_string();
    }
    let changed = next.definition != current.definition
        || next.role_arn != current.role_arn
        || stored(&next.logging_configuration) != stored(&current.logging_configuration)
        || stored(&next.tracing_configuration) != stored(&current.tracing_configuration)
        || stored(&next.encryption_configuration) != stored(&current.encryption_configuration);
    if changed {
        next.revision_id = Some(uuid::Uuid::new_v4().to_string());
        next.update_date_ms = Some(ctx.now_ms);
        let record = next.clone();
        let updated = app.store(move |s| s.update_state_machine(&record)).await?;
        app.machines.forget(&next.arn);
        if !updated {
            return Err(ApiError::no_such_state_machine(&next.arn));
        }
    }
    let mut out = json!({
        "updateDate": epoch_seconds(next.update_date_ms.unwrap_or(ctx.now_ms)),
    });
    if input.publish {
        let version = versions::publish(app, &next, input.version_description, ctx.now_ms).await?;
        out["stateMachineVersionArn"] = version.arn.into();
    }
    if let Some(revision) = next.revision_id {
        out["revisionId"] = revision.into();
    }
    Ok(out)
}
