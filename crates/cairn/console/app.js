// The Cairn console: a hash-routed page over the AWS JSON API (`POST /`, unsigned) and the
// console's two read routes (`/console/api/events` server-sent events, `/console/api/activity`).
import { renderGraph } from "/console/graph.js";

const view = document.getElementById("view");

async function api(op, body) {
  const r = await fetch("/", {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions." + op },
    body: JSON.stringify(body || {}),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const type = (data.__type || "Error").split("#").pop();
    throw new Error(`${type}: ${data.message || data.Message || r.status}`);
  }
  return data;
}

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

const link = (hash, text) => h("a", { href: "#" + hash }, text);
const fmtTime = (t) => (t === undefined || t === null ? "" : new Date(typeof t === "number" && t < 1e11 ? t * 1000 : t).toLocaleString());
const pretty = (s) => {
  if (s === undefined || s === null) return "";
  try {
    return JSON.stringify(typeof s === "string" ? JSON.parse(s) : s, null, 2);
  } catch {
    return String(s);
  }
};
const errorBox = (e) => h("div", { class: "error" }, String(e.message || e));

let cleanup = [];
function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const hash = decodeURIComponent(location.hash.slice(1) || "/");
  view.replaceChildren();
  const [, page, arg] = hash.match(/^\/([a-z-]*)\/?(.*)$/) || [];
  const pages = { "": machinesPage, machine: machinePage, execution: executionPage, activities: activitiesPage, token: tokenPage };
  (pages[page] || machinesPage)(arg).catch((e) => view.append(errorBox(e)));
}
window.addEventListener("hashchange", route);

// ---- state machines -----------------------------------------------------------------
async function machinesPage() {
  view.append(h("h1", {}, "State machines"));
  const table = h("table", { class: "list" }, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Type"), h("th", {}, "Created")));
  view.append(table);
  let token;
  do {
    const r = await api("ListStateMachines", token ? { nextToken: token } : {});
    for (const m of r.stateMachines) {
      table.append(h("tr", {}, h("td", {}, link("/machine/" + encodeURIComponent(m.stateMachineArn), m.name)), h("td", {}, m.type), h("td", {}, fmtTime(m.creationDate))));
    }
    token = r.nextToken;
  } while (token);
}

async function machinePage(arn) {
  const m = await api("DescribeStateMachine", { stateMachineArn: arn });
  view.append(h("h1", {}, m.name), h("p", { class: "arn" }, m.stateMachineArn, " · ", m.type, " · ", m.status));
  const extras = h("div", { class: "extras" });
  view.append(extras);
  // Versions and aliases exist only where the server answers these; errors are ignored.
  api("ListStateMachineVersions", { stateMachineArn: arn })
    .then((r) => (r.stateMachineVersions || []).length && extras.append(h("p", {}, "Versions: ", (r.stateMachineVersions || []).map((v) => v.stateMachineVersionArn.split(":").pop()).join(", "))))
    .catch(() => {});
  api("ListStateMachineAliases", { stateMachineArn: arn })
    .then((r) => (r.stateMachineAliases || []).length && extras.append(h("p", {}, "Aliases: ", (r.stateMachineAliases || []).map((a) => a.stateMachineAliasArn.split(":").pop()).join(", "))))
    .catch(() => {});
  view.append(startForm(arn));
  const graphBox = h("div", { class: "graph-box" });
  graphBox.append(renderGraph(JSON.parse(m.definition)));
  view.append(h("h2", {}, "Definition"), graphBox);
  view.append(h("h2", {}, "Executions"), await executionsList(arn));
}

function startForm(arn) {
  const name = h("input", { placeholder: "name (optional)", id: "start-name" });
  const input = h("textarea", { id: "start-input", rows: 4, spellcheck: "false" });
  input.value = "{}";
  const msg = h("div", { class: "msg", id: "start-msg" });
  const go = async () => {
    msg.className = "msg";
    let parsed;
    try {
      parsed = JSON.parse(input.value);
    } catch (e) {
      msg.className = "msg error";
      msg.textContent = "Input is not valid JSON: " + e.message;
      return;
    }
    try {
      const body = { stateMachineArn: arn, input: JSON.stringify(parsed) };
      if (name.value.trim()) body.name = name.value.trim();
      const r = await api("StartExecution", body);
      location.hash = "#/execution/" + encodeURIComponent(r.executionArn);
    } catch (e) {
      msg.className = "msg error";
      msg.textContent = e.message;
    }
  };
  return h("details", { class: "form" }, h("summary", {}, "Start an execution"), name, input, h("button", { id: "start-button", onclick: go }, "Start"), msg);
}

async function executionsList(arn) {
  const box = h("div", {});
  const status = h("select", { id: "status-filter" }, ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].map((s) => h("option", { value: s }, s || "any status")));
  const name = h("input", { placeholder: "name contains", id: "name-filter" });
  const table = h("table", { class: "list" });
  const more = h("button", {}, "More");
  let token = null;
  const load = async (reset) => {
    if (reset) {
      token = null;
      table.replaceChildren(h("tr", {}, h("th", {}, "Name"), h("th", {}, "Status"), h("th", {}, "Started"), h("th", {}, "Stopped")));
    }
    const body = { stateMachineArn: arn, maxResults: 50 };
    if (status.value) body.statusFilter = status.value;
    if (token) body.nextToken = token;
    const r = await api("ListExecutions", body);
    const needle = name.value.trim().toLowerCase();
    for (const e of r.executions) {
      if (needle && !e.name.toLowerCase().includes(needle)) continue;
      table.append(h("tr", {}, h("td", {}, link("/execution/" + encodeURIComponent(e.executionArn), e.name)), h("td", { class: "status-" + e.status }, e.status), h("td", {}, fmtTime(e.startDate)), h("td", {}, fmtTime(e.stopDate))));
    }
    token = r.nextToken || null;
    more.hidden = !token;
  };
  status.addEventListener("change", () => load(true).catch((e) => box.append(errorBox(e))));
  name.addEventListener("input", () => load(true).catch((e) => box.append(errorBox(e))));
  more.addEventListener("click", () => load(false).catch((e) => box.append(errorBox(e))));
  await load(true);
  box.append(h("div", { class: "filters" }, status, name), table, more);
  return box;
}

