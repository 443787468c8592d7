//! ListStateMachineVersions: a machine's versions, newest (highest number) first (observed),
//! paginated. An unknown machine lists nothing (it has no versions); a qualified ARN is a
//! `ValidationException`.

use crate::api::pagination::PageRequest;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let machine_arn = input.state_machine_arn;
    match Arn::parse_as(&machine_arn, &["stateMachine"])?.resource {
        Resource::StateMachine { .. } => {}
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        _ => {
            return Err(ApiError::validation(format!(
                "Invalid Arn: 'Expected an unqualified state machine ARN: {machine_arn}'"
            )))
        }
    }
    let page = PageRequest::new(
        "ListStateMachineVersions",
        input.max_results,
        input.next_token.as_deref(),
    )?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let mut rows = app
        .store(move |s| s.list_versions(&machine_arn, after.as_ref(), fetch))
        .await?;
    let next_token = page.finish(&mut rows, |v| v.seq);
    let items: Vec<Value> = rows
        .iter()
        .map(|v| {
            json!({
                "stateMachineVersionArn": v.arn,
                "creationDate": epoch_seconds(v.creation_date_ms),
            })
        })
        .collect();
    let mut out = json!({ "stateMachineVersions": items });
    if let Some(token) = next_token {
        out["nextToken"] = token.into();
    }
    Ok(out)
}
