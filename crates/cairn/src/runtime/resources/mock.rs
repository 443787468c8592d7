//! Mocked service integrations, compatible with Step Functions Local's mock configuration file
//! (`--mock-config FILE` / `SFN_MOCK_CONFIG`):
//!
//! ```json
//! {"StateMachines": {"<machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
//!  "MockedResponses": {"<response>": {"0": {"Return": …}, "1-2": {"Throw": {"Error": …, "Cause": …}}}}}
//! ```
//! An execution uses a test case when StartExecution names it: `stateMachineArn#TestCase`.
//! Each invocation of a mocked Task state takes the response keyed by its attempt number
//! (0, 1, …, counted per execution and state); past the last key the last response repeats.
//! `Return` is the task's result as the integration would have answered (for `lambda:invoke`
//! the whole envelope; for `.waitForTaskToken` and `.sync` the final result, no callback is
//! awaited); `Throw` fails the task. States the test case does not name run for real.
//!
//! Must not: mock activity states (they are worker-driven; not supported yet).

use super::settings_file::load_document;
use super::{Answer, Invocation, ResourceEnv};
use anyhow::{bail, Context};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// One response: what attempt numbers it covers and what it does.
#[derive(Debug, Clone)]
struct Response {
    first: u32,
    last: u32,
    outcome: Mocked,
}

#[derive(Debug, Clone)]
enum Mocked {
    Return(Value),
    Throw { error: String, cause: String },
}

#[derive(Debug, Default)]
pub(crate) struct MockConfig {
    /// machine name → test case → state name → response name.
    cases: HashMap<String, HashMap<String, HashMap<String, String>>>,
    /// response name → responses by attempt, ascending.
    responses: HashMap<String, Vec<Response>>,
}

impl MockConfig {
    pub(crate) fn load(path: &Path) -> anyhow::Result<MockConfig> {
        let doc = load_document(path)?;
        MockConfig::from_json(&doc)
            .with_context(|| format!("mock configuration {}", path.display()))
    }