// ---- one execution --------------------------------------------------------------------
const SCHEDULED = /^(Activity|Task|LambdaFunction)Scheduled$/;
const FAILURE = /(Failed|TimedOut|Aborted)$/;

function detailsOf(ev) {
  const key = Object.keys(ev).find((k) => k.endsWith("EventDetails"));
  return key ? ev[key] : null;
}

// Per state: its visits (input, output, errors, retries) and a status for colouring.
function stateRuns(events) {
  const byId = new Map(events.map((e) => [e.id, e]));
  // The StateEntered event an event belongs to: walk back along previousEventId, jumping
  // over whole visits of nested states (a Map's or Parallel's inner states) as they close.
  const enteredOfExit = new Map();
  const enteredOf = (ev) => {
    let e = byId.get(ev.previousEventId);
    for (let hops = 0; e && hops < 100000; hops++) {
      if (e.type.endsWith("StateEntered")) return e;
      const skip = e.type.endsWith("StateExited") ? enteredOfExit.get(e.id) : null;
      e = byId.get((skip || e).previousEventId);
    }
    return null;
  };
  const runs = {};
  const visits = new Map();
  for (const ev of events) {
    const d = detailsOf(ev) || {};
    if (ev.type.endsWith("StateEntered")) {
      const v = { name: d.name, entered: ev, input: d.input, status: "running", errors: [], scheduled: 0, iterations: [] };
      visits.set(ev.id, v);
      (runs[d.name] = runs[d.name] || []).push(v);
      continue;
    }
    const entered = enteredOf(ev);
    const v = entered && visits.get(entered.id);
    if (!v) continue;
    if (ev.type.endsWith("StateExited")) {
      enteredOfExit.set(ev.id, entered);
      v.output = d.output;
      v.status = v.errors.length ? "caught" : "succeeded";
    } else if (SCHEDULED.test(ev.type)) {
      v.scheduled += 1;
    } else if (ev.type.startsWith("MapIteration")) {
      // Map iterations: index → last status (Started, Succeeded, Failed, Aborted).
      const i = v.iterations.findIndex((it) => it.index === d.index);
      const it = { index: d.index, status: ev.type.slice("MapIteration".length).toLowerCase() };
      if (i >= 0) v.iterations[i] = it;
      else v.iterations.push(it);
    } else if (FAILURE.test(ev.type) && !ev.type.startsWith("MapIteration")) {
      v.errors.push({ type: ev.type, error: d.error, cause: d.cause });
      v.status = "failed";
    }
  }
  return runs;
}

function colour(svg, runs) {
  for (const g of svg.querySelectorAll("g.state")) {
    const list = runs[g.dataset.state] || [];
    const statuses = new Set(list.map((v) => v.status));
    const s = statuses.has("running") ? "running" : statuses.has("failed") ? "failed" : statuses.has("caught") ? "caught" : list.length ? "succeeded" : "";
    g.dataset.status = s;
    g.setAttribute("class", `state state-${g.dataset.type}${s ? " status-" + s : ""}`);
  }
}

