//! ItemReader: turns a `ReaderSpec` into a stream of items, fetching the source a chunk at a
//! time (ranged reads of `read_chunk_bytes`) and parsing incrementally (`json.rs`,
//! `csv.rs`), so only the chunk being parsed and the item being built are in memory.
//!
//! - `s3:getObject` with `ReaderConfig.InputType` JSON (a top-level array, or with
//!   `ItemsPointer` the array at that JSON pointer, found by walking the document as it
//!   streams in),
//!   JSONL, CSV, or MANIFEST (an S3 inventory `manifest.json`: the rows of every CSV file it
//!   lists, gzip or not, keyed by its `fileSchema`, values as strings).
//! - `s3:listObjectsV2` with `Prefix`: one item per object, `{Etag, Key, LastModified (epoch
//!   seconds), Size, StorageClass}`, a page (1,000 keys) at a time; with `Transformation`
//!   LOAD_AND_FLATTEN, the items inside each listed object instead (read as `InputType` JSON,
//!   JSONL or CSV says; keys ending in `/` skipped).
//! - `ReaderConfig.MaxItems` stops the stream after that many items (0: no limit).
//!
//! Every failure is `States.ItemReaderFailed` with a cause naming the object and what is
//! wrong. Must not: decide Map semantics (batching, concurrency), or know about executions.

use super::backend::{Backend, ListCursor, ListEntry};
use super::csv::{CsvItems, Header};
use super::json::{JsonArray, JsonLines};
use super::{ItemError, ReaderSpec};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;

/// The largest object read whole (a MANIFEST's manifest.json).
const WHOLE_OBJECT_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) fn failed(cause: impl Into<String>) -> ItemError {
    ItemError {
        error: "States.ItemReaderFailed".into(),
        cause: cause.into(),
    }
}

enum Parser {
    Lines(JsonLines),
    Array(JsonArray),
    Csv(Box<CsvItems>),
}

impl Parser {
    fn push(&mut self, chunk: &[u8]) {
        match self {
            Parser::Lines(p) => p.push(chunk),
            Parser::Array(p) => p.push(chunk),
            Parser::Csv(p) => p.push(chunk),
        }
    }
    fn pop(&mut self, eof: bool) -> Result<Option<Value>, String> {
        match self {
            Parser::Lines(p) => p.pop(eof),
            Parser::Array(p) => p.pop(eof),
            Parser::Csv(p) => p.pop(eof),
        }
    }
    fn buffered(&self) -> usize {
        match self {
            Parser::Lines(p) => p.buffered(),
            Parser::Array(p) => p.buffered(),
            Parser::Csv(p) => p.buffered(),
        }
    }
}

/// An object read a chunk at a time, gunzipped when its key ends in `.gz`.
struct Fetch {
    bucket: String,
    key: String,
    version: Option<String>,
    /// The ETag of the first chunk: later chunks must come from the same object.
    etag: Option<String>,
    offset: u64,
    done: bool,
    gunzip: Option<flate2::write::GzDecoder<Vec<u8>>>,
}

impl Fetch {
    fn new(bucket: &str, key: &str, version: Option<String>) -> Self {
        Fetch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version,
            etag: None,
            offset: 0,
            done: false,
            gunzip: key
                .ends_with(".gz")
                .then(|| flate2::write::GzDecoder::new(Vec::new())),
        }
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The next bytes (possibly none), or `None` at the end.
    async fn next(&mut self, backend: &Backend) -> Result<Option<Vec<u8>>, String> {
        use std::io::Write;
        if self.done {
            return Ok(None);
        }
        let range = backend
            .get_chunk(
                &self.bucket,
                &self.key,
                self.version.as_deref(),
                self.etag.as_deref(),
                self.offset,
            )
            .await?;
        if self.etag.is_none() {
            self.etag = range.etag.clone();
        }
        self.offset += range.bytes.len() as u64;
        self.done = range.bytes.is_empty() || range.total.is_none_or(|t| self.offset >= t);
        let Some(gz) = &mut self.gunzip else {
            return Ok(Some(range.bytes));
        };
        gz.write_all(&range.bytes)
            .map_err(|e| format!("it is not valid gzip: {e}"))?;
        if self.done {
            gz.try_finish()
                .map_err(|e| format!("it is not valid gzip: {e}"))?;
        }
        Ok(Some(std::mem::take(gz.get_mut())))
    }

