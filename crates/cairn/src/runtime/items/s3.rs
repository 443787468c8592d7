//! Buckets on an S3-compatible server (`cairn serve --s3-endpoint URL`): ranged GETs,
//! ListObjectsV2 pages and PUTs through `aws-sdk-s3`.
//!
//! Why `aws-sdk-s3`: it is AWS's own client, so path-style addressing, SigV4 signing,
//! retries, error codes and the standard credential chain (environment variables, profile
//! files, web identity, container and instance credentials) behave exactly as they do for
//! any AWS tool; `aws-config` already provides the chain for the AWS service integrations.
//! `object_store` would have been the alternative, but it reads credentials its own way.
//!
//! Must not: parse objects (the reader does), or decide where results go (the writer does).

use super::backend::{ListEntry, Range};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

pub(crate) struct S3 {
    endpoint: String,
    region: String,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl S3 {
    /// `region`: AWS_REGION, else AWS_DEFAULT_REGION, else the server's region.
    pub(crate) fn new(endpoint: &str, region: &str) -> Self {
        let region = std::env::var("AWS_REGION")
            .ok()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| region.to_string());
        S3 {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            client: OnceCell::new(),
        }
    }

    pub(crate) fn describe(&self) -> String {
        format!("the S3 endpoint {}", self.endpoint)
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region.clone()))
                    .load()
                    .await;
                let mut builder = aws_sdk_s3::config::Builder::from(&shared)
                    .endpoint_url(&self.endpoint)
                    .force_path_style(true)
                    // Checksums only where S3 requires them: many S3-compatible servers
                    // reject the SDK's default CRC trailers on PUT.
                    .request_checksum_calculation(
                        aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                    )
                    .response_checksum_validation(
                        aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                    );
                let has_credentials = match shared.credentials_provider() {
                    Some(p) => {
                        use aws_credential_types::provider::ProvideCredentials;
                        p.provide_credentials().await.is_ok()
                    }
                    None => false,
                };
                if !has_credentials {
                    // Local stand-ins accept any key; a real server will answer with its
                    // own access-denied error, which the cause then shows.
                    tracing::info!(
                        "no AWS credentials from the standard chain for --s3-endpoint; \
                         signing with a placeholder key"
                    );
                    builder = builder.credentials_provider(aws_credential_types::Credentials::new(
                        "cairn",
                        "cairn",
                        None,
                        None,
                        "cairn-local-fallback",
                    ));
                }
                aws_sdk_s3::Client::from_conf(builder.build())
            })
            .await
    }

    /// Bytes `offset..offset+len` of an object, and its total size when the server says.
    pub(crate) async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        etag: Option<&str>,
        offset: u64,
        len: u64,
    ) -> Result<Range, String> {
        let result = self
            .client()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .set_if_match(etag.map(str::to_string))
            .range(format!("bytes={}-{}", offset, offset + len.max(1) - 1))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            // An empty object has no byte 0.
            Err(SdkError::ServiceError(e))
                if offset == 0 && e.err().code() == Some("InvalidRange") =>
            {
                return Ok(Range {
                    bytes: Vec::new(),
                    total: Some(0),
                    etag: None,
                })
            }
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 412 => {
                return Err("the object was replaced while it was being read".into())
            }
            Err(e) => return Err(describe(e)),
        };
        let etag = out.e_tag().map(str::to_string);
        let total = out
            .content_range()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, t)| t.parse::<u64>().ok());
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| format!("reading the object failed: {e}"))?
            .into_bytes()
            .to_vec();
        // A server that ignores Range sends the whole object: that is then the only chunk.
        let total = if out.content_range.is_none() && offset == 0 {
            Some(bytes.len() as u64)
        } else {
            total
        };
        Ok(Range { bytes, total, etag })
    }

    /// One ListObjectsV2 page (up to 1,000 keys) and the token for the next.
    pub(crate) async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<ListEntry>, Option<String>), String> {
        let out = self
            .client()
            .await
            .list_objects_v2()
            .bucket(bucket)
            .set_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(describe)?;
        let entries = out
            .contents()
            .iter()
            .map(|o| ListEntry {
                key: o.key().unwrap_or_default().to_string(),
                etag: o.e_tag().unwrap_or_default().to_string(),
                last_modified: o.last_modified().map(|t| t.secs()).unwrap_or(0),
                size: o.size().unwrap_or(0),
                storage_class: o
                    .storage_class()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "STANDARD".into()),
            })
            .collect();
        let next = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok((entries, next))
    }

    pub(crate) async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.client()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(describe)?;
        Ok(())
    }
}

/// A multipart upload in progress.
pub(crate) struct S3Upload {
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
}

impl S3 {
    pub(crate) async fn begin(&self, bucket: &str, key: &str) -> Result<S3Upload, String> {
        let out = self
            .client()
            .await
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .send()
            .await
            .map_err(describe)?;
        Ok(S3Upload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: out.upload_id().unwrap_or_default().to_string(),
            parts: Vec::new(),
        })
    }

    /// Uploads the next part (every part but the last must be at least 5 MiB).
    pub(crate) async fn part(&self, up: &mut S3Upload, body: Vec<u8>) -> Result<(), String> {
        let number = up.parts.len() as i32 + 1;
        let out = self
            .client()
            .await
            .upload_part()
            .bucket(&up.bucket)
            .key(&up.key)
            .upload_id(&up.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(describe)?;
        up.parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    pub(crate) async fn finish(&self, up: S3Upload) -> Result<(), String> {
        let result = self
            .client()
            .await
            .complete_multipart_upload()
            .bucket(&up.bucket)
            .key(&up.key)
            .upload_id(&up.upload_id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(up.parts.clone()))
                    .build(),
            )
            .send()
            .await;
        if let Err(e) = result {
            self.abort(up).await;
            return Err(describe(e));
        }
        Ok(())
    }

    /// Drops an unfinished upload's parts (best effort).
    pub(crate) async fn abort(&self, up: S3Upload) {
        let _ = self
            .client()
            .await
            .abort_multipart_upload()
            .bucket(&up.bucket)
            .key(&up.key)
            .upload_id(&up.upload_id)
            .send()
            .await;
    }
}

/// `Code: message` of a service error (what S3 said), or the transport failure in full.
fn describe<E, R>(e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => DisplayErrorContext(&e).to_string(),
            }
        }
        _ => DisplayErrorContext(&e).to_string(),
    }
}
