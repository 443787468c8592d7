//! Suite cases of the `state_machines` and `tags` tables: insert, update, paging (by
//! account too), tags.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use crate::Inserted;

pub fn state_machine_insert_is_idempotent(db: &dyn Database) {
    let store = db.open();
    let m = machine("orders");
    assert_eq!(store.get_state_machine(&m.arn).unwrap(), None);
    assert_eq!(store.insert_state_machine(&m).unwrap(), Inserted::Created);
    let got = store
        .get_state_machine(&m.arn)
        .unwrap()
        .expect("inserted machine");
    assert_eq!(got, stored(&m, got.seq, |r, s| r.seq = s));

    let mut other = m.clone();
    other.definition = r#"{"StartAt":"Q","States":{"Q":{"Type":"Succeed"}}}"#.to_owned();
    assert_eq!(
        store.insert_state_machine(&other).unwrap(),
        Inserted::Exists(got.clone())
    );
    assert_eq!(store.get_state_machine(&m.arn).unwrap(), Some(got));
}

pub fn state_machine_update_replaces_the_record(db: &dyn Database) {
    let store = db.open();
    let m = machine("orders");
    assert!(
        !store.update_state_machine(&m).unwrap(),
        "nothing to update yet"
    );
    assert_eq!(
        store.get_state_machine(&m.arn).unwrap(),
        None,
        "update must not insert"
    );
    store.insert_state_machine(&m).unwrap();
    let seq = store.get_state_machine(&m.arn).unwrap().unwrap().seq;

    let mut updated = m.clone();
    updated.definition = r#"{"StartAt":"Q","States":{"Q":{"Type":"Succeed"}}}"#.to_owned();
    updated.role_arn = "arn:aws:iam::123456789012:role/other".to_owned();
    updated.update_date_ms = Some(1_700_000_100_000);
    updated.revision_id = Some("rev-2".to_owned());
    updated.logging_configuration = r#"{"level":"ALL"}"#.to_owned();
    updated.tracing_configuration = r#"{"enabled":true}"#.to_owned();
    updated.description = Some("second".to_owned());
    updated.seq = seq + 1000; // ignored
    assert!(store.update_state_machine(&updated).unwrap());
    let got = store.get_state_machine(&m.arn).unwrap().unwrap();
    assert_eq!(got, stored(&updated, seq, |r, s| r.seq = s), "seq is kept");
}

pub fn state_machines_page_in_creation_order(db: &dyn Database) {
    let store = db.open();
    for name in ["z", "y", "x", "w", "v"] {
        store.insert_state_machine(&machine(name)).unwrap();
    }
    assert!(store.delete_state_machine(&machine("x").arn).unwrap());
    assert!(!store.delete_state_machine(&machine("x").arn).unwrap());
    assert_eq!(store.get_state_machine(&machine("x").arn).unwrap(), None);
    // Recreating a deleted name puts it at the end.
    store.insert_state_machine(&machine("x")).unwrap();

    let first = store.list_state_machines(None, None, 3).unwrap();
    assert_eq!(names(&first), ["z", "y", "w"]);
    let cursor = Cursor { seq: first[2].seq };
    let second = store.list_state_machines(None, Some(&cursor), 3).unwrap();
    assert_eq!(names(&second), ["v", "x"]);
    let cursor = Cursor { seq: second[1].seq };
    assert!(store
        .list_state_machines(None, Some(&cursor), 3)
        .unwrap()
        .is_empty());
    assert!(
        store.list_state_machines(None, None, 0).unwrap().is_empty(),
        "limit 0"
    );
}

/// `account` filters by the account field of the ARN, in the query: a page holds `limit` of
/// the account's rows however many of another account's sit between them.
pub fn machines_and_activities_list_by_account(db: &dyn Database) {
    let store = db.open();
    let in_account =
        |arn: String, account: &str| arn.replacen(":123456789012:", &format!(":{account}:"), 1);
    // a1 b1 b2 a2 b3 a3 (a: account 111111111111 in us-east-1 and us-west-2, b: 222222222222),
    // and a partition of its own for one of a's.
    let order = [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("b", 3), ("a", 3)];
    for (who, i) in order {
        let account = if who == "a" {
            "111111111111"
        } else {
            "222222222222"
        };
        let name = format!("{who}{i}");
        let mut m = machine(&name);
        m.arn = in_account(m.arn, account);
        let mut a = activity(&name);
        a.arn = in_account(a.arn, account);
        if name == "a2" {
            m.arn = m.arn.replace(":us-east-1:", ":us-west-2:");
            a.arn = a.arn.replace("arn:aws:", "arn:aws-cn:");
        }
        store.insert_state_machine(&m).unwrap();
        store.insert_activity(&a).unwrap();
    }
    let machines =
        |account, after: Option<&Cursor>, n| store.list_state_machines(account, after, n).unwrap();
    let first = machines(Some("111111111111"), None, 2);
    assert_eq!(names(&first), ["a1", "a2"]);
    let cursor = Cursor { seq: first[1].seq };
    assert_eq!(
        names(&machines(Some("111111111111"), Some(&cursor), 2)),
        ["a3"]
    );
    assert_eq!(
        names(&machines(Some("222222222222"), None, 3)),
        ["b1", "b2", "b3"]
    );
    assert!(machines(Some("333333333333"), None, 3).is_empty());
    assert_eq!(machines(None, None, 10).len(), 6);

    let activities =
        |account, after: Option<&Cursor>, n| store.list_activities(account, after, n).unwrap();
    let first = activities(Some("111111111111"), None, 2);
    assert_eq!(names(&first), ["a1", "a2"]);
    let cursor = Cursor { seq: first[1].seq };
    assert_eq!(
        names(&activities(Some("111111111111"), Some(&cursor), 2)),
        ["a3"]
    );
    assert_eq!(
        names(&activities(Some("222222222222"), None, 2)),
        ["b1", "b2"]
    );
    assert_eq!(activities(None, None, 10).len(), 6);
}

pub fn tags_keep_insertion_order(db: &dyn Database) {
    let store = db.open();
    let m = machine("orders");
    let a = activity("resize");
    store.insert_state_machine(&m).unwrap();
    store.insert_activity(&a).unwrap();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert!(store.list_tags(&m.arn).unwrap().is_empty());

    store
        .put_tags(
            &m.arn,
            &pairs(&[("team", "a"), ("env", "dev"), ("cost", "1")]),
        )
        .unwrap();
    store.put_tags(&a.arn, &pairs(&[("team", "b")])).unwrap();
    store
        .put_tags(&m.arn, &pairs(&[("env", "prod"), ("owner", "me")]))
        .unwrap();
    assert_eq!(
        store.list_tags(&m.arn).unwrap(),
        pairs(&[
            ("team", "a"),
            ("env", "prod"),
            ("cost", "1"),
            ("owner", "me")
        ]),
        "an existing key is overwritten in place"
    );

    store
        .remove_tags(&m.arn, &["team".to_owned(), "missing".to_owned()])
        .unwrap();
    assert_eq!(
        store.list_tags(&m.arn).unwrap(),
        pairs(&[("env", "prod"), ("cost", "1"), ("owner", "me")])
    );
    assert_eq!(
        store.list_tags(&a.arn).unwrap(),
        pairs(&[("team", "b")]),
        "per resource"
    );

    // Deleting a resource deletes its tags; a new resource of the same ARN starts bare.
    store.delete_state_machine(&m.arn).unwrap();
    store.delete_activity(&a.arn).unwrap();
    assert!(store.list_tags(&m.arn).unwrap().is_empty());
    assert!(store.list_tags(&a.arn).unwrap().is_empty());
}
