//! Account isolation under `--auth sigv4`: a request acts in its key's account and sees
//! nothing of another account's.
//!
//! - An ARN of another account in a request (any `…Arn` member, `resourceArn` of the tag
//!   operations) is refused with `AccessDeniedException`, as AWS refuses a resource of another
//!   account that no resource policy opens (Cairn has no resource policies).
//! - A task token of another account's execution is refused with `InvalidToken` (a token
//!   names its execution, see `cairn_core::token`; AWS's exact answer is unrecorded).
//! - Lists hold only the caller's account, filtered where the rows are read so that pages are
//!   full: ListStateMachines and ListActivities pass `Ctx::verified_account` to the store
//!   (its `account` column); every other List is keyed by an ARN this module has checked
//!   (ListExecutions, ListStateMachineVersions and ListStateMachineAliases by a machine, ListMapRuns
//!   by an execution, ListTagsForResource by a resource), so all it finds is that account's.
//!
//! Owns only these checks, run by `api::call` when the request was verified. Must not: verify
//! signatures (`auth.rs`) or read the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cairn_api::{ApiError, ErrorCode};
use serde_json::Value;

/// The account of an ARN (`arn:partition:service:region:account:…`).
fn account_of(arn: &str) -> Option<&str> {
    let mut parts = arn.strip_prefix("arn:")?.split(':');
    parts.nth(3).filter(|a| !a.is_empty())
}

/// The account of the execution a task token names (without checking its tag: the
/// operation does that).
fn token_account(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let end = bytes.iter().position(|&b| b == 0)?;
    let arn = std::str::from_utf8(&bytes[..end]).ok()?;
    account_of(arn).map(str::to_string)
}

/// Refuse a request that names another account's resource or task.
pub fn check_request(
    operation: &str,
    account: &str,
    access_key: &str,
    input: &Value,
) -> Result<(), ApiError> {
    let Some(members) = input.as_object() else {
        return Ok(());
    };
    for (name, value) in members {
        let Some(text) = value.as_str() else { continue };
        if name == "taskToken" {
            if token_account(text).is_some_and(|a| a != account) {
                return Err(ApiError::invalid_token(
                    "Invalid Token: 'The task token belongs to another account'",
                ));
            }
        } else if name.ends_with("Arn") && account_of(text).is_some_and(|a| a != account) {
            let resource = text.split('#').next().unwrap_or(text);
            return Err(ApiError::new(
                ErrorCode::AccessDeniedException,
                format!(
                    "User: arn:aws:iam::{account}:user/{access_key} is not authorized to perform: \
                     states:{operation} on resource: {resource} because no resource-based policy \
                     allows the states:{operation} action"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn another_accounts_arns_and_tokens_are_refused() {
        let own =
            json!({"stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:a"});
        assert!(check_request("DescribeStateMachine", "111111111111", "K", &own).is_ok());
        let err = check_request("DescribeStateMachine", "222222222222", "K", &own).unwrap_err();
        assert_eq!(err.code.as_str(), "AccessDeniedException");
        let token = URL_SAFE_NO_PAD
            .encode(b"arn:aws:states:us-east-1:111111111111:execution:a:b\0\0\0\0\0\0\0\0\x01tag");
        let input = json!({"taskToken": token});
        assert!(check_request("SendTaskSuccess", "111111111111", "K", &input).is_ok());
        let err = check_request("SendTaskSuccess", "222222222222", "K", &input).unwrap_err();
        assert_eq!(err.code.as_str(), "InvalidToken");
    }
}
