//! What an expression may read besides its own text: `$states`, the workflow variables, the
//! recorded time and the recorded entropy, and the limits that stop a runaway evaluation.
//!
//! Everything non-deterministic enters here, so an evaluation is a function of its
//! `Bindings`: replaying a history with the same `now_ms` and entropy gives the same values
//! for `$now()`, `$millis()`, `$random()`, `$uuid()` and `$shuffle()`. This module must never
//! read a clock or an operating-system random source.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// Workflow variables, looked up by name without the `$` (`"total"` for `$total`).
///
/// Implemented for the usual maps; the interpreter may implement it over its scope chain
/// (inner Map/Parallel scopes reading outer variables) without copying.
pub trait Variables {
    /// The value of `$name`, or `None` if the variable was never assigned.
    fn get(&self, name: &str) -> Option<&Value>;
}

impl Variables for HashMap<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        HashMap::get(self, name)
    }
}

impl Variables for BTreeMap<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        BTreeMap::get(self, name)
    }
}

impl Variables for serde_json::Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self, name)
    }
}

/// No workflow variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// Guards against runaway expressions. Exceeding one gives
/// [`JsonataError::LimitExceeded`](crate::JsonataError::LimitExceeded), never a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-time budget of one evaluation, in milliseconds (JSONata D1012). This is the only
    /// place where elapsed time matters; it never changes a successful result, so replay
    /// stays deterministic for every expression that finishes within it.
    pub time_budget_ms: u64,
    /// Evaluation depth (JSONata D1011); a non-tail recursive call costs about three levels.
    pub max_depth: usize,
    /// Longest sequence a path, `$map`, range … may produce (JSONata D2015).
    pub max_sequence_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time_budget_ms: 5_000,
            max_depth: 3_000,
            max_sequence_length: 1_000_000,
        }
    }
}

/// The values one evaluation reads: `$states`, the variables, the recorded time and entropy.
///
/// ```
/// use cairn_jsonata::{compile, evaluate, Bindings};
/// use serde_json::json;
/// let states = json!({"input": {"n": 2}, "context": {}});
/// let vars: std::collections::HashMap<String, serde_json::Value> =
///     [("k".to_string(), json!(40))].into();
/// let b = Bindings::new(&states).with_variables(&vars).with_now_ms(0).with_entropy(7);
/// let e = compile("$states.input.n + $k").unwrap();
/// assert_eq!(evaluate(&e, &b).unwrap(), Some(json!(42)));
/// ```
pub struct Bindings<'a> {
    pub(crate) states: &'a Value,
    pub(crate) variables: &'a dyn Variables,
    pub(crate) now_ms: i64,
    /// The state of the generator behind unseeded `$random()`, `$uuid()` and `$shuffle()`.
    /// It advances with every draw, across evaluations sharing these bindings, so two
    /// `$uuid()` in one state differ and a replay draws the same sequence again.
    pub(crate) entropy: Cell<u64>,
    pub(crate) limits: Limits,
}

impl<'a> Bindings<'a> {
    /// Bindings with `$states` = `states` (an object with `input`, `context` and, where the
    /// field allows, `result` or `errorOutput`), no variables, time 0 and entropy 0.
    pub fn new(states: &'a Value) -> Self {
        Bindings {
            states,
            variables: &NoVariables,
            now_ms: 0,
            entropy: Cell::new(0),
            limits: Limits::default(),
        }
    }

    /// The workflow variables. A variable named `states` is never read: `$states` always
    /// comes from [`Bindings::new`].
    pub fn with_variables(mut self, variables: &'a dyn Variables) -> Self {
        self.variables = variables;
        self
    }

    /// The time `$now()` and `$millis()` report, in milliseconds since the Unix epoch.
    pub fn with_now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = now_ms;
        self
    }

    /// The recorded seed of `$random()`, `$uuid()` and `$shuffle()`.
    pub fn with_entropy(mut self, seed: u64) -> Self {
        self.entropy = Cell::new(seed);
        self
    }

    /// Replace the default [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The value of `$states`.
    pub fn states(&self) -> &Value {
        self.states
    }

    /// The time `$now()` reports.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }
}

/// SplitMix64: a small generator whose output is fixed by its definition, so recorded
/// seeds keep their meaning across versions of this crate and of its dependencies.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in `[0, 1)` from 53 random bits.
pub(crate) fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
