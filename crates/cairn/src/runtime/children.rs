//! Child executions: the one narrow way a running execution starts, stops and awaits other
//! executions (nested `states:startExecution` / `aws-sdk:sfn:startExecution` tasks today;
//! Distributed Map children next). Owned by the runtime and built before the writer, so it
//! needs no back-reference to the engine and never goes through the HTTP API layer.
//!
//! A child is refused exactly as StartExecution would refuse it (same checks, same
//! `ApiError`s); a name already taken is answered with the ARN that holds it, so a task
//! repeated after a restart finds its own child again.
//!
//! Must not: decide anything about the child's run (the writer does, through the
//! [`Router`]), or render API answers (callers shape what they return).

use super::express;
use super::resources::ResourceEnv;
use super::router::Router;
use super::writer::{StartError, StartRequest};
use super::{on_store, EngineError};
use crate::api::ops::execution_common::{
    check_execution_input, machine_for_start, RedrivePolicy, StartTarget,
};
use crate::clock::now_ms;
use crate::config::Config;
use cairn_api::ApiError;
use cairn_core::{ExecutionInfo, Input};
use cairn_store::ExecutionRecord;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What to start: the target machine's ARN as given (`arn#TestCase` picks a mock test case,
/// as StartExecution does), the child's name and its input as JSON text.
#[derive(Debug, Clone)]
pub struct ChildStart {
    pub state_machine_arn: String,
    pub name: String,
    pub input_text: String,
    /// The starting task's W3C `traceparent`: the child's spans join the parent's trace.
    pub trace_parent: Option<String>,
}

/// How a start went.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// Running: started now, or earlier with the same name and input (StartExecution's
    /// idempotence); `start_date_ms` tells which.
    Running {
        execution_arn: String,
        start_date_ms: i64,
        /// EXPRESS children keep no record: nothing can be awaited or described.
        express: bool,
    },
    /// The name is held by another execution of that machine (closed, or with another
    /// input): `ExecutionAlreadyExists` for a caller that chose the name.
    NameTaken { execution_arn: String },
}

/// A Distributed Map child: its definition is the Map's `ItemProcessor` and its machine the
/// labelled one (`…:stateMachine:<machine>/<label>`), which is not a stored machine.
#[derive(Debug, Clone)]
pub struct MapChildStart {
    /// The labelled state machine ARN.
    pub state_machine_arn: String,
    pub name: String,
    pub input_text: String,
    pub definition: Arc<cairn_asl::StateMachine>,
    pub definition_text: String,
    pub role_arn: String,
    pub express: bool,
    /// The W3C trace context the child's spans hang under (the parent's Map Run task span).
    pub trace_parent: Option<String>,
}

/// A Distributed Map child as started.
pub enum MapChild {
    /// A STANDARD child (see [`Started`]): await it with [`Children::closed`].
    Standard(Started),
    /// An EXPRESS child keeps no record: its run is this future, which the caller runs
    /// (and drops to abort it).
    Express {
        execution_arn: String,
        run: Pin<Box<dyn Future<Output = cairn_core::Execution> + Send>>,
    },
}

/// The runtime's interface to child executions; shared (`Arc`) by every resource call.
pub struct Children {
    router: Arc<Router>,
    token_key: [u8; 32],
    config: Config,
}

impl Children {
    pub(super) fn new(router: Arc<Router>, token_key: [u8; 32], config: Config) -> Arc<Children> {
        Arc::new(Children {
            router,
            token_key,
            config,
        })
    }

