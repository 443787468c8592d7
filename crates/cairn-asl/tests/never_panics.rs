//! Property: no input makes `validate` or the parser panic — arbitrary text, arbitrary JSON,
//! and (to reach the deep rules) arbitrary JSON built from ASL's own field names and typical
//! values. Also: every diagnostic is an error with a known code, and a definition `validate`
//! accepts can be parsed.

use cairn_asl::{parse_definition, parse_definition_str, validate, MachineType, Severity};
use proptest::prelude::*;
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "StartAt",
    "States",
    "Type",
    "Next",
    "End",
    "Comment",
    "QueryLanguage",
    "Version",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "TimeoutSecondsPath",
    "Resource",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "InputPath",
    "OutputPath",
    "Result",
    "Arguments",
    "Output",
    "Assign",
    "Retry",
    "Catch",
    "ErrorEquals",
    "MaxAttempts",
    "BackoffRate",
    "IntervalSeconds",
    "JitterStrategy",
    "Choices",
    "Default",
    "Variable",
    "StringEquals",
    "NumericEqualsPath",
    "And",
    "Or",
    "Not",
    "Condition",
    "IsPresent",
    "Seconds",
    "Timestamp",
    "SecondsPath",
    "Error",
    "CausePath",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ProcessorConfig",
    "Mode",
    "ExecutionType",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "MaxConcurrency",
    "Label",
    "ItemReader",
    "ReaderConfig",
    "ItemBatcher",
    "ResultWriter",
    "Credentials",
    "RoleArn",
    "a.$",
    "A",
    "B",
    "",
];

const STRINGS: &[&str] = &[
    "A",
    "B",
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Succeed",
    "Fail",
    "Parallel",
    "Map",
    "JSONata",
    "JSONPath",
    "1.0",
    "$",
    "$.a",
    "$$.Map.Item.Value",
    "$.a[*]",
    "States.ALL",
    "States.Format('{}', $.x)",
    "{% $states.input %}",
    "{%%}",
    "{%",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::states:startExecution.sync:2",
    "arn:aws:states:r:1:activity:x",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "arn:",
    "DISTRIBUTED",
    "INLINE",
    "FULL",
    "2016-03-14T01:59:00Z",
    "2016-03-14T01:59:00.5+0",
    "é",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-5i64..200).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn asl_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![prop::sample::select(KEYS).prop_map(String::from), ".{0,6}"],
                    inner
                ),
                0..7
            )
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn machine_type() -> impl Strategy<Value = MachineType> {
    prop_oneof![Just(MachineType::Standard), Just(MachineType::Express)]
}

fn check(text: &str, machine_type: MachineType) {
    let diagnostics = validate(text, machine_type);
    for d in &diagnostics {
        assert!(
            [
                "SCHEMA_VALIDATION_FAILED",
                "INVALID_JSON_DESCRIPTION",
                "MISSING_TRANSITION_TARGET",
                "MISSING_END_STATE",
                "INVALID_STATE_NAME",
                "DUPLICATE_STATE_NAME",
                "INVALID_LABEL_NAME",
                "DUPLICATE_LABEL_NAME",
                "INVALID_JSONATA_EXPRESSION",
                "UNSUPPORTED_JSONATA_EXPRESSION",
                "NO_DOLLAR",
                "NO_PATH",
                "PASS_RESULT_IS_STATIC",
            ]
            .contains(&d.code.as_str()),
            "unknown code {d:?}"
        );
        assert!(!d.message.is_empty());
    }
    let parsed = parse_definition_str(text);
    if diagnostics.iter().all(|d| d.severity == Severity::Warning) {
        assert!(parsed.is_ok(), "valid but unparseable: {text}: {parsed:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}", machine_type in machine_type()) {
        check(&text, machine_type);
    }

    #[test]
    fn arbitrary_json_never_panics(value in asl_json(), machine_type in machine_type()) {
        check(&value.to_string(), machine_type);
        let _ = parse_definition(&value);
    }

    #[test]
    fn arbitrary_state_machines_never_panic(
        states in prop::collection::vec((prop::sample::select(&KEYS[KEYS.len() - 3..]), asl_json()), 0..4),
        start in prop::sample::select(&KEYS[KEYS.len() - 3..]),
        root in asl_json(),
        machine_type in machine_type(),
    ) {
        let mut def = match root { Value::Object(m) => m, _ => Map::new() };
        def.insert("StartAt".into(), Value::from(start));
        def.insert(
            "States".into(),
            Value::Object(states.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        );
        let value = Value::Object(def);
        check(&value.to_string(), machine_type);
        let _ = parse_definition(&value);
    }
}

#[test]
fn deeply_nested_input_is_refused_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let diagnostics = validate(&deep, MachineType::Standard);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, "INVALID_JSON_DESCRIPTION");
    let mut rules = serde_json::json!({"Variable": "$.a", "IsNull": true});
    for _ in 0..60 {
        rules = serde_json::json!({"Not": rules});
    }
    rules["Next"] = "D".into();
    let def = serde_json::json!({"StartAt": "A", "States": {
        "A": {"Type": "Choice", "Choices": [rules], "Default": "D"}, "D": {"Type": "Succeed"}}});
    assert_eq!(validate(&def.to_string(), MachineType::Standard), vec![]);
}
