//! Server settings: where ARNs point (partition, region, account) and how the server runs.
//! Defaults follow AWS Step Functions Local, so Cairn can replace it unchanged.

/// Settings shared by the API layer and the runtime.
#[derive(Debug, Clone)]
pub struct Config {
    pub partition: String,
    /// Region written into ARNs this server mints (`AWS_DEFAULT_REGION`, default `us-east-1`).
    pub region: String,
    /// Account written into ARNs (`AWS_ACCOUNT_ID`, default `123456789012`).
    pub account_id: String,
    /// Scale for Wait states and timeouts (`WAIT_TIME_SCALE`, 1.0 = real time).
    pub wait_time_scale: f64,
    /// How long GetActivityTask holds an idle poll (AWS: 60 s; tests shorten it).
    pub activity_long_poll: std::time::Duration,
    /// Local Lambda functions: a TOML or JSON file mapping function names to commands or
    /// URLs (`--functions`).
    pub functions_file: Option<std::path::PathBuf>,
    /// A Lambda-compatible Invoke endpoint for functions the functions file does not name
    /// (`LAMBDA_ENDPOINT`).
    pub lambda_endpoint: Option<String>,
    /// AWS endpoints by `aws-sdk` service name (`dynamodb`, `sqs`, `sfn`), from
    /// `--aws-endpoint NAME=URL` and Step Functions Local's `DYNAMODB_ENDPOINT`, `SQS_ENDPOINT`….
    pub aws_endpoints: std::collections::BTreeMap<String, String>,
    /// The AWS SDKs' `AWS_ENDPOINT_URL_<SERVICE_ID>` by suffix; `""` for `AWS_ENDPOINT_URL`.
    pub aws_endpoint_urls: std::collections::BTreeMap<String, String>,
    /// Endpoints per service, signing region and credentials (`--aws-settings`, TOML or JSON).
    pub aws_settings_file: Option<std::path::PathBuf>,
    /// Authentication for HTTP Tasks by ConnectionArn (`--connections`).
    pub connections_file: Option<std::path::PathBuf>,
    /// A Step Functions Local mock configuration file (`SFN_MOCK_CONFIG`).
    pub mock_config: Option<std::path::PathBuf>,
    /// Socket timeout of HTTP Tasks and HTTP-backed functions (AWS: 60 s; tests shorten it).
    pub http_timeout: std::time::Duration,
    /// Cluster: this node's id (`--node-id`; default: its advertised address).
    pub node_id: Option<String>,
    /// Cluster: where the other nodes reach this one, `host:port` (`--advertise`).
    pub advertise: Option<String>,
    /// Cluster: how long a partition lease lasts unrenewed (`--lease-ttl`); a dead node's
    /// executions are taken over within about 4/3 of it.
    pub lease_ttl: std::time::Duration,
    /// How long after it stopped an execution can be redriven (`--redrive-window-days`;
    /// AWS: 14 days). `None`: no limit.
    pub redrive_window: Option<std::time::Duration>,
    /// A virtual clock that tests can read, advance and freeze, and that jumps to the next
    /// timer when the engine is idle (`--virtual-clock`, `cairn run --skip-time`).
    pub virtual_clock: bool,
    /// `--auth sigv4`: the access keys requests must be signed with (`None`: every request
    /// is accepted, as Step Functions Local does).
    pub credentials: Option<std::sync::Arc<crate::api::auth::Credentials>>,
    /// Requests (starts, task answers, stops) that may wait for the writer at once; more are
    /// answered `ThrottlingException` (`--max-queued-requests`).
    pub max_queued_requests: usize,
    /// Distributed Map storage: an S3-compatible endpoint (`--s3-endpoint URL`; path-style,
    /// SigV4 with the usual AWS environment credentials).
    pub s3_endpoint: Option<String>,
    /// Distributed Map storage without a server: each bucket is a folder here (`--s3-root`).
    pub s3_root: Option<std::path::PathBuf>,
    /// OpenTelemetry: the OTLP/HTTP endpoint traces are exported to (`--otlp-endpoint`, or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; `/v1/traces` is appended). `None`: no traces.
    pub otlp_endpoint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            wait_time_scale: 1.0,
            activity_long_poll: std::time::Duration::from_secs(60),
            functions_file: None,
            lambda_endpoint: None,
            aws_endpoints: Default::default(),
            aws_endpoint_urls: Default::default(),
            aws_settings_file: None,
            connections_file: None,
            mock_config: None,
            http_timeout: std::time::Duration::from_secs(60),
            node_id: None,
            advertise: None,
            lease_ttl: std::time::Duration::from_secs(6),
            redrive_window: Some(std::time::Duration::from_secs(14 * 24 * 3600)),
            virtual_clock: false,
            credentials: None,
            max_queued_requests: 10_000,
            s3_endpoint: None,
            s3_root: None,
            otlp_endpoint: None,
        }
    }
}