    /// Start a child (committed before this returns, for a STANDARD machine; an EXPRESS
    /// machine's run is started in the background, with `env`'s resources). Boxed: an
    /// Express child runs resources, which may start children again (the future's type
    /// would otherwise contain itself).
    pub fn start<'a>(
        &'a self,
        env: &'a ResourceEnv,
        request: ChildStart,
    ) -> Pin<Box<dyn Future<Output = Result<Started, ApiError>> + Send + 'a>> {
        Box::pin(self.start_inner(env, request))
    }

    async fn start_inner(
        &self,
        env: &ResourceEnv,
        request: ChildStart,
    ) -> Result<Started, ApiError> {
        cairn_api::validate_name(&request.name)?;
        let input_text = check_execution_input(Some(request.input_text))?;
        let (machine_arn, test_case) = match request.state_machine_arn.split_once('#') {
            Some((arn, case)) => (arn, Some(case.to_string())),
            None => (request.state_machine_arn.as_str(), None),
        };
        let StartTarget {
            machine,
            arn,
            version_arn,
            alias_arn,
        } = self.machine(machine_arn, &request.name).await?;
        let scope = arn.scope();
        if machine.machine_type == "EXPRESS" {
            let definition = cairn_asl::parse_definition_str(&machine.definition)
                .map_err(|e| ApiError::invalid_definition(e.to_string()))?;
            let input = serde_json::from_str(&input_text)
                .map_err(|e| ApiError::invalid_execution_input(e.to_string()))?;
            let id = uuid::Uuid::new_v4().to_string();
            let start_date_ms = now_ms();
            let info = ExecutionInfo {
                execution_arn: scope.express_execution(&machine.name, &request.name, &id),
                name: request.name,
                state_machine_arn: machine.arn.clone(),
                state_machine_name: machine.name.clone(),
                role_arn: machine.role_arn.clone(),
                region: scope.region.clone(),
                start_time_ms: start_date_ms,
                input_text,
                state_machine_version_arn: version_arn,
                state_machine_alias_arn: alias_arn,
                redrive_count: 0,
                mock_test_case: None,
                trace_parent: request.trace_parent.clone(),
                redrive_time_ms: None,
            };
            let execution_arn = info.execution_arn.clone();
            express::spawn(
                env.clone(),
                info,
                Arc::new(definition),
                input,
                self.token_key,
                self.config.wait_time_scale,
                test_case.as_deref(),
            );
            return Ok(Started::Running {
                execution_arn,
                start_date_ms,
                express: true,
            });
        }
        let request = StartRequest {
            execution_arn: scope.execution(&machine.name, &request.name),
            name: request.name,
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.name.clone(),
            role_arn: machine.role_arn.clone(),
            region: scope.region.clone(),
            definition: machine.definition.clone(),
            input_text,
            state_machine_version_arn: version_arn,
            state_machine_alias_arn: alias_arn,
            mock_test_case: test_case,
            trace_parent: request.trace_parent,
        };
        match self.router.start_execution(request).await {
            Ok(Ok(started)) => Ok(Started::Running {
                execution_arn: started.execution_arn,
                start_date_ms: started.start_date_ms,
                express: false,
            }),
            Ok(Err(StartError::AlreadyExists(execution_arn))) => {
                Ok(Started::NameTaken { execution_arn })
            }
            Ok(Err(StartError::InvalidDefinition(m))) => Err(ApiError::invalid_definition(m)),
            Ok(Err(e)) => Err(ApiError::internal_failure(e.to_string())),
            Err(e) => Err(engine_error(e)),
        }
    }

    /// Start a Distributed Map child. A STANDARD child is committed before this returns
    /// (its name repeated with the same input finds it again: `Started` tells); an EXPRESS
    /// one runs in a task of its own, with `env`'s resources.
    pub async fn start_map_child(
        &self,
        env: &ResourceEnv,
        request: MapChildStart,
    ) -> Result<MapChild, ApiError> {
        let arn = cairn_api::Arn::parse(&request.state_machine_arn)?;
        let scope = arn.scope();
        // `<machine>/<label>`, the name part of the labelled ARN.
        let machine_name = request
            .state_machine_arn
            .split_once(":stateMachine:")
            .map(|(_, n)| n.to_string())
            .unwrap_or_default();
        if request.express {
            let input = serde_json::from_str(&request.input_text)
                .map_err(|e| ApiError::invalid_execution_input(e.to_string()))?;
            let id = uuid::Uuid::new_v4().to_string();
            let info = ExecutionInfo {
                execution_arn: scope.express_execution(&machine_name, &request.name, &id),
                name: request.name,
                state_machine_arn: request.state_machine_arn.clone(),
                state_machine_name: machine_name,
                role_arn: request.role_arn,
                region: scope.region.clone(),
                start_time_ms: now_ms(),
                input_text: request.input_text,
                state_machine_version_arn: None,
                state_machine_alias_arn: None,
                redrive_count: 0,
                mock_test_case: None,
                redrive_time_ms: None,
                trace_parent: request.trace_parent.clone(),
            };
            let execution_arn = info.execution_arn.clone();
            let run = Box::pin(express::run(
                env.clone(),
                info,
                request.definition,
                input,
                self.token_key,
                self.config.wait_time_scale,
            ));
            return Ok(MapChild::Express { execution_arn, run });
        }
        let start = StartRequest {
            execution_arn: scope.execution(&machine_name, &request.name),
            name: request.name,
            state_machine_arn: request.state_machine_arn.clone(),
            state_machine_name: machine_name,
            role_arn: request.role_arn,
            region: scope.region.clone(),
            definition: request.definition_text,
            input_text: request.input_text,
            state_machine_version_arn: None,
            state_machine_alias_arn: None,
            mock_test_case: None,
            trace_parent: request.trace_parent,
        };
        let started = match self.router.start_execution(start).await {
            Ok(Ok(started)) => Started::Running {
                execution_arn: started.execution_arn,
                start_date_ms: started.start_date_ms,
                express: false,
            },
            Ok(Err(StartError::AlreadyExists(execution_arn))) => {
                Started::NameTaken { execution_arn }
            }
            Ok(Err(StartError::InvalidDefinition(m))) => {
                return Err(ApiError::invalid_definition(m))
            }
            Ok(Err(e)) => return Err(ApiError::internal_failure(e.to_string())),
            Err(e) => return Err(engine_error(e)),
        };
        Ok(MapChild::Standard(started))
    }

    /// The store the children's records (and their Map Runs) live in.
    pub fn store(&self) -> &Arc<dyn cairn_store::Store> {
        &self.router.store
    }

    /// Redrive a closed child that did not succeed (RedriveExecution with this client token,
    /// so repeating it after a restart changes nothing). Anything else stays as it is.
    pub async fn redrive(&self, execution_arn: &str, client_token: &str) -> Result<(), ApiError> {
        let redrive = Input::Redrive {
            client_token: Some(client_token.to_string()),
            window_ms: None,
        };
        match self
            .router
            .deliver(execution_arn.to_string(), redrive)
            .await
        {
            Ok(_) | Err(EngineError::NoSuchExecution(_)) => Ok(()),
            Err(e) => Err(engine_error(e)),
        }
    }

    /// Stop a running child (`ExecutionAborted`); a closed or unknown one stays as it is.
    pub async fn stop(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ApiError> {
        match self.record(execution_arn).await? {
            Some(r) if r.status == "RUNNING" => {
                let stop = Input::Stop { error, cause };
                match self.router.deliver(execution_arn.to_string(), stop).await {
                    Ok(_) | Err(EngineError::NoSuchExecution(_)) => Ok(()),
                    Err(e) => Err(engine_error(e)),
                }
            }
            _ => Ok(()),
        }
    }

    /// Resolve once the child has closed, with its record (None: no such execution).
    pub async fn closed(&self, execution_arn: &str) -> Result<Option<ExecutionRecord>, ApiError> {
        self.router
            .closed(execution_arn.to_string())
            .await
            .map_err(engine_error)?;
        self.record(execution_arn).await
    }

    /// The child's record as it is now (None: no such execution).
    pub async fn record(&self, execution_arn: &str) -> Result<Option<ExecutionRecord>, ApiError> {
        let key = execution_arn.to_string();
        on_store(&self.router.store, move |s| s.get_execution(&key))
            .await
            .map_err(engine_error)
    }

    /// What decides a child's `redriveStatus` in DescribeExecution-shaped answers, now.
    pub fn redrive_policy(&self) -> RedrivePolicy {
        RedrivePolicy::of_config(&self.config, now_ms())
    }

    /// The machine a child starts from (a version or alias ARN resolved as StartExecution
    /// resolves it), refused as StartExecution refuses it.
    async fn machine(&self, state_machine_arn: &str, name: &str) -> Result<StartTarget, ApiError> {
        machine_for_start(&self.router.store, None, state_machine_arn, name).await
    }
}

fn engine_error(e: EngineError) -> ApiError {
    if let EngineError::Store(e) = &e {
        tracing::error!(error = %e, "store call failed");
    }
    ApiError::internal_failure(e.to_string())
}
