//! The shared store suite against [`SqliteStore`], each case on a fresh file in a temporary
//! directory, plus what only SQLite has (schema versions, the file on disk).

use cairn_store::sqlite::SqliteStore;
use cairn_store::suite::Database;
use cairn_store::{Batch, EventRecord, ExecutionRecord, HistoryPage, Store};
use std::path::PathBuf;
use tempfile::TempDir;

/// A scratch database: removed with its directory when the test ends.
struct Scratch {
    _dir: TempDir,
    path: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        // A nested path: `open` creates the missing directories.
        let path = dir.path().join("data").join("cairn.db");
        Scratch { _dir: dir, path }
    }
}

impl Database for Scratch {
    fn open(&self) -> Box<dyn Store> {
        Box::new(SqliteStore::open(&self.path).unwrap())
    }
}

cairn_store::store_suite!(Scratch::new());

fn execution() -> ExecutionRecord {
    ExecutionRecord {
        arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
        name: "e".into(),
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

/// One process owns a SQLite store: no cluster, and a batch's fence is not checked.
#[test]
fn a_single_process_store_has_no_cluster_and_ignores_fences() {
    let db = Scratch::new();
    let store = db.open();
    assert!(store.cluster().is_none());
    let e = execution();
    let batch = Batch {
        executions: vec![e.clone()],
        fence: Some(cairn_store::Fence {
            node: "nobody".into(),
            leases: vec![(0, 42)],
        }),
        ..Batch::default()
    };
    store.commit(&batch).unwrap();
    assert_eq!(store.get_execution(&e.arn).unwrap().unwrap().name, "e");
}

#[test]
fn a_newer_schema_is_refused() {
    let db = Scratch::new();
    drop(db.open());
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    conn.pragma_update(
        None,
        "user_version",
        cairn_store::sqlite::SCHEMA_VERSION + 1,
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&db.path)
        .err()
        .expect("newer schema must be refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn reopening_keeps_the_schema_version() {
    let db = Scratch::new();
    drop(db.open());
    drop(db.open());
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, cairn_store::sqlite::SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn event_ids_use_the_signed_64_bit_range() {
    let db = Scratch::new();
    let store = db.open();
    let e = execution();
    let event = |id| EventRecord {
        execution_arn: e.arn.clone(),
        id,
        body: format!("{{\"id\":{id}}}"),
    };
    let too_big = Batch {
        executions: vec![e.clone()],
        events: vec![event(1 << 63)],
        ..Batch::default()
    };
    assert!(store.commit(&too_big).is_err());
    assert_eq!(store.get_execution(&e.arn).unwrap(), None);
    let largest = i64::MAX as u64;
    let batch = Batch {
        executions: vec![e.clone()],
        events: vec![event(1), event(largest)],
        ..Batch::default()
    };
    store.commit(&batch).unwrap();
    let newest_first = store
        .history(&e.arn, HistoryPage::Before(u64::MAX), 10)
        .unwrap();
    assert_eq!(newest_first, vec![event(largest), event(1)]);
    let page = store.history(&e.arn, HistoryPage::After(1), 10).unwrap();
    assert_eq!(page, vec![event(largest)]);
    assert!(store
        .history(&e.arn, HistoryPage::After(largest), 10)
        .unwrap()
        .is_empty());
    assert!(store
        .history(&e.arn, HistoryPage::After(u64::MAX), 10)
        .unwrap()
        .is_empty());
}

/// WAL: a reader is not held up by a writer, even one in another process that holds the
/// write lock (without WAL this read would wait out the busy timeout and fail).
#[test]
fn reads_proceed_while_another_connection_writes() {
    let db = Scratch::new();
    let store = db.open();
    let e = execution();
    store
        .commit(&Batch {
            executions: vec![e.clone()],
            ..Batch::default()
        })
        .unwrap();

    let mut other = rusqlite::Connection::open(&db.path).unwrap();
    let tx = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("UPDATE executions SET status = 'ABORTED'", [])
        .unwrap();
    let seen = store.get_execution(&e.arn).unwrap().unwrap();
    assert_eq!(
        seen.status, "RUNNING",
        "readers see the last committed state"
    );
    tx.commit().unwrap();
    assert_eq!(
        store.get_execution(&e.arn).unwrap().unwrap().status,
        "ABORTED"
    );
}

/// What `synchronous=NORMAL` promises: a commit that returned survives the process being
/// killed right after it (no clean close, no checkpoint; the next open recovers from the WAL).
/// The test runs itself as a child process that commits and then aborts.
#[test]
fn a_killed_process_loses_no_commit() {
    const CHILD: &str = "CAIRN_STORE_CRASH_CHILD_DB";
    let e = execution();
    let events = |n: u64| -> Vec<EventRecord> {
        (1..=n)
            .map(|id| EventRecord {
                execution_arn: e.arn.clone(),
                id,
                body: format!("{{\"id\":{id}}}"),
            })
            .collect()
    };
    if let Some(path) = std::env::var_os(CHILD) {
        let store = SqliteStore::open(std::path::Path::new(&path)).unwrap();
        for id in 1..=50 {
            let step = Batch {
                executions: vec![e.clone()],
                events: events(id).split_off(id as usize - 1),
                ..Batch::default()
            };
            store.commit(&step).unwrap();
        }
        std::process::abort();
    }

    let db = Scratch::new();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_process_loses_no_commit",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, &db.path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the child must die, not finish: {status}"
    );
    assert!(
        db.path.with_extension("db-wal").exists(),
        "the child left its WAL behind"
    );

    let store = db.open();
    assert_eq!(
        store.history(&e.arn, HistoryPage::After(0), 100).unwrap(),
        events(50)
    );
    assert!(store.get_execution(&e.arn).unwrap().is_some());
}
