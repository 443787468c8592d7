//! The entry points the fuzz targets (`fuzz/`) drive, one per target, shared with the corpus
//! replay test (`tests/fuzz_corpus.rs`) so CI checks every corpus file on stable Rust.
//!
//! Each takes arbitrary bytes and must return without panicking, hanging or growing memory
//! without bound; results are ignored. Owns nothing else; must not keep state.

use serde_json::{json, Value};
use std::cell::Cell;

/// The fuzz targets, by name (the file names under `fuzz/fuzz_targets/` and
/// `fuzz/corpus/`).
pub const TARGETS: &[&str] = &[
    "definition",
    "jsonpath",
    "intrinsics",
    "api_request",
    "task_token",
    "json_depth",
    "jsonata",
    "mock_file",
    "functions_file",
    "connections_file",
];

/// Run `target` on `data`; `false` for an unknown target.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "definition" => definition(data),
        "jsonpath" => jsonpath(data),
        "intrinsics" => intrinsics(data),
        "api_request" => api_request(data),
        "task_token" => task_token(data),
        "json_depth" => json_depth(data),
        "jsonata" => jsonata(data),
        "mock_file" => mock_file(data),
        "functions_file" => functions_file(data),
        "connections_file" => connections_file(data),
        _ => return false,
    }
    true
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Parse and validate a state machine definition, for both machine types.
pub fn definition(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = cairn_asl::parse_definition_str(text);
    let _ = cairn_asl::validate(text, cairn_asl::MachineType::Standard);
    let _ = cairn_asl::validate(text, cairn_asl::MachineType::Express);
}

fn with_scope(f: impl FnOnce(&cairn_jsonpath::Scope)) {
    let input = json!({"a": [1, 2, {"b": "c"}], "s": "x,y", "n": 3.5, "o": {"k": null}});
    let context = json!({"Execution": {"Id": "arn"}, "State": {"Name": "S"}});
    let entropy = Cell::new(7);
    let scope = cairn_jsonpath::Scope {
        input: &input,
        context: &context,
        variables: &cairn_jsonpath::NoVariables,
        entropy: &entropy,
    };
    f(&scope)
}

/// Check and evaluate a path, a reference path and a result path.
pub fn jsonpath(data: &[u8]) {
    let Some(path) = text(data) else { return };
    let _ = cairn_jsonpath::check_path(path);
    let _ = cairn_jsonpath::check_reference_path(path);
    let _ = cairn_jsonpath::check_result_path(path);
    with_scope(|scope| {
        let _ = cairn_jsonpath::evaluate_path(path, scope);
        let _ = cairn_jsonpath::lookup_path(path, scope);
    });
    let _ = cairn_jsonpath::write_result_path(path, json!({"a": 1}), json!([1]));
}

/// Check and evaluate an intrinsic function call, and a payload template around it.
pub fn intrinsics(data: &[u8]) {
    let Some(expr) = text(data) else { return };
    let _ = cairn_jsonpath::check_intrinsic(expr);
    let _ = cairn_jsonpath::check_expression(expr);
    with_scope(|scope| {
        let _ = cairn_jsonpath::evaluate_expression(expr, scope);
        let template = json!({"x.$": expr, "y": [expr]});
        let _ = cairn_jsonpath::evaluate_template(&template, scope, "Parameters");
    });
}

/// An API request body: `<Operation>\n<JSON>`, parsed and validated as the server does.
pub fn api_request(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (name, body) = text.split_once('\n').unwrap_or(("StartExecution", text));
    let Ok(body) = serde_json::from_str::<Value>(body) else {
        return;
    };
    if let Some(op) = cairn_api::operation(name.trim()) {
        let _ = cairn_api::validate_request(op, &body);
    }
    for member in [
        "stateMachineArn",
        "executionArn",
        "activityArn",
        "resourceArn",
    ] {
        if let Some(arn) = body.get(member).and_then(Value::as_str) {
            let _ = cairn_api::Arn::parse(arn);
        }
    }
}

/// Open a task token (never valid: the key is fixed and unknown to the input).
pub fn task_token(data: &[u8]) {
    let Some(token) = text(data) else { return };
    let _ = cairn_core::token::open(&[7u8; 32], token);
}

/// Measure JSON nesting as the API does before parsing.
pub fn json_depth(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if !cairn_core::limits::too_deep(text) {
        let _ = serde_json::from_str::<Value>(text);
    }
}

/// Compile and evaluate a JSONata expression, and a JSONata template field: the bytes as a
/// JSON template when they are JSON, else wrapped in `{% %}` inside one.
pub fn jsonata(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let states = json!({
        "input": {"a": [1, 2, {"b": "c"}], "s": "x,y", "n": 3.5, "o": {"k": null}},
        "context": {"Execution": {"Id": "arn"}, "State": {"Name": "S"}},
    });
    let vars = serde_json::Map::from_iter([("v".to_string(), json!([1, "two", {"three": 3}]))]);
    // A tighter time budget than the default keeps each input well under the fuzzer's hang
    // timeout; the other limits stay as the server runs them.
    let limits = cairn_jsonata::Limits {
        time_budget_ms: 1_000,
        ..cairn_jsonata::Limits::default()
    };
    let bindings = cairn_jsonata::Bindings::new(&states)
        .with_variables(&vars)
        .with_now_ms(1_700_000_000_000)
        .with_entropy(7)
        .with_limits(limits);
    if let Ok(expr) = cairn_jsonata::compile(text) {
        let _ = cairn_jsonata::evaluate(&expr, &bindings);
    }
    let template = serde_json::from_str::<Value>(text)
        .unwrap_or_else(|_| json!({"x": format!("{{% {text} %}}")}));
    if let Ok(t) = cairn_jsonata::Template::compile(&template, "Output") {
        let _ = t.evaluate(&bindings, "Output");
    }
}

/// A settings file's text, read as TOML and as JSON, as `cairn serve` loads it.
fn settings(data: &[u8], f: impl Fn(&Value)) {
    use crate::runtime::resources::settings_file::parse_document;
    let Some(text) = text(data) else { return };
    for toml in [true, false] {
        if let Ok(doc) = parse_document(text, toml) {
            f(&doc);
        }
    }
}

/// Load a mock configuration file (`--mock-config`).
pub fn mock_file(data: &[u8]) {
    settings(data, |doc| {
        let _ = crate::runtime::resources::mock::MockConfig::from_json(doc);
    });
}

/// Load a functions file (`--functions`); nothing is run.
pub fn functions_file(data: &[u8]) {
    settings(data, |doc| {
        let base = std::path::Path::new("/fns");
        let _ = crate::runtime::resources::functions_file::FunctionsFile::from_document(doc, base);
    });
}

/// Load a connections file (`--connections`).
pub fn connections_file(data: &[u8]) {
    settings(data, |doc| {
        let _ = crate::runtime::resources::connections::Connections::from_document(doc);
    });
}
