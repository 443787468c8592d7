//! Suite cases of the Map Run tables (Distributed Map): a run's settings and progress, and
//! which executions are its children.

use super::fixtures::*;
use super::Database;
use crate::records::*;

fn map_run(name: &str) -> MapRunRecord {
    MapRunRecord {
        arn: format!("{REGION}:mapRun:m/L:{name}"),
        execution_arn: format!("{REGION}:execution:m:parent-{name}"),
        state_machine_arn: format!("{REGION}:stateMachine:m/L"),
        status: "RUNNING".into(),
        start_date_ms: 1_000,
        stop_date_ms: None,
        max_concurrency: 5,
        tolerated_failure_count: 0,
        tolerated_failure_percentage: 0.0,
        item_counts: "{}".into(),
        execution_counts: "{}".into(),
        redrive_count: 0,
        redrive_date_ms: None,
    }
}

pub fn map_runs_keep_settings_and_progress(db: &dyn Database) {
    let store = db.open();
    let run = map_run("r1");
    assert!(store.get_map_run(&run.arn).unwrap().is_none());
    assert_eq!(store.create_map_run(&run).unwrap(), run);
    // Created again (a driver restarted): the stored row wins.
    let again = MapRunRecord {
        start_date_ms: 9_000,
        max_concurrency: 1,
        ..run.clone()
    };
    assert_eq!(store.create_map_run(&again).unwrap(), run);

    assert!(store
        .update_map_run_settings(&run.arn, Some(7), None, Some(12.5))
        .unwrap());
    assert!(store
        .update_map_run_progress(
            &run.arn,
            "SUCCEEDED",
            Some(2_000),
            "{\"total\":3}",
            "{\"total\":2}"
        )
        .unwrap());
    let got = store.get_map_run(&run.arn).unwrap().unwrap();
    assert_eq!(
        got,
        MapRunRecord {
            status: "SUCCEEDED".into(),
            stop_date_ms: Some(2_000),
            max_concurrency: 7,
            tolerated_failure_percentage: 12.5,
            item_counts: "{\"total\":3}".into(),
            execution_counts: "{\"total\":2}".into(),
            ..run.clone()
        }
    );
    // A finished run stays as it ended.
    assert!(!store
        .update_map_run_progress(&run.arn, "ABORTED", Some(3_000), "{}", "{}")
        .unwrap());
    assert_eq!(store.get_map_run(&run.arn).unwrap().unwrap(), got);
    // Redriven: running again, once per redrive count.
    assert!(store.redrive_map_run(&run.arn, 1, 5_000).unwrap());
    assert!(!store.redrive_map_run(&run.arn, 1, 6_000).unwrap());
    let redriven = store.get_map_run(&run.arn).unwrap().unwrap();
    assert_eq!(
        (
            redriven.status.as_str(),
            redriven.stop_date_ms,
            redriven.redrive_count
        ),
        ("RUNNING", None, 1)
    );
    assert_eq!(redriven.redrive_date_ms, Some(5_000));
    assert!(store
        .update_map_run_progress(&run.arn, "SUCCEEDED", Some(7_000), "{}", "{}")
        .unwrap());
    let got = store.get_map_run(&run.arn).unwrap().unwrap();
    let missing = map_run("nope");
    assert!(!store
        .update_map_run_settings(&missing.arn, Some(1), Some(1), None)
        .unwrap());
    assert!(!store
        .update_map_run_progress(&missing.arn, "FAILED", None, "{}", "{}")
        .unwrap());
    assert!(!store.redrive_map_run(&missing.arn, 1, 1).unwrap());
    drop(store);
    let store = db.open();
    assert_eq!(store.get_map_run(&run.arn).unwrap().unwrap(), got);
}

