//! The `activity_tasks` queue and the `timers` table.

use super::{int, query_all, uint};
use crate::records::{ActivityBacklog, ActivityTaskRecord, TimerRecord};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// A task row in the column order the queries below select.
fn task_row(r: &rusqlite::Row) -> rusqlite::Result<ActivityTaskRecord> {
    Ok(ActivityTaskRecord {
        activity_arn: r.get(0)?,
        execution_arn: r.get(1)?,
        task: uint("task id", r.get(2)?)?,
        token: r.get(3)?,
        input: r.get(4)?,
        scheduled_ms: r.get(5)?,
        taken: r.get(6)?,
    })
}

/// Take the oldest untaken task of the activity. Runs in the writer's `BEGIN IMMEDIATE`
/// transaction, so the select and the update are one atomic step even across processes.
pub fn claim(conn: &Connection, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
    let task = conn
        .prepare_cached(
            "UPDATE activity_tasks SET taken = 1 \
             WHERE seq = (SELECT seq FROM activity_tasks \
                          WHERE activity_arn = ?1 AND taken = 0 ORDER BY seq LIMIT 1) \
             RETURNING activity_arn, execution_arn, task, token, input, scheduled_ms, taken",
        )?
        .query_row([activity_arn], task_row)
        .optional()?;
    Ok(task)
}

/// The oldest untaken tasks of the activity, without taking them.
pub fn peek(conn: &Connection, activity_arn: &str, limit: i64) -> Result<Vec<ActivityTaskRecord>> {
    query_all(
        conn,
        "SELECT activity_arn, execution_arn, task, token, input, scheduled_ms, taken \
         FROM activity_tasks WHERE activity_arn = ?1 AND taken = 0 ORDER BY seq LIMIT ?2",
        params![activity_arn, limit],
        task_row,
    )
}

/// Mark the task untaken; its rowid, and so its queue position, is unchanged.
pub fn release(conn: &Connection, execution_arn: &str, task: u64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE activity_tasks SET taken = 0 WHERE execution_arn = ?1 AND task = ?2",
    )?
    .execute(params![execution_arn, int("task id", task)?])?;
    Ok(())
}

/// Waiting tasks of an activity (`activity_tasks_queue` covers it).
pub fn backlog(conn: &Connection, activity_arn: &str) -> Result<ActivityBacklog> {
    let (queued, oldest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT COUNT(*), MIN(scheduled_ms) \
             FROM activity_tasks WHERE activity_arn = ?1 AND taken = 0",
        )?
        .query_row([activity_arn], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(ActivityBacklog {
        queued: queued.max(0) as u64,
        oldest_queued_ms: oldest,
    })
}

/// Pending timers, soonest first.
pub fn timers(conn: &Connection) -> Result<Vec<TimerRecord>> {
    query_all(
        conn,
        "SELECT execution_arn, timer, fire_at_ms FROM timers \
         ORDER BY fire_at_ms, execution_arn, timer",
        [],
        |r| {
            Ok(TimerRecord {
                execution_arn: r.get(0)?,
                timer: uint("timer id", r.get(1)?)?,
                fire_at_ms: r.get(2)?,
            })
        },
    )
}
