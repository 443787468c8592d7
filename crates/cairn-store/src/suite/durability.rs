//! Suite case across every table: what a commit wrote survives a reopen.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use crate::Store;

/// Everything a committed call wrote is there after the handle is dropped and reopened.
pub fn everything_committed_survives_reopen(db: &dyn Database) {
    let store = db.open();
    let a = activity("resize");
    let m = machine("m");
    store.insert_activity(&a).unwrap();
    store.insert_state_machine(&m).unwrap();
    let tags = vec![("k".to_owned(), "v".to_owned())];
    store.put_tags(&m.arn, &tags).unwrap();
    let (e, f) = (
        execution("m", "e", 1),
        finished(execution("m", "f", 2), "SUCCEEDED"),
    );
    let mut batch = start(&e, 4);
    batch.executions.push(f.clone());
    batch.events.extend((1..=2).map(|id| event(&f, id)));
    batch.activity_tasks = vec![task(&a, &e, 3), task(&a, &e, 4)];
    batch.timers = vec![timer(&e, 2, 1_000)];
    store.commit(&batch).unwrap();
    assert_eq!(store.claim_activity_task(&a.arn).unwrap().unwrap().task, 3);
    let key = store.token_key().unwrap();

    let snapshot = |s: &dyn Store| {
        (
            s.list_activities(None, None, 100).unwrap(),
            s.list_state_machines(None, None, 100).unwrap(),
            s.list_tags(&m.arn).unwrap(),
            s.list_executions(&ExecutionFilter::machine(&m.arn), None, 100)
                .unwrap(),
            s.running_executions().unwrap(),
            s.history(&e.arn, HistoryPage::After(0), 100).unwrap(),
            s.history(&f.arn, HistoryPage::After(0), 100).unwrap(),
            s.timers().unwrap(),
        )
    };
    let before = snapshot(&*store);
    assert_eq!(before.3.len(), 2);
    assert_eq!(before.5.len(), 4);
    drop(store);

    let store = db.open();
    assert_eq!(snapshot(&*store), before);
    assert_eq!(store.token_key().unwrap(), key);
    assert_eq!(
        claim_ids(&*store, &a),
        vec![4],
        "task 3 stays claimed, task 4 stays queued"
    );
}
