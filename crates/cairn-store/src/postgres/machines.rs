//! The `state_machines` and `tags` tables.

use super::limit;
use crate::records::{Cursor, StateMachineRecord};
use crate::{Inserted, Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

const COLUMNS: &str = "seq, arn, name, machine_type, definition, role_arn, status, \
    creation_date_ms, update_date_ms, revision_id, logging_configuration, \
    tracing_configuration, encryption_configuration, description";

fn from_row(r: &PgRow) -> sqlx::Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        seq: r.try_get(0)?,
        arn: r.try_get(1)?,
        name: r.try_get(2)?,
        machine_type: r.try_get(3)?,
        definition: r.try_get(4)?,
        role_arn: r.try_get(5)?,
        status: r.try_get(6)?,
        creation_date_ms: r.try_get(7)?,
        update_date_ms: r.try_get(8)?,
        revision_id: r.try_get(9)?,
        logging_configuration: r.try_get(10)?,
        tracing_configuration: r.try_get(11)?,
        encryption_configuration: r.try_get(12)?,
        description: r.try_get(13)?,
    })
}

pub async fn insert(pool: &PgPool, m: &StateMachineRecord) -> Result<Inserted<StateMachineRecord>> {
    let created = sqlx::query(
        "INSERT INTO state_machines (arn, name, machine_type, definition, role_arn, status, \
             creation_date_ms, update_date_ms, revision_id, logging_configuration, \
             tracing_configuration, encryption_configuration, description) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (arn) DO NOTHING",
    )
    .bind(&m.arn)
    .bind(&m.name)
    .bind(&m.machine_type)
    .bind(&m.definition)
    .bind(&m.role_arn)
    .bind(&m.status)
    .bind(m.creation_date_ms)
    .bind(m.update_date_ms)
    .bind(&m.revision_id)
    .bind(&m.logging_configuration)
    .bind(&m.tracing_configuration)
    .bind(&m.encryption_configuration)
    .bind(&m.description)
    .execute(pool)
    .await?
    .rows_affected();
    if created == 1 {
        return Ok(Inserted::Created);
    }
    let existing = get(pool, &m.arn).await?;
    existing.map(Inserted::Exists).ok_or_else(|| {
        StoreError::Corrupt(format!("state machine {} conflicts but is absent", m.arn))
    })
}

pub async fn get(pool: &PgPool, arn: &str) -> Result<Option<StateMachineRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM state_machines WHERE arn = $1");
    let row = sqlx::query(&sql).bind(arn).fetch_optional(pool).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Replace every field but `arn` and `seq`.
pub async fn update(pool: &PgPool, m: &StateMachineRecord) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE state_machines SET name = $2, machine_type = $3, definition = $4, \
             role_arn = $5, status = $6, creation_date_ms = $7, update_date_ms = $8, \
             revision_id = $9, logging_configuration = $10, tracing_configuration = $11, \
             encryption_configuration = $12, description = $13 \
         WHERE arn = $1",
    )
    .bind(&m.arn)
    .bind(&m.name)
    .bind(&m.machine_type)
    .bind(&m.definition)
    .bind(&m.role_arn)
    .bind(&m.status)
    .bind(m.creation_date_ms)
    .bind(m.update_date_ms)
    .bind(&m.revision_id)
    .bind(&m.logging_configuration)
    .bind(&m.tracing_configuration)
    .bind(&m.encryption_configuration)
    .bind(&m.description)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// In creation order after the cursor; only `account`'s machines when given (the
/// `account` column is the account field of the ARN).
pub async fn list(
    pool: &PgPool,
    account: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<StateMachineRecord>> {
    let filter = account_filter(account);
    let sql = format!(
        "SELECT {COLUMNS} FROM state_machines WHERE {filter} AND seq > $2 ORDER BY seq LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(account)
        .bind(after.map_or(i64::MIN, |c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// `$1` is the account to list (one statement per shape, so each gets its own plan).
pub(super) fn account_filter(account: Option<&str>) -> &'static str {
    if account.is_some() {
        "account = $1"
    } else {
        "$1::text IS NULL"
    }
}

/// Delete the machine, its tags, versions and aliases. Its executions stay (AWS keeps them readable).
pub async fn delete(pool: &PgPool, arn: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    super::versions::delete_all_of(&mut tx, arn).await?;
    let deleted = sqlx::query("DELETE FROM state_machines WHERE arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM tags WHERE resource_arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted == 1)
}

/// Upsert in one statement: an existing key keeps its row (and so its position) and takes
/// the new value; new keys are appended in the order given. A key given twice takes its last
/// value at its first position (one statement cannot update a row twice).
pub async fn put_tags(pool: &PgPool, resource: &str, tags: &[(String, String)]) -> Result<()> {
    let mut keys: Vec<&str> = Vec::with_capacity(tags.len());
    let mut values: Vec<&str> = Vec::with_capacity(tags.len());
    for (key, value) in tags {
        match keys.iter().position(|k| k == key) {
            Some(i) => values[i] = value,
            None => {
                keys.push(key);
                values.push(value);
            }
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO tags (resource_arn, key, value) \
         SELECT $1, u.key, u.value \
         FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS u(key, value, ord) \
         ORDER BY u.ord \
         ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
    )
    .bind(resource)
    .bind(&keys)
    .bind(&values)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn remove_tags(pool: &PgPool, resource: &str, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query("DELETE FROM tags WHERE resource_arn = $1 AND key = ANY($2::text[])")
        .bind(resource)
        .bind(keys)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn list_tags(pool: &PgPool, resource: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query_as("SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY seq")
        .bind(resource)
        .fetch_all(pool)
        .await?;
    Ok(rows)
}
