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
pub mod children;
pub mod clock;
pub mod cluster;
pub mod express;
pub mod items;
pub(crate) mod map_run;
pub mod metrics;
pub mod resources;
mod retry;
mod router;
pub mod telemetry;
mod timers;
mod writer;

pub use writer::{StartError, StartRequest, StartResult};

use crate::config::Config;
use activities::Dispatch;
use cairn_core::{Input, Outcome};
use cairn_store::{EventRecord, Notification, Store};
pub use clock::Clock;
use cluster::{Keeper, NodeIdentity, Ownership, Peers};
use router::Router;
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
/// Handle to the running engine; cheap to share (`Arc`).
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub config: Config,
    /// The one clock of this node: history events, timers and request times read it.
    pub clock: Arc<Clock>,
    events: Arc<EventTap>,
    token_key: [u8; 32],
    /// Reaches executions on this node's writer or on their owner.
    router: Arc<Router>,
    dispatch: Arc<Dispatch>,
    /// The Prometheus families, counted by the writer after each commit.
    pub metrics: Arc<metrics::Metrics>,
    resource_env: resources::ResourceEnv,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    ownership: Arc<Ownership>,
    /// Cluster only: the lease keeper.
    keeper: Option<Keeper>,
    /// `--otlp-endpoint`: the trace exporter, fed by the event tap.
    telemetry: Option<telemetry::Telemetry>,
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
        let clock = Arc::new(if config.virtual_clock {
            Clock::virtual_clock()
        } else {
            Clock::real()
        });
        let (quiet, quiet_rx) = tokio::sync::watch::channel((false, 0));
        let events = Arc::new(EventTap::default());
        let telemetry = match &config.otlp_endpoint {
            Some(endpoint) => {
                let (tx, rx) = mpsc::unbounded_channel();
                events.lock().push(tx);
                Some(telemetry::Telemetry::start(
                    store.clone(),
                    rx,
                    endpoint,
                    config.node_id.clone(),
                )?)
            }
            None => None,
        };
        let timers = timers::TimerService::start(
            tx.clone(),
            config.wait_time_scale,
            clock.clone(),
            quiet_rx,
        );
        if !shared {
            // A cluster node arms the timers of the partitions it adopts instead.
            for t in store.timers()? {
                timers.arm(t.execution_arn, t.timer, t.fire_at_ms);
            }
        }
        let router = Arc::new(Router::new(
            store.clone(),
            tx.clone(),
            ownership.clone(),
            shared.then(|| Peers::new(token_key)),
            config.lease_ttl,
            config.max_queued_requests,
        ));
        let children = children::Children::new(router.clone(), token_key, config.clone());
        let metrics = Arc::new(metrics::Metrics::new());
        let resource_env = resources::ResourceEnv::new(config.clone())?
            .with_children(children)
            .with_metrics(metrics.clone());
        let resources = resources::ResourceRunner::new(tx.clone(), resource_env.clone());
        let writer = writer::Writer::new(
            metrics.clone(),
            store.clone(),
            ownership.clone(),
            token_key,
            dispatch.clone(),
            timers,
            resources,
            writer::WriterTime {
                clock: clock.clone(),
                quiet,
                events: events.clone(),
            },
            tx.downgrade(),
        );
        let handle = std::thread::Builder::new()
            .name("cairn-writer".into())
            .spawn(move || writer.run(rx))?;
        let keeper = if let Some(cluster) = store.cluster() {
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
            Some(Keeper::start(
                store.clone(),
                ownership.clone(),
                tx,
                config.lease_ttl,
            ))
        } else {
            None
        };
        let engine = Arc::new(Engine {
            store,
            config,
            clock,
            events,
            token_key,
            router,
            dispatch,
            metrics,
            resource_env: resource_env.clone(),
            writer: std::sync::Mutex::new(Some(handle)),
            ownership,
            keeper,
            telemetry,
        });
        resource_env.attach_api(&engine);
        if shared {
            // Running executions are taken in partition by partition, as leases are won.
            return Ok(engine);
        }
        // Recovery runs beside the server instead of before it, so start-up stays fast.
        let store = engine.store.clone();
        let commands = engine.router.commands.clone();
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

    /// Every history event this node commits from now on, in commit order, as
    /// (execution ARN, event id, wire JSON). `cairn run` prints its execution's from it.
    pub fn subscribe_events(&self) -> mpsc::UnboundedReceiver<EventRecord> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.events.lock().push(tx);
        rx
    }

    /// DeleteActivity: polls look for the activity in the store again.
    pub fn forget_activity(&self, activity_arn: &str) {
        self.dispatch.forget(activity_arn);
    }

    /// This process serves the activity itself (`cairn run --activity`): a virtual clock
    /// treats its queued tasks as taken, so it never jumps past a task about to be worked on.
    pub fn serve_activity(&self, activity_arn: &str) {
        self.dispatch.serve(activity_arn);
    }

    /// What resource invocations run with (Express runs use it too).
    pub fn resource_env(&self) -> &resources::ResourceEnv {
        &self.resource_env
    }

    /// Workers parked on an activity on this node, and its last poll here (epoch ms).
    pub fn activity_pollers(&self, activity_arn: &str) -> (usize, Option<i64>) {
        self.dispatch.pollers(activity_arn)
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
        let _ = self.send(writer::Command::Shutdown);
        let handle = self.writer.lock().expect("writer handle lock").take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Some(keeper) = &self.keeper {
            keeper.leave().await;
        }
        if let Some(t) = &self.telemetry {
            t.shutdown().await;
        }
    }

    /// Start an execution (committed before this returns), on whichever node owns it.
    pub async fn start_execution(
        &self,
        request: StartRequest,
    ) -> Result<Result<StartResult, StartError>, EngineError> {
        self.router.start_execution(request).await
    }

    /// Start an execution this node owns (`StartError::NotOwner` otherwise).
    pub async fn start_local(
        &self,
        request: StartRequest,
    ) -> Result<Result<StartResult, StartError>, EngineError> {
        self.router.start_local(request).await
    }

    /// Feed an input into an execution, on whichever node owns it; resolves once its
    /// effects on the history are durable.
    pub async fn deliver(
        &self,
        execution_arn: String,
        input: Input,
    ) -> Result<Outcome, EngineError> {
        self.router.deliver(execution_arn, input).await
    }

    /// Feed an input into an execution this node owns (`EngineError::NotOwner` otherwise).
    pub async fn deliver_local(
        &self,
        execution_arn: String,
        input: Input,
    ) -> Result<Outcome, EngineError> {
        self.router.deliver_local(execution_arn, input).await
    }

    /// Resolve once the execution has closed (SUCCEEDED, FAILED, TIMED_OUT or ABORTED), or
    /// at once if it already has or does not exist. Read the outcome from the store then.
    pub async fn closed(&self, execution_arn: String) -> Result<(), EngineError> {
        self.router.closed(execution_arn).await
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

    fn send(&self, command: writer::Command) -> Result<(), EngineError> {
        self.router.send(command)
    }
}

