import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DIVERGING,
  EFFECT_FLOOR,
  SEQUENTIAL,
  SPREAD_WIDE,
  divergingScale,
  finiteExtent,
  interpolate,
  sequentialScale,
  uncertainCells,
  viewScales,
} from "../colour.js";

const NaN32 = Number.NaN;
const WHITE = "#ffffff";
const restore = (component, clean = 0.8, corrupt = 0.02) =>
  ({ component, experiment: "restore", clean_score: clean, corrupt_score: corrupt });

/** How far a colour is from white (0 = white, 765 = black), summed over r, g, b. */
function darkness(hex) {
  return [1, 3, 5].reduce((sum, i) => sum + 255 - Number.parseInt(hex.slice(i, i + 2), 16), 0);
}

test("interpolate hits the stops and clamps outside [0, 1]", () => {
  const stops = ["#000000", "#ffffff"];
  assert.equal(interpolate(stops, 0), "#000000");
  assert.equal(interpolate(stops, 1), "#ffffff");
  assert.equal(interpolate(stops, 0.5), "#808080");
  assert.equal(interpolate(stops, -3), "#000000");
  assert.equal(interpolate(stops, 7), "#ffffff");
});

test("sequential: white at no effect, the darkest stop at the full effect, clamped", () => {
  const scale = sequentialScale("mlp", 0.1, 0.9);
  assert.deepEqual(scale.domain, [0.1, 0.9]);
  assert.equal(scale.colour(0.1), WHITE);
  assert.equal(scale.colour(0.9), SEQUENTIAL.mlp.at(-1));
  assert.equal(scale.colour(0), WHITE, "past no effect is white");
  assert.equal(scale.colour(2), SEQUENTIAL.mlp.at(-1));
  const falling = sequentialScale("mlp", 0.9, 0.1); // ablate: the score falls with the effect
  assert.equal(falling.colour(0.9), WHITE);
  assert.equal(falling.colour(0.1), SEQUENTIAL.mlp.at(-1));
  assert.equal(sequentialScale("resid", 0.4, 0.4).colour(0.4), WHITE, "one point: all white");
});

test("each component has its own palette; unknown ones fall back to resid", () => {
  const top = (component) => sequentialScale(component, 0, 1).colour(1);
  assert.equal(new Set(["resid", "mlp", "attn", "head", "neuron"].map(top)).size, 5);
  assert.equal(top("something-new"), top("resid"));
});

test("diverging: 0 is white, -m blue, m red", () => {
  const scale = divergingScale(0.8);
  assert.deepEqual(scale.domain, [-0.8, 0.8]);
  assert.equal(scale.colour(0), WHITE);
  assert.equal(scale.colour(0.8), DIVERGING.at(-1));
  assert.equal(scale.colour(-0.8), DIVERGING[0]);
  const [r, , b] = [1, 3, 5].map((i) => Number.parseInt(scale.colour(-0.4).slice(i, i + 2), 16));
  assert.ok(b > r, "negative is blue");
  assert.equal(divergingScale(0).colour(0.3), WHITE, "m = 0 divides by nothing");
});

test("shared scores run from the corrupt to the clean score in every panel", () => {
  const panels = [{ grid: restore("mlp"), values: [0.02, 0.83] },
    { grid: restore("attn"), values: [0.0086, 0.0092] }];
  const [mlp, attn] = viewScales(panels, "score", "shared");
  assert.deepEqual(mlp.domain, [0.02, 0.83], "an overshoot past the clean score extends it");
  assert.deepEqual(attn.domain, mlp.domain);
  assert.ok(darkness(attn.colour(0.0092)) < 20, "the near-zero attn strip is near white");
  assert.equal(mlp.colour(0.83), SEQUENTIAL.mlp.at(-1));
  assert.match(mlp.note, /shared by the 2 panels/);
});

test("never-patched cells (the corrupt score, give or take rounding) are white", () => {
  const [scale] = viewScales([{ grid: restore("resid"), values: [0.02 + 1e-9, 0.02, NaN32] }],
    "score", "shared");
  assert.equal(scale.colour(0.02 + 1e-9), WHITE);
  assert.deepEqual(scale.domain, [0.02, 0.8], "the bar reads corrupt .. clean, not 0.02 / 0.02");
});

test("ablate scores are white at the clean score and dark at the corrupt one", () => {
  const grid = { component: "resid", experiment: "ablate", clean_score: 0.8, corrupt_score: 0.1 };
  const [scale] = viewScales([{ grid, values: [0.8, 0.3] }], "score", "shared");
  assert.deepEqual(scale.domain, [0.8, 0.1]);
  assert.equal(scale.colour(0.8), WHITE);
  assert.equal(scale.colour(0.1), SEQUENTIAL.resid.at(-1));
});

