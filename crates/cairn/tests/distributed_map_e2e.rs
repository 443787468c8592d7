//! Distributed Map end to end through the server: an ItemReader (JSONL, CSV with a header
//! row, JSON, listObjectsV2 with Prefix, MaxItems) feeding child executions, and a
//! ResultWriter whose manifest and SUCCEEDED / FAILED files are read back, on a folder per
//! bucket (`--s3-root`) and on moto's S3 server (`--s3-endpoint`, `CAIRN_TEST_MOTO_URL`,
//! started by `scripts/test`).
//!
//! Without `CAIRN_TEST_MOTO_URL` the S3 half prints why and passes, except in CI (`CI=true`),
//! where it fails.

#[path = "resources_helpers.rs"]
mod helpers;

use cairn::config::Config;
use helpers::*;
use serde_json::{json, Value};

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

/// Where the buckets are: a folder per bucket, or an S3-compatible server.
enum Storage {
    Folder(tempfile::TempDir),
    S3(String, aws_sdk_s3::Client),
}

impl Storage {
    fn folder() -> Storage {
        Storage::Folder(tempfile::tempdir().unwrap())
    }

    fn s3(url: &str) -> Storage {
        // The server signs with the standard chain; moto accepts any key.
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
        Storage::S3(url.to_string(), aws_sdk_s3::Client::from_conf(conf))
    }

    /// The server's configuration for this storage.
    fn config(&self) -> Config {
        match self {
            Storage::Folder(dir) => Config {
                s3_root: Some(dir.path().to_path_buf()),
                ..Config::default()
            },
            Storage::S3(url, _) => Config {
                s3_endpoint: Some(url.clone()),
                ..Config::default()
            },
        }
    }

    async fn bucket(&self) -> String {
        let name = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        match self {
            Storage::Folder(dir) => std::fs::create_dir(dir.path().join(&name)).unwrap(),
            Storage::S3(_, client) => {
                client.create_bucket().bucket(&name).send().await.unwrap();
            }
        }
        name
    }

    async fn put(&self, bucket: &str, key: &str, body: &str) {
        match self {
            Storage::Folder(dir) => {
                let path = dir.path().join(bucket).join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body).unwrap();
            }
            Storage::S3(_, client) => {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body.as_bytes().to_vec().into())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// An object written by the server, parsed as JSON.
    async fn get_json(&self, bucket: &str, key: &str) -> Value {
        let bytes = match self {
            Storage::Folder(dir) => std::fs::read(dir.path().join(bucket).join(key))
                .unwrap_or_else(|e| panic!("{bucket}/{key}: {e}")),
            Storage::S3(_, client) => client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{bucket}/{key}: {e:?}"))
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
                .to_vec(),
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{bucket}/{key}: {e}"))
    }
}

/// A Distributed Map of STANDARD children that fail on `{"fail": true}` and echo anything
/// else, with `extra` fields (ItemReader, ResultWriter, ...) added to the Map state.
fn dmap(extra: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "Label": "Items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice",
                      "Choices": [{"Variable": "$.fail", "IsPresent": true, "Next": "F"}],
                      "Default": "P"},
                "F": {"Type": "Fail", "Error": "Boom", "Cause": "asked to fail"},
                "P": {"Type": "Pass", "End": true},
            }
        },
        "End": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

fn get_object(bucket: &str, key: &str, reader_config: Value) -> Value {
    json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": reader_config,
        "Parameters": {"Bucket": bucket, "Key": key},
    }})
}

