//! DescribeMapRun: not implemented yet. Answers an AWS-shaped 400 naming the operation, so clients
//! see a clear error instead of a transport failure.

use crate::api::Ctx;
use crate::app::App;
use cairn_api::ApiError;
use serde_json::Value;

pub async fn handle(_app: &App, _ctx: &Ctx, _input: Value) -> Result<Value, ApiError> {
    Err(ApiError::not_supported_yet("DescribeMapRun"))
}
