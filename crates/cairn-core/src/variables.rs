//! Workflow variables (`Assign`, ASL.md §10.3): lookup through nested scopes and applying
//! the assignments of a state.
//!
//! A thread's own `vars` hold what was assigned in its scope; reads walk up to the parent
//! threads (a Parallel branch or Map iteration sees outer variables, never its siblings').
//! Assignments are evaluated against the values as of state entry and applied afterwards,
//! which the caller guarantees by evaluating everything before calling [`apply`].
//! The same variables serve both query languages: `$name` paths (JSONPath) and `$name`
//! in JSONata expressions read them through [`ThreadVars`].

use crate::machine::Machine;
use serde_json::{Map, Value};

/// Read access to the variables visible from a thread.
pub(crate) struct ThreadVars<'a> {
    pub machine: &'a Machine,
    pub tid: u32,
}

impl cairn_jsonpath::Variables for ThreadVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut tid = self.tid;
        loop {
            let t = self.machine.thread(tid);
            if let Some(v) = t.vars.get(name) {
                return Some(v);
            }
            match t.parent {
                // A Distributed Map child (hidden under a visible parent) is a workflow of
                // its own on AWS: it cannot see the variables outside (ASL.md §10.3).
                Some((p, _)) if !t.hidden || self.machine.thread(p).hidden => tid = p,
                _ => return None,
            }
        }
    }
}

impl cairn_jsonata::Variables for ThreadVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        cairn_jsonpath::Variables::get(self, name)
    }
}

/// One variable, and one state's `Assign` as a whole: at most 256 KiB (as JSON text).
pub(crate) const ASSIGN_LIMIT: usize = 262_144;
/// All variables of an execution together: at most 10 MiB.
pub(crate) const EXECUTION_VARIABLES_LIMIT: usize = 10 * 1024 * 1024;

/// Which limit an assignment would break, if any (the words go into the failure's cause).
pub(crate) fn over_limit(machine: &Machine, assigned: &Map<String, Value>) -> Option<&'static str> {
    let mut total = 0;
    for value in assigned.values() {
        let size = serde_json::to_string(value).map_or(0, |t| t.len());
        if size > ASSIGN_LIMIT {
            return Some("a variable with a size");
        }
        total += size;
    }
    if total > ASSIGN_LIMIT {
        return Some("variables with a total size");
    }
    // Every scope's variables count, the new values on top (a generous upper bound when a
    // name is reassigned: the old value is counted too).
    let existing: usize = machine
        .threads
        .iter()
        .flatten()
        .flat_map(|t| t.vars.values())
        .map(|v| serde_json::to_string(v).map_or(0, |t| t.len()))
        .sum();
    (existing + total > EXECUTION_VARIABLES_LIMIT)
        .then_some("variables taking the execution's total")
}

/// Store evaluated assignments in the thread's own scope. An inner scope (a Parallel branch,
/// a Map iteration) reads outer variables but never assigns them (ASL.md §10.3): AWS rejects
/// such definitions, and should one slip through, the value stays in the inner scope and
/// vanishes with it. The Parallel/Map state's own `Assign` runs in the outer thread.
pub(crate) fn apply(machine: &mut Machine, tid: u32, assigned: &Map<String, Value>) {
    let vars = &mut machine.thread_mut(tid).vars;
    for (name, value) in assigned {
        vars.insert(name.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Thread;
    use cairn_jsonpath::Variables;
    use serde_json::json;

    #[test]
    fn inner_scopes_read_outer_variables_and_siblings_are_isolated() {
        let mut m = Machine::default();
        let root = m.add_thread(Thread::new(None, vec![], 0, 0, json!({})));
        let a = m.add_thread(Thread::new(Some((root, 0)), vec![(0, 0)], 0, 0, json!({})));
        let b = m.add_thread(Thread::new(Some((root, 1)), vec![(0, 1)], 0, 0, json!({})));
        let mut x = Map::new();
        x.insert("x".into(), json!(1));
        apply(&mut m, root, &x);
        let mut y = Map::new();
        y.insert("y".into(), json!(2));
        apply(&mut m, a, &y);
        let va = ThreadVars {
            machine: &m,
            tid: a,
        };
        let vb = ThreadVars {
            machine: &m,
            tid: b,
        };
        assert_eq!(va.get("x"), Some(&json!(1)));
        assert_eq!(va.get("y"), Some(&json!(2)));
        assert_eq!(vb.get("y"), None);
    }

    #[test]
    fn distributed_map_children_do_not_see_outer_variables() {
        let mut m = Machine::default();
        let root = m.add_thread(Thread::new(None, vec![], 0, 0, json!({})));
        let mut child = Thread::new(Some((root, 0)), vec![(0, 0)], 0, 0, json!({}));
        child.hidden = true;
        let child = m.add_thread(child);
        let mut inner = Thread::new(Some((child, 0)), vec![(0, 0), (0, 0)], 0, 0, json!({}));
        inner.hidden = true;
        let inner = m.add_thread(inner);
        let mut x = Map::new();
        x.insert("x".into(), json!(1));
        apply(&mut m, root, &x);
        let mut y = Map::new();
        y.insert("y".into(), json!(2));
        apply(&mut m, child, &y);
        let v = ThreadVars {
            machine: &m,
            tid: inner,
        };
        assert_eq!(v.get("x"), None);
        assert_eq!(v.get("y"), Some(&json!(2)));
    }

    #[test]
    fn inner_scopes_cannot_assign_outer_variables() {
        let mut m = Machine::default();
        let root = m.add_thread(Thread::new(None, vec![], 0, 0, json!({})));
        let a = m.add_thread(Thread::new(Some((root, 0)), vec![(0, 0)], 0, 0, json!({})));
        let mut x = Map::new();
        x.insert("x".into(), json!(1));
        apply(&mut m, root, &x);
        x.insert("x".into(), json!(2));
        apply(&mut m, a, &x);
        let outer = ThreadVars {
            machine: &m,
            tid: root,
        };
        let inner = ThreadVars {
            machine: &m,
            tid: a,
        };
        assert_eq!(Variables::get(&outer, "x"), Some(&json!(1)));
        assert_eq!(Variables::get(&inner, "x"), Some(&json!(2)));
        assert_eq!(cairn_jsonata::Variables::get(&inner, "x"), Some(&json!(2)));
    }
}
