//! The typed definition model: what a *valid* ASL document means.
//!
//! Built by [`crate::parse`] from JSON that has already passed [`crate::validate`]; the
//! interpreter reads only this model. Field names follow the ASL specification so that a
//! reader of the spec finds each field here under the same name.
//!
//! Invariant: no I/O, no clock. Payload templates and JSONata expressions are kept as raw
//! `serde_json::Value`s; evaluating them is the interpreter's job.

use serde_json::Value;
use std::collections::HashMap;

/// `"QueryLanguage"`: resolved per state (a state without its own inherits its machine's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

/// A top-level state machine, a Parallel branch or a Map `ItemProcessor`: a scope of states.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub start_at: String,
    /// States in definition order.
    pub states: Vec<State>,
    /// Name → index into `states`.
    pub index: HashMap<String, usize>,
    /// Top-level `TimeoutSeconds` (only meaningful on the root machine).
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
}

impl StateMachine {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// A value that is either written in the definition, read from the state input by a
/// reference path (`…Path` fields, JSONPath mode), or computed by a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    Literal(T),
    /// A reference path such as `$.timeout` (the `…Path` form of the field).
    Path(String),
    /// A JSONata expression, without the `{%` `%}` delimiters.
    Expr(String),
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
    /// `None` for Choice, Succeed and Fail.
    pub transition: Option<Transition>,
    /// JSONPath `InputPath`: `Some("$")` by default, `None` when written as `null`.
    pub input_path: Option<String>,
    /// JSONPath `OutputPath`: `Some("$")` by default, `None` when written as `null`.
    pub output_path: Option<String>,
    /// JSONPath `ResultPath`: `Some("$")` by default, `None` when written as `null`.
    pub result_path: Option<String>,
    /// JSONPath `Parameters` (a payload template; for Map the legacy form of ItemSelector).
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    /// JSONata `Arguments`.
    pub arguments: Option<Value>,
    /// JSONata `Output`.
    pub output: Option<Value>,
    /// `Assign` in either mode (JSONPath: a payload template; JSONata: values or `{% %}`).
    pub assign: Option<Value>,
    pub kind: StateKind,
}

// Variant sizes differ (a Map carries its whole processor), but a model is built once per
// definition and shared behind an `Arc`, so boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(PassState),
    Task(TaskState),
    Choice(ChoiceState),
    Wait(WaitState),
    Succeed,
    Fail(FailState),
    Parallel(ParallelState),
    Map(MapState),
}

