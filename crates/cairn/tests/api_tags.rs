//! Tags on state machines and activities: from create, TagResource (overwrite, 50-tag limit),
//! UntagResource (absent keys ignored), ListTagsForResource, and what cannot be tagged.

mod common;

use aws_sdk_sfn::types::Tag;
use common::{error_code, error_message, pass_definition, TestServer, ROLE_ARN};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tag_lifecycle_on_a_state_machine() {
    let server = TestServer::start().await;
    let c = &server.client;
    let arn = c
        .create_state_machine()
        .name("tagged")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .tags(tag("team", "core"))
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let list = |c: &aws_sdk_sfn::Client, arn: &str| {
        let req = c.list_tags_for_resource().resource_arn(arn);
        async move { pairs(req.send().await.unwrap().tags()) }
    };
    assert_eq!(list(c, &arn).await, [("team".into(), "core".into())]);

    c.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "platform"))
        .tags(tag("env", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(
        list(c, &arn).await,
        [
            ("team".into(), "platform".into()),
            ("env".into(), "".into())
        ]
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(list(c, &arn).await, [("env".into(), "".into())]);

    // Tags survive a restart.
    let server = server.restart().await;
    assert_eq!(
        list(&server.client, &arn).await,
        [("env".into(), "".into())]
    );

    // Deleting the machine forgets its tags; a new machine of the same name starts bare.
    let c = &server.client;
    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ResourceNotFound"));
    c.create_state_machine()
        .name("tagged")
        .definition(pass_definition())
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap();
    assert!(list(c, &arn).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn tags_on_activities_and_the_limit() {
    let server = TestServer::start().await;
    let c = &server.client;
    let mut create = c.create_activity().name("worker");
    for i in 0..3 {
        create = create.tags(tag(&format!("k{i}"), "v"));
    }
    let arn = create.send().await.unwrap().activity_arn().to_string();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 3);

    let mut too_many = c.tag_resource().resource_arn(&arn);
    for i in 3..51 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    let err = too_many.send().await.unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TooManyTags"));
    // Overwriting existing keys does not count twice: 50 in all is fine.
    let mut fifty = c.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        fifty = fifty.tags(tag(&format!("k{i}"), "w"));
    }
    fifty.send().await.unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 50);

    let mut create = c.create_activity().name("crowded");
    for i in 0..51 {
        create = create.tags(tag(&format!("k{i}"), "v"));
    }
    let err = create.send().await.unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("TooManyTags"));
}

#[tokio::test]
async fn what_cannot_be_tagged() {
    let server = TestServer::start().await;
    let c = &server.client;
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:missing";
    let err = c
        .tag_resource()
        .resource_arn(missing)
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ResourceNotFound"));
    assert_eq!(
        error_message(&err).unwrap(),
        format!("Resource not found: '{missing}'")
    );
    let version = "arn:aws:states:us-east-1:123456789012:stateMachine:missing:1";
    let err = c
        .list_tags_for_resource()
        .resource_arn(version)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ResourceNotFound"));
    let err = c
        .untag_resource()
        .resource_arn("garbage")
        .tag_keys("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("InvalidArn"));
    let err = c
        .tag_resource()
        .resource_arn(missing)
        .tags(tag(&"k".repeat(129), "v"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err).as_deref(), Some("ValidationException"));
    assert!(error_message(&err).unwrap().contains("'tags.1.member.key'"));
}
