//! The query-language seam. Every state's data flow goes through [`for_state`]: JSONPath
//! states use `dataflow.rs`; JSONata states are refused for now with `States.Runtime`
//! (a JSONata engine will slot in here behind the same entry point).

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
