//! Static validation of definitions, with AWS's diagnostics.
//!
//! [`validate`] checks a definition the way CreateStateMachine / ValidateStateMachineDefinition
//! do and returns **every** problem found (it never stops at the first). Each rule family lives
//! in its own submodule:
//!
//! | module | owns |
//! |---|---|
//! | `context` | the diagnostic collector and AWS's message shapes |
//! | `values` | typed scalar fields: integers and ranges, enums, strings, exclusive groups |
//! | `duplicates` | state names repeated inside one `States` object (lost by JSON maps) |
//! | `scope` | top-level machine, Parallel branches and Map processors (a scope of states) |
//! | `schema` | per-state field matrix: `Type`, allowed / required fields, Next vs End |
//! | `pass`, `task`, `wait`, `fail`, `parallel`, `map` | type-specific fields |
//! | `choice` | Choice rules (JSONPath operators and JSONata `Condition`) |
//! | `retry_catch` | `Retry` and `Catch` |
//! | `paths` | JSONPath fields and payload templates (`.$` keys) |
//! | `jsonata` | query-language resolution and JSONata-only value rules |
//! | `expressions` | where JSONata expressions stand, and a lexical check of each |
//! | `assign` | `Assign` (variables) in both query languages |
//! | `resource` | Task `Resource` classification and the Express restrictions |
//! | `transitions` | Next targets, reachability, terminal states |
//!
//! Warnings (`NO_DOLLAR`, `NO_PATH`, `PASS_RESULT_IS_STATIC`, AWS's documented codes) have
//! [`Severity::Warning`]: they are shown by ValidateStateMachineDefinition and never refuse a
//! definition.
//!
//! Invariant: pure; works on any input without panicking (malformed shapes become
//! diagnostics, never `unwrap`s). Locations are AWS-style JSON pointers: object members are
//! `/`-joined without escaping and array elements are written `Name[i]`
//! (`/States/C/Choices[0]/Next`, observed). An empty location means "no location" (AWS omits
//! it, e.g. for `MISSING_END_STATE`).

use serde::Serialize;

mod assign;
mod choice;
mod context;
mod duplicates;
mod expressions;
mod fail;
mod jsonata;
mod map;
mod parallel;
mod pass;
mod paths;
mod resource;
mod retry_catch;
mod schema;
mod scope;
mod task;
mod transitions;
mod values;
mod wait;

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
    /// JSON pointer into the definition, e.g. `/States/A/Next`; empty when AWS gives none.
    pub location: String,
}

/// Check a definition; returns every diagnostic found. The definition is valid when none of
/// them has [`Severity::Error`] (warnings may remain).
pub fn validate(definition: &str, machine_type: MachineType) -> Vec<Diagnostic> {
    let mut cx = context::Cx::new(machine_type);
    if definition.trim().is_empty() {
        cx.schema("Definition must be a valid JSON object", "/");
        return cx.into_diagnostics();
    }
    match serde_json::from_str::<serde_json::Value>(definition) {
        Ok(serde_json::Value::Object(root)) => {
            duplicates::check(&mut cx, definition);
            scope::check_root(&mut cx, &root)
        }
        Ok(_) => cx.schema("Definition must be a valid JSON object", "/"),
        Err(e) => cx.error(
            context::INVALID_JSON_DESCRIPTION,
            format!("Invalid JSON: {e}"),
            "/",
        ),
    }
    cx.into_diagnostics()
}

/// The message of an `InvalidDefinition` error built from error diagnostics, in AWS's form:
/// `Invalid State Machine Definition: 'CODE: message at /loc, CODE: …'`. A diagnostic without
/// a location renders as `at null`, as AWS does (observed for `MISSING_END_STATE`).
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let location = if d.location.is_empty() {
                "null"
            } else {
                d.location.as_str()
            };
            format!("{}: {} at {}", d.code, d.message, location)
        })
        .collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}
