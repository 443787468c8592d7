//! Map states (ASL.md §11.2, HISTORY.md §4.7–4.8): items from ItemsPath, ItemSelector with
//! `$$.Map.Item`, iterations as child threads under MaxConcurrency, results in item order.
//!
//! Inline maps write `MapIteration*` events. A Distributed Map writes a Map Run
//! (`MapRunStarted`/`…Succeeded`/`…Failed`) and hands it to the runtime as an internal task
//! (`Phase::MapRun`, [`crate::MapRunSpec`]): its children are executions of their own.
//! (Snapshots written before that ran a Distributed Map's children as hidden threads of a
//! `Fanout { distributed: true }`; that path is kept so such executions still finish.)
//!
//! In JSONata mode the items come from `Items` (an array, or an expression returning one;
//! default: the state input) and `ItemSelector` sees `$states.input` and
//! `$states.context.Map.Item`; the numbers may be expressions.

use crate::errors::Failure;
use crate::history::{json_text, Details};
use crate::jsonata::{Extra, QueryFailure};
use crate::language::{self, Language};
use crate::machine::{Fanout, MapRunWait, Phase, Thread};
use crate::map_run::{
    BatcherSpec, ItemSelection, MapRunSpec, ReaderSpec, WriterSpec, MAP_RUN_RESOURCE,
};
use crate::run::{Fault, Run, Step};
use crate::EventType;
use cairn_asl::{Dynamic, MapState, ProcessorMode, State, StateKind};
use cairn_jsonata::{is_expression, ExpectedType};
use serde_json::Value;

/// Inline Map concurrency on AWS is capped at 40.
const INLINE_LIMIT: u32 = 40;

fn map_def(st: &State) -> &MapState {
    match &st.kind {
        StateKind::Map(m) => m,
        _ => unreachable!("a map thread is in a Map state"),
    }
}

/// How AWS prints a bad value in Map field messages: strings bare, others as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => json_text(other),
    }
}

impl<'a> Run<'a> {
    pub(crate) fn start_map(&mut self, tid: u32, _st: &'a State) -> Step {
        self.fan_out_map(tid)
    }

    /// `MapStateStarted` and the first iterations (also on retry).
    pub(crate) fn fan_out_map(&mut self, tid: u32) -> Step {
        let st = self.state(tid);
        let map = map_def(st);
        let distributed = map.mode == ProcessorMode::Distributed;
        let jsonata = language::for_state(st) == Language::Jsonata;
        let outcome = {
            let raw = self.m.thread(tid).input.clone();
            if jsonata {
                Ok(raw)
            } else {
                self.eval(tid, st, None, None)
                    .input_path(st.input_path.as_deref(), raw)
            }
        };
        match outcome {
            Ok(effective) => self.m.thread_mut(tid).effective = effective,
            Err(e) => return Step::Fail(self.path_failure(tid, e)),
        }
        if distributed {
            if let Some(spec) = self.m.thread_mut(tid).kept_map_run.take() {
                return self.redrive_map_run(tid, *spec);
            }
            if map.item_reader.is_some() {
                return self.start_reader_map_run(tid, st, map);
            }
        }
        // Items and MaxConcurrency are checked before MapStateStarted (observed).
        let items = if jsonata {
            match self.jsonata_items(tid, st, map) {
                Ok(items) => items,
                Err(q) => return Step::Fail(self.map_query_failure(tid, q)),
            }
        } else {
            let effective = &self.m.thread(tid).effective;
            let ev = self.eval(tid, st, None, None);
            let path = map.items_path.as_deref().unwrap_or("$");
            match ev.path(path, effective) {
                Ok(Value::Array(a)) => a,
                Ok(_) => {
                    return Step::Fail(Failure::runtime_raw(format!(
                        "Reference path \"{path}\" must point to array."
                    )))
                }
                Err(e) => return Step::Fail(self.path_failure(tid, e)),
            }
        };
        let limit = match self.map_number(tid, &map.max_concurrency, "MaxConcurrencyPath") {
            Ok(n) => n.map_or(0, |n| n.max(0) as u64),
            Err(f) => return Step::Fail(self.map_fault(tid, f)),
        };
        let started = self.emit_in(
            tid,
            EventType::MapStateStarted,
            Details::new().num("length", items.len() as u64).done(),
        );
        let (tolerated_count, tolerated_percentage) = match self.tolerance(tid, map) {
            Ok(t) => t,
            Err(f) => return Step::Fail(self.map_fault(tid, f)),
        };
        if !distributed && (map.item_reader.is_some() || map.result_writer.is_some()) {
            return Step::Fail(
                self.runtime_failure(tid, "ItemReader and ResultWriter need a Distributed Map."),
            );
        }
        let inputs = match self
            .item_inputs(tid, st, map, items)
            .and_then(|items| self.batches(tid, st, map, items))
        {
            Ok(v) => v,
            Err(f) => return Step::Fail(self.map_fault(tid, f)),
        };
        if distributed {
            let writer = match self.writer_spec(tid, st, map) {
                Ok(w) => w,
                Err(f) => return Step::Fail(self.map_fault(tid, f)),
            };
            let spec = self.map_run_spec(map, inputs, limit, tolerated_count, tolerated_percentage);
            return self.start_map_run(
                tid,
                MapRunSpec {
                    result_writer: writer,
                    ..spec
                },
            );
        }
        let run_started = 0;
        let n = inputs.len();
        let limit = match limit {
            0 if distributed => u32::MAX,
            0 => INLINE_LIMIT,
            l => l.min(u32::MAX as u64) as u32,
        };
        // A redrive keeps the iterations that succeeded before (see `redrive.rs`), as long
        // as the items are the same number as then.
        let (done, results) = match self.m.thread_mut(tid).kept.take() {
            Some(k) if k.done.len() == n && k.results.len() == n => (k.done, k.results),
            _ => (vec![false; n], vec![Value::Null; n]),
        };
        self.m.thread_mut(tid).phase = Phase::Fanout(Box::new(Fanout {
            is_map: true,
            distributed,
            children: vec![None; n],
            results,
            running: 0,
            next: 0,
            total: n as u32,
            limit,
            items: inputs,
            cursor: started,
            last_done: started,
            run_started,
            failures: 0,
            tolerated_count,
            tolerated_percentage,
            done,
        }));
        self.pump_map(tid)
    }

