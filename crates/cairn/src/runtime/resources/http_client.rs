//! The outbound HTTP/1.1 client that HTTP Tasks, HTTP-backed functions and Lambda-compatible
//! endpoints share: one connection per request (hyper), a whole-request deadline, bodies read
//! fully into memory.
//!
//! `https://` uses rustls with the system's trusted root certificates.
//!
//! Must not: retry (retries belong to the state's `Retry`), or follow redirects (AWS's HTTP
//! Task does not either).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

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
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(HttpError::BadRequest(format!(
                "Invalid URL '{url}': not http:// or https://"
            )))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpError::BadRequest(format!("Invalid URL '{url}': no host")))?
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let connect_err = |reason: String| HttpError::Connect {
        url: url.clone(),
        reason,
    };
    let stream = tokio::net::TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| connect_err(e.to_string()))?;
    let authority = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    if tls {
        let name = ServerName::try_from(bare_host.clone())
            .map_err(|e| HttpError::BadRequest(format!("Invalid host in '{url}': {e}")))?;
        let stream = tls_connector()
            .connect(name, stream)
            .await
            .map_err(|e| connect_err(format!("TLS handshake failed: {e}")))?;
        over(stream, request, &url, path, authority).await
    } else {
        over(stream, request, &url, path, authority).await
    }
}

/// One HTTP/1.1 exchange over an open connection.
async fn over<S>(
    stream: S,
    request: HttpRequest,
    url: &str,
    path: String,
    authority: String,
) -> Result<HttpResponse, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io_err = |e: hyper::Error| HttpError::Io {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io_err)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
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

/// TLS with the system's trusted roots (loaded once).
fn tls_connector() -> TlsConnector {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!("no trusted root certificates found: https requests will fail");
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("the default TLS protocol versions are supported");
        Arc::new(config)
    });
    TlsConnector::from(config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[tokio::test]
    async fn schemes() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let t = Duration::from_secs(5);
        for scheme in ["http", "https"] {
            let r = send(get(&format!("{scheme}://127.0.0.1:{port}/")), t).await;
            assert!(
                matches!(r, Err(HttpError::Connect { .. })),
                "{scheme}: {r:?}"
            );
        }
        let r = send(get("ftp://127.0.0.1/"), t).await;
        assert!(matches!(r, Err(HttpError::BadRequest(_))), "{r:?}");
    }

    #[tokio::test]
    async fn tls_handshake_failure_is_a_connect_error() {
        // A plain-text server on the other end: the TLS handshake cannot succeed.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        });
        let r = send(
            get(&format!("https://localhost:{port}/")),
            Duration::from_secs(5),
        )
        .await;
        match r {
            Err(HttpError::Connect { reason, .. }) => assert!(reason.contains("TLS"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
