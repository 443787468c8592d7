//! ListActivities: activities in creation order, paginated by an opaque token.

use crate::api::pagination::PageRequest;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let page = PageRequest::new(
        "ListActivities",
        input.max_results,
        input.next_token.as_deref(),
    )?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    // Under `--auth sigv4`, only the caller's account (in the query: pages stay full).
    let account = ctx.verified_account.clone();
    let mut rows = app
        .store(move |s| s.list_activities(account.as_deref(), after.as_ref(), fetch))
        .await?;
    let next_token = page.finish(&mut rows, |a| a.seq);
    let activities: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({
                "activityArn": a.arn,
                "name": a.name,
                "creationDate": epoch_seconds(a.creation_date_ms),
            })
        })
        .collect();
    let mut out = json!({ "activities": activities });
    if let Some(token) = next_token {
        out["nextToken"] = token.into();
    }
    Ok(out)
}
