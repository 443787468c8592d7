//! Reading the `executions` and `events` tables (writing them is [`super::commit`]'s job).

use super::{limit, query_all, uint};
use crate::records::{Cursor, EventRecord, ExecutionFilter, ExecutionRecord, HistoryPage};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(super) const COLUMNS: &str =
    "seq, arn, state_machine_arn, name, status, start_date_ms, stop_date_ms, \
    input, output, error, cause, definition, role_arn, state_machine_version_arn, \
    state_machine_alias_arn, redrive_count, snapshot, redrive_date_ms";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        state_machine_arn: r.get(2)?,
        name: r.get(3)?,
        status: r.get(4)?,
        start_date_ms: r.get(5)?,
        stop_date_ms: r.get(6)?,
        input: r.get(7)?,
        output: r.get(8)?,
        error: r.get(9)?,
        cause: r.get(10)?,
        definition: r.get(11)?,
        role_arn: r.get(12)?,
        state_machine_version_arn: r.get(13)?,
        state_machine_alias_arn: r.get(14)?,
        redrive_count: r.get(15)?,
        snapshot: r.get(16)?,
        redrive_date_ms: r.get(17)?,
    })
}

pub fn get(conn: &Connection, arn: &str) -> Result<Option<ExecutionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE arn = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arn], from_row)
        .optional()?)
}

/// The rowid of an execution, which prefixes its event keys.
pub fn seq_of(conn: &Connection, arn: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM executions WHERE arn = ?1")?
        .query_row([arn], |r| r.get(0))
        .optional()?)
}

/// Newest first: by start time, then by insertion. The cursor names the last execution of
/// the previous page; the next page holds the ones that sort after it (older). Every filter is
/// in the query, so a page is full whenever enough rows match.
pub fn list(
    conn: &Connection,
    filter: &ExecutionFilter<'_>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ExecutionRecord>> {
    // One statement per shape, so that each uses its own index plan (by machine, version or
    // alias: `executions_by_machine`, `executions_by_version`, `executions_by_alias`).
    let column = filter.of.column();
    let status_filter = if filter.status.is_some() {
        "AND status = ?2"
    } else {
        "AND ?2 IS NULL"
    };
    let cursor_filter = if after.is_some() {
        "AND (start_date_ms, seq) < (SELECT start_date_ms, seq FROM executions WHERE seq = ?3)"
    } else {
        "AND ?3 IS NULL"
    };
    let redrive_filter = match filter.redriven {
        None => "",
        Some(true) => "AND redrive_count > 0",
        Some(false) => "AND redrive_count = 0",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM executions WHERE {column} = ?1 {status_filter} \
         {redrive_filter} {cursor_filter} ORDER BY start_date_ms DESC, seq DESC LIMIT ?4"
    );
    let params = params![
        filter.of.arn(),
        filter.status,
        after.map(|c| c.seq),
        limit(n)
    ];
    query_all(conn, &sql, params, from_row)
}

pub fn running(conn: &Connection) -> Result<Vec<ExecutionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE status = 'RUNNING' ORDER BY seq");
    query_all(conn, &sql, [], from_row)
}

pub fn history(
    conn: &Connection,
    arn: &str,
    page: HistoryPage,
    n: usize,
) -> Result<Vec<EventRecord>> {
    // Ids above i64::MAX cannot be stored, so a bound beyond it is no bound.
    let (sql, bound) = match page {
        HistoryPage::After(id) => match i64::try_from(id) {
            Ok(id) => ("id > ?2 ORDER BY id", id),
            Err(_) => return Ok(Vec::new()),
        },
        HistoryPage::Before(id) => match i64::try_from(id) {
            Ok(id) => ("id < ?2 ORDER BY id DESC", id),
            Err(_) => ("?2 IS NOT NULL ORDER BY id DESC", 0),
        },
    };
    let sql = format!(
        "SELECT id, body FROM events \
         WHERE execution = (SELECT seq FROM executions WHERE arn = ?1) AND {sql} LIMIT ?3"
    );
    query_all(conn, &sql, params![arn, bound, limit(n)], |r| {
        Ok(EventRecord {
            execution_arn: arn.to_owned(),
            id: uint("event id", r.get(0)?)?,
            body: r.get(1)?,
        })
    })
}
