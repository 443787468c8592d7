//! Durable storage behind Cairn: the [`Store`] trait and its backends.
//!
//! One trait, one contract, every backend: `suite` (feature `test-suite`, compiled only for
//! the crate's tests) holds the cases that each implementation must pass (SQLite and
//! PostgreSQL). Nothing in this crate assumes a
//! single process: state lives in the database, and callers keep only caches.
//!
//! Crash-recovery duties are stated on each method. The central one is [`Store::commit`]:
//! history events, execution snapshots, activity tasks and timers of a whole batch of steps
//! become durable together, or not at all (the outbox that makes "commit, then act" safe).
//!
//! Invariant: storage only. No ASL, no interpreter, no HTTP: records carry JSON text and
//! plain values; their meaning belongs to the layers above.

pub mod cluster;
mod partition;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod records;
pub mod sqlite;
#[cfg(any(test, feature = "test-suite"))]
pub mod suite;
mod version_rows;

pub use cluster::{Cluster, Lease, NodeRecord, Notification};
pub use partition::{partition_of, PARTITIONS};
pub use records::*;

/// A storage failure the API layer reports as an internal error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The batch's [`Fence`] no longer matches the partition leases: another node owns (or
    /// the caller released) one of them. Nothing of the batch was written.
    #[error("lease lost: {0}")]
    Fenced(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What an insert that respects a uniqueness rule found.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted<T> {
    /// The row was new and is now stored.
    Created,
    /// A row with the same key already exists; here it is (the caller decides whether that
    /// is idempotent success or a conflict).
    Exists(T),
}

/// The storage contract. Methods are synchronous: SQLite is driven from a blocking thread;
/// an async database may block on its own runtime inside. Every method is safe to call
/// from many threads at once.
pub trait Store: Send + Sync + 'static {
    // ---- meta -----------------------------------------------------------------------
    /// The secret that keys task tokens; created once, then the same forever, so tokens
    /// survive restarts and are accepted by every node.
    fn token_key(&self) -> Result<[u8; 32]>;

    // ---- activities -----------------------------------------------------------------
    /// Insert unless an activity with this ARN exists (CreateActivity is idempotent by name).
    fn insert_activity(&self, activity: &ActivityRecord) -> Result<Inserted<ActivityRecord>>;
    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>>;
    /// Activities in creation order, starting after `after` (a pagination cursor); only those
    /// whose ARN names `account` when given (filtered in the query, so a page is full).
    fn list_activities(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>>;
    /// Delete the activity, its queued tasks (taken or not) and its tags. Returns whether it
    /// existed.
    fn delete_activity(&self, arn: &str) -> Result<bool>;

    // ---- state machines -------------------------------------------------------------
    fn insert_state_machine(
        &self,
        machine: &StateMachineRecord,
    ) -> Result<Inserted<StateMachineRecord>>;
    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>>;
    /// Replace the stored record of an existing machine (UpdateStateMachine). Returns whether it existed.
    fn update_state_machine(&self, machine: &StateMachineRecord) -> Result<bool>;
    /// Machines in creation order, starting after `after`; only those whose ARN names
    /// `account` when given (filtered in the query, so a page is full).
    fn list_state_machines(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>>;
    /// Delete the machine, its tags, versions, aliases and version counter (its executions
    /// stay readable). Returns whether it existed.
    fn delete_state_machine(&self, arn: &str) -> Result<bool>;

    // ---- versions and aliases -------------------------------------------------------
    /// Publish the revision `version` copies as the machine's next version, in one
    /// transaction: if a stored version of the machine has the same `revision_id` (`None`
    /// equals `None`) answer it instead; refuse when `max_versions` exist. Numbers come from
    /// a per-machine counter, so a deleted version's number is never handed out again.
    fn publish_version(&self, version: &VersionRecord, max_versions: usize) -> Result<Published>;
    fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>>;
    /// A machine's versions, newest (highest number) first, starting after `after`.
    fn list_versions(
        &self,
        machine_arn: &str,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>>;
    /// Delete a version unless an alias routes to it (checked in the same transaction).
    fn delete_version(&self, arn: &str) -> Result<VersionDeleted>;
    /// Insert an alias unless one with its ARN exists; every routed version must exist and
    /// the machine must have fewer than `max_aliases` (all checked in one transaction).
    fn insert_alias(&self, alias: &AliasRecord, max_aliases: usize) -> Result<AliasWritten>;
    fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>>;
    /// Replace an alias's description, routes and update date (routed versions must exist).
    fn update_alias(&self, alias: &AliasRecord) -> Result<AliasWritten>;
    /// A machine's aliases in creation order (only those routing to `version_arn`, if
    /// given), starting after `after`.
    fn list_aliases(
        &self,
        machine_arn: &str,
        version_arn: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>>;
    /// Returns whether it existed.
    fn delete_alias(&self, arn: &str) -> Result<bool>;

    // ---- tags -------------------------------------------------------------------------
    /// Tags in insertion order; an existing key is overwritten in place.
    fn put_tags(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()>;
    fn remove_tags(&self, resource_arn: &str, keys: &[String]) -> Result<()>;
    fn list_tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>>;

    // ---- executions -------------------------------------------------------------------
    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>>;
    /// The stored executions among `arns` (any order; unknown ones are left out). One round
    /// trip where the backend is remote: the writer looks up a whole batch of new executions
    /// at once instead of one query per StartExecution.
    fn get_executions(&self, arns: &[String]) -> Result<Vec<ExecutionRecord>> {
        let mut found = Vec::new();
        for arn in arns {
            found.extend(self.get_execution(arn)?);
        }
        Ok(found)
    }
    /// Executions of a state machine, or those started through a version or alias, newest
    /// first (by start time, then insertion order), with every filter of `filter` applied in
    /// the query (a page holds `limit` rows whenever that many match), starting after `after`.
    fn list_executions(
        &self,
        filter: &ExecutionFilter<'_>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>>;
    // ---- map runs ---------------------------------------------------------------------
    /// Insert a Map Run unless one with its ARN exists; answers the stored row either way
    /// (a driver started again after a restart keeps the run's settings and start date).
    fn create_map_run(&self, run: &MapRunRecord) -> Result<MapRunRecord>;
    fn get_map_run(&self, arn: &str) -> Result<Option<MapRunRecord>>;
    /// The driver's progress: status, stop date and counts (the settings stay). Only a
    /// RUNNING run changes (a finished or aborted one stays as it ended): `false` otherwise,
    /// or when there is no such run.
    fn update_map_run_progress(
        &self,
        arn: &str,
        status: &str,
        stop_date_ms: Option<i64>,
        item_counts: &str,
        execution_counts: &str,
    ) -> Result<bool>;
    /// The parent was redriven: the run is RUNNING again (no stop date) with this redrive
    /// count and date, unless it was redriven this often already (`false` then, or when there
    /// is no such run).
    fn redrive_map_run(&self, arn: &str, redrive_count: u32, date_ms: i64) -> Result<bool>;
    /// UpdateMapRun: replace the settings given. `false` when there is no such run.
    fn update_map_run_settings(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    ) -> Result<bool>;
    /// Record that an execution is the child of a Map Run for item `index` (idempotent).
    fn link_map_run_execution(
        &self,
        map_run_arn: &str,
        execution_arn: &str,
        index: u64,
    ) -> Result<()>;
    /// The Map Run an execution is a child of, if any.
    fn map_run_of_execution(&self, execution_arn: &str) -> Result<Option<String>>;
    /// A Map Run's child executions, as [`Store::list_executions`] (newest first).
    fn list_map_run_executions(
        &self,
        map_run_arn: &str,
        status: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>>;

    /// A Map Run's child executions in item order, with their item index: those linked for
    /// an index above `after_index` (all, with `None`), at most `limit`. The driver pages
    /// through a run's outcomes with it for a ResultWriter, each page found through the
    /// `(map_run_arn, item_index)` index, so a page costs the same however large the run
    /// (paging `list_map_run_executions`, newest first, cost the whole run per page).
    fn map_run_executions_by_item(
        &self,
        map_run_arn: &str,
        after_index: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, ExecutionRecord)>>;

    /// Every execution whose status is RUNNING (recovery after a restart).
    fn running_executions(&self) -> Result<Vec<ExecutionRecord>>;
    /// History events with `id > after_id` ascending (or `id < before_id` descending when
    /// `reverse`), at most `limit`.
    fn history(
        &self,
        execution_arn: &str,
        page: HistoryPage,
        limit: usize,
    ) -> Result<Vec<EventRecord>>;

    /// Make a batch of steps durable in **one transaction**: upsert the execution rows,
    /// append the events, queue and withdraw activity tasks, add and remove timers.
    /// Duty: after this returns Ok, all of it survives a crash; after an Err, none of it.
    /// A duplicate (execution, event id) or (execution, task id), or an event of an execution
    /// that is neither in the batch nor stored, is an error. See [`Batch`] for the order.
    fn commit(&self, batch: &Batch) -> Result<()>;

    // ---- activity tasks ---------------------------------------------------------------
    /// Take the oldest queued task of an activity (FIFO) and mark it taken, atomically, so
    /// that no two callers get the same task; the record comes back with `taken: true`.
    /// Duty: a taken task stays recorded (with its `taken` flag) until the execution
    /// withdraws it, so a restart does not hand it out twice.
    ///
    /// A store shared by several nodes (one with [`Store::cluster`]) takes the task for a
    /// short claim lease only: the caller must commit the hand-out with the task in
    /// [`Batch::taken_tasks`] (taken for good) or in [`Batch::withdrawn_tasks`], and if it
    /// never does (it crashed), the task is handed out again once the claim lapses.
    fn claim_activity_task(&self, activity_arn: &str) -> Result<Option<ActivityTaskRecord>>;
    /// Up to `limit` of the oldest untaken tasks of an activity (FIFO), **without** taking
    /// them, for a caller that takes a task in the same commit that records its hand-out
    /// (listing it in [`Batch::taken_tasks`] beside the `ActivityStarted` event): then a task
    /// is never marked taken unless its hand-out is durable too, and a crash in between
    /// leaves it queued. `Ok(None)`: this store does not take tasks that way (a store shared
    /// by several nodes), use [`Store::claim_activity_task`].
    fn peek_activity_tasks(
        &self,
        activity_arn: &str,
        limit: usize,
    ) -> Result<Option<Vec<ActivityTaskRecord>>> {
        let _ = (activity_arn, limit);
        Ok(None)
    }

    /// Put a task back at its original queue position (a poller disconnected before the
    /// hand-out could be recorded in the history).
    fn release_activity_task(&self, execution_arn: &str, task: u64) -> Result<()>;

    /// How many tasks of an activity wait for a worker, and when the oldest was scheduled.
    fn activity_backlog(&self, activity_arn: &str) -> Result<ActivityBacklog>;

    // ---- timers -----------------------------------------------------------------------
    /// All pending timers (loaded into the in-memory wheel at start-up).
    fn timers(&self) -> Result<Vec<TimerRecord>>;

    // ---- several nodes ----------------------------------------------------------------
    /// The membership and lease operations of a store several nodes share; `None` for a
    /// store that only one process uses (SQLite), where the node owns every execution and
    /// [`Batch::fence`] is ignored.
    fn cluster(&self) -> Option<&dyn Cluster> {
        None
    }
}
