//! The parts of a SigV4 `Authorization` header Cairn uses: the access key and the region of
//! the credential scope. Signatures are accepted without checking (a local server).
//!
//! `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/states/aws4_request, SignedHeaders=…, Signature=…`

/// Access key and region from a SigV4 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub region: String,
}

/// Parse the credential scope; `None` for anything that is not a SigV4 header.
pub fn parse_authorization(header: &str) -> Option<Credential> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let mut scope = credential.split('/');
    let access_key = scope.next()?.to_string();
    let _date = scope.next()?;
    let region = scope.next()?.to_string();
    if access_key.is_empty() || region.is_empty() {
        return None;
    }
    Some(Credential { access_key, region })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_access_key_and_region() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/states/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            parse_authorization(h),
            Some(Credential {
                access_key: "AKIDEXAMPLE".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(parse_authorization("Basic Zm9v"), None);
        assert_eq!(parse_authorization("AWS4-HMAC-SHA256 Signature=x"), None);
    }
}
