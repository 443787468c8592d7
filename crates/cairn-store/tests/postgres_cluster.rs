//! [`Cluster`] on PostgreSQL: membership, partition leases passing between nodes, fenced
//! batches, claim leases, and the notifications that wake other nodes. Each store handle
//! stands for one node.
//!
//! Needs a server (see `common`): without `CAIRN_TEST_POSTGRES_URL` every test says
//! "skipped" on stderr and passes. Lease lapses are real: those tests give a lease one
//! second and wait it out (the database's clock decides, nothing here can fake it).
#![cfg(feature = "postgres")]

mod common;

use cairn_store::postgres::{partition_of, PostgresStore, CLAIM_LEASE, PARTITIONS};
use cairn_store::{
    ActivityTaskRecord, Batch, Cluster, ExecutionRecord, Fence, HistoryPage, Lease, NodeRecord,
    Notification, Store, StoreError, TimerRecord,
};
use common::{event, execution, Scratch};
use sqlx::{Connection, PgConnection};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_secs(1);
/// How long a notification may take to arrive.
const DELIVERY: Duration = Duration::from_secs(5);

fn cluster(store: &PostgresStore) -> &dyn Cluster {
    store
        .cluster()
        .expect("PostgreSQL is a store for several nodes")
}

fn node(id: &str) -> NodeRecord {
    NodeRecord {
        id: id.into(),
        address: format!("{id}.internal:8080"),
    }
}

fn partitions(leases: &[Lease]) -> Vec<i16> {
    leases.iter().map(|l| l.partition).collect()
}

fn fence(node: &str, leases: &[Lease]) -> Option<Fence> {
    Some(Fence {
        node: node.into(),
        leases: leases.iter().map(|l| (l.partition, l.epoch)).collect(),
    })
}

/// The lease on `partition` among `leases`.
fn lease_of(leases: &[Lease], partition: i16) -> Lease {
    *leases
        .iter()
        .find(|l| l.partition == partition)
        .unwrap_or_else(|| panic!("no lease on partition {partition} in {leases:?}"))
}

fn task(activity: &str, e: &ExecutionRecord, id: u64) -> ActivityTaskRecord {
    ActivityTaskRecord {
        activity_arn: activity.into(),
        execution_arn: e.arn.clone(),
        task: id,
        token: format!("token-{id}"),
        input: "{}".into(),
        scheduled_ms: 0,
        taken: false,
    }
}

/// A listener on `store` whose notifications arrive on the returned channel.
fn listen(store: &PostgresStore) -> mpsc::Receiver<Notification> {
    let (tx, rx) = mpsc::channel();
    cluster(store)
        .listen(Arc::new(move |n| {
            let _ = tx.send(n);
        }))
        .unwrap();
    rx
}

fn next(rx: &mpsc::Receiver<Notification>) -> Notification {
    rx.recv_timeout(DELIVERY).expect("a notification in time")
}

#[test]
fn every_partition_has_a_lease_row() {
    let Some(db) = Scratch::new() else { return };
    drop(db.store());
    let sql = "SELECT count(*) FROM partition_leases \
               WHERE owner IS NULL AND epoch = 0 AND partition BETWEEN 0 AND 255";
    assert_eq!(db.scalar(sql), i64::from(PARTITIONS));
    assert_eq!(db.scalar("SELECT count(*) FROM partition_leases"), 256);
}

