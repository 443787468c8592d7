//! The SQLite backend (rusqlite, WAL): [`SqliteStore`].
//!
//! Owns: the connections, the pragmas, and the mapping of the [`Store`] contract onto SQL.
//! Must not: hold state outside the database (a second process on the same file must see the
//! same store), or let a read wait behind a write.
//!
//! Connections. One **writer** connection behind a mutex takes every write, each in one
//! `BEGIN IMMEDIATE` transaction (taking the write lock up front, so two processes on one file
//! queue on `busy_timeout` instead of failing a lock upgrade). Reads go to a small pool of
//! **reader** connections; in WAL mode they read the last committed state beside a running
//! write, so a long batch commit never holds up `GetExecutionHistory`.
//!
//! Durability. `journal_mode=WAL` with `synchronous=NORMAL`: a commit is appended to the WAL
//! through the operating system before `commit` returns, and only checkpoints call fsync. A
//! killed or crashed *process* loses nothing committed (the data sits in the OS page cache and
//! reaches the file anyway), which is what Cairn promises. A power cut or kernel crash may lose
//! the last few commits, but never corrupts the database. `synchronous=FULL` would fsync every
//! commit and cap the engine at the disk's fsync rate. The remaining fsyncs (at checkpoints)
//! run on a background thread (`checkpoint.rs`).

mod activities;
mod checkpoint;
mod commit;
mod executions;
mod machines;
mod map_runs;
mod meta;
mod schema;
mod tasks;
mod versions;

use crate::records::*;
use crate::{Inserted, Result, Store, StoreError};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

pub use schema::VERSION as SCHEMA_VERSION;

/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle reader connections kept open; more are opened on demand under load and closed after.
/// Opening and configuring a connection costs far more than a read, and a busy server has
/// dozens of requests reading at once (measured: with 4 kept, ~5% of the CPU of an activity
/// benchmark went to opening connections), so keep enough for that; each costs a few hundred
/// KiB of page cache.
const MAX_IDLE_READERS: usize = 32;
/// What a write other than a batch commit counts for when pacing checkpoints.
const SMALL_WRITE: u64 = 1024;
/// Prepared statements cached per connection (each method uses a handful).
const STATEMENT_CACHE: usize = 64;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// The store on one SQLite file. Cheap to share behind an `Arc`; every method is thread-safe.
pub struct SqliteStore {
    path: PathBuf,
    /// Declared first so that it stops before the connections close.
    checkpointer: checkpoint::Checkpointer,
    writer: Arc<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
    token_key: OnceLock<[u8; 32]>,
}

impl SqliteStore {
    /// Open (creating the parent directories and the file if needed) and migrate the database
    /// at `path`. Fails if the file was written by a newer schema version.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        // WAL is a property of the file: set once by the writer, readers inherit it.
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "{}: cannot switch to WAL mode (got {mode})",
                path.display()
            )));
        }
        schema::migrate(&mut writer)?;
        writer.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
        )?;
        // After a restart, truncate a WAL file that grew beyond this (else it keeps its size).
        writer.pragma_update(None, "journal_size_limit", 64 << 20)?;
        // 32 MB of page cache for the writer (the default is 2 MB): a batch touches pages all
        // over the execution table and the event index, and re-reading them through the OS
        // showed in profiles (commit bench, 50 steps: ~1.4x).
        writer.pragma_update(None, "cache_size", -32768)?;
        let writer = Arc::new(Mutex::new(writer));
        Ok(SqliteStore {
            path: path.to_owned(),
            checkpointer: checkpoint::Checkpointer::start(path, writer.clone())?,
            writer,
            readers: Mutex::new(Vec::new()),
            token_key: OnceLock::new(),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in one write transaction (`BEGIN IMMEDIATE`); commit if it returns Ok, roll
    /// back otherwise (also if it panics: dropping the transaction rolls it back). `bytes`
    /// estimates how much it writes, to pace the checkpoints.
    fn write<T>(&self, bytes: u64, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        drop(conn);
        self.checkpointer.wrote(bytes);
        Ok(out)
    }

    /// Run `f` on a reader connection. A single statement is a consistent snapshot; `f` may
    /// open a deferred transaction itself when it needs several.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = lock(&self.readers).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let out = f(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS && conn.is_autocommit() {
            idle.push(conn);
        }
        out
    }

    fn open_reader(&self) -> Result<Connection> {
        let conn = open_connection(&self.path)?;
        configure(&conn)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }
}

