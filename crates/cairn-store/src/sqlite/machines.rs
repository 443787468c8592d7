//! The `state_machines` and `tags` tables.

use super::{limit, query_all};
use crate::records::{Cursor, StateMachineRecord};
use crate::{Inserted, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "seq, arn, name, machine_type, definition, role_arn, status, \
    creation_date_ms, update_date_ms, revision_id, logging_configuration, \
    tracing_configuration, encryption_configuration, description";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        name: r.get(2)?,
        machine_type: r.get(3)?,
        definition: r.get(4)?,
        role_arn: r.get(5)?,
        status: r.get(6)?,
        creation_date_ms: r.get(7)?,
        update_date_ms: r.get(8)?,
        revision_id: r.get(9)?,
        logging_configuration: r.get(10)?,
        tracing_configuration: r.get(11)?,
        encryption_configuration: r.get(12)?,
        description: r.get(13)?,
    })
}

pub fn insert(conn: &Connection, m: &StateMachineRecord) -> Result<Inserted<StateMachineRecord>> {
    let created = conn
        .prepare_cached(
            "INSERT INTO state_machines (arn, name, machine_type, definition, role_arn, status, \
                 creation_date_ms, update_date_ms, revision_id, logging_configuration, \
                 tracing_configuration, encryption_configuration, description) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (arn) DO NOTHING",
        )?
        .execute(params![
            m.arn,
            m.name,
            m.machine_type,
            m.definition,
            m.role_arn,
            m.status,
            m.creation_date_ms,
            m.update_date_ms,
            m.revision_id,
            m.logging_configuration,
            m.tracing_configuration,
            m.encryption_configuration,
            m.description,
        ])?;
    if created == 1 {
        return Ok(Inserted::Created);
    }
    let existing = get(conn, &m.arn)?;
    existing.map(Inserted::Exists).ok_or_else(|| {
        StoreError::Corrupt(format!("state machine {} conflicts but is absent", m.arn))
    })
}

pub fn get(conn: &Connection, arn: &str) -> Result<Option<StateMachineRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM state_machines WHERE arn = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arn], from_row)
        .optional()?)
}

/// Replace every field but `arn` and `seq`.
pub fn update(conn: &Connection, m: &StateMachineRecord) -> Result<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE state_machines SET name = ?2, machine_type = ?3, definition = ?4, \
                 role_arn = ?5, status = ?6, creation_date_ms = ?7, update_date_ms = ?8, \
                 revision_id = ?9, logging_configuration = ?10, tracing_configuration = ?11, \
                 encryption_configuration = ?12, description = ?13 \
             WHERE arn = ?1",
        )?
        .execute(params![
            m.arn,
            m.name,
            m.machine_type,
            m.definition,
            m.role_arn,
            m.status,
            m.creation_date_ms,
            m.update_date_ms,
            m.revision_id,
            m.logging_configuration,
            m.tracing_configuration,
            m.encryption_configuration,
            m.description,
        ])?;
    Ok(updated == 1)
}

/// In creation order after the cursor; only `account`'s machines when given (the
/// `account` column is the account field of the ARN).
pub fn list(
    conn: &Connection,
    account: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<StateMachineRecord>> {
    let filter = account_filter(account);
    let sql = format!(
        "SELECT {COLUMNS} FROM state_machines WHERE {filter} AND seq > ?2 ORDER BY seq LIMIT ?3"
    );
    let after = after.map_or(i64::MIN, |c| c.seq);
    query_all(conn, &sql, params![account, after, limit(n)], from_row)
}

/// `?1` is the account to list (one statement per shape, so each uses its own index).
pub(super) fn account_filter(account: Option<&str>) -> &'static str {
    if account.is_some() {
        "account = ?1"
    } else {
        "?1 IS NULL"
    }
}

/// Delete the machine and its tags (the caller deletes its versions and aliases in the
/// same transaction). Its executions stay (AWS keeps them readable).
pub fn delete(conn: &Connection, arn: &str) -> Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM state_machines WHERE arn = ?1")?
        .execute([arn])?;
    conn.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
        .execute([arn])?;
    Ok(deleted == 1)
}

/// Upsert: an existing key keeps its row (and so its position) and takes the new value.
pub fn put_tags(conn: &Connection, resource: &str, tags: &[(String, String)]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tags (resource_arn, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in tags {
        stmt.execute(params![resource, key, value])?;
    }
    Ok(())
}

pub fn remove_tags(conn: &Connection, resource: &str, keys: &[String]) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")?;
    for key in keys {
        stmt.execute(params![resource, key])?;
    }
    Ok(())
}

pub fn list_tags(conn: &Connection, resource: &str) -> Result<Vec<(String, String)>> {
    query_all(
        conn,
        "SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY seq",
        [resource],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
