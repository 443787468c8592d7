//! Which executions this node may advance, and where the others are advanced.
//!
//! Single node (SQLite): this node owns everything, under no lease. Several nodes
//! (PostgreSQL): it owns the partitions whose lease it holds, each with the epoch it was
//! granted; the writer checks [`Ownership::epoch_of`] before it touches an execution and
//! writes the epoch into the batch's fence. Only the writer changes what is held (when it
//! adopts or releases partitions, between batches), so a command is never half-processed
//! under a lease that is changing. The routing table (who owns the other partitions) is a
//! hint refreshed by the lease keeper: a stale entry costs one retry, never correctness.

use cairn_store::{partition_of, Lease, PARTITIONS};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

/// Where an input for an execution has to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node's writer.
    Local,
    /// The node at this address (`host:port`).
    Remote(Arc<str>),
    /// Nobody holds the partition right now (a takeover is under way): try again shortly.
    Unowned,
}

pub struct Ownership {
    /// `None`: single node, owns everything.
    node: Option<NodeIdentity>,
    /// Epoch per partition; 0 = not held (epochs granted by the store start at 1).
    held: Vec<AtomicI64>,
    /// Owner's address per partition, for routing.
    routes: RwLock<Vec<Option<Arc<str>>>>,
    /// Live nodes at the keeper's last round (1 on a single node).
    live_nodes: AtomicUsize,
    /// Poked when a caller found the routing table or a lease stale: the keeper looks now.
    pub(crate) stale: Notify,
}

/// Who this node is in a cluster.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub id: String,
    pub address: String,
}

impl Ownership {
    /// A node alone with its store: owns every execution.
    pub fn single() -> Arc<Ownership> {
        Arc::new(Ownership {
            node: None,
            held: Vec::new(),
            routes: RwLock::new(Vec::new()),
            live_nodes: AtomicUsize::new(1),
            stale: Notify::new(),
        })
    }

    /// A node of a cluster: owns nothing until the keeper acquires leases.
    pub fn cluster(node: NodeIdentity) -> Arc<Ownership> {
        Arc::new(Ownership {
            node: Some(node),
            held: (0..PARTITIONS).map(|_| AtomicI64::new(0)).collect(),
            routes: RwLock::new(vec![None; PARTITIONS as usize]),
            live_nodes: AtomicUsize::new(0),
            stale: Notify::new(),
        })
    }

    pub fn node(&self) -> Option<&NodeIdentity> {
        self.node.as_ref()
    }

    pub fn is_cluster(&self) -> bool {
        self.node.is_some()
    }

    /// The epoch this node holds the execution's partition with (`Some(0)` on a single
    /// node), or `None` if another node advances it.
    pub fn epoch_of(&self, execution_arn: &str) -> Option<(i16, i64)> {
        if self.node.is_none() {
            return Some((0, 0));
        }
        let p = partition_of(execution_arn);
        match self.held[p as usize].load(Ordering::Acquire) {
            0 => None,
            epoch => Some((p, epoch)),
        }
    }

    pub fn owns_partition(&self, partition: i16) -> bool {
        self.node.is_none() || self.held[partition as usize].load(Ordering::Acquire) != 0
    }

    /// Where to send an input for this execution.
    pub fn route(&self, execution_arn: &str) -> Route {
        if self.epoch_of(execution_arn).is_some() {
            return Route::Local;
        }
        let p = partition_of(execution_arn) as usize;
        let routes = self.routes.read().expect("routes lock");
        match &routes[p] {
            Some(address) if Some(address.as_ref()) != self.address() => {
                Route::Remote(address.clone())
            }
            _ => Route::Unowned,
        }
    }

    fn address(&self) -> Option<&str> {
        self.node.as_ref().map(|n| n.address.as_str())
    }

    /// The leases held now.
    pub fn leases(&self) -> Vec<Lease> {
        self.held
            .iter()
            .enumerate()
            .filter_map(|(p, e)| match e.load(Ordering::Acquire) {
                0 => None,
                epoch => Some(Lease {
                    partition: p as i16,
                    epoch,
                }),
            })
            .collect()
    }

    pub fn owned_count(&self) -> usize {
        if self.node.is_none() {
            return PARTITIONS as usize;
        }
        self.held
            .iter()
            .filter(|e| e.load(Ordering::Acquire) != 0)
            .count()
    }

    pub fn live_nodes(&self) -> usize {
        self.live_nodes.load(Ordering::Relaxed)
    }

    pub(super) fn set_live_nodes(&self, n: usize) {
        self.live_nodes.store(n, Ordering::Relaxed);
    }

    /// Ask the keeper for a round now (a route or lease proved stale).
    pub fn poke(&self) {
        self.stale.notify_one();
    }

    /// Writer only (see the module notes).
    pub(crate) fn hold(&self, lease: Lease) {
        if self.node.is_some() {
            self.held[lease.partition as usize].store(lease.epoch, Ordering::Release);
        }
    }

    /// Writer only (see the module notes).
    pub(crate) fn forget(&self, partition: i16) {
        if self.node.is_some() {
            self.held[partition as usize].store(0, Ordering::Release);
        }
    }

    /// Replace the routing table: (partition, owner address).
    pub fn set_routes(&self, owners: impl IntoIterator<Item = (i16, String)>) {
        let mut table: Vec<Option<Arc<str>>> = vec![None; PARTITIONS as usize];
        for (p, address) in owners {
            if let Some(slot) = table.get_mut(p as usize) {
                *slot = Some(Arc::from(address));
            }
        }
        *self.routes.write().expect("routes lock") = table;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_node_owns_everything() {
        let o = Ownership::single();
        assert_eq!(o.route("arn:x"), Route::Local);
        assert_eq!(o.epoch_of("arn:x"), Some((0, 0)));
    }

    #[test]
    fn a_cluster_node_routes_by_lease_then_table() {
        let o = Ownership::cluster(NodeIdentity {
            id: "a".into(),
            address: "127.0.0.1:1".into(),
        });
        let arn = "arn:aws:states:us-east-1:1:execution:m:e";
        let p = partition_of(arn);
        assert_eq!(o.route(arn), Route::Unowned);
        o.set_routes([(p, "127.0.0.1:2".to_string())]);
        assert_eq!(o.route(arn), Route::Remote(Arc::from("127.0.0.1:2")));
        o.hold(Lease {
            partition: p,
            epoch: 7,
        });
        assert_eq!(o.route(arn), Route::Local);
        assert_eq!(o.epoch_of(arn), Some((p, 7)));
        assert_eq!(o.leases().len(), 1);
        o.forget(p);
        assert_eq!(o.epoch_of(arn), None);
        // A table naming this very node while it holds nothing: a takeover is in flight.
        o.set_routes([(p, "127.0.0.1:1".to_string())]);
        assert_eq!(o.route(arn), Route::Unowned);
    }
}