    /// The whole object (up to `WHOLE_OBJECT_LIMIT`).
    async fn all(&mut self, backend: &Backend) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while let Some(bytes) = self.next(backend).await? {
            out.extend_from_slice(&bytes);
            if out.len() > WHOLE_OBJECT_LIMIT {
                return Err(format!(
                    "it is larger than the {} MiB Cairn reads whole",
                    WHOLE_OBJECT_LIMIT >> 20
                ));
            }
        }
        Ok(out)
    }
}

/// One object being parsed.
struct Parsing {
    fetch: Fetch,
    parser: Parser,
    eof: bool,
}

impl Parsing {
    async fn next(&mut self, backend: &Backend, peak: &mut usize) -> Result<Option<Value>, String> {
        loop {
            if let Some(v) = self.parser.pop(self.eof)? {
                return Ok(Some(v));
            }
            if self.eof {
                return Ok(None);
            }
            match self.fetch.next(backend).await? {
                Some(bytes) => self.parser.push(&bytes),
                None => self.eof = true,
            }
            *peak = (*peak).max(self.parser.buffered());
        }
    }
}

enum Source {
    Object(Parsing),
    Inventory {
        bucket: String,
        schema: Vec<String>,
        files: VecDeque<String>,
        current: Option<Parsing>,
    },
    List {
        bucket: String,
        prefix: String,
        cursor: Option<ListCursor>,
        page: VecDeque<ListEntry>,
        started: bool,
        /// `Transformation` LOAD_AND_FLATTEN: the ReaderConfig each object is read with.
        load: Option<Value>,
        /// The object being read, with `load`.
        current: Option<Parsing>,
    },
}

pub(crate) struct Reader {
    backend: Arc<Backend>,
    source: Source,
    /// What the cause names: `s3://bucket/key` or `s3://bucket/prefix*`.
    location: String,
    max_items: Option<u64>,
    yielded: u64,
    failed: Option<ItemError>,
    peak: usize,
}

fn text_param<'a>(params: &'a Value, name: &str, resource: &str) -> Result<&'a str, ItemError> {
    match params.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None => Err(failed(format!(
            "The ItemReader's {resource} needs a '{name}' in its Parameters/Arguments"
        ))),
        Some(_) => Err(failed(format!(
            "The ItemReader's '{name}' must be a string"
        ))),
    }
}

fn optional_text(params: &Value, name: &str) -> Result<Option<String>, ItemError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(failed(format!(
            "The ItemReader's '{name}' must be a string"
        ))),
    }
}

fn max_items(config: &Value) -> Result<Option<u64>, ItemError> {
    match config.get("MaxItems") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }) {
            Some(0) => Ok(None),
            Some(n) => Ok(Some(n)),
            None => Err(failed(format!(
                "ReaderConfig.MaxItems must be a non-negative integer, got {v}"
            ))),
        },
    }
}

