//! ListExecutions given a version or alias ARN: the executions started through that version
//! (directly or through an alias routing to it: both record the version) or that alias.
//! The version or alias must exist (`StateMachineDoesNotExist` / `ResourceNotFound`).

use crate::api::versions;
use crate::app::App;
use cairn_api::{ApiError, Arn, Resource};
use cairn_store::ExecutionsOf;

/// A checked version or alias ARN to list by.
pub struct Qualifier {
    arn: String,
    alias: bool,
}

impl Qualifier {
    pub async fn check(app: &App, given: &str, arn: &Arn) -> Result<Qualifier, ApiError> {
        let alias = matches!(arn.resource, Resource::Alias { .. });
        if alias {
            versions::load_alias(app, given).await?;
        } else {
            versions::load_version(app, given).await?;
        }
        Ok(Qualifier {
            arn: given.to_string(),
            alias,
        })
    }

    /// What to list: the executions started through this version or alias.
    pub fn executions_of(&self) -> ExecutionsOf<'_> {
        if self.alias {
            ExecutionsOf::Alias(&self.arn)
        } else {
            ExecutionsOf::Version(&self.arn)
        }
    }
}
