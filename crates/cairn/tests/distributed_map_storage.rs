//! Distributed Map storage (`runtime::items`) on both kinds of storage: a folder per bucket
//! (`--s3-root`) and a real S3-compatible server (moto's, `CAIRN_TEST_MOTO_URL`, started by
//! `scripts/test`; path-style, SigV4). Every InputType, listObjectsV2 with Prefix and more than
//! one page, MaxItems, CSV headers and delimiters, a 100,000-line JSONL read in bounded
//! chunks, results written and read back, and the errors.
//!
//! Without `CAIRN_TEST_MOTO_URL` the S3 half prints why and passes, except in CI (`CI=true`),
//! where it fails.

use cairn::config::Config;
use cairn::runtime::items::{
    self, ChildOutcome, ItemError, ObjectStore, OutcomePages, ReaderSpec, StoreTuning, WriterSpec,
};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

fn moto_url() -> Option<String> {
    match std::env::var("CAIRN_TEST_MOTO_URL") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CAIRN_TEST_MOTO_URL is not set in CI: scripts/test starts moto's server")
        }
        _ => {
            eprintln!(
                "skipped the S3 half: CAIRN_TEST_MOTO_URL is not set (scripts/test starts moto)"
            );
            None
        }
    }
}

/// One bucket on one kind of storage, and a way to put objects into it behind the store's
/// back.
struct Bucket {
    name: String,
    store: Arc<ObjectStore>,
    put: Putter,
    _dir: Option<tempfile::TempDir>,
}

enum Putter {
    Folder(std::path::PathBuf),
    S3(aws_sdk_s3::Client),
}

impl Bucket {
    async fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        let body = body.into();
        match &self.put {
            Putter::Folder(dir) => {
                let path = dir.join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body).unwrap();
            }
            Putter::S3(client) => {
                client
                    .put_object()
                    .bucket(&self.name)
                    .key(key)
                    .body(body.into())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    fn get(&self, key: &str, reader_config: Value) -> ReaderSpec {
        ReaderSpec {
            resource: "arn:aws:states:::s3:getObject".into(),
            parameters: json!({"Bucket": self.name, "Key": key}),
            reader_config,
        }
    }

    async fn items(&self, key: &str, reader_config: Value) -> Result<Vec<Value>, ItemError> {
        read_all(&self.store, &self.get(key, reader_config)).await
    }

    /// The result files (`{Key, Size}`) a ResultWriter's manifest lists for `status`
    /// (`SUCCEEDED`, `FAILED` or `PENDING`), read back through the reader.
    async fn result_files(&self, manifest_key: &str, status: &str) -> Vec<Value> {
        let pointer = format!("/ResultFiles/{status}");
        self.items(
            manifest_key,
            json!({"InputType": "JSON", "ItemsPointer": pointer}),
        )
        .await
        .unwrap()
    }
}

async fn read_all(store: &ObjectStore, spec: &ReaderSpec) -> Result<Vec<Value>, ItemError> {
    let mut stream = items::open(store, spec).await?;
    let mut out = Vec::new();
    while let Some(v) = stream.next().await? {
        out.push(v);
    }
    Ok(out)
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn folder_bucket(tuning: StoreTuning) -> Bucket {
    let dir = tempfile::tempdir().unwrap();
    let name = unique("b");
    std::fs::create_dir(dir.path().join(&name)).unwrap();
    let config = Config {
        s3_root: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    Bucket {
        store: ObjectStore::from_config_tuned(&config, tuning).unwrap(),
        put: Putter::Folder(dir.path().join(&name)),
        name,
        _dir: Some(dir),
    }
}

async fn s3_bucket(url: &str, tuning: StoreTuning) -> Bucket {
    // The store signs with the standard chain; moto accepts any key.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let name = unique("b");
    client.create_bucket().bucket(&name).send().await.unwrap();
    let config = Config {
        s3_endpoint: Some(url.to_string()),
        ..Config::default()
    };
    Bucket {
        store: ObjectStore::from_config_tuned(&config, tuning).unwrap(),
        put: Putter::S3(client),
        name,
        _dir: None,
    }
}

/// Runs `check` against a folder bucket, then (when moto runs) an S3 bucket.
async fn on_both<F>(tuning: StoreTuning, check: F)
where
    F: Fn(Bucket) -> Pin<Box<dyn Future<Output = ()>>>,
{
    check(folder_bucket(tuning).await).await;
    if let Some(url) = moto_url() {
        check(s3_bucket(&url, tuning).await).await;
    }
}

fn tuning() -> StoreTuning {
    StoreTuning::default()
}

#[tokio::test]
async fn json_array_jsonl_and_max_items() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            b.put("in/a.json", r#"[{"n": 1}, [2], "three", 4.5, null]"#)
                .await;
            let got = b
                .items("in/a.json", json!({"InputType": "JSON"}))
                .await
                .unwrap();
            assert_eq!(
                got,
                vec![
                    json!({"n": 1}),
                    json!([2]),
                    json!("three"),
                    json!(4.5),
                    Value::Null
                ]
            );
            let got = b
                .items("in/a.json", json!({"InputType": "JSON", "MaxItems": 2}))
                .await
                .unwrap();
            assert_eq!(got, vec![json!({"n": 1}), json!([2])]);

            b.put("in/p.json", r#"{"data": {"rows": [1, 2, 3]}}"#).await;
            let got = b
                .items(
                    "in/p.json",
                    json!({"InputType": "JSON", "ItemsPointer": "/data/rows"}),
                )
                .await
                .unwrap();
            assert_eq!(got, vec![json!(1), json!(2), json!(3)]);

            b.put("in/l.jsonl", "{\"a\":1}\n\n{\"a\":2}\r\n[3]").await;
            let got = b
                .items("in/l.jsonl", json!({"InputType": "JSONL"}))
                .await
                .unwrap();
            assert_eq!(got, vec![json!({"a": 1}), json!({"a": 2}), json!([3])]);

            b.put("in/empty.json", "[]").await;
            assert!(b
                .items("in/empty.json", json!({"InputType": "JSON"}))
                .await
                .unwrap()
                .is_empty());
            b.put("in/empty.jsonl", "").await;
            assert!(b
                .items("in/empty.jsonl", json!({"InputType": "JSONL"}))
                .await
                .unwrap()
                .is_empty());
        })
    })
    .await;
}

