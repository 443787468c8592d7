//! Reading the `executions` and `events` tables (writing them is [`super::commit`]'s job).

use super::{limit, uint};
use crate::records::{Cursor, EventRecord, ExecutionFilter, ExecutionRecord, HistoryPage};
use crate::{Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

pub(super) const COLUMNS: &str =
    "seq, arn, state_machine_arn, name, status, start_date_ms, stop_date_ms, \
    input, output, error, cause, definition, role_arn, state_machine_version_arn, \
    state_machine_alias_arn, redrive_count, snapshot, redrive_date_ms";

pub(super) fn from_row(r: &PgRow) -> Result<ExecutionRecord> {
    let redrive_count: i64 = r.try_get(15)?;
    Ok(ExecutionRecord {
        seq: r.try_get(0)?,
        arn: r.try_get(1)?,
        state_machine_arn: r.try_get(2)?,
        name: r.try_get(3)?,
        status: r.try_get(4)?,
        start_date_ms: r.try_get(5)?,
        stop_date_ms: r.try_get(6)?,
        input: r.try_get(7)?,
        output: r.try_get(8)?,
        error: r.try_get(9)?,
        cause: r.try_get(10)?,
        definition: r.try_get(11)?,
        role_arn: r.try_get(12)?,
        state_machine_version_arn: r.try_get(13)?,
        state_machine_alias_arn: r.try_get(14)?,
        redrive_count: u32::try_from(redrive_count).map_err(|_| {
            StoreError::Corrupt(format!("redrive count {redrive_count} is out of range"))
        })?,
        snapshot: r.try_get(16)?,
        redrive_date_ms: r.try_get(17)?,
    })
}

pub async fn get(pool: &PgPool, arn: &str) -> Result<Option<ExecutionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE arn = $1");
    let row = sqlx::query(&sql).bind(arn).fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// The stored executions among `arns`, in one query.
pub async fn get_many(pool: &PgPool, arns: &[String]) -> Result<Vec<ExecutionRecord>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE arn = ANY($1::text[])");
    let rows = sqlx::query(&sql).bind(arns).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// Newest first: by start time, then by insertion. The cursor names the last execution of
/// the previous page; the next page holds the ones that sort after it (older). Every filter is
/// in the query, so a page is full whenever enough rows match.
pub async fn list(
    pool: &PgPool,
    filter: &ExecutionFilter<'_>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ExecutionRecord>> {
    // One statement per shape, so that each gets a plan for its own index (a prepared
    // `$2 IS NULL OR status = $2` would get one generic plan for both); by machine, version
    // or alias, each column has its own index.
    let column = filter.of.column();
    let status_filter = if filter.status.is_some() {
        "AND status = $2"
    } else {
        "AND $2::text IS NULL"
    };
    let cursor_filter = if after.is_some() {
        "AND (start_date_ms, seq) < (SELECT start_date_ms, seq FROM executions WHERE seq = $3)"
    } else {
        "AND $3::bigint IS NULL"
    };
    let redrive_filter = match filter.redriven {
        None => "",
        Some(true) => "AND redrive_count > 0",
        Some(false) => "AND redrive_count = 0",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM executions WHERE {column} = $1 {status_filter} \
         {redrive_filter} {cursor_filter} ORDER BY start_date_ms DESC, seq DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(filter.of.arn())
        .bind(filter.status)
        .bind(after.map(|c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn running(pool: &PgPool) -> Result<Vec<ExecutionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE status = 'RUNNING' ORDER BY seq");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// The running executions of these partitions (`executions_running` is keyed by partition).
pub async fn running_in(pool: &PgPool, partitions: &[i16]) -> Result<Vec<ExecutionRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM executions \
         WHERE status = 'RUNNING' AND partition = ANY ($1::smallint[]) ORDER BY seq"
    );
    let rows = sqlx::query(&sql).bind(partitions).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub async fn history(
    pool: &PgPool,
    arn: &str,
    page: HistoryPage,
    n: usize,
) -> Result<Vec<EventRecord>> {
    let (sql, bound) = match page {
        HistoryPage::After(id) => match i64::try_from(id) {
            Ok(id) => (
                "SELECT id, body FROM events \
                 WHERE execution = (SELECT seq FROM executions WHERE arn = $1) AND id > $2 \
                 ORDER BY id LIMIT $3",
                id,
            ),
            // No stored id is that large.
            Err(_) => return Ok(Vec::new()),
        },
        HistoryPage::Before(id) => (
            "SELECT id, body FROM events \
             WHERE execution = (SELECT seq FROM executions WHERE arn = $1) AND id < $2 \
             ORDER BY id DESC LIMIT $3",
            i64::try_from(id).unwrap_or(i64::MAX),
        ),
    };
    let rows = sqlx::query(sql)
        .bind(arn)
        .bind(bound)
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRecord {
                execution_arn: arn.to_owned(),
                id: uint("event id", r.try_get(0)?)?,
                body: r.try_get(1)?,
            })
        })
        .collect()
}
