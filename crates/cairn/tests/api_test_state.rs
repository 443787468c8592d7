//! TestState through aws-sdk-rust against a real server: every state type, each inspection
//! level, mocks in each field validation mode, stateConfiguration and bad requests.

mod common;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::test_state::builders::TestStateFluentBuilder;
use aws_sdk_sfn::types::{
    InspectionLevel, MockErrorOutput, MockInput, MockResponseValidationMode, TestExecutionStatus,
    TestStateConfiguration,
};
use common::TestServer;
use serde_json::{json, Value};

fn parse(s: Option<&str>) -> Value {
    serde_json::from_str(s.expect("a value")).expect("JSON")
}

fn call(server: &TestServer, definition: Value, input: Value) -> TestStateFluentBuilder {
    server
        .client
        .test_state()
        .definition(definition.to_string())
        .input(input.to_string())
}

/// The error code and message of a refused request.
async fn refused(b: TestStateFluentBuilder) -> (String, String) {
    let err = b.send().await.expect_err("the request is refused");
    (
        err.code().unwrap_or_default().to_string(),
        err.message().unwrap_or_default().to_string(),
    )
}

fn lambda_task() -> Value {
    json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 3.0}],
        "Catch": [{"ErrorEquals": ["Broken"], "ResultPath": "$.err", "Next": "Handle"}],
        "ResultSelector": {"p.$": "$.Payload"}, "Next": "After"})
}

fn error_mock(error: &str) -> MockInput {
    MockInput::builder()
        .error_output(MockErrorOutput::builder().error(error).cause("why").build())
        .build()
}

#[tokio::test]
async fn pass_state_at_each_inspection_level() {
    let server = TestServer::start().await;
    let def = json!({"Type": "Pass", "InputPath": "$.a", "Parameters": {"x.$": "$.b"},
        "ResultPath": "$.r", "End": true});
    let input = json!({"a": {"b": 1}});
    let info = call(&server, def.clone(), input.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parse(info.output()), json!({"a": {"b": 1}, "r": {"x": 1}}));
    assert!(
        info.inspection_data().is_none(),
        "INFO has no inspection data"
    );
    for level in [InspectionLevel::Debug, InspectionLevel::Trace] {
        let out = call(&server, def.clone(), input.clone())
            .inspection_level(level)
            .send()
            .await
            .unwrap();
        let d = out.inspection_data().expect("inspection data");
        assert_eq!(parse(d.input()), input);
        assert_eq!(parse(d.after_input_path()), json!({"b": 1}));
        assert_eq!(parse(d.after_parameters()), json!({"x": 1}));
        assert_eq!(
            parse(d.after_result_path()),
            json!({"a": {"b": 1}, "r": {"x": 1}})
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn choice_wait_succeed_fail_and_state_name() {
    let server = TestServer::start().await;
    let machine = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericGreaterThan": 1, "Next": "W"}], "Default": "F"},
        "W": {"Type": "Wait", "Seconds": 86400, "Next": "S"},
        "S": {"Type": "Succeed"},
        "F": {"Type": "Fail", "Error": "Low", "Cause": "too low"}}});
    let run = |name: &str, v: i64| {
        call(&server, machine.clone(), json!({"v": v})).state_name(name.to_string())
    };
    let c = run("C", 2).send().await.unwrap();
    assert_eq!(c.next_state(), Some("W"));
    let c = run("C", 0).send().await.unwrap();
    assert_eq!(c.next_state(), Some("F"));
    let w = run("W", 2).send().await.unwrap();
    assert_eq!(
        (w.status(), w.next_state()),
        (Some(&TestExecutionStatus::Succeeded), Some("S"))
    );
    let s = run("S", 2).send().await.unwrap();
    assert_eq!(parse(s.output()), json!({"v": 2}));
    assert_eq!(s.next_state(), None);
    let f = run("F", 0).send().await.unwrap();
    assert_eq!(f.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!((f.error(), f.cause()), (Some("Low"), Some("too low")));
    let (code, msg) = refused(run("Nope", 0)).await;
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("Nope"), "{msg}");
    server.stop().await;
}

