//! Map: the processor (`ItemProcessor` or legacy `Iterator`, exactly one) with its
//! `ProcessorConfig`, the item source (`ItemsPath` / `Items`), `ItemSelector` (or legacy
//! `Parameters`), concurrency and failure tolerance, `Label`, and the Distributed Map
//! `ItemReader` / `ItemBatcher` / `ResultWriter` objects (ASL digest §11.2).
//!
//! Measured AWS behaviour used here: number fields below 0 → "Minimum value is 0" (the
//! percentage also "Maximum value is 100.0"); a literal together with its `…Path` → "There
//! should only be one of the following fields: [X, XPath]"; `…Path` number fields must be
//! reference paths into the state input (`$$…` refused: "Value is not a Reference Path");
//! `ItemProcessor`/`Iterator` refuse `QueryLanguage`. Label: no whitespace, no
//! `?*<>{}[]"#%\^|~`$&,;:/`, no control characters (ARNS.md §2), ≤ 40 characters (unverified
//! length), unique within the machine (unverified) → `INVALID_LABEL_NAME` /
//! `DUPLICATE_LABEL_NAME` (AWS's documented codes; wordings ours).
//!
//! Must not: check the processor's states (scope does).

use super::context::{at, Cx, Kind, DUPLICATE_LABEL_NAME, INVALID_LABEL_NAME};
use super::scope::{self, ScopeKind};
use super::{jsonata, paths, values};
use crate::model::QueryLanguage;
use serde_json::{Map, Value};

const MAX_LABEL: usize = 40;
/// ReaderConfig `MaxItems` upper bound.
const MAX_ITEMS: i64 = 100_000_000;
/// ItemBatcher `MaxInputBytesPerBatch` upper bound (256 KiB).
const MAX_BATCH_BYTES: i64 = 262_144;

pub fn check(cx: &mut Cx, state: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    check_processor(cx, state, location);

    if ql == QueryLanguage::JsonPath {
        if let Some(value) = state.get("ItemsPath") {
            paths::reference_path(cx, value, "ItemsPath", &at(location, "ItemsPath"), true);
        }
    }
    if let Some(items) = state.get("Items") {
        if !(items.is_array() || jsonata::is_expression(items)) {
            cx.wrong_kind("Items", Kind::Array, items, &at(location, "Items"));
        }
    }

    values::exclusive(cx, state, &["ItemSelector", "Parameters"], location);
    if let Some(selector) = state.get("ItemSelector") {
        let selector_at = at(location, "ItemSelector");
        match selector {
            Value::Object(obj) if ql == QueryLanguage::JsonPath => {
                paths::template_object(cx, obj, &selector_at)
            }
            Value::Object(_) => {}
            other if ql == QueryLanguage::Jsonata && jsonata::is_expression(other) => {}
            other => cx.wrong_kind("ItemSelector", Kind::Object, other, &selector_at),
        }
    }

    number_with_path(cx, state, "MaxConcurrency", ql, location, None);
    number_with_path(cx, state, "ToleratedFailureCount", ql, location, None);
    values::exclusive(
        cx,
        state,
        &[
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
        ],
        location,
    );
    if !jsonata::dynamic(ql, state.get("ToleratedFailurePercentage")) {
        values::number(
            cx,
            state,
            "ToleratedFailurePercentage",
            location,
            0.0,
            Some(100.0),
        );
    }
    numeric_path(cx, state, "ToleratedFailurePercentagePath", ql, location);

    if let Some(label) = values::string(cx, state, "Label", location) {
        check_label(cx, label, &at(location, "Label"));
    }
    if let Some(reader) = values::object(cx, state, "ItemReader", location) {
        check_item_reader(cx, reader, ql, &at(location, "ItemReader"));
    }
    if let Some(batcher) = values::object(cx, state, "ItemBatcher", location) {
        check_item_batcher(cx, batcher, ql, &at(location, "ItemBatcher"));
    }
    if let Some(writer) = values::object(cx, state, "ResultWriter", location) {
        check_result_writer(cx, writer, ql, &at(location, "ResultWriter"));
    }
}

