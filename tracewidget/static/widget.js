// js/export.js
var SVG_NS = "http://www.w3.org/2000/svg";
var XMLNS_NS = "http://www.w3.org/2000/xmlns/";
var PAINT_PROPS = ["fill", "stroke", "stroke-width", "opacity", "visibility"];
var TEXT_PROPS = [
  ...PAINT_PROPS,
  "font-family",
  "font-size",
  "font-weight",
  "font-style",
  "text-decoration",
  "unicode-bidi",
  "direction"
];
function exportFilename(crumb, extension) {
  const safe = String(crumb).replace(/[^\p{L}\p{N}]/gu, "_").replace(/^_+|_+$/g, "") || "grid";
  return `tracewidget_${safe.slice(0, 80)}.${extension}`;
}
function inlineStyles(source, copy) {
  const view = source.ownerDocument.defaultView;
  if (!view) return;
  const from = [source, ...source.querySelectorAll("*")];
  const to = [copy, ...copy.querySelectorAll("*")];
  from.forEach((node, i) => {
    const computed = view.getComputedStyle(node);
    const style = (
      /** @type {SVGElement} */
      to[i].style
    );
    for (const prop of node.localName === "text" ? TEXT_PROPS : PAINT_PROPS) {
      const value = computed.getPropertyValue(prop);
      if (value && !value.startsWith("url(")) style.setProperty(prop, value);
    }
  });
}
function viewSvg(root, title, heatmaps) {
  const doc = root.ownerDocument;
  const view = doc.defaultView;
  const gap = 16;
  const titleH = title ? 24 : 0;
  let width = 0;
  let height = 0;
  const placed = heatmaps.map((svg) => {
    const w = Number(svg.getAttribute("width")) || 0;
    const h = Number(svg.getAttribute("height")) || 0;
    const copy = (
      /** @type {SVGSVGElement} */
      svg.cloneNode(true)
    );
    inlineStyles(svg, copy);
    copy.querySelectorAll(".tracewidget-selection-outline").forEach((node) => node.remove());
    copy.removeAttribute("tabindex");
    copy.setAttribute("x", String(width ? width + gap : 0));
    copy.setAttribute("y", String(titleH));
    width = width ? width + gap + w : w;
    height = Math.max(height, titleH + h);
    return copy;
  });
  const out = doc.createElementNS(SVG_NS, "svg");
  out.setAttributeNS(XMLNS_NS, "xmlns", SVG_NS);
  out.setAttribute("width", String(width));
  out.setAttribute("height", String(height));
  out.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const rootStyle = view?.getComputedStyle(root);
  const background = doc.createElementNS(SVG_NS, "rect");
  background.setAttribute("width", "100%");
  background.setAttribute("height", "100%");
  background.setAttribute("fill", rootStyle?.backgroundColor || "#fff");
  out.append(background);
  if (title) {
    const text = doc.createElementNS(SVG_NS, "text");
    text.setAttribute("x", "8");
    text.setAttribute("y", "17");
    text.style.setProperty("fill", rootStyle?.color || "#222");
    text.style.setProperty("font-family", rootStyle?.fontFamily || "sans-serif");
    text.style.setProperty("font-size", "13px");
    text.style.setProperty("font-weight", "600");
    text.textContent = title;
    out.append(text);
  }
  out.append(...placed);
  const xml = new XMLSerializer().serializeToString(out);
  return { text: `<?xml version="1.0" encoding="UTF-8"?>
${xml}`, width, height };
}
function svgToPng(doc, svg, scale) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([svg.text], { type: "image/svg+xml" }));
    const img = (
      /** @type {HTMLImageElement} */
      doc.createElement("img")
    );
    img.onload = () => {
      URL.revokeObjectURL(url);
      const canvas = (
        /** @type {HTMLCanvasElement} */
        doc.createElement("canvas")
      );
      canvas.width = Math.ceil(svg.width * scale);
      canvas.height = Math.ceil(svg.height * scale);
      const ctx = canvas.getContext("2d");
      if (!ctx) {
        reject(new Error("this browser cannot draw into a canvas"));
        return;
      }
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, svg.width, svg.height);
      canvas.toBlob(
        (blob) => blob ? resolve(blob) : reject(new Error("PNG encoding failed")),
        "image/png"
      );
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("the browser could not draw the exported SVG"));
    };
    img.src = url;
  });
}
function downloadBlob(parent, blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = (
    /** @type {HTMLAnchorElement} */
    parent.ownerDocument.createElement("a")
  );
  link.href = url;
  link.download = filename;
  link.hidden = true;
  parent.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 6e4);
}

