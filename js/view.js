// The view on screen: its title, what it shows (model, prompts, target, metric), a legend of
// the marks, and its heatmaps side by side on the view's colour scales.

import { viewScales } from "./colour.js";
import { decodeGrid } from "./decode.js";
import { el } from "./dom.js";
import { Heatmap, geometry } from "./heatmap.js";

/** What the marks on the axes and in the cells mean ([mark, meaning]). */
export const LEGEND = [
  ["·Tower", "the token starts with a space"],
  ["Tower*", "a subject token (underlined)"],
  ["white", "no effect"],
  ["hatched", "not computed yet"],
  ["striped", "noise trace still uncertain: more samples could move its colour by over a tenth "
    + "of the bar (its 95% interval)"],
  ["faded", "attribution estimate, until the exact cell arrives"],
  ["dashed outline", "a clicked cell whose view is coming"],
];

/**
 * @typedef {object} Drawn  one panel ready to draw
 * @property {import("./heatmap.js").Grid} grid
 * @property {import("./decode.js").GridValues} values
 * @property {import("./colour.js").ValueKind} kind  what is drawn (effect where the normalized
 *   effect is undefined)
 * @property {Float32Array} shown  the numbers drawn
 */

/**
 * Decode a view's grids and choose what each draws.
 * @param {import("./heatmap.js").Grid[]} grids
 * @param {import("./colour.js").ValueKind} valueKind
 * @returns {Drawn[]}
 */
export function panelsOf(grids, valueKind) {
  return grids.map((grid) => {
    const values = decodeGrid(grid);
    // The normalized effect is undefined when the clean and corrupt scores are equal (or not
    // known yet): draw the effect then, and say so.
    const kind = valueKind === "normalized" && values.normalized === null ? "effect" : valueKind;
    const shown = kind === "score" ? values.scores
      : kind === "effect" ? values.effects : /** @type {Float32Array} */ (values.normalized);
    return { grid, values, kind, shown };
  });
}

/**
 * The scale of each panel: panels drawing the same kind share the view's scale for it.
 * @param {Drawn[]} panels
 * @param {import("./colour.js").ScaleMode} mode
 * @returns {import("./colour.js").Scale[]}
 */
export function scalesOf(panels, mode) {
  /** @type {import("./colour.js").Scale[]} */
  const scales = new Array(panels.length);
  for (const kind of new Set(panels.map((p) => p.kind))) {
    const group = panels.map((p, i) => [p, i]).filter(([p]) => /** @type {Drawn} */ (p).kind === kind);
    const made = viewScales(group.map(([p]) => ({ grid: /** @type {Drawn} */ (p).grid,
      values: /** @type {Drawn} */ (p).shown })), kind, mode);
    group.forEach(([, i], k) => { scales[/** @type {number} */ (i)] = made[k]; });
  }
  return scales;
}

/**
 * @param {Document} doc
 * @param {import("./protocol.js").Model} model
 * @param {string} id  unique in the page: prefixes the SVG ids
 * @param {import("./heatmap.js").HeatmapHandlers} handlers
 * @param {AbortSignal} signal
 */
export function createView(doc, model, id, handlers, signal) {
  const element = el(doc, "div", "tracewidget-view");
  const title = el(doc, "div", "tracewidget-view-title");
  const context = el(doc, "div", "tracewidget-context");
  const grids = el(doc, "div", "tracewidget-grids");
  const placeholder = el(doc, "div", "tracewidget-placeholder");
  const legend = el(doc, "div", "tracewidget-legend");
  legend.append(...LEGEND.map(([mark, meaning]) => {
    const item = el(doc, "span", "tracewidget-legend-item");
    item.append(el(doc, "b", undefined, mark), ` ${meaning}`);
    return item;
  }));
  element.append(title, context, grids, placeholder, legend);
  /** @type {Heatmap[]} */
  const heatmaps = [];
  let contextKey = "";

  /**
   * Draw view `view` (undefined: nothing yet). Throws when a grid cannot be drawn.
   * @param {import("./protocol.js").View | undefined} view
   * @param {boolean} running
   */
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
      // (a panel not started yet has no scores, so no normalized effect either: nothing to say)
      const started = panel.grid.clean_score != null && panel.grid.corrupt_score != null;
      const note = panel.kind === model.get("value_kind") || !started ? ""
        : "normalized effect undefined: showing effect";
      heatmaps[i].update(panel.grid, i, panel.values, panel.kind, scales[i], note, titleRows);
    });
    placeholder.hidden = heatmaps.length > 0;
    placeholder.textContent = running ? "Computing…" : "Nothing to show yet.";
    legend.hidden = heatmaps.length === 0;
  }

  /**
   * Outline the selected cell and the clicked cell whose view is coming.
   * @param {number} index  the view on screen
   */
  function drawMarks(index) {
    const selection = model.get("selection") ?? {};
    const clicked = model.get("status")?.clicked ?? null;
    heatmaps.forEach((heatmap, i) => {
      heatmap.setSelected(selection.grid === i ? selection : null);
      heatmap.setQueued(clicked && clicked.view === index && clicked.grid === i ? clicked : null);
    });
  }

  return { element, draw, drawMarks, heatmaps, legendText: () => LEGEND.map(
    ([mark, meaning]) => `${mark} ${meaning}`).join(" · ") };
}
