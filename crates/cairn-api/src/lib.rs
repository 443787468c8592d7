//! The AWS JSON 1.0 protocol of Step Functions. Placeholder: implemented next.
