//! The `meta` table: store-wide values such as the task-token key.

use crate::{Result, StoreError};
use sqlx::PgPool;
use std::io::Read;

const TOKEN_KEY: &str = "token_key";

/// The stored key, created first if there is none. Two nodes racing both offer a fresh key;
/// `ON CONFLICT DO NOTHING` keeps the first, and both read back the one that was kept.
pub async fn token_key(pool: &PgPool) -> Result<[u8; 32]> {
    let fresh = random_key()?;
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(TOKEN_KEY)
        .bind(&fresh[..])
        .execute(pool)
        .await?;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(TOKEN_KEY)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt("token key vanished".into()))?;
    stored
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("token key has {} bytes, not 32", stored.len())))
}

/// 32 bytes from the operating system's CSPRNG.
fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| StoreError::Database(format!("cannot read /dev/urandom: {e}")))?;
    Ok(key)
}
