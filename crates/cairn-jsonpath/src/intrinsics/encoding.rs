//! Encoding intrinsics: `States.Base64Encode`, `States.Base64Decode`, `States.Hash`.
//! Inputs are limited to 10,000 characters, as AWS documents.

use super::args::Args;
use crate::PathError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use sha1::Digest as _;

const MAX_INPUT_CHARS: usize = 10_000;

fn limited<'a>(args: &'a Args, i: usize) -> Result<&'a str, PathError> {
    let s = args.string(i)?;
    // Byte length bounds character count from above; count only when it could matter.
    if s.len() > MAX_INPUT_CHARS && s.chars().count() > MAX_INPUT_CHARS {
        return Err(args.fail(format!(
            "accepts at most {MAX_INPUT_CHARS} characters of input"
        )));
    }
    Ok(s)
}

pub(crate) fn base64_encode(args: &Args) -> Result<Value, PathError> {
    let s = limited(args, 0)?;
    Ok(Value::String(STANDARD.encode(s.as_bytes())))
}

pub(crate) fn base64_decode(args: &Args) -> Result<Value, PathError> {
    let s = limited(args, 0)?;
    let bytes = STANDARD
        .decode(s.as_bytes())
        .map_err(|e| args.fail(format!("cannot decode '{s}' as base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.fail("decoded data that is not UTF-8 text"))
}

/// `States.Hash(data, algorithm)`: lowercase hex digest of the UTF-8 bytes of `data`.
pub(crate) fn hash(args: &Args) -> Result<Value, PathError> {
    let data = limited(args, 0)?.as_bytes();
    let algorithm = args.string(1)?;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(args.fail(format!(
                "does not support the algorithm '{other}' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
            )))
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    Ok(Value::String(hex))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn args(name: &'static str, values: Vec<Value>) -> Args<'static> {
        Args::new(name, values.into_iter().map(Cow::Owned).collect())
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(
            base64_encode(&args("States.Base64Encode", vec![json!("Data to encode")])).unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            base64_decode(&args(
                "States.Base64Decode",
                vec![json!("RGF0YSB0byBlbmNvZGU=")]
            ))
            .unwrap(),
            json!("Data to encode")
        );
        assert!(base64_decode(&args("States.Base64Decode", vec![json!("***")])).is_err());
        assert!(base64_encode(&args("States.Base64Encode", vec![json!(1)])).is_err());
    }

    #[test]
    fn base64_input_limit_counts_characters() {
        let at_limit = "é".repeat(MAX_INPUT_CHARS);
        assert!(base64_encode(&args("States.Base64Encode", vec![json!(at_limit)])).is_ok());
        let over = "a".repeat(MAX_INPUT_CHARS + 1);
        assert!(base64_encode(&args("States.Base64Encode", vec![json!(over)])).is_err());
    }

    #[test]
    fn hash_vectors_observed_on_aws() {
        let h = |alg: &str| {
            hash(&args("States.Hash", vec![json!("input data"), json!(alg)]))
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(h("MD5"), "812f45842bc6d66ee14572ce20db8e86");
        assert_eq!(
            h("SHA-256"),
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"
        );
        assert_eq!(h("SHA-384"), "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562");
        assert_eq!(h("SHA-512"), "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4");
        assert_eq!(h("SHA-1").len(), 40);
        assert!(hash(&args("States.Hash", vec![json!("x"), json!("sha-256")])).is_err());
    }
}
