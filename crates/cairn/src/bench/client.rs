//! A minimal AWS JSON 1.0 client for load generation: one keep-alive HTTP/1.1 connection,
//! requests sent one after another. Deliberately not an SDK: signing and retries would spend
//! the client's share of the cores that the server under test needs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// An AWS error answer, or a transport failure (`code` = "Transport").
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CallError {
    pub code: String,
    pub message: String,
}

fn transport(e: impl std::fmt::Display) -> CallError {
    CallError {
        code: "Transport".into(),
        message: e.to_string(),
    }
}

pub struct SfnConnection {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

/// `http://host:port[/]` → `host:port`.
pub fn authority(endpoint: &str) -> Result<String, CallError> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| transport(format!("only http:// endpoints are supported: {endpoint}")))?;
    Ok(rest.trim_end_matches('/').to_string())
}

impl SfnConnection {
    pub async fn connect(endpoint: &str) -> Result<SfnConnection, CallError> {
        let authority = authority(endpoint)?;
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(transport)?;
        stream.set_nodelay(true).map_err(transport)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(transport)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(SfnConnection { sender, authority })
    }

    /// Call `AWSStepFunctions.<operation>` with a JSON body.
    pub async fn call(&mut self, operation: &str, body: &Value) -> Result<Value, CallError> {
        self.sender.ready().await.map_err(transport)?;
        let request = hyper::Request::post("/")
            .header("host", &self.authority)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AWSStepFunctions.{operation}"))
            // Unsigned but shaped like SigV4, so servers that parse it find the region.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/states/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(transport)?;
        let response = self.sender.send_request(request).await.map_err(transport)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        let value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(transport)?
        };
        if status.is_success() {
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
