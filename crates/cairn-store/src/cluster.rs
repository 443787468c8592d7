//! The contract of a store that several Cairn nodes share: membership, partition leases, and
//! wake-up notifications. PostgreSQL implements it; SQLite does not (one process owns it).
//!
//! Leases: every partition (see [`crate::partition_of`]) has one lease row `(partition,
//! owner, epoch, expires_at)`. A node acquires a free or lapsed lease, which bumps its
//! epoch; renews the leases it holds well before they lapse; and releases them when it
//! leaves or hands partitions to a newcomer. Time is the database's clock, never a node's.
//! The epoch is the fence: a node writes a batch under the (partition, epoch) pairs it
//! believes it holds ([`crate::Fence`]), and the commit fails if any of them moved on, so a
//! node that paused past its lease can never write after a new owner has loaded the
//! partition. No consensus of our own: the database is the source of truth.

use crate::records::{ExecutionRecord, TimerRecord};
use crate::Result;
use std::sync::Arc;
use std::time::Duration;

/// A node of the cluster, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// Unique node id (`--node-id`).
    pub id: String,
    /// Where other nodes reach its API (`host:port`).
    pub address: String,
}

/// A lease a node holds: the partition and the epoch it was granted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lease {
    pub partition: i16,
    pub epoch: i64,
}

/// What another node (or this one) announced through the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A task for this activity ARN was queued (or put back): wake a parked poller.
    ActivityTask(String),
    /// Leases were released (a node left or handed partitions back): look for free ones now.
    LeasesReleased,
}

pub trait Cluster: Send + Sync {
    /// Register the node, or refresh its registration, alive for `ttl` from now.
    fn heartbeat(&self, node: &NodeRecord, ttl: Duration) -> Result<()>;
    /// Remove the node's registration (graceful shutdown).
    fn leave(&self, node_id: &str) -> Result<()>;
    /// The nodes whose registration has not lapsed, by id.
    fn live_nodes(&self) -> Result<Vec<NodeRecord>>;

    /// Take up to `want` leases that are free (no owner) or lapsed, for `ttl`, each with its
    /// epoch bumped. Leases locked by a commit in flight are skipped (taken next time).
    fn acquire_leases(&self, node_id: &str, want: usize, ttl: Duration) -> Result<Vec<Lease>>;
    /// At start-up: take back, with bumped epochs, the leases still recorded for this node id
    /// (a node restarted under the same id after a crash), instead of waiting for them to
    /// lapse. Should another live process use the same id, the bumped epochs fence it out.
    fn reclaim_leases(&self, node_id: &str, ttl: Duration) -> Result<Vec<Lease>>;
    /// Extend the given leases by `ttl` from now; returns those still held by this node with
    /// the same epoch (the others were taken over).
    fn renew_leases(&self, node_id: &str, held: &[Lease], ttl: Duration) -> Result<Vec<Lease>>;
    /// Give leases up at once (owner cleared, free to acquire); announces
    /// [`Notification::LeasesReleased`]. Leases no longer held are ignored.
    fn release_leases(&self, node_id: &str, leases: &[Lease]) -> Result<()>;
    /// The current (unlapsed) owner of every owned partition: (partition, owning node).
    fn lease_owners(&self) -> Result<Vec<(i16, NodeRecord)>>;

    /// The RUNNING executions of these partitions (whole rows, snapshots included).
    fn running_executions_in(&self, partitions: &[i16]) -> Result<Vec<ExecutionRecord>>;
    /// The pending timers of these partitions.
    fn timers_in(&self, partitions: &[i16]) -> Result<Vec<TimerRecord>>;

    /// Call `on` for every notification from now on (from a background task, until the
    /// store is dropped; reconnects by itself). Notifications may be lost while reconnecting
    /// or duplicated: they are hints, never the only way work is found. `on` runs on one of
    /// the store's own threads: it must return quickly (wake, send) and not call the store.
    fn listen(&self, on: Arc<dyn Fn(Notification) + Send + Sync>) -> Result<()>;
}
