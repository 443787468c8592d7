//! Settings files (functions, connections, mocks) read as JSON: `.toml` files as TOML,
//! everything else as JSON, so each file's parser deals with one shape.
//!
//! Must not: interpret what the files say.

use anyhow::Context;
use serde_json::{json, Map, Value};
use std::path::Path;

/// Read a settings file into JSON: `.toml` as TOML, anything else as JSON.
pub(crate) fn load_document(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let toml = path.extension().and_then(|e| e.to_str()) == Some("toml");
    parse_document(&text, toml).with_context(|| path.display().to_string())
}

/// Parse a settings file's text into JSON: TOML when `toml`, else JSON.
pub(crate) fn parse_document(text: &str, toml: bool) -> anyhow::Result<Value> {
    if toml {
        let doc: toml_edit::DocumentMut = text.parse().context("not valid TOML")?;
        Ok(table_json(doc.as_table()))
    } else {
        serde_json::from_str(text).context("not valid JSON")
    }
}

fn table_json<'a>(entries: impl IntoIterator<Item = (&'a str, &'a toml_edit::Item)>) -> Value {
    let mut m = Map::new();
    for (k, item) in entries {
        if let Some(v) = item_json(item) {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

fn item_json(item: &toml_edit::Item) -> Option<Value> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(value_json(v)),
        toml_edit::Item::Table(t) => Some(table_json(t.iter())),
        toml_edit::Item::ArrayOfTables(a) => Some(Value::Array(
            a.iter().map(|t| table_json(t.iter())).collect(),
        )),
    }
}

fn value_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => json!(*i.value()),
        T::Float(f) => json!(*f.value()),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(value_json).collect()),
        T::InlineTable(t) => {
            let mut m = Map::new();
            for (k, v) in t.iter() {
                m.insert(k.to_string(), value_json(v));
            }
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_values_become_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(
            &p,
            "a = [1, 2.5, true, \"x\"]\nt = { k = { n = 1 } }\n[[list]]\nv = 1\n[[list]]\nv = 2\n",
        )
        .unwrap();
        assert_eq!(
            load_document(&p).unwrap(),
            json!({"a": [1, 2.5, true, "x"], "t": {"k": {"n": 1}}, "list": [{"v": 1}, {"v": 2}]})
        );
        std::fs::write(&p, "a = [").unwrap();
        assert!(load_document(&p).is_err());
        let j = dir.path().join("s.json");
        std::fs::write(&j, "{\"a\": 1}").unwrap();
        assert_eq!(load_document(&j).unwrap(), json!({"a": 1}));
    }
}
