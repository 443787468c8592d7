//! Evaluating a parsed [`Path`] against JSON data.
//!
//! Evaluation borrows: nodes are returned as references into the data (`Cow::Borrowed`) and
//! only the caller's final result is cloned. A definite path yields its node or a [`Miss`]
//! carrying Jayway's message; an indefinite path yields every match (absent parts just match
//! nothing, as AWS returns `[]` for `$.items[*]` on `{}`).

use super::filter;
use super::{normalized, segments_are_definite, Path, Root, Segment, Selector};
use crate::java_style;
use crate::Scope;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Why a path produced no value. [`Miss::detail`] is Jayway's message, which AWS quotes after
/// `Invalid path '<path>' : `.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Miss {
    /// The last step found nothing.
    NoResults { path: String },
    /// A step before the last found nothing.
    MissingProperty { path: String },
    /// A name was applied to something that is not an object.
    NotAnObject {
        property: String,
        at: String,
        found: &'static str,
    },
    /// An index was applied to something that is not an array.
    NotAnArray { selector: String, found: String },
    /// An index was applied to `null`.
    NullArray { at: String },
    /// `['a','b']` followed by more steps.
    MultiPropertyNotLeaf { at: String },
    /// `$name` names no variable in scope.
    UndefinedVariable { name: String },
}

impl Miss {
    pub fn detail(&self) -> String {
        match self {
            Miss::NoResults { path } => format!("No results for path: {path}"),
            Miss::MissingProperty { path } => format!("Missing property in path {path}"),
            Miss::NotAnObject {
                property,
                at,
                found,
            } => format!(
                "Expected to find an object with property ['{property}'] in path {at} but found \
                 '{found}'. This is not a json object according to the JsonProvider: \
                 '{}'.",
                java_style::JSON_PROVIDER
            ),
            Miss::NotAnArray { selector, found } => format!(
                "Filter: {selector} can only be applied to arrays. Current context is: {found}"
            ),
            Miss::NullArray { at } => format!("The path {at} is null"),
            Miss::MultiPropertyNotLeaf { at } => {
                format!("Multi properties can only be used as path leafs: {at}")
            }
            Miss::UndefinedVariable { name } => format!("The variable '{name}' is not defined"),
        }
    }

    /// Whether the miss means "nothing there" (as opposed to a malformed use of the path).
    pub fn is_absence(&self) -> bool {
        !matches!(self, Miss::MultiPropertyNotLeaf { .. })
    }
}

/// Evaluate a whole path in a scope. An indefinite path yields an owned array.
pub(crate) fn evaluate<'v>(path: &Path, scope: &Scope<'v>) -> Result<Cow<'v, Value>, Miss> {
    let root: &'v Value = match &path.root {
        Root::Input => scope.input,
        Root::Context => scope.context,
        Root::Variable(name) => scope
            .variables
            .get(name)
            .ok_or_else(|| Miss::UndefinedVariable { name: name.clone() })?,
    };
    if path.is_definite() {
        definite(&path.segments, root)
    } else {
        // Jayway rejects a multi-name step before the last one, naming the path up to it.
        let last = path.segments.len().saturating_sub(1);
        if let Some(i) = path.segments[..last]
            .iter()
            .position(|s| matches!(s, Segment::Child(Selector::Names(_))))
        {
            return Err(Miss::MultiPropertyNotLeaf {
                at: normalized(&path.segments[..=i]),
            });
        }
        let mut found = Vec::new();
        collect(&path.segments, root, root, &mut found)?;
        Ok(Cow::Owned(Value::Array(
            found.into_iter().map(Cow::into_owned).collect(),
        )))
    }
}

/// A relative path inside a filter: the single node (definite) or an array of matches;
/// `None` when a definite path finds nothing.
pub(crate) fn select_relative<'v>(
    segments: &[Segment],
    node: &'v Value,
    doc: &'v Value,
) -> Option<Cow<'v, Value>> {
    if segments_are_definite(segments) {
        definite(segments, node).ok()
    } else {
        let mut found = Vec::new();
        collect(segments, node, doc, &mut found).ok()?;
        Some(Cow::Owned(Value::Array(
            found.into_iter().map(Cow::into_owned).collect(),
        )))
    }
}

