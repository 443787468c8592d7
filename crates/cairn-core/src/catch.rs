//! Catch (ASL.md §9.3): the first catcher whose ErrorEquals matches, and the output it
//! produces (error output placed into the raw state input by the catcher's ResultPath).

use crate::dataflow::result_path;
use crate::errors::Failure;
use cairn_asl::Catcher;
use serde_json::Value;

pub(crate) fn find<'c>(catchers: &'c [Catcher], failure: &Failure) -> Option<&'c Catcher> {
    if failure.terminal {
        return None;
    }
    catchers.iter().find(|c| failure.matches(&c.error_equals))
}

/// The state output when `catcher` handles `failure`. OutputPath is not applied (observed).
pub(crate) fn output(
    catcher: &Catcher,
    failure: &Failure,
    raw_input: Value,
) -> Result<Value, cairn_jsonpath::PathError> {
    result_path(
        catcher.result_path.as_deref(),
        raw_input,
        failure.error_output(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_runtime_is_never_caught() {
        let c = |e: &str, n: &str| Catcher {
            error_equals: vec![e.into()],
            next: n.into(),
            result_path: Some("$".into()),
            output: None,
            assign: None,
        };
        let cs = vec![c("A", "one"), c("States.ALL", "all")];
        assert_eq!(
            find(&cs, &Failure::new(Some("A".into()), None))
                .unwrap()
                .next,
            "one"
        );
        assert_eq!(
            find(&cs, &Failure::new(Some("B".into()), None))
                .unwrap()
                .next,
            "all"
        );
        assert!(find(&cs, &Failure::runtime("S", 1, "x")).is_none());
    }
}
