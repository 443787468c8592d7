//! `$encodeUrl`, `$encodeUrlComponent`, `$decodeUrl` and `$decodeUrlComponent` as
//! JavaScript's `encodeURI` & co. define them, which jsonata-js (and so AWS) calls.
//!
//! jsonata-core 2.2.13 differs: its `$encodeUrl` escapes only control characters (a space
//! stays a space), its `$encodeUrlComponent` escapes `-_.!~*'()` as well, and its decoders
//! accept malformed escapes. These replacements restore the JavaScript results.

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;

/// Characters `encodeURIComponent` leaves alone besides ASCII letters and digits.
const COMPONENT_UNRESERVED: &str = "-_.!~*'()";
/// Characters `encodeURI` also leaves alone: the URI's own structure.
const URI_RESERVED: &str = ";,/?:@&=+$#";

pub(crate) fn register(ev: &mut Evaluator) -> Result<(), EvaluatorError> {
    ev.register_fn_override("encodeUrl", |args: &[JValue]| {
        with_string(args, "encodeUrl", |s| Ok(encode(s, true)))
    })?;
    ev.register_fn_override("encodeUrlComponent", |args: &[JValue]| {
        with_string(args, "encodeUrlComponent", |s| Ok(encode(s, false)))
    })?;
    ev.register_fn_override("decodeUrl", |args: &[JValue]| {
        with_string(args, "decodeUrl", |s| decode(s, true, "decodeUrl"))
    })?;
    ev.register_fn_override("decodeUrlComponent", |args: &[JValue]| {
        with_string(args, "decodeUrlComponent", |s| {
            decode(s, false, "decodeUrlComponent")
        })
    })?;
    Ok(())
}

fn with_string(
    args: &[JValue],
    name: &str,
    f: impl FnOnce(&str) -> Result<String, EvaluatorError>,
) -> Result<JValue, EvaluatorError> {
    let signature_error = |i: usize| {
        EvaluatorError::EvaluationError(format!(
            "T0410: Argument {i} of function \"{name}\" does not match function signature"
        ))
    };
    // Further arguments are ignored: a higher-order function such as `$map` passes the index
    // and the array too, which jsonata-js drops for a one-parameter built-in.
    match args.first() {
        None | Some(JValue::Undefined) => Ok(JValue::Undefined),
        Some(JValue::String(s)) => f(s).map(JValue::string),
        Some(_) => Err(signature_error(1)),
    }
}

fn encode(s: &str, keep_reserved: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = c.is_ascii_alphanumeric()
            || COMPONENT_UNRESERVED.contains(c)
            || (keep_reserved && URI_RESERVED.contains(c));
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn decode(s: &str, keep_reserved: bool, name: &str) -> Result<String, EvaluatorError> {
    let malformed = || {
        EvaluatorError::EvaluationError(format!(
            "D3140: Malformed URL passed to ${name}(): \"{s}\""
        ))
    };
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let byte = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(malformed)?;
        // decodeURI leaves an escape of a reserved character as it was.
        if keep_reserved && byte.is_ascii() && URI_RESERVED.contains(byte as char) {
            out.extend_from_slice(&bytes[i..i + 3]);
        } else {
            out.push(byte);
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_javascript_does() {
        assert_eq!(
            encode("https://x.y/a b?q=1&r=é#f", true),
            "https://x.y/a%20b?q=1&r=%C3%A9#f"
        );
        assert_eq!(
            encode("a-b_c.d!e~f*g(h)i j/k?é", false),
            "a-b_c.d!e~f*g(h)i%20j%2Fk%3F%C3%A9"
        );
    }

    #[test]
    fn decodes_as_javascript_does() {
        assert_eq!(
            decode("a%20b%2Fc%3F%23", true, "decodeUrl").unwrap(),
            "a b%2Fc%3F%23"
        );
        assert_eq!(
            decode("a%20b%2Fc", false, "decodeUrlComponent").unwrap(),
            "a b/c"
        );
        assert!(decode("%E0%A4%A", false, "decodeUrlComponent").is_err());
        assert!(decode("%zz", true, "decodeUrl").is_err());
    }
}
