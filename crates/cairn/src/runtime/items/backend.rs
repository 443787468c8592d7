//! The object operations Distributed Map storage needs (a ranged read, a listing page, a
//! write whole or in parts), dispatched to an S3-compatible server (`s3.rs`) or a folder per
//! bucket (`local.rs`), with request counters the tests observe.
//!
//! Must not: parse or lay out objects (`reader.rs`, `writer.rs` do).

use super::local::{Local, LocalUpload, Walk};
use super::s3::{S3Upload, S3};
use std::sync::atomic::{AtomicU64, Ordering};

/// Part of an object.
#[derive(Debug)]
pub(crate) struct Range {
    pub bytes: Vec<u8>,
    /// The object's size, when known.
    pub total: Option<u64>,
    /// The object's ETag (S3), so later chunks can insist on the same object.
    pub etag: Option<String>,
}

/// One object of a listing, as ListObjectsV2 describes it.
#[derive(Debug, Clone)]
pub(crate) struct ListEntry {
    pub key: String,
    pub etag: String,
    /// Epoch seconds.
    pub last_modified: i64,
    pub size: i64,
    pub storage_class: String,
}

/// Where the next listing page starts.
pub(crate) enum ListCursor {
    S3(String),
    Local(Walk),
}

/// An object being written in parts (S3 multipart upload; a growing temporary file).
pub(crate) enum Upload {
    S3(S3Upload),
    Local(LocalUpload),
}

pub(crate) enum Kind {
    S3(S3),
    Local(Local),
}

pub(crate) struct Backend {
    pub kind: Kind,
    pub read_chunk_bytes: u64,
    pub result_file_bytes: u64,
    pub result_part_bytes: usize,
    pub gets: AtomicU64,
    pub lists: AtomicU64,
    pub puts: AtomicU64,
    pub parts: AtomicU64,
}

impl Backend {
    pub(crate) fn new(
        kind: Kind,
        read_chunk_bytes: usize,
        result_file_bytes: u64,
        result_part_bytes: usize,
    ) -> Self {
        // S3 refuses parts under 5 MiB (but the last).
        let result_part_bytes = match kind {
            Kind::S3(_) => result_part_bytes.max(5 << 20),
            Kind::Local(_) => result_part_bytes,
        };
        Backend {
            kind,
            read_chunk_bytes: read_chunk_bytes.max(1) as u64,
            result_file_bytes: result_file_bytes.max(1),
            result_part_bytes: result_part_bytes.max(1),
            gets: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            puts: AtomicU64::new(0),
            parts: AtomicU64::new(0),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::S3(s) => s.describe(),
            Kind::Local(l) => l.describe(),
        }
    }

    /// The chunk of `bucket/key` starting at `offset`; with `etag`, of that object only (S3
    /// answers PreconditionFailed if it was replaced meanwhile).
    pub(crate) async fn get_chunk(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        etag: Option<&str>,
        offset: u64,
    ) -> Result<Range, String> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        let len = self.read_chunk_bytes;
        match &self.kind {
            Kind::S3(s) => s.get_range(bucket, key, version, etag, offset, len).await,
            Kind::Local(l) => l.get_range(bucket, key, etag, offset, len).await,
        }
    }

    /// A listing page: the first with `cursor` `None`.
    pub(crate) async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        cursor: Option<ListCursor>,
    ) -> Result<(Vec<ListEntry>, Option<ListCursor>), String> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        match &self.kind {
            Kind::S3(s) => {
                let token = match cursor {
                    Some(ListCursor::S3(t)) => Some(t),
                    _ => None,
                };
                let (entries, next) = s.list(bucket, prefix, token).await?;
                Ok((entries, next.map(ListCursor::S3)))
            }
            Kind::Local(l) => {
                let walk = match cursor {
                    Some(ListCursor::Local(w)) => Some(w),
                    _ => None,
                };
                let (entries, next) = l.list(bucket, prefix, walk).await?;
                Ok((entries, next.map(ListCursor::Local)))
            }
        }
    }

    pub(crate) async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.puts.fetch_add(1, Ordering::Relaxed);
        match &self.kind {
            Kind::S3(s) => s.put(bucket, key, body).await,
            Kind::Local(l) => l.put(bucket, key, body).await,
        }
    }

    /// Starts writing `bucket/key` in parts.
    pub(crate) async fn begin(&self, bucket: &str, key: &str) -> Result<Upload, String> {
        self.puts.fetch_add(1, Ordering::Relaxed);
        match &self.kind {
            Kind::S3(s) => s.begin(bucket, key).await.map(Upload::S3),
            Kind::Local(l) => l.begin(bucket, key).await.map(Upload::Local),
        }
    }

    pub(crate) async fn part(&self, up: &mut Upload, body: Vec<u8>) -> Result<(), String> {
        self.parts.fetch_add(1, Ordering::Relaxed);
        match (&self.kind, up) {
            (Kind::S3(s), Upload::S3(u)) => s.part(u, body).await,
            (Kind::Local(l), Upload::Local(u)) => l.part(u, body).await,
            _ => Err("an upload of another store".into()),
        }
    }

    pub(crate) async fn finish(&self, up: Upload) -> Result<(), String> {
        match (&self.kind, up) {
            (Kind::S3(s), Upload::S3(u)) => s.finish(u).await,
            (Kind::Local(l), Upload::Local(u)) => l.finish(u).await,
            _ => Err("an upload of another store".into()),
        }
    }

    pub(crate) async fn abort(&self, up: Upload) {
        match (&self.kind, up) {
            (Kind::S3(s), Upload::S3(u)) => s.abort(u).await,
            (Kind::Local(l), Upload::Local(u)) => l.abort(u).await,
            _ => {}
        }
    }
}
