//! Nodes started at the same moment on a schema that does not exist yet all come up: the
//! schema named by `search_path` is created once, under a lock, and a node that loses the race
//! uses the winner's schema instead of dying on `CREATE SCHEMA`'s duplicate key. Both the store
//! (several connects at once) and the real binary (two `cairn serve` at once, then driven by
//! the SDK). Needs `CAIRN_TEST_POSTGRES_URL`; skipped without it.

use cairn_store::postgres::PostgresStore;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const URL_VARIABLE: &str = "CAIRN_TEST_POSTGRES_URL";

/// A schema name nobody created, and the URL naming it; dropped at the end.
struct FreshSchema {
    server: String,
    name: String,
    url: String,
}

impl FreshSchema {
    fn new() -> Option<FreshSchema> {
        let Ok(server) = std::env::var(URL_VARIABLE) else {
            eprintln!("skipped: {URL_VARIABLE} not set");
            return None;
        };
        let name = format!("fresh_{}", uuid::Uuid::new_v4().simple());
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options[search_path]={name}");
        Some(FreshSchema { server, name, url })
    }
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        let (server, sql) = (
            self.server.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&server).await?;
                    sqlx::raw_sql(&sql).execute(&mut conn).await?;
                    Ok::<_, sqlx::Error>(())
                })
        })
        .join();
    }
}

#[test]
fn stores_connecting_at_once_to_a_new_schema_all_connect() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let (url, barrier) = (schema.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::connect(&url).map(drop)
            })
        })
        .collect();
    for connect in connects {
        connect
            .join()
            .expect("connect thread")
            .expect("every store connects");
    }
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_started_together_on_a_new_schema_both_serve() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let ports = [free_port(), free_port()];
    let mut nodes: Vec<Node> = ports
        .iter()
        .map(|port| {
            Node(
                Command::new(env!("CARGO_BIN_EXE_cairn"))
                    .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
                    .args(["--database", &schema.url])
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("start cairn serve"),
            )
        })
        .collect();
    for (node, port) in nodes.iter_mut().zip(ports) {
        let begin = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = node.0.try_wait() {
                panic!("node on port {port} exited at start: {status}");
            }
            assert!(
                begin.elapsed() < Duration::from_secs(60),
                "node on port {port} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Both answer, from the same schema: what one creates the other lists.
    let clients: Vec<_> = ports
        .iter()
        .map(|port| {
            let config = aws_sdk_sfn::Config::builder()
                .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
                .region(aws_sdk_sfn::config::Region::new("us-east-1"))
                .endpoint_url(format!("http://127.0.0.1:{port}"))
                .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                    "test", "test", None, None, "static",
                ))
                .build();
            aws_sdk_sfn::Client::from_conf(config)
        })
        .collect();
    let arn = clients[0]
        .create_activity()
        .name("shared")
        .send()
        .await
        .expect("first node answers")
        .activity_arn;
    let listed = clients[1]
        .list_activities()
        .send()
        .await
        .expect("second node answers");
    assert!(listed.activities().iter().any(|a| a.activity_arn() == arn));
}
