//! The runtime: drives executions through the interpreter (`cairn-core`), commits each batch
//! of steps to the store in one transaction, then acts (wakes pollers, arms timers, runs tasks).

use crate::config::Config;
use cairn_store::Store;
use std::sync::Arc;

/// Handle to the running engine; cheap to share (`Arc`). Placeholder: the real engine lands next.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub config: Config,
}

impl Engine {
    /// Start the engine's loops (recovering running executions from the store).
    pub fn start(store: Arc<dyn Store>, config: Config) -> anyhow::Result<Arc<Engine>> {
        Ok(Arc::new(Engine { store, config }))
    }

    /// Stop accepting work, finish the batch in flight, and return.
    pub async fn shutdown(&self) {}
}
