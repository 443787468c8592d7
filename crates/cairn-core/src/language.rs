//! The query-language seam. [`for_state`] decides how a state's fields are evaluated:
//! JSONPath states use `dataflow.rs` (paths, payload templates, intrinsics), JSONata states
//! use `jsonata.rs` (`$states`, `{% %}` templates and expressions).
//!
//! Where each state module asks (one branch per call site):
//! - state input of the work: `task.rs` `task_parameters` (`Arguments`), `parallel.rs`
//!   `fan_out_parallel` (`Arguments`), `map.rs` `fan_out_map`/`item_inputs` (`Items`,
//!   `ItemSelector`);
//! - state output: `run.rs` `complete_with_result`, `pass.rs`, `choice.rs`, `wait.rs`,
//!   `terminal.rs` (`Output`), and `run.rs` `on_failure` for catchers (catcher `Output`);
//! - `Assign` everywhere above (`{% %}` values, `$states.*`);
//! - `choice.rs` (`Condition`), `wait.rs` `fire_at` (`Seconds`/`Timestamp`), `task.rs`
//!   `seconds` and `map.rs` `map_number`/`tolerance` (numeric expressions), `terminal.rs`
//!   (Fail `Error`/`Cause`);
//! - a failure of any of them writes `EvaluationFailed` (`run.rs` `query_failure`).
//!
//! Variables are shared by both languages: a JSONPath `Assign` is read by `$name` in a
//! JSONata state and the other way round.

use cairn_asl::{QueryLanguage, State};

/// How a state's fields are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    JsonPath,
    Jsonata,
}

pub(crate) fn for_state(state: &State) -> Language {
    match state.query_language {
        QueryLanguage::JsonPath => Language::JsonPath,
        QueryLanguage::Jsonata => Language::Jsonata,
    }
}
