//! DescribeStateMachineForExecution: the definition an execution actually runs (it keeps
//! the one it started with across UpdateStateMachine). For an execution of a version,
//! `stateMachineArn` is the machine's and `revisionId` the version's (observed).

use super::execution_common::load_execution;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{time::epoch_seconds, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    execution_arn: String,
}

fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let execution = load_execution(app, &req.execution_arn).await?;
    // A Distributed Map child runs the labelled machine `<machine>/<label>`: described from
    // its parent machine, with the `label` and the child's `mapRunArn`.
    let labelled = execution.state_machine_arn.split_once('/');
    let key = labelled.map_or(execution.state_machine_arn.clone(), |(m, _)| m.to_string());
    let machine = app.store(move |s| s.get_state_machine(&key)).await?;
    let map_run = match labelled {
        Some(_) => {
            let arn = execution.arn.clone();
            app.store(move |s| s.map_run_of_execution(&arn)).await?
        }
        None => None,
    };
    let variable_references = crate::api::definition::variable_references(&execution.definition);
    let mut out = json!({
        "stateMachineArn": execution.state_machine_arn,
        "definition": execution.definition,
        "roleArn": execution.role_arn,
    });
    match machine {
        Some(m) => {
            out["name"] = json!(m.name);
            out["updateDate"] = epoch_seconds(m.update_date_ms.unwrap_or(m.creation_date_ms));
            out["loggingConfiguration"] = json_text(&m.logging_configuration);
            out["tracingConfiguration"] = json_text(&m.tracing_configuration);
            if execution.state_machine_version_arn.is_none() {
                if let Some(r) = m.revision_id {
                    out["revisionId"] = json!(r);
                }
            }
        }
        None => {
            // The machine was deleted since; the execution still knows its name.
            let name = execution
                .state_machine_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string();
            out["name"] = json!(name);
            out["updateDate"] = epoch_seconds(execution.start_date_ms);
        }
    }
    if let Some(refs) = variable_references {
        out["variableReferences"] = refs;
    }
    if let Some((_, label)) = labelled {
        out["label"] = json!(label);
        if let Some(run) = map_run {
            out["mapRunArn"] = json!(run);
        }
    }
    // An execution of a version reports that version's revision (observed), and its
    // configurations.
    if let Some(version_arn) = execution.state_machine_version_arn.clone() {
        if let Some(v) = app.store(move |s| s.get_version(&version_arn)).await? {
            out["loggingConfiguration"] = json_text(&v.logging_configuration);
            out["tracingConfiguration"] = json_text(&v.tracing_configuration);
            if let Some(r) = v.revision_id {
                out["revisionId"] = json!(r);
            }
        }
    }
    Ok(out)
}
