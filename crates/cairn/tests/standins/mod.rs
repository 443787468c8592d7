//! Small in-test stand-ins for AWS services whose `.sync` jobs Cairn polls, where moto falls
//! short (included with `mod standins;`): each serves the service's own wire protocol on
//! 127.0.0.1, counts submissions, lets the test end a job, and records stop calls. Has no
//! tests of its own.

#![allow(dead_code)]

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// When a job ends by itself.
#[derive(Clone, Copy, Debug)]
pub enum Ending {
    /// It runs until the test ends it or it is stopped.
    Never,
    /// It has ended (with this exit code / success) when described for the `polls`-th time.
    AfterPolls { polls: u32, exit_code: i64 },
}

#[derive(Default)]
struct Jobs {
    /// One entry per submission, in order.
    jobs: Vec<Value>,
    /// The submission requests, in order.
    requests: Vec<Value>,
    /// Describe calls per job.
    polls: Vec<u32>,
    /// The bodies of the stop calls.
    stops: Vec<Value>,
}

/// An ECS stand-in (AWS JSON 1.1, `AmazonEC2ContainerServiceV20141113.*`): RunTask starts one
/// task per call, DescribeTasks answers it, StopTask stops it (exit code 143 and the reason).
#[derive(Clone)]
pub struct Ecs {
    pub url: String,
    jobs: Arc<Mutex<Jobs>>,
}

const ACCOUNT: &str = "123456789012";

impl Ecs {
    pub async fn start(ending: Ending) -> Ecs {
        let (url, jobs) = json11_standin(ending, ecs_answer).await;
        Ecs { url, jobs }
    }

    /// How many RunTask calls were made.
    pub fn submissions(&self) -> usize {
        self.jobs.lock().unwrap().jobs.len()
    }

    /// How many DescribeTasks answers were given, for all tasks.
    pub fn polls(&self) -> u32 {
        self.jobs.lock().unwrap().polls.iter().sum()
    }

    /// The RunTask bodies received.
    pub fn run_task_bodies(&self) -> Vec<Value> {
        self.jobs.lock().unwrap().requests.clone()
    }

    /// The StopTask bodies received.
    pub fn stops(&self) -> Vec<Value> {
        self.jobs.lock().unwrap().stops.clone()
    }

    /// The tasks as DescribeTasks shows them now.
    pub fn tasks(&self) -> Vec<Value> {
        self.jobs.lock().unwrap().jobs.clone()
    }

    /// End every running task: its container exits with `exit_code`.
    pub fn finish_all(&self, exit_code: i64) {
        let mut j = self.jobs.lock().unwrap();
        for task in j.jobs.iter_mut() {
            if task["lastStatus"] != "STOPPED" {
                stop_ecs_task(task, exit_code, "Essential container in task exited");
            }
        }
    }
}

fn stop_ecs_task(task: &mut Value, exit_code: i64, reason: &str) {
    task["lastStatus"] = json!("STOPPED");
    task["desiredStatus"] = json!("STOPPED");
    task["stoppedReason"] = json!(reason);
    task["stopCode"] = json!(if exit_code == 143 {
        "UserInitiated"
    } else {
        "EssentialContainerExited"
    });
    task["stoppedAt"] = json!(1_700_000_100.0);
    for c in task["containers"].as_array_mut().unwrap() {
        c["lastStatus"] = json!("STOPPED");
        c["exitCode"] = json!(exit_code);
    }
}

fn ecs_answer(state: &Mutex<Jobs>, ending: Ending, op: &str, body: &Value) -> (StatusCode, Value) {
    let mut j = state.lock().unwrap();
    let find = |j: &Jobs, arn: &Value| j.jobs.iter().position(|t| &t["taskArn"] == arn);
    match op {
        "RunTask" => {
            let Some(definition) = body["taskDefinition"].as_str() else {
                return (
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "ClientException", "message": "TaskDefinition can not be blank."}),
                );
            };
            let cluster = body["cluster"].as_str().unwrap_or("default");
            let n = j.jobs.len() + 1;
            let task = json!({
                "taskArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/{cluster}/t{n}"),
                "clusterArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{cluster}"),
                "taskDefinitionArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{definition}"),
                "lastStatus": "PROVISIONING",
                "desiredStatus": "RUNNING",
                "launchType": body["launchType"].as_str().unwrap_or("FARGATE"),
                "createdAt": 1_700_000_000.0,
                "containers": [{"name": "app", "lastStatus": "PENDING"}],
            });
            j.jobs.push(task.clone());
            j.requests.push(body.clone());
            j.polls.push(0);
            (StatusCode::OK, json!({"tasks": [task], "failures": []}))
        }
        "DescribeTasks" => {
            let mut tasks = Vec::new();
            let mut failures = Vec::new();
            for arn in body["tasks"].as_array().cloned().unwrap_or_default() {
                let Some(i) = find(&j, &arn) else {
                    failures.push(json!({"arn": arn, "reason": "MISSING"}));
                    continue;
                };
                j.polls[i] += 1;
                let polls = j.polls[i];
                let task = &mut j.jobs[i];
                if task["lastStatus"] == "PROVISIONING" {
                    task["lastStatus"] = json!("RUNNING");
                    task["containers"][0]["lastStatus"] = json!("RUNNING");
                }
                if let Ending::AfterPolls {
                    polls: p,
                    exit_code,
                } = ending
                {
                    if polls >= p && task["lastStatus"] != "STOPPED" {
                        stop_ecs_task(task, exit_code, "Essential container in task exited");
                    }
                }
                tasks.push(task.clone());
            }
            (
                StatusCode::OK,
                json!({"tasks": tasks, "failures": failures}),
            )
        }
        "StopTask" => {
            j.stops.push(body.clone());
            let Some(i) = find(&j, &body["task"]) else {
                return (
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "InvalidParameterException", "message": "The referenced task was not found."}),
                );
            };
            let reason = body["reason"]
                .as_str()
                .unwrap_or("Task stopped by user")
                .to_string();
            let task = &mut j.jobs[i];
            stop_ecs_task(task, 143, &reason);
            (StatusCode::OK, json!({"task": task.clone()}))
        }
        _ => (
            StatusCode::BAD_REQUEST,
            json!({"__type": "UnknownOperationException", "message": format!("{op} is not served by this stand-in")}),
        ),
    }
}

