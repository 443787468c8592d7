//! Workflow variables (`Assign`, ASL.md §10.3): lookup through nested scopes and applying
//! the assignments of a state.
//!
//! A thread's own `vars` hold what was assigned in its scope; reads walk up to the parent
//! threads (a Parallel branch or Map iteration sees outer variables, never its siblings').
//! Assignments are evaluated against the values as of state entry and applied afterwards,
//! which the caller guarantees by evaluating everything before calling [`apply`].

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
                Some((p, _)) => tid = p,
                None => return None,
            }
        }
    }
}

/// Store evaluated assignments in the thread's scope. A name already defined in an outer
/// scope is updated there (AWS forbids shadowing, so the names are unique).
pub(crate) fn apply(machine: &mut Machine, tid: u32, assigned: &Map<String, Value>) {
    for (name, value) in assigned {
        let mut owner = tid;
        let mut cur = tid;
        loop {
            let t = machine.thread(cur);
            if t.vars.contains_key(name) {
                owner = cur;
                break;
            }
            match t.parent {
                Some((p, _)) => cur = p,
                None => break,
            }
        }
        machine
            .thread_mut(owner)
            .vars
            .insert(name.clone(), value.clone());
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
}
