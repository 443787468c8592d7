//! AWS service integrations through the real server against moto's server
//! (`CAIRN_TEST_MOTO_URL`, started by `scripts/test`): every protocol family through
//! `aws-sdk:*` (json: DynamoDB, Secrets Manager, EventBridge, SQS; rest-json: Lambda; rest-xml:
//! S3; query: SNS; ec2: EC2), the optimized DynamoDB, SQS (with `.waitForTaskToken` and a
//! consumer that answers), SNS and EventBridge integrations, service errors named as AWS names
//! them, no answer, and nothing configured; `.sync` for ECS (moto: to its end and aborted; an
//! in-test stand-in from `standins/` for a failing container and a timeout), Glue and Batch.
//!
//! Without `CAIRN_TEST_MOTO_URL` the moto tests print why and pass, except in CI (`CI=true`),
//! where they fail.

#[path = "resources_helpers.rs"]
mod helpers;
mod standins;

use cairn::config::Config;
use helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// moto's URL, or `None` (after saying why) when the tests should be skipped.
fn moto_url() -> Option<String> {
    match std::env::var("CAIRN_TEST_MOTO_URL") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CAIRN_TEST_MOTO_URL is not set in CI: scripts/test starts moto's server")
        }
        _ => {
            eprintln!("skipped: CAIRN_TEST_MOTO_URL is not set (scripts/test starts moto)");
            None
        }
    }
}

/// A server whose AWS settings file sends every service to `url`.
async fn server_for(url: &str) -> (TestServer, tempfile::TempDir) {
    server_for_scaled(url, 1.0).await
}

/// [`server_for`], with Wait states, timeouts and `.sync` polls scaled by `scale`.
async fn server_for_scaled(url: &str, scale: f64) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("aws.toml");
    std::fs::write(
        &settings,
        format!(
            "region = \"us-east-1\"\n[endpoints]\ndefault = \"{url}\"\n\
             [credentials]\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n"
        ),
    )
    .unwrap();
    let server = TestServer::start_with(Config {
        aws_settings_file: Some(settings),
        wait_time_scale: scale,
        ..Config::default()
    })
    .await;
    (server, dir)
}