#[tokio::test]
async fn task_mocks_succeed_retry_catch_and_fail() {
    let server = TestServer::start().await;
    let ok = call(&server, lambda_task(), json!({"k": 1}))
        .inspection_level(InspectionLevel::Debug)
        .mock(
            MockInput::builder()
                .result(r#"{"Payload": {"y": 2}}"#)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parse(ok.output()), json!({"p": {"y": 2}}));
    assert_eq!(ok.next_state(), Some("After"));
    let d = ok.inspection_data().unwrap();
    assert_eq!(
        parse(d.after_parameters()),
        json!({"FunctionName": "f", "Payload": {"k": 1}})
    );
    assert_eq!(parse(d.result()), json!({"Payload": {"y": 2}}));
    assert_eq!(parse(d.after_result_selector()), json!({"p": {"y": 2}}));

    let retry = call(&server, lambda_task(), json!({}))
        .inspection_level(InspectionLevel::Debug)
        .mock(error_mock("Flaky"))
        .state_configuration(
            TestStateConfiguration::builder()
                .retrier_retry_count(2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), Some(&TestExecutionStatus::Retriable));
    let e = retry.inspection_data().unwrap().error_details().unwrap();
    assert_eq!(
        (e.retry_index(), e.retry_backoff_interval_seconds()),
        (Some(0), Some(18))
    );

    let spent = call(&server, lambda_task(), json!({}))
        .mock(error_mock("Flaky"))
        .state_configuration(
            TestStateConfiguration::builder()
                .retrier_retry_count(3)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!(spent.error(), Some("Flaky"));

    let caught = call(&server, lambda_task(), json!({"k": 1}))
        .mock(error_mock("Broken"))
        .send()
        .await
        .unwrap();
    assert_eq!(caught.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(caught.next_state(), Some("Handle"));
    assert_eq!(
        parse(caught.output()),
        json!({"k": 1, "err": {"Error": "Broken", "Cause": "why"}})
    );
    server.stop().await;
}

#[tokio::test]
async fn mock_field_validation_modes() {
    let server = TestServer::start().await;
    let def = json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {"StateMachineArn": "arn"}, "End": true});
    let with = |result: &str, mode: Option<MockResponseValidationMode>| {
        call(&server, def.clone(), json!({})).mock(
            MockInput::builder()
                .result(result)
                .set_field_validation_mode(mode)
                .build(),
        )
    };
    let (code, msg) = refused(with("{}", None)).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "Mock result schema validation error: Required field 'ExecutionArn' is missing"
    );
    let present = with("{}", Some(MockResponseValidationMode::Present))
        .send()
        .await
        .unwrap();
    assert_eq!(present.status(), Some(&TestExecutionStatus::Succeeded));
    let (_, msg) = refused(with(
        r#"{"ExecutionArn": 1}"#,
        Some(MockResponseValidationMode::Present),
    ))
    .await;
    assert_eq!(
        msg,
        "Mock result schema validation error: Field 'ExecutionArn' must be a string"
    );
    let none = with(
        r#"{"StartDate": true}"#,
        Some(MockResponseValidationMode::None),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(parse(none.output()), json!({"StartDate": true}));
    server.stop().await;
}

#[tokio::test]
async fn parallel_and_map_with_state_configuration() {
    let server = TestServer::start().await;
    let parallel = json!({"Type": "Parallel", "ResultPath": "$.r", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]});
    let p = call(&server, parallel.clone(), json!({}))
        .mock(MockInput::builder().result("[1, 2]").build())
        .send()
        .await
        .unwrap();
    assert_eq!(parse(p.output()), json!({"r": [1, 2]}));
    let (_, msg) = refused(
        call(&server, parallel, json!({})).mock(MockInput::builder().result("[1]").build()),
    )
    .await;
    assert_eq!(
        msg,
        "Mocked result must contain the same number of items as number of Parallel branches."
    );

    let map = json!({"Type": "Map", "ItemsPath": "$.items", "ToleratedFailureCount": 1,
        "MaxConcurrency": 2, "End": true,
        "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Over"}],
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Pass", "End": true}}}});
    let with_failures = |n: i32| {
        call(&server, map.clone(), json!({"items": [1, 2, 3]}))
            .inspection_level(InspectionLevel::Debug)
            .mock(MockInput::builder().result("[1, 2, 3]").build())
            .state_configuration(
                TestStateConfiguration::builder()
                    .map_iteration_failure_count(n)
                    .build(),
            )
    };
    let ok = with_failures(1).send().await.unwrap();
    assert_eq!(ok.status(), Some(&TestExecutionStatus::Succeeded));
    let d = ok.inspection_data().unwrap();
    assert_eq!(
        (d.max_concurrency(), d.tolerated_failure_count()),
        (Some(2), Some(1))
    );
    assert_eq!(parse(d.after_items_path()), json!([1, 2, 3]));
    let over = with_failures(2).send().await.unwrap();
    assert_eq!(over.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(over.next_state(), Some("Over"));
    let (_, msg) = refused(with_failures(4)).await;
    assert!(msg.starts_with("Map iteration failure count"), "{msg}");
    let (code, _) = refused(call(&server, map.clone(), json!({"items": []}))).await;
    assert_eq!(code, "InvalidDefinition", "a Map needs a mock");
    let caused_by = |name: &str| {
        call(&server, map.clone(), json!({"items": [1]}))
            .mock(error_mock("Boom"))
            .state_configuration(
                TestStateConfiguration::builder()
                    .error_caused_by_state(name)
                    .build(),
            )
    };
    let failed = caused_by("T").send().await.unwrap();
    assert_eq!(
        (failed.status(), failed.error()),
        (Some(&TestExecutionStatus::Failed), Some("Boom"))
    );
    let (code, msg) = refused(caused_by("Elsewhere")).await;
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("Elsewhere"), "{msg}");
    server.stop().await;
}

#[tokio::test]
async fn variables_and_context_and_bad_requests() {
    let server = TestServer::start().await;
    let def = json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Output": {"v": "{% $x %}", "sm": "{% $states.context.StateMachine.Name %}"},
        "Assign": {"y": "{% $x + 1 %}"}, "End": true});
    let out = call(&server, def.clone(), json!({}))
        .variables(r#"{"x": 41}"#)
        .context(r#"{"StateMachine": {"Name": "mine"}}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(parse(out.output()), json!({"v": 41, "sm": "mine"}));
    assert_eq!(
        parse(out.inspection_data().unwrap().variables()),
        json!({"x": 41, "y": 42})
    );

    let (code, msg) = refused(
        call(&server, def.clone(), json!({})).mock(MockInput::builder().result("{}").build()),
    )
    .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ValidationException",
            "State type 'Pass' is not supported when a mock is specified"
        )
    );
    let (_, msg) = refused(call(&server, def, json!({})).context(r#"{"Map": {}}"#)).await;
    assert_eq!(msg, "Invalid Context object provided: 'Map' field is not supported when mocking a Context object");
    let (code, _) = refused(call(
        &server,
        json!({"Type": "Nope", "End": true}),
        json!({}),
    ))
    .await;
    assert_eq!(code, "InvalidDefinition");
    let token = json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true});
    let (code, _) = refused(call(&server, token, json!({}))).await;
    assert_eq!(code, "ValidationException", "a callback task needs a mock");
    let (_, msg) = refused(
        call(&server, lambda_task(), json!({})).mock(
            MockInput::builder()
                .result("{}")
                .error_output(MockErrorOutput::builder().error("E").build())
                .build(),
        ),
    )
    .await;
    assert_eq!(
        msg,
        "A test mock should have only one of the following fields: [result, errorOutput]."
    );
    server.stop().await;
}

