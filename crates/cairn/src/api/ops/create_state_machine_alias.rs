//! CreateStateMachineAlias: name one or two versions of a machine (the machine is the one the
//! version ARNs belong to). Idempotent on (name, description, routing); the same name with
//! anything else is `ConflictException` (observed). A routed version that does not exist is
//! `ResourceNotFound`; more than 100 aliases is `ServiceQuotaExceededException`.

use super::alias_common::{check_alias_name, describe_routes, routes_of, RouteInput};
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::ApiError;
use cairn_store::{AliasRecord, AliasWritten};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    name: String,
    description: Option<String>,
    routing_configuration: Vec<RouteInput>,
}

pub async fn handle(app: &App, ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    check_alias_name(&input.name)?;
    let routes = routes_of(&input.routing_configuration);
    let machine_arn = versions::check_routing(&routes)?;
    let key = machine_arn.clone();
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(versions::alias_not_found)?;
    if machine.status == "DELETING" {
        return Err(ApiError::state_machine_is_deleting(&machine_arn));
    }
    let alias = AliasRecord {
        arn: format!("{machine_arn}:{}", input.name),
        machine_arn,
        name: input.name,
        description: input.description,
        routes,
        creation_date_ms: ctx.now_ms,
        update_date_ms: ctx.now_ms,
        seq: 0,
    };
    let record = alias.clone();
    match app
        .store(move |s| s.insert_alias(&record, versions::MAX_ALIASES))
        .await?
    {
        AliasWritten::Done => Ok(answer(&alias)),
        AliasWritten::Exists(existing)
            if existing.description == alias.description && existing.routes == alias.routes =>
        {
            Ok(answer(&existing))
        }
        AliasWritten::Exists(_) => Err(ApiError::conflict(
            "Failed to create alias because an alias with the same name and a different \
             routing configuration already exists.",
        )),
        AliasWritten::MissingVersion(_) | AliasWritten::Absent => Err(versions::alias_not_found()),
        AliasWritten::QuotaExceeded => Err(ApiError::service_quota_exceeded(format!(
            "Maximum number of aliases ({}) reached for state machine: '{}'. Routing: {}",
            versions::MAX_ALIASES,
            alias.machine_arn,
            describe_routes(&alias.routes)
        ))),
    }
}

fn answer(alias: &AliasRecord) -> Value {
    json!({
        "stateMachineAliasArn": alias.arn,
        "creationDate": epoch_seconds(alias.creation_date_ms),
    })
}
