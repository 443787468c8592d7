//! HTTP front end: AWS JSON 1.0 over `POST /`, one file per Step Functions operation.
//!
//! A request goes through [`handle_http`]: read `X-Amz-Target: AWSStepFunctions.<Op>`
//! (unknown → `UnknownOperationException`), parse the JSON body (malformed →
//! `SerializationException`), check it against the model's constraint table
//! (`cairn_api::validate_request` → `ValidationException`), then call the operation's handler.
//! Every answer carries `x-amzn-RequestId` and `Content-Type: application/x-amz-json-1.0`.
//!
//! # Operation handlers
//! Each operation lives in `ops/<operation_name>.rs` (parse, apply, encode side by side) and
//! exposes exactly
//! ```text
//! pub async fn handle(app: &App, ctx: &Ctx, input: serde_json::Value)
//!     -> Result<serde_json::Value, ApiError>
//! ```
//! `input` has already passed model validation (required members present, lengths, ranges,
//! enums, JSON types), so a handler deserialises it into its own `#[derive(Deserialize)]`
//! struct with [`parse_input`] and checks only business rules. `Ok(value)` is sent as the
//! 200 body (`json!({})` for empty outputs); `Err(ApiError)` as the AWS error body.
//! [`Ctx`] carries the request id, the ARN scope to mint ARNs in (the region of the request's
//! SigV4 credential, else `Config.region`), and the request time.
//!
//! To add an operation: write `ops/<name>.rs` with that `handle`, and add one line to the
//! `operations!` table below (`"Name" => name`). A test checks that the table routes exactly
//! the model's operations.
//!
//! Besides the AWS operations: `CairnClock.*` (the engine's clock, for tests; see
//! [`clock`]) and `CairnInternal.*` (node to node, see [`internal`]).
//!
//! Must not: hold state between requests, or talk to the database except through
//! [`App::store`] (blocking pool) and the engine.

pub mod accounts;
pub mod auth;
pub mod clock;
pub mod configurations;
pub mod definition;
pub mod internal;
pub mod machine_cache;
pub mod metrics;
pub mod ops;
pub mod pagination;
pub mod presign;
pub mod service_shapes;
pub mod sigv4;
pub mod tags;
pub mod versions;

use crate::app::App;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_api::{ApiError, ArnScope, CONTENT_TYPE, TARGET_PREFIX};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What a handler knows about the request besides its body.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The `x-amzn-RequestId` of the answer.
    pub request_id: String,
    /// Where ARNs minted by this request point.
    pub scope: ArnScope,
    /// The SigV4 access key, if the request was signed.
    pub access_key: Option<String>,
    /// Under `--auth sigv4`: the account the verified key belongs to (see `accounts.rs`).
    pub verified_account: Option<String>,
    /// The `X-Amzn-Trace-Id` header, if sent (it wins over a body `traceHeader`).
    pub trace_header: Option<String>,
    /// When the request arrived, epoch milliseconds.
    pub now_ms: i64,
    /// Extra headers of the answer, set by the handler (GetActivityTask's `traceparent`).
    pub response_headers: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Ctx {
    /// A context for a request without headers (tests, internal calls).
    pub fn new(app: &App) -> Ctx {
        Ctx {
            request_id: uuid::Uuid::new_v4().to_string(),
            scope: ArnScope::new(
                &app.config.partition,
                &app.config.region,
                &app.config.account_id,
            ),
            access_key: None,
            verified_account: None,
            trace_header: None,
            now_ms: app.engine.clock.now_ms(),
            response_headers: Default::default(),
        }
    }

    fn from_headers(app: &App, uri: &axum::http::Uri, headers: &HeaderMap) -> Ctx {
        let mut ctx = Ctx::new(app);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // The signature's region and key, from the header or a presigned URL's query.
        let cred = match header("authorization") {
            Some(authorization) => sigv4::parse_authorization(authorization),
            None => uri.query().and_then(presign::credential),
        };
        if let Some(cred) = cred {
            ctx.scope.region = cred.region;
            ctx.access_key = Some(cred.access_key);
        }
        ctx.trace_header = header("x-amzn-trace-id").map(str::to_string);
        ctx
    }
}

pub use crate::clock::now_ms;

/// An engine failure as an answer: overload is `ThrottlingException` ("Rate exceeded", which
/// SDKs retry with back-off); anything else an `InternalFailure`.
pub fn engine_error(e: crate::runtime::EngineError) -> ApiError {
    match e {
        crate::runtime::EngineError::Throttled => ApiError::throttling("Rate exceeded"),
        e => ApiError::internal_failure(e.to_string()),
    }
}

/// Deserialise a validated request body into an operation's input struct.
pub fn parse_input<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|e| ApiError::serialization(e.to_string()))
}

macro_rules! operations {
    ($( $name:literal => $module:ident, )*) => {
        /// The operations this server routes, by `X-Amz-Target` name.
        pub const OPERATIONS: &[&str] = &[ $( $name, )* ];

        /// Call the handler of `operation`.
        pub async fn dispatch(app: &App, ctx: &Ctx, operation: &str, input: Value)
            -> Result<Value, ApiError>
        {
            match operation {
                $( $name => ops::$module::handle(app, ctx, input).await, )*
                other => Err(unknown_operation(other)),
            }
        }
    };
}

