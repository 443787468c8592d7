//! The shared store suite against [`PostgresStore`], plus what only PostgreSQL has (schema
//! versions in a table, several nodes racing, partitions, being called from another runtime).
//!
//! Needs a server (see `common`): without `CAIRN_TEST_POSTGRES_URL` every test says
//! "skipped" on stderr and passes.
#![cfg(feature = "postgres")]

mod common;

use cairn_store::postgres::{partition_of, PostgresStore, SCHEMA_VERSION};
use cairn_store::{Batch, ExecutionRecord, HistoryPage, Store};
use common::{event, execution, Scratch};
use std::sync::Arc;

cairn_store::store_suite!(optional Scratch::new());

#[test]
fn a_newer_schema_is_refused() {
    let Some(db) = Scratch::new() else { return };
    drop(db.store());
    db.execute(&format!(
        "INSERT INTO cairn_migrations (version) VALUES ({})",
        SCHEMA_VERSION + 1
    ));
    let err = PostgresStore::connect(&db.url)
        .err()
        .expect("newer schema must be refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn reopening_keeps_the_schema_version() {
    let Some(db) = Scratch::new() else { return };
    drop(db.store());
    drop(db.store());
    let sql = "SELECT max(version)::bigint FROM cairn_migrations";
    assert_eq!(db.scalar(sql), i64::from(SCHEMA_VERSION));
    let sql = "SELECT count(*) FROM cairn_migrations";
    assert_eq!(db.scalar(sql), i64::from(SCHEMA_VERSION), "each step once");
}

/// A `search_path` naming a schema that does not exist yet: connecting creates it (with a
/// name that needs quoting) and puts the tables there.
#[test]
fn the_schema_named_by_search_path_is_created() {
    let Some(db) = Scratch::new() else { return };
    let server = std::env::var("CAIRN_TEST_POSTGRES_URL").unwrap();
    let name = format!("{}-New", db.schema);
    let separator = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{separator}options[search_path]=\"{name}\"");
    let store = PostgresStore::connect(&url).expect("connect creates the schema");
    store.token_key().unwrap();
    drop(store);
    let tables = format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{name}' AND tablename = 'executions'"
    );
    assert_eq!(db.scalar(&tables), 1);
    drop(PostgresStore::connect(&url).expect("and finds it the next time"));
    db.execute(&format!("DROP SCHEMA \"{name}\" CASCADE"));
}

/// Nodes starting at once on an empty schema: each migration step runs once, and all agree
/// on one token key.
#[test]
fn racing_nodes_migrate_once_and_share_one_key() {
    let Some(db) = Scratch::new() else { return };
    let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
        let nodes: Vec<_> = (0..6)
            .map(|_| s.spawn(|| db.store().token_key().unwrap()))
            .collect();
        nodes.into_iter().map(|n| n.join().unwrap()).collect()
    });
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "{keys:?}");
    let sql = "SELECT count(*) FROM cairn_migrations";
    assert_eq!(db.scalar(sql), i64::from(SCHEMA_VERSION));
}

