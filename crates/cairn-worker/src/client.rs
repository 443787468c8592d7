//! A minimal AWS JSON 1.0 client for the Step Functions API: one keep-alive HTTP/1.1
//! connection over plain `http://`, requests sent one after another.
//!
//! Deliberately not an SDK: no retries, no TLS. It serves load generation (`cairn bench`)
//! and activity workers against Cairn or another emulator; requests are SigV4-signed when
//! credentials are configured (the AWS environment variables, see `signing.rs`), else carry
//! an unsigned header shaped like SigV4. It owns the connection's life: a connection found closed, or broken by a failed
//! call, is opened again on the next call. It never resends a request on its own: whether an
//! operation may be repeated is the caller's decision.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::time::Duration;

/// The default time a call may take, answer included. AWS tells activity workers to allow
/// at least 65 s, since GetActivityTask holds an idle poll for up to 60 s.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(70);

/// The error code of a failure that is not an answer from the server (connect, I/O, timeout,
/// unreadable body).
pub const TRANSPORT: &str = "Transport";

/// An AWS error answer (`code` is the part of `__type` after `#`, e.g. `TaskTimedOut`), or a
/// transport failure (`code` = [`TRANSPORT`]).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CallError {
    pub code: String,
    pub message: String,
}

impl CallError {
    /// The request may not have reached the server, or its answer was lost.
    pub fn is_transport(&self) -> bool {
        self.code == TRANSPORT
    }
}

fn transport(e: impl std::fmt::Display) -> CallError {
    CallError {
        code: TRANSPORT.into(),
        message: e.to_string(),
    }
}

/// One connection to a Step Functions endpoint.
pub struct SfnConnection {
    sender: Option<SendRequest<Full<Bytes>>>,
    authority: String,
    region: String,
    timeout: Duration,
    signer: Option<crate::signing::Signer>,
    /// The `traceparent` header of the latest answer (see [`SfnConnection::traceparent`]).
    traceparent: Option<String>,
}

/// `http://host:port[/]` → `host:port`.
pub fn authority(endpoint: &str) -> Result<String, CallError> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| transport(format!("only http:// endpoints are supported: {endpoint}")))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(transport(format!(
            "an endpoint is http://host:port, without a path: {endpoint}"
        )));
    }
    Ok(rest.to_string())
}

impl SfnConnection {
    /// A connection to `endpoint` (`http://host:port`), opened now.
    pub async fn connect(endpoint: &str) -> Result<SfnConnection, CallError> {
        let mut conn = SfnConnection::new(endpoint)?;
        conn.open().await?;
        Ok(conn)
    }

    /// A connection to `endpoint` (`http://host:port`), opened by the first call.
    pub fn new(endpoint: &str) -> Result<SfnConnection, CallError> {
        Ok(SfnConnection {
            sender: None,
            authority: authority(endpoint)?,
            region: "us-east-1".into(),
            timeout: DEFAULT_CALL_TIMEOUT,
            signer: crate::signing::Signer::from_env(),
            traceparent: None,
        })
    }

    /// The region named in the (unsigned) `Authorization` header; Cairn mints ARNs in it.
    pub fn with_region(mut self, region: impl Into<String>) -> SfnConnection {
        self.region = region.into();
        self
    }

    /// Sign requests with this key (default: the AWS environment variables' key, if set);
    /// `None` sends them unsigned.
    pub fn with_signer(mut self, signer: Option<crate::signing::Signer>) -> SfnConnection {
        self.signer = signer;
        self
    }

    /// How long a call may take (default [`DEFAULT_CALL_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> SfnConnection {
        self.timeout = timeout;
        self
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, CallError> {
        let stream = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect(&self.authority),
        )
        .await
        .map_err(|_| transport(format!("timed out connecting to {}", self.authority)))?
        .map_err(|e| transport(format!("cannot connect to {}: {e}", self.authority)))?;
        stream.set_nodelay(true).map_err(transport)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(transport)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// A sender ready for a request: the open connection, or a new one if it was closed.
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, CallError> {
        let usable = match &mut self.sender {
            Some(sender) => !sender.is_closed() && sender.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            return self.open().await;
        }
        Ok(self.sender.as_mut().expect("a usable sender is present"))
    }

    /// The W3C `traceparent` response header of the latest successful call, if it had one:
    /// Cairn sends the task's trace context with GetActivityTask's answer when it exports
    /// traces (`--otlp-endpoint`); AWS's answer has no such field.
    pub fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    /// Call `AWSStepFunctions.<operation>` with a JSON body, within the connection's timeout.
    pub async fn call(&mut self, operation: &str, body: &Value) -> Result<Value, CallError> {
        let timeout = self.timeout;
        self.call_within(operation, body, timeout).await
    }

