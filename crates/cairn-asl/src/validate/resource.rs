//! Task `Resource`: its shape, its kind (ARNS.md §3) and what Express machines may not use.
//!
//! Express restrictions (observed messages, API.md §3.2): activities ("Express state machine
//! does not support Activity ARN"), `.sync` / `.sync:N` ("… does not support '.sync' service
//! integration") and `.waitForTaskToken` ("… does not support '.waitForTaskToken' service
//! integration " — AWS's message really ends with a space, observed as two spaces before
//! `at`).
//!
//! Shape: we only require an ARN (`arn:` + at least 6 `:`-separated parts). Anything else is
//! `SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN` (the wording AWS's validator
//! uses, as reported from Step Functions Local; AWS also documents an `INVALID_RESOURCE` code,
//! but reports of real definitions show the schema code). We do not check that the
//! service/action exists: a self-hosted engine decides at run time what it can call.
//!
//! Must not: decide how a resource is run (the interpreter does).

use super::context::Cx;
use super::MachineType;

/// What a Task's `Resource` names, as far as validation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Activity,
    /// `arn:…:states:::service:action` (optimized / aws-sdk / http integrations).
    Integration {
        sync: bool,
        callback: bool,
    },
    /// Anything else shaped like an ARN (legacy Lambda function ARNs, …).
    Other,
}

pub fn classify(resource: &str) -> Option<ResourceKind> {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return None;
    }
    if parts[2] == "states" && parts[5] == "activity" {
        return Some(ResourceKind::Activity);
    }
    if parts[2] == "states" && parts[3].is_empty() && parts[4].is_empty() {
        let callback = resource.ends_with(".waitForTaskToken");
        // `.sync` ends the action, optionally followed by a version: `startExecution.sync:2`.
        let tail = &parts[5..];
        let sync = tail
            .iter()
            .position(|p| p.ends_with(".sync"))
            .is_some_and(|i| {
                tail[i + 1..]
                    .iter()
                    .all(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            });
        return Some(ResourceKind::Integration { sync, callback });
    }
    Some(ResourceKind::Other)
}

/// Check a literal `Resource` string located at `location` (the field's own).
pub fn check(cx: &mut Cx, resource: &str, location: &str) {
    let Some(kind) = classify(resource) else {
        cx.schema("Value is not a valid resource ARN", location);
        return;
    };
    if cx.machine_type != MachineType::Express {
        return;
    }
    match kind {
        ResourceKind::Activity => cx.schema(
            "Express state machine does not support Activity ARN",
            location,
        ),
        ResourceKind::Integration { sync: true, .. } => cx.schema(
            "Express state machine does not support '.sync' service integration",
            location,
        ),
        ResourceKind::Integration { callback: true, .. } => cx.schema(
            "Express state machine does not support '.waitForTaskToken' service integration ",
            location,
        ),
        _ => {}
    }
}
