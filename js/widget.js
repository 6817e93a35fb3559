// tracewidget's frontend: the anywidget entry point (bundled into tracewidget/static/widget.js).
//
// Python owns the data and does all the maths; this file draws the traits and turns clicks into
// trait writes (selection, value_kind, the controls) and messages (refine, cancel, navigate,
// export_json). Nothing here touches `document` at import time: the bundle is also imported by
// node for a smoke test, and anywidget may import it before any view exists.

import { downloadBlob, exportFilename, svgToPng, viewSvg } from "./export.js";
import { Heatmap } from "./heatmap.js";
import { progressText } from "./labels.js";
import { css } from "./style.js";

/**
 * The controls Python reruns the overview for, with their options ([value, label]); value_kind
 * only changes what is drawn.
 * @type {Record<string, [string, string][]>}
 */
const CHOICES = {
  experiment: [["restore", "restore"], ["ablate", "ablate"], ["noise", "noise trace"]],
  component: [["resid", "residual"], ["mlp", "MLP"], ["attn", "attention"]],
  metric: [["prob", "probability"], ["logprob", "log probability"],
    ["logit_diff", "logit difference"]],
  value_kind: [["score", "score"], ["effect", "effect"], ["normalized", "normalized effect"]],
};
const NUMBERS = ["window", "samples"];
const LABELS = /** @type {Record<string, string>} */ ({
  experiment: "experiment", component: "component", metric: "metric", value_kind: "show",
  window: "window", samples: "samples",
});

/**
 * @typedef {object} View  one entry of the breadcrumb (`views` trait)
 * @property {string} title
 * @property {string} crumb
 * @property {import("./heatmap.js").Grid[]} grids
 */

/**
 * @typedef {object} Model  the part of anywidget's model interface used here
 * @property {(name: string) => any} get
 * @property {(name: string, value: any) => void} set
 * @property {() => void} save_changes
 * @property {(content: any) => void} send
 * @property {(event: string, callback: (...args: any[]) => void) => void} on
 * @property {(event: string, callback: (...args: any[]) => void) => void} off
 */

/**
 * @param {Document} doc
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]  set as textContent (never parsed as markup)
 * @returns {HTMLElement}
 */
function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {Document} doc
 * @param {string} className
 * @param {string} text
 * @param {string} [tooltip]
 * @returns {HTMLButtonElement}
 */
function button(doc, className, text, tooltip) {
  const node = /** @type {HTMLButtonElement} */ (
    el(doc, "button", `tracewidget-button ${className}`, text));
  node.type = "button";
  if (tooltip) node.title = tooltip;
  // JupyterLab: Enter/Space here press the button instead of running notebook shortcuts.
  node.setAttribute("data-lm-suppress-shortcuts", "true");
  return node;
}

/**
 * anywidget's render: draw the widget into `el`; returns the cleanup anywidget calls when the
 * view is removed.
 * @param {{model: Model, el: HTMLElement}} props
 * @returns {() => void}
 */