/// Node A holds every partition while it renews; once its lease lapses, node B takes them
/// all with the epoch bumped, and A's renewal finds it has none left. A lease share-locked
/// by a commit in flight is skipped until that commit ends. Membership lapses the same way.
#[test]
fn leases_pass_to_another_node_when_they_lapse() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let (ca, cb) = (cluster(&a), cluster(&b));
    ca.heartbeat(&node("a"), SHORT).unwrap();
    cb.heartbeat(&node("b"), LONG).unwrap();
    assert_eq!(cb.live_nodes().unwrap(), vec![node("a"), node("b")]);

    let held = ca.acquire_leases("a", 1_000, SHORT).unwrap();
    assert_eq!(partitions(&held), (0..PARTITIONS).collect::<Vec<_>>());
    assert!(held.iter().all(|l| l.epoch == 1), "{held:?}");
    assert_eq!(cb.acquire_leases("b", 256, LONG).unwrap(), vec![]);
    assert_eq!(
        ca.acquire_leases("a", 1, LONG).unwrap(),
        vec![],
        "none left"
    );
    assert_eq!(ca.acquire_leases("a", 0, LONG).unwrap(), vec![]);
    assert_eq!(ca.renew_leases("a", &held, SHORT).unwrap(), held);
    let owners = cb.lease_owners().unwrap();
    assert_eq!(owners.len(), 256);
    assert!(owners.iter().all(|(_, n)| *n == node("a")));

    // A commit of A's in flight on partition 7 (its fence holds the row FOR SHARE).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut in_flight = runtime.block_on(PgConnection::connect(&db.url)).unwrap();
    runtime
        .block_on(
            sqlx::raw_sql("BEGIN; SELECT cairn_fence('a', '{7}', '{1}')").execute(&mut in_flight),
        )
        .unwrap();

    std::thread::sleep(SHORT + Duration::from_millis(300));
    assert_eq!(
        cb.live_nodes().unwrap(),
        vec![node("b")],
        "a's registration lapsed"
    );
    assert_eq!(cb.lease_owners().unwrap(), vec![], "a's leases lapsed");
    let taken = cb.acquire_leases("b", 256, LONG).unwrap();
    let expected: Vec<i16> = (0..PARTITIONS).filter(|p| *p != 7).collect();
    assert_eq!(
        partitions(&taken),
        expected,
        "7 is locked by a commit in flight"
    );
    assert!(taken.iter().all(|l| l.epoch == 2), "{taken:?}");
    runtime
        .block_on(sqlx::raw_sql("COMMIT").execute(&mut in_flight))
        .unwrap();
    let seven = cb.acquire_leases("b", 256, LONG).unwrap();
    assert_eq!(
        seven,
        vec![Lease {
            partition: 7,
            epoch: 2
        }]
    );

    assert_eq!(
        ca.renew_leases("a", &held, LONG).unwrap(),
        vec![],
        "all taken over"
    );
    let owners = ca.lease_owners().unwrap();
    assert_eq!(owners.len(), 256);
    assert!(owners.iter().all(|(_, n)| *n == node("b")));
    // Renewing what B holds keeps it; asking with A's name or an old epoch does not.
    let all_of_b: Vec<Lease> = [taken, seven].concat();
    assert_eq!(cb.renew_leases("b", &all_of_b, LONG).unwrap().len(), 256);
    assert_eq!(ca.renew_leases("a", &all_of_b, LONG).unwrap(), vec![]);
    assert_eq!(cb.renew_leases("b", &held, LONG).unwrap(), vec![]);
}

/// Heartbeats refresh a registration (keeping its start), leaving removes it.
#[test]
fn nodes_register_refresh_and_leave() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let c = cluster(&store);
    assert_eq!(c.live_nodes().unwrap(), vec![]);
    c.heartbeat(&node("n2"), LONG).unwrap();
    c.heartbeat(&node("n1"), LONG).unwrap();
    let started =
        "SELECT (extract(epoch FROM started_at) * 1e6)::bigint FROM nodes WHERE id = 'n2'";
    let first_start = db.scalar(started);
    let moved = NodeRecord {
        address: "elsewhere:9000".into(),
        ..node("n2")
    };
    c.heartbeat(&moved, LONG).unwrap();
    assert_eq!(c.live_nodes().unwrap(), vec![node("n1"), moved]);
    assert_eq!(db.scalar(started), first_start, "started_at is kept");
    c.leave("n1").unwrap();
    c.leave("n1").unwrap(); // twice is harmless
    assert_eq!(c.live_nodes().unwrap().len(), 1);
}

