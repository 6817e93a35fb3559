// tracewidget's frontend: the anywidget entry point (bundled into tracewidget/static/widget.js).
//
// Python owns the data and does all the maths; the parts here draw the traits and turn clicks
// into trait writes (selection, the controls) and messages (js/protocol.js). `render` only
// assembles the parts (navigation, controls, status bar, view) and subscribes them to the model.
// Nothing here touches `document` at import time: the bundle is also imported by node for a
// smoke test, and anywidget may import it before any view exists.

import { createControls } from "./controls.js";
import { button, el, listener } from "./dom.js";
import { downloadBlob, exportFilename, svgToPng, viewSvg } from "./export.js";
import { createNavigation } from "./navigation.js";
import { CONTROLS, MESSAGES, setTrait } from "./protocol.js";
import { createStatusBar } from "./statusbar.js";
import { css } from "./style.js";
import { createView } from "./view.js";

/**
 * The tooltip: [name, text] lines at client coordinates (x, y) inside `root`, or hidden.
 * @param {Document} doc
 * @param {HTMLElement} root
 */
export function createTooltip(doc, root) {
  const element = el(doc, "div", "tracewidget-tooltip");
  element.hidden = true;
  /**
   * @param {[string, string][] | null} lines
   * @param {number} x
   * @param {number} y
   */
  function show(lines, x, y) {
    if (!lines) {
      element.hidden = true;
      return;
    }
    element.replaceChildren(...lines.map(([name, value]) => {
      const line = el(doc, "div");
      line.append(el(doc, "span", "tracewidget-tooltip-name", `${name}: `), value);
      return line;
    }));
    element.hidden = false;
    const box = root.getBoundingClientRect();
    const left = x - box.left + 12;
    const flip = left + element.offsetWidth > root.clientWidth;
    element.style.left = `${Math.max(0, flip ? x - box.left - element.offsetWidth - 12 : left)}px`;
    element.style.top = `${y - box.top + 12}px`;
  }
  return { element, show };
}

/**
 * The PNG, SVG and JSON buttons. PNG and SVG carry the view's title, context and legend.
 * @param {Document} doc
 * @param {import("./protocol.js").Model} model
 * @param {import("./dom.js").Listen} listen
 * @param {HTMLElement} root
 * @param {string} id
 * @param {() => {text: {title: string, context: [string, string][], legend: string},
 *   svgs: SVGSVGElement[], crumb: string} | null} current  what is on screen
 * @param {(err: unknown) => void} failed
 */
export function createExports(doc, model, listen, root, id, current, failed) {
  const element = el(doc, "div", "tracewidget-group tracewidget-export");
  const png = button(doc, "tracewidget-export-png", "PNG", "download the view as PNG");
  const svg = button(doc, "tracewidget-export-svg", "SVG", "download the view as SVG");
  const json = button(doc, "tracewidget-export-json", "JSON", "download the grids as JSON");
  element.append(png, svg, json);
  const requests = new Set();
  let count = 0;

  listen(svg, "click", () => {
    const shown = current();
    if (!shown) return;
    try {
      const out = viewSvg(root, shown.text, shown.svgs);
      downloadBlob(root, new Blob([out.text], { type: "image/svg+xml" }),
        exportFilename(shown.crumb, "svg"));
    } catch (err) {
      failed(err);
    }
  });
  listen(png, "click", () => {
    const shown = current();
    if (!shown) return;
    try {
      const out = viewSvg(root, shown.text, shown.svgs);
      svgToPng(doc, out, 2).then((blob) =>
        downloadBlob(root, blob, exportFilename(shown.crumb, "png")), failed);
    } catch (err) {
      failed(err);
    }
  });
  listen(json, "click", () => {
    count += 1;
    const request = `${id}-${count}`;
    requests.add(request);
    model.send({ type: MESSAGES.exportJson, request });
  });

  /** @param {any} msg  Python's answer to an export_json request */
  function onMessage(msg) {
    if (msg?.type !== MESSAGES.exportJson || !requests.delete(msg.request)) return;
    downloadBlob(root, new Blob([String(msg.text ?? "")], { type: "application/json" }),
      String(msg.filename || exportFilename(current()?.crumb ?? "", "json")));
  }
  return { element, onMessage };
}

