//! [`crate::Store::commit`]: one batch of interpreter steps, written by **one statement**.
//!
//! This is the hot path of the engine. Every table the batch touches is written by one
//! multi-row `INSERT`, `UPDATE` or `DELETE` that takes all of the batch's rows as parallel
//! arrays and unpacks them with `UNNEST`; the seven of them are data-modifying CTEs of a
//! single `WITH` statement. A single statement is its own transaction in PostgreSQL, so the
//! batch is atomic without `BEGIN`/`COMMIT`, and a commit is one round trip however many steps
//! it holds (prepared once per connection; sqlx caches it). One statement per table inside
//! `BEGIN … COMMIT` would be four or more round trips, and each costs two thread wake-ups
//! here (the runtime's reactor thread, then the caller blocked in `block_on`), which is slow
//! on a busy machine.
//!
//! Semantics (the same as SQLite's statement-by-statement order: executions, events, new
//! tasks and timers, tasks taken, then withdrawals and cancellations):
//! - Executions are upserted by ARN; a new one gets a fresh `seq`, in batch order. One
//!   statement cannot touch a row twice (`ON CONFLICT DO UPDATE` refuses), so an execution
//!   that appears twice is merged first: its last version, at the position of its first.
//! - Events take their execution's `seq` from the upsert's `RETURNING` (all CTEs read the
//!   snapshot from before the statement, so a new execution is only visible there) or, for
//!   executions the batch does not write, from the table. An unknown execution leaves the
//!   `seq` NULL and fails the statement; so does a duplicate event id (the primary key).
//! - CTEs do not see each other's writes, so "removals follow additions" is done here: a task
//!   withdrawn (or a timer cancelled) by the same batch is not inserted at all. Task and timer
//!   ids are event ids and never reused, so the outcome is the same: absent. Likewise a task
//!   queued and taken by the same batch is inserted taken, and a task taken and withdrawn by
//!   the same batch is only withdrawn. This store does not peek: its claims are short
//!   leases (see `tasks.rs`), and the commit that records a claimed task's hand-out lists it
//!   in `taken_tasks`, which marks it taken for good and ends the claim.
//! - Adding a timer that exists moves it; a timer added twice keeps its last fire time.
//!
//! Two more things ride in the same statement, so they cost no round trip:
//! - **Fence.** A batch with [`Batch::fence`] runs [`COMMIT_FENCED`], whose first CTE calls
//!   `cairn_fence` (migration 2). It share-locks the named lease rows and raises SQLSTATE
//!   `CRN01` unless the writing node still holds each one at the given epoch; the error
//!   aborts the statement, so nothing is written (whatever order PostgreSQL runs the CTEs
//!   in), and comes back as [`StoreError::Fenced`]. The lock is held to the end of the transaction, so a takeover
//!   (an `UPDATE` of the lease row) waits for a commit in flight, and every later commit of
//!   the old owner sees the new epoch and fails. Without a fence the statement is the same
//!   minus that CTE: no lock, no extra work.
//! - **Wake-ups.** `pg_notify` on the activity channel, once per activity ARN that gets a
//!   waiting task. PostgreSQL delivers notifications on commit only, so a listener never
//!   hears of a task it cannot see yet, and a failed batch announces nothing.

use super::{int, partition_of};
use crate::records::{ActivityTaskRecord, Batch, ExecutionRecord, TimerRecord};
use crate::{Result, StoreError};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};

