//! The `state_machine_versions`, `state_machine_version_counters` and
//! `state_machine_aliases` tables (listing executions by version or alias is in
//! `executions.rs`, with the other ListExecutions filters).
//!
//! Owns: numbering versions (a per-machine counter, never reused) and the consistency checks
//! that must hold inside one transaction (an alias only routes to stored versions; a routed
//! version cannot be deleted). Writes lock the machine's row first (`FOR UPDATE`), so two
//! nodes publishing or re-routing the same machine at once take turns. Must not: interpret
//! definitions or weights.

use super::{limit, uint};
use crate::records::{AliasRecord, AliasWritten, Cursor, Published, VersionDeleted, VersionRecord};
use crate::version_rows::{
    route_columns, routes_from_columns, RouteColumns, ALIAS_COLUMNS, VERSION_COLUMNS,
};
use crate::{Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

fn version_from_row(r: &PgRow) -> Result<VersionRecord> {
    Ok(VersionRecord {
        seq: r.try_get(0)?,
        arn: r.try_get(1)?,
        machine_arn: r.try_get(2)?,
        version: uint("version", r.try_get(3)?)?,
        definition: r.try_get(4)?,
        role_arn: r.try_get(5)?,
        revision_id: r.try_get(6)?,
        description: r.try_get(7)?,
        creation_date_ms: r.try_get(8)?,
        logging_configuration: r.try_get(9)?,
        tracing_configuration: r.try_get(10)?,
        encryption_configuration: r.try_get(11)?,
    })
}

fn weight(v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("weight {v} is negative")))
}

fn alias_from_row(r: &PgRow) -> Result<AliasRecord> {
    let route2_weight = r.try_get::<Option<i32>, _>(8)?.map(weight).transpose()?;
    let routes = routes_from_columns(
        (r.try_get(5)?, weight(r.try_get(6)?)?),
        (r.try_get(7)?, route2_weight),
    );
    Ok(AliasRecord {
        seq: r.try_get(0)?,
        arn: r.try_get(1)?,
        machine_arn: r.try_get(2)?,
        name: r.try_get(3)?,
        description: r.try_get(4)?,
        routes,
        creation_date_ms: r.try_get(9)?,
        update_date_ms: r.try_get(10)?,
    })
}

/// Lock the machine's row for the rest of the transaction; false if it does not exist.
async fn lock_machine(tx: &mut PgConnection, machine_arn: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM state_machines WHERE arn = $1 FOR UPDATE")
            .bind(machine_arn)
            .fetch_optional(&mut *tx)
            .await?
            .is_some(),
    )
}

pub async fn publish(pool: &PgPool, v: &VersionRecord, max: usize) -> Result<Published> {
    let mut tx = pool.begin().await?;
    if !lock_machine(&mut tx, &v.machine_arn).await? {
        return Ok(Published::NoMachine);
    }
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM state_machine_versions \
         WHERE machine_arn = $1 AND revision_id IS NOT DISTINCT FROM $2 \
         ORDER BY seq DESC LIMIT 1"
    );
    let existing = sqlx::query(&sql)
        .bind(&v.machine_arn)
        .bind(&v.revision_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        return Ok(Published::Exists(version_from_row(&row)?));
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM state_machine_versions WHERE machine_arn = $1")
            .bind(&v.machine_arn)
            .fetch_one(&mut *tx)
            .await?;
    if count as usize >= max {
        return Ok(Published::QuotaExceeded);
    }
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO state_machine_version_counters (machine_arn, last_version) \
         VALUES ($1, 1) ON CONFLICT (machine_arn) \
         DO UPDATE SET last_version = state_machine_version_counters.last_version + 1 \
         RETURNING last_version",
    )
    .bind(&v.machine_arn)
    .fetch_one(&mut *tx)
    .await?;
    let mut created = v.clone();
    created.version = uint("version", number)?;
    created.arn = format!("{}:{number}", v.machine_arn);
    created.seq = sqlx::query_scalar(
        "INSERT INTO state_machine_versions (arn, machine_arn, version, definition, role_arn, \
             revision_id, description, creation_date_ms, logging_configuration, \
             tracing_configuration, encryption_configuration) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
    )
    .bind(&created.arn)
    .bind(&created.machine_arn)
    .bind(number)
    .bind(&created.definition)
    .bind(&created.role_arn)
    .bind(&created.revision_id)
    .bind(&created.description)
    .bind(created.creation_date_ms)
    .bind(&created.logging_configuration)
    .bind(&created.tracing_configuration)
    .bind(&created.encryption_configuration)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Published::Created(created))
}

async fn version_in(conn: &mut PgConnection, arn: &str) -> Result<Option<VersionRecord>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM state_machine_versions WHERE arn = $1");
    let row = sqlx::query(&sql).bind(arn).fetch_optional(conn).await?;
    row.as_ref().map(version_from_row).transpose()
}

pub async fn get_version(pool: &PgPool, arn: &str) -> Result<Option<VersionRecord>> {
    let mut conn = pool.acquire().await?;
    version_in(&mut conn, arn).await
}