    /// Call `AWSStepFunctions.<operation>` with a JSON body, within `timeout`. A transport
    /// failure or a timeout closes the connection; the next call opens a new one.
    pub async fn call_within(
        &mut self,
        operation: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let result = tokio::time::timeout(timeout, self.exchange(operation, body)).await;
        let result = result.unwrap_or_else(|_| {
            Err(transport(format!(
                "{operation}: no answer within {} ms",
                timeout.as_millis()
            )))
        });
        if matches!(&result, Err(e) if e.is_transport()) {
            // Half a request may be on the wire, or half an answer unread: never reuse it.
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, operation: &str, body: &Value) -> Result<Value, CallError> {
        let target = format!("AWSStepFunctions.{operation}");
        let body = Bytes::from(body.to_string());
        let mut request = hyper::Request::post("/")
            .header("host", &self.authority)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", &target);
        match &self.signer {
            Some(signer) => {
                let now = std::time::SystemTime::now();
                for (name, value) in
                    signer.headers(&self.authority, &target, &self.region, &body, now)
                {
                    request = request.header(name, value);
                }
            }
            // Unsigned but shaped like SigV4, so servers that parse it find the region.
            None => {
                request = request.header(
                    "authorization",
                    format!(
                        "AWS4-HMAC-SHA256 Credential=cairn/20260101/{}/states/aws4_request, \
                         SignedHeaders=host, Signature=0",
                        self.region
                    ),
                );
            }
        }
        let request = request.body(Full::new(body)).map_err(transport)?;
        self.traceparent = None;
        let sender = self.ready().await?;
        let response = sender.send_request(request).await.map_err(transport)?;
        let status = response.status();
        let traceparent = response
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        let value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                transport(format!(
                    "{operation}: HTTP {status} with a body that is not JSON: {e}"
                ))
            })?
        };
        if status.is_success() {
            self.traceparent = traceparent;
            return Ok(value);
        }
        let code = value["__type"]
            .as_str()
            .unwrap_or("Unknown")
            .rsplit('#')
            .next()
            .unwrap_or("Unknown")
            .to_string();
        let message = value["message"]
            .as_str()
            .or_else(|| value["Message"].as_str())
            .unwrap_or_default()
            .to_string();
        Err(CallError { code, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn endpoints_are_plain_http_host_and_port() {
        assert_eq!(
            authority("http://127.0.0.1:8083").unwrap(),
            "127.0.0.1:8083"
        );
        assert_eq!(
            authority("http://localhost:8083/").unwrap(),
            "localhost:8083"
        );
        assert!(authority("https://states.example:443").is_err());
        assert!(authority("http://host:1/path").is_err());
        assert!(authority("http://").is_err());
    }

    /// Reads one request head and body (by content-length) from a raw socket.
    async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed before a full request");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
        }
    }

    async fn answer(stream: &mut tokio::net::TcpStream, status: &str, body: &str) {
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_closed_by_the_server_is_opened_again() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut targets = Vec::new();
            // Each accepted connection answers one request, then the server hangs up.
            for _ in 0..2 {
                let (mut stream, _) = listener.accept().await.unwrap();
                let request = read_request(&mut stream).await;
                targets.push(
                    request
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("x-amz-target"))
                        .unwrap()
                        .to_string(),
                );
                answer(&mut stream, "200 OK", r#"{"ok":true}"#).await;
                drop(stream);
            }
            targets
        });
        let mut conn = SfnConnection::connect(&format!("http://{addr}"))
            .await
            .unwrap();
        assert_eq!(
            conn.call("ListActivities", &json!({})).await.unwrap(),
            json!({"ok": true})
        );
        // Let the hang-up reach the client before the next call.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            conn.call("ListActivities", &json!({})).await.unwrap(),
            json!({"ok": true})
        );
        let targets = server.await.unwrap();
        assert_eq!(targets.len(), 2);
        assert!(targets[1].ends_with("AWSStepFunctions.ListActivities"));
    }

    #[tokio::test]
    async fn aws_errors_keep_the_code_after_the_hash() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            read_request(&mut stream).await;
            answer(
                &mut stream,
                "400 Bad Request",
                r#"{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"closed"}"#,
            )
            .await;
        });
        let mut conn = SfnConnection::new(&format!("http://{addr}")).unwrap();
        let err = conn
            .call("SendTaskHeartbeat", &json!({"taskToken": "t"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "TaskTimedOut");
        assert_eq!(err.message, "closed");
        assert!(!err.is_transport());
    }

    #[tokio::test]
    async fn a_call_without_an_answer_times_out_as_a_transport_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            read_request(&mut stream).await;
            // Never answer; hold the socket until the client gives up.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
        });
        let mut conn = SfnConnection::new(&format!("http://{addr}"))
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = conn
            .call("GetActivityTask", &json!({"activityArn": "a"}))
            .await
            .unwrap_err();
        assert!(err.is_transport(), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The broken connection was dropped: the server sees the client hang up.
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the client closed the timed-out connection")
            .unwrap();
    }
}
