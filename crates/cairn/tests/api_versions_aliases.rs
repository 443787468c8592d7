//! Versions and aliases through the real server and aws-sdk-rust: publishing (on create, on
//! update, explicitly, with the revision guard), listing and deleting versions (numbers never
//! reused), describing a version, immutability of a version's executions, every alias
//! operation with AWS's validation, starts through version and alias ARNs (DescribeExecution,
//! ListExecutions filters, DescribeStateMachineForExecution, `$$.StateMachine.Id`), the
//! weighted split of a two-route alias, a nested `.sync` start on an alias ARN, and
//! DeleteStateMachine taking its versions and aliases along.

#[path = "resources_helpers.rs"]
mod helpers;

use aws_sdk_sfn::types::RoutingConfigurationListItem;
use helpers::*;
use serde_json::{json, Value};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine";

/// A machine whose output names its revision and reports `$$.StateMachine.Id`.
fn labelled(label: &str) -> String {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"label": label, "id.$": "$$.StateMachine.Id"}, "End": true}}})
    .to_string()
}

fn route(version_arn: &str, weight: i32) -> RoutingConfigurationListItem {
    RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version_arn)
        .weight(weight)
        .build()
        .unwrap()
}

async fn create_published(server: &TestServer, name: &str, label: &str) -> (String, String) {
    let out = server
        .client
        .create_state_machine()
        .name(name)
        .definition(labelled(label))
        .role_arn(ROLE_ARN)
        .publish(true)
        .send()
        .await
        .unwrap();
    (
        out.state_machine_arn().to_string(),
        out.state_machine_version_arn().unwrap().to_string(),
    )
}

/// UpdateStateMachine to `label` with publish; the new version's ARN.
async fn publish_update(server: &TestServer, arn: &str, label: &str) -> String {
    server
        .client
        .update_state_machine()
        .state_machine_arn(arn)
        .definition(labelled(label))
        .publish(true)
        .send()
        .await
        .unwrap()
        .state_machine_version_arn()
        .unwrap()
        .to_string()
}

async fn versions_of(server: &TestServer, arn: &str) -> Vec<String> {
    server
        .client
        .list_state_machine_versions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap()
        .state_machine_versions()
        .iter()
        .map(|v| v.state_machine_version_arn().to_string())
        .collect()
}

