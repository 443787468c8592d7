//! Activities through the real SDK: create (idempotent by name), describe, list over pages,
//! delete, and the errors of each.

mod common;

use common::{error_code, error_message, TestServer};

#[tokio::test]
async fn create_describe_delete_activity() {
    let server = TestServer::start().await;
    let c = &server.client;
    let created = c.create_activity().name("resize").send().await.unwrap();
    assert_eq!(
        created.activity_arn(),
        "arn:aws:states:us-east-1:123456789012:activity:resize"
    );
    let described = c
        .describe_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), "resize");
    assert_eq!(described.creation_date(), created.creation_date());
    assert_eq!(
        described
            .encryption_configuration()
            .unwrap()
            .r#type()
            .as_str(),
        "AWS_OWNED_KEY"
    );

    c.delete_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap();
    let err = c
        .describe_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ActivityDoesNotExist"));
    assert_eq!(
        error_message(&err).unwrap(),
        format!("Activity Does Not Exist: '{}'", created.activity_arn())
    );
    // Deleting again is fine (observed on AWS).
    c.delete_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn create_activity_is_idempotent_by_name() {
    let server = TestServer::start().await;
    let c = &server.client;
    let first = c.create_activity().name("same").send().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let tag = aws_sdk_sfn::types::Tag::builder()
        .key("k")
        .value("v")
        .build();
    let second = c
        .create_activity()
        .name("same")
        .tags(tag)
        .send()
        .await
        .unwrap();
    assert_eq!(first.activity_arn(), second.activity_arn());
    assert_eq!(first.creation_date(), second.creation_date());
    // The repeated create's tags are ignored.
    let tags = c
        .list_tags_for_resource()
        .resource_arn(first.activity_arn())
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty());
}

#[tokio::test]
async fn invalid_names_and_arns() {
    let server = TestServer::start().await;
    let c = &server.client;
    for name in ["a b", "a:b", "a/b", "a*b", "{x}", "a\u{1}b"] {
        let err = c.create_activity().name(name).send().await.unwrap_err();
        assert_eq!(error_code(&err).as_deref(), Some("InvalidName"), "{name}");
        assert_eq!(
            error_message(&err).unwrap(),
            format!("Invalid Name: '{name}'")
        );
    }
    let err = c
        .create_activity()
        .name("a".repeat(81))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ValidationException"));

    let err = c
        .describe_activity()
        .activity_arn("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    assert_eq!(
        error_message(&err).unwrap(),
        "Invalid Arn: 'Invalid ARN prefix: nope'"
    );
    let err = c
        .delete_activity()
        .activity_arn("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
    let err = c
        .describe_activity()
        .activity_arn(machine)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
}

#[tokio::test]
async fn list_activities_over_several_pages() {
    let server = TestServer::start().await;
    let c = &server.client;
    for i in 0..7 {
        c.create_activity()
            .name(format!("act-{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_activities()
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.activities().len() <= 3);
        names.extend(page.activities().iter().map(|a| a.name().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|i| format!("act-{i}")).collect();
    assert_eq!(names, expected);

    // The SDK paginator walks the same pages.
    let all: Vec<_> = c
        .list_activities()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);

    // Default page size (absent or 0 → 100) returns everything without a token.
    let page = c.list_activities().max_results(0).send().await.unwrap();
    assert_eq!(page.activities().len(), 7);
    assert!(page.next_token().is_none());

    let err = c
        .list_activities()
        .next_token("bogus")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidToken"));
    assert_eq!(
        error_message(&err).unwrap(),
        "Invalid Token: 'Invalid token'"
    );

    let err = c
        .list_activities()
        .max_results(1001)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ValidationException"));
    assert_eq!(
        error_message(&err).unwrap(),
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy \
         constraint: Member must have value less than or equal to 1000"
    );
}

#[tokio::test]
async fn activities_survive_a_restart() {
    let server = TestServer::start().await;
    let created = server
        .client
        .create_activity()
        .name("durable")
        .send()
        .await
        .unwrap();
    let server = server.restart().await;
    let described = server
        .client
        .describe_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), "durable");
    assert_eq!(described.creation_date(), created.creation_date());
    server.stop().await;
}

#[tokio::test]
async fn arns_follow_the_signing_region() {
    let server = TestServer::start().await;
    let eu = server.client_in_region("eu-west-1");
    let created = eu.create_activity().name("regional").send().await.unwrap();
    assert_eq!(
        created.activity_arn(),
        "arn:aws:states:eu-west-1:123456789012:activity:regional"
    );
}
