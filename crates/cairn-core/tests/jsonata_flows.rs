//! JSONata states end to end (ASL.md §10): every field kind, `$states`, variables across
//! modes and scopes, and `EvaluationFailed` + `States.QueryEvaluationError` (HISTORY.md §4.2).

mod common;

use cairn_core::{replay::replay, Effect, ExecutionStatus, Input};
use common::*;
use serde_json::{json, Value};

const ACT: &str = "arn:aws:states:us-east-1:123456789012:activity:act";
const QUERY_ERROR: &str = "States.QueryEvaluationError";

fn jsonata(states: Value, start_at: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": start_at, "States": states})
}

fn output(d: &Driver) -> Value {
    serde_json::from_str(d.exec.output.as_deref().expect("an output")).unwrap()
}

fn scheduled_input(d: &Driver) -> (u64, Value, String) {
    d.effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::ScheduleActivity {
                task, input, token, ..
            } => Some((*task, serde_json::from_str(input).unwrap(), token.clone())),
            _ => None,
        })
        .expect("an activity scheduled")
}

fn replays(d: &Driver) {
    let c = ctx(T0, 0, &d.world);
    let exec =
        replay(d.exec.info.clone(), &d.def, &d.history, &c, &|id| id).expect("the history replays");
    assert_eq!(exec.output, d.exec.output);
}

#[test]
fn pass_output_and_assign_see_the_values_of_state_entry() {
    let d = Driver::start(
        jsonata(
            json!({
                "Init": {"Type": "Pass", "Assign": {"x": 1, "y": "{% $states.input.y %}"}, "Next": "Swap"},
                "Swap": {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"},
                         "Output": {"x": "{% $x %}", "y": "{% $y %}", "in": "{% $states.input %}"},
                         "Next": "Read"},
                "Read": {"Type": "Pass", "Output": "{% [$x, $y] %}", "End": true}
            }),
            "Init",
        ),
        r#"{"y": 2}"#,
    );
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        d.detail(5, "output"),
        Some(json!(r#"{"x":1,"y":2,"in":{"y":2}}"#)),
        "Output reads the variables as of entry"
    );
    assert_eq!(
        d.detail(5, "assignedVariables"),
        Some(json!({"x": "2", "y": "1"}))
    );
    assert_eq!(output(&d), json!([2, 1]));
    replays(&d);
}

#[test]
fn variables_cross_query_languages() {
    let d = Driver::start(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Assign": {"a.$": "$.a"}, "Next": "J"},
            "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"b": "{% $a * 2 %}"}, "Next": "Back"},
            "Back": {"Type": "Pass", "Parameters": {"b.$": "$b", "a.$": "$a"}, "End": true}}}),
        r#"{"a": 21}"#,
    );
    assert_eq!(output(&d), json!({"a": 21, "b": 42}));
}

#[test]
fn task_arguments_output_assign_and_timeouts() {
    let mut d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT,
                "Arguments": {"n": "{% $states.input.n + 1 %}", "fixed": "x"},
                "TimeoutSeconds": "{% $states.input.n * 10 %}",
                "HeartbeatSeconds": "{% 5 %}",
                "Assign": {"got": "{% $states.result.r %}", "was": "{% $states.input.n %}"},
                "Output": {"r": "{% $states.result.r %}", "n": "{% $states.input.n %}"},
                "End": true}}),
            "T",
        ),
        r#"{"n": 3}"#,
    );
    assert_eq!(
        d.types(),
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"]
    );
    assert_eq!(d.detail(3, "timeoutInSeconds"), Some(json!(30)));
    assert_eq!(d.detail(3, "heartbeatInSeconds"), Some(json!(5)));
    let (task, input, _) = scheduled_input(&d);
    assert_eq!(input, json!({"n": 4, "fixed": "x"}));
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"r": "ok"}"#.into(),
    });
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&d), json!({"r": "ok", "n": 3}));
    assert_eq!(
        d.detail(5, "assignedVariables"),
        Some(json!({"got": "\"ok\"", "was": "3"}))
    );
    replays(&d);
}

#[test]
fn task_without_arguments_sends_the_input_and_outputs_the_result() {
    let mut d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT, "End": true}}),
            "T",
        ),
        r#"{"a": 1}"#,
    );
    let (task, input, _) = scheduled_input(&d);
    assert_eq!(input, json!({"a": 1}));
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"b": 2}"#.into(),
    });
    assert_eq!(output(&d), json!({"b": 2}));
}

