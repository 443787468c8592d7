//! Amazon States Language: the definition model, its parser and static validation.
//!
//! - [`validate`] checks a definition as AWS does at CreateStateMachine time and returns every
//!   problem it finds, each with an AWS code word (`SCHEMA_VALIDATION_FAILED`,
//!   `MISSING_TRANSITION_TARGET`, …) and a JSON-pointer location.
//! - [`parse`] turns a valid definition into the typed [`model`] the interpreter runs.
//! - [`variable_references`] lists the workflow variables each state reads.
//!
//! Invariant: pure functions over `serde_json` values; no I/O, no clock, no async.

pub mod model;
pub mod parse;
pub mod validate;
pub mod variable_references;

pub use model::*;
pub use parse::{parse_definition, parse_definition_str, ParseError};
pub use validate::{invalid_definition_message, validate, Diagnostic, MachineType, Severity};
pub use variable_references::variable_references;
