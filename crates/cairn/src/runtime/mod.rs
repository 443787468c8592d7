//! The runtime: drives executions through the interpreter (`cairn-core`), commits each batch
//! of steps to the store in one transaction, then acts (answers callers, wakes pollers, arms
//! timers, runs task resources).
//!
//! Shape (see ARCHITECTURE.md): one **writer** thread owns every running execution of this
//! node. Callers send it [`writer::Command`]s; it takes as many as are queued (up to a bound),
//! runs `cairn_core::start`/`step` for each, commits all resulting events, execution rows,
//! activity tasks and timers in one transaction, and only then replies and carries out the
//! effects. A crash before the commit loses nothing that was acknowledged; a crash after it
//! repeats effects, which are idempotent.
//!
//! Must not: hold execution state anywhere but the store and the writer's cache; block the
//! async threads on the database for long.

mod activities;
pub mod express;
pub mod resources;
mod timers;
mod writer;

pub use writer::{StartError, StartRequest, StartResult};

use crate::config::Config;
use activities::Dispatch;
use cairn_core::{Input, Outcome};
use cairn_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Why the engine could not take a request.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("Execution Does Not Exist: '{0}'")]
    NoSuchExecution(String),
    #[error("storage failure: {0}")]
    Store(#[from] cairn_store::StoreError),
}

/// Handle to the running engine; cheap to share (`Arc`).
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub config: Config,
    token_key: [u8; 32],
    commands: mpsc::UnboundedSender<writer::Command>,
    dispatch: Arc<Dispatch>,
    resource_env: resources::ResourceEnv,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What a worker gets from GetActivityTask.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    pub token: String,
    pub input: String,
}

impl Engine {
    /// Start the engine's loops. Must be called inside a tokio runtime. Running executions are
    /// recovered lazily (loaded from the store when an input for them arrives); pending timers
    /// are loaded at once.
    pub fn start(store: Arc<dyn Store>, config: Config) -> anyhow::Result<Arc<Engine>> {
        let token_key = store.token_key()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let dispatch = Arc::new(Dispatch::default());
        let timers = timers::TimerService::start(tx.clone(), config.wait_time_scale);
        for t in store.timers()? {
            timers.arm(t.execution_arn, t.timer, t.fire_at_ms);
        }
        let resource_env = resources::ResourceEnv::new(config.clone())?;
        let resources = resources::ResourceRunner::new(tx.clone(), resource_env.clone());
        let writer = writer::Writer::new(
            store.clone(),
            token_key,
            dispatch.clone(),
            timers,
            resources,
            config.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("cairn-writer".into())
            .spawn(move || writer.run(rx))?;
        let engine = Arc::new(Engine {
            store,
            config,
            token_key,
            commands: tx,
            dispatch,
            resource_env: resource_env.clone(),
            writer: std::sync::Mutex::new(Some(handle)),
        });
        resource_env.attach(&engine);
        // Recovery runs beside the server instead of before it, so start-up stays fast.
        let store = engine.store.clone();
        let commands = engine.commands.clone();
        tokio::spawn(async move {
            let running = tokio::task::spawn_blocking(move || store.running_executions()).await;
            match running {
                Ok(Ok(records)) => {
                    for r in records {
                        let _ = commands.send(writer::Command::Recover {
                            execution_arn: r.arn,
                        });
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "cannot list running executions"),
                Err(e) => tracing::error!(error = %e, "recovery task failed"),
            }
        });
        Ok(engine)
    }

    /// What resource invocations run with (Express runs use it too).
    pub fn resource_env(&self) -> &resources::ResourceEnv {
        &self.resource_env
    }

    /// The key that authenticates task tokens.
    pub fn token_key(&self) -> &[u8; 32] {
        &self.token_key
    }

    /// Stop accepting work, finish the batch in flight, and return.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(writer::Command::Shutdown);
        let handle = self.writer.lock().expect("writer handle lock").take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Start an execution (committed before this returns).
    pub async fn start_execution(
        &self,
        request: StartRequest,
    ) -> Result<Result<StartResult, StartError>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Start { request, reply })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)
    }

    /// Feed an input into an execution; resolves once its effects on the history are durable.
    pub async fn deliver(
        &self,
        execution_arn: String,
        input: Input,
    ) -> Result<Outcome, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Deliver {
            execution_arn,
            input,
            reply: Some(reply),
        })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Resolve once the execution has closed (SUCCEEDED, FAILED, TIMED_OUT or ABORTED), or
    /// at once if it already has or does not exist. Read the outcome from the store then.
    pub async fn closed(&self, execution_arn: String) -> Result<(), EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Watch {
            execution_arn,
            reply,
        })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)
    }

    /// GetActivityTask: hand the oldest queued task of the activity to this worker, waiting
    /// up to `wait` for one. `Ok(None)` when nothing came.
    pub async fn poll_activity(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
        wait: Duration,
    ) -> Result<Option<ActivityTask>, PollError> {
        activities::poll(self, activity_arn, worker_name, wait).await
    }

    /// The definition parsed (cached by the writer for STANDARD runs; parsed here for
    /// Express runs, which never touch the writer).
    pub fn parse_definition(
        &self,
        definition: &str,
    ) -> Result<Arc<cairn_asl::StateMachine>, String> {
        cairn_asl::parse_definition_str(definition)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }

    /// Ask the writer for the oldest queued task of an activity (see `writer::Command::Claim`).
    async fn claim(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
    ) -> Result<Option<ActivityTask>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Claim {
            activity_arn: activity_arn.to_string(),
            worker_name,
            reply,
        })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    fn send(&self, command: writer::Command) -> Result<(), EngineError> {
        self.commands
            .send(command)
            .map_err(|_| EngineError::ShuttingDown)
    }
}

pub use activities::PollError;
