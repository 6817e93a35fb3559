// Colour scales for the heatmaps. Pure: no DOM.
//
// The panels of a view share one scale per value kind by default, so the same colour means the
// same number everywhere on screen and a near-zero panel looks near zero beside a strong one
// (`viewScales`); white is always "no effect".
//
// Scores use one sequential scale per component, in the colours of ROME's causal-tracing figures
// (resid purples, mlp greens, attn reds; heads oranges, neurons blues), from white to dark.
// Effects and normalized effects can be negative, so they use a diverging blue-white-red scale
// centred on 0. The stops are ColorBrewer's 9-class palettes (as in matplotlib), with the light
// end pinned to pure white so "no effect" reads as blank paper.

/** @typedef {"resid" | "mlp" | "attn" | "head" | "neuron"} Component */
/** @typedef {"score" | "effect" | "normalized"} ValueKind */

/**
 * @typedef {object} Scale
 * @property {"sequential" | "diverging"} kind
 * @property {[number, number]} domain  the values drawn at the two ends of the colourbar
 * @property {string[]} stops  colours evenly spaced from domain[0] to domain[1] (for a gradient)
 * @property {string} note  what the range spans ("shared by the 2 panels", "this panel's range")
 * @property {(v: number) => string | null} colour  "#rrggbb"; null for NaN (a pending cell)
 */

/** @type {Record<Component, string[]>} */
export const SEQUENTIAL = {
  resid: [
    "#ffffff", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8",
    "#807dba", "#6a51a3", "#54278f", "#3f007d",
  ],
  mlp: [
    "#ffffff", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476",
    "#41ab5d", "#238b45", "#006d2c", "#00441b",
  ],
  attn: [
    "#ffffff", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a",
    "#ef3b2c", "#cb181d", "#a50f15", "#67000d",
  ],
  head: [
    "#ffffff", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c",
    "#f16913", "#d94801", "#a63603", "#7f2704",
  ],
  neuron: [
    "#ffffff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6",
    "#4292c6", "#2171b5", "#08519c", "#08306b",
  ],
};

/** ColorBrewer RdBu reversed (negative = blue, positive = red) with a pure white centre. */
export const DIVERGING = [
  "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#ffffff",
  "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
];

/**
 * @param {string} hex  "#rrggbb"
 * @returns {[number, number, number]}
 */
function parseHex(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * @param {number} c  0..255, possibly fractional
 * @returns {string}  two hex digits
 */
function hexByte(c) {
  return Math.round(c).toString(16).padStart(2, "0");
}

/**
 * The colour at `t` in [0, 1] (clamped) along evenly spaced `stops`, interpolated in sRGB.
 * @param {string[]} stops
 * @param {number} t
 * @returns {string}  "#rrggbb"
 */
export function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = parseHex(stops[i]);
  const b = parseHex(stops[i + 1]);
  return `#${[0, 1, 2].map((k) => hexByte(a[k] + (b[k] - a[k]) * f)).join("")}`;
}

/**
 * Min, max and max |v| over the finite values (NaN = pending cells are skipped).
 * @param {ArrayLike<number>} values
 * @returns {{min: number, max: number, absMax: number, count: number}}  count 0: no finite value
 *   (min/max are then NaN, absMax 0)
 */
export function finiteExtent(values) {
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

/**
 * @typedef {object} ScaleGrid  the fields of a grid a scale reads
 * @property {string} component
 * @property {string} experiment  "restore" (noise traces too) or "ablate"
 * @property {number | null} [clean_score]
 * @property {number | null} [corrupt_score]
 */

/**
 * @typedef {object} Panel  one heatmap of a view: its grid and the numbers drawn
 * @property {ScaleGrid} grid
 * @property {ArrayLike<number>} values  NaN = not computed yet (ignored by every scale)
 */

/** "shared": one scale per view and value kind; "panel": each panel its own range. */
/** @typedef {"shared" | "panel"} ScaleMode */

/**
 * In a shared effect scale, the limit is at least this fraction of the total effect: a view
 * whose effects are all rounding noise (1e-9) is drawn white, not saturated.
 */
export const EFFECT_FLOOR = 0.01;

/**
 * @param {number | null | undefined} v
 * @returns {v is number}
 */
function known(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/**
 * A sequential scale from `blank` (white: no effect) to `full` (the darkest stop); values past
 * either end are clamped, so `blank` may be above `full` (ablate: the score falls as the effect
 * grows). When `blank === full` everything is white: there is nothing to tell apart.
 * @param {string} component  unknown components fall back to the resid purples
 * @param {number} blank
 * @param {number} full
 * @param {string} note  what the range is ("shared by the view", "this panel")
 * @returns {Scale}
 */
export function sequentialScale(component, blank, full, note = "") {
  const stops = SEQUENTIAL[/** @type {Component} */ (component)] ?? SEQUENTIAL.resid;
  const span = full - blank;
  return {
    kind: "sequential",
    domain: [blank, full],
    stops,
    note,
    colour: (v) => (Number.isNaN(v) ? null : interpolate(stops, span !== 0 ? (v - blank) / span : 0)),
  };
}

/**
 * A diverging scale [-m, m]: 0 is white, -m the darkest blue, m the darkest red; values past
 * the ends are clamped. m = 0 draws everything white.
 * @param {number} m
 * @param {string} note
 * @returns {Scale}
 */
export function divergingScale(m, note = "") {
  return {
    kind: "diverging",
    domain: [-m, m],
    stops: DIVERGING,
    note,
    colour: (v) =>
      (Number.isNaN(v) ? null : interpolate(DIVERGING, m > 0 ? 0.5 + v / (2 * m) : 0.5)),
  };
}

/**
 * The score of "no effect" (the unpatched run: corrupt for restore, clean for ablate) and of
 * the full effect (the other prompt's score); null where the grid does not know them yet.
 * @param {ScaleGrid} grid
 * @returns {{blank: number, full: number, up: boolean} | null}  up: the score rises with the effect
 */
function scoreEnds(grid) {
  const up = grid.experiment !== "ablate";
  const blank = up ? grid.corrupt_score : grid.clean_score;
  const full = up ? grid.clean_score : grid.corrupt_score;
  return known(blank) && known(full) ? { blank, full, up } : null;
}

/**
 * Scores: white at the no-effect score; shared, dark at the full-effect score (the clean score
 * for restore), moved out to the furthest value past it; per panel, dark at the panel's own
 * furthest value from no effect.
 * @param {Panel[]} panels
 * @param {ScaleMode} mode
 * @param {string} note
 * @returns {Scale[]}
 */
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
      // scores not known yet: the panel's own range, white at its low end
      return sequentialScale(p.grid.component, count ? min : 0, count ? max : 0, note);
    }
    const furthest = !count ? own.blank
      : own.up ? Math.max(own.blank, max) : Math.min(own.blank, min);
    return sequentialScale(p.grid.component, own.blank, furthest, note);
  });
}

