//! Suite cases of the `activity_tasks` table: FIFO claims, peeks taken by a commit,
//! concurrent claimers, release, withdrawal, backlog.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use std::collections::HashSet;

/// Stores that peek (`peek_activity_tasks` answers `Some`) show the oldest untaken tasks
/// without taking them; a commit that lists one in `taken_tasks` takes it, and nothing else
/// does. Stores that do not peek must say so with `None`.
pub fn peeked_tasks_are_taken_by_the_commit_that_hands_them_out(db: &dyn Database) {
    let store = db.open();
    let resize = activity("resize");
    let e = execution("m", "e", 1);
    let mut first = start(&e, 1);
    first.activity_tasks = vec![
        task(&resize, &e, 5),
        task(&resize, &e, 2),
        task(&resize, &e, 7),
    ];
    store.commit(&first).unwrap();
    let Some(peeked) = store.peek_activity_tasks(&resize.arn, 2).unwrap() else {
        return; // this store takes tasks with claim_activity_task only
    };
    let ids = |tasks: &[ActivityTaskRecord]| tasks.iter().map(|t| t.task).collect::<Vec<_>>();
    assert_eq!(ids(&peeked), vec![5, 2], "FIFO, limited");
    assert!(peeked.iter().all(|t| !t.taken));
    // Peeking takes nothing.
    let again = store.peek_activity_tasks(&resize.arn, 10).unwrap().unwrap();
    assert_eq!(ids(&again), vec![5, 2, 7]);
    // The commit that records the hand-out takes the task.
    let handed = Batch {
        events: vec![event(&e, 2)],
        taken_tasks: vec![(e.arn.clone(), 5)],
        ..Batch::default()
    };
    store.commit(&handed).unwrap();
    let after = store.peek_activity_tasks(&resize.arn, 10).unwrap().unwrap();
    assert_eq!(ids(&after), vec![2, 7]);
    let claimed = store.claim_activity_task(&resize.arn).unwrap().unwrap();
    assert_eq!(claimed.task, 2, "a taken task is not claimed again");
    // A failed commit takes nothing.
    let failing = Batch {
        events: vec![event(&e, 2)], // exists already
        taken_tasks: vec![(e.arn.clone(), 7)],
        ..Batch::default()
    };
    assert!(store.commit(&failing).is_err());
    let left = store.peek_activity_tasks(&resize.arn, 10).unwrap().unwrap();
    assert_eq!(ids(&left), vec![7]);
}

pub fn claim_takes_the_oldest_task(db: &dyn Database) {
    let store = db.open();
    let (resize, crop) = (activity("resize"), activity("crop"));
    let (e, f) = (execution("m", "e", 1), execution("m", "f", 2));
    assert_eq!(
        store.claim_activity_task(&resize.arn).unwrap(),
        None,
        "empty queue"
    );
    // Queue order is insertion order, not task id or execution order.
    let mut first = start(&e, 1);
    first.activity_tasks = vec![task(&resize, &e, 9), task(&crop, &e, 10)];
    store.commit(&first).unwrap();
    let mut second = start(&f, 1);
    second.activity_tasks = vec![task(&resize, &f, 3), task(&resize, &f, 2)];
    store.commit(&second).unwrap();

    let claimed = store.claim_activity_task(&resize.arn).unwrap().unwrap();
    assert_eq!(
        claimed,
        ActivityTaskRecord {
            taken: true,
            ..task(&resize, &e, 9)
        }
    );
    let order: Vec<(String, u64)> =
        std::iter::from_fn(|| store.claim_activity_task(&resize.arn).unwrap())
            .map(|t| (t.execution_arn, t.task))
            .take(3)
            .collect();
    assert_eq!(order, vec![(f.arn.clone(), 3), (f.arn.clone(), 2)]);
    assert_eq!(claim_ids(&*store, &crop), vec![10]);

    // A claimed task is not handed out again after a restart (taken for good, or, in a
    // store shared by several nodes, until its claim lease lapses, which is not this soon).
    drop(store);
    let store = db.open();
    assert_eq!(store.claim_activity_task(&resize.arn).unwrap(), None);
}

