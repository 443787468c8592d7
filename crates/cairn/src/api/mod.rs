//! HTTP front end and one file per Step Functions operation. Placeholder.
