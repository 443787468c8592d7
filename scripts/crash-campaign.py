"""Crash campaign: SIGKILL a real `cairn serve` (SQLite) under a mixed load, again and again.

Run through `scripts/crash-campaign` (it picks a Python with boto3). What it does:

1. starts `cairn serve` on a fresh SQLite database, 127.0.0.1, a free port; or, with
   `--postgres`, three `cairn serve` nodes (`--lease-ttl 2`) on a fresh schema of one real
   PostgreSQL server (`--postgres-url`, else $CAIRN_TEST_POSTGRES_URL, else a throwaway server
   started with scripts/postgres-test-server inside the work directory and stopped at the end);
2. drives a mixed load with boto3: activities answered by its own worker threads (with
   heartbeats, a deliberate first-attempt failure, Retry), Wait states, a retried Parallel that
   ends FAILED, an inline Map, `lambda:invoke.waitForTaskToken` callbacks (the "function" is a
   URL served by this script, which then answers the token), and nested
   `states:startExecution.sync:2` executions;
3. SIGKILLs the server at random moments (`--kills N`, seeded by `--seed`) and restarts it on the
   same database and port; with `--postgres`, a random node each time, restarted (same port and
   node id) after a random pause of up to `--max-down` seconds, long enough at times for the
   others to take its partitions over. Clients are spread over the nodes, and a call that gets
   no answer (connection refused or cut, a 5xx) is repeated on the next node, as a client of a
   cluster behind a list of addresses does; a StartExecution is repeated with the same name
   and input (idempotent), so every start ends acknowledged or refused;
4. after the last restart it stops starting executions, waits (bounded) for every execution to
   close, then checks:
   - every acknowledged StartExecution (HTTP 200) exists and finished with the expected status;
   - a start that was refused with an AWS error does not exist; a start whose answer was lost
     (connection dropped) may exist, and then it is checked like the acknowledged ones;
   - every history: ids 1..n consecutive, previousEventId in [0, id), one ExecutionStarted
     (first), one terminal event (last);
   - activities: each ActivityScheduled is closed exactly once; an attempt closed by anything
     but ActivitySucceeded is either a timeout or the deliberate `Flaky` failure; a first
     attempt the workers deliberately drop (a dead worker) closes by its heartbeat timeout; every
     ActivitySucceeded carries a nonce a worker sent, no nonce appears twice, and every answer
     SendTaskSuccess acknowledged appears in a history;
   - callbacks: every acknowledged SendTaskSuccess appears in its execution's history;
   - nested: every parent that reached its child step has exactly one child, which SUCCEEDED.

Prints a summary; exits 1 on any violation (the work directory with the server logs is kept),
2 when the campaign itself could not run. Stops every process it started, by pid.
"""

import argparse
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.exceptions
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROLE = "arn:aws:iam::123456789012:role/crash-campaign"
TERMINAL = {
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionAborted",
    "ExecutionTimedOut",
}
# Answers that say a task token is no longer open: the answer is final, do not repeat it.
CLOSED_TOKEN = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(msg):
    print(f"[crash-campaign {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Server:
    """One `cairn serve` process at a time, on a fixed database and port."""

    def __init__(self, binary, database, port, logdir, name="server", extra=()):
        self.binary, self.database, self.port, self.logdir = binary, database, port, logdir
        self.name, self.extra = name, list(extra)
        self.proc = None
        self.starts = 0

    def start(self, timeout=60):
        self.starts += 1
        logf = open(os.path.join(self.logdir, f"{self.name}-{self.starts}.log"), "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--database", self.database]
            + self.extra,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn")),
        )
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cairn serve exited with {self.proc.returncode} (see {logf.name})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cairn serve did not come up")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.proc = None


