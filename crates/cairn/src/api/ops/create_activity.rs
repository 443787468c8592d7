//! CreateActivity: idempotent by name. The same name answers the original ARN and creation
//! date (differing tags are ignored); only a different `encryptionConfiguration` is
//! `ActivityAlreadyExists`.

use crate::api::configurations::{encryption, stored};
use crate::api::{parse_input, tags, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{validate_name, ApiError};
use cairn_store::{ActivityRecord, Inserted};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    name: String,
    #[serde(default)]
    tags: Vec<tags::Tag>,
    encryption_configuration: Option<Value>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    validate_name(&input.name)?;
    let arn = ctx.scope.activity(&input.name);
    let tags = tags::pairs(&input.tags)?;
    tags::check_limit(&arn, &[], &tags)?;
    let encryption = encryption(input.encryption_configuration.as_ref())?;
    let record = ActivityRecord {
        arn: arn.clone(),
        name: input.name,
        creation_date_ms: ctx.now_ms,
        encryption_configuration: encryption.to_string(),
        seq: 0,
    };
    let inserted = app
        .store(move |s| {
            let inserted = s.insert_activity(&record)?;
            if inserted == Inserted::Created && !tags.is_empty() {
                s.put_tags(&record.arn, &tags)?;
            }
            Ok(match inserted {
                Inserted::Created => Ok(record),
                Inserted::Exists(existing) => Err(existing),
            })
        })
        .await?;
    let activity = match inserted {
        Ok(created) => created,
        Err(existing) => {
            if stored(&existing.encryption_configuration) != encryption {
                return Err(ApiError::activity_already_exists(format!(
                    "Activity already exists with a different encryption configuration: '{arn}'"
                )));
            }
            existing
        }
    };
    Ok(json!({
        "activityArn": activity.arn,
        "creationDate": epoch_seconds(activity.creation_date_ms),
    }))
}