/// A SageMaker stand-in (AWS JSON 1.1, `SageMaker.*`) for every job kind: `Create<Kind>`
/// starts a job `InProgress`, `Describe<Kind>` answers it (with `<Kind>Status`), `Stop<Kind>`
/// stops it (`Stopped`). [`Ending::AfterPolls`] ends a job `Completed` (exit code 0) or
/// `Failed` (any other).
#[derive(Clone)]
pub struct SageMaker {
    pub url: String,
    jobs: Arc<Mutex<Jobs>>,
}

impl SageMaker {
    pub async fn start(ending: Ending) -> SageMaker {
        let (url, jobs) = json11_standin(ending, sagemaker_answer).await;
        SageMaker { url, jobs }
    }

    pub fn submissions(&self) -> usize {
        self.jobs.lock().unwrap().jobs.len()
    }

    /// The `Stop<Kind>` calls: (operation, body).
    pub fn stops(&self) -> Vec<Value> {
        self.jobs.lock().unwrap().stops.clone()
    }
}

fn sagemaker_answer(
    state: &Mutex<Jobs>,
    ending: Ending,
    op: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let mut j = state.lock().unwrap();
    let kind = ["Create", "Describe", "Stop"]
        .iter()
        .find_map(|p| op.strip_prefix(p))
        .unwrap_or("")
        .to_string();
    let name = body[format!("{kind}Name")]
        .as_str()
        .unwrap_or("")
        .to_string();
    let status_key = format!("{kind}Status");
    let snake = kind
        .chars()
        .flat_map(|c| {
            let lower = c.to_ascii_lowercase();
            if c.is_ascii_uppercase() {
                vec!['-', lower]
            } else {
                vec![c]
            }
        })
        .skip(1)
        .collect::<String>();
    let arn = format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:{snake}/{name}");
    let find = |j: &Jobs| j.jobs.iter().position(|t| t["name"] == name.as_str());
    let not_found = || {
        (
            StatusCode::BAD_REQUEST,
            json!({"__type": "ValidationException", "message": format!("Requested resource not found: {name}")}),
        )
    };
    if op.starts_with("Create") {
        j.jobs
            .push(json!({"name": name, "kind": kind, "status": "InProgress"}));
        j.requests.push(body.clone());
        j.polls.push(0);
        return (StatusCode::OK, json!({ format!("{kind}Arn"): arn }));
    }
    let Some(i) = find(&j) else {
        return not_found();
    };
    if op.starts_with("Stop") {
        j.stops.push(json!({"operation": op, "body": body}));
        j.jobs[i]["status"] = json!("Stopped");
        return (StatusCode::OK, json!({}));
    }
    j.polls[i] += 1;
    if let Ending::AfterPolls { polls, exit_code } = ending {
        if j.polls[i] >= polls && j.jobs[i]["status"] == "InProgress" {
            j.jobs[i]["status"] = json!(if exit_code == 0 {
                "Completed"
            } else {
                "Failed"
            });
        }
    }
    let status = j.jobs[i]["status"].clone();
    let mut answer = json!({
        format!("{kind}Name"): name,
        format!("{kind}Arn"): arn,
        status_key: status,
        "CreationTime": 1_700_000_000.0,
    });
    if status == "Failed" {
        answer["FailureReason"] = json!("AlgorithmError: the job exited with code 1");
    }
    (StatusCode::OK, answer)
}

/// Serve `app` on a free 127.0.0.1 port for the rest of the test: its URL.
/// A JSON 1.1 stand-in on 127.0.0.1: each `POST /` is answered by `answer` with the
/// operation named in `X-Amz-Target` and the request body. Returns its URL and its jobs.
async fn json11_standin(
    ending: Ending,
    answer: fn(&Mutex<Jobs>, Ending, &str, &Value) -> (StatusCode, Value),
) -> (String, Arc<Mutex<Jobs>>) {
    let jobs = Arc::new(Mutex::new(Jobs::default()));
    let state = jobs.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let op = target.rsplit('.').next().unwrap_or("");
                let (status, answer) = answer(&state, ending, op, &body);
                (
                    status,
                    [("content-type", "application/x-amz-json-1.1")],
                    answer.to_string(),
                )
            }
        }),
    );
    (serve(app).await, jobs)
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}
