//! The `activity_tasks` queue and the `timers` table.
//!
//! A claim here is a **claim lease**, not the final word: [`claim`] stamps the task
//! `claimed_until = now() + CLAIM_LEASE` and leaves it `NOT taken`. The claiming node then
//! delivers `ActivityStarted` to the execution (through the execution's owner, maybe another
//! node), and that commit lists the task in `Batch::taken_tasks` (taken for good) or in
//! `withdrawn_tasks` (the execution no longer wants it). If the claiming node dies in
//! between, nothing was handed out durably, and the task is claimable again once its claim
//! lapses: no task is lost to a crash between claim and hand-out.

use super::{int, uint};
use crate::records::{ActivityBacklog, ActivityTaskRecord, TimerRecord};
use crate::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use std::time::Duration;

/// How long a claimed task is kept from other claimers while its hand-out is committed.
/// The claim is followed at once by one commit (at most a forward to the owning node), so
/// this only has to outlast a slow commit or a stalled node; a task whose claimer died waits
/// this long before it is handed out again. Long enough that a live claimer never loses it.
pub const CLAIM_LEASE: Duration = Duration::from_secs(30);

/// Claim the oldest waiting task of the activity in one statement. `FOR UPDATE SKIP LOCKED`
/// lets claimers on every node run at once: each locks a different task instead of queueing
/// on the head of the queue, and a task another claimer claimed in the meantime no longer
/// matches the claim filter when its lock is checked. The record comes back with
/// `taken: true`: the caller holds it.
///
/// The claim commits with `synchronous_commit = off` (set for this statement's transaction
/// only): it does not wait for its WAL to reach the disk, which saves a flush on every
/// hand-out. Safe because a claim is only a hint until the hand-out commits: that commit is
/// synchronous, and WAL is flushed in order, so whenever the hand-out is durable the claim is
/// too; a claim lost in a database crash just leaves the task waiting, as if never claimed.
pub async fn claim(pool: &PgPool, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
    let row = sqlx::query(
        "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS setting) \
         UPDATE activity_tasks SET claimed_until = now() + make_interval(secs => $2) \
         WHERE seq = (SELECT seq FROM activity_tasks \
                      WHERE activity_arn = $1 AND NOT taken \
                        AND (claimed_until IS NULL OR claimed_until < now()) \
                      ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
           AND EXISTS (SELECT 1 FROM relaxed) \
         RETURNING activity_arn, execution_arn, task, token, input, scheduled_ms",
    )
    .bind(activity_arn)
    .bind(CLAIM_LEASE.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(ActivityTaskRecord {
            activity_arn: r.try_get(0)?,
            execution_arn: r.try_get(1)?,
            task: uint("task id", r.try_get(2)?)?,
            token: r.try_get(3)?,
            input: r.try_get(4)?,
            scheduled_ms: r.try_get(5)?,
            taken: true,
        })
    })
    .transpose()
}

/// Make the task waiting again (neither claimed nor taken); its `seq`, and so its queue
/// position, is unchanged. Wakes the activity's pollers on every node (`channel`).
pub async fn release(pool: &PgPool, channel: &str, execution_arn: &str, task: u64) -> Result<()> {
    sqlx::query(
        "WITH released AS ( \
             UPDATE activity_tasks SET taken = false, claimed_until = NULL \
             WHERE execution_arn = $1 AND task = $2 RETURNING activity_arn) \
         SELECT pg_notify($3, activity_arn) FROM released",
    )
    .bind(execution_arn)
    .bind(int("task id", task)?)
    .bind(channel)
    .execute(pool)
    .await?;
    Ok(())
}

/// Pending timers, soonest first.
pub async fn timers(pool: &PgPool) -> Result<Vec<TimerRecord>> {
    let rows = sqlx::query(
        "SELECT execution_arn, timer, fire_at_ms FROM timers \
         ORDER BY fire_at_ms, execution_arn COLLATE \"C\", timer",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(timer_from_row).collect()
}

/// Waiting tasks of an activity (`activity_tasks_queue` covers it). A task under a claim
/// lease counts as waiting until its hand-out commits (it is `NOT taken` until then).
pub async fn backlog(pool: &PgPool, activity_arn: &str) -> Result<ActivityBacklog> {
    let row = sqlx::query(
        "SELECT COUNT(*), MIN(scheduled_ms) \
         FROM activity_tasks WHERE activity_arn = $1 AND NOT taken",
    )
    .bind(activity_arn)
    .fetch_one(pool)
    .await?;
    let queued: i64 = row.try_get(0)?;
    Ok(ActivityBacklog {
        queued: queued.max(0) as u64,
        oldest_queued_ms: row.try_get(1)?,
    })
}

/// Pending timers of these partitions, soonest first (`timers_by_partition`).
pub async fn timers_in(pool: &PgPool, partitions: &[i16]) -> Result<Vec<TimerRecord>> {
    let rows = sqlx::query(
        "SELECT execution_arn, timer, fire_at_ms FROM timers \
         WHERE partition = ANY ($1::smallint[]) \
         ORDER BY fire_at_ms, execution_arn COLLATE \"C\", timer",
    )
    .bind(partitions)
    .fetch_all(pool)
    .await?;
    rows.iter().map(timer_from_row).collect()
}

fn timer_from_row(r: &PgRow) -> Result<TimerRecord> {
    Ok(TimerRecord {
        execution_arn: r.try_get(0)?,
        timer: uint("timer id", r.try_get(1)?)?,
        fire_at_ms: r.try_get(2)?,
    })
}
