//! Lambda functions without AWS: function ARNs (`arn:…:lambda:…:function:NAME[:QUALIFIER]`,
//! result = the raw return value) and the optimized `lambda:invoke` integration (result =
//! the Invoke response envelope). A function is looked up in the functions file first, then
//! sent to the Lambda-compatible endpoint (`LAMBDA_ENDPOINT`); otherwise the task fails with
//! `Lambda.ResourceNotFoundException`, as AWS does for an unknown function, with a cause that
//! says how to configure one.
//!
//! Function errors follow AWS: error = the function's `errorType`, cause = its error payload
//! (`{"errorMessage","errorType","requestId","stackTrace"}`).
//!
//! Must not: look at the payload beyond what the Invoke API does.

use super::functions_file::{self, FunctionResult};
use super::http_client::{self, HttpRequest};
use super::{Answer, ResourceEnv, TaskError};
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// A function as the task names it.
#[derive(Debug, Clone, PartialEq)]
struct FunctionRef {
    name: String,
    qualifier: Option<String>,
    /// `arn:{p}:lambda:{r}:{a}:function:{name}` (for messages).
    arn: String,
}

impl FunctionRef {
    /// `name`, `name:qualifier`, `account:function:name[:q]` or the full ARN.
    fn parse(env: &ResourceEnv, text: &str, qualifier: Option<&str>) -> FunctionRef {
        let c = &env.config;
        let parts: Vec<&str> = text.split(':').collect();
        let (partition, region, account, rest): (&str, &str, &str, &[&str]) =
            if parts.len() >= 7 && parts[0] == "arn" && parts[5] == "function" {
                (parts[1], parts[3], parts[4], &parts[6..])
            } else if parts.len() >= 3 && parts[1] == "function" {
                (&c.partition, &c.region, parts[0], &parts[2..])
            } else {
                (&c.partition, &c.region, &c.account_id, &parts[..])
            };
        let name = rest.first().copied().unwrap_or_default().to_string();
        let qualifier = rest
            .get(1)
            .map(|q| q.to_string())
            .or_else(|| qualifier.map(str::to_string));
        FunctionRef {
            arn: format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
            name,
            qualifier,
        }
    }

    fn version(&self) -> String {
        self.qualifier.clone().unwrap_or_else(|| "$LATEST".into())
    }
}

/// What an Invoke call answered.
struct Invoked {
    /// The response payload (JSON text, or empty for `Event`/`DryRun`).
    payload: String,
    executed_version: String,
    status: u16,
    request_id: String,
    /// Base64 of the last 4 KB of the function's log, when `LogType` is `Tail`.
    log_result: Option<String>,
    /// Lambda's `X-Amzn-Trace-Id` response header: the endpoint's, else a fresh X-Ray id.
    trace_id: String,
}

/// An X-Ray trace header as Lambda's Invoke answers it (`root=1-<epoch hex>-<96 bits>`, not
/// sampled). AWS reports one on every Invoke response; the recorded envelopes all carry the
/// header (its value masked), so the envelope always has one.
fn new_trace_id() -> String {
    let epoch = jiff::Timestamp::now().as_second();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("root=1-{epoch:08x}-{};sampled=0", &random[..24])
}

/// A task on a function ARN: the effective input is the event, the return value the result.
pub(super) async fn invoke_function_arn(
    env: &ResourceEnv,
    arn: &str,
    parameters: &Value,
    traceparent: Option<&str>,
) -> Answer {
    let f = FunctionRef::parse(env, arn, None);
    let payload = parameters.to_string();
    match invoke(env, &f, payload, "RequestResponse", false, traceparent).await {
        Ok(out) if out.payload.is_empty() => Answer::Succeeded("null".into()),
        Ok(out) => Answer::Succeeded(out.payload),
        Err(e) => Answer::Failed(e),
    }
}

/// `arn:aws:states:::lambda:invoke`: Parameters are Invoke's request members.
pub(super) async fn invoke_integration(
    env: &ResourceEnv,
    parameters: &Value,
    traceparent: Option<&str>,
) -> Answer {
    let Some(name) = parameters.get("FunctionName").and_then(Value::as_str) else {
        return Answer::fail(
            "States.Runtime",
            "The field 'FunctionName' is required for arn:aws:states:::lambda:invoke",
        );
    };
    let f = FunctionRef::parse(
        env,
        name,
        parameters.get("Qualifier").and_then(Value::as_str),
    );
    // A string Payload is sent as it is (its bytes); other JSON is serialised.
    let payload = match parameters.get("Payload") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let invocation_type = parameters
        .get("InvocationType")
        .and_then(Value::as_str)
        .unwrap_or("RequestResponse");
    let tail = parameters.get("LogType").and_then(Value::as_str) == Some("Tail");
    match invoke(env, &f, payload, invocation_type, tail, traceparent).await {
        Ok(out) => Answer::json(&envelope(&out)),
        Err(e) => Answer::Failed(e),
    }
}