#[tokio::test]
async fn csv_with_and_without_a_header_row_and_each_delimiter() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            b.put(
                "c/first.csv",
                "title,year\r\n\"Up, Up\",2009\r\nHeat,1995\r\n",
            )
            .await;
            let got = b
                .items(
                    "c/first.csv",
                    json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
                )
                .await
                .unwrap();
            assert_eq!(
                got,
                vec![
                    json!({"title": "Up, Up", "year": "2009"}),
                    json!({"title": "Heat", "year": "1995"})
                ]
            );
            for (name, d) in [
                ("COMMA", ","),
                ("PIPE", "|"),
                ("SEMICOLON", ";"),
                ("SPACE", " "),
                ("TAB", "\t"),
            ] {
                let key = format!("c/given-{name}.csv");
                b.put(&key, format!("1{d}a\n2{d}b\n")).await;
                let config = json!({
                    "InputType": "CSV",
                    "CSVHeaderLocation": "GIVEN",
                    "CSVHeaders": ["id", "v"],
                    "CSVDelimiter": name,
                });
                let got = b.items(&key, config).await.unwrap();
                assert_eq!(
                    got,
                    vec![json!({"id": "1", "v": "a"}), json!({"id": "2", "v": "b"})],
                    "{name}"
                );
            }
            let got = b
                .items("c/first.csv", json!({"InputType": "CSV", "MaxItems": 1}))
                .await
                .unwrap();
            assert_eq!(got.len(), 1);
        })
    })
    .await;
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn manifest_reads_the_inventory_files_it_lists() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            b.put("inv/data/1.csv.gz", gzip("\"src\",\"a.txt\",\"10\",\"2022-11-16T00:29:32.000Z\"\n")).await;
            b.put(
                "inv/data/2.csv",
                "\"src\",\"b/c.txt\",\"20\",\"2022-11-17T00:00:00.000Z\"\n\"src\",\"d\",\"0\",\"2022-11-18T00:00:00.000Z\"\n",
            )
            .await;
            let manifest = json!({
                "sourceBucket": "src",
                "destinationBucket": format!("arn:aws:s3:::{}", b.name),
                "version": "2016-11-30",
                "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size, LastModifiedDate",
                "files": [
                    {"key": "inv/data/1.csv.gz", "size": 1, "MD5checksum": "x"},
                    {"key": "inv/data/2.csv", "size": 1, "MD5checksum": "y"}
                ]
            });
            b.put("inv/manifest.json", manifest.to_string()).await;
            let got = b.items("inv/manifest.json", json!({"InputType": "MANIFEST"})).await.unwrap();
            assert_eq!(
                got,
                vec![
                    json!({"Bucket": "src", "Key": "a.txt", "Size": "10", "LastModifiedDate": "2022-11-16T00:29:32.000Z"}),
                    json!({"Bucket": "src", "Key": "b/c.txt", "Size": "20", "LastModifiedDate": "2022-11-17T00:00:00.000Z"}),
                    json!({"Bucket": "src", "Key": "d", "Size": "0", "LastModifiedDate": "2022-11-18T00:00:00.000Z"}),
                ]
            );
            let got = b
                .items("inv/manifest.json", json!({"InputType": "MANIFEST", "MaxItems": 2}))
                .await
                .unwrap();
            assert_eq!(got.len(), 2);
        })
    })
    .await;
}

