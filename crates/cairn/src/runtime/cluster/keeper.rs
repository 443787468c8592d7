//! The lease keeper of a cluster node: keeps the node registered, renews its partition
//! leases, takes a fair share of the partitions (free ones, and those of nodes whose leases
//! lapsed), hands surplus ones to newcomers, and refreshes the routing table.
//!
//! One round every `ttl / 3`, at most a second apart (or at once when poked: a released lease was announced, or a
//! caller met a stale route or a fenced commit). A dead node's leases lapse `ttl` after its
//! last renewal, so the survivors take its executions over within about `ttl + ttl / 3`.
//! Fair share = ceil(partitions / live nodes). What is held changes only through the writer
//! (Adopt / Release between batches), see `ownership.rs`; the database is told after the
//! writer let go, and before anything is adopted it is loaded from the database under the new
//! lease, so an execution is never advanced by two nodes and never from a stale copy.

use super::ownership::Ownership;
use crate::runtime::on_store;
use crate::runtime::writer::Command;
use cairn_store::{
    Cluster, ExecutionRecord, Lease, NodeRecord, Store, StoreError, TimerRecord, PARTITIONS,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The longest pause between two rounds.
const MAX_ROUND_PERIOD: Duration = Duration::from_secs(1);

pub struct Keeper {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    store: Arc<dyn Store>,
    ownership: Arc<Ownership>,
}

struct Round {
    store: Arc<dyn Store>,
    ownership: Arc<Ownership>,
    commands: mpsc::UnboundedSender<Command>,
    node: NodeRecord,
    ttl: Duration,
    members: Vec<String>,
    /// Whether the leases recorded for this node id by an earlier run were taken back.
    reclaimed: bool,
}

/// Run a store call of the cluster on the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Cluster) -> cairn_store::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let result = on_store(store, move |s| match s.cluster() {
        Some(cluster) => f(cluster),
        None => Err(StoreError::Database(
            "the store is not shared by several nodes".into(),
        )),
    })
    .await?;
    Ok(result)
}

impl Keeper {
    pub fn start(
        store: Arc<dyn Store>,
        ownership: Arc<Ownership>,
        commands: mpsc::UnboundedSender<Command>,
        ttl: Duration,
    ) -> Keeper {
        let node = ownership.node().expect("a cluster node").clone();
        let (stop, mut stopped) = watch::channel(false);
        let mut round = Round {
            store: store.clone(),
            ownership: ownership.clone(),
            commands,
            node: NodeRecord {
                id: node.id,
                address: node.address,
            },
            ttl,
            members: Vec::new(),
            reclaimed: false,
        };
        // A third of the ttl keeps leases renewed well before they lapse; the cap keeps a
        // long-lease cluster quick to notice a newcomer and hand it its share.
        let period = (ttl / 3).min(MAX_ROUND_PERIOD);
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = round.run().await {
                    tracing::warn!(error = %e, "lease round failed; retrying");
                }
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = round.ownership.stale.notified() => {
                        // Coalesce a burst of pokes into one round.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    _ = stopped.changed() => return,
                }
            }
        });
        Keeper {
            stop,
            task: std::sync::Mutex::new(Some(task)),
            store,
            ownership,
        }
    }

    /// Stop the rounds (before the writer stops).
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().expect("keeper task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Graceful leave, after the writer has committed its last batch: hand every lease back
    /// at once (the other nodes are told and take them over without waiting for a lapse)
    /// and unregister.
    pub async fn leave(&self) {
        let leases = self.ownership.leases();
        let id = self.ownership.node().expect("a cluster node").id.clone();
        let count = leases.len();
        let result = blocking(&self.store, move |c| {
            c.release_leases(&id, &leases)?;
            c.leave(&id)
        })
        .await;
        match result {
            Ok(()) => tracing::info!(partitions = count, "left the cluster; leases handed back"),
            Err(e) => tracing::warn!(error = %e, "could not hand leases back; they will lapse"),
        }
    }
}

type Adopted = (Vec<Lease>, Vec<ExecutionRecord>, Vec<TimerRecord>);