/// A batch fenced with leases its node no longer holds fails whole with `Fenced`: after a
/// takeover, after a release, with the wrong epoch or node. With the current lease it
/// commits, and a batch without a fence is never checked.
#[test]
fn fenced_batches_commit_only_under_the_current_lease() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let (ca, cb) = (cluster(&a), cluster(&b));
    let activity = "arn:aws:states:us-east-1:1:activity:fenced";
    let e = execution("fenced");
    let p = partition_of(&e.arn);
    let mine = ca.acquire_leases("a", 256, LONG).unwrap();
    let lease = lease_of(&mine, p);
    a.commit(&Batch {
        executions: vec![e.clone()],
        events: vec![event(&e, 1)],
        fence: fence("a", &[lease]),
        ..Batch::default()
    })
    .unwrap();

    // The next step of `e`, in full: execution, event, task, timer.
    let mut stopped = e.clone();
    stopped.status = "ABORTED".into();
    let step = |fence: Option<Fence>| Batch {
        executions: vec![stopped.clone()],
        events: vec![event(&e, 2)],
        activity_tasks: vec![task(activity, &e, 2)],
        timers: vec![TimerRecord {
            execution_arn: e.arn.clone(),
            timer: 2,
            fire_at_ms: 5,
        }],
        fence,
        ..Batch::default()
    };
    let untouched = |store: &PostgresStore| {
        assert_eq!(
            store.get_execution(&e.arn).unwrap().unwrap().status,
            "RUNNING"
        );
        let history = store.history(&e.arn, HistoryPage::After(0), 10).unwrap();
        assert_eq!(history, vec![event(&e, 1)]);
        assert_eq!(store.timers().unwrap(), vec![]);
        assert_eq!(store.claim_activity_task(activity).unwrap(), None);
    };
    let fenced = |result: cairn_store::Result<()>| match result {
        Err(StoreError::Fenced(why)) => why,
        other => panic!("expected Fenced, got {other:?}"),
    };

    let wrong_epoch = Lease {
        epoch: lease.epoch + 1,
        ..lease
    };
    let why = fenced(a.commit(&step(fence("a", &[wrong_epoch]))));
    assert!(why.contains(&format!("partition {p} epoch 2")), "{why}");
    fenced(a.commit(&step(fence("b", &[lease]))));
    let nowhere = Lease {
        partition: PARTITIONS,
        epoch: 1,
    };
    fenced(a.commit(&step(fence("a", &[lease, nowhere]))));
    untouched(&a);

    // A releases the partition, B takes it over (epoch + 1).
    ca.release_leases("a", &[lease]).unwrap();
    let why = fenced(a.commit(&step(fence("a", &[lease]))));
    assert!(why.contains("free"), "{why}");
    let theirs = cb.acquire_leases("b", 256, LONG).unwrap();
    assert_eq!(
        theirs,
        vec![Lease {
            partition: p,
            epoch: lease.epoch + 1
        }]
    );
    let why = fenced(a.commit(&step(fence("a", &[lease]))));
    assert!(why.contains("now b at epoch"), "{why}");
    fenced(a.commit(&step(fence("a", &theirs))));
    untouched(&a);
    untouched(&b);

    // The new owner writes; so does a batch with no fence at all.
    b.commit(&step(fence("b", &theirs))).unwrap();
    assert_eq!(a.get_execution(&e.arn).unwrap().unwrap().status, "ABORTED");
    let unfenced = Batch {
        events: vec![event(&e, 3)],
        ..Batch::default()
    };
    a.commit(&unfenced).unwrap();
    assert_eq!(
        a.history(&e.arn, HistoryPage::After(0), 10).unwrap().len(),
        3
    );
}

