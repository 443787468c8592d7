//! Activity workers for the AWS Step Functions API, against Cairn or any emulator that
//! speaks AWS JSON 1.0 over plain `http://` and accepts unsigned requests.
//!
//! - [`client`]: [`SfnConnection`], one keep-alive connection and its calls;
//! - [`worker`]: [`Worker`], which polls one activity with N pollers, runs a handler per
//!   task, heartbeats while it runs and always answers.
//!
//! This crate knows the wire protocol and nothing of Cairn's server; it must never depend on
//! the server's crates, so that it stays usable against any endpoint.
//!
//! ```no_run
//! use cairn_worker::{TaskContext, TaskError, Worker};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), cairn_worker::WorkerError> {
//!     let activity = "arn:aws:states:us-east-1:123456789012:activity:greet";
//!     let greet = |_ctx: TaskContext, input: String| async move {
//!         let who: serde_json::Value = serde_json::from_str(&input).unwrap_or_default();
//!         match who["name"].as_str() {
//!             Some(name) => Ok(serde_json::json!({"greeting": format!("hello {name}")}).to_string()),
//!             None => Err(TaskError::new("Greet.NoName", "the input has no \"name\"")),
//!         }
//!     };
//!     let ctrl_c = async { tokio::signal::ctrl_c().await.unwrap() };
//!     Worker::new("http://127.0.0.1:8083", activity).concurrency(4).run(greet, ctrl_c).await
//! }
//! ```

pub mod client;
pub mod signing;
pub mod worker;

pub use client::{CallError, SfnConnection};
pub use signing::Signer;
pub use worker::{TaskContext, TaskError, Worker, WorkerError};
