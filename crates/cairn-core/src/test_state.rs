//! TestState (API.md): evaluate ONE state of a definition against an input, the way AWS's
//! TestState API does, and report the intermediate values of its data flow
//! (`inspectionData`), its status (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR), its output,
//! its next state, and its error and cause.
//!
//! Owns: the order in which one state's fields are applied when it is tested alone, which
//! intermediate value AWS reports under which name, the meaning of a mock for each state
//! type, and `stateConfiguration` (retry count, failure of a Map iteration, failure count).
//! Reuses the interpreter's evaluation machinery (`dataflow::Eval`, `jsonata::Query`,
//! `choice::holds`, `retry`, `catch`, `Failure`) so a tested state computes exactly what it
//! computes in an execution.
//!
//! Must not: do I/O, read a clock or draw entropy (the runtime passes `now_ms`, `entropy`,
//! and the outcome of an unmocked Task it ran itself), or write history.

use crate::catch;
use crate::choice::{choose_jsonata, holds};
use crate::context::ContextParts;
use crate::dataflow::{result_path, Eval};
use crate::errors::Failure;
use crate::jsonata::{Extra, Query, QueryFailure};
use crate::language::{self, Language};
use crate::machine::{Machine, Thread};
use crate::ExecutionInfo;
use cairn_asl::{Catcher, Dynamic, Retrier, State, StateKind, Transition};
use serde_json::{Map, Value};
use std::cell::Cell;

/// What a Task (or Parallel/Map, as a whole) answered: a result or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Result(Value),
    Error {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// `stateConfiguration` of the request.
#[derive(Debug, Clone, Default)]
pub struct StateConfiguration {
    /// How many retries the state has already had (the matching retrier's attempts used).
    pub retrier_retry_count: u32,
    /// With an `errorOutput` mock on a Map or Parallel: the child state that raised it.
    pub error_caused_by_state: Option<String>,
    /// How many of the Map's iterations failed (checked against its tolerance).
    pub map_iteration_failure_count: Option<u32>,
    /// The items an ItemReader would have read.
    pub map_item_reader_data: Option<Value>,
}

/// One TestState evaluation.
pub struct TestRequest<'a> {
    pub state: &'a State,
    pub input: Value,
    pub variables: Map<String, Value>,
    /// The caller's context object (replaces the one built from `info`).
    pub context: Option<Value>,
    pub info: &'a ExecutionInfo,
    /// The mock, or for an unmocked Task the outcome of the call the runtime made.
    pub outcome: Option<TaskOutcome>,
    pub config: StateConfiguration,
    pub now_ms: i64,
    pub entropy: u64,
}

/// The answer: `status`, `output`, `error`, `cause`, `nextState` and the inspection data
/// (every field; the caller drops it for inspection level INFO).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestResult {
    pub status: &'static str,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    pub inspection: Map<String, Value>,
}

/// A request that AWS refuses before evaluating anything (`ValidationException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

struct Env {
    machine: Machine,
    tid: u32,
    entropy: Cell<u64>,
}

impl Env {
    fn new(req: &TestRequest) -> Self {
        let mut machine = Machine::default();
        let mut t = Thread::new(None, Vec::new(), 0, 0, Value::Null);
        t.vars = req.variables.clone();
        t.entered_ms = req.now_ms;
        t.retry_count = req.config.retrier_retry_count;
        let tid = machine.add_thread(t);
        Env {
            machine,
            tid,
            entropy: Cell::new(crate::retry::mix(req.entropy)),
        }
    }

    fn parts<'s>(&'s self, req: &'s TestRequest, st: &'s State) -> ContextParts<'s> {
        let retry_count = matches!(
            st.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        )
        .then_some(req.config.retrier_retry_count);
        ContextParts {
            info: req.info,
            state_name: &st.name,
            entered_ms: req.now_ms,
            retry_count,
            task_token: None,
            map_item: None,
        }
    }

    fn eval<'s>(&'s self, req: &'s TestRequest, st: &'s State) -> Eval<'s> {
        Eval::new(&self.machine, self.tid, self.parts(req, st), &self.entropy)
            .with_context(context_of(req))
    }

    fn query<'s>(&'s self, req: &'s TestRequest, st: &'s State) -> Query<'s> {
        let q = Query::new(
            &self.machine,
            self.tid,
            self.parts(req, st),
            &self.entropy,
            req.now_ms,
        );
        q.with_context(context_of(req))
    }
}

