//! SigV4 signatures for [`crate::SfnConnection`], so workers and `cairn bench` reach a server
//! that verifies them (`cairn serve --auth sigv4`, or AWS itself).
//!
//! Credentials come from the usual environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`) or are given explicitly. The
//! signed headers are `host`, `x-amz-date`, `x-amz-target` (and `x-amz-security-token`);
//! the signing key and signature come from the `aws-sigv4` crate.
//!
//! Owns building the `Authorization` header. Must not: send anything or read files.

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// An access key to sign with.
#[derive(Clone)]
pub struct Signer {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The key the AWS environment variables name, if both id and secret are set.
    pub fn from_env() -> Option<Signer> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(Signer {
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
        })
    }

    /// The headers to add to a `POST /` with this target and body: `(name, value)` pairs.
    pub fn headers(
        &self,
        host: &str,
        target: &str,
        region: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Vec<(&'static str, String)> {
        let amz_date = jiff::Timestamp::try_from(now)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let mut signed: Vec<(&'static str, String)> =
            vec![("host", host.to_string()), ("x-amz-date", amz_date.clone())];
        if let Some(token) = &self.session_token {
            signed.push(("x-amz-security-token", token.clone()));
        }
        signed.push(("x-amz-target", target.to_string()));
        let names: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
        let signed_headers = names.join(";");
        let canonical_headers: String = signed
            .iter()
            .map(|(n, v)| format!("{n}:{}\n", v.trim()))
            .collect();
        let canonical_request = format!(
            "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
            hex_sha256(body)
        );
        let scope = format!("{}/{region}/states/aws4_request", &amz_date[..8]);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex_sha256(canonical_request.as_bytes())
        );
        let key = generate_signing_key(&self.secret_access_key, now, region, "states");
        let signature = calculate_signature(key, string_to_sign.as_bytes());
        let mut out: Vec<(&'static str, String)> = signed
            .into_iter()
            .filter(|(n, _)| *n != "host" && *n != "x-amz-target")
            .collect();
        out.push((
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.access_key_id
            ),
        ));
        out
    }
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
