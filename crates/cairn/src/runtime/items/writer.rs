//! ResultWriter: a Map Run's child outcomes written as AWS lays them out, under
//! `<Prefix>/<map run id>/`:
//!
//! - `SUCCEEDED_<n>.json`, `FAILED_<n>.json` (FAILED, TIMED_OUT and ABORTED children),
//!   `PENDING_<n>.json` (items never run): a JSON array (`OutputType` JSON, the default) or
//!   JSON Lines (`OutputType` JSONL) of entries. With `Transformation` NONE (the default when
//!   writing) an entry is the child's metadata (`ExecutionArn`, `Input`, `InputDetails`,
//!   `Name`, `Output`, `OutputDetails`, `RedriveCount`, `RedriveStatus`, `StartDate`,
//!   `StateMachineArn`, `Status`, `StopDate`, and `Error`/`Cause` when it failed; a pending
//!   item, never run, only `Input`, `InputDetails`, `Status`); COMPACT
//!   keeps only a succeeded child's output, FLATTEN also spreads an array output into its
//!   elements; failed and pending entries stay whole either way (as AWS does).
//! - `manifest.json`, written last: `{DestinationBucket, MapRunArn, ResultFiles: {FAILED,
//!   PENDING, SUCCEEDED: [{Key, Size}]}}`.
//!
//! The Map state's output is then `{MapRunArn, ResultWriterDetails: {Bucket, Key}}` with the
//! manifest's key. Memory: outcomes arrive a page at a time, and a result file is sent in
//! parts of `result_part_bytes` (S3 multipart upload; appends to a temporary file locally) as
//! it fills; a file smaller than one part is a single PUT. A file is closed at
//! `result_file_bytes` (5 GiB, where AWS cuts) and continued in `_1`, `_2`, …. So memory is
//! one page plus three part buffers, whatever the run's size.
//!
//! Must not: read executions or decide which outcome has which status (the driver does).

