//! Activity tasks and task tokens through the real SDK: workers take tasks with
//! GetActivityTask and answer with SendTaskSuccess/Failure/Heartbeat; timeouts, heartbeats,
//! stops, deletes, restarts and the `.waitForTaskToken` callback pattern. Time is scaled down
//! with `wait_time_scale`, so no test waits real seconds for an ASL timeout.

mod common;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use common::{error_code, TestServer};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn fast_config() -> cairn::config::Config {
    cairn::config::Config {
        wait_time_scale: 0.05,
        activity_long_poll: Duration::from_millis(300),
        ..Default::default()
    }
}

async fn activity(server: &TestServer, name: &str) -> String {
    server.create_activity(name).await
}

async fn machine(server: &TestServer, name: &str, definition: Value) -> String {
    server.create_machine(name, &definition).await
}

async fn start(server: &TestServer, sm: &str, input: Value) -> String {
    server.start_execution(sm, &input).await
}

/// Poll until a task comes (the long poll is short in these tests).
async fn take(server: &TestServer, activity_arn: &str, worker: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = server
            .client
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name(worker)
            .send()
            .await
            .unwrap();
        if let Some(token) = t.task_token() {
            return (token.to_string(), t.input().unwrap_or_default().to_string());
        }
        assert!(Instant::now() < deadline, "no task arrived");
    }
}

async fn wait_done(
    server: &TestServer,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    server.wait_done(arn).await
}

async fn history_types(server: &TestServer, arn: &str) -> Vec<HistoryEventType> {
    let h = server
        .client
        .get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    h.events().iter().map(|e| e.r#type().clone()).collect()
}

fn task_on(activity_arn: &str, extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": activity_arn, "End": true});
    if let (Some(t), Some(e)) = (task.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            t.insert(k.clone(), v.clone());
        }
    }
    json!({"StartAt": "T", "States": {"T": task}})
}

#[tokio::test]
async fn worker_success_is_recorded_as_aws_does() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "work").await;
    let sm = machine(
        &server,
        "m",
        task_on(
            &act,
            json!({"TimeoutSeconds": 600, "HeartbeatSeconds": 300}),
        ),
    )
    .await;
    let arn = start(&server, &sm, json!({"job": 7})).await;
    let (token, input) = take(&server, &act, "worker-1").await;
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"job": 7})
    );
    server
        .client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"done": true}"#)
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(d.output().unwrap()).unwrap(),
        json!({"done": true})
    );

    let h = server
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let types: Vec<_> = h.events().iter().map(|e| e.r#type().clone()).collect();
    assert_eq!(
        types,
        vec![
            HistoryEventType::ExecutionStarted,
            HistoryEventType::TaskStateEntered,
            HistoryEventType::ActivityScheduled,
            HistoryEventType::ActivityStarted,
            HistoryEventType::ActivitySucceeded,
            HistoryEventType::TaskStateExited,
            HistoryEventType::ExecutionSucceeded,
        ]
    );
    let scheduled = h.events()[2].activity_scheduled_event_details().unwrap();
    assert_eq!(scheduled.resource(), act);
    assert_eq!(scheduled.timeout_in_seconds(), Some(600));
    assert_eq!(scheduled.heartbeat_in_seconds(), Some(300));
    let started = h.events()[3].activity_started_event_details().unwrap();
    assert_eq!(started.worker_name(), Some("worker-1"));
    assert_eq!(h.events()[3].previous_event_id(), 3);

    // The task is closed: the same token now answers TaskTimedOut, and changes nothing.
    let err = server
        .client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TaskTimedOut"));
    let err = server
        .client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TaskTimedOut"));
    assert_eq!(history_types(&server, &arn).await.len(), 7);
}

