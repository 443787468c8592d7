//! `--auth sigv4`: requests signed by aws-sdk-rust, boto3 and the AWS CLI with a key of the
//! credentials file get in and act in that key's account; wrong secrets, unknown keys, wrong
//! session tokens, missing or malformed `Authorization` headers and expired signatures are
//! refused with AWS's codes. boto3/CLI cases skip (saying so) when `/work/venv` or `CAIRN_PYTHON`
//! is missing outside CI.

mod common;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use cairn::api::auth::Credentials as Keys;
use common::{error_code, TestServer};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SECRET_A: &str = "secret-of-account-a";
const SECRET_B: &str = "secret-of-account-b";

async fn server() -> TestServer {
    let keys = Keys::from_document(&serde_json::json!({"credentials": [
        {"access_key_id": "AKIDA", "secret_access_key": SECRET_A, "account_id": "111111111111"},
        {"access_key_id": "AKIDB", "secret_access_key": SECRET_B, "account_id": "222222222222"},
        {"access_key_id": "ASIAT", "secret_access_key": "temp-secret", "account_id": "333333333333",
         "session_token": "the-session-token"}
    ]}))
    .unwrap();
    TestServer::start_with(cairn::config::Config {
        credentials: Some(Arc::new(keys)),
        ..Default::default()
    })
    .await
}

#[derive(Debug)]
struct Clock(SystemTime);

impl aws_smithy_async::time::TimeSource for Clock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

fn sdk(
    server: &TestServer,
    key: &str,
    secret: &str,
    token: Option<&str>,
    clock: Option<SystemTime>,
) -> aws_sdk_sfn::Client {
    let mut config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&server.endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            key,
            secret,
            token.map(str::to_string),
            None,
            "test",
        ))
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled());
    if let Some(t) = clock {
        config = config.time_source(Clock(t));
    }
    aws_sdk_sfn::Client::from_conf(config.build())
}

