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
pub mod cluster;
pub mod express;
pub mod resources;
mod timers;
mod writer;

pub use writer::{StartError, StartRequest, StartResult};

use crate::config::Config;
use activities::Dispatch;
use cairn_core::{Input, Outcome};
use cairn_store::{Notification, Store};
use cluster::peers::{self, DeliverAnswer, DeliverCall, StartAnswer};
use cluster::{Keeper, NodeIdentity, Ownership, Peers, Route};
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
    /// Another node owns the execution (internal: the engine routes there and retries).
    #[error("this node does not own the execution")]
    NotOwner,
    /// No node took the input within the routing patience (a takeover took too long).
    #[error("no node could take the request for '{0}' in time; retry")]
    Unavailable(String),
    /// The owning node failed the request.
    #[error("{0}")]
    Remote(String),
    /// More requests wait for the writer than `Config.max_queued_requests`: refused before
    /// anything is queued (the API answers `ThrottlingException`, which SDKs retry).
    #[error("Rate exceeded")]
    Throttled,
}

/// One admitted request waiting for the writer; leaving frees its place.
struct Admitted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
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
    ownership: Arc<Ownership>,
    /// Cluster only: the lease keeper and the client to the other nodes.
    keeper: Option<Keeper>,
    peers: Option<Peers>,
    /// Requests (starts, deliveries) admitted and not yet answered by the writer. The
    /// command queue is bounded through it: reply-less inputs (timers, resource results) are
    /// never refused, requests beyond `Config.max_queued_requests` are.
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