#[test]
fn callback_tasks_see_their_token_in_the_context() {
    let d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Arguments": {"token": "{% $states.context.Task.Token %}",
                              "state": "{% $states.context.State.Name %}"},
                "End": true}}),
            "T",
        ),
        "{}",
    );
    let (params, token) = d
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::InvokeResource {
                parameters, token, ..
            } => Some((parameters.clone(), token.clone())),
            _ => None,
        })
        .expect("a resource invoked");
    assert_eq!(params["token"], json!(token));
    assert_eq!(params["state"], json!("T"));
}

#[test]
fn choice_condition_with_rule_assign_and_output() {
    let def = |input: &str| {
        Driver::start(
            jsonata(
                json!({
                    "C": {"Type": "Choice",
                          "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big",
                                       "Assign": {"which": "rule"}, "Output": "{% $states.input.n * 100 %}"}],
                          "Default": "Small", "Assign": {"which": "default"}, "Output": {"d": true}},
                    "Big": {"Type": "Pass", "Output": "{% {'v': $states.input, 'w': $which} %}", "End": true},
                    "Small": {"Type": "Pass", "Output": "{% {'v': $states.input, 'w': $which} %}", "End": true}
                }),
                "C",
            ),
            input,
        )
    };
    assert_eq!(output(&def(r#"{"n": 2}"#)), json!({"v": 200, "w": "rule"}));
    assert_eq!(
        output(&def(r#"{"n": 0}"#)),
        json!({"v": {"d": true}, "w": "default"})
    );
}

#[test]
fn a_condition_must_be_boolean() {
    let d = Driver::start(
        jsonata(
            json!({"C": {"Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n %}", "Next": "E"}], "Default": "E"},
                "E": {"Type": "Succeed"}}),
            "C",
        ),
        r#"{"n": 1}"#,
    );
    assert_eq!(d.exec.error.as_deref(), Some(QUERY_ERROR));
    assert_eq!(
        d.exec.cause.as_deref(),
        Some("An error occurred while executing the state 'C' (entered at the event id #2). The JSONata expression '$states.input.n' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was 'number' for value: 1")
    );
    assert_eq!(d.detail(3, "location"), Some(json!("Condition")));
}

#[test]
fn map_items_and_item_selector() {
    let d = Driver::start(
        jsonata(
            json!({"M": {"Type": "Map",
                "Items": "{% $states.input.xs[$ > 1] %}",
                "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}",
                                 "v": "{% $states.context.Map.Item.Value %}",
                                 "k": "{% $states.input.k %}"},
                "MaxConcurrency": "{% 1 %}",
                "ItemProcessor": {"StartAt": "P", "States": {
                    "P": {"Type": "Pass", "Output": "{% $states.input.v * $states.input.k %}", "End": true}}},
                "Output": {"sum": "{% $sum($states.result) %}"},
                "End": true}}),
            "M",
        ),
        r#"{"xs": [1, 2, 3], "k": 10}"#,
    );
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&d), json!({"sum": 50}));
    assert_eq!(d.detail(3, "length"), Some(json!(2)));
}

#[test]
fn map_items_that_are_no_array_fail_before_the_map_starts() {
    let d = Driver::start(
        jsonata(
            json!({"M": {"Type": "Map", "Items": "{% $states.input.xs %}",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "End": true}}),
            "M",
        ),
        r#"{"xs": "nope"}"#,
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.chain(), [(1, 0), (2, 0), (3, 0), (4, 3), (5, 4)]);
    assert_eq!(
        d.detail(3, "cause"),
        Some(json!("An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression '$states.input.xs' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'string' for value: \"nope\""))
    );
}

#[test]
fn wait_seconds_and_timestamp_expressions() {
    let mut d = Driver::start(
        jsonata(
            json!({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "U"},
                   "U": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}}),
            "W",
        ),
        r#"{"s": 5, "t": "2030-01-01T00:00:00Z"}"#,
    );
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].1, T0 + 5_000);
    d.fire_next_timer();
    assert_eq!(d.timers.len(), 1);
    assert_eq!(d.timers[0].1, 1_893_456_000_000);
    d.run_timers();
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
}

