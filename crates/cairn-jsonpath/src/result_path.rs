//! `ResultPath`: writing a state's result into (a copy of) its raw input.
//!
//! `$` replaces everything; `$.a.b` creates missing intermediate objects; `$.a[0]` replaces an
//! existing array element. The target is taken by value and modified in place, so no copy is
//! made. Writing below something that is not an object (or not an array, for an index) is a
//! `States.Runtime` error: AWS's name for it is not observed (the spec says
//! `States.ResultPathMatchFailure`).

use crate::path::parse::parse_path;
use crate::path::{normalized, Root, Segment, Selector};
use crate::{PathError, STATES_RUNTIME};
use serde_json::{Map, Value};

pub(crate) fn write(path: &str, mut target: Value, result: Value) -> Result<Value, PathError> {
    if path == "$" {
        return Ok(result);
    }
    let parsed = parse_path(path).map_err(|e| failure(path, &e))?;
    if parsed.root != Root::Input {
        return Err(failure(
            path,
            "a ResultPath must address the state's data ($), not the context object or a variable",
        ));
    }
    if !parsed.is_reference() {
        return Err(failure(
            path,
            "a ResultPath must be a reference path (member names and array indices only)",
        ));
    }
    if parsed.segments.len() > MAX_RESULT_PATH_SEGMENTS {
        return Err(failure(
            path,
            &format!("a ResultPath may be at most {MAX_RESULT_PATH_SEGMENTS} levels deep"),
        ));
    }
    write_at(path, &parsed.segments, 0, &mut target, result)?;
    Ok(target)
}

/// The deepest ResultPath written: the JSON nesting limit (`cairn_core::limits`), since
/// anything deeper would give an output the engine refuses anyway. Without it a path of
/// thousands of members built (recursively) an object as deep and overflowed the stack
/// writing or dropping it (found by fuzzing).
const MAX_RESULT_PATH_SEGMENTS: usize = 127;

fn write_at(
    path: &str,
    segments: &[Segment],
    depth: usize,
    node: &mut Value,
    result: Value,
) -> Result<(), PathError> {
    let Some(segment) = segments.get(depth) else {
        *node = result;
        return Ok(());
    };
    match segment {
        Segment::Child(Selector::Name(name)) => {
            let Value::Object(members) = node else {
                return Err(not_a(path, &segments[..depth], node, "an object"));
            };
            let child = members
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            write_at(path, segments, depth + 1, child, result)
        }
        Segment::Child(Selector::Index(index)) => {
            let Value::Array(items) = node else {
                return Err(not_a(path, &segments[..depth], node, "an array"));
            };
            let len = items.len() as i64;
            let k = if *index < 0 { len + index } else { *index };
            if !(0..len).contains(&k) {
                return Err(failure(
                    path,
                    &format!(
                        "index {index} is out of bounds for the array at {} (length {len})",
                        normalized(&segments[..depth])
                    ),
                ));
            }
            write_at(path, segments, depth + 1, &mut items[k as usize], result)
        }
        _ => Err(failure(path, "not a reference path")),
    }
}

fn not_a(path: &str, prefix: &[Segment], found: &Value, wanted: &str) -> PathError {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    failure(
        path,
        &format!(
            "the value at {} is {kind}, not {wanted}",
            normalized(prefix)
        ),
    )
}

fn failure(path: &str, why: &str) -> PathError {
    PathError {
        error: STATES_RUNTIME,
        message: format!("Unable to apply ResultPath '{path}' to the state input: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_deeper_than_the_nesting_limit_is_refused() {
        let ok = format!("${}", ".a".repeat(MAX_RESULT_PATH_SEGMENTS));
        assert!(write(&ok, json!({}), json!(1)).is_ok());
        let deep = format!("${}", ".a".repeat(20_000));
        let err = write(&deep, json!({}), json!(1)).unwrap_err();
        assert!(
            format!("{err:?}").contains("at most 127 levels deep"),
            "{err:?}"
        );
    }

    #[test]
    fn dollar_replaces_everything() {
        assert_eq!(write("$", json!({"a": 1}), json!(2)).unwrap(), json!(2));
    }

    #[test]
    fn writes_into_existing_and_new_members() {
        assert_eq!(
            write("$.b", json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            write("$.a", json!({"a": 1}), json!({"x": 0})).unwrap(),
            json!({"a": {"x": 0}})
        );
        assert_eq!(
            write("$.x.y['z w']", json!({"a": 1}), json!(true)).unwrap(),
            json!({"a": 1, "x": {"y": {"z w": true}}})
        );
        assert_eq!(
            write("$.a.c", json!({"a": {"b": 1}}), json!(2)).unwrap(),
            json!({"a": {"b": 1, "c": 2}})
        );
    }

    #[test]
    fn writes_into_array_elements() {
        assert_eq!(
            write("$.a[1]", json!({"a": [1, 2, 3]}), json!("x")).unwrap(),
            json!({"a": [1, "x", 3]})
        );
        assert_eq!(
            write("$.a[-1].b", json!({"a": [{}, {}]}), json!(0)).unwrap(),
            json!({"a": [{}, {"b": 0}]})
        );
        let err = write("$.a[5]", json!({"a": [1]}), json!(0)).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.message.contains("out of bounds"), "{}", err.message);
    }

    #[test]
    fn writing_below_a_non_object_fails() {
        let err = write("$.a", json!("text"), json!(1)).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.message,
            "Unable to apply ResultPath '$.a' to the state input: the value at $ is a string, not an object"
        );
        let err = write("$.a.b", json!({"a": 5}), json!(1)).unwrap_err();
        assert!(
            err.message.contains("the value at $['a'] is a number"),
            "{}",
            err.message
        );
        assert!(write("$.a", json!([1]), json!(1)).is_err());
        assert!(write("$[0]", json!({"a": 1}), json!(1)).is_err());
    }

    #[test]
    fn rejects_non_reference_and_non_data_paths() {
        for bad in [
            "$$.Execution",
            "$var.x",
            "$.a[*]",
            "$..a",
            "$.a[0:1]",
            "nope",
            "$.a[",
        ] {
            assert!(write(bad, json!({}), json!(1)).is_err(), "{bad}");
        }
    }
}
