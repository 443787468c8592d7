//! Suite cases of the `timers` table.

use super::fixtures::*;
use super::Database;
use crate::records::*;

pub fn timers_are_added_moved_and_cancelled(db: &dyn Database) {
    let store = db.open();
    assert!(store.timers().unwrap().is_empty());
    let (e, f) = (execution("m", "e", 1), execution("m", "f", 2));
    let mut batch = start(&e, 1);
    batch.timers = vec![timer(&e, 5, 300), timer(&e, 6, 100)];
    store.commit(&batch).unwrap();
    let mut batch = start(&f, 1);
    batch.timers = vec![timer(&f, 5, 200)];
    store.commit(&batch).unwrap();
    assert_eq!(
        store.timers().unwrap(),
        vec![timer(&e, 6, 100), timer(&f, 5, 200), timer(&e, 5, 300)],
        "soonest first"
    );

    // Adding an existing timer moves it; cancelling an unknown one is harmless.
    let step = Batch {
        timers: vec![timer(&e, 6, 400)],
        cancelled_timers: vec![(f.arn.clone(), 5), (f.arn.clone(), 99)],
        ..Batch::default()
    };
    store.commit(&step).unwrap();
    assert_eq!(
        store.timers().unwrap(),
        vec![timer(&e, 5, 300), timer(&e, 6, 400)]
    );
}
