//! Suite cases of the `activities` table: idempotent insert, paging, delete.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use crate::Inserted;

pub fn activity_insert_is_idempotent(db: &dyn Database) {
    let store = db.open();
    let resize = activity("resize");
    assert_eq!(store.get_activity(&resize.arn).unwrap(), None);
    assert_eq!(store.insert_activity(&resize).unwrap(), Inserted::Created);
    let got = store
        .get_activity(&resize.arn)
        .unwrap()
        .expect("inserted activity");
    assert_eq!(got, stored(&resize, got.seq, |r, s| r.seq = s));

    let mut again = resize.clone();
    again.creation_date_ms += 5;
    assert_eq!(
        store.insert_activity(&again).unwrap(),
        Inserted::Exists(got.clone())
    );
    assert_eq!(
        store.get_activity(&resize.arn).unwrap(),
        Some(got),
        "first insert wins"
    );
}

pub fn activities_page_in_creation_order(db: &dyn Database) {
    let store = db.open();
    // Names out of alphabetical order: the listing follows creation, not names.
    for name in ["e", "c", "a", "d", "b"] {
        store.insert_activity(&activity(name)).unwrap();
    }
    assert!(store.delete_activity(&activity("a").arn).unwrap());
    assert!(
        !store.delete_activity(&activity("a").arn).unwrap(),
        "already gone"
    );
    store.insert_activity(&activity("f")).unwrap();

    let mut pages = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store.list_activities(None, after.as_ref(), 2).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = Some(Cursor {
            seq: page.last().unwrap().seq,
        });
        pages.push(names(&page).join(","));
    }
    assert_eq!(pages, ["e,c", "d,b", "f"]);
    let all = store.list_activities(None, None, 100).unwrap();
    assert!(
        all.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq increases: {all:?}"
    );
}

pub fn delete_activity_drops_its_tasks(db: &dyn Database) {
    let store = db.open();
    let (resize, crop) = (activity("resize"), activity("crop"));
    store.insert_activity(&resize).unwrap();
    store.insert_activity(&crop).unwrap();
    let e = execution("m", "e1", 1);
    let mut batch = start(&e, 1);
    batch.activity_tasks = vec![
        task(&resize, &e, 2),
        task(&resize, &e, 3),
        task(&crop, &e, 4),
    ];
    store.commit(&batch).unwrap();
    assert_eq!(
        store
            .claim_activity_task(&resize.arn)
            .unwrap()
            .unwrap()
            .task,
        2
    );

    assert!(store.delete_activity(&resize.arn).unwrap());
    assert_eq!(store.get_activity(&resize.arn).unwrap(), None);
    // Recreated under the same ARN, it starts with an empty queue (claimed tasks went too).
    store.insert_activity(&resize).unwrap();
    assert_eq!(store.claim_activity_task(&resize.arn).unwrap(), None);
    store.release_activity_task(&e.arn, 2).unwrap();
    assert_eq!(store.claim_activity_task(&resize.arn).unwrap(), None);
    assert_eq!(
        claim_ids(&*store, &crop),
        vec![4],
        "other activities keep their tasks"
    );
}
