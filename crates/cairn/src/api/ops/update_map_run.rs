//! UpdateMapRun: change a running Map Run's MaxConcurrency and tolerated failures. The new
//! settings are stored and the run's driver is nudged to read them: a higher concurrency
//! starts more children at once, a lower one starts no more until enough have ended, and
//! the tolerance applies from the next child that fails. A finished run refuses
//! (`CANNOT_UPDATE_COMPLETED_MAP_RUN`).

use super::describe_map_run::load_map_run;
use crate::api::{parse_input, Ctx};
use crate::app::App;
use cairn_api::{ApiError, ValidationReason};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    map_run_arn: String,
    max_concurrency: Option<i64>,
    tolerated_failure_percentage: Option<f64>,
    tolerated_failure_count: Option<i64>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let req: Input = parse_input(input)?;
    if req.max_concurrency.is_none()
        && req.tolerated_failure_percentage.is_none()
        && req.tolerated_failure_count.is_none()
    {
        return Err(ApiError::validation_with_reason(
            "Must provide at least one of maxConcurrency, toleratedFailurePercentage or \
             toleratedFailureCount",
            ValidationReason::MissingRequiredParameter,
        ));
    }
    let non_negative = |v: Option<i64>, member: &str| match v {
        Some(n) if n < 0 => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy \
             constraint: Member must have value greater than or equal to 0"
        ))),
        v => Ok(v.map(|n| n as u64)),
    };
    let max_concurrency = non_negative(req.max_concurrency, "maxConcurrency")?;
    let count = non_negative(req.tolerated_failure_count, "toleratedFailureCount")?;
    if let Some(p) = req.tolerated_failure_percentage {
        if !(0.0..=100.0).contains(&p) {
            let bound = if p < 0.0 {
                "greater than or equal to 0"
            } else {
                "less than or equal to 100"
            };
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{p}' at 'toleratedFailurePercentage' \
                 failed to satisfy constraint: Member must have value {bound}"
            )));
        }
    }
    let run = load_map_run(app, &req.map_run_arn).await?;
    if run.status != "RUNNING" {
        return Err(ApiError::validation_with_reason(
            format!("Map run {} is not running and cannot be updated", run.arn),
            ValidationReason::CannotUpdateCompletedMapRun,
        ));
    }
    let arn = run.arn.clone();
    let percentage = req.tolerated_failure_percentage;
    app.store(move |s| s.update_map_run_settings(&arn, max_concurrency, count, percentage))
        .await?;
    crate::runtime::map_run::settings_changed(&run.arn);
    Ok(json!({}))
}
