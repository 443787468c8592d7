//! The state machines StartExecution read lately, kept for [`MACHINE_FRESH_FOR`], so a burst
//! of starts of one machine costs one store read a second instead of one blocking-pool
//! hand-off (and, on PostgreSQL, a round trip) per start.
//!
//! AWS documents the same window: executions started shortly after UpdateStateMachine may
//! still run the previous definition and role. Here an update, delete or create on this node
//! forgets the machine at once, so only a change made through another node (or another
//! process on the same SQLite file) can be seen up to [`MACHINE_FRESH_FOR`] late.
//!
//! Owns only the cached records; it never reads the store itself and never caches a miss.

use cairn_store::StateMachineRecord;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a machine read from the store is used without reading it again.
pub const MACHINE_FRESH_FOR: Duration = Duration::from_secs(1);

/// More machines than this are not worth keeping: stale entries are swept out past it.
const MAX_MACHINES: usize = 4096;

#[derive(Default)]
pub struct MachineCache {
    machines: Mutex<HashMap<String, (StateMachineRecord, Instant)>>,
}

impl MachineCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (StateMachineRecord, Instant)>> {
        self.machines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The machine, if it was read from the store less than [`MACHINE_FRESH_FOR`] ago.
    pub fn get(&self, arn: &str) -> Option<StateMachineRecord> {
        self.lock()
            .get(arn)
            .filter(|(_, at)| at.elapsed() < MACHINE_FRESH_FOR)
            .map(|(m, _)| m.clone())
    }

    /// Remember a machine just read from the store.
    pub fn put(&self, machine: &StateMachineRecord) {
        let mut machines = self.lock();
        if machines.len() >= MAX_MACHINES {
            machines.retain(|_, (_, at)| at.elapsed() < MACHINE_FRESH_FOR);
        }
        if machines.len() < MAX_MACHINES {
            machines.insert(machine.arn.clone(), (machine.clone(), Instant::now()));
        }
    }

    /// The machine was created, updated or deleted here: read it from the store next time.
    pub fn forget(&self, arn: &str) {
        self.lock().remove(arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_it_is_given_until_forgotten() {
        let cache = MachineCache::default();
        let machine = StateMachineRecord {
            arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            name: "m".into(),
            machine_type: "STANDARD".into(),
            definition: "{}".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            status: "ACTIVE".into(),
            creation_date_ms: 0,
            update_date_ms: None,
            revision_id: None,
            logging_configuration: "{}".into(),
            tracing_configuration: "{}".into(),
            encryption_configuration: "{}".into(),
            description: None,
            seq: 1,
        };
        assert!(cache.get(&machine.arn).is_none());
        cache.put(&machine);
        assert_eq!(cache.get(&machine.arn), Some(machine.clone()));
        cache.forget(&machine.arn);
        assert!(cache.get(&machine.arn).is_none());
    }
}
