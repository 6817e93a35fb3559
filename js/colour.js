// Colour scales for the heatmaps. Pure: no DOM.
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
 * A sequential scale: white at `floor` (or at the smallest value when `floor` is not given or not
 * finite), darkest at the largest value. Values below the floor are drawn white. When every value
 * is the same (or there are none) the domain is one point and everything is drawn white: there is
 * nothing to tell apart, and no division by zero.
 * @param {ArrayLike<number>} values
 * @param {string} component  unknown components fall back to the resid purples
 * @param {number | null} [floor]
 * @returns {Scale}
 */
export function sequentialScale(values, component, floor = null) {
  const stops = SEQUENTIAL[/** @type {Component} */ (component)] ?? SEQUENTIAL.resid;
  const { min, max, count } = finiteExtent(values);
  const hasFloor = typeof floor === "number" && Number.isFinite(floor);
  const lo = hasFloor ? /** @type {number} */ (floor) : count > 0 ? min : 0;
  const hi = count > 0 ? Math.max(max, lo) : lo;
  const span = hi - lo;
  return {
    kind: "sequential",
    domain: [lo, hi],
    stops,
    colour: (v) => (Number.isNaN(v) ? null : interpolate(stops, span > 0 ? (v - lo) / span : 0)),
  };
}

/**
 * A diverging scale symmetric around 0: [-m, m] with m = max |v|; 0 is white. All zeros (or no
 * values) give m = 0 and everything white.
 * @param {ArrayLike<number>} values
 * @returns {Scale}
 */
export function divergingScale(values) {
  const m = finiteExtent(values).absMax;
  return {
    kind: "diverging",
    domain: [-m, m],
    stops: DIVERGING,
    colour: (v) =>
      (Number.isNaN(v) ? null : interpolate(DIVERGING, m > 0 ? 0.5 + v / (2 * m) : 0.5)),
  };
}

/**
 * The scale for drawing `values` (the array chosen by `kind`) of a grid. Restore scores start
 * white at the corrupt run's score (as in ROME: what restoring brings back); ablate scores start
 * white at their minimum.
 * @param {{component: string, experiment: string, corrupt_score?: number | null}} grid
 * @param {ValueKind} kind
 * @param {ArrayLike<number>} values
 * @returns {Scale}
 */
export function scaleFor(grid, kind, values) {
  if (kind !== "score") return divergingScale(values);
  const floor = grid.experiment === "restore" ? grid.corrupt_score ?? null : null;
  return sequentialScale(values, grid.component, floor);
}
