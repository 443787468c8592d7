//! SigV4 verification for `cairn serve --auth sigv4 --credentials FILE`: which requests get
//! in, and which account each one acts as.
//!
//! The credentials file (TOML or JSON) lists access keys:
//! ```toml
//! [[credentials]]
//! access_key_id = "AKIAEXAMPLE1"
//! secret_access_key = "..."
//! account_id = "111111111111"
//! session_token = "..."   # optional: then requests must carry exactly this token
//! ```
//! A request is verified as AWS verifies it: the canonical request is rebuilt from the
//! request's own `SignedHeaders` (SDKs sign different header sets), the body's SHA-256, the
//! path and query; the signing key and signature come from the `aws-sigv4` crate; the time in
//! `X-Amz-Date` (or `Date`) must be within 5 minutes of the server's clock. Refusals use AWS's
//! codes: no `Authorization` → `MissingAuthenticationTokenException` (403); a malformed one
//! → `IncompleteSignatureException`; an unknown key or wrong session token →
//! `UnrecognizedClientException`; a wrong or expired signature → `InvalidSignatureException`.
//!
//! A request may instead be presigned (query-string authentication, `presign.rs`): the same
//! check on the `X-Amz-*` query parameters, valid from `X-Amz-Date` for `X-Amz-Expires`
//! seconds instead of within the 5-minute skew.
//!
//! Owns the credentials table and the check. Must not: look at the body beyond hashing it,
//! or decide what an account may see (the caller puts the account into `Ctx.scope`).