pub use activities::PollError;

/// Subscribers to committed history events (see [`Engine::subscribe_events`]); the writer
/// publishes after each commit, and only clones events when someone listens.
#[derive(Default)]
pub(crate) struct EventTap {
    subscribers: std::sync::Mutex<Vec<mpsc::UnboundedSender<EventRecord>>>,
}

impl EventTap {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<EventRecord>>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn publish(&self, events: &[EventRecord]) {
        let mut subscribers = self.lock();
        if subscribers.is_empty() || events.is_empty() {
            return;
        }
        subscribers.retain(|s| events.iter().all(|e| s.send(e.clone()).is_ok()));
    }
}

/// Store calls that run at once on the blocking pool; more wait (as cheap async waiters)
/// for a turn. Unbounded, a burst of callers each held a blocking thread of its own: a
/// Distributed Map's 1,000 STANDARD children linking themselves and reading their records
/// grew tokio's pool to its 512 threads, each with its stack, its share of malloc's arenas
/// and (on SQLite) a reader connection beyond the 32 the store keeps, and the server's
/// memory grew with the Map's item count (`cairn bench --scenario distributed-map`). The
/// store serializes writes on one connection and keeps 32 readers (PostgreSQL: its pool),
/// so calls beyond this many only waited inside it.
const STORE_CALLS_AT_ONCE: usize = 32;

static STORE_CALLS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(STORE_CALLS_AT_ONCE);

/// Run a store call on the blocking pool, at most [`STORE_CALLS_AT_ONCE`] at a time: a
/// store may block on its disk or, for PostgreSQL, on the network, and must not stall the
/// async threads. `Err` only when the runtime is shutting down (or the call panicked).
pub(crate) async fn blocking_store<R: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> cairn_store::Result<R> + Send + 'static,
) -> Result<cairn_store::Result<R>, tokio::task::JoinError> {
    // The semaphore is never closed. The permit is given back here, once the call's thread
    // has handed over its result, not on that thread: given back there, the next call was
    // often spawned before the thread counted as idle again, and tokio started a new one.
    let _permit = STORE_CALLS.acquire().await.ok();
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref())).await
}

/// [`blocking_store`] with the runtime's error type.
pub(crate) async fn on_store<R: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> cairn_store::Result<R> + Send + 'static,
) -> Result<R, EngineError> {
    blocking_store(store, f)
        .await
        .map_err(|_| EngineError::ShuttingDown)?
        .map_err(EngineError::from)
}
