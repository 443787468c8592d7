//! Three nodes on one PostgreSQL schema, one of them SIGKILLed mid-run: every execution still
//! finishes, exactly once. The acceptance test of running Cairn as a cluster.
//!
//! Three `cairn serve` processes (`--lease-ttl 2`) share a scratch schema. A thousand
//! executions of Pass → Task(activity A) → Wait 1 s → Task(activity B) → Succeed are started
//! round robin over the nodes; workers poll both activities on all three nodes and answer with
//! output computed from the input. When about a third have finished, one node is killed.
//! Starters and workers then do what a client of a cluster does: a call that gets no answer
//! (connection refused, reset, or a retryable 5xx while a lease is taken over) goes to the
//! next node. Once all have SUCCEEDED, every execution's output and full history are checked:
//! event ids 1..n without a gap, each state entered and left once, each activity task answered
//! once — no transition lost, none applied twice.
//!
//! Needs `CAIRN_TEST_POSTGRES_URL` (see `scripts/postgres-test-server`); skipped without it.
//! Times are printed, never asserted.

#[path = "common/cluster.rs"]
mod cluster;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType as E};
use aws_sdk_sfn::Client;
use cluster::{history, why, Cluster, Failover, Metrics};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const EXECUTIONS: usize = 1000;
/// Started but not yet finished, at most: keeps the activity queues short, so a task waits
/// far less than its `TimeoutSeconds` unless its node died; and spreads the run out so the
/// kill lands while executions are in every state and starts are still being made.
const IN_FLIGHT: usize = 200;
const STARTERS: usize = 6;
const WORKERS_PER_ACTIVITY: usize = 8;
/// The node killed (index into the cluster's nodes).
const VICTIM: usize = 1;
const FINISH_LIMIT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_execution_finishes_exactly_once_when_a_node_is_killed() {
    let Some(mut cluster) = Cluster::start(&["n1", "n2", "n3"], &["--lease-ttl", "2"]).await else {
        return;
    };
    let formed = cluster
        .wait_until(
            "three nodes see each other and each owns partitions",
            Duration::from_secs(30),
            |all| {
                all.iter()
                    .all(|m| m.cluster_nodes == Some(3) && m.partitions_owned.unwrap_or(0) > 0)
            },
        )
        .await;
    let partitions: u64 = formed.iter().filter_map(|m| m.partitions_owned).sum();
    let clients: Arc<[Client]> = cluster.clients().into();
    let stats = Arc::new(Stats::default());

    let sfn = &clients[0];
    let activity_a = create_activity(sfn, "a").await;
    let activity_b = create_activity(sfn, "b").await;
    let machine = sfn
        .create_state_machine()
        .name(format!("kill-{}", uuid::Uuid::new_v4().simple()))
        .role_arn("arn:aws:iam::123456789012:role/cairn-cluster")
        .definition(definition(&activity_a, &activity_b).to_string())
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;

    let begin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS_PER_ACTIVITY {
        for (activity, answer, last) in [
            (&activity_a, answer_a as fn(&Value) -> Value, false),
            (&activity_b, answer_b, true),
        ] {
            let failover = Failover::new(clients.clone(), w, stats.switches.clone());
            workers.push(tokio::spawn(worker(
                failover,
                activity.clone(),
                format!("w{w}"),
                answer,
                last,
                stop.clone(),
                stats.clone(),
            )));
        }
    }
    let next = Arc::new(AtomicUsize::new(0));
    let starters: Vec<_> = (0..STARTERS)
        .map(|s| {
            let failover = Failover::new(clients.clone(), s, stats.switches.clone());
            tokio::spawn(starter(
                failover,
                machine.clone(),
                next.clone(),
                stats.clone(),
            ))
        })
        .collect();

    while stats.finished.load(Ordering::Relaxed) < EXECUTIONS / 3 {
        assert!(
            begin.elapsed() < FINISH_LIMIT,
            "a third of the executions did not finish in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let finished_at_kill = stats.finished.load(Ordering::Relaxed);
    let started_at_kill = stats.started.load(Ordering::Relaxed);
    cluster.nodes[VICTIM].kill();
    let killed = Instant::now();
    println!(
        "cluster_kill: killed {} at {:.1}s, when {finished_at_kill} of {EXECUTIONS} executions \
         had finished and {started_at_kill} had been started",
        cluster.nodes[VICTIM].id,
        begin.elapsed().as_secs_f64()
    );

    for s in starters {
        s.await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    let started_all = killed.elapsed();
    let survivors: Arc<[Client]> = cluster
        .nodes
        .iter()
        .zip(clients.iter())
        .filter(|(n, _)| n.is_alive())
        .map(|(_, c)| c.clone())
        .collect();
    let mut watcher = Failover::new(survivors.clone(), 0, stats.switches.clone());
    let counts = loop {
        let counts = count_statuses(&mut watcher, &machine).await;
        let unexpected: usize = counts
            .iter()
            .filter(|(s, _)| !matches!(s, ExecutionStatus::Running | ExecutionStatus::Succeeded))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(unexpected, 0, "executions ended otherwise: {counts:?}");
        if status_count(&counts, ExecutionStatus::Succeeded) == EXECUTIONS {
            break counts;
        }
        assert!(
            killed.elapsed() < FINISH_LIMIT,
            "not all executions succeeded within {FINISH_LIMIT:?} of the kill: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let all_done = killed.elapsed();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.abort();
        if let Err(e) = w.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
    assert_eq!(counts.len(), 1, "{counts:?}");

    let verdicts = verify_all(&survivors, &machine, stats.clone()).await;
    let problems: Vec<&String> = verdicts.iter().filter_map(|v| v.as_ref().err()).collect();
    assert!(
        problems.is_empty(),
        "{} of {EXECUTIONS} executions are wrong; the first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(20)
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let retried: Vec<usize> = verdicts
        .iter()
        .filter_map(|v| v.as_ref().ok())
        .copied()
        .filter(|&extra| extra > 0)
        .collect();

    // An answer refused because its task had closed before is fine: the task had timed out,
    // or this worker's earlier send of the same answer was applied by a node that died before
    // replying, so the resend to another node found the task closed. An answer refused while
    // its task was open, or a task answered by another worker first, means a delivery lost or
    // doubled.
    let refused = std::mem::take(&mut *stats.refused.lock().expect("refused"));
    let mut checker = Failover::new(survivors.clone(), 0, stats.switches.clone());
    let mut refusals = Vec::new();
    for r in refused {
        let arn = execution_arn(&machine, &execution_name(r.n));
        let events = history(&mut checker, &arn, 1000).await.expect("a history");
        refusals.push((explain(&events, &r), r));
    }
    let wrong: Vec<_> = refusals
        .iter()
        .filter(|(why, _)| !matches!(why, Refusal::TimedOut | Refusal::AnsweredBefore))
        .collect();
    assert!(wrong.is_empty(), "answers refused wrongly: {wrong:#?}");
    let timed_out = refusals
        .iter()
        .filter(|(why, _)| *why == Refusal::TimedOut)
        .count();
    let mut codes: Vec<&str> = refusals.iter().map(|(_, r)| r.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();

    // Every partition the dead node held is owned by a survivor again.
    let after = cluster
        .wait_until(
            "the survivors own every partition",
            Duration::from_secs(30),
            |all| all.iter().filter_map(|m| m.partitions_owned).sum::<u64>() == partitions,
        )
        .await;
    println!(
        "cluster_kill: all {EXECUTIONS} SUCCEEDED {:.1}s after the kill ({:.1}s in all; the \
         last start was made {:.1}s after the kill)",
        all_done.as_secs_f64(),
        (killed - begin + all_done).as_secs_f64(),
        started_all.as_secs_f64()
    );
    println!(
        "cluster_kill: {} execution(s) retried a timed-out activity task ({} extra attempts); \
         clients moved to another node {} time(s); {} start(s) found the execution already \
         there; {} task answer(s) refused: {timed_out} after a timeout, {} resent after being \
         applied {codes:?}",
        retried.len(),
        retried.iter().sum::<usize>(),
        stats.switches.load(Ordering::Relaxed),
        stats.already_started.load(Ordering::Relaxed),
        refusals.len(),
        refusals.len() - timed_out
    );
    println!(
        "cluster_kill: partitions before {}, after {}",
        describe_ownership(&formed),
        describe_ownership(&after)
    );
}

/// Counters shared by starters, workers and the checks.
#[derive(Default)]
struct Stats {
    started: AtomicUsize,
    /// Executions whose last activity task (B) was answered: finished, or about to.
    finished: AtomicUsize,
    /// Calls sent again to another node after getting no answer.
    switches: Arc<AtomicUsize>,
    /// Starts answered ExecutionAlreadyExists: an earlier attempt was committed, its answer lost.
    already_started: AtomicUsize,
    /// SendTaskSuccess calls answered with a 4xx (see [`Refusal`]).
    refused: Mutex<Vec<Refused>>,
}

/// A SendTaskSuccess answered with a 4xx.
#[derive(Debug)]
struct Refused {
    code: String,
    /// The execution (its input's `n`).
    n: usize,
    /// The Task state ("A" or "B").
    state: &'static str,
    worker: String,
    /// When the refusal arrived, in seconds since the epoch.
    at: f64,
}

/// Why a task answer was refused, read from the history of its execution.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// The attempt the worker held had timed out.
    TimedOut,
    /// The worker's own earlier send of the same answer had closed the task.
    AnsweredBefore,
    /// Another worker had answered the task first: it was handed out twice.
    AnsweredByAnother,
    /// Nothing closed the task before the answer was refused.
    WhileOpen,
}

fn explain(events: &[HistoryEvent], r: &Refused) -> Refusal {
    let mut in_state = false;
    let mut started_by = None;
    for e in events {
        let before = e.timestamp().as_secs_f64() <= r.at;
        match e.r#type() {
            E::TaskStateEntered => {
                in_state = e.state_entered_event_details().map(|d| d.name()) == Some(r.state)
            }
            E::TaskStateExited => in_state = false,
            _ if !in_state => {}
            E::ActivityScheduled => started_by = None,
            E::ActivityStarted => {
                started_by = e
                    .activity_started_event_details()
                    .and_then(|d| d.worker_name())
            }
            E::ActivityTimedOut if before && started_by == Some(r.worker.as_str()) => {
                return Refusal::TimedOut
            }
            E::ActivitySucceeded if before => {
                return match started_by == Some(r.worker.as_str()) {
                    true => Refusal::AnsweredBefore,
                    false => Refusal::AnsweredByAnother,
                }
            }
            _ => {}
        }
    }
    Refusal::WhileOpen
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Pass → A → Wait 1 s → B → Succeed. The Task states time out after 10 s and retry on
/// States.Timeout: a task a worker polled from the killed node just before it died has been
/// marked started but never reached the worker, so only its timeout frees the execution.
fn definition(activity_a: &str, activity_b: &str) -> Value {
    let retry = json!([{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1,
                        "MaxAttempts": 5, "BackoffRate": 1.0}]);
    json!({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.pass", "Next": "A"},
        "A": {"Type": "Task", "Resource": activity_a, "TimeoutSeconds": 10, "Retry": retry,
              "ResultPath": "$.a", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "B"},
        "B": {"Type": "Task", "Resource": activity_b, "TimeoutSeconds": 10, "Retry": retry,
              "ResultPath": "$.b", "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

fn answer_a(input: &Value) -> Value {
    json!({"doubled": input["n"].as_u64().expect("n") * 2})
}

/// B's answer needs A's: a lost or doubled result of A shows up in the output.
fn answer_b(input: &Value) -> Value {
    let n = input["n"].as_u64().expect("n");
    let doubled = input["a"]["doubled"].as_u64().expect("A's result");
    json!({"tripled": n + doubled})
}

fn expected_output(n: u64) -> Value {
    json!({"n": n, "pass": "prepared", "a": {"doubled": 2 * n}, "b": {"tripled": 3 * n}})
}

fn execution_name(i: usize) -> String {
    format!("e{i:04}")
}

fn execution_arn(machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

async fn create_activity(sfn: &Client, suffix: &str) -> String {
    sfn.create_activity()
        .name(format!("kill-{suffix}-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .expect("CreateActivity")
        .activity_arn
}

/// Start executions until all are started, never more than [`IN_FLIGHT`] unfinished.
async fn starter(mut sfn: Failover, machine: String, next: Arc<AtomicUsize>, stats: Arc<Stats>) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= EXECUTIONS {
            return;
        }
        while stats
            .started
            .load(Ordering::Relaxed)
            .saturating_sub(stats.finished.load(Ordering::Relaxed))
            >= IN_FLIGHT
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let name = execution_name(i);
        let input = json!({"n": i}).to_string();
        let arn = execution_arn(&machine, &name);
        // StartExecution with the same name and input is idempotent while the execution runs,
        // so a start whose answer was lost is simply sent again (to another node). If that
        // execution has finished meanwhile, the answer is ExecutionAlreadyExists.
        let started = sfn
            .call("StartExecution", |c| {
                c.start_execution()
                    .state_machine_arn(&machine)
                    .name(&name)
                    .input(&input)
                    .send()
            })
            .await;
        match started {
            Ok(out) => assert_eq!(out.execution_arn, arn),
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => {
                let d = sfn
                    .call("DescribeExecution", |c| {
                        c.describe_execution().execution_arn(&arn).send()
                    })
                    .await
                    .expect("DescribeExecution of an execution said to exist");
                let theirs: Value = serde_json::from_str(d.input().unwrap_or("null"))
                    .expect("an execution's input is JSON");
                assert_eq!(theirs, json!({"n": i}), "{name} has another input");
                stats.already_started.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("StartExecution {name}: {}", why(&e)),
        }
        stats.started.fetch_add(1, Ordering::Relaxed);
    }
}

/// Poll one activity and answer every task with `answer(input)`, until stopped. Answers of
/// the `last` activity count as finished executions.
async fn worker(
    mut sfn: Failover,
    activity: String,
    name: String,
    answer: fn(&Value) -> Value,
    last: bool,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) {
    while !stop.load(Ordering::Relaxed) {
        let task = sfn
            .call("GetActivityTask", |c| {
                c.get_activity_task()
                    .activity_arn(&activity)
                    .worker_name(&name)
                    .send()
            })
            .await
            .unwrap_or_else(|e| panic!("GetActivityTask: {}", why(&e)));
        let Some(token) = task.task_token().filter(|t| !t.is_empty()) else {
            continue;
        };
        let input: Value = serde_json::from_str(task.input().expect("a task's input"))
            .expect("a task's input is JSON");
        let output = answer(&input).to_string();
        // Sent again to another node when unanswered: the same token, so at most one of the
        // attempts can close the task; the others are answered TaskTimedOut.
        let answered = sfn
            .call("SendTaskSuccess", |c| {
                c.send_task_success()
                    .task_token(token)
                    .output(&output)
                    .send()
            })
            .await;
        match answered {
            Ok(_) if last => {
                stats.finished.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => {
                let refused = Refused {
                    code: e.code().unwrap_or("?").to_string(),
                    n: input["n"].as_u64().expect("n") as usize,
                    state: if last { "B" } else { "A" },
                    worker: name.clone(),
                    at: seconds(SystemTime::now()),
                };
                stats.refused.lock().expect("refused").push(refused);
            }
        }
    }
}

/// How many of the machine's executions are in each status.
async fn count_statuses(sfn: &mut Failover, machine: &str) -> Vec<(ExecutionStatus, usize)> {
    let mut counts: Vec<(ExecutionStatus, usize)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sfn
            .call("ListExecutions", |c| {
                c.list_executions()
                    .state_machine_arn(machine)
                    .max_results(1000)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .unwrap_or_else(|e| panic!("ListExecutions: {}", why(&e)));
        for e in page.executions() {
            match counts.iter_mut().find(|(s, _)| s == e.status()) {
                Some((_, n)) => *n += 1,
                None => counts.push((e.status().clone(), 1)),
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return counts;
        }
    }
}

fn status_count(counts: &[(ExecutionStatus, usize)], status: ExecutionStatus) -> usize {
    counts
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| *n)
}

/// Check every execution on the survivors: `Ok(extra activity attempts)` or what is wrong.
async fn verify_all(
    survivors: &Arc<[Client]>,
    machine: &str,
    stats: Arc<Stats>,
) -> Vec<Result<usize, String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let checkers: Vec<_> = (0..8)
        .map(|c| {
            let (next, machine) = (next.clone(), machine.to_string());
            let mut sfn = Failover::new(survivors.clone(), c, stats.switches.clone());
            tokio::spawn(async move {
                let mut verdicts = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= EXECUTIONS {
                        return verdicts;
                    }
                    let name = execution_name(i);
                    let verdict = verify(&mut sfn, &machine, i)
                        .await
                        .map_err(|e| format!("{name}: {e}"));
                    verdicts.push(verdict);
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in checkers {
        all.extend(c.await.expect("a checker"));
    }
    all
}

/// One execution: SUCCEEDED with the expected output, and a history that walks the machine
/// once. Returns the number of activity attempts beyond one per Task state.
async fn verify(sfn: &mut Failover, machine: &str, i: usize) -> Result<usize, String> {
    let arn = execution_arn(machine, &execution_name(i));
    let d = sfn
        .call("DescribeExecution", |c| {
            c.describe_execution().execution_arn(&arn).send()
        })
        .await
        .map_err(|e| format!("DescribeExecution: {}", why(&e)))?;
    if d.status() != &ExecutionStatus::Succeeded {
        return Err(format!("status {:?}", d.status()));
    }
    let output: Value = serde_json::from_str(d.output().unwrap_or("null"))
        .map_err(|e| format!("output is not JSON: {e}"))?;
    if output != expected_output(i as u64) {
        return Err(format!("output {output}"));
    }
    let events = history(sfn, &arn, 8).await?;
    check_history(&events).map_err(|e| {
        let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
        format!("{e}; history: {types:?}")
    })
}

/// Event ids 1..n with no gap or repeat, each pointing back at an earlier event, and the
/// event types following the machine's single path:
///
/// ExecutionStarted, Pass, Task A, Wait, Task B, Succeed, ExecutionSucceeded
///
/// where each Task state is entered once and left once, and in between holds attempts that
/// timed out (ActivityScheduled, perhaps ActivityStarted, ActivityTimedOut — the Retry on
/// States.Timeout) and then exactly one ActivityScheduled, ActivityStarted, ActivitySucceeded.
/// Returns the number of timed-out attempts.
fn check_history(events: &[HistoryEvent]) -> Result<usize, String> {
    for (at, e) in events.iter().enumerate() {
        if e.id() != at as i64 + 1 {
            return Err(format!("event #{} has id {}", at + 1, e.id()));
        }
        if e.previous_event_id() >= e.id() {
            return Err(format!(
                "event {} follows event {}",
                e.id(),
                e.previous_event_id()
            ));
        }
    }
    let mut walk = Walk { events, at: 0 };
    walk.expect(E::ExecutionStarted, None)?;
    walk.expect(E::PassStateEntered, Some("Prepare"))?;
    walk.expect(E::PassStateExited, Some("Prepare"))?;
    let retries_a = walk.activity_state("A")?;
    walk.expect(E::WaitStateEntered, Some("Pause"))?;
    walk.expect(E::WaitStateExited, Some("Pause"))?;
    let retries_b = walk.activity_state("B")?;
    walk.expect(E::SucceedStateEntered, Some("Done"))?;
    walk.expect(E::SucceedStateExited, Some("Done"))?;
    walk.expect(E::ExecutionSucceeded, None)?;
    if let Some(extra) = events.get(walk.at) {
        return Err(format!(
            "event {} ({}) after ExecutionSucceeded",
            extra.id(),
            extra.r#type().as_str()
        ));
    }
    Ok(retries_a + retries_b)
}

/// A cursor over a history, expecting one event type after another.
struct Walk<'a> {
    events: &'a [HistoryEvent],
    at: usize,
}

impl Walk<'_> {
    fn peek(&self) -> Option<&E> {
        self.events.get(self.at).map(|e| e.r#type())
    }

    /// The next event is of type `ty` (and, for a state event, about state `state`).
    fn expect(&mut self, ty: E, state: Option<&str>) -> Result<(), String> {
        let Some(e) = self.events.get(self.at) else {
            return Err(format!("history ends where {} was due", ty.as_str()));
        };
        if e.r#type() != &ty {
            return Err(format!(
                "event {} is {} where {} was due",
                e.id(),
                e.r#type().as_str(),
                ty.as_str()
            ));
        }
        if let Some(state) = state {
            let name = e
                .state_entered_event_details()
                .map(|d| d.name())
                .or_else(|| e.state_exited_event_details().map(|d| d.name()));
            if name != Some(state) {
                return Err(format!("event {} is about state {name:?}", e.id()));
            }
        }
        self.at += 1;
        Ok(())
    }

    /// A Task state on an activity: entered, attempts until one succeeds, left. Returns the
    /// attempts that timed out.
    fn activity_state(&mut self, state: &str) -> Result<usize, String> {
        self.expect(E::TaskStateEntered, Some(state))?;
        let mut timed_out = 0;
        loop {
            self.expect(E::ActivityScheduled, None)?;
            if self.peek() == Some(&E::ActivityTimedOut) {
                // Timed out while still queued: nobody ever got the task.
                self.at += 1;
                timed_out += 1;
                continue;
            }
            self.expect(E::ActivityStarted, None)?;
            if self.peek() == Some(&E::ActivityTimedOut) {
                self.at += 1;
                timed_out += 1;
                continue;
            }
            self.expect(E::ActivitySucceeded, None)?;
            break;
        }
        self.expect(E::TaskStateExited, Some(state))?;
        Ok(timed_out)
    }
}

/// `n1 40, n2 44, n3 44`.
fn describe_ownership(all: &[Metrics]) -> String {
    all.iter()
        .map(|m| format!("{} {}", m.node, m.partitions_owned.unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A history built from (type, state) pairs, ids 1..n, each event following the one before.
fn canned(path: &[(E, Option<&str>)]) -> Vec<HistoryEvent> {
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{StateEnteredEventDetails, StateExitedEventDetails};
    path.iter()
        .enumerate()
        .map(|(at, (ty, state))| {
            let mut e = HistoryEvent::builder()
                .id(at as i64 + 1)
                .previous_event_id(at as i64)
                .timestamp(DateTime::from_secs(0))
                .r#type(ty.clone());
            if let Some(name) = state {
                if ty.as_str().ends_with("Entered") {
                    e = e.state_entered_event_details(
                        StateEnteredEventDetails::builder()
                            .name(*name)
                            .build()
                            .unwrap(),
                    );
                } else {
                    e = e.state_exited_event_details(
                        StateExitedEventDetails::builder()
                            .name(*name)
                            .build()
                            .unwrap(),
                    );
                }
            }
            e.build().unwrap()
        })
        .collect()
}

/// The check itself, on canned histories: it passes the machine's path, with or without
/// timed-out attempts, and refuses a transition lost, one applied twice, or an id skipped.
#[test]
fn the_history_check_refuses_a_lost_or_doubled_transition() {
    let task = |state| {
        vec![
            (E::TaskStateEntered, Some(state)),
            (E::ActivityScheduled, None),
            (E::ActivityStarted, None),
            (E::ActivitySucceeded, None),
            (E::TaskStateExited, Some(state)),
        ]
    };
    let mut path = vec![
        (E::ExecutionStarted, None),
        (E::PassStateEntered, Some("Prepare")),
        (E::PassStateExited, Some("Prepare")),
    ];
    path.extend(task("A"));
    path.extend([
        (E::WaitStateEntered, Some("Pause")),
        (E::WaitStateExited, Some("Pause")),
    ]);
    path.extend(task("B"));
    path.extend([
        (E::SucceedStateEntered, Some("Done")),
        (E::SucceedStateExited, Some("Done")),
        (E::ExecutionSucceeded, None),
    ]);
    assert_eq!(check_history(&canned(&path)), Ok(0));

    let mut retried = path.clone();
    let timed_out = [
        (E::ActivityScheduled, None),
        (E::ActivityTimedOut, None),
        (E::ActivityScheduled, None),
        (E::ActivityStarted, None),
        (E::ActivityTimedOut, None),
    ];
    retried.splice(4..4, timed_out);
    assert_eq!(check_history(&canned(&retried)), Ok(2));

    let mut doubled = path.clone();
    doubled.insert(7, (E::ActivitySucceeded, None));
    assert!(check_history(&canned(&doubled)).is_err());
    let mut lost = path.clone();
    lost.remove(9); // WaitStateExited
    assert!(check_history(&canned(&lost)).is_err());
    let mut wrong_state = path.clone();
    wrong_state[8] = (E::WaitStateEntered, Some("A"));
    assert!(check_history(&canned(&wrong_state)).is_err());
    let mut gap = canned(&path);
    gap.remove(5);
    assert!(check_history(&gap).is_err());
}