/// A further connection on an existing database file (readers, the checkpointer).
fn open_connection(path: &Path) -> Result<Connection> {
    Ok(Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

/// Per-connection settings (WAL itself is per file, see [`SqliteStore::open`]).
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // See the module header for why NORMAL is enough.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Referential rules are kept by the code (one writer, one transaction per batch); no
    // foreign keys, so the hot path does no extra lookups.
    conn.pragma_update(None, "foreign_keys", false)?;
    Ok(())
}

/// A poisoned lock only means another thread panicked while holding it; the connection is
/// still sound (an open transaction was rolled back when it was dropped).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A `u64` id as SQLite's `i64`, refusing values that do not fit.
fn int(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("{what} {v} is out of range")))
}

/// An `i64` column read back as `u64`.
fn uint(what: &str, v: i64) -> rusqlite::Result<u64> {
    u64::try_from(v).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("{what} {v} is negative").into(),
        )
    })
}

impl Store for SqliteStore {
    fn token_key(&self) -> Result<[u8; 32]> {
        if let Some(key) = self.token_key.get() {
            return Ok(*key);
        }
        let key = match self.read(meta::token_key)? {
            Some(key) => key,
            None => self.write(SMALL_WRITE, |tx| meta::create_token_key(tx))?,
        };
        Ok(*self.token_key.get_or_init(|| key))
    }

