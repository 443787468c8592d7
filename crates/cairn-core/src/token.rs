//! Task tokens: opaque to clients, unforgeable, and naming their execution and task.
//!
//! A token is `base64url(execution ARN ‖ 0x00 ‖ task id (8 bytes BE) ‖ HMAC-SHA256 tag[..16])`.
//! The tag is keyed by the store's secret ([`crate::Ctx::token_key`]), so a token cannot be
//! guessed (128 bits) yet is derived deterministically: replaying a history recreates the
//! same tokens, and no token table is needed to resolve one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const TAG_LEN: usize = 16;

/// What a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef {
    pub execution_arn: String,
    pub task: u64,
}

fn tag(key: &[u8; 32], body: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

/// Mint the token for a task.
pub fn mint(key: &[u8; 32], execution_arn: &str, task: u64) -> String {
    let mut body = Vec::with_capacity(execution_arn.len() + 9 + TAG_LEN);
    body.extend_from_slice(execution_arn.as_bytes());
    body.push(0);
    body.extend_from_slice(&task.to_be_bytes());
    let t = tag(key, &body);
    body.extend_from_slice(&t);
    URL_SAFE_NO_PAD.encode(body)
}

/// The entropy of one step (`Ctx::entropy`): derived from the store's key, the execution and
/// the id of the first event the step writes, so it is unpredictable from outside yet the
/// same on replay (`replay::replay`'s `entropy_of` is this function for a given execution).
pub fn step_entropy(key: &[u8; 32], execution_arn: &str, first_event_id: u64) -> u64 {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"entropy\0");
    mac.update(execution_arn.as_bytes());
    mac.update(&[0]);
    mac.update(&first_event_id.to_be_bytes());
    let full = mac.finalize().into_bytes();
    u64::from_be_bytes(full[..8].try_into().expect("8 bytes"))
}

/// Decode and authenticate a token; `None` means malformed or forged (`InvalidToken`).
pub fn open(key: &[u8; 32], token: &str) -> Option<TokenRef> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() < 1 + 8 + TAG_LEN {
        return None;
    }
    let (body, given) = bytes.split_at(bytes.len() - TAG_LEN);
    let expected = tag(key, body);
    // Constant-time comparison: a token check must not leak how much of a tag matched.
    let diff = expected
        .iter()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return None;
    }
    let (arn_and_nul, task_bytes) = body.split_at(body.len() - 8);
    let arn = arn_and_nul.strip_suffix(&[0])?;
    Some(TokenRef {
        execution_arn: String::from_utf8(arn.to_vec()).ok()?,
        task: u64::from_be_bytes(task_bytes.try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_entropy_is_stable_and_varies_by_step() {
        let key = [3u8; 32];
        let a = step_entropy(&key, "arn:e", 1);
        assert_eq!(a, step_entropy(&key, "arn:e", 1));
        assert_ne!(a, step_entropy(&key, "arn:e", 2));
        assert_ne!(a, step_entropy(&key, "arn:f", 1));
        assert_ne!(a, step_entropy(&[4u8; 32], "arn:e", 1));
    }

    #[test]
    fn round_trip_and_forgery() {
        let key = [7u8; 32];
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e";
        let t = mint(&key, arn, 42);
        assert_eq!(
            open(&key, &t),
            Some(TokenRef {
                execution_arn: arn.into(),
                task: 42
            })
        );
        assert_eq!(open(&[8u8; 32], &t), None, "another key must not open it");
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&key, std::str::from_utf8(&forged).unwrap()), None);
        assert_eq!(open(&key, "not a token"), None);
        assert_eq!(open(&key, ""), None);
    }
}
