//! ListMapRuns: the Map Runs an execution's Distributed Map states started, read from its
//! history (`MapRunStarted` and the `MapRunSucceeded` / `MapRunFailed` / `MapRunAborted` that
//! points back at it), newest first (AWS's order is unverified; ListExecutions' is used).
//!
//! Each run's `stateMachineArn` is the labelled ARN AWS shows (`…:stateMachine:<sm>/<label>`),
//! derived from its `mapRunArn` (`…:mapRun:<sm>/<label>:<id>`). A run whose parent closed
//! without an end event for it (the parent was stopped) stops when the parent did.

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
    next_token: Option<String>,
}

/// Where the next page starts: how many runs were given out already.
#[derive(Serialize, Deserialize)]
struct Position {
    skip: usize,
}

const TOKEN_SCOPE: &str = "ListMapRuns";

/// History is read in chunks of this many events, so a long history is never loaded whole.
const CHUNK: usize = 1000;

/// One Map Run as found in the history.
struct Run {
    started_id: u64,
    map_run_arn: String,
    start: Value,
    stop: Option<Value>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let record = load_execution(app, &req.execution_arn).await?;
    let skip = match &req.next_token {
        Some(t) => page_token::decode::<Position>(TOKEN_SCOPE, t)?.skip,
        None => 0,
    };
    let mut runs = map_runs(app, &req.execution_arn).await?;
    runs.reverse();
    let limit = page_size(req.max_results);
    let parent_stop = record
        .stop_date_ms
        .map(|ms| json!(cairn_api::time::epoch_seconds(ms)));
    let page: Vec<Value> = runs
        .iter()
        .skip(skip)
        .take(limit)
        .map(|r| {
            let mut item = json!({
                "executionArn": req.execution_arn,
                "mapRunArn": r.map_run_arn,
                "stateMachineArn": labelled_machine_arn(&r.map_run_arn),
                "startDate": r.start,
            });
            if let Some(stop) = r.stop.clone().or_else(|| parent_stop.clone()) {
                item["stopDate"] = stop;
            }
            item
        })
        .collect();
    let mut out = json!({ "mapRuns": page });
    if runs.len() > skip + limit {
        out["nextToken"] = json!(page_token::encode(
            TOKEN_SCOPE,
            &Position { skip: skip + limit }
        ));
    }
    Ok(out)
}

/// Every Map Run in the execution's history, oldest first.
async fn map_runs(app: &App, execution_arn: &str) -> Result<Vec<Run>, ApiError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut after = 0;
    loop {
        let arn = execution_arn.to_string();
        let rows = app
            .store(move |s| s.history(&arn, HistoryPage::After(after), CHUNK))
            .await?;
        for row in &rows {
            // Only the few Map Run events are parsed.
            if !row.body.contains("\"MapRun") {
                continue;
            }
            let event: Value = serde_json::from_str(&row.body)
                .map_err(|e| ApiError::internal_failure(format!("corrupt history event: {e}")))?;
            match event["type"].as_str() {
                Some("MapRunStarted") => runs.push(Run {
                    started_id: row.id,
                    map_run_arn: event["mapRunStartedEventDetails"]["mapRunArn"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    start: event["timestamp"].clone(),
                    stop: None,
                }),
                Some("MapRunSucceeded" | "MapRunFailed" | "MapRunAborted") => {
                    let previous = event["previousEventId"].as_u64();
                    if let Some(run) = runs
                        .iter_mut()
                        .find(|r| Some(r.started_id) == previous && r.stop.is_none())
                    {
                        run.stop = Some(event["timestamp"].clone());
                    }
                }
                _ => {}
            }
        }
        match rows.last() {
            Some(last) if rows.len() == CHUNK => after = last.id,
            _ => return Ok(runs),
        }
    }
}

/// `…:mapRun:<sm>/<label>:<id>` → `…:stateMachine:<sm>/<label>`.
fn labelled_machine_arn(map_run_arn: &str) -> String {
    let without_id = map_run_arn
        .rsplit_once(':')
        .map_or(map_run_arn, |(head, _)| head);
    without_id.replacen(":mapRun:", ":stateMachine:", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_arn() {
        assert_eq!(
            labelled_machine_arn(
                "arn:aws:states:us-east-1:123456789012:mapRun:sm/Label:0a1b2c3d-0000-4000-a000-000000000000"
            ),
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm/Label"
        );
    }
}
