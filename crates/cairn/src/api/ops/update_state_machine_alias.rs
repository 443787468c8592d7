//! UpdateStateMachineAlias: change an alias's description and/or routing (one of them must be
//! given). The new routes must be versions of the alias's own machine. Unknown alias →
//! `ResourceNotFound` (observed). Executions already started keep the version they got.

use super::alias_common::{routes_of, RouteInput};
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::ApiError;
use cairn_store::AliasWritten;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_alias_arn: String,
    description: Option<String>,
    routing_configuration: Option<Vec<RouteInput>>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let arn = input.state_machine_alias_arn;
    versions::alias_arn(&arn)?;
    if input.description.is_none() && input.routing_configuration.is_none() {
        return Err(ApiError::validation(
            "Either the description or the RoutingConfiguration must be specified",
        ));
    }
    let mut alias = versions::load_alias(app, &arn).await?;
    if let Some(items) = &input.routing_configuration {
        let routes = routes_of(items);
        let machine = versions::check_routing(&routes)?;
        if machine != alias.machine_arn {
            let listed: Vec<&str> = routes.iter().map(|(v, _)| v.as_str()).collect();
            return Err(ApiError::validation(format!(
                "Routing configuration must contain state machine version ARNs of the \
                 alias's state machine. Received: [{}]",
                listed.join(", ")
            )));
        }
        alias.routes = routes;
    }
    if let Some(d) = input.description {
        alias.description = Some(d);
    }
    let machine_arn = alias.machine_arn.clone();
    let deleting = app
        .store(move |s| s.get_state_machine(&machine_arn))
        .await?
        .is_some_and(|m| m.status == "DELETING");
    if deleting {
        return Err(ApiError::state_machine_is_deleting(&alias.machine_arn));
    }
    alias.update_date_ms = ctx.now_ms;
    let record = alias.clone();
    match app.store(move |s| s.update_alias(&record)).await? {
        AliasWritten::Done => Ok(json!({"updateDate": epoch_seconds(alias.update_date_ms)})),
        _ => Err(versions::alias_not_found()),
    }
}
