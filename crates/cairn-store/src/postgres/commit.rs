//! [`crate::Store::commit`]: one batch of interpreter steps, written in one transaction.
//!
//! This is the hot path of the engine. Each table gets at most one statement per batch, which
//! carries every row of the batch as parallel arrays and unpacks them with `UNNEST`; so a batch
//! costs `BEGIN`, up to six statements and `COMMIT` however many steps it holds. Statements
//! are prepared once per connection (sqlx caches them).
//!
//! Order inside the batch: executions, events, new tasks and timers, then withdrawals and
//! cancellations. Task and timer ids are event ids and never reused, so a task scheduled and
//! withdrawn within one batch (or a timer started and cancelled) ends up absent.
//!
//! One statement cannot touch a row twice (`ON CONFLICT DO UPDATE` refuses), so rows that a
//! batch upserts more than once are merged first: the last version wins, at the position of
//! the first. Duplicate events or tasks are not merged: they are errors, as in SQLite.

use super::{int, partition_of};
use crate::records::{Batch, ExecutionRecord, TimerRecord};
use crate::{Result, StoreError};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::collections::HashMap;

pub async fn apply(pool: &PgPool, batch: &Batch) -> Result<()> {
    let mut tx = pool.begin().await?;
    let seqs = upsert_executions(&mut tx, &batch.executions).await?;
    append_events(&mut tx, batch, &seqs).await?;
    queue_tasks(&mut tx, batch).await?;
    add_timers(&mut tx, &batch.timers).await?;
    withdraw_tasks(&mut tx, &batch.withdrawn_tasks).await?;
    cancel_timers(&mut tx, &batch.cancelled_timers).await?;
    tx.commit().await?;
    Ok(())
}

/// Insert new executions (fresh `seq`, in batch order) and replace existing ones (keeping
/// their `seq`). Returns ARN -> `seq` of every execution written.
async fn upsert_executions<'b>(
    tx: &mut Transaction<'_, Postgres>,
    executions: &'b [ExecutionRecord],
) -> Result<HashMap<&'b str, i64>> {
    if executions.is_empty() {
        return Ok(HashMap::new());
    }
    // The last version of each execution, at the position of its first.
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
    let column = |f: fn(&ExecutionRecord) -> &str| rows.iter().map(|e| f(e)).collect::<Vec<_>>();
    let optional =
        |f: fn(&ExecutionRecord) -> Option<&str>| rows.iter().map(|e| f(e)).collect::<Vec<_>>();
    let partitions: Vec<i16> = rows.iter().map(|e| partition_of(&e.arn)).collect();
    let starts: Vec<i64> = rows.iter().map(|e| e.start_date_ms).collect();
    let stops: Vec<Option<i64>> = rows.iter().map(|e| e.stop_date_ms).collect();
    let redrives: Vec<i64> = rows.iter().map(|e| i64::from(e.redrive_count)).collect();

    let returned = sqlx::query(
        "INSERT INTO executions (partition, arn, state_machine_arn, name, status, \
             start_date_ms, stop_date_ms, input, output, error, cause, definition, role_arn, \
             state_machine_version_arn, state_machine_alias_arn, redrive_count, snapshot) \
         SELECT u.partition, u.arn, u.state_machine_arn, u.name, u.status, u.start_date_ms, \
             u.stop_date_ms, u.input, u.output, u.error, u.cause, u.definition, u.role_arn, \
             u.state_machine_version_arn, u.state_machine_alias_arn, u.redrive_count, u.snapshot \
         FROM UNNEST($1::smallint[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], \
             $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[]) \
             WITH ORDINALITY AS u(partition, arn, state_machine_arn, name, status, \
                 start_date_ms, stop_date_ms, input, output, error, cause, definition, \
                 role_arn, state_machine_version_arn, state_machine_alias_arn, redrive_count, \
                 snapshot, ord) \
         ORDER BY u.ord \
         ON CONFLICT (arn) DO UPDATE SET \
             state_machine_arn = excluded.state_machine_arn, name = excluded.name, \
             status = excluded.status, start_date_ms = excluded.start_date_ms, \
             stop_date_ms = excluded.stop_date_ms, input = excluded.input, \
             output = excluded.output, error = excluded.error, cause = excluded.cause, \
             definition = excluded.definition, role_arn = excluded.role_arn, \
             state_machine_version_arn = excluded.state_machine_version_arn, \
             state_machine_alias_arn = excluded.state_machine_alias_arn, \
             redrive_count = excluded.redrive_count, snapshot = excluded.snapshot \
         RETURNING arn, seq",
    )
    .bind(&partitions)
    .bind(column(|e| &e.arn))
    .bind(column(|e| &e.state_machine_arn))
    .bind(column(|e| &e.name))
    .bind(column(|e| &e.status))
    .bind(&starts)
    .bind(&stops)
    .bind(column(|e| &e.input))
    .bind(optional(|e| e.output.as_deref()))
    .bind(optional(|e| e.error.as_deref()))
    .bind(optional(|e| e.cause.as_deref()))
    .bind(column(|e| &e.definition))
    .bind(column(|e| &e.role_arn))
    .bind(optional(|e| e.state_machine_version_arn.as_deref()))
    .bind(optional(|e| e.state_machine_alias_arn.as_deref()))
    .bind(&redrives)
    .bind(column(|e| &e.snapshot))
    .fetch_all(&mut **tx)
    .await?;

    let mut seqs = HashMap::with_capacity(rows.len());
    for row in returned {
        let arn: String = row.try_get(0)?;
        let seq: i64 = row.try_get(1)?;
        let (&arn, _) = position
            .get_key_value(arn.as_str())
            .ok_or_else(|| StoreError::Corrupt(format!("upsert returned unknown {arn}")))?;
        seqs.insert(arn, seq);
    }
    Ok(seqs)
}

