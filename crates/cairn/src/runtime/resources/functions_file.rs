//! The functions file (`cairn serve --functions FILE`, TOML or JSON): local stand-ins for
//! Lambda functions, by function name.
//!
//! ```toml
//! [functions.resize]                 # a command: event JSON on stdin, result JSON on stdout
//! command = ["python3", "resize.py"] # or a string, run with `sh -c`
//! cwd = "fns"                        # relative to the file; default: the file's directory
//! env = { SIZE = "64" }
//! timeout_seconds = 60
//!
//! [functions.greet]                  # an HTTP URL: the event is POSTed, the body is the result
//! url = "http://127.0.0.1:9000/greet"
//! ```
//! A command that exits non-zero, or prints `{"errorType": …, "errorMessage": …}`, raised a
//! function error.
//!
//! Must not: interpret the event or the result (they are the function's business).

use super::http_client::{self, HttpRequest};
use super::settings_file::load_document;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Where a function runs.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Command {
        /// argv; `["sh", "-c", line]` for a string command.
        argv: Vec<String>,
        cwd: PathBuf,
        env: Vec<(String, String)>,
    },
    Url(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Function {
    pub backend: Backend,
    pub timeout: Duration,
}

/// What a function did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FunctionResult {
    /// The return value (JSON text as the function produced it) and what the function
    /// logged (a command's stderr).
    Returned { payload: String, logs: String },
    /// A function error: `errorType` and the error payload (JSON text).
    Error { error_type: String, payload: String },
}

#[derive(Debug, Default)]
pub(crate) struct FunctionsFile {
    functions: HashMap<String, Function>,
}

impl FunctionsFile {
    pub(crate) fn load(path: &Path) -> anyhow::Result<FunctionsFile> {
        let doc = load_document(path)?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        FunctionsFile::from_document(&doc, &base).with_context(|| path.display().to_string())
    }

    /// The functions of a parsed file; relative `cwd`s are taken from `base`.
    pub(crate) fn from_document(doc: &Value, base: &Path) -> anyhow::Result<FunctionsFile> {
        let Some(table) = doc.get("functions").and_then(Value::as_object) else {
            bail!("expected a `functions` table");
        };
        let mut functions = HashMap::new();
        for (name, spec) in table {
            let f = parse_function(spec, base).with_context(|| format!("function '{name}'"))?;
            functions.insert(name.clone(), f);
        }
        Ok(FunctionsFile { functions })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Function> {
        self.functions.get(name)
    }
}

fn parse_function(spec: &Value, base: &Path) -> anyhow::Result<Function> {
    let timeout = match spec.get("timeout_seconds") {
        None => Duration::from_secs(60),
        // `try_from`: a number too big for a Duration (1e300) is refused, not a panic.
        Some(v) => v
            .as_f64()
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .context("timeout_seconds must be a positive number of seconds")?,
    };
    let backend = match (spec.get("command"), spec.get("url")) {
        (Some(_), Some(_)) => bail!("give either `command` or `url`, not both"),
        (None, Some(url)) => Backend::Url(url.as_str().context("url must be a string")?.into()),
        (Some(command), None) => {
            let argv = match command {
                Value::String(line) => vec!["sh".into(), "-c".into(), line.clone()],
                Value::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|s| s.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .context("command must be a string or a list of strings")?,
                _ => bail!("command must be a string or a non-empty list of strings"),
            };
            let cwd = match spec.get("cwd") {
                None => base.to_path_buf(),
                Some(v) => base.join(v.as_str().context("cwd must be a string")?),
            };
            let env = match spec.get("env") {
                None => Vec::new(),
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
                Some(_) => bail!("env must be a table of strings"),
            };
            Backend::Command { argv, cwd, env }
        }
        (None, None) => bail!("give `command` or `url`"),
    };
    Ok(Function { backend, timeout })
}

/// Run the function on this event (JSON text). `traceparent` (the task's trace context) is
/// passed on as the `TRACEPARENT` environment variable of a command, the `traceparent`
/// header of a URL.
pub(crate) async fn call(
    f: &Function,
    event: &str,
    request_id: &str,
    traceparent: Option<&str>,
) -> FunctionResult {
    match &f.backend {
        Backend::Command { argv, cwd, env } => {
            let mut env = env.clone();
            if let Some(tp) = traceparent {
                env.push(("TRACEPARENT".into(), tp.into()));
            }
            run_command(argv, cwd, &env, event, f.timeout, request_id).await
        }
        Backend::Url(url) => call_url(url, event, f.timeout, request_id, traceparent).await,
    }
}

async fn run_command(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    event: &str,
    timeout: Duration,
    request_id: &str,
) -> FunctionResult {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_REQUEST_ID", request_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return error(
                "Runtime.InvalidEntrypoint",
                &format!("cannot start {:?}: {e}", argv[0]),
                request_id,
                Vec::new(),
            )
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let event = event.as_bytes().to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&event).await;
        });
    }
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return error("Runtime.ExitError", &e.to_string(), request_id, Vec::new()),
        Err(_) => {
            return error(
                "Sandbox.Timedout",
                &format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                request_id,
                Vec::new(),
            )
        }
    };
    let stderr_tail: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(str::to_string)
        .collect();
    if !out.status.success() {
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".into(),
        };
        return error(
            "Runtime.ExitError",
            &format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
            request_id,
            stderr_tail,
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = stdout.trim();
    if text.is_empty() {
        return FunctionResult::Returned {
            payload: "null".into(),
            logs: stderr_text(&out.stderr),
        };
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => match error_object(&v) {
            Some((ty, msg)) => {
                let trace = match v.get("stackTrace") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string))
                        .collect(),
                    _ => stderr_tail,
                };
                error(&ty, &msg, request_id, trace)
            }
            None => FunctionResult::Returned {
                payload: text.to_string(),
                logs: stderr_text(&out.stderr),
            },
        },
        Err(e) => error(
            "Runtime.InvalidResponse",
            &format!("the function's output is not JSON ({e})"),
            request_id,
            stderr_tail,
        ),
    }
}

