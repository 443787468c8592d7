//! Failures inside an execution: the `{Error, Cause}` pair a state fails with, and whether
//! Retry/Catch may see it.
//!
//! Owns AWS's error names and the cause prefix of runtime errors. Does not decide what
//! happens with a failure (that is `retry.rs` / `catch.rs` / the thread driver).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) const STATES_ALL: &str = "States.ALL";
pub(crate) const STATES_RUNTIME: &str = "States.Runtime";
pub(crate) const STATES_TIMEOUT: &str = "States.Timeout";
pub(crate) const STATES_HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub(crate) const STATES_TASK_FAILED: &str = "States.TaskFailed";
pub(crate) const STATES_DATA_LIMIT: &str = "States.DataLimitExceeded";
pub(crate) const STATES_NO_CHOICE: &str = "States.NoChoiceMatched";
pub(crate) const STATES_QUERY_EVALUATION: &str = cairn_jsonata::QUERY_EVALUATION_ERROR;

/// The payload limit of AWS (256 KiB), for state input/output, results and variables.
pub(crate) const PAYLOAD_LIMIT: usize = 262_144;

/// Why a state (or a branch, or an iteration) failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Failure {
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Neither retried nor caught (`States.Runtime`, state-level `States.DataLimitExceeded`).
    pub terminal: bool,
    /// A missed heartbeat: also matches `States.HeartbeatTimeout` in ErrorEquals.
    #[serde(default)]
    pub heartbeat: bool,
    /// Raised by a branch or iteration of the Parallel/Map state now handling it (which then
    /// writes `ParallelStateFailed`/`MapStateFailed` unless it retries).
    #[serde(default)]
    pub from_children: bool,
}

impl Failure {
    /// An ordinary, catchable failure.
    pub fn new(error: Option<String>, cause: Option<String>) -> Self {
        Failure {
            error,
            cause,
            terminal: false,
            heartbeat: false,
            from_children: false,
        }
    }

    /// A `States.Runtime` failure whose cause already is the full text.
    pub fn runtime_raw(cause: impl Into<String>) -> Self {
        Failure {
            error: Some(STATES_RUNTIME.into()),
            cause: Some(cause.into()),
            terminal: true,
            heartbeat: false,
            from_children: false,
        }
    }

    /// A runtime failure of a state, with AWS's prefix naming the state and its entry event.
    pub fn runtime(state: &str, entered_id: u64, detail: &str) -> Self {
        Self::runtime_raw(prefixed(state, entered_id, detail))
    }

    /// An error raised by path/template evaluation (`cairn-jsonpath` messages carry no prefix).
    pub fn from_path_error(state: &str, entered_id: u64, e: cairn_jsonpath::PathError) -> Self {
        let mut f = Self::runtime(state, entered_id, &e.message);
        f.error = Some(e.error.to_string());
        // Only States.Runtime is terminal; an intrinsic failure can be caught.
        f.terminal = e.error == STATES_RUNTIME;
        f
    }

    /// A JSONata field failed (`States.QueryEvaluationError`): catchable and retriable,
    /// unlike `States.Runtime`; the cause carries the usual prefix naming the state.
    pub fn query(state: &str, entered_id: u64, detail: &str) -> Self {
        Failure::new(
            Some(STATES_QUERY_EVALUATION.into()),
            Some(prefixed(state, entered_id, detail)),
        )
    }

