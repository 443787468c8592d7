//! Optimized integrations (`arn:aws:states:::<service>:<action>`) for DynamoDB, SQS, SNS,
//! EventBridge, ECS, Batch, Glue and SageMaker: the same wire calls as `aws-sdk`, with the
//! result shapes and error names Step Functions gives these integrations (its Java SDK v1):
//! - results carry `SdkHttpMetadata` and `SdkResponseMetadata` (DynamoDB, SQS, SNS, ECS,
//!   Batch, Glue), except EventBridge's `putEvents`;
//! - errors are `<Name>.<Code>` for modeled errors (`DynamoDB.ConditionalCheckFailedException`)
//!   and `<Name>.<Client>Exception` otherwise (`DynamoDB.AmazonDynamoDBException`), with the
//!   cause `<message> (Service: <Client>; Status Code: <n>; Error Code: <code>; Request ID:
//!   <id>; Proxy: null)`; no answer is `<Name>.SdkClientException`;
//! - a JSON `MessageBody` (SQS), `Message` (SNS) or entry `Detail` (EventBridge) is sent as its
//!   JSON text; `putEvents` with failed entries fails with `EventBridge.FailedEntry` and the
//!   response as cause.
//!
//! `.sync` jobs are polled by [`super::sync`].
//!
//! Must not: retry (the state's `Retry` does).

use super::{call_at, model, CallError, Called};
use crate::runtime::resources::{Answer, ResourceEnv, TaskError};
use serde_json::{json, Map, Value};

/// How Step Functions names one optimized service.
struct Naming {
    /// `aws-sdk` name in the service table.
    sdk: &'static str,
    /// Error name prefix.
    error: &'static str,
    /// The Java SDK v1 client (`Service:` in causes).
    client: &'static str,
    /// The generic exception for unmodeled errors.
    generic: &'static str,
    metadata: bool,
}

fn naming(service: &str) -> Option<Naming> {
    let n = |sdk, error, client, generic| Naming {
        sdk,
        error,
        client,
        generic,
        metadata: true,
    };
    Some(match service {
        "dynamodb" => n(
            "dynamodb",
            "DynamoDB",
            "AmazonDynamoDBv2",
            "AmazonDynamoDBException",
        ),
        "sqs" => n("sqs", "SQS", "AmazonSQS", "AmazonSQSException"),
        "sns" => n("sns", "SNS", "AmazonSNS", "AmazonSNSException"),
        "events" => Naming {
            metadata: false,
            ..n(
                "eventbridge",
                "EventBridge",
                "AmazonEventBridge",
                "AmazonEventBridgeException",
            )
        },
        "ecs" => n("ecs", "ECS", "AmazonECS", "AmazonECSException"),
        "batch" => n("batch", "Batch", "AWSBatch", "AWSBatchException"),
        "glue" => n("glue", "Glue", "AWSGlue", "AWSGlueException"),
        "sagemaker" => n(
            "sagemaker",
            "SageMaker",
            "AmazonSageMaker",
            "AmazonSageMakerException",
        ),
        _ => return None,
    })
}

/// Whether `arn:aws:states:::<service>:…` is one of these integrations.
pub(crate) fn handles(service: &str) -> bool {
    naming(service).is_some()
}

/// Whether the service has an endpoint.
pub(crate) fn configured(env: &ResourceEnv, service: &str) -> bool {
    naming(service)
        .and_then(|n| model::service(n.sdk))
        .and_then(|s| {
            env.loaded
                .aws
                .endpoint(&s.name, &s.endpoint_prefix, &s.service_id)
        })
        .is_some()
}

/// Run `<service>:<action>`.
pub(crate) async fn run(env: &ResourceEnv, service: &str, action: &str, params: &Value) -> Answer {
    let Some(naming) = naming(service) else {
        return Answer::fail("States.Runtime", format!("Unknown integration {service}"));
    };
    let (action, sync) = match action.strip_suffix(".sync") {
        Some(base) if super::sync::supports(service, base) => (base, true),
        _ if action.contains(".sync") => {
            return Answer::fail(
                "States.Runtime",
                format!(
                    "Cairn does not run '{service}:{action}': the .sync pattern is built for \
                     ecs:runTask, batch:submitJob, glue:startJobRun and sagemaker's \
                     createTrainingJob, createTransformJob, createProcessingJob, \
                     createHyperParameterTuningJob and createLabelingJob; use the \
                     request-response resource and poll, or mock this state."
                ),
            )
        }
        _ => (action, false),
    };
    let Some(svc) = model::service(naming.sdk) else {
        return Answer::fail("States.Runtime", format!("Unknown service {}", naming.sdk));
    };
    let params = adapt(service, action, params);
    let resource = format!("arn:aws:states:::{service}:{action}");
    // SQS calls go to the queue's own host, as AWS's SDKs send them, once SQS has an
    // endpoint at all (with none, the task fails saying how to configure it).
    let endpoint = match service {
        "sqs" if configured(env, service) => params
            .get("QueueUrl")
            .and_then(Value::as_str)
            .and_then(|u| u.parse::<hyper::Uri>().ok())
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?))),
        _ => None,
    };
    match call_at(env, &svc, &resource, action, &params, endpoint).await {
        Ok(called) if sync => {
            let Some(job) = super::sync::job(service, action, &params, &called.result) else {
                return finish(service, action, &naming, called);
            };
            match finish(service, action, &naming, called) {
                Answer::Succeeded(output) => Answer::Submitted {
                    output,
                    later: Some(super::sync::later(env, job.clone())),
                    child: Some(format!("{}{job}", super::sync::CHILD_PREFIX)),
                },
                other => other,
            }
        }
        Ok(called) => finish(service, action, &naming, called),
        Err(e) => Answer::Failed(error(&svc, &naming, e)),
    }
}

