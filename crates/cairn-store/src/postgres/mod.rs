//! The PostgreSQL backend (sqlx): [`PostgresStore`], the store several Cairn nodes share.
//!
//! Owns: a connection pool, the private tokio runtime that drives it, and the mapping of the
//! [`Store`] contract onto SQL. Must not: keep state outside the database (every node must see
//! the same store), or take locks that outlive one call.
//!
//! # Why a private runtime
//!
//! The [`Store`] trait is synchronous (SQLite is a blocking library; the engine calls the store
//! from `spawn_blocking` threads or its own writer thread). sqlx is async, so each store owns a
//! small multi-thread tokio runtime and every method runs its query with
//! [`tokio::runtime::Runtime::block_on`] on the **caller's** thread. The runtime's worker
//! threads drive the sockets (the I/O reactor) and the pool's housekeeping; the query itself
//! runs on the caller, so many callers run queries in parallel, one pool connection each.
//! Owning the runtime keeps the store independent of whichever runtime (if any) the caller
//! uses: `block_on` is legal on any thread that is not itself driving async tasks, which
//! includes a `spawn_blocking` thread of another runtime. Called from async code on a worker
//! of a multi-thread runtime (which should use `spawn_blocking`, but a quick lookup in an
//! `async fn` happens), the call goes through `block_in_place`: tokio moves that worker's
//! other tasks to another thread while the query blocks this one, instead of panicking. From
//! async code on a current-thread runtime there is no such escape, and tokio panics.
//!
//! # Commit
//!
//! [`Store::commit`] is **one statement**, and so one transaction and one round trip: each
//! table the batch touches is written by one multi-row `INSERT`/`UPDATE`/`DELETE` that takes
//! all of the batch's rows as arrays (`… SELECT … FROM UNNEST($1::text[], …)`), and these are
//! the data-modifying CTEs of a single `WITH` statement. A batch of 50 steps costs one round
//! trip, as does a batch of one. The order and merge rules are in `commit.rs`.
//!
//! # Partitions and leases (design for several nodes; not enforced yet)
//!
//! Every execution belongs to one of [`PARTITIONS`] partitions, [`partition_of`] its ARN,
//! stored in `executions.partition` (and `timers.partition`), so a node can load "the running
//! executions and timers of the partitions I hold" with an index scan. The plan:
//!
//! - A table `partition_leases (partition smallint PRIMARY KEY, owner text, epoch bigint,
//!   expires_at timestamptz)`. A node takes a free or expired partition with
//!   `UPDATE … SET owner = $me, epoch = epoch + 1, expires_at = now() + $ttl WHERE partition =
//!   $p AND (owner = $me OR expires_at < now()) RETURNING epoch`, and renews it (same owner,
//!   same epoch) well before it lapses. Time is the database's `now()`, never a node's clock.
//! - The epoch is the fence. The runtime passes the (partition, epoch) pairs it believes it
//!   holds with each batch, and `commit` begins with
//!   `SELECT … FROM partition_leases WHERE (partition, epoch) IN (…) FOR SHARE`, failing the
//!   whole batch if any pair no longer matches. `FOR SHARE` makes a takeover (an `UPDATE` of
//!   the row) wait for in-flight commits of the old owner and makes later ones fail, so a
//!   node that paused past its lease (GC, network) can never write after a new owner has
//!   loaded the partition: its batch is rolled back and it drops the partition's executions.
//! - A takeover bumps the epoch, then reloads `running_executions` and `timers` of that
//!   partition. Activity tasks are not partitioned: any node claims them (`SKIP LOCKED`), and
//!   the worker's answer is routed to the owner of the execution's partition.
//!
//! The number of partitions is fixed when the schema is created; changing it means a
//! migration that recomputes the column, so [`partition_of`] must never change.

mod activities;
mod commit;
mod executions;
mod machines;
mod meta;
mod schema;
mod tasks;

use crate::records::*;
use crate::{Inserted, Result, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use std::future::Future;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

pub use crate::partition::{partition_of, PARTITIONS};
pub use schema::VERSION as SCHEMA_VERSION;

/// Connections per store handle. A handle serves one node: the writer, a few readers and
/// the activity pollers that are inside a claim at that moment.
const MAX_CONNECTIONS: u32 = 8;
/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long dropping a store waits for its connections to say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// The store on one PostgreSQL database (or one schema of it: put `search_path` in the URL,
/// e.g. `?options[search_path]=cairn`). Cheap to share behind an `Arc`; every method is
/// thread-safe and may be called from any thread that is not running async tasks.
pub struct PostgresStore {
    pool: PgPool,
    /// Always `Some` until `drop`.
    runtime: Option<tokio::runtime::Runtime>,
    token_key: OnceLock<[u8; 32]>,
}

impl PostgresStore {
    /// Connect to the database at `url` (`postgres://user:password@host:port/database?…`)
    /// and bring its schema up to date. Fails if the schema was written by a newer Cairn.
    pub fn connect(url: &str) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("bad PostgreSQL URL: {e}")))?
            .application_name("cairn");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(format!("cannot start a tokio runtime: {e}")))?;
        // One plain connection first: a wrong URL, password or database fails at once (a
        // pool would retry until its acquire timeout), and it applies the migrations. The
        // pool then opens connections as calls need them.
        let pool = runtime.block_on(async {
            let mut conn = PgConnection::connect_with(&options).await?;
            schema::migrate(&mut conn).await?;
            conn.close().await?;
            Ok::<_, StoreError>(
                PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        });
        let pool = match pool {
            Ok(pool) => pool,
            Err(e) => {
                // Never blocks, so it is safe on any thread (see `Drop`).
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let store = PostgresStore {
            pool,
            runtime: Some(runtime),
            token_key: OnceLock::new(),
        };
        Ok(store)
    }

    /// Run one query (or transaction) to completion on the caller's thread.
    fn run<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives as long as the store");
        // A worker of another multi-thread runtime must hand its tasks off before blocking
        // (see the module notes); `block_in_place` does, and is a no-op elsewhere.
        let on_multi_thread_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_multi_thread_runtime {
            tokio::task::block_in_place(|| runtime.block_on(f))
        } else {
            runtime.block_on(f)
        }
    }
}

