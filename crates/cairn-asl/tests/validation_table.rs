//! A table of definitions, valid and invalid, with the exact diagnostics `validate` must
//! return: the full set of (code, location) pairs — no more, no fewer — and, where AWS's
//! wording is known (or ours is the contract), a substring of the message.

use cairn_asl::{invalid_definition_message, validate, Diagnostic, MachineType, Severity};
use serde_json::{json, Value};

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";
const TARGET: &str = "MISSING_TRANSITION_TARGET";
const END: &str = "MISSING_END_STATE";
/// Codes that are warnings; every other code is an error.
const WARNINGS: &[&str] = &["NO_DOLLAR", "NO_PATH", "PASS_RESULT_IS_STATIC"];

struct Case {
    name: &'static str,
    machine_type: MachineType,
    definition: String,
    /// (code, location, message substring — "" to skip the message check).
    expected: Vec<(&'static str, String, &'static str)>,
}

fn case(
    name: &'static str,
    definition: Value,
    expected: &[(&'static str, &str, &'static str)],
) -> Case {
    Case {
        name,
        machine_type: MachineType::Standard,
        definition: definition.to_string(),
        expected: expected
            .iter()
            .map(|(c, l, m)| (*c, l.to_string(), *m))
            .collect(),
    }
}

fn raw(
    name: &'static str,
    definition: &str,
    expected: &[(&'static str, &str, &'static str)],
) -> Case {
    Case {
        definition: definition.to_string(),
        ..case(name, Value::Null, expected)
    }
}

fn express(mut c: Case) -> Case {
    c.machine_type = MachineType::Express;
    c
}

/// A machine whose only state is `A`.
fn one(state: Value) -> Value {
    json!({"StartAt": "A", "States": {"A": state}})
}

/// A JSONata machine whose only state is `A`.
fn one_jsonata(state: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": state}})
}

/// A Task state with `extra` fields merged in.
fn task(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), extra) {
        t.extend(extra);
    }
    t
}

/// A Choice state `A` with the given rules, defaulting to the Succeed state `D`.
fn choice(rules: Value) -> Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Choice", "Choices": rules, "Default": "D"},
        "D": {"Type": "Succeed"}
    }})
}

