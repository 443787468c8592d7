// The definition graph: ASL states as SVG nodes, transitions as edges, laid out in layers
// top to bottom by a small layout of our own (no library). Parallel branches and Map
// processors are drawn as boxes holding their own laid-out graphs; Choice rules and Catch
// edges carry labels. Every state node gets `data-state="<name>"` so the execution page
// can colour it and tests can find it.

const NODE_H = 34;
const GAP_X = 28;
const GAP_Y = 46;
const PAD = 14;
const HEAD = 24;
const SVG = "http://www.w3.org/2000/svg";

function textWidth(s) {
  return Math.max(70, s.length * 7.2 + 26);
}

// Where a state can go next: [{to, label, kind}] (`to` null = the end of its block).
function transitions(state) {
  const out = [];
  if (state.Type === "Choice") {
    (state.Choices || []).forEach((rule, i) => {
      out.push({ to: rule.Next, label: ruleLabel(rule, i), kind: "choice" });
    });
    if (state.Default) out.push({ to: state.Default, label: "Default", kind: "choice" });
  } else if (state.Next) {
    out.push({ to: state.Next, label: "", kind: "next" });
  } else if (state.End || state.Type === "Succeed" || state.Type === "Fail") {
    out.push({ to: null, label: "", kind: "end" });
  }
  (state.Catch || []).forEach((c) => {
    out.push({ to: c.Next, label: "Catch " + (c.ErrorEquals || []).join(", "), kind: "catch" });
  });
  return out;
}

function ruleLabel(rule, i) {
  if (rule.Condition) return short(rule.Condition);
  const op = Object.keys(rule).find((k) => !["Next", "Variable", "Comment", "Assign", "Output"].includes(k));
  if (!op) return "Rule " + (i + 1);
  if (op === "And" || op === "Or" || op === "Not") return op + " …";
  const v = rule[op];
  return short(`${rule.Variable || ""} ${op} ${typeof v === "string" ? v : JSON.stringify(v)}`);
}

function short(s) {
  return s.length > 34 ? s.slice(0, 33) + "…" : s;
}

