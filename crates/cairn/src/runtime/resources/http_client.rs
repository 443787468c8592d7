//! The outbound HTTP/1.1 client that HTTP Tasks, HTTP-backed functions and Lambda-compatible
//! endpoints share: one connection per request (hyper), a whole-request deadline, bodies read
//! fully into memory.
//!
//! Must not: retry (retries belong to the state's `Retry`), or follow redirects (AWS's HTTP
//! Task does not either). Plain `http://` only: TLS is not built in yet.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// A request to send.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub status_text: String,
    /// In the order received; names as sent by the server.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request to {0} timed out")]
    Timeout(String),
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the connection to {url} failed: {reason}")]
    Io { url: String, reason: String },
}

/// Send one request and read the whole response within `timeout`.
pub(crate) async fn send(
    request: HttpRequest,
    timeout: Duration,
) -> Result<HttpResponse, HttpError> {
    let url = request.url.clone();
    match tokio::time::timeout(timeout, exchange(request)).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(url)),
    }
}

async fn exchange(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let url = request.url.clone();
    let uri: hyper::Uri = request
        .url
        .parse()
        .map_err(|e| HttpError::BadRequest(format!("Invalid URL '{url}': {e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(HttpError::BadRequest(format!(
                "Cairn cannot call '{url}': this build speaks plain http:// only (no TLS yet)"
            )))
        }
        _ => {
            return Err(HttpError::BadRequest(format!(
                "Invalid URL '{url}': not http://"
            )))
        }
    }
    let host = uri
        .host()
        .ok_or_else(|| HttpError::BadRequest(format!("Invalid URL '{url}': no host")))?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let stream = tokio::net::TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(|e| HttpError::Connect {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let io_err = |e: hyper::Error| HttpError::Io {
        url: url.clone(),
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io_err)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let authority = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(path);
    let mut has_host = false;
    for (name, value) in &request.headers {
        has_host |= name.eq_ignore_ascii_case("host");
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !has_host {
        builder = builder.header("host", authority);
    }
    let req = builder
        .body(Full::new(Bytes::from(request.body)))
        .map_err(|e| HttpError::BadRequest(format!("Invalid request to '{url}': {e}")))?;
    let response = sender.send_request(req).await.map_err(io_err)?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io_err)?
        .to_bytes();
    Ok(HttpResponse {
        status: status.as_u16(),
        status_text: status.canonical_reason().unwrap_or("").to_string(),
        headers,
        body,
    })
}