/// A Map state `A` with `extra` fields and a one-state inline processor.
fn map(extra: Value) -> Value {
    let mut m = json!({"Type": "Map", "End": true, "ItemProcessor": {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
    if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
        m.extend(extra);
    }
    one(m)
}

fn cases() -> Vec<Case> {
    vec![
        // ---- valid definitions ------------------------------------------------------------
        case("minimal pass", one(json!({"Type": "Pass", "End": true})), &[]),
        case(
            "full JSONPath task",
            json!({"Comment": "c", "Version": "1.0", "TimeoutSeconds": 60, "StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                      "InputPath": "$.in", "Parameters": {"a.$": "$.x", "b": [1, {"c.$": "States.Format('{}', $.y)"}], "ctx.$": "$$.Execution.Id"},
                      "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.out", "OutputPath": "$",
                      "TimeoutSeconds": 30, "HeartbeatSeconds": 10,
                      "Credentials": {"RoleArn": "arn:aws:iam::111111111111:role/r"},
                      "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 0,
                                 "BackoffRate": 1.5, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"},
                                {"ErrorEquals": ["States.ALL"]}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "F"}],
                      "Assign": {"v.$": "$.Payload", "w": 1},
                      "Next": "S"},
                "F": {"Type": "Fail", "Error": "E", "Cause": "C"},
                "S": {"Type": "Succeed"}
            }}),
            &[],
        ),
        case(
            "JSONata machine",
            json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                      "TimeoutSeconds": "{% $states.input.t %}", "Output": "{% $states.result %}",
                      "Assign": {"x": "{% $states.result.x %}"},
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "C"}],
                      "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Condition": "{% $x > 1 %}", "Next": "W", "Output": {"a": 1}}], "Default": "W"},
                "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "F"},
                "F": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "c"}
            }}),
            &[],
        ),
        case(
            "parallel with two branches",
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
                "ResultSelector": {"all.$": "$"},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
                    {"StartAt": "B2", "States": {"B2": {"Type": "Wait", "Seconds": 0, "Next": "B3"}, "B3": {"Type": "Succeed"}}}
                ]}}}),
            &[],
        ),
        case(
            "distributed map with reader, batcher, writer and label",
            map(json!({
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                  "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                               "Parameters": {"Bucket": "b", "Key.$": "$.key"},
                               "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"], "MaxItems": 10}},
                "ItemBatcher": {"MaxItemsPerBatch": 5, "BatchInput": {"k.$": "$.k"}},
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}},
                "ItemSelector": {"i.$": "$$.Map.Item.Value"},
                "MaxConcurrency": 0, "ToleratedFailurePercentage": 5.5, "Label": "my-label_1",
                "ItemsPath": "$.items"
            })),
            &[],
        ),
        case(
            "legacy map with Iterator and Parameters",
            one(json!({"Type": "Map", "End": true, "Parameters": {"x.$": "$$.Map.Item.Index"},
                "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[],
        ),
        case(
            "choice with nested And, Or, Not",
            choice(json!([{"And": [
                {"Variable": "$.a", "StringEquals": "x"},
                {"Or": [{"Variable": "$.b", "NumericGreaterThanPath": "$.c"}, {"Not": {"Variable": "$.d", "IsPresent": true}}]}
            ], "Next": "D", "Assign": {"n": 1}}])),
            &[],
        ),
        case(
            "wait with a timestamp and a fail with an intrinsic ErrorPath",
            json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00.123+01:00", "Next": "F"},
                "F": {"Type": "Fail", "ErrorPath": "States.Format('E{}', $.n)", "CausePath": "$.cause"}
            }}),
            &[],
        ),
        case(
            "a state opting into JSONata under a JSONPath machine",
            one(json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true})),
            &[],
        ),
        express(case(
            "express request/response integrations are fine",
            one(task(json!({"Resource": "arn:aws:states:::aws-sdk:s3:getObject"}))),
            &[],
        )),
        case(
            "standard machine may use activities, .sync and callbacks",
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:111111111111:activity:act", "Next": "B"},
                "B": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "Next": "C"},
                "C": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}
            }}),
            &[],
        ),
        // ---- JSON and document shape -------------------------------------------------------
        raw("empty string", "", &[(SCHEMA, "/", "Definition must be a valid JSON object")]),
        raw("blank string", "  \n", &[(SCHEMA, "/", "Definition must be a valid JSON object")]),
        raw("not JSON", "{\"StartAt\": ", &[("INVALID_JSON_DESCRIPTION", "/", "line 1 column")]),
        raw("JSON array", "[1, 2]", &[(SCHEMA, "/", "Definition must be a valid JSON object")]),
        raw("empty object", "{}", &[(SCHEMA, "/", "These fields are required: [States, StartAt]")]),
        case(
            "missing StartAt",
            json!({"States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/", "These fields are required: [StartAt]")],
        ),
        case("missing States", json!({"StartAt": "A"}), &[(SCHEMA, "/", "These fields are required: [States]")]),
        case(
            "unknown top-level field",
            json!({"StartAt": "A", "Foo": 1, "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/", "Field 'Foo' is not supported")],
        ),
        case(
            "Version other than 1.0",
            json!({"Version": "2.0", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/Version", "should have one of these values: [1.0]")],
        ),
        case(
            "top-level TimeoutSeconds zero",
            json!({"TimeoutSeconds": 0, "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/TimeoutSeconds", "Minimum value is 1")],
        ),
        case(
            "top-level TimeoutSeconds as a string",
            json!({"TimeoutSeconds": "10", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/TimeoutSeconds", "must be an INTEGER but was a STRING")],
        ),
        case(
            "unknown QueryLanguage",
            json!({"QueryLanguage": "XPath", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/QueryLanguage", "should have one of these values: [JSONPath, JSONata]")],
        ),
        case(
            "empty States",
            json!({"StartAt": "A", "States": {}}),
            &[(SCHEMA, "/States", "Value cannot be empty"), (TARGET, "/StartAt", "Missing 'Next' target: A")],
        ),
        case(
            "StartAt names no state",
            json!({"StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}),
            &[(TARGET, "/StartAt", "Missing 'Next' target: B")],
        ),
        // ---- per-state schema --------------------------------------------------------------
        case("state is not an object", one(json!(1)), &[(SCHEMA, "/States/A", "must be an OBJECT but was an INTEGER")]),
        case("state without Type", one(json!({"End": true})), &[(SCHEMA, "/States/A", "These fields are required: [Type]")]),
        case(
            "unknown Type",
            one(json!({"Type": "Foo", "End": true})),
            &[(SCHEMA, "/States/A/Type", "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]")],
        ),
        case(
            "state name longer than 80 characters",
            json!({"StartAt": "a".repeat(81), "States": {"a".repeat(81): {"Type": "Pass", "End": true}}}),
            &[("INVALID_STATE_NAME", &format!("/States/{}", "a".repeat(81)), "80")],
        ),
        case(
            "Next and End together",
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Pass", "End": true}}}),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [Next, End]")],
        ),
        case(
            "neither Next nor End (and so no terminal state)",
            one(json!({"Type": "Pass"})),
            &[(SCHEMA, "/States/A", "[Next, End]"), (END, "", "Workflow has no terminal state")],
        ),
        case(
            "End false without Next",
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": false}, "B": {"Type": "Succeed"}}}),
            &[(SCHEMA, "/States/A", "[Next, End]"), (TARGET, "/States/B", "State \"B\" is not reachable.")],
        ),
        case("unknown field on a state", one(json!({"Type": "Pass", "Foo": 1, "End": true})), &[(SCHEMA, "/States/A", "Field 'Foo' is not supported")]),
        case(
            "TimeoutSeconds on a Map",
            map(json!({"TimeoutSeconds": 5})),
            &[(SCHEMA, "/States/A", "Field 'TimeoutSeconds' is not supported")],
        ),
        case(
            "Retry on a Pass",
            one(json!({"Type": "Pass", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}]})),
            &[(SCHEMA, "/States/A", "Field 'Retry' is not supported")],
        ),
        case(
            "Catch on a Succeed",
            one(json!({"Type": "Succeed", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}]})),
            &[(SCHEMA, "/States/A", "Field 'Catch' is not supported")],
        ),
        case("InputPath on a Fail", one(json!({"Type": "Fail", "InputPath": "$"})), &[(SCHEMA, "/States/A", "Field 'InputPath' is not supported")]),
        case("End on a Succeed", one(json!({"Type": "Succeed", "End": true})), &[(SCHEMA, "/States/A", "Field 'End' is not supported")]),
        case(
            "Next on a Choice",
            choice_with(json!({"Next": "D"})),
            &[(SCHEMA, "/States/A", "Field 'Next' is not supported")],
        ),
        case(
            "a misplaced field is reported once, its value is not judged",
            one(json!({"Type": "Fail", "InputPath": 5, "Assign": {"states": 1}})),
            &[(SCHEMA, "/States/A", "Field 'InputPath' is not supported"), (SCHEMA, "/States/A", "Field 'Assign' is not supported")],
        ),
        // ---- Task ------------------------------------------------------------------------
        case("Task without Resource", one(json!({"Type": "Task", "End": true})), &[(SCHEMA, "/States/A", "These fields are required: [Resource]")]),
        case(
            "Resource not a string",
            one(task(json!({"Resource": 123}))),
            &[(SCHEMA, "/States/A/Resource", "must be a STRING but was an INTEGER")],
        ),
        case("Resource not an ARN", one(task(json!({"Resource": "createToken"}))), &[(SCHEMA, "/States/A/Resource", "Value is not a valid resource ARN")]),
        case("Task TimeoutSeconds zero", one(task(json!({"TimeoutSeconds": 0}))), &[(SCHEMA, "/States/A/TimeoutSeconds", "Minimum value is 1")]),
        case(
            "Task TimeoutSeconds too large",
            one(task(json!({"TimeoutSeconds": 100_000_000}))),
            &[(SCHEMA, "/States/A/TimeoutSeconds", "Maximum value is 99999999")],
        ),
        case(
            "Task TimeoutSeconds not an integer",
            one(task(json!({"TimeoutSeconds": 1.5}))),
            &[(SCHEMA, "/States/A/TimeoutSeconds", "must be an INTEGER but was a NUMBER")],
        ),
        case(
            "HeartbeatSeconds not below TimeoutSeconds",
            one(task(json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}))),
            &[(SCHEMA, "/States/A/HeartbeatSeconds", "must be smaller than TimeoutSeconds")],
        ),
        case(
            "TimeoutSeconds with TimeoutSecondsPath",
            one(task(json!({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"}))),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [TimeoutSeconds, TimeoutSecondsPath]")],
        ),
        case(
            "HeartbeatSecondsPath not a path",
            one(task(json!({"HeartbeatSecondsPath": "t"}))),
            &[(SCHEMA, "/States/A/HeartbeatSecondsPath", "Value is not a Reference Path")],
        ),
        case(
            "Credentials without RoleArn",
            one(task(json!({"Credentials": {}}))),
            &[(SCHEMA, "/States/A/Credentials", "The field 'RoleArn' is required but was missing")],
        ),
        case(
            "Credentials with an unknown field",
            one(task(json!({"Credentials": {"RoleArn": "arn:aws:iam::1:role/r", "Foo": 1}}))),
            &[(SCHEMA, "/States/A/Credentials", "Field 'Foo' is not supported")],
        ),
        // ---- Wait ------------------------------------------------------------------------
        case(
            "Wait without a duration",
            one(json!({"Type": "Wait", "End": true})),
            &[(SCHEMA, "/States/A", "[Seconds, Timestamp, SecondsPath, TimestampPath]")],
        ),
        case(
            "Wait with Seconds and Timestamp",
            one(json!({"Type": "Wait", "Seconds": 1, "Timestamp": "2016-03-14T01:59:00Z", "End": true})),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [Seconds, Timestamp, SecondsPath, TimestampPath]")],
        ),
        case("Wait Seconds negative", one(json!({"Type": "Wait", "Seconds": -1, "End": true})), &[(SCHEMA, "/States/A/Seconds", "Minimum value is 0")]),
        case(
            "Wait Seconds too large",
            one(json!({"Type": "Wait", "Seconds": 10_000_000_000_000_000_u64, "End": true})),
            &[(SCHEMA, "/States/A/Seconds", "Maximum value is 99999999")],
        ),
        case(
            "Wait Timestamp without offset",
            one(json!({"Type": "Wait", "Timestamp": "2016-03-14 01:59:00", "End": true})),
            &[(SCHEMA, "/States/A/Timestamp", "ISO-8601")],
        ),
        case(
            "SecondsPath in a JSONata state",
            one_jsonata(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true})),
            &[(SCHEMA, "/States/A", "The QueryLanguage is set to 'JSONata', but field 'SecondsPath' is only supported for the 'JSONPath' QueryLanguage")],
        ),
        // ---- Fail ------------------------------------------------------------------------
        case(
            "Error with ErrorPath",
            one(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [Error, ErrorPath]")],
        ),
        case(
            "ErrorPath not a string",
            one(json!({"Type": "Fail", "ErrorPath": 42})),
            &[(SCHEMA, "/States/A/ErrorPath", "The value for the field 'ErrorPath' must be a STRING that contains a JSONPath but was an INTEGER")],
        ),
        case("Cause not a string", one(json!({"Type": "Fail", "Cause": 5})), &[(SCHEMA, "/States/A/Cause", "must be a STRING but was an INTEGER")]),
        // ---- Choice ----------------------------------------------------------------------
        case("empty Choices", choice(json!([])), &[(SCHEMA, "/States/A/Choices", "Value cannot be empty")]),
        case(
            "top-level rule without Next",
            choice(json!([{"Variable": "$.a", "IsNull": true}])),
            &[(SCHEMA, "/States/A/Choices[0]", "These fields are required: [Next]")],
        ),
        case(
            "rule with two operators",
            choice(json!([{"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]", "There should only be one of the following fields: [StringEquals, NumericEquals]")],
        ),
        case(
            "rule without an operator",
            choice(json!([{"Variable": "$.a", "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]", "exactly one comparison operator")],
        ),
        case(
            "numeric operator with a string operand",
            choice(json!([{"Variable": "$.a", "NumericEquals": "5", "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/NumericEquals", "must be a NUMBER but was a STRING")],
        ),
        case(
            "type test with a non-boolean operand",
            choice(json!([{"Variable": "$.a", "IsPresent": "yes", "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/IsPresent", "must be a BOOLEAN but was a STRING")],
        ),
        case(
            "comparison without Variable",
            choice(json!([{"StringEquals": "x", "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]", "These fields are required: [Variable]")],
        ),
        case(
            "nested rule with Next",
            choice(json!([{"And": [{"Variable": "$.a", "IsNull": true, "Next": "D"}], "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/And[0]", "Field 'Next' is not supported")],
        ),
        case("empty And", choice(json!([{"And": [], "Next": "D"}])), &[(SCHEMA, "/States/A/Choices[0]/And", "Value cannot be empty")]),
        case(
            "Not holding an array",
            choice(json!([{"Not": [{"Variable": "$.a", "IsNull": true}], "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/Not", "must be an OBJECT but was an ARRAY")],
        ),
        case(
            "Variable not a path",
            choice(json!([{"Variable": "a", "IsNull": true, "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/Variable", "must be a valid JSONPath")],
        ),
        case(
            "path operand not a path",
            choice(json!([{"Variable": "$.a", "BooleanEqualsPath": "b", "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/BooleanEqualsPath", "must be a valid JSONPath")],
        ),
        case(
            "rule Next names no state",
            choice(json!([{"Variable": "$.a", "IsNull": true, "Next": "Nope"}])),
            &[(TARGET, "/States/A/Choices[0]/Next", "Missing 'Next' target: Nope")],
        ),
        case(
            "Default names no state",
            json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "S"}], "Default": "Nope"}, "S": {"Type": "Succeed"}}}),
            &[(TARGET, "/States/A/Default", "Missing 'Next' target: Nope")],
        ),
        case(
            "JSONata rule with Variable",
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
                "A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "D"}], "Default": "D"},
                "D": {"Type": "Succeed"}}}),
            &[
                (SCHEMA, "/States/A/Choices[0]", "field 'Variable' is only supported for the 'JSONPath' QueryLanguage"),
                (SCHEMA, "/States/A/Choices[0]", "These fields are required: [Condition]"),
            ],
        ),
        case(
            "JSONPath rule with Condition",
            choice(json!([{"Condition": "{% true %}", "Next": "D"}])),
            &[
                (SCHEMA, "/States/A/Choices[0]", "field 'Condition' is only supported for the 'JSONata' QueryLanguage"),
                (SCHEMA, "/States/A/Choices[0]", "exactly one comparison operator"),
            ],
        ),
        // ---- Retry and Catch -------------------------------------------------------------
        case(
            "retrier without ErrorEquals",
            one(task(json!({"Retry": [{"MaxAttempts": 1}]}))),
            &[(SCHEMA, "/States/A/Retry[0]", "These fields are required: [ErrorEquals]")],
        ),
        case("empty ErrorEquals", one(task(json!({"Retry": [{"ErrorEquals": []}]}))), &[(SCHEMA, "/States/A/Retry[0]/ErrorEquals", "Value cannot be empty")]),
        case(
            "States.ALL not alone",
            one(task(json!({"Retry": [{"ErrorEquals": ["States.ALL", "States.Timeout"]}]}))),
            &[(SCHEMA, "/States/A/Retry[0]/ErrorEquals", "'States.ALL' must appear alone")],
        ),
        case(
            "States.ALL retrier not last",
            one(task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]}))),
            &[(SCHEMA, "/States/A/Retry[0]", "must be the last retrier")],
        ),
        case("MaxAttempts negative", one(task(json!({"Retry": [{"ErrorEquals": ["E"], "MaxAttempts": -1}]}))), &[(SCHEMA, "/States/A/Retry[0]/MaxAttempts", "Minimum value is 0")]),
        case("BackoffRate below 1", one(task(json!({"Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}]}))), &[(SCHEMA, "/States/A/Retry[0]/BackoffRate", "Minimum value is 1.0")]),
        case("IntervalSeconds zero", one(task(json!({"Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 0}]}))), &[(SCHEMA, "/States/A/Retry[0]/IntervalSeconds", "Minimum value is 1")]),
        case(
            "MaxDelaySeconds too large",
            one(task(json!({"Retry": [{"ErrorEquals": ["E"], "MaxDelaySeconds": 31_622_401}]}))),
            &[(SCHEMA, "/States/A/Retry[0]/MaxDelaySeconds", "Maximum value is 31622400")],
        ),
        case(
            "unknown JitterStrategy",
            one(task(json!({"Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "PARTIAL"}]}))),
            &[(SCHEMA, "/States/A/Retry[0]/JitterStrategy", "should have one of these values: [FULL, NONE]")],
        ),
        case("unknown retrier field", one(task(json!({"Retry": [{"ErrorEquals": ["E"], "Foo": 1}]}))), &[(SCHEMA, "/States/A/Retry[0]", "Field 'Foo' is not supported")]),
        case(
            "catcher without Next",
            one(task(json!({"Catch": [{"ErrorEquals": ["E"]}]}))),
            &[(SCHEMA, "/States/A/Catch[0]", "These fields are required: [Next]")],
        ),
        case(
            "catcher Next names no state",
            one(task(json!({"Catch": [{"ErrorEquals": ["E"], "Next": "Nope"}]}))),
            &[(TARGET, "/States/A/Catch[0]/Next", "Missing 'Next' target: Nope")],
        ),
        case(
            "States.ALL catcher not last",
            one(task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["E"], "Next": "A"}]}))),
            &[(SCHEMA, "/States/A/Catch[0]", "must be the last catcher")],
        ),
        case(
            "catcher Output in a JSONPath state",
            one(task(json!({"Catch": [{"ErrorEquals": ["E"], "Next": "A", "Output": {}}]}))),
            &[(SCHEMA, "/States/A/Catch[0]", "field 'Output' is only supported for the 'JSONata' QueryLanguage")],
        ),
        // ---- transitions -----------------------------------------------------------------
        case(
            "AWS's observed example: missing target and unreachable state",
            json!({"StartAt": "pass1", "States": {
                "pass1": {"Type": "Pass", "Next": "pass3"},
                "pass2": {"Type": "Pass", "End": true}}}),
            &[(TARGET, "/States/pass1/Next", "Missing 'Next' target: pass3"), (TARGET, "/States/pass2", "State \"pass2\" is not reachable.")],
        ),
        case(
            "loop without terminal state",
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
            &[(END, "", "Workflow has no terminal state")],
        ),
        case(
            "loop plus an unreachable terminal state",
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Pass", "End": true}}}),
            &[(TARGET, "/States/C", "State \"C\" is not reachable.")],
        ),
        case(
            "branch state jumping out of its branch",
            json!({"StartAt": "P", "States": {
                "P": {"Type": "Parallel", "Next": "Out", "Branches": [{"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Next": "Out"}}}]},
                "Out": {"Type": "Succeed"}}}),
            &[(TARGET, "/States/P/Branches[0]/States/B1/Next", "Missing 'Next' target: Out"), (END, "/States/P/Branches[0]", "no terminal state")],
        ),
        case(
            "outer state jumping into a branch",
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B1"},
                "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}}]}}}),
            &[(TARGET, "/States/A/Next", "Missing 'Next' target: B1"), (TARGET, "/States/P", "State \"P\" is not reachable.")],
        ),
        case(
            "Map processor state jumping outside",
            json!({"StartAt": "M", "States": {
                "M": {"Type": "Map", "Next": "S", "ItemProcessor": {"StartAt": "P", "States": {
                    "P": {"Type": "Pass", "Next": "S"}, "Q": {"Type": "Succeed"}}}},
                "S": {"Type": "Succeed"}}}),
            &[(TARGET, "/States/M/ItemProcessor/States/P/Next", "Missing 'Next' target: S"), (TARGET, "/States/M/ItemProcessor/States/Q", "not reachable")],
        ),
        // ---- Parallel --------------------------------------------------------------------
        case(
            "empty Branches",
            one(json!({"Type": "Parallel", "End": true, "Branches": []})),
            &[(SCHEMA, "/States/A/Branches", "Value cannot be empty")],
        ),
        case(
            "branch without StartAt",
            one(json!({"Type": "Parallel", "End": true, "Branches": [{"States": {"B": {"Type": "Succeed"}}}]})),
            &[(SCHEMA, "/States/A/Branches[0]", "These fields are required: [StartAt]")],
        ),
        case(
            "duplicate state name across branches",
            one(json!({"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]})),
            &[("DUPLICATE_STATE_NAME", "/States/A/Branches[1]/States/B", "'B'")],
        ),
        raw(
            "state name repeated inside one States object",
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Succeed"}}}"#,
            &[("DUPLICATE_STATE_NAME", "/States/A", "'A' appears more than once")],
        ),
        raw(
            "state name repeated inside a branch; repeated payload keys are data",
            r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Parameters": {"States": {"x": 1, "x": 2}},
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}]}}}"#,
            &[("DUPLICATE_STATE_NAME", "/States/P/Branches[0]/States/B", "'B'")],
        ),
        case(
            "branch with an unknown QueryLanguage",
            one(json!({"Type": "Parallel", "End": true, "Branches": [
                {"QueryLanguage": "Lua", "StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]})),
            &[(SCHEMA, "/States/A/Branches[0]/QueryLanguage", "should have one of these values: [JSONPath, JSONata]")],
        ),
        // ---- Map -------------------------------------------------------------------------
        case("Map without processor", one(json!({"Type": "Map", "End": true})), &[(SCHEMA, "/States/A", "These fields are required: [ItemProcessor]")]),
        case(
            "Map with ItemProcessor and Iterator",
            map(json!({"Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [ItemProcessor, Iterator]")],
        ),
        case(
            "ItemProcessor declaring QueryLanguage",
            map(json!({"ItemProcessor": {"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[(SCHEMA, "/States/A/ItemProcessor", "Field 'QueryLanguage' is not supported")],
        ),
        case(
            "unknown processor Mode",
            map(json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "PARALLEL"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[(SCHEMA, "/States/A/ItemProcessor/ProcessorConfig/Mode", "should have one of these values: [INLINE, DISTRIBUTED]")],
        ),
        case(
            "distributed without ExecutionType",
            map(json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[(SCHEMA, "/States/A/ItemProcessor/ProcessorConfig", "These fields are required: [ExecutionType]")],
        ),
        case("MaxConcurrency negative", map(json!({"MaxConcurrency": -1})), &[(SCHEMA, "/States/A/MaxConcurrency", "Minimum value is 0")]),
        case(
            "MaxConcurrency with its Path",
            map(json!({"MaxConcurrency": 1, "MaxConcurrencyPath": "$.m"})),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [MaxConcurrency, MaxConcurrencyPath]")],
        ),
        case(
            "MaxConcurrencyPath into the context object",
            map(json!({"MaxConcurrencyPath": "$$.Execution.Input.n"})),
            &[(SCHEMA, "/States/A/MaxConcurrencyPath", "Value is not a Reference Path")],
        ),
        case(
            "ToleratedFailurePercentage above 100",
            map(json!({"ToleratedFailurePercentage": 101})),
            &[(SCHEMA, "/States/A/ToleratedFailurePercentage", "Maximum value is 100.0")],
        ),
        case("Label with a space", map(json!({"Label": "my label"})), &[("INVALID_LABEL_NAME", "/States/A/Label", "my label")]),
        case(
            "Items in a JSONPath Map",
            map(json!({"Items": [1, 2]})),
            &[(SCHEMA, "/States/A", "field 'Items' is only supported for the 'JSONata' QueryLanguage")],
        ),
        case(
            "Items not an array in a JSONata Map",
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Map", "End": true, "Items": "abc",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
            &[(SCHEMA, "/States/A/Items", "must be an ARRAY but was a STRING")],
        ),
        case(
            "ItemReader without Resource",
            map(json!({"ItemReader": {"ReaderConfig": {"InputType": "JSON"}}})),
            &[(SCHEMA, "/States/A/ItemReader", "These fields are required: [Resource]")],
        ),
        case(
            "the same Label on two Maps",
            json!({"StartAt": "M1", "States": {
                "M1": {"Type": "Map", "Label": "L", "Next": "M2", "ItemProcessor": {"StartAt": "P1", "States": {"P1": {"Type": "Pass", "End": true}}}},
                "M2": {"Type": "Map", "Label": "L", "End": true, "ItemProcessor": {"StartAt": "P2", "States": {"P2": {"Type": "Pass", "End": true}}}}}}),
            &[("DUPLICATE_LABEL_NAME", "/States/M2/Label", "'L'")],
        ),
        case(
            "Iterator declaring QueryLanguage",
            one(json!({"Type": "Map", "End": true, "Iterator": {"QueryLanguage": "JSONPath", "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})),
            &[(SCHEMA, "/States/A/Iterator", "Field 'QueryLanguage' is not supported")],
        ),
        case(
            "ItemBatcher bytes above 256 KiB",
            map(json!({"ItemBatcher": {"MaxInputBytesPerBatch": 262_145}})),
            &[(SCHEMA, "/States/A/ItemBatcher/MaxInputBytesPerBatch", "Maximum value is 262144")],
        ),
        case(
            "unknown ReaderConfig InputType",
            map(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "XML"}}})),
            &[(SCHEMA, "/States/A/ItemReader/ReaderConfig/InputType", "should have one of these values: [CSV, JSON, JSONL, PARQUET, MANIFEST]")],
        ),
        case(
            "ItemSelector and legacy Parameters together",
            map(json!({"ItemSelector": {}, "Parameters": {}})),
            &[(SCHEMA, "/States/A", "There should only be one of the following fields: [ItemSelector, Parameters]")],
        ),
        case(
            "Credentials RoleArn.$ not a path",
            one(task(json!({"Credentials": {"RoleArn.$": "role"}}))),
            &[(SCHEMA, "/States/A/Credentials/RoleArn.$", "must be a valid JSONPath or a valid intrinsic function call")],
        ),
        case(
            "timestamp operator with a number",
            choice(json!([{"Variable": "$.t", "TimestampEquals": 5, "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/TimestampEquals", "must be a STRING but was an INTEGER")],
        ),
        case(
            "StringMatches has no Path variant",
            choice(json!([{"Variable": "$.t", "StringMatchesPath": "$.p", "Next": "D"}])),
            &[
                (SCHEMA, "/States/A/Choices[0]", "Field 'StringMatchesPath' is not supported"),
                (SCHEMA, "/States/A/Choices[0]", "exactly one comparison operator"),
            ],
        ),
        // ---- payload templates and paths -------------------------------------------------
        case(
            "'.$' key holding an array (AWS's observed message)",
            one(json!({"Type": "Pass", "Parameters": {"a.$": [1]}, "End": true})),
            &[(SCHEMA, "/States/A/Parameters/a.$", "The value for the field 'a.$' must be a STRING that contains a JSONPath but was an ARRAY")],
        ),
        case(
            "'.$' key deep inside arrays and objects",
            one(task(json!({"Parameters": {"x": {"y": [{"z.$": 1}]}}}))),
            &[(SCHEMA, "/States/A/Parameters/x/y[0]/z.$", "must be a STRING that contains a JSONPath but was an INTEGER")],
        ),
        case(
            "'.$' key holding neither a path nor an intrinsic",
            one(json!({"Type": "Pass", "Parameters": {"a.$": "hello"}, "End": true})),
            &[(SCHEMA, "/States/A/Parameters/a.$", "must be a valid JSONPath or a valid intrinsic function call")],
        ),
        case(
            "ResultSelector not an object",
            one(task(json!({"ResultSelector": "x"}))),
            &[(SCHEMA, "/States/A/ResultSelector", "must be an OBJECT but was a STRING")],
        ),
        case("InputPath not a path", one(json!({"Type": "Pass", "InputPath": "abc", "End": true})), &[(SCHEMA, "/States/A/InputPath", "must be a valid JSONPath")]),
        case("InputPath not a string", one(json!({"Type": "Pass", "InputPath": 5, "End": true})), &[(SCHEMA, "/States/A/InputPath", "must be a STRING but was an INTEGER")]),
        case("ResultPath not a path", one(json!({"Type": "Pass", "ResultPath": "abc", "End": true})), &[(SCHEMA, "/States/A/ResultPath", "Value is not a Reference Path")]),
        // These rely on cairn_jsonpath's syntax checks.
        case("ResultPath with a wildcard", one(json!({"Type": "Pass", "ResultPath": "$.a[*]", "End": true})), &[(SCHEMA, "/States/A/ResultPath", "Value is not a Reference Path")]),
        case("ResultPath into the context object", one(task(json!({"ResultPath": "$$.Execution"}))), &[(SCHEMA, "/States/A/ResultPath", "Value is not a Reference Path")]),
        case(
            "catcher ResultPath with a filter",
            one(task(json!({"Catch": [{"ErrorEquals": ["E"], "Next": "A", "ResultPath": "$.a[?(@.b > 1)]"}]}))),
            &[(SCHEMA, "/States/A/Catch[0]/ResultPath", "Value is not a Reference Path")],
        ),
        case("ItemsPath with deep scan", map(json!({"ItemsPath": "$..items"})), &[(SCHEMA, "/States/A/ItemsPath", "Value is not a Reference Path")]),
        case("TimeoutSecondsPath with a slice", one(task(json!({"TimeoutSecondsPath": "$.t[0:2]"}))), &[(SCHEMA, "/States/A/TimeoutSecondsPath", "Value is not a Reference Path")]),
        case("SecondsPath with a wildcard", one(json!({"Type": "Wait", "SecondsPath": "$.*", "End": true})), &[(SCHEMA, "/States/A/SecondsPath", "Value is not a Reference Path")]),
        case("OutputPath with a broken bracket", one(json!({"Type": "Pass", "OutputPath": "$.a[", "End": true})), &[(SCHEMA, "/States/A/OutputPath", "must be a valid JSONPath")]),
        case(
            "Choice Variable with a broken bracket",
            choice(json!([{"Variable": "$.a[", "IsNull": true, "Next": "D"}])),
            &[(SCHEMA, "/States/A/Choices[0]/Variable", "must be a valid JSONPath")],
        ),
        case(
            "'.$' key with a malformed intrinsic call",
            one(json!({"Type": "Pass", "Parameters": {"a.$": "States.Format('{}', $.x"}, "End": true})),
            &[(SCHEMA, "/States/A/Parameters/a.$", "must be a valid JSONPath or a valid intrinsic function call")],
        ),
        case(
            "'.$' key with an unknown intrinsic function",
            one(task(json!({"ResultSelector": {"a.$": "States.NoSuchFunction($.x)"}}))),
            &[(SCHEMA, "/States/A/ResultSelector/a.$", "must be a valid JSONPath or a valid intrinsic function call")],
        ),
        case(
            "ErrorPath with a malformed path",
            one(json!({"Type": "Fail", "ErrorPath": "$.e["})),
            &[(SCHEMA, "/States/A/ErrorPath", "must be a valid JSONPath or a valid intrinsic function call")],
        ),
        // ---- JSONata / query languages ---------------------------------------------------
        case(
            "JSONPath field in a JSONata state",
            one_jsonata(json!({"Type": "Pass", "InputPath": "$", "End": true})),
            &[(SCHEMA, "/States/A", "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage")],
        ),
        case(
            "JSONata field in a JSONPath state",
            one(json!({"Type": "Pass", "Output": {}, "End": true})),
            &[(SCHEMA, "/States/A", "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage")],
        ),
        case(
            "JSONPath state under a JSONata machine",
            one_jsonata(json!({"Type": "Pass", "QueryLanguage": "JSONPath", "End": true})),
            &[(SCHEMA, "/States/A", "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")],
        ),
        case(
            "states inside a JSONata Map inherit the machine's JSONPath",
            map(json!({"QueryLanguage": "JSONata", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": 1, "End": true}}}})),
            &[(SCHEMA, "/States/A/ItemProcessor/States/P", "field 'Output' is only supported for the 'JSONata' QueryLanguage")],
        ),
        case(
            "JSONata Resource expression",
            one_jsonata(task(json!({"Resource": "{% $r %}"}))),
            &[(SCHEMA, "/States/A/Resource", "must be a literal string")],
        ),
        case(
            "expression in a JSONPath TimeoutSeconds",
            one(task(json!({"TimeoutSeconds": "{% 5 %}"}))),
            &[(SCHEMA, "/States/A/TimeoutSeconds", "must be an INTEGER but was a STRING")],
        ),
        case(
            "assigning the reserved name states",
            one_jsonata(json!({"Type": "Pass", "Assign": {"states": 1}, "End": true})),
            &[(SCHEMA, "/States/A/Assign/states", "reserved")],
        ),
        case(
            "assigning a sub-path",
            one_jsonata(json!({"Type": "Pass", "Assign": {"a.b": 1}, "End": true})),
            &[(SCHEMA, "/States/A/Assign/a.b", "'a.b' is not valid")],
        ),
        case(
            "JSONPath Assign '.$' with a number",
            one(json!({"Type": "Pass", "Assign": {"x.$": 5}, "End": true})),
            &[(SCHEMA, "/States/A/Assign/x.$", "must be a STRING that contains a JSONPath but was an INTEGER")],
        ),
        case("Assign not an object", one(json!({"Type": "Pass", "Assign": [1], "End": true})), &[(SCHEMA, "/States/A/Assign", "must be an OBJECT but was an ARRAY")]),
        case(
            "JSONata expression reading the top-level context (AWS's observed message)",
            one_jsonata(json!({"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": true})),
            &[("UNSUPPORTED_JSONATA_EXPRESSION", "/States/A/Output/v", "Reference to 'phone' at the top level is not supported.")],
        ),
        case(
            "JSONata expression that cannot parse",
            one_jsonata(task(json!({"Arguments": {"list": ["{% $states.input[1,2) %}"]}}))),
            &[("INVALID_JSONATA_EXPRESSION", "/States/A/Arguments/list[0]", "expected ']' but found ')'")],
        ),
        case(
            "JSONata Condition with an unterminated string",
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
                "A": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.a = 'x %}", "Next": "D"}], "Default": "D"},
                "D": {"Type": "Succeed"}}}),
            &[("INVALID_JSONATA_EXPRESSION", "/States/A/Choices[0]/Condition", "unterminated string literal")],
        ),
        case(
            "data keys named like ASL fields are still checked, Comments are not",
            one_jsonata(json!({"Type": "Pass", "Comment": "{% not checked( %}", "Output": {"Comment": "{% ( %}"}, "End": true})),
            &[("INVALID_JSONATA_EXPRESSION", "/States/A/Output/Comment", "missing ')'")],
        ),
        case(
            "empty JSONata expression",
            one_jsonata(json!({"Type": "Wait", "Seconds": "{%  %}", "End": true})),
            &[("INVALID_JSONATA_EXPRESSION", "/States/A/Seconds", "empty")],
        ),
        // ---- Express machines ------------------------------------------------------------
        express(case(
            "activity in an Express machine",
            one(task(json!({"Resource": "arn:aws:states:us-east-1:111111111111:activity:act"}))),
            &[(SCHEMA, "/States/A/Resource", "Express state machine does not support Activity ARN")],
        )),
        express(case(
            ".sync in an Express machine",
            one(task(json!({"Resource": "arn:aws:states:::states:startExecution.sync"}))),
            &[(SCHEMA, "/States/A/Resource", "Express state machine does not support '.sync' service integration")],
        )),
        express(case(
            ".sync:2 in an Express machine",
            one(task(json!({"Resource": "arn:aws:states:::states:startExecution.sync:2"}))),
            &[(SCHEMA, "/States/A/Resource", "does not support '.sync' service integration")],
        )),
        express(case(
            ".waitForTaskToken in an Express machine",
            one(task(json!({"Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken"}))),
            &[(SCHEMA, "/States/A/Resource", "Express state machine does not support '.waitForTaskToken' service integration")],
        )),
        express(case(
            "activity deep inside an Express machine's Map",
            map(json!({"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Task", "End": true,
                "Resource": "arn:aws:states:us-east-1:111111111111:activity:act"}}}})),
            &[(SCHEMA, "/States/A/ItemProcessor/States/P/Resource", "does not support Activity ARN")],
        )),
        // ---- warnings (shown by ValidateStateMachineDefinition, never refusing) -----------
        case(
            "path-looking value under a key without '.$'",
            one(json!({"Type": "Pass", "Parameters": {"a": "$.x", "b": "States.UUID()", "c": "$ 5"}, "End": true})),
            &[("NO_DOLLAR", "/States/A/Parameters/a", "'.$'"), ("NO_DOLLAR", "/States/A/Parameters/b", "'.$'")],
        ),
        case(
            "path-looking Fail Error",
            one(json!({"Type": "Fail", "Error": "$.error", "Cause": "plain"})),
            &[("NO_PATH", "/States/A/Error", "ErrorPath")],
        ),
        case(
            "'.$' inside a Pass Result",
            one(json!({"Type": "Pass", "Result": {"x": [{"y.$": "$.y"}]}, "End": true})),
            &[("PASS_RESULT_IS_STATIC", "/States/A/Result", "static")],
        ),
        // ---- several problems at once ----------------------------------------------------
        case(
            "every problem is reported, not only the first",
            json!({"StartAt": "A", "Bad": true, "States": {
                "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": -5, "Next": "Nope"},
                "B": {"Type": "Wait", "End": true}}}),
            &[
                (SCHEMA, "/", "Field 'Bad' is not supported"),
                (SCHEMA, "/States/A/TimeoutSeconds", "Minimum value is 1"),
                (SCHEMA, "/States/B", "[Seconds, Timestamp, SecondsPath, TimestampPath]"),
                (TARGET, "/States/A/Next", "Missing 'Next' target: Nope"),
                (TARGET, "/States/B", "State \"B\" is not reachable."),
            ],
        ),
    ]
}

/// A Choice machine whose Choice state `A` also carries `extra` fields.
fn choice_with(extra: Value) -> Value {
    let mut def = choice(json!([{"Variable": "$.a", "IsNull": true, "Next": "D"}]));
    if let (Some(state), Value::Object(extra)) = (def["States"]["A"].as_object_mut(), extra) {
        state.extend(extra);
    }
    def
}

fn describe(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {} {:?}: {}", d.code, d.location, d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn validation_table() {
    let cases = cases();
    assert!(cases.len() >= 70, "only {} cases", cases.len());
    eprintln!("checking {} definitions", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = validate(&case.definition, case.machine_type);
        let mut got_keys: Vec<(String, String)> = got
            .iter()
            .map(|d| (d.code.clone(), d.location.clone()))
            .collect();
        let mut want_keys: Vec<(String, String)> = case
            .expected
            .iter()
            .map(|(c, l, _)| (c.to_string(), l.clone()))
            .collect();
        got_keys.sort();
        want_keys.sort();
        let mut problems = Vec::new();
        if got_keys != want_keys {
            problems.push(format!("expected {want_keys:?}"));
        }
        for (code, location, message) in &case.expected {
            let found = got
                .iter()
                .any(|d| d.code == *code && d.location == *location && d.message.contains(message));
            if !found {
                problems.push(format!("no {code} at {location:?} containing {message:?}"));
            }
        }
        for d in &got {
            let want = if WARNINGS.contains(&d.code.as_str()) {
                Severity::Warning
            } else {
                Severity::Error
            };
            if d.severity != want {
                problems.push(format!(
                    "{} at {:?} has severity {:?}",
                    d.code, d.location, d.severity
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  got:\n{}",
                case.name,
                problems.join("; "),
                describe(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_definition_message_matches_aws_observed_text() {
    let def = json!({"StartAt": "pass1", "States": {
        "pass1": {"Type": "Pass", "Next": "pass3"},
        "pass2": {"Type": "Pass", "End": true}}});
    let diagnostics = validate(&def.to_string(), MachineType::Standard);
    assert_eq!(
        invalid_definition_message(&diagnostics),
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
    );
}

#[test]
fn warnings_never_enter_the_invalid_definition_message() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a": "$.x"}, "Next": "Nope"}}});
    let diagnostics = validate(&def.to_string(), MachineType::Standard);
    assert!(diagnostics.iter().any(|d| d.code == "NO_DOLLAR"));
    let message = invalid_definition_message(&diagnostics);
    assert!(!message.contains("NO_DOLLAR"), "{message}");
    assert!(message.contains("Missing 'Next' target: Nope"), "{message}");
}

#[test]
fn a_diagnostic_without_location_renders_at_null() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}});
    let diagnostics = validate(&def.to_string(), MachineType::Standard);
    assert_eq!(
        invalid_definition_message(&diagnostics),
        "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state at null'"
    );
}

#[test]
fn empty_object_message_matches_aws() {
    let diagnostics = validate("{}", MachineType::Standard);
    assert_eq!(
        invalid_definition_message(&diagnostics),
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /'"
    );
}
