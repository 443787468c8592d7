//! Builds the typed [`model`](crate::model) from a definition's JSON.
//!
//! The input is expected to have passed [`crate::validate`]; this module does not repeat
//! the checks that produce AWS's diagnostics. It still refuses (with a plain message) a
//! document whose shape it cannot represent, so the interpreter never sees a half-built
//! model.

use crate::model::*;
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("cannot build the state machine model: {0} at {1}")]
pub struct ParseError(pub String, pub String);

type Result<T> = std::result::Result<T, ParseError>;

/// Parse a whole definition (the root machine).
pub fn parse_definition(definition: &Value) -> Result<StateMachine> {
    let obj = as_object(definition, "")?;
    let ql = query_language(obj, QueryLanguage::JsonPath);
    let mut machine = parse_scope(obj, "", ql)?;
    machine.timeout_seconds = obj.get("TimeoutSeconds").and_then(Value::as_u64);
    Ok(machine)
}

/// Parse a definition given as text.
pub fn parse_definition_str(definition: &str) -> Result<StateMachine> {
    let value: Value = serde_json::from_str(definition)
        .map_err(|e| ParseError(format!("invalid JSON: {e}"), "/".into()))?;
    parse_definition(&value)
}

fn query_language(obj: &Map<String, Value>, inherited: QueryLanguage) -> QueryLanguage {
    match obj.get("QueryLanguage").and_then(Value::as_str) {
        Some("JSONata") => QueryLanguage::Jsonata,
        Some("JSONPath") => QueryLanguage::JsonPath,
        _ => inherited,
    }
}

fn as_object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ParseError("expected an object".into(), pointer(at)))
}

fn pointer(at: &str) -> String {
    if at.is_empty() {
        "/".into()
    } else {
        at.into()
    }
}

fn parse_scope(obj: &Map<String, Value>, at: &str, ql: QueryLanguage) -> Result<StateMachine> {
    let start_at = obj
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError("missing StartAt".into(), pointer(at)))?
        .to_string();
    let states_obj = obj
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| ParseError("missing States".into(), pointer(at)))?;
    let mut states = Vec::with_capacity(states_obj.len());
    let mut index = HashMap::with_capacity(states_obj.len());
    for (name, body) in states_obj {
        let state_at = format!("{at}/States/{name}");
        let state = parse_state(name, body, &state_at, ql)?;
        index.insert(name.clone(), states.len());
        states.push(state);
    }
    Ok(StateMachine {
        comment: obj
            .get("Comment")
            .and_then(Value::as_str)
            .map(str::to_string),
        start_at,
        states,
        index,
        timeout_seconds: None,
        query_language: ql,
    })
}

/// A JSONPath path field: absent → default `$`, `null` → `None`.
fn path_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key) {
        None => Some("$".into()),
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => Some("$".into()),
    }
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A number-or-path-or-expression field such as `TimeoutSeconds` / `TimeoutSecondsPath`.
fn dynamic_u64(obj: &Map<String, Value>, key: &str, path_key: &str) -> Option<Dynamic<u64>> {
    if let Some(v) = obj.get(key) {
        return match v {
            Value::String(s) => jsonata_expression(s).map(|e| Dynamic::Expr(e.to_string())),
            v => v
                .as_u64()
                .or_else(|| v.as_f64().map(|f| f as u64))
                .map(Dynamic::Literal),
        };
    }
    obj.get(path_key)
        .and_then(Value::as_str)
        .map(|p| Dynamic::Path(p.to_string()))
}

fn dynamic_f64(obj: &Map<String, Value>, key: &str, path_key: &str) -> Option<Dynamic<f64>> {
    if let Some(v) = obj.get(key) {
        return match v {
            Value::String(s) => jsonata_expression(s).map(|e| Dynamic::Expr(e.to_string())),
            v => v.as_f64().map(Dynamic::Literal),
        };
    }
    obj.get(path_key)
        .and_then(Value::as_str)
        .map(|p| Dynamic::Path(p.to_string()))
}

