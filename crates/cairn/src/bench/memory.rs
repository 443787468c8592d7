//! The memory scenarios of `cairn bench` (`--scenario memory`, or each by name): what the
//! server holds for work that waits, read as its peak RSS with `--server-pid`.
//!
//! - `parked-pollers`: `--pollers` GetActivityTask long polls parked at once (spread over
//!   activities of at most 1,000 pollers each, AWS's limit per activity), then one execution
//!   per poller, so the scenario ends when every parked poller has been handed its task;
//! - `timers`: `--waiting` executions parked on a one-hour Wait state;
//! - `tokens`: `--waiting` executions parked on an activity task no worker polls.
//!
//! The executions of `timers` and `tokens` are left running (an in-process server's
//! temporary database goes away with it; a server given with `--endpoint` keeps them).
//! It only drives load and counts; the figures come from [`super::probe`].

use super::scenarios::{activity_machine, create_machine, start_many, unique, Figures};
use super::Endpoints;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// AWS's limit of concurrent pollers per activity.
const POLLERS_PER_ACTIVITY: usize = 1000;

/// `pollers` parked long polls, then one task for each.
pub async fn parked_pollers(
    endpoints: &Endpoints,
    pollers: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let mut conn = endpoints.connect(0).await?;
    let mut activities = Vec::new();
    for _ in 0..pollers.div_ceil(POLLERS_PER_ACTIVITY) {
        activities.push(activity_machine(&mut conn).await?);
    }
    let connected = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let mut tasks = Vec::with_capacity(pollers);
    for p in 0..pollers {
        let activity_arn = activities[p / POLLERS_PER_ACTIVITY].0.clone();
        let (endpoints, connected, served) = (endpoints.clone(), connected.clone(), served.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = endpoints.connect(p).await?;
            connected.fetch_add(1, Ordering::Relaxed);
            loop {
                let task = conn
                    .call(
                        "GetActivityTask",
                        &json!({"activityArn": activity_arn, "workerName": format!("p{p}")}),
                    )
                    .await?;
                if let Some(token) = task["taskToken"].as_str() {
                    conn.call(
                        "SendTaskSuccess",
                        &json!({"taskToken": token, "output": "{}"}),
                    )
                    .await?;
                    served.fetch_add(1, Ordering::Relaxed);
                    return Ok::<_, anyhow::Error>(());
                }
            }
        }));
    }
    while connected.load(Ordering::Relaxed) < pollers {
        if begin.elapsed() > Duration::from_secs(120) {
            anyhow::bail!(
                "only {} of {pollers} pollers connected in 2 minutes",
                connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = begin.elapsed().as_secs_f64();
    // Every poller has sent its GetActivityTask once its connection is up; the executions
    // below find them parked (a poll that arrives later takes its task at once, which ends
    // the scenario just the same).
    let feed = Instant::now();
    for (i, (_, machine)) in activities.iter().enumerate() {
        let count = (pollers - i * POLLERS_PER_ACTIVITY).min(POLLERS_PER_ACTIVITY);
        start_many(
            endpoints,
            machine,
            count,
            concurrency,
            Arc::new(|_| "{}".to_string()),
        )
        .await?;
    }
    for t in tasks {
        t.await??;
    }
    let feed_secs = feed.elapsed().as_secs_f64();
    Ok(Figures {
        text: format!(
            "parked pollers: {pollers} connected and polling in {connect_secs:.2}s, all handed a task in {feed_secs:.2}s"
        ),
        figures: json!({
            "pollers": pollers,
            "served": served.load(Ordering::Relaxed),
            "connect_seconds": connect_secs,
            "feed_seconds": feed_secs,
        }),
        units: (pollers, "poller"),
    })
}

/// `executions` executions left waiting on a one-hour Wait state (`timers`) or on an activity
/// task nobody polls (`tokens`).
pub async fn waiting(
    endpoints: &Endpoints,
    executions: usize,
    concurrency: usize,
    on: &'static str,
) -> anyhow::Result<Figures> {
    let mut conn = endpoints.connect(0).await?;
    let machine = if on == "timers" {
        let definition = json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "End": true}
        }});
        create_machine(&mut conn, &unique("bench-wait"), &definition).await?
    } else {
        activity_machine(&mut conn).await?.1
    };
    let begin = Instant::now();
    let arns = start_many(
        endpoints,
        &machine,
        executions,
        concurrency,
        Arc::new(|i| json!({"i": i}).to_string()),
    )
    .await?;
    let secs = begin.elapsed().as_secs_f64();
    // One sample is still RUNNING: the executions really wait rather than failed at once.
    let sample = conn
        .call(
            "DescribeExecution",
            &json!({"executionArn": arns.last().cloned().unwrap_or_default()}),
        )
        .await?;
    let status = sample["status"].as_str().unwrap_or("?").to_string();
    Ok(Figures {
        text: format!(
            "{executions} executions waiting on {on}: started in {secs:.2}s ({:.0}/s), last one {status}",
            executions as f64 / secs.max(1e-9)
        ),
        figures: json!({
            "executions": executions,
            "waiting_on": on,
            "seconds": secs,
            "executions_per_second": executions as f64 / secs.max(1e-9),
            "last_status": status,
        }),
        units: (executions, "execution"),
    })
}