fn check_processor(cx: &mut Cx, state: &Map<String, Value>, location: &str) {
    match values::exclusive(cx, state, &["ItemProcessor", "Iterator"], location) {
        0 => cx.required(&["ItemProcessor"], location),
        1 => {}
        _ => return,
    }
    for (field, kind) in [
        ("ItemProcessor", ScopeKind::ItemProcessor),
        ("Iterator", ScopeKind::Iterator),
    ] {
        if let Some(processor) = values::object(cx, state, field, location) {
            let processor_at = at(location, field);
            if let Some(config) = values::object(cx, processor, "ProcessorConfig", &processor_at) {
                check_processor_config(cx, config, &at(&processor_at, "ProcessorConfig"));
            }
            scope::check_scope(cx, processor, &processor_at, kind);
        }
    }
}

fn check_processor_config(cx: &mut Cx, config: &Map<String, Value>, location: &str) {
    values::only_fields(cx, config, &["Mode", "ExecutionType"], location);
    let mode = values::one_of(cx, config, "Mode", &["INLINE", "DISTRIBUTED"], location);
    values::one_of(
        cx,
        config,
        "ExecutionType",
        &["STANDARD", "EXPRESS"],
        location,
    );
    if mode == Some("DISTRIBUTED") && !config.contains_key("ExecutionType") {
        cx.required(&["ExecutionType"], location);
    }
}

/// A non-negative integer field with a `…Path` twin (`MaxConcurrency`, `ToleratedFailureCount`,
/// ItemBatcher/ReaderConfig counts).
fn number_with_path(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    field: &str,
    ql: QueryLanguage,
    location: &str,
    max: Option<i64>,
) {
    let path_field = format!("{field}Path");
    values::exclusive(cx, obj, &[field, &path_field], location);
    if !jsonata::dynamic(ql, obj.get(field)) {
        values::integer(cx, obj, field, location, 0, max);
    }
    numeric_path(cx, obj, &path_field, ql, location);
}

/// A numeric `…Path` field: a reference path into the state input (no context object).
fn numeric_path(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    field: &str,
    ql: QueryLanguage,
    location: &str,
) {
    if ql != QueryLanguage::JsonPath {
        return;
    }
    if let Some(value) = obj.get(field) {
        paths::reference_path(cx, value, field, &at(location, field), false);
    }
}

fn check_label(cx: &mut Cx, label: &str, location: &str) {
    const FORBIDDEN: &str = "?*<>{}[]\"#%\\^|~`$&,;:/";
    let bad = label.is_empty()
        || label.chars().count() > MAX_LABEL
        || label
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c));
    if bad {
        cx.error(
            INVALID_LABEL_NAME,
            format!(
                "Label '{label}' is invalid: use 1 to {MAX_LABEL} characters without whitespace, control characters or any of {FORBIDDEN}"
            ),
            location,
        );
        return;
    }
    if let Some(first) = cx.labels.get(label) {
        let first = first.clone();
        cx.error(
            DUPLICATE_LABEL_NAME,
            format!("Label '{label}' is already used at {first}"),
            location,
        );
    } else {
        cx.labels.insert(label.to_string(), location.to_string());
    }
}

/// `Parameters` (JSONPath) / `Arguments` (JSONata) of ItemReader and ResultWriter.
fn check_io_arguments(cx: &mut Cx, obj: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    for (field, only) in [
        ("Parameters", QueryLanguage::JsonPath),
        ("Arguments", QueryLanguage::Jsonata),
    ] {
        if obj.contains_key(field) && ql != only {
            cx.wrong_language(field, ql, location);
        }
    }
    if ql == QueryLanguage::JsonPath {
        if let Some(parameters) = values::object(cx, obj, "Parameters", location) {
            paths::template_object(cx, parameters, &at(location, "Parameters"));
        }
    }
}