fn dynamic_string(obj: &Map<String, Value>, key: &str, path_key: &str) -> Option<Dynamic<String>> {
    if let Some(Value::String(s)) = obj.get(key) {
        return Some(match jsonata_expression(s) {
            Some(e) => Dynamic::Expr(e.to_string()),
            None => Dynamic::Literal(s.clone()),
        });
    }
    obj.get(path_key)
        .and_then(Value::as_str)
        .map(|p| Dynamic::Path(p.to_string()))
}

/// `root_ql` is the top-level machine's language: states of nested scopes (Parallel
/// branches, Map processors) inherit it, not the language of the state that encloses them
/// (measured on AWS: a JSONata Map in a JSONPath machine runs JSONPath inner states).
fn parse_state(name: &str, body: &Value, at: &str, root_ql: QueryLanguage) -> Result<State> {
    let obj = as_object(body, at)?;
    let ql = query_language(obj, root_ql);
    let ty = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError("missing Type".into(), format!("{at}/Type")))?;
    let transition = match (obj.get("Next").and_then(Value::as_str), obj.get("End")) {
        (Some(next), _) => Some(Transition::Next(next.to_string())),
        (None, Some(Value::Bool(true))) => Some(Transition::End),
        _ => None,
    };
    let kind = match ty {
        "Pass" => StateKind::Pass(PassState {
            result: obj.get("Result").cloned(),
        }),
        "Task" => StateKind::Task(TaskState {
            resource: string_field(obj, "Resource").unwrap_or_default(),
            timeout_seconds: dynamic_u64(obj, "TimeoutSeconds", "TimeoutSecondsPath"),
            heartbeat_seconds: dynamic_u64(obj, "HeartbeatSeconds", "HeartbeatSecondsPath"),
            credentials: obj.get("Credentials").cloned(),
            retry: parse_retry(obj),
            catch: parse_catch(obj),
        }),
        "Choice" => StateKind::Choice(ChoiceState {
            choices: obj
                .get("Choices")
                .and_then(Value::as_array)
                .map(|rules| rules.iter().map(parse_choice_rule).collect())
                .unwrap_or_default(),
            default: string_field(obj, "Default"),
        }),
        "Wait" => {
            let wait = if let Some(s) = dynamic_u64(obj, "Seconds", "SecondsPath") {
                WaitState::Seconds(s)
            } else if let Some(t) = dynamic_string(obj, "Timestamp", "TimestampPath") {
                WaitState::Timestamp(t)
            } else {
                return Err(ParseError(
                    "Wait needs Seconds or Timestamp".into(),
                    at.to_string(),
                ));
            };
            StateKind::Wait(wait)
        }
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail(FailState {
            error: dynamic_string(obj, "Error", "ErrorPath"),
            cause: dynamic_string(obj, "Cause", "CausePath"),
        }),
        "Parallel" => {
            let mut branches = Vec::new();
            if let Some(list) = obj.get("Branches").and_then(Value::as_array) {
                for (i, b) in list.iter().enumerate() {
                    let b_at = format!("{at}/Branches/{i}");
                    let b_obj = as_object(b, &b_at)?;
                    branches.push(parse_scope(b_obj, &b_at, root_ql)?);
                }
            }
            StateKind::Parallel(ParallelState {
                branches,
                retry: parse_retry(obj),
                catch: parse_catch(obj),
            })
        }
        "Map" => StateKind::Map(parse_map(obj, at, root_ql)?),
        other => {
            return Err(ParseError(
                format!("unknown state type {other}"),
                format!("{at}/Type"),
            ))
        }
    };
    // Map's legacy `Parameters` is its ItemSelector; it must not also act as Parameters.
    let parameters = if ty == "Map" {
        None
    } else {
        obj.get("Parameters").cloned()
    };
    Ok(State {
        name: name.to_string(),
        comment: string_field(obj, "Comment"),
        query_language: ql,
        transition,
        input_path: path_field(obj, "InputPath"),
        output_path: path_field(obj, "OutputPath"),
        result_path: path_field(obj, "ResultPath"),
        parameters,
        result_selector: obj.get("ResultSelector").cloned(),
        arguments: obj.get("Arguments").cloned(),
        output: obj.get("Output").cloned(),
        assign: obj.get("Assign").cloned(),
        kind,
    })
}