impl Reader {
    pub(crate) async fn open(backend: Arc<Backend>, spec: &ReaderSpec) -> Result<Self, ItemError> {
        let params = &spec.parameters;
        let config = &spec.reader_config;
        let max_items = max_items(config)?;
        let action = spec.resource.rsplit(':').next().unwrap_or_default();
        if !spec.resource.contains(":::s3:") {
            return Err(failed(format!(
                "The ItemReader resource '{}' is not supported: use \
                 arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2",
                spec.resource
            )));
        }
        let reader = |source, location| Reader {
            backend: backend.clone(),
            source,
            location,
            max_items,
            yielded: 0,
            failed: None,
            peak: 0,
        };
        match action {
            "listObjectsV2" => {
                let bucket = text_param(params, "Bucket", "s3:listObjectsV2")?;
                let prefix = optional_text(params, "Prefix")?.unwrap_or_default();
                let location = format!("s3://{bucket}/{prefix}");
                let load = match config.get("Transformation").and_then(Value::as_str) {
                    None | Some("NONE") => None,
                    Some("LOAD_AND_FLATTEN") => {
                        let input_type = config.get("InputType").and_then(Value::as_str);
                        match input_type {
                            Some("JSON" | "JSONL" | "CSV") => {
                                // Checked now, so a bad CSV setting fails before any read.
                                if input_type == Some("CSV") {
                                    csv_parser(config)?;
                                }
                                Some(config.clone())
                            }
                            other => {
                                return Err(failed(format!(
                                    "ReaderConfig.Transformation LOAD_AND_FLATTEN needs InputType \
                                     JSON, JSONL or CSV, got {}",
                                    other.unwrap_or("none")
                                )))
                            }
                        }
                    }
                    Some(other) => {
                        return Err(failed(format!(
                            "ReaderConfig.Transformation {other} is not NONE or LOAD_AND_FLATTEN"
                        )))
                    }
                };
                Ok(reader(
                    Source::List {
                        bucket: bucket.to_string(),
                        prefix,
                        cursor: None,
                        page: VecDeque::new(),
                        started: false,
                        load,
                        current: None,
                    },
                    location,
                ))
            }
            "getObject" => {
                let bucket = text_param(params, "Bucket", "s3:getObject")?;
                let key = text_param(params, "Key", "s3:getObject")?;
                let version = optional_text(params, "VersionId")?;
                let location = format!("s3://{bucket}/{key}");
                let fetch = Fetch::new(bucket, key, version);
                let input_type = config
                    .get("InputType")
                    .and_then(Value::as_str)
                    .unwrap_or("JSON");
                let source = match input_type {
                    "JSON" => {
                        let parser = match config.get("ItemsPointer") {
                            None | Some(Value::Null) => JsonArray::new(),
                            Some(Value::String(p)) => JsonArray::at_pointer(p).map_err(failed)?,
                            Some(_) => {
                                return Err(failed("ReaderConfig.ItemsPointer must be a string"))
                            }
                        };
                        Source::Object(Parsing {
                            fetch,
                            parser: Parser::Array(parser),
                            eof: false,
                        })
                    }
                    "JSONL" => Source::Object(Parsing {
                        fetch,
                        parser: Parser::Lines(JsonLines::new()),
                        eof: false,
                    }),
                    "CSV" => Source::Object(Parsing {
                        fetch,
                        parser: Parser::Csv(Box::new(csv_parser(config)?)),
                        eof: false,
                    }),
                    "MANIFEST" => Self::inventory(&backend, fetch, config, &location).await?,
                    other => {
                        return Err(failed(format!(
                            "ReaderConfig.InputType {other} is not supported (Cairn reads \
                             JSON, JSONL, CSV and MANIFEST)"
                        )))
                    }
                };
                Ok(reader(source, location))
            }
            _ => Err(failed(format!(
                "The ItemReader resource '{}' is not supported: use \
                 arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2",
                spec.resource
            ))),
        }
    }

    /// MANIFEST: an S3 inventory manifest.json and the CSV files it lists.
    async fn inventory(
        backend: &Backend,
        mut fetch: Fetch,
        config: &Value,
        location: &str,
    ) -> Result<Source, ItemError> {
        if let Some(t) = config.get("ManifestType").and_then(Value::as_str) {
            if t != "S3_INVENTORY" {
                return Err(failed(format!(
                    "ReaderConfig.ManifestType {t} is not supported (Cairn reads S3_INVENTORY)"
                )));
            }
        }
        let bytes = fetch
            .all(backend)
            .await
            .map_err(|e| failed(format!("Cannot read {location}: {e}")))?;
        let inv = parse_inventory_manifest(&bytes)
            .map_err(|e| failed(format!("{location} is not an S3 inventory manifest: {e}")))?;
        Ok(Source::Inventory {
            bucket: inv.bucket,
            schema: inv.schema,
            files: inv.files.into(),
            current: None,
        })
    }

    pub(crate) fn peak_buffered_bytes(&self) -> usize {
        self.peak
    }

