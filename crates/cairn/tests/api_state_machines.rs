//! State machines through the real SDK: create (idempotency rules), describe (defaults,
//! includedData), list over pages, update (revision ids), delete, validate, and errors.

mod common;

use aws_sdk_sfn::types::{IncludedData, LogLevel, LoggingConfiguration, StateMachineType};
use common::{error_code, error_message, pass_definition, TestServer, ROLE_ARN};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine";

#[tokio::test]
async fn create_describe_update_delete() {
    let server = TestServer::start().await;
    let c = &server.client;
    let definition = pass_definition();
    let created = c
        .create_state_machine()
        .name("flow")
        .definition(&definition)
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_string();
    assert_eq!(arn, format!("{PREFIX}:flow"));
    assert!(created.state_machine_version_arn().is_none());

    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.name(), "flow");
    assert_eq!(
        d.definition(),
        definition,
        "definition is returned as submitted"
    );
    assert_eq!(d.role_arn(), ROLE_ARN);
    assert_eq!(d.r#type(), &StateMachineType::Standard);
    assert_eq!(d.status().unwrap().as_str(), "ACTIVE");
    assert_eq!(d.creation_date(), created.creation_date());
    let logging = d.logging_configuration().unwrap();
    assert_eq!(logging.level(), Some(&LogLevel::Off));
    assert!(!logging.include_execution_data());
    assert!(!d.tracing_configuration().unwrap().enabled());
    assert!(
        d.revision_id().is_none(),
        "no revision before the first update"
    );

    let meta = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .included_data(IncludedData::MetadataOnly)
        .send()
        .await
        .unwrap();
    assert_eq!(meta.definition(), "{}");

    // Update: a real change mints a revision, an identical update keeps it.
    let new_definition = r#"{"StartAt":"Q","States":{"Q":{"Type":"Pass","End":true}}}"#;
    let u1 = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(new_definition)
        .send()
        .await
        .unwrap();
    let revision = u1.revision_id().unwrap().to_string();
    let u2 = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(new_definition)
        .send()
        .await
        .unwrap();
    assert_eq!(u2.revision_id(), Some(revision.as_str()));
    let u3 = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .role_arn("arn:aws:iam::123456789012:role/other")
        .send()
        .await
        .unwrap();
    assert_ne!(u3.revision_id(), Some(revision.as_str()));
    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition(), new_definition);
    assert_eq!(d.role_arn(), "arn:aws:iam::123456789012:role/other");
    assert_eq!(d.revision_id(), u3.revision_id());

    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineDoesNotExist")
    );
    assert_eq!(
        error_message(&err).unwrap(),
        format!("State Machine Does Not Exist: '{arn}'")
    );
    // Deleting a machine that does not exist succeeds (observed).
    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_is_idempotent_only_for_identical_settings() {
    let server = TestServer::start().await;
    let c = &server.client;
    let create = |definition: String, role: &str| {
        c.create_state_machine()
            .name("idem")
            .definition(definition)
            .role_arn(role)
    };
    let first = create(pass_definition(), ROLE_ARN).send().await.unwrap();
    // Another role is ignored: same ARN, same creation date.
    let again = create(pass_definition(), "arn:aws:iam::123456789012:role/r2")
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_arn(), first.state_machine_arn());
    assert_eq!(again.creation_date(), first.creation_date());
    // Even whitespace in the definition counts as different.
    let spaced = pass_definition().replace(',', ", ");
    let err = create(spaced, ROLE_ARN).send().await.unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineAlreadyExists")
    );
    assert_eq!(
        error_message(&err).unwrap(),
        format!(
            "State Machine Already Exists: '{}'",
            first.state_machine_arn()
        )
    );
    // So does another type or logging configuration.
    let err = create(pass_definition(), ROLE_ARN)
        .r#type(StateMachineType::Express)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineAlreadyExists")
    );
    let logging = LoggingConfiguration::builder()
        .level(LogLevel::Off)
        .include_execution_data(true)
        .build();
    let err = create(pass_definition(), ROLE_ARN)
        .logging_configuration(logging)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineAlreadyExists")
    );
}