fn definite<'v>(segments: &[Segment], root: &'v Value) -> Result<Cow<'v, Value>, Miss> {
    let mut current = root;
    let last = segments.len().wrapping_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        let leaf = i == last;
        match segment {
            Segment::Child(Selector::Name(name)) => match current {
                Value::Object(members) => match members.get(name) {
                    Some(v) => current = v,
                    None if leaf => {
                        return Err(Miss::NoResults {
                            path: normalized(segments),
                        })
                    }
                    None => {
                        return Err(Miss::MissingProperty {
                            path: normalized(&segments[..=i]),
                        })
                    }
                },
                other => {
                    return Err(Miss::NotAnObject {
                        property: name.clone(),
                        at: normalized(&segments[..i]),
                        found: java_style::class_name(other),
                    })
                }
            },
            Segment::Child(Selector::Index(index)) => match current {
                Value::Array(items) => match resolve_index(*index, items.len()) {
                    Some(k) => current = &items[k],
                    None => {
                        return Err(Miss::NoResults {
                            path: normalized(segments),
                        })
                    }
                },
                Value::Null => {
                    return Err(Miss::NullArray {
                        at: normalized(&segments[..i]),
                    })
                }
                other => {
                    return Err(Miss::NotAnArray {
                        selector: format!("[{index}]"),
                        found: java_style::to_java_string(other),
                    })
                }
            },
            Segment::Child(Selector::Names(names)) if leaf => {
                return match current {
                    Value::Object(members) => Ok(Cow::Owned(merge_names(names, members))),
                    other => Err(Miss::NotAnObject {
                        property: names.join("', '"),
                        at: normalized(&segments[..i]),
                        found: java_style::class_name(other),
                    }),
                };
            }
            // Functions select nothing in AWS's dialect; other selectors never reach here
            // (callers only route definite segment lists).
            _ => {
                return Err(Miss::NoResults {
                    path: normalized(segments),
                })
            }
        }
    }
    Ok(Cow::Borrowed(current))
}

/// Jayway's multi-name leaf: an object of the named members that exist, in the order named.
fn merge_names(names: &[String], members: &Map<String, Value>) -> Value {
    let mut merged = Map::new();
    for name in names {
        if let Some(v) = members.get(name) {
            merged.insert(name.clone(), v.clone());
        }
    }
    Value::Object(merged)
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let k = if index < 0 { len_i + index } else { index };
    (0..len_i).contains(&k).then_some(k as usize)
}