use crate::api::presign;
use crate::api::sigv4::parse_authorization;
use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use axum::http::{HeaderMap, Uri};
use cairn_api::ApiError;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How far a request's signing time may be from the server's clock (AWS: 5 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// One access key of the credentials file.
#[derive(Clone)]
pub struct Credential {
    pub secret_access_key: String,
    pub account_id: String,
    pub session_token: Option<String>,
}

/// The access keys a server accepts, by access key id.
#[derive(Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, Credential>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("Credentials")
            .field("access_keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Who a verified request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    pub account_id: String,
    pub region: String,
}

impl Credentials {
    /// Read a credentials file (`.toml` as TOML, anything else as JSON).
    pub fn load(path: &Path) -> anyhow::Result<Credentials> {
        let doc = crate::runtime::resources::settings_file::load_document(path)?;
        Credentials::from_document(&doc)
            .map_err(|e| anyhow::anyhow!("credentials file {}: {e}", path.display()))
    }

    /// The `credentials` list of a parsed file.
    pub fn from_document(doc: &Value) -> Result<Credentials, String> {
        let list = doc
            .get("credentials")
            .and_then(Value::as_array)
            .ok_or("expected a `credentials` list ([[credentials]] tables)")?;
        let mut keys = HashMap::new();
        for (i, entry) in list.iter().enumerate() {
            let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
            let need = |name: &str| {
                field(name)
                    .filter(|v| !v.is_empty())
                    .ok_or(format!("entry {} has no `{name}`", i + 1))
            };
            let id = need("access_key_id")?;
            let account_id = need("account_id")?;
            if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("entry {}: account_id must be 12 digits", i + 1));
            }
            let credential = Credential {
                secret_access_key: need("secret_access_key")?,
                account_id,
                session_token: field("session_token"),
            };
            if keys.insert(id.clone(), credential).is_some() {
                return Err(format!("access key {id} is listed twice"));
            }
        }
        if keys.is_empty() {
            return Err("no credentials listed".into());
        }
        Ok(Credentials { keys })
    }

    /// Verify one request, signed in its `Authorization` header or presigned in its query
    /// string (`presign.rs`); `now` is the server's clock.
    pub fn verify(
        &self,
        method: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signed = match header("authorization") {
            Some(authorization) => Signed::from_header(authorization, headers)?,
            None if presign::is_presigned(uri.query()) => {
                Signed::from_query(uri.query().unwrap_or_default())?
            }
            None => {
                return Err(ApiError::missing_authentication_token(
                    "Missing Authentication Token",
                ))
            }
        };
        let signed_at = parse_amz_date(&signed.amz_date).ok_or_else(|| {
            ApiError::incomplete_signature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
                signed.amz_date
            ))
        })?;
        let Some(key) = self.keys.get(&signed.access_key) else {
            return Err(unrecognized());
        };
        if signed.session_token.as_deref() != key.session_token.as_deref() {
            return Err(unrecognized());
        }
        match signed.expires {
            None => check_skew(&signed.amz_date, signed_at, now)?,
            Some(expires) => check_expiry(&signed.amz_date, signed_at, expires, now)?,
        }
        let mut canonical_headers = String::new();
        for name in signed.signed_headers.split(';') {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
                .collect();
            if values.is_empty() {
                return Err(mismatch());
            }
            canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
        }
        let mut scope = signed.scope.split('/');
        let (_date, region, service) = (scope.next(), scope.next(), scope.next());
        let signing_key = generate_signing_key(
            &key.secret_access_key,
            signed_at,
            region.unwrap_or_default(),
            service.unwrap_or_default(),
        );
        let signing_key = signing_key.as_ref();
        let query =
            presign::canonical_query(uri.query().unwrap_or_default(), signed.expires.is_some());
        // A header signature covers the body's SHA-256. A presigned one binds no body: its
        // signer made the URL before (or without) the body, and signed `UNSIGNED-PAYLOAD`
        // (the Rust presigners) or the empty body's hash (botocore's `SigV4QueryAuth` on a
        // request without data); the body's own hash is accepted too.
        let body_hash = hex_sha256(body);
        let empty_hash = hex_sha256(b"");
        let payloads: &[&str] = if signed.expires.is_some() {
            &[presign::UNSIGNED_PAYLOAD, &empty_hash, &body_hash]
        } else {
            &[&body_hash]
        };
        let matches = payloads.iter().any(|payload| {
            let canonical_request = format!(
                "{method}\n{}\n{query}\n{canonical_headers}\n{}\n{payload}",
                canonical_path(uri.path()),
                signed.signed_headers,
            );
            let string_to_sign = format!(
                "AWS4-HMAC-SHA256\n{}\n{}\n{}",
                signed.amz_date,
                signed.scope,
                hex_sha256(canonical_request.as_bytes())
            );
            let expected = calculate_signature(signing_key, string_to_sign.as_bytes());
            constant_time_eq(expected.as_bytes(), signed.signature.as_bytes())
        });
        if !matches {
            return Err(mismatch());
        }
        Ok(Verified {
            access_key: signed.access_key,
            account_id: key.account_id.clone(),
            region: signed.region,
        })
    }
}

/// What a request's signature claims, from its `Authorization` header or its query string.
struct Signed {
    access_key: String,
    region: String,
    /// `date/region/service/aws4_request`.
    scope: String,
    signed_headers: String,
    signature: String,
    amz_date: String,
    session_token: Option<String>,
    /// `Some` for a presigned request: how long after `amz_date` it is valid.
    expires: Option<Duration>,
}

