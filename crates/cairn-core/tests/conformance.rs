//! Conformance harness: the executions recorded on real AWS (`shared/conformance/cases.jsonl`)
//! that need nothing but the engine (`needs` = `["none"]`, either query language, or
//! `["activities"]`, JSONPath), run through `start`/`step` with a simulated clock and the
//! recorded activity workers.
//!
//! Compared like `run_cases.py`: status, output, error and cause (snapshot placeholders act
//! as wildcards), and separately the event-type sequence. Prints a summary and per-case diffs
//! and asserts a floor on the pass count.

mod common;
#[path = "conformance/matcher.rs"]
mod matcher;

use cairn_core::{
    start, step, Ctx, Effect, ExecutionInfo, ExecutionStatus, HistoryEvent, Input, World,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Raise as the interpreter improves.
const PASS_FLOOR: usize = 200;
/// Floor for the cases whose service answers come from the recording.
const RECORDED_FLOOR: usize = 48;
const T0: i64 = 1_763_900_000_000;

fn cases_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/cases.jsonl")
}

struct Activities(HashSet<String>);
impl World for Activities {
    fn activity_exists(&self, arn: &str) -> bool {
        self.0.contains(arn)
    }
}

fn uses_jsonata(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| (k == "QueryLanguage" && v == "JSONata") || uses_jsonata(v)),
        Value::Array(a) => a.iter().any(uses_jsonata),
        Value::String(s) => s.starts_with("{%") && s.ends_with("%}"),
        _ => false,
    }
}

