//! Succeed and Fail states: the end of a flow (the execution, a branch or an iteration).
//! Fail writes no Exited event; its Error/Cause (or ErrorPath/CausePath) are omitted when
//! absent (HISTORY.md §4.2). In JSONata mode Succeed has `Output` and Fail's `Error`/`Cause`
//! may be expressions returning strings.

use crate::errors::Failure;
use crate::language::{self, Language};
use crate::run::{Run, Step};
use cairn_asl::{Dynamic, FailState, State};
use cairn_jsonata::ExpectedType;
use serde_json::Value;

impl<'a> Run<'a> {
    pub(crate) fn run_succeed(&mut self, tid: u32, st: &'a State) -> Step {
        let raw = std::mem::take(&mut self.m.thread_mut(tid).input);
        if language::for_state(st) == Language::Jsonata {
            return match self.exit_jsonata(tid, st, raw, crate::run::Next::Own) {
                step @ (Step::End(_) | Step::Fail(_)) => step,
                _ => Step::Blocked,
            };
        }
        let outcome = {
            let ev = self.eval(tid, st, None, None);
            ev.input_path(st.input_path.as_deref(), raw)
                .and_then(|v| ev.output_path(st.output_path.as_deref(), v))
        };
        match outcome {
            Ok(out) => match self.exit_state(tid, out, None, crate::run::Next::Own) {
                // Succeed has no Next: its output ends the flow.
                step @ (Step::End(_) | Step::Fail(_)) => step,
                _ => Step::Blocked,
            },
            Err(e) => Step::Fail(self.path_failure(tid, e)),
        }
    }

    pub(crate) fn run_fail(&mut self, tid: u32, st: &'a State, fail: &'a FailState) -> Step {
        if language::for_state(st) == Language::Jsonata {
            return self.run_fail_jsonata(tid, st, fail);
        }
        let input = &self.m.thread(tid).input;
        let outcome = {
            let ev = self.eval(tid, st, None, None);
            let field = |d: &Option<Dynamic<String>>,
                         name: &str|
             -> Result<Option<String>, String> {
                match d {
                    None => Ok(None),
                    Some(Dynamic::Literal(s)) => Ok(Some(s.clone())),
                    Some(Dynamic::Path(p)) => match ev.expression(p, input) {
                        Ok(Value::String(s)) => Ok(Some(s)),
                        Ok(other) => Ok(Some(crate::history::json_text(&other))),
                        Err(e) if e.message.starts_with("Invalid path") => Err(format!(
                            "The JSONPath '{p}' specified for the field '{name}' could not be found in the input '{}'",
                            crate::history::json_text(input)
                        )),
                        Err(e) => Err(e.message),
                    },
                    // In a JSONPath state a `{% %}` string is just a string.
                    Some(Dynamic::Expr(e)) => Ok(Some(format!("{{%{e}%}}"))),
                }
            };
            field(&fail.error, "ErrorPath").and_then(|e| Ok((e, field(&fail.cause, "CausePath")?)))
        };
        match outcome {
            Ok((error, cause)) => Step::Fail(Failure::new(error, cause)),
            Err(detail) => Step::Fail(self.runtime_failure(tid, &detail)),
        }
    }

    /// Fail in JSONata mode: `Error` and `Cause` are literals or expressions returning strings.
    fn run_fail_jsonata(&mut self, tid: u32, st: &'a State, fail: &'a FailState) -> Step {
        let input = &self.m.thread(tid).input;
        let outcome = {
            let q = self.query(tid, st, None, None);
            let field = |d: &Option<Dynamic<String>>, name: &str| match d {
                None => Ok(None),
                Some(Dynamic::Literal(s)) | Some(Dynamic::Path(s)) => Ok(Some(s.clone())),
                Some(Dynamic::Expr(e)) => q
                    .typed(e, input, name, ExpectedType::String)
                    .map(|v| v.as_str().map(str::to_string)),
            };
            field(&fail.error, "Error").and_then(|e| Ok((e, field(&fail.cause, "Cause")?)))
        };
        match outcome {
            Ok((error, cause)) => Step::Fail(Failure::new(error, cause)),
            Err(q) => Step::Fail(self.query_failure(tid, q)),
        }
    }
}