fn map_run_arn(history: &[aws_sdk_sfn::types::HistoryEvent]) -> String {
    let runs: Vec<_> = history
        .iter()
        .filter_map(|e| e.map_run_started_event_details())
        .filter_map(|d| d.map_run_arn().map(str::to_string))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// (total, succeeded, failed) items of the run, from DescribeMapRun.
async fn item_counts(server: &TestServer, map_run: &str) -> (i64, i64, i64) {
    let d = server
        .client
        .describe_map_run()
        .map_run_arn(map_run)
        .send()
        .await
        .expect("describe map run");
    let items = d.item_counts().unwrap();
    let execs = d.execution_counts().unwrap();
    assert_eq!(
        (items.total(), items.succeeded(), items.failed()),
        (execs.total(), execs.succeeded(), execs.failed()),
        "one item per child"
    );
    (items.total(), items.succeeded(), items.failed())
}

/// The inputs of the entries of every result file the manifest lists under `status`, in
/// file order.
async fn result_entries(
    storage: &Storage,
    bucket: &str,
    manifest: &Value,
    status: &str,
) -> Vec<Value> {
    let mut entries = Vec::new();
    for (n, file) in manifest["ResultFiles"][status]
        .as_array()
        .unwrap_or_else(|| panic!("no {status} in {manifest}"))
        .iter()
        .enumerate()
    {
        let key = file["Key"].as_str().unwrap();
        assert!(key.ends_with(&format!("/{status}_{n}.json")), "{key}");
        let got = storage.get_json(bucket, key).await;
        entries.extend(got.as_array().unwrap().iter().cloned());
    }
    entries
}

async fn scenarios(storage: Storage) {
    let server = TestServer::start_with(storage.config()).await;
    let bucket = storage.bucket().await;

    // JSONL with MaxItems, results written: the output names the manifest.
    let lines: String = (1..=5).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    storage.put(&bucket, "in/items.jsonl", &lines).await;
    let mut extra = get_object(
        &bucket,
        "in/items.jsonl",
        json!({"InputType": "JSONL", "MaxItems": 4}),
    );
    extra["ResultWriter"] = json!({"Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": "out"}});
    let sm = machine(&server, "e2e-jsonl", dmap(extra)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let map_run = map_run_arn(&history(&server, &arn).await);
    let run_id = map_run.rsplit(':').next().unwrap();
    let manifest_key = format!("out/{run_id}/manifest.json");
    assert_eq!(
        output(&d),
        json!({"MapRunArn": map_run,
               "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}})
    );
    assert_eq!(item_counts(&server, &map_run).await, (4, 4, 0));
    let manifest = storage.get_json(&bucket, &manifest_key).await;
    assert_eq!(manifest["MapRunArn"], map_run.as_str());
    assert_eq!(manifest["DestinationBucket"], bucket.as_str());
    let succeeded = result_entries(&storage, &bucket, &manifest, "SUCCEEDED").await;
    let mut inputs: Vec<Value> = succeeded
        .iter()
        .map(|e| serde_json::from_str(e["Input"].as_str().unwrap()).unwrap())
        .collect();
    inputs.sort_by_key(|v| v["n"].as_i64());
    assert_eq!(inputs, (1..=4).map(|n| json!({"n": n})).collect::<Vec<_>>());
    for e in &succeeded {
        assert_eq!(e["Status"], "SUCCEEDED");
        assert_eq!(e["Input"], e["Output"]);
    }
    assert!(result_entries(&storage, &bucket, &manifest, "FAILED")
        .await
        .is_empty());

    // CSV with a header row: each row an object of strings, in order.
    storage
        .put(&bucket, "in/rows.csv", "id,name\n1,ann\n2,bob\n")
        .await;
    let extra = get_object(
        &bucket,
        "in/rows.csv",
        json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
    );
    let sm = machine(&server, "e2e-csv", dmap(extra)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(
        output(&d),
        json!([{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}])
    );
    let map_run = map_run_arn(&history(&server, &arn).await);
    assert_eq!(item_counts(&server, &map_run).await, (2, 2, 0));

    // A JSON array.
    storage
        .put(&bucket, "in/array.json", r#"[{"a":1},{"a":2},{"a":3}]"#)
        .await;
    let extra = get_object(&bucket, "in/array.json", json!({"InputType": "JSON"}));
    let sm = machine(&server, "e2e-json", dmap(extra)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!([{"a": 1}, {"a": 2}, {"a": 3}]));
    let map_run = map_run_arn(&history(&server, &arn).await);
    assert_eq!(item_counts(&server, &map_run).await, (3, 3, 0));

    // listObjectsV2 with a Prefix: one child per object under it.
    let extra = json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": bucket, "Prefix": "in/"},
    }});
    let sm = machine(&server, "e2e-list", dmap(extra)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let keys: Vec<_> = output(&d)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["in/array.json", "in/items.jsonl", "in/rows.csv"]);
    assert_eq!(output(&d)[2]["Size"], 20);
    let map_run = map_run_arn(&history(&server, &arn).await);
    assert_eq!(item_counts(&server, &map_run).await, (3, 3, 0));

    // Tolerance exceeded: the run fails, and what ran is still written, the failure to
    // FAILED_0.json.
    storage
        .put(
            &bucket,
            "fail/items.jsonl",
            "{\"n\":1}\n{\"n\":2,\"fail\":true}\n{\"n\":3}\n",
        )
        .await;
    let mut extra = get_object(&bucket, "fail/items.jsonl", json!({"InputType": "JSONL"}));
    extra["MaxConcurrency"] = json!(1);
    extra["ResultWriter"] = json!({"Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": "failed-run"}});
    let sm = machine(&server, "e2e-intolerant", dmap(extra)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "FAILED");
    assert_eq!(d.error(), Some("States.ExceedToleratedFailureThreshold"));
    let map_run = map_run_arn(&history(&server, &arn).await);
    let (total, succeeded, failed) = item_counts(&server, &map_run).await;
    assert_eq!((succeeded, failed), (1, 1), "total {total}");
    let run_id = map_run.rsplit(':').next().unwrap();
    let manifest = storage
        .get_json(&bucket, &format!("failed-run/{run_id}/manifest.json"))
        .await;
    let failures = result_entries(&storage, &bucket, &manifest, "FAILED").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["Status"], "FAILED");
    assert_eq!(failures[0]["Error"], "Boom");
    assert_eq!(failures[0]["Cause"], "asked to fail");
    assert_eq!(failures[0]["Input"], "{\"n\":2,\"fail\":true}");
    let successes = result_entries(&storage, &bucket, &manifest, "SUCCEEDED").await;
    assert_eq!(successes.len(), 1);
    assert_eq!(successes[0]["Input"], "{\"n\":1}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_read_and_results_written_on_a_folder_per_bucket() {
    scenarios(Storage::folder()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_read_and_results_written_on_an_s3_server() {
    if let Some(url) = moto_url() {
        scenarios(Storage::s3(&url)).await;
    }
}
