//! Running a compiled expression against its [`Bindings`].
//!
//! Owns the set-up of one jsonata-core evaluator per call: variables bound, AWS functions
//! registered, limits applied, entropy written back. jsonata-core's evaluator is not
//! `Send`, so it never outlives the call. Must not know about ASL fields.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;

use crate::aws_functions::{self, Recorded};
use crate::bindings::Bindings;
use crate::error::JsonataError;
use crate::expression::Expression;
use crate::json::{from_jvalue, to_jvalue};
use crate::replaced_builtins;
use crate::uri;

/// Evaluate `expr`; `Ok(None)` means the expression returned nothing (`undefined`).
///
/// A result holding a function is [`JsonataError::UnsupportedResult`]. Unseeded `$random()`,
/// `$uuid()` and `$shuffle()` advance the entropy held by `bindings`.
pub fn evaluate(expr: &Expression, bindings: &Bindings<'_>) -> Result<Option<Value>, JsonataError> {
    let result = evaluate_jvalue(expr, bindings)?;
    from_jvalue(&result).map_err(|_| JsonataError::UnsupportedResult)
}

pub(crate) fn evaluate_jvalue(
    expr: &Expression,
    bindings: &Bindings<'_>,
) -> Result<JValue, JsonataError> {
    let mut ctx = Context::new();
    for name in expr.variables() {
        if name == "states" {
            ctx.bind("states".to_string(), to_jvalue(bindings.states));
        } else if let Some(value) = bindings.variables.get(name) {
            ctx.bind(name.to_string(), to_jvalue(value));
        }
    }
    let limits = bindings.limits;
    let options = EvaluatorOptions {
        timeout_ms: Some(limits.time_budget_ms),
        max_stack_depth: Some(limits.max_depth),
        max_sequence_length: Some(limits.max_sequence_length),
        ..EvaluatorOptions::default()
    };
    let recorded = Recorded {
        now_ms: bindings.now_ms,
        entropy: Rc::new(Cell::new(bindings.entropy.get())),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut ev = Evaluator::with_options(ctx, options);
        aws_functions::register(&mut ev, &recorded)
            .and_then(|()| replaced_builtins::register(&mut ev, &recorded))
            .and_then(|()| uri::register(&mut ev))
            .map_err(|e| JsonataError::from_evaluator(e.message()))?;
        ev.evaluate(expr.ast(), &JValue::Undefined)
            .map_err(|e| JsonataError::from_evaluator_in(e.message(), expr.sole_builtin()))
    }));
    bindings.entropy.set(recorded.entropy.get());
    match outcome {
        Ok(result) => result,
        Err(_) => Err(JsonataError::Evaluation {
            code: None,
            message: "The JSONata evaluator failed unexpectedly".to_string(),
        }),
    }
}