#[tokio::test]
async fn express_machines_and_invalid_definitions() {
    let server = TestServer::start().await;
    let c = &server.client;
    let created = c
        .create_state_machine()
        .name("fast")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .r#type(StateMachineType::Express)
        .send()
        .await
        .unwrap();
    let d = c
        .describe_state_machine()
        .state_machine_arn(created.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(d.r#type(), &StateMachineType::Express);

    let err = c
        .create_state_machine()
        .name("broken")
        .definition("{\"StartAt\": ")
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidDefinition"));
    assert!(error_message(&err)
        .unwrap()
        .starts_with("Invalid State Machine Definition: '"));

    let err = c
        .create_state_machine()
        .name("no-states")
        .definition("{}")
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidDefinition"));
    assert!(error_message(&err)
        .unwrap()
        .contains("SCHEMA_VALIDATION_FAILED"));

    let activity = r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:x","End":true}}}"#;
    let err = c
        .create_state_machine()
        .name("express-activity")
        .definition(activity)
        .role_arn(ROLE_ARN)
        .r#type(StateMachineType::Express)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidDefinition"));

    // An update must also carry a valid definition.
    let err = c
        .update_state_machine()
        .state_machine_arn(created.state_machine_arn())
        .definition("[]")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidDefinition"));
}

#[tokio::test]
async fn create_and_update_errors() {
    let server = TestServer::start().await;
    let c = &server.client;
    let err = c
        .create_state_machine()
        .name("bad name")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidName"));
    let err = c
        .create_state_machine()
        .name("bad-role")
        .definition(pass_definition())
        .role_arn("not-a-role")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    let err = c
        .create_state_machine()
        .name("desc")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .version_description("v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ValidationException"));
    assert_eq!(
        error_message(&err).unwrap(),
        "Version description can only be set when publish is true"
    );
    let err = c
        .create_state_machine()
        .name("logs")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("InvalidLoggingConfiguration")
    );

    let arn = c
        .create_state_machine()
        .name("target")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let err = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("MissingRequiredParameter")
    );
    assert_eq!(
        error_message(&err).unwrap(),
        "Either the definition, the role ARN, the LoggingConfiguration, or the \
         TracingConfiguration must be specified"
    );
    let missing = format!("{PREFIX}:missing");
    let err = c
        .update_state_machine()
        .state_machine_arn(&missing)
        .definition(pass_definition())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineDoesNotExist")
    );
    let version = format!("{arn}:1");
    let err = c
        .update_state_machine()
        .state_machine_arn(&version)
        .definition(pass_definition())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&err).as_deref(),
        Some("StateMachineDoesNotExist")
    );
    assert!(error_message(&err).unwrap().contains(&version));
    let err = c
        .describe_state_machine()
        .state_machine_arn("arn:nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    assert_eq!(
        error_message(&err).unwrap(),
        "Invalid Arn: 'Invalid ARN prefix: arn:nope'"
    );
    let err = c
        .delete_state_machine()
        .state_machine_arn(format!("{arn}/label"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ValidationException"));
}

#[tokio::test]
async fn list_state_machines_over_pages_and_after_restart() {
    let server = TestServer::start().await;
    let c = &server.client;
    for i in 0..5 {
        c.create_state_machine()
            .name(format!("m{i}"))
            .definition(pass_definition())
            .role_arn(ROLE_ARN)
            .send()
            .await
            .unwrap();
    }
    let first = c.list_state_machines().max_results(2).send().await.unwrap();
    assert_eq!(first.state_machines().len(), 2);
    assert_eq!(first.state_machines()[0].name(), "m0");
    assert_eq!(
        first.state_machines()[0].r#type(),
        &StateMachineType::Standard
    );
    let token = first.next_token().unwrap().to_string();
    // A token of one listing is not accepted by another.
    let err = c
        .list_activities()
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));

    let server = server.restart().await;
    let c = &server.client;
    let second = c
        .list_state_machines()
        .max_results(2)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = second.state_machines().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["m2", "m3"]);
    let all: Vec<_> = c
        .list_state_machines()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let d = c
        .describe_state_machine()
        .state_machine_arn(format!("{PREFIX}:m4"))
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition(), pass_definition());
    server.stop().await;
}

#[tokio::test]
async fn validate_state_machine_definition_reports_without_failing() {
    let server = TestServer::start().await;
    let c = &server.client;
    let ok = c
        .validate_state_machine_definition()
        .definition(pass_definition())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.result().as_str(), "OK");
    assert!(ok.diagnostics().is_empty());
    let bad = c
        .validate_state_machine_definition()
        .definition("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.result().as_str(), "FAIL");
    assert!(!bad.diagnostics().is_empty());
    assert_eq!(bad.diagnostics()[0].code(), "SCHEMA_VALIDATION_FAILED");
    let capped = c
        .validate_state_machine_definition()
        .definition("{}")
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(capped.diagnostics().len(), 1);
}