    pub(crate) async fn next(&mut self) -> Result<Option<Value>, ItemError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.max_items.is_some_and(|m| self.yielded >= m) {
            return Ok(None);
        }
        match self.next_item().await {
            Ok(Some(v)) => {
                self.yielded += 1;
                Ok(Some(v))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn next_item(&mut self) -> Result<Option<Value>, ItemError> {
        let backend = &*self.backend;
        match &mut self.source {
            Source::Object(p) => {
                let location = p.fetch.location();
                p.next(backend, &mut self.peak)
                    .await
                    .map_err(|e| failed(format!("Cannot read items from {location}: {e}")))
            }
            Source::Inventory {
                bucket,
                schema,
                files,
                current,
            } => loop {
                if let Some(p) = current {
                    let location = p.fetch.location();
                    match p.next(backend, &mut self.peak).await {
                        Ok(Some(v)) => return Ok(Some(v)),
                        Ok(None) => *current = None,
                        Err(e) => {
                            return Err(failed(format!(
                                "Cannot read items from {location} (listed in {}): {e}",
                                self.location
                            )))
                        }
                    }
                }
                let Some(key) = files.pop_front() else {
                    return Ok(None);
                };
                *current = Some(Parsing {
                    fetch: Fetch::new(bucket, &key, None),
                    parser: Parser::Csv(Box::new(CsvItems::new(
                        b',',
                        Header::Given(schema.clone()),
                    ))),
                    eof: false,
                });
            },
            Source::List {
                bucket,
                prefix,
                cursor,
                page,
                started,
                load,
                current,
            } => loop {
                if let Some(p) = current {
                    let location = p.fetch.location();
                    match p.next(backend, &mut self.peak).await {
                        Ok(Some(v)) => return Ok(Some(v)),
                        Ok(None) => *current = None,
                        Err(e) => {
                            return Err(failed(format!("Cannot read items from {location}: {e}")))
                        }
                    }
                }
                if let Some(e) = page.pop_front() {
                    let Some(config) = load else {
                        return Ok(Some(list_item(&e)));
                    };
                    // LOAD_AND_FLATTEN: the items inside each object ("folders" skipped).
                    if e.key.ends_with('/') {
                        continue;
                    }
                    let parser = match config.get("InputType").and_then(Value::as_str) {
                        Some("CSV") => Parser::Csv(Box::new(csv_parser(config)?)),
                        Some("JSONL") => Parser::Lines(JsonLines::new()),
                        _ => Parser::Array(JsonArray::new()),
                    };
                    *current = Some(Parsing {
                        fetch: Fetch::new(bucket, &e.key, None),
                        parser,
                        eof: false,
                    });
                    continue;
                }
                if *started && cursor.is_none() {
                    return Ok(None);
                }
                *started = true;
                let (entries, next) = backend
                    .list(bucket, prefix, cursor.take())
                    .await
                    .map_err(|e| failed(format!("Cannot list s3://{bucket}/{prefix}: {e}")))?;
                *page = entries.into();
                *cursor = next;
            },
        }
    }
}

/// The CSV parser a ReaderConfig asks for.
fn csv_parser(config: &Value) -> Result<CsvItems, ItemError> {
    let delimiter_name = config
        .get("CSVDelimiter")
        .and_then(Value::as_str)
        .unwrap_or("COMMA");
    let delimiter = super::csv::delimiter(delimiter_name).ok_or_else(|| {
        failed(format!(
            "ReaderConfig.CSVDelimiter {delimiter_name} is not one of COMMA, PIPE, SEMICOLON, \
             SPACE, TAB"
        ))
    })?;
    let header = match config.get("CSVHeaderLocation").and_then(Value::as_str) {
        None | Some("FIRST_ROW") => Header::FirstRow,
        Some("GIVEN") => {
            let names = config
                .get("CSVHeaders")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    failed("ReaderConfig.CSVHeaderLocation GIVEN needs CSVHeaders (an array)")
                })?;
            let names: Vec<String> = names
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| failed("ReaderConfig.CSVHeaders must be strings"))?;
            super::csv::check_header(&names).map_err(failed)?;
            Header::Given(names)
        }
        Some(other) => {
            return Err(failed(format!(
                "ReaderConfig.CSVHeaderLocation {other} is not FIRST_ROW or GIVEN"
            )))
        }
    };
    Ok(CsvItems::new(delimiter, header))
}