#[tokio::test]
async fn list_objects_v2_with_prefix_over_more_than_one_page() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            for i in 0..1003 {
                b.put(&format!("logs/{i:05}.txt"), format!("line {i}"))
                    .await;
            }
            b.put("logs-other.txt", "x").await;
            b.put("other/x.txt", "x").await;
            let spec = ReaderSpec {
                resource: "arn:aws:states:::s3:listObjectsV2".into(),
                parameters: json!({"Bucket": b.name, "Prefix": "logs/"}),
                reader_config: json!({}),
            };
            let before = b.store.stats().lists;
            let got = read_all(&b.store, &spec).await.unwrap();
            assert_eq!(got.len(), 1003);
            assert_eq!(
                b.store.stats().lists - before,
                2,
                "two pages of up to 1,000 keys"
            );
            let first = got[0].as_object().unwrap();
            let keys: Vec<_> = first.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["Etag", "Key", "LastModified", "Size", "StorageClass"]
            );
            assert_eq!(first["Key"], "logs/00000.txt");
            assert_eq!(first["Size"], 6);
            assert_eq!(first["StorageClass"], "STANDARD");
            // MD5 of "line 0", quoted, as S3 gives it.
            assert_eq!(first["Etag"], format!("\"{}\"", md5_hex(b"line 0")));
            assert!(first["LastModified"].as_i64().unwrap() > 1_600_000_000);
            assert_eq!(got[1002]["Key"], "logs/01002.txt");
            let keys: Vec<_> = got
                .iter()
                .map(|v| v["Key"].as_str().unwrap().to_string())
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted);

            let spec = ReaderSpec {
                parameters: json!({"Bucket": b.name, "Prefix": "logs"}),
                reader_config: json!({"MaxItems": 5}),
                ..spec
            };
            let before = b.store.stats().lists;
            let got = read_all(&b.store, &spec).await.unwrap();
            assert_eq!(got.len(), 5);
            assert_eq!(
                b.store.stats().lists - before,
                1,
                "MaxItems stops the listing"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn list_objects_v2_load_and_flatten_reads_each_object() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            b.put("parts/a.csv", "id,v\n1,x\n2,y\n").await;
            b.put("parts/b.csv", "id,v\n3,z\n").await;
            b.put("parts/c/d.csv", "id,v\n4,w\n").await;
            b.put("elsewhere.csv", "id,v\n9,q\n").await;
            let spec = ReaderSpec {
                resource: "arn:aws:states:::s3:listObjectsV2".into(),
                parameters: json!({"Bucket": b.name, "Prefix": "parts/"}),
                reader_config: json!({
                    "InputType": "CSV",
                    "CSVHeaderLocation": "FIRST_ROW",
                    "Transformation": "LOAD_AND_FLATTEN",
                }),
            };
            let got = read_all(&b.store, &spec).await.unwrap();
            let ids: Vec<_> = got.iter().map(|v| v["id"].as_str().unwrap()).collect();
            assert_eq!(ids, ["1", "2", "3", "4"]);
            assert_eq!(got[0], json!({"id": "1", "v": "x"}));

            b.put("j/1.jsonl", "{\"n\":1}\n{\"n\":2}\n").await;
            b.put("j/2.jsonl", "{\"n\":3}\n").await;
            let spec = ReaderSpec {
                parameters: json!({"Bucket": b.name, "Prefix": "j/"}),
                reader_config: json!({"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN", "MaxItems": 2}),
                ..spec
            };
            let got = read_all(&b.store, &spec).await.unwrap();
            assert_eq!(got, vec![json!({"n": 1}), json!({"n": 2})]);

            let spec = ReaderSpec {
                reader_config: json!({"Transformation": "LOAD_AND_FLATTEN"}),
                ..spec
            };
            let cause = reader_error(read_all(&b.store, &spec).await);
            assert!(cause.contains("needs InputType"), "{cause}");
        })
    })
    .await;
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn sources_of_100000_items_are_read_a_chunk_at_a_time() {
    let chunk = 64 * 1024;
    let small = StoreTuning {
        read_chunk_bytes: chunk,
        ..StoreTuning::default()
    };
    on_both(small, move |b| {
        Box::pin(async move {
            let mut body = String::new();
            for i in 0..100_000 {
                body.push_str(&format!("{{\"id\":{i},\"name\":\"item-{i}\"}}\n"));
            }
            let size = body.len();
            b.put("big.jsonl", body).await;
            let spec = b.get("big.jsonl", json!({"InputType": "JSONL"}));

            // The first items need only the first chunk.
            let before = b.store.stats().gets;
            let mut stream = items::open(&b.store, &spec).await.unwrap();
            for i in 0..10 {
                assert_eq!(stream.next().await.unwrap().unwrap()["id"], i);
            }
            assert_eq!(b.store.stats().gets - before, 1);
            drop(stream);

            let before = b.store.stats().gets;
            let mut stream = items::open(&b.store, &spec).await.unwrap();
            let mut n = 0u64;
            while let Some(v) = stream.next().await.unwrap() {
                assert_eq!(v["id"], n);
                n += 1;
            }
            assert_eq!(n, 100_000);
            let gets = b.store.stats().gets - before;
            assert_eq!(
                gets as usize,
                size.div_ceil(chunk),
                "one ranged read per chunk"
            );
            let peak = stream.peak_buffered_bytes();
            assert!(
                peak > 0 && peak < 3 * chunk,
                "peak {peak} of a {size}-byte object"
            );

            // The same for a 100,000-item JSON array and a 100,000-row CSV.
            let mut array = String::from("[");
            let mut csv = String::from("id,name\n");
            for i in 0..100_000 {
                if i > 0 {
                    array.push(',');
                }
                array.push_str(&format!("{{\"id\":{i},\"tags\":[\"a,]\",{{\"n\":{i}}}]}}"));
                csv.push_str(&format!("{i},\"item, {i}\"\n"));
            }
            array.push(']');
            // The same array deep in an object, found by ItemsPointer as it streams in; the
            // reader stops after the array, before the final `}}`.
            let object = format!("{{\"meta\":{{\"rows\":1}},\"data\":{{\"rows\":{array}}}}}");
            for (key, body, config, tail) in [
                ("big.json", array, json!({"InputType": "JSON"}), 0),
                ("big.csv", csv, json!({"InputType": "CSV"}), 0),
                (
                    "big-object.json",
                    object,
                    json!({"InputType": "JSON", "ItemsPointer": "/data/rows"}),
                    2,
                ),
            ] {
                let size = body.len();
                b.put(key, body).await;
                let before = b.store.stats().gets;
                let mut stream = items::open(&b.store, &b.get(key, config)).await.unwrap();
                let mut n = 0u64;
                while let Some(v) = stream.next().await.unwrap() {
                    let id = v["id"].as_u64().or_else(|| v["id"].as_str()?.parse().ok());
                    assert_eq!(id, Some(n), "{key}");
                    n += 1;
                }
                assert_eq!(n, 100_000, "{key}");
                let gets = (b.store.stats().gets - before) as usize;
                assert_eq!(
                    gets,
                    (size - tail).div_ceil(chunk),
                    "{key}: one ranged read per chunk"
                );
                let peak = stream.peak_buffered_bytes();
                assert!(
                    peak < 3 * chunk,
                    "{key}: peak {peak} of a {size}-byte object"
                );
            }
        })
    })
    .await;
}