/// The engine calls the store from `spawn_blocking` threads of its own runtime: connecting,
/// every kind of call and dropping the store all work there.
#[test]
fn works_from_spawn_blocking_of_another_runtime() {
    let Some(db) = Scratch::new() else { return };
    let url = db.url.clone();
    let engine = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    engine.block_on(async move {
        let store =
            tokio::task::spawn_blocking(move || Arc::new(PostgresStore::connect(&url).unwrap()))
                .await
                .unwrap();
        let e = execution("e");
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                let e = execution(&format!("e{i}"));
                tokio::task::spawn_blocking(move || {
                    store
                        .commit(&Batch {
                            executions: vec![e.clone()],
                            events: (1..=3).map(|id| event(&e, id)).collect(),
                            ..Batch::default()
                        })
                        .unwrap();
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        let reader = store.clone();
        let running = tokio::task::spawn_blocking(move || reader.running_executions().unwrap())
            .await
            .unwrap();
        assert_eq!(running.len(), 4);
        tokio::task::spawn_blocking(move || {
            assert_eq!(store.get_execution(&e.arn).unwrap(), None);
            drop(store); // the last handle: closes the pool from inside the other runtime
        })
        .await
        .unwrap();
    });
}

/// Executions and timers carry their partition, computed the same way on every node.
#[test]
fn rows_carry_their_partition() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let executions: Vec<ExecutionRecord> = (0..50).map(|i| execution(&format!("p{i}"))).collect();
    let batch = Batch {
        timers: executions
            .iter()
            .map(|e| cairn_store::TimerRecord {
                execution_arn: e.arn.clone(),
                timer: 1,
                fire_at_ms: 10,
            })
            .collect(),
        executions: executions.clone(),
        ..Batch::default()
    };
    store.commit(&batch).unwrap();
    for e in &executions {
        let expected = i64::from(partition_of(&e.arn));
        let sql = format!(
            "SELECT partition::bigint FROM executions WHERE arn = '{}'",
            e.arn
        );
        assert_eq!(db.scalar(&sql), expected, "{}", e.arn);
        let sql = format!(
            "SELECT partition::bigint FROM timers WHERE execution_arn = '{}'",
            e.arn
        );
        assert_eq!(db.scalar(&sql), expected, "{}", e.arn);
    }
    let sql = "SELECT count(DISTINCT partition) FROM executions";
    assert!(db.scalar(sql) > 1, "executions spread over partitions");
}

/// An event of an execution the store does not know fails the batch (and nothing of it stays).
#[test]
fn events_of_an_unknown_execution_are_refused() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let (e, ghost) = (execution("e"), execution("ghost"));
    let batch = Batch {
        executions: vec![e.clone()],
        events: vec![event(&e, 1), event(&ghost, 1)],
        ..Batch::default()
    };
    let err = store.commit(&batch).expect_err("ghost is unknown");
    assert!(err.to_string().contains(&ghost.arn), "{err}");
    assert_eq!(store.get_execution(&e.arn).unwrap(), None);

    // An execution committed earlier is found by its ARN.
    store
        .commit(&Batch {
            executions: vec![e.clone()],
            ..Batch::default()
        })
        .unwrap();
    store
        .commit(&Batch {
            events: vec![event(&e, 1), event(&e, 2)],
            ..Batch::default()
        })
        .unwrap();
    let history = store.history(&e.arn, HistoryPage::After(0), 10).unwrap();
    assert_eq!(history, vec![event(&e, 1), event(&e, 2)]);
}

/// Event ids are `bigint`s: the whole non-negative range is stored, larger ids are refused.
#[test]
fn event_ids_beyond_bigint_are_refused() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let e = execution("e");
    let big = i64::MAX as u64 - 1;
    let batch = |id| Batch {
        executions: vec![e.clone()],
        events: vec![event(&e, id)],
        ..Batch::default()
    };
    assert!(store.commit(&batch(i64::MAX as u64 + 1)).is_err());
    store.commit(&batch(big)).unwrap();
    let newest = store
        .history(&e.arn, HistoryPage::Before(u64::MAX), 10)
        .unwrap();
    assert_eq!(newest, vec![event(&e, big)]);
    assert!(store
        .history(&e.arn, HistoryPage::After(u64::MAX), 10)
        .unwrap()
        .is_empty());
}

