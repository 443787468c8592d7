//! Wait states (ASL.md §3): when the timer fires, and AWS's runtime errors for bad
//! `SecondsPath` / `TimestampPath` values and delays that are too long; in JSONata mode
//! `Seconds`/`Timestamp` expressions, whose bad values are `States.QueryEvaluationError`.

use crate::choice::parse_timestamp;
use crate::dataflow::Eval;
use crate::jsonata::{Extra, Query, QueryFailure};
use cairn_asl::{Dynamic, WaitState};
use serde_json::Value;

/// The longest delay AWS accepts (observed boundary ≈ 2^31 seconds).
const MAX_DELAY_SECONDS: i64 = i32::MAX as i64;

/// Why a Wait state cannot wait: a path error (with AWS's message) or our own message.
pub(crate) enum WaitError {
    Path(cairn_jsonpath::PathError),
    Runtime(String),
    Query(QueryFailure),
}

/// The time at which a JSONata Wait state ends. `Seconds` must be a non-negative integer,
/// `Timestamp` an RFC 3339 string with an offset (AWS's cause for a bad one is observed).
pub(crate) fn fire_at_jsonata(
    wait: &WaitState,
    input: &Value,
    q: &Query,
    now_ms: i64,
) -> Result<i64, WaitError> {
    let fire = match wait {
        WaitState::Seconds(Dynamic::Expr(e)) => {
            let n = q.integer(e, input, "Seconds").map_err(WaitError::Query)?;
            if n < 0 {
                return Err(WaitError::Query(QueryFailure::new(
                    Some("Seconds"),
                    format!("The Seconds field must be a non-negative integer but was: {n}"),
                )));
            }
            now_ms.saturating_add(n.saturating_mul(1000))
        }
        WaitState::Timestamp(Dynamic::Expr(e)) => {
            let v = q
                .expression(e, input, Extra::None, "Timestamp")
                .map_err(WaitError::Query)?;
            match v.as_str().and_then(parse_timestamp) {
                Some(ts) => ts.as_millisecond(),
                None => {
                    return Err(WaitError::Query(QueryFailure::new(
                        Some("Timestamp"),
                        format!(
                            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                            display(&v)
                        ),
                    )))
                }
            }
        }
        WaitState::Seconds(Dynamic::Literal(s)) => {
            now_ms.saturating_add((*s as i64).saturating_mul(1000))
        }
        WaitState::Timestamp(Dynamic::Literal(s)) => match parse_timestamp(s) {
            Some(ts) => ts.as_millisecond(),
            None => {
                return Err(WaitError::Query(QueryFailure::new(
                    Some("Timestamp"),
                    format!(
                        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"
                    ),
                )))
            }
        },
        // `…Path` fields are JSONPath only (validation).
        WaitState::Seconds(Dynamic::Path(_)) | WaitState::Timestamp(Dynamic::Path(_)) => now_ms,
    };
    if (fire - now_ms) / 1000 > MAX_DELAY_SECONDS {
        return Err(WaitError::Runtime("Wait state delay is too long.".into()));
    }
    Ok(fire)
}

/// The time (ms since the epoch) at which the Wait state ends.
pub(crate) fn fire_at(
    wait: &WaitState,
    input: &Value,
    eval: &Eval,
    now_ms: i64,
) -> Result<i64, WaitError> {
    let fire = match wait {
        WaitState::Seconds(Dynamic::Literal(s)) => now_ms.saturating_add((*s as i64).saturating_mul(1000)),
        WaitState::Seconds(Dynamic::Path(p)) => {
            let v = seconds_path_value(p, input, eval)?;
            now_ms.saturating_add(v.saturating_mul(1000))
        }
        WaitState::Timestamp(Dynamic::Literal(s)) => match parse_timestamp(s) {
            Some(ts) => ts.as_millisecond(),
            None => {
                return Err(WaitError::Runtime(format!(
                    "The Timestamp parameter does not reference a valid ISO-8601 extended offset date-time format string: {s}"
                )))
            }
        },
        WaitState::Timestamp(Dynamic::Path(p)) => {
            let v = eval.path(p, input).map_err(WaitError::Path)?;
            match v.as_str().and_then(parse_timestamp) {
                Some(ts) => ts.as_millisecond(),
                None => {
                    return Err(WaitError::Runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}",
                        display(&v)
                    )))
                }
            }
        }
        // JSONata states go through `fire_at_jsonata`; validation keeps expressions out of
        // JSONPath states.
        WaitState::Seconds(Dynamic::Expr(_)) | WaitState::Timestamp(Dynamic::Expr(_)) => {
            return Err(WaitError::Runtime(
                "A JSONata expression is not evaluated in a JSONPath state.".into(),
            ))
        }
    };
    if (fire - now_ms) / 1000 > MAX_DELAY_SECONDS {
        return Err(WaitError::Runtime("Wait state delay is too long.".into()));
    }
    Ok(fire)
}

