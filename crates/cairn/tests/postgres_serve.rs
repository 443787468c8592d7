//! `cairn serve --database postgres://…`: the real binary on PostgreSQL, driven by the SDK — an
//! activity task handed out, the server restarted, the task answered, the execution done.
//! Needs `CAIRN_TEST_POSTGRES_URL` (scripts/test provides a server); skipped without it.

use aws_sdk_sfn::Client;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Server {
    fn start(url: &str, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
                url,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cairn serve");
        let begin = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(port: u16) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .build();
    Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_hands_out_a_task_that_survives_a_restart() {
    let Ok(url) = std::env::var("CAIRN_TEST_POSTGRES_URL") else {
        eprintln!("skipped: CAIRN_TEST_POSTGRES_URL not set");
        return;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let server = Server::start(&url, port);
    let sfn = client(port);
    let activity = sfn
        .create_activity()
        .name(format!("pg-{run}"))
        .send()
        .await
        .unwrap()
        .activity_arn;
    let definition = serde_json::json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = sfn
        .create_state_machine()
        .name(format!("pg-{run}"))
        .role_arn("arn:aws:iam::123456789012:role/pg")
        .definition(definition.to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let execution = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"n": 7}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task = sfn
        .get_activity_task()
        .activity_arn(&activity)
        .worker_name("pg-worker")
        .send()
        .await
        .unwrap();
    let token = task.task_token().expect("a task").to_string();
    let input: serde_json::Value = serde_json::from_str(task.input().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"n": 7}));

    drop(server);
    let _server = Server::start(&url, port);
    let sfn = client(port);
    sfn.send_task_success()
        .task_token(&token)
        .output(r#"{"done": 7}"#)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let d = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        if d.status().as_str() != "RUNNING" {
            break d;
        }
        assert!(Instant::now() < deadline, "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    let output: serde_json::Value = serde_json::from_str(d.output().unwrap()).unwrap();
    assert_eq!(output, serde_json::json!({"done": 7}));
    let history = sfn
        .get_execution_history()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    let types: Vec<&str> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}
