//! A storage outage (every commit and execution read failing, as with a full disk or an
//! unreachable database) through the real server and SDK: a Wait state's timer that fires
//! and a function's result that arrives during the outage are held by the writer and run
//! again with back-off, and both executions complete by themselves once storage is back,
//! each input applied once, with gap-free histories.

mod common;

use cairn::config::Config;
use cairn_store::*;
use common::TestServer;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A store that fails commits and execution reads while `down`; it goes down by itself
/// right after committing a batch whose events contain `trip` (so the outage starts at a
/// known point, not after a guessed delay).
struct Flaky {
    inner: Arc<dyn Store>,
    down: AtomicBool,
    trip: Mutex<Option<String>>,
    /// Refused commits, by execution ARN named in the batch's events or spent timers.
    refused: Mutex<HashMap<String, usize>>,
    /// Execution reads refused, by ARN.
    failed_reads: Mutex<HashMap<String, usize>>,
}

fn outage() -> StoreError {
    StoreError::Database("database or disk is full (simulated)".into())
}

impl Flaky {
    fn read<T>(&self, arns: &[String], f: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.down.load(Ordering::SeqCst) {
            let mut failed = self.failed_reads.lock().unwrap();
            for arn in arns {
                *failed.entry(arn.clone()).or_default() += 1;
            }
            return Err(outage());
        }
        f()
    }
    fn failed_reads(&self, arn: &str) -> usize {
        self.failed_reads
            .lock()
            .unwrap()
            .get(arn)
            .copied()
            .unwrap_or(0)
    }
    fn refused(&self, arn: &str) -> usize {
        self.refused.lock().unwrap().get(arn).copied().unwrap_or(0)
    }
}