// js/colour.js
var SEQUENTIAL = {
  resid: [
    "#ffffff",
    "#efedf5",
    "#dadaeb",
    "#bcbddc",
    "#9e9ac8",
    "#807dba",
    "#6a51a3",
    "#54278f",
    "#3f007d"
  ],
  mlp: [
    "#ffffff",
    "#e5f5e0",
    "#c7e9c0",
    "#a1d99b",
    "#74c476",
    "#41ab5d",
    "#238b45",
    "#006d2c",
    "#00441b"
  ],
  attn: [
    "#ffffff",
    "#fee0d2",
    "#fcbba1",
    "#fc9272",
    "#fb6a4a",
    "#ef3b2c",
    "#cb181d",
    "#a50f15",
    "#67000d"
  ],
  head: [
    "#ffffff",
    "#fee6ce",
    "#fdd0a2",
    "#fdae6b",
    "#fd8d3c",
    "#f16913",
    "#d94801",
    "#a63603",
    "#7f2704"
  ],
  neuron: [
    "#ffffff",
    "#deebf7",
    "#c6dbef",
    "#9ecae1",
    "#6baed6",
    "#4292c6",
    "#2171b5",
    "#08519c",
    "#08306b"
  ]
};
var DIVERGING = [
  "#053061",
  "#2166ac",
  "#4393c3",
  "#92c5de",
  "#d1e5f0",
  "#ffffff",
  "#fddbc7",
  "#f4a582",
  "#d6604d",
  "#b2182b",
  "#67001f"
];
function parseHex(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [n >> 16 & 255, n >> 8 & 255, n & 255];
}
function hexByte(c) {
  return Math.round(c).toString(16).padStart(2, "0");
}
function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = parseHex(stops[i]);
  const b = parseHex(stops[i + 1]);
  return `#${[0, 1, 2].map((k) => hexByte(a[k] + (b[k] - a[k]) * f)).join("")}`;
}
function finiteExtent(values) {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    count += 1;
  }
  if (count === 0) return { min: NaN, max: NaN, absMax: 0, count };
  return { min, max, absMax: Math.max(Math.abs(min), Math.abs(max)), count };
}
function sequentialScale(values, component, floor = null) {
  const stops = SEQUENTIAL[
    /** @type {Component} */
    component
  ] ?? SEQUENTIAL.resid;
  const { min, max, count } = finiteExtent(values);
  const hasFloor = typeof floor === "number" && Number.isFinite(floor);
  const lo = hasFloor ? (
    /** @type {number} */
    floor
  ) : count > 0 ? min : 0;
  const hi = count > 0 ? Math.max(max, lo) : lo;
  const span = hi - lo;
  return {
    kind: "sequential",
    domain: [lo, hi],
    stops,
    colour: (v) => Number.isNaN(v) ? null : interpolate(stops, span > 0 ? (v - lo) / span : 0)
  };
}
function divergingScale(values) {
  const m = finiteExtent(values).absMax;
  return {
    kind: "diverging",
    domain: [-m, m],
    stops: DIVERGING,
    colour: (v) => Number.isNaN(v) ? null : interpolate(DIVERGING, m > 0 ? 0.5 + v / (2 * m) : 0.5)
  };
}
function scaleFor(grid, kind, values) {
  if (kind !== "score") return divergingScale(values);
  const floor = grid.experiment === "restore" ? grid.corrupt_score ?? null : null;
  return sequentialScale(values, grid.component, floor);
}

// js/decode.js
function decodeFloat32(data) {
  if (data === null || data === void 0) return null;
  let view;
  if (ArrayBuffer.isView(data)) {
    view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  } else if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") {
    view = new DataView(
      /** @type {ArrayBuffer} */
      data
    );
  } else {
    throw new TypeError(`expected float32 bytes (DataView, ArrayBuffer or typed array), got ${Object.prototype.toString.call(data)}`);
  }
  if (view.byteLength % 4 !== 0) {
    throw new RangeError(`float32 data must be a multiple of 4 bytes, got ${view.byteLength}`);
  }
  const out = new Float32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i += 1) out[i] = view.getFloat32(i * 4, true);
  return out;
}

// js/labels.js
var LABEL_MAX = 16;
var DESCRIBE_MAX = 300;
var MARKERS = { "\n": "\u23CE", "\r": "\u240D", "	": "\u21E5" };
function visibleWhitespace(text) {
  const s = String(text).replace(/[\n\r\t]/g, (ch) => MARKERS[
    /** @type {"\n"|"\r"|"\t"} */
    ch
  ]);
  let lead = 0;
  while (lead < s.length && s[lead] === " ") lead += 1;
  if (lead === s.length) return "\xB7".repeat(lead);
  let end = s.length;
  while (s[end - 1] === " ") end -= 1;
  return "\xB7".repeat(lead) + s.slice(lead, end) + "\xB7".repeat(s.length - end);
}
function truncate(text, max = LABEL_MAX) {
  const s = String(text);
  if (s.length <= max) return s;
  let out = "";
  let n = 0;
  for (const ch of s) {
    if (n === max - 1) return out + "\u2026";
    out += ch;
    n += 1;
  }
  return out;
}
function axisLabel(text) {
  return truncate(visibleWhitespace(text));
}
function quoteLabel(text) {
  const s = truncate(String(text), DESCRIBE_MAX).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return `'${s}'`;
}
function formatValue(v) {
  if (v === null || v === void 0 || Number.isNaN(v)) return "n/a";
  if (!Number.isFinite(v)) return v > 0 ? "\u221E" : "-\u221E";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 0.01 || a >= 1e5) return v.toExponential(2);
  return v.toFixed(2);
}
function formatEta(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
}
function progressText(status) {
  const done = status.done ?? 0;
  const total = status.total ?? 0;
  const eta = status.eta_seconds;
  const left = typeof eta === "number" && Number.isFinite(eta) ? `, ~${formatEta(eta)} left` : "";
  const waiting = status.waiting ? ` (${status.waiting})` : "";
  return `${done}/${total} cells${left}${waiting}`;
}
function describeCell(grid, row, col, values) {
  const rowText = truncate(String(grid.row_labels[row] ?? row), DESCRIBE_MAX);
  const subject = (grid.subject ?? []).includes(col) ? " (subject)" : "";
  const colText = quoteLabel(String(grid.col_labels[col] ?? col)) + subject;
  const pending = Number.isNaN(values.score);
  const numbers = pending ? "not computed yet" : `score ${formatValue(values.score)}, effect ${formatValue(values.effect)}, normalized ${formatValue(values.normalized)}`;
  const lines = [
    [grid.row_name, rowText],
    [grid.col_name, colText]
  ];
  if (pending) lines.push(["score", "not computed yet"]);
  else {
    lines.push(["score", formatValue(values.score)]);
    lines.push(["effect", formatValue(values.effect)]);
    lines.push(["normalized", formatValue(values.normalized)]);
  }
  return { aria: `${grid.row_name} ${rowText}, ${grid.col_name} ${colText}: ${numbers}`, lines };
}

