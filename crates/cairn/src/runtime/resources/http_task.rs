//! The HTTP Task (`arn:aws:states:::http:invoke`): a real request built from `ApiEndpoint`,
//! `Method`, `Headers`, `QueryParameters`, `RequestBody` and `Transform`, authenticated from the
//! local connections file instead of an EventBridge connection.
//!
//! Result: `{Headers, ResponseBody, StatusCode, StatusText}` (`ResponseBody` parsed when it is
//! JSON). A non-2xx answer fails with `States.Http.StatusCode.<n>` (cause: that result as JSON
//! text); no answer within the socket timeout, or no connection, fails with
//! `States.Http.Socket`.
//!
//! Must not: follow redirects or retry (the state's `Retry` does that).

use super::http_client::{self, HttpError, HttpRequest};
use super::{Answer, ResourceEnv};
use serde_json::{json, Map, Value};

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// `traceparent`: the task's trace context, sent as the `traceparent` header (W3C Trace
/// Context) unless the task's `Headers` set one.
pub(super) async fn invoke(
    env: &ResourceEnv,
    parameters: &Value,
    traceparent: Option<&str>,
) -> Answer {
    invoke_traced(env, parameters, None, traceparent).await
}

/// What TestState shows at inspection level TRACE: the request sent and the response
/// received (`InspectionDataRequest` / `InspectionDataResponse`).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub request: Option<Value>,
    pub response: Option<Value>,
}

/// [`invoke`], also recording the exchange into `trace`. Unless `reveal` is set, the values
/// the connection added (its authentication headers and query parameters) are hidden.
pub(super) async fn invoke_traced(
    env: &ResourceEnv,
    parameters: &Value,
    trace: Option<(&mut Trace, bool)>,
    traceparent: Option<&str>,
) -> Answer {
    let (mut request, secrets) = match build(env, parameters) {
        Ok(r) => r,
        Err(cause) => return Answer::fail("States.Runtime", cause),
    };
    if let Some(tp) = traceparent {
        set_default(&mut request.headers, "traceparent", tp);
    }
    let mut trace = trace;
    if let Some((t, reveal)) = trace.as_mut() {
        let hide = |name: &str, value: &str| {
            if !*reveal && secrets.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                "*****".to_string()
            } else {
                value.to_string()
            }
        };
        let headers: Map<String, Value> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(hide(n, v))))
            .collect();
        let mut url = request.url.clone();
        if !*reveal {
            for (name, value) in &secrets_query(env, parameters) {
                url = url.replace(&format!("{name}={value}"), &format!("{name}=*****"));
            }
        }
        t.request = Some(json!({
            "protocol": protocol(&request.url),
            "method": request.method,
            "url": url,
            "headers": Value::Object(headers).to_string(),
            "body": String::from_utf8_lossy(&request.body),
        }));
    }
    let scheme = protocol(&request.url);
    match http_client::send(request, env.config.http_timeout).await {
        Ok(r) => {
            if let Some((t, _)) = trace.as_mut() {
                let headers: Map<String, Value> = r
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                    .collect();
                t.response = Some(json!({
                    "protocol": scheme,
                    "statusCode": r.status.to_string(),
                    "statusMessage": r.status_text,
                    "headers": Value::Object(headers).to_string(),
                    "body": String::from_utf8_lossy(&r.body),
                }));
            }
            let mut headers = Map::new();
            for (name, value) in &r.headers {
                let slot = headers
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(values) = slot {
                    values.push(Value::String(value.clone()));
                }
            }
            let text = String::from_utf8_lossy(&r.body).into_owned();
            let is_json = r
                .header("content-type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
            let body = match is_json.then(|| serde_json::from_str::<Value>(&text)) {
                Some(Ok(v)) => v,
                _ => Value::String(text),
            };
            let result = json!({
                "Headers": headers,
                "ResponseBody": body,
                "StatusCode": r.status,
                "StatusText": r.status_text,
            });
            if (200..300).contains(&r.status) {
                Answer::json(&result)
            } else {
                Answer::fail(
                    format!("States.Http.StatusCode.{}", r.status),
                    result.to_string(),
                )
            }
        }
        Err(HttpError::BadRequest(cause)) => Answer::fail("States.Runtime", cause),
        Err(e) => Answer::fail("States.Http.Socket", e.to_string()),
    }
}

fn protocol(url: &str) -> &'static str {
    if url.starts_with("http://") {
        "http"
    } else {
        "https"
    }
}

