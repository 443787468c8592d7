//! The application a server serves: the store, the settings and the engine, shared by every
//! request handler. Owns nothing that runs by itself; the engine owns its loops.

use crate::config::Config;
use crate::runtime::Engine;
use cairn_api::ApiError;
use cairn_store::Store;
use std::sync::Arc;

/// What every request handler can reach.
pub struct App {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub engine: Arc<Engine>,
    /// Machines StartExecution read lately (see `api/machine_cache.rs`).
    pub machines: crate::api::machine_cache::MachineCache,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: Config, engine: Arc<Engine>) -> App {
        App {
            store,
            config,
            engine,
            machines: Default::default(),
        }
    }

    /// Run a (synchronous) store call on the blocking pool, so a slow disk never stalls the
    /// async threads. A storage failure becomes an `InternalFailure` answer (and a log line).
    pub async fn store<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Store) -> cairn_store::Result<R> + Send + 'static,
    {
        read_store(&self.store, f).await
    }
}

/// Run a (synchronous) store call on the blocking pool, so a slow disk never stalls the
/// async threads (a bounded number at once: `runtime::blocking_store`). A storage failure becomes an `InternalFailure` answer (and a log line).
/// For code that holds a store but no [`App`] (the runtime's child executions).
pub async fn read_store<R, F>(store: &Arc<dyn Store>, f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&dyn Store) -> cairn_store::Result<R> + Send + 'static,
{
    match crate::runtime::blocking_store(store, f).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store call failed");
            Err(ApiError::internal_failure("Internal error in the store"))
        }
        Err(e) => {
            tracing::error!(error = %e, "store call panicked");
            Err(ApiError::internal_failure("Internal error"))
        }
    }
}