#[tokio::test]
async fn worker_failure_fails_the_execution_or_is_retried_then_caught() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "flaky").await;
    let plain = machine(&server, "plain", task_on(&act, json!({}))).await;
    let arn = start(&server, &plain, json!({})).await;
    let (token, _) = take(&server, &act, "w").await;
    server
        .client
        .send_task_failure()
        .task_token(&token)
        .error("Boom")
        .cause("it broke")
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(d.error(), Some("Boom"));
    assert_eq!(d.cause(), Some("it broke"));

    let guarded = machine(
        &server,
        "guarded",
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": act, "Next": "Done",
                  "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}]},
            "Handled": {"Type": "Pass", "End": true},
            "Done": {"Type": "Succeed"}}}),
    )
    .await;
    let arn = start(&server, &guarded, json!({"keep": 1})).await;
    for attempt in 0..2 {
        let (token, _) = take(&server, &act, "w").await;
        server
            .client
            .send_task_failure()
            .task_token(&token)
            .error("Boom")
            .cause(format!("attempt {attempt}"))
            .send()
            .await
            .unwrap();
    }
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(d.output().unwrap()).unwrap(),
        json!({"keep": 1, "error": {"Error": "Boom", "Cause": "attempt 1"}})
    );
    let types = history_types(&server, &arn).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == HistoryEventType::ActivityScheduled)
            .count(),
        2
    );
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == HistoryEventType::ActivityFailed)
            .count(),
        2
    );
}

#[tokio::test]
async fn timeouts_and_heartbeats() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "slow").await;

    // TimeoutSeconds runs out while the worker holds the task.
    let sm = machine(
        &server,
        "timeout",
        task_on(&act, json!({"TimeoutSeconds": 2})),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let (token, _) = take(&server, &act, "w").await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(d.error(), Some("States.Timeout"));
    assert!(history_types(&server, &arn)
        .await
        .contains(&HistoryEventType::ActivityTimedOut));
    let err = server
        .client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TaskTimedOut"));

    // No heartbeat within HeartbeatSeconds: reported as States.Timeout (observed AWS behaviour).
    let sm = machine(
        &server,
        "heartbeat",
        task_on(&act, json!({"TimeoutSeconds": 1000, "HeartbeatSeconds": 2})),
    )
    .await;
    let arn = start(&server, &sm, json!({})).await;
    let _held = take(&server, &act, "w").await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.error(), Some("States.Timeout"));

    // Heartbeats keep a task alive well past HeartbeatSeconds.
    let arn = start(&server, &sm, json!({})).await;
    let (token, _) = take(&server, &act, "w").await;
    let begin = Instant::now();
    // HeartbeatSeconds 2 at scale 0.05 = 100 ms; beat every 20 ms for 500 ms.
    while begin.elapsed() < Duration::from_millis(500) {
        server
            .client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
        .client
        .send_task_success()
        .task_token(&token)
        .output(r#""alive""#)
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, &arn).await;
    assert_eq!(
        d.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        d.error(),
        d.cause()
    );
    assert_eq!(d.output(), Some(r#""alive""#));
}

#[tokio::test]
async fn stop_while_a_worker_holds_the_token() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "held").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    let arn = start(&server, &sm, json!({})).await;
    let (token, _) = take(&server, &act, "w").await;
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = server
        .client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TaskTimedOut"));
    let err = server
        .client
        .send_task_failure()
        .task_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TaskTimedOut"));
    // A stopped execution's queued tasks are withdrawn: nobody gets them.
    let arn2 = start(&server, &sm, json!({})).await;
    server
        .client
        .stop_execution()
        .execution_arn(&arn2)
        .send()
        .await
        .unwrap();
    let t = server
        .client
        .get_activity_task()
        .activity_arn(&act)
        .send()
        .await
        .unwrap();
    assert_eq!(t.task_token(), None);
}

#[tokio::test]
async fn bad_tokens_and_missing_activities() {
    let server = TestServer::start_with(fast_config()).await;
    let c = &server.client;
    let err = c
        .send_task_success()
        .task_token("not-a-token")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));
    let err = c
        .send_task_heartbeat()
        .task_token("AAAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));

    let act = activity(&server, "real").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    start(&server, &sm, json!({})).await;
    let (token, _) = take(&server, &act, "w").await;
    // Invalid output JSON changes nothing: the token still works afterwards.
    let err = c
        .send_task_success()
        .task_token(&token)
        .output("{oops")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidOutput"));
    // A forged token (one character changed) is refused.
    let mut forged: Vec<char> = token.chars().collect();
    let mid = forged.len() / 2;
    forged[mid] = if forged[mid] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let err = c
        .send_task_success()
        .task_token(&forged)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));
    c.send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap();

    let missing = act.replace(":real", ":ghost");
    let err = c
        .get_activity_task()
        .activity_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ActivityDoesNotExist"));
    let err = c
        .get_activity_task()
        .activity_arn("arn:nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));

    // A Task on an activity that does not exist fails the execution with States.Runtime.
    let sm = machine(&server, "ghostly", task_on(&missing, json!({}))).await;
    let arn = start(&server, &sm, json!({})).await;
    let d = wait_done(&server, &arn).await;
    assert_eq!(d.error(), Some("States.Runtime"));
    assert!(
        d.cause().unwrap().contains("does not exist"),
        "{:?}",
        d.cause()
    );
    assert_eq!(
        history_types(&server, &arn).await,
        vec![
            HistoryEventType::ExecutionStarted,
            HistoryEventType::TaskStateEntered,
            HistoryEventType::ExecutionFailed
        ]
    );
}

