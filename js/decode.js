// Binary grid fields -> Float32Array. Pure: no DOM.
//
// Python sends scores/effects/normalized as little-endian float32 bytes. ipywidgets hands them to
// us as a DataView, and that DataView is often a window into a larger ArrayBuffer (the whole
// websocket message), so the bytes start at `byteOffset`, not at 0, and `.buffer` must never be
// read whole. Other paths (static embeds, tests) give an ArrayBuffer or a typed array.

/**
 * Decode little-endian float32 values.
 *
 * Always copies, reading through a DataView: that honours `byteOffset`/`byteLength`, works for
 * offsets that are not a multiple of 4 (a Float32Array view there would throw), and fixes the
 * byte order whatever the platform's.
 * @param {DataView | ArrayBuffer | ArrayBufferView | null | undefined} data
 * @returns {Float32Array | null} null when `data` is null/undefined (e.g. `normalized` undefined)
 */
export function decodeFloat32(data) {
  if (data === null || data === undefined) return null;
  /** @type {DataView} */
  let view;
  if (ArrayBuffer.isView(data)) {
    view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  } else if (Object.prototype.toString.call(data) === "[object ArrayBuffer]") {
    // toString rather than instanceof: the buffer may come from another realm (an iframe).
    view = new DataView(/** @type {ArrayBuffer} */ (data));
  } else {
    throw new TypeError(`expected float32 bytes (DataView, ArrayBuffer or typed array), got ${
      Object.prototype.toString.call(data)}`);
  }
  if (view.byteLength % 4 !== 0) {
    throw new RangeError(`float32 data must be a multiple of 4 bytes, got ${view.byteLength}`);
  }
  const out = new Float32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i += 1) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * @typedef {object} GridValues  a grid's numbers, row-major
 * @property {Float32Array} scores
 * @property {Float32Array} effects
 * @property {Float32Array | null} normalized  null when the grid has no normalized effect
 * @property {Float32Array | null} estimated  1 per cell still showing the attribution estimate
 * @property {Float32Array | null} ci95  95% half-widths of noise-trace cells (NaN while unknown)
 */

/**
 * Decode every binary field of a grid trait, checking each has rows x cols values.
 * @param {{key: string, rows: number, cols: number, scores: any, effects: any,
 *   normalized?: any, estimated?: any, ci95?: any}} grid
 * @returns {GridValues}
 */
export function decodeGrid(grid) {
  const n = grid.rows * grid.cols;
  /** @param {"scores" | "effects" | "normalized" | "estimated" | "ci95"} field */
  const field = (field) => {
    const values = decodeFloat32(grid[field]);
    if (values === null || values.length !== n) {
      throw new Error(`grid ${JSON.stringify(grid.key)}: ${field} has ${values?.length ?? 0} ` +
        `values, expected ${grid.rows} x ${grid.cols} = ${n}`);
    }
    return values;
  };
  /** @param {"normalized" | "estimated" | "ci95"} name */
  const optional = (name) => (grid[name] == null ? null : field(name));
  return { scores: field("scores"), effects: field("effects"), normalized: optional("normalized"),
    estimated: optional("estimated"), ci95: optional("ci95") };
}
