// Drives the console in headless Chromium (Playwright) against a running Cairn server.
// Usage: node console.mjs <endpoint> <artefact dir>; PLAYWRIGHT_DIR names the directory
// whose node_modules holds playwright-core. Exits non-zero with a message on any failure.
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [endpoint, outDir] = process.argv.slice(2);
const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, "package.json"));
const { chromium } = require("playwright-core");
fs.mkdirSync(outDir, { recursive: true });

async function api(op, body) {
  const r = await fetch(endpoint + "/", {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions." + op },
    body: JSON.stringify(body),
  });
  const data = await r.json();
  if (!r.ok) throw new Error(`${op}: ${JSON.stringify(data)}`);
  return data;
}
function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok -", what);
}
const ROLE = "arn:aws:iam::123456789012:role/cairn-test-role";

const activity = (await api("CreateActivity", { name: "console-approve" })).activityArn;
const definition = {
  StartAt: "Check",
  States: {
    Check: { Type: "Choice", Choices: [{ Variable: "$.n", NumericGreaterThan: 0, Next: "Fanout" }], Default: "Skip" },
    Skip: { Type: "Pass", Next: "Done" },
    Fanout: {
      Type: "Parallel",
      Branches: [
        { StartAt: "Approve", States: { Approve: { Type: "Task", Resource: activity, End: true } } },
        { StartAt: "Items", States: { Items: { Type: "Map", ItemsPath: "$.items", ItemProcessor: { StartAt: "Double", States: { Double: { Type: "Pass", End: true } } }, End: true } } },
      ],
      Catch: [{ ErrorEquals: ["States.ALL"], Next: "Recover" }],
      Next: "Done",
    },
    Recover: { Type: "Pass", Next: "Done" },
    Done: { Type: "Succeed" },
  },
};
const names = ["Check", "Skip", "Fanout", "Approve", "Items", "Double", "Recover", "Done"];
const machine = (await api("CreateStateMachine", { name: "console-graph", roleArn: ROLE, definition: JSON.stringify(definition) })).stateMachineArn;

// A 40-state machine, to look at the layout.
const big = { StartAt: "S0", States: {} };
for (let i = 0; i < 40; i++) {
  const next = i + 1 < 40 ? `S${i + 1}` : null;
  if (i % 7 === 3) big.States[`S${i}`] = { Type: "Choice", Choices: [{ Variable: "$.x", StringEquals: `v${i}`, Next: `S${Math.min(i + 3, 39)}` }], Default: next };
  else if (i % 9 === 5) big.States[`S${i}`] = { Type: "Task", Resource: activity, Catch: [{ ErrorEquals: ["States.Timeout"], Next: "S39" }], ...(next ? { Next: next } : { End: true }) };
  else big.States[`S${i}`] = next ? { Type: "Pass", Next: next } : { Type: "Succeed" };
}
const bigArn = (await api("CreateStateMachine", { name: "console-forty", roleArn: ROLE, definition: JSON.stringify(big) })).stateMachineArn;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-console-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
const page = context.pages()[0] || (await context.newPage());
// An AWS error answer the page handled and showed still logs "Failed to load resource":
// those are checked by target instead (only the expected ones may fail).
const API_400 = "Failed to load resource: the server responded with a status of 400";
page.on("console", (m) => m.type() === "error" && !m.text().startsWith(API_400) && errors.push(m.text()));
const failedTargets = new Set();
page.on("response", (r) => {
  if (r.status() >= 400) failedTargets.add(r.request().headers()["x-amz-target"] || r.url());
});
page.on("pageerror", (e) => errors.push(String(e)));
page.setDefaultTimeout(15000);
const shot = (name) => page.screenshot({ path: path.join(outDir, name + ".png"), fullPage: true });
const status = (state) => page.locator(`g.state[data-state="${state}"]`).first().getAttribute("data-status");
const waitStatus = (state, s) => page.waitForSelector(`g.state[data-state="${state}"][data-status="${s}"]`);

