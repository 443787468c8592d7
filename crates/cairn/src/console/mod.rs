//! The web console: a single page served by `cairn serve` on the API's own port.
//!
//! Owns: `GET /` (and `/console`) answering the page, `GET /console/<asset>` answering the
//! static assets embedded in the binary (`crates/cairn/console/`: plain ES modules, SVG drawn
//! by hand, no build step and no CDN), and two small Cairn-internal read routes the AWS API
//! has no operation for:
//! - `GET /console/api/events?arn=<execution>&after=<id>`: server-sent events, one `history`
//!   event per history event committed after `after` (its `id` is the event id, its data the
//!   event as GetExecutionHistory gives it), then one `end` once the execution has closed.
//!   Fed by polling the store cheaply (one indexed range read every [`POLL`]) while open.
//! - `GET /console/api/activity?arn=<activity>`: an activity's backlog (queued tasks and the
//!   oldest one's schedule time, from the store) and this node's tasks in progress (started,
//!   not closed, counted from history since start-up), parked workers and last poll.
//!
//! Everything else the page shows or does goes through the AWS JSON API (`POST /`), exactly
//! as a client would (unsigned requests are accepted), so the console never has powers the
//! API lacks. Must not: write to the store, or answer anything but GET.

use crate::api;
use crate::app::App;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cairn_store::HistoryPage;
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Set when the server begins to shut down: open event streams end then. Absent (a router
/// used without [`crate::server::serve`]), streams end only with their execution.
#[derive(Clone)]
pub struct Closing(pub tokio::sync::watch::Receiver<bool>);

/// How often an open event stream looks for new history events.
pub const POLL: Duration = Duration::from_millis(200);

/// The embedded assets, by file name.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../console/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/app.js"),
    ),
    (
        "graph.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/graph.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../console/style.css"),
    ),
];

/// The console's routes; `POST /` (and any other method on `/`) stays the AWS API.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(index).fallback(api::handle_http))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/api/events", get(events))
        .route("/console/api/activity", get(activity))
        .route("/console/{file}", get(asset))
}

async fn index() -> Response {
    serve_asset("index.html")
}

async fn asset(Path(file): Path<String>) -> Response {
    serve_asset(&file)
}

fn serve_asset(file: &str) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            let mut response = (*body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    arn: String,
    after: Option<u64>,
}

/// Where an event stream is.
struct Cursor {
    app: Arc<App>,
    closing: Option<tokio::sync::watch::Receiver<bool>>,
    arn: String,
    after: u64,
    pending: VecDeque<Event>,
    done: bool,
}

/// `Last-Event-ID` (sent by a reconnecting EventSource) wins over `after` when larger.
async fn events(
    State(app): State<Arc<App>>,
    closing: Option<axum::Extension<Closing>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let arn = q.arn.clone();
    match app.store(move |s| s.get_execution(&arn)).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(&format!("Execution Does Not Exist: '{}'", q.arn)),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
    let cursor = Cursor {
        app,
        closing: closing.map(|c| c.0 .0.clone()),
        arn: q.arn,
        after: q.after.unwrap_or(0).max(resumed.unwrap_or(0)),
        pending: VecDeque::new(),
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.pending.pop_front() {
                return Some((Ok::<_, Infallible>(event), c));
            }
            if c.done {
                return None;
            }
            // Status first, then history: an execution seen closed has all its events
            // committed (they commit with its status), so an empty read after it is the end.
            let arn = c.arn.clone();
            let after = c.after;
            let read = c
                .app
                .store(move |s| {
                    let status = s.get_execution(&arn)?.map(|e| e.status);
                    let rows = s.history(&arn, HistoryPage::After(after), 500)?;
                    Ok((status, rows))
                })
                .await;
            let Ok((status, rows)) = read else {
                return None;
            };
            if rows.is_empty() {
                if status.as_deref() != Some("RUNNING") {
                    c.done = true;
                    let status = json!({ "status": status }).to_string();
                    c.pending
                        .push_back(Event::default().event("end").data(status));
                    continue;
                }
                match c.closing.as_mut() {
                    Some(closing) => {
                        if *closing.borrow() {
                            return None;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(POLL) => {}
                            _ = closing.changed() => return None,
                        }
                    }
                    None => tokio::time::sleep(POLL).await,
                }
                continue;
            }
            for row in rows {
                c.after = row.id;
                c.pending.push_back(
                    Event::default()
                        .event("history")
                        .id(row.id.to_string())
                        .data(row.body),
                );
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
struct ActivityQuery {
    arn: String,
}

async fn activity(State(app): State<Arc<App>>, Query(q): Query<ActivityQuery>) -> Response {
    let arn = q.arn.clone();
    let found = app
        .store(move |s| {
            Ok(match s.get_activity(&arn)? {
                Some(_) => Some(s.activity_backlog(&arn)?),
                None => None,
            })
        })
        .await;
    let backlog = match found {
        Ok(Some(b)) => b,
        Ok(None) => return not_found(&format!("Activity Does Not Exist: '{}'", q.arn)),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let (parked, last_poll_ms) = app.engine.activity_pollers(&q.arn);
    let now = api::now_ms();
    let body = json!({
        "activityArn": q.arn,
        "queued": backlog.queued,
        "oldestQueuedMs": backlog.oldest_queued_ms,
        "oldestAgeSeconds": backlog.oldest_queued_ms.map(|t| ((now - t).max(0) as f64) / 1000.0),
        "inProgress": app.engine.metrics.activity_tasks_in_progress(&q.arn),
        "parkedWorkers": parked,
        "lastPollMs": last_poll_ms,
    });
    axum::Json(body).into_response()
}

fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": message })),
    )
        .into_response()
}
