import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeFloat32 } from "../decode.js";

const VALUES = [0.5, -1.25, Number.NaN, 3e-8];

/** Little-endian float32 bytes of VALUES written at `offset` into a buffer of `size` bytes. */
function bytesAt(offset, size) {
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  // Fill around the data with a value that must not leak into the result.
  for (let i = 0; i + 4 <= size; i += 4) view.setFloat32(i, 99, true);
  VALUES.forEach((v, i) => view.setFloat32(offset + 4 * i, v, true));
  return buffer;
}

function assertValues(actual) {
  assert.ok(actual instanceof Float32Array);
  assert.equal(actual.length, VALUES.length);
  VALUES.forEach((v, i) => {
    if (Number.isNaN(v)) assert.ok(Number.isNaN(actual[i]), `index ${i} is NaN`);
    else assert.equal(actual[i], Math.fround(v));
  });
}

test("a DataView at offset 4 into a larger buffer reads only its own bytes", () => {
  const buffer = bytesAt(4, 4 + 16 + 8);
  assertValues(decodeFloat32(new DataView(buffer, 4, 16)));
});

test("a DataView at an offset that is not a multiple of 4", () => {
  const buffer = new ArrayBuffer(3 + 16);
  const view = new DataView(buffer, 3, 16);
  VALUES.forEach((v, i) => view.setFloat32(4 * i, v, true));
  assertValues(decodeFloat32(view));
});

test("a whole ArrayBuffer", () => {
  assertValues(decodeFloat32(bytesAt(0, 16)));
});

test("a Float32Array subarray honours its byteOffset", () => {
  const all = new Float32Array([7, 7, ...VALUES, 7]);
  const sub = all.subarray(2, 2 + VALUES.length);
  assert.equal(sub.byteOffset, 8);
  assertValues(decodeFloat32(sub));
});

test("a Uint8Array window onto the bytes", () => {
  const buffer = bytesAt(8, 8 + 16);
  assertValues(decodeFloat32(new Uint8Array(buffer, 8, 16)));
});

test("the result is a copy, not a view of the input", () => {
  const source = new Float32Array([1, 2]);
  const out = decodeFloat32(source);
  source[0] = 5;
  assert.equal(out[0], 1);
});

test("null and undefined (an undefined normalized effect) give null", () => {
  assert.equal(decodeFloat32(null), null);
  assert.equal(decodeFloat32(undefined), null);
});

test("an empty buffer gives an empty array", () => {
  assert.equal(decodeFloat32(new ArrayBuffer(0)).length, 0);
});

test("a length that is not a multiple of 4 bytes is an error", () => {
  assert.throws(() => decodeFloat32(new Uint8Array(6)), RangeError);
});

test("anything else is an error, not silently empty", () => {
  assert.throws(() => decodeFloat32([1, 2, 3]), TypeError);
  assert.throws(() => decodeFloat32("abcd"), TypeError);
});
