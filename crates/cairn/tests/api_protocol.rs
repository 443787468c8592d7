//! The AWS JSON 1.0 protocol itself, over raw HTTP: targets, content type, request ids,
//! malformed bodies, model validation messages, error bodies, SigV4 regions, and that every
//! operation of the model is routed (none answers 404 or 500).

mod common;

use common::TestServer;
use serde_json::json;

const NS: &str = "com.amazonaws.swf.service.v2.model#";

#[tokio::test]
async fn success_has_content_type_and_request_id() {
    let server = TestServer::start().await;
    let (status, headers, body) = server.raw("AWSStepFunctions.ListActivities", "{}").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
    assert!(!headers["x-amzn-requestid"].is_empty());
    assert_eq!(body, json!({"activities": []}));
    // An empty body counts as `{}`.
    let (status, _, _) = server.raw("AWSStepFunctions.ListStateMachines", "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_or_missing_target() {
    let server = TestServer::start().await;
    for target in ["AWSStepFunctions.DoSomething", "Other.ListActivities", ""] {
        let (status, headers, body) = server.raw(target, "{}").await;
        assert_eq!(status, 400, "{target}");
        assert_eq!(body["__type"], format!("{NS}UnknownOperationException"));
        assert!(headers.contains_key("x-amzn-requestid"));
    }
}

#[tokio::test]
async fn malformed_json_is_a_serialization_error() {
    let server = TestServer::start().await;
    let (status, _, body) = server
        .raw("AWSStepFunctions.CreateActivity", "{\"name\":")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], format!("{NS}SerializationException"));
    let (status, _, body) = server
        .raw("AWSStepFunctions.CreateActivity", "{\"name\": 5}")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], format!("{NS}SerializationException"));
}

#[tokio::test]
async fn model_validation_messages() {
    let server = TestServer::start().await;
    let (status, _, body) = server.raw("AWSStepFunctions.CreateActivity", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], format!("{NS}ValidationException"));
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: \
         Member must not be null"
    );
    let (_, _, body) = server
        .raw(
            "AWSStepFunctions.CreateStateMachine",
            r#"{"name": "", "definition": "{}", "roleArn": "r", "type": "SLOW"}"#,
        )
        .await;
    assert_eq!(
        body["message"],
        "2 validation errors detected: Value '' at 'name' failed to satisfy constraint: \
         Member must have length greater than or equal to 1; Value 'SLOW' at 'type' failed \
         to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
    );
}

#[tokio::test]
async fn error_bodies_carry_extra_members() {
    let server = TestServer::start().await;
    let arn = "arn:aws:states:us-east-1:123456789012:activity:none";
    let (status, _, body) = server
        .raw(
            "AWSStepFunctions.ListTagsForResource",
            &json!({"resourceArn": arn}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], format!("{NS}ResourceNotFound"));
    assert_eq!(body["resourceName"], arn);
    assert!(!body["__type"]
        .as_str()
        .unwrap()
        .split('#')
        .nth(1)
        .unwrap()
        .contains(':'));
}

#[tokio::test]
async fn every_model_operation_is_routed() {
    let server = TestServer::start().await;
    for op in cairn_api::validation::OPERATIONS {
        let (status, _, body) = server
            .raw(&format!("AWSStepFunctions.{}", op.name), "{}")
            .await;
        assert!(status == 200 || status == 400, "{}: {status}", op.name);
        let kind = body["__type"].as_str().unwrap_or_default();
        assert!(
            !kind.ends_with("UnknownOperationException"),
            "{} is not routed",
            op.name
        );
    }
}

#[tokio::test]
async fn sigv4_region_picks_the_arn_region() {
    let server = TestServer::start().await;
    let auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-south-1/states/aws4_request, \
                SignedHeaders=host, Signature=0000";
    let (status, _, body) = server
        .raw_with_headers(
            &[
                ("x-amz-target", "AWSStepFunctions.CreateActivity"),
                ("authorization", auth),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            r#"{"name": "here"}"#,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["activityArn"],
        "arn:aws:states:ap-south-1:123456789012:activity:here"
    );
    // Timestamps are epoch seconds.
    let created = body["creationDate"].as_f64().unwrap();
    assert!(created > 1.6e9 && created < 1e11, "{created}");
}

#[tokio::test]
async fn configured_account_and_region_are_used() {
    let config = cairn::config::Config {
        account_id: "000000000000".into(),
        region: "eu-central-1".into(),
        ..Default::default()
    };
    let server = TestServer::start_with(config).await;
    let (_, _, body) = server
        .raw("AWSStepFunctions.CreateActivity", r#"{"name": "x"}"#)
        .await;
    assert_eq!(
        body["activityArn"],
        "arn:aws:states:eu-central-1:000000000000:activity:x"
    );
}

#[tokio::test]
async fn oversized_bodies_get_an_aws_error() {
    let server = TestServer::start().await;
    let name = "a".repeat(cairn::server::MAX_BODY_BYTES);
    let body = json!({ "name": name }).to_string();
    let (status, headers, body) = server.raw("AWSStepFunctions.CreateActivity", &body).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
    assert_eq!(body["__type"], format!("{NS}ValidationException"));
}