#[tokio::test]
async fn each_key_acts_in_its_own_account() {
    let server = server().await;
    let a = sdk(&server, "AKIDA", SECRET_A, None, None);
    let b = sdk(&server, "AKIDB", SECRET_B, None, None);
    let arn_a = a
        .create_activity()
        .name("work")
        .send()
        .await
        .unwrap()
        .activity_arn;
    assert_eq!(arn_a, "arn:aws:states:eu-west-1:111111111111:activity:work");
    let arn_b = b
        .create_activity()
        .name("work")
        .send()
        .await
        .unwrap()
        .activity_arn;
    assert_eq!(arn_b, "arn:aws:states:eu-west-1:222222222222:activity:work");
    let temp = sdk(
        &server,
        "ASIAT",
        "temp-secret",
        Some("the-session-token"),
        None,
    );
    let arn_t = temp
        .create_activity()
        .name("work")
        .send()
        .await
        .unwrap()
        .activity_arn;
    assert!(arn_t.contains(":333333333333:"), "{arn_t}");
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_aws_codes() {
    let server = server().await;
    let cases = [
        (
            sdk(&server, "AKIDA", "not-the-secret", None, None),
            "InvalidSignatureException",
        ),
        (
            sdk(&server, "AKIDX", SECRET_A, None, None),
            "UnrecognizedClientException",
        ),
        (
            sdk(&server, "ASIAT", "temp-secret", None, None),
            "UnrecognizedClientException",
        ),
        (
            sdk(&server, "ASIAT", "temp-secret", Some("other"), None),
            "UnrecognizedClientException",
        ),
        (
            sdk(&server, "AKIDA", SECRET_A, Some("unasked"), None),
            "UnrecognizedClientException",
        ),
        (
            sdk(
                &server,
                "AKIDA",
                SECRET_A,
                None,
                Some(SystemTime::now() - Duration::from_secs(600)),
            ),
            "InvalidSignatureException",
        ),
        (
            sdk(
                &server,
                "AKIDA",
                SECRET_A,
                None,
                Some(SystemTime::now() + Duration::from_secs(600)),
            ),
            "InvalidSignatureException",
        ),
    ];
    for (i, (client, code)) in cases.iter().enumerate() {
        let err = client
            .create_activity()
            .name(format!("refused-{i}"))
            .send()
            .await
            .expect_err("refused");
        assert_eq!(
            error_code(&err).as_deref(),
            Some(*code),
            "case {i}: {err:?}"
        );
    }
    // Nothing was created by the refused requests.
    let a = sdk(&server, "AKIDA", SECRET_A, None, None);
    assert!(a
        .list_activities()
        .send()
        .await
        .unwrap()
        .activities()
        .is_empty());
}

#[tokio::test]
async fn unsigned_and_malformed_requests_are_refused() {
    let server = server().await;
    let (status, _, body) = server.raw("AWSStepFunctions.ListActivities", "{}").await;
    assert_eq!(status, 403);
    assert!(body["__type"]
        .as_str()
        .unwrap()
        .ends_with("#MissingAuthenticationTokenException"));
    assert_eq!(body["message"], "Missing Authentication Token");
    let (status, _, body) = server
        .raw_with_headers(
            &[
                ("x-amz-target", "AWSStepFunctions.ListActivities"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDA/20240101/us-east-1/states/aws4_request",
                ),
            ],
            "{}",
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["__type"]
        .as_str()
        .unwrap()
        .ends_with("#IncompleteSignatureException"));
    assert!(body["message"].as_str().unwrap().contains("'Signature'"));
}

/// boto3 and the AWS CLI, right and wrong secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_the_cli_sign_as_the_server_checks() {
    let python = std::env::var("CAIRN_PYTHON").unwrap_or("/work/venv/bin/python".into());
    let cli = std::path::Path::new(&python).with_file_name("aws");
    if !std::path::Path::new(&python).exists() || !cli.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "boto3/CLI missing in CI"
        );
        eprintln!("skipped: no Python with boto3 and the AWS CLI at {python}");
        return;
    }
    let server = server().await;
    let script = r#"
import sys, boto3, botocore
def client(secret):
    return boto3.client('stepfunctions', endpoint_url=sys.argv[1], region_name='us-east-1',
        aws_access_key_id='AKIDB', aws_secret_access_key=secret,
        config=botocore.config.Config(retries={'max_attempts': 0}))
print(client(sys.argv[2]).create_activity(name='boto')['activityArn'])
try:
    client('wrong').list_activities()
    print('ACCEPTED')
except botocore.exceptions.ClientError as e:
    print(e.response['Error']['Code'])
"#;
    let out = tokio::process::Command::new(&python)
        .args(["-c", script, &server.endpoint, SECRET_B])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "arn:aws:states:us-east-1:222222222222:activity:boto",
            "InvalidSignatureException"
        ]
    );
    for (secret, ok) in [(SECRET_B, true), ("wrong", false)] {
        let out = tokio::process::Command::new(&cli)
            .args([
                "stepfunctions",
                "list-activities",
                "--endpoint-url",
                &server.endpoint,
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDB")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.success(), ok, "{stdout}{stderr}");
        if ok {
            assert!(stdout.contains(":222222222222:activity:boto"), "{stdout}");
        } else {
            assert!(stderr.contains("InvalidSignatureException"), "{stderr}");
        }
    }
}

#[tokio::test]
async fn accounts_do_not_see_each_other() {
    let server = server().await;
    let a = sdk(&server, "AKIDA", SECRET_A, None, None);
    let b = sdk(&server, "AKIDB", SECRET_B, None, None);
    let activity = a
        .create_activity()
        .name("private")
        .send()
        .await
        .unwrap()
        .activity_arn;
    b.create_activity().name("mine").send().await.unwrap();
    let err = b
        .describe_activity()
        .activity_arn(&activity)
        .send()
        .await
        .expect_err("another account's activity");
    assert_eq!(error_code(&err).as_deref(), Some("AccessDeniedException"));
    let listed = b.list_activities().send().await.unwrap();
    let names: Vec<&str> = listed.activities().iter().map(|x| x.name()).collect();
    assert_eq!(names, ["mine"]);
    // A task token of account A's execution is refused to account B, then A answers it.
    let machine = a
        .create_state_machine()
        .name("m")
        .role_arn("arn:aws:iam::111111111111:role/r")
        .definition(
            serde_json::json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": activity, "End": true}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let execution = a
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task = a
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    let token = task.task_token().expect("a task is waiting").to_string();
    let err = b
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect_err("another account's token");
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));
    let err = b
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .expect_err("another account's execution");
    assert_eq!(error_code(&err).as_deref(), Some("AccessDeniedException"));
    a.send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect("the owner answers");
}