#[tokio::test]
async fn unmocked_task_calls_the_local_function() {
    let dir = tempfile::tempdir().unwrap();
    let functions = dir.path().join("functions.toml");
    std::fs::write(
        &functions,
        r#"
[functions.echo]
command = "cat"

[functions.fails]
command = ["sh", "-c", "cat >/dev/null; echo '{\"errorType\": \"ValueError\", \"errorMessage\": \"bad input\"}'"]
"#,
    )
    .unwrap();
    let config = cairn::config::Config {
        functions_file: Some(functions),
        ..cairn::config::Config::default()
    };
    let server = TestServer::start_with(config).await;
    let task = |f: &str| {
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": f, "Payload": {"n": "{% $states.input.n %}"}},
            "Output": "{% $states.result.Payload %}", "QueryLanguage": "JSONata", "End": true})
    };
    let ok = call(&server, task("echo"), json!({"n": 7}))
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parse(ok.output()), json!({"n": 7}));
    let d = ok.inspection_data().unwrap();
    assert_eq!(
        parse(d.after_arguments()),
        json!({"FunctionName": "echo", "Payload": {"n": 7}})
    );
    let failed = call(&server, task("fails"), json!({"n": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!(failed.error(), Some("ValueError"));
    server.stop().await;
}

#[tokio::test]
async fn trace_shows_the_http_exchange_with_secrets_hidden() {
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::any(|body: String| async move { axum::Json(json!({"got": body})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let connections = dir.path().join("connections.toml");
    std::fs::write(
        &connections,
        r#"
[connections."arn:aws:events:us-east-1:123456789012:connection/key/1"]
api_key = { name = "x-api-key", value = "s3cret" }
query_parameters = { tenant = "t7" }
"#,
    )
    .unwrap();
    let server = TestServer::start_with(cairn::config::Config {
        connections_file: Some(connections),
        ..cairn::config::Config::default()
    })
    .await;
    let def = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": true,
        "Parameters": {"ApiEndpoint": format!("http://{addr}/echo"), "Method": "POST",
            "RequestBody": {"a": 1},
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/key/1"}}});
    let traced = |reveal: bool| {
        call(&server, def.clone(), json!({}))
            .inspection_level(InspectionLevel::Trace)
            .reveal_secrets(reveal)
    };
    let hidden = traced(false).send().await.unwrap();
    assert_eq!(hidden.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(
        parse(hidden.output())["ResponseBody"],
        json!({"got": "{\"a\":1}"})
    );
    let d = hidden.inspection_data().unwrap();
    let req = d.request().expect("the request");
    assert_eq!(
        (req.method(), req.body()),
        (Some("POST"), Some("{\"a\":1}"))
    );
    assert!(
        req.url().unwrap().contains("tenant=*****"),
        "{:?}",
        req.url()
    );
    assert!(!req.headers().unwrap().contains("s3cret"));
    let resp = d.response().expect("the response");
    assert_eq!(resp.status_code(), Some("200"));
    assert_eq!(parse(resp.body()), json!({"got": "{\"a\":1}"}));

    let shown = traced(true).send().await.unwrap();
    let req = shown.inspection_data().unwrap().request().unwrap().clone();
    assert!(req.url().unwrap().contains("tenant=t7"));
    assert!(req.headers().unwrap().contains("s3cret"));
    let debug = call(&server, def, json!({}))
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert!(
        debug.inspection_data().unwrap().request().is_none(),
        "only TRACE"
    );
    server.stop().await;
}