/**
 * anywidget's render: draw the widget into `el`; returns the cleanup anywidget calls when the
 * view is removed.
 * @param {{model: import("./protocol.js").Model, el: HTMLElement}} props
 * @returns {() => void}
 */
function render({ model, el: host }) {
  const doc = host.ownerDocument;
  // Ids inside SVG (patterns, gradients, cells) must be unique in the page, and two widgets can
  // each load their own copy of this module: a random prefix, not a module-level counter.
  const id = `tracewidget-${Math.random().toString(36).slice(2, 10)}`;
  const abort = new AbortController();
  const listen = listener(abort.signal);
  const style = el(doc, "style");
  style.textContent = css;
  const root = el(doc, "div", "tracewidget-root");
  root.dataset.renders = "0";
  let renders = 0;
  /** an error drawing the traits (a bug or a malformed grid), shown like a Python error */
  /** @type {{message: string, detail: string} | null} */
  let drawError = null;

  /** @returns {import("./protocol.js").View[]} */
  const views = () => model.get("views") ?? [];
  const viewIndex = () => /** @type {number} */ (model.get("view_index") ?? -1);

  const tooltip = createTooltip(doc, root);
  const nav = createNavigation(doc, model, listen);
  const controls = createControls(doc, model, listen);
  const status = createStatusBar(doc, model, listen);
  const view = createView(doc, model, id, {
    select: (grid, row, col) => setTrait(model, "selection", { grid, row, col }),
    refine: (grid, row, col) =>
      model.send({ type: MESSAGES.refine, view: viewIndex(), grid, row, col }),
    hover: tooltip.show,
  }, abort.signal);
  const exports = createExports(doc, model, listen, root, id, () => {
    const shown = views()[viewIndex()];
    if (!shown || !view.heatmaps.length) return null;
    return { text: { title: shown.title ?? "", context: shown.context ?? [],
      legend: view.legendText() }, svgs: view.heatmaps.map((h) => h.svg), crumb: shown.crumb };
  }, (err) => {
    drawError = { message: `Export failed: ${/** @type {Error} */ (err).message}`, detail: "" };
    drawStatus();
  });
  const toolbar = el(doc, "div", "tracewidget-bar tracewidget-toolbar");
  toolbar.append(controls.element, el(doc, "span", "tracewidget-spacer"), exports.element);
  root.append(nav.element, toolbar, status.element, view.element, tooltip.element);
  host.replaceChildren(style, root);

  function drawStatus() {
    const index = viewIndex();
    root.dataset.state = status.draw(views()[index], index, drawError);
    view.drawMarks(index);
  }

  /**
   * Draw the current view: on views, view_index, value_kind and colour_scale changes. While a
   * sweep runs the same grids come back with more cells filled in; the heatmaps repaint those
   * in place.
   */
  function drawView() {
    const all = views();
    const index = viewIndex();
    root.dataset.viewIndex = String(index);
    root.dataset.views = String(all.length);
    nav.draw(all, index);
    drawError = null;
    try {
      view.draw(all[index], model.get("status")?.state === "running");
    } catch (err) {
      const error = /** @type {Error} */ (err);
      drawError = { message: `Could not draw this view: ${error.message}`,
        detail: error.stack ?? "" };
    }
    drawStatus();
    renders += 1;
    root.dataset.renders = String(renders);
  }

  /** @type {[string, (...args: any[]) => void][]} */
  const subscriptions = [
    ["change:views", drawView],
    ["change:view_index", drawView],
    ["change:value_kind", () => { drawView(); controls.draw(); }],
    ["change:colour_scale", () => { drawView(); controls.draw(); }],
    ["change:selection", () => view.drawMarks(viewIndex())],
    ["change:status", drawStatus],
    ...CONTROLS.map((name) => /** @type {[string, () => void]} */ ([`change:${name}`,
      controls.draw])),
    ["msg:custom", exports.onMessage],
  ];
  for (const [event, callback] of subscriptions) model.on(event, callback);
  controls.draw();
  drawView();

  return () => {
    for (const [event, callback] of subscriptions) model.off(event, callback);
    abort.abort();
  };
}

export default { render };