fn reader_error(r: Result<Vec<Value>, ItemError>) -> String {
    let e = r.unwrap_err();
    assert_eq!(e.error, "States.ItemReaderFailed");
    e.cause
}

#[tokio::test]
async fn reader_errors_say_what_and_where() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            let cause = reader_error(b.items("missing.json", json!({"InputType": "JSON"})).await);
            assert!(
                cause.contains("NoSuchKey") && cause.contains("missing.json"),
                "{cause}"
            );

            let spec = ReaderSpec {
                resource: "arn:aws:states:::s3:getObject".into(),
                parameters: json!({"Bucket": "no-such-bucket-cairn", "Key": "k"}),
                reader_config: json!({"InputType": "JSON"}),
            };
            let cause = reader_error(read_all(&b.store, &spec).await);
            assert!(cause.contains("NoSuchBucket"), "{cause}");

            b.put("obj.json", r#"{"not": "a list"}"#).await;
            let cause = reader_error(b.items("obj.json", json!({"InputType": "JSON"})).await);
            assert!(
                cause.contains("Attempting to map over non-iterable node."),
                "{cause}"
            );

            b.put("bad.jsonl", "{}\n{}\n{oops}\n").await;
            let cause = reader_error(b.items("bad.jsonl", json!({"InputType": "JSONL"})).await);
            assert!(
                cause.contains("line 3") && cause.contains("bad.jsonl"),
                "{cause}"
            );

            b.put("dup.csv", "a,b,a\n1,2,3\n").await;
            let cause = reader_error(b.items("dup.csv", json!({"InputType": "CSV"})).await);
            assert!(
                cause.contains("CSV headers cannot contain duplicates."),
                "{cause}"
            );

            b.put("ragged.csv", "a,b\n1,2\n3\n").await;
            let cause = reader_error(b.items("ragged.csv", json!({"InputType": "CSV"})).await);
            assert!(cause.contains("row 3"), "{cause}");

            let cause = reader_error(b.items("dup.csv", json!({"InputType": "PARQUET"})).await);
            assert!(cause.contains("PARQUET"), "{cause}");

            let spec = ReaderSpec {
                resource: "arn:aws:states:::s3:getObject".into(),
                parameters: json!({"Bucket": b.name}),
                reader_config: json!({"InputType": "JSON"}),
            };
            let cause = reader_error(read_all(&b.store, &spec).await);
            assert!(cause.contains("'Key'"), "{cause}");

            // An error mid-stream: the items before it come, then the error, then again.
            let mut stream =
                items::open(&b.store, &b.get("bad.jsonl", json!({"InputType": "JSONL"})))
                    .await
                    .unwrap();
            assert!(stream.next().await.unwrap().is_some());
            assert!(stream.next().await.unwrap().is_some());
            let e1 = stream.next().await.unwrap_err();
            assert_eq!(stream.next().await.unwrap_err(), e1);
        })
    })
    .await;
}