impl Store for Flaky {
    fn token_key(&self) -> Result<[u8; 32]> {
        self.inner.token_key()
    }
    fn insert_activity(&self, a: &ActivityRecord) -> Result<Inserted<ActivityRecord>> {
        self.inner.insert_activity(a)
    }
    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.inner.get_activity(arn)
    }
    fn list_activities(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        self.inner.list_activities(account, after, limit)
    }
    fn delete_activity(&self, arn: &str) -> Result<bool> {
        self.inner.delete_activity(arn)
    }
    fn insert_state_machine(&self, m: &StateMachineRecord) -> Result<Inserted<StateMachineRecord>> {
        self.inner.insert_state_machine(m)
    }
    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        self.inner.get_state_machine(arn)
    }
    fn update_state_machine(&self, m: &StateMachineRecord) -> Result<bool> {
        self.inner.update_state_machine(m)
    }
    fn list_state_machines(
        &self,
        account: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        self.inner.list_state_machines(account, after, limit)
    }
    fn delete_state_machine(&self, arn: &str) -> Result<bool> {
        self.inner.delete_state_machine(arn)
    }
    fn publish_version(&self, v: &VersionRecord, max: usize) -> Result<Published> {
        self.inner.publish_version(v, max)
    }
    fn get_version(&self, arn: &str) -> Result<Option<VersionRecord>> {
        self.inner.get_version(arn)
    }
    fn list_versions(
        &self,
        machine_arn: &str,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        self.inner.list_versions(machine_arn, after, limit)
    }
    fn delete_version(&self, arn: &str) -> Result<VersionDeleted> {
        self.inner.delete_version(arn)
    }
    fn insert_alias(&self, a: &AliasRecord, max: usize) -> Result<AliasWritten> {
        self.inner.insert_alias(a, max)
    }
    fn get_alias(&self, arn: &str) -> Result<Option<AliasRecord>> {
        self.inner.get_alias(arn)
    }
    fn update_alias(&self, a: &AliasRecord) -> Result<AliasWritten> {
        self.inner.update_alias(a)
    }
    fn list_aliases(
        &self,
        machine_arn: &str,
        version_arn: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        self.inner
            .list_aliases(machine_arn, version_arn, after, limit)
    }
    fn delete_alias(&self, arn: &str) -> Result<bool> {
        self.inner.delete_alias(arn)
    }
    fn put_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        self.inner.put_tags(arn, tags)
    }
    fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.inner.remove_tags(arn, keys)
    }
    fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        self.inner.list_tags(arn)
    }
    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.read(&[arn.to_string()], || self.inner.get_execution(arn))
    }
    fn get_executions(&self, arns: &[String]) -> Result<Vec<ExecutionRecord>> {
        self.read(arns, || self.inner.get_executions(arns))
    }
    fn list_executions(
        &self,
        filter: &ExecutionFilter<'_>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.inner.list_executions(filter, after, limit)
    }
    fn running_executions(&self) -> Result<Vec<ExecutionRecord>> {
        self.inner.running_executions()
    }
    fn create_map_run(&self, run: &cairn_store::MapRunRecord) -> Result<cairn_store::MapRunRecord> {
        self.inner.create_map_run(run)
    }
    fn get_map_run(&self, arn: &str) -> Result<Option<cairn_store::MapRunRecord>> {
        self.inner.get_map_run(arn)
    }
    fn update_map_run_progress(
        &self,
        arn: &str,
        status: &str,
        stop_date_ms: Option<i64>,
        item_counts: &str,
        execution_counts: &str,
    ) -> Result<bool> {
        self.inner
            .update_map_run_progress(arn, status, stop_date_ms, item_counts, execution_counts)
    }
    fn update_map_run_settings(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        count: Option<u64>,
        percentage: Option<f64>,
    ) -> Result<bool> {
        self.inner
            .update_map_run_settings(arn, max_concurrency, count, percentage)
    }
    fn redrive_map_run(&self, arn: &str, count: u32, date_ms: i64) -> Result<bool> {
        self.inner.redrive_map_run(arn, count, date_ms)
    }
    fn link_map_run_execution(&self, run: &str, execution: &str, index: u64) -> Result<()> {
        self.inner.link_map_run_execution(run, execution, index)
    }
    fn map_run_of_execution(&self, execution_arn: &str) -> Result<Option<String>> {
        self.inner.map_run_of_execution(execution_arn)
    }
    fn list_map_run_executions(
        &self,
        run: &str,
        status: Option<&str>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.inner
            .list_map_run_executions(run, status, after, limit)
    }
    fn map_run_executions_by_item(
        &self,
        run: &str,
        after_index: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, ExecutionRecord)>> {
        self.inner
            .map_run_executions_by_item(run, after_index, limit)
    }
    fn history(&self, arn: &str, page: HistoryPage, limit: usize) -> Result<Vec<EventRecord>> {
        self.inner.history(arn, page, limit)
    }
    fn commit(&self, batch: &Batch) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            let mut refused = self.refused.lock().unwrap();
            let arns = batch
                .events
                .iter()
                .map(|e| &e.execution_arn)
                .chain(batch.cancelled_timers.iter().map(|(arn, _)| arn))
                .collect::<std::collections::HashSet<_>>();
            for arn in arns {
                *refused.entry(arn.clone()).or_default() += 1;
            }
            return Err(outage());
        }
        self.inner.commit(batch)?;
        let mut trip = self.trip.lock().unwrap();
        if let Some(t) = trip.as_deref() {
            if batch.events.iter().any(|e| e.body.contains(t)) {
                self.down.store(true, Ordering::SeqCst);
                *trip = None;
            }
        }
        Ok(())
    }
    fn claim_activity_task(&self, arn: &str) -> Result<Option<ActivityTaskRecord>> {
        self.inner.claim_activity_task(arn)
    }
    fn peek_activity_tasks(
        &self,
        arn: &str,
        limit: usize,
    ) -> Result<Option<Vec<ActivityTaskRecord>>> {
        self.inner.peek_activity_tasks(arn, limit)
    }
    fn release_activity_task(&self, arn: &str, task: u64) -> Result<()> {
        self.inner.release_activity_task(arn, task)
    }
    fn activity_backlog(&self, arn: &str) -> Result<ActivityBacklog> {
        self.inner.activity_backlog(arn)
    }
    fn timers(&self) -> Result<Vec<TimerRecord>> {
        self.inner.timers()
    }
}

/// Wait for something observable, failing after a generous deadline.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn history(server: &TestServer, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    server
        .client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events
}

fn types(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect()
}