pub fn map_run_children_are_listed_and_found(db: &dyn Database) {
    let store = db.open();
    let (r1, r2) = (map_run("r1"), map_run("r2"));
    for (name, start_ms) in [("a", 1_000), ("b", 2_000), ("c", 3_000), ("other", 4_000)] {
        let e = execution("m/L", name, start_ms);
        store.commit(&start(&e, 1)).unwrap();
        let run = if name == "other" { &r2 } else { &r1 };
        store.link_map_run_execution(&run.arn, &e.arn, 0).unwrap();
        // Linking again is harmless.
        store.link_map_run_execution(&run.arn, &e.arn, 0).unwrap();
    }
    store
        .commit(&start(&finished(execution("m/L", "c", 3_000), "FAILED"), 0))
        .unwrap();
    let all = store
        .list_map_run_executions(&r1.arn, None, None, 10)
        .unwrap();
    assert_eq!(names(&all), ["c", "b", "a"]);
    let first = store
        .list_map_run_executions(&r1.arn, None, None, 2)
        .unwrap();
    assert_eq!(names(&first), ["c", "b"]);
    let cursor = Cursor { seq: first[1].seq };
    let rest = store
        .list_map_run_executions(&r1.arn, None, Some(&cursor), 2)
        .unwrap();
    assert_eq!(names(&rest), ["a"]);
    let failed = store
        .list_map_run_executions(&r1.arn, Some("FAILED"), None, 10)
        .unwrap();
    assert_eq!(names(&failed), ["c"]);
    let a = execution("m/L", "a", 1_000);
    assert_eq!(
        store.map_run_of_execution(&a.arn).unwrap(),
        Some(r1.arn.clone())
    );
    let unrelated = execution("m", "zzz", 1_000);
    assert_eq!(store.map_run_of_execution(&unrelated.arn).unwrap(), None);
}

pub fn map_run_children_are_paged_in_item_order(db: &dyn Database) {
    let store = db.open();
    let (r1, r2) = (map_run("r1"), map_run("r2"));
    // Linked out of item order, started in another order again; one child of another run.
    for (name, index, start_ms) in [
        ("c", 2, 1_000),
        ("a", 0, 3_000),
        ("d", 3, 2_000),
        ("b", 1, 4_000),
    ] {
        let e = execution("m/L", name, start_ms);
        store.commit(&start(&e, 1)).unwrap();
        store
            .link_map_run_execution(&r1.arn, &e.arn, index)
            .unwrap();
    }
    let other = execution("m/L", "other", 5_000);
    store.commit(&start(&other, 1)).unwrap();
    store
        .link_map_run_execution(&r2.arn, &other.arn, 0)
        .unwrap();
    let page = |after: Option<u64>, n: usize| -> Vec<(u64, String)> {
        store
            .map_run_executions_by_item(&r1.arn, after, n)
            .unwrap()
            .into_iter()
            .map(|(i, r)| (i, r.name))
            .collect()
    };
    let all = page(None, 10);
    assert_eq!(
        all,
        [
            (0, "a".to_string()),
            (1, "b".into()),
            (2, "c".into()),
            (3, "d".into())
        ]
    );
    assert_eq!(page(None, 2), all[..2]);
    assert_eq!(page(Some(1), 2), all[2..]);
    assert_eq!(page(Some(3), 2), []);
    // The records are whole: a closed child's outcome is there.
    store
        .commit(&start(&finished(execution("m/L", "c", 1_000), "FAILED"), 0))
        .unwrap();
    let got = store
        .map_run_executions_by_item(&r1.arn, Some(1), 1)
        .unwrap();
    assert_eq!((got[0].0, got[0].1.status.as_str()), (2, "FAILED"));
    // A linked child whose execution was never committed is not listed.
    let never = execution("m/L", "never", 6_000);
    store
        .link_map_run_execution(&r1.arn, &never.arn, 4)
        .unwrap();
    assert_eq!(page(Some(3), 10), []);
    assert!(store
        .map_run_executions_by_item(&map_run("none").arn, None, 10)
        .unwrap()
        .is_empty());
}
