//! The endpoints one bench run targets (one server, or several nodes sharing a database) and
//! the connections that spread a scenario's calls over them, round robin.
//!
//! It only chooses where each call goes; it never retries a call on another endpoint, so a
//! failing node shows up as a failed run rather than as a quietly slower one.

use cairn_worker::client::{authority, CallError, SfnConnection};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// One or more `http://host:port` endpoints, in the order given on the command line.
#[derive(Debug, Clone)]
pub struct Endpoints(Arc<[String]>);

impl Endpoints {
    /// The endpoints, each checked to be `http://host:port`; at least one.
    pub fn new(urls: Vec<String>) -> anyhow::Result<Endpoints> {
        let urls: Vec<String> = urls
            .into_iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            anyhow::bail!("--endpoint needs at least one http://host:port");
        }
        for url in &urls {
            authority(url)?;
        }
        Ok(Endpoints(urls.into()))
    }

    /// One connection per endpoint, opened now; the first call goes to endpoint
    /// `first % len`, so callers numbered 0, 1, 2… start on different endpoints.
    pub async fn connect(&self, first: usize) -> Result<RoundRobin, CallError> {
        let mut connections = Vec::with_capacity(self.0.len());
        for url in self.0.iter() {
            connections.push(SfnConnection::connect(url).await?);
        }
        Ok(RoundRobin {
            next: first % connections.len(),
            connections,
        })
    }
}

impl fmt::Display for Endpoints {
    /// The endpoints joined by ", " (one endpoint prints as itself).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// A connection to every endpoint; each call goes to the next endpoint in turn. With one
/// endpoint it is just that endpoint's connection.
pub struct RoundRobin {
    connections: Vec<SfnConnection>,
    next: usize,
}

impl RoundRobin {
    /// Call `AWSStepFunctions.<operation>` on the next endpoint.
    pub async fn call(&mut self, operation: &str, body: &Value) -> Result<Value, CallError> {
        let i = self.next;
        self.next = (i + 1) % self.connections.len();
        self.connections[i].call(operation, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_trimmed_checked_and_listed_in_order() {
        let e = Endpoints::new(vec![
            "http://127.0.0.1:1".into(),
            " http://127.0.0.1:2/".into(),
            "".into(),
        ])
        .unwrap();
        assert_eq!(e.to_string(), "http://127.0.0.1:1, http://127.0.0.1:2/");
        assert!(Endpoints::new(vec![]).is_err());
        assert!(Endpoints::new(vec!["https://x:1".into()]).is_err());
    }
}