fn parse_map(obj: &Map<String, Value>, at: &str, root_ql: QueryLanguage) -> Result<MapState> {
    let (proc_key, proc_value) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
        (Some(p), _) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => {
            return Err(ParseError(
                "Map needs ItemProcessor or Iterator".into(),
                at.to_string(),
            ))
        }
    };
    let proc_at = format!("{at}/{proc_key}");
    let proc_obj = as_object(proc_value, &proc_at)?;
    let processor = parse_scope(proc_obj, &proc_at, root_ql)?;
    let config = proc_obj.get("ProcessorConfig").and_then(Value::as_object);
    let mode = match config.and_then(|c| c.get("Mode")).and_then(Value::as_str) {
        Some("DISTRIBUTED") => ProcessorMode::Distributed,
        _ => ProcessorMode::Inline,
    };
    let item_selector = obj
        .get("ItemSelector")
        .or_else(|| obj.get("Parameters"))
        .cloned();
    let mut processor_definition = proc_obj.clone();
    processor_definition.remove("ProcessorConfig");
    if root_ql == QueryLanguage::Jsonata {
        processor_definition.insert("QueryLanguage".into(), Value::String("JSONata".into()));
    }
    Ok(MapState {
        processor,
        processor_definition: Value::Object(processor_definition),
        mode,
        execution_type: config
            .and_then(|c| c.get("ExecutionType"))
            .and_then(Value::as_str)
            .map(str::to_string),
        items_path: path_field(obj, "ItemsPath"),
        items: obj.get("Items").cloned(),
        item_selector,
        max_concurrency: dynamic_u64(obj, "MaxConcurrency", "MaxConcurrencyPath"),
        tolerated_failure_count: dynamic_u64(
            obj,
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
        ),
        tolerated_failure_percentage: dynamic_f64(
            obj,
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
        ),
        label: string_field(obj, "Label"),
        item_reader: obj.get("ItemReader").cloned(),
        item_batcher: obj.get("ItemBatcher").cloned(),
        result_writer: obj.get("ResultWriter").cloned(),
        retry: parse_retry(obj),
        catch: parse_catch(obj),
    })
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn parse_retry(obj: &Map<String, Value>) -> Vec<Retrier> {
    let Some(list) = obj.get("Retry").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|r| {
            let d = Retrier::default();
            Retrier {
                error_equals: string_list(r.get("ErrorEquals")),
                interval_seconds: r
                    .get("IntervalSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(d.interval_seconds),
                max_attempts: r
                    .get("MaxAttempts")
                    .and_then(Value::as_u64)
                    .unwrap_or(d.max_attempts),
                backoff_rate: r
                    .get("BackoffRate")
                    .and_then(Value::as_f64)
                    .unwrap_or(d.backoff_rate),
                max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_u64),
                jitter_strategy: match r.get("JitterStrategy").and_then(Value::as_str) {
                    Some("FULL") => JitterStrategy::Full,
                    _ => JitterStrategy::None,
                },
            }
        })
        .collect()
}

fn parse_catch(obj: &Map<String, Value>) -> Vec<Catcher> {
    let Some(list) = obj.get("Catch").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|c| Catcher {
            error_equals: string_list(c.get("ErrorEquals")),
            next: string_field(c, "Next").unwrap_or_default(),
            result_path: path_field(c, "ResultPath"),
            output: c.get("Output").cloned(),
            assign: c.get("Assign").cloned(),
        })
        .collect()
}

fn parse_choice_rule(rule: &Value) -> ChoiceRule {
    let obj = rule.as_object();
    let get = |k: &str| obj.and_then(|o| o.get(k));
    ChoiceRule {
        condition: parse_condition(rule),
        next: get("Next")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        assign: get("Assign").cloned(),
        output: get("Output").cloned(),
    }
}