fn context_of(req: &TestRequest) -> Value {
    match &req.context {
        Some(c) => c.clone(),
        None => default_context(req.info, req.state, req.config.retrier_retry_count),
    }
}

/// Why the state could not go on: an error for Retry/Catch, or one never retried.
fn path_fail(st: &State, e: cairn_jsonpath::PathError) -> Failure {
    Failure::from_path_error(&st.name, 0, e)
}

fn query_fail(st: &State, q: QueryFailure) -> Failure {
    Failure::query(&st.name, 0, &q.cause)
}

fn own_next(st: &State) -> Option<String> {
    match &st.transition {
        Some(Transition::Next(n)) => Some(n.clone()),
        _ => None,
    }
}

/// The arguments an unmocked Task would be called with (`afterParameters` /
/// `afterArguments`): the runtime calls the resource with them, then [`run`] again with
/// the outcome.
pub fn task_arguments(req: &TestRequest) -> Result<Value, (Option<String>, Option<String>)> {
    let env = Env::new(req);
    let mut insp = Map::new();
    parameters(&env, req, &mut insp).map_err(|f| (f.error, f.cause))
}

/// InputPath + Parameters (JSONPath) or Arguments (JSONata) of a Task, Parallel or Map.
fn parameters(
    env: &Env,
    req: &TestRequest,
    insp: &mut Map<String, Value>,
) -> Result<Value, Failure> {
    let st = req.state;
    if language::for_state(st) == Language::Jsonata {
        let args = match &st.arguments {
            Some(a) => env
                .query(req, st)
                .template(a, &req.input, Extra::None, "Arguments")
                .map_err(|q| query_fail(st, q))?,
            None => req.input.clone(),
        };
        if st.arguments.is_some() {
            insp.insert("afterArguments".into(), args.clone());
        }
        return Ok(args);
    }
    let ev = env.eval(req, st);
    let effective = ev
        .input_path(st.input_path.as_deref(), req.input.clone())
        .map_err(|e| path_fail(st, e))?;
    insp.insert("afterInputPath".into(), effective.clone());
    let params = match &st.parameters {
        Some(p) => ev
            .template(p, &effective, "Parameters")
            .map_err(|e| path_fail(st, e))?,
        None => effective,
    };
    insp.insert("afterParameters".into(), params.clone());
    Ok(params)
}

