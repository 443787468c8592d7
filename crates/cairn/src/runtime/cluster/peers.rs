//! Talking to the other nodes: an input for an execution another node owns is forwarded to
//! that node's writer over HTTP, as an internal call on its API port.
//!
//! Wire: `POST /` with `X-Amz-Target: CairnInternal.Start` or `CairnInternal.Deliver`, a JSON
//! body, and `x-cairn-signature`: HMAC-SHA256 of target and body under the cluster's token
//! key (every node reads the same key from the store), so only nodes can inject inputs (an
//! outsider could otherwise fire a timer or start a task without its token). The answer is
//! always 200 with a JSON [`StartAnswer`] or [`DeliverAnswer`]; a bad signature is a 403.
//! The receiving node applies the input only if it owns the execution: it never forwards
//! again, so a stale route costs one round trip and a retry, never a loop.

use crate::runtime::writer::{StartError, StartResult};
use bytes::Bytes;
use cairn_core::{Input, Outcome};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

pub const START: &str = "CairnInternal.Start";
pub const DELIVER: &str = "CairnInternal.Deliver";
pub const SIGNATURE_HEADER: &str = "x-cairn-signature";

/// How long a forwarded call may take (a commit on a busy node, not a long poll).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverCall {
    pub execution_arn: String,
    pub input: Input,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum DeliverAnswer {
    Outcome(Outcome),
    NoSuchExecution,
    /// The receiver does not own the execution (any more): look the owner up again.
    NotOwner,
    ShuttingDown,
    /// The owner's queue is full: the caller answers ThrottlingException.
    Throttled,
    Failed(String),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum StartAnswer {
    Started(StartResult),
    Refused(StartError),
    ShuttingDown,
    /// The owner's queue is full: the caller answers ThrottlingException.
    Throttled,
    Failed(String),
}

/// The signature of an internal call.
pub fn sign(key: &[u8; 32], target: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(target.as_bytes());
    mac.update(&[0]);
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `signature` authenticates the call (constant-time comparison).
pub fn verify(key: &[u8; 32], target: &str, body: &[u8], signature: &str) -> bool {
    let expected = sign(key, target, body);
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A pooled HTTP/1.1 client to the other nodes.
pub struct Peers {
    client: Client<HttpConnector, Full<Bytes>>,
    key: [u8; 32],
}

impl Peers {
    pub fn new(key: [u8; 32]) -> Peers {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Peers { client, key }
    }

    /// Send one internal call to the node at `address`; `Err` when it cannot be reached or
    /// answers something else than a call answer (it may have died or restarted).
    pub async fn call<T: DeserializeOwned>(
        &self,
        address: &str,
        target: &str,
        body: &impl Serialize,
    ) -> Result<T, String> {
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let request = hyper::Request::post(format!("http://{address}/"))
            .header("x-amz-target", target)
            .header("content-type", cairn_api::CONTENT_TYPE)
            .header(SIGNATURE_HEADER, sign(&self.key, target, &body))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{address}: {e}"))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{address}: {e}"))?
                .to_bytes();
            if !status.is_success() {
                return Err(format!(
                    "{address} answered {status}: {}",
                    String::from_utf8_lossy(&bytes)
                ));
            }
            serde_json::from_slice(&bytes).map_err(|e| format!("{address}: {e}"))
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{address}: no answer within {CALL_TIMEOUT:?}"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_key_target_and_body() {
        let key = [7u8; 32];
        let s = sign(&key, DELIVER, b"{}");
        assert!(verify(&key, DELIVER, b"{}", &s));
        assert!(!verify(&key, START, b"{}", &s));
        assert!(!verify(&key, DELIVER, b"{ }", &s));
        assert!(!verify(&[8u8; 32], DELIVER, b"{}", &s));
        assert!(!verify(&key, DELIVER, b"{}", ""));
    }
}