/// A `.sync` task re-run after a restart whose `TaskSubmitted` (the submission's answer) is
/// recorded: poll that job again instead of submitting it a second time. `None` when the
/// resource is not a built `.sync` or the recorded answer names no job.
pub(crate) fn resume_submitted(
    env: &ResourceEnv,
    service: &str,
    action: &str,
    params: &Value,
    submitted: &str,
) -> Option<Answer> {
    let base = action.strip_suffix(".sync")?;
    if !super::sync::supports(service, base) {
        return None;
    }
    let result: Value = serde_json::from_str(submitted).ok()?;
    let params = adapt(service, base, params);
    let job = super::sync::job(service, base, &params, &result)?;
    Some(Answer::Waiting {
        later: super::sync::later(env, job.clone()),
        child: format!("{}{job}", super::sync::CHILD_PREFIX),
    })
}

/// JSON given where the API takes text is sent as its JSON text.
fn adapt(service: &str, action: &str, params: &Value) -> Value {
    let mut p = params.clone();
    let stringify = |v: &mut Value| {
        if !v.is_string() && !v.is_null() {
            *v = Value::String(v.to_string());
        }
    };
    match (service, action) {
        ("sqs", "sendMessage") => {
            if let Some(v) = p.get_mut("MessageBody") {
                stringify(v)
            }
        }
        ("sns", "publish") => {
            if let Some(v) = p.get_mut("Message") {
                stringify(v)
            }
        }
        ("events", "putEvents") => {
            for e in p
                .get_mut("Entries")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(v) = e.get_mut("Detail") {
                    stringify(v)
                }
            }
        }
        _ => {}
    }
    p
}

fn finish(service: &str, action: &str, naming: &Naming, called: Called) -> Answer {
    let mut result = called.result;
    if (service, action) == ("events", "putEvents")
        && result
            .get("FailedEntryCount")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 0
    {
        return Answer::fail("EventBridge.FailedEntry", result.to_string());
    }
    if naming.metadata {
        let r = &called.response;
        let mut all = Map::new();
        let mut single = Map::new();
        for (k, v) in &r.headers {
            let k = &header_name(k);
            all.entry(k.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("array")
                .push(json!(v));
            single.insert(k.clone(), json!(v));
        }
        if let Value::Object(o) = &mut result {
            o.insert(
                "SdkHttpMetadata".into(),
                json!({"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": r.status}),
            );
            o.insert(
                "SdkResponseMetadata".into(),
                json!({"RequestId": super::request_id(r)}),
            );
        }
    }
    Answer::json(&result)
}

/// A header's name as the Java SDK shows it: `Content-Type`, `x-amzn-RequestId`.
fn header_name(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "x-amzn-requestid" => "x-amzn-RequestId".into(),
        n if n.starts_with("x-") => n.to_string(),
        n => n
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

fn error(svc: &model::Service, naming: &Naming, e: CallError) -> TaskError {
    match e {
        CallError::Task(e) => e,
        CallError::NoAnswer(m) => TaskError::new(
            format!("{}.SdkClientException", naming.error),
            format!("Unable to execute HTTP request: {m}"),
        ),
        CallError::Service {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            let name = match svc.error_shape(&code) {
                Some(shape) if shape.ends_with("Exception") => shape.to_string(),
                Some(shape) => format!("{shape}Exception"),
                None => naming.generic.to_string(),
            };
            TaskError::new(
                format!("{}.{name}", naming.error),
                format!(
                    "{message} (Service: {}; Status Code: {status}; Error Code: {code}; Request \
                     ID: {request_id}; Proxy: null)",
                    naming.client
                ),
            )
        }
    }
}
