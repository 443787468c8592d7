//! [`crate::Cluster`] on PostgreSQL: the `nodes` and `partition_leases` tables (migration 2).
//!
//! Owns: the SQL of membership and leases. Every deadline is computed by the database
//! (`now() + ttl`) and compared with its `now()`, so nodes' clocks never matter. Each
//! function is one statement, so one transaction. Must not: decide which partitions a node
//! should want (that is the runtime's balancing), or write anything but these two tables.
//!
//! Locks: acquiring picks its rows `FOR UPDATE SKIP LOCKED`, so it never waits for a
//! fenced commit in flight (which holds the lease row `FOR SHARE`, see `commit.rs`); that
//! lease is simply taken on a later attempt. Renewing, releasing and reclaiming update the
//! caller's own rows and wait for the caller's own commits in flight, a few ms. They lock
//! their rows **in partition order** (a locking subquery sorted by partition), as the fence
//! does: a plain multi-row `UPDATE` locks in heap order, which drifts from partition order as
//! rows are rewritten, and a renewal holding partition 9 while waiting for 3 deadlocks with a
//! commit holding 3 `FOR SHARE` while waiting for 9 (seen under load in the three-node test).

use super::limit;
use crate::cluster::{Lease, NodeRecord};
use crate::Result;
use sqlx::{PgPool, Row};
use std::time::Duration;

/// Register or refresh the node; `started_at` stays that of its first heartbeat.
pub async fn heartbeat(pool: &PgPool, node: &NodeRecord, ttl: Duration) -> Result<()> {
    sqlx::query(
        "INSERT INTO nodes (id, address, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3)) \
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, \
             expires_at = excluded.expires_at",
    )
    .bind(&node.id)
    .bind(&node.address)
    .bind(ttl.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn leave(pool: &PgPool, node_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM nodes WHERE id = $1")
        .bind(node_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Unlapsed registrations, by id (byte order, as Rust sorts strings).
pub async fn live_nodes(pool: &PgPool) -> Result<Vec<NodeRecord>> {
    let rows = sqlx::query(
        "SELECT id, address FROM nodes WHERE expires_at > now() ORDER BY id COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NodeRecord {
                id: r.try_get(0)?,
                address: r.try_get(1)?,
            })
        })
        .collect()
}

/// Take back the leases recorded for this node id (see `Cluster::reclaim_leases`).
pub async fn reclaim(pool: &PgPool, node_id: &str, ttl: Duration) -> Result<Vec<Lease>> {
    let rows = sqlx::query(
        "UPDATE partition_leases l \
         SET epoch = l.epoch + 1, expires_at = now() + make_interval(secs => $2) \
         FROM (SELECT partition FROM partition_leases WHERE owner = $1 \
               ORDER BY partition FOR UPDATE) AS mine \
         WHERE l.partition = mine.partition \
         RETURNING l.partition, l.epoch",
    )
    .bind(node_id)
    .bind(ttl.as_secs_f64())
    .fetch_all(pool)
    .await?;
    leases(rows)
}

/// Take up to `want` free or lapsed leases, lowest partitions first, each with its epoch
/// bumped (which fences out the previous owner).
pub async fn acquire(
    pool: &PgPool,
    node_id: &str,
    want: usize,
    ttl: Duration,
) -> Result<Vec<Lease>> {
    if want == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "UPDATE partition_leases \
         SET owner = $1, epoch = epoch + 1, expires_at = now() + make_interval(secs => $3) \
         WHERE partition IN (SELECT partition FROM partition_leases \
                             WHERE owner IS NULL OR expires_at < now() \
                             ORDER BY partition LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING partition, epoch",
    )
    .bind(node_id)
    .bind(limit(want))
    .bind(ttl.as_secs_f64())
    .fetch_all(pool)
    .await?;
    leases(rows)
}

/// Extend the leases still held by this node at the same epoch (lapsed or not: an unchanged
/// epoch means nobody took them over); the others are left alone and not returned.
pub async fn renew(
    pool: &PgPool,
    node_id: &str,
    held: &[Lease],
    ttl: Duration,
) -> Result<Vec<Lease>> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let (partitions, epochs) = columns(held);
    let rows = sqlx::query(
        "UPDATE partition_leases l SET expires_at = now() + make_interval(secs => $4) \
         FROM (SELECT partition FROM partition_leases \
               WHERE owner = $1 \
                 AND (partition, epoch) IN (SELECT * FROM UNNEST($2::smallint[], $3::bigint[])) \
               ORDER BY partition FOR UPDATE) AS held \
         WHERE l.partition = held.partition \
         RETURNING l.partition, l.epoch",
    )
    .bind(node_id)
    .bind(partitions)
    .bind(epochs)
    .bind(ttl.as_secs_f64())
    .fetch_all(pool)
    .await?;
    leases(rows)
}

/// Free the leases still held by this node at these epochs (the epoch stays; the next
/// owner bumps it), and announce it on the leases channel if any was freed.
pub async fn release(pool: &PgPool, channel: &str, node_id: &str, held: &[Lease]) -> Result<()> {
    if held.is_empty() {
        return Ok(());
    }
    let (partitions, epochs) = columns(held);
    sqlx::query(
        "WITH released AS ( \
             UPDATE partition_leases l SET owner = NULL, expires_at = '-infinity' \
             FROM (SELECT partition FROM partition_leases \
                   WHERE owner = $1 \
                     AND (partition, epoch) IN (SELECT * FROM UNNEST($2::smallint[], $3::bigint[])) \
                   ORDER BY partition FOR UPDATE) AS held \
             WHERE l.partition = held.partition \
             RETURNING l.partition) \
         SELECT pg_notify($4, $1) WHERE EXISTS (SELECT FROM released)",
    )
    .bind(node_id)
    .bind(partitions)
    .bind(epochs)
    .bind(channel)
    .execute(pool)
    .await?;
    Ok(())
}

/// The unlapsed leases and their owners, by partition. A lease whose owner has no `nodes`
/// row (it left without releasing) is not listed: there is no address to give.
pub async fn owners(pool: &PgPool) -> Result<Vec<(i16, NodeRecord)>> {
    let rows = sqlx::query(
        "SELECT l.partition, n.id, n.address FROM partition_leases l \
         JOIN nodes n ON n.id = l.owner \
         WHERE l.expires_at > now() ORDER BY l.partition",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let node = NodeRecord {
                id: r.try_get(1)?,
                address: r.try_get(2)?,
            };
            Ok((r.try_get(0)?, node))
        })
        .collect()
}

fn columns(leases: &[Lease]) -> (Vec<i16>, Vec<i64>) {
    leases.iter().map(|l| (l.partition, l.epoch)).unzip()
}

/// `(partition, epoch)` rows as leases, by partition.
fn leases(rows: Vec<sqlx::postgres::PgRow>) -> Result<Vec<Lease>> {
    let mut leases = rows
        .iter()
        .map(|r| {
            Ok(Lease {
                partition: r.try_get(0)?,
                epoch: r.try_get(1)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    leases.sort_unstable();
    Ok(leases)
}