#[test]
fn a_bad_timestamp_fails_with_evaluation_failed_after_the_entered_event() {
    let d = Driver::start(
        jsonata(
            json!({"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}}),
            "W",
        ),
        r#"{"t": "2016-12-05T21:29:29"}"#,
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "EvaluationFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.chain(), [(1, 0), (2, 0), (3, 2), (4, 3)]);
    assert_eq!(d.detail(3, "location"), Some(json!("Timestamp")));
    assert_eq!(d.detail(3, "state"), Some(json!("W")));
    assert_eq!(
        d.exec.cause.as_deref(),
        Some("An error occurred while executing the state 'W' (entered at the event id #2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05T21:29:29")
    );
}

#[test]
fn fail_error_and_cause_expressions() {
    let d = Driver::start(
        jsonata(
            json!({"F": {"Type": "Fail", "Error": "{% $states.input.e %}",
                         "Cause": "{% 'because ' & $states.input.c %}"}}),
            "F",
        ),
        r#"{"e": "Boom", "c": "reasons"}"#,
    );
    assert_eq!(d.exec.error.as_deref(), Some("Boom"));
    assert_eq!(d.exec.cause.as_deref(), Some("because reasons"));
}

#[test]
fn undefined_output_writes_evaluation_failed_with_the_field_path() {
    let d = Driver::start(
        jsonata(
            json!({"A": {"Type": "Pass", "Next": "B"},
                   "B": {"Type": "Pass", "Output": {"r": ["{% $nope %}"]}, "End": true}}),
            "A",
        ),
        "{}",
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "EvaluationFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(d.chain()[4..], [(5, 3), (6, 5)]);
    let cause = "An error occurred while executing the state 'B' (entered at the event id #4). The JSONata expression '$nope' specified for the field 'Output/r/0' returned nothing (undefined).";
    assert_eq!(d.detail(5, "error"), Some(json!(QUERY_ERROR)));
    assert_eq!(d.detail(5, "cause"), Some(json!(cause)));
    assert_eq!(d.detail(5, "location"), Some(json!("Output/r/0")));
    assert_eq!(d.detail(6, "cause"), Some(json!(cause)));
    assert_eq!(d.exec.status, ExecutionStatus::Failed);
    replays(&d);
}

#[test]
fn query_errors_are_caught_and_catchers_see_the_error_output() {
    let d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT, "Arguments": "{% $missing %}",
                    "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "H",
                               "Assign": {"err": "{% $states.errorOutput.Error %}"},
                               "Output": {"in": "{% $states.input %}", "eo": "{% $states.errorOutput %}"}}],
                    "End": true},
                   "H": {"Type": "Pass", "Output": "{% [$err, $states.input.in] %}", "End": true}}),
            "T",
        ),
        r#"{"a": 1}"#,
    );
    assert_eq!(
        d.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "EvaluationFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(output(&d), json!([QUERY_ERROR, {"a": 1}]));
    let exited: Value =
        serde_json::from_str(d.detail(4, "output").unwrap().as_str().unwrap()).unwrap();
    assert!(exited["eo"]["Cause"]
        .as_str()
        .unwrap()
        .contains("specified for the field 'Arguments' returned nothing (undefined)."));
}

#[test]
fn catcher_output_defaults_to_the_error_output() {
    let mut d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT,
                    "Output": "{% 'not used' %}",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}], "End": true},
                   "H": {"Type": "Succeed"}}),
            "T",
        ),
        "{}",
    );
    let (task, _, _) = scheduled_input(&d);
    d.feed(Input::TaskFailed {
        task,
        error: Some("E".into()),
        cause: Some("C".into()),
    });
    assert_eq!(output(&d), json!({"Error": "E", "Cause": "C"}));
}

#[test]
fn query_errors_are_retried() {
    let mut d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT, "Arguments": "{% $states.context.State.RetryCount = 0 ? $nope : {'ok': true} %}",
                    "Retry": [{"ErrorEquals": ["States.QueryEvaluationError"], "IntervalSeconds": 1}],
                    "End": true}}),
            "T",
        ),
        "{}",
    );
    assert_eq!(d.types()[2], "EvaluationFailed");
    d.fire_next_timer();
    let (_, input, _) = scheduled_input(&d);
    assert_eq!(input, json!({"ok": true}));
}

