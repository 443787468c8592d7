//! How deeply JSON may nest anywhere in an execution, and a stack-free way to measure it.
//!
//! Every document Cairn keeps (execution input, state output, task results, snapshots,
//! history bodies) is read back with `serde_json`, whose parser refuses documents nested
//! deeper than 127 levels. So that nothing is accepted that could not be read back after a
//! restart, 127 is Cairn's limit everywhere: the API refuses deeper execution input and task
//! output (AWS-shaped 400s), and inside an execution a deeper state output or task result
//! fails the state with a terminal `States.Runtime` (see `run.rs`, `task.rs`). AWS's own
//! limit is not recorded; it is documented as a decision in the README.
//!
//! Owns the limit and the measurement. Must not allocate per level or recurse (it runs on
//! hostile input).

/// The deepest nesting of arrays and objects Cairn accepts (`serde_json`'s parser limit).
pub const MAX_JSON_DEPTH: usize = 127;

/// The deepest nesting of `[`/`{` in `text`, ignoring brackets inside strings. Does not
/// check that `text` is JSON; it only measures, in one pass, without recursion.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether `text` nests deeper than [`MAX_JSON_DEPTH`].
pub fn too_deep(text: &str) -> bool {
    json_depth(text) > MAX_JSON_DEPTH
}

/// The message for a document nested too deeply.
pub fn too_deep_message(what: &str) -> String {
    format!(
        "{what} is nested deeper than the maximum of {MAX_JSON_DEPTH} levels of arrays and objects"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_nesting_outside_strings() {
        assert_eq!(json_depth("1"), 0);
        assert_eq!(json_depth("{}"), 1);
        assert_eq!(json_depth(r#"{"a":[1,{"b":"[[[["}]}"#), 3);
        assert_eq!(json_depth(r#"["\"[[", [[]]]"#), 3);
        assert!(!too_deep(&format!(
            "{}{}",
            "[".repeat(127),
            "]".repeat(127)
        )));
        assert!(too_deep(&format!("{}{}", "[".repeat(128), "]".repeat(128))));
        assert!(too_deep(&"[".repeat(100_000)));
    }

    #[test]
    fn the_limit_is_what_serde_json_reads_back() {
        let at = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(serde_json::from_str::<serde_json::Value>(&at).is_ok());
        let over = format!("[{at}]");
        assert!(serde_json::from_str::<serde_json::Value>(&over).is_err());
    }
}