/// The data-modifying CTEs of the commit, after `WITH` (see the module notes). `$38` is the
/// activity channel; `notified` sends one notification per activity with new waiting tasks.
macro_rules! writes {
    () => {
        "\
upserted AS (
    INSERT INTO executions (partition, arn, state_machine_arn, name, status, start_date_ms,
        stop_date_ms, input, output, error, cause, definition, role_arn,
        state_machine_version_arn, state_machine_alias_arn, redrive_count, snapshot,
        redrive_date_ms)
    SELECT u.partition, u.arn, u.state_machine_arn, u.name, u.status, u.start_date_ms,
        u.stop_date_ms, u.input, u.output, u.error, u.cause, u.definition, u.role_arn,
        u.state_machine_version_arn, u.state_machine_alias_arn, u.redrive_count, u.snapshot,
        -- The redrive date is read from the snapshot (ExecutionInfo.redrive_time_ms), and
        -- only for redriven executions: the commit's parameters stay as they are.
        CASE WHEN u.redrive_count > 0
            THEN (u.snapshot::jsonb #>> '{info,redrive_time_ms}')::bigint END
    FROM UNNEST($1::smallint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
        $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[])
        WITH ORDINALITY AS u(partition, arn, state_machine_arn, name, status, start_date_ms,
            stop_date_ms, input, output, error, cause, definition, role_arn,
            state_machine_version_arn, state_machine_alias_arn, redrive_count, snapshot, ord)
    ORDER BY u.ord
    -- Only what changes while an execution runs (see Batch::executions): the machine ARN,
    -- name, start date, input, definition and role stay as first inserted.
    ON CONFLICT (arn) DO UPDATE SET
        status = excluded.status, stop_date_ms = excluded.stop_date_ms,
        output = excluded.output, error = excluded.error, cause = excluded.cause,
        state_machine_version_arn = excluded.state_machine_version_arn,
        state_machine_alias_arn = excluded.state_machine_alias_arn,
        redrive_count = excluded.redrive_count, snapshot = excluded.snapshot,
        redrive_date_ms = excluded.redrive_date_ms
    RETURNING arn, seq
), appended AS (
    INSERT INTO events (execution, id, body)
    SELECT coalesce(x.seq, (SELECT e.seq FROM executions e WHERE e.arn = u.arn)), u.id, u.body
    FROM UNNEST($18::text[], $19::bigint[], $20::text[]) AS u(arn, id, body)
    LEFT JOIN upserted x ON x.arn = u.arn
), queued AS (
    INSERT INTO activity_tasks
        (activity_arn, execution_arn, task, token, input, scheduled_ms, taken)
    SELECT u.activity_arn, u.execution_arn, u.task, u.token, u.input, u.scheduled_ms, u.taken
    FROM UNNEST($21::text[], $22::text[], $23::bigint[], $24::text[], $25::text[],
        $26::bigint[], $27::boolean[]) WITH ORDINALITY
        AS u(activity_arn, execution_arn, task, token, input, scheduled_ms, taken, ord)
    ORDER BY u.ord
), timed AS (
    INSERT INTO timers (execution_arn, timer, partition, fire_at_ms)
    SELECT * FROM UNNEST($28::text[], $29::bigint[], $30::smallint[], $31::bigint[])
    ON CONFLICT (execution_arn, timer) DO UPDATE SET fire_at_ms = excluded.fire_at_ms
), taken AS (
    UPDATE activity_tasks t SET taken = true, claimed_until = NULL
    FROM UNNEST($36::text[], $37::bigint[]) AS k(execution_arn, task)
    WHERE t.execution_arn = k.execution_arn AND t.task = k.task
), withdrawn AS (
    DELETE FROM activity_tasks t
    USING UNNEST($32::text[], $33::bigint[]) AS w(execution_arn, task)
    WHERE t.execution_arn = w.execution_arn AND t.task = w.task
), cancelled AS (
    DELETE FROM timers t
    USING UNNEST($34::text[], $35::bigint[]) AS c(execution_arn, timer)
    WHERE t.execution_arn = c.execution_arn AND t.timer = c.timer
), notified AS (
    SELECT pg_notify($38, n.activity_arn)
    FROM (SELECT DISTINCT u.activity_arn FROM UNNEST($21::text[], $27::boolean[])
          AS u(activity_arn, taken) WHERE NOT u.taken) AS n
)
"
    };
}

/// A batch without a fence. The final `SELECT` reads `notified`: a CTE that is not a data
/// modification runs only if something reads it.
const COMMIT: &str = concat!("WITH ", writes!(), "SELECT (SELECT count(*) FROM notified)");

/// A fenced batch: `cairn_fence` (migration 2) locks the lease rows and raises `CRN01`
/// unless `$39` holds every partition `$40` at epoch `$41`; the error aborts the whole
/// statement, so nothing of the batch is written. Read by the final `SELECT`, so it runs.
const COMMIT_FENCED: &str = concat!(
    "WITH fenced AS (SELECT cairn_fence($39::text, $40::smallint[], $41::bigint[]) AS held), ",
    writes!(),
    "SELECT (SELECT held FROM fenced), (SELECT count(*) FROM notified)"
);

/// SQLSTATE raised by `cairn_fence` when a lease moved on.
const FENCED: &str = "CRN01";

/// Write the batch; `channel` is the store's activity channel (see `listen.rs`).
/// Runs of a commit that PostgreSQL rolled back as a deadlock victim or a serialization
/// failure. Those errors guarantee nothing was written, so the same statement may run again
/// (a rolled-back batch would otherwise lose inputs nobody resends, such as a fired timer).
const ATTEMPTS: u32 = 3;

pub async fn apply(pool: &PgPool, channel: &str, batch: &Batch) -> Result<()> {
    let mut attempt = 1;
    loop {
        match run(pool, channel, batch).await? {
            Ok(()) => return Ok(()),
            Err(e) if rolled_back_by_contention(&e) && attempt < ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(explain(e, batch)),
        }
    }
}

