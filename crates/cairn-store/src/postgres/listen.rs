//! Wake-ups between nodes: the store's LISTEN/NOTIFY channels and the task that listens.
//!
//! Owns: the channel names and [`run`], the loop behind [`crate::Cluster::listen`].
//! Notifications are sent by the statements that cause them (`pg_notify` inside the commit,
//! the task release and the lease release), so they are delivered on commit only. Must not:
//! be relied on for correctness. A notification is lost while a listener reconnects, and
//! callers still poll; a notification only shortens the wait.
//!
//! Channels are per schema (`cairn_activity_tasks:<schema>`, `cairn_leases:<schema>`):
//! NOTIFY is database-wide, and one database may hold several stores, one per schema (the
//! tests run dozens side by side), which must not wake each other.

use crate::cluster::Notification;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::sync::Arc;
use std::time::Duration;

/// How long a listener waits before connecting again after an error.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// PostgreSQL's longest identifier (NAMEDATALEN - 1); a longer channel name is an error.
const MAX_CHANNEL: usize = 63;

/// The channel names of one store.
#[derive(Debug, Clone)]
pub struct Channels {
    /// Payload: the ARN of an activity that has a waiting task.
    pub activity_tasks: String,
    /// Payload: the id of the node that released leases.
    pub leases: String,
}

impl Channels {
    pub fn of_schema(schema: &str) -> Channels {
        Channels {
            activity_tasks: channel("cairn_activity_tasks", schema),
            leases: channel("cairn_leases", schema),
        }
    }
}

/// `base:schema`, or `base:` and a hash of the schema when that would be too long.
fn channel(base: &str, schema: &str) -> String {
    let name = format!("{base}:{schema}");
    if name.len() <= MAX_CHANNEL {
        return name;
    }
    // FNV-1a, 64 bit: stable, so every node computes the same name.
    let hash = schema.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{base}:{hash:016x}")
}

/// A pool for one listener: one connection, held for as long as it lives (not one of the
/// store's pool, whose connections serve queries). Closing it ends the listener.
pub fn pool(options: &PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options.clone())
}

/// Connect and subscribe to both channels: notifications from now on are caught.
pub async fn subscribe(pool: &PgPool, channels: &Channels) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    let names = [channels.activity_tasks.as_str(), channels.leases.as_str()];
    listener.listen_all(names).await?;
    Ok(listener)
}

/// Call `on` for every notification `listener` receives, until `pool` is closed (the store
/// is dropped). A lost connection is re-established by [`PgListener`] itself; after any
/// other error (say, the server is down) this subscribes again every [`RECONNECT_DELAY`].
pub async fn run(
    mut listener: PgListener,
    pool: PgPool,
    channels: Channels,
    on: Arc<dyn Fn(Notification) + Send + Sync>,
) {
    loop {
        // Returns only on an error (the pool closing is one).
        let _error = forward(&mut listener, &channels, &*on).await;
        drop(listener);
        listener = loop {
            if pool.is_closed() {
                return;
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
            if let Ok(listener) = subscribe(&pool, &channels).await {
                break listener;
            }
        };
    }
}

async fn forward(
    listener: &mut PgListener,
    channels: &Channels,
    on: &(dyn Fn(Notification) + Send + Sync),
) -> sqlx::Error {
    loop {
        match listener.recv().await {
            Ok(n) if n.channel() == channels.activity_tasks => {
                on(Notification::ActivityTask(n.payload().to_owned()));
            }
            Ok(n) if n.channel() == channels.leases => on(Notification::LeasesReleased),
            Ok(_) => {}
            Err(e) => return e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_fit_and_differ_by_schema() {
        let a = Channels::of_schema("public");
        assert_eq!(a.activity_tasks, "cairn_activity_tasks:public");
        assert_eq!(a.leases, "cairn_leases:public");
        let long = "s".repeat(63);
        let b = Channels::of_schema(&long);
        let c = Channels::of_schema(&format!("{long}t"));
        for name in [&b.activity_tasks, &b.leases, &c.activity_tasks] {
            assert!(name.len() <= MAX_CHANNEL, "{name}");
        }
        assert_ne!(b.activity_tasks, c.activity_tasks);
    }
}
