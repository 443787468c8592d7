//! `cairn run` end to end: the real binary on real definition files in a temporary folder.
//! Each test checks the exit status, and what is printed on stdout (events, result) or
//! stderr (diagnostics).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, content).expect("write file");
        path
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn cairn_run(dir: &Dir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("run")
        .args(args)
        .current_dir(dir.path())
        // Keep the environment from choosing mocks, functions or scaling for us.
        .env_remove("SFN_MOCK_CONFIG")
        .env_remove("CAIRN_FUNCTIONS")
        .env_remove("WAIT_TIME_SCALE")
        .output()
        .expect("run cairn")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `--json` output: every line is a JSON value; events first, the result last.
fn json_lines(o: &Output) -> (Vec<Value>, Value) {
    let mut lines: Vec<Value> = stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let result = lines.pop().expect("a result line");
    (lines, result)
}

#[test]
fn a_succeeding_execution_prints_its_events_and_output_and_exits_0() {
    let dir = Dir::new();
    let file = dir.write(
        "hello.asl.json",
        &json!({"StartAt": "Greet", "States": {"Greet": {
            "Type": "Pass", "Parameters": {"greeting.$": "States.Format('hi {}', $.who)"},
            "End": true}}})
        .to_string(),
    );
    let out = cairn_run(
        &dir,
        &[file.to_str().unwrap(), "--input", r#"{"who":"ann"}"#],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    for event in [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ] {
        assert!(text.contains(event), "{event} missing:\n{text}");
    }
    // The machine is named after the file; the result closes the output.
    assert!(text.contains(":execution:hello:"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[lines.len() - 2], "SUCCEEDED");
    assert_eq!(lines[lines.len() - 1], r#"{"greeting":"hi ann"}"#);
}

#[test]
fn input_from_a_file_and_json_output_parse() {
    let dir = Dir::new();
    let file = dir.write(
        "echo.asl.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    );
    dir.write("in.json", r#"{"n": [1, 2, 3]}"#);
    let out = cairn_run(
        &dir,
        &[file.to_str().unwrap(), "--input", "@in.json", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (events, result) = json_lines(&out);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(result["status"], "SUCCEEDED");
    let output: Value = serde_json::from_str(result["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"n": [1, 2, 3]}));
}

#[test]
fn a_failing_execution_prints_error_and_cause_and_exits_1() {
    let dir = Dir::new();
    let file = dir.write(
        "boom.asl.json",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"it broke"}}}"#,
    );
    let out = cairn_run(&dir, &[file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ExecutionFailed"), "{text}");
    assert!(
        text.contains("\nFAILED\nerror: Oops\ncause: it broke\n"),
        "{text}"
    );

    let out = cairn_run(&dir, &[file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, result) = json_lines(&out);
    assert_eq!(
        (
            result["status"].as_str(),
            result["error"].as_str(),
            result["cause"].as_str()
        ),
        (Some("FAILED"), Some("Oops"), Some("it broke"))
    );
}

#[test]
fn a_bad_definition_exits_2_with_its_diagnostics_and_where_they_are() {
    let dir = Dir::new();
    let file = dir.write(
        "bad.asl.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}"#,
    );
    let out = cairn_run(&dir, &[file.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error MISSING_TRANSITION_TARGET at /States/A/Next"),
        "{err}"
    );
    assert!(err.contains("the definition is invalid"), "{err}");
    assert!(stdout(&out).is_empty(), "nothing ran: {}", stdout(&out));

    // Input that is not JSON, and a missing file, are refused the same way.
    let good = dir.write(
        "ok.asl.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    );
    let out = cairn_run(&dir, &[good.to_str().unwrap(), "--input", "{nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the input is not JSON"),
        "{}",
        stderr(&out)
    );
    let out = cairn_run(&dir, &["missing.asl.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read missing.asl.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mock_test_case_answers_the_task() {
    let dir = Dir::new();
    let file = dir.write(
        "orders.asl.json",
        &json!({"StartAt": "Charge", "States": {"Charge": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
            "OutputPath": "$.Payload", "End": true}}})
        .to_string(),
    );
    dir.write(
        "mocks.json",
        &json!({
            "StateMachines": {"orders": {"TestCases": {
                "Ok": {"Charge": "ChargeOk"},
                "Declined": {"Charge": "ChargeDeclined"}}}},
            "MockedResponses": {
                "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 10}}}},
                "ChargeDeclined": {"0": {"Throw": {"Error": "Payment.Declined", "Cause": "card declined"}}}
            }
        })
        .to_string(),
    );
    let f = file.to_str().unwrap();
    let out = cairn_run(
        &dir,
        &[
            f,
            "--mock-config",
            "mocks.json",
            "--test-case",
            "Ok",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (events, result) = json_lines(&out);
    assert!(events.iter().any(|e| e["type"] == "TaskSucceeded"));
    assert_eq!(result["output"], r#"{"charged":10}"#);

    let out = cairn_run(
        &dir,
        &[
            f,
            "--mock-config",
            "mocks.json",
            "--test-case",
            "Declined",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let (events, result) = json_lines(&out);
    assert!(events.iter().any(|e| e["type"] == "TaskFailed"));
    assert_eq!(result["error"], "Payment.Declined");
    assert_eq!(result["cause"], "card declined");
}

#[test]
fn an_activity_is_served_by_a_command() {
    let dir = Dir::new();
    let file = dir.write(
        "shout.asl.json",
        &json!({"StartAt": "Upper", "States": {
            "Upper": {"Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:activity:upper",
                "Next": "Check"},
            "Check": {"Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:activity:check",
                "End": true}}})
        .to_string(),
    );
    let f = file.to_str().unwrap();
    let out = cairn_run(
        &dir,
        &[
            f,
            "--input",
            r#"{"x":"hi"}"#,
            "--activity",
            "upper=tr a-z A-Z",
            "--activity",
            "check=cat >/dev/null; echo '{\"checked\":true}'",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (events, result) = json_lines(&out);
    let succeeded: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "ActivitySucceeded")
        .collect();
    assert_eq!(succeeded.len(), 2);
    assert_eq!(
        succeeded[0]["activitySucceededEventDetails"]["output"],
        r#"{"X":"HI"}"#
    );
    assert_eq!(result["output"], r#"{"checked":true}"#);

    // A command that exits non-zero fails the task with its error: exit status 1.
    let out = cairn_run(
        &dir,
        &[
            f,
            "--activity",
            "upper=cat",
            "--activity",
            "check=cat >/dev/null; echo '{\"error\":\"Check.Failed\",\"cause\":\"no\"}'; exit 3",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, result) = json_lines(&out);
    assert_eq!(result["error"], "Check.Failed");
    assert_eq!(result["cause"], "no");
}

#[test]
fn skip_time_finishes_a_one_year_wait_with_its_timestamps() {
    let dir = Dir::new();
    let year = 365 * 24 * 3600;
    let file = dir.write(
        "year.asl.json",
        &json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": year, "Next": "Done"},
            "Done": {"Type": "Succeed"}}})
        .to_string(),
    );
    let out = cairn_run(&dir, &[file.to_str().unwrap(), "--skip-time", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (events, result) = json_lines(&out);
    assert_eq!(result["status"], "SUCCEEDED");
    let at = |t: &str| {
        events.iter().find(|e| e["type"] == t).unwrap()["timestamp"]
            .as_f64()
            .unwrap()
    };
    let waited = at("WaitStateExited") - at("WaitStateEntered");
    assert!(
        (waited - year as f64).abs() < 1.0,
        "the Wait took {waited} s on the virtual clock"
    );
}

#[test]
fn skip_time_never_times_out_a_task_its_activity_command_is_working_on() {
    let dir = Dir::new();
    let task = |next: &str| {
        json!({"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:slow",
            "TimeoutSeconds": 60, "HeartbeatSeconds": 30, "Next": next})
    };
    let file = dir.write(
        "slow.asl.json",
        &json!({"StartAt": "One", "States": {
            "One": task("Two"),
            "Two": task("Later"),
            "Later": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
            "Done": {"Type": "Succeed"}}})
        .to_string(),
    );
    // The command takes real time; the clock must not jump past its timeouts meanwhile,
    // nor between the two tasks (before the worker polls again). The Wait is then skipped.
    let out = cairn_run(
        &dir,
        &[
            file.to_str().unwrap(),
            "--skip-time",
            "--activity",
            "slow=sleep 0.3; cat",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let (events, _) = json_lines(&out);
    assert!(!events.iter().any(|e| e["type"] == "ActivityTimedOut"));
    let first = events[0]["timestamp"].as_f64().unwrap();
    let last = events.last().unwrap()["timestamp"].as_f64().unwrap();
    assert!(last - first >= 86400.0, "{}", last - first);
}

#[test]
fn out_of_range_time_settings_are_refused_with_what_is_wrong() {
    // A NaN or infinite scale, or a lease of 1e300 seconds, used to panic in Duration.
    let dir = Dir::new();
    let def = dir.write(
        "m.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    );
    for scale in ["NaN", "inf", "-1", "1e300"] {
        let flag = format!("--wait-time-scale={scale}");
        let out = cairn_run(&dir, &[def.to_str().unwrap(), &flag]);
        assert_eq!(out.status.code(), Some(2), "{scale}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("'{scale}' is not a number from 0 to 1000")),
            "{}",
            stderr(&out)
        );
    }
    let db = dir.path().join("db.sqlite");
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--lease-ttl",
            "1e300",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--lease-ttl must be from 0.3 to 86400 seconds"),
        "{}",
        stderr(&out)
    );
}
