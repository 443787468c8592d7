//! GetExecutionHistory: the execution's events, ascending (or `reverseOrder`), paged.

use super::execution_common::load_execution;
use crate::api::pagination::page_size;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{page_token, ApiError};
use cairn_store::HistoryPage;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    execution_arn: String,
    max_results: Option<i64>,
    reverse_order: Option<bool>,
    next_token: Option<String>,
    include_execution_data: Option<bool>,
}

/// Where the next page starts: the id of the last event given out.
#[derive(Serialize, Deserialize)]
struct Position {
    last: u64,
    reverse: bool,
}

const TOKEN_SCOPE: &str = "GetExecutionHistory";

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    load_execution(app, &req.execution_arn).await?;
    let reverse = req.reverse_order.unwrap_or(false);
    let position: Option<Position> = match &req.next_token {
        Some(t) => {
            let p: Position = page_token::decode(TOKEN_SCOPE, t)?;
            if p.reverse != reverse {
                return Err(ApiError::invalid_page_token());
            }
            Some(p)
        }
        None => None,
    };
    let page = match (&position, reverse) {
        (Some(p), false) => HistoryPage::After(p.last),
        (Some(p), true) => HistoryPage::Before(p.last),
        (None, false) => HistoryPage::After(0),
        (None, true) => HistoryPage::Before(u64::MAX),
    };
    let limit = page_size(req.max_results);
    let arn = req.execution_arn.clone();
    let mut rows = app.store(move |s| s.history(&arn, page, limit + 1)).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let include = req.include_execution_data.unwrap_or(true);
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut event: Value = serde_json::from_str(&row.body)
            .map_err(|e| ApiError::internal_failure(format!("corrupt history event: {e}")))?;
        if !include {
            strip_data(&mut event);
        }
        events.push(event);
    }
    let mut out = json!({ "events": events });
    if more {
        if let Some(last) = rows.last() {
            out["nextToken"] = json!(page_token::encode(
                TOKEN_SCOPE,
                &Position {
                    last: last.id,
                    reverse
                }
            ));
        }
    }
    Ok(out)
}

/// `includeExecutionData: false` drops `input` and `output` but keeps their `…Details`.
fn strip_data(event: &mut Value) {
    if let Some(obj) = event.as_object_mut() {
        for (key, value) in obj.iter_mut() {
            if key.ends_with("EventDetails") {
                if let Some(d) = value.as_object_mut() {
                    d.remove("input");
                    d.remove("output");
                }
            }
        }
    }
}
