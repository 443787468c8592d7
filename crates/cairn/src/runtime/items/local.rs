//! Buckets as folders (`cairn serve --s3-root DIR`): bucket `b` is `DIR/b`, key `k/x.json` is
//! the file `DIR/b/k/x.json`. Reads are ranged like S3's, listings come in S3's order (UTF-8
//! byte order of keys) a page at a time from a lazy walk, and writes land atomically (a
//! temporary file under `DIR/.cairn-tmp`, then a rename). A bucket must exist as a folder;
//! keys that cannot be file paths (`..`, empty segments) are refused.
//!
//! ListObjectsV2 entries: `ETag` is the quoted MD5 of the file as S3 gives for a single-part
//! upload (computed while listing, so a listing reads the files), `LastModified` the file's
//! modification time, `StorageClass` STANDARD.
//!
//! Must not: parse objects (the reader does), or decide where results go (the writer does).

use super::backend::{ListEntry, Range};
use md5::{Digest, Md5};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub(crate) struct Local {
    root: PathBuf,
}

/// Keys per listing page, as S3's default.
const PAGE: usize = 1000;

impl Local {
    /// The folder store at `root`. Temporary files of uploads untouched for a day are
    /// removed first: they are what a process killed mid-write left (an upload in progress
    /// writes a part at least every few seconds, even on another node sharing the folder).
    pub(crate) fn new(root: &Path) -> Self {
        sweep_stale_uploads(&root.join(".cairn-tmp"), STALE_UPLOAD);
        Local {
            root: root.to_path_buf(),
        }
    }

    pub(crate) fn describe(&self) -> String {
        format!("the local bucket folder {}", self.root.display())
    }

    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, String> {
        if bucket.is_empty()
            || bucket.starts_with('.')
            || bucket.contains(['/', '\\'])
            || bucket.contains('\0')
        {
            return Err(format!(
                "InvalidBucketName: '{bucket}' is not a bucket name"
            ));
        }
        let dir = self.root.join(bucket);
        if !dir.is_dir() {
            return Err(format!(
                "NoSuchBucket: The specified bucket does not exist (no folder {})",
                dir.display()
            ));
        }
        Ok(dir)
    }

    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, String> {
        let dir = self.bucket_dir(bucket)?;
        let bad = key.is_empty()
            || key.contains('\0')
            || key.contains('\\')
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        if bad {
            return Err(format!(
                "InvalidKey: the key '{key}' cannot be stored in a local bucket folder \
                 (empty, '.' or '..' segments)"
            ));
        }
        Ok(dir.join(key))
    }

    /// Like S3's ranged GET; `etag` (size and modification time here) insists on the same
    /// file version as the first chunk.
    pub(crate) async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        etag: Option<&str>,
        offset: u64,
        len: u64,
    ) -> Result<Range, String> {
        let expected = etag.map(str::to_string);
        let path = self.object_path(bucket, key)?;
        let key = key.to_string();
        blocking(move || {
            let mut file = match std::fs::File::open(&path) {
                Ok(f) if path.is_file() => f,
                Ok(_) => return Err(no_such_key(&key)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(no_such_key(&key))
                }
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            let meta = file.metadata().map_err(|e| e.to_string())?;
            let total = meta.len();
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let version = format!("{total}-{modified}");
            if expected.as_ref().is_some_and(|e| *e != version) {
                return Err("the object was replaced while it was being read".into());
            }
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| e.to_string())?;
            let mut bytes = Vec::with_capacity(len.min(total.saturating_sub(offset)) as usize);
            file.take(len)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(Range {
                bytes,
                total: Some(total),
                etag: Some(version),
            })
        })
        .await
    }

    /// The first page of a listing, and the walk that continues it.
    pub(crate) async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        walk: Option<Walk>,
    ) -> Result<(Vec<ListEntry>, Option<Walk>), String> {
        let start = match walk {
            Some(w) => Ok(w),
            None => Err((self.bucket_dir(bucket)?, prefix.to_string())),
        };
        blocking(move || {
            let mut walk = match start {
                Ok(w) => w,
                Err((dir, prefix)) => Walk::new(dir, &prefix)?,
            };
            let mut entries = Vec::new();
            while entries.len() < PAGE {
                match walk.next_file()? {
                    Some(e) => entries.push(e),
                    None => return Ok((entries, None)),
                }
            }
            Ok((entries, Some(walk)))
        })
        .await
    }

    pub(crate) async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        let path = self.object_path(bucket, key)?;
        let tmp_dir = self.root.join(".cairn-tmp");
        blocking(move || {
            let fail = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail(&format!("create {}", parent.display()), e))?;
            }
            std::fs::create_dir_all(&tmp_dir)
                .map_err(|e| fail(&format!("create {}", tmp_dir.display()), e))?;
            let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
            let mut file = std::fs::File::create(&tmp)
                .map_err(|e| fail(&format!("create {}", tmp.display()), e))?;
            file.write_all(&body)
                .and_then(|_| file.sync_all())
                .map_err(|e| fail(&format!("write {}", tmp.display()), e))?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                fail(&format!("write {}", path.display()), e)
            })
        })
        .await
    }
}

