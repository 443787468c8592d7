//! AWS errors as Step Functions sends them: a code from the model, a message, an HTTP status
//! and sometimes extra members (`resourceName`, `reason`, `kmsKeyState`).
//!
//! The body is `{"__type": "com.amazonaws.swf.service.v2.model#<Code>", "message": …}`. SDKs keep
//! the part after `#`, and aws-sdk-rust also cuts at the first `:`, so `__type` never holds one.

use serde_json::{Map, Value};
use std::fmt;

/// The namespace AWS puts in front of every Step Functions error code.
pub const ERROR_NAMESPACE: &str = "com.amazonaws.swf.service.v2.model";

macro_rules! error_codes {
    ($( $variant:ident => $status:expr, $ctor:ident; )*) => {
        /// Every error code Cairn answers: the 33 exception shapes of the model plus the
        /// generic codes of the AWS JSON protocol.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The code as it appears after `#` in `__type`.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => stringify!($variant), )* }
            }

            /// The HTTP status AWS uses for this code.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }
        }

        impl ApiError {
            $(
                #[doc = concat!("A `", stringify!($variant), "` error with this message.")]
                pub fn $ctor(message: impl Into<String>) -> ApiError {
                    ApiError::new(ErrorCode::$variant, message)
                }
            )*
        }
    };
}

error_codes! {
    ActivityAlreadyExists => 400, activity_already_exists;
    ActivityDoesNotExist => 400, activity_does_not_exist;
    ActivityLimitExceeded => 400, activity_limit_exceeded;
    ActivityWorkerLimitExceeded => 400, activity_worker_limit_exceeded;
    ConflictException => 409, conflict;
    ExecutionAlreadyExists => 400, execution_already_exists;
    ExecutionDoesNotExist => 400, execution_does_not_exist;
    ExecutionLimitExceeded => 400, execution_limit_exceeded;
    ExecutionNotRedrivable => 400, execution_not_redrivable;
    InvalidArn => 400, invalid_arn;
    InvalidDefinition => 400, invalid_definition;
    InvalidEncryptionConfiguration => 400, invalid_encryption_configuration;
    InvalidExecutionInput => 400, invalid_execution_input;
    InvalidLoggingConfiguration => 400, invalid_logging_configuration;
    InvalidName => 400, invalid_name;
    InvalidOutput => 400, invalid_output;
    InvalidToken => 400, invalid_token;
    InvalidTracingConfiguration => 400, invalid_tracing_configuration;
    KmsAccessDeniedException => 400, kms_access_denied;
    KmsInvalidStateException => 400, kms_invalid_state;
    KmsThrottlingException => 400, kms_throttling;
    MissingRequiredParameter => 400, missing_required_parameter;
    ResourceNotFound => 400, resource_not_found;
    ServiceQuotaExceededException => 402, service_quota_exceeded;
    StateMachineAlreadyExists => 400, state_machine_already_exists;
    StateMachineDeleting => 400, state_machine_deleting;
    StateMachineDoesNotExist => 400, state_machine_does_not_exist;
    StateMachineLimitExceeded => 400, state_machine_limit_exceeded;
    StateMachineTypeNotSupported => 400, state_machine_type_not_supported;
    TaskDoesNotExist => 400, task_does_not_exist;
    TaskTimedOut => 400, task_timed_out;
    TooManyTags => 400, too_many_tags;
    ValidationException => 400, validation;
    // Generic codes of the AWS JSON 1.0 protocol, not in the Step Functions model.
    UnknownOperationException => 400, unknown_operation;
    SerializationException => 400, serialization;
    InternalFailure => 500, internal_failure;
    // Authentication codes of AWS's front door (`cairn serve --auth sigv4`).
    MissingAuthenticationTokenException => 403, missing_authentication_token;
    IncompleteSignatureException => 400, incomplete_signature;
    InvalidSignatureException => 400, invalid_signature;
    UnrecognizedClientException => 400, unrecognized_client;
    AccessDeniedException => 400, access_denied;
    // Overload: SDKs retry it with back-off.
    ThrottlingException => 400, throttling;
}

/// `ValidationException.reason` (model enum `ValidationExceptionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationReason {
    ApiDoesNotSupportLabeledArns,
    MissingRequiredParameter,
    CannotUpdateCompletedMapRun,
    InvalidRoutingConfiguration,
}

