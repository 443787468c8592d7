//! Query-string SigV4 ("presigned" requests): the authentication parameters a signer put in
//! the URL instead of an `Authorization` header, and the canonical query string both forms
//! sign.
//!
//! A presigned request carries `X-Amz-Algorithm=AWS4-HMAC-SHA256`, `X-Amz-Credential`
//! (`AKID/date/region/service/aws4_request`), `X-Amz-Date`, `X-Amz-Expires` (seconds, 1 to
//! 604,800 as AWS allows), `X-Amz-SignedHeaders`, `X-Amz-Signature` and, for temporary keys,
//! `X-Amz-Security-Token`. Its canonical query is every parameter but `X-Amz-Signature`. A
//! URL is made before (or without) its body, so its signature binds no body: `auth.rs`
//! accepts `UNSIGNED-PAYLOAD` (the Rust presigners), the empty body's hash (botocore's
//! `SigV4QueryAuth` on a request without data) or the body's own hash as the payload line.
//! Whoever holds a presigned URL can send it with any body while it is valid, as with AWS's
//! presigned URLs.
//!
//! Owns reading those parameters and canonicalising a query. Must not: look up keys or
//! compute signatures (`auth.rs` does).

use cairn_api::ApiError;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::time::Duration;

/// The longest validity AWS accepts for a presigned request (7 days).
pub const MAX_EXPIRES: Duration = Duration::from_secs(604_800);

/// The payload line of a presigned canonical request.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~`.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The authentication parameters of a presigned request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAuth {
    /// `X-Amz-Credential`, decoded: `AKID/date/region/service/aws4_request`.
    pub credential: String,
    pub amz_date: String,
    pub expires: Duration,
    pub signed_headers: String,
    pub signature: String,
    pub session_token: Option<String>,
}

/// The decoded `name=value` pairs of a query string (`+` is kept: SigV4 signers encode a
/// space as `%20`).
fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

/// Whether the query carries query-string authentication at all.
pub fn is_presigned(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        pairs(q).iter().any(|(k, _)| {
            matches!(
                k.as_str(),
                "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature"
            )
        })
    })
}

/// The access key and region of a presigned request's `X-Amz-Credential`, unverified (for a
/// server that accepts every request, as `sigv4::parse_authorization` for the header).
pub fn credential(query: &str) -> Option<crate::api::sigv4::Credential> {
    let (_, credential) = pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")?;
    let mut scope = credential.split('/');
    let access_key = scope.next()?.to_string();
    let _date = scope.next()?;
    let region = scope.next()?.to_string();
    if access_key.is_empty() || region.is_empty() {
        return None;
    }
    Some(crate::api::sigv4::Credential { access_key, region })
}

/// Read the authentication parameters, refusing a presigned request that lacks one or has a
/// bad one with `IncompleteSignatureException`, as AWS does.
pub fn parse(query: &str) -> Result<QueryAuth, ApiError> {
    let pairs = pairs(query);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    const REQUIRED: [&str; 6] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    ];
    if REQUIRED.iter().any(|name| get(name).is_none()) {
        let names: Vec<String> = REQUIRED.iter().map(|n| format!("'{n}'")).collect();
        return Err(ApiError::incomplete_signature(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string \
             parameters.",
            names.join(", ")
        )));
    }
    let algorithm = get("X-Amz-Algorithm").unwrap_or_default();
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(ApiError::incomplete_signature(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. The only supported algorithm is \
             AWS4-HMAC-SHA256."
        )));
    }
    let credential = get("X-Amz-Credential").unwrap_or_default();
    if credential.split('/').count() != 5 {
        return Err(ApiError::incomplete_signature(format!(
            "Credential should be scoped to a valid region. X-Amz-Credential={credential}"
        )));
    }
    let expires_text = get("X-Amz-Expires").unwrap_or_default();
    let expires = match expires_text.parse::<u64>() {
        Ok(s) if s >= 1 && s <= MAX_EXPIRES.as_secs() => Duration::from_secs(s),
        Ok(_) => {
            return Err(ApiError::incomplete_signature(format!(
                "X-Amz-Expires must be between 1 and {} seconds (7 days). Got {expires_text}",
                MAX_EXPIRES.as_secs()
            )))
        }
        Err(_) => {
            return Err(ApiError::incomplete_signature(format!(
                "X-Amz-Expires should be a number. Got '{expires_text}'"
            )))
        }
    };
    Ok(QueryAuth {
        credential,
        amz_date: get("X-Amz-Date").unwrap_or_default(),
        expires,
        signed_headers: get("X-Amz-SignedHeaders").unwrap_or_default(),
        signature: get("X-Amz-Signature").unwrap_or_default(),
        session_token: get("X-Amz-Security-Token"),
    })
}

/// SigV4's canonical query string: each name and value decoded, then URI-encoded the SigV4
/// way, sorted by name then value; `X-Amz-Signature` left out when `presigned`.
pub fn canonical_query(query: &str, presigned: bool) -> String {
    let mut encoded: Vec<(String, String)> = pairs(query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, SIGV4).to_string(),
                utf8_percent_encode(&v, SIGV4).to_string(),
            )
        })
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fstates%2Faws4_request\
        &X-Amz-Date=20240101T000000Z&X-Amz-Expires=60\
        &X-Amz-SignedHeaders=host%3Bx-amz-target&X-Amz-Signature=abc";

    #[test]
    fn reads_the_parameters_and_canonicalises_without_the_signature() {
        assert!(is_presigned(Some(QUERY)));
        assert!(!is_presigned(Some("a=b")));
        assert!(!is_presigned(None));
        let cred = credential(QUERY).unwrap();
        assert_eq!(
            (cred.access_key.as_str(), cred.region.as_str()),
            ("AKID", "us-east-1")
        );
        let auth = parse(QUERY).unwrap();
        assert_eq!(
            auth.credential,
            "AKID/20240101/us-east-1/states/aws4_request"
        );
        assert_eq!(auth.signed_headers, "host;x-amz-target");
        assert_eq!(auth.expires, Duration::from_secs(60));
        assert_eq!(
            canonical_query(QUERY, true),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fstates%2Faws4_request\
             &X-Amz-Date=20240101T000000Z&X-Amz-Expires=60\
             &X-Amz-SignedHeaders=host%3Bx-amz-target"
        );
        assert_eq!(canonical_query("b=2&a=x y&a=1", false), "a=1&a=x%20y&b=2");
    }

    #[test]
    fn a_missing_or_bad_parameter_is_an_incomplete_signature() {
        let code = |q: &str| parse(q).unwrap_err().code.as_str().to_string();
        assert_eq!(
            code("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            "IncompleteSignatureException"
        );
        let bad_expiry = QUERY.replace("X-Amz-Expires=60", "X-Amz-Expires=604801");
        assert_eq!(code(&bad_expiry), "IncompleteSignatureException");
        let no_number = QUERY.replace("X-Amz-Expires=60", "X-Amz-Expires=soon");
        assert!(parse(&no_number).unwrap_err().message.contains("number"));
        let algorithm = QUERY.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1");
        assert_eq!(code(&algorithm), "IncompleteSignatureException");
    }
}