#[tokio::test]
async fn the_worker_client_signs_when_given_credentials() {
    let server = server().await;
    let signer = |secret: &str| {
        Some(cairn_worker::Signer {
            access_key_id: "AKIDB".into(),
            secret_access_key: secret.into(),
            session_token: None,
        })
    };
    let mut conn = cairn_worker::SfnConnection::new(&server.endpoint)
        .unwrap()
        .with_signer(signer(SECRET_B));
    let created = conn
        .call("CreateActivity", &serde_json::json!({"name": "signed"}))
        .await
        .expect("signed call accepted");
    assert!(created["activityArn"]
        .as_str()
        .unwrap()
        .contains(":222222222222:"));
    let mut wrong = cairn_worker::SfnConnection::new(&server.endpoint)
        .unwrap()
        .with_signer(signer("wrong"));
    let err = wrong
        .call("ListActivities", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidSignatureException");
    let mut unsigned = cairn_worker::SfnConnection::new(&server.endpoint)
        .unwrap()
        .with_signer(None);
    let err = unsigned
        .call("ListActivities", &serde_json::json!({}))
        .await
        .unwrap_err();
    // The unsigned placeholder header has no X-Amz-Date.
    assert_eq!(err.code, "IncompleteSignatureException");
}

/// `cairn worker` signs with the AWS environment variables and finishes a task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cairn_worker_signs_with_the_environment_credentials() {
    let server = server().await;
    let a = sdk(&server, "AKIDA", SECRET_A, None, None);
    let activity = a
        .create_activity()
        .name("cli")
        .send()
        .await
        .unwrap()
        .activity_arn;
    let machine = a
        .create_state_machine()
        .name("cli")
        .role_arn("arn:aws:iam::111111111111:role/r")
        .definition(
            serde_json::json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": activity, "End": true}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let execution = a
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "worker",
            "--activity",
            &activity,
            "--endpoint",
            &server.endpoint,
        ])
        .args(["--", "cat"])
        .env("AWS_ACCESS_KEY_ID", "AKIDA")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_A)
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env_remove("AWS_SESSION_TOKEN")
        .kill_on_drop(true)
        .spawn()
        .expect("start cairn worker");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let d = a
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never answered"
        );
        if let Ok(Some(status)) = worker.try_wait() {
            panic!("cairn worker exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = worker.kill().await;
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded
    );
    assert_eq!(done.output(), Some(r#"{"n":1}"#));
}

/// Lists under two accounts with a small `maxResults`: the account filter is in the store's
/// query, so every page is full and `nextToken` leads to the rest, however the two accounts'
/// resources interleave. Lists keyed by a machine (executions, versions, aliases) see only
/// that machine's account, and another account is refused it.
#[tokio::test]
async fn list_pages_are_full_under_two_accounts() {
    let server = server().await;
    let a = sdk(&server, "AKIDA", SECRET_A, None, None);
    let b = sdk(&server, "AKIDB", SECRET_B, None, None);
    let definition = serde_json::json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": true}}})
    .to_string();
    // a1 b1 b2 a2 b3 b4 a3: a page of A's read in creation order holds B's rows between.
    let order = ["a1", "b1", "b2", "a2", "b3", "b4", "a3"];
    let mut machine_a = String::new();
    for name in order {
        let (client, account) = if name.starts_with('a') {
            (&a, "111111111111")
        } else {
            (&b, "222222222222")
        };
        client.create_activity().name(name).send().await.unwrap();
        let arn = client
            .create_state_machine()
            .name(name)
            .role_arn(format!("arn:aws:iam::{account}:role/r"))
            .definition(&definition)
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        if name == "a1" {
            machine_a = arn;
        }
    }
    // ListActivities and ListStateMachines, two at a time.
    let mut activities = Vec::new();
    let mut machines = Vec::new();
    let (mut activity_token, mut machine_token) = (None, None);
    for _ in 0..2 {
        let page = a
            .list_activities()
            .max_results(2)
            .set_next_token(activity_token)
            .send()
            .await
            .unwrap();
        activities.push(
            page.activities()
                .iter()
                .map(|x| x.name())
                .collect::<Vec<_>>()
                .join(","),
        );
        activity_token = page.next_token().map(str::to_string);
        let page = a
            .list_state_machines()
            .max_results(2)
            .set_next_token(machine_token)
            .send()
            .await
            .unwrap();
        machines.push(
            page.state_machines()
                .iter()
                .map(|x| x.name())
                .collect::<Vec<_>>()
                .join(","),
        );
        machine_token = page.next_token().map(str::to_string);
    }
    assert_eq!(activities, ["a1,a2", "a3"]);
    assert_eq!(machines, ["a1,a2", "a3"]);
    assert_eq!((activity_token, machine_token), (None, None));
    let b_page = b.list_state_machines().max_results(3).send().await.unwrap();
    let names: Vec<&str> = b_page.state_machines().iter().map(|x| x.name()).collect();
    assert_eq!(names, ["b1", "b2", "b3"]);
    assert!(b_page.next_token().is_some());

    // Executions and versions of A's machine: full pages for A, refused to B.
    for i in 0..3 {
        a.start_execution()
            .state_machine_arn(&machine_a)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap();
        a.publish_state_machine_version()
            .state_machine_arn(&machine_a)
            .description(format!("v{i}"))
            .send()
            .await
            .unwrap();
        if i < 2 {
            // A new revision, so that the next publish is a new version.
            a.update_state_machine()
                .state_machine_arn(&machine_a)
                .definition(definition.replace("\"P\"", &format!("\"P{i}\"")))
                .send()
                .await
                .unwrap();
        }
    }
    let executions = a
        .list_executions()
        .state_machine_arn(&machine_a)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 2);
    assert!(executions.next_token().is_some());
    let versions = a
        .list_state_machine_versions()
        .state_machine_arn(&machine_a)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.state_machine_versions().len(), 2);
    assert!(versions.next_token().is_some());
    let err = b
        .list_executions()
        .state_machine_arn(&machine_a)
        .send()
        .await
        .expect_err("another account's machine");
    assert_eq!(error_code(&err).as_deref(), Some("AccessDeniedException"));
    let err = b
        .list_state_machine_versions()
        .state_machine_arn(&machine_a)
        .send()
        .await
        .expect_err("another account's machine");
    assert_eq!(error_code(&err).as_deref(), Some("AccessDeniedException"));
}

