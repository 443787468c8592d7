//! The shared store test suite: every backend runs exactly these cases.
//!
//! Owns: the executable form of the [`Store`] contract. Cases are written only against the
//! trait, never against a backend, so that a future PostgreSQL store proves the same things.
//! Must not: sleep, depend on timing, or assume a single handle (a [`Database`] may be opened
//! several times at once, as several nodes or a restarted process would).
//!
//! A backend runs the suite with one line in its integration tests:
//!
//! ```text
//! cairn_store::store_suite!(MyScratchDatabase::new());
//! ```
//!
//! which expands to one `#[test]` per case (each on a fresh database), plus a test that the
//! macro's list and [`CASES`] agree. [`run_all`] runs every case in one go instead.

use crate::records::*;
use crate::{Inserted, Store};
use std::collections::HashSet;

/// A fresh, empty database the suite may open as often as it likes. Each [`Database::open`]
/// returns a new handle on the same data: what a restarted process (or another node) sees.
/// Handles may be open at the same time; dropping a handle stands for a process exiting.
pub trait Database {
    fn open(&self) -> Box<dyn Store>;
}

impl<F: Fn() -> Box<dyn Store>> Database for F {
    fn open(&self) -> Box<dyn Store> {
        self()
    }
}

/// One case of the suite.
pub type Case = fn(&dyn Database);

/// Every case, by name. [`crate::store_suite!`] must list the same names (a generated test
/// checks it).
pub const CASES: &[(&str, Case)] = &[
    ("token_key_is_created_once", token_key_is_created_once),
    (
        "activity_insert_is_idempotent",
        activity_insert_is_idempotent,
    ),
    (
        "activities_page_in_creation_order",
        activities_page_in_creation_order,
    ),
    (
        "delete_activity_drops_its_tasks",
        delete_activity_drops_its_tasks,
    ),
    (
        "state_machine_insert_is_idempotent",
        state_machine_insert_is_idempotent,
    ),
    (
        "state_machine_update_replaces_the_record",
        state_machine_update_replaces_the_record,
    ),
    (
        "state_machines_page_in_creation_order",
        state_machines_page_in_creation_order,
    ),
    ("tags_keep_insertion_order", tags_keep_insertion_order),
    ("commit_upserts_executions", commit_upserts_executions),
    ("executions_list_newest_first", executions_list_newest_first),
    (
        "executions_filter_by_status_across_pages",
        executions_filter_by_status_across_pages,
    ),
    (
        "executions_keep_redrive_fields_and_filter_by_them",
        executions_keep_redrive_fields_and_filter_by_them,
    ),
    ("running_executions_are_found", running_executions_are_found),
    ("history_pages_both_ways", history_pages_both_ways),
    (
        "failed_batch_leaves_nothing_behind",
        failed_batch_leaves_nothing_behind,
    ),
    (
        "batch_removals_follow_additions",
        batch_removals_follow_additions,
    ),
    ("claim_takes_the_oldest_task", claim_takes_the_oldest_task),
    ("backlog_counts_waiting_tasks", backlog_counts_waiting_tasks),
    (
        "peeked_tasks_are_taken_by_the_commit_that_hands_them_out",
        peeked_tasks_are_taken_by_the_commit_that_hands_them_out,
    ),
    (
        "concurrent_claimers_never_share_a_task",
        concurrent_claimers_never_share_a_task,
    ),
    (
        "release_puts_a_task_back_in_place",
        release_puts_a_task_back_in_place,
    ),
    ("withdrawn_tasks_are_gone", withdrawn_tasks_are_gone),
    (
        "timers_are_added_moved_and_cancelled",
        timers_are_added_moved_and_cancelled,
    ),
    (
        "everything_committed_survives_reopen",
        everything_committed_survives_reopen,
    ),
    (
        "versions_are_numbered_and_never_reused",
        versions_are_numbered_and_never_reused,
    ),
    (
        "aliases_route_only_to_stored_versions",
        aliases_route_only_to_stored_versions,
    ),
    (
        "deleting_a_machine_removes_its_versions_and_aliases",
        deleting_a_machine_removes_its_versions_and_aliases,
    ),
    (
        "executions_list_by_version_and_alias",
        executions_list_by_version_and_alias,
    ),
];

