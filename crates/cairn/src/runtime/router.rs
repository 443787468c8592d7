//! Reaching an execution wherever it runs: starting it, feeding it inputs and waiting for it
//! to close, on this node's writer or, on a shared store, on the node that owns it.
//!
//! Built before the writer and the resources, so everything that starts or talks to
//! executions (the API handlers through the [`Engine`](super::Engine), child executions
//! through [`Children`](super::children::Children)) holds the same router without a
//! back-reference to the engine.
//!
//! Must not: decide anything about an execution (the writer does), or touch the store except
//! to read an execution's status while its owner changes.

use super::cluster::peers::{self, DeliverAnswer, DeliverCall, StartAnswer};
use super::cluster::{Ownership, Peers, Route};
use super::writer::{self, StartError, StartRequest, StartResult};
use super::{on_store, EngineError};
use cairn_core::{Input, Outcome};
use cairn_store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Sends requests to the owner of an execution; cheap to share (`Arc`).
pub struct Router {
    pub(super) store: Arc<dyn Store>,
    pub(super) commands: mpsc::UnboundedSender<writer::Command>,
    pub(super) ownership: Arc<Ownership>,
    /// Cluster only: the client to the other nodes.
    pub(super) peers: Option<Peers>,
    lease_ttl: Duration,
    /// Requests (starts, deliveries with a reply) admitted and not yet answered by the
    /// writer. The command queue is bounded through it: reply-less inputs (timers, resource
    /// results) are never refused, requests beyond `max_queued` are (`Throttled`).
    queued: Arc<AtomicUsize>,
    max_queued: usize,
}

/// A place among the requests waiting for the writer, given back when dropped.
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Router {
    pub(super) fn new(
        store: Arc<dyn Store>,
        commands: mpsc::UnboundedSender<writer::Command>,
        ownership: Arc<Ownership>,
        peers: Option<Peers>,
        lease_ttl: Duration,
        max_queued: usize,
    ) -> Router {
        Router {
            store,
            commands,
            ownership,
            peers,
            lease_ttl,
            queued: Arc::default(),
            max_queued,
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

    /// How long an input may wait for its execution's partition to find an owner: long
    /// enough for a dead node's lease to lapse and be taken over.
    fn routing_patience(&self) -> Duration {
        self.lease_ttl * 2 + Duration::from_secs(10)
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

    /// Take a place among the requests waiting for the writer, or `Throttled`.
    fn admit(&self) -> Result<Admitted, EngineError> {
        let waiting = self.queued.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self.queued.clone());
        if waiting >= self.max_queued {
            return Err(EngineError::Throttled);
        }
        Ok(admitted)
    }

    fn peers(&self) -> Result<&Peers, EngineError> {
        self.peers.as_ref().ok_or(EngineError::NotOwner)
    }

    pub(super) fn send(&self, command: writer::Command) -> Result<(), EngineError> {
        self.commands
            .send(command)
            .map_err(|_| EngineError::ShuttingDown)
    }
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