/// Run one Task with these parameters: Ok(output) or Err((error, cause)).
async fn task(
    server: &TestServer,
    resource: &str,
    params: Value,
) -> Result<Value, (String, String)> {
    let name = format!("m{}", uuid::Uuid::new_v4().simple());
    let sm = machine(
        server,
        &name,
        task_machine(json!({"Resource": resource, "Parameters": params})),
    )
    .await;
    let (_, d) = run(server, &sm, json!({})).await;
    match d.output() {
        Some(_) => Ok(output(&d)),
        None => Err((
            d.error().unwrap_or_default().to_string(),
            d.cause().unwrap_or_default().to_string(),
        )),
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[tokio::test]
async fn dynamodb_optimized_and_sdk() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for(&url).await;
    let table = unique("t");
    let created = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:createTable",
        json!({
            "TableName": table,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await
    .expect("createTable");
    assert_eq!(created["TableDescription"]["TableName"], json!(table));
    // Timestamps come back as ISO 8601 text.
    let date = created["TableDescription"]["CreationDateTime"]
        .as_str()
        .expect("CreationDateTime is text");
    assert!(date.parse::<jiff::Timestamp>().is_ok(), "{date}");

    let item = json!({"id": {"S": "id1"}, "data": {"S": "HelloWorld"}});
    let put = task(
        &server,
        "arn:aws:states:::dynamodb:putItem",
        json!({"TableName": table, "Item": item}),
    )
    .await
    .expect("putItem");
    assert_eq!(put["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    // Header names as the Java SDK shows them.
    assert_eq!(
        put["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"],
        json!("application/x-amz-json-1.0")
    );
    assert!(put["SdkResponseMetadata"]["RequestId"].is_string());

    let got = task(
        &server,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": table, "Key": {"id": {"S": "id1"}}}),
    )
    .await
    .expect("getItem");
    assert_eq!(got["Item"], item);

    let updated = task(
        &server,
        "arn:aws:states:::dynamodb:updateItem",
        json!({
            "TableName": table,
            "Key": {"id": {"S": "id1"}},
            "UpdateExpression": "SET #d = :v",
            "ExpressionAttributeNames": {"#d": "data"},
            "ExpressionAttributeValues": {":v": {"S": "Updated"}},
            "ReturnValues": "ALL_NEW"
        }),
    )
    .await
    .expect("updateItem");
    assert_eq!(updated["Attributes"]["data"], json!({"S": "Updated"}));

    let queried = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:query",
        json!({
            "TableName": table,
            "KeyConditionExpression": "id = :id",
            "ExpressionAttributeValues": {":id": {"S": "id1"}}
        }),
    )
    .await
    .expect("query");
    assert_eq!(queried["Count"], json!(1));

    let deleted = task(
        &server,
        "arn:aws:states:::dynamodb:deleteItem",
        json!({"TableName": table, "Key": {"id": {"S": "id1"}}}),
    )
    .await
    .expect("deleteItem");
    assert!(deleted.get("Attributes").is_none());

    // Errors: optimized (SDK v1 names) and aws-sdk (SDK v2 names).
    let (error, cause) = task(
        &server,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "no-such-table", "Key": {"id": {"S": "x"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "DynamoDB.ResourceNotFoundException");
    assert!(
        cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: "),
        "{cause}"
    );
    let (error, cause) = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:putItem",
        json!({"TableName": "no-such-table", "Item": item}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "DynamoDb.ResourceNotFoundException");
    assert!(
        cause.contains("(Service: DynamoDb, Status Code: 400, Request ID: "),
        "{cause}"
    );
    // A parameter the operation does not have changes nothing and says which.
    let (error, cause) = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
        json!({"TableName": table, "Nope": 1}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("'Nope'"), "{cause}");
    server.stop().await;
}

#[tokio::test]
async fn secrets_manager_s3_ec2_lambda_eventbridge() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for(&url).await;
    // json 1.1
    let name = unique("secret");
    let created = task(
        &server,
        "arn:aws:states:::aws-sdk:secretsmanager:createSecret",
        json!({"Name": name, "SecretString": "HelloWorld"}),
    )
    .await
    .expect("createSecret");
    assert_eq!(created["Name"], json!(name));
    let got = task(
        &server,
        "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
        json!({"SecretId": name}),
    )
    .await
    .expect("getSecretValue");
    assert_eq!(got["SecretString"], json!("HelloWorld"));
    let (error, _) = task(
        &server,
        "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
        json!({"SecretId": "no-such-secret"}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "SecretsManager.ResourceNotFoundException");

    // rest-xml
    let bucket = unique("bucket");
    task(
        &server,
        "arn:aws:states:::aws-sdk:s3:createBucket",
        json!({"Bucket": bucket}),
    )
    .await
    .expect("createBucket");
    let put = task(
        &server,
        "arn:aws:states:::aws-sdk:s3:putObject",
        json!({"Bucket": bucket, "Key": "dir/a b.json", "Body": {"hello": "world"}, "ContentType": "application/json"}),
    )
    .await
    .expect("putObject");
    assert!(put["ETag"].is_string(), "{put}");
    let got = task(
        &server,
        "arn:aws:states:::aws-sdk:s3:getObject",
        json!({"Bucket": bucket, "Key": "dir/a b.json"}),
    )
    .await
    .expect("getObject");
    assert_eq!(got["Body"], json!("{\"hello\":\"world\"}"));
    assert_eq!(got["ContentType"], json!("application/json"));
    let listed = task(
        &server,
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        json!({"Bucket": bucket}),
    )
    .await
    .expect("listObjectsV2");
    assert_eq!(listed["Contents"][0]["Key"], json!("dir/a b.json"));
    assert_eq!(listed["KeyCount"], json!(1));
    let (error, cause) = task(
        &server,
        "arn:aws:states:::aws-sdk:s3:listObjects",
        json!({"Bucket": "someNonexistentBucketName"}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "S3.NoSuchBucketException");
    assert!(
        cause.starts_with("The specified bucket does not exist (Service: S3, Status Code: 404"),
        "{cause}"
    );

    // ec2
    let regions = task(
        &server,
        "arn:aws:states:::aws-sdk:ec2:describeRegions",
        json!({}),
    )
    .await
    .expect("describeRegions");
    let regions = regions["Regions"].as_array().expect("Regions");
    assert!(regions
        .iter()
        .any(|r| r["RegionName"] == json!("us-east-1")));

    // rest-json
    let functions = task(
        &server,
        "arn:aws:states:::aws-sdk:lambda:listFunctions",
        json!({}),
    )
    .await
    .expect("listFunctions");
    assert!(functions["Functions"].is_array(), "{functions}");

    // Optimized EventBridge: Detail given as JSON is sent as its text.
    let put = task(
        &server,
        "arn:aws:states:::events:putEvents",
        json!({"Entries": [{"Detail": {"Message": "hi"}, "DetailType": "t", "Source": "some.source"}]}),
    )
    .await
    .expect("putEvents");
    assert_eq!(put["FailedEntryCount"], json!(0));
    assert!(put["Entries"][0]["EventId"].is_string(), "{put}");
    assert!(put.get("SdkHttpMetadata").is_none());
    server.stop().await;
}

/// A signed-or-not JSON 1.0 call straight to moto (the test's own SQS consumer).
async fn sqs_call(url: &str, action: &str, body: Value) -> Value {
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AmazonSQS.{action}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=testing/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn sqs_sns_and_callbacks() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for(&url).await;
    let queue = task(
        &server,
        "arn:aws:states:::aws-sdk:sqs:createQueue",
        json!({"QueueName": unique("q")}),
    )
    .await
    .expect("createQueue");
    let queue_url = queue["QueueUrl"].as_str().expect("QueueUrl").to_string();
    let sent = task(
        &server,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": queue_url, "MessageBody": {"a": 1}}),
    )
    .await
    .expect("sendMessage");
    assert!(sent["MessageId"].is_string(), "{sent}");
    assert_eq!(
        sent["MD5OfMessageBody"],
        // MD5 of `{"a":1}`, the JSON text sent.
        json!("bb6cb5c68df4652941caf652a366f2d8")
    );
    assert_eq!(sent["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let (error, _) = task(
        &server,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": format!("{url}/123456789012/no-such-queue"), "MessageBody": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "SQS.QueueDoesNotExistException");
    // Requests go to the queue URL's host, as AWS's SDKs send them.
    let (error, cause) = task(
        &server,
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "http://no-such-queue-host.invalid", "MessageBody": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "SQS.SdkClientException");
    assert!(
        cause.starts_with("Unable to execute HTTP request: no-such-queue-host.invalid"),
        "{cause}"
    );

    // .waitForTaskToken: a consumer reads the token from the queue and answers.
    let drained = sqs_call(
        &url,
        "ReceiveMessage",
        json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10}),
    )
    .await;
    assert_eq!(drained["Messages"].as_array().map(Vec::len), Some(1));
    let sm = machine(
        &server,
        "callback",
        task_machine(json!({
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue_url, "MessageBody": {"TaskToken.$": "$$.Task.Token"}}
        })),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let got = sqs_call(
            &url,
            "ReceiveMessage",
            json!({"QueueUrl": queue_url, "WaitTimeSeconds": 1}),
        )
        .await;
        if let Some(m) = got["Messages"].as_array().and_then(|m| m.first()) {
            let body: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
            break body["TaskToken"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no message on the queue");
    };
    server
        .client
        .send_task_success()
        .task_token(token)
        .output(r#"{"answered": true}"#)
        .send()
        .await
        .expect("send task success");
    let d = wait_done(&server, &arn).await;
    assert_eq!(output(&d), json!({"answered": true}));

    // query protocol: SNS
    let topic = task(
        &server,
        "arn:aws:states:::aws-sdk:sns:createTopic",
        json!({"Name": unique("topic")}),
    )
    .await
    .expect("createTopic");
    let topic_arn = topic["TopicArn"].as_str().expect("TopicArn");
    let published = task(
        &server,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": topic_arn, "Message": {"hello": "world"},
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}}),
    )
    .await
    .expect("publish");
    assert!(published["MessageId"].is_string(), "{published}");
    let (error, _) = task(
        &server,
        "arn:aws:states:::sns:publish",
        json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:no-such-topic", "Message": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "SNS.NotFoundException");
    server.stop().await;
}

#[tokio::test]
async fn no_answer_and_nothing_configured() {
    // A closed port: no answer.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (server, _dir) = server_for(&format!("http://{closed}")).await;
    let (error, cause) = task(
        &server,
        "arn:aws:states:::dynamodb:getItem",
        json!({"TableName": "t", "Key": {"id": {"S": "x"}}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "DynamoDB.SdkClientException");
    assert!(
        cause.starts_with("Unable to execute HTTP request: "),
        "{cause}"
    );
    let (error, _) = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:listTables",
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "DynamoDb.SdkClientException");
    server.stop().await;

    // Nothing configured: says how to configure or mock.
    let server = TestServer::start().await;
    let (error, cause) = task(
        &server,
        "arn:aws:states:::aws-sdk:dynamodb:listTables",
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("--aws-endpoint dynamodb=URL"), "{cause}");
    assert!(cause.contains("AWS_ENDPOINT_URL_DYNAMODB"), "{cause}");
    assert!(cause.contains("mock"), "{cause}");
    let (error, cause) = task(
        &server,
        "arn:aws:states:::aws-sdk:nosuchservice:doIt",
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("nosuchservice"), "{cause}");
    server.stop().await;
}

#[tokio::test]
async fn glue_job_run_sync_to_its_end() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for(&url).await;
    let job = unique("job");
    task(
        &server,
        "arn:aws:states:::aws-sdk:glue:createJob",
        json!({"Name": job, "Role": "r", "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/s.py"}}),
    )
    .await
    .expect("createJob");
    let sm = machine(
        &server,
        "glue-sync",
        task_machine(json!({
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": job}
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out = output(&d);
    assert_eq!(out["JobRunState"], json!("SUCCEEDED"), "{out}");
    assert_eq!(out["JobName"], json!(job));
    let types = history_types(&server, &arn).await;
    let submitted = types.iter().position(|t| t == "TaskSubmitted");
    let succeeded = types.iter().position(|t| t == "TaskSucceeded");
    assert!(submitted.is_some() && submitted < succeeded, "{types:?}");
    server.stop().await;
}

/// A Glue stand-in whose job runs until stopped: records BatchStopJobRun.
async fn endless_glue() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::http::HeaderMap;
    let stops = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = stops.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let recorded = recorded.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let answer = match target.as_str() {
                    "AWSGlue.StartJobRun" => json!({"JobRunId": "jr_1"}),
                    "AWSGlue.GetJobRun" => {
                        json!({"JobRun": {"Id": "jr_1", "JobName": body["JobName"], "JobRunState": "RUNNING"}})
                    }
                    "AWSGlue.BatchStopJobRun" => {
                        recorded.lock().unwrap().push(body.clone());
                        json!({"SuccessfulSubmissions": [{"JobName": body["JobName"], "JobRunId": "jr_1"}], "Errors": []})
                    }
                    _ => json!({}),
                };
                (
                    [("content-type", "application/x-amz-json-1.1")],
                    answer.to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), stops)
}

#[tokio::test]
async fn sync_job_is_stopped_when_the_execution_is() {
    let (url, stops) = endless_glue().await;
    let mut config = Config::default();
    config.aws_endpoints.insert("glue".into(), url);
    let server = TestServer::start_with(config).await;
    let sm = machine(
        &server,
        "glue-endless",
        task_machine(json!({
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": "etl"}
        })),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !history_types(&server, &arn)
        .await
        .contains(&"TaskSubmitted".to_string())
    {
        assert!(Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop execution");
    while stops.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the job run was never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        stops.lock().unwrap()[0],
        json!({"JobName": "etl", "JobRunIds": ["jr_1"]})
    );
    assert_eq!(wait_done(&server, &arn).await.status().as_str(), "ABORTED");
    server.stop().await;
}

#[tokio::test]
async fn sync_job_times_out_and_is_stopped() {
    let (url, stops) = endless_glue().await;
    let mut config = Config::default();
    config.aws_endpoints.insert("glue".into(), url);
    let server = TestServer::start_with(config).await;
    let sm = machine(
        &server,
        "glue-timeout",
        task_machine(json!({
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": "etl"},
            "TimeoutSeconds": 1
        })),
    )
    .await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Timeout"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while stops.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the job run was never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn step_functions_against_another_endpoint() {
    // Server B plays "another Step Functions"; server A sends aws-sdk:sfn there.
    let b = TestServer::start().await;
    let remote = b
        .create_machine(
            "remote-machine",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let mut config = Config::default();
    config
        .aws_endpoints
        .insert("sfn".into(), b.endpoint.clone());
    let a = TestServer::start_with(config).await;
    let listed = task(
        &a,
        "arn:aws:states:::aws-sdk:sfn:listStateMachines",
        json!({}),
    )
    .await
    .expect("listStateMachines");
    let arns: Vec<&Value> = listed["StateMachines"]
        .as_array()
        .expect("StateMachines")
        .iter()
        .map(|m| &m["StateMachineArn"])
        .collect();
    assert_eq!(arns, [&json!(remote)]);
    let (error, cause) = task(
        &a,
        "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
        json!({"StateMachineArn": format!("{remote}-nope")}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "Sfn.StateMachineDoesNotExistException");
    assert!(
        cause.contains("(Service: Sfn, Status Code: 400, Request ID: "),
        "{cause}"
    );
    a.stop().await;
    b.stop().await;
}

/// A DynamoDB stand-in: throttles the first call, answers the others; records each call's
/// Authorization and X-Amz-Target headers.
async fn throttling_dynamodb() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use axum::http::{HeaderMap, StatusCode};
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = calls.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap| {
            let recorded = recorded.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let n = {
                    let mut calls = recorded.lock().unwrap();
                    calls.push((h("authorization"), h("x-amz-target")));
                    calls.len()
                };
                let ct = [("content-type", "application/x-amz-json-1.0")];
                if n == 1 {
                    (
                        StatusCode::BAD_REQUEST,
                        ct,
                        json!({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                               "message": "Rate of requests exceeds the allowed throughput."})
                        .to_string(),
                    )
                } else {
                    (StatusCode::OK, ct, json!({"TableNames": ["t"]}).to_string())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

#[tokio::test]
async fn throttling_is_the_services_error_for_retry_and_requests_are_signed() {
    let (url, calls) = throttling_dynamodb().await;
    let (server, _dir) = server_for(&url).await;
    let sm = machine(
        &server,
        "throttled",
        task_machine(json!({
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables",
            "Parameters": {},
            "Retry": [{"ErrorEquals": ["DynamoDb.ThrottlingException"], "IntervalSeconds": 1, "MaxAttempts": 1}]
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d), json!({"TableNames": ["t"]}));
    let failed: Vec<String> = history(&server, &arn)
        .await
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .map(|f| {
            format!(
                "{} / {}",
                f.error().unwrap_or_default(),
                f.cause().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("DynamoDb.ThrottlingException / Rate of requests exceeds the allowed throughput. (Service: DynamoDb, Status Code: 400, Request ID: "),
        "{failed:?}"
    );
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for (auth, target) in &calls {
        // SigV4 with the settings file's key, for DynamoDB in the settings' region.
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=testing/")
                && auth.contains("/us-east-1/dynamodb/aws4_request")
                && auth.contains("SignedHeaders=")
                && auth.contains("Signature="),
            "{auth}"
        );
        assert_eq!(target, "DynamoDB_20120810.ListTables");
    }
    server.stop().await;
}

#[tokio::test]
async fn mocks_win_over_configured_endpoints() {
    let (url, calls) = throttling_dynamodb().await;
    let dir = tempfile::tempdir().unwrap();
    let mocks = dir.path().join("mocks.json");
    std::fs::write(
        &mocks,
        r#"{"StateMachines": {"mocked": {"TestCases": {"T": {"Put": "PutOk"}}}},
            "MockedResponses": {"PutOk": {"0": {"Return": {"mocked": true}}}}}"#,
    )
    .unwrap();
    let mut config = Config {
        mock_config: Some(mocks),
        ..Config::default()
    };
    config.aws_endpoints.insert("dynamodb".into(), url);
    let server = TestServer::start_with(config).await;
    let sm = server
        .create_machine(
            "mocked",
            &json!({"StartAt": "Put", "States": {"Put": {"Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "t", "Item": {}}, "End": true}}}),
        )
        .await;
    let (_, d) = run(&server, &format!("{sm}#T"), json!({})).await;
    assert_eq!(output(&d), json!({"mocked": true}));
    assert!(calls.lock().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn batch_job_sync_that_fails_fails_the_task() {
    // A Batch stand-in (REST-JSON): the job is RUNNING once, then FAILED.
    let polls = std::sync::Arc::new(std::sync::Mutex::new(0));
    let counted = polls.clone();
    let app = axum::Router::new()
        .route(
            "/v1/submitjob",
            axum::routing::post(|body: String| async move {
                let body: Value = serde_json::from_str(&body).unwrap();
                axum::Json(
                    json!({"jobArn": "arn:aws:batch:us-east-1:123456789012:job/j-1",
                                  "jobId": "j-1", "jobName": body["jobName"]}),
                )
            }),
        )
        .route(
            "/v1/describejobs",
            axum::routing::post(move |body: String| {
                let counted = counted.clone();
                async move {
                    let body: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(body, json!({"jobs": ["j-1"]}));
                    let n = {
                        let mut p = counted.lock().unwrap();
                        *p += 1;
                        *p
                    };
                    let status = if n == 1 { "RUNNING" } else { "FAILED" };
                    axum::Json(json!({"jobs": [{"jobId": "j-1", "jobName": "nightly",
                        "status": status, "statusReason": "Essential container in task exited",
                        "createdAt": 1700000000000_i64}]}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = Config {
        wait_time_scale: 0.05,
        ..Config::default()
    };
    config
        .aws_endpoints
        .insert("batch".into(), format!("http://{addr}"));
    let server = TestServer::start_with(config).await;
    let sm = machine(
        &server,
        "batch-sync",
        task_machine(json!({
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {"JobName": "nightly", "JobQueue": "q", "JobDefinition": "d"}
        })),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause().unwrap()).unwrap();
    assert_eq!(cause["Status"], json!("FAILED"));
    assert_eq!(cause["JobId"], json!("j-1"));
    assert_eq!(*polls.lock().unwrap(), 2);
    // The submission answer is the TaskSubmitted output.
    let submitted = history(&server, &arn)
        .await
        .iter()
        .find_map(|e| {
            e.task_submitted_event_details()
                .map(|s| s.output().unwrap_or_default().to_string())
        })
        .expect("TaskSubmitted");
    let submitted: Value = serde_json::from_str(&submitted).unwrap();
    assert_eq!(submitted["JobId"], json!("j-1"));
    assert_eq!(submitted["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    server.stop().await;
}

/// An ECS cluster and task definition in moto, through `aws-sdk:ecs:*` tasks.
async fn moto_ecs_setup(server: &TestServer) -> (String, String) {
    let cluster = unique("cluster");
    let family = unique("job");
    task(
        server,
        "arn:aws:states:::aws-sdk:ecs:createCluster",
        json!({"ClusterName": cluster}),
    )
    .await
    .expect("createCluster");
    task(
        server,
        "arn:aws:states:::aws-sdk:ecs:registerTaskDefinition",
        json!({"Family": family, "ContainerDefinitions": [
            {"Name": "app", "Image": "busybox", "Memory": 128, "Essential": true}]}),
    )
    .await
    .expect("registerTaskDefinition");
    (cluster, family)
}

fn run_task_machine(cluster: &str, family: &str) -> Value {
    // moto places EC2 tasks only on registered container instances (RunTask answers 500
    // without one); FARGATE tasks need none.
    task_machine(json!({
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": cluster, "TaskDefinition": family, "LaunchType": "FARGATE"}
    }))
}

#[tokio::test]
async fn ecs_run_task_sync_to_its_end() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for_scaled(&url, 0.05).await;
    let (cluster, family) = moto_ecs_setup(&server).await;
    let sm = machine(&server, "ecs-sync", run_task_machine(&cluster, &family)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    // The result is the task as DescribeTasks shows it once STOPPED.
    let out = output(&d);
    assert_eq!(out["LastStatus"], json!("STOPPED"), "{out}");
    assert!(
        out["ClusterArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("cluster/{cluster}")),
        "{out}"
    );
    assert_eq!(out["Containers"][0]["ExitCode"], json!(0), "{out}");
    // The submission (RunTask's answer, with the SDK metadata) is the TaskSubmitted output.
    let submitted = history(&server, &arn)
        .await
        .iter()
        .find_map(|e| {
            e.task_submitted_event_details()
                .map(|s| s.output().unwrap_or_default().to_string())
        })
        .expect("TaskSubmitted");
    let submitted: Value = serde_json::from_str(&submitted).unwrap();
    assert_eq!(submitted["Tasks"][0]["TaskArn"], out["TaskArn"]);
    assert_eq!(submitted["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    server.stop().await;
}

#[tokio::test]
async fn ecs_run_task_sync_is_stopped_when_the_execution_is() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for(&url).await;
    let (cluster, family) = moto_ecs_setup(&server).await;
    let sm = machine(&server, "ecs-abort", run_task_machine(&cluster, &family)).await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let submitted = loop {
        let found = history(&server, &arn).await.iter().find_map(|e| {
            e.task_submitted_event_details()
                .map(|s| s.output().unwrap_or_default().to_string())
        });
        if let Some(s) = found {
            break serde_json::from_str::<Value>(&s).unwrap();
        }
        assert!(Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let task_arn = submitted["Tasks"][0]["TaskArn"].clone();
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop execution");
    assert_eq!(wait_done(&server, &arn).await.status().as_str(), "ABORTED");
    // moto shows the task stopped with Step Functions' reason.
    loop {
        let described = task(
            &server,
            "arn:aws:states:::aws-sdk:ecs:describeTasks",
            json!({"Cluster": cluster, "Tasks": [task_arn]}),
        )
        .await
        .expect("describeTasks");
        let t = &described["Tasks"][0];
        if t["DesiredStatus"] == "STOPPED" {
            assert!(
                t["StoppedReason"]
                    .as_str()
                    .unwrap()
                    .contains("Step Functions"),
                "{t}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the task was never stopped: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn ecs_run_task_sync_whose_container_fails_fails_the_task() {
    // moto's containers always exit 0: a stand-in whose task stops with exit code 2.
    let ecs = standins::Ecs::start(standins::Ending::AfterPolls {
        polls: 2,
        exit_code: 2,
    })
    .await;
    let (server, _dir) = server_for_scaled(&ecs.url, 0.05).await;
    let sm = machine(&server, "ecs-fail", run_task_machine("c1", "job:1")).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause().unwrap()).unwrap();
    assert_eq!(cause["LastStatus"], json!("STOPPED"), "{cause}");
    assert_eq!(cause["Containers"][0]["ExitCode"], json!(2), "{cause}");
    assert_eq!(
        cause["StopCode"],
        json!("EssentialContainerExited"),
        "{cause}"
    );
    assert_eq!(ecs.submissions(), 1);
    assert!(ecs.stops().is_empty(), "an ended task is not stopped");
    server.stop().await;
}

#[tokio::test]
async fn ecs_run_task_sync_timed_out_calls_stop_task() {
    let ecs = standins::Ecs::start(standins::Ending::Never).await;
    let (server, _dir) = server_for_scaled(&ecs.url, 0.05).await;
    let mut definition = run_task_machine("c1", "job:1");
    definition["States"]["T"]["TimeoutSeconds"] = json!(2);
    let sm = machine(&server, "ecs-timeout", definition).await;
    let (_, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.error(), Some("States.Timeout"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while ecs.stops().is_empty() {
        assert!(Instant::now() < deadline, "StopTask was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stop = &ecs.stops()[0];
    assert_eq!(
        stop["cluster"],
        json!("arn:aws:ecs:us-east-1:123456789012:cluster/c1")
    );
    assert_eq!(stop["task"], ecs.tasks()[0]["taskArn"]);
    assert_eq!(ecs.tasks()[0]["lastStatus"], json!("STOPPED"));
    server.stop().await;
}

/// A `.sync` ECS task with HeartbeatSeconds: the task token is in `$$.Task.Token` (passed to
/// the container here), SendTaskHeartbeat with it keeps the task alive past HeartbeatSeconds,
/// and the job's end ends the task.
#[tokio::test]
async fn sync_task_heartbeats_keep_it_alive() {
    let ecs = standins::Ecs::start(standins::Ending::Never).await;
    let (server, _dir) = server_for(&ecs.url).await;
    let sm = machine(
        &server,
        "ecs-heartbeat",
        task_machine(json!({
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "HeartbeatSeconds": 2,
            "Parameters": {"Cluster": "c1", "TaskDefinition": "job:1",
                "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [
                    {"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]}}
        })),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ecs.submissions() == 0 {
        assert!(Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body = ecs.run_task_bodies()[0].clone();
    let token = body["overrides"]["containerOverrides"][0]["environment"][0]["value"]
        .as_str()
        .expect("the token in the container's environment")
        .to_string();
    // Heartbeats every 200 ms, as the job would send them; the job ends after twice
    // HeartbeatSeconds, and the heartbeats go on until the task has seen that end.
    let begin = Instant::now();
    let mut finished = false;
    let d = loop {
        let beat = server
            .client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await;
        let d = server
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        if d.status().as_str() != "RUNNING" {
            break d;
        }
        beat.expect("send task heartbeat");
        if !finished && begin.elapsed() > Duration::from_secs(4) {
            ecs.finish_all(0);
            finished = true;
        }
        assert!(begin.elapsed() < Duration::from_secs(30), "still running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(finished, "ended before the job: {:?}", d.error());
    assert_eq!(
        d.status().as_str(),
        "SUCCEEDED",
        "{:?} {:?} {:?}",
        d.error(),
        d.cause(),
        history_types(&server, &arn).await
    );
    assert!(ecs.stops().is_empty());
    server.stop().await;
}

/// Without heartbeats the `.sync` task times out with `States.HeartbeatTimeout` matching
/// (history: TaskTimedOut `States.Timeout`), and its job is stopped.
#[tokio::test]
async fn sync_task_without_heartbeats_times_out_and_stops_the_job() {
    let ecs = standins::Ecs::start(standins::Ending::Never).await;
    let (server, _dir) = server_for_scaled(&ecs.url, 0.05).await;
    let sm = machine(
        &server,
        "ecs-no-heartbeat",
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "HeartbeatSeconds": 2,
                "Parameters": {"Cluster": "c1", "TaskDefinition": "job:1"},
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Missed"}],
                "End": true},
            "Missed": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    assert_eq!(output(&d)["Error"], json!("States.Timeout"));
    let types = history_types(&server, &arn).await;
    assert!(types.contains(&"TaskTimedOut".to_string()), "{types:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ecs.stops().is_empty() {
        assert!(Instant::now() < deadline, "StopTask was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// `.waitForTaskToken` with HeartbeatSeconds (a service with no endpoint: the token in the
/// parameters is for whoever plays it): heartbeats keep the task past HeartbeatSeconds and
/// SendTaskSuccess ends it; without heartbeats it times out, caught as
/// `States.HeartbeatTimeout`.
#[tokio::test]
async fn callback_task_heartbeats() {
    let server = TestServer::start().await;
    let definition = |heartbeat: u64| {
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "HeartbeatSeconds": heartbeat,
                "Parameters": {"QueueUrl": "http://127.0.0.1:1/q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Missed"}],
                "End": true},
            "Missed": {"Type": "Pass", "Result": "missed", "End": true}}})
    };
    let token_of = |events: &[aws_sdk_sfn::types::HistoryEvent]| -> Option<String> {
        let p = events
            .iter()
            .find_map(|e| e.task_scheduled_event_details())?
            .parameters()
            .to_string();
        let p: Value = serde_json::from_str(&p).ok()?;
        p["MessageBody"]["token"].as_str().map(str::to_string)
    };
    let sm = machine(&server, "callback-heartbeat", definition(2)).await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        if let Some(t) = token_of(&history(&server, &arn).await) {
            break t;
        }
        assert!(Instant::now() < deadline, "never scheduled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let begin = Instant::now();
    while begin.elapsed() < Duration::from_secs(4) {
        server
            .client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await
            .expect("send task heartbeat");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server
        .client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"ok": true}"#)
        .send()
        .await
        .expect("send task success");
    let d = wait_done(&server, &arn).await;
    assert_eq!(output(&d), json!({"ok": true}), "{:?}", d.error());

    // No heartbeat: caught as States.HeartbeatTimeout; the history says States.Timeout.
    let sm = machine(&server, "callback-no-heartbeat", definition(1)).await;
    let (arn, d) = run(&server, &sm, json!({})).await;
    assert_eq!(output(&d), json!("missed"));
    let timed_out = history(&server, &arn)
        .await
        .iter()
        .find_map(|e| {
            e.task_timed_out_event_details()
                .map(|t| t.error().map(str::to_string))
        })
        .expect("TaskTimedOut");
    assert_eq!(timed_out.as_deref(), Some("States.Timeout"));
    server.stop().await;
}

/// SageMaker `.sync` against moto (its jobs complete at once): training and processing jobs
/// to their end, with the `Describe*` answer as the result.
#[tokio::test]
async fn sagemaker_jobs_sync_to_their_end() {
    let Some(url) = moto_url() else { return };
    let (server, _dir) = server_for_scaled(&url, 0.05).await;
    let role = "arn:aws:iam::123456789012:role/sagemaker";
    let training = unique("train");
    let out = task(
        &server,
        "arn:aws:states:::sagemaker:createTrainingJob.sync",
        json!({"TrainingJobName": training, "RoleArn": role,
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}}),
    )
    .await
    .expect("createTrainingJob.sync");
    assert_eq!(out["TrainingJobStatus"], json!("Completed"), "{out}");
    assert_eq!(out["TrainingJobName"], json!(training));
    let processing = unique("proc");
    let out = task(
        &server,
        "arn:aws:states:::sagemaker:createProcessingJob.sync",
        json!({"ProcessingJobName": processing, "RoleArn": role,
            "AppSpecification": {"ImageUri": "img"},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}}}),
    )
    .await
    .expect("createProcessingJob.sync");
    assert_eq!(out["ProcessingJobStatus"], json!("Completed"), "{out}");
    server.stop().await;
}

async fn sagemaker_server(
    ending: standins::Ending,
) -> (standins::SageMaker, TestServer, tempfile::TempDir) {
    let sm = standins::SageMaker::start(ending).await;
    let (server, dir) = server_for_scaled(&sm.url, 0.05).await;
    (sm, server, dir)
}

#[tokio::test]
async fn sagemaker_sync_job_that_fails_fails_the_task() {
    let (sagemaker, server, _dir) = sagemaker_server(standins::Ending::AfterPolls {
        polls: 2,
        exit_code: 1,
    })
    .await;
    let (error, cause) = task(
        &server,
        "arn:aws:states:::sagemaker:createTransformJob.sync",
        json!({"TransformJobName": "nightly", "ModelName": "m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/out"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}),
    )
    .await
    .unwrap_err();
    assert_eq!(error, "States.TaskFailed");
    let cause: Value = serde_json::from_str(&cause).unwrap();
    assert_eq!(cause["TransformJobStatus"], json!("Failed"), "{cause}");
    assert!(cause["FailureReason"].as_str().is_some(), "{cause}");
    assert_eq!(sagemaker.submissions(), 1);
    server.stop().await;
}

#[tokio::test]
async fn sagemaker_sync_job_is_stopped_when_the_execution_is() {
    let (sagemaker, server, _dir) = sagemaker_server(standins::Ending::Never).await;
    let sm = machine(
        &server,
        "sagemaker-abort",
        task_machine(json!({
            "Resource": "arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync",
            "Parameters": {"HyperParameterTuningJobName": "tune",
                "HyperParameterTuningJobConfig": {"Strategy": "Bayesian",
                    "ResourceLimits": {"MaxParallelTrainingJobs": 1}}}
        })),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !history_types(&server, &arn)
        .await
        .contains(&"TaskSubmitted".to_string())
    {
        assert!(Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop execution");
    while sagemaker.stops().is_empty() {
        assert!(Instant::now() < deadline, "the job was never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sagemaker.stops()[0],
        json!({"operation": "StopHyperParameterTuningJob",
               "body": {"HyperParameterTuningJobName": "tune"}})
    );
    assert_eq!(wait_done(&server, &arn).await.status().as_str(), "ABORTED");
    server.stop().await;
}