#[tokio::test]
async fn an_object_replaced_while_it_is_read_fails_the_reader() {
    let small = StoreTuning {
        read_chunk_bytes: 64,
        ..StoreTuning::default()
    };
    on_both(small, |b| {
        Box::pin(async move {
            let lines: String = (0..100).map(|i| format!("{{\"i\":{i}}}\n")).collect();
            b.put("moving.jsonl", lines.clone()).await;
            let spec = b.get("moving.jsonl", json!({"InputType": "JSONL"}));
            let mut stream = items::open(&b.store, &spec).await.unwrap();
            assert_eq!(stream.next().await.unwrap().unwrap()["i"], 0);
            // Another version, of another length, so a folder's file changes visibly too.
            b.put("moving.jsonl", format!("{lines}{lines}")).await;
            let e = loop {
                match stream.next().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("read to the end of a replaced object"),
                    Err(e) => break e,
                }
            };
            assert!(
                e.cause.contains("replaced while it was being read"),
                "{}",
                e.cause
            );
        })
    })
    .await;
}

/// What `--s3-endpoint` sends, seen by a bare HTTP listener that answers NoSuchKey: a
/// path-style, SigV4-signed ranged GET. (moto checks neither.)
#[tokio::test]
async fn s3_requests_are_path_style_ranged_and_signed_with_sigv4() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let server = tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let _ = tx.send(String::from_utf8_lossy(&head).to_lowercase());
            let body = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
            let reply = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/xml\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    let config = Config {
        s3_endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..Config::default()
    };
    let store = ObjectStore::from_config(&config).unwrap();
    let spec = ReaderSpec {
        resource: "arn:aws:states:::s3:getObject".into(),
        parameters: json!({"Bucket": "bkt", "Key": "dir/k.json"}),
        reader_config: json!({"InputType": "JSON"}),
    };
    let e = read_all(&store, &spec).await.unwrap_err();
    assert_eq!(e.error, "States.ItemReaderFailed");
    assert!(
        e.cause.contains("s3://bkt/dir/k.json")
            && e.cause
                .contains("NoSuchKey: The specified key does not exist."),
        "{}",
        e.cause
    );
    let request = rx.recv().await.unwrap();
    server.abort();
    assert!(
        request.starts_with("get /bkt/dir/k.json"),
        "path-style: {request}"
    );
    assert!(
        request.contains(&format!("host: 127.0.0.1:{port}")),
        "{request}"
    );
    assert!(request.contains("range: bytes=0-1048575"), "{request}");
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into())
        .to_lowercase();
    assert!(
        request.contains("authorization: aws4-hmac-sha256 credential=testing/")
            && request.contains(&format!("/{region}/s3/aws4_request")),
        "SigV4: {request}"
    );
    assert!(request.contains("x-amz-content-sha256:"), "{request}");
}

#[test]
fn no_storage_says_how_to_configure_one() {
    assert!(ObjectStore::from_config(&Config::default()).is_none());
    let e = ItemError::no_storage("States.ItemReaderFailed");
    assert_eq!(e.error, "States.ItemReaderFailed");
    assert!(
        e.cause.contains("--s3-endpoint") && e.cause.contains("--s3-root"),
        "{}",
        e.cause
    );
    let e = ItemError::no_storage("States.ResultWriterFailed");
    assert!(e.cause.contains("ResultWriter"));
}