#[tokio::test]
async fn idle_poll_returns_empty_and_a_new_task_wakes_a_parked_worker() {
    let server = TestServer::start_with(cairn::config::Config {
        activity_long_poll: Duration::from_secs(20),
        ..fast_config()
    })
    .await;
    let act = activity(&server, "park").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    let client = server.client.clone();
    let act2 = act.clone();
    let parked = tokio::spawn(async move {
        client
            .get_activity_task()
            .activity_arn(&act2)
            .send()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !parked.is_finished(),
        "the poll waits while nothing is queued"
    );
    start(&server, &sm, json!({"wake": true})).await;
    let got = tokio::time::timeout(Duration::from_secs(5), parked)
        .await
        .expect("woken")
        .unwrap();
    assert!(got.task_token().is_some());
    assert_eq!(
        serde_json::from_str::<Value>(got.input().unwrap()).unwrap(),
        json!({"wake": true})
    );

    let quick = TestServer::start_with(fast_config()).await; // long poll of 300 ms
    let idle = activity(&quick, "idle").await;
    let begin = Instant::now();
    let t = quick
        .client
        .get_activity_task()
        .activity_arn(&idle)
        .send()
        .await
        .unwrap();
    assert_eq!(t.task_token(), None, "nothing came: an empty answer");
    assert!(
        begin.elapsed() >= Duration::from_millis(250),
        "it waited the long poll out"
    );
    drop(server);
}

#[tokio::test]
async fn tasks_and_tokens_survive_a_restart() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "durable").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    let held_arn = start(&server, &sm, json!({"n": 1})).await;
    let queued_arn = start(&server, &sm, json!({"n": 2})).await;
    let (held, input) = take(&server, &act, "w").await;
    assert_eq!(input, r#"{"n":1}"#);
    let server = server.restart().await;
    let (queued, input) = take(&server, &act, "w").await;
    assert_eq!(input, r#"{"n":2}"#, "the queued task is still there, once");
    server
        .client
        .send_task_success()
        .task_token(&held)
        .output(r#""one""#)
        .send()
        .await
        .unwrap();
    server
        .client
        .send_task_success()
        .task_token(&queued)
        .output(r#""two""#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait_done(&server, &held_arn).await.output(),
        Some(r#""one""#)
    );
    assert_eq!(
        wait_done(&server, &queued_arn).await.output(),
        Some(r#""two""#)
    );
    let t = server
        .client
        .get_activity_task()
        .activity_arn(&act)
        .send()
        .await
        .unwrap();
    assert_eq!(t.task_token(), None, "no task handed out twice");
}

#[tokio::test]
async fn deleting_the_activity_withdraws_its_queue() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "doomed").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    let arn = start(&server, &sm, json!({})).await;
    server
        .client
        .delete_activity()
        .activity_arn(&act)
        .send()
        .await
        .unwrap();
    let err = server
        .client
        .get_activity_task()
        .activity_arn(&act)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ActivityDoesNotExist"));
    // Recreating it does not resurrect the deleted queue.
    activity(&server, "doomed").await;
    let t = server
        .client
        .get_activity_task()
        .activity_arn(&act)
        .send()
        .await
        .unwrap();
    assert_eq!(t.task_token(), None);
    server
        .client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_executions_and_32_workers_each_task_exactly_once() {
    let server = TestServer::start_with(fast_config()).await;
    let act = activity(&server, "bulk").await;
    let sm = machine(&server, "m", task_on(&act, json!({}))).await;
    let total = 1000usize;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..32 {
        let (client, act, seen) = (server.client.clone(), act.clone(), seen.clone());
        workers.push(tokio::spawn(async move {
            let mut idle = 0;
            while idle < 3 {
                let t = client
                    .get_activity_task()
                    .activity_arn(&act)
                    .worker_name(format!("w{w}"))
                    .send()
                    .await
                    .unwrap();
                let Some(token) = t.task_token() else {
                    idle += 1;
                    continue;
                };
                idle = 0;
                let input = t.input().unwrap().to_string();
                client
                    .send_task_success()
                    .task_token(token)
                    .output(&input)
                    .send()
                    .await
                    .unwrap();
                seen.lock().unwrap().push(input);
            }
        }));
    }
    let mut arns = Vec::new();
    for i in 0..total {
        arns.push(start(&server, &sm, json!({ "i": i })).await);
    }
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), total, "every task delivered");
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), total, "no task delivered twice");
    for (i, arn) in arns.iter().enumerate() {
        let d = wait_done(&server, arn).await;
        assert_eq!(d.status(), &ExecutionStatus::Succeeded);
        assert_eq!(d.output(), Some(json!({ "i": i }).to_string().as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_callbacks_completed_in_random_order() {
    let server = TestServer::start_with(fast_config()).await;
    let sm = machine(
        &server,
        "callback",
        json!({"StartAt": "Wait", "States": {"Wait": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "https://example.invalid/q", "MessageBody": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
            "End": true}}}),
    )
    .await;
    let mut pending = Vec::new();
    for n in 0..200 {
        pending.push((n, start(&server, &sm, json!({ "n": n })).await));
    }
    // Each execution's token is in its TaskScheduled parameters, as the service would get it.
    let mut tokens = Vec::new();
    for (n, arn) in &pending {
        let deadline = Instant::now() + Duration::from_secs(10);
        let token = loop {
            let h = server
                .client
                .get_execution_history()
                .execution_arn(arn)
                .send()
                .await
                .unwrap();
            let found = h.events().iter().find_map(|e| {
                let p: Value =
                    serde_json::from_str(e.task_scheduled_event_details()?.parameters()).ok()?;
                p["MessageBody"]["token"].as_str().map(str::to_string)
            });
            let submitted = h
                .events()
                .iter()
                .any(|e| e.r#type() == &HistoryEventType::TaskSubmitted);
            if let (Some(t), true) = (found, submitted) {
                break t;
            }
            assert!(Instant::now() < deadline, "no token for {arn}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        tokens.push((*n, arn.clone(), token));
    }
    // A fixed shuffle: reverse odd and even halves interleaved.
    tokens.sort_by_key(|(n, _, _)| (n * 7919) % 200);
    for (n, _, token) in &tokens {
        server
            .client
            .send_task_success()
            .task_token(token)
            .output(json!({ "answer": n }).to_string())
            .send()
            .await
            .unwrap();
    }
    for (n, arn, _) in &tokens {
        let d = wait_done(&server, arn).await;
        assert_eq!(d.status(), &ExecutionStatus::Succeeded);
        assert_eq!(
            serde_json::from_str::<Value>(d.output().unwrap()).unwrap(),
            json!({ "answer": n })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_pollers_do_not_block_other_calls_and_the_limit_holds() {
    let server = TestServer::start_with(cairn::config::Config {
        activity_long_poll: Duration::from_secs(30),
        ..fast_config()
    })
    .await;
    let act = activity(&server, "crowded").await;
    // 1,000 pollers parked in the engine (the per-activity limit)...
    let mut parked = Vec::new();
    for _ in 0..1000 {
        let (engine, act) = (server.app.engine.clone(), act.clone());
        parked.push(tokio::spawn(async move {
            engine
                .poll_activity(&act, None, Duration::from_secs(30))
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so the next worker is refused,
    let err = server
        .client
        .get_activity_task()
        .activity_arn(&act)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("ActivityWorkerLimitExceeded")
    );
    // ...while every other call still answers.
    for i in 0..50 {
        server.client.list_state_machines().send().await.unwrap();
        server
            .client
            .create_activity()
            .name(format!("other-{i}"))
            .send()
            .await
            .unwrap();
    }
    for p in &parked {
        assert!(!p.is_finished(), "parked polls are still waiting");
    }
    for p in parked {
        p.abort();
    }
}
