//! StartExecution: start a STANDARD execution (committed, with its first steps, before the
//! answer). Same name and same input while the first run is still RUNNING answers with the
//! same ARN; otherwise a reused name is `ExecutionAlreadyExists` (observed AWS behaviour).

use super::execution_common::{check_execution_input, execution_name, machine_for_start};
use crate::api::{parse_input, Ctx};
use crate::app::App;
use crate::runtime::{StartError, StartRequest};
use cairn_api::{time::epoch_seconds, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    name: Option<String>,
    input: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let name = execution_name(req.name)?;
    let input_text = check_execution_input(req.input)?;
    // `stateMachineArn#TestCase` picks a test case of the mock configuration (as Step
    // Functions Local does).
    let (machine_arn, test_case) = match req.state_machine_arn.split_once('#') {
        Some((arn, case)) => (arn, Some(case)),
        None => (req.state_machine_arn.as_str(), None),
    };
    let target = machine_for_start(&app.store, Some(&app.machines), machine_arn, &name).await?;
    if target.machine.machine_type == "EXPRESS" {
        return super::start_sync_execution::start_express_async(
            app, ctx, &target, name, input_text, test_case,
        )
        .await;
    }
    let (machine, arn) = (&target.machine, &target.arn);
    let scope = arn.scope();
    let execution_arn = scope.execution(&machine.name, &name);
    let request = StartRequest {
        execution_arn,
        name,
        state_machine_arn: machine.arn.clone(),
        state_machine_name: machine.name.clone(),
        role_arn: machine.role_arn.clone(),
        region: scope.region.clone(),
        definition: machine.definition.clone(),
        input_text,
        state_machine_version_arn: target.version_arn.clone(),
        state_machine_alias_arn: target.alias_arn.clone(),
        mock_test_case: test_case.map(str::to_string),
        trace_parent: None,
    };
    match app.engine.start_execution(request).await {
        Ok(Ok(started)) => Ok(json!({
            "executionArn": started.execution_arn,
            "startDate": epoch_seconds(started.start_date_ms),
        })),
        Ok(Err(StartError::AlreadyExists(arn))) => Err(ApiError::execution_exists(&arn)),
        Ok(Err(StartError::InvalidDefinition(m))) => Err(ApiError::invalid_definition(m)),
        Ok(Err(StartError::Internal(m))) => Err(ApiError::internal_failure(m)),
        // Never escapes the engine, which routes to the owner until it answers.
        Ok(Err(e @ StartError::NotOwner)) => Err(ApiError::internal_failure(e.to_string())),
        Err(e) => {
            if matches!(e, crate::runtime::EngineError::Throttled) {
                // CloudWatch's ExecutionThrottled: a start refused for overload.
                let label = crate::runtime::metrics::MachineLabel {
                    state_machine_arn: machine.arn.clone(),
                };
                app.engine
                    .metrics
                    .executions_throttled
                    .get_or_create(&label)
                    .inc();
            }
            Err(crate::api::engine_error(e))
        }
    }
}
