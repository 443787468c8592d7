//! Where a service's requests go and whose credentials sign them.
//!
//! Endpoint of a service, first found wins:
//! 1. `cairn serve --aws-endpoint SERVICE=URL` and Step Functions Local's variables
//!    (`DYNAMODB_ENDPOINT`, `SQS_ENDPOINT`, …, see `cli`; `LAMBDA_ENDPOINT` for `lambda`), by
//!    `aws-sdk` service name;
//! 2. the `[endpoints]` table of the AWS settings file (`--aws-settings`), by service name
//!    (`dynamodb = "http://127.0.0.1:8000"`), or `default`;
//! 3. the AWS SDKs' `AWS_ENDPOINT_URL_<SERVICE_ID>` (service id upper case, spaces as `_`),
//!    then `AWS_ENDPOINT_URL`.
//!
//! The URL `aws` means the service's public regional endpoint. With none, the task fails with a
//! cause that says how to configure or mock the service.
//!
//! Credentials: the settings file's `[credentials]`, else the standard AWS chain (environment,
//! shared config and credentials files, profiles, SSO, container and instance roles), else,
//! for local stand-ins that accept any signature, the fixed key `cairn`/`cairn`.
//!
//! Must not: send requests.

use crate::config::Config;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use tokio::sync::OnceCell;

/// The AWS settings file, read at start-up.
#[derive(Debug, Default, Clone)]
pub(crate) struct AwsSettings {
    endpoints: BTreeMap<String, String>,
    region: Option<String>,
    credentials: Option<Credentials>,
}

impl AwsSettings {
    /// `region`, `[endpoints]`, `[credentials]` (access_key_id, secret_access_key,
    /// session_token) from a TOML or JSON file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<AwsSettings> {
        let doc = super::super::settings_file::load_document(path)?;
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut endpoints = BTreeMap::new();
        if let Some(e) = doc.get("endpoints").and_then(Value::as_object) {
            for (k, v) in e {
                let url = v.as_str().ok_or_else(|| {
                    anyhow::anyhow!("{}: endpoints.{k} must be a URL", path.display())
                })?;
                endpoints.insert(k.to_ascii_lowercase(), url.to_string());
            }
        }
        let credentials = match doc.get("credentials") {
            Some(c) => Some(Credentials::new(
                s(c, "access_key_id").ok_or_else(|| {
                    anyhow::anyhow!("{}: credentials.access_key_id is missing", path.display())
                })?,
                s(c, "secret_access_key").ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: credentials.secret_access_key is missing",
                        path.display()
                    )
                })?,
                s(c, "session_token"),
                None,
                "cairn-aws-settings",
            )),
            None => None,
        };
        Ok(AwsSettings {
            endpoints,
            region: s(&doc, "region"),
            credentials,
        })
    }
}

/// Endpoints and credentials for outgoing AWS requests.
pub(crate) struct Aws {
    config: Config,
    settings: AwsSettings,
    chain: OnceCell<Option<aws_credential_types::provider::SharedCredentialsProvider>>,
    /// When the chain last found nothing: it is asked again only after [`CHAIN_RETRY`], so an
    /// unconfigured machine does not probe instance metadata on every call.
    chain_failed: std::sync::Mutex<Option<std::time::Instant>>,
}

const CHAIN_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

impl Aws {
    pub(crate) fn new(config: Config, settings: AwsSettings) -> Aws {
        Aws {
            config,
            settings,
            chain: OnceCell::new(),
            chain_failed: Default::default(),
        }
    }

    /// The region requests are signed for.
    pub(crate) fn region(&self) -> &str {
        self.settings
            .region
            .as_deref()
            .unwrap_or(&self.config.region)
    }

    /// The endpoint for a service (`aws-sdk` name, endpoint prefix, service id), if configured.
    pub(crate) fn endpoint(&self, name: &str, prefix: &str, service_id: &str) -> Option<String> {
        let env_key = service_id.replace([' ', '-'], "_").to_ascii_uppercase();
        let found = self
            .config
            .aws_endpoints
            .get(name)
            .or_else(|| self.config.aws_endpoints.get(prefix))
            // Step Functions Local's LAMBDA_ENDPOINT serves aws-sdk:lambda too.
            .or_else(|| {
                (name == "lambda")
                    .then_some(self.config.lambda_endpoint.as_ref())
                    .flatten()
            })
            .or_else(|| self.settings.endpoints.get(name))
            .or_else(|| self.settings.endpoints.get(prefix))
            .or_else(|| self.settings.endpoints.get("default"))
            .or_else(|| self.config.aws_endpoint_urls.get(&env_key))
            .or_else(|| self.config.aws_endpoint_urls.get(""))?;
        if found == "aws" {
            let suffix = if self.config.partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            return Some(format!("https://{prefix}.{}.{suffix}", self.region()));
        }
        Some(found.trim_end_matches('/').to_string())
    }

