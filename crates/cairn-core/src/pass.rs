//! Pass states: `Result` or `Parameters` as the result, placed by ResultPath (ASL.md §3).
//! In JSONPath mode `Assign` sees the result as `$` (observed).

use crate::dataflow::result_path;
use crate::machine::Phase;
use crate::run::{Next, Run, Step};
use cairn_asl::{PassState, State};
use serde_json::Value;

impl<'a> Run<'a> {
    pub(crate) fn run_pass(&mut self, tid: u32, st: &'a State, pass: &'a PassState) -> Step {
        let raw = std::mem::take(&mut self.m.thread_mut(tid).input);
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
}
