//! What the PostgreSQL test files share: a scratch schema per test, and small records.
//!
//! Needs a server: `CAIRN_TEST_POSTGRES_URL=postgres://…` (see `scripts/postgres-test-server`).
//! Without it [`Scratch::new`] says "skipped" on stderr and returns `None`. Each test works in
//! a schema of its own (`test_<random>`, dropped at the end), so tests run in parallel on one
//! database.
#![allow(dead_code)] // each test file uses a part

use cairn_store::postgres::PostgresStore;
use cairn_store::suite::Database;
use cairn_store::{EventRecord, ExecutionRecord, Store};
use sqlx::{Connection, PgConnection};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

const URL_VARIABLE: &str = "CAIRN_TEST_POSTGRES_URL";

/// A scratch schema: created empty, dropped (with everything in it) when the test ends.
pub struct Scratch {
    /// The server's URL, for the administrative connection.
    server: String,
    pub schema: String,
    /// The server's URL with this schema as `search_path`: what the stores connect to.
    pub url: String,
}

impl Scratch {
    /// `None` (after saying so) when no server is configured.
    pub fn new() -> Option<Scratch> {
        let Ok(server) = std::env::var(URL_VARIABLE) else {
            eprintln!("skipped: {URL_VARIABLE} not set");
            return None;
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let random = RandomState::new().hash_one((
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now(),
        ));
        let schema = format!("test_{random:016x}");
        admin(&server, &format!("CREATE SCHEMA {schema}"));
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options[search_path]={schema}");
        Some(Scratch {
            server,
            schema,
            url,
        })
    }

    pub fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url).unwrap()
    }

    /// Run one statement in this schema, outside any store.
    pub fn execute(&self, sql: &str) {
        admin(&self.url, sql);
    }

    /// One `bigint` (or `smallint`, widened) from a query in this schema.
    pub fn scalar(&self, sql: &str) -> i64 {
        block_on(async {
            let mut conn = PgConnection::connect(&self.url).await?;
            let value: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
            conn.close().await?;
            Ok::<_, sqlx::Error>(value)
        })
        .unwrap()
    }
}

impl Database for Scratch {
    fn open(&self) -> Box<dyn Store> {
        Box::new(self.store())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        admin(
            &self.server,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
    }
}

/// Run one statement on its own connection.
pub fn admin(url: &str, sql: &str) {
    block_on(async {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::raw_sql(sql).execute(&mut conn).await?;
        conn.close().await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub fn execution(name: &str) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("arn:aws:states:us-east-1:1:execution:m:{name}"),
        state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
        name: name.into(),
        status: "RUNNING".into(),
        start_date_ms: 0,
        stop_date_ms: None,
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        definition: "{}".into(),
        role_arn: "r".into(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_date_ms: None,
        snapshot: "{}".into(),
        seq: 0,
    }
}

pub fn event(e: &ExecutionRecord, id: u64) -> EventRecord {
    EventRecord {
        execution_arn: e.arn.clone(),
        id,
        body: format!(r#"{{"id":{id}}}"#),
    }
}