/// This store does not peek (tasks are claimed with `SKIP LOCKED` across nodes, for a claim
/// lease), and a batch that lists `taken_tasks` (the hand-out of claimed tasks) is honoured
/// as in SQLite: queued-and-taken tasks are inserted taken, taken-and-withdrawn ones are gone.
#[test]
fn taken_tasks_in_a_batch_are_honoured() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let activity = "arn:aws:states:us-east-1:1:activity:a";
    assert_eq!(store.peek_activity_tasks(activity, 10).unwrap(), None);
    let e = execution("e");
    let task = |id: u64| cairn_store::ActivityTaskRecord {
        activity_arn: activity.into(),
        execution_arn: e.arn.clone(),
        task: id,
        token: format!("t{id}"),
        input: "{}".into(),
        scheduled_ms: 0,
        taken: false,
    };
    let key = |id: u64| (e.arn.clone(), id);
    store
        .commit(&Batch {
            executions: vec![e.clone()],
            activity_tasks: vec![task(1), task(2), task(3), task(4)],
            taken_tasks: vec![key(2), key(77)],
            ..Batch::default()
        })
        .unwrap();
    store
        .commit(&Batch {
            activity_tasks: vec![task(5), task(6)],
            taken_tasks: vec![key(1), key(4), key(5)],
            withdrawn_tasks: vec![key(4)],
            ..Batch::default()
        })
        .unwrap();
    let claimed: Vec<u64> = std::iter::from_fn(|| store.claim_activity_task(activity).unwrap())
        .map(|t| t.task)
        .take(10)
        .collect();
    assert_eq!(claimed, vec![3, 6]);
    for id in [1, 2, 5] {
        store.release_activity_task(&e.arn, id).unwrap();
    }
    let released: Vec<u64> = std::iter::from_fn(|| store.claim_activity_task(activity).unwrap())
        .map(|t| t.task)
        .take(10)
        .collect();
    assert_eq!(
        released,
        vec![1, 2, 5],
        "4 was withdrawn, the others were taken"
    );
}

/// No server needed: an unreachable server or a malformed URL is an error, not a panic.
#[test]
fn connecting_to_nothing_is_an_error() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = PostgresStore::connect("postgres://cairn@127.0.0.1:1/cairn")
        .err()
        .expect("nothing listens on port 1");
    assert!(matches!(err, cairn_store::StoreError::Database(_)), "{err}");
    assert!(PostgresStore::connect("mysql://nope").is_err());
}

/// Two nodes (handles), several writer threads each, committing batches for their own
/// executions at once: every batch lands whole, and each execution's history is intact.
#[test]
fn nodes_commit_side_by_side() {
    let Some(db) = Scratch::new() else { return };
    let nodes = [db.store(), db.store()];
    const WRITERS_PER_NODE: usize = 3;
    const STEPS: u64 = 20;
    std::thread::scope(|s| {
        for (n, node) in nodes.iter().enumerate() {
            for w in 0..WRITERS_PER_NODE {
                s.spawn(move || {
                    let mut e = execution(&format!("n{n}w{w}"));
                    for step in 0..STEPS {
                        e.snapshot = format!(r#"{{"step":{step}}}"#);
                        let batch = Batch {
                            executions: vec![e.clone()],
                            events: (1..=3).map(|i| event(&e, step * 3 + i)).collect(),
                            ..Batch::default()
                        };
                        node.commit(&batch).unwrap();
                    }
                });
            }
        }
    });
    let running = nodes[1].running_executions().unwrap();
    assert_eq!(running.len(), 2 * WRITERS_PER_NODE);
    for e in &running {
        assert_eq!(e.snapshot, format!(r#"{{"step":{}}}"#, STEPS - 1));
        let history = nodes[0]
            .history(&e.arn, HistoryPage::After(0), 1_000)
            .unwrap();
        let ids: Vec<u64> = history.iter().map(|ev| ev.id).collect();
        assert_eq!(ids, (1..=STEPS * 3).collect::<Vec<_>>(), "{}", e.arn);
    }
}

/// A store method called straight from async code on a multi-thread runtime (as a quick
/// lookup in an `async fn` may be) works instead of panicking.
#[test]
fn works_from_async_code_on_a_multi_thread_runtime() {
    let Some(db) = Scratch::new() else { return };
    let store = Arc::new(db.store());
    let engine = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let e = execution("e");
    engine.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let e = execution(&format!("a{i}"));
                    store
                        .commit(&Batch {
                            executions: vec![e.clone()],
                            ..Batch::default()
                        })
                        .unwrap();
                    tokio::task::yield_now().await;
                    store.get_execution(&e.arn).unwrap().unwrap().name
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), format!("a{i}"));
        }
        assert_eq!(store.get_execution(&e.arn).unwrap(), None);
    });
}