async function executionPage(arn) {
  const [desc, machine] = await Promise.all([api("DescribeExecution", { executionArn: arn }), api("DescribeStateMachineForExecution", { executionArn: arn })]);
  const head = h("div", { class: "exec-head" });
  const actions = h("div", { class: "actions" });
  const actionMsg = h("div", { class: "msg", id: "action-msg" });
  const act = (op, extra) => async () => {
    actionMsg.className = "msg";
    actionMsg.textContent = "";
    try {
      await api(op, { executionArn: arn, ...(extra || {}) });
      actionMsg.textContent = op + " sent.";
      await refreshHead();
      if (op === "RedriveExecution") listen();
    } catch (e) {
      actionMsg.className = "msg error";
      actionMsg.textContent = e.message;
    }
  };
  actions.append(h("button", { id: "stop-button", onclick: act("StopExecution", { error: "Console.Stopped", cause: "Stopped from the Cairn console" }) }, "Stop"), h("button", { id: "redrive-button", onclick: act("RedriveExecution") }, "Redrive"), actionMsg);
  const refreshHead = async () => {
    const d = await api("DescribeExecution", { executionArn: arn });
    const parent = (d.input || "").match(/arn:[^"]*:execution:[^"]+/);
    head.replaceChildren(
      ...[
      h("h1", {}, d.name, " ", h("span", { class: "badge status-" + d.status, id: "exec-status" }, d.status)),
      h("p", { class: "arn" }, d.executionArn, " · ", link("/machine/" + encodeURIComponent(machine.stateMachineArn || d.stateMachineArn), "state machine")),
      h("p", {}, "Started ", fmtTime(d.startDate), d.stopDate ? [" · stopped ", fmtTime(d.stopDate)] : ""),
      d.error ? h("p", { class: "error" }, d.error, ": ", d.cause || "") : null,
      parent ? h("p", {}, "Input mentions ", link("/execution/" + encodeURIComponent(parent[0]), parent[0].split(":").pop())) : null,
      h("details", {}, h("summary", {}, "Input / output"), h("pre", {}, pretty(d.input)), h("pre", {}, pretty(d.output))),
      ].filter(Boolean),
    );
    actions.hidden = false;
  };
  await refreshHead();
  const definition = JSON.parse(machine.definition);
  const svg = renderGraph(definition);
  const panel = h("div", { class: "state-panel", id: "state-panel" }, h("p", { class: "hint" }, "Click a state to see its input, output, errors and retries."));
  const table = h("table", { class: "history", id: "history" }, h("tr", {}, h("th", {}, "ID"), h("th", {}, "Type"), h("th", {}, "State"), h("th", {}, "Time"), h("th", {}, "")));
  view.append(head, actions, h("div", { class: "split" }, h("div", { class: "graph-box" }, svg), panel), h("h2", {}, "Event history"), table);

  const events = [];
  let runs = {};
  let selected = null;
  const showState = (name) => {
    selected = name;
    const list = runs[name] || [];
    panel.replaceChildren(h("h3", {}, name));
    if (!list.length) panel.append(h("p", { class: "hint" }, "Not entered (yet)."));
    list.forEach((v, i) => {
      panel.append(
        h("div", { class: "visit" },
          h("h4", {}, `Visit ${i + 1} · `, h("span", { class: "status-" + v.status }, v.status), v.scheduled > 1 ? ` · ${v.scheduled - 1} retr${v.scheduled > 2 ? "ies" : "y"}` : ""),
          h("div", { class: "label" }, "Input"), h("pre", { class: "state-input" }, pretty(v.input)),
          v.output !== undefined ? [h("div", { class: "label" }, "Output"), h("pre", { class: "state-output" }, pretty(v.output))] : null,
          v.errors.map((e) => h("p", { class: "error" }, `${e.type}: ${e.error || ""} ${e.cause || ""}`)),
          v.iterations.length
            ? h("div", { class: "iterations" }, h("div", { class: "label" }, `Map iterations (${v.iterations.length})`),
                v.iterations.map((it) => h("span", { class: "iteration status-" + (it.status === "started" ? "running" : it.status), title: it.status }, `#${it.index} ${it.status}`)))
            : null,
        ),
      );
    });
  };
  svg.addEventListener("click", (e) => {
    const g = e.target.closest("g.state");
    if (g) showState(g.dataset.state);
  });
  const addRow = (ev) => {
    const d = detailsOf(ev);
    const child = JSON.stringify(d || {}).match(/arn:[a-z-]+:states:[^"\\]*:execution:[^"\\]+/);
    const body = h("pre", { hidden: true }, pretty(JSON.stringify(d, (k, v) => (typeof v === "string" && /^[[{]/.test(v) ? safeParse(v) : v))));
    const toggle = h("button", { class: "small", onclick: () => (body.hidden = !body.hidden) }, "details");
    table.append(
      h("tr", { "data-event": ev.id }, h("td", {}, ev.id), h("td", {}, ev.type), h("td", {}, (d && d.name) || ""), h("td", {}, fmtTime(ev.timestamp)), h("td", {}, d ? toggle : "", child && child[0] !== arn ? [" ", link("/execution/" + encodeURIComponent(child[0]), "child execution")] : "")),
      h("tr", { class: "detail-row" }, h("td", { colspan: 5 }, body)),
    );
  };
  let pending = false;
  const refresh = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      runs = stateRuns(events);
      colour(svg, runs);
      if (selected) showState(selected);
    });
  };
  let source = null;
  const listen = () => {
    if (source) source.close();
    const after = events.length ? events[events.length - 1].id : 0;
    source = new EventSource(`/console/api/events?arn=${encodeURIComponent(arn)}&after=${after}`);
    source.addEventListener("history", (m) => {
      const ev = JSON.parse(m.data);
      if (events.length && ev.id <= events[events.length - 1].id) return;
      events.push(ev);
      addRow(ev);
      refresh();
    });
    source.addEventListener("end", () => {
      source.close();
      source = null;
      refreshHead().catch(() => {});
    });
  };
  listen();
  cleanup.push(() => source && source.close());
}