/// Evaluate the state. `Err` only for requests AWS refuses (`ValidationException`).
pub fn run(req: &TestRequest) -> Result<TestResult, Invalid> {
    let env = Env::new(req);
    let st = req.state;
    let mut insp = Map::new();
    insp.insert("input".into(), req.input.clone());
    let jsonata = language::for_state(st) == Language::Jsonata;
    let done = |out: Value, next: Option<String>, insp: Map<String, Value>| TestResult {
        status: "SUCCEEDED",
        output: Some(out),
        next_state: next,
        inspection: insp,
        ..TestResult::default()
    };
    let failed = |f: Failure, insp: Map<String, Value>| TestResult {
        status: "FAILED",
        error: f.error,
        cause: f.cause,
        inspection: insp,
        ..TestResult::default()
    };
    match &st.kind {
        StateKind::Pass(pass) if !jsonata => {
            let ev = env.eval(req, st);
            let r = (|| {
                let result = match &pass.result {
                    Some(r) => {
                        insp.insert("result".into(), r.clone());
                        r.clone()
                    }
                    None => {
                        let effective =
                            ev.input_path(st.input_path.as_deref(), req.input.clone())?;
                        insp.insert("afterInputPath".into(), effective.clone());
                        let p = match &st.parameters {
                            Some(p) => ev.template(p, &effective, "Parameters")?,
                            None => effective,
                        };
                        insp.insert("afterParameters".into(), p.clone());
                        p
                    }
                };
                insp.insert("afterResultSelector".into(), result.clone());
                let assigned = match &st.assign {
                    Some(a) => Some(ev.assign(a, &result)?),
                    None => None,
                };
                let merged = result_path(st.result_path.as_deref(), req.input.clone(), result)?;
                insp.insert("afterResultPath".into(), merged.clone());
                Ok((ev.output_path(st.output_path.as_deref(), merged)?, assigned))
            })();
            match r {
                Ok((out, assigned)) => {
                    record_variables(req, &mut insp, assigned);
                    Ok(done(out, own_next(st), insp))
                }
                Err(e) => Ok(failed(path_fail(st, e), insp)),
            }
        }
        StateKind::Pass(_) | StateKind::Succeed | StateKind::Wait(_) if jsonata => {
            let q = env.query(req, st);
            match q.assign_and_output(
                st.assign.as_ref(),
                st.output.as_ref(),
                &req.input,
                Extra::None,
            ) {
                Ok((out, assigned)) => {
                    record_variables(req, &mut insp, assigned);
                    let next = own_next(st);
                    Ok(done(out.unwrap_or_else(|| req.input.clone()), next, insp))
                }
                Err(q) => Ok(failed(query_fail(st, q), insp)),
            }
        }
        StateKind::Succeed | StateKind::Wait(_) => {
            let ev = env.eval(req, st);
            let r = (|| {
                let effective = ev.input_path(st.input_path.as_deref(), req.input.clone())?;
                insp.insert("afterInputPath".into(), effective.clone());
                if let StateKind::Wait(w) = &st.kind {
                    check_wait(&ev, w, &effective)?;
                }
                ev.output_path(st.output_path.as_deref(), effective)
            })();
            match r {
                Ok(out) => Ok(done(out, own_next(st), insp)),
                Err(e) => Ok(failed(path_fail(st, e), insp)),
            }
        }
        StateKind::Fail(fail) => {
            let ev = env.eval(req, st);
            let q = env.query(req, st);
            let field = |d: &Option<Dynamic<String>>| -> Option<String> {
                match d {
                    None => None,
                    Some(Dynamic::Literal(s)) => Some(s.clone()),
                    Some(Dynamic::Path(p)) => match ev.expression(p, &req.input) {
                        Ok(Value::String(s)) => Some(s),
                        Ok(other) => Some(crate::history::json_text(&other)),
                        Err(_) => None,
                    },
                    Some(Dynamic::Expr(e)) => {
                        match q.expression(e, &req.input, Extra::None, "Error") {
                            Ok(Value::String(s)) => Some(s),
                            Ok(other) => Some(crate::history::json_text(&other)),
                            Err(_) => None,
                        }
                    }
                }
            };
            let f = Failure::new(field(&fail.error), field(&fail.cause));
            Ok(failed(f, insp))
        }
        StateKind::Choice(choice) => Ok(run_choice(&env, req, choice, insp)),
        StateKind::Task(task) => {
            let work = parameters(&env, req, &mut insp).and_then(|_| match &req.outcome {
                Some(TaskOutcome::Result(r)) => Ok(r.clone()),
                Some(TaskOutcome::Error { error, cause }) => {
                    Err(Failure::new(error.clone(), cause.clone()))
                }
                None => Err(Failure::new(
                    Some("States.TaskFailed".into()),
                    Some("The task was not run.".into()),
                )),
            });
            Ok(finish_work(&env, req, work, &task.retry, &task.catch, insp))
        }
        StateKind::Parallel(p) => {
            // A Parallel state reports neither its effective input nor its parameters
            // (observed); they are still evaluated, so that their failures show.
            let work = parameters(&env, req, &mut Map::new()).and_then(|_| child_outcome(req));
            Ok(finish_work(&env, req, work, &p.retry, &p.catch, insp))
        }
        StateKind::Map(m) => {
            let work = map_work(&env, req, m, &mut insp)?;
            Ok(finish_work(&env, req, work, &m.retry, &m.catch, insp))
        }
        StateKind::Pass(_) => unreachable!("both languages handled above"),
    }
}

