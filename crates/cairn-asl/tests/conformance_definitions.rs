//! Every definition in the shared conformance cases was accepted by AWS, so `validate` must
//! find no error in any of them, and the parser must build a model for each. This is the
//! guard against rules stricter than AWS's.

use cairn_asl::{parse_definition_str, validate, MachineType, Severity};
use std::path::PathBuf;

fn cases_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/cases.jsonl")
}

/// (case id, machine type, definition text) for every case.
fn definitions() -> Option<Vec<(String, MachineType, String)>> {
    let text = std::fs::read_to_string(cases_file()).ok()?;
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("cases.jsonl line {}: {e}", line_no + 1));
        let id = case["id"].as_str().unwrap_or("?").to_string();
        let machine_type = match case["type"].as_str() {
            Some("EXPRESS") => MachineType::Express,
            _ => MachineType::Standard,
        };
        let definition = match case["definition_string"].as_str() {
            Some(s) => s.to_string(),
            None => case["definition"].to_string(),
        };
        out.push((id, machine_type, definition));
    }
    Some(out)
}

#[test]
fn every_definition_aws_accepted_validates_without_errors() {
    let Some(cases) = definitions() else {
        eprintln!("skipped: {} not found", cases_file().display());
        return;
    };
    assert!(!cases.is_empty(), "cases.jsonl holds no case");
    let mut failures = Vec::new();
    for (id, machine_type, definition) in &cases {
        let errors: Vec<_> = validate(definition, *machine_type)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{id}: {errors:?}"));
        }
    }
    eprintln!("validated {} accepted definitions", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} accepted definitions were refused:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_definition_aws_accepted_parses() {
    let Some(cases) = definitions() else {
        eprintln!("skipped: {} not found", cases_file().display());
        return;
    };
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(id, _, definition)| {
            parse_definition_str(definition)
                .err()
                .map(|e| format!("{id}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
