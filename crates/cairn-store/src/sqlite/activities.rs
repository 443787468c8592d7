//! The `activities` table.

use super::{limit, query_all};
use crate::records::{ActivityRecord, Cursor};
use crate::{Inserted, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "seq, arn, name, creation_date_ms, encryption_configuration";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ActivityRecord> {
    Ok(ActivityRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        name: r.get(2)?,
        creation_date_ms: r.get(3)?,
        encryption_configuration: r.get(4)?,
    })
}

pub fn insert(conn: &Connection, a: &ActivityRecord) -> Result<Inserted<ActivityRecord>> {
    let created = conn
        .prepare_cached(
            "INSERT INTO activities (arn, name, creation_date_ms, encryption_configuration) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (arn) DO NOTHING",
        )?
        .execute(params![
            a.arn,
            a.name,
            a.creation_date_ms,
            a.encryption_configuration
        ])?;
    if created == 1 {
        return Ok(Inserted::Created);
    }
    let existing = get(conn, &a.arn)?;
    existing
        .map(Inserted::Exists)
        .ok_or_else(|| StoreError::Corrupt(format!("activity {} conflicts but is absent", a.arn)))
}

pub fn get(conn: &Connection, arn: &str) -> Result<Option<ActivityRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM activities WHERE arn = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arn], from_row)
        .optional()?)
}

/// In creation order after the cursor; only `account`'s activities when given.
pub fn list(
    conn: &Connection,
    account: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ActivityRecord>> {
    let filter = super::machines::account_filter(account);
    let sql = format!(
        "SELECT {COLUMNS} FROM activities WHERE {filter} AND seq > ?2 ORDER BY seq LIMIT ?3"
    );
    let after = after.map_or(i64::MIN, |c| c.seq);
    query_all(conn, &sql, params![account, after, limit(n)], from_row)
}

/// Delete the activity, its queued (and taken) tasks and its tags.
pub fn delete(conn: &Connection, arn: &str) -> Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM activities WHERE arn = ?1")?
        .execute([arn])?;
    conn.prepare_cached("DELETE FROM activity_tasks WHERE activity_arn = ?1")?
        .execute([arn])?;
    conn.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
        .execute([arn])?;
    Ok(deleted == 1)
}
