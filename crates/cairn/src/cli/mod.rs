//! The `cairn` command line: one file per subcommand (`serve` today; `run`, `worker`, `bench`
//! join as siblings). Settings shared by subcommands that run an engine live in
//! [`EngineArgs`], read from flags or the environment variables of Step Functions Local.

mod bench;
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
    #[arg(long, env = "WAIT_TIME_SCALE", default_value_t = 1.0)]
    pub wait_time_scale: f64,
    /// Local Lambda functions: TOML or JSON file mapping function names to commands or URLs.
    #[arg(long = "functions", env = "CAIRN_FUNCTIONS")]
    pub functions_file: Option<std::path::PathBuf>,
    /// Lambda-compatible Invoke endpoint for functions the functions file does not name.
    #[arg(long, env = "LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,
    /// Authentication for HTTP Tasks: TOML or JSON file keyed by ConnectionArn.
    #[arg(long = "connections", env = "CAIRN_CONNECTIONS")]
    pub connections_file: Option<std::path::PathBuf>,
    /// Step Functions Local mock configuration file (test case chosen by `arn#TestCase`).
    #[arg(long, env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<std::path::PathBuf>,
}

impl EngineArgs {
    pub fn config(&self) -> Config {
        Config {
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            wait_time_scale: self.wait_time_scale,
            functions_file: self.functions_file.clone(),
            lambda_endpoint: self.lambda_endpoint.clone(),
            connections_file: self.connections_file.clone(),
            mock_config: self.mock_config.clone(),
            ..Config::default()
        }
    }
}

/// Parse the command line and run the chosen subcommand.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Bench(args) => bench::run(args),
        Command::Worker(args) => worker::run(args),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping") are not news.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
