//! Event emission: ids, `previousEventId` threading and the details members.
//!
//! Owns how an event is numbered and what its details contain; knows nothing about states.
//! `input`/`output`/`parameters` are compact JSON strings with a `{"truncated": false}`
//! sibling, and `error`/`cause` are omitted when absent (HISTORY.md §1).

use crate::{Effect, EventType, HistoryEvent};
use serde_json::{Map, Value};

/// Collects the events and effects of one step.
#[derive(Debug)]
pub(crate) struct Emitter {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    pub next_id: u64,
    pub now_ms: i64,
}

impl Emitter {
    pub fn new(next_id: u64, now_ms: i64) -> Self {
        Emitter {
            events: Vec::new(),
            effects: Vec::new(),
            next_id,
            now_ms,
        }
    }

    /// Append an event; returns its id.
    pub fn emit(
        &mut self,
        prev: u64,
        event_type: EventType,
        details: Option<Map<String, Value>>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.events.push(HistoryEvent {
            id,
            previous_event_id: prev,
            timestamp_ms: self.now_ms,
            event_type,
            details,
        });
        id
    }
}

/// Compact JSON text of a value.
pub(crate) fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// `{"truncated": false}`, built once and cloned (cloning skips re-hashing the key).
fn not_truncated() -> Value {
    static VALUE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    VALUE
        .get_or_init(|| {
            let mut m = Map::with_capacity(1);
            m.insert("truncated".into(), Value::Bool(false));
            Value::Object(m)
        })
        .clone()
}

/// A details object under construction.
#[derive(Default)]
pub(crate) struct Details(pub Map<String, Value>);

impl Details {
    pub fn new() -> Self {
        Details(Map::with_capacity(4))
    }
    pub fn str(mut self, key: &str, v: impl Into<String>) -> Self {
        self.0.insert(key.into(), Value::String(v.into()));
        self
    }
    pub fn opt_str(mut self, key: &str, v: Option<&str>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::String(v.into()));
        }
        self
    }
    pub fn num(mut self, key: &str, v: u64) -> Self {
        self.0.insert(key.into(), Value::from(v));
        self
    }
    pub fn opt_num(self, key: &str, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.num(key, v),
            None => self,
        }
    }
    /// `input` + `inputDetails`.
    pub fn input(mut self, text: String) -> Self {
        self.0.insert("input".into(), Value::String(text));
        self.0.insert("inputDetails".into(), not_truncated());
        self
    }
    /// `output` + `outputDetails`.
    pub fn output(mut self, text: String) -> Self {
        self.0.insert("output".into(), Value::String(text));
        self.0.insert("outputDetails".into(), not_truncated());
        self
    }
    /// `assignedVariables` (values as JSON strings) + `assignedVariablesDetails`.
    pub fn assigned(mut self, vars: Option<&Map<String, Value>>) -> Self {
        if let Some(vars) = vars {
            let m: Map<String, Value> = vars
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(json_text(v))))
                .collect();
            self.0.insert("assignedVariables".into(), Value::Object(m));
            self.0
                .insert("assignedVariablesDetails".into(), not_truncated());
        }
        self
    }
    /// `taskCredentials: {"roleArn": …}` when the Task has `Credentials`.
    pub fn credentials(mut self, role_arn: Option<&str>) -> Self {
        if let Some(role) = role_arn {
            let mut m = Map::with_capacity(1);
            m.insert("roleArn".into(), Value::String(role.into()));
            self.0.insert("taskCredentials".into(), Value::Object(m));
        }
        self
    }
    pub fn error_cause(self, error: Option<&str>, cause: Option<&str>) -> Self {
        self.opt_str("error", error).opt_str("cause", cause)
    }
    pub fn done(self) -> Option<Map<String, Value>> {
        Some(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_gap_free_and_prev_is_kept() {
        let mut e = Emitter::new(5, 1000);
        assert_eq!(e.emit(0, EventType::PassStateEntered, None), 5);
        assert_eq!(e.emit(5, EventType::PassStateExited, None), 6);
        assert_eq!(e.next_id, 7);
        assert_eq!(e.events[1].previous_event_id, 5);
        assert_eq!(e.events[1].timestamp_ms, 1000);
    }

    #[test]
    fn details_omit_absent_error_and_cause() {
        let d = Details::new().error_cause(None, Some("c")).done().unwrap();
        assert!(!d.contains_key("error"));
        assert_eq!(d["cause"], "c");
        let d = Details::new().input("{}".into()).done().unwrap();
        assert_eq!(d["inputDetails"], serde_json::json!({"truncated": false}));
    }
}