fn rolled_back_by_contention(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code());
    matches!(code.as_deref(), Some("40P01") | Some("40001"))
}

/// One run of the commit statement: `Err` if the batch cannot be expressed, `Ok(Err)` with
/// what the database said if it refused the statement.
async fn run(
    pool: &PgPool,
    channel: &str,
    batch: &Batch,
) -> Result<std::result::Result<(), sqlx::Error>> {
    let x = ExecutionColumns::new(&batch.executions);
    let withdrawn = keys(&batch.withdrawn_tasks);
    let cancelled = keys(&batch.cancelled_timers);
    let taken: HashSet<(&str, u64)> = keys(&batch.taken_tasks)
        .into_iter()
        .filter(|key| !withdrawn.contains(key))
        .collect();
    let tasks: Vec<&ActivityTaskRecord> = batch
        .activity_tasks
        .iter()
        .filter(|t| !withdrawn.contains(&(t.execution_arn.as_str(), t.task)))
        .collect();
    // Tasks taken by this batch: queued ones are inserted taken, the others updated.
    let queued_taken: Vec<bool> = tasks
        .iter()
        .map(|t| t.taken || taken.contains(&(t.execution_arn.as_str(), t.task)))
        .collect();
    let queued: HashSet<(&str, u64)> = tasks
        .iter()
        .map(|t| (t.execution_arn.as_str(), t.task))
        .collect();
    let (mut taken_arns, mut taken_ids) = (Vec::new(), Vec::new());
    for &(arn, id) in taken.iter().filter(|key| !queued.contains(*key)) {
        taken_arns.push(arn);
        taken_ids.push(int("task id", id)?);
    }
    let timers: Vec<&TimerRecord> = last_of_each(&batch.timers)
        .into_iter()
        .filter(|t| !cancelled.contains(&(t.execution_arn.as_str(), t.timer)))
        .collect();
    let (withdrawn_arns, withdrawn_ids) = split(&batch.withdrawn_tasks, "task id")?;
    let (cancelled_arns, cancelled_ids) = split(&batch.cancelled_timers, "timer id")?;
    let event_ids = batch
        .events
        .iter()
        .map(|e| int("event id", e.id))
        .collect::<Result<Vec<_>>>()?;
    let task_ids = tasks
        .iter()
        .map(|t| int("task id", t.task))
        .collect::<Result<Vec<_>>>()?;
    let timer_ids = timers
        .iter()
        .map(|t| int("timer id", t.timer))
        .collect::<Result<Vec<_>>>()?;
    let task_text =
        |f: fn(&ActivityTaskRecord) -> &str| -> Vec<&str> { tasks.iter().map(|t| f(t)).collect() };

    let sql = if batch.fence.is_some() {
        COMMIT_FENCED
    } else {
        COMMIT
    };
    let query = sqlx::query(sql)
        // executions
        .bind(&x.partitions)
        .bind(x.text(|e| &e.arn))
        .bind(x.text(|e| &e.state_machine_arn))
        .bind(x.text(|e| &e.name))
        .bind(x.text(|e| &e.status))
        .bind(x.rows.iter().map(|e| e.start_date_ms).collect::<Vec<_>>())
        .bind(x.rows.iter().map(|e| e.stop_date_ms).collect::<Vec<_>>())
        .bind(x.text(|e| &e.input))
        .bind(x.optional(|e| e.output.as_deref()))
        .bind(x.optional(|e| e.error.as_deref()))
        .bind(x.optional(|e| e.cause.as_deref()))
        .bind(x.text(|e| &e.definition))
        .bind(x.text(|e| &e.role_arn))
        .bind(x.optional(|e| e.state_machine_version_arn.as_deref()))
        .bind(x.optional(|e| e.state_machine_alias_arn.as_deref()))
        .bind(
            x.rows
                .iter()
                .map(|e| i64::from(e.redrive_count))
                .collect::<Vec<_>>(),
        )
        .bind(x.text(|e| &e.snapshot))
        // events
        .bind(
            batch
                .events
                .iter()
                .map(|e| e.execution_arn.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&event_ids)
        .bind(
            batch
                .events
                .iter()
                .map(|e| e.body.as_str())
                .collect::<Vec<_>>(),
        )
        // activity tasks
        .bind(task_text(|t| &t.activity_arn))
        .bind(task_text(|t| &t.execution_arn))
        .bind(&task_ids)
        .bind(task_text(|t| &t.token))
        .bind(task_text(|t| &t.input))
        .bind(tasks.iter().map(|t| t.scheduled_ms).collect::<Vec<_>>())
        .bind(&queued_taken)
        // timers
        .bind(
            timers
                .iter()
                .map(|t| t.execution_arn.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(&timer_ids)
        .bind(
            timers
                .iter()
                .map(|t| partition_of(&t.execution_arn))
                .collect::<Vec<_>>(),
        )
        .bind(timers.iter().map(|t| t.fire_at_ms).collect::<Vec<_>>())
        // withdrawals and cancellations
        .bind(&withdrawn_arns)
        .bind(&withdrawn_ids)
        .bind(&cancelled_arns)
        .bind(&cancelled_ids)
        // tasks taken
        .bind(&taken_arns)
        .bind(&taken_ids)
        .bind(channel);
    let query = match &batch.fence {
        Some(fence) => {
            let (partitions, epochs): (Vec<i16>, Vec<i64>) = fence.leases.iter().copied().unzip();
            query.bind(&fence.node).bind(partitions).bind(epochs)
        }
        None => query,
    };
    Ok(query.execute(pool).await.map(|_| ()))
}

/// The executions of a batch as columns: the last version of each, at the position of its
/// first (one statement cannot upsert a row twice).
struct ExecutionColumns<'b> {
    rows: Vec<&'b ExecutionRecord>,
    partitions: Vec<i16>,
}

impl<'b> ExecutionColumns<'b> {
    fn new(executions: &'b [ExecutionRecord]) -> Self {
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(executions.len());
        let mut rows: Vec<&ExecutionRecord> = Vec::with_capacity(executions.len());
        for e in executions {
            match position.get(e.arn.as_str()) {
                Some(&i) => rows[i] = e,
                None => {
                    position.insert(&e.arn, rows.len());
                    rows.push(e);
                }
            }
        }
        let partitions = rows.iter().map(|e| partition_of(&e.arn)).collect();
        ExecutionColumns { rows, partitions }
    }

    fn text(&self, f: fn(&'b ExecutionRecord) -> &'b str) -> Vec<&'b str> {
        self.rows.iter().map(|e| f(e)).collect()
    }

    fn optional(&self, f: fn(&'b ExecutionRecord) -> Option<&'b str>) -> Vec<Option<&'b str>> {
        self.rows.iter().map(|e| f(e)).collect()
    }
}

/// The last fire time of each timer, at the position of its first.
fn last_of_each(timers: &[TimerRecord]) -> Vec<&TimerRecord> {
    let mut position: HashMap<(&str, u64), usize> = HashMap::with_capacity(timers.len());
    let mut rows: Vec<&TimerRecord> = Vec::with_capacity(timers.len());
    for t in timers {
        match position.get(&(t.execution_arn.as_str(), t.timer)) {
            Some(&i) => rows[i] = t,
            None => {
                position.insert((&t.execution_arn, t.timer), rows.len());
                rows.push(t);
            }
        }
    }
    rows
}

fn keys(pairs: &[(String, u64)]) -> HashSet<(&str, u64)> {
    pairs.iter().map(|(arn, id)| (arn.as_str(), *id)).collect()
}

/// (execution ARN, id) pairs as two parallel arrays.
fn split<'a>(keys: &'a [(String, u64)], what: &str) -> Result<(Vec<&'a str>, Vec<i64>)> {
    let arns = keys.iter().map(|(arn, _)| arn.as_str()).collect();
    let ids = keys
        .iter()
        .map(|(_, id)| int(what, *id))
        .collect::<Result<_>>()?;
    Ok((arns, ids))
}

/// Name the likely culprit of a failed batch.
fn explain(e: sqlx::Error, batch: &Batch) -> StoreError {
    let Some(db) = e.as_database_error() else {
        return StoreError::from(e);
    };
    match (db.code().as_deref(), db.table()) {
        (Some(FENCED), _) => {
            let message = db.message();
            let lost = message.strip_prefix("lease lost: ").unwrap_or(message);
            StoreError::Fenced(lost.to_owned())
        }
        // NOT NULL: an event's execution was found neither in the batch nor in the table.
        (Some("23502"), Some("events")) => {
            let written: HashSet<&str> = batch.executions.iter().map(|x| x.arn.as_str()).collect();
            let suspects: Vec<&str> = batch
                .events
                .iter()
                .map(|ev| ev.execution_arn.as_str())
                .filter(|arn| !written.contains(arn))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            StoreError::Database(format!(
                "an event belongs to an unknown execution (one of {suspects:?})"
            ))
        }
        (Some("23505"), Some("events")) => {
            StoreError::Database(format!("cannot append events: duplicate event id ({e})"))
        }
        (Some("23505"), Some("activity_tasks")) => {
            StoreError::Database(format!("cannot queue activity tasks: duplicate task ({e})"))
        }
        _ => StoreError::from(e),
    }
}