operations! {
    // Activities and task tokens
    "CreateActivity" => create_activity,
    "DescribeActivity" => describe_activity,
    "ListActivities" => list_activities,
    "DeleteActivity" => delete_activity,
    "GetActivityTask" => get_activity_task,
    "SendTaskSuccess" => send_task_success,
    "SendTaskFailure" => send_task_failure,
    "SendTaskHeartbeat" => send_task_heartbeat,
    // State machines
    "CreateStateMachine" => create_state_machine,
    "DescribeStateMachine" => describe_state_machine,
    "ListStateMachines" => list_state_machines,
    "UpdateStateMachine" => update_state_machine,
    "DeleteStateMachine" => delete_state_machine,
    "DescribeStateMachineForExecution" => describe_state_machine_for_execution,
    "ValidateStateMachineDefinition" => validate_state_machine_definition,
    "TestState" => test_state,
    // Executions and history
    "StartExecution" => start_execution,
    "StartSyncExecution" => start_sync_execution,
    "StopExecution" => stop_execution,
    "DescribeExecution" => describe_execution,
    "ListExecutions" => list_executions,
    "GetExecutionHistory" => get_execution_history,
    "RedriveExecution" => redrive_execution,
    // Versions and aliases
    "PublishStateMachineVersion" => publish_state_machine_version,
    "ListStateMachineVersions" => list_state_machine_versions,
    "DeleteStateMachineVersion" => delete_state_machine_version,
    "CreateStateMachineAlias" => create_state_machine_alias,
    "DescribeStateMachineAlias" => describe_state_machine_alias,
    "UpdateStateMachineAlias" => update_state_machine_alias,
    "ListStateMachineAliases" => list_state_machine_aliases,
    "DeleteStateMachineAlias" => delete_state_machine_alias,
    // Map runs
    "DescribeMapRun" => describe_map_run,
    "ListMapRuns" => list_map_runs,
    "UpdateMapRun" => update_map_run,
    // Tags
    "TagResource" => tag_resource,
    "UntagResource" => untag_resource,
    "ListTagsForResource" => list_tags_for_resource,
}

fn unknown_operation(target: &str) -> ApiError {
    ApiError::unknown_operation(format!("Operation is not supported: '{target}'"))
}

/// Parse, validate and run one request; the whole protocol minus HTTP.
pub async fn call(
    app: &App,
    ctx: &Ctx,
    target: Option<&str>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let target = target.unwrap_or_default();
    let name = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    let operation = cairn_api::operation(name)
        .filter(|op| OPERATIONS.contains(&op.name))
        .ok_or_else(|| unknown_operation(target))?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::serialization(format!("Malformed JSON request body: {e}")))?
    };
    cairn_api::validate_request(operation, &input)?;
    let Some(account) = &ctx.verified_account else {
        return dispatch(app, ctx, operation.name, input).await;
    };
    let key = ctx.access_key.as_deref().unwrap_or_default();
    accounts::check_request(operation.name, account, key, &input)?;
    dispatch(app, ctx, operation.name, input).await
}

/// The axum handler behind every path: one AWS JSON 1.0 request in, one answer out.
/// A body that cannot be read (too large, cut off) is an AWS-shaped 400 too.
pub async fn handle_http(
    State(app): State<Arc<App>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    if let (Some(internal), Ok(body)) = (target.filter(|t| t.starts_with(internal::PREFIX)), &body)
    {
        return internal::handle(&app, internal, &headers, body).await;
    }
    let mut ctx = Ctx::from_headers(&app, &uri, &headers);
    let verified = match (&app.config.credentials, &body) {
        (Some(credentials), Ok(body)) => credentials
            .verify(method.as_str(), &uri, &headers, body, SystemTime::now())
            .map(|who| {
                // The key's account owns what this request creates.
                ctx.scope.account = who.account_id.clone();
                ctx.verified_account = Some(who.account_id);
                ctx.scope.region = who.region;
                ctx.access_key = Some(who.access_key);
            }),
        _ => Ok(()),
    };
    let result = match body {
        _ if verified.is_err() => verified.map(|()| Value::Null),
        Ok(body) => match target.filter(|t| t.starts_with(clock::PREFIX)) {
            Some(clock_target) => clock::call(&app, clock_target, &body).await,
            None => call(&app, &ctx, target, &body).await,
        },
        Err(rejection) => Err(ApiError::validation(format!(
            "Request body could not be read: {}",
            rejection.body_text()
        ))),
    };
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::error!(target = target.unwrap_or("-"), error = %e, "request failed");
            }
            (status, e.body())
        }
    };
    tracing::debug!(
        target = target.unwrap_or("-"),
        status = status.as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    let extra = std::mem::take(
        &mut *ctx
            .response_headers
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    for (name, value) in extra {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_exactly_the_model_operations() {
        let mut routed: Vec<&str> = OPERATIONS.to_vec();
        routed.sort();
        let model: Vec<&str> = cairn_api::validation::OPERATIONS
            .iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(routed, model);
    }
}