/// A Wait's `SecondsPath`/`TimestampPath` must resolve (the wait itself is skipped).
fn check_wait(
    ev: &Eval,
    w: &cairn_asl::WaitState,
    input: &Value,
) -> Result<(), cairn_jsonpath::PathError> {
    match w {
        cairn_asl::WaitState::Seconds(Dynamic::Path(p))
        | cairn_asl::WaitState::Timestamp(Dynamic::Path(p)) => ev.path(p, input).map(|_| ()),
        _ => Ok(()),
    }
}

/// The outcome of a Parallel or Map's children, as the mock describes it.
fn child_outcome(req: &TestRequest) -> Result<Value, Failure> {
    match &req.outcome {
        Some(TaskOutcome::Result(r)) => Ok(r.clone()),
        Some(TaskOutcome::Error { error, cause }) => {
            let mut f = Failure::new(error.clone(), cause.clone());
            f.from_children = true;
            Err(f)
        }
        None => Err(Failure::new(None, None)),
    }
}

fn map_work(
    env: &Env,
    req: &TestRequest,
    m: &cairn_asl::MapState,
    insp: &mut Map<String, Value>,
) -> Result<Result<Value, Failure>, Invalid> {
    let st = req.state;
    let jsonata = language::for_state(st) == Language::Jsonata;
    // Items: ItemReader data, else Items / ItemsPath.
    let items: Result<Value, Failure> = if let Some(data) = &req.config.map_item_reader_data {
        Ok(data.clone())
    } else if jsonata {
        match &m.items {
            Some(Value::String(s)) if cairn_asl::jsonata_expression(s).is_some() => {
                let src = cairn_asl::jsonata_expression(s).unwrap_or_default();
                env.query(req, st)
                    .expression(src, &req.input, Extra::None, "Items")
                    .map_err(|q| query_fail(st, q))
            }
            Some(v) => Ok(v.clone()),
            None => Ok(req.input.clone()),
        }
    } else {
        let ev = env.eval(req, st);
        (|| {
            let effective = ev.input_path(st.input_path.as_deref(), req.input.clone())?;
            insp.insert("afterInputPath".into(), effective.clone());
            let items = match &m.items_path {
                Some(p) => ev.path(p, &effective)?,
                None => effective,
            };
            if items.is_array() {
                insp.insert("afterItemsPath".into(), items.clone());
            }
            Ok(items)
        })()
        .map_err(|e| path_fail(st, e))
    };
    let items = match items {
        Ok(v) => v,
        Err(f) => return Ok(Err(f)),
    };
    let Some(n) = items.as_array().map(Vec::len) else {
        // AWS names the path without the context object's second `$` (observed).
        let path = m.items_path.as_deref().unwrap_or("$");
        let path = path
            .strip_prefix('$')
            .filter(|p| p.starts_with('$'))
            .unwrap_or(path);
        return Ok(Err(Failure::runtime_raw(format!(
            "Reference path \"{path}\" must point to array."
        ))));
    };
    let ev = env.eval(req, st);
    let q = env.query(req, st);
    let max = match &m.max_concurrency {
        Some(Dynamic::Literal(n)) => Some(*n as i64),
        Some(Dynamic::Path(p)) => ev.path(p, &req.input).ok().and_then(|v| v.as_i64()),
        Some(Dynamic::Expr(e)) => q.integer(e, &req.input, "MaxConcurrency").ok(),
        None => None,
    };
    insp.insert("maxConcurrency".into(), Value::from(max.unwrap_or(0)));
    let count = match &m.tolerated_failure_count {
        Some(Dynamic::Literal(n)) => Some(*n as i64),
        Some(Dynamic::Path(p)) => ev.path(p, &req.input).ok().and_then(|v| v.as_i64()),
        Some(Dynamic::Expr(e)) => q.integer(e, &req.input, "ToleratedFailureCount").ok(),
        None => None,
    };
    let pct = match &m.tolerated_failure_percentage {
        Some(Dynamic::Literal(n)) => Some(*n),
        Some(Dynamic::Path(p)) => ev.path(p, &req.input).ok().and_then(|v| v.as_f64()),
        Some(Dynamic::Expr(e)) => q.number(e, &req.input, "ToleratedFailurePercentage").ok(),
        None => None,
    };
    if let Some(c) = count {
        insp.insert("toleratedFailureCount".into(), Value::from(c));
    }
    if let Some(p) = pct {
        insp.insert("toleratedFailurePercentage".into(), Value::from(p));
    }
    if let (Some(sel), Some(list)) = (&m.item_selector, items.as_array()) {
        let mut selected = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let parts = ContextParts {
                map_item: Some((i as u32, item)),
                ..env.parts(req, st)
            };
            let v = if jsonata {
                let q = Query::new(&env.machine, env.tid, parts, &env.entropy, req.now_ms);
                q.template(sel, &req.input, Extra::None, "ItemSelector")
                    .map_err(|q| query_fail(st, q))
            } else {
                Eval::new(&env.machine, env.tid, parts, &env.entropy)
                    .template(sel, &req.input, "ItemSelector")
                    .map_err(|e| path_fail(st, e))
            };
            match v {
                Ok(v) => selected.push(v),
                Err(f) => return Ok(Err(f)),
            }
        }
        insp.insert("afterItemSelector".into(), Value::Array(selected));
    }
    if let Some(b) = &m.item_batcher {
        insp.insert("afterItemBatcher".into(), b.clone());
    }
    if let Some(failures) = req.config.map_iteration_failure_count {
        if failures as usize > n {
            return Err(Invalid(
                "Map iteration failure count must be less than or equal to the number of Map iterations"
                    .into(),
            ));
        }
        let exceeded = match (count, pct) {
            (None, None) => false,
            (c, p) => {
                let over_count = c.is_some_and(|c| i64::from(failures) > c);
                let over_pct =
                    p.is_some_and(|p| n > 0 && f64::from(failures) * 100.0 / n as f64 > p);
                (c.is_none() || over_count) && (p.is_none() || over_pct)
            }
        };
        if exceeded {
            return Ok(Err(Failure::new(
                Some("States.ExceedToleratedFailureThreshold".into()),
                Some("The specified tolerated failure threshold was exceeded".into()),
            )));
        }
    }
    Ok(child_outcome(req))
}

