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
//! # Several nodes: partitions, leases, fences
//!
//! Several Cairn nodes share one database; [`Cluster`] is what they coordinate through, and
//! no consensus of our own is involved: the database's row locks and its `now()` decide.
//! Every execution belongs to one of [`PARTITIONS`] partitions, [`partition_of`] its ARN,
//! stored in `executions.partition` (and `timers.partition`), so a node loads "the running
//! executions and timers of the partitions I hold" with an index scan
//! ([`Cluster::running_executions_in`], [`Cluster::timers_in`]). Migration 2 adds:
//!
//! - `nodes (id, address, started_at, expires_at)`: membership. A heartbeat upserts the row
//!   with `expires_at = now() + ttl`; a node whose row lapsed is gone.
//! - `partition_leases (partition, owner, epoch, expires_at)`, one row per partition from
//!   the start. Acquiring takes free or lapsed rows `FOR UPDATE SKIP LOCKED` and sets
//!   `owner = $me, epoch = epoch + 1, expires_at = now() + ttl`; renewing extends the rows
//!   still at the caller's (owner, epoch); releasing clears the owner (see `cluster.rs`).
//! - `cairn_fence(node, partitions, epochs)`, the fence. A batch with [`Batch::fence`] is
//!   committed by a statement that calls it first thing: it locks the named lease rows
//!   `FOR SHARE` and raises SQLSTATE `CRN01` ([`StoreError::Fenced`]) unless each is held
//!   by that node at that epoch, which aborts the whole statement. The share lock makes a
//!   takeover (an `UPDATE` of the row) wait for a commit in flight, and a later commit of
//!   the old owner sees the new epoch and fails: a node that paused past its lease (GC,
//!   network) can never write after a new owner has loaded the partition.
//!
//! Activity tasks are not partitioned: any node claims them (`SKIP LOCKED`), and the hand-out
//! is committed by the execution's owner. A claim is a short lease (`claimed_until`,
//! [`CLAIM_LEASE`]) that the owner's commit turns into `taken` (the task is in
//! [`Batch::taken_tasks`]) or ends by withdrawing the task; a claimer that dies before that
//! only delays the task until its claim lapses (see `tasks.rs`).
//!
//! Wake-ups travel by LISTEN/NOTIFY (see `listen.rs`): the commit notifies the activity
//! channel once per activity that gets a waiting task, a released task does the same, and a
//! lease release notifies the leases channel. They are hints: pollers and lease managers
//! still look by themselves now and then.
//!
//! The number of partitions is fixed when the schema is created; changing it means a
//! migration that recomputes the column, so [`partition_of`] must never change.

mod activities;
mod breaker;
mod cluster;
mod commit;
mod executions;
mod listen;
mod machines;
mod map_runs;
mod meta;
mod schema;
mod tasks;
mod versions;

use crate::cluster::{Cluster, Lease, NodeRecord, Notification};
use crate::records::*;
use crate::{Inserted, Result, Store, StoreError};
use listen::Channels;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use crate::partition::{partition_of, PARTITIONS};
pub use schema::VERSION as SCHEMA_VERSION;
pub use tasks::CLAIM_LEASE;

/// Connections per store handle. A handle serves one node: the writer, a few readers and
/// the activity pollers that are inside a claim at that moment.
const MAX_CONNECTIONS: u32 = 8;
/// How long a call waits for a connection before failing. It bounds an outage's calls too:
/// with the server down, sqlx keeps trying to connect until this runs out, and the writer
/// commits one batch at a time, so every caller during an outage waits for it (once for the
/// batch in progress, once for its own) before it gets its error. 30 s made callers queued
/// behind a commit wait past an SDK's timeout; a connection freed by a claim or a commit
/// takes milliseconds, so 5 s is ample for the busy case.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long dropping a store waits for its connections to say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if breaker::unreachable(&e) {
            StoreError::Database(format!("{}: {e}", breaker::UNREACHABLE))
        } else {
            StoreError::Database(e.to_string())
        }
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
    /// How to connect again (each listener has a connection of its own).
    options: PgConnectOptions,
    /// The NOTIFY channels of this store's schema.
    channels: Channels,
    /// One single-connection pool per [`Cluster::listen`]; closing it ends that listener.
    listeners: Mutex<Vec<PgPool>>,
    /// Refuses calls at once while the server is unreachable (see `breaker.rs`).
    breaker: breaker::Breaker,
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
        let connected = runtime.block_on(async {
            let mut conn = PgConnection::connect_with(&options).await?;
            schema::create_named_schema(&mut conn).await?;
            schema::migrate(&mut conn).await?;
            // Where the tables are: it names the NOTIFY channels (see `listen.rs`).
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            // No ping before each use: sqlx already pings every connection as it goes back
            // to the pool (and drops it if that fails), so a second ping on the way out cost
            // one more round trip per query (a third of a commit's) for nothing but
            // connections whose server went away while idle; a query on one of those fails
            // once, like any query the server drops, and the pool opens a new one.
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .test_before_acquire(false)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options.clone());
            Ok::<_, StoreError>((pool, schema))
        });
        let (pool, schema) = match connected {
            Ok(connected) => connected,
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
            options,
            channels: Channels::of_schema(&schema),
            listeners: Mutex::new(Vec::new()),
            breaker: breaker::Breaker::default(),
        };
        Ok(store)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// Run one query (or transaction) to completion on the caller's thread.
    /// Fails at once while the server is known to be unreachable (see `breaker.rs`).
    fn run<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        self.breaker.admit()?;
        let runtime = self.runtime();
        // A worker of another multi-thread runtime must hand its tasks off before blocking
        // (see the module notes); `block_in_place` does, and is a no-op elsewhere.
        let on_multi_thread_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let outcome = if on_multi_thread_runtime {
            tokio::task::block_in_place(|| runtime.block_on(f))
        } else {
            runtime.block_on(f)
        };
        self.breaker.record(&outcome);
        outcome
    }
}