impl Signed {
    fn from_header(authorization: &str, headers: &HeaderMap) -> Result<Signed, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let parts = AuthorizationParts::parse(authorization)?;
        let cred = parse_authorization(authorization).ok_or_else(|| {
            ApiError::incomplete_signature(format!(
                "Authorization header requires 'Credential' parameter. Authorization={authorization}"
            ))
        })?;
        let Some(amz_date) = header("x-amz-date").or_else(|| header("date")) else {
            return Err(ApiError::incomplete_signature(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}"
            )));
        };
        Ok(Signed {
            access_key: cred.access_key,
            region: cred.region,
            scope: parts.scope,
            signed_headers: parts.signed_headers,
            signature: parts.signature,
            amz_date: amz_date.to_string(),
            session_token: header("x-amz-security-token").map(str::to_string),
            expires: None,
        })
    }

    fn from_query(query: &str) -> Result<Signed, ApiError> {
        let auth = presign::parse(query)?;
        let cred = presign::credential(query).ok_or_else(|| {
            ApiError::incomplete_signature(format!(
                "Credential should be scoped to a valid region. X-Amz-Credential={}",
                auth.credential
            ))
        })?;
        let scope = auth
            .credential
            .split_once('/')
            .map(|(_, s)| s.to_string())
            .unwrap_or_default();
        Ok(Signed {
            access_key: cred.access_key,
            region: cred.region,
            scope,
            signed_headers: auth.signed_headers,
            signature: auth.signature,
            amz_date: auth.amz_date,
            session_token: auth.session_token,
            expires: Some(auth.expires),
        })
    }
}

fn unrecognized() -> ApiError {
    ApiError::unrecognized_client("The security token included in the request is invalid.")
}

fn mismatch() -> ApiError {
    ApiError::invalid_signature(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. Consult the service \
         documentation for details.",
    )
}

/// `Credential=…/scope, SignedHeaders=…, Signature=…` of a SigV4 `Authorization` header.
struct AuthorizationParts {
    scope: String,
    signed_headers: String,
    signature: String,
}

impl AuthorizationParts {
    fn parse(header: &str) -> Result<AuthorizationParts, ApiError> {
        let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
            return Err(ApiError::incomplete_signature(format!(
                "Authorization header requires 'AWS4-HMAC-SHA256' algorithm. Authorization={header}"
            )));
        };
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for part in rest.split(',').map(str::trim) {
            if let Some((k, v)) = part.split_once('=') {
                fields.insert(k, v);
            }
        }
        let mut missing = Vec::new();
        for name in ["Credential", "SignedHeaders", "Signature"] {
            if fields.get(name).is_none_or(|v| v.is_empty()) {
                missing.push(format!("Authorization header requires '{name}' parameter."));
            }
        }
        if !missing.is_empty() {
            return Err(ApiError::incomplete_signature(format!(
                "{} Authorization={header}",
                missing.join(" ")
            )));
        }
        let scope = fields["Credential"]
            .split_once('/')
            .map(|(_, s)| s.to_string())
            .unwrap_or_default();
        if scope.split('/').count() != 4 {
            return Err(ApiError::incomplete_signature(format!(
                "Credential should be scoped to a valid region. Authorization={header}"
            )));
        }
        Ok(AuthorizationParts {
            scope,
            signed_headers: fields["SignedHeaders"].to_string(),
            signature: fields["Signature"].to_string(),
        })
    }
}

/// `20240101T120000Z` (or an HTTP date) as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let ts = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", text)
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .or_else(|| jiff::fmt::rfc2822::parse(text).ok().map(|z| z.timestamp()))?;
    Some(SystemTime::from(ts))
}

