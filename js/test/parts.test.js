// The widget's parts (controls, navigation, status bar, view, the whole render) against a fake
// anywidget model, in happy-dom.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import { Window } from "happy-dom";

import { createControls } from "../controls.js";
import { listener } from "../dom.js";
import { createNavigation } from "../navigation.js";
import { createStatusBar, statusLineText } from "../statusbar.js";
import { createView } from "../view.js";
import widget from "../widget.js";

const window = new Window();
const { document } = window;
after(() => window.happyDOM.close());

/** A fake anywidget model: traits in a dict, `set` fires change events, sends are recorded. */
function fakeModel(traits = {}) {
  /** @type {Map<string, Set<Function>>} */
  const listeners = new Map();
  const model = {
    traits: { views: [], view_index: -1, status: { state: "idle", message: "", view: -1 },
      selection: {}, value_kind: "score", colour_scale: "shared", experiment: "restore",
      component: "resid", metric: "prob", window: 3, samples: 10, subject: "Eiffel",
      ...traits },
    sent: [],
    saves: 0,
    get: (name) => model.traits[name],
    set(name, value) {
      model.traits[name] = value;
      model.emit(`change:${name}`);
    },
    save_changes() { model.saves += 1; },
    send: (content) => model.sent.push(content),
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
    },
    off(event, fn) { listeners.get(event)?.delete(fn); },
    emit(event, ...args) { for (const fn of listeners.get(event) ?? []) fn(...args); },
    listening: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
  return model;
}

const signal = () => new AbortController().signal;

/** A grid trait as Python's grid_payload sends it. */
function gridPayload(key, component, scores, clean = 0.8, corrupt = 0.02) {
  const s = new Float32Array(scores);
  return {
    key, title: `${component} restored at ' of', one layer per row`, component,
    experiment: "restore", metric: "prob", metric_label: 'p(" Paris")', row_name: "layer",
    col_name: "token", row_labels: scores.map((_, i) => `L${i}`), col_labels: [" of"],
    subject: [], rows: scores.length, cols: 1, scores: s,
    effects: s.map((v) => v - corrupt), normalized: s.map((v) => (v - corrupt) / (clean - corrupt)),
    estimated: null, clean_score: clean, corrupt_score: corrupt, refinable: true,
    done: scores.filter((v) => !Number.isNaN(v)).length, total: scores.length,
  };
}

const STRIPS = {
  title: "mlp and attn at token ' of'", crumb: "L1 ' of'", summary: "12 cells in 1.0 s",
  context: [["model", "factlm (6 layers)"], ["target", '" Paris"'], ["metric", 'p(" Paris")']],
  grids: [gridPayload("1.0", "mlp", [0.02, 0.02, 0.021, 0.02, 0.02, 0.07]),
    gridPayload("1.1", "attn", [0.02, 0.75, 0.5, 0.13, 0.09, 0.02])],
};

/** 0 (white) .. 765 (black) */
const darkness = (hex) => [1, 3, 5].reduce((sum, i) => sum + 255 - Number.parseInt(
  hex.slice(i, i + 2), 16), 0);

test("controls: Enter applies a field, an unusable value is put back, draw follows Python", () => {
  const model = fakeModel();
  const { element, draw, inputs } = createControls(document, model, listener(signal()));
  document.body.append(element);
  draw();
  assert.equal(inputs.window.value, "3");
  inputs.window.value = "5";
  inputs.window.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
  assert.equal(model.traits.window, 5);
  assert.equal(model.saves, 1);
  inputs.window.value = "0";
  inputs.window.dispatchEvent(new window.Event("change"));
  assert.equal(inputs.window.value, "5", "not a whole number >= 1: the old value");
  inputs.subject.value = "  Eiffel Tower ";
  inputs.subject.dispatchEvent(new window.KeyboardEvent("keydown", { key: "Enter" }));
  assert.equal(model.traits.subject, "Eiffel Tower");
  model.traits.subject = "The Metropolitan Museum of Art";
  draw();
  assert.ok(inputs.subject.size > "The Metropolitan Museum of Art".length,
    "the subject field shows all of a long subject");
  model.traits.experiment = "restore"; // Python put a failed switch back
  inputs.experiment.value = "noise";
  draw();
  assert.equal(inputs.experiment.value, "restore");
  inputs.colour_scale.value = "panel";
  inputs.colour_scale.dispatchEvent(new window.Event("change"));
  assert.equal(model.traits.colour_scale, "panel");
});