/// The tail of Task, Parallel and Map: the result through ResultSelector, ResultPath and
/// OutputPath (or Output), or the failure through Retry and Catch.
fn finish_work(
    env: &Env,
    req: &TestRequest,
    work: Result<Value, Failure>,
    retriers: &[Retrier],
    catchers: &[Catcher],
    mut insp: Map<String, Value>,
) -> TestResult {
    let st = req.state;
    let jsonata = language::for_state(st) == Language::Jsonata;
    let work = work.and_then(|result| {
        // Parallel and Map report no `result` (observed): the mock stands for their children.
        if matches!(st.kind, StateKind::Task(_)) {
            insp.insert("result".into(), result.clone());
        }
        if jsonata {
            return env
                .query(req, st)
                .assign_and_output(
                    st.assign.as_ref(),
                    st.output.as_ref(),
                    &req.input,
                    Extra::Result(&result),
                )
                .map(|(out, assigned)| (out.unwrap_or(result), assigned))
                .map_err(|q| query_fail(st, q));
        }
        let ev = env.eval(req, st);
        (|| {
            let assigned = match &st.assign {
                Some(a) => Some(ev.assign(a, &result)?),
                None => None,
            };
            let selected = match &st.result_selector {
                Some(sel) => ev.template(sel, &result, "ResultSelector")?,
                None => result,
            };
            insp.insert("afterResultSelector".into(), selected.clone());
            let merged = result_path(st.result_path.as_deref(), req.input.clone(), selected)?;
            insp.insert("afterResultPath".into(), merged.clone());
            Ok((ev.output_path(st.output_path.as_deref(), merged)?, assigned))
        })()
        .map_err(|e| path_fail(st, e))
    });
    let failure = match work {
        Ok((out, assigned)) => {
            record_variables(req, &mut insp, assigned);
            return TestResult {
                status: "SUCCEEDED",
                output: Some(out),
                next_state: own_next(st),
                inspection: insp,
                ..TestResult::default()
            };
        }
        Err(f) => f,
    };
    let mut details = Map::new();
    // Retry: the first matching retrier decides, with the attempts already used.
    if !failure.terminal {
        if let Some(idx) = retriers
            .iter()
            .position(|r| failure.matches(&r.error_equals))
        {
            let r = &retriers[idx];
            details.insert("retryIndex".into(), Value::from(idx));
            let used = req.config.retrier_retry_count;
            if u64::from(used) < r.max_attempts {
                let mut seconds = r.interval_seconds as f64 * r.backoff_rate.powi(used as i32);
                if let Some(max) = r.max_delay_seconds {
                    seconds = seconds.min(max as f64);
                }
                details.insert(
                    "retryBackoffIntervalSeconds".into(),
                    Value::from(seconds.round() as i64),
                );
                insp.insert("errorDetails".into(), Value::Object(details));
                return TestResult {
                    status: "RETRIABLE",
                    error: failure.error,
                    cause: failure.cause,
                    inspection: insp,
                    ..TestResult::default()
                };
            }
        }
    }
    if let Some(catcher) = catch::find(catchers, &failure) {
        let idx = catchers
            .iter()
            .position(|c| std::ptr::eq(c, catcher))
            .unwrap_or(0);
        details.insert("catchIndex".into(), Value::from(idx));
        insp.insert("errorDetails".into(), Value::Object(details));
        let error_output = failure.error_output();
        let out = if jsonata {
            env.query(req, st)
                .assign_and_output(
                    catcher.assign.as_ref(),
                    catcher.output.as_ref(),
                    &req.input,
                    Extra::ErrorOutput(&error_output),
                )
                .map(|(out, assigned)| (out.unwrap_or(error_output), assigned))
                .map_err(|q| query_fail(st, q))
        } else {
            let ev = env.eval(req, st);
            (|| {
                let assigned = match &catcher.assign {
                    Some(a) => Some(ev.assign(a, &error_output)?),
                    None => None,
                };
                Ok((
                    catch::output(catcher, &failure, req.input.clone())?,
                    assigned,
                ))
            })()
            .map_err(|e| path_fail(st, e))
        };
        return match out {
            Ok((out, assigned)) => {
                record_variables(req, &mut insp, assigned);
                TestResult {
                    status: "CAUGHT_ERROR",
                    output: Some(out),
                    error: failure.error,
                    cause: failure.cause,
                    next_state: Some(catcher.next.clone()),
                    inspection: insp,
                }
            }
            Err(f) => TestResult {
                status: "FAILED",
                error: f.error,
                cause: f.cause,
                inspection: insp,
                ..TestResult::default()
            },
        };
    }
    if !details.is_empty() {
        insp.insert("errorDetails".into(), Value::Object(details));
    }
    TestResult {
        status: "FAILED",
        error: failure.error,
        cause: failure.cause,
        inspection: insp,
        ..TestResult::default()
    }
}