/// Ids 1..=n in order, each event's previous id an earlier one.
fn assert_gap_free(events: &[aws_sdk_sfn::types::HistoryEvent]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id(), i as i64 + 1, "history ids: {:?}", types(events));
        assert!(e.previous_event_id() < e.id());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_and_a_function_result_during_an_outage_complete_once_storage_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("go");
    let functions = dir.path().join("functions.toml");
    std::fs::write(
        &functions,
        format!(
            "[functions.gated]\ncommand = \"while [ ! -e '{}' ]; do sleep 0.02; done; cat\"\n",
            gate.display()
        ),
    )
    .unwrap();
    let config = Config {
        functions_file: Some(functions),
        ..Config::default()
    };
    let flaky: Arc<Mutex<Option<Arc<Flaky>>>> = Default::default();
    let keep = flaky.clone();
    let server = TestServer::start_on(config, move |inner| {
        let f = Arc::new(Flaky {
            inner,
            down: AtomicBool::new(false),
            trip: Mutex::new(None),
            refused: Default::default(),
            failed_reads: Default::default(),
        });
        *keep.lock().unwrap() = Some(f.clone());
        f
    })
    .await;
    let flaky = flaky.lock().unwrap().clone().unwrap();

    let task = server
        .create_machine(
            "task",
            &json!({"StartAt": "T", "States": {"T": {
                "Type": "Task", "Resource": format!("{FN_ARN}gated"), "End": true}}}),
        )
        .await;
    let wait = server
        .create_machine(
            "wait",
            &json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
                "P": {"Type": "Pass", "End": true}}}),
        )
        .await;

    // The function runs (and waits for the gate) while storage is still up.
    let b = server.start_execution(&task, &json!({"n": 1})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !types(&history(&server, &b).await).contains(&"LambdaFunctionStarted".to_string()) {
        assert!(Instant::now() < deadline, "the function never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Storage fails from the commit that enters the Wait state on: the timer fires during
    // the outage; then the function answers during it too.
    *flaky.trip.lock().unwrap() = Some("WaitStateEntered".into());
    let a = server.start_execution(&wait, &json!({"n": 2})).await;
    assert!(flaky.down.load(Ordering::SeqCst), "the outage began");
    std::fs::write(&gate, "").unwrap();
    // Each input's commit is refused; then the writer, having forgotten the execution, tries
    // the input again (held, not dropped) and finds it cannot even read the execution yet.
    // Nothing else names these executions meanwhile.
    until("the fired timer and the result to be retried", || {
        flaky.refused(&a) >= 1
            && flaky.refused(&b) >= 1
            && flaky.failed_reads(&a) >= 2
            && flaky.failed_reads(&b) >= 2
    })
    .await;

    // A caller waiting on a reply is told of the failure, and nothing of its request stays.
    let refused = server
        .client
        .start_execution()
        .state_machine_arn(&wait)
        .name("during-the-outage")
        .input("{}")
        .send()
        .await;
    assert!(refused.is_err(), "a start during the outage: {refused:?}");

    // Storage comes back: the node carries on by itself.
    flaky.down.store(false, Ordering::SeqCst);
    for arn in [&a, &b] {
        let d = server.wait_done(arn).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED", "{arn}");
    }
    let ha = history(&server, &a).await;
    assert_gap_free(&ha);
    let ta = types(&ha);
    assert_eq!(
        ta.iter().filter(|t| *t == "WaitStateExited").count(),
        1,
        "{ta:?}"
    );
    assert_eq!(ta.last().map(String::as_str), Some("ExecutionSucceeded"));
    let hb = history(&server, &b).await;
    assert_gap_free(&hb);
    let tb = types(&hb);
    assert_eq!(
        tb.iter()
            .filter(|t| *t == "LambdaFunctionSucceeded")
            .count(),
        1,
        "{tb:?}"
    );
    let d = server.wait_done(&b).await;
    assert_eq!(d.output(), Some(r#"{"n":1}"#));
    let listed = server
        .client
        .list_executions()
        .state_machine_arn(&wait)
        .send()
        .await
        .expect("list executions");
    let names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert_eq!(listed.executions().len(), 1, "{names:?}");
    server.stop().await;
}
