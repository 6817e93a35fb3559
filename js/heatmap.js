// One grid drawn as an SVG heatmap: a <rect> per cell, axis labels, a colourbar.
//
// A sweep sends the same grid many times while its cells fill in, so `update` rebuilds the SVG
// only when the layout changes (another grid, other labels) and otherwise repaints the cells in
// place, touching only the attributes whose value changed. The heatmap owns no state that
// matters: the selection lives in the `selection` trait and is handed back through `setSelected`.

import { uncertainCells } from "./colour.js";
import { axisLabel, describeCell, formatValue, wrapText } from "./labels.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// Geometry, in px. Labels are 11px text; CHAR_W is the width of one monospace character there,
// used to make room for labels without measuring them (measuring needs layout, which a hidden
// output does not have yet).
const PAD = 8;
const CHAR_W = 6.7;
const LINE = 15;
const AXIS_NAME = 18;
const BAR_GAP = 14;
const BAR_W = 12;
const TICK_W = 46;
/** The narrowest panel: its title and two subtitle lines fit without being cut. */
const MIN_WIDTH = 320;
const TITLE_CHAR_W = 7;
/** How many lines a panel title may wrap to (a longer one ends in "…"). */
const TITLE_LINES = 3;

/**
 * The grid trait, as Python sends it (see the widget's `grid_payload`).
 * @typedef {object} Grid
 * @property {string} key
 * @property {string} title
 * @property {string} component
 * @property {string} experiment
 * @property {string} metric
 * @property {string} metric_label
 * @property {string} row_name
 * @property {string} col_name
 * @property {string[]} row_labels
 * @property {string[]} col_labels
 * @property {number[]} subject
 * @property {number} rows
 * @property {number} cols
 * @property {DataView | ArrayBuffer | ArrayBufferView} scores
 * @property {DataView | ArrayBuffer | ArrayBufferView} effects
 * @property {DataView | ArrayBuffer | ArrayBufferView | null} normalized
 * @property {DataView | ArrayBuffer | ArrayBufferView | null} [estimated]  1 per cell still
 *   showing the attribution preview's estimate
 * @property {number | null} clean_score
 * @property {number | null} corrupt_score
 * @property {boolean} refinable
 * @property {number} done
 * @property {number} total
 * @property {DataView | ArrayBuffer | ArrayBufferView | null} [ci95]  noise traces: the 95%
 *   half-width of each cell's mean over the samples so far
 * @property {number | null} [samples]  noise traces: samples in all
 * @property {number | null} [samples_done]  noise traces: samples in so far
 */

/**
 * @typedef {object} HeatmapHandlers
 * @property {(grid: number, row: number, col: number) => void} select
 * @property {(grid: number, row: number, col: number) => void} refine
 * @property {(lines: [string, string][] | null, x: number, y: number) => void} hover
 *   show the tooltip at client coordinates (x, y), or hide it (null)
 */

/**
 * @param {Document} doc
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @returns {SVGElement}
 */
