//! JSONata as AWS Step Functions runs it, behind Cairn's own small API.
//!
//! - [`compile`] parses an expression (the text between `{%` and `%}`) and rejects what AWS
//!   rejects; the [`Expression`] is `Send + Sync`, so the interpreter can cache it.
//! - [`evaluate`] runs it against [`Bindings`]: `$states`, the workflow variables, the
//!   recorded time and entropy, and the [`Limits`] that stop runaway expressions.
//! - [`is_expression`], [`evaluate_value`], [`evaluate_field`] and [`expect_type`] serve ASL
//!   fields, with AWS's `States.QueryEvaluationError` causes in [`QueryError`].
//!
//! The evaluator is the `jsonata-core` crate (pinned exactly); this crate adds AWS's
//! functions and replaces JSONata's impure built-ins with deterministic ones.
//!
//! Invariant: no clock, no operating-system randomness, no I/O, no tokio. Time and entropy
//! come from [`Bindings`], so replaying a history reproduces every value bit for bit. The
//! one exception is the time budget, which can only turn a run into a
//! [`JsonataError::LimitExceeded`], never change a successful result.
//!
//! # Where AWS, jsonata-js and jsonata-core differ, and what Cairn does
//!
//! | Behaviour | jsonata-js 2.0.6 | AWS Step Functions | Cairn |
//! |---|---|---|---|
//! | `$eval` | built-in | not available | rejected by [`compile`] (and overridden to throw) |
//! | `??`, `?:` (JSONata 2.1) | syntax error in 2.0.6 | rejected | rejected by [`compile`] (jsonata-core parses them) |
//! | extra functions | none | `$partition $range $hash $random([seed]) $uuid $parse` | all six, see `aws_functions` |
//! | `$random(seed)` | no seed argument | seeded = repeatable; the generator is AWS's own | repeatable too, but from SplitMix64: the numbers differ from AWS's |
//! | `$random()`, `$uuid()`, `$shuffle()` | `Math.random` | random | drawn from the recorded entropy in [`Bindings`] |
//! | `$now()`, `$millis()` | the clock at the start of evaluation | the clock | the recorded [`Bindings::with_now_ms`] |
//! | `$now(picture, tz)` | supported | supported | supported (jsonata-core's own `$now` takes no arguments) |
//! | `$range` single item | — | a sequence: `$range(1,9,9)` is `1` (observed) | same; an empty range is nothing (undefined) |
//! | `$range` size | — | undocumented | at most 1000 items, as `States.ArrayRange` (else D2014, a size limit) |
//! | numbers | IEEE doubles, `JSON.stringify` | integral results printed as integers | integral results become JSON integers (`1.0` → `1`, `-0` → `0`); integers beyond 2^64 stay floats and print as `1e20` where JavaScript prints `100000000000000000000` |
//! | T1006 message | `Attempted to invoke a non-function` | same | jsonata-core appends `: $name`; Cairn strips it |
//! | runaway expressions | unbounded | stopped by AWS | time budget (D1012), depth (D1011), sequence length (D2015), see [`Limits`] |
//! | `$states := …` inside an expression | allowed | `$states` is reserved | rejected by [`compile`] (unverified on AWS) |
//! | a function inside a result | dropped by `JSON.stringify` | "returned an unsupported result type." (top level, observed) | unsupported anywhere in the result |
//! | `$` at the top of an expression | the input | documented as not allowed | the input is undefined, so `$` and bare field names return nothing |
//! | field path of an array item in a template | — | not observed | `Field/key/0` |

mod aws_functions;
mod bindings;
mod error;
mod evaluate;
mod expression;
mod json;
mod template;
mod uri;

pub use bindings::{Bindings, Limits, NoVariables, Variables};
pub use error::{JsonataError, Limit};
pub use evaluate::evaluate;
pub use expression::{compile, Expression};
pub use template::{
    evaluate_field, evaluate_value, expect_type, is_expression, type_name, ExpectedType,
    QueryError, QueryErrorKind, QUERY_EVALUATION_ERROR,
};