test("navigation: Back is disabled on the first view, a crumb sends navigate", () => {
  const model = fakeModel({ view_index: 1 });
  const nav = createNavigation(document, model, listener(signal()));
  document.body.append(nav.element);
  nav.draw([{ crumb: "resid", title: "a" }, { crumb: "L1 ' of'", title: "b" }], 1);
  const [back, forward] = nav.element.querySelectorAll("button");
  assert.equal(back.disabled, false);
  assert.equal(forward.disabled, true);
  nav.element.querySelector('.tracewidget-crumb[data-index="0"]').click();
  assert.deepEqual(model.sent, [{ type: "navigate", index: 0 }]);
  nav.draw([{ crumb: "resid", title: "a" }], 0);
  assert.equal(nav.element.querySelector(".tracewidget-back").disabled, true);
});

test("status bar: progress, the queued click, Resume, and a line about the view on screen", () => {
  const model = fakeModel({ status: { state: "running", message: "computing mlp and attn",
    done: 3, total: 12, eta_seconds: 2, pending: "next: L1 ' Tower' of resid; it replaces the " +
    "earlier pending click", view: 2, clicked: null, resumable: false, detail: "" } });
  const bar = createStatusBar(document, model, listener(signal()));
  document.body.append(bar.element);
  const overview = { title: "restore: resid by layer and token", summary: "54 cells in 1 s" };
  assert.equal(bar.draw(overview, 0, null), "running");
  assert.match(bar.element.querySelector(".tracewidget-progress-text").textContent,
    /^computing mlp and attn: 3\/12 cells, ~2 s left$/);
  assert.match(bar.element.querySelector(".tracewidget-pending").textContent, /replaces/);
  assert.equal(bar.element.querySelector(".tracewidget-status").textContent,
    "restore: resid by layer and token: 54 cells in 1 s");
  model.traits.status = { state: "cancelled", message: "cancelled: at 3/12 cells", view: 1,
    resumable: true, pending: "", done: 3, total: 12 };
  bar.draw(STRIPS, 1, null);
  const resume = bar.element.querySelector(".tracewidget-resume");
  assert.equal(resume.closest(".tracewidget-resume-box").hidden, false);
  resume.click();
  assert.deepEqual(model.sent, [{ type: "resume" }]);
  assert.equal(statusLineText(model.traits.status, STRIPS, 1), "cancelled: at 3/12 cells");
  assert.equal(statusLineText(model.traits.status, overview, 0),
    "restore: resid by layer and token: 54 cells in 1 s", "after Back: the view on screen");
});

test("view: panels share one scale, so the near-zero mlp strip is drawn near white", () => {
  const model = fakeModel({ views: [STRIPS], view_index: 0 });
  const view = createView(document, model, "t", { select() {}, refine() {}, hover() {} },
    signal());
  document.body.append(view.element);
  view.draw(STRIPS, false);
  const fills = (i) => [...view.heatmaps[i].svg.querySelectorAll("rect.tracewidget-cell")]
    .map((c) => darkness(c.getAttribute("fill")));
  assert.ok(Math.max(...fills(1)) > 300);
  assert.ok(Math.max(...fills(0)) < 0.25 * Math.max(...fills(1)));
  assert.equal(view.heatmaps[0].svg.getAttribute("data-scale"),
    view.heatmaps[1].svg.getAttribute("data-scale"));
  assert.match(view.element.querySelector(".tracewidget-context").textContent, /p\(" Paris"\)/);
  assert.match(view.heatmaps[0].svg.querySelector(".tracewidget-colourbar").textContent,
    /p\(" Paris"\)/);
  model.traits.colour_scale = "panel";
  view.draw(STRIPS, false);
  assert.ok(Math.max(...fills(0)) > 300, "each panel its own range");
  model.traits.status = { state: "running", clicked: { view: 0, grid: 1, row: 2, col: 0,
    queued: true } };
  view.drawMarks(0);
  assert.equal(view.heatmaps[1].svg.querySelector(".tracewidget-queued").getAttribute(
    "data-queued"), "queued");
});

