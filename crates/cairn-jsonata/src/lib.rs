//! JSONata as AWS Step Functions runs it, behind Cairn's own small API.
//!
//! - [`compile`] parses an expression (the text between `{%` and `%}`) and rejects what AWS
//!   rejects; the [`Expression`] is `Send + Sync`, so the interpreter can cache it.
//! - [`evaluate`] runs it against [`Bindings`]: `$states`, the workflow variables, the
//!   recorded time and entropy, and the [`Limits`] that stop runaway expressions.
//! - [`is_expression`], [`evaluate_value`], [`evaluate_field`] and [`expect_type`] serve ASL
//!   fields, with AWS's `States.QueryEvaluationError` causes in [`QueryError`];
//!   [`Template`] compiles a field's JSON once (and lists every syntax error for validation).
//!
//! ```
//! use cairn_jsonata::{compile, evaluate_field, evaluate_value, expect_type, is_expression};
//! use cairn_jsonata::{Bindings, ExpectedType};
//! use serde_json::json;
//!
//! let states = json!({"input": {"items": [1, 2, 3], "who": "Ada"}, "context": {}});
//! let vars = serde_json::Map::from_iter([("greeting".to_string(), json!("Hello"))]);
//! let bindings = Bindings::new(&states).with_variables(&vars).with_now_ms(0).with_entropy(1);
//!
//! // A template field (Arguments, Output, Assign …): every `{% %}` string, at any depth.
//! let output = json!({"msg": "{% $greeting & ' ' & $states.input.who %}", "fixed": 1});
//! let value = evaluate_value(&output, &bindings, "Output").unwrap();
//! assert_eq!(value, json!({"msg": "Hello Ada", "fixed": 1}));
//!
//! // A field that needs one type (Map `Items`): evaluate, then check.
//! let items = "{% $states.input.items[$ > 1] %}";
//! let source = is_expression(items).unwrap();
//! let value = evaluate_field(&compile(source).unwrap(), &bindings, "Items").unwrap();
//! expect_type(&value, ExpectedType::Array, source, "Items").unwrap();
//!
//! // Failures carry AWS's `States.QueryEvaluationError` cause.
//! let err = evaluate_value(&json!({"x": "{% $nope %}"}), &bindings, "Output").unwrap_err();
//! assert_eq!(
//!     err.cause(),
//!     "The JSONata expression '$nope' specified for the field 'Output/x' returned nothing (undefined)."
//! );
//! ```
//!
//! The evaluator is the `jsonata-core` crate (pinned exactly); this crate adds AWS's
//! functions and replaces JSONata's impure built-ins with deterministic ones.
//!
//! Invariant: no clock, no operating-system randomness, no I/O, no tokio. Time and entropy
//! come from [`Bindings`], so replaying a history reproduces every value bit for bit. The
//! one exception is the time budget, which can only turn a run into a
//! [`JsonataError::LimitExceeded`], never change a successful result. jsonata-core links
//! chrono's clock and rand's system generator; every built-in that reaches them (`$now`,
//! `$millis`, `$random`, `$shuffle`, `$toMillis` with a partial picture) is replaced here.
//!
//! # Where AWS, jsonata-js and jsonata-core differ, and what Cairn does
//!
//! AWS runs JSONata 2.0.6 (jsonata-js semantics) with its own additions; Cairn runs
//! jsonata-core 2.2.13. `tests/table.rs` holds the rows; those without AWS's own functions
//! were checked against jsonata-js 2.0.6, and a further 183-expression differential run
//! against jsonata-js found only the jsonata-core rows marked below.
//!
//! | Behaviour | jsonata-js 2.0.6 | AWS Step Functions | Cairn |
//! |---|---|---|---|
//! | `$eval` | built-in | not available | rejected by [`compile`] (and overridden to throw) |
//! | `??`, `?:` (JSONata 2.1) | syntax error | rejected | rejected by [`compile`] (jsonata-core parses them) |
//! | extra functions | none | `$partition $range $hash $random([seed]) $uuid $parse` | all six (`aws_functions`) |
//! | `$random(seed)` | no seed argument | repeatable for a seed; AWS's own generator | repeatable, from SplitMix64: the numbers differ from AWS's |
//! | `$random()`, `$uuid()`, `$shuffle()` | `Math.random` | random | drawn from the recorded entropy in [`Bindings`] |
//! | `$now()`, `$millis()` | the clock at the start of the evaluation | the clock | [`Bindings::with_now_ms`] |
//! | `$now(picture, tz)` | supported | supported | supported (jsonata-core's own `$now` takes no arguments) |
//! | `$toMillis(t, picture)` lacking the date | today from the clock | the clock | the recorded time (jsonata-core reads the clock) |
//! | `$range` | — | a sequence: `$range(1,9,9)` is `1` (observed), end inclusive | same; an empty range is nothing (undefined) |
//! | `$range` size | — | undocumented | at most 1000 items, as `States.ArrayRange` (else D2014, [`Limit::Size`]) |
//! | `$partition`, `$hash`, `$parse` errors | — | messages not observed | T0410 for wrong argument types, own messages otherwise |
//! | numbers | doubles, `JSON.stringify` | integral results printed as integers | integral results become JSON integers (`1.0` → `1`, `-0` → `0`); beyond 2^64 they stay floats (`1e+20` where JavaScript prints `100000000000000000000`) |
//! | `$string` of a 16+ digit integer | 15 significant digits | as jsonata-js | jsonata-core prints 17 (`"123456789012345680"`) |
//! | error messages | jsonata-js templates | the same, after the code (`T1006: Attempted to invoke a non-function`, observed) | every code matches jsonata-js; Cairn rewrites jsonata-core's wording to jsonata-js's for T1006, T2001–T2004, D3001, D3010, D3020, D3030, D3138, and for T0410/T0412 when the expression uses a single built-in (jsonata-core does not name the function); otherwise T0410, T0412, T2009, D1002 and D3130 keep jsonata-core's wording, which lacks the function name or the values |
//! | `$encodeUrl`, `$encodeUrlComponent`, `$decodeUrl*` | JavaScript `encodeURI` & co. | same | jsonata-core differs (a space stays a space); Cairn replaces them (`uri`) |
//! | regular expressions | JavaScript `RegExp`, compiled while parsing | same | Rust `regex`, checked by [`compile`]: look-around and back-references are a syntax error |
//! | `$base64encode` of non-ASCII | Latin-1 bytes (`Buffer 'binary'`) | not observed | UTF-8 bytes (jsonata-core) |
//! | `$number('  12  ')` | D3030 | as jsonata-js | `12` (jsonata-core) |
//! | `$reduce([], f)` | undefined | as jsonata-js | `null` (jsonata-core) |
//! | `1..3` without brackets | syntax error S0201 | as jsonata-js | `[1,2,3]` (jsonata-core) |
//! | runaway expressions | unbounded | stopped by AWS | time budget (D1012), depth (D1011), sequence length (D2015): [`Limits`] |
//! | `$pad(s, 2e9)` | builds it | not observed | width at most 2^20 (U2001, Cairn's own code, [`Limit::Size`]); jsonata-core would build it past any time budget |
//! | `$states := …` inside an expression | allowed | `$states` is reserved | rejected by [`compile`] (unverified on AWS) |
//! | a function inside a result | dropped by `JSON.stringify` | "returned an unsupported result type." (top level, observed) | unsupported anywhere in the result |
//! | `$` at the top of an expression | the input | documented as not allowed | the input is undefined: `$` and bare names return nothing |
//! | field path of an array item in a template | — | not observed | `Field/key/0` |

mod aws_functions;
mod bindings;
mod error;
mod evaluate;
mod expression;
mod json;
mod replaced_builtins;
mod template;
mod uri;

pub use bindings::{Bindings, Limits, NoVariables, Variables};
pub use error::{JsonataError, Limit};
pub use evaluate::evaluate;
pub use expression::{compile, Expression};
pub use template::{
    evaluate_field, evaluate_value, expect_type, is_expression, type_name, ExpectedType,
    QueryError, QueryErrorKind, Template, TemplateError, QUERY_EVALUATION_ERROR,
};