fn basic(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// AWS's messages for a signing time outside the allowed skew.
fn check_skew(amz_date: &str, signed_at: SystemTime, now: SystemTime) -> Result<(), ApiError> {
    if signed_at + MAX_SKEW < now {
        return Err(ApiError::invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            basic(now - MAX_SKEW),
            basic(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(ApiError::invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            basic(now + MAX_SKEW),
            basic(now)
        )));
    }
    Ok(())
}

/// A presigned request is valid from its signing time (give or take the clock skew) until
/// `expires` after it.
fn check_expiry(
    amz_date: &str,
    signed_at: SystemTime,
    expires: Duration,
    now: SystemTime,
) -> Result<(), ApiError> {
    if signed_at > now + MAX_SKEW {
        return check_skew(amz_date, signed_at, now);
    }
    if signed_at + expires < now {
        return Err(ApiError::invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - {} sec.)",
            basic(now - expires),
            basic(now),
            expires.as_secs()
        )));
    }
    Ok(())
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Trimmed, runs of spaces collapsed to one (SigV4's header value rule).
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The path as SDKs sign it for a non-S3 service: already URI-encoded, so kept as sent
/// (`/` when empty).
fn canonical_path(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::from_document(&serde_json::json!({"credentials": [
            {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "account_id": "111111111111"}
        ]}))
        .unwrap()
    }

    #[test]
    fn file_errors_say_what_is_wrong() {
        let bad = |doc: Value| Credentials::from_document(&doc).unwrap_err();
        assert!(bad(serde_json::json!({})).contains("credentials"));
        assert!(
            bad(serde_json::json!({"credentials": [{"access_key_id": "A"}]}))
                .contains("account_id")
        );
        assert!(bad(serde_json::json!({"credentials": [
            {"access_key_id": "A", "secret_access_key": "s", "account_id": "12"}]}))
        .contains("12 digits"));
        assert!(!format!("{:?}", creds()).contains("wJalr"));
    }

    #[test]
    fn refusals_use_aws_codes() {
        let c = creds();
        let uri: Uri = "/".parse().unwrap();
        let now = SystemTime::now();
        let code = |headers: HeaderMap| {
            c.verify("POST", &uri, &headers, b"{}", now)
                .unwrap_err()
                .code
                .as_str()
        };
        assert_eq!(
            code(HeaderMap::new()),
            "MissingAuthenticationTokenException"
        );
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Signature=x".parse().unwrap(),
        );
        assert_eq!(code(h), "IncompleteSignatureException");
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=NOPE/20240101/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab"
                .parse()
                .unwrap(),
        );
        h.insert("x-amz-date", basic(now).parse().unwrap());
        assert_eq!(code(h), "UnrecognizedClientException");
    }

    /// A URL presigned by the `aws-sigv4` crate (payload line `UNSIGNED-PAYLOAD`, a body
    /// sent anyway) is accepted while it is valid, then refused as expired.
    #[test]
    fn a_request_presigned_by_aws_sigv4_is_accepted_until_it_expires() {
        use aws_sigv4::http_request::{
            sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        };
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let identity: aws_smithy_runtime_api::client::identity::Identity =
            aws_credential_types::Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            )
            .into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        let signed_at = SystemTime::now();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("states")
            .time(signed_at)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let sent = [
            ("host", "127.0.0.1:8083"),
            ("x-amz-target", "AWSStepFunctions.ListActivities"),
        ];
        let request = SignableRequest::new(
            "POST",
            "http://127.0.0.1:8083/",
            sent.iter().copied(),
            SignableBody::UnsignedPayload,
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let (_, query) = instructions.into_parts();
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        assert!(query.iter().any(|p| p == "X-Amz-Expires=60"), "{query:?}");
        let uri: Uri = format!("/?{}", query.join("&")).parse().unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in sent {
            headers.insert(name, value.parse().unwrap());
        }
        let c = creds();
        let at = |secs| signed_at + Duration::from_secs(secs);
        let who = c.verify("POST", &uri, &headers, b"{}", at(30)).unwrap();
        assert_eq!(
            (who.account_id.as_str(), who.region.as_str()),
            ("111111111111", "eu-west-1")
        );
        let expired = c
            .verify("POST", &uri, &headers, b"{}", at(120))
            .unwrap_err();
        assert_eq!(expired.code.as_str(), "InvalidSignatureException");
        assert!(
            expired.message.starts_with("Signature expired"),
            "{}",
            expired.message
        );
        headers.insert(
            "x-amz-target",
            "AWSStepFunctions.DeleteActivity".parse().unwrap(),
        );
        let changed = c.verify("POST", &uri, &headers, b"{}", at(30)).unwrap_err();
        assert_eq!(changed.code.as_str(), "InvalidSignatureException");
    }
}