function render({ model, el: host }) {
  const doc = host.ownerDocument;
  // Ids inside SVG (patterns, gradients, cells) must be unique in the page, and two widgets can
  // each load their own copy of this module: a random prefix, not a module-level counter.
  const id = `tracewidget-${Math.random().toString(36).slice(2, 10)}`;
  const abort = new AbortController();
  const { signal } = abort;
  const listen = (/** @type {EventTarget} */ target, /** @type {string} */ type,
    /** @type {(e: any) => void} */ fn) => target.addEventListener(type, fn, { signal });

  const style = el(doc, "style");
  style.textContent = css;
  const root = el(doc, "div", "tracewidget-root");
  root.dataset.renders = "0";

  // --- navigation: back, forward, breadcrumb ----------------------------------------------
  const nav = el(doc, "div", "tracewidget-bar tracewidget-nav");
  const back = button(doc, "tracewidget-back", "◀ Back", "previous view");
  const forward = button(doc, "tracewidget-forward", "Forward ▶", "next view");
  const crumbs = el(doc, "nav", "tracewidget-breadcrumb");
  crumbs.setAttribute("aria-label", "views");
  const crumbList = el(doc, "ol");
  crumbs.append(crumbList);
  nav.append(back, forward, crumbs);

  // --- controls and export ------------------------------------------------------------------
  const toolbar = el(doc, "div", "tracewidget-bar tracewidget-toolbar");
  const controls = el(doc, "div", "tracewidget-group tracewidget-controls");
  /** @type {Record<string, HTMLSelectElement | HTMLInputElement>} */
  const inputs = {};
  for (const name of [...Object.keys(CHOICES), ...NUMBERS]) {
    const label = el(doc, "label", `tracewidget-control tracewidget-control-${name}`);
    let input;
    if (name in CHOICES) {
      input = /** @type {HTMLSelectElement} */ (el(doc, "select"));
      for (const [value, text] of CHOICES[name]) {
        const option = /** @type {HTMLOptionElement} */ (el(doc, "option", undefined, text));
        option.value = value;
        input.append(option);
      }
    } else {
      input = /** @type {HTMLInputElement} */ (el(doc, "input"));
      input.type = "number";
      input.min = "1";
      input.step = "1";
    }
    input.name = name;
    input.setAttribute("data-lm-suppress-shortcuts", "true");
    label.append(el(doc, "span", undefined, LABELS[name]), input);
    controls.append(label);
    inputs[name] = input;
    listen(input, "change", () => onControl(name));
  }
  const exports = el(doc, "div", "tracewidget-group tracewidget-export");
  const png = button(doc, "tracewidget-export-png", "PNG", "download the view as PNG");
  const svg = button(doc, "tracewidget-export-svg", "SVG", "download the view as SVG");
  const json = button(doc, "tracewidget-export-json", "JSON", "download the grids as JSON");
  exports.append(png, svg, json);
  toolbar.append(controls, el(doc, "span", "tracewidget-spacer"), exports);

  // --- progress, status, errors -----------------------------------------------------------
  const progress = el(doc, "div", "tracewidget-progress");
  const bar = /** @type {HTMLProgressElement} */ (el(doc, "progress"));
  const progressLabel = el(doc, "span", "tracewidget-progress-text");
  const cancel = button(doc, "tracewidget-cancel", "Cancel", "stop the running sweep");
  progress.append(bar, progressLabel, cancel);
  const statusLine = el(doc, "div", "tracewidget-status");
  statusLine.setAttribute("aria-live", "polite");
  const errorBox = el(doc, "div", "tracewidget-error");
  errorBox.setAttribute("role", "alert");
  const errorMessage = el(doc, "div", "tracewidget-error-message");
  const errorDetails = /** @type {HTMLDetailsElement} */ (el(doc, "details"));
  const errorDetail = el(doc, "pre");
  errorDetails.append(el(doc, "summary", undefined, "details"), errorDetail);
  errorBox.append(errorMessage, errorDetails);

  // --- the view -------------------------------------------------------------------------------
  const viewTitle = el(doc, "div", "tracewidget-view-title");
  const gridsBox = el(doc, "div", "tracewidget-grids");
  const placeholder = el(doc, "div", "tracewidget-placeholder");
  const tooltip = el(doc, "div", "tracewidget-tooltip");
  tooltip.hidden = true;

  root.append(nav, toolbar, progress, statusLine, errorBox, viewTitle, gridsBox, placeholder,
    tooltip);
  host.replaceChildren(style, root);

  /** @type {Heatmap[]} */
  const heatmaps = [];
  let renders = 0;
  let crumbKey = "";
  /** an error drawing the traits (a bug or a malformed grid), shown like a Python error */
  /** @type {{message: string, detail: string} | null} */
  let drawError = null;
  /** export_json requests this view sent and has not had an answer for */
  const exportRequests = new Set();
  let exportCount = 0;

  /** @returns {View[]} */
  const views = () => model.get("views") ?? [];
  const viewIndex = () => /** @type {number} */ (model.get("view_index") ?? -1);

  /**
   * @param {string} name
   * @param {any} value
   */
  function setTrait(name, value) {
    model.set(name, value);
    model.save_changes();
  }

  // --- drawing ----------------------------------------------------------------------------

  /** @type {import("./heatmap.js").HeatmapHandlers} */
  const handlers = {
    select: (grid, row, col) => setTrait("selection", { grid, row, col }),
    refine: (grid, row, col) => model.send({ type: "refine", view: viewIndex(), grid, row, col }),
    hover: showTooltip,
  };

  /**
   * Draw the current view: on views, view_index and value_kind changes. While a sweep runs the
   * same grids come back with more cells filled in; the heatmaps repaint those in place.
   */
  function drawView() {
    const all = views();
    const index = viewIndex();
    root.dataset.viewIndex = String(index);
    root.dataset.views = String(all.length);
    drawNav(all, index);
    const view = all[index];
    const grids = view?.grids ?? [];
    viewTitle.textContent = view?.title ?? "";
    viewTitle.hidden = !view;
    try {
      drawError = null;
      for (const stale of heatmaps.splice(grids.length)) stale.svg.remove();
      grids.forEach((grid, i) => {
        if (!heatmaps[i]) {
          heatmaps[i] = new Heatmap(doc, `${id}-g${i}`, handlers, signal);
          gridsBox.append(heatmaps[i].svg);
        }
        heatmaps[i].update(grid, i, model.get("value_kind") ?? "score");
      });
    } catch (err) {
      const error = /** @type {Error} */ (err);
      drawError = { message: `Could not draw this view: ${error.message}`,
        detail: error.stack ?? "" };
    }
    drawSelection();
    drawStatus();
    renders += 1;
    root.dataset.renders = String(renders);
  }

  /**
   * @param {View[]} all
   * @param {number} index
   */
  function drawNav(all, index) {
    back.disabled = index <= 0;
    forward.disabled = index >= all.length - 1;
    // Rebuild the breadcrumb only when it changed: views change on every batch of a sweep, and
    // rebuilding would drop the focus of a keyboard user on a crumb.
    const key = JSON.stringify([index, all.map((v) => v.crumb)]);
    if (key === crumbKey) return;
    crumbKey = key;
    crumbList.replaceChildren(...all.map((view, i) => {
      const item = el(doc, "li");
      const crumb = button(doc, "tracewidget-crumb", String(view.crumb ?? i),
        String(view.title ?? ""));
      crumb.classList.remove("tracewidget-button");
      crumb.dataset.index = String(i);
      if (i === index) crumb.setAttribute("aria-current", "page");
      item.append(crumb);
      return item;
    }));
  }

  function drawSelection() {
    const sel = model.get("selection") ?? {};
    heatmaps.forEach((heatmap, i) => heatmap.setSelected(sel.grid === i ? sel : null));
  }

  function drawStatus() {
    const status = model.get("status") ?? {};
    const state = status.state ?? "idle";
    root.dataset.state = state;
    const running = state === "running";
    progress.hidden = !running;
    if (running) {
      // No total yet (the sweep is being planned): an indeterminate bar.
      if (status.total > 0) {
        bar.max = status.total;
        bar.value = status.done ?? 0;
      } else {
        bar.removeAttribute("value");
      }
      progressLabel.textContent = progressText(status);
    }
    const error = drawError ?? (state === "error"
      ? { message: status.message || "error", detail: status.detail || "" } : null);
    errorBox.hidden = !error;
    errorMessage.textContent = error?.message ?? "";
    errorDetail.textContent = error?.detail ?? "";
    errorDetails.hidden = !error?.detail;
    statusLine.textContent = state === "error" ? "" : status.message ?? "";
    statusLine.hidden = !statusLine.textContent;
    const empty = heatmaps.length === 0;
    placeholder.hidden = !empty;
    placeholder.textContent = running ? "Computing…" : "Nothing to show yet.";
  }

  function drawControls() {
    const enabled = model.get("controls_enabled") ?? {};
    for (const [name, input] of Object.entries(inputs)) {
      const value = model.get(name);
      // controls_enabled[name]: a list of the allowed values (false or [] disables the control);
      // absent or true: everything is allowed.
      const allowed = name in enabled ? (enabled[name] || []) : null;
      input.disabled = Array.isArray(allowed) && allowed.length === 0;
      if (name in CHOICES) {
        const select = /** @type {HTMLSelectElement} */ (input);
        // A value the options do not list (e.g. a custom metric) is shown as it is.
        if (value != null && ![...select.options].some((o) => o.value === String(value))) {
          const option = /** @type {HTMLOptionElement} */ (
            el(doc, "option", undefined, String(value)));
          option.value = String(value);
          select.append(option);
        }
        for (const option of select.options) {
          option.disabled = Array.isArray(allowed) && !allowed.includes(option.value);
        }
      }
      if (value != null) input.value = String(value);
    }
  }

  /** @param {string} name */
  function onControl(name) {
    const input = inputs[name];
    if (name in CHOICES) {
      setTrait(name, input.value);
      return;
    }
    const n = Number(input.value);
    if (Number.isInteger(n) && n >= 1) setTrait(name, n);
    else input.value = String(model.get(name)); // not a whole number >= 1: put the old one back
  }

  /**
   * @param {[string, string][] | null} lines
   * @param {number} x  client coordinates of the pointer (or of the cell's corner)
   * @param {number} y
   */
  function showTooltip(lines, x, y) {
    if (!lines) {
      tooltip.hidden = true;
      return;
    }
    tooltip.replaceChildren(...lines.map(([name, value]) => {
      const line = el(doc, "div");
      line.append(el(doc, "span", "tracewidget-tooltip-name", `${name}: `), value);
      return line;
    }));
    tooltip.hidden = false;
    const box = root.getBoundingClientRect();
    const left = x - box.left + 12;
    const flip = left + tooltip.offsetWidth > root.clientWidth;
    tooltip.style.left = `${Math.max(0, flip ? x - box.left - tooltip.offsetWidth - 12 : left)}px`;
    tooltip.style.top = `${y - box.top + 12}px`;
  }

  // --- exports ----------------------------------------------------------------------------

  function currentView() {
    return views()[viewIndex()];
  }

  function exportedSvg() {
    const view = currentView();
    return view && heatmaps.length
      ? viewSvg(root, view.title ?? "", heatmaps.map((h) => h.svg)) : null;
  }

  /** @param {unknown} err */
  function exportFailed(err) {
    drawError = { message: `Export failed: ${/** @type {Error} */ (err).message}`, detail: "" };
    drawStatus();
  }

  listen(svg, "click", () => {
    const out = exportedSvg();
    if (!out) return;
    try {
      downloadBlob(root, new Blob([out.text], { type: "image/svg+xml" }),
        exportFilename(currentView().crumb, "svg"));
    } catch (err) {
      exportFailed(err);
    }
  });
  listen(png, "click", () => {
    const out = exportedSvg();
    if (!out) return;
    const filename = exportFilename(currentView().crumb, "png");
    svgToPng(doc, out, 2).then((blob) => downloadBlob(root, blob, filename), exportFailed);
  });
  listen(json, "click", () => {
    exportCount += 1;
    const request = `${id}-${exportCount}`;
    exportRequests.add(request);
    model.send({ type: "export_json", request });
  });

  /** @param {any} msg */
  function onCustom(msg) {
    if (msg?.type !== "export_json" || !exportRequests.delete(msg.request)) return;
    downloadBlob(root, new Blob([String(msg.text ?? "")], { type: "application/json" }),
      String(msg.filename || exportFilename(currentView()?.crumb ?? "", "json")));
  }

  // --- wiring -------------------------------------------------------------------------------

  listen(back, "click", () => model.send({ type: "navigate", index: viewIndex() - 1 }));
  listen(forward, "click", () => model.send({ type: "navigate", index: viewIndex() + 1 }));
  listen(crumbList, "click", (event) => {
    const crumb = /** @type {Element} */ (event.target).closest?.(".tracewidget-crumb");
    if (crumb && crumb.getAttribute("aria-current") !== "page") {
      model.send({ type: "navigate", index: Number(crumb.getAttribute("data-index")) });
    }
  });
  listen(cancel, "click", () => model.send({ type: "cancel" }));

  /** @type {[string, () => void][]} */
  const subscriptions = [
    ["change:views", drawView],
    ["change:view_index", drawView],
    ["change:value_kind", () => {
      drawView();
      drawControls();
    }],
    ["change:selection", drawSelection],
    ["change:status", drawStatus],
    ["change:controls_enabled", drawControls],
    ...["experiment", "component", "metric", "window", "samples"].map(
      (name) => /** @type {[string, () => void]} */ ([`change:${name}`, drawControls])),
    ["msg:custom", onCustom],
  ];
  for (const [event, callback] of subscriptions) model.on(event, callback);

  drawControls();
  drawView();

  return () => {
    for (const [event, callback] of subscriptions) model.off(event, callback);
    abort.abort();
  };
}

export default { render };