fn stderr_text(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).into_owned()
}

/// A URL function's result (it has no logs to give).
fn returned(payload: String) -> FunctionResult {
    FunctionResult::Returned {
        payload,
        logs: String::new(),
    }
}

/// `{"errorType": …, "errorMessage": …}` printed by a function.
fn error_object(v: &Value) -> Option<(String, String)> {
    let o = v.as_object()?;
    let ty = o.get("errorType")?.as_str()?;
    let msg = match o.get("errorMessage") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return None,
    };
    Some((ty.to_string(), msg))
}

/// A function error as Lambda's runtimes report it.
fn error(ty: &str, message: &str, request_id: &str, trace: Vec<String>) -> FunctionResult {
    let payload = json!({
        "errorMessage": message,
        "errorType": ty,
        "requestId": request_id,
        "stackTrace": trace,
    });
    FunctionResult::Error {
        error_type: ty.to_string(),
        payload: payload.to_string(),
    }
}

async fn call_url(
    url: &str,
    event: &str,
    timeout: Duration,
    request_id: &str,
    traceparent: Option<&str>,
) -> FunctionResult {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-amz-request-id".to_string(), request_id.to_string()),
    ];
    if let Some(tp) = traceparent {
        headers.push(("traceparent".into(), tp.into()));
    }
    let request = HttpRequest {
        method: "POST".into(),
        url: url.to_string(),
        headers,
        body: event.as_bytes().to_vec(),
    };
    match http_client::send(request, timeout).await {
        Ok(r) => {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let parsed = serde_json::from_str::<Value>(&body).ok();
            if r.status >= 300 || r.header("x-amz-function-error").is_some() {
                match parsed.as_ref().and_then(error_object) {
                    Some((ty, _)) => FunctionResult::Error {
                        error_type: ty,
                        payload: body,
                    },
                    None => error(
                        "Unhandled",
                        &format!("{url} answered {} {}: {body}", r.status, r.status_text),
                        request_id,
                        Vec::new(),
                    ),
                }
            } else if body.trim().is_empty() {
                returned("null".into())
            } else if parsed.is_some() {
                returned(body)
            } else {
                returned(Value::String(body).to_string())
            }
        }
        Err(e) => error(
            "Runtime.Unavailable",
            &e.to_string(),
            request_id,
            Vec::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn toml_and_json_agree() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("f.toml");
        std::fs::write(
            &toml,
            "[functions.a]\ncommand = \"cat\"\nenv = { X = \"1\" }\ntimeout_seconds = 5\n\
             [functions.b]\nurl = \"http://127.0.0.1:1/b\"\n",
        )
        .unwrap();
        let f = FunctionsFile::load(&toml).unwrap();
        match &f.get("a").unwrap().backend {
            Backend::Command { argv, env, cwd } => {
                assert_eq!(argv, &["sh", "-c", "cat"]);
                assert_eq!(env, &[("X".to_string(), "1".to_string())]);
                assert_eq!(cwd, dir.path());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.get("a").unwrap().timeout, Duration::from_secs(5));
        assert!(matches!(&f.get("b").unwrap().backend, Backend::Url(u) if u.ends_with("/b")));
        let json = dir.path().join("f.json");
        std::fs::write(&json, r#"{"functions": {"a": {"command": ["cat"]}}}"#).unwrap();
        let f = FunctionsFile::load(&json).unwrap();
        assert!(
            matches!(&f.get("a").unwrap().backend, Backend::Command { argv, .. } if argv == &["cat"])
        );
        std::fs::write(&json, r#"{"functions": {"a": {}}}"#).unwrap();
        assert!(FunctionsFile::load(&json).is_err());
    }

    #[test]
    fn a_timeout_too_big_for_a_duration_is_refused() {
        for t in [json!(1e300), json!(-1), json!(0), json!("5")] {
            let doc = json!({"functions": {"a": {"command": "true", "timeout_seconds": t}}});
            let err = FunctionsFile::from_document(&doc, Path::new("/")).unwrap_err();
            assert!(
                format!("{err:#}").contains("timeout_seconds"),
                "{t}: {err:#}"
            );
        }
    }
}