try {
  // The list and the graph of a machine with Parallel, Map, Choice and Catch.
  await page.goto(endpoint + "/");
  await page.getByRole("link", { name: "console-graph" }).click();
  await page.waitForSelector("svg.graph");
  for (const n of names) check((await page.locator(`svg.graph g.state[data-state="${n}"]`).count()) === 1, `state ${n} drawn`);
  check((await page.locator("svg .edge-label-catch").count()) === 1, "the Catch edge is labelled");
  check((await page.locator("svg .edge-label-choice").count()) === 2, "both Choice edges are labelled");
  await shot("machine");

  // Start from the page: bad JSON is refused before sending, good JSON starts it.
  await page.locator("summary", { hasText: "Start an execution" }).click();
  await page.fill("#start-input", "{not json");
  await page.click("#start-button");
  await page.waitForSelector("#start-msg.error");
  check((await api("ListExecutions", { stateMachineArn: machine })).executions.length === 0, "invalid input sent nothing");
  await page.fill("#start-name", "from-console");
  await page.fill("#start-input", JSON.stringify({ n: 1, items: [1, 2, 3] }));
  await page.click("#start-button");
  await page.waitForURL(/#\/execution\//);
  await waitStatus("Approve", "running");
  check((await status("Check")) === "succeeded", "Choice coloured succeeded");
  check((await status("Done")) === "", "Done not entered yet");
  await page.evaluate(() => (window.__sameDocument = true));
  await shot("execution-running");

  // Answer the activity from outside: the open page follows without a reload.
  const task = await api("GetActivityTask", { activityArn: activity, workerName: "test" });
  check(JSON.parse(task.input).n === 1, "the test's worker got the task");
  await api("SendTaskSuccess", { taskToken: task.taskToken, output: JSON.stringify({ approved: "yes" }) });
  await waitStatus("Done", "succeeded");
  await page.waitForSelector("#exec-status:text('SUCCEEDED')");
  check((await status("Approve")) === "succeeded", "Approve turned green");
  check((await status("Items")) === "succeeded", "the Map turned green");
  check((await status("Skip")) === "", "the branch not taken stays uncoloured");
  check(await page.evaluate(() => window.__sameDocument === true), "no reload happened");
  await page.click('g.state[data-state="Approve"]');
  await page.waitForSelector("#state-panel .state-output");
  check((await page.textContent("#state-panel .state-output")).includes('"approved": "yes"'), "clicking a state shows its output");
  check((await page.textContent("#state-panel .state-input")).includes('"items"'), "clicking a state shows its input");
  check((await page.locator("#history tr[data-event]").count()) > 10, "history table filled");
  await page.locator('g.state[data-state="Items"] > text.container-label').click({ force: true });
  await page.waitForSelector("#state-panel .iteration");
  check((await page.locator("#state-panel .iteration.status-succeeded").count()) === 3, "the Map's three iterations are listed");
  await page.click('g.state[data-state="Approve"]');
  await page.waitForSelector("#state-panel .state-output");
  await shot("execution-succeeded");
  await page.screenshot({ path: path.join(outDir, "readme.png") }); // the viewport only

  // Stop from the page.
  const second = (await api("StartExecution", { stateMachineArn: machine, name: "to-stop", input: JSON.stringify({ n: 2, items: [] }) })).executionArn;
  await page.goto(`${endpoint}/#/execution/${encodeURIComponent(second)}`);
  await waitStatus("Approve", "running");
  await page.click("#stop-button");
  await page.waitForSelector("#exec-status:text('ABORTED')");
  check((await api("DescribeExecution", { executionArn: second })).status === "ABORTED", "stopped from the page");
  // Redrive from the page: the aborted execution runs again from Approve; stopped again so
  // its task leaves the queue before the activities page takes one.
  await page.click("#redrive-button");
  await page.waitForSelector("#exec-status:text('RUNNING')");
  check((await api("DescribeExecution", { executionArn: second })).redriveCount === 1, "redriven from the page");
  await waitStatus("Approve", "running");
  await api("StopExecution", { executionArn: second });
  await page.waitForSelector("#exec-status:text('ABORTED')");

  // Play the worker from the activities page: take the task, answer success.
  const third = (await api("StartExecution", { stateMachineArn: machine, name: "answered", input: JSON.stringify({ n: 3, items: [7] }) })).executionArn;
  await page.goto(`${endpoint}/#/activities`);
  await page.waitForSelector('tr[data-activity="console-approve"] button.take');
  const queued = await page.locator('tr[data-activity="console-approve"] td').nth(1).textContent();
  check(queued === "1", "the backlog shows the queued task");
  await page.click('tr[data-activity="console-approve"] button.take');
  await page.waitForSelector("#task-input");
  check((await page.textContent("#task-input")).includes('"n": 3'), "the page took the third execution's task");
  await page.fill("#answer-output", '{"by":"console"}');
  await page.click("#send-success");
  await page.waitForSelector("#answer-msg:text('Success sent.')");
  await page.waitForFunction(() => document.querySelectorAll('tr[data-activity="console-approve"] td')[4]?.textContent === "0");
  for (let i = 0; i < 100; i++) {
    if ((await api("DescribeExecution", { executionArn: third })).status !== "RUNNING") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check((await api("DescribeExecution", { executionArn: third })).status === "SUCCEEDED", "answered from the page");
  await shot("activities");

  // The 40-state machine, to look at.
  await page.goto(`${endpoint}/#/machine/${encodeURIComponent(bigArn)}`);
  await page.waitForSelector('svg.graph g.state[data-state="S39"]');
  check((await page.locator("svg.graph g.state").count()) === 40, "40 states drawn");
  await page.locator(".graph-box").screenshot({ path: path.join(outDir, "forty.png") });

  const expected = ["ListStateMachineVersions", "ListStateMachineAliases"].map((t) => "AWSStepFunctions." + t);
  check([...failedTargets].every((t) => expected.includes(t)), "only expected API errors: " + [...failedTargets].join(", "));
  check(errors.length === 0, "no console errors: " + errors.join(" | "));
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e.stack || String(e));
  console.error("console errors:", errors);
  await context.close();
  process.exit(1);
}
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log("console test passed");