// js/heatmap.js
var SVG_NS2 = "http://www.w3.org/2000/svg";
var PAD = 8;
var CHAR_W = 6.7;
var LINE = 15;
var AXIS_NAME = 18;
var BAR_GAP = 14;
var BAR_W = 12;
var TICK_W = 46;
var TITLE_MAX = 90;
function svgEl(doc, tag, attrs = {}) {
  const node = doc.createElementNS(SVG_NS2, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}
function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}
function colourbarLabel(kind, metricLabel) {
  if (kind === "score") return metricLabel;
  if (kind === "effect") return `effect on ${metricLabel}`;
  return "normalized effect";
}
var Heatmap = class {
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
    this.index = 0;
    this.grid = null;
    this.values = {
      scores: new Float32Array(0),
      effects: new Float32Array(0),
      normalized: null,
      estimated: null
    };
    this.layoutKey = null;
    this.cells = [];
    this.fills = [];
    this.dataValues = [];
    this.arias = [];
    this.selected = null;
    this.subtitle = null;
    this.gradient = null;
    this.colourbar = null;
    this.outline = null;
    this.bar = { x: 0, y: 0, h: 0 };
    this.svg = /** @type {SVGSVGElement} */
    svgEl(doc, "svg", {
      class: "tracewidget-heatmap",
      role: "grid",
      tabindex: 0,
      // JupyterLab: keys pressed here are ours, not notebook shortcuts (arrows, Enter).
      "data-lm-suppress-shortcuts": "true"
    });
    const on = (type, fn) => this.svg.addEventListener(type, fn, { signal });
    on("click", (e) => this.onClick(e));
    on("pointermove", (e) => this.onPointerMove(e));
    on("pointerleave", () => this.handlers.hover(null, 0, 0));
    on("blur", () => this.handlers.hover(null, 0, 0));
    on("keydown", (e) => this.onKeyDown(e));
  }
  /**
   * Draw `grid` showing `valueKind`. Rebuilds the SVG only when the layout changed.
   * @param {Grid} grid
   * @param {number} index  the grid's position in its view
   * @param {"score" | "effect" | "normalized"} valueKind
   */
  update(grid, index, valueKind) {
    const n = grid.rows * grid.cols;
    const values = {
      scores: this.decode(grid, "scores", n),
      effects: this.decode(grid, "effects", n),
      normalized: grid.normalized == null ? null : this.decode(grid, "normalized", n),
      // 1 where a cell still shows the attribution preview's estimate, not an exact value
      estimated: grid.estimated == null ? null : this.decode(grid, "estimated", n)
    };
    this.grid = grid;
    this.index = index;
    this.values = values;
    const layoutKey = JSON.stringify([
      grid.key,
      grid.rows,
      grid.cols,
      grid.row_labels,
      grid.col_labels,
      grid.subject,
      grid.row_name,
      grid.col_name,
      grid.title
    ]);
    if (layoutKey !== this.layoutKey) {
      this.build(grid);
      this.layoutKey = layoutKey;
    }
    this.paint(grid, valueKind);
  }
  /**
   * @param {Grid} grid
   * @param {"scores" | "effects" | "normalized" | "estimated"} field
   * @param {number} n  the expected number of values
   * @returns {Float32Array}
   */
  decode(grid, field, n) {
    const values = (
      /** @type {Float32Array} */
      decodeFloat32(grid[field])
    );
    if (values === null || values.length !== n) {
      throw new Error(`grid ${JSON.stringify(grid.key)}: ${field} has ${values?.length ?? 0} values, expected ${grid.rows} x ${grid.cols} = ${n}`);
    }
    return values;
  }
  /**
   * Build the static parts: title, cells, axis labels, the pending-cell pattern and the
   * colourbar frame. `paint` fills in everything that depends on the numbers.
   * @param {Grid} grid
   */
  build(grid) {
    const { doc, id, svg } = this;
    const { rows, cols } = grid;
    const rowLabels = Array.from({ length: rows }, (_, r) => axisLabel(grid.row_labels[r] ?? r));
    const subject = new Set(grid.subject ?? []);
    const colLabels = Array.from({ length: cols }, (_, c) => axisLabel(grid.col_labels[c] ?? c) + (subject.has(c) ? "*" : ""));
    const cellW = clamp(Math.floor(560 / Math.max(1, cols)), 14, 36);
    const cellH = clamp(Math.floor(480 / Math.max(1, rows)), 6, 28);
    const gridW = cols * cellW;
    const gridH = rows * cellH;
    const longest = (labels2) => labels2.reduce((m, s) => Math.max(m, [...s].length), 0);
    const diag = longest(colLabels) * CHAR_W * Math.SQRT1_2 + 6;
    const left = Math.ceil(PAD + AXIS_NAME + Math.max(longest(rowLabels) * CHAR_W + 6, diag - cellW / 2));
    const top = PAD + 2 * LINE + 6;
    const barH = Math.max(gridH, 60);
    const title = truncate(grid.title, TITLE_MAX);
    const width = Math.ceil(Math.max(
      left + gridW + BAR_GAP + BAR_W + TICK_W + LINE + PAD,
      2 * PAD + [...title].length * 7
    ));
    const height = Math.ceil(Math.max(top + gridH + diag + AXIS_NAME + PAD, top + barH + PAD));
    svg.replaceChildren();
    for (const [name, value] of Object.entries({
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      "aria-label": title,
      "aria-rowcount": rows,
      "aria-colcount": cols
    })) svg.setAttribute(name, String(value));
    svg.removeAttribute("aria-activedescendant");
    const defs = svgEl(doc, "defs");
    const hatch = svgEl(doc, "pattern", {
      id: `${id}-pending`,
      width: 6,
      height: 6,
      patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)"
    });
    hatch.append(
      svgEl(doc, "rect", { width: 6, height: 6, fill: "#e4e4e4" }),
      svgEl(doc, "line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#a8a8a8", "stroke-width": 2 })
    );
    this.gradient = svgEl(doc, "linearGradient", { id: `${id}-scale`, x1: 0, y1: 1, x2: 0, y2: 0 });
    defs.append(hatch, this.gradient);
    const titleText = svgEl(doc, "text", {
      class: "tracewidget-title",
      x: PAD,
      y: PAD + 11,
      "aria-hidden": "true"
    });
    titleText.textContent = title;
    this.subtitle = svgEl(doc, "text", {
      class: "tracewidget-subtitle",
      x: PAD,
      y: PAD + 11 + LINE,
      "aria-hidden": "true"
    });
    const body = svgEl(doc, "g", { class: "tracewidget-cells", "shape-rendering": "crispEdges" });
    this.cells = [];
    for (let r = 0; r < rows; r += 1) {
      const row = svgEl(doc, "g", { role: "row" });
      for (let c = 0; c < cols; c += 1) {
        const cell = (
          /** @type {SVGRectElement} */
          svgEl(doc, "rect", {
            class: "tracewidget-cell",
            id: `${id}-r${r}c${c}`,
            role: "gridcell",
            x: left + c * cellW,
            y: top + r * cellH,
            width: cellW,
            height: cellH,
            "data-row": r,
            "data-col": c
          })
        );
        row.append(cell);
        this.cells.push(cell);
      }
      body.append(row);
    }
    this.fills = new Array(rows * cols).fill("");
    this.dataValues = new Array(rows * cols).fill(null);
    this.arias = new Array(rows * cols).fill("");
    this.outline = svgEl(doc, "rect", {
      class: "tracewidget-selection-outline",
      width: cellW,
      height: cellH,
      "aria-hidden": "true",
      visibility: "hidden"
    });
    const labels = svgEl(doc, "g", { "aria-hidden": "true" });
    const every = Math.ceil(12 / cellH);
    rowLabels.forEach((label, r) => {
      if (r % every !== 0) return;
      const t = svgEl(doc, "text", {
        class: "tracewidget-axis-label",
        x: left - 4,
        y: top + r * cellH + cellH / 2,
        "text-anchor": "end",
        "dominant-baseline": "central"
      });
      t.textContent = label;
      labels.append(t);
    });
    colLabels.forEach((label, c) => {
      const x = left + c * cellW + cellW / 2;
      const y = top + gridH + 6;
      const t = svgEl(doc, "text", {
        class: `tracewidget-axis-label${subject.has(c) ? " tracewidget-subject" : ""}`,
        x,
        y,
        "text-anchor": "end",
        "dominant-baseline": "central",
        transform: `rotate(-45 ${x} ${y})`
      });
      t.textContent = label;
      labels.append(t);
    });
    const rowName = svgEl(doc, "text", {
      x: PAD + 10,
      y: top + gridH / 2,
      "text-anchor": "middle",
      transform: `rotate(-90 ${PAD + 10} ${top + gridH / 2})`
    });
    rowName.textContent = grid.row_name;
    const colName = svgEl(doc, "text", {
      x: left + gridW / 2,
      y: top + gridH + diag + 14,
      "text-anchor": "middle"
    });
    colName.textContent = grid.col_name;
    labels.append(rowName, colName);
    this.colourbar = svgEl(doc, "g", { class: "tracewidget-colourbar", "aria-hidden": "true" });
    this.bar = { x: left + gridW + BAR_GAP, y: top, h: barH };
    svg.append(defs, titleText, this.subtitle, body, this.outline, labels, this.colourbar);
    svg.classList.toggle("tracewidget-refinable", Boolean(grid.refinable));
    this.selected = null;
  }
  /**
   * Colour the cells and redraw the colourbar and subtitle for the current numbers.
   * @param {Grid} grid
   * @param {"score" | "effect" | "normalized"} valueKind
   */
  paint(grid, valueKind) {
    const { scores, effects, normalized, estimated } = this.values;
    const kind = valueKind === "normalized" && normalized === null ? "effect" : valueKind;
    const shown = kind === "score" ? scores : kind === "effect" ? effects : (
      /** @type {Float32Array} */
      normalized
    );
    const scale = scaleFor(grid, kind, shown);
    const pending = `url(#${this.id}-pending)`;
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
      const aria = this.describe(i).aria;
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
    const parts = [
      `clean ${formatValue(grid.clean_score)}`,
      `corrupt ${formatValue(grid.corrupt_score)}`
    ];
    if (grid.done < grid.total) parts.push(`${grid.done}/${grid.total} cells`);
    const estimates = estimated === null ? 0 : estimated.reduce((sum, e) => sum + (e > 0 ? 1 : 0), 0);
    if (estimates > 0) parts.push(`${estimates} cells estimated by attribution (faded)`);
    if (kind !== valueKind) parts.push("normalized effect undefined: showing effect");
    this.subtitle.textContent = parts.join(" \xB7 ");
    this.paintColourbar(scale, colourbarLabel(kind, grid.metric_label));
  }
  /**
   * @param {import("./colour.js").Scale} scale
   * @param {string} label
   */
  paintColourbar(scale, label) {
    const { doc } = this;
    const gradient = (
      /** @type {SVGElement} */
      this.gradient
    );
    const group = (
      /** @type {SVGElement} */
      this.colourbar
    );
    const { x, y, h } = this.bar;
    gradient.replaceChildren(...scale.stops.map((colour, i) => svgEl(doc, "stop", {
      offset: i / (scale.stops.length - 1),
      "stop-color": colour
    })));
    group.replaceChildren(svgEl(doc, "rect", {
      class: "tracewidget-colourbar-bar",
      x,
      y,
      width: BAR_W,
      height: h,
      fill: `url(#${this.id}-scale)`
    }));
    const [lo, hi] = scale.domain;
    const ticks = lo === hi ? [[0.5, lo]] : [[0, lo], [0.5, (lo + hi) / 2], [1, hi]];
    for (const [t, v] of ticks) {
      const ty = y + h * (1 - t);
      const text = svgEl(doc, "text", {
        class: "tracewidget-tick",
        x: x + BAR_W + 6,
        y: ty,
        "dominant-baseline": "central"
      });
      text.textContent = formatValue(v);
      group.append(svgEl(doc, "line", { x1: x + BAR_W, x2: x + BAR_W + 3, y1: ty, y2: ty }), text);
    }
    const lx = x + BAR_W + TICK_W + 6;
    const caption = svgEl(doc, "text", {
      x: lx,
      y: y + h / 2,
      "text-anchor": "middle",
      transform: `rotate(90 ${lx} ${y + h / 2})`
    });
    caption.textContent = label;
    group.append(caption);
  }
  /**
   * @param {number} i  cell index, row-major
   */
  describe(i) {
    const grid = (
      /** @type {Grid} */
      this.grid
    );
    const { scores, effects, normalized } = this.values;
    return describeCell(grid, Math.floor(i / grid.cols), i % grid.cols, {
      score: scores[i],
      effect: effects[i],
      normalized: normalized === null ? null : normalized[i]
    });
  }
  /**
   * Outline the selected cell (null: none). Called whenever the selection trait changes.
   * @param {{row: number, col: number} | null} cell
   */
  setSelected(cell) {
    const grid = this.grid;
    const outline = (
      /** @type {SVGElement} */
      this.outline
    );
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
    const cell = (
      /** @type {Element} */
      event.target.closest?.(".tracewidget-cell")
    );
    if (!cell || !this.grid) return;
    const row = Number(cell.getAttribute("data-row"));
    const col = Number(cell.getAttribute("data-col"));
    this.svg.focus({ preventScroll: true });
    this.handlers.select(this.index, row, col);
    if (this.grid.refinable) this.handlers.refine(this.index, row, col);
  }
  /** @param {PointerEvent} event */
  onPointerMove(event) {
    const cell = (
      /** @type {Element} */
      event.target.closest?.(".tracewidget-cell")
    );
    if (!cell || !this.grid) {
      this.handlers.hover(null, 0, 0);
      return;
    }
    const i = Number(cell.getAttribute("data-row")) * this.grid.cols + Number(cell.getAttribute("data-col"));
    this.handlers.hover(this.describe(i).lines, event.clientX, event.clientY);
  }
  /**
   * Arrow keys move the selection (starting at the top-left cell), Enter refines it.
   * @param {KeyboardEvent} event
   */
  onKeyDown(event) {
    const grid = this.grid;
    if (!grid || event.altKey || event.ctrlKey || event.metaKey) return;
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
};

