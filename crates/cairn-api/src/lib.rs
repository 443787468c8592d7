//! The AWS JSON 1.0 protocol of Step Functions, without any transport or storage:
//!
//! - [`error`]: `ApiError`, one constructor per AWS error code, the wire body;
//! - [`validation`] + [`model`]: model-level request checks (`ValidationException`), driven by
//!   a constraint table generated from botocore's model;
//! - [`arn`]: minting and parsing ARNs (`InvalidArn`);
//! - [`name`]: name rules (`InvalidName`);
//! - [`page_token`]: opaque pagination tokens (`InvalidToken`);
//! - [`time`]: epoch-seconds timestamps.
//!
//! Invariant: no HTTP server, no store, no runtime. The `cairn` crate puts these pieces behind
//! axum and the store.

pub mod arn;
pub mod error;
pub mod model;
pub mod name;
pub mod page_token;
pub mod time;
pub mod validation;

pub use arn::{Arn, ArnScope, Resource};
pub use error::{ApiError, ErrorCode, ValidationReason};
pub use name::validate_name;
pub use validation::{operation, validate_request, Operation};

/// The `X-Amz-Target` prefix of every Step Functions operation.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