    /// JSONata `Items`: an array whose elements may be expressions, or one expression
    /// returning an array; without it the state input, which must be an array (observed).
    fn jsonata_items(
        &self,
        tid: u32,
        st: &'a State,
        map: &'a MapState,
    ) -> Result<Vec<Value>, QueryFailure> {
        let input = &self.m.thread(tid).effective;
        let q = self.query(tid, st, None, None);
        let items = match &map.items {
            Some(Value::String(s)) => match is_expression(s) {
                Some(source) => q.typed(source, input, "Items", ExpectedType::Array)?,
                None => Value::String(s.clone()),
            },
            Some(template) => q.template(template, input, Extra::None, "Items")?,
            None => input.clone(),
        };
        match items {
            Value::Array(a) => Ok(a),
            other => Err(QueryFailure::new(
                None,
                format!(
                    "Map state input must be an array but was: {}",
                    json_text(&other)
                ),
            )),
        }
    }

    /// The Map fails before its iterations run: `EvaluationFailed`, then `MapStateFailed`
    /// (observed for `Items`) unless a retrier takes it.
    fn map_query_failure(&mut self, tid: u32, q: QueryFailure) -> Failure {
        let mut f = self.query_failure(tid, q);
        f.from_children = true;
        f
    }

    fn map_fault(&mut self, tid: u32, fault: Fault) -> Failure {
        match fault {
            Fault::Query(q) => self.map_query_failure(tid, q),
            other => self.fault(tid, other),
        }
    }

