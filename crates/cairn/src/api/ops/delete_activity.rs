//! DeleteActivity: forget the activity, its queued tasks and its tags. Deleting an unknown
//! activity succeeds (observed).

use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::{ApiError, Arn};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    activity_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let Input { activity_arn } = parse_input(input)?;
    Arn::parse_as(&activity_arn, &["activity"])?;
    let arn = activity_arn.clone();
    let deleted = app.store(move |s| s.delete_activity(&arn)).await?;
    app.engine.forget_activity(&activity_arn);
    if deleted {
        tags::remove_all(app, &activity_arn).await?;
    }
    Ok(json!({}))
}