#[tokio::test]
async fn versions_are_published_listed_described_and_deleted() {
    let server = TestServer::start().await;
    let c = &server.client;
    let (arn, v1) = create_published(&server, "flow", "one").await;
    assert_eq!(arn, format!("{PREFIX}:flow"));
    assert_eq!(v1, format!("{PREFIX}:flow:1"));

    // A repeated identical create answers the same version.
    let (_, again) = create_published(&server, "flow", "one").await;
    assert_eq!(again, v1);

    let d = c
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(d.state_machine_arn(), v1);
    assert_eq!(d.name(), "flow");
    assert_eq!(d.definition(), labelled("one"));
    assert!(d.revision_id().is_none() && d.description().is_none());

    // Update + publish mints version 2, with its description.
    let up = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(labelled("two"))
        .publish(true)
        .version_description("second")
        .send()
        .await
        .unwrap();
    let v2 = up.state_machine_version_arn().unwrap().to_string();
    assert_eq!(v2, format!("{PREFIX}:flow:2"));
    let revision = up.revision_id().unwrap().to_string();
    let d2 = c
        .describe_state_machine()
        .state_machine_arn(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(d2.description(), Some("second"));
    assert_eq!(d2.revision_id(), Some(revision.as_str()));
    assert_eq!(d2.definition(), labelled("two"));

    // Publishing a revision that already has a version answers that version.
    let p = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .revision_id(&revision)
        .send()
        .await
        .unwrap();
    assert_eq!(p.state_machine_version_arn(), v2);
    let e = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .revision_id("INITIAL")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ConflictException"));
    assert_eq!(
        error_message(&e).unwrap(),
        format!(
            "Failed to publish the State Machine version for revision INITIAL. The current \
             State Machine revision is {revision}."
        )
    );
    let e = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(labelled("x"))
        .version_description("no publish")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&e).unwrap(),
        "Version description can only be set when publish is true"
    );

    // Newest first, paginated.
    assert_eq!(versions_of(&server, &arn).await, [v2.clone(), v1.clone()]);
    let page = c
        .list_state_machine_versions()
        .state_machine_arn(&arn)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.state_machine_versions()[0].state_machine_version_arn(),
        v2
    );
    let rest = c
        .list_state_machine_versions()
        .state_machine_arn(&arn)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        rest.state_machine_versions()[0].state_machine_version_arn(),
        v1
    );
    assert!(rest.next_token().is_none());

    // Delete version 2 (twice: the second is a no-op); its number is never reused.
    for _ in 0..2 {
        c.delete_state_machine_version()
            .state_machine_version_arn(&v2)
            .send()
            .await
            .unwrap();
    }
    let e = c
        .describe_state_machine()
        .state_machine_arn(&v2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("StateMachineDoesNotExist"));
    let p = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .description("third")
        .send()
        .await
        .unwrap();
    assert_eq!(p.state_machine_version_arn(), format!("{PREFIX}:flow:3"));
    assert_eq!(
        versions_of(&server, &arn).await,
        [format!("{PREFIX}:flow:3"), v1.clone()]
    );

    // Errors: a bad ARN, a version ARN to publish from, an unknown machine.
    let e = c
        .publish_state_machine_version()
        .state_machine_arn("invalid_arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_message(&e).unwrap(),
        "Invalid Arn: 'Invalid ARN prefix: invalid_arn'"
    );
    let e = c
        .publish_state_machine_version()
        .state_machine_arn(format!("{PREFIX}:nobody"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("StateMachineDoesNotExist"));
    server.stop().await;
}