    /// A `…Path`-able Map number (MaxConcurrency, ToleratedFailureCount); `field` names the
    /// `…Path` form, the expression's location is the field without `Path`.
    fn map_number(
        &self,
        tid: u32,
        d: &Option<Dynamic<u64>>,
        field: &str,
    ) -> Result<Option<i64>, Fault> {
        match d {
            None => Ok(None),
            Some(Dynamic::Literal(n)) => Ok(Some(*n as i64)),
            Some(Dynamic::Path(p)) => {
                let st = self.state(tid);
                let v = self
                    .eval(tid, st, None, None)
                    .path(p, &self.m.thread(tid).effective)?;
                // Integer-valued strings are accepted too (observed: `"1"`).
                let n = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                match n {
                    Some(n) => Ok(Some(n)),
                    None => Err(Fault::Runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {p}",
                        shown(&v)
                    ))),
                }
            }
            Some(Dynamic::Expr(e)) => {
                let st = self.state(tid);
                let location = field.strip_suffix("Path").unwrap_or(field);
                let input = &self.m.thread(tid).effective;
                Ok(Some(
                    self.query(tid, st, None, None)
                        .integer(e, input, location)?,
                ))
            }
        }
    }

    fn tolerance(&self, tid: u32, map: &MapState) -> Result<(Option<u64>, Option<f64>), Fault> {
        let count = self.map_number(
            tid,
            &map.tolerated_failure_count,
            "ToleratedFailureCountPath",
        )?;
        if count.is_some_and(|c| c < 0) {
            return Err(Fault::Runtime(
                "ToleratedFailureCount cannot be negative.".into(),
            ));
        }
        let pct = match &map.tolerated_failure_percentage {
            None => None,
            Some(Dynamic::Literal(p)) => Some(*p),
            Some(Dynamic::Path(p)) => {
                let st = self.state(tid);
                let v = self
                    .eval(tid, st, None, None)
                    .path(p, &self.m.thread(tid).effective)?;
                let x = v
                    .as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                match x {
                    Some(x) => Some(x),
                    None => {
                        return Err(Fault::Runtime(format!(
                            "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {p}",
                            shown(&v)
                        )))
                    }
                }
            }
            Some(Dynamic::Expr(e)) => {
                let st = self.state(tid);
                let input = &self.m.thread(tid).effective;
                Some(self.query(tid, st, None, None).number(
                    e,
                    input,
                    "ToleratedFailurePercentage",
                )?)
            }
        };
        if pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(Fault::Runtime(
                "ToleratedFailurePercentage must be between 0 and 100.".into(),
            ));
        }
        Ok((count.map(|c| c as u64), pct))
    }

    /// Each iteration's input: the item, or ItemSelector with `$$.Map.Item`.
    fn item_inputs(
        &self,
        tid: u32,
        st: &'a State,
        map: &'a MapState,
        items: Vec<Value>,
    ) -> Result<Vec<Value>, Fault> {
        let Some(selector) = &map.item_selector else {
            return Ok(items);
        };
        let effective = &self.m.thread(tid).effective;
        let jsonata = language::for_state(st) == Language::Jsonata;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = if jsonata {
                self.query(tid, st, None, Some((i as u32, item))).template(
                    selector,
                    effective,
                    Extra::None,
                    "ItemSelector",
                )?
            } else {
                self.eval(tid, st, None, Some((i as u32, item))).template(
                    selector,
                    effective,
                    "ItemSelector",
                )?
            };
            out.push(v);
        }
        Ok(out)
    }

    /// `ItemBatcher`: children get `{"Items": [...], "BatchInput": ...}`.
    fn batches(
        &self,
        tid: u32,
        st: &'a State,
        map: &'a MapState,
        items: Vec<Value>,
    ) -> Result<Vec<Value>, Fault> {
        Ok(match self.batcher_spec(tid, st, map)? {
            Some(b) => b.group(items),
            None => items,
        })
    }

    /// `ItemBatcher`'s numbers and `BatchInput`, evaluated on entry.
    fn batcher_spec(
        &self,
        tid: u32,
        st: &'a State,
        map: &'a MapState,
    ) -> Result<Option<BatcherSpec>, Fault> {
        let Some(batcher) = map.item_batcher.as_ref().and_then(Value::as_object) else {
            return Ok(None);
        };
        let effective = &self.m.thread(tid).effective;
        let ev = self.eval(tid, st, None, None);
        let q =
            (language::for_state(st) == Language::Jsonata).then(|| self.query(tid, st, None, None));
        let number = |key: &str| -> Result<Option<u64>, Fault> {
            if let Some(v) = batcher.get(key) {
                if let (Some(q), Some(source)) = (&q, v.as_str().and_then(is_expression)) {
                    let location = format!("ItemBatcher/{key}");
                    return Ok(u64::try_from(q.integer(source, effective, &location)?).ok());
                }
                return Ok(v.as_u64());
            }
            match batcher.get(&format!("{key}Path")).and_then(Value::as_str) {
                Some(p) => {
                    let v = ev.path(p, effective)?;
                    Ok(v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                }
                None => Ok(None),
            }
        };
        let max_items = number("MaxItemsPerBatch")?
            .filter(|n| *n > 0)
            .unwrap_or(u64::MAX);
        let max_bytes = number("MaxInputBytesPerBatch")?
            .filter(|n| *n > 0)
            .unwrap_or(crate::errors::PAYLOAD_LIMIT as u64);
        let batch_input = match (batcher.get("BatchInput"), &q) {
            (Some(t), Some(q)) => {
                Some(q.template(t, effective, Extra::None, "ItemBatcher/BatchInput")?)
            }
            (Some(t), None) => Some(ev.template(t, effective, "BatchInput")?),
            (None, _) => None,
        };
        Ok(Some(BatcherSpec {
            max_items,
            max_bytes,
            batch_input,
        }))
    }

    /// `Parameters` (JSONPath) or `Arguments` (JSONata) of an ItemReader / ResultWriter.
    fn resolved_parameters(
        &self,
        tid: u32,
        st: &'a State,
        block: &Value,
        field: &str,
    ) -> Result<Value, Fault> {
        let effective = &self.m.thread(tid).effective;
        if language::for_state(st) == Language::Jsonata {
            return match block.get("Arguments") {
                Some(a) => Ok(self.query(tid, st, None, None).template(
                    a,
                    effective,
                    Extra::None,
                    &format!("{field}.Arguments"),
                )?),
                None => Ok(Value::Object(Default::default())),
            };
        }
        match block.get("Parameters") {
            Some(p) => Ok(self.eval(tid, st, None, None).template(
                p,
                effective,
                &format!("{field}.Parameters"),
            )?),
            None => Ok(Value::Object(Default::default())),
        }
    }

    /// The ItemReader as evaluated now: its parameters and `MaxItems` resolved.
    fn reader_spec(&self, tid: u32, st: &'a State, map: &'a MapState) -> Result<ReaderSpec, Fault> {
        let block = map.item_reader.as_ref().expect("an ItemReader");
        let resource = block
            .get("Resource")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let parameters = self.resolved_parameters(tid, st, block, "ItemReader")?;
        let mut config = block
            .get("ReaderConfig")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let effective = &self.m.thread(tid).effective;
        if let Some(p) = config
            .remove("MaxItemsPath")
            .and_then(|p| p.as_str().map(str::to_string))
        {
            let v = self.eval(tid, st, None, None).path(&p, effective)?;
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) => {
                    config.insert("MaxItems".into(), n.into());
                }
                None => {
                    return Err(Fault::Runtime(format!(
                        "The MaxItemsPath field refers to value \"{}\" which is not a valid integer: {p}",
                        shown(&v)
                    )))
                }
            }
        }
        if let Some(source) = config
            .get("MaxItems")
            .and_then(Value::as_str)
            .and_then(is_expression)
        {
            let n = self.query(tid, st, None, None).integer(
                source,
                effective,
                "ItemReader.ReaderConfig.MaxItems",
            )?;
            config.insert("MaxItems".into(), n.max(0).into());
        }
        Ok(ReaderSpec {
            resource,
            parameters,
            reader_config: Value::Object(config),
        })
    }

    fn writer_spec(
        &self,
        tid: u32,
        st: &'a State,
        map: &'a MapState,
    ) -> Result<Option<WriterSpec>, Fault> {
        let Some(block) = &map.result_writer else {
            return Ok(None);
        };
        Ok(Some(WriterSpec {
            resource: block
                .get("Resource")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            parameters: self.resolved_parameters(tid, st, block, "ResultWriter")?,
            writer_config: block.get("WriterConfig").cloned().unwrap_or(Value::Null),
        }))
    }

    /// ItemSelector as the driver applies it to each item read: what it sees now.
    fn item_selection(&self, tid: u32, st: &'a State, map: &'a MapState) -> Option<ItemSelection> {
        let template = map.item_selector.clone()?;
        let t = self.m.thread(tid);
        // The variables visible here, inner scopes first.
        let mut variables = serde_json::Map::new();
        let mut at = Some(tid);
        while let Some(id) = at {
            let th = self.m.thread(id);
            for (k, v) in &th.vars {
                variables.entry(k.clone()).or_insert_with(|| v.clone());
            }
            at = th.parent.map(|(p, _)| p);
        }
        Some(ItemSelection {
            jsonata: language::for_state(st) == Language::Jsonata,
            template,
            input: t.effective.clone(),
            variables,
            info: self.info.clone(),
            state_name: st.name.clone(),
            entered_id: t.entered_id,
            entered_ms: t.entered_ms,
            retry_count: t.retry_count,
            now_ms: self.ctx.now_ms,
            entropy: self.entropy.get(),
        })
    }

    /// A Distributed Map with an ItemReader: nothing is read here (the driver streams the
    /// items); `MapStateStarted` has length 0 (observed).
    fn start_reader_map_run(&mut self, tid: u32, st: &'a State, map: &'a MapState) -> Step {
        let limit = match self.map_number(tid, &map.max_concurrency, "MaxConcurrencyPath") {
            Ok(n) => n.map_or(0, |n| n.max(0) as u64),
            Err(f) => return Step::Fail(self.map_fault(tid, f)),
        };
        self.emit_in(
            tid,
            EventType::MapStateStarted,
            Details::new().num("length", 0).done(),
        );
        let outcome = (|| {
            let (count, pct) = self.tolerance(tid, map)?;
            let reader = self.reader_spec(tid, st, map)?;
            let writer = self.writer_spec(tid, st, map)?;
            let batcher = self.batcher_spec(tid, st, map)?;
            Ok((count, pct, reader, writer, batcher))
        })();
        let (count, pct, reader, writer, batcher) = match outcome {
            Ok(v) => v,
            Err(f) => return Step::Fail(self.map_fault(tid, f)),
        };
        let spec = MapRunSpec {
            item_reader: Some(reader),
            item_selector: self.item_selection(tid, st, map),
            batcher,
            result_writer: writer,
            ..self.map_run_spec(map, Vec::new(), limit, count, pct)
        };
        self.start_map_run(tid, spec)
    }

    /// The Map Run's ARN and its label (the Map's `Label`, or a generated UUID).
    fn map_run_arn(&self, map: &MapState) -> (String, String) {
        let base = self
            .info
            .state_machine_arn
            .replacen(":stateMachine:", ":mapRun:", 1);
        let seed = crate::retry::mix(self.ctx.entropy ^ self.out.next_id);
        let label = map.label.clone().unwrap_or_else(|| uuid_from(seed));
        let arn = format!("{base}/{label}:{}", uuid_from(crate::retry::mix(seed)));
        (arn, label)
    }

    /// What the driver runs for items already in hand (ARN and label fixed here).
    fn map_run_spec(
        &self,
        map: &'a MapState,
        items: Vec<Value>,
        max_concurrency: u64,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    ) -> MapRunSpec {
        let (map_run_arn, label) = self.map_run_arn(map);
        MapRunSpec {
            map_run_arn,
            state_machine_arn: format!("{}/{label}", self.info.state_machine_arn),
            execution_type: map
                .execution_type
                .clone()
                .unwrap_or_else(|| "STANDARD".into()),
            definition: json_text(&map.processor_definition),
            items,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            batched: map.item_batcher.is_some(),
            role_arn: self.info.role_arn.clone(),
            item_reader: None,
            item_selector: None,
            batcher: None,
            result_writer: None,
            redrive_count: 0,
        }
    }

    /// A Distributed Map: `MapRunStarted`, then an open task that asks the runtime to run
    /// the Map Run (its children are executions of their own, driven outside the core);
    /// its outcome comes back through [`Run::map_run_input`].
    fn start_map_run(&mut self, tid: u32, spec: MapRunSpec) -> Step {
        let task = self.emit_in(
            tid,
            EventType::MapRunStarted,
            Details::new()
                .str("mapRunArn", spec.map_run_arn.as_str())
                .done(),
        );
        self.open_map_run(tid, task, spec)
    }

    /// The Map Run task, named by the event that started (or redrove) the run.
    fn open_map_run(&mut self, tid: u32, task: u64, spec: MapRunSpec) -> Step {
        let spec = serde_json::to_value(&spec).expect("a map run spec is JSON");
        let token = crate::token::mint(&self.ctx.token_key, &self.info.execution_arn, task);
        self.effect(crate::Effect::InvokeResource {
            task,
            resource: MAP_RUN_RESOURCE.into(),
            parameters: spec.clone(),
            token,
            state_name: self.state(tid).name.clone(),
        });
        self.m.tasks.insert(task, tid);
        self.m.thread_mut(tid).phase = Phase::MapRun(Box::new(MapRunWait { task, spec }));
        Step::Blocked
    }

    /// A redriven execution re-enters a Distributed Map whose Map Run did not succeed: the
    /// same run goes on (`MapRunRedriven`), its driver redriving the children that failed.
    /// (Event order unverified against AWS.)
    fn redrive_map_run(&mut self, tid: u32, spec: Value) -> Step {
        let Ok(mut spec) = serde_json::from_value::<MapRunSpec>(spec) else {
            return Step::Fail(self.runtime_failure(tid, "The Map Run cannot be redriven"));
        };
        spec.redrive_count += 1;
        self.emit_in(
            tid,
            EventType::MapStateStarted,
            Details::new().num("length", spec.items.len() as u64).done(),
        );
        let task = self.emit_in(
            tid,
            EventType::MapRunRedriven,
            Details::new()
                .str("mapRunArn", spec.map_run_arn.as_str())
                .num("redriveCount", u64::from(spec.redrive_count))
                .done(),
        );
        self.open_map_run(tid, task, spec)
    }

    /// The Map Run's outcome: `TaskSucceeded` with the Map's result (the children's outputs
    /// in item order, or ResultWriter's summary), or `TaskFailed` (tolerance exceeded, item
    /// reader failed): `MapRunSucceeded`/`MapRunFailed`, then the Map state ends as before.
    pub(crate) fn map_run_input(&mut self, tid: u32, input: crate::Input) -> crate::Outcome {
        let Phase::MapRun(wait) = &self.m.thread(tid).phase else {
            return crate::Outcome::TaskClosed;
        };
        let task = wait.task;
        match input {
            crate::Input::TaskSucceeded { output, .. } => {
                self.m.tasks.remove(&task);
                let result: Value = serde_json::from_str(&output).unwrap_or(Value::Null);
                let id = self.emit_at(tid, task, EventType::MapRunSucceeded, None);
                self.emit_at(tid, id, EventType::MapStateSucceeded, None);
                self.m.thread_mut(tid).source = id;
                let step = self.complete_with_result(tid, result);
                self.settle(tid, step);
            }
            crate::Input::TaskFailed { error, cause, .. } => {
                self.m.tasks.remove(&task);
                let id = self.emit_at(
                    tid,
                    task,
                    EventType::MapRunFailed,
                    Details::new()
                        .error_cause(error.as_deref(), cause.as_deref())
                        .done(),
                );
                let t = self.m.thread_mut(tid);
                t.source = id;
                if let Phase::MapRun(wait) = std::mem::replace(&mut t.phase, Phase::Enter) {
                    t.kept_map_run = Some(Box::new(wait.spec));
                }
                let mut f = Failure::new(error, cause);
                f.from_children = true;
                self.settle(tid, Step::Fail(f));
            }
            // Heartbeats, submissions: a Map Run has none.
            _ => {}
        }
        crate::Outcome::Applied
    }

    /// Start iterations while the limit allows; `Step` once the Map is decided.
    pub(crate) fn pump_map(&mut self, tid: u32) -> Step {
        loop {
            let t = self.m.thread(tid);
            let Phase::Fanout(f) = &t.phase else {
                return Step::Blocked;
            };
            if f.next >= f.total || f.running >= f.limit {
                break;
            }
            let i = f.next;
            if f.done[i as usize] {
                // Succeeded in an attempt before a redrive: not run again.
                let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                    unreachable!()
                };
                f.next += 1;
                continue;
            }
            let (distributed, cursor) = (f.distributed, f.cursor);
            let (mut scope, state, hidden) = (t.scope.clone(), t.state, t.hidden);
            scope.push((state, 0));
            let processor = &map_def(self.state(tid)).processor;
            let start = processor
                .index
                .get(&processor.start_at)
                .copied()
                .unwrap_or(0) as u32;
            let started = if distributed {
                cursor
            } else {
                self.iteration_event(tid, EventType::MapIterationStarted, cursor, i)
            };
            let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                unreachable!()
            };
            let input = std::mem::take(&mut f.items[i as usize]);
            f.next += 1;
            f.running += 1;
            let mut child = Thread::new(Some((tid, i)), scope, start, started, input);
            child.item_index = Some(i);
            child.hidden = hidden || distributed;
            let cid = self.m.add_thread(child);
            if let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase {
                f.children[i as usize] = Some(cid);
            }
            if let Some(r) = self.continue_thread(cid, Step::Enter) {
                if let Some(step) = self.iteration_finished(tid, i, cid, r) {
                    return step;
                }
            }
        }
        let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
            return Step::Blocked;
        };
        if f.running > 0 || f.next < f.total {
            return Step::Blocked;
        }
        let results = std::mem::take(&mut f.results);
        let (distributed, last, run_started) = (f.distributed, f.last_done, f.run_started);
        let last = if distributed {
            self.emit_at(tid, run_started, EventType::MapRunSucceeded, None)
        } else {
            last
        };
        self.emit_at(tid, last, EventType::MapStateSucceeded, None);
        self.m.thread_mut(tid).source = last;
        self.complete_with_result(tid, Value::Array(results))
    }

    /// An iteration ended. `Some` when the Map state failed.
    pub(crate) fn iteration_finished(
        &mut self,
        tid: u32,
        slot: u32,
        child: u32,
        r: Result<Value, Failure>,
    ) -> Option<Step> {
        let child_source = self.m.thread(child).source;
        let distributed = matches!(&self.m.thread(tid).phase, Phase::Fanout(f) if f.distributed);
        match r {
            Ok(v) => {
                self.m.remove_thread(child);
                let done = if distributed {
                    0
                } else {
                    self.iteration_event(tid, EventType::MapIterationSucceeded, child_source, slot)
                };
                let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                    unreachable!()
                };
                f.children[slot as usize] = None;
                f.running -= 1;
                f.results[slot as usize] = v;
                f.done[slot as usize] = true;
                if !distributed {
                    f.cursor = child_source;
                    f.last_done = done;
                }
                None
            }
            Err(failure) if distributed => {
                self.m.remove_thread(child);
                let Phase::Fanout(f) = &mut self.m.thread_mut(tid).phase else {
                    unreachable!()
                };
                f.children[slot as usize] = None;
                f.running -= 1;
                f.failures += 1;
                f.results[slot as usize] = failure.error_output();
                let over_count = u64::from(f.failures) > f.tolerated_count.unwrap_or(0);
                let over_pct = f
                    .tolerated_percentage
                    .is_none_or(|p| f64::from(f.failures) * 100.0 / f64::from(f.total.max(1)) > p);
                let exceeded = match (f.tolerated_count, f.tolerated_percentage) {
                    (None, None) => true,
                    (Some(_), None) => over_count,
                    (None, Some(_)) => over_pct,
                    (Some(_), Some(_)) => over_count && over_pct,
                };
                if !exceeded {
                    return None;
                }
                let run_started = f.run_started;
                let list: Vec<u32> = f.children.iter().flatten().copied().collect();
                f.children.iter_mut().for_each(|c| *c = None);
                f.running = 0;
                for c in list {
                    self.abort_thread(c, run_started);
                }
                let error = "States.ExceedToleratedFailureThreshold";
                let cause = "The specified tolerated failure threshold was exceeded";
                let id = self.emit_at(
                    tid,
                    run_started,
                    EventType::MapRunFailed,
                    Details::new().error_cause(Some(error), Some(cause)).done(),
                );
                let t = self.m.thread_mut(tid);
                t.source = id;
                if let Phase::Fanout(fan) = std::mem::replace(&mut t.phase, Phase::Enter) {
                    t.kept = Some(fan);
                }
                let mut f = Failure::new(Some(error.into()), Some(cause.into()));
                f.from_children = true;
                Some(Step::Fail(f))
            }
            Err(failure) => Some(self.children_failed(tid, slot, child, failure)),
        }
    }

    /// `MapIteration{Started,Succeeded,Failed,Aborted}` with the Map state's name.
    pub(crate) fn iteration_event(
        &mut self,
        tid: u32,
        ty: EventType,
        prev: u64,
        index: u32,
    ) -> u64 {
        let name = self.state(tid).name.as_str();
        self.emit_at(
            tid,
            prev,
            ty,
            Details::new()
                .str("name", name)
                .num("index", u64::from(index))
                .done(),
        )
    }
}

/// A version-4-shaped UUID from 64 bits of entropy (deterministic on replay).
pub(crate) fn uuid_from(seed: u64) -> String {
    let a = crate::retry::mix(seed);
    let b = crate::retry::mix(a);
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
