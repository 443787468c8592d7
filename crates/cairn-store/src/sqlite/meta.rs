//! The `meta` table: store-wide values such as the task-token key.

use crate::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::io::Read;

const TOKEN_KEY: &str = "token_key";

/// The stored key, if one was created.
pub fn token_key(conn: &Connection) -> Result<Option<[u8; 32]>> {
    let value: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([TOKEN_KEY], |r| r.get(0))
        .optional()?;
    value.map(|v| decode(&v)).transpose()
}

/// Create the key unless another connection (or process) got there first; return the one
/// that is stored either way.
pub fn create_token_key(conn: &Connection) -> Result<[u8; 32]> {
    let fresh = random_key()?;
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(rusqlite::params![TOKEN_KEY, &fresh[..]])?;
    token_key(conn)?.ok_or_else(|| StoreError::Corrupt("token key vanished".into()))
}

fn decode(v: &[u8]) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt(format!("token key has {} bytes, not 32", v.len())))
}

/// 32 bytes from the operating system's CSPRNG.
fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| StoreError::Database(format!("cannot read /dev/urandom: {e}")))?;
    Ok(key)
}