use super::backend::{Backend, Upload};
use super::{ChildOutcome, ItemError, OutcomePages, WriterSpec};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub(crate) fn failed(cause: impl Into<String>) -> ItemError {
    ItemError {
        error: "States.ResultWriterFailed".into(),
        cause: cause.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Transformation {
    None,
    Compact,
    Flatten,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum OutputType {
    Json,
    Jsonl,
}

/// `WriterConfig`'s settings, with `default` for an absent Transformation.
pub(crate) fn writer_config(
    config: &Value,
    default: Transformation,
) -> Result<(OutputType, Transformation), ItemError> {
    let output = match config.get("OutputType").and_then(Value::as_str) {
        None | Some("JSON") => OutputType::Json,
        Some("JSONL") => OutputType::Jsonl,
        Some(other) => {
            return Err(failed(format!(
                "WriterConfig.OutputType {other} is not JSON or JSONL"
            )))
        }
    };
    let transformation = match config.get("Transformation").and_then(Value::as_str) {
        None => default,
        Some("NONE") => Transformation::None,
        Some("COMPACT") => Transformation::Compact,
        Some("FLATTEN") => Transformation::Flatten,
        Some(other) => {
            return Err(failed(format!(
                "WriterConfig.Transformation {other} is not NONE, COMPACT or FLATTEN"
            )))
        }
    };
    Ok((output, transformation))
}

/// Which result file an outcome goes to.
pub(crate) fn file_status(status: &str) -> usize {
    match status {
        "SUCCEEDED" => SUCCEEDED,
        "PENDING" => PENDING,
        _ => FAILED,
    }
}

const FAILED: usize = 0;
const PENDING: usize = 1;
const SUCCEEDED: usize = 2;
const STATUS_NAMES: [&str; 3] = ["FAILED", "PENDING", "SUCCEEDED"];

/// `2023-04-27T17:58:38.291Z`.
pub(crate) fn iso_millis(epoch_ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(epoch_ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => epoch_ms.to_string(),
    }
}

/// An outcome's full entry (Transformation NONE), keys in AWS's (alphabetical) order.
/// A pending item never ran, so it has no execution: only its input and status.
pub(crate) fn metadata_entry(o: &ChildOutcome) -> Value {
    let mut m = Map::new();
    if o.status == "PENDING" {
        m.insert("Input".into(), json!(o.input));
        m.insert("InputDetails".into(), json!({"Included": true}));
        m.insert("Status".into(), json!(o.status));
        return Value::Object(m);
    }
    if let Some(cause) = &o.cause {
        m.insert("Cause".into(), json!(cause));
    }
    if let Some(error) = &o.error {
        m.insert("Error".into(), json!(error));
    }
    m.insert("ExecutionArn".into(), json!(o.execution_arn));
    m.insert("Input".into(), json!(o.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(o.name));
    if let Some(output) = &o.output {
        m.insert("Output".into(), json!(output));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    m.insert("RedriveCount".into(), json!(o.redrive_count));
    if o.status == "SUCCEEDED" {
        m.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
        m.insert(
            "RedriveStatusReason".into(),
            json!("Execution is SUCCEEDED and cannot be redriven"),
        );
    } else {
        m.insert("RedriveStatus".into(), json!("REDRIVABLE"));
    }
    m.insert("StartDate".into(), json!(iso_millis(o.start_date_ms)));
    m.insert("StateMachineArn".into(), json!(o.state_machine_arn));
    m.insert("Status".into(), json!(o.status));
    if let Some(stop) = o.stop_date_ms {
        m.insert("StopDate".into(), json!(iso_millis(stop)));
    }
    Value::Object(m)
}

/// The entries one outcome contributes under a Transformation.
pub(crate) fn entries(o: &ChildOutcome, t: Transformation) -> Vec<Value> {
    if t == Transformation::None || o.status != "SUCCEEDED" {
        return vec![metadata_entry(o)];
    }
    let output = match &o.output {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())),
        None => Value::Null,
    };
    match (t, output) {
        (Transformation::Flatten, Value::Array(items)) => items,
        (_, v) => vec![v],
    }
}

/// Where a Map Run's files go: `<Prefix>/<map run id>/` (`Prefix` gets a `/` if it lacks
/// one; an empty Prefix puts them at the bucket's top).
pub(crate) fn run_folder(prefix: &str, map_run_arn: &str) -> String {
    let id = map_run_arn.rsplit(':').next().unwrap_or(map_run_arn);
    if prefix.is_empty() || prefix.ends_with('/') {
        format!("{prefix}{id}/")
    } else {
        format!("{prefix}/{id}/")
    }
}

/// The manifest.json body.
pub(crate) fn manifest(bucket: &str, map_run_arn: &str, files: &[Vec<Value>; 3]) -> Value {
    json!({
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": files[FAILED],
            "PENDING": files[PENDING],
            "SUCCEEDED": files[SUCCEEDED],
        }
    })
}

/// One status's result file being filled.
struct FileBuffer {
    /// Bytes not sent yet.
    body: Vec<u8>,
    /// Entries in the file so far.
    entries: usize,
    /// Bytes in the file so far (sent or not).
    size: u64,
    /// The file's index (`SUCCEEDED_<index>.json`).
    index: usize,
    /// Set once the file outgrew one part.
    upload: Option<Upload>,
}

struct Output {
    backend: Arc<Backend>,
    bucket: String,
    folder: String,
    output_type: OutputType,
    buffers: [FileBuffer; 3],
    written: [Vec<Value>; 3],
}

impl Output {
    fn key(&self, status: usize) -> String {
        format!(
            "{}{}_{}.json",
            self.folder, STATUS_NAMES[status], self.buffers[status].index
        )
    }

    fn fail(&self, key: &str, e: String) -> ItemError {
        failed(format!("Cannot write s3://{}/{key}: {e}", self.bucket))
    }

    async fn append(&mut self, status: usize, entry: &Value) -> Result<(), ItemError> {
        let buf = &mut self.buffers[status];
        let before = buf.body.len();
        match self.output_type {
            OutputType::Json => {
                buf.body.push(if buf.entries == 0 { b'[' } else { b',' });
                // Serializing a Value cannot fail.
                let _ = serde_json::to_writer(&mut buf.body, entry);
            }
            OutputType::Jsonl => {
                let _ = serde_json::to_writer(&mut buf.body, entry);
                buf.body.push(b'\n');
            }
        }
        buf.entries += 1;
        buf.size += (buf.body.len() - before) as u64;
        if buf.size >= self.backend.result_file_bytes {
            return self.close(status).await;
        }
        if buf.body.len() >= self.backend.result_part_bytes {
            let key = self.key(status);
            let buf = &mut self.buffers[status];
            let body = std::mem::take(&mut buf.body);
            if buf.upload.is_none() {
                let up = self.backend.begin(&self.bucket, &key).await;
                self.buffers[status].upload = Some(up.map_err(|e| self.fail(&key, e))?);
            }
            let buf = &mut self.buffers[status];
            let up = buf.upload.as_mut().expect("begun");
            if let Err(e) = self.backend.part(up, body).await {
                if let Some(up) = self.buffers[status].upload.take() {
                    self.backend.abort(up).await;
                }
                return Err(self.fail(&key, e));
            }
        }
        Ok(())
    }

    /// Drops unfinished uploads after a failure.
    async fn abandon(&mut self) {
        for status in [FAILED, PENDING, SUCCEEDED] {
            if let Some(up) = self.buffers[status].upload.take() {
                self.backend.abort(up).await;
            }
        }
    }

    /// Finishes the status's current file (if it has entries) and starts the next.
    async fn close(&mut self, status: usize) -> Result<(), ItemError> {
        if self.buffers[status].entries == 0 {
            return Ok(());
        }
        let key = self.key(status);
        let buf = &mut self.buffers[status];
        let mut body = std::mem::take(&mut buf.body);
        if self.output_type == OutputType::Json {
            body.push(b']');
        }
        let size = buf.size + u64::from(self.output_type == OutputType::Json);
        let upload = buf.upload.take();
        buf.index += 1;
        buf.entries = 0;
        buf.size = 0;
        let result = match upload {
            None => self.backend.put(&self.bucket, &key, body).await,
            Some(mut up) => {
                let sent = if body.is_empty() {
                    Ok(())
                } else {
                    self.backend.part(&mut up, body).await
                };
                match sent {
                    Ok(()) => self.backend.finish(up).await,
                    Err(e) => {
                        self.backend.abort(up).await;
                        Err(e)
                    }
                }
            }
        };
        result.map_err(|e| self.fail(&key, e))?;
        self.written[status].push(json!({"Key": key, "Size": size}));
        Ok(())
    }
}

/// A Map Run's result files being filled, one outcome at a time: the driver pushes each
/// child's outcome as it ends (EXPRESS children, which keep no record) or a page read back
/// from the store (STANDARD ones), so memory is three part buffers whatever the run's size.
/// Dropped unfinished (the run aborted), it aborts the uploads it began.
pub(crate) struct ResultFiles {
    out: Output,
    transformation: Transformation,
    map_run_arn: String,
}

impl ResultFiles {
    /// Checks the ResultWriter's spec; nothing is written until outcomes fill a part.
    pub(crate) fn open(
        backend: Arc<Backend>,
        spec: &WriterSpec,
        map_run_arn: &str,
    ) -> Result<ResultFiles, ItemError> {
        if !spec.resource.ends_with(":::s3:putObject") {
            return Err(failed(format!(
                "The ResultWriter resource '{}' is not supported: use arn:aws:states:::s3:putObject",
                spec.resource
            )));
        }
        let bucket = match spec.parameters.get("Bucket") {
            Some(Value::String(b)) if !b.is_empty() => b.clone(),
            _ => {
                return Err(failed(
                    "The ResultWriter needs a 'Bucket' string in its Parameters/Arguments",
                ))
            }
        };
        let prefix = match spec.parameters.get("Prefix") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(p)) => p.clone(),
            Some(_) => return Err(failed("The ResultWriter's 'Prefix' must be a string")),
        };
        let (output_type, transformation) =
            writer_config(&spec.writer_config, Transformation::None)?;
        let empty = || FileBuffer {
            body: Vec::new(),
            entries: 0,
            size: 0,
            index: 0,
            upload: None,
        };
        Ok(ResultFiles {
            out: Output {
                backend,
                folder: run_folder(&prefix, map_run_arn),
                bucket,
                output_type,
                buffers: [empty(), empty(), empty()],
                written: [vec![], vec![], vec![]],
            },
            transformation,
            map_run_arn: map_run_arn.to_string(),
        })
    }

    /// Adds one outcome's entries. After an error the uploads begun are aborted, and the
    /// files must not be used again.
    pub(crate) async fn push(&mut self, o: &ChildOutcome) -> Result<(), ItemError> {
        let status = file_status(&o.status);
        for entry in entries(o, self.transformation) {
            if let Err(e) = self.out.append(status, &entry).await {
                self.abandon().await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Closes the result files, writes the manifest, and returns the Map state's output.
    pub(crate) async fn finish(mut self) -> Result<Value, ItemError> {
        for status in [FAILED, PENDING, SUCCEEDED] {
            if let Err(e) = self.out.close(status).await {
                self.abandon().await;
                return Err(e);
            }
        }
        let out = &self.out;
        let manifest_key = format!("{}manifest.json", out.folder);
        let body = serde_json::to_vec(&manifest(&out.bucket, &self.map_run_arn, &out.written))
            .unwrap_or_default();
        out.backend
            .put(&out.bucket, &manifest_key, body)
            .await
            .map_err(|e| {
                failed(format!(
                    "Cannot write s3://{}/{manifest_key}: {e}",
                    out.bucket
                ))
            })?;
        Ok(json!({
            "MapRunArn": self.map_run_arn,
            "ResultWriterDetails": {"Bucket": out.bucket, "Key": manifest_key},
        }))
    }

    /// Aborts the uploads begun (after a failure).
    pub(crate) async fn abandon(&mut self) {
        self.out.abandon().await;
    }
}

impl Drop for ResultFiles {
    fn drop(&mut self) {
        // `finish` and `abandon` leave no upload open (closing or aborting takes each), so
        // only a sink dropped mid-run finds any here.
        let uploads: Vec<Upload> = self
            .out
            .buffers
            .iter_mut()
            .filter_map(|b| b.upload.take())
            .collect();
        if uploads.is_empty() {
            return;
        }
        // Dropped mid-run (the Map Run was aborted): S3 keeps an unfinished multipart
        // upload's parts until it is aborted, so abort them in the background.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let backend = self.out.backend.clone();
            rt.spawn(async move {
                for up in uploads {
                    backend.abort(up).await;
                }
            });
        }
    }
}

/// Writes every page of `outcomes` (see [`ResultFiles`]) and returns the Map's output.
pub(crate) async fn write(
    backend: Arc<Backend>,
    spec: &WriterSpec,
    map_run_arn: &str,
    outcomes: &mut dyn OutcomePages,
) -> Result<Value, ItemError> {
    let mut files = ResultFiles::open(backend, spec, map_run_arn)?;
    loop {
        let page = match outcomes.next_page().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                files.abandon().await;
                return Err(e);
            }
        };
        for o in &page {
            files.push(o).await?;
        }
    }
    files.finish().await
}

