//! The shared store test suite: every backend runs exactly these cases.
//!
//! Owns: the executable form of the [`Store`] contract. Cases are written only against the
//! trait, never against a backend, so that SQLite and PostgreSQL prove the same things.
//! Must not: sleep, depend on timing, or assume a single handle (a [`Database`] may be opened
//! several times at once, as several nodes or a restarted process would).
//!
//! One file per table (or area): `meta`, `activities`, `machines` (state machines and tags),
//! `executions` (executions, history, commit), `tasks`, `timers`, `durability`, `versions`
//! (versions, aliases, executions by them), and `fixtures` for the records they share. The
//! cases are listed once, in [`store_suite!`]; [`CASES`] is generated from the same list.
//!
//! Compiled only for tests: the crate's own integration tests enable the `test-suite` feature
//! through a dev-dependency on the crate itself, and nothing else enables it.
//!
//! A backend runs the suite with one line in its integration tests:
//!
//! ```text
//! cairn_store::store_suite!(MyScratchDatabase::new());
//! ```
//!
//! which expands to one `#[test]` per case (each on a fresh database). [`run_all`] runs every
//! case in one go instead.

mod activities;
mod durability;
mod executions;
mod fixtures;
mod machines;
mod map_runs;
mod meta;
mod tasks;
mod timers;
mod versions;

pub use activities::*;
pub use durability::*;
pub use executions::*;
pub use machines::*;
pub use map_runs::*;
pub use meta::*;
pub use tasks::*;
pub use timers::*;
pub use versions::*;

use crate::Store;

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

crate::store_suite!(@list [@const]);

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
///
/// The `@list` arm holds the one list of cases (`area::case`, in the order they run);
/// `@tests` and `@const` turn it into tests and into [`CASES`].
#[macro_export]
macro_rules! store_suite {
    (optional $new_database:expr) => {
        $crate::store_suite!(@list [@tests $new_database]);
    };
    (@list [$($then:tt)*]) => {
        $crate::store_suite!($($then)*;
            meta::token_key_is_created_once,
            activities::activity_insert_is_idempotent,
            activities::activities_page_in_creation_order,
            activities::delete_activity_drops_its_tasks,
            machines::state_machine_insert_is_idempotent,
            machines::state_machine_update_replaces_the_record,
            machines::state_machines_page_in_creation_order,
            machines::machines_and_activities_list_by_account,
            machines::tags_keep_insertion_order,
            executions::commit_upserts_executions,
            executions::executions_list_newest_first,
            executions::executions_filter_by_status_across_pages,
            executions::executions_keep_redrive_fields_and_filter_by_them,
            executions::running_executions_are_found,
            executions::history_pages_both_ways,
            executions::failed_batch_leaves_nothing_behind,
            executions::batch_removals_follow_additions,
            tasks::claim_takes_the_oldest_task,
            tasks::backlog_counts_waiting_tasks,
            tasks::peeked_tasks_are_taken_by_the_commit_that_hands_them_out,
            tasks::concurrent_claimers_never_share_a_task,
            tasks::release_puts_a_task_back_in_place,
            tasks::withdrawn_tasks_are_gone,
            timers::timers_are_added_moved_and_cancelled,
            durability::everything_committed_survives_reopen,
            versions::versions_are_numbered_and_never_reused,
            versions::aliases_route_only_to_stored_versions,
            versions::deleting_a_machine_removes_its_versions_and_aliases,
            versions::executions_list_by_version_and_alias,
            versions::executions_by_version_and_alias_filter_full_pages,
            map_runs::map_runs_keep_settings_and_progress,
            map_runs::map_run_children_are_listed_and_found,
            map_runs::map_run_children_are_paged_in_item_order,
        );
    };
    (@tests $new_database:expr; $($area:ident::$case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                if let ::std::option::Option::Some(database) = $new_database {
                    $crate::suite::$case(&database);
                }
            }
        )*
    };
    (@const; $($area:ident::$case:ident,)*) => {
        /// Every case, by name, in the order [`store_suite!`](crate::store_suite) lists them.
        pub const CASES: &[(&str, Case)] = &[$((stringify!($case), $area::$case)),*];
    };
    ($new_database:expr) => {
        $crate::store_suite!(optional ::std::option::Option::Some($new_database));
    };
}