/// The race the fence exists for: a takeover (an `UPDATE` of the lease row) is in flight
/// when the old owner commits. The commit waits for it, then sees the new epoch and fails.
#[test]
fn a_commit_racing_a_takeover_waits_and_fails() {
    let Some(db) = Scratch::new() else { return };
    let a = db.store();
    let e = execution("raced");
    let p = partition_of(&e.arn);
    let lease = lease_of(&cluster(&a).acquire_leases("a", 256, LONG).unwrap(), p);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut takeover = runtime.block_on(PgConnection::connect(&db.url)).unwrap();
    let sql = format!(
        "BEGIN; UPDATE partition_leases SET owner = 'b', epoch = epoch + 1 WHERE partition = {p}"
    );
    runtime
        .block_on(sqlx::raw_sql(&sql).execute(&mut takeover))
        .unwrap();

    std::thread::scope(|s| {
        let commit = s.spawn(|| {
            a.commit(&Batch {
                executions: vec![e.clone()],
                events: vec![event(&e, 1)],
                fence: fence("a", &[lease]),
                ..Batch::default()
            })
        });
        // Wait until the commit is blocked on the lease row, then let the takeover commit.
        let waiting = "SELECT count(*) FROM pg_stat_activity \
                       WHERE wait_event_type = 'Lock' AND query LIKE '%cairn_fence($39%'";
        let deadline = Instant::now() + Duration::from_secs(10);
        while db.scalar(waiting) == 0 {
            assert!(
                !commit.is_finished(),
                "the commit did not wait for the takeover"
            );
            assert!(
                Instant::now() < deadline,
                "the commit never reached the lease row"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        runtime
            .block_on(sqlx::raw_sql("COMMIT").execute(&mut takeover))
            .unwrap();
        let result = commit.join().unwrap();
        assert!(matches!(result, Err(StoreError::Fenced(_))), "{result:?}");
    });
    assert_eq!(a.get_execution(&e.arn).unwrap(), None);
}

/// Released leases are free at once (no waiting for a lapse), and a listener hears of it.
/// Releasing leases one no longer holds changes nothing.
#[test]
fn released_leases_are_free_at_once_and_announced() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let (ca, cb) = (cluster(&a), cluster(&b));
    let heard = listen(&b);
    ca.heartbeat(&node("a"), LONG).unwrap();
    cb.heartbeat(&node("b"), LONG).unwrap();
    let first = ca.acquire_leases("a", 10, LONG).unwrap();
    assert_eq!(partitions(&first), (0..10).collect::<Vec<_>>());
    let second = cb.acquire_leases("b", 10, LONG).unwrap();
    assert_eq!(partitions(&second), (10..20).collect::<Vec<_>>());

    ca.release_leases("a", &first[..4]).unwrap();
    assert_eq!(next(&heard), Notification::LeasesReleased);
    let freed = cb.acquire_leases("b", 4, LONG).unwrap();
    let expected: Vec<Lease> = (0..4)
        .map(|partition| Lease {
            partition,
            epoch: 2,
        })
        .collect();
    assert_eq!(freed, expected);

    // Stale releases (B holds these now, or A never held them) are ignored, and silent.
    ca.release_leases("a", &first[..4]).unwrap();
    ca.release_leases("a", &second).unwrap();
    ca.release_leases("a", &[]).unwrap();
    let owners = cb.lease_owners().unwrap();
    let of_b: Vec<i16> = owners
        .iter()
        .filter(|(_, n)| n.id == "b")
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(of_b, (0..4).chain(10..20).collect::<Vec<_>>());
    ca.release_leases("a", &first[4..]).unwrap();
    // Notifications arrive in commit order: had a stale release announced anything, it
    // would come before this release's, and before the marker.
    let marker = "arn:aws:states:us-east-1:1:activity:marker";
    let e = execution("marker");
    a.commit(&Batch {
        executions: vec![e.clone()],
        activity_tasks: vec![task(marker, &e, 1)],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(next(&heard), Notification::LeasesReleased);
    assert_eq!(next(&heard), Notification::ActivityTask(marker.into()));
}

/// A commit that queues waiting tasks wakes the pollers of those activities on every node,
/// once per activity; so does a released task. A failed batch, a task withdrawn or taken by
/// its own batch, and a fenced-out batch announce nothing.
#[test]
fn queued_tasks_wake_listeners() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let heard = listen(&b);
    let arn = |name: &str| format!("arn:aws:states:us-east-1:1:activity:{name}");
    let e = execution("waker");
    let mut batch = Batch {
        executions: vec![e.clone()],
        events: vec![event(&e, 1)],
        activity_tasks: vec![
            task(&arn("x"), &e, 1),
            task(&arn("y"), &e, 2),
            task(&arn("x"), &e, 3),
            task(&arn("withdrawn"), &e, 4),
            task(&arn("taken"), &e, 5),
        ],
        withdrawn_tasks: vec![(e.arn.clone(), 4)],
        taken_tasks: vec![(e.arn.clone(), 5)],
        ..Batch::default()
    };
    a.commit(&batch).unwrap();
    let mut got = vec![next(&heard), next(&heard)];
    got.sort_by_key(|n| format!("{n:?}"));
    let expected = vec![
        Notification::ActivityTask(arn("x")),
        Notification::ActivityTask(arn("y")),
    ];
    assert_eq!(got, expected, "once per activity");

    // Fails: event 1 exists.
    batch.activity_tasks = vec![task(&arn("failed"), &e, 6)];
    assert!(a.commit(&batch).is_err());
    // Fenced out: "a" holds no lease.
    let fenced = Batch {
        activity_tasks: vec![task(&arn("fenced"), &e, 7)],
        fence: Some(Fence {
            node: "a".into(),
            leases: vec![(partition_of(&e.arn), 1)],
        }),
        ..Batch::default()
    };
    assert!(matches!(a.commit(&fenced), Err(StoreError::Fenced(_))));
    // Notifications arrive in commit order: had anything above announced, it would come
    // before this one.
    let claimed = a.claim_activity_task(&arn("y")).unwrap().unwrap();
    a.release_activity_task(&claimed.execution_arn, claimed.task)
        .unwrap();
    assert_eq!(next(&heard), Notification::ActivityTask(arn("y")));
    a.release_activity_task(&e.arn, 99).unwrap(); // unknown: silent
    a.commit(&Batch {
        activity_tasks: vec![task(&arn("z"), &e, 8)],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(next(&heard), Notification::ActivityTask(arn("z")));
}

/// A listener whose connection dies subscribes again by itself (notifications sent in the
/// meantime may be lost: they are hints); dropping the store ends it and its connection.
#[test]
fn a_listener_outlives_its_connection_and_ends_with_the_store() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let heard = listen(&b);
    let listeners = format!(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query LIKE '%LISTEN \"cairn_leases:{}\"%'",
        db.schema
    );
    assert_eq!(db.scalar(&listeners), 1);
    let pid = listeners.replace("count(*)", "min(pid)::bigint");
    let first_pid = db.scalar(&pid);
    db.execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query LIKE '%LISTEN \"cairn_leases:{}\"%'",
        db.schema
    ));
    // Announce until one is heard: the first ones may fall into the reconnection gap.
    let activity = "arn:aws:states:us-east-1:1:activity:again";
    let e = execution("again");
    a.commit(&Batch {
        executions: vec![e.clone()],
        ..Batch::default()
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 0;
    let heard_again = loop {
        id += 1;
        a.commit(&Batch {
            activity_tasks: vec![task(activity, &e, id)],
            ..Batch::default()
        })
        .unwrap();
        if let Ok(n) = heard.recv_timeout(Duration::from_millis(200)) {
            break n;
        }
        assert!(Instant::now() < deadline, "the listener never came back");
    };
    assert_eq!(heard_again, Notification::ActivityTask(activity.into()));
    assert_ne!(db.scalar(&pid), first_pid, "a new connection listens");

    let started = Instant::now();
    drop(b);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed, not timed out"
    );
    assert_eq!(
        db.scalar(&listeners),
        0,
        "the listener's connection is closed"
    );
    assert!(matches!(
        heard.recv_timeout(DELIVERY),
        Err(mpsc::RecvTimeoutError::Disconnected)
    ));
}

/// A claim is a lease: the task is nobody else's while it lasts, the hand-out commit makes
/// it taken for good (or withdraws it), a release ends it at once, and a claim whose node
/// never committed the hand-out lapses and the task is handed out again.
#[test]
fn claims_are_leases_until_the_hand_out_commits() {
    let Some(db) = Scratch::new() else { return };
    let (a, b) = (db.store(), db.store());
    let activity = "arn:aws:states:us-east-1:1:activity:claimed";
    let e = execution("claims");
    a.commit(&Batch {
        executions: vec![e.clone()],
        activity_tasks: (1..=4).map(|id| task(activity, &e, id)).collect(),
        ..Batch::default()
    })
    .unwrap();
    let claim = |store: &PostgresStore| store.claim_activity_task(activity).unwrap();
    let first = claim(&a).unwrap();
    assert_eq!(
        first,
        ActivityTaskRecord {
            taken: true,
            ..task(activity, &e, 1)
        }
    );
    let left = "SELECT extract(epoch FROM claimed_until - now())::bigint \
                FROM activity_tasks WHERE task = 1";
    let lease = CLAIM_LEASE.as_secs() as i64;
    assert!((lease - 2..=lease).contains(&db.scalar(left)));
    assert_eq!(claim(&b).unwrap().task, 2, "another node gets the next one");
    assert_eq!(claim(&a).unwrap().task, 3);
    assert_eq!(claim(&b).unwrap().task, 4);
    assert_eq!(claim(&a), None);

    // The hand-outs: 1 is taken for good, 2 withdrawn (its execution no longer wants it).
    // 3 and 4 are never committed (their node crashed); 4 is released (a poller went away).
    a.commit(&Batch {
        events: vec![event(&e, 1)],
        taken_tasks: vec![(e.arn.clone(), 1)],
        withdrawn_tasks: vec![(e.arn.clone(), 2)],
        ..Batch::default()
    })
    .unwrap();
    b.release_activity_task(&e.arn, 4).unwrap();
    assert_eq!(claim(&b).unwrap().task, 4, "released: claimable at once");
    assert_eq!(claim(&b), None);

    // Time passes (30 s, done here by moving the claims back): the claims on 3 and 4 lapse.
    db.execute(
        "UPDATE activity_tasks SET claimed_until = now() - interval '1 second' \
         WHERE claimed_until IS NOT NULL",
    );
    assert_eq!(
        claim(&b).unwrap().task,
        3,
        "a lapsed claim is handed out again"
    );
    assert_eq!(claim(&a).unwrap().task, 4);
    assert_eq!(claim(&a), None, "1 stays taken, 2 is gone");
    let taken = "SELECT count(*) FROM activity_tasks WHERE taken AND claimed_until IS NULL";
    assert_eq!(db.scalar(taken), 1);
}

/// A node taking over partitions loads exactly their running executions and their timers.
#[test]
fn partition_loads_return_only_those_partitions() {
    let Some(db) = Scratch::new() else { return };
    let store = db.store();
    let c = cluster(&store);
    let executions: Vec<ExecutionRecord> =
        (0..60).map(|i| execution(&format!("load{i}"))).collect();
    let mut batch = Batch::default();
    for (i, e) in executions.iter().enumerate() {
        let mut e = e.clone();
        if i % 3 == 0 {
            e.status = "SUCCEEDED".into();
        }
        batch.executions.push(e);
        batch.timers.push(TimerRecord {
            execution_arn: executions[i].arn.clone(),
            timer: 1,
            fire_at_ms: 1_000 - i as i64,
        });
    }
    store.commit(&batch).unwrap();
    let wanted: Vec<i16> = executions[..10]
        .iter()
        .map(|e| partition_of(&e.arn))
        .collect();
    let inside = |arn: &str| wanted.contains(&partition_of(arn));

    let running = c.running_executions_in(&wanted).unwrap();
    let expected: Vec<ExecutionRecord> = store
        .running_executions()
        .unwrap()
        .into_iter()
        .filter(|e| inside(&e.arn))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(running, expected);

    let timers = c.timers_in(&wanted).unwrap();
    let expected: Vec<TimerRecord> = store
        .timers()
        .unwrap()
        .into_iter()
        .filter(|t| inside(&t.execution_arn))
        .collect();
    assert!(expected.len() >= 10);
    assert_eq!(timers, expected);

    assert_eq!(c.running_executions_in(&[]).unwrap(), vec![]);
    assert_eq!(c.timers_in(&[]).unwrap(), vec![]);
    let all: Vec<i16> = (0..PARTITIONS).collect();
    assert_eq!(c.running_executions_in(&all).unwrap().len(), 40);
    assert_eq!(c.timers_in(&all).unwrap().len(), 60);
}

/// A node restarted under its old id takes its leases back at once, with new epochs that
/// fence out anything the previous process might still write; other nodes' leases stay.
#[test]
fn a_restarted_node_reclaims_its_own_leases() {
    let Some(db) = Scratch::new() else { return };
    let (before, other) = (db.store(), db.store());
    let old = cluster(&before).acquire_leases("a", 3, LONG).unwrap();
    let theirs = cluster(&other).acquire_leases("b", 2, LONG).unwrap();
    drop(before);

    let after = db.store();
    let back = cluster(&after).reclaim_leases("a", LONG).unwrap();
    assert_eq!(partitions(&back), partitions(&old));
    assert!(
        back.iter().zip(&old).all(|(n, o)| n.epoch == o.epoch + 1),
        "{back:?}"
    );
    let stale = Batch {
        executions: vec![execution("reclaimed")],
        fence: fence("a", &old[..1]),
        ..Batch::default()
    };
    assert!(matches!(after.commit(&stale), Err(StoreError::Fenced(_))));
    assert_eq!(cluster(&after).reclaim_leases("c", LONG).unwrap(), vec![]);
    assert_eq!(
        cluster(&other).renew_leases("b", &theirs, LONG).unwrap(),
        theirs,
        "another node's leases are not touched"
    );
}

/// A renewal and a fenced commit of the same node lock the lease rows in the same order
/// (by partition), so they wait for each other instead of deadlocking. The lease of partition
/// 3 is rewritten first, so its row lies after partition 9's in the heap, and the renewing
/// store scans the heap (no index scans): a renewal locking rows in heap order would take 9,
/// then wait for 3, held by the commit, which then waits for 9.
#[test]
fn renewals_and_fenced_commits_never_deadlock() {
    let Some(db) = Scratch::new() else { return };
    let a = db.store();
    let held = cluster(&a).acquire_leases("a", 256, LONG).unwrap();
    let (three, nine) = (lease_of(&held, 3), lease_of(&held, 9));
    db.execute("UPDATE partition_leases SET expires_at = expires_at WHERE partition = 3");
    let renewer = PostgresStore::connect(&format!(
        "{}&options[enable_indexscan]=off&options[enable_bitmapscan]=off",
        db.url
    ))
    .unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut commit = runtime.block_on(PgConnection::connect(&db.url)).unwrap();
    let fence_one =
        |p: i16, epoch: i64| format!("SELECT cairn_fence('a', '{{{p}}}', '{{{epoch}}}')");
    runtime
        .block_on(
            sqlx::raw_sql(&format!("BEGIN; {}", fence_one(3, three.epoch))).execute(&mut commit),
        )
        .unwrap();

    std::thread::scope(|s| {
        let renewal = s.spawn(|| cluster(&renewer).renew_leases("a", &[three, nine], LONG));
        let waiting = "SELECT count(*) FROM pg_stat_activity \
                       WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE partition_leases%'";
        let deadline = Instant::now() + Duration::from_secs(10);
        while db.scalar(waiting) == 0 {
            assert!(
                !renewal.is_finished(),
                "the renewal did not wait for the commit"
            );
            assert!(
                Instant::now() < deadline,
                "the renewal never reached the lease rows"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The commit goes on to the second lease: free, since the renewal waits at the first.
        runtime
            .block_on(sqlx::raw_sql(&fence_one(9, nine.epoch)).execute(&mut commit))
            .expect("the commit's second lease is not held by the waiting renewal");
        runtime
            .block_on(sqlx::raw_sql("COMMIT").execute(&mut commit))
            .unwrap();
        assert_eq!(renewal.join().unwrap().unwrap(), vec![three, nine]);
    });
}
