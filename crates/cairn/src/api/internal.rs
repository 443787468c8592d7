//! The node-to-node calls of a cluster (`CairnInternal.*`, see `runtime::cluster::peers`):
//! another node forwards an input for an execution this node owns. Authenticated by the
//! cluster key; applied only if this node owns the execution, never forwarded again.

use crate::app::App;
use crate::runtime::cluster::peers::{
    self, DeliverAnswer, DeliverCall, StartAnswer, SIGNATURE_HEADER,
};
use crate::runtime::{EngineError, StartRequest};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The prefix of internal targets.
pub const PREFIX: &str = "CairnInternal.";

/// Answer one internal call.
pub async fn handle(app: &App, target: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !peers::verify(app.engine.token_key(), target, body, signature) {
        return (StatusCode::FORBIDDEN, "bad or missing node signature").into_response();
    }
    let answer = match target {
        peers::START => match serde_json::from_slice::<StartRequest>(body) {
            Ok(request) => serde_json::to_string(&start(app, request).await),
            Err(e) => return bad_request(e),
        },
        peers::DELIVER => match serde_json::from_slice::<DeliverCall>(body) {
            Ok(call) => serde_json::to_string(&deliver(app, call).await),
            Err(e) => return bad_request(e),
        },
        _ => return (StatusCode::NOT_FOUND, "unknown internal call").into_response(),
    };
    let mut response = answer
        .unwrap_or_else(|e| format!("{{\"Failed\":{:?}}}", e.to_string()))
        .into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(cairn_api::CONTENT_TYPE),
    );
    response
}

fn bad_request(e: serde_json::Error) -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("malformed internal call: {e}"),
    )
        .into_response()
}

async fn start(app: &App, request: StartRequest) -> StartAnswer {
    match app.engine.start_local(request).await {
        Ok(Ok(r)) => StartAnswer::Started(r),
        Ok(Err(e)) => StartAnswer::Refused(e),
        Err(EngineError::ShuttingDown) => StartAnswer::ShuttingDown,
        Err(EngineError::Throttled) => StartAnswer::Throttled,
        Err(e) => StartAnswer::Failed(e.to_string()),
    }
}

async fn deliver(app: &App, call: DeliverCall) -> DeliverAnswer {
    match app
        .engine
        .deliver_local(call.execution_arn, call.input)
        .await
    {
        Ok(outcome) => DeliverAnswer::Outcome(outcome),
        Err(EngineError::NotOwner) => DeliverAnswer::NotOwner,
        Err(EngineError::NoSuchExecution(_)) => DeliverAnswer::NoSuchExecution,
        Err(EngineError::ShuttingDown) => DeliverAnswer::ShuttingDown,
        Err(EngineError::Throttled) => DeliverAnswer::Throttled,
        Err(e) => DeliverAnswer::Failed(e.to_string()),
    }
}
