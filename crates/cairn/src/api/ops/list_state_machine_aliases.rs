//! ListStateMachineAliases: a machine's aliases in creation order (observed oldest first),
//! paginated; given a version ARN, only the aliases routing to that version.

use crate::api::pagination::PageRequest;
use crate::api::{parse_input, versions, Ctx};
use crate::app::App;
use cairn_api::time::epoch_seconds;
use cairn_api::{ApiError, Arn, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    state_machine_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub async fn handle(app: &App, _ctx: &Ctx, input: Value) -> Result<Value, ApiError> {
    let input: Input = parse_input(input)?;
    let given = input.state_machine_arn;
    let (machine_arn, version) = match Arn::parse_as(&given, &["stateMachine"])?.resource {
        Resource::StateMachine { .. } => (given.clone(), None),
        Resource::Version { .. } => (versions::base_arn(&given), Some(given.clone())),
        Resource::Labelled { .. } => return Err(ApiError::labelled_arn_not_supported()),
        Resource::Alias { .. } => {
            return Err(ApiError::validation(format!(
                "Invalid Arn: 'Expected a state machine or version ARN: {given}'"
            )))
        }
        _ => unreachable!("parse_as accepts only stateMachine ARNs"),
    };
    let page = PageRequest::new(
        "ListStateMachineAliases",
        input.max_results,
        input.next_token.as_deref(),
    )?;
    let key = machine_arn.clone();
    let machine = app
        .store(move |s| s.get_state_machine(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(&given))?;
    if machine.status == "DELETING" {
        return Err(ApiError::state_machine_is_deleting(&machine_arn));
    }
    if let Some(v) = &version {
        versions::load_version(app, v).await?;
    }
    let (after, fetch) = (page.after.clone(), page.fetch());
    let mut rows = app
        .store(move |s| s.list_aliases(&machine_arn, version.as_deref(), after.as_ref(), fetch))
        .await?;
    let next_token = page.finish(&mut rows, |a| a.seq);
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({
                "stateMachineAliasArn": a.arn,
                "creationDate": epoch_seconds(a.creation_date_ms),
            })
        })
        .collect();
    let mut out = json!({ "stateMachineAliases": items });
    if let Some(token) = next_token {
        out["nextToken"] = token.into();
    }
    Ok(out)
}