/// Outcomes handed over a page at a time.
struct Pages(std::collections::VecDeque<Vec<ChildOutcome>>);

impl OutcomePages for Pages {
    fn next_page(
        &mut self,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Vec<ChildOutcome>>, ItemError>> + Send + '_>>
    {
        let page = self.0.pop_front();
        Box::pin(async move { Ok(page) })
    }
}

fn outcome(i: usize, status: &str) -> ChildOutcome {
    ChildOutcome {
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm/Map:run/{i}"),
        name: format!("child-{i}"),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm/Map".into(),
        status: status.into(),
        input: format!("{{\"i\":{i}}}"),
        output: (status == "SUCCEEDED").then(|| format!("[{i},{}]", i + 1)),
        error: (status == "FAILED").then(|| "Boom".into()),
        cause: (status == "FAILED").then(|| format!("item {i} broke")),
        start_date_ms: 1_700_000_000_000 + i as i64,
        stop_date_ms: (status != "PENDING").then_some(1_700_000_001_000 + i as i64),
        redrive_count: 0,
    }
}

fn run_pages() -> Pages {
    let mut pages = std::collections::VecDeque::new();
    for p in 0..4 {
        let page = (0..25)
            .map(|j| {
                let i = p * 25 + j;
                let status = match i % 10 {
                    0 => "FAILED",
                    1 => "TIMED_OUT",
                    9 => "PENDING",
                    _ => "SUCCEEDED",
                };
                outcome(i, status)
            })
            .collect();
        pages.push_back(page);
    }
    Pages(pages)
}

const RUN_ARN: &str =
    "arn:aws:states:us-east-1:123456789012:mapRun:sm/Map:0a1b2c3d-0000-1111-2222-333344445555";

#[tokio::test]
async fn results_are_written_in_aws_layout_and_read_back() {
    let small_files = StoreTuning {
        result_file_bytes: 4096,
        result_part_bytes: 1024,
        ..StoreTuning::default()
    };
    on_both(small_files, |b| {
        Box::pin(async move {
            let spec = WriterSpec {
                resource: "arn:aws:states:::s3:putObject".into(),
                parameters: json!({"Bucket": b.name, "Prefix": "runs"}),
                writer_config: Value::Null,
            };
            let output = items::write_results(&b.store, &spec, RUN_ARN, &mut run_pages())
                .await
                .unwrap();
            let manifest_key = "runs/0a1b2c3d-0000-1111-2222-333344445555/manifest.json";
            assert_eq!(
                output,
                json!({"MapRunArn": RUN_ARN, "ResultWriterDetails": {"Bucket": b.name, "Key": manifest_key}})
            );
            // The manifest, read back through the reader.
            let succeeded = b.result_files(manifest_key, "SUCCEEDED").await;
            let failed = b.result_files(manifest_key, "FAILED").await;
            let pending = b.result_files(manifest_key, "PENDING").await;
            assert!(succeeded.len() > 1, "4 KiB files: the 70 successes span several");
            assert_eq!(
                succeeded[0]["Key"],
                "runs/0a1b2c3d-0000-1111-2222-333344445555/SUCCEEDED_0.json"
            );
            assert_eq!(
                succeeded[1]["Key"],
                "runs/0a1b2c3d-0000-1111-2222-333344445555/SUCCEEDED_1.json"
            );
            let mut entries = Vec::new();
            for f in &succeeded {
                let key = f["Key"].as_str().unwrap();
                let got = b.items(key, json!({"InputType": "JSON"})).await.unwrap();
                let bytes = got.iter().map(|v| v.to_string().len() + 1).sum::<usize>() + 1;
                assert_eq!(f["Size"].as_u64().unwrap() as usize, bytes, "{key}");
                entries.extend(got);
            }
            assert_eq!(entries.len(), 70);
            assert_eq!(entries[0]["Name"], "child-2");
            assert_eq!(entries[0]["Status"], "SUCCEEDED");
            assert_eq!(entries[0]["Input"], "{\"i\":2}");
            assert_eq!(entries[0]["Output"], "[2,3]");
            assert_eq!(entries[0]["OutputDetails"], json!({"Included": true}));
            assert_eq!(entries[0]["StartDate"], "2023-11-14T22:13:20.002Z");
            let mut failures = Vec::new();
            for f in &failed {
                failures.extend(b.items(f["Key"].as_str().unwrap(), json!({"InputType": "JSON"})).await.unwrap());
            }
            assert_eq!(failures.len(), 20);
            assert_eq!(failures[0]["Error"], "Boom");
            assert_eq!(failures[1]["Status"], "TIMED_OUT");
            assert_eq!(pending.len(), 1);
            let waiting = b.items(pending[0]["Key"].as_str().unwrap(), json!({"InputType": "JSON"})).await.unwrap();
            assert_eq!(waiting.len(), 10);
            assert_eq!(waiting[0]["Status"], "PENDING");
        })
    })
    .await;
}

#[tokio::test]
async fn writer_config_shapes_the_files() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            let spec = WriterSpec {
                resource: "arn:aws:states:::s3:putObject".into(),
                parameters: json!({"Bucket": b.name, "Prefix": ""}),
                writer_config: json!({"OutputType": "JSONL", "Transformation": "FLATTEN"}),
            };
            let output = items::write_results(&b.store, &spec, RUN_ARN, &mut run_pages())
                .await
                .unwrap();
            let key = output["ResultWriterDetails"]["Key"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(key, "0a1b2c3d-0000-1111-2222-333344445555/manifest.json");
            let files = b.result_files(&key, "SUCCEEDED").await;
            assert_eq!(files.len(), 1);
            let lines = b
                .items(
                    files[0]["Key"].as_str().unwrap(),
                    json!({"InputType": "JSONL"}),
                )
                .await
                .unwrap();
            // 70 successes, each output [i, i+1] spread into two entries.
            assert_eq!(lines.len(), 140);
            assert_eq!((&lines[0], &lines[1]), (&json!(2), &json!(3)));
        })
    })
    .await;
}

