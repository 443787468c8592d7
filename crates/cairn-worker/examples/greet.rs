//! The README's library example: an activity worker that greets `{"name": …}` inputs.
//! Run it with `cargo run -p cairn-worker --example greet -- <activity ARN>` while
//! `cairn serve` runs.

use cairn_worker::{TaskContext, TaskError, Worker};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), cairn_worker::WorkerError> {
    let activity = std::env::args()
        .nth(1)
        .expect("usage: greet <activity ARN>");
    let greet = |_ctx: TaskContext, input: String| async move {
        let input: Value = serde_json::from_str(&input).unwrap_or_default();
        match input["name"].as_str() {
            Some(name) => Ok(json!({"greeting": format!("hello {name}")}).to_string()),
            None => Err(TaskError::new("Greet.NoName", "the input has no \"name\"")),
        }
    };
    let ctrl_c = async { tokio::signal::ctrl_c().await.expect("ctrl-c handler") };
    Worker::new("http://127.0.0.1:8083", activity)
        .concurrency(4)
        .heartbeat(Duration::from_secs(10))
        .run(greet, ctrl_c)
        .await
}