// js/style.js
var css = `
.tracewidget-root {
  position: relative;
  box-sizing: border-box;
  padding: 6px;
  color: var(--jp-ui-font-color1, #222);
  background: var(--jp-layout-color1, #fff);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
}
.tracewidget-root [hidden] { display: none !important; }
.tracewidget-bar {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 6px 10px;
  margin-bottom: 6px;
}
.tracewidget-group { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; }
.tracewidget-spacer { flex: 1 1 auto; }
.tracewidget-button {
  padding: 2px 8px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 3px;
  background: var(--jp-layout-color2, #eee);
  color: var(--jp-ui-font-color1, #222);
  font: inherit;
  cursor: pointer;
}
.tracewidget-button:hover:not(:disabled) { background: var(--jp-layout-color3, #ddd); }
.tracewidget-button:disabled { opacity: 0.45; cursor: default; }
.tracewidget-root :focus-visible {
  outline: 2px solid var(--jp-brand-color1, #1976d2);
  outline-offset: 1px;
}
.tracewidget-breadcrumb ol {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  margin: 0;
  padding: 0;
  list-style: none;
}
.tracewidget-breadcrumb li + li::before {
  content: "\u203A";
  padding: 0 4px;
  color: var(--jp-ui-font-color2, #666);
}
.tracewidget-crumb {
  padding: 1px 4px;
  border: none;
  border-radius: 3px;
  background: none;
  color: var(--jp-content-link-color, #1976d2);
  font: inherit;
  cursor: pointer;
  max-width: 24em;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: pre;
}
.tracewidget-crumb:hover { text-decoration: underline; }
.tracewidget-crumb[aria-current="page"] {
  color: var(--jp-ui-font-color1, #222);
  font-weight: 600;
  cursor: default;
  text-decoration: none;
}
.tracewidget-control { display: inline-flex; align-items: center; gap: 4px; }
.tracewidget-control select,
.tracewidget-control input {
  padding: 1px 2px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 2px;
  background: var(--jp-input-background, var(--jp-layout-color1, #fff));
  color: var(--jp-ui-font-color1, #222);
  font: inherit;
}
.tracewidget-control input { width: 4em; }
.tracewidget-progress { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.tracewidget-progress progress { width: 200px; accent-color: var(--jp-brand-color1, #1976d2); }
.tracewidget-status { color: var(--jp-ui-font-color2, #666); margin: 2px 0; white-space: pre-wrap; }
.tracewidget-error {
  margin: 4px 0;
  padding: 6px 8px;
  border: 1px solid var(--jp-error-color1, #d32f2f);
  border-radius: 3px;
  background: transparent;
  background: color-mix(in srgb, var(--jp-error-color1, #d32f2f) 12%, transparent);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.tracewidget-error pre {
  max-height: 20em;
  overflow: auto;
  margin: 4px 0 0;
  font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px);
  white-space: pre-wrap;
}
.tracewidget-view-title { margin: 6px 0 2px; font-weight: 600; overflow-wrap: anywhere; }
.tracewidget-grids {
  display: flex;
  flex-wrap: wrap;
  align-items: flex-start;
  gap: 16px;
  overflow-x: auto;
}
.tracewidget-placeholder { padding: 24px 8px; color: var(--jp-ui-font-color2, #666); }
.tracewidget-heatmap { display: block; flex: none; }
.tracewidget-heatmap text {
  fill: var(--jp-ui-font-color1, #222);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 11px;
}
.tracewidget-heatmap .tracewidget-title { font-size: 12px; font-weight: 600; }
.tracewidget-heatmap .tracewidget-subtitle,
.tracewidget-heatmap .tracewidget-tick { fill: var(--jp-ui-font-color2, #666); }
.tracewidget-heatmap .tracewidget-axis-label {
  font-family: var(--jp-code-font-family, ui-monospace, monospace);
  unicode-bidi: isolate;
}
.tracewidget-heatmap .tracewidget-subject { font-weight: 700; text-decoration: underline; }
.tracewidget-cell { stroke: none; }
/* attribution-preview estimates, shown until the exact cell arrives */
.tracewidget-estimated { opacity: 0.5; }
.tracewidget-refinable .tracewidget-cell { cursor: pointer; }
.tracewidget-cell:hover { stroke: var(--jp-ui-font-color1, #222); stroke-width: 1px; }
.tracewidget-selection-outline {
  fill: none;
  stroke: var(--jp-ui-font-color0, #000);
  stroke-width: 2.5px;
  pointer-events: none;
}
.tracewidget-colourbar-bar,
.tracewidget-colourbar line { stroke: var(--jp-border-color1, #999); stroke-width: 1px; }
.tracewidget-tooltip {
  position: absolute;
  z-index: 10;
  max-width: 360px;
  padding: 4px 6px;
  border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 3px;
  background: var(--jp-layout-color0, #fff);
  color: var(--jp-ui-font-color1, #222);
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
  font-size: 12px;
  pointer-events: none;
  overflow-wrap: anywhere;
  white-space: pre-wrap;
}
.tracewidget-tooltip-name { color: var(--jp-ui-font-color2, #666); }
`;