#[tokio::test]
async fn a_version_runs_what_was_published() {
    let server = TestServer::start().await;
    let c = &server.client;
    let (arn, v1) = create_published(&server, "imm", "one").await;
    c.update_state_machine()
        .state_machine_arn(&arn)
        .definition(labelled("two"))
        .send()
        .await
        .unwrap();
    let (by_version, d) = run(&server, &v1, json!({})).await;
    assert_eq!(output(&d), json!({"label": "one", "id": v1}));
    assert_eq!(d.state_machine_arn(), arn);
    assert_eq!(d.state_machine_version_arn(), Some(v1.as_str()));
    assert!(d.state_machine_alias_arn().is_none());
    assert!(by_version.contains(":execution:imm:"), "{by_version}");
    let (plain, d) = run(&server, &arn, json!({})).await;
    assert_eq!(output(&d), json!({"label": "two", "id": arn}));
    assert!(d.state_machine_version_arn().is_none());

    let f = c
        .describe_state_machine_for_execution()
        .execution_arn(&by_version)
        .send()
        .await
        .unwrap();
    assert_eq!(f.state_machine_arn(), arn);
    assert_eq!(f.definition(), labelled("one"));
    assert!(
        f.revision_id().is_none(),
        "version 1 is the initial revision"
    );

    // ListExecutions by version lists only that version's executions.
    let listed = c
        .list_executions()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = listed
        .executions()
        .iter()
        .map(|e| e.execution_arn())
        .collect();
    assert_eq!(arns, [by_version.as_str()]);
    assert_eq!(
        listed.executions()[0].state_machine_version_arn(),
        Some(v1.as_str())
    );
    let all = c
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(all.executions().len(), 2);
    assert_eq!(all.executions()[0].execution_arn(), plain);
    let e = c
        .start_execution()
        .state_machine_arn(format!("{arn}:7"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("StateMachineDoesNotExist"));
    server.stop().await;
}

#[tokio::test]
async fn aliases_route_and_are_validated() {
    let server = TestServer::start().await;
    let c = &server.client;
    let (arn, v1) = create_published(&server, "al", "one").await;
    let v2 = publish_update(&server, &arn, "two").await;

    let created = c
        .create_state_machine_alias()
        .name("live")
        .description("d")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap();
    let alias = created.state_machine_alias_arn().to_string();
    assert_eq!(alias, format!("{arn}:live"));
    // Idempotent with the same settings; a conflict with others.
    let same = c
        .create_state_machine_alias()
        .name("live")
        .description("d")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap();
    assert_eq!(same.creation_date(), created.creation_date());
    let e = c
        .create_state_machine_alias()
        .name("live")
        .description("other")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ConflictException"));
    assert_eq!(
        error_message(&e).unwrap(),
        "Failed to create alias because an alias with the same name and a different routing \
         configuration already exists."
    );
    for (routes, message) in [
        (
            vec![route(&arn, 100)],
            format!(
                "Routing configuration must contain state machine version ARNs. Received: [{arn}]"
            ),
        ),
        (
            vec![route(&v1, 70), route(&v2, 29)],
            "Sum of routing configuration weights must equal 100. Received: [70, 29]".to_string(),
        ),
    ] {
        let e = c
            .create_state_machine_alias()
            .name("bad")
            .set_routing_configuration(Some(routes))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&e).as_deref(), Some("ValidationException"));
        assert_eq!(error_message(&e).unwrap(), message);
    }
    let e = c
        .create_state_machine_alias()
        .name("123")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ValidationException"));
    let e = c
        .create_state_machine_alias()
        .name("ghost")
        .routing_configuration(route(&format!("{arn}:9"), 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ResourceNotFound"));

    let d = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!((d.name(), d.description()), (Some("live"), Some("d")));
    assert_eq!(d.routing_configuration().len(), 1);

    // Start through the alias.
    let (exec, e1) = run(&server, &alias, json!({})).await;
    assert_eq!(output(&e1), json!({"label": "one", "id": v1}));
    assert_eq!(e1.state_machine_alias_arn(), Some(alias.as_str()));
    assert_eq!(e1.state_machine_version_arn(), Some(v1.as_str()));
    assert_eq!(e1.state_machine_arn(), arn);
    let by_alias = c
        .list_executions()
        .state_machine_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!(by_alias.executions()[0].execution_arn(), exec);
    assert_eq!(
        by_alias.executions()[0].state_machine_alias_arn(),
        Some(alias.as_str())
    );

    // Re-route to version 2, then v1 is free to delete; v2 is not.
    c.update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route(&v2, 100))
        .send()
        .await
        .unwrap();
    let (_, e2) = run(&server, &alias, json!({})).await;
    assert_eq!(output(&e2)["label"], "two");
    let second = c
        .create_state_machine_alias()
        .name("canary")
        .routing_configuration(route(&v2, 90))
        .routing_configuration(route(&v1, 10))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn()
        .to_string();
    let aliases = |r: aws_sdk_sfn::operation::list_state_machine_aliases::ListStateMachineAliasesOutput| -> Vec<String> {
        r.state_machine_aliases().iter().map(|a| a.state_machine_alias_arn().to_string()).collect()
    };
    let all = c
        .list_state_machine_aliases()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(aliases(all), [alias.clone(), second.clone()]);
    let of_v1 = c
        .list_state_machine_aliases()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(aliases(of_v1), std::slice::from_ref(&second));
    let e = c
        .delete_state_machine_version()
        .state_machine_version_arn(&v2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ConflictException"));
    assert_eq!(
        error_message(&e).unwrap(),
        "Version to be deleted must not be referenced by an alias. Current list of aliases \
         referencing this version: [live, canary]"
    );
    c.delete_state_machine_alias()
        .state_machine_alias_arn(&second)
        .send()
        .await
        .unwrap();
    c.delete_state_machine_alias()
        .state_machine_alias_arn(&second)
        .send()
        .await
        .unwrap();
    c.delete_state_machine_version()
        .state_machine_version_arn(&v1)
        .send()
        .await
        .unwrap();
    let e = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&second)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ResourceNotFound"));
    assert_eq!(
        error_message(&e).unwrap(),
        "Request references a resource that does not exist."
    );
    let e = c
        .update_state_machine_alias()
        .state_machine_alias_arn(&second)
        .description("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ResourceNotFound"));

    // Deleting the machine deletes its versions and aliases.
    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(versions_of(&server, &arn).await.is_empty());
    let e = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e).as_deref(), Some("ResourceNotFound"));
    // The executions stay readable, still naming what they ran.
    let kept = c
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.state_machine_alias_arn(), Some(alias.as_str()));
    server.stop().await;
}

