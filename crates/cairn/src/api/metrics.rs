//! `GET /metrics`: the engine's Prometheus families (see `runtime::metrics`) in the
//! OpenMetrics text format, after setting the figures read at scrape time: this node's
//! identity and view of the cluster, the pending timers, and each activity's backlog
//! (queued tasks, the oldest one's age, tasks in progress, parked pollers).

use crate::app::App;
use crate::runtime::metrics::{ActivityLabel, NodeLabel};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_store::{ActivityBacklog, Cursor};
use std::sync::Arc;

/// At most this many activities get backlog gauges (one store read each).
const MAX_ACTIVITIES: usize = 1000;

pub async fn handle(State(app): State<Arc<App>>) -> Response {
    let metrics = &app.engine.metrics;
    let ownership = app.engine.ownership();
    let (id, address) = match ownership.node() {
        Some(n) => (n.id.clone(), n.address.clone()),
        None => ("single".to_string(), String::new()),
    };
    metrics.node_info.clear();
    metrics
        .node_info
        .get_or_create(&NodeLabel { node: id, address })
        .set(1);
    metrics.cluster_nodes.set(ownership.live_nodes() as i64);
    metrics.partitions_owned.set(ownership.owned_count() as i64);
    let read = app
        .store(|s| {
            let timers = s.timers()?.len();
            let mut backlogs: Vec<(String, ActivityBacklog)> = Vec::new();
            let mut after: Option<Cursor> = None;
            while backlogs.len() < MAX_ACTIVITIES {
                let page = s.list_activities(None, after.as_ref(), 100)?;
                let Some(last) = page.last() else { break };
                after = Some(Cursor { seq: last.seq });
                for a in &page {
                    backlogs.push((a.arn.clone(), s.activity_backlog(&a.arn)?));
                }
            }
            Ok((timers, backlogs))
        })
        .await;
    let (timers, backlogs) = match read {
        Ok(r) => r,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    metrics.pending_timers.set(timers as i64);
    for family in [
        &metrics.queued_tasks,
        &metrics.tasks_in_progress,
        &metrics.parked_pollers,
    ] {
        family.clear();
    }
    metrics.oldest_task_age.clear();
    let now = super::now_ms();
    for (arn, b) in backlogs {
        let label = ActivityLabel {
            activity_arn: arn.clone(),
        };
        metrics
            .queued_tasks
            .get_or_create(&label)
            .set(b.queued as i64);
        metrics
            .tasks_in_progress
            .get_or_create(&label)
            .set(metrics.activity_tasks_in_progress(&arn) as i64);
        let age = b.oldest_queued_ms.map(|t| (now - t).max(0) as f64 / 1000.0);
        metrics
            .oldest_task_age
            .get_or_create(&label)
            .set(age.unwrap_or(0.0));
        let (parked, _) = app.engine.activity_pollers(&arn);
        metrics
            .parked_pollers
            .get_or_create(&label)
            .set(parked as i64);
    }
    let mut response = metrics.encode().into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