fn selected(case: &Value) -> bool {
    let needs: Vec<&str> = case["needs"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    needs == ["none"] || (needs == ["activities"] && !uses_jsonata(&case["definition"]))
}

// ------------------------------------------------------------------ running ----

/// The definition as written (`definition_string`: the `definition` object has sorted keys,
/// and key order shows in payload templates' output).
fn definition(case: &Value) -> Result<cairn_asl::StateMachine, String> {
    match case["definition_string"].as_str() {
        Some(text) => cairn_asl::parse_definition_str(text).map_err(|e| e.to_string()),
        None => cairn_asl::parse_definition(&case["definition"]).map_err(|e| e.to_string()),
    }
}

struct Outcome {
    info: ExecutionInfo,
    world: Arc<dyn World>,
    status: ExecutionStatus,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    history: Vec<HistoryEvent>,
}

fn binding(case: &Value, role: &str) -> String {
    case["bindings"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["role"] == role))
        .and_then(|b| b["fake"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A recorded activity worker: takes one task, then plays its steps.
struct Worker {
    arn: String,
    name: Option<String>,
    steps: Vec<Value>,
    busy: bool,
}

enum Action {
    /// An input decided already (a Map Run's outcome).
    Deliver(Input),
    Timer(u64),
    Worker {
        task: u64,
        input: String,
        worker: usize,
        step: usize,
    },
}

fn run_case(case: &Value) -> Result<Outcome, String> {
    let def = definition(case)?;
    let input_text = case["input"].as_str().unwrap_or("{}").to_string();
    let input: Value = serde_json::from_str(&input_text).map_err(|e| e.to_string())?;
    let info = ExecutionInfo {
        execution_arn: binding(case, "execution_arn"),
        name: binding(case, "execution_name"),
        state_machine_arn: binding(case, "state_machine_arn"),
        state_machine_name: binding(case, "state_machine_name"),
        role_arn: binding(case, "role_arn"),
        region: "us-east-1".into(),
        start_time_ms: T0,
        input_text,
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
        mock_test_case: None,
        trace_parent: None,
    };
    let mut existing = HashSet::new();
    let mut workers = Vec::new();
    for a in case["activities"].as_array().into_iter().flatten() {
        let arn = a["fake_arn"].as_str().unwrap_or_default().to_string();
        if a["deleted_before_start"] != true {
            existing.insert(arn.clone());
        }
        if let Some(w) = a["worker"].as_object() {
            workers.push(Worker {
                arn,
                name: w
                    .get("worker_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                steps: w
                    .get("steps")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                busy: false,
            });
        }
    }
    let world: Arc<dyn World> = Arc::new(Activities(existing));
    let ctx = |now: i64, n: u64| Ctx {
        now_ms: now,
        entropy: n,
        token_key: [9u8; 32],
        world: world.clone(),
    };
    let (mut exec, d) = start(info.clone(), &def, input, &ctx(T0, 1));
    let mut history = d.events;
    let mut now = T0;
    // Pending things that happen at a time: (time, sequence, action).
    let mut agenda: BTreeMap<(i64, u64), Action> = BTreeMap::new();
    let mut seq = 0u64;
    let mut effects = d.effects;
    let mut guard = 0;
    loop {
        for e in effects.drain(..) {
            match e {
                Effect::StartTimer { timer, fire_at_ms } => {
                    seq += 1;
                    agenda.insert((fire_at_ms, seq), Action::Timer(timer));
                }
                Effect::CancelTimer { timer } => {
                    agenda.retain(|_, a| !matches!(a, Action::Timer(t) if *t == timer))
                }
                Effect::ScheduleActivity {
                    task,
                    activity_arn,
                    input,
                    ..
                } => {
                    if let Some(w) = workers
                        .iter()
                        .position(|w| w.arn == activity_arn && !w.busy)
                    {
                        workers[w].busy = true;
                        seq += 1;
                        agenda.insert(
                            (now, seq),
                            Action::Worker {
                                task,
                                input,
                                worker: w,
                                step: 0,
                            },
                        );
                    }
                }
                Effect::CancelTask { task } => {
                    agenda.retain(|_, a| !matches!(a, Action::Worker { task: t, .. } if *t == task))
                }
                Effect::InvokeResource {
                    task,
                    resource,
                    parameters,
                    ..
                } if resource == cairn_core::MAP_RUN_RESOURCE => {
                    seq += 1;
                    let outcome = run_map_run(task, parameters, now, &world);
                    agenda.insert((now, seq), Action::Deliver(outcome));
                }
                Effect::InvokeResource { .. } => {}
            }
        }
        if exec.status != ExecutionStatus::Running {
            break;
        }
        guard += 1;
        if guard > 100_000 {
            return Err("too many steps".into());
        }
        let Some((&(at, key), _)) = agenda.iter().next() else {
            return Err("execution still RUNNING with nothing left to do".into());
        };
        let action = agenda.remove(&(at, key)).unwrap();
        now = now.max(at);
        let input = match action {
            Action::Deliver(input) => input,
            Action::Timer(timer) => Input::TimerFired { timer },
            Action::Worker {
                task,
                input,
                worker,
                step,
            } => {
                let w = &workers[worker];
                if step == 0 {
                    seq += 1;
                    agenda.insert(
                        (now, seq),
                        Action::Worker {
                            task,
                            input: input.clone(),
                            worker,
                            step: 1,
                        },
                    );
                    Input::ActivityStarted {
                        task,
                        worker_name: w.name.clone(),
                    }
                } else {
                    let Some(s) = w.steps.get(step - 1).cloned() else {
                        continue;
                    };
                    let next = Action::Worker {
                        task,
                        input: input.clone(),
                        worker,
                        step: step + 1,
                    };
                    match s[0].as_str().unwrap_or("") {
                        "wait" => {
                            let secs = s[1].as_f64().unwrap_or(0.0);
                            seq += 1;
                            agenda.insert((now + (secs * 1000.0) as i64, seq), next);
                            continue;
                        }
                        "heartbeat" => {
                            seq += 1;
                            agenda.insert((now, seq), next);
                            Input::TaskHeartbeat { task }
                        }
                        "success" => Input::TaskSucceeded {
                            task,
                            output: input,
                        },
                        "failure" => Input::TaskFailed {
                            task,
                            error: s[1].as_str().map(str::to_string),
                            cause: if s[2] == "input" {
                                Some(input)
                            } else {
                                s[2].as_str().map(str::to_string)
                            },
                        },
                        other => return Err(format!("unknown worker step {other}")),
                    }
                }
            }
        };
        let c = ctx(now, exec.next_event_id);
        let d = step(&mut exec, &def, input, &c);
        history.extend(d.events);
        effects = d.effects;
    }
    Ok(Outcome {
        info,
        world: world.clone(),
        status: exec.status,
        output: exec.output,
        error: exec.error,
        cause: exec.cause,
        history,
    })
}

/// What the runtime's Map Run driver does, in miniature (see `replay::run_map_run`).
fn run_map_run(task: u64, parameters: Value, now: i64, world: &Arc<dyn World>) -> Input {
    let spec: cairn_core::MapRunSpec = serde_json::from_value(parameters).expect("a spec");
    let ctx = Ctx {
        now_ms: now,
        entropy: task,
        token_key: [9u8; 32],
        world: world.clone(),
    };
    cairn_core::replay::run_map_run(task, &spec, &ctx).unwrap_or(Input::TaskFailed {
        task,
        error: Some("States.Runtime".into()),
        cause: Some("a child needs a task".into()),
    })
}

use matcher::{replace_iso8601, Matcher};

fn compare(case: &Value, got: &Outcome) -> Vec<String> {
    let exp = &case["expected"];
    let m = Matcher::new(case);
    let mut diffs = Vec::new();
    let want_status = exp["status"].as_str().unwrap_or("");
    if got.status.as_str() != want_status {
        diffs.push(format!(
            "status: expected {want_status}, got {} ({:?}: {:?})",
            got.status.as_str(),
            got.error,
            got.cause
                .as_deref()
                .map(|c| &c[..c.floor_char_boundary(200)])
        ));
        return diffs;
    }
    for (field, act) in [
        ("output", &got.output),
        ("error", &got.error),
        ("cause", &got.cause),
    ] {
        if let Some(e) = exp.get(field) {
            if let Some(d) = m.payload(e, act.as_deref(), field) {
                diffs.push(d);
            }
        }
    }
    diffs
}

/// Replaying the produced history must reproduce it bit for bit (entropy = the step's first
/// event id, as the drivers above use).
fn replay_diff(case: &Value, got: &Outcome) -> Option<String> {
    let def = definition(case).ok()?;
    let ctx = Ctx {
        now_ms: T0,
        entropy: 0,
        token_key: [9u8; 32],
        world: got.world.clone(),
    };
    match cairn_core::replay::replay(got.info.clone(), &def, &got.history, &ctx, &|id| id) {
        Ok(exec) if exec.status == got.status && exec.output == got.output => None,
        Ok(exec) => Some(format!(
            "replay ended {:?} instead of {:?}",
            exec.status, got.status
        )),
        Err(e) => Some(format!("replay: {e}")),
    }
}

fn history_diff(case: &Value, got: &Outcome) -> Option<String> {
    let want: Vec<&str> = case["expected"]["history_event_types"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let types: Vec<&str> = got.history.iter().map(|e| e.event_type.as_str()).collect();
    if want == types {
        return None;
    }
    for (i, (a, b)) in want.iter().zip(&types).enumerate() {
        if a != b {
            return Some(format!(
                "event {}: expected {a}, got {b} (lengths {}/{})",
                i + 1,
                want.len(),
                types.len()
            ));
        }
    }
    Some(format!(
        "lengths differ: expected {}, got {}",
        want.len(),
        types.len()
    ))
}

/// Ids, previousEventIds and details of the recorded history (payload strings parsed).
fn details_diff(case: &Value, got: &Outcome) -> Option<String> {
    let want = case["expected"]["history"].as_array()?;
    if want.len() != got.history.len() {
        return Some("length".into());
    }
    let m = Matcher::new(case);
    for (w, g) in want.iter().zip(&got.history) {
        let mut wire = g.to_wire(true);
        if let Some(obj) = wire.as_object_mut() {
            obj.remove("timestamp");
            for v in obj.values_mut() {
                if let Some(details) = v.as_object_mut() {
                    for key in ["input", "output", "parameters", "cause"] {
                        // The snapshot library parsed strings starting with '{' only.
                        if let Some(Value::String(s)) = details.get(key) {
                            if s.starts_with('{') {
                                if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                                    details.insert(key.into(), parsed);
                                }
                            }
                        }
                    }
                    if let Some(Value::Object(vars)) = details.get_mut("assignedVariables") {
                        for v in vars.values_mut() {
                            if let Value::String(s) = v {
                                if s.starts_with('{') {
                                    if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                                        *v = parsed;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut w = w.clone();
        w.as_object_mut()?.remove("timestamp");
        if let Some(d) = m.matches(&w, &wire, &format!("event {}", g.id)) {
            return Some(d);
        }
    }
    None
}

#[test]
fn conformance_cases() {
    let path = cases_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("conformance cases not found at {}: skipped", path.display());
        return;
    };
    let only = std::env::var("CASE").ok();
    let mut passed = 0;
    let mut total = 0;
    let mut hist_exact = 0;
    let mut details_exact = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("case JSON");
        if !selected(&case) {
            continue;
        }
        let id = case["id"].as_str().unwrap_or("?").to_string();
        if only.as_deref().is_some_and(|o| !id.contains(o)) {
            continue;
        }
        total += 1;
        let got = match std::panic::catch_unwind(|| run_case(&case)) {
            Ok(Ok(got)) => got,
            Ok(Err(e)) => {
                failures.push(format!("[errored] {id}\n    {e}"));
                continue;
            }
            Err(_) => {
                failures.push(format!("[panicked] {id}"));
                continue;
            }
        };
        let mut diffs = compare(&case, &got);
        if let Some(e) = replay_diff(&case, &got) {
            diffs.push(e);
        }
        let hist = history_diff(&case, &got);
        let reliable = case["expected"]["history_reliable"] != false;
        if hist.is_none() {
            hist_exact += 1;
        }
        let det = details_diff(&case, &got);
        if det.is_none() {
            details_exact += 1;
        }
        if diffs.is_empty() {
            passed += 1;
            if let (Some(h), true) = (&hist, reliable) {
                failures.push(format!("[history] {id}\n    {h}"));
            } else if std::env::var("DETAILS").is_ok() {
                if let Some(d) = det {
                    failures.push(format!("[details] {id}\n    {d}"));
                }
            }
        } else {
            failures.push(format!(
                "[failed] {id}\n    {}{}",
                diffs.join("; "),
                hist.map(|h| format!("\n    history: {h}"))
                    .unwrap_or_default()
            ));
        }
    }
    for f in &failures {
        println!("{f}");
    }
    println!(
        "conformance: {passed}/{total} passed; event types exact {hist_exact}/{total}; ids+details exact {details_exact}/{total}"
    );
    assert!(
        passed >= PASS_FLOOR,
        "pass count {passed} fell below the floor {PASS_FLOOR}"
    );
}

// ------------------------------------------------- cases needing AWS services ----

/// The external events of the recorded history, fed back as inputs: lets the cases that
/// need Lambda, SQS, DynamoDB, nested executions… check the interpreter's side.
fn recorded_input(history: &[Value], at: usize, timers_left: bool) -> Option<Input> {
    let ev = history.get(at)?;
    let ty = ev["type"].as_str()?;
    let details = ev
        .as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null);
    let text = |k: &str| match &details[k] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let task = || {
        let mut id = ev["previousEventId"].as_u64()?;
        loop {
            let e = history.get(id.checked_sub(1)? as usize)?;
            match e["type"].as_str()? {
                "ActivityScheduled" | "LambdaFunctionScheduled" | "TaskScheduled" => {
                    return e["id"].as_u64()
                }
                "ActivityStarted" | "LambdaFunctionStarted" | "TaskStarted" | "TaskSubmitted" => {
                    id = e["previousEventId"].as_u64()?
                }
                _ => return None,
            }
        }
    };
    Some(match ty {
        "ActivityStarted" => Input::ActivityStarted {
            task: ev["previousEventId"].as_u64()?,
            worker_name: text("workerName"),
        },
        "TaskSubmitted" => Input::TaskSubmitted {
            task: task()?,
            output: text("output").unwrap_or_default(),
        },
        "TaskSucceeded" | "LambdaFunctionSucceeded" | "ActivitySucceeded" => Input::TaskSucceeded {
            task: task()?,
            output: text("output").unwrap_or_else(|| "null".into()),
        },
        "TaskFailed" | "LambdaFunctionFailed" | "ActivityFailed"
            if !timers_left || text("error").is_some() =>
        {
            Input::TaskFailed {
                task: task()?,
                error: text("error"),
                cause: text("cause"),
            }
        }
        _ => return None,
    })
}

fn run_recorded(case: &Value) -> Result<Outcome, String> {
    let def = definition(case)?;
    let recorded = case["expected"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let input_text = case["input"].as_str().unwrap_or("{}").to_string();
    let input: Value = serde_json::from_str(&input_text).map_err(|e| e.to_string())?;
    let info = ExecutionInfo {
        execution_arn: binding(case, "execution_arn"),
        name: binding(case, "execution_name"),
        state_machine_arn: binding(case, "state_machine_arn"),
        state_machine_name: binding(case, "state_machine_name"),
        role_arn: binding(case, "role_arn"),
        region: "us-east-1".into(),
        start_time_ms: T0,
        input_text,
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
        mock_test_case: None,
        trace_parent: None,
    };
    let world: Arc<dyn World> = Arc::new(cairn_core::OpenWorld);
    let ctx = |now: i64, n: u64| Ctx {
        now_ms: now,
        entropy: n,
        token_key: [9u8; 32],
        world: world.clone(),
    };
    let (mut exec, d) = start(info.clone(), &def, input, &ctx(T0, 1));
    let mut history = d.events;
    let mut timers: Vec<(u64, i64)> = Vec::new();
    let mut effects = d.effects;
    let mut now = T0;
    for _ in 1..10_000u64 {
        for e in effects.drain(..) {
            match e {
                Effect::StartTimer { timer, fire_at_ms } => timers.push((timer, fire_at_ms)),
                Effect::CancelTimer { timer } => timers.retain(|(t, _)| *t != timer),
                _ => {}
            }
        }
        if exec.status != ExecutionStatus::Running {
            break;
        }
        let input = match recorded_input(&recorded, history.len(), !timers.is_empty()) {
            Some(i) => i,
            None => {
                let Some(&(timer, at)) = timers.iter().min_by_key(|(t, at)| (*at, *t)) else {
                    return Err(format!("stuck after {} events", history.len()));
                };
                timers.retain(|(t, _)| *t != timer);
                now = now.max(at);
                Input::TimerFired { timer }
            }
        };
        let c = ctx(now, exec.next_event_id);
        let d = step(&mut exec, &def, input, &c);
        history.extend(d.events);
        effects = d.effects;
    }
    Ok(Outcome {
        info,
        world: world.clone(),
        status: exec.status,
        output: exec.output,
        error: exec.error,
        cause: exec.cause,
        history,
    })
}

/// Cases that need other AWS services (either query language), with the services' answers
/// taken from the recording.
/// Reported, with a floor of its own.
#[test]
fn recorded_service_cases() {
    let Ok(text) = std::fs::read_to_string(cases_path()) else {
        eprintln!("conformance cases not found: skipped");
        return;
    };
    let (mut passed, mut total, mut details_exact) = (0, 0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("case JSON");
        if selected(&case)
            || case["expected"]["history_reliable"] == false
            || case["expected"]["history"]
                .as_array()
                .is_none_or(|h| h.is_empty())
        {
            continue;
        }
        let id = case["id"].as_str().unwrap_or("?").to_string();
        total += 1;
        match std::panic::catch_unwind(|| run_recorded(&case)) {
            Ok(Ok(got)) => {
                let mut diffs = compare(&case, &got);
                if let Some(e) = replay_diff(&case, &got) {
                    diffs.push(e);
                }
                let det = details_diff(&case, &got);
                if det.is_none() {
                    details_exact += 1;
                }
                if diffs.is_empty() {
                    passed += 1;
                    if let (Some(d), true) = (det, std::env::var("DETAILS").is_ok()) {
                        println!("[details] {id}\n    {d}");
                    }
                } else {
                    println!("[failed] {id}\n    {}", diffs.join("; "));
                    if let Some(h) = history_diff(&case, &got) {
                        println!("    history: {h}");
                    }
                }
            }
            Ok(Err(e)) => println!("[errored] {id}\n    {e}"),
            Err(_) => println!("[panicked] {id}"),
        }
    }
    println!("recorded service cases: {passed}/{total} passed; ids+details exact {details_exact}/{total}");
    assert!(
        passed >= RECORDED_FLOOR,
        "pass count {passed} fell below {RECORDED_FLOOR}"
    );
}

#[test]
fn matcher_rules() {
    let case = serde_json::json!({
        "bindings": [{"role": "state_machine_name", "fake": "sm-abc"}],
        "placeholders": [{"role": "state_machine_name", "placeholder": "<ArnPart_0idx>"}],
        "wildcards": ["start-date"]
    });
    let m = Matcher::new(&case);
    assert!(m
        .payload(&serde_json::json!({"a": 1}), Some(r#"{"a": 1}"#), "o")
        .is_none());
    assert!(m
        .payload(&serde_json::json!({"a": 1}), Some(r#"{"a": 2}"#), "o")
        .is_some());
    assert!(m
        .payload(&Value::String("[1,2]".into()), Some("[1, 2]"), "o")
        .is_none());
    assert!(m
        .payload(&Value::String("\"x\"".into()), Some("x"), "o")
        .is_some());
    assert!(m
        .matches(
            &serde_json::json!("date"),
            &serde_json::json!("2024-01-02T03:04:05.678Z"),
            "$"
        )
        .is_none());
    assert!(m
        .matches(
            &serde_json::json!(
                "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>"
            ),
            &serde_json::json!("arn:aws:states:us-east-1:000000000000:stateMachine:sm-abc"),
            "$"
        )
        .is_none());
    assert!(m
        .matches(
            &serde_json::json!("arn:<partition>:states:<region>:111111111111:stateMachine:x"),
            &serde_json::json!("arn:aws:states:us-east-1:000000000000:stateMachine:y"),
            "$"
        )
        .is_some());
    assert_eq!(replace_iso8601("at 2024-01-02T03:04:05Z."), "at date.");
}
