//! `GET /metrics`: the node's identity and its view of the cluster, in Prometheus' text
//! format, so an operator can see who is a member and who holds how many partitions.

use crate::app::App;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::Arc;

pub async fn handle(State(app): State<Arc<App>>) -> Response {
    let ownership = app.engine.ownership();
    let (id, address) = match ownership.node() {
        Some(n) => (n.id.as_str(), n.address.as_str()),
        None => ("single", ""),
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP cairn_node_info This node: its id and advertised address."
    );
    let _ = writeln!(text, "# TYPE cairn_node_info gauge");
    let _ = writeln!(
        text,
        "cairn_node_info{{node=\"{}\",address=\"{}\"}} 1",
        escape(id),
        escape(address)
    );
    let _ = writeln!(
        text,
        "# HELP cairn_cluster_nodes Live nodes sharing the store."
    );
    let _ = writeln!(text, "# TYPE cairn_cluster_nodes gauge");
    let _ = writeln!(text, "cairn_cluster_nodes {}", ownership.live_nodes());
    let _ = writeln!(
        text,
        "# HELP cairn_partitions_owned Execution partitions this node advances."
    );
    let _ = writeln!(text, "# TYPE cairn_partitions_owned gauge");
    let _ = writeln!(text, "cairn_partitions_owned {}", ownership.owned_count());
    let mut response = text.into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