fn check_resource(cx: &mut Cx, obj: &Map<String, Value>, location: &str) {
    if !obj.contains_key("Resource") {
        cx.required(&["Resource"], location);
    } else if let Some(Value::String(_)) = obj.get("Resource") {
        jsonata::literal_only(cx, &obj["Resource"], "Resource", &at(location, "Resource"));
    } else {
        values::string(cx, obj, "Resource", location);
    }
}

fn check_item_reader(cx: &mut Cx, reader: &Map<String, Value>, ql: QueryLanguage, location: &str) {
    values::only_fields(
        cx,
        reader,
        &["Resource", "Parameters", "Arguments", "ReaderConfig"],
        location,
    );
    check_resource(cx, reader, location);
    check_io_arguments(cx, reader, ql, location);
    let Some(config) = values::object(cx, reader, "ReaderConfig", location) else {
        return;
    };
    let config_at = at(location, "ReaderConfig");
    values::only_fields(
        cx,
        config,
        &[
            "InputType",
            "CSVHeaderLocation",
            "CSVHeaders",
            "CSVDelimiter",
            "ManifestType",
            "Transformation",
            "ItemsPointer",
            "MaxItems",
            "MaxItemsPath",
        ],
        &config_at,
    );
    values::one_of(
        cx,
        config,
        "InputType",
        &["CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"],
        &config_at,
    );
    values::one_of(
        cx,
        config,
        "CSVHeaderLocation",
        &["FIRST_ROW", "GIVEN"],
        &config_at,
    );
    values::one_of(
        cx,
        config,
        "CSVDelimiter",
        &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
        &config_at,
    );
    values::one_of(
        cx,
        config,
        "ManifestType",
        &["ATHENA_DATA", "S3_INVENTORY"],
        &config_at,
    );
    values::one_of(
        cx,
        config,
        "Transformation",
        &["NONE", "LOAD_AND_FLATTEN"],
        &config_at,
    );
    values::string(cx, config, "ItemsPointer", &config_at);
    if let Some(headers) = values::array(cx, config, "CSVHeaders", &config_at) {
        for (i, header) in headers.iter().enumerate() {
            if !header.is_string() {
                cx.wrong_kind(
                    "CSVHeaders",
                    Kind::String,
                    header,
                    &format!("{config_at}/CSVHeaders[{i}]"),
                );
            }
        }
    }
    number_with_path(cx, config, "MaxItems", ql, &config_at, Some(MAX_ITEMS));
}

fn check_item_batcher(
    cx: &mut Cx,
    batcher: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
) {
    values::only_fields(
        cx,
        batcher,
        &[
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ],
        location,
    );
    number_with_path(cx, batcher, "MaxItemsPerBatch", ql, location, None);
    number_with_path(
        cx,
        batcher,
        "MaxInputBytesPerBatch",
        ql,
        location,
        Some(MAX_BATCH_BYTES),
    );
    if ql == QueryLanguage::JsonPath {
        if let Some(input) = batcher.get("BatchInput") {
            paths::template(cx, input, &at(location, "BatchInput"));
        }
    }
}

fn check_result_writer(
    cx: &mut Cx,
    writer: &Map<String, Value>,
    ql: QueryLanguage,
    location: &str,
) {
    values::only_fields(
        cx,
        writer,
        &["Resource", "Parameters", "Arguments", "WriterConfig"],
        location,
    );
    // A ResultWriter with only WriterConfig (results returned inline, transformed) is valid;
    // Resource is needed only to write to a store.
    if writer.contains_key("Resource") {
        check_resource(cx, writer, location);
    }
    check_io_arguments(cx, writer, ql, location);
    if let Some(config) = values::object(cx, writer, "WriterConfig", location) {
        let config_at = at(location, "WriterConfig");
        values::only_fields(cx, config, &["OutputType", "Transformation"], &config_at);
        values::one_of(cx, config, "OutputType", &["JSON", "JSONL"], &config_at);
        values::one_of(
            cx,
            config,
            "Transformation",
            &["NONE", "COMPACT", "FLATTEN"],
            &config_at,
        );
    }
}