/// The Map's output for a ResultWriter with only `WriterConfig` (nothing written): the
/// outcomes transformed (COMPACT when Transformation is absent), in order.
pub(crate) fn transform(config: &Value, outcomes: &[ChildOutcome]) -> Result<Value, ItemError> {
    let (_, transformation) = writer_config(config, Transformation::Compact)?;
    Ok(Value::Array(
        outcomes
            .iter()
            .flat_map(|o| entries(o, transformation))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn outcome(status: &str, output: Option<&str>) -> ChildOutcome {
        ChildOutcome {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm/Map:abc".into(),
            name: "abc".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm/Map".into(),
            status: status.into(),
            input: "{\"n\":1}".into(),
            output: output.map(str::to_string),
            error: (status == "FAILED").then(|| "Boom".to_string()),
            cause: (status == "FAILED").then(|| "it broke".to_string()),
            start_date_ms: 1_682_618_318_291,
            stop_date_ms: Some(1_682_618_318_545),
            redrive_count: 0,
        }
    }

    #[test]
    fn metadata_entry_has_aws_fields_in_order() {
        let e = metadata_entry(&outcome("SUCCEEDED", Some("[1,2]")));
        let keys: Vec<_> = e.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "ExecutionArn",
                "Input",
                "InputDetails",
                "Name",
                "Output",
                "OutputDetails",
                "RedriveCount",
                "RedriveStatus",
                "RedriveStatusReason",
                "StartDate",
                "StateMachineArn",
                "Status",
                "StopDate"
            ]
        );
        assert_eq!(e["StartDate"], "2023-04-27T17:58:38.291Z");
        assert_eq!(e["StopDate"], "2023-04-27T17:58:38.545Z");
        let f = metadata_entry(&outcome("FAILED", None));
        assert_eq!(
            (f["Error"].as_str(), f["Cause"].as_str()),
            (Some("Boom"), Some("it broke"))
        );
        assert!(f.get("Output").is_none());
        assert_eq!(
            metadata_entry(&outcome("PENDING", None)),
            json!({"Input": "{\"n\":1}", "InputDetails": {"Included": true}, "Status": "PENDING"})
        );
    }

    #[test]
    fn transformations() {
        let ok = outcome("SUCCEEDED", Some("[1,2]"));
        let bad = outcome("FAILED", None);
        assert_eq!(entries(&ok, Transformation::Compact), vec![json!([1, 2])]);
        assert_eq!(
            entries(&ok, Transformation::Flatten),
            vec![json!(1), json!(2)]
        );
        assert_eq!(
            entries(&ok, Transformation::None),
            vec![metadata_entry(&ok)]
        );
        assert_eq!(
            entries(&bad, Transformation::Flatten),
            vec![metadata_entry(&bad)]
        );
        let config = json!({"Transformation": "FLATTEN", "OutputType": "JSON"});
        assert_eq!(
            transform(&config, &[ok.clone(), ok.clone()]).unwrap(),
            json!([1, 2, 1, 2])
        );
        assert_eq!(transform(&json!({}), &[ok]).unwrap(), json!([[1, 2]]));
        assert!(writer_config(&json!({"OutputType": "CSV"}), Transformation::None).is_err());
        assert!(writer_config(&json!({"Transformation": "X"}), Transformation::None).is_err());
    }

    #[test]
    fn layout() {
        let arn = "arn:aws:states:us-east-2:123456789012:mapRun:sm/Map:6dbfba93-bcff";
        assert_eq!(run_folder("garbage", arn), "garbage/6dbfba93-bcff/");
        assert_eq!(run_folder("garbage/", arn), "garbage/6dbfba93-bcff/");
        assert_eq!(run_folder("", arn), "6dbfba93-bcff/");
        let files = [vec![], vec![], vec![json!({"Key": "k", "Size": 3})]];
        assert_eq!(
            manifest("b", arn, &files),
            json!({"DestinationBucket": "b", "MapRunArn": arn,
                   "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": "k", "Size": 3}]}})
        );
        assert_eq!(file_status("TIMED_OUT"), FAILED);
        assert_eq!(file_status("ABORTED"), FAILED);
        assert_eq!(file_status("PENDING"), PENDING);
    }
}
