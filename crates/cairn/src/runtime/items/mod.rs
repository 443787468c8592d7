//! Distributed Map storage: reading a Map's items (`ItemReader`) and writing its results
//! (`ResultWriter`) on S3-compatible storage (`--s3-endpoint`) or a local folder per bucket
//! (`--s3-root`).
//!
//! This is the whole interface the Map Run driver uses; how objects are fetched, parsed
//! (JSON, JSONL, CSV, MANIFEST, `listObjectsV2`) and written is private to this module.
//! Items are streamed: a source with 100,000 items never sits in memory whole.
//!
//! Must not: know about executions, the writer or the store (the driver hands it what it
//! needs); decide Map semantics (concurrency, tolerance, batching belong to the driver).

use crate::config::Config;
use serde_json::Value;
use std::sync::Arc;

/// Where buckets live: an S3-compatible server or a folder per bucket.
#[derive(Debug)]
pub struct ObjectStore {
    _private: (),
}

impl ObjectStore {
    /// The store `cairn serve` was configured with (`--s3-endpoint` / `--s3-root`), or `None`
    /// when neither was given (an ItemReader / ResultWriter then fails with a cause that says
    /// how to configure one).
    pub fn from_config(config: &Config) -> Option<Arc<ObjectStore>> {
        let _ = config;
        None
    }
}

/// An ItemReader as evaluated for this entry into the Map state: `Resource` (for example
/// `arn:aws:states:::s3:getObject` or `arn:aws:states:::s3:listObjectsV2`), its
/// `Parameters`/`Arguments` with paths and expressions already resolved (`Bucket`, `Key`,
/// `Prefix`, ...), and `ReaderConfig` with `MaxItemsPath` already resolved into `MaxItems`.
#[derive(Debug, Clone)]
pub struct ReaderSpec {
    pub resource: String,
    pub parameters: Value,
    pub reader_config: Value,
}

/// A ResultWriter as evaluated for this entry (`Resource`, resolved `Parameters`/`Arguments`
/// with `Bucket` and `Prefix`, and `WriterConfig`).
#[derive(Debug, Clone)]
pub struct WriterSpec {
    pub resource: String,
    pub parameters: Value,
    pub writer_config: Value,
}

/// A failure as the Map state reports it: `error` is AWS's name (`States.ItemReaderFailed`,
/// `States.ResultWriterFailed`), `cause` says what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemError {
    pub error: String,
    pub cause: String,
}

/// The items of one ItemReader, in order, fetched as they are asked for.
pub struct ItemStream {
    _private: (),
}

impl ItemStream {
    /// The next item (`None` at the end, or after `MaxItems`).
    pub async fn next(&mut self) -> Result<Option<Value>, ItemError> {
        Ok(None)
    }
}

/// Opens an ItemReader's source.
pub async fn open(store: &ObjectStore, spec: &ReaderSpec) -> Result<ItemStream, ItemError> {
    let _ = (store, spec);
    Err(ItemError {
        error: "States.ItemReaderFailed".into(),
        cause: "ItemReader is not built yet".into(),
    })
}

/// One child execution's outcome, as a ResultWriter records it.
#[derive(Debug, Clone)]
pub struct ChildOutcome {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, or `PENDING` for an item never run.
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
    pub redrive_count: u32,
}

/// Where the driver's outcomes come from, a page at a time (so a run of 100,000 children is
/// never held whole); `Ok(None)` at the end.
pub trait OutcomePages: Send {
    #[allow(clippy::type_complexity)]
    fn next_page(
        &mut self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Option<Vec<ChildOutcome>>, ItemError>>
                + Send
                + '_,
        >,
    >;
}

/// Writes a Map Run's results (manifest and `SUCCEEDED_n.json` / `FAILED_n.json` /
/// `PENDING_n.json` in AWS's layout under `Prefix/<map run id>/`) and returns the Map
/// state's output as AWS gives it when results are written (`MapRunArn`,
/// `ResultWriterDetails`, or the transformed results for `WriterConfig`).
pub async fn write_results(
    store: &ObjectStore,
    spec: &WriterSpec,
    map_run_arn: &str,
    outcomes: &mut dyn OutcomePages,
) -> Result<Value, ItemError> {
    let _ = (store, spec, map_run_arn, outcomes);
    Err(ItemError {
        error: "States.ResultWriterFailed".into(),
        cause: "ResultWriter is not built yet".into(),
    })
}