test("render: draws the traits, redraws on changes and lets go of the model on cleanup", () => {
  const model = fakeModel({ views: [STRIPS], view_index: 0,
    status: { state: "idle", message: "done", view: 0 } });
  const host = document.createElement("div");
  document.body.append(host);
  const cleanup = widget.render({ model, el: host });
  const root = host.querySelector(".tracewidget-root");
  assert.equal(root.dataset.renders, "1");
  assert.equal(host.querySelectorAll("svg.tracewidget-heatmap").length, 2);
  model.set("value_kind", "normalized");
  assert.equal(root.dataset.renders, "2");
  assert.equal(host.querySelector("svg.tracewidget-heatmap").getAttribute("data-scale"), "[-1,1]");
  host.querySelector('rect.tracewidget-cell[data-row="1"]').dispatchEvent(
    new window.MouseEvent("click", { bubbles: true }));
  assert.deepEqual(model.sent.at(-1), { type: "refine", view: 0, grid: 0, row: 1, col: 0 });
  cleanup();
  assert.equal(model.listening(), 0);
});

test("view: panels line up even when one title wraps to more lines", () => {
  const long = { ...STRIPS, grids: [STRIPS.grids[0], { ...STRIPS.grids[1],
    title: "attn restored at ' of', 10 layers centred on the row, 10 noise samples" }] };
  const model = fakeModel({ views: [long], view_index: 0 });
  const view = createView(document, model, "u", { select() {}, refine() {}, hover() {} },
    signal());
  view.draw(long, false);
  const firstY = (i) => view.heatmaps[i].svg.querySelector("rect.tracewidget-cell")
    .getAttribute("y");
  assert.equal(firstY(0), firstY(1));
});

test("view: a noise trace still filling by samples stripes its uncertain cells", () => {
  const noise = (samplesDone, ci) => ({ ...gridPayload("0.0", "resid", [0.4, 0.9, 0.5, NaN],
    1.0, 0.4), experiment: "restore", title: "resid restored at each layer and token",
    samples: 10, samples_done: samplesDone, ci95: new Float32Array(ci) });
  const filling = { title: "noise trace: resid by layer and token", crumb: "resid",
    summary: "computing: 3/10 noise samples in", context: [],
    grids: [noise(3, [0.01, 0.3, 0.02, NaN])] };
  const model = fakeModel({ views: [filling], view_index: 0 });
  const view = createView(document, model, "n", { select() {}, refine() {}, hover() {} },
    signal());
  document.body.append(view.element);
  view.draw(filling, true);
  const svg = view.heatmaps[0].svg;
  const marked = () => [...svg.querySelectorAll("rect.tracewidget-cell")]
    .map((c) => c.getAttribute("data-uncertain"));
  assert.deepEqual(marked(), ["false", "true", "false", "false"]);
  const marks = svg.querySelectorAll("rect.tracewidget-uncertain");
  assert.equal(marks.length, 1);
  assert.equal(marks[0].getAttribute("y"), svg.querySelector('rect[data-row="1"]')
    .getAttribute("y"), "the stripes lie over the uncertain cell");
  assert.equal(marks[0].getAttribute("fill"), "url(#n-g0-uncertain)");
  assert.ok(svg.querySelector("pattern#n-g0-uncertain"), "the stripes are defined in the SVG");
  assert.match(svg.querySelector("rect[data-row=\"1\"]").getAttribute("aria-label"),
    /still uncertain/);
  const subtitle = [...svg.querySelectorAll(".tracewidget-subtitle")].map((t) => t.textContent)
    .join(" ");
  assert.match(subtitle, /3\/10 noise samples in/);
  assert.match(subtitle, /1 cell still uncertain \(striped\)/);
  assert.match(view.legendText(), /striped/);
  // every sample in: the stripes go (the spread stays in the tooltip)
  const done = { ...filling, grids: [noise(10, [0.01, 0.3, 0.02, NaN])] };
  view.draw(done, false);
  assert.deepEqual(marked(), ["false", "false", "false", "false"]);
  assert.equal(svg.querySelectorAll("rect.tracewidget-uncertain").length, 0);
});