function svgEl(doc, tag, attrs = {}) {
  const node = doc.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/**
 * @param {number} v
 * @param {number} lo
 * @param {number} hi
 */
function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * The colourbar's caption for what is drawn.
 * @param {"score" | "effect" | "normalized"} kind
 * @param {string} metricLabel
 */
function colourbarLabel(kind, metricLabel) {
  if (kind === "score") return metricLabel;
  if (kind === "effect") return `effect on ${metricLabel}`;
  return "normalized effect";
}

/**
 * Where everything of a panel goes: cell sizes, the room the labels need, the title's lines
 * (at least `titleRows`), the colour bar. Pure: measures text by character counts.
 * @param {Grid} grid
 * @param {number} [titleRows]
 */
export function geometry(grid, titleRows = 1) {
  const { rows, cols } = grid;
  const rowLabels = Array.from({ length: rows }, (_, r) => axisLabel(grid.row_labels[r] ?? r));
  const subject = new Set(grid.subject ?? []);
  const colLabels = Array.from({ length: cols }, (_, c) =>
    axisLabel(grid.col_labels[c] ?? c) + (subject.has(c) ? "*" : ""));
  const cellW = clamp(Math.floor(560 / Math.max(1, cols)), 14, 36);
  const cellH = clamp(Math.floor(480 / Math.max(1, rows)), 6, 28);
  const gridW = cols * cellW;
  const gridH = rows * cellH;
  const longest = (/** @type {string[]} */ labels) =>
    labels.reduce((m, s) => Math.max(m, [...s].length), 0);
  // Column labels hang down-left at 45 degrees from below their column.
  const diag = longest(colLabels) * CHAR_W * Math.SQRT1_2 + 6;
  const left = Math.ceil(PAD + AXIS_NAME +
    Math.max(longest(rowLabels) * CHAR_W + 6, diag - cellW / 2));
  const width = Math.ceil(Math.max(left + gridW + BAR_GAP + BAR_W + TICK_W + LINE + PAD,
    MIN_WIDTH));
  const titleLines = wrapText(grid.title, Math.floor((width - 2 * PAD) / TITLE_CHAR_W),
    TITLE_LINES);
  // the title's lines, then two subtitle lines (scores and progress), then the cells
  const top = PAD + (Math.max(titleLines.length, titleRows) + 2) * LINE + 6;
  // the bar is at least as tall as its rotated caption (the longest: the effect's)
  const caption = [...colourbarLabel("effect", grid.metric_label)].length * CHAR_W;
  const barH = Math.max(gridH, 60, Math.ceil(caption) + 8);
  const height = Math.ceil(Math.max(top + gridH + diag + AXIS_NAME + PAD, top + barH + PAD));
  return { rowLabels, colLabels, subject, cellW, cellH, gridW, gridH, diag, left, width,
    titleLines, top, barH, height };
}

export class Heatmap {
  /**
   * @param {Document} doc
   * @param {string} id  unique in the document: prefixes the SVG ids (pattern, gradient, cells)
   * @param {HeatmapHandlers} handlers
   * @param {AbortSignal} signal  removes the event listeners when the view goes away
   */
  constructor(doc, id, handlers, signal) {
    this.doc = doc;
    this.id = id;
    this.handlers = handlers;
    /** which grid of the view this is (for messages and the selection trait) */
    this.index = 0;
    /** @type {Grid | null} */
    this.grid = null;
    /** @type {import("./decode.js").GridValues} */
    this.values = { scores: new Float32Array(0), effects: new Float32Array(0), normalized: null,
      estimated: null, ci95: null };
    /** @type {string | null} */
    this.layoutKey = null;
    /** @type {SVGRectElement[]} row-major, one per cell */
    this.cells = [];
    /** last written fill / data-value / aria-label per cell, to skip unchanged DOM writes */
    /** @type {string[]} */
    this.fills = [];
    /** @type {(string | null)[]} */
    this.dataValues = [];
    /** @type {string[]} */
    this.arias = [];
    /** @type {string | null} the cells striped as uncertain, as last drawn (null: not yet) */
    this.uncertainKey = null;
    /** @type {{row: number, col: number} | null} */
    this.selected = null;
    /** @type {SVGElement | null} the dashed outline of a clicked cell whose sweep is queued */
    this.queuedOutline = null;
    // Parts made by `build` that `paint` and `setSelected` change.
    /** @type {SVGElement[]} */
    this.subtitles = [];
    /** @type {SVGElement | null} */
    this.gradient = null;
    /** @type {SVGElement | null} */
    this.colourbar = null;
    /** @type {SVGElement | null} */
    this.outline = null;
    /** @type {SVGElement | null} the stripes over uncertain noise-trace cells */
    this.uncertainLayer = null;
    this.bar = { x: 0, y: 0, h: 0 };

    this.svg = /** @type {SVGSVGElement} */ (svgEl(doc, "svg", {
      class: "tracewidget-heatmap",
      role: "grid",
      tabindex: 0,
      // JupyterLab: keys pressed here are ours, not notebook shortcuts (arrows, Enter).
      "data-lm-suppress-shortcuts": "true",
    }));
    const on = (/** @type {string} */ type, /** @type {(e: any) => void} */ fn) =>
      this.svg.addEventListener(type, fn, { signal });
    on("click", (e) => this.onClick(e));
    on("pointermove", (e) => this.onPointerMove(e));
    on("pointerleave", () => this.handlers.hover(null, 0, 0));
    on("blur", () => this.handlers.hover(null, 0, 0));
    on("keydown", (e) => this.onKeyDown(e));
  }

  /**
   * Draw `grid` (its decoded `values`) showing `kind` on `scale`. Rebuilds the SVG only when the
   * layout changed.
   * @param {Grid} grid
   * @param {number} index  the grid's position in its view
   * @param {import("./decode.js").GridValues} values
   * @param {import("./colour.js").ValueKind} kind  what is drawn
   * @param {import("./colour.js").Scale} scale  the view's scale for this panel (see viewScales)
   * @param {string} note  said under the panel when `kind` differs from what was asked
   * @param {number} titleRows  lines kept for the title, so the panels of a view line up
   */
  update(grid, index, values, kind, scale, note = "", titleRows = 1) {
    this.grid = grid;
    this.index = index;
    this.values = values;
    const layoutKey = JSON.stringify([grid.key, grid.rows, grid.cols, grid.row_labels,
      grid.col_labels, grid.subject, grid.row_name, grid.col_name, grid.title, titleRows]);
    if (layoutKey !== this.layoutKey) {
      this.build(grid, titleRows);
      this.layoutKey = layoutKey;
    }
    this.paint(grid, kind, scale, note);
  }

  /**
   * Build the static parts: title, cells, axis labels, the pending-cell pattern and the
   * colourbar frame. `paint` fills in everything that depends on the numbers.
   * @param {Grid} grid
   * @param {number} titleRows  lines kept for the title (the most any panel of the view needs)
   */
  build(grid, titleRows) {
    const { doc, id, svg } = this;
    const { rows, cols } = grid;
    const { rowLabels, colLabels, subject, cellW, cellH, gridW, gridH, diag, left, width,
      titleLines, top, barH, height } = geometry(grid, titleRows);
    const title = titleLines.join(" ");

    svg.replaceChildren();
    for (const [name, value] of Object.entries({
      width, height, viewBox: `0 0 ${width} ${height}`, "aria-label": title,
      "aria-rowcount": rows, "aria-colcount": cols,
    })) svg.setAttribute(name, String(value));
    svg.removeAttribute("aria-activedescendant");

    const defs = svgEl(doc, "defs");
    // Pending cells (NaN: not computed yet) are hatched grey.
    const hatch = svgEl(doc, "pattern", {
      id: `${id}-pending`, width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)",
    });
    hatch.append(svgEl(doc, "rect", { width: 6, height: 6, fill: "#e4e4e4" }),
      svgEl(doc, "line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#a8a8a8", "stroke-width": 2 }));
    // Uncertain noise-trace cells keep their colour under stripes the other way, white and
    // grey, so they show on pale and dark cells alike.
    const stripes = svgEl(doc, "pattern", {
      id: `${id}-uncertain`, width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(-45)",
    });
    stripes.append(
      svgEl(doc, "line", { x1: 1, y1: 0, x2: 1, y2: 6, stroke: "#ffffff", "stroke-opacity": 0.7,
        "stroke-width": 1 }),
      svgEl(doc, "line", { x1: 2, y1: 0, x2: 2, y2: 6, stroke: "#000000", "stroke-opacity": 0.3,
        "stroke-width": 1 }));
    this.gradient = svgEl(doc, "linearGradient", { id: `${id}-scale`, x1: 0, y1: 1, x2: 0, y2: 0 });
    defs.append(hatch, stripes, this.gradient);

    const titleText = svgEl(doc, "text", { class: "tracewidget-title", "aria-hidden": "true" });
    titleLines.forEach((line, i) => {
      const span = svgEl(doc, "tspan", { x: PAD, y: PAD + 11 + i * LINE });
      span.textContent = line;
      titleText.append(span);
    });
    this.subtitles = [0, 1].map((i) => svgEl(doc, "text", { class: "tracewidget-subtitle",
      x: PAD, y: PAD + 11 + (Math.max(titleLines.length, titleRows) + i) * LINE,
      "aria-hidden": "true" }));

    // Cells: one role=row group per row, so a screen reader can walk the grid.
    const body = svgEl(doc, "g", { class: "tracewidget-cells", "shape-rendering": "crispEdges" });
    this.cells = [];
    for (let r = 0; r < rows; r += 1) {
      const row = svgEl(doc, "g", { role: "row" });
      for (let c = 0; c < cols; c += 1) {
        const cell = /** @type {SVGRectElement} */ (svgEl(doc, "rect", {
          class: "tracewidget-cell", id: `${id}-r${r}c${c}`, role: "gridcell",
          x: left + c * cellW, y: top + r * cellH, width: cellW, height: cellH,
          "data-row": r, "data-col": c,
        }));
        row.append(cell);
        this.cells.push(cell);
      }
      body.append(row);
    }
    this.fills = new Array(rows * cols).fill("");
    this.dataValues = new Array(rows * cols).fill(null);
    this.arias = new Array(rows * cols).fill("");
    this.uncertainKey = null;
    this.uncertainLayer = svgEl(doc, "g", { class: "tracewidget-uncertain-marks",
      "aria-hidden": "true", "pointer-events": "none" });
    this.outline = svgEl(doc, "rect", { class: "tracewidget-selection-outline",
      width: cellW, height: cellH, "aria-hidden": "true", visibility: "hidden" });
    this.queuedOutline = svgEl(doc, "rect", { class: "tracewidget-queued-outline",
      width: cellW, height: cellH, "aria-hidden": "true", visibility: "hidden" });

    const labels = svgEl(doc, "g", { "aria-hidden": "true" });
    // When rows are thinner than the text, label every k-th row only.
    const every = Math.ceil(12 / cellH);
    rowLabels.forEach((label, r) => {
      if (r % every !== 0) return;
      const t = svgEl(doc, "text", { class: "tracewidget-axis-label", x: left - 4,
        y: top + r * cellH + cellH / 2, "text-anchor": "end", "dominant-baseline": "central" });
      t.textContent = label;
      labels.append(t);
    });
    colLabels.forEach((label, c) => {
      const x = left + c * cellW + cellW / 2;
      const y = top + gridH + 6;
      const t = svgEl(doc, "text", {
        class: `tracewidget-axis-label${subject.has(c) ? " tracewidget-subject" : ""}`,
        x, y, "text-anchor": "end", "dominant-baseline": "central",
        transform: `rotate(-45 ${x} ${y})`,
      });
      t.textContent = label;
      labels.append(t);
    });
    const rowName = svgEl(doc, "text", { x: PAD + 10, y: top + gridH / 2, "text-anchor": "middle",
      transform: `rotate(-90 ${PAD + 10} ${top + gridH / 2})` });
    rowName.textContent = grid.row_name;
    const colName = svgEl(doc, "text", { x: left + gridW / 2, y: top + gridH + diag + 14,
      "text-anchor": "middle" });
    colName.textContent = grid.col_name;
    labels.append(rowName, colName);

    this.colourbar = svgEl(doc, "g", { class: "tracewidget-colourbar", "aria-hidden": "true" });
    this.bar = { x: left + gridW + BAR_GAP, y: top, h: barH };

    svg.append(defs, titleText, ...this.subtitles, body, this.uncertainLayer, this.outline,
      this.queuedOutline, labels, this.colourbar);
    svg.classList.toggle("tracewidget-refinable", Boolean(grid.refinable));
    this.selected = null;
  }

  /**
   * Colour the cells and redraw the colourbar and subtitles for the current numbers.
   * @param {Grid} grid
   * @param {import("./colour.js").ValueKind} kind
   * @param {import("./colour.js").Scale} scale
   * @param {string} note
   */
  paint(grid, kind, scale, note) {
    const { scores, effects, normalized, estimated, ci95 } = this.values;
    const shown = kind === "score" ? scores
      : kind === "effect" ? effects : /** @type {Float32Array} */ (normalized);
    const pending = `url(#${this.id}-pending)`;
    const uncertain = uncertainCells(grid, shown, ci95, kind, scale);
    for (let i = 0; i < this.cells.length; i += 1) {
      const cell = this.cells[i];
      const v = shown[i];
      const fill = scale.colour(v) ?? pending;
      if (fill !== this.fills[i]) {
        cell.setAttribute("fill", fill);
        cell.classList.toggle("tracewidget-pending", fill === pending);
        this.fills[i] = fill;
      }
      const isEstimate = estimated !== null && estimated[i] > 0;
      if (cell.classList.contains("tracewidget-estimated") !== isEstimate) {
        cell.classList.toggle("tracewidget-estimated", isEstimate);
      }
      cell.setAttribute("data-estimated", String(isEstimate));
      const dataValue = Number.isNaN(v) ? "" : String(v);
      if (dataValue !== this.dataValues[i]) {
        cell.setAttribute("data-value", dataValue);
        this.dataValues[i] = dataValue;
      }
      const aria = this.describe(i).aria + (uncertain?.[i] ? ", still uncertain" : "");
      if (aria !== this.arias[i]) {
        cell.setAttribute("aria-label", aria);
        this.arias[i] = aria;
      }
    }
    this.svg.setAttribute("data-component", grid.component);
    this.svg.setAttribute("data-key", grid.key);
    this.svg.setAttribute("data-grid", String(this.index));
    this.svg.setAttribute("data-value-kind", kind);
    this.svg.setAttribute("data-done", String(grid.done));
    this.svg.setAttribute("data-total", String(grid.total));
    this.svg.setAttribute("data-scale", JSON.stringify(scale.domain));

    const scoresKnown = grid.clean_score != null || grid.corrupt_score != null;
    const first = scoresKnown
      ? [`clean ${formatValue(grid.clean_score)}`, `corrupt ${formatValue(grid.corrupt_score)}`]
      : ["not started yet"];
    if (grid.done < grid.total) first.push(`${grid.done}/${grid.total} cells`);
    const second = [];
    if (grid.samples != null && grid.samples_done != null && grid.samples_done < grid.samples) {
      second.push(`${grid.samples_done}/${grid.samples} noise samples in`);
    }
    const unsettled = this.paintUncertain(uncertain);
    if (unsettled > 0) {
      second.push(`${unsettled} cell${unsettled === 1 ? "" : "s"} still uncertain (striped)`);
    }
    const estimates = estimated === null ? 0
      : estimated.reduce((sum, e) => sum + (e > 0 ? 1 : 0), 0);
    if (estimates > 0) second.push(`${estimates} cells estimated (faded)`);
    second.push(`colours: ${scale.note}`);
    if (note) second.push(note);
    this.subtitles[0].textContent = first.join(" · ");
    this.subtitles[1].textContent = second.join(" · ");
    this.paintColourbar(scale, colourbarLabel(kind, grid.metric_label));
  }

  /**
   * Stripe the uncertain cells (see `uncertainCells`; null: none) and mark them
   * `data-uncertain`; the DOM is touched only when the set changed.
   * @param {boolean[] | null} uncertain
   * @returns {number}  how many cells are striped
   */
  paintUncertain(uncertain) {
    const key = uncertain === null ? "" : uncertain.map((u) => (u ? 1 : 0)).join("");
    const count = uncertain === null ? 0 : uncertain.filter(Boolean).length;
    if (key === this.uncertainKey) return count;
    this.uncertainKey = key;
    const layer = /** @type {SVGElement} */ (this.uncertainLayer);
    const marks = [];
    for (let i = 0; i < this.cells.length; i += 1) {
      const cell = this.cells[i];
      const marked = uncertain?.[i] ?? false;
      cell.setAttribute("data-uncertain", String(marked));
      if (!marked) continue;
      marks.push(svgEl(this.doc, "rect", { class: "tracewidget-uncertain",
        x: cell.getAttribute("x") ?? 0, y: cell.getAttribute("y") ?? 0,
        width: cell.getAttribute("width") ?? 0, height: cell.getAttribute("height") ?? 0,
        fill: `url(#${this.id}-uncertain)` }));
    }
    layer.replaceChildren(...marks);
    return count;
  }

  /**
   * @param {import("./colour.js").Scale} scale
   * @param {string} label
   */
  paintColourbar(scale, label) {
    const { doc } = this;
    const gradient = /** @type {SVGElement} */ (this.gradient);
    const group = /** @type {SVGElement} */ (this.colourbar);
    const { x, y, h } = this.bar;
    gradient.replaceChildren(...scale.stops.map((colour, i) => svgEl(doc, "stop", {
      offset: i / (scale.stops.length - 1), "stop-color": colour })));
    group.replaceChildren(svgEl(doc, "rect", { class: "tracewidget-colourbar-bar", x, y,
      width: BAR_W, height: h, fill: `url(#${this.id}-scale)` }));
    const [lo, hi] = scale.domain;
    const ticks = lo === hi ? [[0.5, lo]] : [[0, lo], [0.5, (lo + hi) / 2], [1, hi]];
    for (const [t, v] of ticks) {
      const ty = y + h * (1 - t);
      const text = svgEl(doc, "text", { class: "tracewidget-tick", x: x + BAR_W + 6, y: ty,
        "dominant-baseline": "central" });
      text.textContent = formatValue(v);
      group.append(svgEl(doc, "line", { x1: x + BAR_W, x2: x + BAR_W + 3, y1: ty, y2: ty }), text);
    }
    const lx = x + BAR_W + TICK_W + 6;
    const caption = svgEl(doc, "text", { x: lx, y: y + h / 2, "text-anchor": "middle",
      transform: `rotate(90 ${lx} ${y + h / 2})` });
    caption.textContent = label;
    group.append(caption);
  }

  /**
   * @param {number} i  cell index, row-major
   */
  describe(i) {
    const grid = /** @type {Grid} */ (this.grid);
    const { scores, effects, normalized, ci95 } = this.values;
    return describeCell(grid, Math.floor(i / grid.cols), i % grid.cols, {
      score: scores[i], effect: effects[i], normalized: normalized === null ? null : normalized[i],
      ci95: ci95 === null ? null : ci95[i],
    });
  }

  /**
   * Outline the selected cell (null: none). Called whenever the selection trait changes.
   * @param {{row: number, col: number} | null} cell
   */
  setSelected(cell) {
    const grid = this.grid;
    const outline = /** @type {SVGElement} */ (this.outline);
    if (this.selected) {
      this.cellAt(this.selected.row, this.selected.col)?.classList.remove("tracewidget-selected");
      this.cellAt(this.selected.row, this.selected.col)?.removeAttribute("aria-selected");
    }
    const rect = cell && grid ? this.cellAt(cell.row, cell.col) : null;
    this.selected = rect && cell ? { row: cell.row, col: cell.col } : null;
    if (!rect) {
      outline.setAttribute("visibility", "hidden");
      this.svg.removeAttribute("aria-activedescendant");
      return;
    }
    rect.classList.add("tracewidget-selected");
    rect.setAttribute("aria-selected", "true");
    outline.setAttribute("x", rect.getAttribute("x") ?? "0");
    outline.setAttribute("y", rect.getAttribute("y") ?? "0");
    outline.setAttribute("visibility", "visible");
    this.svg.setAttribute("aria-activedescendant", rect.id);
  }

  /**
   * Outline (dashed) the clicked cell whose finer sweep is queued or computing, or nobody.
   * @param {{row: number, col: number, queued: boolean} | null} cell
   */
  setQueued(cell) {
    const outline = /** @type {SVGElement} */ (this.queuedOutline);
    const rect = cell ? this.cellAt(cell.row, cell.col) : null;
    for (const old of this.svg.querySelectorAll(".tracewidget-queued")) {
      if (old === rect) continue;
      old.classList.remove("tracewidget-queued");
      old.removeAttribute("data-queued");
    }
    if (!rect || !cell) {
      outline.setAttribute("visibility", "hidden");
      return;
    }
    rect.classList.add("tracewidget-queued");
    rect.setAttribute("data-queued", cell.queued ? "queued" : "computing");
    outline.setAttribute("x", rect.getAttribute("x") ?? "0");
    outline.setAttribute("y", rect.getAttribute("y") ?? "0");
    outline.setAttribute("visibility", "visible");
  }

  /**
   * @param {number} row
   * @param {number} col
   * @returns {SVGRectElement | null}
   */
  cellAt(row, col) {
    const grid = this.grid;
    if (!grid || !Number.isInteger(row) || !Number.isInteger(col)) return null;
    if (row < 0 || row >= grid.rows || col < 0 || col >= grid.cols) return null;
    return this.cells[row * grid.cols + col] ?? null;
  }

  /** @param {MouseEvent} event */
  onClick(event) {
    const cell = /** @type {Element} */ (event.target).closest?.(".tracewidget-cell");
    if (!cell || !this.grid) return;
    const row = Number(cell.getAttribute("data-row"));
    const col = Number(cell.getAttribute("data-col"));
    this.svg.focus({ preventScroll: true });
    this.handlers.select(this.index, row, col);
    if (this.grid.refinable) this.handlers.refine(this.index, row, col);
  }

  /** @param {PointerEvent} event */
  onPointerMove(event) {
    const cell = /** @type {Element} */ (event.target).closest?.(".tracewidget-cell");
    if (!cell || !this.grid) {
      this.handlers.hover(null, 0, 0);
      return;
    }
    const i = Number(cell.getAttribute("data-row")) * this.grid.cols +
      Number(cell.getAttribute("data-col"));
    this.handlers.hover(this.describe(i).lines, event.clientX, event.clientY);
  }

  /**
   * Arrow keys move the selection (starting at the top-left cell), Enter refines it.
   * @param {KeyboardEvent} event
   */
  onKeyDown(event) {
    const grid = this.grid;
    if (!grid || event.altKey || event.ctrlKey || event.metaKey) return;
    /** @type {Record<string, [number, number]>} */
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (move) {
      const row = this.selected ? clamp(this.selected.row + move[0], 0, grid.rows - 1) : 0;
      const col = this.selected ? clamp(this.selected.col + move[1], 0, grid.cols - 1) : 0;
      this.handlers.select(this.index, row, col);
      const rect = this.cellAt(row, col);
      if (rect) {
        rect.scrollIntoView?.({ block: "nearest", inline: "nearest" });
        const box = rect.getBoundingClientRect();
        this.handlers.hover(this.describe(row * grid.cols + col).lines, box.right, box.bottom);
      }
    } else if (event.key === "Enter" && this.selected) {
      if (grid.refinable) this.handlers.refine(this.index, this.selected.row, this.selected.col);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }
}
