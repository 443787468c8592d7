//! TestState: evaluate one state, as AWS's TestState API does (API.md).
//!
//! Owns the request side: which definition form was sent (one state, or a whole machine
//! with `stateName`), AWS's validation errors for the request, the mock (`result` or
//! `errorOutput`, checked against the integrated API's response shape per
//! `fieldValidationMode`, see `service_shapes.rs`), the caller's `context` object, and the
//! shape of the answer for each `inspectionLevel`. The evaluation itself is
//! `cairn_core::test_state`; this handler must not re-implement any data flow.
//!
//! An unmocked Task calls its resource through Cairn's local resources (functions file,
//! HTTP Task, nested executions, the mock file; `runtime::resources::run`) with the
//! arguments the core computed, then the core finishes the state with that outcome. An
//! activity or `.waitForTaskToken` Task needs a mock, as on AWS. At inspection level TRACE
//! an HTTP Task's request and response are reported, the connection's authentication
//! hidden unless `revealSecrets` (the text form of `headers` is Cairn's: JSON, unrecorded).

use crate::api::service_shapes::{self, ValidationMode};
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use cairn_asl::{validate, MachineType, Severity, State, StateKind, StateMachine};
use cairn_core::test_state::{self, StateConfiguration, TaskOutcome, TestRequest};
use cairn_core::ExecutionInfo;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    definition: String,
    role_arn: Option<String>,
    input: Option<String>,
    inspection_level: Option<String>,
    #[serde(default)]
    reveal_secrets: bool,
    variables: Option<String>,
    state_name: Option<String>,
    mock: Option<MockInput>,
    context: Option<String>,
    state_configuration: Option<ConfigInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MockInput {
    result: Option<String>,
    error_output: Option<ErrorOutput>,
    field_validation_mode: Option<String>,
}

