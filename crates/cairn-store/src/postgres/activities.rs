//! The `activities` table.

use super::limit;
use crate::records::{ActivityRecord, Cursor};
use crate::{Inserted, Result, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

const COLUMNS: &str = "seq, arn, name, creation_date_ms, encryption_configuration";

fn from_row(r: &PgRow) -> sqlx::Result<ActivityRecord> {
    Ok(ActivityRecord {
        seq: r.try_get(0)?,
        arn: r.try_get(1)?,
        name: r.try_get(2)?,
        creation_date_ms: r.try_get(3)?,
        encryption_configuration: r.try_get(4)?,
    })
}

pub async fn insert(pool: &PgPool, a: &ActivityRecord) -> Result<Inserted<ActivityRecord>> {
    let created = sqlx::query(
        "INSERT INTO activities (arn, name, creation_date_ms, encryption_configuration) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (arn) DO NOTHING",
    )
    .bind(&a.arn)
    .bind(&a.name)
    .bind(a.creation_date_ms)
    .bind(&a.encryption_configuration)
    .execute(pool)
    .await?
    .rows_affected();
    if created == 1 {
        return Ok(Inserted::Created);
    }
    let existing = get(pool, &a.arn).await?;
    existing
        .map(Inserted::Exists)
        .ok_or_else(|| StoreError::Corrupt(format!("activity {} conflicts but is absent", a.arn)))
}

pub async fn get(pool: &PgPool, arn: &str) -> Result<Option<ActivityRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM activities WHERE arn = $1");
    let row = sqlx::query(&sql).bind(arn).fetch_optional(pool).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// In creation order after the cursor; only `account`'s activities when given.
pub async fn list(
    pool: &PgPool,
    account: Option<&str>,
    after: Option<&Cursor>,
    n: usize,
) -> Result<Vec<ActivityRecord>> {
    let filter = super::machines::account_filter(account);
    let sql = format!(
        "SELECT {COLUMNS} FROM activities WHERE {filter} AND seq > $2 ORDER BY seq LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(account)
        .bind(after.map_or(i64::MIN, |c| c.seq))
        .bind(limit(n))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Delete the activity, its queued (and taken) tasks and its tags, in one transaction.
pub async fn delete(pool: &PgPool, arn: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM activities WHERE arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM activity_tasks WHERE activity_arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM tags WHERE resource_arn = $1")
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted == 1)
}
