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
    /// SQLite database file (created if missing).
    #[arg(long, default_value = "./cairn-data/cairn.db")]
    pub database: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.engine.config();
    let store = SqliteStore::open(&args.database)
        .with_context(|| format!("cannot open database {}", args.database.display()))?;
    let store: Arc<dyn cairn_store::Store> = Arc::new(store);
    let engine = Engine::start(store.clone(), config.clone())?;
    let app = Arc::new(App::new(store, config, engine.clone()));
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %args.database.display(),
        "cairn is serving the Step Functions API"
    );
    server::serve(listener, app, shutdown_signal()).await?;
    tracing::info!("shutting down: stopping the engine");
    engine.shutdown().await;
    Ok(())
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
