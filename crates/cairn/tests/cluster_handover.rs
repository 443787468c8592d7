//! Two nodes on one PostgreSQL schema: a node stopped gracefully (SIGTERM) hands its
//! partitions back at once — the survivor takes them over long before the lease would have
//! lapsed — and the executions it was running finish on the survivor. Also: the node-to-node
//! calls refuse a caller without the cluster's key, changing nothing.
//!
//! Needs `CAIRN_TEST_POSTGRES_URL`; skipped without it.

#[path = "common/cluster.rs"]
mod cluster;

use aws_sdk_sfn::types::ExecutionStatus;
use cluster::{Cluster, Metrics};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Far longer than the test may take: a takeover that waited for a lapse would fail it.
const LEASE_TTL: &str = "120";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_hands_its_partitions_over_at_once() {
    let Some(mut cluster) = Cluster::start(&["h1", "h2"], &["--lease-ttl", LEASE_TTL]).await else {
        return;
    };
    let spread = |m: &[Metrics]| {
        m.iter()
            .all(|m| m.cluster_nodes == Some(2) && m.partitions_owned.unwrap_or(0) > 0)
    };
    cluster
        .wait_until("both nodes own partitions", Duration::from_secs(30), spread)
        .await;
    let clients = cluster.clients();
    let (first, second) = (&clients[0], &clients[1]);

    let activity = first
        .create_activity()
        .name("handover")
        .send()
        .await
        .unwrap()
        .activity_arn;
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = first
        .create_state_machine()
        .name("handover")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    // Started through the node that is about to stop: about half of them are its own.
    let mut executions = Vec::new();
    for i in 0..40 {
        let arn = second
            .start_execution()
            .state_machine_arn(&machine)
            .name(format!("e{i}"))
            .input(json!({ "i": i }).to_string())
            .send()
            .await
            .unwrap()
            .execution_arn;
        executions.push(arn);
    }

    // An internal call without the cluster's signature: refused, and the execution runs on.
    let forged = json!({"executionArn": executions[0],
        "input": {"Stop": {"error": "Forged", "cause": null}}})
    .to_string();
    let status = raw_post(cluster.nodes[0].port, "CairnInternal.Deliver", &forged).await;
    assert_eq!(status, 403, "an unsigned node-to-node call is refused");

    let stopped = Instant::now();
    cluster.nodes[1].terminate();
    let after = cluster
        .wait_until(
            "the survivor owns every partition",
            Duration::from_secs(20),
            |m| m.len() == 1 && m[0].partitions_owned == Some(256) && m[0].cluster_nodes == Some(1),
        )
        .await;
    println!(
        "cluster_handover: h2 stopped; h1 owned all partitions {:?} later ({:?})",
        stopped.elapsed(),
        after[0].partitions_owned
    );

    // Every task, including those of h2's executions, is handed out and answered through h1.
    let mut answered = 0;
    let begin = Instant::now();
    while answered < executions.len() {
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "only {answered} tasks came"
        );
        let task = first
            .get_activity_task()
            .activity_arn(&activity)
            .send()
            .await
            .unwrap();
        if let Some(token) = task.task_token {
            first
                .send_task_success()
                .task_token(token)
                .output(task.input.unwrap_or_default())
                .send()
                .await
                .unwrap();
            answered += 1;
        }
    }
    for (i, arn) in executions.iter().enumerate() {
        let described = first
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.status, ExecutionStatus::Succeeded, "{arn}");
        assert_eq!(
            described.output.as_deref(),
            Some(json!({ "i": i }).to_string().as_str())
        );
    }
}

/// POST an AWS JSON 1.0 request by hand (no signature header); the HTTP status.
async fn raw_post(port: u16, target: &str, body: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
