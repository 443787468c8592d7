//! The records and helpers the suite's cases share: one account and region, records
//! named after what the case needs, and small comparisons.

use crate::records::*;
use crate::Store;

pub(super) const REGION: &str = "arn:aws:states:us-east-1:123456789012";

pub(super) fn activity(name: &str) -> ActivityRecord {
    ActivityRecord {
        arn: format!("{REGION}:activity:{name}"),
        name: name.to_owned(),
        creation_date_ms: 1_700_000_000_000,
        encryption_configuration: r#"{"type":"AWS_OWNED_KEY"}"#.to_owned(),
        seq: 0,
    }
}

pub(super) fn machine(name: &str) -> StateMachineRecord {
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

pub(super) fn execution(machine: &str, name: &str, start_ms: i64) -> ExecutionRecord {
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

pub(super) fn finished(mut e: ExecutionRecord, status: &str) -> ExecutionRecord {
    e.status = status.to_owned();
    e.stop_date_ms = Some(e.start_date_ms + 1_000);
    e.output = Some(r#"{"done":true}"#.to_owned());
    e
}

pub(super) fn event(execution: &ExecutionRecord, id: u64) -> EventRecord {
    EventRecord {
        execution_arn: execution.arn.clone(),
        id,
        body: format!(
            r#"{{"id":{id},"type":"PassStateEntered","of":"{}"}}"#,
            execution.name
        ),
    }
}

pub(super) fn task(
    activity: &ActivityRecord,
    execution: &ExecutionRecord,
    id: u64,
) -> ActivityTaskRecord {
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

pub(super) fn timer(execution: &ExecutionRecord, id: u64, fire_at_ms: i64) -> TimerRecord {
    TimerRecord {
        execution_arn: execution.arn.clone(),
        timer: id,
        fire_at_ms,
    }
}

/// A batch that starts `execution` with events `1..=events`.
pub(super) fn start(execution: &ExecutionRecord, events: u64) -> Batch {
    Batch {
        executions: vec![execution.clone()],
        events: (1..=events).map(|id| event(execution, id)).collect(),
        ..Batch::default()
    }
}

/// What a store returns for `record` (the store assigns `seq`).
pub(super) fn stored<T: Clone>(record: &T, seq: i64, set: fn(&mut T, i64)) -> T {
    let mut r = record.clone();
    set(&mut r, seq);
    r
}

/// Records that carry a name, for comparing listings by name.
pub(super) trait Named {
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

pub(super) fn names<T: Named>(rows: &[T]) -> Vec<&str> {
    rows.iter().map(Named::name).collect()
}

/// Claim until the queue is empty; the ids in claim order. Bounded, so that a store that
/// hands out the same task forever fails the test instead of hanging it.
pub(super) fn claim_ids(store: &dyn Store, activity: &ActivityRecord) -> Vec<u64> {
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