    /// A state's input or output beyond 256 KiB: terminal, no prefix (observed).
    pub fn data_limit(state: &str) -> Self {
        Failure {
            error: Some(STATES_DATA_LIMIT.into()),
            cause: Some(format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
            )),
            terminal: true,
            heartbeat: false,
            from_children: false,
        }
    }

    /// Variables beyond AWS's limits (256 KiB for one variable or one state's `Assign`, 10 MiB
    /// for all of an execution's): terminal like the other size failures. AWS documents the
    /// limits but its error for them is unrecorded; `States.DataLimitExceeded` is the error it
    /// uses for every other size limit.
    pub fn variable_limit(state: &str, what: &str) -> Self {
        Failure {
            cause: Some(format!(
                "The state '{state}' assigned {what} exceeding the maximum number of bytes service limit."
            )),
            ..Failure::data_limit(state)
        }
    }

    pub fn timeout(heartbeat: bool) -> Self {
        Failure {
            error: Some(STATES_TIMEOUT.into()),
            cause: None,
            terminal: false,
            heartbeat,
            from_children: false,
        }
    }

    /// The error output a catcher passes on: `{"Error": …, "Cause": …}` with nulls.
    pub fn error_output(&self) -> Value {
        let mut m = Map::new();
        m.insert("Error".into(), opt_string(&self.error));
        // A timeout has no cause in its history event, yet catchers see `""` (observed).
        let cause = match (&self.cause, self.error.as_deref()) {
            (None, Some(STATES_TIMEOUT)) => Value::String(String::new()),
            (c, _) => opt_string(c),
        };
        m.insert("Cause".into(), cause);
        Value::Object(m)
    }

    /// Does this failure match one `ErrorEquals` list (ASL.md §9)?
    pub fn matches(&self, error_equals: &[String]) -> bool {
        if self.terminal {
            return false;
        }
        let name = self.error.as_deref().unwrap_or("");
        error_equals.iter().any(|e| match e.as_str() {
            STATES_ALL => true,
            STATES_TASK_FAILED => name != STATES_TIMEOUT,
            STATES_HEARTBEAT_TIMEOUT => self.heartbeat || name == STATES_HEARTBEAT_TIMEOUT,
            other => other == name,
        })
    }
}

fn opt_string(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

/// AWS's prefix for runtime errors of a state.
pub(crate) fn prefixed(state: &str, entered_id: u64, detail: &str) -> String {
    format!("An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(e: &str) -> Failure {
        Failure::new(Some(e.into()), None)
    }

    #[test]
    fn states_all_matches_everything_but_runtime() {
        let all = vec![STATES_ALL.to_string()];
        assert!(f("Boom").matches(&all));
        assert!(Failure::new(None, None).matches(&all));
        assert!(!Failure::runtime("S", 2, "x").matches(&all));
        assert!(!Failure::runtime("S", 2, "x").matches(&[STATES_RUNTIME.to_string()]));
    }

    #[test]
    fn task_failed_is_a_wildcard_except_timeout() {
        let tf = vec![STATES_TASK_FAILED.to_string()];
        assert!(f("Lambda.Unknown").matches(&tf));
        assert!(!Failure::timeout(false).matches(&tf));
    }

    #[test]
    fn heartbeat_timeout_matches_both_names() {
        let hb = vec![STATES_HEARTBEAT_TIMEOUT.to_string()];
        let to = vec![STATES_TIMEOUT.to_string()];
        assert!(Failure::timeout(true).matches(&hb));
        assert!(Failure::timeout(true).matches(&to));
        assert!(!Failure::timeout(false).matches(&hb));
    }

    #[test]
    fn error_output_has_nulls() {
        let v = Failure::new(None, Some("c".into())).error_output();
        assert_eq!(v, serde_json::json!({"Error": null, "Cause": "c"}));
    }

    #[test]
    fn timeouts_give_catchers_an_empty_cause() {
        let v = Failure::timeout(false).error_output();
        assert_eq!(
            v,
            serde_json::json!({"Error": "States.Timeout", "Cause": ""})
        );
    }

    #[test]
    fn query_errors_are_caught_but_runtime_errors_are_not() {
        let q = Failure::query("A", 2, "The JSONata expression '$x' specified for the field 'Output' returned nothing (undefined).");
        assert_eq!(q.error.as_deref(), Some("States.QueryEvaluationError"));
        assert!(q.matches(&[STATES_ALL.to_string()]));
        assert!(q.cause.unwrap().starts_with("An error occurred while executing the state 'A' (entered at the event id #2). The JSONata"));
    }

    #[test]
    fn runtime_prefix() {
        let r = Failure::runtime("A", 2, "Boom.");
        assert_eq!(
            r.cause.as_deref(),
            Some("An error occurred while executing the state 'A' (entered at the event id #2). Boom.")
        );
    }
}