#[test]
fn parallel_arguments_and_scopes() {
    let d = Driver::start(
        jsonata(
            json!({
                "Init": {"Type": "Pass", "Assign": {"outer": 5}, "Next": "P"},
                "P": {"Type": "Parallel", "Arguments": {"v": "{% $states.input.v + $outer %}"},
                      "Branches": [
                        {"StartAt": "B1", "States": {
                            "B1": {"Type": "Pass", "Assign": {"inner": 1}, "Next": "B2"},
                            "B2": {"Type": "Pass", "Output": "{% $states.input.v + $inner + $outer %}", "End": true}}},
                        {"StartAt": "C1", "States": {
                            "C1": {"Type": "Pass", "Output": "{% $states.input.v %}", "End": true}}}],
                      "Assign": {"total": "{% $sum($states.result) %}"},
                      "Next": "After"},
                "After": {"Type": "Pass", "Output": "{% [$total, $outer] %}", "End": true}
            }),
            "Init",
        ),
        r#"{"v": 1}"#,
    );
    assert_eq!(d.exec.status, ExecutionStatus::Succeeded);
    assert_eq!(
        output(&d),
        json!([18, 5]),
        "v = 1 + 5; branches 6 + 1 + 5 and 6"
    );
}

#[test]
fn inner_variables_vanish_with_their_iteration() {
    let d = Driver::start(
        jsonata(
            json!({
                "M": {"Type": "Map", "Items": [1, 2],
                      "ItemProcessor": {"StartAt": "I", "States": {
                          "I": {"Type": "Pass", "Assign": {"inner": "{% $states.input %}"}, "End": true}}},
                      "Next": "After"},
                "After": {"Type": "Pass", "Output": "{% $inner %}", "End": true}
            }),
            "M",
        ),
        "{}",
    );
    assert_eq!(d.exec.error.as_deref(), Some(QUERY_ERROR));
    assert!(d
        .exec
        .cause
        .as_deref()
        .unwrap()
        .ends_with("The JSONata expression '$inner' specified for the field 'Output' returned nothing (undefined)."));
}

#[test]
fn time_and_randomness_are_recorded() {
    let d = Driver::start(
        jsonata(
            json!({"A": {"Type": "Pass", "Output": {"now": "{% $millis() %}", "u": "{% $uuid() %}"}, "Next": "B"},
                   "B": {"Type": "Pass", "Output": {"prev": "{% $states.input.u %}", "u": "{% $uuid() %}"}, "End": true}}),
            "A",
        ),
        "{}",
    );
    let out = output(&d);
    assert_ne!(out["prev"], out["u"], "every field draws fresh entropy");
    let first: Value =
        serde_json::from_str(d.detail(3, "output").unwrap().as_str().unwrap()).unwrap();
    assert_eq!(first["now"], json!(T0));
    replays(&d);
}

#[test]
fn a_jsonata_loop_runs_in_one_step() {
    // 4,000 events and 3,000 evaluations of five expressions, each compiled once.
    let d = Driver::start(
        jsonata(
            json!({
                "Init": {"Type": "Pass", "Assign": {"i": 0, "acc": []}, "Next": "Add"},
                "Add": {"Type": "Pass", "Assign": {"i": "{% $i + 1 %}"},
                        "Output": {"i": "{% $i %}", "ctx": "{% $states.context.State.Name %}"}, "Next": "More"},
                "More": {"Type": "Choice", "Choices": [{"Condition": "{% $i < 1000 %}", "Next": "Add"}],
                         "Default": "Done"},
                "Done": {"Type": "Succeed", "Output": "{% $i %}"}
            }),
            "Init",
        ),
        "{}",
    );
    assert_eq!(output(&d), json!(1000));
    assert_eq!(d.history.len(), 4_006);
}

#[test]
fn a_failing_output_is_retried_with_the_same_input() {
    let mut d = Driver::start(
        jsonata(
            json!({"T": {"Type": "Task", "Resource": ACT,
                    "Output": "{% $states.result.ok ? $states.input : $nope %}",
                    "Retry": [{"ErrorEquals": ["States.QueryEvaluationError"], "IntervalSeconds": 1}],
                    "End": true}}),
            "T",
        ),
        r#"{"a": 1}"#,
    );
    let (task, _, _) = scheduled_input(&d);
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"ok": false}"#.into(),
    });
    assert_eq!(d.types().last(), Some(&"EvaluationFailed"));
    d.fire_next_timer();
    let (task, input, _) = scheduled_input(&d);
    assert_eq!(input, json!({"a": 1}), "the retry sends the same input");
    d.feed(Input::TaskSucceeded {
        task,
        output: r#"{"ok": true}"#.into(),
    });
    assert_eq!(output(&d), json!({"a": 1}));
    replays(&d);
}
