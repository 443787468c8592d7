//! A history event as the interpreter emits it and the store keeps it.
//!
//! `details` holds the fields of the type's details member (e.g. for `TaskStateEntered` the
//! `stateEnteredEventDetails` object: `name`, `input`, `inputDetails`). `input`, `output` and
//! `parameters` inside it are JSON **strings**, as on the wire. The API layer wraps it under
//! [`EventType::details_member`] and converts the timestamp to epoch seconds.

use crate::EventType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub event_type: EventType,
    /// The details member's fields; `None` for types without details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl HistoryEvent {
    /// The event as GetExecutionHistory returns it. `include_data = false` drops
    /// `input`/`output` (keeping the `…Details` siblings), as `includeExecutionData=false` does.
    pub fn to_wire(&self, include_data: bool) -> Value {
        let mut obj = Map::new();
        obj.insert(
            "timestamp".into(),
            serde_json::Number::from_f64(self.timestamp_ms as f64 / 1000.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        obj.insert(
            "type".into(),
            Value::String(self.event_type.as_str().into()),
        );
        obj.insert("id".into(), Value::from(self.id));
        obj.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let (Some(member), Some(details)) = (self.event_type.details_member(), &self.details) {
            let mut d = details.clone();
            if !include_data {
                d.remove("input");
                d.remove("output");
            }
            obj.insert(member.into(), Value::Object(d));
        }
        Value::Object(obj)
    }
}