/// Presigned requests (query-string SigV4) made by botocore's `SigV4QueryAuth`: accepted
/// until `X-Amz-Expires` runs out (even past the 5-minute skew that header signatures
/// get), refused with a wrong secret, a header changed after signing, an expired URL, or a
/// missing parameter.
#[tokio::test]
async fn botocore_presigned_requests_are_verified_with_their_expiry() {
    let python = std::env::var("CAIRN_PYTHON").unwrap_or("/work/venv/bin/python".into());
    if !std::path::Path::new(&python).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "botocore missing in CI"
        );
        eprintln!("skipped: no Python with botocore at {python}");
        return;
    }
    let server = server().await;
    let script = r#"
import sys, json, datetime, urllib.request, urllib.error
import botocore.auth, botocore.credentials
from botocore.awsrequest import AWSRequest
endpoint, secret = sys.argv[1], sys.argv[2]
real_now = botocore.auth.get_current_datetime

def presign(secret, target, expires=60, minutes_ago=0, region='us-east-1', at=None):
    req = AWSRequest(method='POST', url=(at or endpoint) + '/', headers={
        'X-Amz-Target': 'AWSStepFunctions.' + target,
        'Content-Type': 'application/x-amz-json-1.0'})
    botocore.auth.get_current_datetime = (
        lambda *a, **k: real_now(*a, **k) - datetime.timedelta(minutes=minutes_ago))
    creds = botocore.credentials.Credentials('AKIDB', secret)
    botocore.auth.SigV4QueryAuth(creds, 'states', region, expires=expires).add_auth(req)
    botocore.auth.get_current_datetime = real_now
    return req.url, dict(req.headers)