// Lay out one block (`States` + `StartAt`): returns {w, h, nodes, edges} with positions
// relative to the block's top-left corner.
function layoutBlock(block) {
  const states = block.States || {};
  const names = Object.keys(states);
  // Children first: the size of a Parallel/Map node is the size of what it holds.
  const sizes = {};
  const inner = {};
  for (const name of names) {
    const s = states[name];
    let subs = [];
    if (s.Type === "Parallel") subs = s.Branches || [];
    if (s.Type === "Map") subs = [s.ItemProcessor || s.Iterator].filter(Boolean);
    if (subs.length) {
      const laid = subs.map(layoutBlock);
      const w = laid.reduce((a, l) => a + l.w, 0) + GAP_X * (laid.length - 1) + PAD * 2;
      const h = Math.max(...laid.map((l) => l.h)) + PAD * 2 + HEAD;
      inner[name] = laid;
      sizes[name] = { w: Math.max(w, textWidth(name) + 40), h };
    } else {
      sizes[name] = { w: textWidth(name), h: NODE_H };
    }
  }
  // Layers: longest path from StartAt over the graph without its back edges (found by DFS).
  const order = [];
  const seen = new Set();
  const onStack = new Set();
  const back = new Set();
  const visit = (n) => {
    if (!states[n] || seen.has(n)) return;
    seen.add(n);
    onStack.add(n);
    for (const t of transitions(states[n])) {
      if (t.to === null || !states[t.to]) continue;
      if (onStack.has(t.to)) back.add(n + "\u0000" + t.to);
      else visit(t.to);
    }
    onStack.delete(n);
    order.push(n);
  };
  visit(block.StartAt);
  names.forEach(visit); // unreachable states still get drawn
  order.reverse(); // a topological order of the forward edges
  const layer = {};
  for (const n of order) layer[n] = layer[n] ?? 0;
  for (const n of order) {
    for (const t of transitions(states[n])) {
      if (t.to === null || !states[t.to] || back.has(n + "\u0000" + t.to)) continue;
      layer[t.to] = Math.max(layer[t.to] ?? 0, layer[n] + 1);
    }
  }
  const rows = [];
  for (const n of order) (rows[layer[n]] = rows[layer[n]] || []).push(n);
  // One pass of barycentre ordering keeps edges from crossing in the common cases.
  const pos = {};
  rows.forEach((row, r) => {
    if (r > 0) {
      const parentsX = (n) => {
        const xs = order.filter((p) => transitions(states[p]).some((t) => t.to === n) && pos[p] !== undefined);
        return xs.length ? xs.reduce((a, p) => a + pos[p], 0) / xs.length : 0;
      };
      row.sort((a, b) => parentsX(a) - parentsX(b));
    }
    row.forEach((n, i) => (pos[n] = i));
  });
  // Coordinates: rows centred on the widest one.
  const rowW = rows.map((row) => row.reduce((a, n) => a + sizes[n].w, 0) + GAP_X * (row.length - 1));
  const width = Math.max(120, ...rowW);
  const nodes = {};
  let y = 30; // room for the start marker
  rows.forEach((row, r) => {
    const h = Math.max(...row.map((n) => sizes[n].h));
    let x = (width - rowW[r]) / 2;
    for (const n of row) {
      nodes[n] = { name: n, state: states[n], x, y, w: sizes[n].w, h: sizes[n].h, inner: inner[n], layer: r };
      x += sizes[n].w + GAP_X;
    }
    y += h + GAP_Y;
  });
  const endY = y - GAP_Y + 30;
  const edges = [];
  for (const n of order) {
    for (const t of transitions(states[n])) {
      if (t.to !== null && !states[t.to]) continue;
      edges.push({ from: n, to: t.to, label: t.label, kind: t.kind, back: back.has(n + "\u0000" + t.to) });
    }
  }
  const bounds = rows.map((row) => ({
    min: Math.min(...row.map((n) => nodes[n].x)),
    max: Math.max(...row.map((n) => nodes[n].x + nodes[n].w)),
    bottom: Math.max(...row.map((n) => nodes[n].y + nodes[n].h)),
  }));
  return { w: width + 40, h: endY + 20, nodes, edges, start: block.StartAt, endY, width, bounds };
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function drawBlock(g, lay, ox, oy) {
  const cx = ox + lay.width / 2 + 20;
  const shift = 20; // blocks are drawn 20px in from the left so back edges have room
  el("circle", { cx, cy: oy + 10, r: 6, class: "start-marker" }, g);
  const startNode = lay.nodes[lay.start];
  if (startNode) {
    edge(g, cx, oy + 16, ox + shift + startNode.x + startNode.w / 2, oy + startNode.y, "", "next");
  }
  for (const e of lay.edges) {
    const a = lay.nodes[e.from];
    const x1 = ox + shift + a.x + a.w / 2;
    let y1 = oy + a.y + a.h;
    if (e.to === null) {
      edge(g, x1, y1, cx, oy + lay.endY - 6, "", "end");
      continue;
    }
    const b = lay.nodes[e.to];
    const x2 = ox + shift + b.x + b.w / 2;
    const y2 = oy + b.y;
    if (e.back) {
      // Around the right side, from the source's right edge up to the target's right edge.
      const sx = ox + shift + a.x + a.w;
      const tx = ox + shift + b.x + b.w;
      const rx = ox + lay.w - 6;
      const p = `M${sx},${oy + a.y + a.h / 2} C${rx},${oy + a.y + a.h / 2} ${rx},${oy + b.y + b.h / 2} ${tx},${oy + b.y + b.h / 2}`;
      el("path", { d: p, class: `edge edge-${e.kind} edge-back`, "marker-end": "url(#arrow)" }, g);
      if (e.label) label(g, rx - 4, oy + (a.y + b.y) / 2 + a.h / 2, e.label, e.kind, "end");
      continue;
    }
    if (b.layer - a.layer > 1) {
      // A long edge would cross the rows between: route it down a lane beside them.
      const between = lay.bounds.slice(a.layer + 1, b.layer);
      const min = Math.min(...between.map((r) => r.min));
      const max = Math.max(...between.map((r) => r.max));
      const mid = (x1 + x2) / 2 - ox - shift;
      const blocked = between.some((r) => r.max > Math.min(x1, x2) - ox - shift - 10 && r.min < Math.max(x1, x2) - ox - shift + 10);
      if (blocked) {
        const left = mid - min < max - mid;
        const lane = ox + shift + (left ? min - 12 : max + 12);
        // Leave the source's row straight down first, so the lane starts below all of it.
        const rowBottom = oy + lay.bounds[a.layer].bottom;
        if (rowBottom > y1) el("path", { d: `M${x1},${y1} L${x1},${rowBottom}`, class: `edge edge-${e.kind}` }, g);
        y1 = Math.max(y1, rowBottom);
        const ya = y1 + GAP_Y / 2;
        const yb = y2 - GAP_Y / 2;
        const p = `M${x1},${y1} C${x1},${ya} ${lane},${y1} ${lane},${ya + 10} L${lane},${yb - 10} C${lane},${y2} ${x2},${yb} ${x2},${y2 - 2}`;
        el("path", { d: p, class: `edge edge-${e.kind}`, "marker-end": "url(#arrow)" }, g);
        if (e.label) label(g, left ? lane - 4 : lane + 4, (ya + yb) / 2, e.label, e.kind, left ? "end" : "start");
        continue;
      }
    }
    edge(g, x1, y1, x2, y2, e.label, e.kind);
  }
  el("circle", { cx, cy: oy + lay.endY, r: 6, class: "end-marker" }, g);
  for (const n of Object.values(lay.nodes)) {
    const x = ox + shift + n.x;
    const y = oy + n.y;
    const group = el("g", { class: `state state-${n.state.Type}`, "data-state": n.name, "data-type": n.state.Type }, g);
    const title = el("title", {}, group);
    title.textContent = `${n.name} (${n.state.Type})`;
    if (n.inner) {
      el("rect", { x, y, width: n.w, height: n.h, rx: 6, class: "box container" }, group);
      const t = el("text", { x: x + 10, y: y + 16, class: "container-label" }, group);
      t.textContent = `${n.name} · ${n.state.Type}`;
      let ix = x + PAD;
      for (const sub of n.inner) {
        el("rect", { x: ix, y: y + HEAD + PAD / 2, width: sub.w, height: sub.h, rx: 4, class: "branch" }, g);
        drawBlock(g, sub, ix, y + HEAD + PAD / 2);
        ix += sub.w + GAP_X;
      }
    } else {
      el("rect", { x, y, width: n.w, height: n.h, rx: n.state.Type === "Choice" ? 14 : 5, class: "box" }, group);
      const t = el("text", { x: x + n.w / 2, y: y + n.h / 2 + 4, "text-anchor": "middle" }, group);
      t.textContent = n.name;
    }
  }
}

function edge(g, x1, y1, x2, y2, text, kind) {
  const my = (y1 + y2) / 2;
  el("path", { d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 2}`, class: `edge edge-${kind}`, "marker-end": "url(#arrow)" }, g);
  if (text) label(g, (x1 + x2) / 2, my, text, kind, "middle");
}

function label(g, x, y, text, kind, anchor) {
  const t = el("text", { x, y: y + 4, "text-anchor": anchor, class: `edge-label edge-label-${kind}` }, g);
  t.textContent = text;
}

// Draw `definition` (an ASL object) into a new <svg>; returns it.
export function renderGraph(definition) {
  const lay = layoutBlock(definition);
  // Room on both sides for the labels of edges routed beside the rows.
  const margin = 160;
  const width = lay.w + 2 * margin;
  const svg = el("svg", { class: "graph", width, height: lay.h, viewBox: `${-margin} 0 ${width} ${lay.h}` });
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);
  drawBlock(svg, lay, 0, 0);
  // Nodes above edges so labels never hide a state.
  for (const n of [...svg.querySelectorAll("g.state")].filter((g) => !g.querySelector(".container"))) svg.appendChild(n);
  return svg;
}

// Every state name in a definition, nested ones included.
export function stateNames(definition) {
  const out = [];
  const walk = (block) => {
    for (const [name, s] of Object.entries(block.States || {})) {
      out.push(name);
      (s.Branches || []).forEach(walk);
      if (s.ItemProcessor || s.Iterator) walk(s.ItemProcessor || s.Iterator);
    }
  };
  walk(definition);
  return out;
}
