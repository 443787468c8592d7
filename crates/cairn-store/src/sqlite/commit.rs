//! [`crate::Store::commit`]: one batch of interpreter steps, written in one transaction.
//!
//! This is the hot path of the engine: every statement is a cached prepared statement, and an
//! execution's rowid is looked up at most once per batch.
//!
//! Order inside the batch: executions, events, new tasks and timers, then withdrawals and
//! cancellations. Task and timer ids are event ids and never reused, so a task scheduled and
//! withdrawn within one batch (or a timer started and cancelled) ends up absent.
//!
//! [`Batch::fence`] is ignored: a SQLite store belongs to one process, which owns every
//! partition, so there are no leases to check (and [`crate::Store::cluster`] is `None`).

use super::executions::seq_of;
use super::int;
use crate::records::{Batch, ExecutionRecord};
use crate::{Result, StoreError};
use rusqlite::{params, Connection};
use std::collections::HashMap;

pub fn apply(conn: &Connection, batch: &Batch) -> Result<()> {
    // ARN -> rowid of the executions this batch touches.
    let mut seqs: HashMap<&str, i64> = HashMap::with_capacity(batch.executions.len());
    for execution in &batch.executions {
        seqs.insert(&execution.arn, upsert_execution(conn, execution)?);
    }

    let mut insert_event =
        conn.prepare_cached("INSERT INTO events (execution, id, body) VALUES (?1, ?2, ?3)")?;
    for event in &batch.events {
        let seq = match seqs.get(event.execution_arn.as_str()) {
            Some(seq) => *seq,
            None => {
                let seq = seq_of(conn, &event.execution_arn)?.ok_or_else(|| {
                    StoreError::Database(format!(
                        "event {} belongs to unknown execution {}",
                        event.id, event.execution_arn
                    ))
                })?;
                seqs.insert(&event.execution_arn, seq);
                seq
            }
        };
        insert_event
            .execute(params![seq, int("event id", event.id)?, event.body])
            .map_err(|e| {
                StoreError::Database(format!(
                    "cannot append event {} to {}: {e}",
                    event.id, event.execution_arn
                ))
            })?;
    }

    let mut insert_task = conn.prepare_cached(
        "INSERT INTO activity_tasks \
             (activity_arn, execution_arn, task, token, input, scheduled_ms, taken) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for task in &batch.activity_tasks {
        insert_task
            .execute(params![
                task.activity_arn,
                task.execution_arn,
                int("task id", task.task)?,
                task.token,
                task.input,
                task.scheduled_ms,
                task.taken,
            ])
            .map_err(|e| {
                StoreError::Database(format!(
                    "cannot queue task {} of {}: {e}",
                    task.task, task.execution_arn
                ))
            })?;
    }

    // Adding a timer that exists moves it (a new fire time for the same timer).
    let mut add_timer = conn.prepare_cached(
        "INSERT INTO timers (execution_arn, timer, fire_at_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (execution_arn, timer) DO UPDATE SET fire_at_ms = excluded.fire_at_ms",
    )?;
    for timer in &batch.timers {
        add_timer.execute(params![
            timer.execution_arn,
            int("timer id", timer.timer)?,
            timer.fire_at_ms
        ])?;
    }

    let mut take = conn.prepare_cached(
        "UPDATE activity_tasks SET taken = 1 WHERE execution_arn = ?1 AND task = ?2",
    )?;
    for (execution, task) in &batch.taken_tasks {
        take.execute(params![execution, int("task id", *task)?])?;
    }

    let mut withdraw =
        conn.prepare_cached("DELETE FROM activity_tasks WHERE execution_arn = ?1 AND task = ?2")?;
    for (execution, task) in &batch.withdrawn_tasks {
        withdraw.execute(params![execution, int("task id", *task)?])?;
    }

    let mut cancel =
        conn.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1 AND timer = ?2")?;
    for (execution, timer) in &batch.cancelled_timers {
        cancel.execute(params![execution, int("timer id", *timer)?])?;
    }
    Ok(())
}

/// Roughly how many bytes the batch writes (to pace checkpoints): text plus a row overhead.
pub fn size(batch: &Batch) -> u64 {
    const ROW: usize = 64;
    let executions: usize = batch
        .executions
        .iter()
        .map(|e| ROW + e.arn.len() + e.input.len() + e.definition.len() + e.snapshot.len())
        .sum();
    let events: usize = batch.events.iter().map(|e| ROW + e.body.len()).sum();
    let tasks: usize = batch
        .activity_tasks
        .iter()
        .map(|t| ROW + t.input.len())
        .sum();
    let rest =
        ROW * (batch.withdrawn_tasks.len() + batch.timers.len() + batch.cancelled_timers.len());
    (executions + events + tasks + rest) as u64
}

/// Insert a new execution (fresh rowid) or update an existing one (keeping its rowid). An
/// update sets only what changes while an execution runs (see [`Batch::executions`]): SQLite
/// maintains an index only when its columns are assigned, so leaving the machine ARN and the
/// start date alone spares `executions_by_machine` one delete and insert per step, and the
/// definition and input are not copied again.
fn upsert_execution(conn: &Connection, e: &ExecutionRecord) -> Result<i64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO executions (arn, state_machine_arn, name, status, start_date_ms, \
             stop_date_ms, input, output, error, cause, definition, role_arn, \
             state_machine_version_arn, state_machine_alias_arn, redrive_count, snapshot, \
             redrive_date_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT (arn) DO UPDATE SET \
             status = excluded.status, stop_date_ms = excluded.stop_date_ms, \
             output = excluded.output, error = excluded.error, cause = excluded.cause, \
             state_machine_version_arn = excluded.state_machine_version_arn, \
             state_machine_alias_arn = excluded.state_machine_alias_arn, \
             redrive_count = excluded.redrive_count, snapshot = excluded.snapshot, \
             redrive_date_ms = excluded.redrive_date_ms \
         RETURNING seq",
    )?;
    let seq = stmt.query_row(
        params![
            e.arn,
            e.state_machine_arn,
            e.name,
            e.status,
            e.start_date_ms,
            e.stop_date_ms,
            e.input,
            e.output,
            e.error,
            e.cause,
            e.definition,
            e.role_arn,
            e.state_machine_version_arn,
            e.state_machine_alias_arn,
            e.redrive_count,
            e.snapshot,
            e.redrive_date_ms,
        ],
        |r| r.get(0),
    )?;
    Ok(seq)
}
