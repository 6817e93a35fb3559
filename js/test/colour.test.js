import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DIVERGING,
  SEQUENTIAL,
  divergingScale,
  finiteExtent,
  interpolate,
  scaleFor,
  sequentialScale,
} from "../colour.js";

const NaN32 = Number.NaN;

test("interpolate hits the stops and clamps outside [0, 1]", () => {
  const stops = ["#000000", "#ffffff"];
  assert.equal(interpolate(stops, 0), "#000000");
  assert.equal(interpolate(stops, 1), "#ffffff");
  assert.equal(interpolate(stops, 0.5), "#808080");
  assert.equal(interpolate(stops, -3), "#000000");
  assert.equal(interpolate(stops, 7), "#ffffff");
});

test("sequential: white at the floor, the darkest stop at the max", () => {
  const scale = sequentialScale([0.1, 0.5, 0.9], "mlp", 0.1);
  assert.deepEqual(scale.domain, [0.1, 0.9]);
  assert.equal(scale.colour(0.1), "#ffffff");
  assert.equal(scale.colour(0.9), SEQUENTIAL.mlp.at(-1));
  assert.equal(scale.colour(0), "#ffffff", "below the floor is white");
});

test("sequential without a floor starts at the minimum", () => {
  const scale = sequentialScale([2, 4, 6], "attn");
  assert.deepEqual(scale.domain, [2, 6]);
  assert.equal(scale.colour(2), "#ffffff");
  assert.equal(scale.colour(6), SEQUENTIAL.attn.at(-1));
});

test("each component has its own palette; unknown ones fall back to resid", () => {
  const top = (component) => sequentialScale([0, 1], component).colour(1);
  const tops = ["resid", "mlp", "attn", "head", "neuron"].map(top);
  assert.equal(new Set(tops).size, 5);
  assert.equal(top("something-new"), top("resid"));
});

test("restore scores start at the corrupt score, ablate scores at their minimum", () => {
  const values = [0.3, 0.6, 0.9];
  const restore = scaleFor({ component: "resid", experiment: "restore", corrupt_score: 0.05 },
    "score", values);
  assert.deepEqual(restore.domain, [0.05, 0.9]);
  const ablate = scaleFor({ component: "resid", experiment: "ablate", corrupt_score: 0.05 },
    "score", values);
  assert.deepEqual(ablate.domain, [0.3, 0.9]);
  const noFloor = scaleFor({ component: "resid", experiment: "restore", corrupt_score: null },
    "score", values);
  assert.deepEqual(noFloor.domain, [0.3, 0.9]);
});

test("diverging: 0 is white, symmetric around 0 by max |v|", () => {
  const scale = divergingScale([-0.2, 0.1, 0.8]);
  assert.deepEqual(scale.domain, [-0.8, 0.8]);
  assert.equal(scale.colour(0), "#ffffff");
  assert.equal(scale.colour(0.8), DIVERGING.at(-1));
  assert.equal(scale.colour(-0.8), DIVERGING[0]);
  const [r, , b] = [1, 3, 5].map((i) => Number.parseInt(scale.colour(-0.4).slice(i, i + 2), 16));
  assert.ok(b > r, "negative is blue");
});

test("effects and normalized effects use the diverging scale", () => {
  const grid = { component: "mlp", experiment: "restore", corrupt_score: 0.1 };
  assert.equal(scaleFor(grid, "effect", [0.1, -0.3]).kind, "diverging");
  assert.equal(scaleFor(grid, "normalized", [0.1, -0.3]).kind, "diverging");
  assert.equal(scaleFor(grid, "score", [0.1, -0.3]).kind, "sequential");
});

test("a constant grid divides by nothing", () => {
  const seq = sequentialScale([0.4, 0.4, 0.4], "resid");
  assert.deepEqual(seq.domain, [0.4, 0.4]);
  assert.equal(seq.colour(0.4), "#ffffff");
  const div = divergingScale([0, 0, 0]);
  assert.deepEqual(div.domain, [-0, 0]);
  assert.equal(div.colour(0), "#ffffff");
  const constant = divergingScale([0.3, 0.3]);
  assert.match(constant.colour(0.3), /^#[0-9a-f]{6}$/);
});

test("a constant grid below the corrupt score is white, not NaN", () => {
  const scale = sequentialScale([0.01, 0.01], "resid", 0.2);
  assert.deepEqual(scale.domain, [0.2, 0.2]);
  assert.equal(scale.colour(0.01), "#ffffff");
});

test("an all-NaN grid (nothing computed yet) gives a finite domain and null colours", () => {
  const values = new Float32Array([NaN32, NaN32, NaN32]);
  const seq = sequentialScale(values, "resid");
  assert.deepEqual(seq.domain, [0, 0]);
  assert.equal(seq.colour(NaN32), null);
  const seqFloor = sequentialScale(values, "resid", 0.1);
  assert.deepEqual(seqFloor.domain, [0.1, 0.1]);
  const div = divergingScale(values);
  assert.ok(div.domain.every(Number.isFinite));
  assert.equal(div.colour(NaN32), null);
});

test("NaN cells are skipped when finding the range", () => {
  assert.deepEqual(finiteExtent(new Float32Array([NaN32, -2, NaN32, 1])),
    { min: -2, max: 1, absMax: 2, count: 2 });
  const scale = sequentialScale([NaN32, 0.2, 0.7], "resid");
  assert.deepEqual(scale.domain, [0.2, 0.7]);
});

test("every colour is a #rrggbb string", () => {
  const scale = sequentialScale([-5, 0, 5], "neuron", -5);
  for (let v = -6; v <= 6; v += 0.37) assert.match(scale.colour(v), /^#[0-9a-f]{6}$/);
});
