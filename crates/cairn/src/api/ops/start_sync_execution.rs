//! StartSyncExecution: run an EXPRESS execution and answer with its result (200 even when it
//! failed; `status` says how it ended). Also home of the asynchronous Express start used by
//! StartExecution on an EXPRESS machine.

use super::execution_common::{
    check_execution_input, execution_name, machine_for_start, StartTarget,
};
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{time::epoch_seconds, ApiError};
use cairn_core::{Execution, ExecutionInfo};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    name: Option<String>,
    input: Option<String>,
    included_data: Option<String>,
}

/// Build the execution's identity and parse what it runs.
fn prepare(
    app: &App,
    ctx: &Ctx,
    target: &StartTarget,
    name: String,
    input_text: String,
) -> Result<
    (
        ExecutionInfo,
        std::sync::Arc<cairn_asl::StateMachine>,
        Value,
    ),
    ApiError,
> {
    let machine = &target.machine;
    let definition = app
        .engine
        .parse_definition(&machine.definition)
        .map_err(ApiError::invalid_definition)?;
    let input: Value = serde_json::from_str(&input_text)
        .map_err(|e| ApiError::invalid_execution_input(e.to_string()))?;
    let scope = cairn_api::Arn::parse(&machine.arn)?.scope();
    let id = uuid::Uuid::new_v4().to_string();
    let info = ExecutionInfo {
        execution_arn: scope.express_execution(&machine.name, &name, &id),
        name,
        state_machine_arn: machine.arn.clone(),
        state_machine_name: machine.name.clone(),
        role_arn: machine.role_arn.clone(),
        region: scope.region.clone(),
        start_time_ms: ctx.now_ms,
        input_text,
        state_machine_version_arn: target.version_arn.clone(),
        state_machine_alias_arn: target.alias_arn.clone(),
        redrive_count: 0,
        redrive_time_ms: None,
        mock_test_case: None,
        trace_parent: None,
    };
    Ok((info, definition, input))
}

/// StartExecution on an EXPRESS machine: start it in the background, answer at once.
pub async fn start_express_async(
    app: &App,
    ctx: &Ctx,
    target: &StartTarget,
    name: String,
    input_text: String,
    test_case: Option<&str>,
) -> Result<Value, ApiError> {
    let (info, definition, input) = prepare(app, ctx, target, name, input_text)?;
    let arn = info.execution_arn.clone();
    crate::runtime::express::spawn(
        app.engine.resource_env().clone(),
        info,
        definition,
        input,
        *app.engine.token_key(),
        app.config.wait_time_scale,
        test_case,
    );
    Ok(json!({"executionArn": arn, "startDate": epoch_seconds(ctx.now_ms)}))
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let name = execution_name(req.name)?;
    let input_text = check_execution_input(req.input)?;
    // `stateMachineArn#TestCase` picks a mock test case, as in StartExecution.
    let (machine_arn, test_case) = match req.state_machine_arn.split_once('#') {
        Some((arn, case)) => (arn, Some(case)),
        None => (req.state_machine_arn.as_str(), None),
    };
    let target = machine_for_start(&app.store, Some(&app.machines), machine_arn, &name).await?;
    if target.machine.machine_type != "EXPRESS" {
        return Err(ApiError::state_machine_type_not_supported(
            "This operation is not supported by this type of state machine",
        ));
    }
    let (info, definition, input) = prepare(app, ctx, &target, name, input_text)?;
    if test_case.is_some() {
        app.engine
            .resource_env()
            .set_test_case(&info.execution_arn, test_case);
    }
    let key = *app.engine.token_key();
    let execution = crate::runtime::express::run(
        app.engine.resource_env().clone(),
        info,
        definition,
        input,
        key,
        app.config.wait_time_scale,
    )
    .await;
    let include = req.included_data.as_deref() != Some("METADATA_ONLY");
    Ok(render(&execution, include))
}

fn render(e: &Execution, include_data: bool) -> Value {
    let stop = e.stop_time_ms.unwrap_or(e.info.start_time_ms);
    let billed_ms = ((stop - e.info.start_time_ms).max(1) + 99) / 100 * 100;
    let mut out = json!({
        "executionArn": e.info.execution_arn,
        "stateMachineArn": e.info.state_machine_arn,
        "name": e.info.name,
        "startDate": epoch_seconds(e.info.start_time_ms),
        "stopDate": epoch_seconds(stop),
        "status": e.status.as_str(),
        "inputDetails": {"included": include_data},
        "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms},
    });
    if include_data {
        out["input"] = json!(e.info.input_text);
    }
    if let Some(o) = &e.output {
        if include_data {
            out["output"] = json!(o);
        }
        out["outputDetails"] = json!({"included": include_data});
    }
    if let Some(err) = &e.error {
        out["error"] = json!(err);
    }
    if let Some(c) = &e.cause {
        out["cause"] = json!(c);
    }
    out
}