fn seconds_path_value(p: &str, input: &Value, eval: &Eval) -> Result<i64, WaitError> {
    let v = match eval.lookup(p, input).map_err(WaitError::Path)? {
        Some(v) => v,
        None => {
            return Err(WaitError::Runtime(format!(
                "The SecondsPath parameter does not reference an input value: {p}"
            )))
        }
    };
    if let Some(i) = v.as_i64() {
        if i < 0 {
            return Err(WaitError::Runtime(format!(
                "The SecondsPath parameter references a negative value: {p} == {i}"
            )));
        }
        return Ok(i);
    }
    if let Some(u) = v.as_u64() {
        return Ok(u.min(i64::MAX as u64) as i64);
    }
    Err(WaitError::Runtime(format!(
        "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
        display(&v)
    )))
}

/// A value as AWS prints it in these messages: strings bare, others as JSON.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => crate::history::json_text(other),
    }
}

mod state {
    //! The Wait state's life: compute the end, sleep on a durable timer, exit.
    use super::{fire_at, fire_at_jsonata, WaitError};
    use crate::jsonata::Extra;
    use crate::language::{self, Language};
    use crate::machine::Phase;
    use crate::run::{Next, Run, Step};
    use cairn_asl::{State, WaitState};
    use serde_json::Value;

    impl<'a> Run<'a> {
        pub(crate) fn run_wait(&mut self, tid: u32, st: &'a State, wait: &'a WaitState) -> Step {
            // Cloned, not taken: a state that fails on entry keeps its input in the thread, so
            // RedriveExecution enters it again with that input (not `null`).
            let raw = self.m.thread(tid).input.clone();
            let now = self.ctx.now_ms;
            let outcome = if language::for_state(st) == Language::Jsonata {
                let q = self.query(tid, st, None, None);
                fire_at_jsonata(wait, &raw, &q, now).and_then(|fire| {
                    let (out, assigned) = q
                        .assign_and_output(
                            st.assign.as_ref(),
                            st.output.as_ref(),
                            &raw,
                            Extra::None,
                        )
                        .map_err(WaitError::Query)?;
                    Ok((fire, out.unwrap_or(raw), assigned))
                })
            } else {
                let ev = self.eval(tid, st, None, None);
                (|| {
                    let effective = ev
                        .input_path(st.input_path.as_deref(), raw)
                        .map_err(WaitError::Path)?;
                    let fire = fire_at(wait, &effective, &ev, now)?;
                    let assigned = match &st.assign {
                        Some(a) => Some(ev.assign(a, &effective).map_err(WaitError::Path)?),
                        None => None,
                    };
                    let out = ev
                        .output_path(st.output_path.as_deref(), effective)
                        .map_err(WaitError::Path)?;
                    Ok((fire, out, assigned))
                })()
            };
            match outcome {
                Ok((fire, out, assigned)) => {
                    if fire <= now {
                        return self.exit_state(tid, out, assigned, Next::Own);
                    }
                    let timer = self.start_timer(tid, fire - now);
                    let t = self.m.thread_mut(tid);
                    t.input = out;
                    t.effective = assigned.map_or(Value::Null, Value::Object);
                    t.phase = Phase::Wait { timer };
                    Step::Blocked
                }
                Err(WaitError::Path(e)) => Step::Fail(self.path_failure(tid, e)),
                Err(WaitError::Runtime(msg)) => Step::Fail(self.runtime_failure(tid, &msg)),
                Err(WaitError::Query(q)) => Step::Fail(self.query_failure(tid, q)),
            }
        }

        /// The Wait timer fired: exit with the output computed on entry.
        pub(crate) fn wait_over(&mut self, tid: u32) -> Step {
            let t = self.m.thread_mut(tid);
            let out = std::mem::take(&mut t.input);
            let assigned = match std::mem::take(&mut t.effective) {
                Value::Object(m) => Some(m),
                _ => None,
            };
            t.phase = Phase::Enter;
            self.exit_state(tid, out, assigned, Next::Own)
        }
    }
}