/// A Choice condition: `And`/`Or`/`Not`, a JSONata `Condition`, or `Variable` + operator.
pub fn parse_condition(rule: &Value) -> Condition {
    let Some(obj) = rule.as_object() else {
        return Condition::Jsonata(Value::Bool(false));
    };
    if let Some(list) = obj.get("And").and_then(Value::as_array) {
        return Condition::And(list.iter().map(parse_condition).collect());
    }
    if let Some(list) = obj.get("Or").and_then(Value::as_array) {
        return Condition::Or(list.iter().map(parse_condition).collect());
    }
    if let Some(inner) = obj.get("Not") {
        return Condition::Not(Box::new(parse_condition(inner)));
    }
    if let Some(cond) = obj.get("Condition") {
        return Condition::Jsonata(match cond {
            Value::String(s) => match jsonata_expression(s) {
                Some(e) => Value::String(e.to_string()),
                None => cond.clone(),
            },
            other => other.clone(),
        });
    }
    let variable = obj
        .get("Variable")
        .and_then(Value::as_str)
        .unwrap_or("$")
        .to_string();
    for (key, value) in obj {
        if let Some(op) = ComparisonOperator::from_name(key) {
            return Condition::Compare {
                variable,
                operator: op,
                operand: Operand::Literal(value.clone()),
            };
        }
        if let Some(base) = key.strip_suffix("Path") {
            if let Some(op) = ComparisonOperator::from_name(base) {
                if op.has_path_variant() {
                    return Condition::Compare {
                        variable,
                        operator: op,
                        operand: Operand::Path(value.as_str().unwrap_or("$").to_string()),
                    };
                }
            }
        }
    }
    Condition::Jsonata(Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_pass_chain_with_defaults() {
        let m = parse_definition(&json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
                "B": {"Type": "Pass", "InputPath": null, "End": true}
            }
        }))
        .unwrap();
        let a = m.state("A").unwrap();
        assert_eq!(a.transition, Some(Transition::Next("B".into())));
        assert_eq!(a.result_path.as_deref(), Some("$.r"));
        assert_eq!(a.input_path.as_deref(), Some("$"));
        let b = m.state("B").unwrap();
        assert_eq!(b.input_path, None);
        assert_eq!(b.transition, Some(Transition::End));
    }

    #[test]
    fn jsonata_inherits_and_parses_dynamic_fields() {
        let m = parse_definition(&json!({
            "QueryLanguage": "JSONata",
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "TimeoutSeconds": 5, "End": true,
                      "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]}
            }
        }))
        .unwrap();
        let w = m.state("W").unwrap();
        assert_eq!(w.query_language, QueryLanguage::Jsonata);
        match &w.kind {
            StateKind::Wait(WaitState::Seconds(Dynamic::Expr(e))) => {
                assert_eq!(e, " $states.input.s ")
            }
            other => panic!("unexpected {other:?}"),
        }
        match &m.state("T").unwrap().kind {
            StateKind::Task(t) => {
                assert_eq!(t.timeout_seconds, Some(Dynamic::Literal(5)));
                assert_eq!(t.retry[0].max_attempts, 0);
                assert_eq!(t.retry[0].interval_seconds, 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nested_scopes_inherit_the_machine_language_not_the_enclosing_state() {
        let m = parse_definition(&json!({
            "StartAt": "M",
            "States": {"M": {
                "Type": "Map", "QueryLanguage": "JSONata", "End": true,
                "ItemProcessor": {"StartAt": "In", "States": {"In": {"Type": "Pass", "End": true}}}
            }}
        }))
        .unwrap();
        let map = m.state("M").unwrap();
        assert_eq!(map.query_language, QueryLanguage::Jsonata);
        match &map.kind {
            StateKind::Map(map) => {
                let inner = map.processor.state("In").unwrap();
                assert_eq!(inner.query_language, QueryLanguage::JsonPath);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn choice_rules_and_path_operands() {
        let c = parse_condition(&json!({"Variable": "$.a", "NumericLessThanPath": "$.b"}));
        match c {
            Condition::Compare {
                operator, operand, ..
            } => {
                assert_eq!(operator, ComparisonOperator::NumericLessThan);
                assert_eq!(operand, Operand::Path("$.b".into()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
