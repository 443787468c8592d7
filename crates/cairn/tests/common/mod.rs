//! A real Cairn server for integration tests: a temp-dir SQLite database, the engine, and the
//! HTTP server on `127.0.0.1:0`, in-process, plus an `aws_sdk_sfn::Client` pointed at it
//! (static test credentials, region `us-east-1`).
//!
//! ```ignore
//! let server = TestServer::start().await;
//! server.client.create_activity().name("a").send().await?;
//! let server = server.restart().await;        // same database, new server and engine
//! let (status, headers, body) = server.raw("AWSStepFunctions.ListActivities", "{}").await;
//! server.stop().await;                        // or just drop it
//! ```
//! The SDK client strips the `sync-` host prefix that StartSyncExecution and TestState add.

#![allow(dead_code)]

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use cairn::app::App;
use cairn::config::Config;
use cairn::runtime::Engine;
use cairn_store::sqlite::SqliteStore;
use cairn_store::Store;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The role ARN tests pass to CreateStateMachine.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cairn-test-role";

/// A running server on a private database.
pub struct TestServer {
    /// `127.0.0.1:<port>`.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// SDK client for this server (region `us-east-1`).
    pub client: aws_sdk_sfn::Client,
    /// The app behind the server: store, config, engine.
    pub app: Arc<App>,
    /// The database file.
    pub database: PathBuf,
    dir: Arc<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on a fresh database with the default [`Config`].
    pub async fn start() -> TestServer {
        TestServer::start_with(Config::default()).await
    }

    /// A server on a fresh database with this config.
    pub async fn start_with(config: Config) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        TestServer::start_in(dir, config).await
    }

    async fn start_in(dir: Arc<tempfile::TempDir>, config: Config) -> TestServer {
        TestServer::start_wrapped(dir, config, |s| s).await
    }

    /// A server on a fresh database whose store is `wrap`ped first (e.g. in a store that
    /// fails on purpose).
    pub async fn start_on(
        config: Config,
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        TestServer::start_wrapped(dir, config, wrap).await
    }

    async fn start_wrapped(
        dir: Arc<tempfile::TempDir>,
        config: Config,
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> TestServer {
        let database = dir.path().join("cairn.db");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&database).expect("open database"));
        let store = wrap(store);
        let engine = Engine::start(store.clone(), config.clone()).expect("start engine");
        let app = Arc::new(App::new(store, config, engine));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cairn::server::serve(listener, app.clone(), async {
            let _ = rx.await;
        }));
        let task = tokio::spawn(async move {
            if let Ok(Err(e)) = task.await {
                panic!("server failed: {e}");
            }
        });
        let endpoint = format!("http://{addr}");
        TestServer {
            addr,
            client: client(&endpoint, "us-east-1"),
            endpoint,
            app,
            database,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// CreateStateMachine (STANDARD) with [`ROLE_ARN`]; the machine's ARN.
    pub async fn create_machine(&self, name: &str, definition: &Value) -> String {
        self.client
            .create_state_machine()
            .name(name)
            .role_arn(ROLE_ARN)
            .definition(definition.to_string())
            .send()
            .await
            .expect("create state machine")
            .state_machine_arn
    }

    /// CreateActivity; the activity's ARN.
    pub async fn create_activity(&self, name: &str) -> String {
        self.client
            .create_activity()
            .name(name)
            .send()
            .await
            .expect("create activity")
            .activity_arn
    }

    /// StartExecution with this input; the execution's ARN.
    pub async fn start_execution(&self, machine: &str, input: &Value) -> String {
        self.client
            .start_execution()
            .state_machine_arn(machine)
            .input(input.to_string())
            .send()
            .await
            .expect("start execution")
            .execution_arn
    }

    /// DescribeExecution once the execution has left RUNNING (panics after 20 s).
    pub async fn wait_done(
        &self,
        execution_arn: &str,
    ) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let d = self
                .client
                .describe_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .expect("describe execution");
            if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
                return d;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{execution_arn} still running"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Another SDK client for this server, signing for `region`.
    pub fn client_in_region(&self, region: &str) -> aws_sdk_sfn::Client {
        client(&self.endpoint, region)
    }

    /// Stop the server (requests in flight finish) and the engine.
    pub async fn stop(mut self) {
        self.stop_parts().await;
    }

    async fn stop_parts(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.app.engine.shutdown().await;
    }

    /// Stop this server and start a new one on the same database and config.
    pub async fn restart(mut self) -> TestServer {
        self.stop_parts().await;
        let config = self.app.config.clone();
        TestServer::start_in(self.dir.clone(), config).await
    }

    /// Send one raw request: `X-Amz-Target: <target>` (none if empty), `body` as is.
    /// Returns status, headers (lower-case names) and the JSON body (`Null` if not JSON).
    pub async fn raw(&self, target: &str, body: &str) -> (u16, HashMap<String, String>, Value) {
        let mut headers = vec![("content-type", "application/x-amz-json-1.0")];
        if !target.is_empty() {
            headers.push(("x-amz-target", target));
        }
        self.raw_with_headers(&headers, body).await
    }

    /// Like [`TestServer::raw`], with explicit headers.
    pub async fn raw_with_headers(
        &self,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, HashMap<String, String>, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut request = format!(
            "POST / HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").expect("http response");
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (
            status,
            headers,
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
            let engine = self.app.engine.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move { engine.shutdown().await });
            }
        }
    }
}

/// An SDK client for `endpoint` with static test credentials.
pub fn client(endpoint: &str, region: &str) -> aws_sdk_sfn::Client {
    let credentials = Credentials::new("AKIDCAIRNTEST", "cairn-test-secret", None, None, "test");
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials)
        .interceptor(StripHostPrefix)
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// aws-sdk-rust always puts `sync-` in front of the host for StartSyncExecution and
/// TestState, even with a custom endpoint, and has no switch to turn it off: undo it.
#[derive(Debug)]
struct StripHostPrefix;

impl Intercept for StripHostPrefix {
    fn name(&self) -> &'static str {
        "StripHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let request = context.request_mut();
        if let Some(rest) = request.uri().strip_prefix("http://sync-") {
            let uri = format!("http://{rest}");
            request.set_uri(uri.as_str())?;
        }
        Ok(())
    }
}

/// A valid one-state definition.
pub fn pass_definition() -> String {
    r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_string()
}

/// The AWS error code of an SDK error (`None` for transport failures).
pub fn error_code<E, R>(err: &aws_sdk_sfn::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_string)
}

/// The AWS error message of an SDK error.
pub fn error_message<E, R>(err: &aws_sdk_sfn::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.message())
        .map(str::to_string)
}
