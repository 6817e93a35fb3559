// js/dom.js
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
function listener(signal) {
  return (target, type, fn) => target.addEventListener(type, fn, { signal });
}

// js/protocol.js
var MESSAGES = Object.freeze({
  refine: "refine",
  // {view, grid, row, col}: a click on a cell
  cancel: "cancel",
  // {}: stop the running sweep
  resume: "resume",
  // {}: continue the cancelled sweep from its cells
  navigate: "navigate",
  // {index}: show another view
  exportJson: "export_json"
  // {request}: ask for the view's grids as JSON
});
var CONTROLS = Object.freeze([
  "experiment",
  "component",
  "metric",
  "window",
  "samples",
  "subject"
]);
var DISPLAY = Object.freeze(["value_kind", "colour_scale"]);
var STATES = Object.freeze(["idle", "running", "cancelled", "error"]);
var SCALES = Object.freeze(["shared", "panel"]);
var VALUE_KINDS = Object.freeze(["score", "effect", "normalized"]);
function setTrait(model, name, value) {
  model.set(name, value);
  model.save_changes();
}

// js/controls.js
var CHOICES = {
  experiment: [["restore", "restore"], ["ablate", "ablate"], ["noise", "noise trace"]],
  component: [["resid", "residual"], ["mlp", "MLP"], ["attn", "attention"]],
  metric: [
    ["prob", "probability"],
    ["logprob", "log probability"],
    ["logit_diff", "logit difference"]
  ],
  value_kind: [["score", "score"], ["effect", "effect"], ["normalized", "normalized effect"]],
  colour_scale: [["shared", "shared by the panels"], ["panel", "each panel its own"]]
};
var NUMBERS = ["window", "samples"];
var TEXTS = ["subject"];
var TEXT_SIZE = 14;
function fitText(input) {
  input.size = Math.max(TEXT_SIZE, input.value.length + 1);
}
var LABELS = {
  experiment: "experiment",
  component: "component",
  metric: "metric",
  window: "window",
  samples: "samples",
  subject: "subject",
  value_kind: "show",
  colour_scale: "colours"
};
var HINTS = {
  window: "layers restored or ablated together around each row (mlp and attn); Enter applies",
  samples: "noise samples per cell (noise trace); Enter applies",
  subject: "the words the noise trace corrupts (highlighted on the token axis); Enter applies",
  colour_scale: "shared: one colour scale for the view's panels, so equal colours mean equal numbers; each panel its own: every panel spans its own range"
};
function parseControl(name, text) {
  if (NUMBERS.includes(name)) {
    const n = Number(text);
    return Number.isInteger(n) && n >= 1 ? n : void 0;
  }
  return TEXTS.includes(name) ? text.trim() : text;
}
function createControls(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-group tracewidget-controls");
  const inputs = {};
  for (const name of [...CONTROLS, ...DISPLAY]) {
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
      if (NUMBERS.includes(name)) {
        input.type = "number";
        input.min = "1";
        input.step = "1";
      } else {
        const text = (
          /** @type {HTMLInputElement} */
          input
        );
        text.type = "text";
        text.size = TEXT_SIZE;
        listen(text, "input", () => fitText(text));
      }
    }
    input.name = name;
    if (HINTS[name]) label.title = HINTS[name];
    input.setAttribute("data-lm-suppress-shortcuts", "true");
    label.append(el(doc, "span", void 0, LABELS[name]), input);
    element.append(label);
    inputs[name] = input;
    listen(input, "change", () => apply(name));
    listen(input, "keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      event.stopPropagation();
      apply(name);
    });
  }
  function apply(name) {
    const input = inputs[name];
    const value = parseControl(name, input.value);
    if (value === void 0) input.value = String(model.get(name));
    else if (value !== model.get(name)) setTrait(model, name, value);
  }
  function draw() {
    for (const [name, input] of Object.entries(inputs)) {
      const value = model.get(name);
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
      }
      if (value != null && input.value !== String(value)) input.value = String(value);
      if (TEXTS.includes(name)) fitText(
        /** @type {HTMLInputElement} */
        input
      );
    }
  }
  return { element, draw, inputs };
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
function wrapText(text, width, maxLines) {
  const room = Math.max(8, width);
  const lines = [];
  let line = "";
  for (const word of String(text).split(" ")) {
    const joined = line ? `${line} ${word}` : word;
    if ([...joined].length <= room) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = truncate(word, room);
  }
  lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${truncate(kept[maxLines - 1], room - 1).replace(/…$/, "")}\u2026`;
  return kept;
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
  if (total === 0) return `preparing the runs\u2026${waiting}`;
  return `${done}/${total} cells${left}${waiting}`;
}
function describeCell(grid, row, col, values) {
  const show = (name, label) => name === "token" ? quoteLabel(String(label)) : truncate(String(label), DESCRIBE_MAX);
  const rowText = show(grid.row_name, grid.row_labels[row] ?? row);
  const subject = (grid.subject ?? []).includes(col) ? " (subject)" : "";
  const colText = show(grid.col_name, grid.col_labels[col] ?? col) + subject;
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
    const spread = spreadText(grid, values.ci95);
    if (spread) lines.push(["spread", spread]);
  }
  return { aria: `${grid.row_name} ${rowText}, ${grid.col_name} ${colText}: ${numbers}`, lines };
}
function spreadText(grid, ci95) {
  if (grid.samples == null || ci95 == null) return "";
  const done = grid.samples_done ?? grid.samples;
  const samples = `${done}/${grid.samples} samples`;
  if (Number.isNaN(ci95)) return `unknown until 2 samples are in (${samples})`;
  return `\xB1${formatValue(ci95)} (95%, ${samples})`;
}

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
function viewSvg(root, text, heatmaps) {
  const doc = root.ownerDocument;
  const view = doc.defaultView;
  const gap = 16;
  const line = 16;
  let panelsW = 0;
  let panelsH = 0;
  const copies = heatmaps.map((svg) => {
    const w = Number(svg.getAttribute("width")) || 0;
    const h = Number(svg.getAttribute("height")) || 0;
    const copy = (
      /** @type {SVGSVGElement} */
      svg.cloneNode(true)
    );
    inlineStyles(svg, copy);
    copy.querySelectorAll(".tracewidget-selection-outline, .tracewidget-queued-outline").forEach((node) => node.remove());
    copy.removeAttribute("tabindex");
    copy.setAttribute("x", String(panelsW ? panelsW + gap : 0));
    panelsW = panelsW ? panelsW + gap + w : w;
    panelsH = Math.max(panelsH, h);
    return copy;
  });
  const width = Math.max(panelsW, 480);
  const chars = Math.floor((width - 16) / 6.6);
  const header = [
    ...text.title ? [{ text: text.title, bold: true }] : [],
    ...text.context.flatMap(([name, value]) => wrapText(`${name}: ${value}`, chars, 3).map((t) => ({ text: t, bold: false })))
  ];
  const footer = text.legend ? wrapText(text.legend, chars, 3) : [];
  const top = header.length * line + (header.length ? 8 : 0);
  const height = top + panelsH + footer.length * line + (footer.length ? 8 : 0);
  copies.forEach((copy) => copy.setAttribute("y", String(top)));
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
  const textLine = (content, y, bold) => {
    const node = doc.createElementNS(SVG_NS, "text");
    node.setAttribute("x", "8");
    node.setAttribute("y", String(y));
    node.setAttribute("class", "tracewidget-export-text");
    node.style.setProperty("fill", rootStyle?.color || "#222");
    node.style.setProperty("font-family", rootStyle?.fontFamily || "sans-serif");
    node.style.setProperty("font-size", bold ? "13px" : "11.5px");
    if (bold) node.style.setProperty("font-weight", "600");
    node.textContent = content;
    return node;
  };
  header.forEach((h, i) => out.append(textLine(h.text, 14 + i * line, h.bold)));
  out.append(...copies);
  footer.forEach((t, i) => out.append(textLine(t, top + panelsH + 14 + i * line, false)));
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

// js/navigation.js
function createNavigation(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-bar tracewidget-nav");
  const back = button(doc, "tracewidget-back", "\u25C0 Back", "previous view");
  const forward = button(doc, "tracewidget-forward", "Forward \u25B6", "next view");
  const crumbs = el(doc, "nav", "tracewidget-breadcrumb");
  crumbs.setAttribute("aria-label", "views");
  const list = el(doc, "ol");
  crumbs.append(list);
  element.append(back, forward, crumbs);
  let crumbKey = "";
  const index = () => (
    /** @type {number} */
    model.get("view_index") ?? -1
  );
  const go = (to) => model.send({ type: MESSAGES.navigate, index: to });
  listen(back, "click", () => go(index() - 1));
  listen(forward, "click", () => go(index() + 1));
  listen(list, "click", (event) => {
    const crumb = (
      /** @type {Element} */
      event.target.closest?.(".tracewidget-crumb")
    );
    if (crumb && crumb.getAttribute("aria-current") !== "page") {
      go(Number(crumb.getAttribute("data-index")));
    }
  });
  function draw(views, current) {
    back.disabled = current <= 0;
    forward.disabled = current >= views.length - 1;
    const key = JSON.stringify([current, views.map((v) => v.crumb)]);
    if (key === crumbKey) return;
    crumbKey = key;
    list.replaceChildren(...views.map((view, i) => {
      const item = el(doc, "li");
      const crumb = button(
        doc,
        "tracewidget-crumb",
        String(view.crumb ?? i),
        String(view.title ?? "")
      );
      crumb.classList.remove("tracewidget-button");
      crumb.dataset.index = String(i);
      if (i === current) crumb.setAttribute("aria-current", "page");
      item.append(crumb);
      return item;
    }));
  }
  return { element, draw };
}

// js/statusbar.js
function statusLineText(status, view, index) {
  const about = status.view === index && status.state !== "running" && status.state !== "error";
  if (about && status.message) return status.message;
  return view ? `${view.title}: ${view.summary ?? ""}` : "";
}
function createStatusBar(doc, model, listen) {
  const element = el(doc, "div", "tracewidget-statusbar");
  const progress = el(doc, "div", "tracewidget-progress");
  const bar = (
    /** @type {HTMLProgressElement} */
    el(doc, "progress")
  );
  const progressLabel = el(doc, "span", "tracewidget-progress-text");
  const cancel = button(
    doc,
    "tracewidget-cancel",
    "Cancel",
    "stop the running sweep; its cells stay, and Resume continues it"
  );
  progress.append(bar, progressLabel, cancel);
  const pending = el(doc, "div", "tracewidget-pending");
  const resumeBox = el(doc, "div", "tracewidget-resume-box");
  const resume = button(
    doc,
    "tracewidget-resume",
    "Resume",
    "continue the cancelled sweep from the cells already computed"
  );
  resumeBox.append(resume);
  const line = el(doc, "div", "tracewidget-status");
  line.setAttribute("aria-live", "polite");
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
  element.append(progress, pending, resumeBox, line, errorBox);
  listen(cancel, "click", () => model.send({ type: MESSAGES.cancel }));
  listen(resume, "click", () => model.send({ type: MESSAGES.resume }));
  function draw(view, index, drawError) {
    const status = (
      /** @type {import("./protocol.js").Status} */
      model.get("status") ?? {}
    );
    const state = status.state ?? "idle";
    const running = state === "running";
    progress.hidden = !running;
    if (running) {
      if (status.total > 0) {
        bar.max = status.total;
        bar.value = status.done ?? 0;
      } else {
        bar.removeAttribute("value");
      }
      progressLabel.textContent = `${status.message}: ${progressText(status)}`;
    }
    pending.textContent = status.pending ?? "";
    pending.hidden = !pending.textContent;
    resumeBox.hidden = !(state === "cancelled" && status.resumable);
    const error = drawError ?? (state === "error" ? { message: status.message || "error", detail: status.detail || "" } : null);
    errorBox.hidden = !error;
    errorMessage.textContent = error?.message ?? "";
    errorDetail.textContent = error?.detail ?? "";
    errorDetails.hidden = !error?.detail;
    line.textContent = statusLineText(status, view, index);
    line.hidden = !line.textContent;
    return state;
  }
  return { element, draw };
}

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
.tracewidget-context { margin: 2px 0 6px; font-size: 12px; }
.tracewidget-context div { white-space: pre-wrap; overflow-wrap: anywhere; }
.tracewidget-context-name {
  display: inline-block;
  min-width: 6em;
  color: var(--jp-ui-font-color2, #666);
}
.tracewidget-legend {
  display: flex;
  flex-wrap: wrap;
  gap: 2px 14px;
  margin-top: 4px;
  color: var(--jp-ui-font-color2, #666);
  font-size: 11px;
}
.tracewidget-legend b { font-family: var(--jp-code-font-family, monospace); font-weight: 600; }
.tracewidget-pending { color: var(--jp-brand-color1, #1976d2); margin: 2px 0; }
.tracewidget-resume-box { margin: 2px 0; }
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
/* faint borders: the grid's edges show on white, where "no effect" cells meet the page */
.tracewidget-cell { stroke: rgba(0, 0, 0, 0.1); stroke-width: 0.5px; }
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
.tracewidget-queued-outline {
  fill: none;
  stroke: var(--jp-brand-color1, #1976d2);
  stroke-width: 2px;
  stroke-dasharray: 3 2;
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
var EFFECT_FLOOR = 0.01;
function known(v) {
  return typeof v === "number" && Number.isFinite(v);
}
function sequentialScale(component, blank, full, note = "") {
  const stops = SEQUENTIAL[
    /** @type {Component} */
    component
  ] ?? SEQUENTIAL.resid;
  const span = full - blank;
  return {
    kind: "sequential",
    domain: [blank, full],
    stops,
    note,
    colour: (v) => Number.isNaN(v) ? null : interpolate(stops, span !== 0 ? (v - blank) / span : 0)
  };
}
function divergingScale(m, note = "") {
  return {
    kind: "diverging",
    domain: [-m, m],
    stops: DIVERGING,
    note,
    colour: (v) => Number.isNaN(v) ? null : interpolate(DIVERGING, m > 0 ? 0.5 + v / (2 * m) : 0.5)
  };
}
function scoreEnds(grid) {
  const up = grid.experiment !== "ablate";
  const blank = up ? grid.corrupt_score : grid.clean_score;
  const full = up ? grid.clean_score : grid.corrupt_score;
  return known(blank) && known(full) ? { blank, full, up } : null;
}
function scoreScales(panels, mode, note) {
  const ends = panels.map((p) => scoreEnds(p.grid));
  const reference = ends.find((e) => e !== null) ?? null;
  if (mode === "shared" && reference) {
    let full = reference.full;
    for (const { values } of panels) {
      const { min, max, count } = finiteExtent(values);
      if (count) full = reference.up ? Math.max(full, max) : Math.min(full, min);
    }
    return panels.map((p) => sequentialScale(p.grid.component, reference.blank, full, note));
  }
  return panels.map((p, i) => {
    const { min, max, count } = finiteExtent(p.values);
    const own = ends[i] ?? reference;
    if (!own) {
      return sequentialScale(p.grid.component, count ? min : 0, count ? max : 0, note);
    }
    const furthest = !count ? own.blank : own.up ? Math.max(own.blank, max) : Math.min(own.blank, min);
    return sequentialScale(p.grid.component, own.blank, furthest, note);
  });
}
function viewScales(panels, kind, mode) {
  const shared = mode === "shared";
  const note = !shared ? "this panel's range" : panels.length > 1 ? `shared by the ${panels.length} panels` : "shared scale";
  if (kind === "score") return scoreScales(panels, mode, note);
  const limits = panels.map((p) => finiteExtent(p.values).absMax);
  if (!shared) return limits.map((m2) => divergingScale(m2, note));
  if (kind === "normalized") return panels.map(() => divergingScale(1, note));
  const total = panels.map((p) => p.grid).map((g) => known(g.clean_score) && known(g.corrupt_score) ? Math.abs(g.clean_score - g.corrupt_score) : 0);
  const m = Math.max(...limits, EFFECT_FLOOR * Math.max(0, ...total));
  return panels.map(() => divergingScale(m, note));
}
var SPREAD_WIDE = 0.1;
function uncertainCells(grid, shown, ci95, kind, scale) {
  const { samples, samples_done: samplesDone } = grid;
  if (ci95 === null || samples == null || samplesDone == null || samplesDone >= samples) {
    return null;
  }
  const gap = known(grid.clean_score) && known(grid.corrupt_score) ? Math.abs(grid.clean_score - grid.corrupt_score) : 0;
  const unit = kind === "normalized" && gap > 0 ? 1 / gap : 1;
  const range = Math.abs(scale.domain[1] - scale.domain[0]);
  return Array.from(shown, (v, i) => !Number.isNaN(v) && (Number.isNaN(ci95[i]) || ci95[i] * unit > SPREAD_WIDE * range));
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
function decodeGrid(grid) {
  const n = grid.rows * grid.cols;
  const field = (field2) => {
    const values = decodeFloat32(grid[field2]);
    if (values === null || values.length !== n) {
      throw new Error(`grid ${JSON.stringify(grid.key)}: ${field2} has ${values?.length ?? 0} values, expected ${grid.rows} x ${grid.cols} = ${n}`);
    }
    return values;
  };
  const optional = (name) => grid[name] == null ? null : field(name);
  return {
    scores: field("scores"),
    effects: field("effects"),
    normalized: optional("normalized"),
    estimated: optional("estimated"),
    ci95: optional("ci95")
  };
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
var MIN_WIDTH = 320;
var TITLE_CHAR_W = 7;
var TITLE_LINES = 3;
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
function geometry(grid, titleRows = 1) {
  const { rows, cols } = grid;
  const rowLabels = Array.from({ length: rows }, (_, r) => axisLabel(grid.row_labels[r] ?? r));
  const subject = new Set(grid.subject ?? []);
  const colLabels = Array.from({ length: cols }, (_, c) => axisLabel(grid.col_labels[c] ?? c) + (subject.has(c) ? "*" : ""));
  const cellW = clamp(Math.floor(560 / Math.max(1, cols)), 14, 36);
  const cellH = clamp(Math.floor(480 / Math.max(1, rows)), 6, 28);
  const gridW = cols * cellW;
  const gridH = rows * cellH;
  const longest = (labels) => labels.reduce((m, s) => Math.max(m, [...s].length), 0);
  const diag = longest(colLabels) * CHAR_W * Math.SQRT1_2 + 6;
  const left = Math.ceil(PAD + AXIS_NAME + Math.max(longest(rowLabels) * CHAR_W + 6, diag - cellW / 2));
  const width = Math.ceil(Math.max(
    left + gridW + BAR_GAP + BAR_W + TICK_W + LINE + PAD,
    MIN_WIDTH
  ));
  const titleLines = wrapText(
    grid.title,
    Math.floor((width - 2 * PAD) / TITLE_CHAR_W),
    TITLE_LINES
  );
  const top = PAD + (Math.max(titleLines.length, titleRows) + 2) * LINE + 6;
  const caption = [...colourbarLabel("effect", grid.metric_label)].length * CHAR_W;
  const barH = Math.max(gridH, 60, Math.ceil(caption) + 8);
  const height = Math.ceil(Math.max(top + gridH + diag + AXIS_NAME + PAD, top + barH + PAD));
  return {
    rowLabels,
    colLabels,
    subject,
    cellW,
    cellH,
    gridW,
    gridH,
    diag,
    left,
    width,
    titleLines,
    top,
    barH,
    height
  };
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
      estimated: null,
      ci95: null
    };
    this.layoutKey = null;
    this.cells = [];
    this.fills = [];
    this.dataValues = [];
    this.arias = [];
    this.uncertainKey = null;
    this.selected = null;
    this.queuedOutline = null;
    this.subtitles = [];
    this.gradient = null;
    this.colourbar = null;
    this.outline = null;
    this.uncertainLayer = null;
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
    const layoutKey = JSON.stringify([
      grid.key,
      grid.rows,
      grid.cols,
      grid.row_labels,
      grid.col_labels,
      grid.subject,
      grid.row_name,
      grid.col_name,
      grid.title,
      titleRows
    ]);
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
    const {
      rowLabels,
      colLabels,
      subject,
      cellW,
      cellH,
      gridW,
      gridH,
      diag,
      left,
      width,
      titleLines,
      top,
      barH,
      height
    } = geometry(grid, titleRows);
    const title = titleLines.join(" ");
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
    const stripes = svgEl(doc, "pattern", {
      id: `${id}-uncertain`,
      width: 6,
      height: 6,
      patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(-45)"
    });
    stripes.append(
      svgEl(doc, "line", {
        x1: 1,
        y1: 0,
        x2: 1,
        y2: 6,
        stroke: "#ffffff",
        "stroke-opacity": 0.7,
        "stroke-width": 1
      }),
      svgEl(doc, "line", {
        x1: 2,
        y1: 0,
        x2: 2,
        y2: 6,
        stroke: "#000000",
        "stroke-opacity": 0.3,
        "stroke-width": 1
      })
    );
    this.gradient = svgEl(doc, "linearGradient", { id: `${id}-scale`, x1: 0, y1: 1, x2: 0, y2: 0 });
    defs.append(hatch, stripes, this.gradient);
    const titleText = svgEl(doc, "text", { class: "tracewidget-title", "aria-hidden": "true" });
    titleLines.forEach((line, i) => {
      const span = svgEl(doc, "tspan", { x: PAD, y: PAD + 11 + i * LINE });
      span.textContent = line;
      titleText.append(span);
    });
    this.subtitles = [0, 1].map((i) => svgEl(doc, "text", {
      class: "tracewidget-subtitle",
      x: PAD,
      y: PAD + 11 + (Math.max(titleLines.length, titleRows) + i) * LINE,
      "aria-hidden": "true"
    }));
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
    this.uncertainKey = null;
    this.uncertainLayer = svgEl(doc, "g", {
      class: "tracewidget-uncertain-marks",
      "aria-hidden": "true",
      "pointer-events": "none"
    });
    this.outline = svgEl(doc, "rect", {
      class: "tracewidget-selection-outline",
      width: cellW,
      height: cellH,
      "aria-hidden": "true",
      visibility: "hidden"
    });
    this.queuedOutline = svgEl(doc, "rect", {
      class: "tracewidget-queued-outline",
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
    svg.append(
      defs,
      titleText,
      ...this.subtitles,
      body,
      this.uncertainLayer,
      this.outline,
      this.queuedOutline,
      labels,
      this.colourbar
    );
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
    const shown = kind === "score" ? scores : kind === "effect" ? effects : (
      /** @type {Float32Array} */
      normalized
    );
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
    const first = scoresKnown ? [`clean ${formatValue(grid.clean_score)}`, `corrupt ${formatValue(grid.corrupt_score)}`] : ["not started yet"];
    if (grid.done < grid.total) first.push(`${grid.done}/${grid.total} cells`);
    const second = [];
    if (grid.samples != null && grid.samples_done != null && grid.samples_done < grid.samples) {
      second.push(`${grid.samples_done}/${grid.samples} noise samples in`);
    }
    const unsettled = this.paintUncertain(uncertain);
    if (unsettled > 0) {
      second.push(`${unsettled} cell${unsettled === 1 ? "" : "s"} still uncertain (striped)`);
    }
    const estimates = estimated === null ? 0 : estimated.reduce((sum, e) => sum + (e > 0 ? 1 : 0), 0);
    if (estimates > 0) second.push(`${estimates} cells estimated (faded)`);
    second.push(`colours: ${scale.note}`);
    if (note) second.push(note);
    this.subtitles[0].textContent = first.join(" \xB7 ");
    this.subtitles[1].textContent = second.join(" \xB7 ");
    this.paintColourbar(scale, colourbarLabel(kind, grid.metric_label));
  }
  /**
   * Stripe the uncertain cells (see `uncertainCells`; null: none) and mark them
   * `data-uncertain`; the DOM is touched only when the set changed.
   * @param {boolean[] | null} uncertain
   * @returns {number}  how many cells are striped
   */
  paintUncertain(uncertain) {
    const key = uncertain === null ? "" : uncertain.map((u) => u ? 1 : 0).join("");
    const count = uncertain === null ? 0 : uncertain.filter(Boolean).length;
    if (key === this.uncertainKey) return count;
    this.uncertainKey = key;
    const layer = (
      /** @type {SVGElement} */
      this.uncertainLayer
    );
    const marks = [];
    for (let i = 0; i < this.cells.length; i += 1) {
      const cell = this.cells[i];
      const marked = uncertain?.[i] ?? false;
      cell.setAttribute("data-uncertain", String(marked));
      if (!marked) continue;
      marks.push(svgEl(this.doc, "rect", {
        class: "tracewidget-uncertain",
        x: cell.getAttribute("x") ?? 0,
        y: cell.getAttribute("y") ?? 0,
        width: cell.getAttribute("width") ?? 0,
        height: cell.getAttribute("height") ?? 0,
        fill: `url(#${this.id}-uncertain)`
      }));
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
    const { scores, effects, normalized, ci95 } = this.values;
    return describeCell(grid, Math.floor(i / grid.cols), i % grid.cols, {
      score: scores[i],
      effect: effects[i],
      normalized: normalized === null ? null : normalized[i],
      ci95: ci95 === null ? null : ci95[i]
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
   * Outline (dashed) the clicked cell whose finer sweep is queued or computing, or nobody.
   * @param {{row: number, col: number, queued: boolean} | null} cell
   */
  setQueued(cell) {
    const outline = (
      /** @type {SVGElement} */
      this.queuedOutline
    );
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

// js/view.js
var LEGEND = [
  ["\xB7Tower", "the token starts with a space"],
  ["Tower*", "a subject token (underlined)"],
  ["white", "no effect"],
  ["hatched", "not computed yet"],
  ["striped", "noise trace still uncertain: more samples could move its colour by over a tenth of the bar (its 95% interval)"],
  ["faded", "attribution estimate, until the exact cell arrives"],
  ["dashed outline", "a clicked cell whose view is coming"]
];
function panelsOf(grids, valueKind) {
  return grids.map((grid) => {
    const values = decodeGrid(grid);
    const kind = valueKind === "normalized" && values.normalized === null ? "effect" : valueKind;
    const shown = kind === "score" ? values.scores : kind === "effect" ? values.effects : (
      /** @type {Float32Array} */
      values.normalized
    );
    return { grid, values, kind, shown };
  });
}
function scalesOf(panels, mode) {
  const scales = new Array(panels.length);
  for (const kind of new Set(panels.map((p) => p.kind))) {
    const group = panels.map((p, i) => [p, i]).filter(([p]) => (
      /** @type {Drawn} */
      p.kind === kind
    ));
    const made = viewScales(group.map(([p]) => ({
      grid: (
        /** @type {Drawn} */
        p.grid
      ),
      values: (
        /** @type {Drawn} */
        p.shown
      )
    })), kind, mode);
    group.forEach(([, i], k) => {
      scales[
        /** @type {number} */
        i
      ] = made[k];
    });
  }
  return scales;
}
function createView(doc, model, id, handlers, signal) {
  const element = el(doc, "div", "tracewidget-view");
  const title = el(doc, "div", "tracewidget-view-title");
  const context = el(doc, "div", "tracewidget-context");
  const grids = el(doc, "div", "tracewidget-grids");
  const placeholder = el(doc, "div", "tracewidget-placeholder");
  const legend = el(doc, "div", "tracewidget-legend");
  legend.append(...LEGEND.map(([mark, meaning]) => {
    const item = el(doc, "span", "tracewidget-legend-item");
    item.append(el(doc, "b", void 0, mark), ` ${meaning}`);
    return item;
  }));
  element.append(title, context, grids, placeholder, legend);
  const heatmaps = [];
  let contextKey = "";
  function draw(view, running) {
    title.textContent = view?.title ?? "";
    title.hidden = !view;
    const lines = view?.context ?? [];
    const key = JSON.stringify(lines);
    if (key !== contextKey) {
      contextKey = key;
      context.replaceChildren(...lines.map(([name, value]) => {
        const line = el(doc, "div");
        line.append(el(doc, "span", "tracewidget-context-name", name), value);
        return line;
      }));
    }
    context.hidden = lines.length === 0;
    const all = view?.grids ?? [];
    for (const stale of heatmaps.splice(all.length)) stale.svg.remove();
    const panels = panelsOf(all, model.get("value_kind") ?? "score");
    const scales = scalesOf(panels, model.get("colour_scale") ?? "shared");
    const titleRows = Math.max(1, ...panels.map((p) => geometry(p.grid).titleLines.length));
    panels.forEach((panel, i) => {
      if (!heatmaps[i]) {
        heatmaps[i] = new Heatmap(doc, `${id}-g${i}`, handlers, signal);
        grids.append(heatmaps[i].svg);
      }
      const started = panel.grid.clean_score != null && panel.grid.corrupt_score != null;
      const note = panel.kind === model.get("value_kind") || !started ? "" : "normalized effect undefined: showing effect";
      heatmaps[i].update(panel.grid, i, panel.values, panel.kind, scales[i], note, titleRows);
    });
    placeholder.hidden = heatmaps.length > 0;
    placeholder.textContent = running ? "Computing\u2026" : "Nothing to show yet.";
    legend.hidden = heatmaps.length === 0;
  }
  function drawMarks(index) {
    const selection = model.get("selection") ?? {};
    const clicked = model.get("status")?.clicked ?? null;
    heatmaps.forEach((heatmap, i) => {
      heatmap.setSelected(selection.grid === i ? selection : null);
      heatmap.setQueued(clicked && clicked.view === index && clicked.grid === i ? clicked : null);
    });
  }
  return { element, draw, drawMarks, heatmaps, legendText: () => LEGEND.map(
    ([mark, meaning]) => `${mark} ${meaning}`
  ).join(" \xB7 ") };
}

// js/widget.js
function createTooltip(doc, root) {
  const element = el(doc, "div", "tracewidget-tooltip");
  element.hidden = true;
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
function createExports(doc, model, listen, root, id, current, failed) {
  const element = el(doc, "div", "tracewidget-group tracewidget-export");
  const png = button(doc, "tracewidget-export-png", "PNG", "download the view as PNG");
  const svg = button(doc, "tracewidget-export-svg", "SVG", "download the view as SVG");
  const json = button(doc, "tracewidget-export-json", "JSON", "download the grids as JSON");
  element.append(png, svg, json);
  const requests = /* @__PURE__ */ new Set();
  let count = 0;
  listen(svg, "click", () => {
    const shown = current();
    if (!shown) return;
    try {
      const out = viewSvg(root, shown.text, shown.svgs);
      downloadBlob(
        root,
        new Blob([out.text], { type: "image/svg+xml" }),
        exportFilename(shown.crumb, "svg")
      );
    } catch (err) {
      failed(err);
    }
  });
  listen(png, "click", () => {
    const shown = current();
    if (!shown) return;
    try {
      const out = viewSvg(root, shown.text, shown.svgs);
      svgToPng(doc, out, 2).then((blob) => downloadBlob(root, blob, exportFilename(shown.crumb, "png")), failed);
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
  function onMessage(msg) {
    if (msg?.type !== MESSAGES.exportJson || !requests.delete(msg.request)) return;
    downloadBlob(
      root,
      new Blob([String(msg.text ?? "")], { type: "application/json" }),
      String(msg.filename || exportFilename(current()?.crumb ?? "", "json"))
    );
  }
  return { element, onMessage };
}
function render({ model, el: host }) {
  const doc = host.ownerDocument;
  const id = `tracewidget-${Math.random().toString(36).slice(2, 10)}`;
  const abort = new AbortController();
  const listen = listener(abort.signal);
  const style = el(doc, "style");
  style.textContent = css;
  const root = el(doc, "div", "tracewidget-root");
  root.dataset.renders = "0";
  let renders = 0;
  let drawError = null;
  const views = () => model.get("views") ?? [];
  const viewIndex = () => (
    /** @type {number} */
    model.get("view_index") ?? -1
  );
  const tooltip = createTooltip(doc, root);
  const nav = createNavigation(doc, model, listen);
  const controls = createControls(doc, model, listen);
  const status = createStatusBar(doc, model, listen);
  const view = createView(doc, model, id, {
    select: (grid, row, col) => setTrait(model, "selection", { grid, row, col }),
    refine: (grid, row, col) => model.send({ type: MESSAGES.refine, view: viewIndex(), grid, row, col }),
    hover: tooltip.show
  }, abort.signal);
  const exports = createExports(doc, model, listen, root, id, () => {
    const shown = views()[viewIndex()];
    if (!shown || !view.heatmaps.length) return null;
    return { text: {
      title: shown.title ?? "",
      context: shown.context ?? [],
      legend: view.legendText()
    }, svgs: view.heatmaps.map((h) => h.svg), crumb: shown.crumb };
  }, (err) => {
    drawError = { message: `Export failed: ${/** @type {Error} */
    err.message}`, detail: "" };
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
      const error = (
        /** @type {Error} */
        err
      );
      drawError = {
        message: `Could not draw this view: ${error.message}`,
        detail: error.stack ?? ""
      };
    }
    drawStatus();
    renders += 1;
    root.dataset.renders = String(renders);
  }
  const subscriptions = [
    ["change:views", drawView],
    ["change:view_index", drawView],
    ["change:value_kind", () => {
      drawView();
      controls.draw();
    }],
    ["change:colour_scale", () => {
      drawView();
      controls.draw();
    }],
    ["change:selection", () => view.drawMarks(viewIndex())],
    ["change:status", drawStatus],
    ...CONTROLS.map((name) => (
      /** @type {[string, () => void]} */
      [
        `change:${name}`,
        controls.draw
      ]
    )),
    ["msg:custom", exports.onMessage]
  ];
  for (const [event, callback] of subscriptions) model.on(event, callback);
  controls.draw();
  drawView();
  return () => {
    for (const [event, callback] of subscriptions) model.off(event, callback);
    abort.abort();
  };
}
var widget_default = { render };
export {
  createExports,
  createTooltip,
  widget_default as default
};
