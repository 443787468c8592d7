//! DescribeActivity: the activity's ARN, name, creation date and encryption configuration.

use crate::api::configurations::stored;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
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
    let activity = app
        .store(move |s| s.get_activity(&arn))
        .await?
        .ok_or_else(|| ApiError::no_such_activity(&activity_arn))?;
    Ok(json!({
        "activityArn": activity.arn,
        "name": activity.name,
        "creationDate": epoch_seconds(activity.creation_date_ms),
        "encryptionConfiguration": stored(&activity.encryption_configuration),
    }))
}