/// The query parameters a connection adds (hidden in a trace), percent-encoded as sent.
fn secrets_query(env: &ResourceEnv, p: &Value) -> Vec<(String, String)> {
    let arn = p
        .pointer("/Authentication/ConnectionArn")
        .and_then(Value::as_str);
    match (arn, &env.loaded.connections) {
        (Some(arn), Some(connections)) => connections
            .get(arn)
            .map(|c| {
                c.query
                    .iter()
                    .map(|(k, v)| (percent(k), percent(v)))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The request, and the names of the headers its connection added (secrets).
fn build(env: &ResourceEnv, p: &Value) -> Result<(HttpRequest, Vec<String>), String> {
    let endpoint = p
        .get("ApiEndpoint")
        .and_then(Value::as_str)
        .ok_or("The field 'ApiEndpoint' is required for arn:aws:states:::http:invoke")?;
    let method = p
        .get("Method")
        .and_then(Value::as_str)
        .ok_or("The field 'Method' is required for arn:aws:states:::http:invoke")?
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "The Method '{method}' is not supported: use one of {}",
            METHODS.join(", ")
        ));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    if let Some(arn) = p
        .pointer("/Authentication/ConnectionArn")
        .and_then(Value::as_str)
    {
        if let Some(connections) = &env.loaded.connections {
            let c = connections.get(arn).ok_or_else(|| {
                format!(
                    "The connection '{arn}' is not in the connections file (--connections): \
                     add it with its api_key, basic or bearer authentication"
                )
            })?;
            headers.extend(c.headers.iter().cloned());
            secrets.extend(c.headers.iter().map(|(n, _)| n.clone()));
            query.extend(c.query.iter().cloned());
        }
    }
    if let Some(h) = p.get("Headers") {
        let Value::Object(h) = h else {
            return Err("The field 'Headers' must be an object".into());
        };
        for (k, v) in h {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
            headers.push((k.clone(), scalar(v)));
        }
    }
    if let Some(q) = p.get("QueryParameters") {
        let Value::Object(q) = q else {
            return Err("The field 'QueryParameters' must be an object".into());
        };
        for (k, v) in q {
            match v {
                Value::Array(items) => query.extend(items.iter().map(|i| (k.clone(), scalar(i)))),
                v => query.push((k.clone(), scalar(v))),
            }
        }
    }
    let url_encoded = p
        .pointer("/Transform/RequestBodyEncoding")
        .and_then(Value::as_str)
        == Some("URL_ENCODED");
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) if url_encoded => {
            let format = p
                .pointer("/Transform/RequestEncodingOptions/ArrayFormat")
                .and_then(Value::as_str)
                .unwrap_or("INDICES");
            let mut pairs = Vec::new();
            form_pairs("", v, format, &mut pairs);
            set_default(
                &mut headers,
                "Content-Type",
                "application/x-www-form-urlencoded",
            );
            encode_pairs(&pairs).into_bytes()
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => {
            set_default(&mut headers, "Content-Type", "application/json");
            v.to_string().into_bytes()
        }
    };
    set_default(
        &mut headers,
        "User-Agent",
        &format!("Amazon|StepFunctions|HttpInvoke|{}", env.config.region),
    );
    let mut url = endpoint.to_string();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encode_pairs(&query));
    }
    Ok((
        HttpRequest {
            method,
            url,
            headers,
            body,
        },
        secrets,
    ))
}

fn set_default(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
        headers.push((name.into(), value.into()));
    }
}

/// A header or query value as text (strings without quotes).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flatten a body into form pairs: objects as `a[b]`, arrays by `ArrayFormat`.
fn form_pairs(key: &str, v: &Value, format: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let name = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}[{k}]")
                };
                form_pairs(&name, child, format, out);
            }
        }
        Value::Array(items) => match format {
            "COMMAS" => out.push((
                key.to_string(),
                items.iter().map(scalar).collect::<Vec<_>>().join(","),
            )),
            "BRACKETS" => {
                for i in items {
                    form_pairs(&format!("{key}[]"), i, format, out);
                }
            }
            "REPEAT" | "NONE" => {
                for i in items {
                    form_pairs(key, i, format, out);
                }
            }
            // INDICES, DEFAULT
            _ => {
                for (n, i) in items.iter().enumerate() {
                    form_pairs(&format!("{key}[{n}]"), i, format, out);
                }
            }
        },
        v => out.push((key.to_string(), scalar(v))),
    }
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(v: Value, format: &str) -> String {
        let mut pairs = Vec::new();
        form_pairs("", &v, format, &mut pairs);
        encode_pairs(&pairs)
    }

    #[test]
    fn array_formats() {
        let body = json!({"a": ["x", "y"], "b": {"c": 1}, "s": "1 &2"});
        assert_eq!(
            form(body.clone(), "INDICES"),
            "a%5B0%5D=x&a%5B1%5D=y&b%5Bc%5D=1&s=1%20%262"
        );
        assert_eq!(
            form(body.clone(), "REPEAT"),
            "a=x&a=y&b%5Bc%5D=1&s=1%20%262"
        );
        assert_eq!(
            form(body.clone(), "COMMAS"),
            "a=x%2Cy&b%5Bc%5D=1&s=1%20%262"
        );
        assert_eq!(
            form(body, "BRACKETS"),
            "a%5B%5D=x&a%5B%5D=y&b%5Bc%5D=1&s=1%20%262"
        );
    }

    #[test]
    fn request_from_parameters() {
        let env = ResourceEnv::new(Default::default()).unwrap();
        let (r, _) = build(
            &env,
            &json!({"ApiEndpoint": "http://h/p", "Method": "post",
                    "Headers": {"X-A": 1}, "QueryParameters": {"q": "a b", "r": ["1", "2"]},
                    "RequestBody": {"k": "v"}}),
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://h/p?q=a%20b&r=1&r=2");
        assert_eq!(r.body, br#"{"k":"v"}"#);
        assert!(r.headers.contains(&("X-A".into(), "1".into())));
        assert!(r
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
        assert!(build(&env, &json!({"ApiEndpoint": "http://h", "Method": "TRACE"})).is_err());
        assert!(build(&env, &json!({"Method": "GET"})).is_err());
    }
}
