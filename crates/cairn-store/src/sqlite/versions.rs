//! The `state_machine_versions`, `state_machine_version_counters` and
//! `state_machine_aliases` tables (listing executions by version or alias is in
//! `executions.rs`, with the other ListExecutions filters).
//!
//! Owns: numbering versions (a per-machine counter, never reused) and the consistency checks
//! that must hold inside one write transaction (an alias only routes to stored versions; a
//! routed version cannot be deleted). Must not: interpret definitions or weights.

use super::{limit, query_all, uint};
use crate::records::{AliasRecord, AliasWritten, Cursor, Published, VersionDeleted, VersionRecord};
use crate::version_rows::{route_columns, routes_from_columns, ALIAS_COLUMNS, VERSION_COLUMNS};
use crate::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn version_from_row(r: &Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        machine_arn: r.get(2)?,
        version: uint("version", r.get(3)?)?,
        definition: r.get(4)?,
        role_arn: r.get(5)?,
        revision_id: r.get(6)?,
        description: r.get(7)?,
        creation_date_ms: r.get(8)?,
        logging_configuration: r.get(9)?,
        tracing_configuration: r.get(10)?,
        encryption_configuration: r.get(11)?,
    })
}

fn alias_from_row(r: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    let routes = routes_from_columns((r.get(5)?, r.get(6)?), (r.get(7)?, r.get(8)?));
    Ok(AliasRecord {
        seq: r.get(0)?,
        arn: r.get(1)?,
        machine_arn: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        routes,
        creation_date_ms: r.get(9)?,
        update_date_ms: r.get(10)?,
    })
}

fn machine_exists(conn: &Connection, machine_arn: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM state_machines WHERE arn = ?1")?
        .query_row([machine_arn], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Run inside a write transaction.
pub fn publish(conn: &Connection, v: &VersionRecord, max: usize) -> Result<Published> {
    if !machine_exists(conn, &v.machine_arn)? {
        return Ok(Published::NoMachine);
    }
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM state_machine_versions \
         WHERE machine_arn = ?1 AND revision_id IS ?2 ORDER BY seq DESC LIMIT 1"
    );
    let existing = conn
        .prepare_cached(&sql)?
        .query_row(params![v.machine_arn, v.revision_id], version_from_row)
        .optional()?;
    if let Some(existing) = existing {
        return Ok(Published::Exists(existing));
    }
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM state_machine_versions WHERE machine_arn = ?1")?
        .query_row([&v.machine_arn], |r| r.get(0))?;
    if count as usize >= max {
        return Ok(Published::QuotaExceeded);
    }
    let number: i64 = conn
        .prepare_cached(
            "INSERT INTO state_machine_version_counters (machine_arn, last_version) \
             VALUES (?1, 1) ON CONFLICT (machine_arn) \
             DO UPDATE SET last_version = last_version + 1 RETURNING last_version",
        )?
        .query_row([&v.machine_arn], |r| r.get(0))?;
    let mut created = v.clone();
    created.version = uint("version", number)?;
    created.arn = format!("{}:{number}", v.machine_arn);
    conn.prepare_cached(
        "INSERT INTO state_machine_versions (arn, machine_arn, version, definition, role_arn, \
             revision_id, description, creation_date_ms, logging_configuration, \
             tracing_configuration, encryption_configuration) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        created.arn,
        created.machine_arn,
        number,
        created.definition,
        created.role_arn,
        created.revision_id,
        created.description,
        created.creation_date_ms,
        created.logging_configuration,
        created.tracing_configuration,
        created.encryption_configuration,
    ])?;
    created.seq = conn.last_insert_rowid();
    Ok(Published::Created(created))
}

pub fn get_version(conn: &Connection, arn: &str) -> Result<Option<VersionRecord>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM state_machine_versions WHERE arn = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arn], version_from_row)
        .optional()?)
}

pub fn list_versions(
    conn: &Connection,
    machine_arn: &str,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<VersionRecord>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM state_machine_versions \
         WHERE machine_arn = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    );
    let before = after.map_or(i64::MAX, |c| c.seq);
    query_all(
        conn,
        &sql,
        params![machine_arn, before, limit(n)],
        version_from_row,
    )
}

fn aliases_routing_to(conn: &Connection, version_arn: &str) -> Result<Vec<String>> {
    query_all(
        conn,
        "SELECT name FROM state_machine_aliases \
         WHERE route1_version = ?1 OR route2_version = ?1 ORDER BY seq",
        [version_arn],
        |r| r.get(0),
    )
}

