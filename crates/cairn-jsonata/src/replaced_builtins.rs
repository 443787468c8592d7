//! JSONata built-ins that Cairn replaces: `$now`, `$millis`, `$toMillis` and `$shuffle`
//! read the recorded time and entropy instead of the clock and the operating system;
//! `$pad` gets a bounded width; `$eval` throws (AWS lacks it). Each delegates to
//! jsonata-core's own built-in where it can, so results stay jsonata-core's.
//!
//! This module must never read a clock or an operating-system random source.

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;

use crate::aws_functions::{arg, err, no_more_than, Recorded};
use crate::expression::PAD_IN_CONTEXT;

/// The widest `$pad` may make a string. jsonata-core builds the padding in one step that no
/// time budget interrupts (`$pad('x', 2e9)` ran for 45 s); a state's data is at most
/// 256 KiB anyway.
pub(crate) const MAX_PAD_WIDTH: usize = 1 << 20;

/// Register the replacements on `ev`.
pub(crate) fn register(ev: &mut Evaluator, rec: &Recorded) -> Result<(), EvaluatorError> {
    let r = rec.clone();
    ev.register_fn_override("shuffle", move |args: &[JValue]| shuffle(&r, args))?;
    let now_ms = rec.now_ms;
    ev.register_fn_override("millis", move |args: &[JValue]| {
        no_more_than(args, 0, "millis")?;
        Ok(JValue::Number(now_ms as f64))
    })?;
    ev.register_fn_override("now", move |args: &[JValue]| now(now_ms, args))?;
    ev.register_fn_override("toMillis", move |args: &[JValue]| to_millis(now_ms, args))?;
    ev.register_fn_override("pad", |args: &[JValue]| pad(None, args))?;
    ev.register_fn(PAD_IN_CONTEXT, |args: &[JValue]| {
        pad(Some(arg(args, 0)), args.get(1..).unwrap_or_default())
    })?;
    ev.register_fn_override("eval", |_: &[JValue]| {
        Err(EvaluatorError::EvaluationError(
            "The function $eval is not supported".to_string(),
        ))
    })?;
    Ok(())
}

/// `$shuffle(array)`: a Fisher–Yates shuffle drawn from the recorded entropy.
fn shuffle(rec: &Recorded, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    // No arity check: `$map(arrays, $shuffle)` passes the index and the array too.
    let mut items: Vec<JValue> = match &arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        other => vec![other.clone()],
    };
    for i in (1..items.len()).rev() {
        let j = (rec.next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    Ok(JValue::array(items))
}

/// `$pad(string, width [, char])`, jsonata-core's, with the width bounded. Called as
/// `name.$pad(10)` (compiled to [`PAD_IN_CONTEXT`]), the context is the string, as the
/// jsonata-js signature `<s-ns?:s>` has it.
fn pad(context: Option<JValue>, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let first = arg(args, 0);
    let reads_context = args.len() < 3 && !matches!(first, JValue::String(_) | JValue::Undefined);
    let (string, width, fill) = match context {
        Some(context) if reads_context => (context, first, arg(args, 1)),
        _ => (first, arg(args, 1), arg(args, 2)),
    };
    if let JValue::Number(w) = width {
        if w.abs() > MAX_PAD_WIDTH as f64 {
            return Err(err(format!(
                "U2001: The width of $pad must not exceed {MAX_PAD_WIDTH} characters; it was {w}"
            )));
        }
    }
    builtin("$pad($a, $b, $c)", [string, width, fill])
}

/// Run one of jsonata-core's own built-ins on a fresh evaluator (no overrides), with `$a`,
/// `$b` and `$c` bound to `args`.
fn builtin(call: &str, args: [JValue; 3]) -> Result<JValue, EvaluatorError> {
    let ast = jsonata_core::parser::parse(call).map_err(|e| err(e.to_string()))?;
    let mut ctx = Context::new();
    for (name, value) in ["a", "b", "c"].into_iter().zip(args) {
        ctx.bind(name.to_string(), value);
    }
    Evaluator::with_context(ctx).evaluate(&ast, &JValue::Undefined)
}

/// `$now([picture [, timezone]])`: the recorded time, as `$fromMillis` formats it.
fn now(now_ms: i64, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 2, "now")?;
    let ms = JValue::Number(now_ms as f64);
    builtin("$fromMillis($a, $b, $c)", [ms, arg(args, 0), arg(args, 1)])
}

/// `$toMillis(timestamp [, picture])`. A picture without the leading components (say
/// `[H]:[m]`, no date) takes them from the current time; jsonata-core reads the clock for
/// them, so they are written into the timestamp and the picture here, from the recorded time.
fn to_millis(now_ms: i64, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    // A third argument (from `$map(list, $toMillis)`) is ignored; the index in the second
    // place fails the picture's signature as in jsonata-js.
    let (timestamp, picture) = match (arg(args, 0), arg(args, 1)) {
        (JValue::String(t), JValue::String(p)) => (t, p),
        (t, p) => return builtin("$toMillis($a, $b)", [t, p, JValue::Undefined]),
    };
    let (pre_timestamp, pre_picture) = leading_components(&picture, now_ms);
    builtin(
        "$toMillis($a, $b)",
        [
            JValue::string(format!("{pre_timestamp}{timestamp}")),
            JValue::string(format!("{pre_picture}{picture}")),
            JValue::Undefined,
        ],
    )
}

/// The components JSONata takes from "now" when parsing with `picture` (the most significant
/// ones before the first the picture names), as a timestamp prefix and a picture prefix.
fn leading_components(picture: &str, now_ms: i64) -> (String, String) {
    let named = picture_components(picture);
    let date = if named.contains('d') && !named.contains('M') && !named.contains('D') {
        "YD"
    } else {
        "YMD"
    };
    let time = if named.contains('h') { "Phmsf" } else { "Hmsf" };
    let now = JValue::Number(now_ms as f64);
    let mut timestamp = String::new();
    let mut pic = String::new();
    for c in date.chars().chain(time.chars()) {
        if named.contains(c) {
            break;
        }
        let marker = match c {
            'Y' => "[Y0001]",
            'M' => "[M01]",
            'D' => "[D01]",
            'd' => "[d001]",
            'H' => "[H01]",
            'P' => "[P]",
            'h' => "[h01]",
            'm' => "[m01]",
            's' => "[s01]",
            _ => "[f001]",
        };
        let value = builtin(
            "$fromMillis($a, $b)",
            [now.clone(), JValue::string(marker), JValue::Undefined],
        );
        let Ok(JValue::String(value)) = value else {
            break;
        };
        timestamp.push_str(&value);
        timestamp.push('\u{1}');
        pic.push_str(marker);
        pic.push('\u{1}');
    }
    (timestamp, pic)
}

/// The component letters a picture's markers name (`[Y0001]-[M01]` names `Y` and `M`).
fn picture_components(picture: &str) -> String {
    let mut named = String::new();
    let mut chars = picture.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' if chars.peek() == Some(&'[') => {
                chars.next();
            }
            '[' => {
                let mut first = None;
                for m in chars.by_ref() {
                    if m == ']' {
                        break;
                    }
                    if first.is_none() && !m.is_whitespace() {
                        first = Some(m);
                    }
                }
                named.extend(first);
            }
            _ => {}
        }
    }
    named
}
