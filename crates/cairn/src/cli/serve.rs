//! `cairn serve`: open the database, start the engine, serve the API until SIGINT/SIGTERM,
//! then drain requests in flight and stop the engine.

use super::EngineArgs;
use crate::app::App;
use crate::runtime::Engine;
use crate::server;
use anyhow::Context;
use cairn_store::sqlite::SqliteStore;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8083")]
    pub bind: String,
    /// SQLite database file (created if missing), or a `postgres://…` URL (the schema is
    /// created or migrated on connect).
    #[arg(long, default_value = "./cairn-data/cairn.db")]
    pub database: PathBuf,
    /// With PostgreSQL: this node's id among the nodes sharing the database (default: the
    /// advertised address, so a restarted node is recognised).
    #[arg(long, env = "CAIRN_NODE_ID")]
    pub node_id: Option<String>,
    /// With PostgreSQL: the `host:port` where the other nodes reach this one (default: the
    /// bound address; set it when binding 0.0.0.0).
    #[arg(long, env = "CAIRN_ADVERTISE")]
    pub advertise: Option<String>,
    /// With PostgreSQL: seconds a partition lease lasts unrenewed. A dead node's executions
    /// are taken over after about 4/3 of this; shorter means faster takeover, more renewals.
    #[arg(long, env = "CAIRN_LEASE_TTL", default_value_t = 6.0)]
    pub lease_ttl: f64,
    /// Days after it stopped that an execution can still be redriven (RedriveExecution).
    /// AWS allows 14; `0` means no limit, so anything kept in the database can be redriven.
    #[arg(long, env = "CAIRN_REDRIVE_WINDOW_DAYS", default_value_t = 14)]
    pub redrive_window_days: u32,
    /// Run on a virtual clock: it jumps to the next timer whenever nothing is in flight, and
    /// tests read, advance and freeze it with `X-Amz-Target: CairnClock.*` (see README).
    #[arg(long, env = "CAIRN_VIRTUAL_CLOCK")]
    pub virtual_clock: bool,
    /// `none` accepts every request (for loopback use); `sigv4` verifies each request's
    /// SigV4 signature against the access keys of `--credentials`.
    #[arg(long, value_enum, default_value = "none", env = "CAIRN_AUTH")]
    pub auth: AuthMode,
    /// With `--auth sigv4`: TOML or JSON file of `[[credentials]]` (access_key_id,
    /// secret_access_key, account_id, optional session_token).
    #[arg(long, env = "CAIRN_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// Requests that may wait for the writer at once; beyond it requests are answered
    /// ThrottlingException (which SDKs retry), so memory stays bounded under overload.
    #[arg(long, env = "CAIRN_MAX_QUEUED_REQUESTS", default_value_t = 10_000)]
    pub max_queued_requests: usize,
    /// Serve `https://` with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "CAIRN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CAIRN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Distributed Map storage (ItemReader, ResultWriter) on an S3-compatible server at this
    /// URL: path-style requests signed with SigV4, credentials from the usual AWS chain
    /// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, …), region from AWS_REGION or
    /// AWS_DEFAULT_REGION.
    #[arg(
        long,
        env = "CAIRN_S3_ENDPOINT",
        value_name = "URL",
        conflicts_with = "s3_root"
    )]
    pub s3_endpoint: Option<String>,
    /// Distributed Map storage without a server: bucket `b` is the folder DIR/b and key
    /// `k/x.json` the file DIR/b/k/x.json.
    #[arg(long, env = "CAIRN_S3_ROOT", value_name = "DIR")]
    pub s3_root: Option<PathBuf>,
    /// Export OpenTelemetry traces (a trace per execution, a span per state) over OTLP/HTTP
    /// protobuf to this base URL (`/v1/traces` is appended), e.g. `http://127.0.0.1:4318`.
    /// Off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// How `cairn serve` authenticates requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    None,
    Sigv4,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = super::engine_runtime()?;
    // The store is opened before the async runtime: PostgreSQL's store drives its own runtime
    // and must not be created from inside another one.
    let store = open_store(&args.database)?;
    runtime.block_on(serve(args, store))
}