def send(url, headers, body):
    r = urllib.request.Request(url, data=body.encode(), method='POST', headers=headers)
    try:
        with urllib.request.urlopen(r) as resp:
            out = json.load(resp)
            print(resp.status, out.get('activityArn') or len(out.get('activities', [])))
    except urllib.error.HTTPError as e:
        err = json.load(e)
        print(e.code, err.get('__type', '').split('#')[-1], err.get('message', err.get('Message', '')))

url, headers = presign(secret, 'CreateActivity')
assert 'X-Amz-Signature=' in url and 'X-Amz-Expires=60' in url, url
send(url, headers, '{"name": "presigned"}')
send(*presign(secret, 'ListActivities', expires=3600, minutes_ago=30), '{}')
send(*presign('wrong', 'ListActivities'), '{}')
url, headers = presign(secret, 'ListActivities')
headers['X-Amz-Target'] = 'AWSStepFunctions.DeleteActivity'
send(url, headers, '{"activityArn": "arn:aws:states:us-east-1:222222222222:activity:presigned"}')
send(*presign(secret, 'ListActivities', expires=60, minutes_ago=10), '{}')
url, headers = presign(secret, 'ListActivities')
send(url.split('&X-Amz-Signature=')[0], headers, '{}')
# A server without --auth takes the region of a presigned URL, as of a header signature.
send(*presign('any', 'CreateActivity', region='eu-west-1', at=sys.argv[3]), '{"name": "open"}')
"#;
    let open = TestServer::start().await;
    let out = tokio::process::Command::new(&python)
        .args(["-c", script, &server.endpoint, SECRET_B, &open.endpoint])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(
        lines[6].starts_with("200 arn:aws:states:eu-west-1:"),
        "{}",
        lines[6]
    );
    assert_eq!(
        lines[0],
        "200 arn:aws:states:us-east-1:222222222222:activity:presigned"
    );
    assert_eq!(
        lines[1], "200 1",
        "valid for an hour, signed 30 minutes ago"
    );
    assert!(
        lines[2].starts_with(
            "400 InvalidSignatureException The request signature we calculated does not match"
        ),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("400 InvalidSignatureException The request signature"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("400 InvalidSignatureException Signature expired:"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].starts_with(
            "400 IncompleteSignatureException AWS query-string parameters must include"
        ),
        "{}",
        lines[5]
    );
    // Nothing was deleted by the tampered request.
    let b = sdk(&server, "AKIDB", SECRET_B, None, None);
    let listed = b.list_activities().send().await.unwrap();
    assert_eq!(listed.activities().len(), 1);
}