test("per-panel scores span each panel's own values from no effect", () => {
  const panels = [{ grid: restore("mlp"), values: [0.02, 0.5] },
    { grid: restore("attn"), values: [0.02, 0.03] }];
  const [mlp, attn] = viewScales(panels, "score", "panel");
  assert.deepEqual(mlp.domain, [0.02, 0.5]);
  assert.deepEqual(attn.domain, [0.02, 0.03]);
  assert.equal(attn.colour(0.03), SEQUENTIAL.attn.at(-1));
  assert.match(attn.note, /this panel/);
});

test("shared effects: one symmetric limit for the view; a near-zero panel stays pale", () => {
  const panels = [{ grid: restore("mlp"), values: [0.81, -0.1] },
    { grid: restore("attn"), values: [0.0006, NaN32] }];
  const [mlp, attn] = viewScales(panels, "effect", "shared");
  assert.deepEqual(mlp.domain, [-0.81, 0.81]);
  assert.deepEqual(attn.domain, [-0.81, 0.81]);
  assert.ok(darkness(attn.colour(0.0006)) < 5);
  const [own] = viewScales([panels[1]], "effect", "panel");
  assert.equal(own.colour(0.0006), DIVERGING.at(-1), "per panel, the panel's own range");
});

test("a shared effect limit is at least EFFECT_FLOOR of the total effect", () => {
  const [scale] = viewScales([{ grid: restore("resid", 0.9, 0.1), values: [1e-9, -1e-9] }],
    "effect", "shared");
  assert.ok(Math.abs(scale.domain[1] - EFFECT_FLOOR * 0.8) < 1e-12);
  assert.equal(scale.colour(1e-9), WHITE);
});

test("shared normalized effects are fixed to -1..1", () => {
  const panels = [{ grid: restore("mlp"), values: [0.008, 0.004] }];
  const [shared] = viewScales(panels, "normalized", "shared");
  assert.deepEqual(shared.domain, [-1, 1]);
  assert.ok(darkness(shared.colour(0.008)) < 10, "an effect of 0.008 is not saturated");
  assert.equal(shared.colour(2), DIVERGING.at(-1), "past 1 is clamped");
  const [own] = viewScales(panels, "normalized", "panel");
  assert.deepEqual(own.domain, [-0.008, 0.008]);
});

test("pending cells (NaN) are skipped when finding a range and get no colour", () => {
  assert.deepEqual(finiteExtent(new Float32Array([NaN32, -2, NaN32, 1])),
    { min: -2, max: 1, absMax: 2, count: 2 });
  const values = new Float32Array([NaN32, NaN32]);
  for (const kind of ["score", "effect", "normalized"]) {
    for (const mode of ["shared", "panel"]) {
      const [scale] = viewScales([{ grid: restore("resid"), values }], kind, mode);
      assert.ok(scale.domain.every(Number.isFinite), `${kind} ${mode}`);
      assert.equal(scale.colour(NaN32), null);
    }
  }
  const unknown = { component: "head", experiment: "restore", clean_score: null,
    corrupt_score: null };
  const [layout] = viewScales([{ grid: unknown, values }], "score", "shared");
  assert.deepEqual(layout.domain, [0, 0], "a panel not started yet: nothing to span");
});

test("every colour is a #rrggbb string", () => {
  const [scale] = viewScales([{ grid: restore("neuron", 5, -5), values: [-5, 0, 5] }], "score",
    "shared");
  for (let v = -6; v <= 6; v += 0.37) assert.match(scale.colour(v), /^#[0-9a-f]{6}$/);
});

test("a filling noise trace marks the cells whose interval spans over SPREAD_WIDE of the bar", () => {
  // scores 0.4 (corrupt) .. 1.0 (clean): the bar spans 0.6
  const grid = { ...restore("resid", 1.0, 0.4), samples: 10, samples_done: 3 };
  const scores = new Float32Array([0.4, 0.9, 0.5, NaN32]);
  const ci95 = new Float32Array([0.01, 0.3, SPREAD_WIDE * 0.6 * 0.9, NaN32]);
  const [scale] = viewScales([{ grid, values: scores }], "score", "shared");
  assert.deepEqual(uncertainCells(grid, scores, ci95, "score", scale),
    [false, true, false, false], "a pending cell is hatched as pending, not marked");
  // normalized: the interval in units of the clean-corrupt gap, on the fixed -1..1 bar
  const normalized = scores.map((v) => (v - 0.4) / 0.6);
  const [fixed] = viewScales([{ grid, values: normalized }], "normalized", "shared");
  assert.deepEqual(uncertainCells(grid, normalized, ci95, "normalized", fixed),
    [false, true, false, false]);
  // one sample in: no spread known yet, so every computed cell is still uncertain
  const first = { ...grid, samples_done: 1 };
  assert.deepEqual(uncertainCells(first, scores, new Float32Array(4).fill(NaN32), "score",
    scale), [true, true, true, false]);
  // all samples in, or not a noise trace: nothing is marked (the tooltip keeps the spread)
  assert.equal(uncertainCells({ ...grid, samples_done: 10 }, scores, ci95, "score", scale), null);
  assert.equal(uncertainCells(restore("resid"), scores, null, "score", scale), null);
});
