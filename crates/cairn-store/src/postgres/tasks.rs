//! The `activity_tasks` queue and the `timers` table.

use super::{int, uint};
use crate::records::{ActivityTaskRecord, TimerRecord};
use crate::Result;
use sqlx::{PgPool, Row};

/// Take the oldest waiting task of the activity in one statement. `FOR UPDATE SKIP LOCKED`
/// lets claimers on every node run at once: each locks a different task instead of queueing
/// on the head of the queue, and a task another claimer took in the meantime no longer
/// matches `NOT taken` when its lock is checked.
pub async fn claim(pool: &PgPool, activity_arn: &str) -> Result<Option<ActivityTaskRecord>> {
    let row = sqlx::query(
        "UPDATE activity_tasks SET taken = true \
         WHERE seq = (SELECT seq FROM activity_tasks \
                      WHERE activity_arn = $1 AND NOT taken \
                      ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING activity_arn, execution_arn, task, token, input, scheduled_ms, taken",
    )
    .bind(activity_arn)
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
            taken: r.try_get(6)?,
        })
    })
    .transpose()
}

/// Mark the task waiting again; its `seq`, and so its queue position, is unchanged.
pub async fn release(pool: &PgPool, execution_arn: &str, task: u64) -> Result<()> {
    sqlx::query("UPDATE activity_tasks SET taken = false WHERE execution_arn = $1 AND task = $2")
        .bind(execution_arn)
        .bind(int("task id", task)?)
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
    rows.iter()
        .map(|r| {
            Ok(TimerRecord {
                execution_arn: r.try_get(0)?,
                timer: uint("timer id", r.try_get(1)?)?,
                fire_at_ms: r.try_get(2)?,
            })
        })
        .collect()
}
