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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            wait_time_scale: 1.0,
            activity_long_poll: std::time::Duration::from_secs(60),
        }
    }
}