#[tokio::test]
async fn writer_errors() {
    on_both(tuning(), |b| {
        Box::pin(async move {
            let spec = WriterSpec {
                resource: "arn:aws:states:::s3:putObject".into(),
                parameters: json!({"Bucket": "no-such-bucket-cairn", "Prefix": "p"}),
                writer_config: Value::Null,
            };
            let e = items::write_results(&b.store, &spec, RUN_ARN, &mut run_pages())
                .await
                .unwrap_err();
            assert_eq!(e.error, "States.ResultWriterFailed");
            assert!(e.cause.contains("NoSuchBucket"), "{}", e.cause);
            let spec = WriterSpec {
                parameters: json!({"Bucket": b.name}),
                writer_config: json!({"OutputType": "CSV"}),
                ..spec
            };
            let e = items::write_results(&b.store, &spec, RUN_ARN, &mut run_pages())
                .await
                .unwrap_err();
            assert!(e.cause.contains("OutputType CSV"), "{}", e.cause);
        })
    })
    .await;
}

#[test]
fn writer_config_alone_transforms_the_output() {
    let outcomes: Vec<_> = (0..3).map(|i| outcome(i, "SUCCEEDED")).collect();
    let out = items::transform_results(&json!({"Transformation": "COMPACT"}), &outcomes).unwrap();
    assert_eq!(out, json!([[0, 1], [1, 2], [2, 3]]));
    let out = items::transform_results(&json!({"Transformation": "FLATTEN"}), &outcomes).unwrap();
    assert_eq!(out, json!([0, 1, 1, 2, 2, 3]));
}

#[tokio::test]
async fn a_result_file_larger_than_a_part_is_uploaded_in_parts() {
    // 5 MiB: the smallest part S3 (and moto) accept.
    let parts = StoreTuning {
        result_part_bytes: 5 << 20,
        ..StoreTuning::default()
    };
    on_both(parts, |b| {
        Box::pin(async move {
            let pad = "x".repeat(5000);
            let mut pages = std::collections::VecDeque::new();
            for p in 0..12 {
                let page = (0..100)
                    .map(|j| {
                        let mut o = outcome(p * 100 + j, "SUCCEEDED");
                        o.output = Some(json!({"i": p * 100 + j, "pad": pad}).to_string());
                        o
                    })
                    .collect();
                pages.push_back(page);
            }
            let spec = WriterSpec {
                resource: "arn:aws:states:::s3:putObject".into(),
                parameters: json!({"Bucket": b.name, "Prefix": "big/"}),
                writer_config: json!({"Transformation": "COMPACT"}),
            };
            let before = b.store.stats();
            let output = items::write_results(&b.store, &spec, RUN_ARN, &mut Pages(pages))
                .await
                .unwrap();
            let after = b.store.stats();
            assert_eq!(after.parts - before.parts, 2, "6 MB in 5 MiB parts");
            // One multipart file and the manifest.
            assert_eq!(after.puts - before.puts, 2);
            let key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
            let files = b.result_files(key, "SUCCEEDED").await;
            assert_eq!(files.len(), 1, "one file, as AWS writes it");
            let entries = b
                .items(
                    files[0]["Key"].as_str().unwrap(),
                    json!({"InputType": "JSON"}),
                )
                .await
                .unwrap();
            assert_eq!(entries.len(), 1200);
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(e["i"], i);
            }
            let bytes = entries
                .iter()
                .map(|v| v.to_string().len() + 1)
                .sum::<usize>()
                + 1;
            assert_eq!(files[0]["Size"].as_u64().unwrap() as usize, bytes);
        })
    })
    .await;
}

