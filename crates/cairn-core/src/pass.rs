//! Pass states: `Result` or `Parameters` as the result, placed by ResultPath (ASL.md §3).
//! In JSONPath mode `Assign` sees the result as `$` (observed). In JSONata mode the output
//! is `Output` (default: the input) and `Assign` sees `$states.input`.

use crate::dataflow::result_path;
use crate::jsonata::Extra;
use crate::language::{self, Language};
use crate::machine::Phase;
use crate::run::{Next, Run, Step};
use cairn_asl::{PassState, State};
use serde_json::Value;

impl<'a> Run<'a> {
    pub(crate) fn run_pass(&mut self, tid: u32, st: &'a State, pass: &'a PassState) -> Step {
        // Cloned, not taken: a state that fails on entry keeps its input in the thread, so
        // RedriveExecution enters it again with that input (not `null`).
        let raw = self.m.thread(tid).input.clone();
        if language::for_state(st) == Language::Jsonata {
            return self.exit_jsonata(tid, st, raw, Next::Own);
        }
        let outcome = {
            let ev = self.eval(tid, st, None, None);
            (|| {
                let keep_raw = st.result_path.as_deref() != Some("$");
                let (effective, raw) = if keep_raw {
                    (ev.input_path(st.input_path.as_deref(), raw.clone())?, raw)
                } else {
                    (ev.input_path(st.input_path.as_deref(), raw)?, Value::Null)
                };
                let result = match (&st.parameters, &pass.result) {
                    (Some(params), _) => ev.template(params, &effective, "Parameters")?,
                    (None, Some(r)) => r.clone(),
                    (None, None) => effective,
                };
                let assigned = match &st.assign {
                    Some(a) => Some(ev.assign(a, &result)?),
                    None => None,
                };
                let merged = result_path(st.result_path.as_deref(), raw, result)?;
                Ok((ev.output_path(st.output_path.as_deref(), merged)?, assigned))
            })()
        };
        match outcome {
            Ok((out, assigned)) => {
                self.m.thread_mut(tid).phase = Phase::Enter;
                self.exit_state(tid, out, assigned, Next::Own)
            }
            Err(e) => Step::Fail(self.path_failure(tid, e)),
        }
    }

    /// A JSONata state without work (Pass, Succeed): Assign and Output over the input.
    pub(crate) fn exit_jsonata(
        &mut self,
        tid: u32,
        st: &'a State,
        raw: Value,
        next: Next<'a>,
    ) -> Step {
        let outcome = self.query(tid, st, None, None).assign_and_output(
            st.assign.as_ref(),
            st.output.as_ref(),
            &raw,
            Extra::None,
        );
        match outcome {
            Ok((out, assigned)) => {
                self.m.thread_mut(tid).phase = Phase::Enter;
                self.exit_state(tid, out.unwrap_or(raw), assigned, next)
            }
            Err(q) => Step::Fail(self.query_failure(tid, q)),
        }
    }
}
