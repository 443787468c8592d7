//! ListExecutions: a state machine's executions, newest first, optionally by status; given a
//! version or alias ARN, the executions started through it.

use super::execution_common::list_item;
use crate::api::pagination::page_size;
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::{page_token, ApiError, Arn, Resource};
use cairn_store::{Cursor, ExecutionFilter, ExecutionsOf};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: Option<String>,
    map_run_arn: Option<String>,
    status_filter: Option<String>,
    /// `REDRIVEN` / `NOT_REDRIVEN` (the model checks the value).
    redrive_filter: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

const TOKEN_SCOPE: &str = "ListExecutions";

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let mut req: Input = parse_input(input)?;
    let machine_arn = match (req.state_machine_arn.take(), req.map_run_arn.take()) {
        (Some(arn), None) => arn,
        (None, Some(map_run_arn)) => return map_run_children(app, req, map_run_arn).await,
        _ => {
            return Err(ApiError::validation(
                "Must provide a StateMachine ARN or a MapRun ARN",
            ))
        }
    };
    let arn = Arn::parse_as(&machine_arn, &["stateMachine"])?;
    // A version or alias ARN lists the executions started through it (see `qualified`).
    let qualified = match arn.resource {
        Resource::StateMachine { .. } => None,
        Resource::Version { .. } | Resource::Alias { .. } => {
            Some(super::list_qualified_executions::Qualifier::check(app, &machine_arn, &arn).await?)
        }
        _ => return Err(ApiError::no_such_state_machine(&machine_arn)),
    };
    let key = versions::base_arn_if(&machine_arn, qualified.is_some());
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(&machine_arn))?;
    if machine.machine_type == "EXPRESS" {
        return Err(ApiError::state_machine_type_not_supported(
            "This operation is not supported by this type of state machine",
        ));
    }
    let cursor: Option<Cursor> = match &req.next_token {
        Some(t) => Some(page_token::decode(TOKEN_SCOPE, t)?),
        None => None,
    };
    let limit = page_size(req.max_results);
    let status = req.status_filter.clone();
    let redriven = req.redrive_filter.as_deref().map(|f| f == "REDRIVEN");
    // Every filter is applied by the store's query, so a page is full whenever enough
    // executions match.
    let mut rows = app
        .store(move |s| {
            let filter = ExecutionFilter {
                of: match &qualified {
                    Some(q) => q.executions_of(),
                    None => ExecutionsOf::Machine(&machine_arn),
                },
                status: status.as_deref(),
                redriven,
            };
            s.list_executions(&filter, cursor.as_ref(), limit + 1)
        })
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let mut out = json!({"executions": rows.iter().map(list_item).collect::<Vec<_>>()});
    if more {
        if let Some(last) = rows.last() {
            out["nextToken"] = json!(page_token::encode(TOKEN_SCOPE, &Cursor { seq: last.seq }));
        }
    }
    Ok(out)
}

/// ListExecutions with `mapRunArn`: the Map Run's child executions (each naming its run).
async fn map_run_children(app: &App, req: Input, map_run_arn: String) -> Result<Value, ApiError> {
    let run = super::describe_map_run::load_map_run(app, &map_run_arn).await?;
    let cursor: Option<Cursor> = match &req.next_token {
        Some(t) => Some(page_token::decode(TOKEN_SCOPE, t)?),
        None => None,
    };
    let limit = page_size(req.max_results);
    let status = req.status_filter.clone();
    let redriven = req.redrive_filter.as_deref().map(|f| f == "REDRIVEN");
    let arn = run.arn.clone();
    let mut rows = app
        .store(move |s| {
            s.list_map_run_executions(&arn, status.as_deref(), cursor.as_ref(), limit + 1)
        })
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let last = rows.last().map(|r| r.seq);
    let items: Vec<Value> = rows
        .iter()
        .filter(|e| redriven.is_none_or(|r| (e.redrive_count > 0) == r))
        .map(|r| {
            let mut item = list_item(r);
            item["mapRunArn"] = json!(run.arn);
            item
        })
        .collect();
    let mut out = json!({ "executions": items });
    if let (true, Some(seq)) = (more, last) {
        out["nextToken"] = json!(page_token::encode(TOKEN_SCOPE, &Cursor { seq }));
    }
    Ok(out)
}
