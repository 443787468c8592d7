//! Runs Task resources other than activities (Lambda functions, HTTP tasks, nested
//! executions, service integrations) and turns their outcomes into interpreter inputs.
//!
//! Today only the callback pattern runs locally: a `.waitForTaskToken` resource is recorded
//! as submitted and then waits for SendTaskSuccess/SendTaskFailure with its token (which a
//! worker can read from the `TaskScheduled` parameters). Every other resource fails with a
//! cause that names it; local Lambda functions, HTTP and nested executions come next.

use super::writer::Command;
use super::Engine;
use crate::config::Config;
use cairn_core::Input;
use serde_json::Value;
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::mpsc;

/// What a resource invocation may use: the settings and (for nested executions) the engine.
#[derive(Clone)]
pub struct ResourceEnv {
    pub config: Config,
    engine: Arc<OnceLock<Weak<Engine>>>,
}

impl ResourceEnv {
    pub fn new(config: Config) -> Self {
        ResourceEnv {
            config,
            engine: Arc::new(OnceLock::new()),
        }
    }

    /// Called once the engine exists.
    pub fn attach(&self, engine: &Arc<Engine>) {
        let _ = self.engine.set(Arc::downgrade(engine));
    }

    /// The engine, unless it has shut down.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.get().and_then(Weak::upgrade)
    }
}

/// Run one resource invocation to its first outcome.
pub async fn run(
    env: &ResourceEnv,
    task: u64,
    resource: &str,
    parameters: &Value,
    token: &str,
) -> Input {
    let _ = (env, parameters, token);
    if resource.ends_with(".waitForTaskToken") {
        Input::TaskSubmitted {
            task,
            output: "{}".into(),
        }
    } else {
        Input::TaskFailed {
            task,
            error: Some("States.Runtime".into()),
            cause: Some(format!(
                "Cairn cannot run the resource '{resource}' yet: only activities and \
                 .waitForTaskToken callbacks are supported by this build."
            )),
        }
    }
}

/// Runs invocations for the writer and sends their outcomes back to it.
#[derive(Clone)]
pub struct ResourceRunner {
    writer: mpsc::UnboundedSender<Command>,
    runtime: tokio::runtime::Handle,
    env: ResourceEnv,
}

impl ResourceRunner {
    /// Must be created inside the tokio runtime that will run the invocations.
    pub fn new(writer: mpsc::UnboundedSender<Command>, env: ResourceEnv) -> Self {
        ResourceRunner {
            writer,
            runtime: tokio::runtime::Handle::current(),
            env,
        }
    }

    pub fn invoke(
        &self,
        execution_arn: String,
        task: u64,
        resource: String,
        parameters: Value,
        token: String,
    ) {
        let writer = self.writer.clone();
        let env = self.env.clone();
        self.runtime.spawn(async move {
            let input = run(&env, task, &resource, &parameters, &token).await;
            let _ = writer.send(Command::Deliver {
                execution_arn,
                input,
                reply: None,
            });
        });
    }
}