// js/widget.js
var CHOICES = {
  experiment: [["restore", "restore"], ["ablate", "ablate"], ["noise", "noise trace"]],
  component: [["resid", "residual"], ["mlp", "MLP"], ["attn", "attention"]],
  metric: [
    ["prob", "probability"],
    ["logprob", "log probability"],
    ["logit_diff", "logit difference"]
  ],
  value_kind: [["score", "score"], ["effect", "effect"], ["normalized", "normalized effect"]]
};
var NUMBERS = ["window", "samples"];
var LABELS = (
  /** @type {Record<string, string>} */
  {
    experiment: "experiment",
    component: "component",
    metric: "metric",
    value_kind: "show",
    window: "window",
    samples: "samples"
  }
);
function el(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== void 0) node.textContent = text;
  return node;
}
function button(doc, className, text, tooltip) {
  const node = (
    /** @type {HTMLButtonElement} */
    el(doc, "button", `tracewidget-button ${className}`, text)
  );
  node.type = "button";
  if (tooltip) node.title = tooltip;
  node.setAttribute("data-lm-suppress-shortcuts", "true");
  return node;
}
function render({ model, el: host }) {
  const doc = host.ownerDocument;
  const id = `tracewidget-${Math.random().toString(36).slice(2, 10)}`;
  const abort = new AbortController();
  const { signal } = abort;
  const listen = (target, type, fn) => target.addEventListener(type, fn, { signal });
  const style = el(doc, "style");
  style.textContent = css;
  const root = el(doc, "div", "tracewidget-root");
  root.dataset.renders = "0";
  const nav = el(doc, "div", "tracewidget-bar tracewidget-nav");
  const back = button(doc, "tracewidget-back", "\u25C0 Back", "previous view");
  const forward = button(doc, "tracewidget-forward", "Forward \u25B6", "next view");
  const crumbs = el(doc, "nav", "tracewidget-breadcrumb");
  crumbs.setAttribute("aria-label", "views");
  const crumbList = el(doc, "ol");
  crumbs.append(crumbList);
  nav.append(back, forward, crumbs);
  const toolbar = el(doc, "div", "tracewidget-bar tracewidget-toolbar");
  const controls = el(doc, "div", "tracewidget-group tracewidget-controls");
  const inputs = {};
  for (const name of [...Object.keys(CHOICES), ...NUMBERS]) {
    const label = el(doc, "label", `tracewidget-control tracewidget-control-${name}`);
    let input;
    if (name in CHOICES) {
      input = /** @type {HTMLSelectElement} */
      el(doc, "select");
      for (const [value, text] of CHOICES[name]) {
        const option = (
          /** @type {HTMLOptionElement} */
          el(doc, "option", void 0, text)
        );
        option.value = value;
        input.append(option);
      }
    } else {
      input = /** @type {HTMLInputElement} */
      el(doc, "input");
      input.type = "number";
      input.min = "1";
      input.step = "1";
    }
    input.name = name;
    input.setAttribute("data-lm-suppress-shortcuts", "true");
    label.append(el(doc, "span", void 0, LABELS[name]), input);
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
  const progress = el(doc, "div", "tracewidget-progress");
  const bar = (
    /** @type {HTMLProgressElement} */
    el(doc, "progress")
  );
  const progressLabel = el(doc, "span", "tracewidget-progress-text");
  const cancel = button(doc, "tracewidget-cancel", "Cancel", "stop the running sweep");
  progress.append(bar, progressLabel, cancel);
  const statusLine = el(doc, "div", "tracewidget-status");
  statusLine.setAttribute("aria-live", "polite");
  const errorBox = el(doc, "div", "tracewidget-error");
  errorBox.setAttribute("role", "alert");
  const errorMessage = el(doc, "div", "tracewidget-error-message");
  const errorDetails = (
    /** @type {HTMLDetailsElement} */
    el(doc, "details")
  );
  const errorDetail = el(doc, "pre");
  errorDetails.append(el(doc, "summary", void 0, "details"), errorDetail);
  errorBox.append(errorMessage, errorDetails);
  const viewTitle = el(doc, "div", "tracewidget-view-title");
  const gridsBox = el(doc, "div", "tracewidget-grids");
  const placeholder = el(doc, "div", "tracewidget-placeholder");
  const tooltip = el(doc, "div", "tracewidget-tooltip");
  tooltip.hidden = true;
  root.append(
    nav,
    toolbar,
    progress,
    statusLine,
    errorBox,
    viewTitle,
    gridsBox,
    placeholder,
    tooltip
  );
  host.replaceChildren(style, root);
  const heatmaps = [];
  let renders = 0;
  let crumbKey = "";
  let drawError = null;
  const exportRequests = /* @__PURE__ */ new Set();
  let exportCount = 0;
  const views = () => model.get("views") ?? [];
  const viewIndex = () => (
    /** @type {number} */
    model.get("view_index") ?? -1
  );
  function setTrait(name, value) {
    model.set(name, value);
    model.save_changes();
  }
  const handlers = {
    select: (grid, row, col) => setTrait("selection", { grid, row, col }),
    refine: (grid, row, col) => model.send({ type: "refine", view: viewIndex(), grid, row, col }),
    hover: showTooltip
  };
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
      const error = (
        /** @type {Error} */
        err
      );
      drawError = {
        message: `Could not draw this view: ${error.message}`,
        detail: error.stack ?? ""
      };
    }
    drawSelection();
    drawStatus();
    renders += 1;
    root.dataset.renders = String(renders);
  }
  function drawNav(all, index) {
    back.disabled = index <= 0;
    forward.disabled = index >= all.length - 1;
    const key = JSON.stringify([index, all.map((v) => v.crumb)]);
    if (key === crumbKey) return;
    crumbKey = key;
    crumbList.replaceChildren(...all.map((view, i) => {
      const item = el(doc, "li");
      const crumb = button(
        doc,
        "tracewidget-crumb",
        String(view.crumb ?? i),
        String(view.title ?? "")
      );
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
      if (status.total > 0) {
        bar.max = status.total;
        bar.value = status.done ?? 0;
      } else {
        bar.removeAttribute("value");
      }
      progressLabel.textContent = progressText(status);
    }
    const error = drawError ?? (state === "error" ? { message: status.message || "error", detail: status.detail || "" } : null);
    errorBox.hidden = !error;
    errorMessage.textContent = error?.message ?? "";
    errorDetail.textContent = error?.detail ?? "";
    errorDetails.hidden = !error?.detail;
    statusLine.textContent = state === "error" ? "" : status.message ?? "";
    statusLine.hidden = !statusLine.textContent;
    const empty = heatmaps.length === 0;
    placeholder.hidden = !empty;
    placeholder.textContent = running ? "Computing\u2026" : "Nothing to show yet.";
  }
  function drawControls() {
    const enabled = model.get("controls_enabled") ?? {};
    for (const [name, input] of Object.entries(inputs)) {
      const value = model.get(name);
      const allowed = name in enabled ? enabled[name] || [] : null;
      input.disabled = Array.isArray(allowed) && allowed.length === 0;
      if (name in CHOICES) {
        const select = (
          /** @type {HTMLSelectElement} */
          input
        );
        if (value != null && ![...select.options].some((o) => o.value === String(value))) {
          const option = (
            /** @type {HTMLOptionElement} */
            el(doc, "option", void 0, String(value))
          );
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
  function onControl(name) {
    const input = inputs[name];
    if (name in CHOICES) {
      setTrait(name, input.value);
      return;
    }
    const n = Number(input.value);
    if (Number.isInteger(n) && n >= 1) setTrait(name, n);
    else input.value = String(model.get(name));
  }
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
  function currentView() {
    return views()[viewIndex()];
  }
  function exportedSvg() {
    const view = currentView();
    return view && heatmaps.length ? viewSvg(root, view.title ?? "", heatmaps.map((h) => h.svg)) : null;
  }
  function exportFailed(err) {
    drawError = { message: `Export failed: ${/** @type {Error} */
    err.message}`, detail: "" };
    drawStatus();
  }
  listen(svg, "click", () => {
    const out = exportedSvg();
    if (!out) return;
    try {
      downloadBlob(
        root,
        new Blob([out.text], { type: "image/svg+xml" }),
        exportFilename(currentView().crumb, "svg")
      );
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
  function onCustom(msg) {
    if (msg?.type !== "export_json" || !exportRequests.delete(msg.request)) return;
    downloadBlob(
      root,
      new Blob([String(msg.text ?? "")], { type: "application/json" }),
      String(msg.filename || exportFilename(currentView()?.crumb ?? "", "json"))
    );
  }
  listen(back, "click", () => model.send({ type: "navigate", index: viewIndex() - 1 }));
  listen(forward, "click", () => model.send({ type: "navigate", index: viewIndex() + 1 }));
  listen(crumbList, "click", (event) => {
    const crumb = (
      /** @type {Element} */
      event.target.closest?.(".tracewidget-crumb")
    );
    if (crumb && crumb.getAttribute("aria-current") !== "page") {
      model.send({ type: "navigate", index: Number(crumb.getAttribute("data-index")) });
    }
  });
  listen(cancel, "click", () => model.send({ type: "cancel" }));
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
      (name) => (
        /** @type {[string, () => void]} */
        [`change:${name}`, drawControls]
      )
    ),
    ["msg:custom", onCustom]
  ];
  for (const [event, callback] of subscriptions) model.on(event, callback);
  drawControls();
  drawView();
  return () => {
    for (const [event, callback] of subscriptions) model.off(event, callback);
    abort.abort();
  };
}
var widget_default = { render };
export {
  widget_default as default
};
