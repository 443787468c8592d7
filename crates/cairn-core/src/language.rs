//! The query-language seam. [`for_state`] decides how a state's fields are evaluated:
//! JSONPath states use `dataflow.rs` (paths, payload templates, intrinsics); JSONata states
//! are refused for now with `States.Runtime` when entered (`run.rs`, `enter_state`), and
//! every `Dynamic::Expr` field answers [`JSONATA_UNSUPPORTED`].
//!
//! Where a JSONata evaluator slots in (each is one function today, all JSONPath):
//! - state input of the work: `task.rs` `task_parameters` (→ `Arguments`),
//!   `parallel.rs` `fan_out_parallel`, `map.rs` `fan_out_map`/`item_inputs` (→ `Items`,
//!   `ItemSelector`);
//! - state output: `run.rs` `complete_with_result`, `pass.rs`, `choice.rs`, `wait.rs`,
//!   `terminal.rs` (→ `Output`), and `run.rs` `on_failure` for catchers (→ catcher `Output`);
//! - `Assign` everywhere above (→ `{% %}` values, `$states.*`);
//! - `choice.rs` `holds` (→ `Condition`), `wait.rs` `fire_at` (→ `Seconds`/`Timestamp`),
//!   `task.rs` `seconds` and `map.rs` `map_number`/`tolerance` (→ numeric expressions);
//! - `EvaluationFailed` events (HISTORY.md §4.2) would be written by those call sites.

use cairn_asl::{QueryLanguage, State};

pub(crate) const JSONATA_UNSUPPORTED: &str =
    "JSONata is not supported yet by this engine (QueryLanguage \"JSONata\").";

/// How a state's fields are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    JsonPath,
    /// Not implemented: the state fails with `States.Runtime` when entered.
    Jsonata,
}

pub(crate) fn for_state(state: &State) -> Language {
    match state.query_language {
        QueryLanguage::JsonPath => Language::JsonPath,
        QueryLanguage::Jsonata => Language::Jsonata,
    }
}
