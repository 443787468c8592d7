//! Cross-checks the generated constraint table (`cairn_api::model`) against botocore's model,
//! when the shared spec is checked out next to the repository. Skips (and says so) otherwise.

use cairn_api::validation::{Shape, OPERATIONS};
use serde_json::Value;
use std::path::Path;

fn check_shape(model: &Value, name: &str, shape: &Shape) {
    let s = &model["shapes"][name];
    assert_eq!(shape.name(), name);
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    match shape {
        Shape::Structure { members, .. } => {
            assert_eq!(s["type"], "structure", "{name}");
            let model_members = s["members"].as_object().unwrap();
            assert_eq!(members.len(), model_members.len(), "members of {name}");
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for m in members.iter() {
                let target = model_members[m.name]["shape"].as_str().unwrap();
                assert_eq!(m.required, required.contains(&m.name), "{name}.{}", m.name);
                check_shape(model, target, m.shape);
            }
        }
        Shape::String {
            min,
            max,
            pattern,
            values,
            sensitive,
            ..
        } => {
            assert_eq!(s["type"], "string", "{name}");
            assert_eq!(min.map(|v| v as f64), num("min"), "{name} min");
            assert_eq!(max.map(|v| v as f64), num("max"), "{name} max");
            assert_eq!(
                pattern.map(|p| p.as_str()),
                s.get("pattern").and_then(Value::as_str)
            );
            let model_values: Vec<&str> = s
                .get("enum")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(values.to_vec(), model_values, "{name} enum");
            assert_eq!(*sensitive, s.get("sensitive") == Some(&Value::Bool(true)));
        }
        Shape::Integer { min, max, .. } => {
            assert!(s["type"] == "integer" || s["type"] == "long", "{name}");
            assert_eq!(min.map(|v| v as f64), num("min"), "{name} min");
            assert_eq!(max.map(|v| v as f64), num("max"), "{name} max");
        }
        Shape::Float { min, max, .. } => {
            assert!(s["type"] == "float" || s["type"] == "double", "{name}");
            assert_eq!(*min, num("min"), "{name} min");
            assert_eq!(*max, num("max"), "{name} max");
        }
        Shape::Boolean { .. } => assert_eq!(s["type"], "boolean", "{name}"),
        Shape::List {
            member, min, max, ..
        } => {
            assert_eq!(s["type"], "list", "{name}");
            assert_eq!(min.map(|v| v as f64), num("min"), "{name} min");
            assert_eq!(max.map(|v| v as f64), num("max"), "{name} max");
            check_shape(model, s["member"]["shape"].as_str().unwrap(), member);
        }
    }
}

#[test]
fn model_matches_botocore() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/stepfunctions-service-2.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let model: Value = serde_json::from_str(&text).unwrap();
    let ops = model["operations"].as_object().unwrap();
    assert_eq!(OPERATIONS.len(), ops.len());
    for op in OPERATIONS {
        let m = &ops[op.name];
        let input = m["input"]["shape"].as_str().unwrap();
        check_shape(&model, input, op.input);
        assert_eq!(
            op.host_prefix,
            m["endpoint"]["hostPrefix"].as_str(),
            "{}",
            op.name
        );
    }
}