/// Append the events. Executions written by this batch pass their `seq`; for the others the
/// statement looks it up, and an unknown execution fails the batch (a NULL `execution`).
async fn append_events(
    tx: &mut Transaction<'_, Postgres>,
    batch: &Batch,
    seqs: &HashMap<&str, i64>,
) -> Result<()> {
    if batch.events.is_empty() {
        return Ok(());
    }
    let n = batch.events.len();
    let (mut known, mut arns, mut ids, mut bodies) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for event in &batch.events {
        let seq = seqs.get(event.execution_arn.as_str()).copied();
        known.push(seq);
        // The ARN is only needed where the seq is not known.
        arns.push(seq.is_none().then_some(event.execution_arn.as_str()));
        ids.push(int("event id", event.id)?);
        bodies.push(event.body.as_str());
    }
    let result = sqlx::query(
        "INSERT INTO events (execution, id, body) \
         SELECT coalesce(u.seq, (SELECT x.seq FROM executions x WHERE x.arn = u.arn)), \
             u.id, u.body \
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[]) AS u(seq, arn, id, body)",
    )
    .bind(&known)
    .bind(&arns)
    .bind(&ids)
    .bind(&bodies)
    .execute(&mut **tx)
    .await;
    result.map_err(|e| match e.as_database_error().and_then(|d| d.code()) {
        Some(code) if code == "23502" => {
            let unknown = batch
                .events
                .iter()
                .find(|ev| !seqs.contains_key(ev.execution_arn.as_str()))
                .map_or("?", |ev| ev.execution_arn.as_str());
            StoreError::Database(format!("an event belongs to unknown execution {unknown}"))
        }
        Some(code) if code == "23505" => {
            StoreError::Database(format!("cannot append events: duplicate event id ({e})"))
        }
        _ => StoreError::from(e),
    })?;
    Ok(())
}

/// Queue new activity tasks in batch order (their queue positions).
async fn queue_tasks(tx: &mut Transaction<'_, Postgres>, batch: &Batch) -> Result<()> {
    let tasks = &batch.activity_tasks;
    if tasks.is_empty() {
        return Ok(());
    }
    let ids = tasks
        .iter()
        .map(|t| int("task id", t.task))
        .collect::<Result<Vec<_>>>()?;
    let strings =
        |f: fn(&crate::ActivityTaskRecord) -> &str| tasks.iter().map(f).collect::<Vec<_>>();
    let scheduled: Vec<i64> = tasks.iter().map(|t| t.scheduled_ms).collect();
    let taken: Vec<bool> = tasks.iter().map(|t| t.taken).collect();
    sqlx::query(
        "INSERT INTO activity_tasks \
             (activity_arn, execution_arn, task, token, input, scheduled_ms, taken) \
         SELECT u.activity_arn, u.execution_arn, u.task, u.token, u.input, u.scheduled_ms, \
             u.taken \
         FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
             $6::bigint[], $7::boolean[]) WITH ORDINALITY \
             AS u(activity_arn, execution_arn, task, token, input, scheduled_ms, taken, ord) \
         ORDER BY u.ord",
    )
    .bind(strings(|t| &t.activity_arn))
    .bind(strings(|t| &t.execution_arn))
    .bind(&ids)
    .bind(strings(|t| &t.token))
    .bind(strings(|t| &t.input))
    .bind(&scheduled)
    .bind(&taken)
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::Database(format!("cannot queue activity tasks: {e}")))?;
    Ok(())
}

/// Add timers; adding a timer that exists moves it (a new fire time for the same timer).
async fn add_timers(tx: &mut Transaction<'_, Postgres>, timers: &[TimerRecord]) -> Result<()> {
    if timers.is_empty() {
        return Ok(());
    }
    // The last fire time of each timer (one statement cannot move a row twice).
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
    let arns: Vec<&str> = rows.iter().map(|t| t.execution_arn.as_str()).collect();
    let ids = rows
        .iter()
        .map(|t| int("timer id", t.timer))
        .collect::<Result<Vec<_>>>()?;
    let partitions: Vec<i16> = rows
        .iter()
        .map(|t| partition_of(&t.execution_arn))
        .collect();
    let fire_at: Vec<i64> = rows.iter().map(|t| t.fire_at_ms).collect();
    sqlx::query(
        "INSERT INTO timers (execution_arn, timer, partition, fire_at_ms) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::smallint[], $4::bigint[]) \
         ON CONFLICT (execution_arn, timer) DO UPDATE SET fire_at_ms = excluded.fire_at_ms",
    )
    .bind(&arns)
    .bind(&ids)
    .bind(&partitions)
    .bind(&fire_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Delete tasks by (execution ARN, task id); unknown ones are ignored.
async fn withdraw_tasks(tx: &mut Transaction<'_, Postgres>, keys: &[(String, u64)]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let (arns, ids) = split(keys, "task id")?;
    sqlx::query(
        "DELETE FROM activity_tasks t \
         USING UNNEST($1::text[], $2::bigint[]) AS w(execution_arn, task) \
         WHERE t.execution_arn = w.execution_arn AND t.task = w.task",
    )
    .bind(&arns)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Delete timers by (execution ARN, timer id); unknown ones are ignored.
async fn cancel_timers(tx: &mut Transaction<'_, Postgres>, keys: &[(String, u64)]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let (arns, ids) = split(keys, "timer id")?;
    sqlx::query(
        "DELETE FROM timers t \
         USING UNNEST($1::text[], $2::bigint[]) AS c(execution_arn, timer) \
         WHERE t.execution_arn = c.execution_arn AND t.timer = c.timer",
    )
    .bind(&arns)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
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
