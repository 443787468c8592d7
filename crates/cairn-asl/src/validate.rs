//! Static validation of definitions, with AWS's diagnostics.
//!
//! Placeholder entry point: the full rule set lives in submodules of this module.

use serde::Serialize;

/// STANDARD or EXPRESS: Express machines forbid activities, `.sync` and `.waitForTaskToken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineType {
    Standard,
    Express,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a definition: what ValidateStateMachineDefinition returns as a
/// diagnostic, and what InvalidDefinition messages are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// AWS's code word, e.g. `SCHEMA_VALIDATION_FAILED`.
    pub code: String,
    pub message: String,
    /// JSON pointer into the definition, e.g. `/States/A/Next`.
    pub location: String,
}

/// Check a definition; returns every diagnostic found (empty = valid).
pub fn validate(definition: &str, machine_type: MachineType) -> Vec<Diagnostic> {
    let _ = machine_type;
    match serde_json::from_str::<serde_json::Value>(definition) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Diagnostic {
            severity: Severity::Error,
            code: "INVALID_JSON_DESCRIPTION".into(),
            message: e.to_string(),
            location: "/".into(),
        }],
    }
}

/// The message of an `InvalidDefinition` error built from error diagnostics, in AWS's form:
/// `Invalid State Machine Definition: 'CODE: message at /loc, CODE: …'`.
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {} at {}", d.code, d.message, d.location))
        .collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}
