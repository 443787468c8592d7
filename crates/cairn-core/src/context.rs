//! The context object (`$$`, ASL.md §6), built on demand from the execution and thread.
//!
//! Owns the object's shape and timestamp format (ISO-8601 UTC with milliseconds). It is only
//! built when an expression mentions `$$`, so states that never read it pay nothing.

use crate::ExecutionInfo;
use serde_json::{Map, Value};

/// What the context object of one evaluation contains beyond the execution.
pub(crate) struct ContextParts<'a> {
    pub info: &'a ExecutionInfo,
    pub state_name: &'a str,
    pub entered_ms: i64,
    /// `Some` only in Task, Parallel and Map states.
    pub retry_count: Option<u32>,
    pub task_token: Option<&'a str>,
    /// `$$.Map.Item`: index and value (only in ItemSelector).
    pub map_item: Option<(u32, &'a Value)>,
}

impl ContextParts<'_> {
    pub fn build(&self) -> Value {
        let info = self.info;
        let mut execution = Map::new();
        execution.insert("Id".into(), Value::String(info.execution_arn.clone()));
        // Parsed from the stored text on demand: the snapshot keeps no second copy.
        let input = serde_json::from_str(&info.input_text).unwrap_or(Value::Null);
        execution.insert("Input".into(), input);
        execution.insert(
            "StartTime".into(),
            Value::String(iso_millis(info.start_time_ms)),
        );
        execution.insert("Name".into(), Value::String(info.name.clone()));
        execution.insert("RoleArn".into(), Value::String(info.role_arn.clone()));
        execution.insert("RedriveCount".into(), Value::from(info.redrive_count));
        if let Some(t) = info.redrive_time_ms {
            execution.insert("RedriveTime".into(), Value::String(iso_millis(t)));
        }
        let mut machine = Map::new();
        machine.insert(
            "Id".into(),
            Value::String(
                info.state_machine_version_arn
                    .clone()
                    .unwrap_or_else(|| info.state_machine_arn.clone()),
            ),
        );
        machine.insert(
            "Name".into(),
            Value::String(info.state_machine_name.clone()),
        );
        let mut state = Map::new();
        state.insert(
            "EnteredTime".into(),
            Value::String(iso_millis(self.entered_ms)),
        );
        state.insert("Name".into(), Value::String(self.state_name.into()));
        if let Some(n) = self.retry_count {
            state.insert("RetryCount".into(), Value::from(n));
        }
        let mut root = Map::new();
        root.insert("Execution".into(), Value::Object(execution));
        root.insert("StateMachine".into(), Value::Object(machine));
        root.insert("State".into(), Value::Object(state));
        if let Some(token) = self.task_token {
            let mut task = Map::new();
            task.insert("Token".into(), Value::String(token.into()));
            root.insert("Task".into(), Value::Object(task));
        }
        if let Some((index, value)) = self.map_item {
            let mut item = Map::new();
            item.insert("Index".into(), Value::from(index));
            item.insert("Value".into(), value.clone());
            let mut map = Map::new();
            map.insert("Item".into(), Value::Object(item));
            root.insert("Map".into(), Value::Object(map));
        }
        Value::Object(root)
    }
}

/// `2019-03-26T20:14:13.192Z`.
pub(crate) fn iso_millis(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

/// Does a path or template mention the context object?
pub(crate) fn mentions_context(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$"),
        Value::Array(a) => a.iter().any(mentions_context),
        Value::Object(o) => o.values().any(mentions_context),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_millis_and_z() {
        assert_eq!(iso_millis(1_553_631_253_192), "2019-03-26T20:14:13.192Z");
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn mentions() {
        assert!(mentions_context(
            &serde_json::json!({"a.$": "$$.Execution.Id"})
        ));
        assert!(!mentions_context(&serde_json::json!({"a.$": "$.x"})));
    }
}
