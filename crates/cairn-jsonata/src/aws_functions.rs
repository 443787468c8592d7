//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$random`,
//! `$uuid`, `$parse`) and the deterministic replacements of JSONata's impure built-ins
//! (`$now`, `$millis`, `$random`, `$shuffle`), registered on one jsonata-core evaluator.
//!
//! Time and randomness come only from the [`Bindings`](crate::Bindings) through [`Recorded`];
//! this module must never read a clock or an operating-system random source.

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::bindings::{splitmix64, unit_interval};
use crate::expression::PAD_IN_CONTEXT;

/// The largest array `$range` may build; the same cap AWS documents for `States.ArrayRange`.
pub(crate) const MAX_RANGE_ITEMS: usize = 1000;

/// The widest `$pad` may make a string. jsonata-core builds the padding in one step that no
/// time budget interrupts (`$pad('x', 2e9)` ran for 45 s); a state's data is at most
/// 256 KiB anyway.
pub(crate) const MAX_PAD_WIDTH: usize = 1 << 20;

/// The recorded inputs the impure functions read.
#[derive(Clone)]
pub(crate) struct Recorded {
    pub now_ms: i64,
    /// Generator state, shared by every draw of one evaluation and written back afterwards.
    pub entropy: Rc<Cell<u64>>,
}

impl Recorded {
    fn next(&self) -> u64 {
        let mut s = self.entropy.get();
        let out = splitmix64(&mut s);
        self.entropy.set(s);
        out
    }
}

/// Register every AWS function and deterministic override on `ev`.
pub(crate) fn register(ev: &mut Evaluator, rec: &Recorded) -> Result<(), EvaluatorError> {
    ev.register_fn("partition", partition)?;
    ev.register_fn("range", range)?;
    ev.register_fn("hash", hash)?;
    ev.register_fn("parse", parse)?;
    let r = rec.clone();
    ev.register_fn("uuid", move |args: &[JValue]| uuid(&r, args))?;
    let r = rec.clone();
    ev.register_fn_override("random", move |args: &[JValue]| random(&r, args))?;
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

fn err(message: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(message)
}

/// jsonata-js's signature error, which a function registered with a signature raises.
fn signature_error(index: usize, name: &str) -> EvaluatorError {
    err(format!(
        "T0410: Argument {index} of function \"{name}\" does not match function signature"
    ))
}

fn no_more_than(args: &[JValue], n: usize, name: &str) -> Result<(), EvaluatorError> {
    match args.iter().skip(n).position(|a| !a.is_undefined()) {
        Some(extra) => Err(signature_error(n + extra + 1, name)),
        None => Ok(()),
    }
}

/// Argument `i`, `undefined` when absent (cheap: values are reference-counted).
fn arg(args: &[JValue], i: usize) -> JValue {
    args.get(i).cloned().unwrap_or(JValue::Undefined)
}

/// An integer argument, or a T0410 error naming it.
fn integer(value: &JValue, index: usize, name: &str) -> Result<i64, EvaluatorError> {
    match value {
        JValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(*n as i64),
        _ => Err(signature_error(index, name)),
    }
}

/// `$partition(array, size)`: consecutive chunks of `size` items, the last one shorter.
fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 2, "partition")?;
    let items: Vec<JValue> = match &arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        other => vec![other.clone()],
    };
    let size = integer(&arg(args, 1), 2, "partition")?;
    if size <= 0 {
        return Err(err(format!(
            "The size argument of $partition must be a positive integer, but was {size}"
        )));
    }
    let chunks = items
        .chunks(size as usize)
        .map(|c| JValue::array(c.to_vec()))
        .collect();
    Ok(JValue::array(chunks))
}

/// `$range(start, end, step)`: `start`, `start + step`, … up to and including `end`. The
/// result is a JSONata sequence, so a single item comes back as that item (observed on AWS:
/// `$range(1, 9, 9)` is `1`) and an empty range as nothing.
fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 3, "range")?;
    let start = integer(&arg(args, 0), 1, "range")?;
    let end = integer(&arg(args, 1), 2, "range")?;
    let step = integer(&arg(args, 2), 3, "range")?;
    if step == 0 {
        return Err(err("The step argument of $range must not be 0".to_string()));
    }
    let count = if (step > 0 && end < start) || (step < 0 && end > start) {
        0
    } else {
        ((end - start) / step) as u64 + 1
    };
    if count > MAX_RANGE_ITEMS as u64 {
        return Err(err(format!(
            "D2014: The size of the sequence allocated by $range must not exceed {MAX_RANGE_ITEMS}. Attempted to allocate {count}."
        )));
    }
    let items = (0..count as i64)
        .map(|i| JValue::Number((start + i * step) as f64))
        .collect();
    Ok(JValue::sequence(items))
}

/// `$hash(value, algorithm)`: the lower-case hex digest of the UTF-8 bytes of a string.
fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 2, "hash")?;
    let data = match &arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s.clone(),
        _ => return Err(signature_error(1, "hash")),
    };
    let algorithm = match &arg(args, 1) {
        JValue::String(s) => s.clone(),
        _ => return Err(signature_error(2, "hash")),
    };
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match &*algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(err(format!(
                "The hash algorithm '{other}' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            )))
        }
    };
    Ok(JValue::string(hex(&digest)))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `$parse(jsonString)`: the JSON value a string holds.
fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 1, "parse")?;
    match &arg(args, 0) {
        JValue::Undefined => Ok(JValue::Undefined),
        JValue::String(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v) => Ok(JValue::from(v)),
            Err(e) => Err(err(format!("The string is not valid JSON: {e}"))),
        },
        _ => Err(signature_error(1, "parse")),
    }
}

/// `$random([seed])`: `0 ≤ n < 1`; with a seed, the same number for the same seed.
fn random(rec: &Recorded, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 1, "random")?;
    let bits = match &arg(args, 0) {
        JValue::Undefined => rec.next(),
        JValue::Number(seed) => {
            // Integral seeds hash by value, so 7 and 7.0 agree.
            let mut state = if seed.fract() == 0.0 && seed.abs() < 9.0e18 {
                *seed as i64 as u64
            } else {
                seed.to_bits()
            };
            splitmix64(&mut state)
        }
        _ => return Err(signature_error(1, "random")),
    };
    Ok(JValue::Number(unit_interval(bits)))
}

/// `$uuid()`: a version-4 UUID drawn from the recorded entropy.
fn uuid(rec: &Recorded, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    no_more_than(args, 0, "uuid")?;
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&rec.next().to_be_bytes());
    b[8..].copy_from_slice(&rec.next().to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(JValue::string(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
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
