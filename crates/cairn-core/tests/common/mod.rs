//! Shared test driver: a simulated clock, a fake world and helpers to look at histories.
#![allow(dead_code)]

use cairn_core::{
    start, step, Ctx, Decision, Effect, EventType, Execution, ExecutionInfo, HistoryEvent, Input,
    World,
};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

pub const T0: i64 = 1_700_000_000_000;

pub struct Activities(pub HashSet<String>);
impl World for Activities {
    fn activity_exists(&self, arn: &str) -> bool {
        self.0.contains(arn)
    }
}

pub fn info(input: &str) -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        region: "us-east-1".into(),
        start_time_ms: T0,
        input_text: input.into(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_time_ms: None,
        mock_test_case: None,
        trace_parent: None,
    }
}

/// One execution driven by hand, with a simulated clock and every event kept.
pub struct Driver {
    pub def: cairn_asl::StateMachine,
    pub definition: Value,
    pub exec: Execution,
    pub history: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    /// Live timers (id, due).
    pub timers: Vec<(u64, i64)>,
    pub now: i64,
    pub world: Arc<dyn World>,
}

pub fn ctx(now: i64, entropy: u64, world: &Arc<dyn World>) -> Ctx {
    Ctx {
        now_ms: now,
        entropy,
        token_key: [3u8; 32],
        world: world.clone(),
    }
}

impl Driver {
    pub fn start(definition: Value, input: &str) -> Driver {
        Self::start_in(definition, input, Arc::new(cairn_core::OpenWorld))
    }

    pub fn start_in(definition: Value, input: &str, world: Arc<dyn World>) -> Driver {
        let def = cairn_asl::parse_definition(&definition).expect("valid definition");
        let c = ctx(T0, 1, &world);
        let (exec, d) = start(info(input), &def, serde_json::from_str(input).unwrap(), &c);
        let mut drv = Driver {
            def,
            definition,
            exec,
            history: Vec::new(),
            effects: Vec::new(),
            timers: Vec::new(),
            now: T0,
            world,
        };
        drv.absorb(d);
        drv
    }

    fn absorb(&mut self, d: Decision) -> Decision {
        for e in &d.effects {
            match e {
                Effect::StartTimer { timer, fire_at_ms } => self.timers.push((*timer, *fire_at_ms)),
                Effect::CancelTimer { timer } => self.timers.retain(|(t, _)| t != timer),
                _ => {}
            }
        }
        self.history.extend(d.events.iter().cloned());
        self.effects.extend(d.effects.iter().cloned());
        d
    }

    pub fn feed(&mut self, input: Input) -> Decision {
        if let Input::TimerFired { timer } = input {
            self.timers.retain(|(t, _)| *t != timer);
        }
        let c = ctx(self.now, self.exec.next_event_id, &self.world);
        let d = step(&mut self.exec, &self.def, input, &c);
        self.absorb(d)
    }

    /// Advance the clock to the earliest timer and fire it; false when none is left.
    pub fn fire_next_timer(&mut self) -> bool {
        let Some(&(timer, at)) = self.timers.iter().min_by_key(|(t, at)| (*at, *t)) else {
            return false;
        };
        self.timers.retain(|(t, _)| *t != timer);
        self.now = self.now.max(at);
        self.feed(Input::TimerFired { timer });
        true
    }

    pub fn run_timers(&mut self) {
        while self.exec.status == cairn_core::ExecutionStatus::Running && self.fire_next_timer() {}
    }

    pub fn def_json(&self) -> Value {
        self.definition.clone()
    }

    pub fn types(&self) -> Vec<&'static str> {
        self.history.iter().map(|e| e.event_type.as_str()).collect()
    }

    pub fn chain(&self) -> Vec<(u64, u64)> {
        self.history
            .iter()
            .map(|e| (e.id, e.previous_event_id))
            .collect()
    }

    pub fn last_scheduled(&self) -> u64 {
        self.history
            .iter()
            .rev()
            .find(|e| {
                matches!(
                    e.event_type,
                    EventType::ActivityScheduled
                        | EventType::TaskScheduled
                        | EventType::LambdaFunctionScheduled
                )
            })
            .map(|e| e.id)
            .expect("a scheduled task")
    }

    pub fn detail(&self, id: u64, key: &str) -> Option<Value> {
        self.history[id as usize - 1]
            .details
            .as_ref()?
            .get(key)
            .cloned()
    }
}
