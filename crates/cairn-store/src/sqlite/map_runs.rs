//! Map Runs (SQLite): the `map_runs` rows a Distributed Map's driver keeps, and
//! `map_run_executions`, which execution is the child of which run.
//!
//! Owns: those two tables. Must not: touch executions (children are ordinary executions).

use super::{executions, limit, query_all, uint};
use crate::records::{Cursor, ExecutionRecord, MapRunRecord};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "arn, execution_arn, state_machine_arn, status, start_date_ms, \
    stop_date_ms, max_concurrency, tolerated_failure_count, tolerated_failure_percentage, \
    item_counts, execution_counts, redrive_count, redrive_date_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<MapRunRecord> {
    Ok(MapRunRecord {
        arn: r.get(0)?,
        execution_arn: r.get(1)?,
        state_machine_arn: r.get(2)?,
        status: r.get(3)?,
        start_date_ms: r.get(4)?,
        stop_date_ms: r.get(5)?,
        max_concurrency: uint("max_concurrency", r.get(6)?)?,
        tolerated_failure_count: uint("tolerated_failure_count", r.get(7)?)?,
        tolerated_failure_percentage: r.get(8)?,
        item_counts: r.get(9)?,
        execution_counts: r.get(10)?,
        redrive_count: u32::try_from(r.get::<_, i64>(11)?).unwrap_or(0),
        redrive_date_ms: r.get(12)?,
    })
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn create(conn: &Connection, run: &MapRunRecord) -> Result<MapRunRecord> {
    conn.prepare_cached(&format!(
        "INSERT INTO map_runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (arn) DO NOTHING"
    ))?
    .execute(params![
        run.arn,
        run.execution_arn,
        run.state_machine_arn,
        run.status,
        run.start_date_ms,
        run.stop_date_ms,
        int(run.max_concurrency),
        int(run.tolerated_failure_count),
        run.tolerated_failure_percentage,
        run.item_counts,
        run.execution_counts,
        run.redrive_count,
        run.redrive_date_ms,
    ])?;
    Ok(get(conn, &run.arn)?.unwrap_or_else(|| run.clone()))
}

pub fn get(conn: &Connection, arn: &str) -> Result<Option<MapRunRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM map_runs WHERE arn = ?1"))?
        .query_row([arn], from_row)
        .optional()?)
}

pub fn update_progress(
    conn: &Connection,
    arn: &str,
    status: &str,
    stop_date_ms: Option<i64>,
    item_counts: &str,
    execution_counts: &str,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET status = ?2, stop_date_ms = ?3, item_counts = ?4, \
             execution_counts = ?5 WHERE arn = ?1 AND status = 'RUNNING'",
        )?
        .execute(params![
            arn,
            status,
            stop_date_ms,
            item_counts,
            execution_counts
        ])?;
    Ok(n > 0)
}

pub fn update_settings(
    conn: &Connection,
    arn: &str,
    max_concurrency: Option<u64>,
    count: Option<u64>,
    percentage: Option<f64>,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET max_concurrency = coalesce(?2, max_concurrency), \
             tolerated_failure_count = coalesce(?3, tolerated_failure_count), \
             tolerated_failure_percentage = coalesce(?4, tolerated_failure_percentage) \
             WHERE arn = ?1",
        )?
        .execute(params![
            arn,
            max_concurrency.map(int),
            count.map(int),
            percentage
        ])?;
    Ok(n > 0)
}

pub fn redrive(conn: &Connection, arn: &str, count: u32, date_ms: i64) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET status = 'RUNNING', stop_date_ms = NULL, redrive_count = ?2, \
             redrive_date_ms = ?3 WHERE arn = ?1 AND redrive_count < ?2",
        )?
        .execute(params![arn, count, date_ms])?;
    Ok(n > 0)
}

pub fn link(conn: &Connection, map_run_arn: &str, execution_arn: &str, index: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO map_run_executions (execution_arn, map_run_arn, item_index) \
         VALUES (?1, ?2, ?3) ON CONFLICT (execution_arn) DO NOTHING",
    )?
    .execute(params![execution_arn, map_run_arn, int(index)])?;
    Ok(())
}

pub fn of_execution(conn: &Connection, execution_arn: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT map_run_arn FROM map_run_executions WHERE execution_arn = ?1")?
        .query_row([execution_arn], |r| r.get(0))
        .optional()?)
}

pub fn list_executions(
    conn: &Connection,
    map_run_arn: &str,
    status: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ExecutionRecord>> {
    let sql = format!(
        "SELECT {} FROM executions WHERE arn IN \
             (SELECT execution_arn FROM map_run_executions WHERE map_run_arn = ?1) \
         AND (?2 IS NULL OR status = ?2) \
         AND (?3 IS NULL OR (start_date_ms, seq) < \
             (SELECT start_date_ms, seq FROM executions WHERE seq = ?3)) \
         ORDER BY start_date_ms DESC, seq DESC LIMIT ?4",
        executions::COLUMNS
    );
    let params = params![map_run_arn, status, after.map(|c| c.seq), limit(n)];
    query_all(conn, &sql, params, executions::from_row)
}

pub fn executions_by_item(
    conn: &Connection,
    map_run_arn: &str,
    after_index: Option<u64>,
    n: usize,
) -> Result<Vec<(u64, ExecutionRecord)>> {
    let sql = format!(
        "SELECT {}, m.item_index FROM map_run_executions m \
         JOIN executions e ON e.arn = m.execution_arn \
         WHERE m.map_run_arn = ?1 AND m.item_index > ?2 \
         ORDER BY m.item_index LIMIT ?3",
        executions::COLUMNS
    );
    // Indexes start at 0: -1 is before them all, and keeps the condition one range the
    // index answers (an `IS NULL OR` form is not).
    let after = after_index.map_or(-1, |i| i as i64);
    let params = params![map_run_arn, after, limit(n)];
    query_all(conn, &sql, params, |r| {
        let index: i64 = r.get(18)?;
        Ok((index as u64, executions::from_row(r)?))
    })
}