/// A file being written in parts: a temporary file renamed into place when finished.
#[derive(Debug)]
pub(crate) struct LocalUpload {
    tmp: PathBuf,
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Local {
    pub(crate) async fn begin(&self, bucket: &str, key: &str) -> Result<LocalUpload, String> {
        let path = self.object_path(bucket, key)?;
        let tmp_dir = self.root.join(".cairn-tmp");
        blocking(move || {
            std::fs::create_dir_all(&tmp_dir)
                .map_err(|e| format!("cannot create {}: {e}", tmp_dir.display()))?;
            let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
            let file = std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
            Ok(LocalUpload {
                tmp,
                path,
                file: Some(file),
            })
        })
        .await
    }

    pub(crate) async fn part(&self, up: &mut LocalUpload, body: Vec<u8>) -> Result<(), String> {
        let mut file = up.file.take().ok_or("the upload is closed")?;
        let tmp = up.tmp.clone();
        let file = blocking(move || {
            file.write_all(&body)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            Ok(file)
        })
        .await?;
        up.file = Some(file);
        Ok(())
    }

    pub(crate) async fn finish(&self, mut up: LocalUpload) -> Result<(), String> {
        let file = up.file.take().ok_or("the upload is closed")?;
        blocking(move || {
            let done = file
                .sync_all()
                .map_err(|e| format!("cannot write {}: {e}", up.tmp.display()))
                .and_then(|_| match up.path.parent() {
                    Some(parent) => std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display())),
                    None => Ok(()),
                })
                .and_then(|_| {
                    std::fs::rename(&up.tmp, &up.path)
                        .map_err(|e| format!("cannot write {}: {e}", up.path.display()))
                });
            if done.is_err() {
                let _ = std::fs::remove_file(&up.tmp);
            }
            done
        })
        .await
    }

    pub(crate) async fn abort(&self, up: LocalUpload) {
        let _ = std::fs::remove_file(&up.tmp);
    }
}

/// How long an unfinished upload's temporary file may sit unmodified before it counts as
/// abandoned.
const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Remove the files in `tmp_dir` not modified for `age` (best effort: a file that cannot be
/// read or removed stays, with a log line).
fn sweep_stale_uploads(tmp_dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(tmp_dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|idle| idle >= age);
        if stale {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(path = %entry.path().display(), error = %e,
                    "an abandoned upload's temporary file could not be removed");
            }
        }
    }
}

fn no_such_key(key: &str) -> String {
    format!("NoSuchKey: The specified key does not exist. (key '{key}')")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("local storage task failed: {e}"))?
}

/// A depth-first walk of a bucket folder yielding files in S3 key order: each folder's
/// entries sorted with a folder named as `name/`, so `a-b` comes before `a/x` as in S3.
/// Only the folders on the current path are held, never the whole listing.
#[derive(Debug)]
pub(crate) struct Walk {
    prefix: String,
    /// Per open folder: its entries still to visit, in reverse order (`pop` gives the next),
    /// as (key, is a folder).
    stack: Vec<Vec<(String, bool)>>,
    bucket_dir: PathBuf,
}