/// Apply `segments` to `node`, pushing every match; absent members simply match nothing.
fn collect<'v>(
    segments: &[Segment],
    node: &'v Value,
    doc: &'v Value,
    out: &mut Vec<Cow<'v, Value>>,
) -> Result<(), Miss> {
    let Some((first, rest)) = segments.split_first() else {
        out.push(Cow::Borrowed(node));
        return Ok(());
    };
    match first {
        Segment::Child(selector) => apply(selector, rest, node, doc, out),
        Segment::Descendant(selector) => {
            apply(selector, rest, node, doc, out)?;
            match node {
                Value::Object(members) => {
                    for child in members.values() {
                        collect(segments, child, doc, out)?;
                    }
                }
                Value::Array(items) => {
                    for child in items {
                        collect(segments, child, doc, out)?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
    }
}

/// Apply one selector to `node`, then the remaining segments to each selected child.
fn apply<'v>(
    selector: &Selector,
    rest: &[Segment],
    node: &'v Value,
    doc: &'v Value,
    out: &mut Vec<Cow<'v, Value>>,
) -> Result<(), Miss> {
    match selector {
        Selector::Name(name) => {
            if let Some(child) = node.as_object().and_then(|m| m.get(name)) {
                collect(rest, child, doc, out)?;
            }
        }
        Selector::Names(names) => {
            if !rest.is_empty() {
                return Err(Miss::MultiPropertyNotLeaf {
                    at: normalized(&[Segment::Child(selector.clone())]),
                });
            }
            if let Value::Object(members) = node {
                out.push(Cow::Owned(merge_names(names, members)));
            }
        }
        Selector::Index(index) => {
            if let Some(items) = node.as_array() {
                if let Some(k) = resolve_index(*index, items.len()) {
                    collect(rest, &items[k], doc, out)?;
                }
            }
        }
        Selector::Indexes(indexes) => {
            if let Some(items) = node.as_array() {
                for index in indexes {
                    if let Some(k) = resolve_index(*index, items.len()) {
                        collect(rest, &items[k], doc, out)?;
                    }
                }
            }
        }
        Selector::Slice { start, end, step } => {
            if let Some(items) = node.as_array() {
                for k in slice_indices(items.len(), *start, *end, step.unwrap_or(1)) {
                    collect(rest, &items[k], doc, out)?;
                }
            }
        }
        Selector::Function(_) => {}
        Selector::Wildcard => match node {
            Value::Object(members) => {
                for child in members.values() {
                    collect(rest, child, doc, out)?;
                }
            }
            Value::Array(items) => {
                for child in items {
                    collect(rest, child, doc, out)?;
                }
            }
            _ => {}
        },
        Selector::Filter(expr) => match node {
            Value::Array(items) => {
                for child in items {
                    if filter::matches(expr, child, doc) {
                        collect(rest, child, doc, out)?;
                    }
                }
            }
            // Jayway applies a filter on an object to the object itself.
            Value::Object(_) if filter::matches(expr, node, doc) => {
                collect(rest, node, doc, out)?;
            }
            _ => {}
        },
    }
    Ok(())
}

/// Indices selected by `[start:end:step]` (Python semantics; negative bounds count from the end).
fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
) -> impl Iterator<Item = usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let norm = move |x: i64| if x < 0 { x.saturating_add(len) } else { x };
    let (from, to) = if step > 0 {
        (
            start.map_or(0, |s| norm(s).clamp(0, len)),
            end.map_or(len, |e| norm(e).clamp(0, len)),
        )
    } else {
        (
            start.map_or(len - 1, |s| norm(s).clamp(-1, len - 1)),
            end.map_or(-1, |e| norm(e).clamp(-1, len - 1)),
        )
    };
    let step = if step == 0 { 1 } else { step };
    let mut k = from;
    std::iter::from_fn(move || {
        let inside = if step > 0 { k < to } else { k > to };
        if !inside {
            return None;
        }
        let current = k;
        k = k.saturating_add(step);
        Some(current as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_path;
    use super::*;
    use serde_json::json;
    use std::cell::Cell;
    use std::collections::HashMap;

    fn eval(path: &str, input: &Value) -> Result<Value, Miss> {
        let entropy = Cell::new(0);
        let vars: HashMap<String, Value> =
            HashMap::from([("v".to_string(), json!({"x": [10, 20]}))]);
        let context = json!({"Execution": {"Id": "arn"}});
        let scope = Scope {
            input,
            context: &context,
            variables: &vars,
            entropy: &entropy,
        };
        evaluate(&parse_path(path).unwrap(), &scope).map(Cow::into_owned)
    }

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Rees", "price": 8.95},
                    {"category": "fiction", "author": "Waugh", "price": 12.99},
                    {"category": "fiction", "author": "Melville", "price": 8.99, "isbn": "0-553"},
                    {"category": "fiction", "author": "Tolkien", "price": 22.99, "isbn": "0-395"}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "limit": 10
        })
    }

    #[test]
    fn definite_paths_return_the_node() {
        let s = store();
        assert_eq!(eval("$", &s).unwrap(), s);
        assert_eq!(eval("$.store.bicycle.color", &s).unwrap(), json!("red"));
        assert_eq!(
            eval("$['store']['book'][1].author", &s).unwrap(),
            json!("Waugh")
        );
        assert_eq!(
            eval("$.store.book[-1].author", &s).unwrap(),
            json!("Tolkien")
        );
    }

    #[test]
    fn roots_for_context_and_variables() {
        let s = store();
        assert_eq!(eval("$$.Execution.Id", &s).unwrap(), json!("arn"));
        assert_eq!(eval("$v.x[1]", &s).unwrap(), json!(20));
        assert_eq!(
            eval("$nope", &s).unwrap_err(),
            Miss::UndefinedVariable {
                name: "nope".into()
            }
        );
    }

    #[test]
    fn missing_leaf_and_missing_parent_messages() {
        let s = json!({"a": {"b": 1}, "s": "text", "n": null, "arr": [1]});
        assert_eq!(
            eval("$.x", &s).unwrap_err().detail(),
            "No results for path: $['x']"
        );
        assert_eq!(
            eval("$.x.y", &s).unwrap_err().detail(),
            "Missing property in path $['x']"
        );
        assert_eq!(
            eval("$.a.c", &s).unwrap_err().detail(),
            "No results for path: $['a']['c']"
        );
        assert_eq!(
            eval("$.arr[3]", &s).unwrap_err().detail(),
            "No results for path: $['arr'][3]"
        );
        assert!(eval("$.s.x", &s)
            .unwrap_err()
            .detail()
            .starts_with("Expected to find an object with property ['x'] in path $['s'] but found 'java.lang.String'"));
        assert_eq!(
            eval("$.n[0]", &s).unwrap_err().detail(),
            "The path $['n'] is null"
        );
    }

    #[test]
    fn wildcards_on_objects_and_arrays() {
        let s = store();
        assert_eq!(
            eval("$.store.book[*].author", &s).unwrap(),
            json!(["Rees", "Waugh", "Melville", "Tolkien"])
        );
        assert_eq!(
            eval("$.store.bicycle.*", &s).unwrap(),
            json!(["red", 19.95])
        );
        assert_eq!(eval("$.limit[*]", &s).unwrap(), json!([]));
    }

    #[test]
    fn indefinite_paths_over_missing_input_are_empty() {
        let empty = json!({});
        for p in [
            "$.items[*]",
            "$[*]",
            "$.items[1:]",
            "$.items[*].itemValue",
            "$.item.items[1:5].itemValue",
        ] {
            assert_eq!(eval(p, &empty).unwrap(), json!([]), "{p}");
        }
    }

    #[test]
    fn slices_unions_and_steps() {
        let a = json!([0, 1, 2, 3, 4, 5]);
        assert_eq!(eval("$[1:3]", &a).unwrap(), json!([1, 2]));
        assert_eq!(eval("$[:2]", &a).unwrap(), json!([0, 1]));
        assert_eq!(eval("$[-2:]", &a).unwrap(), json!([4, 5]));
        assert_eq!(eval("$[4:100]", &a).unwrap(), json!([4, 5]));
        assert_eq!(eval("$[::2]", &a).unwrap(), json!([0, 2, 4]));
        assert_eq!(eval("$[::-2]", &a).unwrap(), json!([5, 3, 1]));
        assert_eq!(eval("$[9:]", &a).unwrap(), json!([]));
        assert_eq!(eval("$[0,2,-1,9]", &a).unwrap(), json!([0, 2, 5]));
    }

    #[test]
    fn deep_scan_is_preorder() {
        let s = store();
        assert_eq!(
            eval("$..author", &s).unwrap(),
            json!(["Rees", "Waugh", "Melville", "Tolkien"])
        );
        assert_eq!(
            eval("$..price", &s).unwrap(),
            json!([8.95, 12.99, 8.99, 22.99, 19.95])
        );
        let nested = json!({"a": {"a": 1}});
        assert_eq!(eval("$..a", &nested).unwrap(), json!([{"a": 1}, 1]));
        assert_eq!(
            eval("$..*", &json!({"x": [1], "y": 2})).unwrap(),
            json!([[1], 2, 1])
        );
    }

    #[test]
    fn filters_select_array_elements() {
        let s = store();
        assert_eq!(
            eval("$.store.book[?(@.price < 10)].author", &s).unwrap(),
            json!(["Rees", "Melville"])
        );
        assert_eq!(
            eval("$.store.book[?(@.isbn)].author", &s).unwrap(),
            json!(["Melville", "Tolkien"])
        );
        assert_eq!(
            eval(
                "$.store.book[?(@.category == 'fiction' && @.price > 20)].author",
                &s
            )
            .unwrap(),
            json!(["Tolkien"])
        );
        assert_eq!(
            eval("$.store.book[?(@.price > $.limit)].author", &s).unwrap(),
            json!(["Waugh", "Tolkien"])
        );
        assert_eq!(
            eval(
                "$..book[?(@.author == 'Rees' || @.author == 'Waugh')].price",
                &s
            )
            .unwrap(),
            json!([8.95, 12.99])
        );
    }

    #[test]
    fn functions_select_nothing() {
        let s = json!({"Jobs": [1, 2]});
        assert_eq!(
            eval("$.Jobs.sum()", &s).unwrap_err().detail(),
            "No results for path: $['Jobs'].sum()"
        );
        assert_eq!(eval("$.Jobs[*].length()", &s).unwrap(), json!([]));
    }

    #[test]
    fn multi_name_leaf_merges_and_non_leaf_fails() {
        let s = json!({"a": {"v": 1}, "b": {"v": 2}, "c": {"v": 3}});
        assert_eq!(
            eval("$['a', 'b']", &s).unwrap(),
            json!({"a": {"v": 1}, "b": {"v": 2}})
        );
        assert_eq!(
            eval("$['a', 'b'].v", &s).unwrap_err().detail(),
            "Multi properties can only be used as path leafs: $['a', 'b']"
        );
        let nested = json!({"x": s});
        assert_eq!(
            eval("$.x['a','b'].v", &nested).unwrap_err().detail(),
            "Multi properties can only be used as path leafs: $['x']['a', 'b']"
        );
        assert_eq!(
            eval("$.x['a','c']", &nested).unwrap(),
            json!({"a": {"v": 1}, "c": {"v": 3}})
        );
    }

    #[test]
    fn slice_index_arithmetic() {
        let v: Vec<usize> = slice_indices(5, Some(-100), Some(100), 1).collect();
        assert_eq!(v, vec![0, 1, 2, 3, 4]);
        let v: Vec<usize> = slice_indices(5, Some(100), Some(-100), -1).collect();
        assert_eq!(v, vec![4, 3, 2, 1, 0]);
        assert_eq!(slice_indices(0, None, None, -1).count(), 0);
    }
}