/// Run inside a write transaction.
pub fn delete_version(conn: &Connection, arn: &str) -> Result<VersionDeleted> {
    let names = aliases_routing_to(conn, arn)?;
    if !names.is_empty() {
        return Ok(VersionDeleted::Referenced(names));
    }
    let deleted = conn
        .prepare_cached("DELETE FROM state_machine_versions WHERE arn = ?1")?
        .execute([arn])?;
    Ok(if deleted == 1 {
        VersionDeleted::Deleted
    } else {
        VersionDeleted::Absent
    })
}

fn missing_version(conn: &Connection, alias: &AliasRecord) -> Result<Option<String>> {
    for (version, _) in &alias.routes {
        if get_version(conn, version)?.is_none_or(|v| v.machine_arn != alias.machine_arn) {
            return Ok(Some(version.clone()));
        }
    }
    Ok(None)
}

/// Run inside a write transaction.
pub fn insert_alias(conn: &Connection, a: &AliasRecord, max: usize) -> Result<AliasWritten> {
    let [(v1, w1), (v2, w2)] = route_columns(a)?;
    if let Some(existing) = get_alias(conn, &a.arn)? {
        return Ok(AliasWritten::Exists(existing));
    }
    if let Some(missing) = missing_version(conn, a)? {
        return Ok(AliasWritten::MissingVersion(missing));
    }
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM state_machine_aliases WHERE machine_arn = ?1")?
        .query_row([&a.machine_arn], |r| r.get(0))?;
    if count as usize >= max {
        return Ok(AliasWritten::QuotaExceeded);
    }
    conn.prepare_cached(
        "INSERT INTO state_machine_aliases (arn, machine_arn, name, description, \
             route1_version, route1_weight, route2_version, route2_weight, creation_date_ms, \
             update_date_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.arn,
        a.machine_arn,
        a.name,
        a.description,
        v1,
        w1,
        v2,
        w2,
        a.creation_date_ms,
        a.update_date_ms
    ])?;
    Ok(AliasWritten::Done)
}

pub fn get_alias(conn: &Connection, arn: &str) -> Result<Option<AliasRecord>> {
    let sql = format!("SELECT {ALIAS_COLUMNS} FROM state_machine_aliases WHERE arn = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([arn], alias_from_row)
        .optional()?)
}

/// Run inside a write transaction.
pub fn update_alias(conn: &Connection, a: &AliasRecord) -> Result<AliasWritten> {
    let [(v1, w1), (v2, w2)] = route_columns(a)?;
    if get_alias(conn, &a.arn)?.is_none() {
        return Ok(AliasWritten::Absent);
    }
    if let Some(missing) = missing_version(conn, a)? {
        return Ok(AliasWritten::MissingVersion(missing));
    }
    conn.prepare_cached(
        "UPDATE state_machine_aliases SET description = ?2, route1_version = ?3, \
             route1_weight = ?4, route2_version = ?5, route2_weight = ?6, update_date_ms = ?7 \
         WHERE arn = ?1",
    )?
    .execute(params![
        a.arn,
        a.description,
        v1,
        w1,
        v2,
        w2,
        a.update_date_ms
    ])?;
    Ok(AliasWritten::Done)
}

pub fn list_aliases(
    conn: &Connection,
    machine_arn: &str,
    version_arn: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<AliasRecord>> {
    let sql = format!(
        "SELECT {ALIAS_COLUMNS} FROM state_machine_aliases WHERE machine_arn = ?1 \
         AND (?2 IS NULL OR route1_version = ?2 OR route2_version = ?2) AND seq > ?3 \
         ORDER BY seq LIMIT ?4"
    );
    let after = after.map_or(i64::MIN, |c| c.seq);
    query_all(
        conn,
        &sql,
        params![machine_arn, version_arn, after, limit(n)],
        alias_from_row,
    )
}

pub fn delete_alias(conn: &Connection, arn: &str) -> Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM state_machine_aliases WHERE arn = ?1")?
        .execute([arn])?;
    Ok(deleted == 1)
}

/// The versions, aliases and version counter of a deleted machine (same transaction).
pub fn delete_all_of(conn: &Connection, machine_arn: &str) -> Result<()> {
    for table in [
        "state_machine_aliases",
        "state_machine_versions",
        "state_machine_version_counters",
    ] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE machine_arn = ?1"))?
            .execute([machine_arn])?;
    }
    Ok(())
}