impl Walk {
    fn new(bucket_dir: PathBuf, prefix: &str) -> Result<Self, String> {
        let mut walk = Walk {
            prefix: prefix.to_string(),
            stack: Vec::new(),
            bucket_dir,
        };
        let top = walk.read_folder("")?;
        walk.stack.push(top);
        Ok(walk)
    }

    /// Entries of the folder at key prefix `dir` (`""` or ending in `/`) that can match.
    fn read_folder(&self, dir: &str) -> Result<Vec<(String, bool)>, String> {
        let path = self.bucket_dir.join(dir);
        let read =
            std::fs::read_dir(&path).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        let mut entries = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", path.display()))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not UTF-8: no S3 key names it
            };
            let kind = entry.file_type().map_err(|e| e.to_string())?;
            let (key, is_dir) = if kind.is_dir() {
                (format!("{dir}{name}/"), true)
            } else if kind.is_file() {
                (format!("{dir}{name}"), false)
            } else {
                continue;
            };
            let wanted = if is_dir {
                key.starts_with(&self.prefix) || self.prefix.starts_with(&key)
            } else {
                key.starts_with(&self.prefix)
            };
            if wanted {
                entries.push((key, is_dir));
            }
        }
        entries.sort_unstable_by(|a, b| b.0.as_bytes().cmp(a.0.as_bytes()));
        Ok(entries)
    }

    fn next_file(&mut self) -> Result<Option<ListEntry>, String> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some((key, is_dir)) = top.pop() else {
                self.stack.pop();
                continue;
            };
            if is_dir {
                let entries = self.read_folder(&key)?;
                self.stack.push(entries);
                continue;
            }
            let path = self.bucket_dir.join(&key);
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(_) => continue, // removed while listing
            };
            let last_modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let etag = match md5_of(&path) {
                Ok(e) => e,
                Err(_) => continue,
            };
            return Ok(Some(ListEntry {
                key,
                etag,
                last_modified,
                size: meta.len() as i64,
                storage_class: "STANDARD".into(),
            }));
        }
    }
}

/// `"<md5 hex>"`, read in chunks.
fn md5_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("\"{hex}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listing_is_in_s3_key_order_and_paged() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("b");
        for key in ["a/x", "a-b", "a/y/z", "b", "ab", "a0"] {
            let p = b.join(key);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, key).unwrap();
        }
        let local = Local::new(dir.path());
        let (entries, next) = local.list("b", "", None).await.unwrap();
        assert!(next.is_none());
        let keys: Vec<_> = entries.iter().map(|e| e.key.as_str()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys, ["a-b", "a/x", "a/y/z", "a0", "ab", "b"]);
        let (entries, _) = local.list("b", "a/", None).await.unwrap();
        let keys: Vec<_> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a/x", "a/y/z"]);
        let (entries, _) = local.list("b", "a/y", None).await.unwrap();
        assert_eq!(entries.len(), 1);
        // MD5 of "b", as S3 gives it.
        let (entries, _) = local.list("b", "b", None).await.unwrap();
        assert_eq!(entries[0].etag, "\"92eb5ffee6ae2fec3ad71c777531578f\"");
        assert!(local
            .list("nope", "", None)
            .await
            .unwrap_err()
            .starts_with("NoSuchBucket"));
    }

    #[tokio::test]
    async fn keys_that_are_not_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let local = Local::new(dir.path());
        for key in ["../x", "a//b", "a/./b", ""] {
            let err = local.put("b", key, vec![]).await.unwrap_err();
            assert!(err.starts_with("InvalidKey"), "{key}: {err}");
        }
        assert!(local
            .put("../b", "k", vec![])
            .await
            .unwrap_err()
            .starts_with("Invalid"));
        local.put("b", "k/v.json", b"[1]".to_vec()).await.unwrap();
        let r = local.get_range("b", "k/v.json", None, 1, 10).await.unwrap();
        assert_eq!((r.bytes.as_slice(), r.total), (b"1]".as_slice(), Some(3)));
        let err = local
            .get_range("b", "k/w.json", None, 0, 10)
            .await
            .unwrap_err();
        assert!(err.starts_with("NoSuchKey"), "{err}");
    }
}