pub fn backlog_counts_waiting_tasks(db: &dyn Database) {
    let store = db.open();
    let (resize, crop) = (activity("resize"), activity("crop"));
    let e = execution("m", "e", 1);
    assert_eq!(
        store.activity_backlog(&resize.arn).unwrap(),
        ActivityBacklog::default()
    );
    let mut batch = start(&e, 1);
    batch.activity_tasks = vec![
        task(&resize, &e, 5),
        task(&resize, &e, 3),
        task(&resize, &e, 8),
        task(&crop, &e, 2),
    ];
    store.commit(&batch).unwrap();
    let before = store.activity_backlog(&resize.arn).unwrap();
    assert_eq!(
        before,
        ActivityBacklog {
            queued: 3,
            oldest_queued_ms: Some(task(&resize, &e, 3).scheduled_ms),
        }
    );
    // Hand out the head of the queue for good: it no longer waits.
    let claimed = store.claim_activity_task(&resize.arn).unwrap().unwrap();
    let handout = Batch {
        taken_tasks: vec![(claimed.execution_arn.clone(), claimed.task)],
        ..Default::default()
    };
    store.commit(&handout).unwrap();
    let after = store.activity_backlog(&resize.arn).unwrap();
    assert_eq!(after.queued, 2);
    assert_eq!(
        store.activity_backlog(&crop.arn).unwrap().queued,
        1,
        "counted per activity"
    );
}

pub fn concurrent_claimers_never_share_a_task(db: &dyn Database) {
    const TASKS: u64 = 300;
    const CLAIMERS_PER_NODE: usize = 4;
    let a = activity("resize");
    let nodes = [db.open(), db.open()];
    let e = execution("m", "e", 1);
    let mut batch = start(&e, 1);
    batch.activity_tasks = (1..=TASKS).map(|id| task(&a, &e, id)).collect();
    nodes[0].commit(&batch).unwrap();

    let claimed: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .flat_map(|node| std::iter::repeat_n(node, CLAIMERS_PER_NODE))
            .map(|node| s.spawn(|| claim_ids(&**node, &a)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for mine in &claimed {
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "each claimer sees FIFO order"
        );
    }
    let all: Vec<u64> = claimed.into_iter().flatten().collect();
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a task was handed out twice");
    assert_eq!(
        unique,
        (1..=TASKS).collect::<HashSet<_>>(),
        "a task was lost"
    );
}

pub fn release_puts_a_task_back_in_place(db: &dyn Database) {
    let store = db.open();
    let a = activity("resize");
    let e = execution("m", "e", 1);
    let mut batch = start(&e, 1);
    batch.activity_tasks = vec![task(&a, &e, 1), task(&a, &e, 2), task(&a, &e, 3)];
    store.commit(&batch).unwrap();

    assert_eq!(store.claim_activity_task(&a.arn).unwrap().unwrap().task, 1);
    assert_eq!(store.claim_activity_task(&a.arn).unwrap().unwrap().task, 2);
    store.release_activity_task(&e.arn, 2).unwrap();
    store.release_activity_task(&e.arn, 1).unwrap();
    store.release_activity_task(&e.arn, 1).unwrap(); // twice is harmless
    store.release_activity_task(&e.arn, 99).unwrap(); // unknown is harmless
    let again = store.claim_activity_task(&a.arn).unwrap().unwrap();
    assert_eq!(
        again,
        ActivityTaskRecord {
            taken: true,
            ..task(&a, &e, 1)
        }
    );
    assert_eq!(claim_ids(&*store, &a), vec![2, 3]);
}

pub fn withdrawn_tasks_are_gone(db: &dyn Database) {
    let store = db.open();
    let a = activity("resize");
    let e = execution("m", "e", 1);
    let mut batch = start(&e, 1);
    batch.activity_tasks = (1..=4).map(|id| task(&a, &e, id)).collect();
    store.commit(&batch).unwrap();
    assert_eq!(store.claim_activity_task(&a.arn).unwrap().unwrap().task, 1);

    // Withdraw a claimed task, an untaken one and one that never existed.
    let withdraw = |ids: &[u64]| Batch {
        withdrawn_tasks: ids.iter().map(|id| (e.arn.clone(), *id)).collect(),
        ..Batch::default()
    };
    store.commit(&withdraw(&[1, 2, 77])).unwrap();
    store.release_activity_task(&e.arn, 1).unwrap(); // a late release does not revive it
    assert_eq!(claim_ids(&*store, &a), vec![3, 4]);
    store.commit(&withdraw(&[3])).unwrap();
    store.release_activity_task(&e.arn, 4).unwrap();
    assert_eq!(claim_ids(&*store, &a), vec![4]);

    // A withdrawn id may be queued again (the same event id is never reused by the engine,
    // but a store must not remember deleted rows).
    let mut again = Batch::default();
    again.activity_tasks.push(task(&a, &e, 2));
    store.commit(&again).unwrap();
    assert_eq!(claim_ids(&*store, &a), vec![2]);
}