/// How many executions ListExecutions lists for `arn`, over every page.
async fn count(c: &aws_sdk_sfn::Client, arn: &str) -> usize {
    let mut n = 0;
    let mut token = None;
    loop {
        let page = c
            .list_executions()
            .state_machine_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        n += page.executions().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return n;
        }
    }
}

#[tokio::test]
async fn a_two_route_alias_splits_by_weight() {
    let server = TestServer::start().await;
    let c = &server.client;
    let (arn, v1) = create_published(&server, "split", "one").await;
    let v2 = publish_update(&server, &arn, "two").await;
    let alias = c
        .create_state_machine_alias()
        .name("canary")
        .routing_configuration(route(&v1, 70))
        .routing_configuration(route(&v2, 30))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn()
        .to_string();
    const N: usize = 300;
    for i in 0..N {
        c.start_execution()
            .state_machine_arn(&alias)
            .name(format!("run-{i}"))
            .send()
            .await
            .unwrap();
    }
    let (on_v1, on_v2) = (count(c, &v1).await, count(c, &v2).await);
    assert_eq!(on_v1 + on_v2, N);
    // 210 expected on v1; the binomial's standard deviation is ~8: allow 5 either side.
    assert!(
        (170..=250).contains(&on_v1),
        "{on_v1} of {N} on the 70% route"
    );
    // Every execution ran the version it was routed to.
    let listed = c
        .list_executions()
        .state_machine_arn(&v2)
        .send()
        .await
        .unwrap();
    let d = wait_done(&server, listed.executions()[0].execution_arn()).await;
    assert_eq!(output(&d)["label"], "two");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_sync_start_on_an_alias_runs_its_version() {
    let server = TestServer::start().await;
    let (arn, v1) = create_published(&server, "child", "one").await;
    server
        .client
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(labelled("latest"))
        .send()
        .await
        .unwrap();
    let alias = server
        .client
        .create_state_machine_alias()
        .name("prod")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn()
        .to_string();
    let parent = machine(
        &server,
        "parent",
        task_machine(json!({
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": alias, "Input": {}}
        })),
    )
    .await;
    let (_, d) = run(&server, &parent, json!({})).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED", "{:?}", d.cause());
    let out: Value = output(&d);
    assert_eq!(out["Output"], json!({"label": "one", "id": v1}));
    let child = out["ExecutionArn"].as_str().unwrap();
    let c = wait_done(&server, child).await;
    assert_eq!(c.state_machine_alias_arn(), Some(alias.as_str()));
    assert_eq!(c.state_machine_version_arn(), Some(v1.as_str()));
    server.stop().await;
}

#[tokio::test]
async fn variable_references_are_described() {
    let server = TestServer::start().await;
    let c = &server.client;
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "B"},
        "B": {"Type": "Pass", "Output": "{% $x + $y + $count([1]) %}", "End": true}}});
    let arn = machine(&server, "vars", definition).await;
    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let refs = d.variable_references().unwrap();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs["B"], ["x", "y"]);
    let (exec, _) = run(&server, &arn, json!({})).await;
    let f = c
        .describe_state_machine_for_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(f.variable_references().unwrap()["B"], ["x", "y"]);
    let plain = machine(
        &server,
        "plain",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let d = c
        .describe_state_machine()
        .state_machine_arn(&plain)
        .send()
        .await
        .unwrap();
    assert!(d.variable_references().is_none());
    server.stop().await;
}