class Nodes:
    """A client per node and the one in use; `next` moves on (round robin)."""

    def __init__(self, clients, first=0):
        self.clients = clients
        self.i = first % len(clients)

    @property
    def current(self):
        return self.clients[self.i]

    def next(self):
        self.i = (self.i + 1) % len(self.clients)


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.endpoints = []  # one per node
        self.lock = threading.Lock()
        self.stop_load = threading.Event()
        self.stop_all = threading.Event()
        # name -> {"kind", "machine", "arn" or None, "state": acked|lost|refused}
        self.starts = {}
        self.worker_sent = set()  # nonces sent in SendTaskSuccess (activities)
        self.worker_acked = {}  # nonce -> execution name (SendTaskSuccess answered 200)
        self.tasks_received = 0
        self.task_answer_outcomes = {}
        self.callback_tokens = []  # (token, execution name) to answer
        self.callback_cond = threading.Condition()
        self.callback_seen = set()
        self.callback_acked = {}  # nonce -> execution name
        self.violations = []
        self.lost_but_started = 0
        self.abandoned = set()  # execution names whose first attempt a worker dropped
        self.retries = {}  # what a client of the cluster had to repeat, by kind

    # ---- clients ---------------------------------------------------------------------
    def client(self, read_timeout=10, node=0):
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoints[node % len(self.endpoints)],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=2,
                read_timeout=read_timeout,
            ),
        )

    def nodes(self, first=0, read_timeout=10):
        return Nodes([self.client(read_timeout, i) for i in range(len(self.endpoints))], first)

    def until_answered(self, nodes, call):
        """Repeat `call(client)` across server restarts until it gets an HTTP answer (or we
        stop); a call that gets none, or a 5xx, is repeated on the next node."""
        deadline = time.monotonic() + 120
        while not self.stop_all.is_set() and time.monotonic() < deadline:
            try:
                return call(nodes.current), None
            except ClientError as e:
                code = e.response["Error"]["Code"]
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in ("ThrottlingException", "ServiceUnavailable") or status >= 500:
                    if status >= 500:
                        nodes.next()
                    time.sleep(0.2)
                    continue
                return None, code
            except (BotoCoreError, OSError):
                nodes.next()
                time.sleep(0.1)
        return None, "gave-up"

    # ---- the callback "function": a URL the server POSTs the event to ------------------
    def start_function_server(self):
        campaign = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = json.loads(body)
                    with campaign.callback_cond:
                        campaign.callback_tokens.append((event["token"], event["id"]))
                        campaign.callback_cond.notify()
                except (ValueError, KeyError):
                    pass
                out = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.fn_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.fn_server.daemon_threads = True
        threading.Thread(target=self.fn_server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.fn_server.server_address[1]}/callback"

    def callback_answerer(self, index):
        nodes = self.nodes(first=index)
        while not self.stop_all.is_set():
            with self.callback_cond:
                while not self.callback_tokens and not self.stop_all.is_set():
                    self.callback_cond.wait(0.5)
                if self.stop_all.is_set():
                    return
                token, name = self.callback_tokens.pop(0)
                if token in self.callback_seen:
                    continue
                self.callback_seen.add(token)
            nonce = uuid.uuid4().hex
            output = json.dumps({"callback": nonce})
            _, err = self.until_answered(nodes, lambda c: c.send_task_success(taskToken=token, output=output))
            if err is None:
                with self.lock:
                    self.callback_acked[nonce] = name

    # ---- activity workers ------------------------------------------------------------
    def activity_worker(self, activity_arn, index):
        nodes = self.nodes(first=index, read_timeout=70)
        while not self.stop_all.is_set():
            try:
                task = nodes.current.get_activity_task(activityArn=activity_arn, workerName="crash-campaign")
            except (ClientError, BotoCoreError, OSError):
                nodes.next()
                time.sleep(0.1)
                continue
            token = task.get("taskToken")
            if not token:
                continue
            with self.lock:
                self.tasks_received += 1
            event = json.loads(task["input"])
            closed = False
            for _ in range(2):
                time.sleep(self.rng.uniform(0.05, 0.3))
                _, err = self.until_answered(nodes, lambda c: c.send_task_heartbeat(taskToken=token))
                if err is not None:
                    closed = True
                    break
            if closed:
                self.record_outcome("heartbeat-refused")
                continue
            if event.get("retry") == 0 and zlib.crc32(event["id"].encode()) % 7 == 1:
                # A worker that dies holding its task: never answered, so the attempt must
                # close by its heartbeat timeout, and the state's Retry starts another.
                with self.lock:
                    self.abandoned.add(event["id"])
                self.record_outcome("abandoned")
                continue
            if event.get("retry") == 0 and zlib.crc32(event["id"].encode()) % 3 == 0:
                # A deliberate failure on the first attempt, caught by the state's Retry.
                _, err = self.until_answered(
                    nodes, lambda c: c.send_task_failure(taskToken=token, error="Flaky", cause="first attempt")
                )
                self.record_outcome("failure-acked" if err is None else f"failure-{err}")
                continue
            nonce = uuid.uuid4().hex
            with self.lock:
                self.worker_sent.add(nonce)
            output = json.dumps({"nonce": nonce})
            _, err = self.until_answered(nodes, lambda c: c.send_task_success(taskToken=token, output=output))
            if err is None:
                with self.lock:
                    self.worker_acked[nonce] = event["id"]
                self.record_outcome("success-acked")
            else:
                self.record_outcome(f"success-{err}")

    def record_outcome(self, what):
        with self.lock:
            self.task_answer_outcomes[what] = self.task_answer_outcomes.get(what, 0) + 1

    # ---- load ------------------------------------------------------------------------
    def setup(self, callback_url):
        sfn = self.client()
        self.activity = sfn.create_activity(name="cc-work")["activityArn"]
        # The callback function is a URL; cairn reads the functions file at start.
        machines = {}

        def create(name, definition):
            machines[name] = sfn.create_state_machine(
                name=name, roleArn=ROLE, definition=json.dumps(definition)
            )["stateMachineArn"]

        create(
            "cc-activity",
            {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": self.activity,
                        "HeartbeatSeconds": 5,
                        "TimeoutSeconds": 30,
                        "Parameters": {"id.$": "$$.Execution.Name", "retry.$": "$$.State.RetryCount"},
                        "Retry": [
                            {"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2},
                            {"ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1},
                        ],
                        "End": True,
                    }
                },
            },
        )
        create(
            "cc-wait",
            {
                "StartAt": "W",
                "States": {
                    "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
                    "P": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": True},
                },
            },
        )
        create(
            "cc-retry",
            {
                "StartAt": "Par",
                "States": {
                    "Par": {
                        "Type": "Parallel",
                        "End": True,
                        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                        "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}],
                    }
                },
            },
        )
        create(
            "cc-map",
            {
                "StartAt": "M",
                "States": {
                    "M": {
                        "Type": "Map",
                        "ItemsPath": "$.items",
                        "MaxConcurrency": 4,
                        "End": True,
                        "ItemProcessor": {
                            "StartAt": "IW",
                            "States": {
                                "IW": {"Type": "Wait", "Seconds": 1, "Next": "IP"},
                                "IP": {"Type": "Pass", "End": True},
                            },
                        },
                    }
                },
            },
        )
        create(
            "cc-callback",
            {
                "StartAt": "Cb",
                "States": {
                    "Cb": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {
                            "FunctionName": "cc-callback",
                            "Payload": {"token.$": "$$.Task.Token", "id.$": "$$.Execution.Name"},
                        },
                        "TimeoutSeconds": 20,
                        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 1}],
                        "End": True,
                    }
                },
            },
        )
        create(
            "cc-child",
            {
                "StartAt": "W",
                "States": {
                    "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
                    "P": {"Type": "Pass", "End": True},
                },
            },
        )
        create(
            "cc-parent",
            {
                "StartAt": "Child",
                "States": {
                    "Child": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {
                            "StateMachineArn": machines["cc-child"],
                            "Input": {
                                "parent.$": "$$.Execution.Name",
                                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                            },
                        },
                        "End": True,
                    }
                },
            },
        )
        self.machines = machines

    KINDS = ["cc-activity", "cc-wait", "cc-retry", "cc-map", "cc-callback", "cc-parent"]

    def expected(self, kind):
        return ("FAILED", "Boom") if kind == "cc-retry" else ("SUCCEEDED", None)

    def load(self):
        nodes = self.nodes()
        rng = random.Random(self.args.seed + 1)
        cluster = len(self.endpoints) > 1
        n = 0
        while not self.stop_load.is_set():
            if len(self.starts) >= self.args.max_executions:
                time.sleep(0.1)
                continue
            kind = rng.choice(self.KINDS)
            n += 1
            name = f"{kind}-{n}"
            payload = json.dumps({"items": list(range(6))} if kind == "cc-map" else {"n": n})
            entry = {"kind": kind, "arn": None}
            if cluster:
                nodes.next()  # starts spread over the nodes
            deadline = time.monotonic() + 60
            lost = False
            while True:
                try:
                    entry["arn"] = nodes.current.start_execution(
                        stateMachineArn=self.machines[kind], name=name, input=payload
                    )["executionArn"]
                    entry["state"] = "acked"
                except ClientError as e:
                    code = e.response["Error"]["Code"]
                    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                    if cluster and status >= 500 and time.monotonic() < deadline:
                        nodes.next()
                        self.count("start-5xx-retried")
                        time.sleep(0.1)
                        continue
                    # After a lost answer, ExecutionAlreadyExists means the first try started
                    # it (and it closed since): the start counts as lost, not refused.
                    entry["state"] = "lost" if lost and code == "ExecutionAlreadyExists" else "refused"
                    entry["error"] = code
                except (BotoCoreError, OSError) as e:
                    # Connection refused or cut, or no answer in time. On a cluster the same
                    # start (same name and input: idempotent) is repeated on the next node.
                    lost = lost or not isinstance(e, botocore.exceptions.EndpointConnectionError)
                    entry["state"] = "lost" if lost else "unsent"
                    if cluster and time.monotonic() < deadline:
                        nodes.next()
                        self.count("start-retried-on-next-node")
                        time.sleep(0.1)
                        continue
                break
            if cluster and entry["state"] == "acked" and lost:
                self.count("start-answer-lost-then-acked")
            with self.lock:
                self.starts[name] = entry
            if entry["state"] != "acked":
                time.sleep(0.05)
            time.sleep(1.0 / self.args.rate)

    def count(self, what):
        with self.lock:
            self.retries[what] = self.retries.get(what, 0) + 1

    # ---- checks ----------------------------------------------------------------------
    def violation(self, msg):
        self.violations.append(msg)

    def history(self, sfn, arn):
        events, token = [], None
        while True:
            kw = {"executionArn": arn, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            page = sfn.get_execution_history(**kw)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def check_history(self, name, events):
        ids = [e["id"] for e in events]
        if ids != list(range(1, len(ids) + 1)):
            self.violation(f"{name}: event ids are not 1..n: {ids[:50]}")
        for e in events:
            prev = e.get("previousEventId", 0)
            if not (0 <= prev < e["id"]):
                self.violation(f"{name}: event {e['id']} ({e['type']}) has previousEventId {prev}")
        types = [e["type"] for e in events]
        if types.count("ExecutionStarted") != 1 or types[0] != "ExecutionStarted":
            self.violation(f"{name}: ExecutionStarted not once and first: {types[:10]}")
        terminal = [t for t in types if t in TERMINAL]
        if len(terminal) != 1 or types[-1] not in TERMINAL:
            self.violation(f"{name}: terminal events {terminal}, last event {types[-1]}")

    def check_activities(self, name, events, seen_nonces):
        open_attempt = False
        closes = []
        for e in events:
            t = e["type"]
            if t == "ActivityScheduled":
                if open_attempt:
                    self.violation(f"{name}: ActivityScheduled {e['id']} while an attempt is open")
                open_attempt = True
            elif t in ("ActivitySucceeded", "ActivityFailed", "ActivityTimedOut", "ActivityScheduleFailed"):
                if not open_attempt:
                    self.violation(f"{name}: {t} {e['id']} closes no open attempt")
                open_attempt = False
                closes.append(e)
        if open_attempt:
            self.violation(f"{name}: an activity attempt was never closed")
        for e in closes[:-1]:
            t = e["type"]
            if t == "ActivityFailed" and e["activityFailedEventDetails"].get("error") != "Flaky":
                self.violation(f"{name}: earlier attempt failed unexpectedly: {e}")
            elif t not in ("ActivityTimedOut", "ActivityFailed"):
                self.violation(f"{name}: earlier attempt closed by {t} (event {e['id']})")
        for e in closes:
            if e["type"] == "ActivitySucceeded":
                nonce = json.loads(e["activitySucceededEventDetails"]["output"]).get("nonce")
                if nonce not in self.worker_sent:
                    self.violation(f"{name}: ActivitySucceeded {e['id']} with an output no worker sent")
                if nonce in seen_nonces:
                    self.violation(f"{name}: answer {nonce} recorded twice")
                seen_nonces[nonce] = name
        if name in self.abandoned and (len(closes) < 2 or closes[0]["type"] != "ActivityTimedOut"):
            self.violation(f"{name}: the dropped first attempt did not time out: {[e['type'] for e in closes]}")
        if closes and closes[-1]["type"] != "ActivitySucceeded":
            self.violation(f"{name}: last activity attempt closed by {closes[-1]['type']}")
        return len(closes)

    def check(self):
        sfn = self.client(read_timeout=30)
        deadline = time.monotonic() + self.args.drain_seconds
        names = sorted(self.starts)
        described = {}
        for name in names:
            entry = self.starts[name]
            arn = entry["arn"] or f"{self.machines[entry['kind']].replace(':stateMachine:', ':execution:')}:{name}"
            while True:
                try:
                    d = sfn.describe_execution(executionArn=arn)
                except ClientError as e:
                    if e.response["Error"]["Code"] == "ExecutionDoesNotExist" and entry["state"] != "acked":
                        d = None
                        break
                    self.violation(f"{name}: DescribeExecution: {e}")
                    d = None
                    break
                if d["status"] != "RUNNING" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if d is None:
                continue
            if entry["state"] == "lost":
                self.lost_but_started += 1
            if entry["state"] == "refused":
                self.violation(f"{name}: StartExecution was refused ({entry['error']}) yet it exists")
            if entry["state"] == "unsent":
                self.violation(f"{name}: StartExecution never reached a server (connection refused) yet it exists")
            described[name] = (arn, d)

        seen_nonces = {}
        activity_attempts = 0
        histories = {}
        stats = {"SUCCEEDED": 0, "FAILED": 0, "other": 0}
        for name, (arn, d) in described.items():
            kind = self.starts[name]["kind"]
            status, error = self.expected(kind)
            if d["status"] == "RUNNING":
                self.violation(f"{name}: still RUNNING {self.args.drain_seconds}s after the last restart")
                stats["other"] += 1
                continue
            stats[d["status"] if d["status"] in stats else "other"] += 1
            if d["status"] != status or (error and d.get("error") != error):
                self.violation(f"{name}: {d['status']} {d.get('error')} {d.get('cause')}, expected {status} {error or ''}")
            events = self.history(sfn, arn)
            histories[name] = events
            self.check_history(name, events)
            if kind == "cc-activity":
                activity_attempts += self.check_activities(name, events, seen_nonces)
        for nonce, name in self.worker_acked.items():
            if seen_nonces.get(nonce) != name:
                self.violation(f"{name}: an acknowledged SendTaskSuccess ({nonce}) is not in its history")
        for nonce, name in self.callback_acked.items():
            events = histories.get(name, [])
            outs = [
                json.loads(e["taskSucceededEventDetails"]["output"]).get("callback")
                for e in events
                if e["type"] == "TaskSucceeded"
            ]
            if nonce not in outs:
                self.violation(f"{name}: an acknowledged callback answer ({nonce}) is not in its history")
        # Nested: each parent that reached its Task started exactly one child, and it succeeded.
        children = {}
        child_machine = self.machines["cc-child"]
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=child_machine)
        for page in pages:
            for ex in page["executions"]:
                cd = sfn.describe_execution(executionArn=ex["executionArn"])
                parent = json.loads(cd["input"])["parent"]
                children.setdefault(parent, []).append(cd)
                events = self.history(sfn, ex["executionArn"])
                self.check_history(ex["name"], events)
        for name, events in histories.items():
            if self.starts[name]["kind"] != "cc-parent":
                continue
            started = any(e["type"] == "TaskSubmitted" for e in events) or any(
                e["type"] == "TaskSucceeded" for e in events
            )
            got = children.get(name, [])
            if started and len(got) != 1:
                self.violation(f"{name}: {len(got)} child executions, expected 1")
            for c in got:
                if c["status"] != "SUCCEEDED":
                    self.violation(f"{name}: child {c['name']} is {c['status']}")
        for parent in children:
            if parent not in histories:
                self.violation(f"child executions of an unknown parent {parent}")
        return stats, activity_attempts, sum(len(v) for v in children.values())


