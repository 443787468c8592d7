//! The validation context: collects diagnostics and knows the machine-wide settings (machine
//! type, top-level query language, Map labels seen so far).
//!
//! Also the one place where AWS's message shapes are spelled, so every rule words the same
//! kind of problem the same way. Observed AWS wordings are used where known (see
//! `shared/spec/API.md` §3.2); the others are ours and say plainly what is wrong.
//!
//! Must not: decide what is valid — that is the rule modules' job.

use super::{Diagnostic, MachineType, Severity};
use crate::model::QueryLanguage;
use serde_json::Value;
use std::collections::HashMap;

pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
pub const INVALID_LABEL_NAME: &str = "INVALID_LABEL_NAME";
pub const DUPLICATE_LABEL_NAME: &str = "DUPLICATE_LABEL_NAME";
/// Warning codes (AWS's documented list for ValidateStateMachineDefinition).
pub const NO_DOLLAR: &str = "NO_DOLLAR";
pub const NO_PATH: &str = "NO_PATH";
pub const PASS_RESULT_IS_STATIC: &str = "PASS_RESULT_IS_STATIC";

pub struct Cx {
    diagnostics: Vec<Diagnostic>,
    pub machine_type: MachineType,
    /// The top-level `QueryLanguage`: what a state without its own inherits. AWS resolves
    /// nested states against the *machine's* language, not the enclosing Map/Parallel's
    /// (observed; see `jsonata::state_language`).
    pub root_language: QueryLanguage,
    /// Map `Label` → location of its first use.
    pub labels: HashMap<String, String>,
    /// State name → location of its first definition, across all scopes.
    pub state_names: HashMap<String, String>,
}

impl Cx {
    pub fn new(machine_type: MachineType) -> Self {
        Cx {
            diagnostics: Vec::new(),
            machine_type,
            root_language: QueryLanguage::JsonPath,
            labels: HashMap::new(),
            state_names: HashMap::new(),
        }
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    pub fn error(&mut self, code: &str, message: impl Into<String>, location: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            message: message.into(),
            location: location.into(),
        });
    }

    /// A warning: reported by ValidateStateMachineDefinition, never a reason to refuse.
    pub fn warning(&mut self, code: &str, message: impl Into<String>, location: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: code.to_string(),
            message: message.into(),
            location: location.into(),
        });
    }

    /// A `SCHEMA_VALIDATION_FAILED` error.
    pub fn schema(&mut self, message: impl Into<String>, location: impl Into<String>) {
        self.error(SCHEMA_VALIDATION_FAILED, message, location);
    }

    pub fn not_supported(&mut self, field: &str, location: &str) {
        self.schema(format!("Field '{field}' is not supported"), location);
    }

    pub fn required(&mut self, fields: &[&str], location: &str) {
        self.schema(
            format!("These fields are required: [{}]", fields.join(", ")),
            location,
        );
    }

    /// Several members of a mutually exclusive group are present.
    pub fn only_one_of(&mut self, fields: &[&str], location: &str) {
        self.schema(
            format!(
                "There should only be one of the following fields: [{}]",
                fields.join(", ")
            ),
            location,
        );
    }

    pub fn enum_values(&mut self, field: &str, values: &[&str], location: &str) {
        self.schema(
            format!(
                "The field '{field}' should have one of these values: [{}]",
                values.join(", ")
            ),
            location,
        );
    }

    /// A value of the wrong JSON type.
    pub fn wrong_kind(&mut self, field: &str, expected: Kind, got: &Value, location: &str) {
        let got = Kind::of(got);
        self.schema(
            format!(
                "The value for the field '{field}' must be {} but was {}",
                expected.with_article(),
                got.with_article()
            ),
            location,
        );
    }

    pub fn empty(&mut self, location: &str) {
        self.schema("Value cannot be empty", location);
    }

    /// A field that only exists in the other query language.
    pub fn wrong_language(&mut self, field: &str, current: QueryLanguage, location: &str) {
        let (now, only) = match current {
            QueryLanguage::JsonPath => ("JSONPath", "JSONata"),
            QueryLanguage::Jsonata => ("JSONata", "JSONPath"),
        };
        self.schema(
            format!(
                "The QueryLanguage is set to '{now}', but field '{field}' is only supported for the '{only}' QueryLanguage"
            ),
            location,
        );
    }
}

/// JSON value kinds as AWS names them in messages ("must be a STRING … but was an ARRAY").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub fn of(v: &Value) -> Kind {
        match v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => Kind::Integer,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "NULL",
            Kind::Boolean => "BOOLEAN",
            Kind::Integer => "INTEGER",
            Kind::Number => "NUMBER",
            Kind::String => "STRING",
            Kind::Array => "ARRAY",
            Kind::Object => "OBJECT",
        }
    }

    pub fn with_article(self) -> String {
        let article = match self {
            Kind::Integer | Kind::Array | Kind::Object => "an",
            _ => "a",
        };
        format!("{article} {}", self.name())
    }
}

/// `parent/child` pointer (the root is the empty string, shown as `/`).
pub fn at(parent: &str, child: &str) -> String {
    format!("{parent}/{child}")
}

/// `parent/field[i]`: AWS writes array elements with brackets.
pub fn at_index(parent: &str, field: &str, index: usize) -> String {
    format!("{parent}/{field}[{index}]")
}

/// The pointer of an object itself: `/` for the root.
pub fn here(location: &str) -> String {
    if location.is_empty() {
        "/".to_string()
    } else {
        location.to_string()
    }
}