impl Drop for PostgresStore {
    /// Close the connections politely (the listeners' first, which ends their tasks), then
    /// stop the runtime. Done on a fresh thread: this thread may be inside another runtime,
    /// where blocking and dropping a runtime panic.
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let listeners = self.listeners.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut pools = std::mem::take(listeners);
        pools.push(self.pool.clone());
        let closer = std::thread::Builder::new()
            .name("cairn-postgres-close".into())
            .spawn(move || {
                runtime.block_on(async {
                    let close_all = async {
                        for pool in &pools {
                            pool.close().await;
                        }
                    };
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, close_all).await;
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

    fn list_activities(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        self.run(activities::list(&self.pool, account, after, limit))
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
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        self.run(machines::list(&self.pool, account, after, limit))
    }

    fn delete_state_machine(&self, arn: &str) -> Result<bool> {
        self.run(machines::delete(&self.pool, arn))
    }

    fn publish_version(&self, version: &VersionRecord, max_versions: usize) -> Result<Published> {
        self.run(versions::publish(&self.pool, version, max_versions))
    }

    fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>> {
        self.run(versions::get_version(&self.pool, arn))
    }

    fn list_versions(
        &self,
        machine_arn: &str,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        self.run(versions::list_versions(
            &self.pool,
            machine_arn,
            after,
            limit,
        ))
    }

    fn delete_version(&self, arn: &str) -> Result<VersionDeleted> {
        self.run(versions::delete_version(&self.pool, arn))
    }

    fn insert_alias(&self, alias: &AliasRecord, max_aliases: usize) -> Result<AliasWritten> {
        self.run(versions::insert_alias(&self.pool, alias, max_aliases))
    }

    fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>> {
        self.run(versions::get_alias(&self.pool, arn))
    }

    fn update_alias(&self, alias: &AliasRecord) -> Result<AliasWritten> {
        self.run(versions::update_alias(&self.pool, alias))
    }

    fn list_aliases(
        &self,
        machine_arn: &str,
        version_arn: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        self.run(versions::list_aliases(
            &self.pool,
            machine_arn,
            version_arn,
            after,
            limit,
        ))
    }

    fn delete_alias(&self, arn: &str) -> Result<bool> {
        self.run(versions::delete_alias(&self.pool, arn))
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

    fn get_executions(&self, arns: &[String]) -> Result<Vec<ExecutionRecord>> {
        self.run(executions::get_many(&self.pool, arns))
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter<'_>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.run(executions::list(&self.pool, filter, after, limit))
    }

    fn running_executions(&self) -> Result<Vec<ExecutionRecord>> {
        self.run(executions::running(&self.pool))
    }

    fn create_map_run(&self, run: &MapRunRecord) -> Result<MapRunRecord> {
        self.run(map_runs::create(&self.pool, run))
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<MapRunRecord>> {
        self.run(map_runs::get(&self.pool, arn))
    }

    fn update_map_run_progress(
        &self,
        arn: &str,
        status: &str,
        stop_date_ms: Option<i64>,
        item_counts: &str,
        execution_counts: &str,
    ) -> Result<bool> {
        self.run(map_runs::update_progress(
            &self.pool,
            arn,
            status,
            stop_date_ms,
            item_counts,
            execution_counts,
        ))
    }

    fn update_map_run_settings(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    ) -> Result<bool> {
        self.run(map_runs::update_settings(
            &self.pool,
            arn,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
        ))
    }

    fn redrive_map_run(&self, arn: &str, redrive_count: u32, date_ms: i64) -> Result<bool> {
        self.run(map_runs::redrive(&self.pool, arn, redrive_count, date_ms))
    }

    fn link_map_run_execution(
        &self,
        map_run_arn: &str,
        execution_arn: &str,
        index: u64,
    ) -> Result<()> {
        self.run(map_runs::link(
            &self.pool,
            map_run_arn,
            execution_arn,
            index,
        ))
    }

    fn map_run_of_execution(&self, execution_arn: &str) -> Result<Option<String>> {
        self.run(map_runs::of_execution(&self.pool, execution_arn))
    }

    fn list_map_run_executions(
        &self,
        map_run_arn: &str,
        status: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.run(map_runs::list_executions(
            &self.pool,
            map_run_arn,
            status,
            after,
            limit,
        ))
    }

    fn map_run_executions_by_item(
        &self,
        map_run_arn: &str,
        after_index: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, ExecutionRecord)>> {
        self.run(map_runs::executions_by_item(
            &self.pool,
            map_run_arn,
            after_index,
            limit,
        ))
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
        self.run(commit::apply(
            &self.pool,
            &self.channels.activity_tasks,
            batch,
        ))
    }

    fn claim_activity_task(&self, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
        self.run(tasks::claim(&self.pool, activity_arn))
    }

    fn release_activity_task(&self, execution_arn: &str, task: u64) -> Result<()> {
        self.run(tasks::release(
            &self.pool,
            &self.channels.activity_tasks,
            execution_arn,
            task,
        ))
    }

    fn activity_backlog(&self, activity_arn: &str) -> Result<ActivityBacklog> {
        self.run(tasks::backlog(&self.pool, activity_arn))
    }

    fn timers(&self) -> Result<Vec<TimerRecord>> {
        self.run(tasks::timers(&self.pool))
    }

    fn cluster(&self) -> Option<&dyn Cluster> {
        Some(self)
    }
}

impl Cluster for PostgresStore {
    fn heartbeat(&self, node: &NodeRecord, ttl: Duration) -> Result<()> {
        self.run(cluster::heartbeat(&self.pool, node, ttl))
    }

    fn leave(&self, node_id: &str) -> Result<()> {
        self.run(cluster::leave(&self.pool, node_id))
    }

    fn live_nodes(&self) -> Result<Vec<NodeRecord>> {
        self.run(cluster::live_nodes(&self.pool))
    }

    fn acquire_leases(&self, node_id: &str, want: usize, ttl: Duration) -> Result<Vec<Lease>> {
        self.run(cluster::acquire(&self.pool, node_id, want, ttl))
    }

    fn reclaim_leases(&self, node_id: &str, ttl: Duration) -> Result<Vec<Lease>> {
        self.run(cluster::reclaim(&self.pool, node_id, ttl))
    }

    fn renew_leases(&self, node_id: &str, held: &[Lease], ttl: Duration) -> Result<Vec<Lease>> {
        self.run(cluster::renew(&self.pool, node_id, held, ttl))
    }

    fn release_leases(&self, node_id: &str, leases: &[Lease]) -> Result<()> {
        self.run(cluster::release(
            &self.pool,
            &self.channels.leases,
            node_id,
            leases,
        ))
    }

    fn lease_owners(&self) -> Result<Vec<(i16, NodeRecord)>> {
        self.run(cluster::owners(&self.pool))
    }

    fn running_executions_in(&self, partitions: &[i16]) -> Result<Vec<ExecutionRecord>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        self.run(executions::running_in(&self.pool, partitions))
    }

    fn timers_in(&self, partitions: &[i16]) -> Result<Vec<TimerRecord>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        self.run(tasks::timers_in(&self.pool, partitions))
    }

    /// Subscribes on a connection of its own before returning (so nothing sent after this
    /// returns is missed, short of a reconnect), then hands it to a task on the store's
    /// runtime. `on` runs on a runtime thread of the store: it must return quickly (wake
    /// something, send on a channel) and must not call the store.
    fn listen(&self, on: Arc<dyn Fn(Notification) + Send + Sync>) -> Result<()> {
        let pool = listen::pool(&self.options);
        let listener = self.run(async {
            listen::subscribe(&pool, &self.channels)
                .await
                .map_err(|e| StoreError::Database(format!("cannot listen: {e}")))
        })?;
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pool.clone());
        self.runtime()
            .spawn(listen::run(listener, pool, self.channels.clone(), on));
        Ok(())
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
