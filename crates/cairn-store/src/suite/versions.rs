//! Suite cases of the version and alias tables, and ListExecutions by version or alias.

use super::fixtures::*;
use super::Database;
use crate::records::*;
use crate::Store;

fn version_of(m: &StateMachineRecord, revision: Option<&str>) -> VersionRecord {
    VersionRecord {
        arn: String::new(),
        machine_arn: m.arn.clone(),
        version: 0,
        definition: m.definition.clone(),
        role_arn: m.role_arn.clone(),
        revision_id: revision.map(str::to_owned),
        description: Some("v".to_owned()),
        creation_date_ms: 1_700_000_001_000,
        logging_configuration: m.logging_configuration.clone(),
        tracing_configuration: m.tracing_configuration.clone(),
        encryption_configuration: m.encryption_configuration.clone(),
        seq: 0,
    }
}

fn published(store: &dyn Store, v: &VersionRecord, max: usize) -> VersionRecord {
    match store.publish_version(v, max).unwrap() {
        Published::Created(v) => v,
        other => panic!("expected a new version, got {other:?}"),
    }
}

fn alias(m: &StateMachineRecord, name: &str, routes: &[(&str, u32)]) -> AliasRecord {
    AliasRecord {
        arn: format!("{}:{name}", m.arn),
        machine_arn: m.arn.clone(),
        name: name.to_owned(),
        description: None,
        routes: routes.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        creation_date_ms: 1_700_000_002_000,
        update_date_ms: 1_700_000_002_000,
        seq: 0,
    }
}

pub fn versions_are_numbered_and_never_reused(db: &dyn Database) {
    let store = db.open();
    let m = machine("m");
    store.insert_state_machine(&m).unwrap();
    assert_eq!(
        store
            .publish_version(&version_of(&machine("nobody"), None), 10)
            .unwrap(),
        Published::NoMachine
    );
    let v1 = published(&*store, &version_of(&m, None), 10);
    assert_eq!((v1.version, v1.arn.as_str()), (1, &*format!("{}:1", m.arn)));
    assert_eq!(store.get_version(&v1.arn).unwrap(), Some(v1.clone()));
    // The same revision again: the existing version, nothing new.
    assert_eq!(
        store.publish_version(&version_of(&m, None), 10).unwrap(),
        Published::Exists(v1.clone())
    );
    let v2 = published(&*store, &version_of(&m, Some("r2")), 10);
    assert_eq!(v2.version, 2);
    assert_eq!(
        store.delete_version(&v2.arn).unwrap(),
        VersionDeleted::Deleted
    );
    assert_eq!(
        store.delete_version(&v2.arn).unwrap(),
        VersionDeleted::Absent
    );
    assert_eq!(store.get_version(&v2.arn).unwrap(), None);
    // Number 2 is gone for good, even for the same revision.
    let v3 = published(&*store, &version_of(&m, Some("r2")), 10);
    assert_eq!(v3.version, 3);
    let v4 = published(&*store, &version_of(&m, Some("r4")), 10);
    // Newest first, in pages.
    let numbers = |rows: &[VersionRecord]| rows.iter().map(|v| v.version).collect::<Vec<_>>();
    let first = store.list_versions(&m.arn, None, 2).unwrap();
    assert_eq!(numbers(&first), [4, 3]);
    let rest = store
        .list_versions(&m.arn, Some(&Cursor { seq: first[1].seq }), 2)
        .unwrap();
    assert_eq!(numbers(&rest), [1]);
    // The quota counts stored versions.
    assert_eq!(
        store
            .publish_version(&version_of(&m, Some("r5")), 3)
            .unwrap(),
        Published::QuotaExceeded
    );
    assert_eq!(store.list_versions(&m.arn, None, 10).unwrap().len(), 3);
    assert_eq!(v4.version, 4);
    // Another handle (a restart) sees the same counter.
    let again = db.open();
    assert_eq!(
        published(&*again, &version_of(&m, Some("r6")), 10).version,
        5
    );
}

