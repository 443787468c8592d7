//! Optimized integrations Cairn does not perform (Bedrock, EMR, CodeBuild, …; `aws-sdk:*` and the
//! optimized DynamoDB, SQS, SNS, EventBridge, ECS, Batch, Glue ones are in `aws`): the task fails
//! with `States.Runtime` and a cause that names the resource and says how to mock it.
//!
//! Must not: pretend to succeed.

use super::Answer;

pub(super) fn answer(resource: &str) -> Answer {
    Answer::fail(
        "States.Runtime",
        format!(
            "Cairn cannot call the resource '{resource}': it runs Lambda functions (--functions, \
             LAMBDA_ENDPOINT), HTTP Tasks, nested executions (states:startExecution, \
             aws-sdk:sfn), activities, every aws-sdk:<service>:<action> resource and the \
             optimized DynamoDB, SQS, SNS, EventBridge, ECS, Batch and Glue integrations. Mock \
             this state with a Step Functions Local mock configuration file (--mock-config / \
             SFN_MOCK_CONFIG) and start the execution with 'stateMachineArn#TestCase'."
        ),
    )
}