/// Unfinished uploads left in the bucket's storage: multipart uploads on S3, temporary
/// files in the folder store.
async fn unfinished_uploads(b: &Bucket) -> usize {
    match &b.put {
        Putter::Folder(dir) => {
            let tmp = dir.parent().unwrap().join(".cairn-tmp");
            std::fs::read_dir(tmp).map(|d| d.count()).unwrap_or(0)
        }
        Putter::S3(client) => {
            let listed = client
                .list_multipart_uploads()
                .bucket(&b.name)
                .send()
                .await
                .unwrap();
            listed.uploads().len()
        }
    }
}

#[tokio::test]
async fn outcomes_pushed_one_at_a_time_are_sent_as_parts_fill_and_a_dropped_sink_aborts() {
    // EXPRESS children keep no record, so the Map Run driver pushes each outcome to a
    // ResultSink as the child ends: parts must leave as they fill, not at the end.
    let parts = StoreTuning {
        result_part_bytes: 5 << 20,
        ..StoreTuning::default()
    };
    on_both(parts, |b| {
        Box::pin(async move {
            let spec = WriterSpec {
                resource: "arn:aws:states:::s3:putObject".into(),
                parameters: json!({"Bucket": b.name, "Prefix": "stream"}),
                writer_config: json!({"Transformation": "COMPACT"}),
            };
            let pad = "x".repeat(5000);
            let padded = |i: usize| {
                let mut o = outcome(i, "SUCCEEDED");
                o.output = Some(json!({"i": i, "pad": pad}).to_string());
                o
            };
            let before = b.store.stats();
            let mut sink = items::ResultSink::open(&b.store, &spec, RUN_ARN).unwrap();
            for i in 0..1200 {
                sink.push(&padded(i)).await.unwrap();
            }
            let sent = b.store.stats();
            assert_eq!(
                sent.parts - before.parts,
                1,
                "one 5 MiB part sent before the end"
            );
            assert_eq!(unfinished_uploads(&b).await, 1);
            let output = sink.finish().await.unwrap();
            assert_eq!(unfinished_uploads(&b).await, 0);
            let key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
            let files = b.result_files(key, "SUCCEEDED").await;
            assert_eq!(files.len(), 1);
            let entries = b
                .items(
                    files[0]["Key"].as_str().unwrap(),
                    json!({"InputType": "JSON"}),
                )
                .await
                .unwrap();
            assert_eq!(entries.len(), 1200);
            assert_eq!(entries[1199]["i"], 1199);

            // A run aborted mid-write drops its sink: the upload it began is aborted (in the
            // background), and no result file appears.
            let run = RUN_ARN.replace("0a1b2c3d", "dropped0");
            let mut sink = items::ResultSink::open(&b.store, &spec, &run).unwrap();
            for i in 0..1100 {
                sink.push(&padded(i)).await.unwrap();
            }
            assert_eq!(unfinished_uploads(&b).await, 1);
            drop(sink);
            let aborted = async {
                while unfinished_uploads(&b).await > 0 {
                    tokio::task::yield_now().await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(30), aborted)
                .await
                .expect("the dropped sink's upload is aborted");
            let folder = run.rsplit(':').next().unwrap().to_string();
            let missing = b
                .items(
                    &format!("stream/{folder}/SUCCEEDED_0.json"),
                    json!({"InputType": "JSON"}),
                )
                .await;
            assert!(missing.is_err(), "{missing:?}");
        })
    })
    .await;
}

#[test]
fn a_folder_store_removes_uploads_abandoned_for_a_day() {
    // A process killed mid-write leaves its upload's temporary file behind.
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join(".cairn-tmp");
    std::fs::create_dir(&tmp).unwrap();
    let write = |name: &str, age_secs: u64| {
        let f = std::fs::File::create(tmp.join(name)).unwrap();
        let at = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
        f.set_modified(at).unwrap();
    };
    write("abandoned", 2 * 24 * 3600);
    write("in-progress", 60);
    let config = Config {
        s3_root: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let _store = ObjectStore::from_config(&config).unwrap();
    assert!(!tmp.join("abandoned").exists());
    assert!(tmp.join("in-progress").exists());
}