/// The Invoke response as Step Functions' Java SDK renders it (observed field order).
fn envelope(out: &Invoked) -> Value {
    let payload = if out.payload.is_empty() {
        Value::String(String::new())
    } else {
        serde_json::from_str(&out.payload).unwrap_or_else(|_| Value::String(out.payload.clone()))
    };
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers: Vec<(&str, String)> = vec![
        ("Connection", "keep-alive".into()),
        ("Content-Length", out.payload.len().to_string()),
        ("Content-Type", "application/json".into()),
        ("Date", date),
        ("X-Amz-Executed-Version", out.executed_version.clone()),
        ("X-Amzn-Trace-Id", out.trace_id.clone()),
        ("x-amzn-Remapped-Content-Length", "0".into()),
        ("x-amzn-RequestId", out.request_id.clone()),
    ];
    let mut all = Map::new();
    let mut single = Map::new();
    for (k, v) in headers {
        all.insert(k.into(), json!([v]));
        single.insert(k.into(), json!(v));
    }
    let mut envelope = json!({
        "ExecutedVersion": out.executed_version,
    });
    if let Some(logs) = &out.log_result {
        envelope["LogResult"] = json!(logs);
    }
    let rest = json!({
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": single,
            "HttpStatusCode": out.status,
        },
        "SdkResponseMetadata": {"RequestId": out.request_id},
        "StatusCode": out.status,
    });
    if let (Value::Object(e), Value::Object(r)) = (&mut envelope, rest) {
        e.extend(r);
    }
    envelope
}

/// Lambda's `LogResult`: base64 of the log's last 4 KB.
fn log_tail(logs: &str) -> String {
    let bytes = logs.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    base64::engine::general_purpose::STANDARD.encode(tail)
}

/// Invoke by the functions file, else the endpoint, else fail as an unknown function.
async fn invoke(
    env: &ResourceEnv,
    f: &FunctionRef,
    payload: String,
    invocation_type: &str,
    tail: bool,
    traceparent: Option<&str>,
) -> Result<Invoked, TaskError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Some(local) = env.loaded.functions.as_ref().and_then(|ff| ff.get(&f.name)) {
        let status = match invocation_type {
            "DryRun" => 204,
            "Event" => {
                let (local, id, event) = (local.clone(), request_id.clone(), payload.clone());
                let tp = traceparent.map(str::to_string);
                tokio::spawn(async move {
                    functions_file::call(&local, &event, &id, tp.as_deref()).await
                });
                202
            }
            _ => 200,
        };
        if status != 200 {
            return Ok(Invoked {
                payload: String::new(),
                executed_version: f.version(),
                status,
                request_id,
                log_result: None,
                trace_id: new_trace_id(),
            });
        }
        return match functions_file::call(local, &payload, &request_id, traceparent).await {
            FunctionResult::Returned { payload, logs } => Ok(Invoked {
                payload,
                executed_version: f.version(),
                status: 200,
                request_id,
                log_result: tail.then(|| log_tail(&logs)),
                trace_id: new_trace_id(),
            }),
            FunctionResult::Error {
                error_type,
                payload,
            } => Err(TaskError::new(error_type, payload)),
        };
    }
    if let Some(endpoint) = &env.config.lambda_endpoint {
        let call = Call {
            payload,
            invocation_type,
            tail,
            request_id,
            traceparent,
        };
        return invoke_endpoint(env, endpoint, f, call).await;
    }
    Err(TaskError::new(
        "Lambda.ResourceNotFoundException",
        format!(
            "Function not found: {}:{} (Service: AWSLambda; Status Code: 404; Error Code: \
             ResourceNotFoundException; Request ID: {request_id}; Proxy: null). Cairn runs \
             Lambda functions locally: name '{}' in a functions file (cairn serve --functions \
             FILE) or point --lambda-endpoint / LAMBDA_ENDPOINT at a Lambda-compatible Invoke \
             endpoint.",
            f.arn,
            f.version(),
            f.name
        ),
    ))
}

