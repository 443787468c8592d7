//! Choice rules in JSONPath mode (ASL.md §8): comparison operators, their `…Path` variants,
//! `And`/`Or`/`Not`, type tests and `StringMatches` wildcards. JSONata rules (`Condition`,
//! a boolean expression) are evaluated by the state itself, in `state` below.
//!
//! A type mismatch is `false`, never an error; only an unresolvable `Variable` (other than
//! for `IsPresent`) or operand path fails the state.

use crate::dataflow::Eval;
use cairn_asl::{ComparisonOperator as Op, Condition, Operand};
use cairn_jsonpath::PathError;
use serde_json::Value;
use std::cmp::Ordering;

/// Evaluate a condition against the state's effective input.
pub(crate) fn holds(cond: &Condition, input: &Value, eval: &Eval) -> Result<bool, PathError> {
    match cond {
        Condition::And(list) => {
            for c in list {
                if !holds(c, input, eval)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(list) => {
            for c in list {
                if holds(c, input, eval)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(c) => Ok(!holds(c, input, eval)?),
        Condition::Jsonata(_) => Ok(false),
        Condition::Compare {
            variable,
            operator,
            operand,
        } => {
            let value = eval.lookup(variable, input)?;
            if *operator == Op::IsPresent {
                let want = operand_bool(operand);
                return Ok(value.is_some() == want);
            }
            let Some(value) = value else {
                // Let the engine produce AWS's message for the missing path.
                eval.path(variable, input)?;
                return Ok(false);
            };
            let operand = match operand {
                Operand::Literal(v) => std::borrow::Cow::Borrowed(v),
                Operand::Path(p) => std::borrow::Cow::Owned(eval.path(p, input)?),
            };
            Ok(compare(*operator, &value, &operand))
        }
    }
}

fn operand_bool(operand: &Operand) -> bool {
    matches!(operand, Operand::Literal(Value::Bool(true)))
}

/// One comparison; type mismatches are false.
pub(crate) fn compare(op: Op, value: &Value, operand: &Value) -> bool {
    let want = operand.as_bool() == Some(true);
    match op {
        Op::IsNull => value.is_null() == want,
        Op::IsPresent => want,
        Op::IsNumeric => value.is_number() == want,
        Op::IsString => value.is_string() == want,
        Op::IsBoolean => value.is_boolean() == want,
        Op::IsTimestamp => value.as_str().and_then(parse_timestamp).is_some() == want,
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals => match (value.as_str(), operand.as_str()) {
            (Some(a), Some(b)) => ordering_holds(op, a.cmp(b)),
            _ => false,
        },
        Op::StringMatches => match (value.as_str(), operand.as_str()) {
            (Some(a), Some(p)) => string_matches(a, p),
            _ => false,
        },
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => match (value.as_f64(), operand.as_f64()) {
            (Some(a), Some(b)) if value.is_number() && operand.is_number() => {
                a.partial_cmp(&b).is_some_and(|o| ordering_holds(op, o))
            }
            _ => false,
        },
        Op::BooleanEquals => match (value.as_bool(), operand.as_bool()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => {
            match (
                value.as_str().and_then(parse_timestamp),
                operand.as_str().and_then(parse_timestamp),
            ) {
                (Some(a), Some(b)) => ordering_holds(op, a.cmp(&b)),
                _ => false,
            }
        }
    }
}

fn ordering_holds(op: Op, o: Ordering) -> bool {
    match op {
        Op::StringEquals | Op::NumericEquals | Op::TimestampEquals => o == Ordering::Equal,
        Op::StringLessThan | Op::NumericLessThan | Op::TimestampLessThan => o == Ordering::Less,
        Op::StringGreaterThan | Op::NumericGreaterThan | Op::TimestampGreaterThan => {
            o == Ordering::Greater
        }
        Op::StringLessThanEquals | Op::NumericLessThanEquals | Op::TimestampLessThanEquals => {
            o != Ordering::Greater
        }
        _ => o != Ordering::Less,
    }
}

/// An RFC 3339 timestamp with `T` and an offset or `Z` (what AWS accepts).
pub(crate) fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let has_offset = s.ends_with('Z') || {
        let tail = &b[b.len() - 6..];
        (tail[0] == b'+' || tail[0] == b'-') && tail[3] == b':'
    };
    if !has_offset {
        return None;
    }
    s.parse::<jiff::Timestamp>().ok()
}

/// `StringMatches`: `*` matches any run (also empty); `\*` and `\\` are literal.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    // Tokenise the pattern into literal chars and stars.
    let mut tokens: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => tokens.push(Some(n)),
                None => tokens.push(Some('\\')),
            },
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking over the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while t < text.len() {
        if p < tokens.len() && tokens[p] == Some(text[t]) {
            t += 1;
            p += 1;
        } else if p < tokens.len() && tokens[p].is_none() {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < tokens.len() && tokens[p].is_none() {
        p += 1;
    }
    p == tokens.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_mismatch_is_false() {
        assert!(!compare(Op::NumericEquals, &json!("1"), &json!(1)));
        assert!(!compare(Op::StringEquals, &json!(1), &json!("1")));
        assert!(compare(Op::NumericEquals, &json!(1), &json!(1.0)));
        assert!(compare(Op::NumericLessThanEquals, &json!(1), &json!(1)));
        assert!(!compare(Op::StringEquals, &json!("A "), &json!("A")));
    }

    #[test]
    fn type_tests() {
        assert!(compare(Op::IsNull, &json!(null), &json!(true)));
        assert!(compare(Op::IsNull, &json!(1), &json!(false)));
        assert!(compare(
            Op::IsString,
            &json!("2016-03-14T01:59:00Z"),
            &json!(true)
        ));
        assert!(compare(
            Op::IsTimestamp,
            &json!("2016-03-14T01:59:00Z"),
            &json!(true)
        ));
        assert!(compare(
            Op::IsTimestamp,
            &json!("2016-03-14 01:59:00Z"),
            &json!(false)
        ));
    }

    #[test]
    fn timestamps_compare_by_instant() {
        assert!(compare(
            Op::TimestampEquals,
            &json!("2016-03-14T01:59:00Z"),
            &json!("2016-03-14T02:59:00+01:00")
        ));
        assert!(compare(
            Op::TimestampLessThan,
            &json!("2016-03-14T01:59:00Z"),
            &json!("2016-03-14T01:59:00.5Z")
        ));
    }

    #[test]
    fn wildcards() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("abc", "*"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "a*d"));
        assert!(string_matches("a*c", "a\\*c"));
        assert!(!string_matches("abc", "a\\*c"));
        assert!(string_matches("a\\c", "a\\\\c"));
        assert!(string_matches("aXbYb", "a*b"));
    }
}

pub(crate) use state::choose_jsonata;

mod state {
    //! The Choice state itself: first matching rule wins, else Default, else
    //! `States.NoChoiceMatched`. A matching rule's `Assign` (and in JSONata its `Output`)
    //! replaces the state's.
    use super::holds;
    use crate::errors::{Failure, STATES_NO_CHOICE};
    use crate::jsonata::{Extra, Query, QueryFailure};
    use crate::language::{self, Language};
    use crate::machine::Phase;
    use crate::run::{Next, Run, Step};
    use cairn_asl::{ChoiceRule, ChoiceState, Condition, State};
    use serde_json::{Map, Value};

    /// What a JSONata Choice chose: the next state (`None`: no rule matched and there is no
    /// Default), the output (`None`: the input) and the variables assigned.
    pub(crate) type Chosen<'d> = (Option<&'d str>, Option<Value>, Option<Map<String, Value>>);

    /// JSONata: the first rule whose `Condition` is true, then its `Assign`/`Output` (else the
    /// state's) over `input`. Shared by the interpreter and TestState.
    pub(crate) fn choose_jsonata<'d>(
        q: &Query<'_>,
        st: &'d State,
        choice: &'d ChoiceState,
        input: &Value,
    ) -> Result<Chosen<'d>, QueryFailure> {
        let mut chosen: Option<&'d ChoiceRule> = None;
        for rule in &choice.choices {
            let holds = match &rule.condition {
                Condition::Jsonata(c) => q.condition(c, input)?,
                // Validation keeps JSONPath rules out of JSONata states.
                _ => false,
            };
            if holds {
                chosen = Some(rule);
                break;
            }
        }
        let (next, assign, output) = match chosen {
            Some(rule) => (
                Some(rule.next.as_str()),
                rule.assign.as_ref().or(st.assign.as_ref()),
                rule.output.as_ref().or(st.output.as_ref()),
            ),
            None => (
                choice.default.as_deref(),
                st.assign.as_ref(),
                st.output.as_ref(),
            ),
        };
        if next.is_none() {
            return Ok((None, None, None));
        }
        let (out, assigned) = q.assign_and_output(assign, output, input, Extra::None)?;
        Ok((next, out, assigned))
    }

    impl<'a> Run<'a> {
        pub(crate) fn run_choice(
            &mut self,
            tid: u32,
            st: &'a State,
            choice: &'a ChoiceState,
        ) -> Step {
            // Cloned, not taken: a state that fails on entry keeps its input in the thread, so
            // RedriveExecution enters it again with that input (not `null`).
            let raw = self.m.thread(tid).input.clone();
            if language::for_state(st) == Language::Jsonata {
                return self.run_choice_jsonata(tid, st, choice, raw);
            }
            let outcome = {
                let ev = self.eval(tid, st, None, None);
                (|| {
                    let effective = ev.input_path(st.input_path.as_deref(), raw)?;
                    let mut chosen = None;
                    for rule in &choice.choices {
                        if holds(&rule.condition, &effective, &ev)? {
                            chosen = Some(rule);
                            break;
                        }
                    }
                    let (next, assign) = match chosen {
                        Some(rule) => (
                            Some(rule.next.as_str()),
                            rule.assign.as_ref().or(st.assign.as_ref()),
                        ),
                        None => (choice.default.as_deref(), st.assign.as_ref()),
                    };
                    let assigned = match (next, assign) {
                        (Some(_), Some(a)) => Some(ev.assign(a, &effective)?),
                        _ => None,
                    };
                    let out = ev.output_path(st.output_path.as_deref(), effective)?;
                    Ok((next, out, assigned))
                })()
            };
            match outcome {
                Ok((Some(next), out, assigned)) => {
                    self.m.thread_mut(tid).phase = Phase::Enter;
                    self.exit_state(tid, out, assigned, Next::Named(next))
                }
                Ok((None, _, _)) => self.no_choice_matched(tid, st),
                Err(e) => Step::Fail(self.path_failure(tid, e)),
            }
        }

        fn no_choice_matched(&mut self, tid: u32, st: &'a State) -> Step {
            // AWS's cause text is unrecorded; the state is named the usual way.
            let entered = self.m.thread(tid).entered_id;
            Step::Fail(Failure::new(
                Some(STATES_NO_CHOICE.into()),
                Some(crate::errors::prefixed(
                    &st.name,
                    entered,
                    "No Choice rule matched and there is no Default.",
                )),
            ))
        }

        /// JSONata: the first rule whose `Condition` is true; its `Assign`/`Output` (else the
        /// state's) over `$states.input`. Output defaults to the input.
        fn run_choice_jsonata(
            &mut self,
            tid: u32,
            st: &'a State,
            choice: &'a ChoiceState,
            raw: Value,
        ) -> Step {
            let outcome = {
                let q = self.query(tid, st, None, None);
                choose_jsonata(&q, st, choice, &raw)
            };
            match outcome {
                Ok((Some(next), out, assigned)) => {
                    self.m.thread_mut(tid).phase = Phase::Enter;
                    self.exit_state(tid, out.unwrap_or(raw), assigned, Next::Named(next))
                }
                Ok((None, _, _)) => self.no_choice_matched(tid, st),
                Err(q) => Step::Fail(self.query_failure(tid, q)),
            }
        }
    }
}
