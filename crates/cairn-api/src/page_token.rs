//! Opaque pagination tokens. A token carries the store's cursor (whatever the caller
//! serialises) and the listing it belongs to, so a token of one listing is refused by another.
//! Anything that does not decode → `InvalidToken` `Invalid Token: 'Invalid token'`.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Token<C> {
    /// Format version.
    v: u8,
    /// The listing: operation plus whatever narrows it (e.g. the state machine ARN).
    s: String,
    c: C,
}

/// Encode a cursor for `scope` (e.g. `"ListActivities"`).
pub fn encode<C: Serialize>(scope: &str, cursor: &C) -> String {
    let token = Token {
        v: 1,
        s: scope.to_string(),
        c: cursor,
    };
    let json = serde_json::to_vec(&token).expect("cursors serialise");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decode a token that [`encode`] made for the same `scope`.
pub fn decode<C: DeserializeOwned>(scope: &str, token: &str) -> Result<C, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| ApiError::invalid_page_token())?;
    let token: Token<C> =
        serde_json::from_slice(&bytes).map_err(|_| ApiError::invalid_page_token())?;
    if token.v != 1 || token.s != scope {
        return Err(ApiError::invalid_page_token());
    }
    Ok(token.c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Cursor {
        seq: i64,
    }

    #[test]
    fn roundtrip_and_scope() {
        let t = encode("ListActivities", &Cursor { seq: 42 });
        assert!(t.len() <= 1024);
        assert_eq!(
            decode::<Cursor>("ListActivities", &t).unwrap(),
            Cursor { seq: 42 }
        );
        let e = decode::<Cursor>("ListStateMachines", &t).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidToken);
        assert_eq!(e.message, "Invalid Token: 'Invalid token'");
        assert!(decode::<Cursor>("ListActivities", "garbage!").is_err());
        assert!(decode::<Cursor>("ListActivities", "Z2FyYmFnZQ").is_err());
    }
}