/**
 * The colour scales of one view's panels for the value kind drawn.
 *
 * - score: sequential, white where a patch changed nothing (see `scoreScales`);
 * - effect: diverging around 0; shared, one limit for the view (its largest |effect|, at least
 *   EFFECT_FLOOR of the total effect), per panel, each panel's largest |effect|;
 * - normalized: diverging; shared, fixed to -1..1 (1 = the whole clean-corrupt gap), per panel,
 *   each panel's largest |value|.
 *
 * A cell with no effect is white in every panel and mode. NaN (pending) cells never count.
 * @param {Panel[]} panels
 * @param {ValueKind} kind
 * @param {ScaleMode} mode
 * @returns {Scale[]}
 */
export function viewScales(panels, kind, mode) {
  const shared = mode === "shared";
  const note = !shared ? "this panel's range"
    : panels.length > 1 ? `shared by the ${panels.length} panels` : "shared scale";
  if (kind === "score") return scoreScales(panels, mode, note);
  const limits = panels.map((p) => finiteExtent(p.values).absMax);
  if (!shared) return limits.map((m) => divergingScale(m, note));
  if (kind === "normalized") return panels.map(() => divergingScale(1, note));
  const total = panels.map((p) => p.grid).map((g) => (known(g.clean_score) && known(g.corrupt_score)
    ? Math.abs(g.clean_score - g.corrupt_score) : 0));
  const m = Math.max(...limits, EFFECT_FLOOR * Math.max(0, ...total));
  return panels.map(() => divergingScale(m, note));
}

/**
 * A noise-trace cell is striped while its 95% interval spans more than this fraction of its
 * colour bar: more samples could still move its colour by over a tenth of the bar (about one
 * of the nine stops), enough to change how it reads beside its neighbours.
 */
export const SPREAD_WIDE = 0.1;

/**
 * @typedef {object} SpreadGrid  the fields of a grid that say how settled its cells are
 * @property {number | null} [clean_score]
 * @property {number | null} [corrupt_score]
 * @property {number | null} [samples]  noise traces: samples in all
 * @property {number | null} [samples_done]  noise traces: samples in so far
 */

/**
 * Which cells of a noise trace still filling by samples may yet change colour visibly: the
 * 95% half-width of the cell's mean, in the units drawn, is over SPREAD_WIDE of the colour
 * bar's range, or unknown (fewer than two samples in). Pending cells (NaN) are never marked:
 * they are hatched as pending. Null when nothing is filling by samples: other grids, and a
 * finished noise trace, which is the mean over all the samples asked for (its spread stays in
 * the tooltip).
 * @param {SpreadGrid} grid
 * @param {ArrayLike<number>} shown  the numbers drawn
 * @param {ArrayLike<number> | null} ci95  95% half-widths, in score units
 * @param {ValueKind} kind  what `shown` is: normalized effects are in units of the
 *   clean-corrupt gap, scores and effects in score units
 * @param {Scale} scale  the panel's scale (its domain is the colour bar's range)
 * @returns {boolean[] | null}
 */
export function uncertainCells(grid, shown, ci95, kind, scale) {
  const { samples, samples_done: samplesDone } = grid;
  if (ci95 === null || samples == null || samplesDone == null || samplesDone >= samples) {
    return null;
  }
  const gap = known(grid.clean_score) && known(grid.corrupt_score)
    ? Math.abs(grid.clean_score - grid.corrupt_score) : 0;
  const unit = kind === "normalized" && gap > 0 ? 1 / gap : 1;
  const range = Math.abs(scale.domain[1] - scale.domain[0]);
  return Array.from(shown, (v, i) => !Number.isNaN(v)
    && (Number.isNaN(ci95[i]) || ci95[i] * unit > SPREAD_WIDE * range));
}