/// One Invoke call's arguments.
struct Call<'a> {
    payload: String,
    invocation_type: &'a str,
    tail: bool,
    request_id: String,
    /// Sent as the `traceparent` header.
    traceparent: Option<&'a str>,
}

/// `POST {endpoint}/2015-03-31/functions/{name}/invocations` (Lambda's Invoke API).
async fn invoke_endpoint(
    env: &ResourceEnv,
    endpoint: &str,
    f: &FunctionRef,
    call: Call<'_>,
) -> Result<Invoked, TaskError> {
    let Call {
        payload,
        invocation_type,
        tail,
        request_id,
        traceparent,
    } = call;
    let mut url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        endpoint.trim_end_matches('/'),
        f.name
    );
    if let Some(q) = &f.qualifier {
        url.push_str(&format!("?Qualifier={q}"));
    }
    let request = HttpRequest {
        method: "POST".into(),
        url,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-amz-invocation-type".into(), invocation_type.into()),
            (
                "x-amz-log-type".into(),
                if tail { "Tail" } else { "None" }.into(),
            ),
        ],
        body: payload.into_bytes(),
    };
    let mut request = request;
    if let Some(tp) = traceparent {
        request.headers.push(("traceparent".into(), tp.into()));
    }
    let r = http_client::send(request, env.config.http_timeout)
        .await
        .map_err(|e| {
            TaskError::new(
                "Lambda.SdkClientException",
                format!("Unable to execute HTTP request: {e}"),
            )
        })?;
    let request_id = r
        .header("x-amzn-requestid")
        .map(str::to_string)
        .unwrap_or(request_id);
    let body = String::from_utf8_lossy(&r.body).into_owned();
    if let Some(kind) = r.header("x-amz-function-error") {
        let error_type = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("errorType")?.as_str().map(str::to_string))
            .unwrap_or_else(|| kind.to_string());
        return Err(TaskError::new(error_type, body));
    }
    if (200..300).contains(&r.status) {
        return Ok(Invoked {
            payload: body,
            executed_version: r
                .header("x-amz-executed-version")
                .map(str::to_string)
                .unwrap_or_else(|| f.version()),
            status: r.status,
            request_id,
            log_result: tail
                .then(|| r.header("x-amz-log-result").map(str::to_string))
                .flatten(),
            trace_id: r
                .header("x-amzn-trace-id")
                .map(str::to_string)
                .unwrap_or_else(new_trace_id),
        });
    }
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let code = r
        .header("x-amzn-errortype")
        .map(|t| t.split(':').next().unwrap_or(t).to_string())
        .or_else(|| {
            ["Type", "__type", "code"]
                .iter()
                .find_map(|k| parsed.get(k)?.as_str())
                .filter(|t| *t != "User" && *t != "Service")
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        })
        .unwrap_or_else(|| "AWSLambdaException".into());
    let message = ["Message", "message", "errorMessage"]
        .iter()
        .find_map(|k| parsed.get(k)?.as_str())
        .map(str::to_string)
        .unwrap_or(body);
    Err(TaskError::new(
        format!("Lambda.{code}"),
        format!(
            "{message} (Service: AWSLambda; Status Code: {}; Error Code: {code}; Request ID: \
             {request_id}; Proxy: null)",
            r.status
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        let env = ResourceEnv::new(Default::default()).unwrap();
        let f = FunctionRef::parse(&env, "f", None);
        assert_eq!(f.arn, "arn:aws:lambda:us-east-1:123456789012:function:f");
        assert_eq!(f.version(), "$LATEST");
        let f = FunctionRef::parse(&env, "f:live", None);
        assert_eq!((f.name.as_str(), f.version().as_str()), ("f", "live"));
        let f = FunctionRef::parse(&env, "111122223333:function:g", Some("3"));
        assert_eq!(f.arn, "arn:aws:lambda:us-east-1:111122223333:function:g");
        assert_eq!(f.version(), "3");
        let f = FunctionRef::parse(
            &env,
            "arn:aws:lambda:eu-west-1:111122223333:function:h:$LATEST",
            None,
        );
        assert_eq!(f.name, "h");
        assert_eq!(f.arn, "arn:aws:lambda:eu-west-1:111122223333:function:h");
    }
}