/// Run every case, each on a database from `new_database`.
pub fn run_all(new_database: &dyn Fn() -> Box<dyn Database>) {
    for (name, case) in CASES {
        eprintln!("store suite: {name}");
        case(&*new_database());
    }
}

/// One `#[test]` per suite case. The argument is an expression evaluated once per test that
/// yields a fresh [`suite::Database`](crate::suite::Database) (it lives until the test ends,
/// so it may own a temporary directory).
///
/// `store_suite!(optional EXPR)` takes an `Option` of a database instead: on `None` (say, no
/// server configured) each test returns at once; EXPR should say on stderr why it skipped.
#[macro_export]
macro_rules! store_suite {
    (optional $new_database:expr) => {
        $crate::store_suite!(@cases $new_database;
            token_key_is_created_once,
            activity_insert_is_idempotent,
            activities_page_in_creation_order,
            delete_activity_drops_its_tasks,
            state_machine_insert_is_idempotent,
            state_machine_update_replaces_the_record,
            state_machines_page_in_creation_order,
            tags_keep_insertion_order,
            commit_upserts_executions,
            executions_list_newest_first,
            executions_filter_by_status_across_pages,
            executions_keep_redrive_fields_and_filter_by_them,
            running_executions_are_found,
            history_pages_both_ways,
            failed_batch_leaves_nothing_behind,
            batch_removals_follow_additions,
            claim_takes_the_oldest_task,
            backlog_counts_waiting_tasks,
            peeked_tasks_are_taken_by_the_commit_that_hands_them_out,
            concurrent_claimers_never_share_a_task,
            release_puts_a_task_back_in_place,
            withdrawn_tasks_are_gone,
            timers_are_added_moved_and_cancelled,
            everything_committed_survives_reopen,
            versions_are_numbered_and_never_reused,
            aliases_route_only_to_stored_versions,
            deleting_a_machine_removes_its_versions_and_aliases,
            executions_list_by_version_and_alias,
        );
    };
    ($new_database:expr) => {
        $crate::store_suite!(optional ::std::option::Option::Some($new_database));
    };
    (@cases $new_database:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                if let ::std::option::Option::Some(database) = $new_database {
                    $crate::suite::$case(&database);
                }
            }
        )*

        #[test]
        fn store_suite_lists_every_case() {
            let here: &[&str] = &[$(stringify!($case)),*];
            let all: Vec<&str> = $crate::suite::CASES.iter().map(|(name, _)| *name).collect();
            assert_eq!(here, all.as_slice(), "store_suite! and suite::CASES disagree");
        }
    };
}

// ---- records ------------------------------------------------------------------------------

const REGION: &str = "arn:aws:states:us-east-1:123456789012";

fn activity(name: &str) -> ActivityRecord {
    ActivityRecord {
        arn: format!("{REGION}:activity:{name}"),
        name: name.to_owned(),
        creation_date_ms: 1_700_000_000_000,
        encryption_configuration: r#"{"type":"AWS_OWNED_KEY"}"#.to_owned(),
        seq: 0,
    }
}

fn machine(name: &str) -> StateMachineRecord {
    StateMachineRecord {
        arn: format!("{REGION}:stateMachine:{name}"),
        name: name.to_owned(),
        machine_type: "STANDARD".to_owned(),
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/run".to_owned(),
        status: "ACTIVE".to_owned(),
        creation_date_ms: 1_700_000_000_000,
        update_date_ms: None,
        revision_id: None,
        logging_configuration: r#"{"level":"OFF"}"#.to_owned(),
        tracing_configuration: r#"{"enabled":false}"#.to_owned(),
        encryption_configuration: r#"{"type":"AWS_OWNED_KEY"}"#.to_owned(),
        description: None,
        seq: 0,
    }
}