class Postgres:
    """The PostgreSQL side of `--postgres`: a server (the given URL, else a throwaway one
    started with scripts/postgres-test-server inside the work directory) and a fresh schema
    on it, which the nodes create as their search_path."""

    def __init__(self, url, work, root):
        self.script = os.path.join(root, "scripts", "postgres-test-server")
        self.cluster = None
        if not url:
            self.cluster = os.path.join(work, "postgres")
            os.chmod(work, 0o755)  # as root the cluster belongs to the postgres user
            out = subprocess.run([self.script, "start", self.cluster], capture_output=True, text=True)
            if out.returncode != 0 or "CAIRN_TEST_POSTGRES_URL=" not in out.stdout:
                raise RuntimeError(f"could not start PostgreSQL: {out.stderr.strip()[-500:]}")
            url = out.stdout.strip().split("CAIRN_TEST_POSTGRES_URL=", 1)[1]
        self.server = url
        self.schema = f"crash_{uuid.uuid4().hex[:12]}"
        separator = "&" if "?" in url else "?"
        self.url = f"{url}{separator}options[search_path]={self.schema}"

    def close(self, keep=False):
        if keep and self.cluster is None and self.schema is not None:
            log(f"schema {self.schema} kept on the server")
            self.schema = None
        if self.cluster is not None:
            subprocess.run([self.script, "stop", self.cluster], capture_output=True)
            self.cluster = None
        elif self.schema is not None:
            # The schema on a server we did not start: drop it when psql is at hand.
            if shutil.which("psql"):
                subprocess.run(["psql", self.server, "-qc", f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"],
                               capture_output=True)
            else:
                log(f"schema {self.schema} left on the server (no psql to drop it)")
            self.schema = None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kills", type=int, default=5, help="SIGKILLs (and restarts) of the server")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    p.add_argument("--binary", default=None, help="cairn binary (default: target/release, else target/debug)")
    p.add_argument("--rate", type=float, default=15.0, help="executions started per second")
    p.add_argument("--min-up", type=float, default=1.0, help="shortest time the server runs before a kill (s)")
    p.add_argument("--max-up", type=float, default=4.0, help="longest time the server runs before a kill (s)")
    p.add_argument("--max-executions", type=int, default=5000, help="stop starting executions beyond this")
    p.add_argument("--drain-seconds", type=float, default=180, help="how long executions may take to close after the last restart")
    p.add_argument("--workers", type=int, default=4, help="activity worker threads")
    p.add_argument("--keep", action="store_true", help="keep the work directory even when all is well")
    p.add_argument("--postgres", action="store_true", help="three nodes on PostgreSQL instead of one on SQLite")
    p.add_argument("--postgres-url", default=os.environ.get("CAIRN_TEST_POSTGRES_URL"),
                   help="PostgreSQL server (default: $CAIRN_TEST_POSTGRES_URL, else a throwaway one)")
    p.add_argument("--nodes", type=int, default=3, help="nodes with --postgres")
    p.add_argument("--lease-ttl", type=float, default=2, help="the nodes' --lease-ttl with --postgres")
    p.add_argument("--max-down", type=float, default=4.0, help="longest pause before a killed node restarts (--postgres)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = int(time.time()) % 1_000_000
    if args.binary is None:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        for profile in ("release", "debug"):
            candidate = os.path.join(target, profile, "cairn")
            if os.path.exists(candidate):
                args.binary = candidate
                break
    if not args.binary or not os.path.exists(args.binary):
        print("error: no cairn binary; build one (cargo build -p cairn) or pass --binary", file=sys.stderr)
        return 2

    work = tempfile.mkdtemp(prefix="cairn-crash-")
    campaign = Campaign(args)
    callback_url = campaign.start_function_server()
    functions = os.path.join(work, "functions.json")
    with open(functions, "w") as f:
        json.dump({"functions": {"cc-callback": {"url": callback_url}}}, f)
    # The functions file is passed through the environment (CAIRN_FUNCTIONS) to every start.
    os.environ["CAIRN_FUNCTIONS"] = functions
    postgres = None
    if args.postgres:
        try:
            postgres = Postgres(args.postgres_url, work, root)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        atexit.register(postgres.close)
        servers = []
        for i in range(args.nodes):
            port = free_port()
            servers.append(
                Server(args.binary, postgres.url, port, work, f"node{i + 1}",
                       ["--node-id", f"n{i + 1}", "--lease-ttl", str(args.lease_ttl)])
            )
        mode = f"{args.nodes} nodes on PostgreSQL (schema {postgres.schema})"
    else:
        servers = [Server(args.binary, os.path.join(work, "cairn.db"), free_port(), work)]
        mode = "SQLite"
    campaign.endpoints = [f"http://127.0.0.1:{s.port}" for s in servers]
    for server in servers:
        atexit.register(server.kill)
    log(f"seed {args.seed}, {args.kills} kills, {mode}, binary {args.binary}, work dir {work}")

    began = time.monotonic()
    try:
        for server in servers:
            server.start()
        campaign.setup(callback_url)
        threads = [threading.Thread(target=campaign.load, daemon=True)]
        threads += [
            threading.Thread(target=campaign.activity_worker, args=(campaign.activity, i), daemon=True)
            for i in range(args.workers)
        ]
        threads += [threading.Thread(target=campaign.callback_answerer, args=(i,), daemon=True) for i in range(2)]
        for t in threads:
            t.start()
        downtime = []
        victims = {}
        # The kill schedule has a generator of its own (the workers draw from campaign.rng).
        kills = random.Random(args.seed + 2)
        for k in range(args.kills):
            # One kill in four lands during recovery, right after the server accepts connections.
            if kills.random() < 0.25:
                up = kills.uniform(0.05, 0.5)
            else:
                up = kills.uniform(args.min_up, args.max_up)
            time.sleep(up)
            server = kills.choice(servers)
            victims[server.name] = victims.get(server.name, 0) + 1
            server.kill()
            t0 = time.monotonic()
            down = kills.uniform(0, args.max_down) if len(servers) > 1 else 0
            time.sleep(down)
            server.start()
            downtime.append(time.monotonic() - t0 - down)
            log(f"kill {k + 1}/{args.kills} of {server.name} after {up:.2f}s up, down {down:.2f}s: restarted in {downtime[-1]:.2f}s, {len(campaign.starts)} starts so far")
        time.sleep(kills.uniform(args.min_up, args.max_up))
        campaign.stop_load.set()
        threads[0].join()
        log(f"load stopped after {len(campaign.starts)} starts; waiting for every execution to close")
        stats, attempts, children = campaign.check()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        campaign.stop_all.set()
        for server in servers:
            server.kill()
        return 2
    campaign.stop_all.set()
    for server in servers:
        server.kill()
    campaign.fn_server.shutdown()
    if postgres is not None:
        # On a violation the schema stays for a look (the throwaway server's data stays in
        # the kept work directory).
        postgres.close(keep=bool(campaign.violations))

    states = [e["state"] for e in campaign.starts.values()]
    log("summary:")
    print(f"  {mode}; seed {args.seed}; {args.kills} SIGKILLs; {time.monotonic() - began:.0f}s in all")
    if len(servers) > 1:
        print(f"  kills by node: {victims}; client calls repeated on another node: {campaign.retries}")
    if downtime:
        print(f"  restart to first accepted connection: mean {sum(downtime) / len(downtime):.2f}s, max {max(downtime):.2f}s")
    print(
        f"  StartExecution: {states.count('acked')} acknowledged, {states.count('lost')} answers lost to a kill, "
        f"{states.count('refused')} refused, {states.count('unsent')} never sent (connection refused); "
        f"{campaign.lost_but_started} of the lost ones had started"
        + (f"; {campaign.retries.get('start-answer-lost-then-acked', 0)} more lost, then acknowledged when repeated"
           if len(servers) > 1 else "")
    )
    print(f"  executions checked: {sum(stats.values())} ({stats['SUCCEEDED']} SUCCEEDED, {stats['FAILED']} FAILED, {stats['other']} other)")
    print(f"  activity attempts closed: {attempts}; tasks received by workers: {campaign.tasks_received}; answers: {campaign.task_answer_outcomes}")
    print(f"  callbacks answered and acknowledged: {len(campaign.callback_acked)}; nested children: {children}")
    if campaign.violations:
        print(f"  VIOLATIONS: {len(campaign.violations)} (work dir kept: {work})")
        for v in campaign.violations[:50]:
            print(f"    {v}")
        return 1
    print("  no violations")
    if not args.keep:
        subprocess.run(["rm", "-rf", work], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