#[derive(Deserialize)]
struct ErrorOutput {
    error: Option<String>,
    cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigInput {
    retrier_retry_count: Option<u32>,
    error_caused_by_state: Option<String>,
    map_iteration_failure_count: Option<u32>,
    map_item_reader_data: Option<String>,
}

/// The name AWS gives a state sent on its own (seen in `$$.State.Name`).
const SINGLE_STATE_NAME: &str = "StateName";

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let machine = machine_of(&input)?;
    let state = find_state(&machine, input.state_name.as_deref())?;
    let level = input.inspection_level.as_deref().unwrap_or("INFO");
    let state_input = parse_json(input.input.as_deref().unwrap_or("{}"), "input")?;
    let variables = match input.variables.as_deref() {
        None => Map::new(),
        Some(text) => match parse_json(text, "variables")? {
            Value::Object(m) => m,
            _ => return Err(ApiError::validation("Variables must be a JSON object")),
        },
    };
    let mut config = StateConfiguration::default();
    if let Some(c) = &input.state_configuration {
        config.retrier_retry_count = c.retrier_retry_count.unwrap_or(0);
        if let Some(name) = &c.error_caused_by_state {
            check_error_caused_by_state(state, name, input.mock.as_ref())?;
        }
        config.error_caused_by_state = c.error_caused_by_state.clone();
        config.map_iteration_failure_count = c.map_iteration_failure_count;
        if let Some(text) = &c.map_item_reader_data {
            config.map_item_reader_data = Some(parse_json(text, "mapItemReaderData")?);
        }
    }
    let context = match input.context.as_deref() {
        None => None,
        Some(text) => Some(check_context(state, parse_json(text, "context")?)?),
    };
    let outcome = mock_outcome(state, input.mock.as_ref())?;
    if outcome.is_none() {
        if let StateKind::Task(t) = &state.kind {
            if needs_mock(&t.resource) {
                return Err(ApiError::validation(format!(
                    "A mock is required to test a Task state with resource '{}'",
                    t.resource
                )));
            }
        }
    }
    let scope = &ctx.scope;
    let sm_name = format!("TestState-{}", uuid::Uuid::new_v4().simple());
    let exec_name = uuid::Uuid::new_v4().to_string();
    let role_arn = input.role_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:{}:iam::{}:role/TestStateRole",
            scope.partition, scope.account
        )
    });
    let info = ExecutionInfo {
        execution_arn: format!(
            "arn:{}:states:{}:{}:express:{sm_name}:{exec_name}",
            scope.partition, scope.region, scope.account
        ),
        name: exec_name,
        state_machine_arn: scope.state_machine(&sm_name),
        state_machine_name: sm_name,
        role_arn,
        region: scope.region.clone(),
        start_time_ms: ctx.now_ms,
        input_text: serde_json::to_string(&state_input).unwrap_or_default(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        mock_test_case: None,
        trace_parent: None,
        redrive_time_ms: None,
    };
    let mut req = TestRequest {
        state,
        input: state_input,
        variables,
        context,
        info: &info,
        outcome,
        config,
        now_ms: ctx.now_ms,
        entropy: rand_seed(),
    };
    let mut trace = crate::runtime::resources::Trace::default();
    if req.outcome.is_none() {
        if let StateKind::Task(t) = &state.kind {
            // An argument that cannot be evaluated fails the state in the core.
            if let Ok(parameters) = test_state::task_arguments(&req) {
                if level == "TRACE" && t.resource.ends_with(":states:::http:invoke") {
                    let env = app.engine.resource_env();
                    let (answer, t) = crate::runtime::resources::run_http_traced(
                        env,
                        &parameters,
                        input.reveal_secrets,
                    )
                    .await;
                    req.outcome = Some(outcome_of(answer));
                    trace = t;
                } else {
                    req.outcome =
                        Some(call_resource(app, &info, state, &t.resource, parameters).await);
                }
            }
        }
    }
    let result = test_state::run(&req).map_err(|e| ApiError::validation(e.0))?;
    let mut out = Map::new();
    out.insert("status".into(), json!(result.status));
    if let Some(o) = &result.output {
        out.insert("output".into(), json!(json_text(o)));
    }
    if let Some(e) = &result.error {
        out.insert("error".into(), json!(e));
    }
    if let Some(c) = &result.cause {
        out.insert("cause".into(), json!(c));
    }
    if let Some(n) = &result.next_state {
        out.insert("nextState".into(), json!(n));
    }
    if level != "INFO" {
        let mut data = inspection_data(result.inspection);
        if let Some(r) = trace.request {
            data.insert("request".into(), r);
        }
        if let Some(r) = trace.response {
            data.insert("response".into(), r);
        }
        out.insert("inspectionData".into(), Value::Object(data));
    }
    Ok(Value::Object(out))
}

/// Run the Task's resource once, locally, as an execution would.
async fn call_resource(
    app: &App,
    info: &ExecutionInfo,
    state: &State,
    resource: &str,
    parameters: Value,
) -> TaskOutcome {
    let call = crate::runtime::resources::Invocation {
        execution_arn: info.execution_arn.clone(),
        task: 1,
        resource: resource.to_string(),
        parameters,
        token: String::new(),
        state_name: state.name.clone(),
        submitted: None,
        traceparent: None,
    };
    outcome_of(crate::runtime::resources::run(app.engine.resource_env(), &call).await)
}

/// A resource's answer as the outcome of the state's work.
fn outcome_of(answer: cairn_core::Input) -> TaskOutcome {
    match answer {
        cairn_core::Input::TaskSucceeded { output, .. } => {
            TaskOutcome::Result(serde_json::from_str(&output).unwrap_or(Value::String(output)))
        }
        cairn_core::Input::TaskFailed { error, cause, .. } => TaskOutcome::Error { error, cause },
        other => TaskOutcome::Error {
            error: Some("States.Runtime".into()),
            cause: Some(format!("Unexpected answer from the resource: {other:?}")),
        },
    }
}