/// How often a parked GetActivityTask looks at a shared queue again without a wake-up: a
/// claim that lapsed (its node died before the hand-out) is announced by nobody.
const SHARED_QUEUE_RECHECK: Duration = Duration::from_secs(5);

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
        let shared = store.cluster().is_some();
        let ownership = if shared {
            Ownership::cluster(NodeIdentity {
                id: config.node_id.clone().unwrap_or_else(|| {
                    format!("cairn-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
                }),
                address: config.advertise.clone().unwrap_or_default(),
            })
        } else {
            Ownership::single()
        };
        let timers = timers::TimerService::start(tx.clone(), config.wait_time_scale);
        if !shared {
            // A cluster node arms the timers of the partitions it adopts instead.
            for t in store.timers()? {
                timers.arm(t.execution_arn, t.timer, t.fire_at_ms);
            }
        }
        let resource_env = resources::ResourceEnv::new(config.clone())?;
        let resources = resources::ResourceRunner::new(tx.clone(), resource_env.clone());
        let writer = writer::Writer::new(
            store.clone(),
            ownership.clone(),
            token_key,
            dispatch.clone(),
            timers,
            resources,
            config.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("cairn-writer".into())
            .spawn(move || writer.run(rx))?;
        let (keeper, peers) = if let Some(cluster) = store.cluster() {
            let wake = dispatch.clone();
            let poke = ownership.clone();
            cluster.listen(Arc::new(move |n| match n {
                Notification::ActivityTask(arn) => wake.wake(&arn),
                Notification::LeasesReleased => poke.poke(),
            }))?;
            let node = ownership.node().expect("a cluster node");
            tracing::info!(
                node = %node.id,
                address = %node.address,
                lease_ttl_ms = config.lease_ttl.as_millis() as u64,
                "joining the cluster on the shared store"
            );
            let keeper = Keeper::start(
                store.clone(),
                ownership.clone(),
                tx.clone(),
                config.lease_ttl,
            );
            (Some(keeper), Some(Peers::new(token_key)))
        } else {
            (None, None)
        };
        let engine = Arc::new(Engine {
            queued: Arc::default(),
            store,
            config,
            token_key,
            commands: tx,
            dispatch,
            resource_env: resource_env.clone(),
            writer: std::sync::Mutex::new(Some(handle)),
            ownership,
            keeper,
            peers,
        });
        resource_env.attach(&engine);
        if shared {
            // Running executions are taken in partition by partition, as leases are won.
            return Ok(engine);
        }
        // Recovery runs beside the server instead of before it, so start-up stays fast.
        let store = engine.store.clone();
        let commands = engine.commands.clone();
        tokio::spawn(async move {
            match on_store(&store, |s| s.running_executions()).await {
                Ok(records) => {
                    for r in records {
                        let _ = commands.send(writer::Command::Recover {
                            execution_arn: r.arn,
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot list running executions"),
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

    /// Who owns which executions (everything, on a single node).
    pub fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    /// Stop accepting work, finish the batch in flight, and return. A cluster node then
    /// hands its leases back, so the others take its executions over at once.
    pub async fn shutdown(&self) {
        if let Some(keeper) = &self.keeper {
            keeper.stop().await;
        }
        let _ = self.commands.send(writer::Command::Shutdown);
        let handle = self.writer.lock().expect("writer handle lock").take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Some(keeper) = &self.keeper {
            keeper.leave().await;
        }
    }

    /// Start an execution (committed before this returns), on whichever node owns it.
    pub async fn start_execution(
        &self,
        request: StartRequest,
    ) -> Result<Result<StartResult, StartError>, EngineError> {
        let mut patience = Patience::new(self.routing_patience());
        loop {
            match self.ownership.route(&request.execution_arn) {
                Route::Local => match self.start_local(request.clone()).await? {
                    Err(StartError::NotOwner) => {}
                    other => return Ok(other),
                },
                Route::Remote(address) => {
                    match self.peers()?.call(&address, peers::START, &request).await {
                        Ok(StartAnswer::Started(r)) => return Ok(Ok(r)),
                        Ok(StartAnswer::Refused(StartError::NotOwner)) => {}
                        Ok(StartAnswer::Refused(e)) => return Ok(Err(e)),
                        Ok(StartAnswer::ShuttingDown) => {}
                        Ok(StartAnswer::Throttled) => return Err(EngineError::Throttled),
                        Ok(StartAnswer::Failed(m)) => return Err(EngineError::Remote(m)),
                        Err(e) => tracing::debug!(error = %e, "forwarding a start failed"),
                    }
                }
                Route::Unowned => {}
            }
            self.ownership.poke();
            patience.wait(&request.execution_arn).await?;
        }
    }

    /// Start an execution this node owns (`StartError::NotOwner` otherwise).
    pub async fn start_local(
        &self,
        request: StartRequest,
    ) -> Result<Result<StartResult, StartError>, EngineError> {
        let _admitted = self.admit()?;
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Start { request, reply })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)
    }

    /// Feed an input into an execution, on whichever node owns it; resolves once its
    /// effects on the history are durable.
    pub async fn deliver(
        &self,
        execution_arn: String,
        input: Input,
    ) -> Result<Outcome, EngineError> {
        let mut patience = Patience::new(self.routing_patience());
        loop {
            match self.ownership.route(&execution_arn) {
                Route::Local => {
                    match self
                        .deliver_local(execution_arn.clone(), input.clone())
                        .await
                    {
                        Err(EngineError::NotOwner) => {}
                        other => return other,
                    }
                }
                Route::Remote(address) => {
                    let call = DeliverCall {
                        execution_arn: execution_arn.clone(),
                        input: input.clone(),
                    };
                    match self.peers()?.call(&address, peers::DELIVER, &call).await {
                        Ok(DeliverAnswer::Outcome(o)) => return Ok(o),
                        Ok(DeliverAnswer::NoSuchExecution) => {
                            return Err(EngineError::NoSuchExecution(execution_arn))
                        }
                        Ok(DeliverAnswer::Throttled) => return Err(EngineError::Throttled),
                        Ok(DeliverAnswer::Failed(m)) => return Err(EngineError::Remote(m)),
                        Ok(DeliverAnswer::NotOwner) | Ok(DeliverAnswer::ShuttingDown) => {}
                        Err(e) => tracing::debug!(error = %e, "forwarding an input failed"),
                    }
                }
                Route::Unowned => {}
            }
            self.ownership.poke();
            patience.wait(&execution_arn).await?;
        }
    }

    /// Feed an input into an execution this node owns (`EngineError::NotOwner` otherwise).
    pub async fn deliver_local(
        &self,
        execution_arn: String,
        input: Input,
    ) -> Result<Outcome, EngineError> {
        let _admitted = self.admit()?;
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
        if !self.ownership.is_cluster() {
            let rx = self.watch(execution_arn)?;
            return rx.await.map_err(|_| EngineError::ShuttingDown);
        }
        // The owner may change while we wait: watch locally while owned, and otherwise (or
        // when a watch ends without an answer) read the status from the shared store.
        loop {
            let arn = execution_arn.clone();
            let record = on_store(&self.store, move |s| s.get_execution(&arn)).await?;
            if record.is_none_or(|r| r.status != "RUNNING") {
                return Ok(());
            }
            if self.ownership.route(&execution_arn) == Route::Local {
                let rx = self.watch(execution_arn.clone())?;
                if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(2), rx).await {
                    return Ok(());
                }
            } else {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
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

    /// Take the oldest queued task of an activity for a worker. Alone on the store: the
    /// writer takes it (see `writer::Command::Claim`). On a shared store: claim it here (a
    /// short claim lease), then have the execution's owner record `ActivityStarted` and mark
    /// it taken in one commit; if that cannot be done, put it back.
    async fn claim(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
    ) -> Result<Option<ActivityTask>, EngineError> {
        if self.ownership.is_cluster() {
            return self.claim_shared(activity_arn, worker_name).await;
        }
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Claim {
            activity_arn: activity_arn.to_string(),
            worker_name,
            reply,
        })?;
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    async fn claim_shared(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
    ) -> Result<Option<ActivityTask>, EngineError> {
        loop {
            let arn = activity_arn.to_string();
            let claimed = on_store(&self.store, move |s| s.claim_activity_task(&arn)).await?;
            let Some(task) = claimed else {
                return Ok(None);
            };
            let started = Input::ActivityStarted {
                task: task.task,
                worker_name: worker_name.clone(),
            };
            match self.deliver(task.execution_arn.clone(), started).await {
                Ok(Outcome::Applied) => {
                    return Ok(Some(ActivityTask {
                        token: task.token,
                        input: task.input,
                    }))
                }
                // The owner withdrew a task its execution no longer wants; take the next.
                Ok(_) => {}
                // An orphan row: its claim lapses and it is looked at again later.
                Err(EngineError::NoSuchExecution(_)) => {}
                Err(e) => {
                    let (arn, id) = (task.execution_arn, task.task);
                    let _ = on_store(&self.store, move |s| s.release_activity_task(&arn, id)).await;
                    return Err(e);
                }
            }
        }
    }

    /// How long an input may wait for its execution's partition to find an owner: long
    /// enough for a dead node's lease to lapse and be taken over.
    fn routing_patience(&self) -> Duration {
        self.config.lease_ttl * 2 + Duration::from_secs(10)
    }

    /// Ask the writer to answer once this execution (which it owns) has closed.
    fn watch(&self, execution_arn: String) -> Result<oneshot::Receiver<()>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(writer::Command::Watch {
            execution_arn,
            reply,
        })?;
        Ok(rx)
    }

    fn peers(&self) -> Result<&Peers, EngineError> {
        self.peers.as_ref().ok_or(EngineError::NotOwner)
    }

    /// Take a place among the requests waiting for the writer, or `Throttled`.
    fn admit(&self) -> Result<Admitted, EngineError> {
        use std::sync::atomic::Ordering;
        let waiting = self.queued.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self.queued.clone());
        if waiting >= self.config.max_queued_requests {
            return Err(EngineError::Throttled);
        }
        Ok(admitted)
    }

    fn send(&self, command: writer::Command) -> Result<(), EngineError> {
        self.commands
            .send(command)
            .map_err(|_| EngineError::ShuttingDown)
    }
}

pub use activities::PollError;

/// Run a store call on the blocking pool: a store may block on its disk or, for PostgreSQL,
/// on the network, and must not stall the async threads.
pub(crate) async fn on_store<R: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> cairn_store::Result<R> + Send + 'static,
) -> Result<R, EngineError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| EngineError::ShuttingDown)?
        .map_err(EngineError::from)
}

/// Back-off between attempts to reach an execution's owner, up to a deadline.
struct Patience {
    deadline: tokio::time::Instant,
    delay: Duration,
}

impl Patience {
    fn new(limit: Duration) -> Patience {
        Patience {
            deadline: tokio::time::Instant::now() + limit,
            delay: Duration::from_millis(10),
        }
    }

    async fn wait(&mut self, execution_arn: &str) -> Result<(), EngineError> {
        if tokio::time::Instant::now() + self.delay > self.deadline {
            return Err(EngineError::Unavailable(execution_arn.to_string()));
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_millis(500));
        Ok(())
    }
}
