//! Suite cases of the `executions` and `events` tables and of `Store::commit`: upserts,
//! ListExecutions' filters and paging, history pages, all-or-nothing batches.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use crate::Store;

pub fn commit_upserts_executions(db: &dyn Database) {
    let store = db.open();
    let e = execution("m", "e1", 1_000);
    assert_eq!(store.get_execution(&e.arn).unwrap(), None);
    store.commit(&Batch::default()).unwrap();
    store.commit(&start(&e, 2)).unwrap();
    let first = store
        .get_execution(&e.arn)
        .unwrap()
        .expect("committed execution");
    assert_eq!(first, stored(&e, first.seq, |r, s| r.seq = s));

    // A later execution, then an update of the first: the first keeps its seq.
    let e2 = execution("m", "e2", 2_000);
    store.commit(&start(&e2, 1)).unwrap();
    let mut done = finished(e.clone(), "SUCCEEDED");
    done.redrive_count = 2;
    done.state_machine_version_arn = Some(format!("{}:1", e.state_machine_arn));
    done.seq = 12345; // ignored
    let mut step = Batch {
        executions: vec![done.clone()],
        ..Batch::default()
    };
    step.events.push(event(&e, 3));
    store.commit(&step).unwrap();
    let got = store.get_execution(&e.arn).unwrap().unwrap();
    assert_eq!(got, stored(&done, first.seq, |r, s| r.seq = s));

    // What an execution never changes stays as first inserted: an update writes the rest.
    let mut later = done.clone();
    later.snapshot = r#"{"at":"later"}"#.to_owned();
    later.definition = "another definition".to_owned();
    later.input = r#"{"another":"input"}"#.to_owned();
    later.state_machine_arn = "arn:another:machine".to_owned();
    later.name = "another-name".to_owned();
    later.role_arn = "arn:another:role".to_owned();
    later.start_date_ms += 1;
    store
        .commit(&Batch {
            executions: vec![later.clone()],
            ..Batch::default()
        })
        .unwrap();
    let mut expected = got.clone();
    expected.snapshot = later.snapshot.clone();
    let got = store.get_execution(&e.arn).unwrap().unwrap();
    assert_eq!(got, expected);
    let second = store.get_execution(&e2.arn).unwrap().unwrap();
    assert!(second.seq > first.seq, "a new execution gets a larger seq");

    // The same execution twice in one batch: the later row wins.
    let mut running = e2.clone();
    running.snapshot = r#"{"at":"step1"}"#.to_owned();
    let failed = finished(e2.clone(), "FAILED");
    store
        .commit(&Batch {
            executions: vec![running, failed.clone()],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(
        store.get_execution(&e2.arn).unwrap(),
        Some(stored(&failed, second.seq, |r, s| r.seq = s))
    );

    // Several at once: the stored ones, whatever the order; unknown ones left out.
    let mut many = store
        .get_executions(&["arn:nobody".to_string(), e2.arn.clone(), e.arn.clone()])
        .unwrap();
    many.sort_by_key(|r| r.seq);
    assert_eq!(
        many,
        vec![got, store.get_execution(&e2.arn).unwrap().unwrap()]
    );
    assert_eq!(store.get_executions(&[]).unwrap(), vec![]);
}

pub fn executions_list_newest_first(db: &dyn Database) {
    let store = db.open();
    // Committed out of start order; two share a start time (then the later insert is newer).
    for (name, start_ms) in [
        ("b", 2_000),
        ("d", 4_000),
        ("a", 1_000),
        ("c1", 3_000),
        ("c2", 3_000),
    ] {
        store
            .commit(&start(&execution("m", name, start_ms), 1))
            .unwrap();
    }
    store
        .commit(&start(&execution("other", "x", 5_000), 1))
        .unwrap();

    let m = execution("m", "_", 0).state_machine_arn;
    let all = store
        .list_executions(&ExecutionFilter::machine(&m), None, 100)
        .unwrap();
    assert_eq!(names(&all), ["d", "c2", "c1", "b", "a"]);

    let first = store
        .list_executions(&ExecutionFilter::machine(&m), None, 2)
        .unwrap();
    assert_eq!(names(&first), ["d", "c2"]);
    let cursor = Cursor { seq: first[1].seq };
    let second = store
        .list_executions(&ExecutionFilter::machine(&m), Some(&cursor), 2)
        .unwrap();
    assert_eq!(names(&second), ["c1", "b"]);
    let cursor = Cursor { seq: second[1].seq };
    let third = store
        .list_executions(&ExecutionFilter::machine(&m), Some(&cursor), 2)
        .unwrap();
    assert_eq!(names(&third), ["a"]);
    let cursor = Cursor { seq: third[0].seq };
    assert!(store
        .list_executions(&ExecutionFilter::machine(&m), Some(&cursor), 2)
        .unwrap()
        .is_empty());

    let none = execution("nobody", "_", 0).state_machine_arn;
    assert!(store
        .list_executions(&ExecutionFilter::machine(&none), None, 10)
        .unwrap()
        .is_empty());
}

fn status<'a>(machine: &'a str, status: &'a str) -> ExecutionFilter<'a> {
    ExecutionFilter {
        status: Some(status),
        ..ExecutionFilter::machine(machine)
    }
}

pub fn executions_filter_by_status_across_pages(db: &dyn Database) {
    let store = db.open();
    let statuses = [
        "SUCCEEDED",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "SUCCEEDED",
        "SUCCEEDED",
    ];
    for (i, status) in statuses.iter().enumerate() {
        let e = execution("m", &format!("e{i}"), 1_000 * i as i64);
        let e = if *status == "RUNNING" {
            e
        } else {
            finished(e, status)
        };
        store.commit(&start(&e, 1)).unwrap();
    }
    let m = execution("m", "_", 0).state_machine_arn;

    let first = store
        .list_executions(&status(&m, "SUCCEEDED"), None, 3)
        .unwrap();
    assert_eq!(names(&first), ["e5", "e4", "e2"]);
    let cursor = Cursor { seq: first[2].seq };
    let second = store
        .list_executions(&status(&m, "SUCCEEDED"), Some(&cursor), 3)
        .unwrap();
    assert_eq!(names(&second), ["e0"]);

    let failed = store
        .list_executions(&status(&m, "FAILED"), None, 3)
        .unwrap();
    assert_eq!(names(&failed), ["e3"]);
    assert!(store
        .list_executions(&status(&m, "ABORTED"), None, 3)
        .unwrap()
        .is_empty());
}

/// RedriveExecution's fields survive a commit, and ListExecutions' `redriveFilter` selects
/// by them. Writers keep `redrive_date_ms` equal to the snapshot's `info.redrive_time_ms`
/// (PostgreSQL takes it from there).
pub fn executions_keep_redrive_fields_and_filter_by_them(db: &dyn Database) {
    let store = db.open();
    let never = finished(execution("m", "never", 1_000), "FAILED");
    let mut twice = finished(execution("m", "twice", 2_000), "FAILED");
    twice.redrive_count = 2;
    twice.redrive_date_ms = Some(9_000);
    twice.snapshot = r#"{"info":{"redrive_time_ms":9000}}"#.to_owned();
    let mut running = execution("m", "running", 3_000);
    running.redrive_count = 1;
    running.redrive_date_ms = Some(8_000);
    running.snapshot = r#"{"info":{"redrive_time_ms":8000}}"#.to_owned();
    for e in [&never, &twice, &running] {
        store.commit(&start(e, 1)).unwrap();
    }
    let got = store.get_execution(&twice.arn).unwrap().unwrap();
    assert_eq!(got, stored(&twice, got.seq, |r, s| r.seq = s));
    let m = never.state_machine_arn.clone();
    let list = |status: Option<&str>, redriven: Option<bool>| {
        let rows = store
            .list_executions(
                &ExecutionFilter {
                    of: ExecutionsOf::Machine(&m),
                    status,
                    redriven,
                },
                None,
                10,
            )
            .unwrap();
        names(&rows)
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(None, None), ["running", "twice", "never"]);
    assert_eq!(list(None, Some(true)), ["running", "twice"]);
    assert_eq!(list(None, Some(false)), ["never"]);
    assert_eq!(list(Some("FAILED"), Some(true)), ["twice"]);
    assert!(list(Some("RUNNING"), Some(false)).is_empty());
    // Paging with the filter.
    let redriven = ExecutionFilter {
        redriven: Some(true),
        ..ExecutionFilter::machine(&m)
    };
    let first = store.list_executions(&redriven, None, 1).unwrap();
    let next = store
        .list_executions(&redriven, Some(&Cursor { seq: first[0].seq }), 5)
        .unwrap();
    assert_eq!(names(&next), ["twice"]);
}

pub fn running_executions_are_found(db: &dyn Database) {
    let store = db.open();
    assert!(store.running_executions().unwrap().is_empty());
    let [a, b, c, d, f] = [("m", "a"), ("m", "b"), ("n", "c"), ("n", "d"), ("m", "f")]
        .map(|(machine, name)| execution(machine, name, 1));
    for e in [&a, &b, &c, &d, &f] {
        store.commit(&start(e, 1)).unwrap();
    }
    let stopped = Batch {
        executions: vec![
            finished(b.clone(), "ABORTED"),
            finished(d.clone(), "SUCCEEDED"),
            finished(f.clone(), "FAILED"),
        ],
        ..Batch::default()
    };
    store.commit(&stopped).unwrap();
    let mut running: Vec<String> = store
        .running_executions()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    running.sort();
    assert_eq!(running, ["a", "c"]);
}

pub fn history_pages_both_ways(db: &dyn Database) {
    let store = db.open();
    let (e, f) = (execution("m", "e", 1), execution("m", "f", 2));
    store.commit(&start(&e, 3)).unwrap();
    store.commit(&start(&f, 2)).unwrap();
    // Interleave two executions' later events across batches.
    for id in 4..=10 {
        let mut batch = Batch {
            events: vec![event(&e, id)],
            ..Batch::default()
        };
        if id <= 6 {
            batch.events.push(event(&f, id - 1));
        }
        store.commit(&batch).unwrap();
    }
    let ids = |page: HistoryPage, limit: usize| -> Vec<u64> {
        let events = store.history(&e.arn, page, limit).unwrap();
        assert!(events
            .iter()
            .all(|ev| ev.execution_arn == e.arn && *ev == event(&e, ev.id)));
        events.iter().map(|ev| ev.id).collect()
    };
    assert_eq!(ids(HistoryPage::After(0), 4), [1, 2, 3, 4]);
    assert_eq!(ids(HistoryPage::After(4), 4), [5, 6, 7, 8]);
    assert_eq!(ids(HistoryPage::After(8), 4), [9, 10]);
    assert_eq!(ids(HistoryPage::After(10), 4), Vec::<u64>::new());
    assert_eq!(ids(HistoryPage::Before(u64::MAX), 4), [10, 9, 8, 7]);
    assert_eq!(ids(HistoryPage::Before(7), 4), [6, 5, 4, 3]);
    assert_eq!(ids(HistoryPage::Before(3), 4), [2, 1]);
    assert_eq!(ids(HistoryPage::Before(1), 4), Vec::<u64>::new());
    assert_eq!(ids(HistoryPage::After(0), 100).len(), 10);

    // Both directions stay inside one execution's history, whichever was started first.
    let f_events: Vec<EventRecord> = (1..=5).map(|id| event(&f, id)).collect();
    let forward = store.history(&f.arn, HistoryPage::After(0), 100).unwrap();
    assert_eq!(forward, f_events);
    let backward = store
        .history(&f.arn, HistoryPage::Before(u64::MAX), 100)
        .unwrap();
    assert_eq!(backward, f_events.iter().rev().cloned().collect::<Vec<_>>());
    let nobody = execution("m", "nobody", 0);
    assert!(store
        .history(&nobody.arn, HistoryPage::After(0), 10)
        .unwrap()
        .is_empty());
}

/// A batch that fails part-way (here on a duplicate event id) is rolled back whole.
pub fn failed_batch_leaves_nothing_behind(db: &dyn Database) {
    let store = db.open();
    let a = activity("resize");
    store.insert_activity(&a).unwrap();
    let e = execution("m", "e", 1);
    let mut first = start(&e, 1);
    first.timers.push(timer(&e, 1, 50));
    first.activity_tasks.push(task(&a, &e, 1));
    store.commit(&first).unwrap();

    let f = execution("m", "f", 2);
    let doomed = Batch {
        executions: vec![finished(e.clone(), "FAILED"), f.clone()],
        events: vec![event(&f, 1), event(&e, 2), event(&e, 3), event(&e, 1)],
        activity_tasks: vec![task(&a, &f, 2)],
        withdrawn_tasks: vec![(e.arn.clone(), 1)],
        taken_tasks: vec![(e.arn.clone(), 1)],
        timers: vec![timer(&f, 7, 10)],
        cancelled_timers: vec![(e.arn.clone(), 1)],
        fence: None,
    };
    assert!(
        store.commit(&doomed).is_err(),
        "event 1 of e exists already"
    );
    // A duplicate inside one batch fails the same way.
    let mut twice = start(&f, 2);
    twice.events.push(event(&f, 2));
    assert!(store.commit(&twice).is_err(), "event 2 of f appears twice");

    let check = |store: &dyn Store| {
        assert_eq!(store.get_execution(&f.arn).unwrap(), None);
        assert_eq!(
            store.get_execution(&e.arn).unwrap().unwrap().status,
            "RUNNING"
        );
        let history = store.history(&e.arn, HistoryPage::After(0), 10).unwrap();
        assert_eq!(history, vec![event(&e, 1)]);
        assert!(store
            .history(&f.arn, HistoryPage::After(0), 10)
            .unwrap()
            .is_empty());
        assert_eq!(store.timers().unwrap(), vec![timer(&e, 1, 50)]);
    };
    check(&*store);
    drop(store);
    let store = db.open();
    check(&*store);
    assert_eq!(
        claim_ids(&*store, &a),
        vec![1],
        "the withdrawal was rolled back too"
    );

    // The store is still usable, and the same work succeeds without the duplicate.
    let mut fixed = doomed.clone();
    fixed.events.pop();
    store.commit(&fixed).unwrap();
    assert_eq!(
        store.get_execution(&f.arn).unwrap().unwrap().status,
        "RUNNING"
    );
    assert_eq!(
        store
            .history(&e.arn, HistoryPage::After(0), 10)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.timers().unwrap(), vec![timer(&f, 7, 10)]);
    assert_eq!(claim_ids(&*store, &a), vec![2]);
}

/// Within one batch, tasks and timers are added before withdrawals and cancellations apply:
/// a task scheduled and withdrawn in the same batch (say, by a StopExecution right after the
/// step that scheduled it) is gone.
pub fn batch_removals_follow_additions(db: &dyn Database) {
    let store = db.open();
    let a = activity("resize");
    store.insert_activity(&a).unwrap();
    let e = execution("m", "e", 1);
    let mut batch = start(&e, 3);
    batch.activity_tasks = vec![task(&a, &e, 2), task(&a, &e, 3)];
    batch.withdrawn_tasks = vec![(e.arn.clone(), 2)];
    batch.timers = vec![timer(&e, 2, 100), timer(&e, 3, 200)];
    batch.cancelled_timers = vec![(e.arn.clone(), 3)];
    store.commit(&batch).unwrap();
    assert_eq!(store.timers().unwrap(), vec![timer(&e, 2, 100)]);
    assert_eq!(claim_ids(&*store, &a), vec![3]);
}