    fn insert_activity(&self, activity: &ActivityRecord) -> Result<Inserted<ActivityRecord>> {
        self.write(SMALL_WRITE, |tx| activities::insert(tx, activity))
    }

    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.read(|c| activities::get(c, arn))
    }

    fn list_activities(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        self.read(|c| activities::list(c, account, after, limit))
    }

    fn delete_activity(&self, arn: &str) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| activities::delete(tx, arn))
    }

    fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
    ) -> Result<Inserted<StateMachineRecord>> {
        self.write(SMALL_WRITE, |tx| machines::insert(tx, machine))
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        self.read(|c| machines::get(c, arn))
    }

    fn update_state_machine(&self, machine: &StateMachineRecord) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| machines::update(tx, machine))
    }

    fn list_state_machines(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        self.read(|c| machines::list(c, account, after, limit))
    }

    fn delete_state_machine(&self, arn: &str) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| {
            versions::delete_all_of(tx, arn)?;
            machines::delete(tx, arn)
        })
    }

    fn publish_version(&self, version: &VersionRecord, max_versions: usize) -> Result<Published> {
        self.write(SMALL_WRITE, |tx| {
            versions::publish(tx, version, max_versions)
        })
    }

    fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>> {
        self.read(|c| versions::get_version(c, arn))
    }

    fn list_versions(
        &self,
        machine_arn: &str,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        self.read(|c| versions::list_versions(c, machine_arn, after, limit))
    }

    fn delete_version(&self, arn: &str) -> Result<VersionDeleted> {
        self.write(SMALL_WRITE, |tx| versions::delete_version(tx, arn))
    }

    fn insert_alias(&self, alias: &AliasRecord, max_aliases: usize) -> Result<AliasWritten> {
        self.write(SMALL_WRITE, |tx| {
            versions::insert_alias(tx, alias, max_aliases)
        })
    }

    fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>> {
        self.read(|c| versions::get_alias(c, arn))
    }

    fn update_alias(&self, alias: &AliasRecord) -> Result<AliasWritten> {
        self.write(SMALL_WRITE, |tx| versions::update_alias(tx, alias))
    }

    fn list_aliases(
        &self,
        machine_arn: &str,
        version_arn: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        self.read(|c| versions::list_aliases(c, machine_arn, version_arn, after, limit))
    }

    fn delete_alias(&self, arn: &str) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| versions::delete_alias(tx, arn))
    }

    fn put_tags(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()> {
        self.write(SMALL_WRITE, |tx| machines::put_tags(tx, resource_arn, tags))
    }

    fn remove_tags(&self, resource_arn: &str, keys: &[String]) -> Result<()> {
        self.write(SMALL_WRITE, |tx| {
            machines::remove_tags(tx, resource_arn, keys)
        })
    }

    fn list_tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| machines::list_tags(c, resource_arn))
    }

    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.read(|c| executions::get(c, arn))
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter<'_>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.read(|c| executions::list(c, filter, after, limit))
    }

    fn running_executions(&self) -> Result<Vec<ExecutionRecord>> {
        self.read(executions::running)
    }

    fn create_map_run(&self, run: &MapRunRecord) -> Result<MapRunRecord> {
        self.write(SMALL_WRITE, |tx| map_runs::create(tx, run))
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<MapRunRecord>> {
        self.read(|c| map_runs::get(c, arn))
    }

    fn update_map_run_progress(
        &self,
        arn: &str,
        status: &str,
        stop_date_ms: Option<i64>,
        item_counts: &str,
        execution_counts: &str,
    ) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| {
            map_runs::update_progress(tx, arn, status, stop_date_ms, item_counts, execution_counts)
        })
    }

    fn update_map_run_settings(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    ) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| {
            map_runs::update_settings(
                tx,
                arn,
                max_concurrency,
                tolerated_failure_count,
                tolerated_failure_percentage,
            )
        })
    }

    fn redrive_map_run(&self, arn: &str, redrive_count: u32, date_ms: i64) -> Result<bool> {
        self.write(SMALL_WRITE, |tx| {
            map_runs::redrive(tx, arn, redrive_count, date_ms)
        })
    }

    fn link_map_run_execution(
        &self,
        map_run_arn: &str,
        execution_arn: &str,
        index: u64,
    ) -> Result<()> {
        self.write(SMALL_WRITE, |tx| {
            map_runs::link(tx, map_run_arn, execution_arn, index)
        })
    }

    fn map_run_of_execution(&self, execution_arn: &str) -> Result<Option<String>> {
        self.read(|c| map_runs::of_execution(c, execution_arn))
    }

    fn list_map_run_executions(
        &self,
        map_run_arn: &str,
        status: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.read(|c| map_runs::list_executions(c, map_run_arn, status, after, limit))
    }

    fn map_run_executions_by_item(
        &self,
        map_run_arn: &str,
        after_index: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, ExecutionRecord)>> {
        self.read(|c| map_runs::executions_by_item(c, map_run_arn, after_index, limit))
    }

    fn history(
        &self,
        execution_arn: &str,
        page: HistoryPage,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.read(|c| executions::history(c, execution_arn, page, limit))
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(commit::size(batch), |tx| commit::apply(tx, batch))
    }

    fn claim_activity_task(&self, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
        self.write(SMALL_WRITE, |tx| tasks::claim(tx, activity_arn))
    }

    fn peek_activity_tasks(
        &self,
        activity_arn: &str,
        n: usize,
    ) -> Result<Option<Vec<ActivityTaskRecord>>> {
        self.read(|conn| tasks::peek(conn, activity_arn, limit(n)))
            .map(Some)
    }

    fn release_activity_task(&self, execution_arn: &str, task: u64) -> Result<()> {
        self.write(SMALL_WRITE, |tx| tasks::release(tx, execution_arn, task))
    }

    fn activity_backlog(&self, activity_arn: &str) -> Result<ActivityBacklog> {
        self.read(|conn| tasks::backlog(conn, activity_arn))
    }

    fn timers(&self) -> Result<Vec<TimerRecord>> {
        self.read(tasks::timers)
    }
}

/// A page size as SQLite's `LIMIT`.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Run a cached query and collect every row.
fn query_all<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params, row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