pub fn aliases_route_only_to_stored_versions(db: &dyn Database) {
    let store = db.open();
    let m = machine("m");
    store.insert_state_machine(&m).unwrap();
    let v1 = published(&*store, &version_of(&m, None), 10);
    let v2 = published(&*store, &version_of(&m, Some("r2")), 10);
    let missing = format!("{}:9", m.arn);

    let a = alias(&m, "a", &[(&v1.arn, 100)]);
    assert_eq!(
        store
            .insert_alias(&alias(&m, "a", &[(&v1.arn, 50), (&missing, 50)]), 10)
            .unwrap(),
        AliasWritten::MissingVersion(missing.clone())
    );
    assert_eq!(store.get_alias(&a.arn).unwrap(), None);
    assert_eq!(store.insert_alias(&a, 10).unwrap(), AliasWritten::Done);
    let stored_a = store.get_alias(&a.arn).unwrap().unwrap();
    assert_eq!(stored(&a, stored_a.seq, |r, s| r.seq = s), stored_a);
    assert_eq!(
        store.insert_alias(&a, 10).unwrap(),
        AliasWritten::Exists(stored_a.clone())
    );
    let b = alias(&m, "b", &[(&v1.arn, 30), (&v2.arn, 70)]);
    assert_eq!(store.insert_alias(&b, 10).unwrap(), AliasWritten::Done);
    assert_eq!(
        store
            .insert_alias(&alias(&m, "c", &[(&v1.arn, 100)]), 2)
            .unwrap(),
        AliasWritten::QuotaExceeded
    );

    let alias_names =
        |rows: &[AliasRecord]| rows.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        alias_names(&store.list_aliases(&m.arn, None, None, 10).unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        alias_names(&store.list_aliases(&m.arn, Some(&v2.arn), None, 10).unwrap()),
        ["b"]
    );
    let first = store.list_aliases(&m.arn, None, None, 1).unwrap();
    let rest = store
        .list_aliases(&m.arn, None, Some(&Cursor { seq: first[0].seq }), 10)
        .unwrap();
    assert_eq!(alias_names(&rest), ["b"]);

    // A routed version cannot be deleted.
    assert_eq!(
        store.delete_version(&v1.arn).unwrap(),
        VersionDeleted::Referenced(vec!["a".to_owned(), "b".to_owned()])
    );
    assert!(store.get_version(&v1.arn).unwrap().is_some());

    // Re-route b to v2 only; then v1 is held by a alone.
    let mut b2 = b.clone();
    b2.routes = vec![(v2.arn.clone(), 100)];
    b2.description = Some("moved".to_owned());
    b2.update_date_ms += 5;
    assert_eq!(store.update_alias(&b2).unwrap(), AliasWritten::Done);
    let got = store.get_alias(&b.arn).unwrap().unwrap();
    assert_eq!(
        (got.routes.clone(), got.description.clone()),
        (b2.routes.clone(), b2.description.clone())
    );
    assert_eq!(got.creation_date_ms, b.creation_date_ms);
    assert_eq!(
        store
            .update_alias(&alias(&m, "zz", &[(&v1.arn, 100)]))
            .unwrap(),
        AliasWritten::Absent
    );
    let mut bad = b2.clone();
    bad.routes = vec![(missing.clone(), 100)];
    assert_eq!(
        store.update_alias(&bad).unwrap(),
        AliasWritten::MissingVersion(missing)
    );
    assert_eq!(
        store.delete_version(&v1.arn).unwrap(),
        VersionDeleted::Referenced(vec!["a".to_owned()])
    );
    assert!(store.delete_alias(&a.arn).unwrap());
    assert!(!store.delete_alias(&a.arn).unwrap());
    assert_eq!(
        store.delete_version(&v1.arn).unwrap(),
        VersionDeleted::Deleted
    );
}

pub fn deleting_a_machine_removes_its_versions_and_aliases(db: &dyn Database) {
    let store = db.open();
    let m = machine("m");
    let other = machine("other");
    store.insert_state_machine(&m).unwrap();
    store.insert_state_machine(&other).unwrap();
    let v1 = published(&*store, &version_of(&m, None), 10);
    let kept = published(&*store, &version_of(&other, None), 10);
    store
        .insert_alias(&alias(&m, "a", &[(&v1.arn, 100)]), 10)
        .unwrap();
    assert!(store.delete_state_machine(&m.arn).unwrap());
    assert_eq!(store.get_version(&v1.arn).unwrap(), None);
    assert!(store
        .list_aliases(&m.arn, None, None, 10)
        .unwrap()
        .is_empty());
    assert_eq!(store.get_version(&kept.arn).unwrap(), Some(kept));
    // A new machine of the same name starts again from version 1.
    store.insert_state_machine(&m).unwrap();
    assert_eq!(published(&*store, &version_of(&m, None), 10).version, 1);
}