    pub(crate) fn from_json(doc: &Value) -> anyhow::Result<MockConfig> {
        let mut config = MockConfig::default();
        if let Some(responses) = doc.get("MockedResponses") {
            let responses = responses
                .as_object()
                .context("MockedResponses must be an object")?;
            for (name, by_attempt) in responses {
                let by_attempt = by_attempt
                    .as_object()
                    .with_context(|| format!("MockedResponses.{name} must be an object"))?;
                let mut list = Vec::new();
                for (key, r) in by_attempt {
                    let (first, last) = attempts(key).with_context(|| {
                        format!("MockedResponses.{name}: bad attempt key '{key}'")
                    })?;
                    let outcome = match (r.get("Return"), r.get("Throw")) {
                        (Some(v), None) => Mocked::Return(v.clone()),
                        (None, Some(t)) => Mocked::Throw {
                            error: text(t.get("Error")),
                            cause: text(t.get("Cause")),
                        },
                        _ => bail!("MockedResponses.{name}.{key}: give Return or Throw"),
                    };
                    list.push(Response {
                        first,
                        last,
                        outcome,
                    });
                }
                list.sort_by_key(|r| r.first);
                config.responses.insert(name.clone(), list);
            }
        }
        if let Some(machines) = doc.get("StateMachines") {
            let machines = machines
                .as_object()
                .context("StateMachines must be an object")?;
            for (machine, spec) in machines {
                let Some(cases) = spec.get("TestCases").and_then(Value::as_object) else {
                    bail!("StateMachines.{machine} needs TestCases");
                };
                let mut by_case = HashMap::new();
                for (case, states) in cases {
                    let states = states
                        .as_object()
                        .with_context(|| format!("TestCases.{case} must be an object"))?;
                    let mut by_state = HashMap::new();
                    for (state, response) in states {
                        let response = response.as_str().with_context(|| {
                            format!("TestCases.{case}.{state} must name a mocked response")
                        })?;
                        if !config.responses.contains_key(response) {
                            bail!("TestCases.{case}.{state}: no mocked response '{response}'");
                        }
                        by_state.insert(state.clone(), response.to_string());
                    }
                    by_case.insert(case.clone(), by_state);
                }
                config.cases.insert(machine.clone(), by_case);
            }
        }
        Ok(config)
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// `"3"` or `"1-2"`.
fn attempts(key: &str) -> Option<(u32, u32)> {
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => {
            let n = key.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

/// Test cases chosen at StartExecution and attempts counted so far (in memory).
#[derive(Debug, Default)]
pub(crate) struct MockState {
    test_cases: Mutex<HashMap<String, String>>,
    attempts: Mutex<HashMap<(String, String), u32>>,
}

impl MockState {
    pub(crate) fn set_test_case(&self, execution_arn: &str, test_case: Option<&str>) {
        let mut cases = self.test_cases.lock().expect("mock state lock");
        match test_case {
            Some(c) => cases.insert(execution_arn.to_string(), c.to_string()),
            None => cases.remove(execution_arn),
        };
    }

    fn test_case(&self, execution_arn: &str) -> Option<String> {
        self.test_cases
            .lock()
            .expect("mock state lock")
            .get(execution_arn)
            .cloned()
    }

    /// This invocation's attempt number (0 for the first).
    fn next_attempt(&self, execution_arn: &str, state: &str) -> u32 {
        let mut attempts = self.attempts.lock().expect("mock state lock");
        let n = attempts
            .entry((execution_arn.to_string(), state.to_string()))
            .or_insert(0);
        let this = *n;
        *n += 1;
        this
    }
}

/// The machine name in an execution ARN (`…:execution:{machine}:{name}`, also `express:`).
fn machine_name(execution_arn: &str) -> Option<&str> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    (parts.len() >= 8).then(|| parts[6].split('/').next().unwrap_or(parts[6]))
}

/// The mocked answer for this invocation, when its execution runs a test case that names it.
pub(super) fn answer(env: &ResourceEnv, call: &Invocation) -> Option<Answer> {
    let config = env.loaded.mocks.as_ref()?;
    let case = env.mock_state.test_case(&call.execution_arn)?;
    let machine = machine_name(&call.execution_arn)?;
    let Some(states) = config.cases.get(machine).and_then(|c| c.get(&case)) else {
        return Some(Answer::fail(
            "States.Runtime",
            format!(
                "The mock configuration has no test case '{case}' for the state machine \
                 '{machine}' (StateMachines.{machine}.TestCases.{case})"
            ),
        ));
    };
    let response = states.get(&call.state_name)?;
    let list = config.responses.get(response)?;
    let attempt = env
        .mock_state
        .next_attempt(&call.execution_arn, &call.state_name);
    let r = list
        .iter()
        .find(|r| r.first <= attempt && attempt <= r.last)
        .or_else(|| list.iter().rev().find(|r| r.last < attempt))
        .or(list.last())?;
    Some(match &r.outcome {
        Mocked::Return(v) => Answer::json(v),
        Mocked::Throw { error, cause } => Answer::fail(error.clone(), cause.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attempt_keys() {
        assert_eq!(attempts("0"), Some((0, 0)));
        assert_eq!(attempts("1-2"), Some((1, 2)));
        assert_eq!(attempts("2-1"), None);
        assert_eq!(attempts("x"), None);
    }

    #[test]
    fn config_checks_references() {
        let ok = json!({"StateMachines": {"m": {"TestCases": {"c": {"S": "R"}}}},
                        "MockedResponses": {"R": {"0": {"Return": 1}, "1-2": {"Throw": {"Error": "E"}}}}});
        let c = MockConfig::from_json(&ok).unwrap();
        assert_eq!(c.responses["R"].len(), 2);
        let bad = json!({"StateMachines": {"m": {"TestCases": {"c": {"S": "Nope"}}}},
                         "MockedResponses": {}});
        assert!(MockConfig::from_json(&bad).is_err());
        let bad = json!({"MockedResponses": {"R": {"0": {}}}});
        assert!(MockConfig::from_json(&bad).is_err());
    }

    #[test]
    fn machine_names() {
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:1:execution:m:e"),
            Some("m")
        );
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:1:express:m:e:u"),
            Some("m")
        );
        assert_eq!(machine_name("nope"), None);
    }
}
