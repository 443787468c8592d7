//! ValidateStateMachineDefinition: run the validator and report; never an error for a bad
//! definition (`result: FAIL` plus diagnostics). `severity: WARNING` also lists warnings;
//! `maxResults` (0 → 100) caps the list, `truncated` says whether it was cut.

use crate::api::{definition, parse_input, Ctx};
use crate::app::App;
use cairn_api::ApiError;
use cairn_asl::{validate, Severity};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    definition: String,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    severity: Option<String>,
    max_results: Option<i64>,
}

pub async fn handle(_app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let machine_type =
        definition::machine_type(input.machine_type.as_deref().unwrap_or("STANDARD"));
    let with_warnings = input.severity.as_deref() == Some("WARNING");
    let limit = match input.max_results {
        None | Some(0) => 100,
        Some(n) => n.clamp(1, 100) as usize,
    };
    let diagnostics = validate(&input.definition, machine_type);
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let shown: Vec<Value> = diagnostics
        .iter()
        .filter(|d| with_warnings || d.severity == Severity::Error)
        .map(|d| {
            json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "location": d.location,
            })
        })
        .collect();
    let truncated = shown.len() > limit;
    let shown: Vec<Value> = shown.into_iter().take(limit).collect();
    Ok(json!({
        "result": if failed { "FAIL" } else { "OK" },
        "diagnostics": shown,
        "truncated": truncated,
    }))
}