/// The running executions and timers of newly won leases, read under those leases.
fn load(c: &dyn Cluster, leases: Vec<Lease>) -> cairn_store::Result<Option<Adopted>> {
    if leases.is_empty() {
        return Ok(None);
    }
    let partitions: Vec<i16> = leases.iter().map(|l| l.partition).collect();
    let running = c.running_executions_in(&partitions)?;
    let timers = c.timers_in(&partitions)?;
    Ok(Some((leases, running, timers)))
}

impl Round {
    async fn run(&mut self) -> anyhow::Result<()> {
        let node = self.node.clone();
        let ttl = self.ttl;
        if !self.reclaimed {
            // Restarted under the same id: our old leases need not lapse first.
            let id = node.id.clone();
            let adopted = blocking(&self.store, move |c| {
                let leases = c.reclaim_leases(&id, ttl)?;
                load(c, leases)
            })
            .await?;
            self.adopt(adopted).await?;
            self.reclaimed = true;
        }
        let held = self.ownership.leases();
        let (kept, nodes) = blocking(&self.store, move |c| {
            c.heartbeat(&node, ttl)?;
            let kept = c.renew_leases(&node.id, &held, ttl)?;
            Ok((kept, c.live_nodes()?))
        })
        .await?;
        self.note_members(&nodes);

        let kept_set: BTreeSet<Lease> = kept.iter().copied().collect();
        let lost: Vec<i16> = self
            .ownership
            .leases()
            .into_iter()
            .filter(|l| !kept_set.contains(l))
            .map(|l| l.partition)
            .collect();
        if !lost.is_empty() {
            tracing::warn!(partitions = lost.len(), "leases lost to another node");
            self.release_in_writer(lost).await?;
        }

        let fair = (PARTITIONS as usize).div_ceil(nodes.len().max(1));
        if kept.len() > fair {
            // Hand the surplus to the newcomers: the writer lets go first, then the store.
            let mut surplus = kept.clone();
            surplus.sort_by_key(|l| std::cmp::Reverse(l.partition));
            surplus.truncate(kept.len() - fair);
            self.release_in_writer(surplus.iter().map(|l| l.partition).collect())
                .await?;
            let id = self.node.id.clone();
            let count = surplus.len();
            blocking(&self.store, move |c| c.release_leases(&id, &surplus)).await?;
            tracing::info!(partitions = count, fair, "handed partitions to other nodes");
        } else if kept.len() < fair {
            let id = self.node.id.clone();
            let want = fair - kept.len();
            let adopted = blocking(&self.store, move |c| {
                let leases = c.acquire_leases(&id, want, ttl)?;
                load(c, leases)
            })
            .await?;
            self.adopt(adopted).await?;
        }

        let owners = blocking(&self.store, |c| c.lease_owners()).await?;
        self.ownership
            .set_routes(owners.into_iter().map(|(p, n)| (p, n.address)));
        Ok(())
    }

    /// Hand newly won leases, with what was loaded under them, to the writer.
    async fn adopt(&self, adopted: Option<Adopted>) -> anyhow::Result<()> {
        let Some((leases, running, timers)) = adopted else {
            return Ok(());
        };
        tracing::info!(
            partitions = leases.len(),
            running = running.len(),
            timers = timers.len(),
            "took partitions over"
        );
        let (done, wait) = oneshot::channel();
        self.send(Command::Adopt {
            leases,
            running,
            timers,
            done,
        })?;
        let _ = wait.await;
        Ok(())
    }

    fn note_members(&mut self, nodes: &[NodeRecord]) {
        let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
        self.ownership.set_live_nodes(ids.len());
        if ids != self.members {
            tracing::info!(
                node = %self.node.id,
                nodes = ids.len(),
                members = %ids.join(","),
                "cluster membership changed"
            );
            self.members = ids;
        }
    }

    async fn release_in_writer(&self, partitions: Vec<i16>) -> anyhow::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(Command::Release { partitions, done })?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the writer has stopped"))
    }

    fn send(&self, command: Command) -> anyhow::Result<()> {
        self.commands
            .send(command)
            .map_err(|_| anyhow::anyhow!("the writer has stopped"))
    }
}
