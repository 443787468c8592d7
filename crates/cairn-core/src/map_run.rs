//! A Distributed Map's Map Run as the core hands it to the runtime ([`MapRunSpec`]), and
//! the pure pieces of Map semantics the runtime's driver applies per item when items are
//! streamed from an ItemReader: [`ItemSelection`] (ItemSelector with `$$.Map.Item`),
//! [`Batcher`] (ItemBatcher) and [`tolerance_exceeded`].
//!
//! Must not: do I/O or read a clock (the spec carries the entry's time and entropy).

use crate::context::ContextParts;
use crate::dataflow::Eval;
use crate::errors::Failure;
use crate::history::json_text;
use crate::jsonata::{Extra, Query};
use crate::machine::{Machine, Thread};
use crate::ExecutionInfo;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cell::Cell;

/// The internal resource of a Map Run task (never a real ARN, so no definition can name it).
pub const MAP_RUN_RESOURCE: &str = "cairn:mapRun";

/// What the runtime's Map Run driver runs: everything the core resolved on entering the
/// Distributed Map. Serialised as the task's parameters (and kept in the snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapRunSpec {
    pub map_run_arn: String,
    /// The labelled machine the children belong to: `…:stateMachine:<machine>/<label>`.
    pub state_machine_arn: String,
    /// `STANDARD` or `EXPRESS`.
    pub execution_type: String,
    /// The children's definition (the `ItemProcessor`) as JSON text.
    pub definition: String,
    /// Each child's input, in item order (after ItemSelector and ItemBatcher).
    pub items: Vec<Value>,
    /// 0: no limit.
    pub max_concurrency: u64,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    /// `ItemBatcher` was given: each child's input is `{"Items": [...], ...}`, and the
    /// run's item counts count those items.
    #[serde(default)]
    pub batched: bool,
    /// The parent's role, which the children run with.
    #[serde(default)]
    pub role_arn: String,
    /// ItemReader: the items are read from it (then `items` is empty), each through
    /// `item_selector` and `batcher` as it comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<ReaderSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_selector: Option<ItemSelection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batcher: Option<BatcherSpec>,
    /// ResultWriter: the results are written there, and the Map's output is what it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<WriterSpec>,
    /// How often this run was redriven (RedriveExecution of the parent): the driver then
    /// redrives the children that did not succeed instead of starting them again.
    #[serde(default)]
    pub redrive_count: u32,
}

/// An ItemReader as evaluated on entry: `Resource`, `Parameters`/`Arguments` resolved, and
/// `ReaderConfig` with `MaxItemsPath` (or a JSONata `MaxItems`) resolved into `MaxItems`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReaderSpec {
    pub resource: String,
    pub parameters: Value,
    pub reader_config: Value,
}

/// A ResultWriter as evaluated on entry: `Resource`, `Parameters`/`Arguments` resolved
/// (`Bucket`, `Prefix`), `WriterConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterSpec {
    pub resource: String,
    pub parameters: Value,
    pub writer_config: Value,
}

/// ItemSelector as the Map state would evaluate it for each item: the template, and what it
/// sees (the state's effective input, the variables visible there, the context object's
/// parts, the entry's time and entropy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSelection {
    pub jsonata: bool,
    pub template: Value,
    pub input: Value,
    pub variables: Map<String, Value>,
    pub info: ExecutionInfo,
    pub state_name: String,
    pub entered_id: u64,
    pub entered_ms: i64,
    pub retry_count: u32,
    pub now_ms: i64,
    pub entropy: u64,
}

impl ItemSelection {
    /// The child input of item `index` (`$$.Map.Item.Index` / `.Value`), or the Map state's
    /// failure (`error`, `cause`) when the selector cannot be evaluated.
    pub fn apply(
        &self,
        index: u64,
        item: &Value,
    ) -> Result<Value, (Option<String>, Option<String>)> {
        let mut machine = Machine::default();
        let mut thread = Thread::new(None, Vec::new(), 0, 0, Value::Null);
        thread.vars = self.variables.clone();
        let tid = machine.add_thread(thread);
        let entropy = Cell::new(crate::retry::mix(self.entropy ^ index));
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        let parts = ContextParts {
            info: &self.info,
            state_name: &self.state_name,
            entered_ms: self.entered_ms,
            retry_count: Some(self.retry_count),
            task_token: None,
            map_item: Some((index, item)),
        };
        let failure = if self.jsonata {
            let q = Query::new(&machine, tid, parts, &entropy, self.now_ms);
            match q.template(&self.template, &self.input, Extra::None, "ItemSelector") {
                Ok(v) => return Ok(v),
                Err(e) => Failure::query(&self.state_name, self.entered_id, &e.cause),
            }
        } else {
            let ev = Eval::new(&machine, tid, parts, &entropy);
            match ev.template(&self.template, &self.input, "ItemSelector") {
                Ok(v) => return Ok(v),
                Err(e) => Failure::from_path_error(&self.state_name, self.entered_id, e),
            }
        };
        Err((failure.error, failure.cause))
    }
}

/// ItemBatcher as evaluated on entry: `MaxItemsPerBatch`, `MaxInputBytesPerBatch` (each
/// `u64::MAX`/the payload limit when not given) and `BatchInput`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatcherSpec {
    pub max_items: u64,
    pub max_bytes: u64,
    pub batch_input: Option<Value>,
}

impl BatcherSpec {
    pub fn batcher(&self) -> Batcher {
        Batcher {
            spec: self.clone(),
            current: Vec::new(),
            bytes: 0,
        }
    }

    /// A whole list grouped into batches.
    pub fn group(&self, items: Vec<Value>) -> Vec<Value> {
        let mut b = self.batcher();
        let mut out: Vec<Value> = items.into_iter().filter_map(|i| b.push(i)).collect();
        out.extend(b.finish());
        out
    }
}

/// Groups items into `{"Items": [...], "BatchInput": ...}` as they come.
pub struct Batcher {
    spec: BatcherSpec,
    current: Vec<Value>,
    bytes: u64,
}

impl Batcher {
    /// Add an item; a batch that is full without it comes back.
    pub fn push(&mut self, item: Value) -> Option<Value> {
        let size = json_text(&item).len() as u64 + 1;
        let full = !self.current.is_empty()
            && (self.current.len() as u64 >= self.spec.max_items
                || self.bytes + size > self.spec.max_bytes);
        let out = full.then(|| self.take());
        self.bytes += size;
        self.current.push(item);
        out
    }

    /// The last batch, if any items are left.
    pub fn finish(&mut self) -> Option<Value> {
        (!self.current.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Value {
        self.bytes = 0;
        let mut m = Map::new();
        m.insert(
            "Items".into(),
            Value::Array(std::mem::take(&mut self.current)),
        );
        if let Some(b) = &self.spec.batch_input {
            m.insert("BatchInput".into(), b.clone());
        }
        Value::Object(m)
    }
}

/// Whether `failed` failed children out of `total` items exceed the Map Run's tolerance:
/// with no tolerance any failure does; with one of the two, that one decides; with both,
/// the run fails only once both are exceeded.
pub fn tolerance_exceeded(
    failed: u64,
    total: u64,
    count: Option<u64>,
    percentage: Option<f64>,
) -> bool {
    if failed == 0 {
        return false;
    }
    let over_count = failed > count.unwrap_or(0);
    let over_pct = percentage.is_none_or(|p| failed as f64 * 100.0 / total.max(1) as f64 > p);
    match (count, percentage) {
        (None, None) => true,
        (Some(_), None) => over_count,
        (None, Some(_)) => over_pct,
        (Some(_), Some(_)) => over_count && over_pct,
    }
}
