//! The `cairn` command line: one file per subcommand (`serve`, `run`, `worker`, `bench`). Settings shared by subcommands that run an engine live in
//! [`EngineArgs`], read from flags or the environment variables of Step Functions Local.

mod bench;
mod run;
mod serve;
mod worker;

use crate::config::Config;
use clap::{Args, Parser, Subcommand};

/// Cairn: a self-hosted workflow engine speaking the AWS Step Functions API.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Step Functions API over HTTP.
    Serve(Box<serve::ServeArgs>),
    /// Measure throughput and latency against an in-process server or any endpoint.
    Bench(crate::bench::BenchArgs),
    /// Run one execution of a definition file in-process and print its history.
    Run(Box<run::RunArgs>),
    /// Run a program for each task of an activity: stdin = input, stdout = output.
    Worker(worker::WorkerArgs),
}

/// Where minted ARNs point and how fast time runs.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Account id written into ARNs.
    #[arg(long, env = "AWS_ACCOUNT_ID", default_value = "123456789012")]
    pub account_id: String,
    /// Region written into ARNs when a request's signature names none.
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Scale for Wait states and timeouts (0.01 = a hundred times faster).
    #[arg(long, env = "WAIT_TIME_SCALE", default_value_t = 1.0, value_parser = wait_time_scale)]
    pub wait_time_scale: f64,
    /// Local Lambda functions: TOML or JSON file mapping function names to commands or URLs.
    #[arg(long = "functions", env = "CAIRN_FUNCTIONS")]
    pub functions_file: Option<std::path::PathBuf>,
    /// Lambda-compatible Invoke endpoint for functions the functions file does not name.
    #[arg(long, env = "LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,
    /// Endpoint of an AWS service for its integrations, `SERVICE=URL` (`dynamodb=http://127.0.0.1:8000`;
    /// the URL `aws` is the public endpoint). Repeatable. Step Functions Local's variables
    /// (DYNAMODB_ENDPOINT, SQS_ENDPOINT, …) and AWS_ENDPOINT_URL[_<SERVICE>] are read too.
    #[arg(long = "aws-endpoint", value_name = "SERVICE=URL", value_parser = service_endpoint)]
    pub aws_endpoint: Vec<(String, String)>,
    /// AWS settings file (TOML or JSON): `region`, `[endpoints]` per service, `[credentials]`.
    #[arg(long = "aws-settings", env = "CAIRN_AWS_SETTINGS")]
    pub aws_settings_file: Option<std::path::PathBuf>,
    /// Authentication for HTTP Tasks: TOML or JSON file keyed by ConnectionArn.
    #[arg(long = "connections", env = "CAIRN_CONNECTIONS")]
    pub connections_file: Option<std::path::PathBuf>,
    /// Step Functions Local mock configuration file (test case chosen by `arn#TestCase`).
    #[arg(long, env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<std::path::PathBuf>,
}

/// `SERVICE=URL` of `--aws-endpoint` (`URL` may be `aws`, the public endpoint).
/// `--wait-time-scale`: a finite number from 0 to 1,000 (NaN, infinities and negative scales
/// made durations that panic or never end).
fn wait_time_scale(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("'{text}' is not a number from 0 to 1000")),
    }
}

fn service_endpoint(text: &str) -> Result<(String, String), String> {
    let (service, url) = text
        .split_once('=')
        .ok_or_else(|| format!("expected SERVICE=URL, got '{text}'"))?;
    let (service, url) = (service.trim().to_ascii_lowercase(), url.trim().to_string());
    if service.is_empty()
        || !(url == "aws" || url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "expected SERVICE=URL with an http(s) URL or 'aws', got '{text}'"
        ));
    }
    Ok((service, url))
}

impl EngineArgs {
    /// `--aws-endpoint` flags over Step Functions Local's variables.
    fn aws_endpoints(&self) -> std::collections::BTreeMap<String, String> {
        let mut m = std::collections::BTreeMap::new();
        for (var, service) in crate::runtime::resources::STEP_FUNCTIONS_LOCAL_VARIABLES {
            if let Ok(url) = std::env::var(var) {
                if !url.is_empty() {
                    m.insert(service.to_string(), url);
                }
            }
        }
        for (k, v) in &self.aws_endpoint {
            m.insert(k.clone(), v.clone());
        }
        m
    }

    pub fn config(&self) -> Config {
        Config {
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            wait_time_scale: self.wait_time_scale,
            functions_file: self.functions_file.clone(),
            lambda_endpoint: self.lambda_endpoint.clone(),
            aws_endpoints: self.aws_endpoints(),
            aws_endpoint_urls: std::env::vars()
                .filter_map(|(k, v)| {
                    let rest = k.strip_prefix("AWS_ENDPOINT_URL")?;
                    let key = rest.strip_prefix('_').unwrap_or(rest);
                    (rest.is_empty() || rest.starts_with('_')).then(|| (key.to_string(), v))
                })
                .collect(),
            aws_settings_file: self.aws_settings_file.clone(),
            connections_file: self.connections_file.clone(),
            mock_config: self.mock_config.clone(),
            ..Config::default()
        }
    }
}

/// Parse the command line and run the chosen subcommand.
/// Threads of the blocking pool of a runtime that hosts the engine (tokio's default is 512).
/// Store calls take at most 32 at once (`runtime::blocking_store`), but a call's thread is
/// counted idle only a moment after it hands over its result, and a call spawned in that
/// moment started a new thread: under a Distributed Map of 1,000 STANDARD children the
/// pool grew past 150 threads, each with a stack and a share of malloc's arenas. Beyond
/// this many, a blocking task waits for a thread instead.
const ENGINE_BLOCKING_THREADS: usize = 48;

/// The async runtime of the commands that host the engine (`serve`, `run`, `bench`).
fn engine_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(ENGINE_BLOCKING_THREADS)
        .build()
        .context("cannot start the async runtime")
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `cairn run` prints the history on stdout; only problems go to stderr.
    init_tracing(if matches!(cli.command, Command::Run(_)) {
        "warn"
    } else {
        "info"
    });
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Bench(args) => bench::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Run(args) => run::run(*args),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping") are not news.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{level},sqlx::postgres::notice=warn"))
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