fn run_choice(
    env: &Env,
    req: &TestRequest,
    choice: &cairn_asl::ChoiceState,
    mut insp: Map<String, Value>,
) -> TestResult {
    let st = req.state;
    let no_match = |insp: Map<String, Value>| TestResult {
        status: "FAILED",
        error: Some(crate::errors::STATES_NO_CHOICE.into()),
        cause: Some("No Choice rule matched and there is no Default.".into()),
        inspection: insp,
        ..TestResult::default()
    };
    if language::for_state(st) == Language::Jsonata {
        let q = env.query(req, st);
        let r = choose_jsonata(&q, st, choice, &req.input)
            .map(|(next, out, assigned)| (next.map(str::to_string), out, assigned));
        return match r {
            Ok((Some(next), out, assigned)) => {
                record_variables(req, &mut insp, assigned);
                TestResult {
                    status: "SUCCEEDED",
                    output: Some(out.unwrap_or_else(|| req.input.clone())),
                    next_state: Some(next),
                    inspection: insp,
                    ..TestResult::default()
                }
            }
            Ok((None, _, _)) => no_match(insp),
            Err(q) => {
                let f = query_fail(st, q);
                TestResult {
                    status: "FAILED",
                    error: f.error,
                    cause: f.cause,
                    inspection: insp,
                    ..TestResult::default()
                }
            }
        };
    }
    let ev = env.eval(req, st);
    let r = (|| {
        let effective = ev.input_path(st.input_path.as_deref(), req.input.clone())?;
        insp.insert("afterInputPath".into(), effective.clone());
        let mut chosen = None;
        for rule in &choice.choices {
            if holds(&rule.condition, &effective, &ev)? {
                chosen = Some(rule);
                break;
            }
        }
        let (next, assign) = match chosen {
            Some(rule) => (
                Some(rule.next.clone()),
                rule.assign.as_ref().or(st.assign.as_ref()),
            ),
            None => (choice.default.clone(), st.assign.as_ref()),
        };
        let assigned = match (&next, assign) {
            (Some(_), Some(a)) => Some(ev.assign(a, &effective)?),
            _ => None,
        };
        let out = ev.output_path(st.output_path.as_deref(), effective)?;
        Ok((next, out, assigned))
    })();
    match r {
        Ok((Some(next), out, assigned)) => {
            record_variables(req, &mut insp, assigned);
            TestResult {
                status: "SUCCEEDED",
                output: Some(out),
                next_state: Some(next),
                inspection: insp,
                ..TestResult::default()
            }
        }
        Ok((None, _, _)) => no_match(insp),
        Err(e) => {
            let f = path_fail(st, e);
            TestResult {
                status: "FAILED",
                error: f.error,
                cause: f.cause,
                inspection: insp,
                ..TestResult::default()
            }
        }
    }
}

