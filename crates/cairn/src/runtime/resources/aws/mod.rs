//! AWS service integrations against any AWS-compatible endpoint (AWS itself, DynamoDB Local,
//! ElasticMQ, MinIO, moto, LocalStack):
//! - [`model`]: the botocore-generated service table (`services.gz`);
//! - [`protocol`]: the five wire protocols (request serialisers, result and error parsers);
//! - [`endpoints`]: endpoint and credential resolution;
//! - [`sync`]: `.sync` for ECS, Batch, Glue and SageMaker jobs (poll to the end, stop when
//!   withdrawn);
//! - [`optimized`]: the optimized integrations (`dynamodb:putItem`, `sqs:sendMessage`, …) with
//!   their own result shapes and error names;
//! - this file: `aws-sdk:<service>:<action>`, SigV4 signing and sending, error naming.
//!
//! Error names follow AWS. `aws-sdk` tasks: `<Prefix>.<Code>` for an error the service models
//! (`Exception` appended when the code lacks it, as the Java SDK v2 names its classes:
//! `S3.NoSuchBucketException`), `<Prefix>.<Prefix>Exception` for the others (a validation
//! error: `DynamoDb.DynamoDbException`), where the prefix is the Java SDK v2 client name
//! (`DynamoDb`, `SecretsManager`, `Sfn`); the cause is `<message> (Service: <Prefix>, Status
//! Code: <n>, Request ID: <id>)`. A request that got no answer fails with
//! `<Prefix>.SdkClientException` and `Unable to execute HTTP request: …`.
//!
//! Must not: retry (the state's `Retry` does), or touch the store.

pub(crate) mod endpoints;
pub(crate) mod model;
pub(crate) mod optimized;
pub(crate) mod protocol;
pub(crate) mod sync;

use super::http_client::{self, HttpRequest, HttpResponse};
use super::{Answer, ResourceEnv, TaskError};
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use model::{Operation, Service};
use serde_json::Value;
use std::sync::Arc;

/// A call that got an answer: the HTTP response, or why none came.
pub(crate) enum Sent {
    Ok(HttpResponse),
    /// No answer (connection refused, timeout): the message.
    NoAnswer(String),
}

/// Why a call could not be made or failed.
pub(crate) enum CallError {
    /// The service or action is unknown, or nothing is configured: the task's error.
    Task(TaskError),
    /// The service answered with an error.
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: String,
        extended_request_id: Option<String>,
    },
    NoAnswer(String),
}

/// The answer of a successful call.
pub(crate) struct Called {
    pub result: Value,
    pub response: HttpResponse,
}

/// `arn:aws:states:::aws-sdk:<service>:<action>`.
pub(super) async fn sdk(env: &ResourceEnv, service: &str, action: &str, params: &Value) -> Answer {
    let Some(svc) = model::service(service) else {
        return Answer::fail(
            "States.Runtime",
            format!(
                "The resource 'arn:aws:states:::aws-sdk:{service}:{action}' names no AWS \
                 service Cairn knows (botocore's service ids, lower case, without spaces)"
            ),
        );
    };
    let resource = format!("arn:aws:states:::aws-sdk:{service}:{action}");
    match call(env, &svc, &resource, action, params).await {
        Ok(c) => Answer::json(&c.result),
        Err(e) => Answer::Failed(sdk_error(&svc, e)),
    }
}

/// The task error for an `aws-sdk` call's failure.
fn sdk_error(svc: &Service, e: CallError) -> TaskError {
    let prefix = &svc.error_prefix;
    match e {
        CallError::Task(e) => e,
        CallError::NoAnswer(m) => TaskError::new(
            format!("{prefix}.SdkClientException"),
            format!("Unable to execute HTTP request: {m}"),
        ),
        CallError::Service {
            status,
            code,
            message,
            request_id,
            extended_request_id,
        } => {
            let name = match svc.error_shape(&code) {
                Some(shape) if shape.ends_with("Exception") => shape.to_string(),
                Some(shape) => format!("{shape}Exception"),
                None => format!("{prefix}Exception"),
            };
            let extended = extended_request_id
                .map(|x| format!(", Extended Request ID: {x}"))
                .unwrap_or_default();
            TaskError::new(
                format!("{prefix}.{name}"),
                format!(
                    "{message} (Service: {prefix}, Status Code: {status}, Request ID: \
                     {request_id}{extended})"
                ),
            )
        }
    }
}

/// Serialise, sign, send one operation, and parse its answer (`resource` names the Task's
/// resource in messages).
pub(crate) async fn call(
    env: &ResourceEnv,
    svc: &Arc<Service>,
    resource: &str,
    action: &str,
    params: &Value,
) -> Result<Called, CallError> {
    call_at(env, svc, resource, action, params, None).await
}

