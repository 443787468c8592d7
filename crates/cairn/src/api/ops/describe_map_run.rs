//! DescribeMapRun: a Distributed Map's Map Run as its driver keeps it (`map_runs` row):
//! status, dates, the settings (as UpdateMapRun left them) and the item and child
//! execution counts by status. The row is written by the driver as the run begins, just
//! after `MapRunStarted` is committed: in that instant the run answers `ResourceNotFound`.

use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{ApiError, Arn};
use cairn_store::MapRunRecord;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    map_run_arn: String,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    let run = load_map_run(app, &req.map_run_arn).await?;
    Ok(describe(&run))
}

/// The Map Run, or AWS's `ResourceNotFound` (`InvalidArn` for what is no Map Run ARN).
pub(crate) async fn load_map_run(app: &App, arn: &str) -> Result<MapRunRecord, ApiError> {
    Arn::parse_as(arn, &["mapRun"])?;
    let key = arn.to_string();
    app.store(move |s| s.get_map_run(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_resource(arn))
}

fn counts(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or(json!({}));
    let n = |k: &str| json!(v[k].as_u64().unwrap_or(0));
    json!({
        "pending": n("pending"),
        "running": n("running"),
        "succeeded": n("succeeded"),
        "failed": n("failed"),
        "timedOut": n("timedOut"),
        "aborted": n("aborted"),
        "total": n("total"),
        "resultsWritten": n("resultsWritten"),
        "failuresNotRedrivable": n("failuresNotRedrivable"),
        "pendingRedrive": n("pendingRedrive"),
    })
}

fn describe(run: &MapRunRecord) -> Value {
    let mut out = json!({
        "mapRunArn": run.arn,
        "executionArn": run.execution_arn,
        "status": run.status,
        "startDate": cairn_api::time::epoch_seconds(run.start_date_ms),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "toleratedFailureCount": run.tolerated_failure_count,
        "itemCounts": counts(&run.item_counts),
        "executionCounts": counts(&run.execution_counts),
        "redriveCount": run.redrive_count,
    });
    if let Some(stop) = run.stop_date_ms {
        out["stopDate"] = cairn_api::time::epoch_seconds(stop);
    }
    if let Some(date) = run.redrive_date_ms {
        out["redriveDate"] = cairn_api::time::epoch_seconds(date);
    }
    out
}