/// `InspectionData` as the model has it: the data-flow values as JSON text, the rest as is.
fn inspection_data(insp: Map<String, Value>) -> Map<String, Value> {
    insp.into_iter()
        .map(|(k, v)| match k.as_str() {
            "errorDetails"
            | "maxConcurrency"
            | "toleratedFailureCount"
            | "toleratedFailurePercentage"
            | "request"
            | "response" => (k, v),
            _ => {
                let text = json_text(&v);
                (k, Value::String(text))
            }
        })
        .collect()
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn rand_seed() -> u64 {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn parse_json(text: &str, field: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::validation(format!("Invalid JSON in '{field}': {e}")))
}

/// `.waitForTaskToken` and activities wait for somebody else: AWS requires a mock.
fn needs_mock(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken") || resource.contains(":activity:")
}

/// The definition as a machine: a whole machine (`States`), or one state wrapped into a
/// machine whose only state is named `StateName`, as AWS does.
fn machine_of(input: &Input) -> Result<StateMachine, ApiError> {
    let value: Value = serde_json::from_str(&input.definition).map_err(|e| {
        ApiError::invalid_definition(format!(
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'"
        ))
    })?;
    let whole = value.get("States").is_some() && value.get("StartAt").is_some();
    if !whole && input.state_name.is_some() {
        return Err(ApiError::validation(
            "stateName can only be used with a state machine definition",
        ));
    }
    let (value, single) = if whole {
        (value, false)
    } else {
        (
            json!({"StartAt": SINGLE_STATE_NAME, "States": {SINGLE_STATE_NAME: value}}),
            true,
        )
    };
    let text = value.to_string();
    // A state tested alone may name states that are not there (Next, Catch).
    let diagnostics: Vec<_> = validate(&text, MachineType::Standard)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| {
            !(single && (d.code == "MISSING_TRANSITION_TARGET" || d.code == "MISSING_END_STATE"))
        })
        .collect();
    if !diagnostics.is_empty() {
        return Err(ApiError::invalid_definition(
            cairn_asl::invalid_definition_message(&diagnostics),
        ));
    }
    cairn_asl::parse_definition(&value).map_err(|e| {
        ApiError::invalid_definition(format!("Invalid State Machine Definition: '{e}'"))
    })
}

/// The state to test: the only one, or `stateName` anywhere in the machine.
fn find_state<'m>(machine: &'m StateMachine, name: Option<&str>) -> Result<&'m State, ApiError> {
    let Some(name) = name else {
        return machine
            .state(&machine.start_at)
            .ok_or_else(|| ApiError::validation("The definition has no state"));
    };
    fn search<'m>(m: &'m StateMachine, name: &str) -> Option<&'m State> {
        if let Some(s) = m.state(name) {
            return Some(s);
        }
        m.states.iter().find_map(|s| match &s.kind {
            StateKind::Parallel(p) => p.branches.iter().find_map(|b| search(b, name)),
            StateKind::Map(map) => search(&map.processor, name),
            _ => None,
        })
    }
    search(machine, name).ok_or_else(|| {
        ApiError::validation(format!(
            "State '{name}' does not exist in the state machine definition"
        ))
    })
}