    /// Whether a service has an endpoint of its own (flags, Step Functions Local's variables,
    /// the settings file; not the catch-all `AWS_ENDPOINT_URL`).
    pub(crate) fn explicit(&self, name: &str) -> bool {
        self.config.aws_endpoints.contains_key(name) || self.settings.endpoints.contains_key(name)
    }

    /// Credentials to sign with.
    pub(crate) async fn credentials(&self) -> Credentials {
        if let Some(c) = &self.settings.credentials {
            return c.clone();
        }
        let chain = self
            .chain
            .get_or_init(|| async {
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region().to_string()))
                    .load()
                    .await;
                conf.credentials_provider()
            })
            .await;
        let failed_lately = self
            .chain_failed
            .lock()
            .expect("chain_failed")
            .is_some_and(|t| t.elapsed() < CHAIN_RETRY);
        if let (Some(p), false) = (chain, failed_lately) {
            match p.provide_credentials().await {
                Ok(c) => return c,
                Err(e) => {
                    tracing::info!(
                        "no AWS credentials from the standard chain ({e}); signing with a \
                         placeholder key, which local stand-ins accept"
                    );
                    *self.chain_failed.lock().expect("chain_failed") =
                        Some(std::time::Instant::now());
                }
            }
        }
        Credentials::new("cairn", "cairn", None, None, "cairn-local-fallback")
    }
}

/// Step Functions Local's endpoint variables and the `aws-sdk` service each one names.
pub const STEP_FUNCTIONS_LOCAL_VARIABLES: &[(&str, &str)] = &[
    ("DYNAMODB_ENDPOINT", "dynamodb"),
    ("SQS_ENDPOINT", "sqs"),
    ("SNS_ENDPOINT", "sns"),
    ("ECS_ENDPOINT", "ecs"),
    ("BATCH_ENDPOINT", "batch"),
    ("GLUE_ENDPOINT", "glue"),
    ("SAGE_MAKER_ENDPOINT", "sagemaker"),
    ("STEP_FUNCTIONS_ENDPOINT", "sfn"),
    // Not in Step Functions Local; named the same way for the other optimized integrations.
    ("EVENTBRIDGE_ENDPOINT", "eventbridge"),
    ("S3_ENDPOINT", "s3"),
    ("SECRETS_MANAGER_ENDPOINT", "secretsmanager"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_precedence() {
        let mut config = Config::default();
        config
            .aws_endpoint_urls
            .insert(String::new(), "http://global".into());
        config
            .aws_endpoint_urls
            .insert("SECRETS_MANAGER".into(), "http://sdk-env".into());
        config
            .aws_endpoints
            .insert("dynamodb".into(), "http://flag/".into());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("aws.toml");
        std::fs::write(
            &file,
            "region = \"eu-west-1\"\n[endpoints]\nsqs = \"http://file\"\ns3 = \"aws\"\n\
             [credentials]\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n",
        )
        .unwrap();
        let aws = Aws::new(config.clone(), AwsSettings::load(&file).unwrap());
        let e = |n: &str, p: &str, id: &str| aws.endpoint(n, p, id);
        assert_eq!(
            e("dynamodb", "dynamodb", "DynamoDB").unwrap(),
            "http://flag"
        );
        assert_eq!(e("sqs", "sqs", "SQS").unwrap(), "http://file");
        assert_eq!(
            e("s3", "s3", "S3").unwrap(),
            "https://s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            e("secretsmanager", "secretsmanager", "Secrets Manager").unwrap(),
            "http://sdk-env"
        );
        assert_eq!(e("sns", "sns", "SNS").unwrap(), "http://global");
        assert!(aws.explicit("sqs") && aws.explicit("dynamodb") && !aws.explicit("sns"));
        assert_eq!(aws.region(), "eu-west-1");
        let lambda = Aws::new(
            Config {
                lambda_endpoint: Some("http://lambda".into()),
                ..Config::default()
            },
            AwsSettings::default(),
        );
        assert_eq!(
            lambda.endpoint("lambda", "lambda", "Lambda").unwrap(),
            "http://lambda"
        );
        let none = Aws::new(Config::default(), AwsSettings::default());
        assert!(none.endpoint("sns", "sns", "SNS").is_none());
        std::fs::write(&file, "[credentials]\naccess_key_id = \"a\"\n").unwrap();
        assert!(AwsSettings::load(&file).is_err());
    }
}
