//! Map Runs (PostgreSQL): the `map_runs` rows a Distributed Map's driver keeps, and
//! `map_run_executions`, which execution is the child of which run.
//!
//! Owns: those two tables. Must not: touch executions (children are ordinary executions).

use super::{executions, limit, uint};
use crate::records::{Cursor, ExecutionRecord, MapRunRecord};
use crate::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

const COLUMNS: &str = "arn, execution_arn, state_machine_arn, status, start_date_ms, \
    stop_date_ms, max_concurrency, tolerated_failure_count, tolerated_failure_percentage, \
    item_counts, execution_counts, redrive_count, redrive_date_ms";

fn from_row(r: &PgRow) -> Result<MapRunRecord> {
    Ok(MapRunRecord {
        arn: r.try_get(0)?,
        execution_arn: r.try_get(1)?,
        state_machine_arn: r.try_get(2)?,
        status: r.try_get(3)?,
        start_date_ms: r.try_get(4)?,
        stop_date_ms: r.try_get(5)?,
        max_concurrency: uint("max_concurrency", r.try_get(6)?)?,
        tolerated_failure_count: uint("tolerated_failure_count", r.try_get(7)?)?,
        tolerated_failure_percentage: r.try_get(8)?,
        item_counts: r.try_get(9)?,
        execution_counts: r.try_get(10)?,
        redrive_count: u32::try_from(r.try_get::<i64, _>(11)?).unwrap_or(0),
        redrive_date_ms: r.try_get(12)?,
    })
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub async fn create(pool: &PgPool, run: &MapRunRecord) -> Result<MapRunRecord> {
    sqlx::query(&format!(
        "INSERT INTO map_runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (arn) DO NOTHING"
    ))
    .bind(&run.arn)
    .bind(&run.execution_arn)
    .bind(&run.state_machine_arn)
    .bind(&run.status)
    .bind(run.start_date_ms)
    .bind(run.stop_date_ms)
    .bind(int(run.max_concurrency))
    .bind(int(run.tolerated_failure_count))
    .bind(run.tolerated_failure_percentage)
    .bind(&run.item_counts)
    .bind(&run.execution_counts)
    .bind(i64::from(run.redrive_count))
    .bind(run.redrive_date_ms)
    .execute(pool)
    .await?;
    Ok(get(pool, &run.arn).await?.unwrap_or_else(|| run.clone()))
}

pub async fn get(pool: &PgPool, arn: &str) -> Result<Option<MapRunRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM map_runs WHERE arn = $1"))
        .bind(arn)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update_progress(
    pool: &PgPool,
    arn: &str,
    status: &str,
    stop_date_ms: Option<i64>,
    item_counts: &str,
    execution_counts: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE map_runs SET status = $2, stop_date_ms = $3, item_counts = $4, \
         execution_counts = $5 WHERE arn = $1 AND status = 'RUNNING'",
    )
    .bind(arn)
    .bind(status)
    .bind(stop_date_ms)
    .bind(item_counts)
    .bind(execution_counts)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn update_settings(
    pool: &PgPool,
    arn: &str,
    max_concurrency: Option<u64>,
    count: Option<u64>,
    percentage: Option<f64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE map_runs SET max_concurrency = coalesce($2, max_concurrency), \
         tolerated_failure_count = coalesce($3, tolerated_failure_count), \
         tolerated_failure_percentage = coalesce($4, tolerated_failure_percentage) \
         WHERE arn = $1",
    )
    .bind(arn)
    .bind(max_concurrency.map(int))
    .bind(count.map(int))
    .bind(percentage)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn redrive(pool: &PgPool, arn: &str, count: u32, date_ms: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE map_runs SET status = 'RUNNING', stop_date_ms = NULL, redrive_count = $2, \
         redrive_date_ms = $3 WHERE arn = $1 AND redrive_count < $2",
    )
    .bind(arn)
    .bind(i64::from(count))
    .bind(date_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn link(pool: &PgPool, map_run_arn: &str, execution_arn: &str, index: u64) -> Result<()> {
    sqlx::query(
        "INSERT INTO map_run_executions (execution_arn, map_run_arn, item_index) \
         VALUES ($1, $2, $3) ON CONFLICT (execution_arn) DO NOTHING",
    )
    .bind(execution_arn)
    .bind(map_run_arn)
    .bind(int(index))
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn of_execution(pool: &PgPool, execution_arn: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT map_run_arn FROM map_run_executions WHERE execution_arn = $1")
            .bind(execution_arn)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn list_executions(
    pool: &PgPool,
    map_run_arn: &str,
    status: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ExecutionRecord>> {
    let sql = format!(
        "SELECT {} FROM executions WHERE arn IN \
             (SELECT execution_arn FROM map_run_executions WHERE map_run_arn = $1) \
         AND ($2::text IS NULL OR status = $2) \
         AND ($3::bigint IS NULL OR (start_date_ms, seq) < \
             (SELECT start_date_ms, seq FROM executions WHERE seq = $3)) \
         ORDER BY start_date_ms DESC, seq DESC LIMIT $4",
        executions::COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(map_run_arn)
        .bind(status)
        .bind(after.map(|c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter().map(executions::from_row).collect()
}

pub async fn executions_by_item(
    pool: &PgPool,
    map_run_arn: &str,
    after_index: Option<u64>,
    n: usize,
) -> Result<Vec<(u64, ExecutionRecord)>> {
    let sql = format!(
        "SELECT {}, m.item_index FROM map_run_executions m \
         JOIN executions e ON e.arn = m.execution_arn \
         WHERE m.map_run_arn = $1 AND m.item_index > $2 \
         ORDER BY m.item_index LIMIT $3",
        executions::COLUMNS
    );
    // Indexes start at 0: -1 is before them all, and keeps the condition one range the
    // index answers (an `IS NULL OR` form is not).
    let after = after_index.map_or(-1, |i| i as i64);
    let rows = sqlx::query(&sql)
        .bind(map_run_arn)
        .bind(after)
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let index: i64 = r.try_get(18)?;
            Ok((index as u64, executions::from_row(r)?))
        })
        .collect()
}