/// The mock as the outcome of the state's work, after AWS's checks.
fn mock_outcome(state: &State, mock: Option<&MockInput>) -> Result<Option<TaskOutcome>, ApiError> {
    let type_name = state.kind.type_name();
    let Some(mock) = mock else {
        if matches!(state.kind, StateKind::Map(_) | StateKind::Parallel(_)) {
            return Err(ApiError::invalid_definition(
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ));
        }
        return Ok(None);
    };
    if mock.result.is_some() && mock.error_output.is_some() {
        return Err(ApiError::validation(
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ));
    }
    if !matches!(
        state.kind,
        StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
    ) {
        return Err(ApiError::validation(format!(
            "State type '{type_name}' is not supported when a mock is specified"
        )));
    }
    if let Some(e) = &mock.error_output {
        return Ok(Some(TaskOutcome::Error {
            error: e.error.clone(),
            cause: e.cause.clone(),
        }));
    }
    let Some(text) = &mock.result else {
        return Err(ApiError::validation(
            "A test mock should have one of the following fields: [result, errorOutput].",
        ));
    };
    let result: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::validation(format!("Mocked result must be valid JSON: {e}")))?;
    match &state.kind {
        StateKind::Parallel(p) => {
            let Some(list) = result.as_array() else {
                return Err(ApiError::validation("Mocked result must be an array."));
            };
            if list.len() != p.branches.len() {
                return Err(ApiError::validation(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                ));
            }
        }
        StateKind::Map(m) => {
            if m.result_writer.is_some() {
                if !result.is_object() {
                    return Err(ApiError::validation("Mocked result must be a JSON object."));
                }
            } else if !result.is_array() {
                return Err(ApiError::validation("Mocked result must be an array."));
            }
        }
        StateKind::Task(t) => {
            let mode = match mock.field_validation_mode.as_deref() {
                None | Some("STRICT") => ValidationMode::Strict,
                Some("PRESENT") => ValidationMode::Present,
                Some("NONE") => ValidationMode::None,
                Some(other) => {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]"
                    )))
                }
            };
            service_shapes::check_mock(&t.resource, &result, mode).map_err(|m| {
                ApiError::validation(format!("Mock result schema validation error: {m}"))
            })?;
        }
        _ => {}
    }
    Ok(Some(TaskOutcome::Result(result)))
}

/// `errorCausedByState` names a state inside the tested Map or Parallel, and goes with an
/// `errorOutput` mock (AWS's wording for these refusals is unrecorded).
fn check_error_caused_by_state(
    state: &State,
    name: &str,
    mock: Option<&MockInput>,
) -> Result<(), ApiError> {
    let children: Vec<&StateMachine> = match &state.kind {
        StateKind::Map(m) => vec![&m.processor],
        StateKind::Parallel(p) => p.branches.iter().collect(),
        _ => {
            return Err(ApiError::validation(
                "errorCausedByState can only be used with a Map or Parallel state",
            ))
        }
    };
    if !children.iter().any(|m| find_state(m, Some(name)).is_ok()) {
        return Err(ApiError::validation(format!(
            "errorCausedByState '{name}' is not a state inside the tested state"
        )));
    }
    if mock.and_then(|m| m.error_output.as_ref()).is_none() {
        return Err(ApiError::validation(
            "errorCausedByState requires a mock with errorOutput",
        ));
    }
    Ok(())
}

/// The caller's context object, checked as AWS checks it.
fn check_context(state: &State, context: Value) -> Result<Value, ApiError> {
    let bad = |m: &str| ApiError::validation(format!("Invalid Context object provided: {m}"));
    let Value::Object(obj) = &context else {
        return Err(bad("Context object must be a JSON object"));
    };
    if obj.contains_key("Map") {
        return Err(bad(
            "'Map' field is not supported when mocking a Context object",
        ));
    }
    if obj.contains_key("Task") {
        let callback = match &state.kind {
            StateKind::Task(t) => {
                t.resource.ends_with(".sync")
                    || t.resource.contains(".sync:")
                    || t.resource.ends_with(".waitForTaskToken")
            }
            _ => false,
        };
        if !callback {
            return Err(bad("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"));
        }
    }
    let strings: &[(&str, &[&str])] = &[
        (
            "Execution",
            &["Id", "Name", "RoleArn", "StartTime", "RedriveTime"],
        ),
        ("State", &["EnteredTime", "Name"]),
        ("StateMachine", &["Id", "Name"]),
        ("Task", &["Token"]),
    ];
    for (section, fields) in strings {
        if let Some(s) = obj.get(*section) {
            let Value::Object(s) = s else {
                return Err(bad(&format!("{section} must be an object")));
            };
            for f in *fields {
                if let Some(v) = s.get(*f) {
                    if !v.is_string() {
                        return Err(bad(&format!("{section}.{f} must be a string")));
                    }
                }
            }
        }
    }
    Ok(context)
}