fn execution(machine: &str, name: &str, start_ms: i64) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("{REGION}:execution:{machine}:{name}"),
        state_machine_arn: format!("{REGION}:stateMachine:{machine}"),
        name: name.to_owned(),
        status: "RUNNING".to_owned(),
        start_date_ms: start_ms,
        stop_date_ms: None,
        input: r#"{"x":1}"#.to_owned(),
        output: None,
        error: None,
        cause: None,
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/run".to_owned(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_date_ms: None,
        snapshot: format!(r#"{{"at":"{name}"}}"#),
        seq: 0,
    }
}

fn finished(mut e: ExecutionRecord, status: &str) -> ExecutionRecord {
    e.status = status.to_owned();
    e.stop_date_ms = Some(e.start_date_ms + 1_000);
    e.output = Some(r#"{"done":true}"#.to_owned());
    e
}

fn event(execution: &ExecutionRecord, id: u64) -> EventRecord {
    EventRecord {
        execution_arn: execution.arn.clone(),
        id,
        body: format!(
            r#"{{"id":{id},"type":"PassStateEntered","of":"{}"}}"#,
            execution.name
        ),
    }
}

fn task(activity: &ActivityRecord, execution: &ExecutionRecord, id: u64) -> ActivityTaskRecord {
    ActivityTaskRecord {
        activity_arn: activity.arn.clone(),
        execution_arn: execution.arn.clone(),
        task: id,
        token: format!("token-{}-{id}", execution.name),
        input: format!(r#"{{"task":{id}}}"#),
        scheduled_ms: 1_700_000_000_000 + id as i64,
        taken: false,
    }
}

fn timer(execution: &ExecutionRecord, id: u64, fire_at_ms: i64) -> TimerRecord {
    TimerRecord {
        execution_arn: execution.arn.clone(),
        timer: id,
        fire_at_ms,
    }
}

/// A batch that starts `execution` with events `1..=events`.
fn start(execution: &ExecutionRecord, events: u64) -> Batch {
    Batch {
        executions: vec![execution.clone()],
        events: (1..=events).map(|id| event(execution, id)).collect(),
        ..Batch::default()
    }
}

/// What a store returns for `record` (the store assigns `seq`).
fn stored<T: Clone>(record: &T, seq: i64, set: fn(&mut T, i64)) -> T {
    let mut r = record.clone();
    set(&mut r, seq);
    r
}

/// Records that carry a name, for comparing listings by name.
trait Named {
    fn name(&self) -> &str;
}

impl Named for ActivityRecord {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for StateMachineRecord {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ExecutionRecord {
    fn name(&self) -> &str {
        &self.name
    }
}

fn names<T: Named>(rows: &[T]) -> Vec<&str> {
    rows.iter().map(Named::name).collect()
}

/// Claim until the queue is empty; the ids in claim order. Bounded, so that a store that
/// hands out the same task forever fails the test instead of hanging it.
fn claim_ids(store: &dyn Store, activity: &ActivityRecord) -> Vec<u64> {
    const BOUND: usize = 10_000;
    let ids: Vec<u64> = std::iter::from_fn(|| store.claim_activity_task(&activity.arn).unwrap())
        .map(|t| t.task)
        .take(BOUND)
        .collect();
    assert!(
        ids.len() < BOUND,
        "the queue never ran dry: {:?}…",
        &ids[..10]
    );
    ids
}

// ---- meta -----------------------------------------------------------------------------------

pub fn token_key_is_created_once(db: &dyn Database) {
    let store = db.open();
    let key = store.token_key().unwrap();
    assert_ne!(key, [0u8; 32], "the key must be random, not zeroes");
    assert_eq!(store.token_key().unwrap(), key);
    let other_node = db.open();
    assert_eq!(
        other_node.token_key().unwrap(),
        key,
        "every handle shares one key"
    );
    drop((store, other_node));
    assert_eq!(
        db.open().token_key().unwrap(),
        key,
        "the key survives a restart"
    );
}

// ---- activities -----------------------------------------------------------------------------

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
        let page = store.list_activities(after.as_ref(), 2).unwrap();
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
    let all = store.list_activities(None, 100).unwrap();
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

// ---- state machines and tags ---------------------------------------------------------------

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

    let first = store.list_state_machines(None, 3).unwrap();
    assert_eq!(names(&first), ["z", "y", "w"]);
    let cursor = Cursor { seq: first[2].seq };
    let second = store.list_state_machines(Some(&cursor), 3).unwrap();
    assert_eq!(names(&second), ["v", "x"]);
    let cursor = Cursor { seq: second[1].seq };
    assert!(store
        .list_state_machines(Some(&cursor), 3)
        .unwrap()
        .is_empty());
    assert!(
        store.list_state_machines(None, 0).unwrap().is_empty(),
        "limit 0"
    );
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

// ---- executions and history ---------------------------------------------------------------

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
    let all = store.list_executions(&m, None, None, 100).unwrap();
    assert_eq!(names(&all), ["d", "c2", "c1", "b", "a"]);

    let first = store.list_executions(&m, None, None, 2).unwrap();
    assert_eq!(names(&first), ["d", "c2"]);
    let cursor = Cursor { seq: first[1].seq };
    let second = store.list_executions(&m, None, Some(&cursor), 2).unwrap();
    assert_eq!(names(&second), ["c1", "b"]);
    let cursor = Cursor { seq: second[1].seq };
    let third = store.list_executions(&m, None, Some(&cursor), 2).unwrap();
    assert_eq!(names(&third), ["a"]);
    let cursor = Cursor { seq: third[0].seq };
    assert!(store
        .list_executions(&m, None, Some(&cursor), 2)
        .unwrap()
        .is_empty());

    let none = execution("nobody", "_", 0).state_machine_arn;
    assert!(store
        .list_executions(&none, None, None, 10)
        .unwrap()
        .is_empty());
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
        .list_executions(&m, Some("SUCCEEDED"), None, 3)
        .unwrap();
    assert_eq!(names(&first), ["e5", "e4", "e2"]);
    let cursor = Cursor { seq: first[2].seq };
    let second = store
        .list_executions(&m, Some("SUCCEEDED"), Some(&cursor), 3)
        .unwrap();
    assert_eq!(names(&second), ["e0"]);

    let failed = store.list_executions(&m, Some("FAILED"), None, 3).unwrap();
    assert_eq!(names(&failed), ["e3"]);
    assert!(store
        .list_executions(&m, Some("ABORTED"), None, 3)
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
            .list_executions_redriven(&m, status, redriven, None, 10)
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
    let first = store
        .list_executions_redriven(&m, None, Some(true), None, 1)
        .unwrap();
    let next = store
        .list_executions_redriven(&m, None, Some(true), Some(&Cursor { seq: first[0].seq }), 5)
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

// ---- activity tasks -----------------------------------------------------------------------

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

// ---- timers -------------------------------------------------------------------------------

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

// ---- durability -----------------------------------------------------------------------------

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
            s.list_activities(None, 100).unwrap(),
            s.list_state_machines(None, 100).unwrap(),
            s.list_tags(&m.arn).unwrap(),
            s.list_executions(&m.arn, None, None, 100).unwrap(),
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

// ---- versions and aliases -------------------------------------------------------------------

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
        store
            .list_qualified_executions(q, alias, status, after, n)
            .unwrap()
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
        names(&store.list_executions(&machine_arn, None, None, 10).unwrap()),
        ["v2", "a2", "a1", "v1", "plain"]
    );
}