async fn serve(args: ServeArgs, store: Arc<dyn cairn_store::Store>) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let mut config = args.engine.config();
    // At most a day: beyond that a dead node's executions would wait forever (and 1e300
    // seconds overflowed the Duration, a panic).
    if !(args.lease_ttl.is_finite() && (0.3..=86_400.0).contains(&args.lease_ttl)) {
        anyhow::bail!("--lease-ttl must be from 0.3 to 86400 seconds");
    }
    config.lease_ttl = std::time::Duration::from_secs_f64(args.lease_ttl);
    config.redrive_window = match args.redrive_window_days {
        0 => None,
        days => Some(std::time::Duration::from_secs(u64::from(days) * 24 * 3600)),
    };
    config.virtual_clock = args.virtual_clock;
    if args.virtual_clock && store.cluster().is_some() {
        // Every node would keep its own clock, and jump on its own idea of idle.
        anyhow::bail!("--virtual-clock needs a single node (a SQLite database)");
    }
    config.max_queued_requests = args.max_queued_requests;
    if let Some(url) = &args.s3_endpoint {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("--s3-endpoint must be an http:// or https:// URL, got '{url}'");
        }
    }
    if let Some(dir) = &args.s3_root {
        if !dir.is_dir() {
            anyhow::bail!(
                "--s3-root {} is not a folder (create it, and a folder in it per bucket)",
                dir.display()
            );
        }
    }
    config.s3_endpoint = args.s3_endpoint.clone();
    config.s3_root = args.s3_root.clone();
    config.otlp_endpoint = match args.otlp_endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Some(url.to_string())
        }
        Some(url) => {
            anyhow::bail!("--otlp-endpoint must be an http:// or https:// URL, got '{url}'")
        }
    };
    config.credentials = match (args.auth, &args.credentials) {
        (AuthMode::Sigv4, Some(path)) => Some(Arc::new(crate::api::auth::Credentials::load(path)?)),
        (AuthMode::Sigv4, None) => anyhow::bail!("--auth sigv4 needs --credentials FILE"),
        (AuthMode::None, Some(_)) => {
            anyhow::bail!("--credentials is used only with --auth sigv4")
        }
        (AuthMode::None, None) => None,
    };
    let advertise = match &args.advertise {
        Some(a) => a.clone(),
        None => {
            let local = listener.local_addr()?;
            if store.cluster().is_some() && local.ip().is_unspecified() {
                tracing::warn!(
                    address = %local,
                    "bound to an unspecified address: other nodes cannot forward to it; \
                     set --advertise"
                );
            }
            local.to_string()
        }
    };
    config.node_id = Some(args.node_id.clone().unwrap_or_else(|| advertise.clone()));
    config.advertise = Some(advertise);
    let engine = Engine::start(store.clone(), config.clone())?;
    let app = Arc::new(App::new(store, config, engine.clone()));
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redacted(&args.database.to_string_lossy()),
        tls = tls.is_some(),
        "cairn is serving the Step Functions API"
    );
    match tls {
        Some(acceptor) => server::serve_tls(listener, acceptor, app, shutdown_signal()).await?,
        None => server::serve(listener, app, shutdown_signal()).await?,
    }
    tracing::info!("shutting down: stopping the engine");
    engine.shutdown().await;
    Ok(())
}

/// The database as logged: a URL's password replaced by `***`.
fn redacted(database: &str) -> String {
    let Some((scheme, rest)) = database.split_once("://") else {
        return database.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return database.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => database.to_string(),
    }
}

/// A `postgres://` or `postgresql://` URL opens PostgreSQL; anything else is a SQLite file.
pub(super) fn open_store(
    database: &std::path::Path,
) -> anyhow::Result<Arc<dyn cairn_store::Store>> {
    let text = database.to_string_lossy();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let store = cairn_store::postgres::PostgresStore::connect(&text)
            .context("cannot connect to the PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(database)
        .with_context(|| format!("cannot open database {}", database.display()))?;
    Ok(Arc::new(store))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_logged() {
        use super::redacted;
        assert_eq!(
            redacted("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redacted("./cairn-data/cairn.db"), "./cairn-data/cairn.db");
    }

    #[test]
    fn distributed_map_storage_flags() {
        use crate::cli::{Cli, Command};
        use clap::{CommandFactory, Parser};
        let serve = |args: &[&str]| {
            let argv = ["cairn", "serve"].iter().chain(args).copied();
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Serve(a) => a,
                _ => unreachable!(),
            })
        };
        let a = serve(&["--s3-endpoint", "http://127.0.0.1:9000"]).unwrap();
        assert_eq!(a.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let a = serve(&["--s3-root", "/data/buckets"]).unwrap();
        assert_eq!(a.s3_root, Some("/data/buckets".into()));
        let both = serve(&["--s3-root", "d", "--s3-endpoint", "http://h"]).unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--s3-endpoint <URL>") && help.contains("--s3-root <DIR>"));
    }
}