/// A ListObjectsV2 entry as a Distributed Map item.
pub(crate) fn list_item(e: &ListEntry) -> Value {
    json!({
        "Etag": e.etag,
        "Key": e.key,
        "LastModified": e.last_modified,
        "Size": e.size,
        "StorageClass": e.storage_class,
    })
}

/// What an S3 inventory manifest.json says: where its files are, their columns, their keys.
#[derive(Debug, PartialEq)]
pub(crate) struct Inventory {
    pub bucket: String,
    pub schema: Vec<String>,
    pub files: Vec<String>,
}

pub(crate) fn parse_inventory_manifest(bytes: &[u8]) -> Result<Inventory, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("it has no '{name}' string"))
    };
    let format = field("fileFormat")?;
    if !format.eq_ignore_ascii_case("CSV") {
        return Err(format!(
            "its fileFormat is {format}; only CSV inventories can be read"
        ));
    }
    let destination = field("destinationBucket")?;
    let bucket = destination
        .rsplit_once(":::")
        .map(|(_, b)| b)
        .unwrap_or(destination)
        .to_string();
    let schema: Vec<String> = field("fileSchema")?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    super::csv::check_header(&schema)?;
    let files = doc
        .get("files")
        .and_then(Value::as_array)
        .ok_or("it has no 'files' array")?
        .iter()
        .map(|f| {
            f.get("key")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| "a file has no 'key'".to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(Inventory {
        bucket,
        schema,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_manifest() {
        let text = br#"{
            "sourceBucket": "src",
            "destinationBucket": "arn:aws:s3:::inventory-dest",
            "version": "2016-11-30",
            "creationTimestamp": "1514944800000",
            "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size, LastModifiedDate",
            "files": [
                {"key": "src/inv/data/a.csv.gz", "size": 2147, "MD5checksum": "x"},
                {"key": "src/inv/data/b.csv.gz", "size": 2147, "MD5checksum": "y"}
            ]
        }"#;
        assert_eq!(
            parse_inventory_manifest(text).unwrap(),
            Inventory {
                bucket: "inventory-dest".into(),
                schema: vec![
                    "Bucket".into(),
                    "Key".into(),
                    "Size".into(),
                    "LastModifiedDate".into()
                ],
                files: vec![
                    "src/inv/data/a.csv.gz".into(),
                    "src/inv/data/b.csv.gz".into()
                ],
            }
        );
        let orc =
            br#"{"fileFormat": "ORC", "destinationBucket": "b", "fileSchema": "x", "files": []}"#;
        assert!(parse_inventory_manifest(orc)
            .unwrap_err()
            .contains("only CSV"));
        assert!(parse_inventory_manifest(b"{}")
            .unwrap_err()
            .contains("fileFormat"));
    }

    #[test]
    fn list_items_have_aws_shape() {
        let e = ListEntry {
            key: "k/a.jpg".into(),
            etag: "\"abc\"".into(),
            last_modified: 1668699881,
            size: 34910,
            storage_class: "STANDARD".into(),
        };
        assert_eq!(
            serde_json::to_string(&list_item(&e)).unwrap(),
            r#"{"Etag":"\"abc\"","Key":"k/a.jpg","LastModified":1668699881,"Size":34910,"StorageClass":"STANDARD"}"#
        );
    }

    #[test]
    fn max_items_forms() {
        assert_eq!(max_items(&json!({})).unwrap(), None);
        assert_eq!(max_items(&json!({"MaxItems": 0})).unwrap(), None);
        assert_eq!(max_items(&json!({"MaxItems": 5})).unwrap(), Some(5));
        assert_eq!(max_items(&json!({"MaxItems": 5.0})).unwrap(), Some(5));
        assert!(max_items(&json!({"MaxItems": -1})).is_err());
        assert!(max_items(&json!({"MaxItems": "5"})).is_err());
    }
}