function safeParse(s) {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

// ---- activities -----------------------------------------------------------------------
async function activitiesPage() {
  view.append(h("h1", {}, "Activities"));
  const table = h("table", { class: "list", id: "activities" }, h("tr", {}, ["Name", "Queued", "Oldest age (s)", "Parked workers", "In progress", "Last poll", ""].map((t) => h("th", {}, t))));
  view.append(table, h("p", { class: "hint" }, "Take a task plays a worker: it calls GetActivityTask and lets you answer the task."));
  const worker = h("div", { class: "worker", id: "worker" });
  view.append(worker);
  const r = await api("ListActivities", {});
  for (const a of r.activities) {
    const row = h("tr", { "data-activity": a.name });
    table.append(row);
    const fill = async () => {
      const b = await (await fetch("/console/api/activity?arn=" + encodeURIComponent(a.activityArn))).json();
      row.replaceChildren(
        h("td", {}, a.name),
        h("td", {}, b.queued),
        h("td", {}, b.oldestAgeSeconds === null ? "" : b.oldestAgeSeconds.toFixed(1)),
        h("td", {}, b.parkedWorkers),
        h("td", {}, b.inProgress),
        h("td", {}, b.lastPollMs ? fmtTime(b.lastPollMs) : "never"),
        h("td", {}, h("button", { class: "take", onclick: () => takeTask(a, worker, fill).then(fill) }, "Take a task")),
      );
    };
    await fill();
  }
}

async function takeTask(activity, box, onAnswered) {
  box.replaceChildren(h("p", {}, `Waiting for a task of ${activity.name} (up to 60 s)…`));
  const t = await api("GetActivityTask", { activityArn: activity.activityArn, workerName: "cairn-console" });
  if (!t.taskToken) {
    box.replaceChildren(h("p", {}, "No task arrived."));
    return;
  }
  box.replaceChildren(h("h3", {}, "Task of " + activity.name), h("pre", { id: "task-input" }, pretty(t.input)), answerForm(t.taskToken, onAnswered));
}

function answerForm(token, onAnswered) {
  const tokenBox = h("textarea", { rows: 2, id: "answer-token", spellcheck: "false" });
  tokenBox.value = token || "";
  const output = h("textarea", { rows: 3, id: "answer-output", spellcheck: "false" });
  output.value = "{}";
  const error = h("input", { id: "answer-error", placeholder: "error (failure)" });
  const cause = h("input", { id: "answer-cause", placeholder: "cause (failure)" });
  const msg = h("div", { class: "msg", id: "answer-msg" });
  const send = (ok) => async () => {
    msg.className = "msg";
    try {
      if (ok) {
        JSON.parse(output.value);
        await api("SendTaskSuccess", { taskToken: tokenBox.value.trim(), output: output.value });
      } else {
        const body = { taskToken: tokenBox.value.trim() };
        if (error.value) body.error = error.value;
        if (cause.value) body.cause = cause.value;
        await api("SendTaskFailure", body);
      }
      msg.textContent = ok ? "Success sent." : "Failure sent.";
      if (onAnswered) await onAnswered();
    } catch (e) {
      msg.className = "msg error";
      msg.textContent = e instanceof SyntaxError ? "Output is not valid JSON: " + e.message : e.message;
    }
  };
  return h("div", { class: "form" }, h("label", {}, "Task token"), tokenBox, h("label", {}, "Output (JSON)"), output, h("button", { id: "send-success", onclick: send(true) }, "Send success"), h("div", {}, error, cause, h("button", { id: "send-failure", onclick: send(false) }, "Send failure")), msg);
}

async function tokenPage() {
  view.append(h("h1", {}, "Answer a task token"), h("p", { class: "hint" }, "Paste a token a callback task (.waitForTaskToken) or an activity handed out."), answerForm(""));
}

route();