impl Drop for PostgresStore {
    /// Close the connections politely, then stop the runtime. Done on a fresh thread: this
    /// thread may be inside another runtime, where blocking and dropping a runtime panic.
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let pool = self.pool.clone();
        let closer = std::thread::Builder::new()
            .name("cairn-postgres-close".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, pool.close()).await;
                });
                runtime.shutdown_background();
            });
        if let Ok(closer) = closer {
            let _ = closer.join();
        }
    }
}

impl Store for PostgresStore {
    fn token_key(&self) -> Result<[u8; 32]> {
        if let Some(key) = self.token_key.get() {
            return Ok(*key);
        }
        let key = self.run(meta::token_key(&self.pool))?;
        Ok(*self.token_key.get_or_init(|| key))
    }

    fn insert_activity(&self, activity: &ActivityRecord) -> Result<Inserted<ActivityRecord>> {
        self.run(activities::insert(&self.pool, activity))
    }

    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.run(activities::get(&self.pool, arn))
    }

    fn list_activities(&self, after: Option<&Cursor>, limit: usize) -> Result<Vec<ActivityRecord>> {
        self.run(activities::list(&self.pool, after, limit))
    }

    fn delete_activity(&self, arn: &str) -> Result<bool> {
        self.run(activities::delete(&self.pool, arn))
    }

    fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
    ) -> Result<Inserted<StateMachineRecord>> {
        self.run(machines::insert(&self.pool, machine))
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        self.run(machines::get(&self.pool, arn))
    }

    fn update_state_machine(&self, machine: &StateMachineRecord) -> Result<bool> {
        self.run(machines::update(&self.pool, machine))
    }

    fn list_state_machines(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        self.run(machines::list(&self.pool, after, limit))
    }

    fn delete_state_machine(&self, arn: &str) -> Result<bool> {
        self.run(machines::delete(&self.pool, arn))
    }

    fn put_tags(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()> {
        self.run(machines::put_tags(&self.pool, resource_arn, tags))
    }

    fn remove_tags(&self, resource_arn: &str, keys: &[String]) -> Result<()> {
        self.run(machines::remove_tags(&self.pool, resource_arn, keys))
    }

    fn list_tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.run(machines::list_tags(&self.pool, resource_arn))
    }

    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.run(executions::get(&self.pool, arn))
    }

    fn list_executions(
        &self,
        state_machine_arn: &str,
        status: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.run(executions::list(
            &self.pool,
            state_machine_arn,
            status,
            after,
            limit,
        ))
    }

    fn running_executions(&self) -> Result<Vec<ExecutionRecord>> {
        self.run(executions::running(&self.pool))
    }

    fn history(
        &self,
        execution_arn: &str,
        page: HistoryPage,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.run(executions::history(&self.pool, execution_arn, page, limit))
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.run(commit::apply(&self.pool, batch))
    }

    fn claim_activity_task(&self, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
        self.run(tasks::claim(&self.pool, activity_arn))
    }

    fn release_activity_task(&self, execution_arn: &str, task: u64) -> Result<()> {
        self.run(tasks::release(&self.pool, execution_arn, task))
    }

    fn timers(&self) -> Result<Vec<TimerRecord>> {
        self.run(tasks::timers(&self.pool))
    }
}

/// A page size as PostgreSQL's `LIMIT`.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `u64` id as PostgreSQL's `bigint`, refusing values that do not fit.
fn int(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("{what} {v} is out of range")))
}

/// A `bigint` column read back as `u64`.
fn uint(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is negative")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        // Stored in the database: these values must never change.
        assert_eq!(partition_of(""), (0x811c_9dc5u32 % 256) as i16);
        assert_eq!(partition_of("a"), (0xe40c_292cu32 % 256) as i16);
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e";
        assert_eq!(partition_of(arn), partition_of(arn));
        let spread: std::collections::HashSet<i16> = (0..10_000)
            .map(|i| partition_of(&format!("{arn}{i}")))
            .collect();
        assert!(spread.iter().all(|p| (0..PARTITIONS).contains(p)));
        assert_eq!(spread.len(), PARTITIONS as usize, "every partition is used");
    }
}