pub async fn list_versions(
    pool: &PgPool,
    machine_arn: &str,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<VersionRecord>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM state_machine_versions \
         WHERE machine_arn = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(machine_arn)
        .bind(after.map_or(i64::MAX, |c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter().map(version_from_row).collect()
}

/// The machine part of a version ARN (`…:stateMachine:<name>:<N>` → `…:stateMachine:<name>`).
fn machine_of(version_arn: &str) -> &str {
    version_arn
        .rsplit_once(':')
        .map_or(version_arn, |(machine, _)| machine)
}

pub async fn delete_version(pool: &PgPool, arn: &str) -> Result<VersionDeleted> {
    let mut tx = pool.begin().await?;
    lock_machine(&mut tx, machine_of(arn)).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM state_machine_aliases \
         WHERE route1_version = $1 OR route2_version = $1 ORDER BY seq",
    )
    .bind(arn)
    .fetch_all(&mut *tx)
    .await?;
    if !names.is_empty() {
        return Ok(VersionDeleted::Referenced(names));
    }
    let deleted = sqlx::query("DELETE FROM state_machine_versions WHERE arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(if deleted == 1 {
        VersionDeleted::Deleted
    } else {
        VersionDeleted::Absent
    })
}

async fn missing_version(conn: &mut PgConnection, alias: &AliasRecord) -> Result<Option<String>> {
    for (version, _) in &alias.routes {
        let found = version_in(conn, version).await?;
        if found.is_none_or(|v| v.machine_arn != alias.machine_arn) {
            return Ok(Some(version.clone()));
        }
    }
    Ok(None)
}

/// The `route1_*` / `route2_*` columns of an alias, weights as PostgreSQL's `integer`.
fn routes(alias: &AliasRecord) -> Result<[(Option<&str>, Option<i32>); 2]> {
    fn int((v, w): RouteColumns<'_>) -> (Option<&str>, Option<i32>) {
        (v, w.map(|w| w as i32))
    }
    let [r1, r2] = route_columns(alias)?;
    Ok([int(r1), int(r2)])
}

async fn alias_in(conn: &mut PgConnection, arn: &str) -> Result<Option<AliasRecord>> {
    let sql = format!("SELECT {ALIAS_COLUMNS} FROM state_machine_aliases WHERE arn = $1");
    let row = sqlx::query(&sql).bind(arn).fetch_optional(conn).await?;
    row.as_ref().map(alias_from_row).transpose()
}

pub async fn insert_alias(pool: &PgPool, a: &AliasRecord, max: usize) -> Result<AliasWritten> {
    let [(v1, w1), (v2, w2)] = routes(a)?;
    let mut tx = pool.begin().await?;
    lock_machine(&mut tx, &a.machine_arn).await?;
    if let Some(existing) = alias_in(&mut tx, &a.arn).await? {
        return Ok(AliasWritten::Exists(existing));
    }
    if let Some(missing) = missing_version(&mut tx, a).await? {
        return Ok(AliasWritten::MissingVersion(missing));
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM state_machine_aliases WHERE machine_arn = $1")
            .bind(&a.machine_arn)
            .fetch_one(&mut *tx)
            .await?;
    if count as usize >= max {
        return Ok(AliasWritten::QuotaExceeded);
    }
    sqlx::query(
        "INSERT INTO state_machine_aliases (arn, machine_arn, name, description, \
             route1_version, route1_weight, route2_version, route2_weight, creation_date_ms, \
             update_date_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&a.arn)
    .bind(&a.machine_arn)
    .bind(&a.name)
    .bind(&a.description)
    .bind(v1)
    .bind(w1)
    .bind(v2)
    .bind(w2)
    .bind(a.creation_date_ms)
    .bind(a.update_date_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AliasWritten::Done)
}

pub async fn get_alias(pool: &PgPool, arn: &str) -> Result<Option<AliasRecord>> {
    let mut conn = pool.acquire().await?;
    alias_in(&mut conn, arn).await
}

pub async fn update_alias(pool: &PgPool, a: &AliasRecord) -> Result<AliasWritten> {
    let [(v1, w1), (v2, w2)] = routes(a)?;
    let mut tx = pool.begin().await?;
    lock_machine(&mut tx, &a.machine_arn).await?;
    if alias_in(&mut tx, &a.arn).await?.is_none() {
        return Ok(AliasWritten::Absent);
    }
    if let Some(missing) = missing_version(&mut tx, a).await? {
        return Ok(AliasWritten::MissingVersion(missing));
    }
    sqlx::query(
        "UPDATE state_machine_aliases SET description = $2, route1_version = $3, \
             route1_weight = $4, route2_version = $5, route2_weight = $6, update_date_ms = $7 \
         WHERE arn = $1",
    )
    .bind(&a.arn)
    .bind(&a.description)
    .bind(v1)
    .bind(w1)
    .bind(v2)
    .bind(w2)
    .bind(a.update_date_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AliasWritten::Done)
}

pub async fn list_aliases(
    pool: &PgPool,
    machine_arn: &str,
    version_arn: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<AliasRecord>> {
    let sql = format!(
        "SELECT {ALIAS_COLUMNS} FROM state_machine_aliases WHERE machine_arn = $1 \
         AND ($2::text IS NULL OR route1_version = $2 OR route2_version = $2) AND seq > $3 \
         ORDER BY seq LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(machine_arn)
        .bind(version_arn)
        .bind(after.map_or(i64::MIN, |c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    rows.iter().map(alias_from_row).collect()
}

pub async fn delete_alias(pool: &PgPool, arn: &str) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM state_machine_aliases WHERE arn = $1")
        .bind(arn)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// The versions, aliases and version counter of a deleted machine (same transaction).
pub async fn delete_all_of(tx: &mut PgConnection, machine_arn: &str) -> Result<()> {
    for table in [
        "state_machine_aliases",
        "state_machine_versions",
        "state_machine_version_counters",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE machine_arn = $1"))
            .bind(machine_arn)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