/// [`call`], sent to `endpoint` instead of the configured one when given (SQS sends to the
/// host of the `QueueUrl`, as AWS's SDKs do).
pub(crate) async fn call_at(
    env: &ResourceEnv,
    svc: &Arc<Service>,
    resource: &str,
    action: &str,
    params: &Value,
    endpoint: Option<String>,
) -> Result<Called, CallError> {
    let Some(op) = svc.operation(action) else {
        return Err(CallError::Task(TaskError::new(
            "States.Runtime",
            format!(
                "The action '{action}' is not an operation of {} (aws-sdk:{})",
                svc.service_id, svc.name
            ),
        )));
    };
    let Some(endpoint) = endpoint.or_else(|| {
        env.loaded
            .aws
            .endpoint(&svc.name, &svc.endpoint_prefix, &svc.service_id)
    }) else {
        return Err(CallError::Task(not_configured(svc, resource)));
    };
    let wire = protocol::request(svc, &op, params)
        .map_err(|e| CallError::Task(TaskError::new("States.Runtime", e.0)))?;
    match send(env, svc, &endpoint, wire).await {
        Sent::NoAnswer(m) => Err(CallError::NoAnswer(m)),
        Sent::Ok(r) if (200..300).contains(&r.status) => Ok(Called {
            result: protocol::result(svc, &op, r.status, &r.headers, &r.body),
            response: r,
        }),
        Sent::Ok(r) => Err(service_error(svc, &op, &r)),
    }
}

fn service_error(svc: &Service, _op: &Operation, r: &HttpResponse) -> CallError {
    let e = protocol::error(svc, r.status, &r.headers, &r.body);
    CallError::Service {
        status: r.status,
        code: e.code,
        message: e.message,
        request_id: request_id(r),
        extended_request_id: r.header("x-amz-id-2").map(str::to_string),
    }
}

/// The request id the service gave (header, or a fresh one).
pub(crate) fn request_id(r: &HttpResponse) -> String {
    ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
        .iter()
        .find_map(|h| r.header(h))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn not_configured(svc: &Service, resource: &str) -> TaskError {
    let env_key = svc.service_id.replace([' ', '-'], "_").to_ascii_uppercase();
    TaskError::new(
        "States.Runtime",
        format!(
            "Cairn cannot call the resource '{resource}': it has no endpoint for {id}. Point it at AWS or a local \
             stand-in with `cairn serve --aws-endpoint {name}=URL`, the [endpoints] table of an \
             AWS settings file (--aws-settings), AWS_ENDPOINT_URL_{env_key} or AWS_ENDPOINT_URL \
             (the URL 'aws' means the public endpoint), or mock this state with a Step \
             Functions Local mock configuration file (--mock-config / SFN_MOCK_CONFIG) and \
             start the execution with 'stateMachineArn#TestCase'.",
            id = svc.service_id,
            name = svc.name
        ),
    )
}

/// Sign with SigV4 and send.
async fn send(
    env: &ResourceEnv,
    svc: &Service,
    endpoint: &str,
    wire: protocol::WireRequest,
) -> Sent {
    let url = format!("{endpoint}{}", wire.path_and_query);
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return Sent::NoAnswer(format!("Invalid endpoint URL '{url}'"));
    };
    let Some(authority) = uri.authority().map(|a| a.to_string()) else {
        return Sent::NoAnswer(format!("Invalid endpoint URL '{url}': no host"));
    };
    let mut headers = wire.headers;
    headers.push(("host".into(), authority));
    let s3 = svc.signing_name == "s3";
    if s3 {
        let hash = sha2_hex(&wire.body);
        headers.push(("x-amz-content-sha256".into(), hash));
    }
    let credentials = env.loaded.aws.credentials().await;
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    if s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    }
    let region = env.loaded.aws.region().to_string();
    let params = match aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(&svc.signing_name)
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
    {
        Ok(p) => p.into(),
        Err(e) => return Sent::NoAnswer(format!("Cannot sign the request: {e}")),
    };
    let signable = SignableRequest::new(
        &wire.method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&wire.body),
    );
    let signed = match signable.and_then(|r| sign(r, &params)) {
        Ok(s) => s,
        Err(e) => return Sent::NoAnswer(format!("Cannot sign the request: {e}")),
    };
    let (instructions, _) = signed.into_parts();
    for (k, v) in instructions.headers() {
        headers.push((k.to_string(), v.to_string()));
    }
    let request = HttpRequest {
        method: wire.method,
        url,
        headers,
        body: wire.body,
    };
    match http_client::send(request, env.config.http_timeout).await {
        Ok(r) => Sent::Ok(r),
        // As the Java SDK words an unknown host: `<host>: Name or service not known`.
        Err(http_client::HttpError::Connect { reason, .. })
            if reason.starts_with("failed to lookup address information: ") =>
        {
            let host = uri.host().unwrap_or_default();
            Sent::NoAnswer(format!(
                "{host}: {}",
                &reason["failed to lookup address information: ".len()..]
            ))
        }
        Err(e) => Sent::NoAnswer(e.to_string()),
    }
}

fn sha2_hex(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