impl ValidationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationReason::ApiDoesNotSupportLabeledArns => "API_DOES_NOT_SUPPORT_LABELED_ARNS",
            ValidationReason::MissingRequiredParameter => "MISSING_REQUIRED_PARAMETER",
            ValidationReason::CannotUpdateCompletedMapRun => "CANNOT_UPDATE_COMPLETED_MAP_RUN",
            ValidationReason::InvalidRoutingConfiguration => "INVALID_ROUTING_CONFIGURATION",
        }
    }
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra members of the error shape, e.g. `("resourceName", arn)`.
    pub extra: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// Add an extra member to the error body.
    pub fn with(mut self, member: &'static str, value: impl Into<String>) -> ApiError {
        self.extra.push((member, value.into()));
        self
    }

    /// A `ValidationException` with its `reason` member.
    pub fn validation_with_reason(
        message: impl Into<String>,
        reason: ValidationReason,
    ) -> ApiError {
        ApiError::validation(message).with("reason", reason.as_str())
    }

    // ---- messages AWS is seen to send (API.md §4) ------------------------------------

    /// `Invalid Arn: 'Invalid ARN prefix: <value>'`.
    pub fn invalid_arn_prefix(value: &str) -> ApiError {
        ApiError::invalid_arn(format!("Invalid Arn: 'Invalid ARN prefix: {value}'"))
    }

    /// `Invalid Arn: 'Resource type not valid in this context: <type>'`.
    pub fn invalid_arn_resource_type(resource_type: &str) -> ApiError {
        ApiError::invalid_arn(format!(
            "Invalid Arn: 'Resource type not valid in this context: {resource_type}'"
        ))
    }

    /// `Activity Does Not Exist: '<arn>'`.
    pub fn no_such_activity(arn: &str) -> ApiError {
        ApiError::activity_does_not_exist(format!("Activity Does Not Exist: '{arn}'"))
    }

    /// `State Machine Does Not Exist: '<arn>'`.
    pub fn no_such_state_machine(arn: &str) -> ApiError {
        ApiError::state_machine_does_not_exist(format!("State Machine Does Not Exist: '{arn}'"))
    }

    /// `State Machine Already Exists: '<arn>'`.
    pub fn state_machine_exists(arn: &str) -> ApiError {
        ApiError::state_machine_already_exists(format!("State Machine Already Exists: '{arn}'"))
    }

    /// `Execution Does Not Exist: '<arn>'`.
    pub fn no_such_execution(arn: &str) -> ApiError {
        ApiError::execution_does_not_exist(format!("Execution Does Not Exist: '{arn}'"))
    }

    /// `Execution Already Exists: '<arn>'`.
    pub fn execution_exists(arn: &str) -> ApiError {
        ApiError::execution_already_exists(format!("Execution Already Exists: '{arn}'"))
    }

    /// `Invalid Name: '<name>'`.
    pub fn invalid_name_of(name: &str) -> ApiError {
        ApiError::invalid_name(format!("Invalid Name: '{name}'"))
    }

    /// `Resource not found: '<arn>'`, with `resourceName`.
    pub fn no_such_resource(arn: &str) -> ApiError {
        ApiError::resource_not_found(format!("Resource not found: '{arn}'"))
            .with("resourceName", arn)
    }

    /// `StateMachineDeleting` for a machine being deleted.
    pub fn state_machine_is_deleting(arn: &str) -> ApiError {
        ApiError::state_machine_deleting(format!("State Machine is being deleted: '{arn}'"))
    }

    /// A labelled (Distributed Map) state machine ARN given to an API that refuses them.
    pub fn labelled_arn_not_supported() -> ApiError {
        ApiError::validation_with_reason(
            "This API does not support labeled ARNs.",
            ValidationReason::ApiDoesNotSupportLabeledArns,
        )
    }

    /// The pagination token could not be decoded: `Invalid Token: 'Invalid token'`.
    pub fn invalid_page_token() -> ApiError {
        ApiError::invalid_token("Invalid Token: 'Invalid token'")
    }

    /// An operation of the model that this server does not implement yet.
    pub fn not_supported_yet(operation: &str) -> ApiError {
        ApiError::validation(format!(
            "Operation {operation} is not supported by Cairn yet"
        ))
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `__type` member: namespace, `#`, code.
    pub fn type_name(&self) -> String {
        format!("{ERROR_NAMESPACE}#{}", self.code.as_str())
    }

    /// The JSON body of the error answer.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("__type".into(), Value::String(self.type_name()));
        body.insert("message".into(), Value::String(self.message.clone()));
        for (member, value) in &self.extra {
            body.insert((*member).into(), Value::String(value.clone()));
        }
        Value::Object(body)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_namespaced_type_without_colon_in_code() {
        let e = ApiError::no_such_resource("arn:aws:states:us-east-1:1:stateMachine:x:1");
        let body = e.body();
        assert_eq!(
            body["__type"],
            "com.amazonaws.swf.service.v2.model#ResourceNotFound"
        );
        assert_eq!(
            body["resourceName"],
            "arn:aws:states:us-east-1:1:stateMachine:x:1"
        );
        for code in ErrorCode::ALL {
            assert!(!code.as_str().contains(':'));
        }
    }

    #[test]
    fn statuses_follow_the_model_docs() {
        assert_eq!(ApiError::conflict("x").status(), 409);
        assert_eq!(ApiError::service_quota_exceeded("x").status(), 402);
        assert_eq!(ApiError::invalid_arn("x").status(), 400);
    }
}