/// `inspectionData.variables`: the variables after the state's `Assign`.
fn record_variables(
    req: &TestRequest,
    insp: &mut Map<String, Value>,
    assigned: Option<Map<String, Value>>,
) {
    let Some(assigned) = assigned else { return };
    let mut all = req.variables.clone();
    all.extend(assigned);
    insp.insert("variables".into(), Value::Object(all));
}

/// The context object TestState builds when the caller sends none: AWS tests the state in
/// an express execution of a state machine made for the test, and leaves out
/// `Execution.RedriveCount` (observed).
pub fn default_context(info: &ExecutionInfo, state: &State, retry_count: u32) -> Value {
    let parts = ContextParts {
        info,
        state_name: &state.name,
        entered_ms: info.start_time_ms,
        retry_count: matches!(
            state.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        )
        .then_some(retry_count),
        task_token: None,
        map_item: None,
    };
    let mut v = parts.build();
    if let Some(Value::Object(e)) = v.get_mut("Execution") {
        e.remove("RedriveCount");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info() -> ExecutionInfo {
        ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:express:sm:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            region: "us-east-1".into(),
            start_time_ms: 0,
            input_text: "{}".into(),
            state_machine_version_arn: None,
            state_machine_alias_arn: None,
            redrive_count: 0,
            mock_test_case: None,
            trace_parent: None,
            redrive_time_ms: None,
        }
    }

    fn state(def: Value) -> cairn_asl::StateMachine {
        cairn_asl::parse_definition(&json!({"StartAt": "S", "States": {"S": def}})).unwrap()
    }

    fn test(
        def: Value,
        input: Value,
        outcome: Option<TaskOutcome>,
        cfg: StateConfiguration,
    ) -> TestResult {
        let m = state(def);
        let info = info();
        let req = TestRequest {
            state: &m.states[0],
            input,
            variables: Map::new(),
            context: None,
            info: &info,
            outcome,
            config: cfg,
            now_ms: 0,
            entropy: 1,
        };
        run(&req).unwrap()
    }

    #[test]
    fn pass_reports_each_step_of_its_data_flow() {
        let r = test(
            json!({"Type": "Pass", "InputPath": "$.a", "Parameters": {"x.$": "$.b"}, "ResultPath": "$.r", "End": true}),
            json!({"a": {"b": 1}}),
            None,
            StateConfiguration::default(),
        );
        assert_eq!(r.status, "SUCCEEDED");
        assert_eq!(r.output, Some(json!({"a": {"b": 1}, "r": {"x": 1}})));
        assert_eq!(r.inspection["afterInputPath"], json!({"b": 1}));
        assert_eq!(r.inspection["afterParameters"], json!({"x": 1}));
        assert_eq!(r.next_state, None);
    }

    #[test]
    fn task_error_is_retriable_then_caught_then_failed() {
        let def = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["E"], "Next": "H"}], "End": true});
        let err = Some(TaskOutcome::Error {
            error: Some("E".into()),
            cause: Some("c".into()),
        });
        let r = test(
            def.clone(),
            json!({}),
            err.clone(),
            StateConfiguration::default(),
        );
        assert_eq!(r.status, "RETRIABLE");
        assert_eq!(
            r.inspection["errorDetails"],
            json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 1})
        );
        let cfg = StateConfiguration {
            retrier_retry_count: 2,
            ..Default::default()
        };
        let r = test(def, json!({}), err, cfg);
        assert_eq!(r.status, "CAUGHT_ERROR");
        assert_eq!(r.next_state.as_deref(), Some("H"));
        assert_eq!(r.output, Some(json!({"Error": "E", "Cause": "c"})));
    }

    #[test]
    fn map_failure_count_beyond_tolerance_fails_the_map() {
        let def = json!({"Type": "Map", "ToleratedFailureCount": 1, "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Pass", "End": true}}}});
        let ok = Some(TaskOutcome::Result(json!([1, 2, 3])));
        let cfg = StateConfiguration {
            map_iteration_failure_count: Some(2),
            ..Default::default()
        };
        let r = test(def, json!([1, 2, 3]), ok, cfg);
        assert_eq!(r.status, "FAILED");
        assert_eq!(
            r.error.as_deref(),
            Some("States.ExceedToleratedFailureThreshold")
        );
    }

    #[test]
    fn choice_names_the_next_state() {
        let r = test(
            json!({"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "One"}], "Default": "Other"}),
            json!({"v": 1}),
            None,
            StateConfiguration::default(),
        );
        assert_eq!(r.next_state.as_deref(), Some("One"));
    }

    #[test]
    fn jsonata_task_catch_sees_the_error_output() {
        let def = json!({"Type": "Task", "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"n": "{% $states.input.n %}"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H",
                "Output": {"e": "{% $states.errorOutput.Error %}", "n": "{% $states.input.n %}"}}],
            "End": true});
        let err = Some(TaskOutcome::Error {
            error: Some("Boom".into()),
            cause: None,
        });
        let r = test(def, json!({"n": 3}), err, StateConfiguration::default());
        assert_eq!(r.status, "CAUGHT_ERROR");
        assert_eq!(r.output, Some(json!({"e": "Boom", "n": 3})));
        assert_eq!(r.inspection["afterArguments"], json!({"n": 3}));
        assert_eq!(r.inspection["errorDetails"], json!({"catchIndex": 0}));
    }

    #[test]
    fn wait_and_fail_and_parallel() {
        let w = test(
            json!({"Type": "Wait", "SecondsPath": "$.s", "OutputPath": "$.o", "Next": "N"}),
            json!({"s": 5, "o": 1}),
            None,
            StateConfiguration::default(),
        );
        assert_eq!(
            (w.output, w.next_state.as_deref()),
            (Some(json!(1)), Some("N"))
        );
        let bad = test(
            json!({"Type": "Wait", "SecondsPath": "$.missing", "End": true}),
            json!({}),
            None,
            StateConfiguration::default(),
        );
        assert_eq!(bad.status, "FAILED");
        assert_eq!(bad.error.as_deref(), Some("States.Runtime"));
        let f = test(
            json!({"Type": "Fail", "ErrorPath": "$.e", "Cause": "c"}),
            json!({"e": "E"}),
            None,
            StateConfiguration::default(),
        );
        assert_eq!(
            (f.error.as_deref(), f.cause.as_deref()),
            (Some("E"), Some("c"))
        );
        let p = test(
            json!({"Type": "Parallel", "ResultSelector": {"first.$": "$[0]"}, "End": true,
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}),
            json!({}),
            Some(TaskOutcome::Result(json!([7]))),
            StateConfiguration::default(),
        );
        assert_eq!(p.output, Some(json!({"first": 7})));
        assert!(!p.inspection.contains_key("result"));
    }
}