impl StateKind {
    /// The `Type` string as written in ASL and used in history event type names.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PassState {
    /// `Result`: replaces the effective input as the state's result.
    pub result: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct TaskState {
    pub resource: String,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    pub credentials: Option<Value>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub struct ChoiceState {
    pub choices: Vec<ChoiceRule>,
    pub default: Option<String>,
}

/// A top-level Choice rule: a condition plus where to go when it holds.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
    pub assign: Option<Value>,
    /// JSONata `Output` of the rule.
    pub output: Option<Value>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `Variable` + one comparison operator (JSONPath mode).
    Compare {
        variable: String,
        operator: ComparisonOperator,
        operand: Operand,
    },
    /// JSONata `Condition` (expression without delimiters, or a literal boolean).
    Jsonata(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    /// The `…Path` variant of an operator: compare with the value at this path.
    Path(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComparisonOperator {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl ComparisonOperator {
    pub const ALL: [ComparisonOperator; 23] = [
        Self::StringEquals,
        Self::StringLessThan,
        Self::StringGreaterThan,
        Self::StringLessThanEquals,
        Self::StringGreaterThanEquals,
        Self::StringMatches,
        Self::NumericEquals,
        Self::NumericLessThan,
        Self::NumericGreaterThan,
        Self::NumericLessThanEquals,
        Self::NumericGreaterThanEquals,
        Self::BooleanEquals,
        Self::TimestampEquals,
        Self::TimestampLessThan,
        Self::TimestampGreaterThan,
        Self::TimestampLessThanEquals,
        Self::TimestampGreaterThanEquals,
        Self::IsNull,
        Self::IsPresent,
        Self::IsNumeric,
        Self::IsString,
        Self::IsBoolean,
        Self::IsTimestamp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::StringEquals => "StringEquals",
            Self::StringLessThan => "StringLessThan",
            Self::StringGreaterThan => "StringGreaterThan",
            Self::StringLessThanEquals => "StringLessThanEquals",
            Self::StringGreaterThanEquals => "StringGreaterThanEquals",
            Self::StringMatches => "StringMatches",
            Self::NumericEquals => "NumericEquals",
            Self::NumericLessThan => "NumericLessThan",
            Self::NumericGreaterThan => "NumericGreaterThan",
            Self::NumericLessThanEquals => "NumericLessThanEquals",
            Self::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Self::BooleanEquals => "BooleanEquals",
            Self::TimestampEquals => "TimestampEquals",
            Self::TimestampLessThan => "TimestampLessThan",
            Self::TimestampGreaterThan => "TimestampGreaterThan",
            Self::TimestampLessThanEquals => "TimestampLessThanEquals",
            Self::TimestampGreaterThanEquals => "TimestampGreaterThanEquals",
            Self::IsNull => "IsNull",
            Self::IsPresent => "IsPresent",
            Self::IsNumeric => "IsNumeric",
            Self::IsString => "IsString",
            Self::IsBoolean => "IsBoolean",
            Self::IsTimestamp => "IsTimestamp",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Operators that have a `…Path` variant (every comparison but `StringMatches` and the type tests).
    pub fn has_path_variant(self) -> bool {
        !matches!(
            self,
            Self::StringMatches
                | Self::IsNull
                | Self::IsPresent
                | Self::IsNumeric
                | Self::IsString
                | Self::IsBoolean
                | Self::IsTimestamp
        )
    }
}

#[derive(Debug, Clone)]
pub enum WaitState {
    Seconds(Dynamic<u64>),
    /// An ISO-8601 timestamp (literal, path or expression).
    Timestamp(Dynamic<String>),
}

#[derive(Debug, Clone, Default)]
pub struct FailState {
    /// `Error` (literal or JSONata) or `ErrorPath` (Dynamic::Path, may be an intrinsic call).
    pub error: Option<Dynamic<String>>,
    pub cause: Option<Dynamic<String>>,
}

#[derive(Debug, Clone)]
pub struct ParallelState {
    pub branches: Vec<StateMachine>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorMode {
    Inline,
    Distributed,
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub processor: StateMachine,
    /// The `ItemProcessor` as a definition of its own (without `ProcessorConfig`, with the
    /// top-level `QueryLanguage` it inherits): what a Distributed Map's child executions run.
    pub processor_definition: Value,
    pub mode: ProcessorMode,
    /// `ProcessorConfig.ExecutionType` for distributed maps.
    pub execution_type: Option<String>,
    /// JSONPath `ItemsPath` (default `$`).
    pub items_path: Option<String>,
    /// JSONata `Items` (array literal or `{% %}`).
    pub items: Option<Value>,
    /// `ItemSelector`, or the legacy `Parameters` of a Map.
    pub item_selector: Option<Value>,
    pub max_concurrency: Option<Dynamic<u64>>,
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    pub label: Option<String>,
    pub item_reader: Option<Value>,
    pub item_batcher: Option<Value>,
    pub result_writer: Option<Value>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitterStrategy {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter_strategy: JitterStrategy,
}

impl Default for Retrier {
    /// AWS's defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0, no cap, no jitter.
    fn default() -> Self {
        Retrier {
            error_equals: Vec::new(),
            interval_seconds: 1,
            max_attempts: 3,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter_strategy: JitterStrategy::None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    /// JSONPath `ResultPath`: `Some("$")` by default, `None` when written as `null`.
    pub result_path: Option<String>,
    /// JSONata `Output` (default: `$states.errorOutput`).
    pub output: Option<Value>,
    pub assign: Option<Value>,
}

/// Is this string a JSONata expression (`{% … %}` with nothing outside the delimiters)?
/// Returns the expression text between the delimiters.
pub fn jsonata_expression(s: &str) -> Option<&str> {
    if s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}") {
        Some(&s[2..s.len() - 2])
    } else {
        None
    }
}
