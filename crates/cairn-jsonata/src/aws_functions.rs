//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`,
//! `$random([seed])`, `$uuid`, `$parse`), registered on one jsonata-core evaluator; the
//! helpers every Cairn-registered function shares.
//!
//! Randomness comes only from the [`Bindings`](crate::Bindings) through [`Recorded`]; this
//! module must never read a clock or an operating-system random source.

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::bindings::{splitmix64, unit_interval};

/// The largest array `$range` may build; the same cap AWS documents for `States.ArrayRange`.
pub(crate) const MAX_RANGE_ITEMS: usize = 1000;

/// The recorded inputs the impure functions read.
#[derive(Clone)]
pub(crate) struct Recorded {
    pub now_ms: i64,
    /// Generator state, shared by every draw of one evaluation and written back afterwards.
    pub entropy: Rc<Cell<u64>>,
}

impl Recorded {
    pub(crate) fn next(&self) -> u64 {
        let mut s = self.entropy.get();
        let out = splitmix64(&mut s);
        self.entropy.set(s);
        out
    }
}

/// Register every AWS function on `ev` (`$random` replaces JSONata's own).
pub(crate) fn register(ev: &mut Evaluator, rec: &Recorded) -> Result<(), EvaluatorError> {
    ev.register_fn("partition", partition)?;
    ev.register_fn("range", range)?;
    ev.register_fn("hash", hash)?;
    ev.register_fn("parse", parse)?;
    let r = rec.clone();
    ev.register_fn("uuid", move |args: &[JValue]| uuid(&r, args))?;
    let r = rec.clone();
    ev.register_fn_override("random", move |args: &[JValue]| random(&r, args))?;
    Ok(())
}

pub(crate) fn err(message: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(message)
}

/// jsonata-js's signature error, which a function registered with a signature raises.
pub(crate) fn signature_error(index: usize, name: &str) -> EvaluatorError {
    err(format!(
        "T0410: Argument {index} of function \"{name}\" does not match function signature"
    ))
}

pub(crate) fn no_more_than(args: &[JValue], n: usize, name: &str) -> Result<(), EvaluatorError> {
    match args.iter().skip(n).position(|a| !a.is_undefined()) {
        Some(extra) => Err(signature_error(n + extra + 1, name)),
        None => Ok(()),
    }
}

/// Argument `i`, `undefined` when absent (cheap: values are reference-counted).
pub(crate) fn arg(args: &[JValue], i: usize) -> JValue {
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

pub(crate) fn hex(bytes: &[u8]) -> String {
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
