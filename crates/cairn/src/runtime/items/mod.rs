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
//!
//! Files: `backend.rs` (ranged reads, listing pages, writes whole or in parts, dispatched to `s3.rs`, an S3-compatible
//! server through `aws-sdk-s3`, or `local.rs`, a folder per bucket), `reader.rs` (ItemReader
//! sources), `json.rs` and `csv.rs` (incremental parsers), `writer.rs` (ResultWriter layout).

mod backend;
mod csv;
mod json;
mod local;
mod reader;
mod s3;
mod writer;

use crate::config::Config;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Where buckets live: an S3-compatible server or a folder per bucket.
pub struct ObjectStore {
    backend: Arc<backend::Backend>,
}

impl std::fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStore")
            .field("storage", &self.backend.describe())
            .finish()
    }
}

/// Sizes that bound memory: how much of an object one read fetches, how much of a result
/// file is held before it is sent as a part, and how large a result file grows before the
/// next one is started. Tests make them small to observe streaming.
#[derive(Debug, Clone, Copy)]
pub struct StoreTuning {
    /// Bytes per ranged read of an ItemReader source (default 1 MiB).
    pub read_chunk_bytes: usize,
    /// A result file is sent in parts of this size (S3 multipart upload; default 8 MiB; at
    /// least 5 MiB on S3, which refuses smaller parts).
    pub result_part_bytes: usize,
    /// A result file is closed once it reaches this many bytes and continued in the next
    /// (`SUCCEEDED_1.json`, …); default 5 GiB, where AWS cuts.
    pub result_file_bytes: u64,
}

impl Default for StoreTuning {
    fn default() -> Self {
        StoreTuning {
            read_chunk_bytes: 1 << 20,
            result_part_bytes: 8 << 20,
            result_file_bytes: 5 << 30,
        }
    }
}

/// Requests made so far (tests observe streaming through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Ranged reads (S3 GetObject with a Range).
    pub gets: u64,
    /// Listing pages (S3 ListObjectsV2).
    pub lists: u64,
    /// Objects written (S3 PutObject, or CreateMultipartUpload for one written in parts).
    pub puts: u64,
    /// Parts of objects written in parts (S3 UploadPart).
    pub parts: u64,
}

impl ObjectStore {
    /// The store `cairn serve` was configured with (`--s3-endpoint` / `--s3-root`), or `None`
    /// when neither was given (an ItemReader / ResultWriter then fails with a cause that says
    /// how to configure one: [`ItemError::no_storage`]). Make it once and share it: the S3
    /// client (and its credential lookup) is built on first use and kept.
    pub fn from_config(config: &Config) -> Option<Arc<ObjectStore>> {
        Self::from_config_tuned(config, StoreTuning::default())
    }

    /// [`ObjectStore::from_config`] with other read and result-file sizes.
    pub fn from_config_tuned(config: &Config, tuning: StoreTuning) -> Option<Arc<ObjectStore>> {
        let kind = if let Some(endpoint) = &config.s3_endpoint {
            backend::Kind::S3(s3::S3::new(endpoint, &config.region))
        } else if let Some(root) = &config.s3_root {
            backend::Kind::Local(local::Local::new(root))
        } else {
            return None;
        };
        Some(Arc::new(ObjectStore {
            backend: Arc::new(backend::Backend::new(
                kind,
                tuning.read_chunk_bytes,
                tuning.result_file_bytes,
                tuning.result_part_bytes,
            )),
        }))
    }

    /// Requests made through this store so far.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            gets: self.backend.gets.load(Ordering::Relaxed),
            lists: self.backend.lists.load(Ordering::Relaxed),
            puts: self.backend.puts.load(Ordering::Relaxed),
            parts: self.backend.parts.load(Ordering::Relaxed),
        }
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

impl ItemError {
    /// The failure when `cairn serve` has no storage configured; `error` is
    /// `States.ItemReaderFailed` or `States.ResultWriterFailed`.
    pub fn no_storage(error: &str) -> ItemError {
        let what = if error == "States.ResultWriterFailed" {
            "ResultWriter"
        } else {
            "ItemReader"
        };
        ItemError {
            error: error.to_string(),
            cause: format!(
                "The {what} needs S3 storage, and none is configured: start cairn serve with \
                 --s3-endpoint URL (an S3-compatible server) or --s3-root DIR (a folder per \
                 bucket)"
            ),
        }
    }
}

/// The items of one ItemReader, in order, fetched as they are asked for.
pub struct ItemStream {
    inner: reader::Reader,
}

impl ItemStream {
    /// The next item (`None` at the end, or after `MaxItems`). After an error, every call
    /// returns that error again.
    pub async fn next(&mut self) -> Result<Option<Value>, ItemError> {
        self.inner.next().await
    }

    /// The most bytes the parser held at once so far (a chunk being parsed plus the item
    /// being built): it stays near `read_chunk_bytes`, however large the source.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.inner.peak_buffered_bytes()
    }
}

/// Opens an ItemReader's source. Checks the spec and, for a MANIFEST or a JSON with
/// `ItemsPointer`, reads the object that lists the items; other sources are first fetched by
/// the first `next`.
pub async fn open(store: &ObjectStore, spec: &ReaderSpec) -> Result<ItemStream, ItemError> {
    let inner = reader::Reader::open(store.backend.clone(), spec).await?;
    Ok(ItemStream { inner })
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
    writer::write(store.backend.clone(), spec, map_run_arn, outcomes).await
}

/// A Map Run's result files filled one outcome at a time, for outcomes that are nowhere
/// else (EXPRESS children keep no record): see [`write_results`] for the layout.
pub struct ResultSink(writer::ResultFiles);

impl ResultSink {
    /// Checks the spec; nothing is written before outcomes fill a part.
    pub fn open(
        store: &ObjectStore,
        spec: &WriterSpec,
        map_run_arn: &str,
    ) -> Result<ResultSink, ItemError> {
        writer::ResultFiles::open(store.backend.clone(), spec, map_run_arn).map(ResultSink)
    }

    /// Adds one outcome. After an error the sink has aborted what it began; drop it.
    pub async fn push(&mut self, outcome: &ChildOutcome) -> Result<(), ItemError> {
        self.0.push(outcome).await
    }

    /// Closes the files, writes the manifest, and returns the Map state's output.
    pub async fn finish(self) -> Result<Value, ItemError> {
        self.0.finish().await
    }
}

/// The Map state's output for a ResultWriter with only `WriterConfig` (no `Resource`, so
/// nothing is written): the outcomes as `Transformation` makes them (COMPACT when absent;
/// failed children stay whole), in the order given.
pub fn transform_results(
    writer_config: &Value,
    outcomes: &[ChildOutcome],
) -> Result<Value, ItemError> {
    writer::transform(writer_config, outcomes)
}