pub fn executions_list_by_version_and_alias(db: &dyn Database) {
    let store = db.open();
    let m = "m";
    let machine_arn = execution(m, "_", 0).state_machine_arn;
    let (v1, v2, a) = (
        format!("{machine_arn}:1"),
        format!("{machine_arn}:2"),
        format!("{machine_arn}:live"),
    );
    for (name, start_ms, version, alias) in [
        ("plain", 1_000, None, None),
        ("v1", 2_000, Some(&v1), None),
        ("a1", 3_000, Some(&v1), Some(&a)),
        ("a2", 4_000, Some(&v2), Some(&a)),
        ("v2", 5_000, Some(&v2), None),
    ] {
        let mut e = execution(m, name, start_ms);
        e.state_machine_version_arn = version.cloned();
        e.state_machine_alias_arn = alias.cloned();
        if name == "a1" {
            e = finished(e, "SUCCEEDED");
        }
        store.commit(&start(&e, 1)).unwrap();
    }
    let list = |q: &str, alias: bool, status: Option<&str>, after: Option<&Cursor>, n| {
        let of = if alias {
            ExecutionsOf::Alias(q)
        } else {
            ExecutionsOf::Version(q)
        };
        let filter = ExecutionFilter {
            of,
            status,
            redriven: None,
        };
        store.list_executions(&filter, after, n).unwrap()
    };
    assert_eq!(names(&list(&v1, false, None, None, 10)), ["a1", "v1"]);
    assert_eq!(names(&list(&v2, false, None, None, 10)), ["v2", "a2"]);
    assert_eq!(names(&list(&a, true, None, None, 10)), ["a2", "a1"]);
    assert_eq!(names(&list(&a, true, Some("SUCCEEDED"), None, 10)), ["a1"]);
    let first = list(&a, true, None, None, 1);
    let cursor = Cursor { seq: first[0].seq };
    assert_eq!(names(&list(&a, true, None, Some(&cursor), 10)), ["a1"]);
    assert!(list(&machine_arn, true, None, None, 10).is_empty());
    assert_eq!(
        names(
            &store
                .list_executions(&ExecutionFilter::machine(&machine_arn), None, 10)
                .unwrap()
        ),
        ["v2", "a2", "a1", "v1", "plain"]
    );
}

/// By version or alias, the redrive and status filters are in the query too: a page holds
/// `limit` matching rows even when non-matching ones sit between them, and the next page
/// continues after the last one.
pub fn executions_by_version_and_alias_filter_full_pages(db: &dyn Database) {
    let store = db.open();
    let machine_arn = execution("m", "_", 0).state_machine_arn;
    let (v1, a) = (format!("{machine_arn}:1"), format!("{machine_arn}:live"));
    // Newest first: r5 n4 r3 n2 r1 n0 (r = redriven, n = never redriven), all through the
    // alias to version 1, all FAILED but n2 (RUNNING).
    for i in 0..6 {
        let redriven = i % 2 == 1;
        let name = format!("{}{i}", if redriven { "r" } else { "n" });
        let mut e = execution("m", &name, 1_000 * i);
        e.state_machine_version_arn = Some(v1.clone());
        e.state_machine_alias_arn = Some(a.clone());
        if i != 2 {
            e = finished(e, "FAILED");
        }
        if redriven {
            e.redrive_count = 1;
        }
        store.commit(&start(&e, 1)).unwrap();
    }
    for of in [ExecutionsOf::Version(&v1), ExecutionsOf::Alias(&a)] {
        let page = |status, redriven, after: Option<&Cursor>, n| {
            let filter = ExecutionFilter {
                of,
                status,
                redriven,
            };
            store.list_executions(&filter, after, n).unwrap()
        };
        let first = page(None, Some(true), None, 2);
        assert_eq!(names(&first), ["r5", "r3"], "{of:?}");
        let cursor = Cursor { seq: first[1].seq };
        assert_eq!(names(&page(None, Some(true), Some(&cursor), 2)), ["r1"]);
        assert_eq!(names(&page(None, Some(false), None, 2)), ["n4", "n2"]);
        let failed_never = page(Some("FAILED"), Some(false), None, 2);
        assert_eq!(names(&failed_never), ["n4", "n0"], "{of:?}");
        assert!(page(Some("RUNNING"), Some(true), None, 5).is_empty());
    }
}
